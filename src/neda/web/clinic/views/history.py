"""The audit trail of a record or a patient: who changed what, when, before and after (from
django-simple-history, which records every save, soft deletion and restoration)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ..access import (
    admin_required,
    editor_required,
    get_deleted_for_user,
    get_patient_for_user,
    get_record_for_user,
)
from ..checking import cell_text, describe
from ..forms import field_labels
from ..models import RECORD_MODELS, Patient
from .records import TABLE_LINKS, TITLES

#: Bookkeeping columns the trail does not list as changes (deletion is shown as its own kind).
HIDDEN = {"id", "patient", "clinic", "public_id", "created_at", "updated_at", "deleted_at",
          "data_version", "pseudonym_salt"}


def _shown(value: Any) -> str:
    return cell_text(value) or "—"


def audit_trail(record: Any, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The record's history, newest first: kind (created, changed, deleted, restored), who,
    when, and every changed field with its value before and after."""
    fields = [f.name for f in record._meta.concrete_fields
              if f.name not in HIDDEN and not f.name.endswith("_id")]

    def label(name: str) -> str:
        return labels.get(name) or str(record._meta.get_field(name).verbose_name).capitalize()

    entries = []
    previous = None
    for h in record.history.order_by("history_date", "history_id").select_related(
            "history_user"):
        if previous is None:
            # an import records its rows as created (with the importing user, if any)
            kind = ("imported" if h.history_type == "+" and h.history_change_reason == "import"
                    else "created" if h.history_type == "+" else
                    "deleted" if h.deleted_at is not None else "first recorded change")
            changes = [(label(n), "", _shown(getattr(h, n))) for n in fields
                       if cell_text(getattr(h, n))]
        else:
            kind = "changed"
            if h.deleted_at != previous.deleted_at:
                kind = "deleted" if h.deleted_at is not None else "restored"
            changes = [(label(n), _shown(getattr(previous, n)), _shown(getattr(h, n)))
                       for n in fields if getattr(previous, n) != getattr(h, n)]
        user = h.history_user
        entries.append({"kind": kind, "when": h.history_date,
                        "who": user.get_username() if user is not None else (
                            "import" if h.history_change_reason == "import" else "system"),
                        "changes": changes})
        previous = h
    return entries[::-1]


def _render(request: HttpRequest, record: Any, table: str, patient: Patient | None
            ) -> HttpResponse:
    noun = TITLES[table][0]
    return render(request, "clinic/records/history.html", {
        "record": record, "patient": patient, "table": table, "tables": TABLE_LINKS,
        "title": f"History of the {noun} {describe(record)}",
        "entries": audit_trail(record, field_labels(table))})


@editor_required
def record_history(request: HttpRequest, public_id: UUID, table: str, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    if table not in RECORD_MODELS:
        raise Http404("no such table")
    record = get_record_for_user(request.user, RECORD_MODELS[table], patient, pk)
    return _render(request, record, table, patient)


@editor_required
def patient_history(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    return _render(request, patient, "patients", patient)


@admin_required
def deleted_history(request: HttpRequest, table: str, pk: int) -> HttpResponse:
    """The trail of a deleted patient or record (from the restore screen)."""
    model = Patient if table == "patients" else RECORD_MODELS.get(table)
    if model is None:
        raise Http404("no such table")
    record: Any = get_deleted_for_user(request.user, model, pk)
    return _render(request, record, table, None)
