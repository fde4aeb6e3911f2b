"""Data out: a patient's or the clinic's tables (CSV in a zip, or JSON), a patient's computed
course (JSON), and the backup of a whole clinic (:func:`backup_clinic`, for ``neda-admin
backup``; put back by :func:`.importing.restore_clinic`).

The tables are those of neda's data model (``docs/data-model.md``) with the cells written as a
user types them (ISO dates, ``yes``/``no``, blank for unknown), so that the exported files
read back through :func:`neda.io.read_tables` - and through the import screen - unchanged.
Two columns are the clinic's own and ignored by the rules: ``relapses.status`` (the review
status; only ``confirmed`` and ``pseudo`` relapses reach the rules) and
``patients.relapses_recorded``; the table ``symptom_treatments`` is the clinic's own too.

Researchers get pseudonymised subject identifiers (:meth:`.models.Patient.pseudonym`) and no
names; everyone else gets the registry identifiers. Deleted patients and records are never
exported (the backup keeps them).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from .checking import cell_text
from .course import course_for, rule_set_digest
from .models import (
    Clinic,
    LabTest,
    MriScan,
    Patient,
    PatientAccount,
    ProAnswer,
    Relapse,
    StaffMember,
    SymptomTreatment,
    Treatment,
    Visit,
)

EXPORT_FORMAT = "neda-export"
EXPORT_VERSION = 1

_VISITS = ["date", "edss", "edss_method", "fs_pyramidal", "fs_cerebellar", "fs_brainstem",
           "fs_sensory", "fs_bowel_bladder", "fs_visual", "fs_cerebral", "ambulation", "t25fw",
           "nhpt", "nhpt_dominant", "nhpt_nondominant", "sdmt", "pasat"]
_RELAPSES = ["date", "date_end", "resolved_date", "duration_hours", "pseudo", "fever",
             "infection", "paroxysmal", "objective", "severity", "steroids", "plex",
             "hospitalised", "symptoms", "fs_affected", "status"]
_MRI = ["date", "comparator_date", "contrast", "gd", "new_t2", "enlarging_t2", "spinal_cord",
        "pbvc", "same_protocol"]
_TREATMENTS = ["drug", "start", "stop", "stop_reason", "dosing_interval_days"]
_PROS = ["date", "instrument", "item", "response"]
_LABS = ["date", "test", "result"]
_SYMPTOM_TREATMENTS = ["drug", "symptom", "dose", "start", "stop"]
_PATIENTS = ["birth_date", "sex", "onset_date", "diagnosis_date", "phenotype_at_diagnosis",
             "course", "relapses_recorded"]

#: Every exported table and its columns (after ``subject``), in order.
COLUMNS: dict[str, list[str]] = {
    "patients": _PATIENTS, "visits": _VISITS, "relapses": _RELAPSES, "mri": _MRI,
    "treatments": _TREATMENTS, "pros": _PROS, "labs": _LABS,
    "symptom_treatments": _SYMPTOM_TREATMENTS,
}
_MODELS: dict[str, type[models.Model]] = {
    "visits": Visit, "relapses": Relapse, "mri": MriScan, "treatments": Treatment,
    "pros": ProAnswer, "labs": LabTest, "symptom_treatments": SymptomTreatment,
}


def neda_version() -> str:
    try:
        return version("neda")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def subject_label(patient: Patient, pseudonymise: bool) -> str:
    """What identifies the patient in an export: the registry identifier, or for
    researchers the pseudonym."""
    return patient.pseudonym() if pseudonymise else patient.subject


def _blank(value: Any) -> Any:
    return None if value == "" else value


def export_tables(patients: Sequence[Patient], *, pseudonymise: bool
                  ) -> dict[str, dict[str, Any]]:
    """The data-model tables of these patients (alive records only): table ->
    ``{"columns": [...], "rows": [[typed values], ...]}``. Blank text is None (unknown)."""
    labels = {p.pk: subject_label(p, pseudonymise) for p in patients}
    out: dict[str, dict[str, Any]] = {}
    patient_columns = ["subject", *([] if pseudonymise else ["name"]), *_PATIENTS]
    out["patients"] = {"columns": patient_columns, "rows": [
        [labels[p.pk], *([] if pseudonymise else [_blank(p.name)]),
         *(_blank(getattr(p, f)) for f in _PATIENTS)]
        for p in sorted(patients, key=lambda p: labels[p.pk])]}
    for table, model in _MODELS.items():
        columns = COLUMNS[table]
        records = model.objects.filter(  # type: ignore[attr-defined]
            patient_id__in=list(labels)).order_by("patient_id", "pk")
        rows = []
        for record in records:
            if table == "relapses":
                values = {"date": record.onset, "date_end": record.onset_end,
                          "pseudo": record.status == "pseudo"}
            else:
                values = {}
            rows.append([labels[record.patient_id], *(
                _blank(values[c] if c in values else getattr(record, c)) for c in columns)])
        rows.sort(key=lambda r: (str(r[0]), *(str(v) for v in r[1:3])))
        out[table] = {"columns": ["subject", *columns], "rows": rows}
    return out


def manifest(clinic: Clinic, tables: dict[str, dict[str, Any]], *, scope: str,
             pseudonymise: bool) -> dict[str, Any]:
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION,
            "exported_at": timezone.now().isoformat(), "neda_version": neda_version(),
            "clinic": clinic.name, "scope": scope, "pseudonymised": pseudonymise,
            "rows": {name: len(t["rows"]) for name, t in tables.items()},
            "data_model": "neda's docs/data-model.md; relapses.status, "
                          "patients.relapses_recorded and symptom_treatments are the clinic's "
                          "own"}


def tables_zip(tables: dict[str, dict[str, Any]], about: dict[str, Any]) -> bytes:
    """A zip of one UTF-8 CSV file per table (cells as a user types them) and
    ``export.json`` describing the export."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, table in tables.items():
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(table["columns"])
            for row in table["rows"]:
                writer.writerow([cell_text(v) for v in row])
            archive.writestr(f"{name}.csv", text.getvalue())
        archive.writestr("export.json", json.dumps(about, indent=2))
    return buffer.getvalue()


