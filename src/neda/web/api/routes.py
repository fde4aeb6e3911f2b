"""The JSON API: patients, every record table of a patient, and the computed course.

Paths name patients by their opaque ``public_id`` and records by their number. Every object is
reached through :mod:`neda.web.clinic.access` (``patients_for_user``, ``get_patient_for_user``,
``get_record_for_user``), never a filter of its own, so the API shows exactly what the screens
show: staff their own clinic, a patient their own record, researchers pseudonymised patients
and no changes. Answers: 401 without a user, 403 for a role that may not change records, 404
for anything the user may not see (whether it exists or not), 422 for input the readers refuse.

(No ``from __future__ import annotations`` here: the route functions are made per table and
django-ninja reads their annotations, which must be the per-table schemas themselves.)
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Path, Query, Status, Swagger

from neda.web.clinic.access import (
    get_patient_for_user,
    get_record_for_user,
    patients_for_user,
    role_of,
)
from neda.web.clinic.course import course_for
from neda.web.clinic.models import Patient, PatientRecord

from .auth import READ, WRITE
from .schemas import (
    RECORD_CHANGE,
    RECORD_IN,
    RECORD_OUT,
    FieldProblems,
    PatientOut,
    PatientPage,
    Problem,
)
from .validation import TABLES, ApiInputError, Table, check_course, clean, read_record, stored_input

api = NinjaAPI(
    title="neda clinic API",
    version="1",
    description=(
        "Patients, their records and their computed disease course. Authenticate with "
        "`Authorization: Bearer <key>` (`neda-admin issue_token`) or the browser's session "
        "(changes then need the CSRF token). The same access rules as the screens apply."),
    auth=READ,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs=Swagger(),  # served from the site's own static files (CSP: script-src 'self')
    docs_url="/docs",
)

#: Answers every operation can give besides its success (422: a parameter of the wrong type;
#: writes: a body the readers refuse; 400: a body that is no JSON).
_ERRORS: dict[int, Any] = {401: Problem, 404: Problem, 422: FieldProblems}
_WRITE_ERRORS: dict[int, Any] = {400: Problem, 401: Problem, 403: Problem, 404: Problem,
                                 422: FieldProblems}

#: Record numbers are database keys: beyond what a key can be, nothing exists.
RecordId = Path(..., ge=1, le=2**63 - 1, description="the record's number")
PatientId = Path(..., description="the patient's opaque identifier")


@api.exception_handler(ApiInputError)
def _input_error(request: HttpRequest, exc: ApiInputError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.errors}, status=422)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": "your role cannot do this"}, status=403)


def _researcher(request: HttpRequest) -> bool:
    return role_of(request.auth) == "researcher"  # type: ignore[attr-defined]


def _patient_out(patient: Patient, hidden: bool) -> dict[str, Any]:
    """What the caller sees of a patient (``hidden``: a researcher's pseudonymised view)."""
    return {
        "id": patient.public_id,
        "label": patient.pseudonym() if hidden else patient.subject,
        "subject": None if hidden else patient.subject,
        "name": None if hidden else patient.name,
        "birth_date": None if hidden else patient.birth_date,
        "sex": patient.sex, "onset_date": patient.onset_date,
        "diagnosis_date": patient.diagnosis_date,
        "phenotype_at_diagnosis": patient.phenotype_at_diagnosis, "course": patient.course,
        "relapses_recorded": patient.relapses_recorded, "data_version": patient.data_version,
    }


# ------------------------------------------------------------------------------ patients
@api.get("/patients", response={200: PatientPage, 401: Problem, 422: FieldProblems},
         tags=["patients"], operation_id="list_patients")
def list_patients(request: HttpRequest,
                  limit: int = Query(100, ge=1, le=1000),
                  offset: int = Query(0, ge=0, le=2**31)) -> dict[str, Any]:
    """The patients the caller may see (staff: their clinic's; a patient: themselves), by
    registry identifier; for researchers in the order of the opaque identifier (the order of
    registry identifiers would tell something about them)."""
    patients = patients_for_user(request.auth).select_related("clinic")  # type: ignore[attr-defined]
    researcher = _researcher(request)
    if researcher:
        patients = patients.order_by("public_id")
    page = list(patients[offset:offset + limit])
    return {"count": patients.count(), "items": [_patient_out(p, researcher) for p in page]}


@api.get("/patients/{uuid:public_id}", response={200: PatientOut, **_ERRORS},
         tags=["patients"], operation_id="get_patient")
def get_patient(request: HttpRequest, public_id: UUID = PatientId) -> dict[str, Any]:
    patient = get_patient_for_user(request.auth, public_id)  # type: ignore[attr-defined]
    return _patient_out(patient, _researcher(request))


@api.get("/patients/{uuid:public_id}/course", response={200: dict[str, Any], **_ERRORS,
                                                        409: Problem},
         tags=["course"], operation_id="get_course")
def get_course(request: HttpRequest, public_id: UUID = PatientId) -> Any:
    """The patient's whole computed course (``PatientCourse.to_dict()`` of the core, with the
    chart data), with ``rule_set`` (the preset), ``rule_set_digest`` (a fingerprint of every
    option) and ``data_version``. ``subject`` is the patient's label (the pseudonym for
    researchers), ``patient_id`` the opaque identifier. 409 if the stored records cannot be
    read together (the core's message says why)."""
    patient = get_patient_for_user(request.auth, public_id)  # type: ignore[attr-defined]
    try:
        course = dict(course_for(patient))
    except ValueError as exc:
        why = f"the course cannot be computed from the records: {exc}"
        return Status(409, {"detail": why})
    course["subject"] = _patient_out(patient, _researcher(request))["label"]
    course["patient_id"] = str(patient.public_id)
    return course


# ------------------------------------------------------------------------------- records
def _save(table: Table, patient: Patient, record: PatientRecord, values: dict[str, Any]) -> None:
    for field, value in values.items():
        setattr(record, field, value)
    clean(table, record)
    with transaction.atomic():
        record.save()
        check_course(table, patient)  # raising rolls the change back


def _register(table: Table) -> None:
    """The six operations of one record table."""
    name = table.name
    model = table.model
    In, Change, Out = RECORD_IN[name], RECORD_CHANGE[name], RECORD_OUT[name]
    base = f"/patients/{{uuid:public_id}}/{name}"
    item = f"{base}/{{int:record_id}}"
    tags = [name]

    def records(request: HttpRequest, public_id: UUID = PatientId) -> Any:
        patient = get_patient_for_user(request.auth, public_id)  # type: ignore[attr-defined]
        return model.objects.filter(patient=patient)  # type: ignore[attr-defined]

    def record(request: HttpRequest, public_id: UUID = PatientId,
               record_id: int = RecordId) -> Any:
        patient = get_patient_for_user(request.auth, public_id)  # type: ignore[attr-defined]
        return get_record_for_user(request.auth, model, patient,  # type: ignore[attr-defined]
                                   record_id)

    def create(request: HttpRequest, payload: In,  # type: ignore[valid-type]
               public_id: UUID = PatientId) -> Any:
        patient = get_patient_for_user(request.auth, public_id)  # type: ignore[attr-defined]
        values = read_record(table, patient, payload.dict())  # type: ignore[attr-defined]
        new = model(patient=patient)
        _save(table, patient, new, values)
        return Status(201, new)

    def replace(request: HttpRequest, payload: In,  # type: ignore[valid-type]
                public_id: UUID = PatientId, record_id: int = RecordId) -> Any:
        patient = get_patient_for_user(request.auth, public_id)  # type: ignore[attr-defined]
        found = get_record_for_user(request.auth, model, patient,  # type: ignore[attr-defined]
                                    record_id)
        values = read_record(table, patient, payload.dict())  # type: ignore[attr-defined]
        _save(table, patient, found, values)
        return found

    def change(request: HttpRequest, payload: Change,  # type: ignore[valid-type]
               public_id: UUID = PatientId, record_id: int = RecordId) -> Any:
        patient = get_patient_for_user(request.auth, public_id)  # type: ignore[attr-defined]
        found = get_record_for_user(request.auth, model, patient,  # type: ignore[attr-defined]
                                    record_id)
        data = {**stored_input(table, found),
                **payload.dict(exclude_unset=True)}  # type: ignore[attr-defined]
        values = read_record(table, patient, data)
        _save(table, patient, found, values)
        return found

    def delete(request: HttpRequest, public_id: UUID = PatientId,
               record_id: int = RecordId) -> Any:
        patient = get_patient_for_user(request.auth, public_id)  # type: ignore[attr-defined]
        found = get_record_for_user(request.auth, model, patient,  # type: ignore[attr-defined]
                                    record_id)
        found.soft_delete()
        return Status(204, None)

    label = table.label
    ops: list[tuple[str, str, Callable[..., Any], dict[int, Any], Any, str]] = [
        ("GET", base, records, {200: list[Out], **_ERRORS}, READ,  # type: ignore[valid-type]
         f"The patient's {name} (deleted ones are not shown)."),
        ("POST", base, create, {201: Out, **_WRITE_ERRORS}, WRITE,
         f"Add a {label}; every value is read by the {name} reader, as in a file."),
        ("GET", item, record, {200: Out, **_ERRORS}, READ, f"One {label}."),
        ("PUT", item, replace, {200: Out, **_WRITE_ERRORS}, WRITE,
         f"Replace a {label} (fields not given become blank)."),
        ("PATCH", item, change, {200: Out, **_WRITE_ERRORS}, WRITE,
         f"Change some fields of a {label}; the whole record is read again."),
        ("DELETE", item, delete, {204: None, **_WRITE_ERRORS}, WRITE,
         f"Delete a {label} (softly: an administrator can restore it)."),
    ]
    for method, path, view, response, auth, summary in ops:
        op_name = {records: "list", create: "create", record: "get", replace: "replace",
                   change: "change", delete: "delete"}[view]
        view.__name__ = f"{op_name}_{name}"
        api.api_operation([method], path, auth=auth, response=response, tags=tags,
                          operation_id=f"{op_name}_{name}", summary=summary)(view)


for _table in TABLES.values():
    _register(_table)
