"""What the API's write operations store: every value read through the core's readers, exactly
like a cell of an uploaded file.

A record sent to the API becomes a one-row table of text cells, read by
:func:`neda.io.read_table` with the table's schema (:mod:`neda.io.schema`). A bad cell is
answered with 422 and the reader's own message naming the field
(``visits record, column 'edss': got '0.5'; expected an EDSS value on the scale ...``); nothing is
checked here that the reader checks. What is stored is what the reader read (e.g. ``2x`` as
``2X``), turned into model values as the import does (:mod:`neda.web.clinic.importing`).

Two more checks are not the reader's but the storage's and the whole course's:

* the model's own field checks (``Model.full_clean``: lengths, the clinic-only ``status`` of a
  relapse, numbers a column cannot hold);
* after the change, the patient's records must still read together and give a course: the
  clinic's bridge (:func:`neda.web.clinic.course.course_for`) reads every table of the patient
  through the readers and the core computes the course. A second visit on the same date with
  other values, a PRO item the instrument does not have or a treatment stopping before it
  starts is refused there, with the core's message, and nothing is stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import models

from neda.io import SCHEMAS, Column, InputError, TableSchema, read_table
from neda.web.clinic.checking import SYMPTOM_TREATMENTS
from neda.web.clinic.course import compute_course
from neda.web.clinic.importing import cell_value, onset_text
from neda.web.clinic.models import RECORD_MODELS, Patient, PatientRecord

#: Fields every record has that are no input: set by the database.
_SYSTEM_FIELDS = ("id", "patient", "deleted_at", "created_at", "updated_at")


@dataclass(frozen=True)
class Table:
    """One record table of a patient: its model, the schema its reader checks, and which
    reader column each model field is (``onset`` is the relapses reader's ``date``)."""

    name: str
    label: str
    model: type[PatientRecord]
    schema: TableSchema
    #: model field -> the reader's column (the field name is the header the reader resolves)
    columns: dict[str, Column]
    #: fields the clinic keeps that the core does not read (a relapse's review ``status``)
    clinic_fields: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.columns, *self.clinic_fields)

    def model_field(self, name: str) -> models.Field[Any, Any]:
        return self.model._meta.get_field(name)  # type: ignore[return-value]

    def field_of_column(self, column: str | None) -> str | None:
        """The model field a reader's column (or header) names, if any."""
        for field, col in self.columns.items():
            if column in (field, col.name):
                return field
        return None


def _table(name: str, label: str, schema: TableSchema) -> Table:
    model = RECORD_MODELS[name]
    columns: dict[str, Column] = {}
    clinic: list[str] = []
    for f in model._meta.concrete_fields:
        if f.name in _SYSTEM_FIELDS:
            continue
        col = next((c for c in schema.columns if f.name == c.name or f.name in c.aliases), None)
        if col is None:
            clinic.append(f.name)
        else:
            columns[f.name] = col
    return Table(name, label, model, schema, columns, tuple(clinic))


#: Every record table of a patient, by its name in the data model (and in the API's paths).
TABLES: dict[str, Table] = {t.name: t for t in (
    _table("visits", "visit", SCHEMAS["visits"]),
    _table("relapses", "relapse", SCHEMAS["relapses"]),
    _table("mri", "MRI scan", SCHEMAS["mri"]),
    _table("treatments", "treatment", SCHEMAS["treatments"]),
    _table("symptom_treatments", "symptomatic treatment", SYMPTOM_TREATMENTS),
    _table("pros", "PRO answer", SCHEMAS["pros"]),
    _table("labs", "safety laboratory test", SCHEMAS["labs"]),
)}


