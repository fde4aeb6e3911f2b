"""The bridge from the database to the core: tables out, the computed course back.

The site computes nothing itself. A patient's records are turned into the tidy tables of
``docs/data-model.md`` and read through :func:`neda.io.read_tables` - the same readers every
other entry point uses - then :func:`neda.course_summary` computes the course. Results are
never stored as truth: they are cached, keyed by the patient's data version and the rule-set
digest, and the digest is shown on every screen.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.utils import timezone

from neda.io import InputError, Tables, read_tables
from neda.rules.common import column, column_numpy
from neda.rules.dmt_catalogue import CATALOGUE_VERSION
from neda.rules.monitoring import MonitoringOptions
from neda.summary import CourseSummary, SubjectIndex, SummaryOptions, summarise

from .models import (
    COUNTED_RELAPSE_STATUSES,
    Clinic,
    LabTest,
    MriScan,
    Patient,
    ProAnswer,
    Relapse,
    SymptomTreatment,
    Treatment,
    Visit,
)

#: The rule set of the clinic (defaults of docs/rules.md; one place to change them). The
#: clinic keeps a relapse register between visits (a patient's relapses are recorded when
#: ``Patient.relapses_recorded``), so "no relapse in the last 12 months" is judged up to today
#: (rules §14.2, ``monitoring.relapses_recorded_to``).
OPTIONS = SummaryOptions(monitoring=MonitoringOptions(relapses_recorded_to="as_of"))

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
_LAB_COLUMNS = ["date", "test", "result"]


@functools.cache  # the rule set is fixed for the life of the process
def rule_set_digest() -> str:
    """A fingerprint of every option of the clinic's rule set and of the DMT catalogue
    version (shown on every screen)."""
    options = {f.name: repr(getattr(OPTIONS, f.name)) for f in dataclasses.fields(OPTIONS)
               if f.name not in ("course", "as_of")}
    blob = json.dumps({"course": OPTIONS.course.as_dict(), **options,
                       "catalogue": CATALOGUE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def as_of_today() -> str:
    """The clinic's "now" (rules §14.1): today's date."""
    return timezone.localdate().isoformat()


def options_today() -> SummaryOptions:
    """The clinic's rule set, judged as of today."""
    return dataclasses.replace(OPTIONS, as_of=as_of_today())


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
                                        status__in=COUNTED_RELAPSE_STATUSES)
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
    labs = _frame(LabTest.objects.filter(patient_id__in=ids)
                  .values("patient_id", *_LAB_COLUMNS), _LAB_COLUMNS)
    for frame, cols in ((visits, ["date"]), (mri, ["date", "comparator_date"]),
                        (treatments, ["start", "stop"]), (pros, ["date"]),
                        (rel, ["date_end", "resolved_date"]), (labs, ["date"])):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
    patients_frame = pd.DataFrame([{
        "subject": p.pk, "birth_date": p.birth_date, "sex": p.sex or None,
        "onset_date": p.onset_date, "diagnosis_date": p.diagnosis_date,
        "phenotype_at_diagnosis": p.phenotype_at_diagnosis or None, "course": p.course or None,
    } for p in patients])
    for c in ("birth_date", "onset_date", "diagnosis_date"):
        patients_frame[c] = pd.to_datetime(patients_frame[c])
    # The clinic records scans and laboratory tests: a patient without any has had none
    # recorded here (an empty table), which makes an MRI overdue or a lab due (rules §14.3,
    # 14.4). Treatments and PROs stay "not given" when empty.
    return read_tables(
        visits=visits, relapses=rel if recorded else None, mri=mri,
        treatments=treatments if len(treatments) else None, pros=pros if len(pros) else None,
        labs=labs, patients=patients_frame)


