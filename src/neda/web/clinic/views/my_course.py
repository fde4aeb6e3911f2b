"""``/me/``: a patient's own course in plain language - the paragraph of the core
(``PatientCourse.plain_language``) and the NEDA card worded for a lay reader. The full portal
is a later issue."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from ..access import account_of, patient_required
from ..course import course_for


@patient_required
@require_safe
def my_course(request: HttpRequest) -> HttpResponse:
    account = account_of(request.user)
    assert account is not None  # patient_required
    patient = account.patient
    return render(request, "clinic/my_course.html", {
        "patient": patient, "course": course_for(patient),
        "lay_components": (("relapse", "A relapse (an attack of new or returning symptoms)"),
                           ("disability", "A lasting worsening of disability"),
                           ("mri", "New or active spots (lesions) on the MRI"))})
