"""The API's JSON shapes (and so its OpenAPI schema), made from the models and the core's table
schemas, so that a column added to either appears here without a second list.

Input fields carry JSON types only (text, number, whole number, yes/no); what a value must be
(EDSS scale, ranges, the DMT catalogue, dates no later than today, choices and their synonyms)
is documented in the schema from :mod:`neda.io.schema` but checked by the reader alone
(:mod:`neda.web.api.validation`), so the API accepts exactly what a file would.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from django.db import models
from ninja import Schema
from ninja.orm import create_schema
from pydantic import ConfigDict, Field, WithJsonSchema, create_model

from neda.io import EDSS_SCALE, Column

from .validation import TABLES, Table


class Problem(Schema):
    detail: str


class FieldProblem(Schema):
    type: str
    loc: list[str | int]
    msg: str


class FieldProblems(Schema):
    detail: list[FieldProblem]


class PatientOut(Schema):
    """A patient as the caller may see them: researchers get the pseudonym as ``label`` and no
    registry identifier, name or birth date (``null``)."""

    id: UUID = Field(description="opaque identifier, used in every path")
    label: str = Field(description="registry identifier; for researchers the pseudonym")
    subject: str | None = Field(description="registry identifier (null for researchers)")
    name: str | None = Field(description="name (null for researchers)")
    birth_date: dt.date | None = Field(description="date of birth (null for researchers)")
    sex: str
    onset_date: dt.date | None
    diagnosis_date: dt.date | None
    phenotype_at_diagnosis: str
    course: str = Field(description="the clinician's current course")
    relapses_recorded: bool
    data_version: int = Field(description="changes whenever a record of the patient changes")


class PatientPage(Schema):
    count: int
    items: list[PatientOut]


class _Input(Schema):
    """A record sent to the API: an unknown field is an error (a misspelt ``edds`` would
    otherwise be dropped silently)."""

    model_config = ConfigDict(extra="forbid")


def _json_type(col: Column | None, field: models.Field[Any, Any]) -> tuple[Any, dict[str, Any]]:
    """The Python type of an input field, and the JSON schema that documents it."""
    doc: dict[str, Any]
    if col is None:  # a clinic-only field (e.g. a relapse's review status)
        doc = {"type": "string"}
        if field.choices:
            doc["enum"] = [str(value) for value, _ in field.choices]
        return str, doc
    kind = col.kind
    if kind in ("date",):
        return str, {"type": "string", "format": "date"}
    if kind == "onset":
        return str, {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"}
    if kind == "edss":
        return float, {"type": "number", "enum": [float(v) for v in EDSS_SCALE]}
    if kind in ("number", "integer"):
        doc = {"type": "integer" if kind == "integer" else "number"}
        if col.lo is not None:
            doc["exclusiveMinimum" if col.lo_open else "minimum"] = col.lo
        if col.hi is not None:
            doc["maximum"] = col.hi
        return (int if kind == "integer" else float), doc
    if kind == "flag":
        return bool, {"type": "boolean"}
    doc = {"type": "string"}
    if kind == "choice":
        doc["enum"] = list(col.allowed)
    max_length = getattr(field, "max_length", None)
    if max_length:
        doc["maxLength"] = max_length
    return str, doc


def _input_schema(table: Table, *, partial: bool) -> type[Schema]:
    fields: dict[str, Any] = {}
    for name in table.fields:
        col = table.columns.get(name)
        model_field = table.model_field(name)
        python_type, doc = _json_type(col, model_field)
        description = (f"{col.description} ({col.type_text()})" if col is not None
                       else str(model_field.verbose_name))
        required = col is not None and col.required and not partial
        annotation: Any = Annotated[python_type, WithJsonSchema(doc)]
        if required:
            fields[name] = (annotation, Field(description=description))
        else:
            default = (None if partial or col is not None or not model_field.has_default()
                       else model_field.get_default())
            fields[name] = (annotation | None, Field(default=default, description=description))
    kind = "Change" if partial else "In"
    schema: type[Schema] = create_model(  # type: ignore[call-overload]
        f"{table.model.__name__}{kind}", __base__=_Input, __module__=__name__, **fields)
    return schema


def _output_schema(table: Table) -> type[Schema]:
    return create_schema(table.model, name=f"{table.model.__name__}Out",
                         fields=["id", *table.fields, "created_at", "updated_at"])


#: Per table: the body of a create or full update, of a partial update, and the record out.
RECORD_IN: dict[str, type[Schema]] = {n: _input_schema(t, partial=False)
                                      for n, t in TABLES.items()}
RECORD_CHANGE: dict[str, type[Schema]] = {n: _input_schema(t, partial=True)
                                          for n, t in TABLES.items()}
RECORD_OUT: dict[str, type[Schema]] = {n: _output_schema(t) for n, t in TABLES.items()}
