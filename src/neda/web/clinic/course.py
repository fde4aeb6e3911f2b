"""The bridge from the database to the core: tables out, the computed course back.

The site computes nothing itself. A patient's records are turned into the tidy tables of
``docs/data-model.md`` and read through :func:`neda.io.read_tables` - the same readers every
other entry point uses - then :func:`neda.course_summary` computes the course. Results are
never stored as truth: they are cached, keyed by the patient's data version and the rule-set
digest, and the digest is shown on every screen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
from django.core.cache import cache

from neda.io import Tables, read_tables
from neda.summary import CourseSummary, SummaryOptions, summarise

from .models import (
    Clinic,
    MriScan,
    Patient,
    ProAnswer,
    Relapse,
    SymptomTreatment,
    Treatment,
    Visit,
)

#: The rule set of the clinic (defaults of docs/rules.md; one place to change them).
OPTIONS = SummaryOptions()

_VISIT_COLUMNS = ["date", "edss", "edss_method", "fs_pyramidal", "fs_cerebellar",
                  "fs_brainstem", "fs_sensory", "fs_bowel_bladder", "fs_visual", "fs_cerebral",
                  "ambulation", "t25fw", "nhpt", "nhpt_dominant", "nhpt_nondominant", "sdmt",
                  "pasat"]
_RELAPSE_COLUMNS = ["onset", "onset_end", "resolved_date", "duration_hours", "fever",
                    "infection", "paroxysmal", "objective", "severity", "steroids", "plex",
                    "hospitalised", "symptoms", "fs_affected", "status"]
_MRI_COLUMNS = ["date", "comparator_date", "contrast", "gd", "new_t2", "enlarging_t2",
                "spinal_cord", "pbvc", "same_protocol"]
_TREATMENT_COLUMNS = ["drug", "start", "stop", "stop_reason", "dosing_interval_days"]
_PRO_COLUMNS = ["date", "instrument", "item", "response"]


def rule_set_digest() -> str:
    """A fingerprint of every option of the clinic's rule set (shown on every screen)."""
    blob = json.dumps({"course": OPTIONS.course.as_dict(), "relapse": repr(OPTIONS.relapse),
                       "dmt": repr(OPTIONS.dmt), "arr": repr(OPTIONS.arr),
                       "neda": repr(OPTIONS.neda), "phenotype": repr(OPTIONS.phenotype),
                       "pro": repr(OPTIONS.pro)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _frame(rows: Iterable[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["patient_id", *columns])
    return frame.rename(columns={"patient_id": "subject"})


def tables_for(patients: Iterable[Patient]) -> Tables:
    """The data-model tables of these patients, read through :mod:`neda.io` (subject = the
    patient's database id: no registry identifier leaves the database)."""
    ids = [p.pk for p in patients]
    recorded = [p.pk for p in patients if p.relapses_recorded]
    visits = _frame(Visit.objects.filter(patient_id__in=ids)
                    .values("patient_id", *_VISIT_COLUMNS), _VISIT_COLUMNS)
    rel = _frame(Relapse.objects.filter(patient_id__in=recorded,
                                        status__in=("confirmed", "pseudo"))
                 .values("patient_id", *_RELAPSE_COLUMNS), _RELAPSE_COLUMNS)
    # a pseudo-relapse (fever or infection) is cleaned by relapse hygiene, with its episode
    rel["pseudo"] = rel.pop("status") == "pseudo"
    rel = rel.rename(columns={"onset": "date", "onset_end": "date_end"})
    mri = _frame(MriScan.objects.filter(patient_id__in=ids).values("patient_id", *_MRI_COLUMNS),
                 _MRI_COLUMNS)
    treatments = _frame(Treatment.objects.filter(patient_id__in=ids)
                        .values("patient_id", *_TREATMENT_COLUMNS), _TREATMENT_COLUMNS)
    pros = _frame(ProAnswer.objects.filter(patient_id__in=ids)
                  .values("patient_id", *_PRO_COLUMNS), _PRO_COLUMNS)
    for frame, cols in ((visits, ["date"]), (mri, ["date", "comparator_date"]),
                        (treatments, ["start", "stop"]), (pros, ["date"]),
                        (rel, ["date_end", "resolved_date"])):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
    patients_frame = pd.DataFrame([{
        "subject": p.pk, "birth_date": p.birth_date, "sex": p.sex or None,
        "onset_date": p.onset_date, "diagnosis_date": p.diagnosis_date,
        "phenotype_at_diagnosis": p.phenotype_at_diagnosis or None, "course": p.course or None,
    } for p in patients])
    for c in ("birth_date", "onset_date", "diagnosis_date"):
        patients_frame[c] = pd.to_datetime(patients_frame[c])
    return read_tables(
        visits=visits, relapses=rel if recorded else None, mri=mri if len(mri) else None,
        treatments=treatments if len(treatments) else None, pros=pros if len(pros) else None,
        patients=patients_frame)


def course_for(patient: Patient) -> dict[str, Any]:
    """One patient's whole course (``PatientCourse.to_dict()``), cached by data version and
    rule-set digest; ``None``-safe for a patient without visits."""
    digest = rule_set_digest()
    key = f"neda:course:{patient.pk}:{patient.data_version}:{digest}"
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    tables = tables_for([patient])
    if tables.visits is None or not len(tables.visits):
        result: dict[str, Any] = {"subject": patient.pk, "no_visits": True}
    else:
        summary = summarise(tables, options=OPTIONS)
        result = summary.patient(patient.pk).to_dict()
        result["chart"] = chart_data(summary, patient.pk)
    result["rule_set_digest"] = digest
    result["data_version"] = patient.data_version
    cache.set(key, result, timeout=None)
    return result


def clinic_overview(clinic: Clinic) -> pd.DataFrame:
    """The patients table of the whole clinic's course (the list's status badges), cached by
    the clinic's data version and the rule-set digest."""
    clinic.refresh_from_db(fields=["data_version"])
    key = f"neda:clinic:{clinic.pk}:{clinic.data_version}:{rule_set_digest()}"
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    patients = list(Patient.objects.filter(clinic=clinic))
    with_visits = [p for p in patients if p.pk in set(
        Visit.objects.filter(patient__clinic=clinic).values_list("patient_id", flat=True))]
    if not with_visits:
        overview = pd.DataFrame({"subject": pd.Series([], dtype="int64")})
    else:
        overview = summarise(tables_for(with_visits), options=OPTIONS).patients
    cache.set(key, overview, timeout=None)
    return overview


def chart_data(summary: CourseSummary, subject: Any) -> dict[str, Any]:
    """What the overview chart draws, straight from the computed tables (no computing here)."""
    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["subject"] == subject] if len(frame) else frame

    def iso(v: Any) -> str | None:
        return None if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")

    vis = rows(summary._visits)
    events = rows(summary.events)
    epochs = rows(summary.epochs)
    neda = rows(summary.neda)
    years = (neda[neda["window_type"] == "per_year"] if len(neda) and "window_type" in neda
             else pd.DataFrame())
    return {
        "visits": [{"date": iso(d), "edss": None if pd.isna(e) else float(e)}
                   for d, e in zip(vis["date"], vis["edss"], strict=True)],
        "events": [{"type": t, "class": c or "", "onset": iso(o), "reference": iso(r),
                    "confirmation": iso(cf), "value": float(v)}
                   for t, c, o, r, cf, v in zip(events["event_type"], events["cdw_class"],
                                                events["onset_date"], events["reference_date"],
                                                events["confirmation_date"],
                                                events["onset_value"], strict=True)],
        "epochs": [{"drug": d, "start": iso(s), "end": iso(e)}
                   for d, s, e in zip(epochs.get("drug", []), epochs.get("start", []),
                                      epochs.get("end", []), strict=True)],
        "neda_years": [{"start": iso(s), "end": iso(e), "epoch": int(ep),
                        "neda3": None if pd.isna(v) else bool(v), "reason": r or ""}
                       for s, e, ep, v, r in zip(years.get("window_start", []),
                                                 years.get("window_end", []),
                                                 years.get("epoch", []), years.get("neda3", []),
                                                 years.get("neda3_reason", []), strict=True)],
    }


def symptom_treatments_for(patient: Patient) -> list[SymptomTreatment]:
    return list(SymptomTreatment.objects.filter(patient=patient))