class ApiInputError(Exception):
    """Input refused: 422 with one entry per problem, in the shape of the API's other 422
    answers (``{"loc": ["body", field], "msg": ..., "type": "value_error"}``)."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        super().__init__("; ".join(e["msg"] for e in errors))


def _error(field: str | None, msg: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": ["body", field] if field else ["body"], "msg": msg}


def _from_input_error(table: Table, exc: InputError, *, whole: bool = False) -> ApiInputError:
    """The reader's problems as 422 entries; each message is the reader's own, without the row
    number (of a one-row table, or of the patient's table as the bridge built it)."""
    errors = []
    for p in exc.problems:
        field = table.field_of_column(p.column) if p.file == table.name or not whole else None
        errors.append(_error(field, str(dataclasses.replace(p, row=None))))
    for (_file, column), n in exc.omitted.items():
        errors.append(_error(table.field_of_column(column), f"and {n} more problems"))
    return ApiInputError(errors)


def _cell(field: str, value: Any) -> str | None:
    """A JSON value as the text of a file's cell (blank = unknown)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        text = str(value)
        text.encode("utf-8")
    except (ValueError, UnicodeError) as exc:  # e.g. a number of thousands of digits
        raise ApiInputError([_error(field, f"{field}: cannot be read as text ({exc})")]) from None
    if "\x00" in text:  # a database text column cannot hold it (PostgreSQL)
        raise ApiInputError([_error(field, f"{field}: contains a NUL character")])
    return text


def read_record(table: Table, patient: Patient, data: dict[str, Any]) -> dict[str, Any]:
    """The model values of one record, read through the table's reader; raises
    :class:`ApiInputError` with the reader's message for every bad field."""
    row: dict[str, Any] = {"subject": str(patient.pk)}
    for field in table.columns:
        row[field] = _cell(field, data.get(field))
    frame = pd.DataFrame([row], dtype=object)
    try:
        read = read_table(frame, table.schema, file_label=f"{table.name} record")
    except InputError as exc:
        raise _from_input_error(table, exc) from None
    if not len(read):
        report = read.attrs["report"]
        why = "; ".join(c.reason for c in report.dropped) or "the row was left out"
        raise ApiInputError([_error(None, f"{table.name} record: nothing to store ({why})")])
    cells: dict[str, Any] = {str(k): v for k, v in read.iloc[0].items()}
    values: dict[str, Any] = {}
    for field, col in table.columns.items():
        values[field] = cell_value(cells.get(col.name))
    if table.name == "relapses":
        values["onset"], values["onset_end"] = onset_text(cells)
    for field in table.clinic_fields:
        values[field] = data.get(field)
    for field, value in values.items():
        if value is None and isinstance(table.model_field(field), models.CharField):
            values[field] = ""  # blank text is stored empty, as the import does
    return values


def clean(table: Table, record: PatientRecord) -> None:
    """The model's own field checks (lengths, choices, what a column can hold)."""
    try:
        record.full_clean(exclude=["patient"], validate_unique=False,
                          validate_constraints=False)
    except ValidationError as exc:
        raise ApiInputError([_error(field, f"{field}: {message}")
                             for field, messages in exc.message_dict.items()
                             for message in messages]) from None


def check_course(table: Table, patient: Patient) -> None:
    """The patient's records, as they now are in this transaction, read together and give a
    course (the same reading and computing as the screens, uncached: the transaction may
    still be rolled back: :func:`compute_course`); else
    :class:`ApiInputError`, and the caller's transaction is rolled back."""
    patient.refresh_from_db(fields=["data_version"])
    try:
        compute_course(patient)
    except InputError as exc:
        err = _from_input_error(table, exc, whole=True)
        raise ApiInputError([{**e, "msg": "with the patient's other records: " + e["msg"]}
                             for e in err.errors]) from None


def stored_input(table: Table, record: PatientRecord) -> dict[str, Any]:
    """A stored record as input again (for a partial update): dates as ISO text."""
    out: dict[str, Any] = {}
    for field in table.fields:
        value = getattr(record, field)
        out[field] = value.isoformat() if isinstance(value, dt.date) else value
    return out

