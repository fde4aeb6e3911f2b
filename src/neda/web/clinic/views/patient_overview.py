"""The one-page overview of a patient: the whole course on one time axis, NEDA on the current
therapy with the reason for every "no" and "unknown", relapses with severity and recovery,
worsening and why, what is due, the latest scores with symptom treatments beside them, and the
plain-language paragraph - all from ``neda.course_summary`` (:func:`..course.course_for`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.template.loader import render_to_string

from neda.web.portal.lane import lane_table, patient_reported_lane

from ..access import can_edit, get_patient_for_user, role_of, staff_required
from ..course import cached_for_course, course_for, symptom_treatments_for
from ..models import SYMPTOMS, Patient, Relapse


def overview_context(request: HttpRequest, patient: Patient) -> dict[str, Any]:
    """What the overview and its printable page show (shared by both views)."""
    course = course_for(patient)
    researcher = role_of(request.user) == "researcher"
    treatments = symptom_treatments_for(patient)
    trends = course.get("score_trends") or []
    lane = patient_reported_lane(patient)  # the portal's entries: their own lane
    symptoms = []
    for code, title in SYMPTOMS:
        given = [t for t in treatments if t.symptom == code]
        scores = [t for t in trends if t.get("symptom") == code]
        if given or scores:
            symptoms.append({"symptom": title, "treatments": given, "scores": scores})
    return {
        "patient": patient, "course": course, "researcher": researcher,
        "label": patient.pseudonym() if researcher else patient.subject,
        "name": "" if researcher else patient.name,
        "symptoms": symptoms, "symptom_treatments": treatments,
        "chart": course.get("chart"),
        "portal_lane": lane, "portal_table": lane_table(lane),
        "neda_windows": (("current_year", "Latest completed treatment year"),
                         ("since_start", "Since the start of the therapy")),
        "neda_components": (("relapse", "Relapses"), ("disability", "Disability worsening"),
                            ("mri", "MRI activity"), ("bvl", "Brain volume loss (NEDA-4)")),
        "rows": ":",  # every row (the printable page shows the latest few)
        "record_tables": ("visits", "relapses", "mri", "treatments", "labs",
                          "symptom_treatments", "pros"),
        # reported in the portal, counted nowhere until the clinic reviews them
        "reported_relapses": list(Relapse.objects.filter(patient=patient, status="reported")),
    }


def read_only(request: HttpRequest) -> HttpResponse | None:
    """405 for anything but GET and HEAD - asked after the patient was found, so that another
    clinic's patient is a 404 whatever the method (existence is never disclosed)."""
    if request.method in ("GET", "HEAD"):
        return None
    return HttpResponseNotAllowed(["GET", "HEAD"])


@staff_required
def patient_overview(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    refused = read_only(request)
    if refused is not None:
        return refused
    context = overview_context(request, patient)
    context["cards"] = course_cards(request, patient, context)
    return render(request, "clinic/patient_overview.html", context)


def course_cards(request: HttpRequest, patient: Patient, context: dict[str, Any]) -> str:
    """The overview's cards of the course (NEDA, monitoring, relapses, events, treatments,
    scores): a function of the patient's records (their course, symptom treatments and
    reported relapses: every change bumps the data version) and of whether the user may edit,
    so rendered once per course key and role (:func:`..course.cached_for_course`); the
    portal's lane beside them (diary entries do not bump the data version) is rendered on
    every request."""
    return cached_for_course(
        patient, f"overview-cards:{can_edit(request.user)}",
        lambda: render_to_string("clinic/course/_overview_cards.html", context,
                                 request=request))
