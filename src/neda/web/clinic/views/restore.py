"""The administrator's restore screen: every softly deleted patient and record of the clinic,
each with a restore button.

A record comes back only if the readers still accept it among the patient's current records
(a visit deleted, then entered again with another EDSS on the same day, would make the
patient's course unreadable): it is checked exactly like a form's input.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..access import admin_required, deleted_for_user, get_deleted_for_user
from ..checking import check_record, describe, record_cells
from ..forms import field_labels
from ..models import RECORD_MODELS, Patient, SoftDeleteModel
from .records import TITLES

TABLES: dict[str, type[SoftDeleteModel]] = {"patients": Patient, **RECORD_MODELS}


def _model(table: str) -> type[SoftDeleteModel]:
    try:
        return TABLES[table]
    except KeyError as exc:
        raise Http404("no such table") from exc


def deleted_by(record: Any) -> str:
    """Who deleted the record (its latest audit entry), for the restore screen."""
    entry = record.history.order_by("-history_date", "-history_id").first()
    user = getattr(entry, "history_user", None)
    return user.get_username() if user is not None else ""


@admin_required
def deleted_records(request: HttpRequest) -> HttpResponse:
    groups = []
    for table, model in TABLES.items():
        found = deleted_for_user(request.user, model).order_by("-deleted_at")
        if model is not Patient:
            found = found.select_related("patient")
        rows = [{"record": r, "table": table, "what": describe(r),
                 "patient": r if model is Patient else r.patient,
                 "deleted_by": deleted_by(r)} for r in found]
        if rows:
            groups.append({"title": TITLES[table][1], "rows": rows})
    return render(request, "clinic/records/deleted.html", {"groups": groups})


@admin_required
@require_POST
def record_restore(request: HttpRequest, table: str, pk: int) -> HttpResponse:
    record: Any = get_deleted_for_user(request.user, _model(table), pk)  # type: ignore[type-var]
    noun = TITLES[table][0]
    if table != "patients":
        checked = check_record(table, record.patient, record_cells(record, table),
                               field_labels(table), instance_pk=record.pk,
                               status=getattr(record, "status", "confirmed"))
        if not checked.ok:
            for problems in checked.errors.values():
                for problem in problems:
                    messages.error(request, f"The {noun} {describe(record)} was not restored: "
                                            f"{problem}")
            return redirect("deleted_records")
        for warning in checked.warnings:
            messages.warning(request, warning)
    record.restore()
    where = (" (their patient is deleted too: restore the patient to see it)"
             if table != "patients" and record.patient.deleted_at is not None else "")
    messages.success(request, f"{noun.capitalize()} {describe(record)} restored{where}.")
    return redirect("deleted_records")
