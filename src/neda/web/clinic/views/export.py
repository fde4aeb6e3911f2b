"""Export: the clinic's or one patient's tables as CSV (a zip, one file per table) or JSON, and
a patient's computed course as JSON (:mod:`..exporting`).

Staff of the clinic only (patients and anonymous users: no); researchers get pseudonymised
identifiers and no names. Patients are reached through the access helpers only, so another
clinic's patient is 404. Downloads are never cached, and carry no identifier in their name.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ..access import get_patient_for_user, patients_for_user, role_of, staff_of, staff_required
from ..exporting import course_export, export_tables, manifest, tables_json, tables_zip
from ..models import Patient

log = logging.getLogger("neda.web")

FORMATS = {"zip": "application/zip", "json": "application/json"}


def _pseudonymised(request: HttpRequest) -> bool:
    return role_of(request.user) == "researcher"


def _download(body: bytes | str, fmt: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


def _tables(request: HttpRequest, patients: list[Patient], fmt: str, scope: str,
            name: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("no such format")
    staff = staff_of(request.user)
    assert staff is not None  # staff_required
    pseudonymise = _pseudonymised(request)
    tables = export_tables(patients, pseudonymise=pseudonymise)
    about = manifest(staff.clinic, tables, scope=scope, pseudonymise=pseudonymise)
    log.info("export of %s tables (%s, %d patients) by user %s", scope, fmt, len(patients),
             request.user.pk)
    body = tables_zip(tables, about) if fmt == "zip" else tables_json(tables, about)
    return _download(body, fmt, name)


@staff_required
def export_page(request: HttpRequest) -> HttpResponse:
    """What can be exported, and in which form."""
    staff = staff_of(request.user)
    assert staff is not None
    return render(request, "clinic/io/export.html", {
        "clinic": staff.clinic, "pseudonymised": _pseudonymised(request),
        "patients": patients_for_user(request.user).count()})


@staff_required
def export_clinic(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every (not deleted) patient of the user's clinic, every table."""
    patients = list(patients_for_user(request.user).select_related("clinic"))
    return _tables(request, patients, fmt, "clinic", "neda-clinic")


@staff_required
def export_patient_page(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    pseudonymise = _pseudonymised(request)
    return render(request, "clinic/io/export_patient.html", {
        "patient": patient, "pseudonymised": pseudonymise,
        "label": patient.pseudonym() if pseudonymise else patient.subject})


@staff_required
def export_patient(request: HttpRequest, public_id: UUID, fmt: str) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    return _tables(request, [patient], fmt, "patient", f"neda-patient-{str(public_id)[:8]}")


@staff_required
def export_course(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The patient's computed course (the rules' result, with the rule-set digest)."""
    patient = get_patient_for_user(request.user, public_id)
    log.info("export of a course by user %s", request.user.pk)
    return _download(course_export(patient, pseudonymise=_pseudonymised(request)), "json",
                     f"neda-course-{str(public_id)[:8]}")
