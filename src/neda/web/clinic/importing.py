"""Tables in, records out: the one way data enters the clinic in bulk.

Uploads, the demo clinic and ``neda restore`` all read their files through
:func:`neda.io.read_tables` (the core's readers: every cell checked, every problem named by
file, row and column) and commit here, in one transaction: either every row is stored or none
is. Patients are matched by their registry identifier within the clinic; a table naming a
patient the clinic does not have creates the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.db import transaction
from django.db.models import F
from simple_history.utils import bulk_create_with_history

from neda.io import Tables

from .models import Clinic, LabTest, MriScan, Patient, ProAnswer, Relapse, Treatment, Visit

_FIELDS = {
    "visits": (Visit, ["date", "edss", "edss_method", "fs_pyramidal", "fs_cerebellar",
                       "fs_brainstem", "fs_sensory", "fs_bowel_bladder", "fs_visual",
                       "fs_cerebral", "ambulation", "t25fw", "nhpt", "nhpt_dominant",
                       "nhpt_nondominant", "sdmt", "pasat"]),
    "mri": (MriScan, ["date", "comparator_date", "contrast", "gd", "new_t2", "enlarging_t2",
                      "spinal_cord", "pbvc", "same_protocol"]),
    "treatments": (Treatment, ["drug", "start", "stop", "stop_reason", "dosing_interval_days"]),
    "pros": (ProAnswer, ["date", "instrument", "item", "response"]),
    "labs": (LabTest, ["date", "test", "result"]),
    "relapses": (Relapse, ["resolved_date", "duration_hours", "fever", "infection",
                           "paroxysmal", "objective", "severity", "steroids", "plex",
                           "hospitalised", "symptoms", "fs_affected"]),
}
_PATIENT_FIELDS = ["birth_date", "sex", "onset_date", "diagnosis_date",
                   "phenotype_at_diagnosis", "course"]


@dataclass
class ImportResult:
    """What a commit stored: rows per table, patients created."""

    rows: dict[str, int] = field(default_factory=dict)
    patients_created: int = 0

    def summary(self) -> str:
        parts = [f"{n} {name}" for name, n in self.rows.items() if n]
        created = f"; {self.patients_created} new patients" if self.patients_created else ""
        return (", ".join(parts) or "nothing") + created


def _value(v: Any) -> Any:
    """A cell of a validated table as a model value (NaN/NaT/<NA> -> None, Timestamp -> date)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _onset_text(row: dict[str, Any]) -> tuple[str, Any]:
    """The onset as the clinic stores it, at its precision (the reader's interval back to the
    form a user enters): ``2024-03-05``, ``2024-03``, ``2024``, or a day plus a latest day."""
    start = pd.Timestamp(row["date"])
    precision = row.get("precision", "day")
    if precision == "month":
        return start.strftime("%Y-%m"), None
    if precision == "year":
        return start.strftime("%Y"), None
    if precision == "range":
        return start.strftime("%Y-%m-%d"), pd.Timestamp(row["date_end"]).date()
    return start.strftime("%Y-%m-%d"), None


def commit(clinic: Clinic, tables: Tables, user: Any = None) -> ImportResult:
    """Store every row of these validated tables in the clinic, all or nothing. Every stored
    row gets its audit entry (who: ``user``; why: an import)."""
    result = ImportResult()
    with transaction.atomic():
        known = {p.subject: p for p in Patient.all_objects.filter(clinic=clinic)}
        subjects: set[str] = set()
        for name in ("patients", "visits", "relapses", "mri", "treatments", "pros", "labs"):
            frame = getattr(tables, name)
            if frame is not None:
                subjects.update(str(s) for s in frame["subject"].unique())
        new = [Patient(clinic=clinic, subject=s) for s in sorted(subjects) if s not in known]
        for p in new:
            p.save()
            known[p.subject] = p
        result.patients_created = len(new)
        if tables.patients is not None:
            fields = [f for f in _PATIENT_FIELDS if f in tables.patients.columns]
            for row in tables.patients.itertuples(index=False):
                p = known[str(row.subject)]
                for f in fields:
                    value = _value(getattr(row, f))
                    setattr(p, f, "" if value is None and f in ("sex", "course",
                                                                "phenotype_at_diagnosis")
                            else value)
                p.save()
            result.rows["patients"] = len(tables.patients)
        for name, (model, fields) in _FIELDS.items():
            frame = getattr(tables, name)
            if frame is None or not len(frame):
                continue
            present = [f for f in fields if f in frame.columns]
            objects = []
            for row in frame.to_dict("records"):
                kwargs = {f: _value(row[f]) for f in present}
                for f in ("edss_method", "severity", "stop_reason", "symptoms", "fs_affected",
                          "response", "result", "fs_pyramidal", "fs_cerebellar", "fs_brainstem",
                          "fs_sensory", "fs_bowel_bladder", "fs_visual", "fs_cerebral"):
                    if f in kwargs and kwargs[f] is None:
                        kwargs[f] = ""
                if name == "relapses":
                    kwargs["onset"], kwargs["onset_end"] = _onset_text(row)
                    pseudo = _value(row.get("pseudo"))
                    kwargs["status"] = "pseudo" if pseudo else "confirmed"
                if name == "pros":
                    kwargs["item"] = str(kwargs["item"])
                    kwargs["response"] = "" if kwargs["response"] in (None, "") else (
                        str(int(kwargs["response"])) if isinstance(kwargs["response"], float)
                        and float(kwargs["response"]).is_integer() else str(kwargs["response"]))
                objects.append(model(patient=known[str(row["subject"])], **kwargs))
            bulk_create_with_history(objects, model, batch_size=2000, default_user=user,
                                     default_change_reason="import")
            result.rows[name] = len(objects)
        # bulk_create skips save(): the changed patients' courses must be recomputed
        Patient.all_objects.filter(pk__in=[known[s].pk for s in subjects]).update(
            data_version=F("data_version") + 1)
        Clinic.objects.filter(pk=clinic.pk).update(data_version=F("data_version") + 1)
    return result
