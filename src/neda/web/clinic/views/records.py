"""Forms to add, edit and (softly) delete every record type and the patient's own data.

Input is read by neda.io (:mod:`..checking`): errors block saving; the rules' warnings are
shown and saved only when the user confirms exactly the warnings shown ("Save anyway").
Every save bumps the patient's data version, so the course is computed again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ..access import (
    admin_required,
    editor_required,
    get_patient_for_user,
    get_record_for_user,
    staff_of,
)
from ..checking import cell_text, describe
from ..forms import (
    DMT_LIST,
    RECORD_FORMS,
    CheckedForm,
    PatientForm,
    RecordForm,
    dmt_names,
)
from ..models import RECORD_MODELS, Patient, PatientRecord

#: What each table is called on the screens.
TITLES = {"visits": ("visit", "Visits"), "relapses": ("relapse", "Relapses"),
          "mri": ("MRI scan", "MRI scans"), "treatments": ("treatment", "Treatments"),
          "symptom_treatments": ("symptom treatment", "Symptom treatments"),
          "pros": ("questionnaire answer", "Questionnaire answers"),
          "labs": ("laboratory test", "Safety laboratory tests"),
          "patients": ("patient", "Patients")}
#: The record types, for the links between a patient's lists.
TABLE_LINKS = [(t, TITLES[t][1]) for t in RECORD_FORMS]


def _form_class(table: str) -> type[RecordForm]:
    try:
        return RECORD_FORMS[table]
    except KeyError as exc:
        raise Http404("no such table") from exc


def _saved(request: HttpRequest, form: CheckedForm) -> bool:
    """Whether this POST may be saved: a valid form, asked to save, with no warnings or with
    exactly the warnings shown confirmed."""
    valid = form.is_valid()  # read it in any case: "compute" shows what the rules make of it
    if request.POST.get("action", "save") != "save" or not valid:
        return False
    warnings = form.checked.warnings
    return not warnings or request.POST.get("confirm") == form.checked.digest()


def _render_form(request: HttpRequest, form: CheckedForm, *, title: str, patient: Patient | None,
                 cancel: str, table: str, **extra: Any) -> HttpResponse:
    posted = request.method == "POST"
    return render(request, "clinic/records/form.html", {
        "form": form, "title": title, "patient": patient, "cancel": cancel, "table": table,
        "checked": form.checked if posted else None,
        "dmt_list": DMT_LIST if table == "treatments" else "",
        "dmt_names": dmt_names() if table == "treatments" else [],
        "edss_helper": table == "visits", "tables": TABLE_LINKS, **extra,
    })


def _record_form(request: HttpRequest, patient: Patient, table: str,
                 instance: PatientRecord | None) -> HttpResponse:
    form_class = _form_class(table)
    noun = TITLES[table][0]
    listing = reverse("record_list", args=[patient.public_id, table])
    if request.method == "POST":
        form = form_class(request.POST, patient=patient, instance=instance)
        if _saved(request, form):
            with transaction.atomic():
                record = form.save()
            verb = "changed" if instance is not None else "added"
            messages.success(request, f"{noun.capitalize()} {describe(record)} {verb}.")
            for note in form.checked.notes:
                messages.info(request, note)
            return redirect(listing)
    else:
        form = form_class(patient=patient, instance=instance)
    title = f"{'Edit' if instance is not None else 'Add'} {noun}"
    return _render_form(request, form, title=title, patient=patient, cancel=listing,
                        table=table, instance=instance)


@editor_required
@require_http_methods(["GET", "POST"])
def record_add(request: HttpRequest, public_id: UUID, table: str) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    _form_class(table)
    return _record_form(request, patient, table, None)


@editor_required
@require_http_methods(["GET", "POST"])
def record_edit(request: HttpRequest, public_id: UUID, table: str, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    _form_class(table)
    record = get_record_for_user(request.user, RECORD_MODELS[table], patient, pk)
    return _record_form(request, patient, table, record)


@editor_required
@require_http_methods(["GET", "POST"])
def record_delete(request: HttpRequest, public_id: UUID, table: str, pk: int) -> HttpResponse:
    """GET asks to confirm; POST deletes softly (an administrator can restore it)."""
    patient = get_patient_for_user(request.user, public_id)
    _form_class(table)
    record = get_record_for_user(request.user, RECORD_MODELS[table], patient, pk)
    noun = TITLES[table][0]
    listing = reverse("record_list", args=[patient.public_id, table])
    if request.method == "POST":
        record.soft_delete()
        messages.success(request, f"{noun.capitalize()} {describe(record)} deleted. An "
                                  "administrator can restore it.")
        return redirect(listing)
    return render(request, "clinic/records/delete.html", {
        "patient": patient, "what": f"the {noun} {describe(record)}", "cancel": listing})


@editor_required
def record_list(request: HttpRequest, public_id: UUID, table: str) -> HttpResponse:
    """A patient's records of one table, with links to edit, delete and see the history."""
    patient = get_patient_for_user(request.user, public_id)
    form_class = _form_class(table)
    model = RECORD_MODELS[table]
    columns = form_class.list_fields
    labels = {n: form_class.base_fields[n].label if n in form_class.base_fields else n
              for n in columns}
    rows = [{"record": r, "cells": [cell_text(getattr(r, n)) for n in columns]}
            for r in model.objects.filter(patient=patient)]  # type: ignore[attr-defined]
    return render(request, "clinic/records/list.html", {
        "patient": patient, "table": table, "title": TITLES[table][1],
        "noun": TITLES[table][0], "columns": [labels[n] for n in columns], "rows": rows,
        "tables": TABLE_LINKS})


# ------------------------------------------------------------------------------ patients
@editor_required
@require_http_methods(["GET", "POST"])
def patient_add(request: HttpRequest) -> HttpResponse:
    staff = staff_of(request.user)
    assert staff is not None  # editor_required
    return _patient_form(request, staff.clinic_id, None)


@editor_required
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    return _patient_form(request, patient.clinic_id, patient)


def _patient_form(request: HttpRequest, clinic_id: int, instance: Patient | None
                  ) -> HttpResponse:
    cancel = (reverse("patient_overview", args=[instance.public_id]) if instance is not None
              else reverse("patient_list"))
    if request.method == "POST":
        form = PatientForm(request.POST, clinic_id=clinic_id, instance=instance)
        if _saved(request, form):
            with transaction.atomic():
                patient = form.save()
            messages.success(request, f"Patient {patient.subject} "
                                      f"{'changed' if instance else 'added'}.")
            return redirect("patient_overview", public_id=patient.public_id)
    else:
        form = PatientForm(clinic_id=clinic_id, instance=instance)
    title = f"Edit patient {instance.subject}" if instance is not None else "New patient"
    return _render_form(request, form, title=title, patient=instance, cancel=cancel,
                        table="patients", instance=instance)


@admin_required
@require_http_methods(["GET", "POST"])
def patient_delete(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Delete a patient softly (administrators; restored on the restore screen)."""
    patient = get_patient_for_user(request.user, public_id)
    if request.method == "POST":
        patient.soft_delete()
        messages.success(request, f"Patient {patient.subject} deleted. They can be restored "
                                  "on the restore screen.")
        return redirect("patient_list")
    return render(request, "clinic/records/delete.html", {
        "patient": patient, "what": f"the patient {patient.subject} and with them every "
        "record of theirs", "cancel": reverse("patient_overview", args=[patient.public_id])})

