"""Monitoring: the last 12 months, what is overdue, and how the scores move (rules §14).

Everything here is relative to one date, ``as_of`` (the data cut-off: by default the latest
date in the data; a clinic passes today). The window of "the last 12 months" is
``(as_of - window_days, as_of]`` - the trailing window of the Lublin descriptors (rules §6.1).

* :func:`monitoring_status` - one row per patient (rules §14.2-14.4):

  - **relapses in the last year** (count, and yes / no / unknown with a reason): relapses after
    relapse hygiene (rules §3.1) whose onset interval lies in the window; an onset interval
    only partly in it makes the answer unknown unless another relapse is inside; "no" needs
    the relapse record to cover the window (a follow-up table, else first to last visit, or -
    with ``relapses_recorded_to = "as_of"`` - up to ``as_of`` for a patient seen in the
    window); no relapse table = unknown;
  - **confirmed worsening in the last year**: confirmed disability worsening (rules §2) with
    onset in the window, confirmed by ``as_of``, counted by class (RAW, PIRA, of which PIRMA,
    and the rest: undefined or unknown);
  - **no EDSS in 12 months**: no rated EDSS in the window;
  - **no MRI in 12 months while on a DMT**: on a DMT at ``as_of`` (a treatment epoch, rules
    §8.3, covering it) and no scan in the window; not applicable off treatment; unknown when
    MRI scans were not recorded;
  - **safety labs due**: for the DMT at ``as_of``, each test of the catalogue's lab schedule
    (rules §8.1, 14.4) that applies at this point of the therapy is due when its interval has
    passed since the last test of that kind (or none is recorded); unknown when the drug has
    no known interval schedule or labs were not recorded.

* :func:`score_trends` - the latest and the previous value of every score (EDSS, timed tests,
  SDMT, MSFC, questionnaires), their difference, and which direction is worse (rules §14.5).
  A difference between two values is not a confirmed change: confirmed worsening is rules §2.

Nothing here interprets a lab result: the schedule says when a test is due, not what it means.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..options import Options, option
from .common import (
    column,
    column_numpy,
    day_numbers,
    factorized,
    frame_of,
    index_positions,
    provenance,
    rule_set_name,
    single_value,
    texts_by_key,
)
from .dmt_catalogue import lookup_drug
from .relapses import as_hygiene

SOURCE = ("docs/rules.md §14 (monitoring), 6.1 (trailing 12-month window), 3.1 (relapses), "
          "2 (confirmed worsening), 8.1 (lab schedules of the DMT catalogue)")
RELAPSES_RECORDED_TO = ("last_visit", "as_of")


@dataclass(frozen=True)
class MonitoringOptions(Options):
    """Options of the monitoring statuses (rules §10 keys ``monitoring.*``, rules §14).

    window_days : ``monitoring.window_days`` = 365: "the last 12 months" is
        ``(as_of - 365, as_of]`` (rules §0.2: 12 months = 365 days; §6.1 window) [C].
    edss_interval_days : ``monitoring.edss_interval_days`` = 365: an EDSS is overdue when
        none was rated in the last 365 days [C] (annual assessment, Lublin 2014 [V]).
    mri_interval_days : ``monitoring.mri_interval_days`` = 365: on a DMT, an MRI is overdue
        when no scan was done in the last 365 days [C] (annual monitoring scan, MAGNIMS 2015 and
        MAGNIMS-CMSC-NAIMS 2021, rules §5.4).
    relapses_recorded_to : ``monitoring.relapses_recorded_to`` = ``"last_visit"``: without a
        follow-up table, relapses count as recorded from the first to the last visit (rules
        §2.7.2), so "no relapse in the last year" needs a visit on or after ``as_of``;
        ``"as_of"``: relapses are recorded continuously up to ``as_of`` (a clinic's register,
        where an empty relapse list means none occurred) for every patient seen in the
        window; a patient without a visit in the last 12 months stays unknown.
    name : rule-set name stored with results.
    """

    window_days: int = option(365, whole=True, ge=1, key="monitoring.window_days")
    edss_interval_days: int = option(365, whole=True, ge=1,
                                     key="monitoring.edss_interval_days")
    mri_interval_days: int = option(365, whole=True, ge=1, key="monitoring.mri_interval_days")
    relapses_recorded_to: str = option("last_visit", choices=RELAPSES_RECORDED_TO,
                                       key="monitoring.relapses_recorded_to")
    name: str | None = None

    @property
    def rule_set(self) -> str:
        return rule_set_name(self)


#: Columns of :func:`monitoring_status`, in order.
MONITORING_COLUMNS = {
    "subject": "Subject identifier.",
    "as_of": "The date the statuses refer to.",
    "relapses_last_year": "Relapses with onset in the window (<NA>: relapses not recorded).",
    "relapse_last_year": "A relapse in the window: True / False / <NA> unknown.",
    "relapse_last_year_reason": "Why (always given unless False).",
    "cdw_last_year": "Confirmed disability worsening with onset in the window.",
    "raw_last_year": "Of which RAW.",
    "pira_last_year": "Of which PIRA.",
    "pirma_last_year": "Of the PIRA, PIRMA (PIRA with MRI activity, rules §2.7.4).",
    "unclassified_last_year": "Of which neither RAW nor PIRA (undefined or unknown).",
    "edss_last_date": "Latest rated EDSS on or before as_of.",
    "edss_overdue": "No EDSS in the last edss_interval_days.",
    "edss_reason": "Why (the latest EDSS and how long ago).",
    "dmt_at_as_of": "The DMT of the treatment epoch covering as_of (None: none).",
    "mri_last_date": "Latest scan on or before as_of.",
    "mri_status": "overdue, up_to_date, not_on_dmt or unknown (scans not recorded).",
    "mri_overdue": "On a DMT and no scan in the last mri_interval_days (<NA>: not on a DMT, "
                   "or unknown).",
    "mri_reason": "Why.",
    "labs_status": "due, up_to_date, not_required (the label asks for no routine labs), "
                   "no_schedule (no interval schedule known), not_on_dmt or unknown (labs "
                   "not recorded).",
    "labs_due": "A scheduled lab is due (<NA>: not on a DMT, no schedule known, or unknown).",
    "labs_due_tests": "The tests due, ';'-separated.",
    "labs_next_due": "When the next scheduled lab falls due (when none is due now).",
    "labs_reason": "Each scheduled test: its interval, the last test and when it is due.",
    "rule_set": "Name of the options.",
}

#: Scores followed over time (rules §14.5): name -> (label, where it comes from, which
#: direction is worse, the symptom it measures or None).
MEASURES: dict[str, tuple[str, str, str, str | None]] = {
    "edss": ("EDSS", "visits", "higher", None),
    "t25fw": ("Timed 25-foot walk (s)", "visits", "higher", "walking"),
    "nhpt": ("9-hole peg test (s)", "visits", "higher", None),
    "sdmt": ("SDMT (correct)", "visits", "lower", "cognition"),
    "msfc": ("MSFC (z-score)", "visits", "lower", None),
    "mfis_total": ("MFIS total", "pros", "higher", "fatigue"),
    "fss": ("FSS", "pros", "higher", "fatigue"),
    "msws12": ("MSWS-12", "pros", "higher", "walking"),
    "msis29_physical": ("MSIS-29 physical", "pros", "higher", None),
    "msis29_psychological": ("MSIS-29 psychological", "pros", "higher", "mood"),
    "spasticity_nrs": ("Spasticity NRS", "pros", "higher", "spasticity"),
}

#: Columns of :func:`score_trends`.
TREND_COLUMNS = ["subject", "measure", "label", "symptom", "latest", "latest_date",
                 "previous", "previous_date", "change", "trend", "worse_when", "n_values"]


def _day(values: Any) -> np.ndarray:
    """Dates as whole day numbers (NaN for missing)."""
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else values
    if isinstance(arr, np.ndarray) and arr.dtype.kind == "M":  # validated dates
        return day_numbers(arr)
    ts = pd.to_datetime(pd.Series(values), errors="coerce")
    days = ts.to_numpy("datetime64[D]").astype("int64").astype(float)
    days[ts.isna().to_numpy()] = np.nan
    return days


@functools.lru_cache(maxsize=65536)
def _fmt_day(day: int) -> str:
    return str(np.datetime64(day, "D"))


def _fmt(day: float) -> str:
    # a registry formats the same few thousand days for tens of thousands of reasons
    return _fmt_day(int(day))


def as_of_day(as_of: Any, tables: list[Any]) -> int:
    """The day of ``as_of``, else the latest date in the date columns of ``tables``: each a
    table (every date column), None, or a pair (table, the names of the columns to read)."""
    if as_of is not None:
        return int(_day([as_of])[0])
    latest = -np.inf
    for table in tables:
        frame, names = table if isinstance(table, tuple) else (table, None)
        if frame is None or not len(frame):
            continue
        # columns read as stored, without building Series (neda.rules.common.column)
        for col in (frame.columns if names is None else names):
            values = column(frame, col)
            if values.dtype.kind == "M":  # (is_datetime64_any_dtype of a dtype)
                days = _day(np.asarray(values) if isinstance(values.dtype, np.dtype)
                            else values.to_numpy())  # (column_numpy)
                days = days[~np.isnan(days)]
                if len(days):
                    latest = max(latest, float(days.max()))
    if not np.isfinite(latest):
        raise ValueError("monitoring: no date in the data to take as the cut-off; give as_of")
    return int(latest)


def monitoring_status(visits: pd.DataFrame, relapses: Any = None, events: Any = None,
                      mri: pd.DataFrame | None = None, labs: pd.DataFrame | None = None,
                      epochs: pd.DataFrame | None = None, *, as_of: Any = None,
                      followup: pd.DataFrame | None = None,
                      options: MonitoringOptions | None = None) -> pd.DataFrame:
    """The monitoring statuses of every patient of ``visits`` (rules §14); columns
    :data:`MONITORING_COLUMNS`, ``attrs["provenance"]``.

    ``visits``: ``subject``, ``date``, ``edss`` (a validated table, docs/data-model.md).
    ``relapses``: a :class:`~neda.rules.relapses.RelapseHygiene` (its counted relapses) or
    None (not recorded: unknown). ``events``: the course engine's events (``event_type``,
    ``cdw_class``, ``pira_mri``, ``onset_date``, ``confirmation_date``) or None (none).
    ``mri``, ``labs``: validated tables, or None (not recorded). ``epochs``: treatment epochs
    (:func:`neda.rules.dmt.treatment_epochs`) or None (no treatment recorded). ``as_of``: the
    date the statuses refer to (default: the latest date in any table). ``followup``: relapse
    ascertainment periods (rules §2.7.2), if recorded.
    """
    out, record = monitoring_columns(visits, relapses, events, mri, labs, epochs,
                                      as_of=as_of, followup=followup, options=options)
    # every column made here (none shares memory with an input); the object columns hold
    # identifiers, drug names and texts, never dates: taken as they are
    out["rule_set"] = record["rule_set"]
    frame = frame_of(out, infer_dates=False)
    frame.attrs["provenance"] = record
    return frame


def monitoring_columns(visits: pd.DataFrame, relapses: Any = None, events: Any = None,
                        mri: pd.DataFrame | None = None, labs: pd.DataFrame | None = None,
                        epochs: pd.DataFrame | None = None, *, as_of: Any = None,
                        followup: pd.DataFrame | None = None,
                        options: MonitoringOptions | None = None
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`monitoring_status`' columns (its table without ``rule_set``) and provenance
    record, before the table is built: the course summary joins the columns to its patients
    table, and would otherwise build the table only to read every column back."""
    opts = options or MonitoringOptions()
    hygiene = as_hygiene(relapses, visits)
    # columns are read as stored, without building Series (neda.rules.common.column: pandas
    # would deep-copy each table's attrs into every column it hands out)
    hygiene_rel = None if hygiene is None else hygiene.relapses
    now = as_of_day(as_of, [visits, mri, labs, (hygiene_rel, ("onset_start",))])
    w0 = now - opts.window_days + 1  # first day of (now - window, now]
    given = visits
    visit_subject = column_numpy(given, "subject")
    subjects = pd.Index(np.array(visit_subject[:1]) if single_value(visit_subject)
                        else pd.unique(visit_subject))  # (one patient: no hash table)
    n = len(subjects)
    # columns gathered, the table built once (a column insert costs about 0.3 ms)
    out: dict[str, Any] = {"subject": subjects.to_numpy()}
    # the day as pandas reads its text (a Timestamp of unit "s"), in the array pandas' table
    # would wrap the column in (without its checks of the array)
    out["as_of"] = pd.arrays.DatetimeArray._simple_new(  # type: ignore[attr-defined]
        np.full(n, np.datetime64(now, "D").astype("datetime64[s]")), dtype=_SECONDS)

    # ---- relapses (rules §14.2) ----
    vday = _day(column_numpy(given, "date"))
    vcode = index_positions(subjects, visit_subject)
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    ok = ~np.isnan(vday)
    np.fmin.at(first, vcode[ok], vday[ok])
    np.fmax.at(last, vcode[ok], vday[ok])
    # (pd.array([pd.NA] * n) as Int64 and boolean, without pandas' inference)
    rel_count = pd.arrays.IntegerArray(np.ones(n, np.int64), np.ones(n, bool))
    rel_status = pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool))
    rel_reason = np.full(n, "relapses were not recorded (rules §0.3)", dtype=object)
    if hygiene_rel is not None:
        covered = _relapse_coverage(subjects, first, last, w0, now, followup, opts)
        inside = np.zeros(n, np.int64)
        partial_label = np.full(n, None, dtype=object)
        first_inside = np.full(n, None, dtype=object)
        if len(hygiene_rel):
            code = index_positions(subjects, column_numpy(hygiene_rel, "subject"))
            a = _day(column_numpy(hygiene_rel, "onset_start"))
            b = _day(column_numpy(hygiene_rel, "onset_end"))
            keep = code >= 0
            is_in = keep & (a >= w0) & (b <= now)
            is_partial = keep & ~is_in & (b >= w0) & (a <= now)
            np.add.at(inside, code[is_in], 1)
            for i in np.flatnonzero(is_in)[::-1]:
                first_inside[code[i]] = _fmt(a[i]) if a[i] == b[i] else \
                    f"{_fmt(a[i])} to {_fmt(b[i])}"
            for i in np.flatnonzero(is_partial):
                partial_label[code[i]] = f"{_fmt(a[i])} to {_fmt(b[i])}"
        rel_count = pd.arrays.IntegerArray(inside, np.zeros(n, bool))
        yes = inside > 0
        unsure = ~yes & np.array([p is not None for p in partial_label], bool)
        no = ~yes & ~unsure & covered
        status = np.where(yes, 1, np.where(no, 0, -1))
        rel_status = pd.arrays.BooleanArray(status == 1, status == -1)
        rel_reason = np.full(n, None, dtype=object)
        for i in np.flatnonzero(yes):
            rel_reason[i] = f"relapse with onset {first_inside[i]}"
        for i in np.flatnonzero(unsure):
            rel_reason[i] = (f"a relapse onset ({partial_label[i]}) lies only partly in the "
                             "last 12 months (rules §3.1)")
        uncovered = np.flatnonzero(~yes & ~unsure & ~covered)
        coverage: dict[tuple[float, float], str] = {}  # one text per (first, last visit)
        for i, f, la in zip(uncovered, first[uncovered].tolist(), last[uncovered].tolist(),
                            strict=True):
            text = coverage.get((f, la))
            if text is None:
                text = coverage[(f, la)] = _coverage_reason(f, la, w0, now, followup, opts)
            rel_reason[i] = text
    out["relapses_last_year"] = rel_count
    out["relapse_last_year"] = rel_status
    out["relapse_last_year_reason"] = rel_reason

    # ---- confirmed worsening (rules §14.2) ----
    for col in ("cdw_last_year", "raw_last_year", "pira_last_year", "pirma_last_year",
                "unclassified_last_year"):
        out[col] = np.zeros(n, np.int64)
    if events is not None and len(events):
        # the CDW rows by position, columns as stored (no filtered copy of the events)
        cdw = np.flatnonzero(column_numpy(events, "event_type") == "CDW")
        code = index_positions(subjects, column_numpy(events, "subject")[cdw])
        onset = _day(column_numpy(events, "onset_date")[cdw])
        conf = _day(column_numpy(events, "confirmation_date")[cdw])
        hit = (code >= 0) & (onset >= w0) & (onset <= now) & (conf <= now)
        cls = _texts(column_numpy(events, "cdw_class")[cdw])
        pirma = (_texts(column_numpy(events, "pira_mri")[cdw]) == "PIRMA"
                 if "pira_mri" in events.columns else np.zeros(len(cdw), bool))
        for col, mask in (("cdw_last_year", hit), ("raw_last_year", hit & (cls == "RAW")),
                          ("pira_last_year", hit & (cls == "PIRA")),
                          ("pirma_last_year", hit & (cls == "PIRA") & pirma),
                          ("unclassified_last_year", hit & (cls != "RAW") & (cls != "PIRA"))):
            counts = np.zeros(n, np.int64)
            np.add.at(counts, code[mask], 1)
            out[col] = counts

    # ---- EDSS (rules §14.3) ----
    has_edss = ok & ~pd.isna(column_numpy(given, "edss")) & (vday <= now)
    edss_last = np.full(n, np.nan)
    np.fmax.at(edss_last, vcode[has_edss], vday[has_edss])
    out["edss_last_date"] = _timestamps(edss_last)
    overdue = np.isnan(edss_last) | (now - np.nan_to_num(edss_last) >= opts.edss_interval_days)
    out["edss_overdue"] = overdue
    # the reason depends on the day of the latest EDSS only: written once per distinct day
    out["edss_reason"] = texts_by_key(np.where(np.isnan(edss_last), -np.inf, edss_last),
                                      lambda d: _edss_reason(d, now, opts))

    # ---- the DMT at as_of (rules §8.3 epochs) ----
    drug = np.full(n, None, dtype=object)
    since = np.full(n, np.nan)
    if epochs is not None and len(epochs):
        code = index_positions(subjects, column_numpy(epochs, "subject"))
        start = _day(column_numpy(epochs, "start"))
        end = _day(column_numpy(epochs, "end"))
        on = (code >= 0) & (start <= now) & (np.isnan(end) | (end >= now))
        names = np.asarray(column_numpy(epochs, "drug"), dtype=object)
        for i in np.flatnonzero(on):
            if np.isnan(since[code[i]]) or start[i] > since[code[i]]:
                drug[code[i]], since[code[i]] = names[i], start[i]
    out["dmt_at_as_of"] = drug
    on_dmt = np.array([d is not None for d in drug], bool)

    # ---- MRI (rules §14.3) ----
    mri_last = np.full(n, np.nan)
    if mri is not None and len(mri):
        code = index_positions(subjects, column_numpy(mri, "subject"))
        sday = _day(column_numpy(mri, "date"))
        keep = (code >= 0) & (sday <= now)
        np.fmax.at(mri_last, code[keep], sday[keep])
    out["mri_last_date"] = _timestamps(mri_last)
    late = np.isnan(mri_last) | (now - np.nan_to_num(mri_last) >= opts.mri_interval_days)
    if mri is None:
        mri_status = np.where(on_dmt, "unknown", "not_on_dmt")
    else:
        mri_status = np.where(~on_dmt, "not_on_dmt", np.where(late, "overdue", "up_to_date"))
    out["mri_status"] = mri_status
    out["mri_overdue"] = pd.arrays.BooleanArray(
        mri_status == "overdue", (mri_status == "unknown") | (mri_status == "not_on_dmt"))
    mri_texts: dict[tuple[str, float, Any], str] = {}  # one text per distinct case
    mri_reason = []
    for st, d, dr in zip(mri_status.tolist(), mri_last.tolist(), drug.tolist(), strict=True):
        key = (st, -1.0 if d != d else d, dr)  # NaN is no dict key
        text = mri_texts.get(key)
        if text is None:
            text = mri_texts[key] = _mri_reason(st, d, now, opts, dr)
        mri_reason.append(text)
    out["mri_reason"] = np.array(mri_reason, dtype=object)

    # ---- safety labs (rules §14.4) ----
    # the latest test of each kind per patient: one (patient x test) array, no groupby
    test_names: dict[str, int] = {}
    last_lab = np.full((n, 0), np.nan)
    if labs is not None and len(labs):
        code = index_positions(subjects, column_numpy(labs, "subject"))
        lday = _day(column_numpy(labs, "date"))
        keep = (code >= 0) & (lday <= now)
        tcode, tests = pd.factorize(column_numpy(labs, "test"))
        keep &= tcode >= 0  # a missing test name: no kind to schedule
        test_names = {str(t): k for k, t in enumerate(tests)}
        last_lab = np.full((n, len(tests)), np.nan)
        np.fmax.at(last_lab, (code[keep], tcode[keep]), lday[keep])
    status = np.full(n, "not_on_dmt", dtype=object)
    due = np.full(n, -1, np.int8)
    due_tests = np.full(n, None, dtype=object)
    next_due = np.full(n, np.nan)
    lab_reason = np.full(n, "not on a DMT", dtype=object)
    schedules: dict[str, Any] = {}  # each drug's schedule looked up once
    for i in np.flatnonzero(on_dmt):
        name, day = str(drug[i]), int(now - since[i])
        if name not in schedules:
            schedules[name] = lookup_drug(name).lab_intervals
        status[i], due[i], due_tests[i], next_due[i], lab_reason[i] = _labs_for(
            name, day, now, _lab_schedule(schedules[name], day), last_lab[i], test_names,
            labs is not None)
    out["labs_status"] = status
    out["labs_due"] = pd.arrays.BooleanArray(due == 1, due == -1)
    out["labs_due_tests"] = due_tests
    out["labs_next_due"] = _timestamps(next_due)
    out["labs_reason"] = lab_reason
    return out, provenance(opts.rule_set, opts, SOURCE)


