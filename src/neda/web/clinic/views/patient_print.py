"""A printable one-page summary of a patient (``/patients/<id>/print/``): the overview's
computed values without the chart, laid out for one A4 sheet by a print stylesheet."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ..access import get_patient_for_user, staff_required
from .patient_overview import overview_context, read_only


@staff_required
def patient_print(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    refused = read_only(request)
    if refused is not None:
        return refused
    context = overview_context(request, patient)
    context["printed"] = timezone.localtime()
    context["rows"] = "-6:"  # the latest six relapses, events and therapies: one sheet
    return render(request, "clinic/patient_print.html", context)