def course_key(patient: Patient, options: SummaryOptions | None = None) -> str:
    """What the patient's course is a function of: the patient, their data version, the
    rule-set digest and the date (the cache key of :func:`course_for`; what is rendered from
    the course alone may be cached under it too)."""
    as_of = (options or options_today()).as_of
    return f"neda:course:{patient.pk}:{patient.data_version}:{rule_set_digest()}:{as_of}"


def cached_for_course(patient: Patient, part: str, render: Callable[[], str]) -> str:
    """``render()``, a part of a page that is a function of the patient's course alone (and of
    what ``part`` names), rendered once per :func:`course_key` and cached under it: a change
    of the records, the rule set or the date gives a new key."""
    key = f"{course_key(patient)}:{part}"
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    rendered = render()
    cache.set(key, rendered, timeout=None)
    return rendered


def course_for(patient: Patient) -> dict[str, Any]:
    """One patient's whole course (``PatientCourse.to_dict()`` with the chart data), as of
    today, cached by data version, rule-set digest and date; ``{"no_visits": True}`` for a
    patient without visits and ``{"input_error": ...}`` when a stored record does not read
    or a rule refuses it (the message names the table, row and column)."""
    options = options_today()
    key = course_key(patient, options)
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    found_in = _clinic_summary_with(patient, options)
    if found_in is not None:  # the clinic's course, computed for the list, is still current
        result = _course_from(found_in.summary, patient, options, index=found_in)
    else:
        try:
            result = compute_course(patient, options)
        except InputError as exc:
            result = _course_from(None, patient, options, input_error=str(exc))
    cache.set(key, result, timeout=None)
    return result


def compute_course(patient: Patient, options: SummaryOptions | None = None) -> dict[str, Any]:
    """The patient's course computed alone from the records as this transaction sees them,
    cached nowhere (a change checked inside a transaction that may be rolled back must not
    leave a course under a data version later given to other data); raises
    :class:`neda.io.InputError` when a record does not read or a rule refuses it."""
    options = options or options_today()
    tables = tables_for([patient])
    if tables.visits is None or not len(tables.visits):
        return _course_from(None, patient, options)
    return _course_from(summarise(tables, options=options), patient, options)


def _course_from(summary: CourseSummary | None, patient: Patient, options: SummaryOptions,
                 *, input_error: str | None = None, index: SubjectIndex | None = None
                 ) -> dict[str, Any]:
    result: dict[str, Any]
    if input_error is not None:
        result = {"subject": patient.pk, "input_error": input_error}
    elif summary is None:
        result = {"subject": patient.pk, "no_visits": True}
    else:
        # a clinic's summary: the patient's rows found through its index (O(their rows))
        result = (index or summary).patient(patient.pk).to_dict()
        result["chart"] = chart_data(summary, patient.pk, index)
    result["rule_set_digest"] = rule_set_digest()
    result["data_version"] = patient.data_version
    result["as_of"] = options.as_of
    return result


def forget_computed() -> None:
    """Drop every course this process holds (the cache and the clinics' courses)."""
    cache.clear()
    _CLINIC_SUMMARIES.clear()


@dataclasses.dataclass
class ClinicCourse:
    """A clinic's whole course as this process computed it (the list computes it): its key
    (clinic, data version, rule-set digest, date), per group of patients their ids and the
    summary with its :class:`neda.summary.SubjectIndex` (a patient's course and chart rows
    in O(their rows)), the list's table, and what screens derive from that table
    (:func:`kept_with_clinic`). Callers read these and never change them."""

    key: str
    groups: list[tuple[set[int], SubjectIndex]]
    overview: pd.DataFrame
    derived: dict[str, Any] = dataclasses.field(default_factory=dict)


#: The latest whole-clinic course of each clinic in this process (kept here, not in the cache:
#: unpickling 5,000 rows on every page costs more than the page). A patient's overview is
#: taken from it while the clinic's data version is unchanged (tests/web check that it equals
#: the patient's course computed alone); after any change the patient is computed alone. One
#: per clinic: a new computation replaces it, and what was derived from it with it.
_CLINIC_SUMMARIES: dict[int, ClinicCourse] = {}