_SECONDS = np.dtype("datetime64[s]")


def _floats(values: Any) -> np.ndarray:
    """A column's values as floats, NaN for missing (``Series.to_numpy(float, na_value=nan)``)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return np.asarray(values, dtype=float)
    return np.asarray(pd.Series(values, copy=False).to_numpy(dtype=float, na_value=np.nan))


def _texts(values: np.ndarray) -> np.ndarray:
    """Text cells as an object array, "" for missing ones (``fillna("")``)."""
    out = values.astype(object)
    out[pd.isna(out)] = ""
    return out


def _timestamps(days: np.ndarray) -> np.ndarray:
    values = np.where(np.isnan(days), np.iinfo(np.int64).min,
                      np.nan_to_num(days).astype(np.int64))
    return values.astype("datetime64[D]").astype("datetime64[ns]")


def _relapse_coverage(subjects: pd.Index, first: np.ndarray, last: np.ndarray, w0: int,
                      now: int, followup: pd.DataFrame | None, opts: MonitoringOptions
                      ) -> np.ndarray:
    """Whether the relapse record covers the whole window ``[w0, now]`` (rules §2.7.2)."""
    n = len(subjects)
    if followup is not None:
        covered = np.zeros(n, bool)
        if len(followup):
            code = index_positions(subjects, column_numpy(followup, "subject"))
            s = _day(column_numpy(followup, "start"))
            e = (_day(column_numpy(followup, "end")) if "end" in followup.columns
                 else np.full(len(s), np.nan))
            hit = (code >= 0) & (s <= w0) & (np.isnan(e) | (e >= now))
            covered[code[hit]] = True
        return covered
    if opts.relapses_recorded_to == "as_of":
        # a register kept up to as_of, for patients the clinic saw in the window
        return last >= w0
    return (first <= w0) & (last >= now)


def _coverage_reason(first: float, last: float, w0: int, now: int,
                     followup: pd.DataFrame | None, opts: MonitoringOptions) -> str:
    if followup is not None:
        return (f"the relapse follow-up does not cover {_fmt(w0)} to {_fmt(now)} "
                "(rules §2.7.2)")
    if opts.relapses_recorded_to == "as_of":
        return (f"no visit since {_fmt(last)}: the relapse record is not known to be kept for "
                f"the 12 months from {_fmt(w0)} (rules §14.2)")
    if first > w0:
        return (f"no relapse recorded since the first visit on {_fmt(first)}; the 12 months "
                f"from {_fmt(w0)} are not all covered (rules §2.7.2)")
    return (f"no relapse recorded to the last visit on {_fmt(last)}; relapses are counted as "
            f"recorded to the last visit, not to {_fmt(now)} (rules §2.7.2, "
            "monitoring.relapses_recorded_to)")


def _edss_reason(last: float, now: int, opts: MonitoringOptions) -> str:
    if not np.isfinite(last):
        return "no EDSS recorded"
    overdue = now - last >= opts.edss_interval_days
    return (f"latest EDSS {_fmt(last)}, {int(now - last)} days before {_fmt(now)}"
            + (f" (due every {opts.edss_interval_days} days)" if overdue else ""))


def _mri_reason(status: str, last: float, now: int, opts: MonitoringOptions,
                drug: Any) -> str:
    if status == "not_on_dmt":
        return "not on a DMT: no monitoring scan is scheduled (rules §14.3)"
    if status == "unknown":
        return "MRI scans were not recorded"
    if np.isnan(last):
        return f"on {drug}; no MRI recorded"
    text = f"on {drug}; latest MRI {_fmt(last)}, {int(now - last)} days before {_fmt(now)}"
    return text + (f" (due every {opts.mri_interval_days} days)" if status == "overdue" else "")


def _lab_schedule(intervals: Any, therapy_day: int) -> dict[str, int] | None:
    """The tests of a drug's lab schedule (``Drug.lab_intervals``) that apply on
    ``therapy_day``, with their interval in days (the shortest when several apply); ``None``:
    no interval schedule known; ``{"": 0}``: the label asks for no routine labs."""
    if intervals is None:
        return None
    applying: dict[str, int] = {}
    for interval in intervals:
        if interval.applies(therapy_day):
            applying[interval.test] = min(interval.days, applying.get(interval.test, 10**9))
    if not intervals:
        applying[""] = 0  # marks "the label asks for no routine labs"
    return applying


def _labs_for(drug: str, therapy_day: int, now: int, applying: dict[str, int] | None,
              last_lab: np.ndarray, test_names: dict[str, int], recorded: bool
              ) -> tuple[str, int, str | None, float, str]:
    if applying is None:
        return ("no_schedule", -1, None, np.nan,
                f"no interval schedule of safety labs is known for {drug} (rules §14.4)")
    if "" in applying:
        return ("not_required", 0, None, np.nan,
                f"the {drug} label asks for no routine safety labs (rules §14.4)")
    if not applying:
        return ("up_to_date", 0, None, np.nan,
                f"no safety lab is scheduled on day {therapy_day} of {drug} (rules §14.4)")
    if not recorded:
        return ("unknown", -1, None, np.nan, "laboratory tests were not recorded")
    due, parts, nxt = [], [], np.inf
    for test, days in applying.items():
        k = test_names.get(test)
        last = None if k is None or np.isnan(last_lab[k]) else float(last_lab[k])
        if last is None:
            due.append(test)
            parts.append(f"{test} every {days} days: none recorded, due")
            continue
        when = last + days
        if now >= when:
            due.append(test)
            parts.append(f"{test} every {days} days: last {_fmt(last)}, due since {_fmt(when)}")
        else:
            nxt = min(nxt, when)
            parts.append(f"{test} every {days} days: last {_fmt(last)}, next {_fmt(when)}")
    reason = f"{drug}, day {therapy_day}: " + "; ".join(parts) + " (rules §14.4)"
    if due:
        return "due", 1, ";".join(due), np.nan, reason
    return "up_to_date", 0, None, nxt, reason


def score_trends(visits: pd.DataFrame, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Latest and previous value of every measure of :data:`MEASURES` per patient (rules
    §14.5); columns :data:`TREND_COLUMNS`.

    ``visits``: one row per visit with any of ``edss``, ``t25fw``, ``nhpt``, ``sdmt``,
    ``msfc`` (e.g. the summary's assessments). ``scores``: PRO scores
    (:func:`neda.rules.pro.score_pros`), one row per questionnaire and date. ``change`` =
    latest - previous; ``trend`` = ``up`` / ``down`` / ``unchanged`` (``None`` with one
    value); ``worse_when`` says which direction is worse. The difference is not a confirmed
    change (rules §2)."""
    # numpy on all measures of a table at once, one table at the end: pandas' sort, dedupe and
    # frame building cost about 3 ms per measure even on one patient's rows (the clinic
    # screen's path), and numpy steps per measure about 0.15 ms
    # (columns read as stored, without building Series: neda.rules.common.column)
    tables = {"visits": visits, "scores": scores}
    out: dict[str, list[Any]] = {c: [] for c in TREND_COLUMNS}
    order: list[np.ndarray] = []
    # each table's rows ordered by subject and date once (not once per measure); a measure
    # takes its rows in that order: the same order as sorting its own rows (a stable sort)
    sorted_rows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]] = {}

    def by_subject_and_day(source: str, frame: pd.DataFrame) -> tuple[
            np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]:
        if source not in sorted_rows:
            all_code, uniques = factorized(column_numpy(frame, "subject"), sort=True)
            all_dates = column_numpy(frame, "date")
            all_day = all_dates.astype("datetime64[ns]").view(np.int64)
            if len(all_code) < 2 or bool(np.all(
                    (all_code[1:] > all_code[:-1]) | ((all_code[1:] == all_code[:-1])
                                                      & (all_day[1:] >= all_day[:-1])))):
                rows = np.arange(len(all_code))  # already in order (a reader's usual output)
            else:
                rows = np.lexsort((all_day, all_code))  # stable: same-day rows in table order
            sorted_rows[source] = (rows, all_code[rows], all_day[rows], all_dates[rows],
                                   uniques)
        return sorted_rows[source]

    # every measure of a table at once: its values as a (row x measure) matrix in subject and
    # date order, then one long array of the values given, measure by measure
    specs = list(MEASURES.items())
    # each measure's name, label, symptom and direction, by position in MEASURES
    texts = {col: np.array([specs[k][0] if pos is None else specs[k][1][pos]
                            for k in range(len(specs))], dtype=object)
             for col, pos in (("measure", None), ("label", 0), ("symptom", 3),
                              ("worse_when", 2))}
    for source in ("visits", "scores"):
        frame = tables[source]
        if frame is None or not len(frame):
            continue
        ks, columns_of = [], []
        for k, (measure, (_, src, _, _)) in enumerate(specs):
            if ("visits" if src == "visits" else "scores") != source or \
                    measure not in frame.columns:
                continue
            values = _floats(column(frame, measure))
            if (~np.isnan(values)).any():
                ks.append(k)
                columns_of.append(values)
        if not ks:
            continue
        rows, code, day, dates, uniques = by_subject_and_day(source, frame)
        matrix = np.stack(columns_of)[:, rows]  # measure x row, rows in subject/date order
        m, r = np.nonzero(~np.isnan(matrix))  # measure by measure, rows in order
        values = matrix[m, r]
        measure_k = np.asarray(ks, np.int64)[m]
        code, day, dates = code[r], day[r], dates[r]
        # one value per measure, subject and day: the last one given
        # (np.concatenate, not np.r_: a tenth of its cost on a few rows)
        same = np.concatenate(((m[1:] == m[:-1]) & (code[1:] == code[:-1]), [False]))
        last_of_day = ~(same & np.concatenate((day[1:] == day[:-1], [False])))
        m, measure_k = m[last_of_day], measure_k[last_of_day]
        code, values, dates = code[last_of_day], values[last_of_day], dates[last_of_day]
        new_group = np.concatenate(([True], (m[1:] != m[:-1]) | (code[1:] != code[:-1])))
        idx = np.flatnonzero(np.concatenate((new_group[1:], [True])))
        starts = np.flatnonzero(new_group)
        has_prev = ~new_group[idx]
        prev_idx = np.where(has_prev, idx - 1, idx)
        latest = values[idx]
        previous = np.where(has_prev, values[prev_idx], np.nan)
        change = np.round(latest - previous, 6)
        k_of = measure_k[idx]
        out["subject"].append(np.asarray(uniques)[code[idx]])
        for col, per_measure in texts.items():
            out[col].append(per_measure[k_of])
        out["latest"].append(latest)
        out["latest_date"].append(dates[idx])
        out["previous"].append(previous)
        out["previous_date"].append(np.where(has_prev, dates[prev_idx], np.datetime64("NaT")))
        out["change"].append(change)
        trend = np.where(change > 0, "up", np.where(change < 0, "down", "unchanged")).astype(
            object)
        trend[np.isnan(change)] = None
        out["trend"].append(trend)
        out["n_values"].append((idx - starts + 1).astype(np.int64))
        order.append(np.stack([code[idx], k_of]))
    if not order:
        return pd.DataFrame(columns=TREND_COLUMNS)
    columns = {c: np.concatenate(v) for c, v in out.items()}
    # by subject, then in the order of MEASURES
    subject_rank = factorized(columns["subject"], sort=True)[0]
    measure_rank = np.concatenate([o[1] for o in order])
    rows = np.lexsort((measure_rank, subject_rank))
    return frame_of({c: columns[c][rows] for c in TREND_COLUMNS}, consolidate=True)
