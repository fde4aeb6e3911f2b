"""The one-page overview of a patient: the whole course, NEDA on the current therapy with its
reasons, relapses and recovery, worsening and why (all from ``neda.course_summary``)."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..access import get_patient_for_user, role_of, staff_required
from ..course import course_for, symptom_treatments_for


@staff_required
def patient_overview(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    course = course_for(patient)
    researcher = role_of(request.user) == "researcher"
    return render(request, "clinic/patient_overview.html", {
        "patient": patient, "course": course,
        "label": patient.pseudonym() if researcher else patient.subject,
        "symptom_treatments": symptom_treatments_for(patient),
    })