def kept_with_clinic(overview: pd.DataFrame, clinic: Clinic, part: str,
                     make: Callable[[], Any]) -> Any:
    """``make()``, something derived from the clinic's table ``overview`` (as
    :func:`clinic_overview` returned it) and from what its key covers, made once per computed
    table under the name ``part`` and dropped with the table when a change of the clinic's
    records, the rule set or the date gives a new one."""
    kept = _CLINIC_SUMMARIES.get(clinic.pk)
    if kept is None or kept.key != overview.attrs.get("key"):
        return make()  # a newer table replaced it meanwhile: nothing to keep it with
    found = kept.derived.get(part)
    if found is None:
        found = kept.derived[part] = make()
    return found


def _clinic_key(clinic_id: int, data_version: int, options: SummaryOptions) -> str:
    return f"neda:clinic:{clinic_id}:{data_version}:{rule_set_digest()}:{options.as_of}"


def _clinic_summary_with(patient: Patient, options: SummaryOptions) -> SubjectIndex | None:
    found = _CLINIC_SUMMARIES.get(patient.clinic_id)
    if found is None:
        return None
    version = Clinic.objects.filter(pk=patient.clinic_id).values_list("data_version",
                                                                       flat=True).first()
    if found.key != _clinic_key(patient.clinic_id, version or 0, options):
        return None
    for ids, index in found.groups:
        if patient.pk in ids:
            return index
    return None


def clinic_overview(clinic: Clinic) -> pd.DataFrame:
    """The patients table of the whole clinic's course (the list's status badges), as of
    today, cached by the clinic's data version, the rule-set digest and the date.

    Patients whose relapses are recorded and those whose relapses are not are computed apart:
    one relapse table cannot say "none" for some patients and "not recorded" for others. A
    stored record the readers refuse leaves the table empty, with the message in
    ``attrs["input_error"]``."""
    clinic.refresh_from_db(fields=["data_version"])
    options = options_today()
    key = _clinic_key(clinic.pk, clinic.data_version, options)
    kept = _CLINIC_SUMMARIES.get(clinic.pk)
    if kept is not None and kept.key == key:
        return kept.overview
    seen = set(Visit.objects.filter(patient__clinic=clinic).values_list("patient_id",
                                                                         flat=True))
    with_visits = [p for p in Patient.objects.filter(clinic=clinic) if p.pk in seen]
    summaries: list[CourseSummary] = []
    error = None
    for group in ([p for p in with_visits if p.relapses_recorded],
                  [p for p in with_visits if not p.relapses_recorded]):
        if not group:
            continue
        try:
            summaries.append(summarise(tables_for(group), options=options))
        except InputError as exc:
            error = str(exc)
    parts = [summary.patients for summary in summaries]
    if error is not None or not parts:
        overview = pd.DataFrame({"subject": pd.Series([], dtype="int64")})
    else:
        overview = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    overview.attrs["input_error"] = error
    overview.attrs["as_of"] = options.as_of
    overview.attrs["key"] = key  # what the table is a function of (the list keys rows by it)
    _CLINIC_SUMMARIES[clinic.pk] = ClinicCourse(
        key, [(set(summary.patients["subject"].tolist()), SubjectIndex(summary))
              for summary in summaries] if error is None else [], overview)
    return overview