def tables_json(tables: dict[str, dict[str, Any]], about: dict[str, Any]) -> str:
    """The same tables as JSON: ``{..., "tables": {name: [{column: value}, ...]}}`` with ISO
    dates, numbers, true/false and null for unknown."""
    body = dict(about)
    body["tables"] = {name: [dict(zip(t["columns"], row, strict=True)) for row in t["rows"]]
                      for name, t in tables.items()}
    return json.dumps(body, default=_json_value, indent=1)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def course_export(patient: Patient, *, pseudonymise: bool) -> str:
    """The computed course of a patient (:func:`.course.course_for`) as JSON, identified by
    the export's label (the database id used inside the course never leaves)."""
    course = course_for(patient)
    label = subject_label(patient, pseudonymise)
    body = {"format": "neda-course", "version": EXPORT_VERSION,
            "exported_at": timezone.now().isoformat(), "neda_version": neda_version(),
            "rule_set_digest": rule_set_digest(), "subject": label,
            "pseudonymised": pseudonymise, "course": _relabel(course, patient.pk, label)}
    return json.dumps(body, default=_json_value, indent=1)


def _relabel(value: Any, pk: int, label: str) -> Any:
    if isinstance(value, dict):
        return {k: (label if k == "subject" and v == pk else _relabel(v, pk, label))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_relabel(v, pk, label) for v in value]
    return value


# -------------------------------------------------------------------------------- backup
BACKUP_FORMAT = "neda-clinic-backup"
#: 2: the tables other apps register (:func:`register_backup_table`, the patient portal's),
#: and references to user accounts (``reviewed_by``, ``set_by``) as user names. 3: each
#: account's own rows (:func:`register_account_table`: the second factor's devices). Version
#: 1 and 2 backups are still restored (2: accounts without a second factor); an older neda
#: refuses a version 3 backup rather than restore its accounts without their second factor.
BACKUP_VERSION = 3
BACKUP_VERSIONS_READ = (1, 2, 3)

#: The backed-up data models, in the order they are restored (parents before children:
#: patients first, then their records, then the tables registered by other apps).
BACKUP_MODELS: dict[str, type[models.Model]] = {
    "patients": Patient, "visits": Visit, "relapses": Relapse, "mri": MriScan,
    "treatments": Treatment, "symptom_treatments": SymptomTreatment, "pros": ProAnswer,
    "labs": LabTest,
}
#: How each backed-up table's rows are found from their clinic (a queryset lookup).
BACKUP_CLINIC_LOOKUP: dict[str, str] = {
    name: "clinic" if model is Patient else "patient__clinic"
    for name, model in BACKUP_MODELS.items()}
#: The account fields kept (the password as its hash, never in clear).
USER_FIELDS = ("username", "password", "first_name", "last_name", "email", "is_active",
               "is_staff", "is_superuser", "date_joined", "last_login")


def register_backup_table(name: str, model: type[models.Model], *,
                          clinic_lookup: str = "patient__clinic") -> None:
    """Put ``model`` (audited with django-simple-history) in the clinic's backup and restore,
    as table ``name``, after the tables registered before it; its rows are those of
    ``model`` filtered by ``clinic_lookup`` = the clinic. Apps that depend on the clinic
    (the patient portal) call it from their ``AppConfig.ready``, so that the clinic never
    imports them. References to a clinic, a patient or another backed-up table follow a
    restore that gives new ids; references to user accounts are kept as user names."""
    if BACKUP_MODELS.get(name, model) is not model:
        raise ValueError(f"backup table '{name}' is already {BACKUP_MODELS[name].__name__}")
    user_model = get_user_model()
    known = (Clinic, user_model, *BACKUP_MODELS.values())
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model not in known:
            raise ValueError(f"backup table '{name}': {model.__name__}.{f.name} refers to "
                             f"{f.related_model}, which is not backed up before it")
    BACKUP_MODELS[name] = model
    BACKUP_CLINIC_LOOKUP[name] = clinic_lookup


#: Tables of a user account's own rows (a ``user`` field), kept with each account of the
#: backup and restored with it: apps register them (:func:`register_account_table`).
ACCOUNT_MODELS: dict[str, type[models.Model]] = {}


def register_account_table(name: str, model: type[models.Model]) -> None:
    """Keep ``model``'s rows of each backed-up account with the account (under ``name``, all
    fields but the id and the user), and put them back when the accounts are restored. The
    patient portal registers the second factor's TOTP devices (their keys included: a
    restore gives the accounts back as they were, like their password hashes - see
    ``docs/portal-accounts.md``)."""
    user_field = model._meta.get_field("user")
    if not user_field.is_relation or user_field.related_model is not get_user_model():
        raise ValueError(f"account table '{name}': {model.__name__}.user is no user account")
    if ACCOUNT_MODELS.get(name, model) is not model:
        raise ValueError(f"account table '{name}' is already {ACCOUNT_MODELS[name].__name__}")
    ACCOUNT_MODELS[name] = model


def account_rows(user: Any) -> dict[str, list[dict[str, Any]]]:
    """The user's rows of every account table, as the backup keeps them."""
    out = {}
    for name, model in ACCOUNT_MODELS.items():
        fields = [f for f in model._meta.concrete_fields if f.name not in ("id", "user")]
        out[name] = _rows(model._default_manager.filter(user=user).order_by("pk"), fields, {})
    return out


def clinic_rows(name: str, clinic: Clinic) -> models.QuerySet[Any]:
    """Every row of backup table ``name`` that belongs to ``clinic``, deleted ones too."""
    model = BACKUP_MODELS[name]
    manager = getattr(model, "all_objects", model._default_manager)
    return manager.filter(**{BACKUP_CLINIC_LOOKUP[name]: clinic})


def field_value(value: Any) -> Any:
    """A database value as JSON (dates and times in ISO 8601 with every digit)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _rows(objects: Iterable[models.Model], fields: Sequence[models.Field[Any, Any]],
          usernames: dict[Any, str]) -> list[dict[str, Any]]:
    """The rows as JSON; a reference to a user account is its user name, under the field's
    name (``history_user``, ``reviewed_by``): user ids differ between databases."""
    user_model = get_user_model()
    users = [f for f in fields if f.is_relation and f.related_model is user_model]
    others = [f for f in fields if f not in users]
    return [{**{f.attname: field_value(getattr(o, f.attname)) for f in others},
             **{f.name: usernames.get(getattr(o, f.attname)) for f in users}}
            for o in objects]


def backup_clinic(clinic: Clinic, *, accounts: bool = True) -> dict[str, Any]:
    """Every row of the clinic: the clinic, its patients and every record of theirs (deleted
    ones too, with their deletion time), the tables other apps registered
    (:func:`register_backup_table`: the patient portal's diary, exercise, adherence, goals
    and schedules), the audit trail of all of them, and - with ``accounts`` - its staff and
    patient accounts (password hashes only) with their own rows (:func:`register_account_table`:
    the second factor's devices). Rows keep their database ids, so that references between
    them (and pseudonyms) survive a restore."""
    user_model = get_user_model()
    data: dict[str, Any] = {
        "format": BACKUP_FORMAT, "version": BACKUP_VERSION,
        "created_at": timezone.now().isoformat(), "neda_version": neda_version(),
        "clinic": {f.attname: field_value(getattr(clinic, f.attname))
                   for f in Clinic._meta.concrete_fields},
        "tables": {}, "history": {}, "accounts": None,
    }
    usernames = dict(user_model.objects.values_list("pk", user_model.USERNAME_FIELD))
    for name, model in BACKUP_MODELS.items():
        rows = clinic_rows(name, clinic)
        data["tables"][name] = _rows(rows.order_by("pk"), model._meta.concrete_fields,
                                     usernames)
        history = model.history.model  # type: ignore[attr-defined]
        entries = history.objects.filter(id__in=rows.values("pk")).order_by("history_id")
        data["history"][name] = _rows(entries, history._meta.concrete_fields, usernames)
    if accounts:
        staff = StaffMember.objects.filter(clinic=clinic).select_related("user").order_by("pk")
        own = PatientAccount.objects.filter(patient__clinic=clinic).select_related(
            "user").order_by("pk")
        user_fields = [f for f in user_model._meta.concrete_fields if f.name in USER_FIELDS]

        def user(u: Any) -> dict[str, Any]:
            return {f.attname: field_value(getattr(u, f.attname)) for f in user_fields}

        data["accounts"] = {
            "staff": [{"role": s.role, "user": user(s.user), "own": account_rows(s.user)}
                      for s in staff],
            "patients": [{"patient_id": a.patient_id, "user": user(a.user),
                          "own": account_rows(a.user)} for a in own],
        }
    data["rows"] = {name: len(rows) for name, rows in data["tables"].items()}
    return data