def chart_data(summary: CourseSummary, subject: Any, index: SubjectIndex | None = None
               ) -> dict[str, Any]:
    """What the overview chart draws, straight from the computed tables (no computing here):
    treatment epochs, relapses with severity and recovery, the rated and computed EDSS and the
    timed 25-foot walk per visit, confirmed events with their reference and confirmation,
    scans with their lesion counts, and NEDA per treatment year.

    Only the columns drawn are read, at the subject's rows (a clinic's tables: found through
    its ``index``), straight from the tables' arrays: selecting the rows of every column of
    a wide table, with its attrs copied at each step, cost most of a first overview."""
    def rows(name: str) -> np.ndarray:
        frame = getattr(summary, name)
        if not len(frame):
            return np.array([], dtype=np.intp)
        if index is not None:
            return index.positions(name, subject)
        return np.flatnonzero(column_numpy(frame, "subject") == subject)

    def values(name: str, at: np.ndarray, col: str) -> list[Any]:
        """``frame[col].iloc[at].tolist()`` without the Series (None: no such column)."""
        frame = getattr(summary, name)
        return column(frame, col)[at].tolist() if col in frame.columns else [None] * len(at)

    def iso(v: Any) -> str | None:
        return None if v is None or v is pd.NA or pd.isna(v) else pd.Timestamp(v).strftime(
            "%Y-%m-%d")

    def num(v: Any) -> float | None:
        return None if v is None or v is pd.NA or pd.isna(v) else float(v)

    def flag(v: Any) -> bool | None:
        return None if v is None or v is pd.NA or pd.isna(v) else bool(v)

    def text(v: Any) -> str:
        return "" if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else str(v)

    def records(name: str, at: np.ndarray, spec: dict[str, tuple[str, Any]]
                ) -> list[dict[str, Any]]:
        if not len(at):
            return []
        cols = [values(name, at, c) for c, _ in spec.values()]
        return [{k: spec[k][1](v) for k, v in zip(spec, row, strict=True)}
                for row in zip(*cols, strict=True)]

    visits = rows("assessments")
    neda = rows("neda")
    years = (neda[np.asarray(column(summary.neda, "window_type")[neda] == "per_year",
                             dtype=bool)]
             if len(neda) and "window_type" in summary.neda.columns
             else np.array([], dtype=np.intp))
    row = rows("patients")
    as_of = (iso(column(summary.patients, "as_of")[row[0]])
             if len(row) and "as_of" in summary.patients.columns else None)
    return {
        "as_of": as_of,
        "visits": records("assessments", visits, {
            "date": ("date", iso), "edss": ("edss", num),
            "computed": ("computed_edss", num), "t25fw": ("t25fw", num),
            "mismatch": ("edss_mismatch", flag),
            "mismatch_reason": ("edss_mismatch_reason", text)}),
        "events": records("events", rows("events"), {
            "type": ("event_type", text), "class": ("cdw_class", text),
            "pira_mri": ("pira_mri", text), "onset": ("onset_date", iso),
            "value": ("onset_value", num), "reference": ("reference_date", iso),
            "reference_value": ("reference_value", num),
            "confirmation": ("confirmation_date", iso),
            "confirmation_value": ("confirmation_value", num)}),
        "relapses": records("relapses", rows("relapses"), {
            "onset_start": ("onset_start", iso), "onset_end": ("onset_end", iso),
            "precision": ("precision", text), "severity": ("severity", text),
            "recovery": ("recovery", text), "recovery_reason": ("recovery_reason", text),
            "edss_pre": ("edss_pre", num), "edss_peak": ("edss_peak", num),
            "edss_post": ("edss_post", num)}),
        "scans": records("scans", rows("scans"), {
            "date": ("date", iso), "new_t2": ("new_t2", num),
            "enlarging_t2": ("enlarging_t2", num), "gd": ("gd", num),
            "contrast": ("contrast", flag)}),
        "epochs": records("epochs", rows("epochs"), {
            "drug": ("drug", text), "start": ("start", iso), "end": ("end", iso),
            "efficacy": ("efficacy", text), "end_reason": ("end_reason", text)}),
        "neda_years": records("neda", years, {
            "start": ("window_start", iso), "end": ("window_end", iso),
            "epoch": ("epoch", num), "neda3": ("neda3", flag),
            "reason": ("neda3_reason", text)}),
    }


def symptom_treatments_for(patient: Patient) -> list[SymptomTreatment]:
    return list(SymptomTreatment.objects.filter(patient=patient))
