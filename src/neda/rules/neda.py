"""NEDA-3, NEDA-4, MEDA and the MAGNIMS score (clinical spec sections 4.0-4.5, 9, 2.7.2).

* :func:`neda_status` - "no evidence of disease activity" per patient, per DMT epoch, for each
  per-year window and cumulatively: NEDA-3 (Havrdova et al., Lancet Neurol 2009: no relapse, no
  confirmed disability worsening, no MRI activity) and NEDA-4 (Kappos et al., Mult Scler 2016:
  NEDA-3 plus annualised brain volume loss below 0.4 %/year).
* :func:`cohort_neda_proportion` - the proportion with NEDA among assessable patients, always
  with the number not assessable (spec 4.4; STRIVE convention).
* :func:`meda_status` - minimal evident disease activity (Prosperini et al., JNNP 2020).
* :func:`magnims_score` - the MAGNIMS score (Sormani et al., Neurology 2016), levels
  low / medium / high with the later 0 / 1 / 2 numbering (Sormani 2021; Kunchok 2021).
* :func:`mri_rebaseline_scan` - the on-treatment MRI re-baseline scan (spec 4.1, 4.3).

Every component is three-valued (spec 0.2): ``True`` = no activity, ``False`` = activity,
``<NA>`` = unknown; missing data never give ``True``, any evidence of activity gives ``False``
even when other data are missing. Each ``False`` or unknown component carries a reason in
plain words. The disability component is a run of the disease-course engine
(:func:`neda.course.confirmed_events`) with a fixed reference, so confirmation follows the
engine's pymsprog 1.0.7 inequalities exactly (spec 2.3, 2.6).

Day conventions (spec 0.2, 4.0): all differences are whole calendar days; ``S`` is the epoch
start (first dose). Per-year window k is ``[S + 365(k-1), S + 365k)`` - the ``window_end``
column is that exclusive bound, i.e. the first day **after** the window - cut at the end of
the epoch (``partial_window``). MRI scans belong to window k when dated in
``[window_start + 30, window_end + 30)``. Cumulative window k is ``[S, window_end of year k)``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from neda.course import CourseOptions, confirmed_events
from neda.rules.relapses import relapse_onset_intervals

from ._common import Tri, provenance, rule_set_name, tri_all, with_provenance

#: Havrdova 2009 (AFFIRM) disability worsening: +1.5 from EDSS 0, +1.0 from any other value.
HAVRDOVA2009_THRESHOLDS: tuple[tuple[float, float], ...] = ((0.0, 1.5), (10.0, 1.0))

#: Used for ``clinical_from = "onset_delay"`` when the epochs table has no ``onset`` column
#: (``dmt.onset_delay_days`` default, spec 8.3).
DEFAULT_ONSET_DELAY_DAYS = 183

#: Person-year length used to annualise brain volume change (spec 0.2, 4.2).
YEAR_DAYS = 365.25

NEDA_SOURCE = ("clinical spec draft 2 sections 0.2, 2.7.2, 3.1, 4.0-4.5, 9 (Havrdova 2009; "
               "Kappos 2016; Prosperini 2020; Sormani 2016)")

#: Columns of :func:`neda_status`, in order.
NEDA_COLUMNS = {
    "subject": "Subject identifier.",
    "epoch": "Epoch number (treatment epochs table).",
    "drug": "DMT of the epoch.",
    "epoch_start": "First dose S (spec 4.0).",
    "epoch_end": "Last day of the epoch (inclusive); NaT = ongoing.",
    "window_type": "per_year (window k alone) or cumulative (from S to the end of year k).",
    "window": "k = 1, 2, ...",
    "window_start": "First day of the window (S for cumulative windows).",
    "window_end": "First day after the window (exclusive end: S + 365k, or the day after the "
                  "epoch end when the window is cut).",
    "partial_window": "The window was cut at the end of the epoch (spec 4.0).",
    "clinical_start": "First day from which relapses and disability worsening count "
                      "(window start, or later under neda.clinical_from).",
    "mri_window_start": "First day of the MRI window (window start + mri_grace_days).",
    "mri_window_end": "First day after the MRI window (window end + mri_grace_days).",
    "rebaseline_scan_date": "MRI re-baseline scan of the epoch (spec 4.1); NaT = none.",
    "edss_reference_date": "Fixed EDSS reference of the disability run (spec 4.1); NaT = none.",
    "n_relapses": "Relapses with their whole onset interval in the clinical window.",
    "relapse": "No relapse (True), relapse (False), unknown (<NA>).",
    "relapse_reason": "Why relapse is False or unknown.",
    "cdw_onset_date": "Onset of the confirmed disability worsening in the window, if any.",
    "disability": "No confirmed disability worsening (True), worsening (False), unknown.",
    "disability_reason": "Why disability is False or unknown.",
    "n_scans_counted": "Scans whose lesion counts entered the MRI component.",
    "mri": "No MRI activity (True), activity (False), unknown (<NA>).",
    "mri_reason": "Why mri is False or unknown.",
    "bvl_pairs": "Eligible brain-volume scan pairs (spec 4.2).",
    "bvl_loss_pct_per_year": "Annualised brain volume loss, % per year (positive = loss).",
    "bvl": "Annualised loss below the threshold (True), at/above (False), unknown (<NA>).",
    "bvl_reason": "Why bvl is False or unknown.",
    "neda3": "NEDA-3: relapse, disability and mri all True; any False -> False; else <NA>.",
    "neda3_reason": "The components that decide NEDA-3: 'activity: relapse, MRI' when False, "
                    "'unknown: disability' when unknown (details in the component reasons).",
    "neda4": "NEDA-4: NEDA-3 components and bvl, same rule.",
    "neda4_reason": "The same for NEDA-4.",
    "rule_set": "Options name (spec_defaults or custom); see attrs['provenance'].",
}

#: Columns of :func:`cohort_neda_proportion` (after the ``by`` columns).
PROPORTION_COLUMNS = {
    "measure": "neda3 or neda4.",
    "n_patients": "Patients in the group.",
    "n_assessable": "Patients with a known status (True or False).",
    "n_neda": "Patients with NEDA (True).",
    "n_evident_activity": "Patients with evidence of activity (False).",
    "n_not_assessable": "Patients with an unknown status (always reported, spec 4.4).",
    "proportion": "n_neda / n_assessable (NaN when nobody is assessable).",
}

_YEAR_COMMON = {
    "subject": "Subject identifier.",
    "epoch": "Epoch number.",
    "drug": "DMT of the epoch.",
    "epoch_start": "Treatment start S.",
    "year": "1 or 2 (spec 4.5).",
    "window_start": "S + 365(year-1): first day of the relapse window.",
    "window_end": "First day after the relapse window (exclusive; cut at the epoch end).",
    "partial_window": "The relapse window was cut at the end of the epoch.",
    "reference_scan_date": "Year 1: pre-treatment reference scan, latest in [S-183, S+30]; "
                           "year 2: the year-1 scan.",
    "followup_scan_date": "Year-1 scan (closest to S+365 in [S+274, S+457]) or year-2 scan "
                          "(closest to S+730 in [S+639, S+822]); ties -> the earlier.",
    "n_relapses": "Relapses with their whole onset interval in the window.",
    "relapses_uncertain": "An imprecise relapse lies partly in the window, or relapse "
                          "follow-up does not cover it (the count is a lower bound).",
    "new_t2": "New T2 lesions on the follow-up scan vs the reference scan (summed along the "
              "chain of comparator scans); <NA> = unknown.",
}

#: Columns of :func:`meda_status`.
MEDA_COLUMNS = {
    **_YEAR_COMMON,
    "cel": "Contrast-enhancing lesions on the follow-up scan; <NA> = unknown / no contrast.",
    "category": "MEDA, no_evident_activity, evident_activity or unknown (spec 4.5).",
    "reason": "Why the category was given.",
    "rule_set": "Options name.",
}

#: Columns of :func:`magnims_score`.
MAGNIMS_COLUMNS = {
    **_YEAR_COMMON,
    "magnims_level": "low, medium, high, or unknown (Sormani 2016).",
    "magnims_score": "0 / 1 / 2 alias of low / medium / high (Sormani 2021); <NA> = unknown.",
    "reason": "Relapses and new T2 count behind the level, or why it is unknown.",
    "rule_set": "Options name.",
}

MAGNIMS_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class NedaOptions:
    """Options of NEDA-3/4, MEDA and the MAGNIMS score (spec section 10, keys ``neda.*``,
    ``meda.*``, ``scores.*`` used by 4.5, ``mri.count_spinal_cord``). Defaults are the spec's.

    Windows (spec 4.0):

    window_days : ``neda.window_days`` = 365 - per-year window length [C].
    mri_grace_days : ``neda.mri_grace_days`` = 30 - a "12-month" scan done up to 29 days late
        still belongs to year 1 [C].
    clinical_from : ``neda.clinical_from`` = ``"epoch_start"`` - relapses and disability
        worsening count from S; ``"onset_delay"``: from the epoch's ``onset`` (S +
        ``dmt.onset_delay_days``); ``"rebaseline"``: from the MRI re-baseline scan (S + 183
        without one), as many real-world studies do. The disability reference time moves with
        it (spec 4.3) [C].

    MRI (spec 4.1, 4.3, 9):

    mri_from : ``neda.mri_from`` = ``"rebaseline_scan"`` - MRI activity counts from the
        re-baseline scan (CMSC 2016 "new baseline ~6 months after switching"; STRIVE;
        MAGNIMS 2015); ``"epoch_start"``: no re-baseline, scans after S count and their
        comparator may be the pre-treatment scan (peer msclinical default).
    mri_rebaseline_target_days, mri_rebaseline_min_days, mri_rebaseline_max_days :
        ``neda.mri_rebaseline_*`` = 183, 91, 274 - the re-baseline scan is the scan closest to
        S + 183 in [S + 91, S + 274], the earlier on a tie [C window; V CMSC].
    mri_requires_gd : ``neda.mri_requires_gd`` = True - "no MRI activity" needs contrast with
        a Gd count of 0 on every counted scan; False lets T2-only scans give True [C].
    count_spinal_cord : ``mri.count_spinal_cord`` = True - lesions in the cord count when the
        scan covers it; False counts brain lesions only (``<count>_brain`` columns, else the
        counts of a cord-covering scan are unknown) (MAGNIMS monitoring summary [V] / [C]).

    Disability (spec 4.1):

    edss_thresholds : ``neda.edss_thresholds`` = ``"three_strata"`` (= ``cdw.edss_thresholds``;
        Kalincik 2015: +1.5 from 0, +1.0 up to 5.5, +0.5 from 6.0 - the last stratum is not in
        Havrdova 2009, recorded in provenance); ``"havrdova2009"``: +1.5 from 0, +1.0
        otherwise (Havrdova et al., Lancet Neurol 2009) [M]; any other table name of
        :data:`neda.course.EDSS_THRESHOLDS`.
    cdw_confirm_days : ``neda.cdw_confirm_days`` = 84 (12 weeks; Havrdova 2009) [M]; 168.
    per_window_reference : ``neda.per_window_reference`` = ``"window_start"`` - per-year
        windows after the first take their reference at the window start; ``"epoch_start"``:
        every window keeps the reference taken at S [C].
    edss_reference_lookback_days, edss_reference_lookahead_days : 183, 91 - the reference is
        the latest eligible EDSS in [T - 183, T], else the first in (T, T + 91] [C].
    edss_end_window_days : ``neda.edss_end_window_days`` = 91 - an EDSS must be dated within
        this many days of the window end, else the component is unknown [C].

    Brain volume (spec 4.2; Kappos et al., Mult Scler 2016; De Stefano 2016):

    bvl_activity_threshold_pct : ``neda.bvl_activity_threshold_pct`` = 0.4 (% per year).
    bvl_boundary : ``neda.bvl_boundary`` = ``"activity_at_threshold"`` - a loss of exactly
        0.4 %/year is activity (Kappos 2016: NEDA needs < 0.4 %); ``"neda_at_threshold"``: it
        is NEDA (Guevara 2019; MS-MRIUS 2018 restatements).
    bvl_min_interval_days : ``neda.bvl_min_interval_days`` = 168 - minimum scan interval of a
        brain-volume pair [C].

    MEDA and MAGNIMS score (spec 4.5):

    meda_include_zero_new_t2 : ``meda.include_zero_new_t2`` = False - 0 new T2 lesions is "no
        evident activity", not MEDA (Prosperini et al., JNNP 2020); True merges it into MEDA
        (= low MAGNIMS score without CEL).
    baseline_scan_min_days, baseline_scan_max_days : ``scores.baseline_scan_*`` = -183, 30 -
        pre-treatment reference scan = the latest scan in [S - 183, S + 30] [C].
    year1_scan_target_days, year1_scan_min_days, year1_scan_max_days : ``scores.year1_scan_*``
        = 365, 274, 457 (variant min 183: Hyun 2015) [C].
    year2_scan_target_days, year2_scan_min_days, year2_scan_max_days : ``scores.year2_scan_*``
        = 730, 639, 822 [C].
    magnims_new_t2_cutoff : ``scores.magnims_new_t2_cutoff`` = 3 (Sormani 2016) [M].
    magnims_count : ``scores.magnims_count`` = ``"new_only"`` (Sormani 2016 counts new T2
        lesions) [M]; ``"new_or_enlarging"``.

    name : rule-set name stored with results; default ``"spec_defaults"`` when every value is
        the spec default, else ``"custom"``.
    """

    window_days: int = 365
    mri_grace_days: int = 30
    clinical_from: str = "epoch_start"
    mri_from: str = "rebaseline_scan"
    mri_rebaseline_target_days: int = 183
    mri_rebaseline_min_days: int = 91
    mri_rebaseline_max_days: int = 274
    mri_requires_gd: bool = True
    count_spinal_cord: bool = True
    edss_thresholds: str = "three_strata"
    cdw_confirm_days: int = 84
    per_window_reference: str = "window_start"
    edss_reference_lookback_days: int = 183
    edss_reference_lookahead_days: int = 91
    edss_end_window_days: int = 91
    bvl_activity_threshold_pct: float = 0.4
    bvl_boundary: str = "activity_at_threshold"
    bvl_min_interval_days: int = 168
    meda_include_zero_new_t2: bool = False
    baseline_scan_min_days: int = -183
    baseline_scan_max_days: int = 30
    year1_scan_target_days: int = 365
    year1_scan_min_days: int = 274
    year1_scan_max_days: int = 457
    year2_scan_target_days: int = 730
    year2_scan_min_days: int = 639
    year2_scan_max_days: int = 822
    magnims_new_t2_cutoff: int = 3
    magnims_count: str = "new_only"
    name: str | None = None

    @property
    def rule_set(self) -> str:
        return rule_set_name(self)

    def validated(self) -> NedaOptions:
        choices = {
            "clinical_from": ("epoch_start", "onset_delay", "rebaseline"),
            "mri_from": ("rebaseline_scan", "epoch_start"),
            "per_window_reference": ("window_start", "epoch_start"),
            "bvl_boundary": ("activity_at_threshold", "neda_at_threshold"),
            "magnims_count": ("new_only", "new_or_enlarging"),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"option {key}={getattr(self, key)!r} is not valid; expected "
                                 "one of " + ", ".join(map(repr, allowed)))
        if self.window_days < 1:
            raise ValueError("window_days must be at least 1")
        if not (self.mri_rebaseline_min_days <= self.mri_rebaseline_target_days
                <= self.mri_rebaseline_max_days):
            raise ValueError("mri_rebaseline_min_days <= target <= max_days is required")
        for y in ("year1", "year2"):
            lo, t, hi = (getattr(self, f"{y}_scan_{p}_days") for p in ("min", "target", "max"))
            if not lo <= t <= hi:
                raise ValueError(f"{y}_scan_min_days <= target <= max_days is required")
        if self.baseline_scan_min_days > self.baseline_scan_max_days:
            raise ValueError("baseline_scan_min_days must not exceed baseline_scan_max_days")
        self.course_options()  # rejects an unknown threshold table
        return self

    def course_options(self) -> CourseOptions:
        """The course-engine options of the NEDA disability component (spec 4.1): fixed
        reference, first CDW, 84-day confirmation with tolerance (0, inf), relapse distances
        30 / 0 / 30, no re-baselining, no RAW/PIRA attribution."""
        thresholds: Any = (HAVRDOVA2009_THRESHOLDS if self.edss_thresholds == "havrdova2009"
                           else self.edss_thresholds)
        return CourseOptions.from_preset(
            "mueller2023", baseline="fixed", event="firstCDW", edss_thresholds=thresholds,
            conf_days=(self.cdw_confirm_days,), conf_tol_days=(0, math.inf),
            relapse_to_bl=(30, 0), relapse_to_event=(0, 0), relapse_to_conf=(30, 0),
            relapse_rebl=False, bl_geq=False, attribution=False,
        )


# =============================================================================================
# input preparation

_E0 = np.datetime64("1970-01-01", "D")
_KEY = np.int64(1 << 23)
_SHIFT = 1 << 21


def _pd(df: Any) -> pd.DataFrame | None:
    if df is None:
        return None
    if isinstance(df, pd.DataFrame):
        return df
    if hasattr(df, "to_pandas"):
        out: pd.DataFrame = df.to_pandas()
        return out
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(df).__name__}")


def _subject_col(frame: pd.DataFrame, table: str) -> str:
    for c in ("subject", "id", "patient"):
        if c in frame.columns:
            return c
    raise ValueError(f"{table} table has no subject column (looked for 'subject', 'id', "
                     f"'patient'; columns: {list(frame.columns)})")


def _days(values: Any) -> np.ndarray:
    """Day numbers since 1970-01-01 (float; NaN for missing)."""
    ts = pd.to_datetime(pd.Series(values).reset_index(drop=True))
    out = np.full(len(ts), np.nan)
    ok = ts.notna().to_numpy()
    if ok.any():
        out[ok] = (ts[ok].to_numpy().astype("datetime64[D]") - _E0).astype(np.int64)
    return out


def _dates(days: Any) -> np.ndarray:
    arr = np.asarray(days, dtype=float)
    out = np.full(arr.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = np.isfinite(arr)
    out[ok] = (_E0 + arr[ok].astype(np.int64)).astype("datetime64[ns]")
    return out


def _iso(days: np.ndarray) -> np.ndarray:
    """ISO date strings (object array); '' for missing."""
    arr = np.asarray(days, dtype=float)
    out = np.full(arr.shape, "", dtype=object)
    ok = np.isfinite(arr)
    if ok.any():
        d = (_E0 + arr[ok].astype(np.int64)).astype("datetime64[D]")
        out[ok] = np.datetime_as_string(d, unit="D").astype(object)
    return out


def _key(sid: np.ndarray, day: np.ndarray) -> np.ndarray:
    return np.asarray(sid, np.int64) * _KEY + (np.asarray(day, np.float64) + _SHIFT).astype(
        np.int64)


def _flag(values: pd.Series) -> np.ndarray:
    """Truthy flags (True/1/"yes"/"true"); anything else (incl. missing) False."""
    out = np.zeros(len(values), bool)
    for i, v in enumerate(values.to_numpy()):
        if isinstance(v, bool | np.bool_):
            out[i] = bool(v)
        elif isinstance(v, int | float | np.integer | np.floating):
            out[i] = not np.isnan(v) and v != 0
        elif isinstance(v, str):
            out[i] = v.strip().casefold() in {"yes", "y", "true", "t", "1"}
    return out


def _false_flag(values: pd.Series) -> np.ndarray:
    """True where a value is explicitly False/0/"no" (missing is not False)."""
    out = np.zeros(len(values), bool)
    for i, v in enumerate(values.to_numpy()):
        if isinstance(v, bool | np.bool_):
            out[i] = not bool(v)
        elif isinstance(v, int | float | np.integer | np.floating):
            out[i] = not np.isnan(v) and v == 0
        elif isinstance(v, str):
            out[i] = v.strip().casefold() in {"no", "n", "false", "f", "0"}
    return out


def _onset_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.isna().any():
            raise ValueError("relapses table: missing onset date")
        return values.reset_index(drop=True)
    out = []
    for v in values.to_numpy():
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            raise ValueError("relapses table: missing onset date")
        if isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "isoformat"):
            out.append(pd.Timestamp(v).strftime("%Y-%m-%d"))
        else:
            s = str(v).strip()
            out.append(s[:10] if len(s) > 10 and s[10] in " T" else s)
    return pd.Series(out, dtype=object)


@dataclass
class _Data:
    """Inputs as integer subject codes and day numbers."""

    subjects: pd.Index
    ep: pd.DataFrame          # ei, sid, epoch, drug, S, E (inclusive, NaN open), onset
    vis: pd.DataFrame         # cleaned EDSS visits: sid, day, edss, elig; sorted by key
    vkey: np.ndarray
    ekey: np.ndarray          # keys of reference/confirmation-eligible visits
    epos: np.ndarray          # their positions in vis
    rel: pd.DataFrame         # non-pseudo relapses: sid, a, b, label
    a0: np.ndarray            # relapse ascertainment per sid (NaN = none)
    a1: np.ndarray
    last_contact: np.ndarray  # follow-up end per sid (clinical data)
    scans: pd.DataFrame       # sid, day, comp, counts...; sorted by key
    skey: np.ndarray
    epochs_provenance: Any


def _prepare(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any,
             o: NedaOptions) -> _Data:
    ep_in = _pd(epochs)
    if ep_in is None:
        raise ValueError("an epochs table is required (neda.rules.dmt.treatment_epochs)")
    esubj = _subject_col(ep_in, "epochs")
    missing = [c for c in ("start",) if c not in ep_in.columns]
    if missing:
        raise ValueError(f"epochs table lacks {missing} (columns: {list(ep_in.columns)})")
    subjects = pd.Index(pd.unique(ep_in[esubj]))
    ep = pd.DataFrame({
        "sid": subjects.get_indexer(pd.Index(ep_in[esubj])),
        "epoch": (ep_in["epoch"].to_numpy() if "epoch" in ep_in.columns
                  else ep_in.groupby(esubj, sort=False).cumcount().to_numpy() + 1),
        "drug": ep_in["drug"].to_numpy() if "drug" in ep_in.columns else None,
        "S": _days(ep_in["start"]),
        "E": _days(ep_in["end"]) if "end" in ep_in.columns else np.nan,
        "onset": _days(ep_in["onset"]) if "onset" in ep_in.columns else np.nan,
    })
    if ep["S"].isna().any():
        raise ValueError("epochs table: every epoch needs a start date")
    ep = ep.sort_values(["sid", "S"], kind="stable").reset_index(drop=True)
    ep["ei"] = np.arange(len(ep))
    n_subj = len(subjects)

    # ---- relapses (spec 3.1, 2.7.2) ----
    rel_in = _pd(relapses)
    if rel_in is not None and len(rel_in):
        rsubj = _subject_col(rel_in, "relapses")
        rdate = "date" if "date" in rel_in.columns else "onset"
        text = _onset_text(rel_in[rdate])
        end = (rel_in["date_end"].reset_index(drop=True) if "date_end" in rel_in.columns
               else None)
        ra, rb = relapse_onset_intervals(text, end)
        pseudo = (_flag(rel_in["pseudo"]) if "pseudo" in rel_in.columns
                  else np.zeros(len(rel_in), bool))
        rsid = subjects.get_indexer(pd.Index(rel_in[rsubj]))
        if pd.api.types.is_datetime64_any_dtype(text):
            labels = _iso(ra)
        else:
            labels = text.to_numpy(dtype=object)
        precise = ra == rb
        labels = np.where(precise, _iso(ra), labels)
        if end is not None:
            ranged = ~precise & end.notna().to_numpy()
            labels = np.where(ranged, "between " + _iso(ra).astype(object) + " and "
                              + _iso(rb).astype(object), labels)
        allrel = pd.DataFrame({"sid": rsid, "a": ra, "b": rb, "label": labels,
                               "pseudo": pseudo})
        allrel = allrel[allrel["sid"] >= 0]
    else:
        allrel = pd.DataFrame({"sid": np.zeros(0, np.int64), "a": np.zeros(0),
                               "b": np.zeros(0), "label": np.zeros(0, object),
                               "pseudo": np.zeros(0, bool)})
    rel = allrel[~allrel["pseudo"]].drop(columns="pseudo").sort_values(
        ["sid", "a"], kind="stable").reset_index(drop=True)
    pseudo_rel = allrel[allrel["pseudo"]]

    # ---- visits ----
    vis_in = _pd(visits)
    a0 = np.full(n_subj, np.nan)
    a1 = np.full(n_subj, np.nan)
    if vis_in is not None and len(vis_in):
        vsubj = _subject_col(vis_in, "visits")
        vsid = subjects.get_indexer(pd.Index(vis_in[vsubj]))
        vday = _days(vis_in["date"])
        ok = (vsid >= 0) & ~np.isnan(vday)
        # relapse ascertainment default: first to last clinical contact (spec 2.7.2)
        if ok.any():
            g = pd.DataFrame({"sid": vsid[ok], "day": vday[ok]}).groupby("sid")["day"]
            first, last = g.min(), g.max()
            a0[first.index.to_numpy()] = first.to_numpy()
            a1[last.index.to_numpy()] = last.to_numpy()
        edss = (pd.to_numeric(vis_in["edss"], errors="coerce").to_numpy(float)
                if "edss" in vis_in.columns else np.full(len(vis_in), np.nan))
        vis = pd.DataFrame({"sid": vsid, "day": vday, "edss": edss,
                            "_row": np.arange(len(vis_in))})
        vis = vis[ok & ~np.isnan(edss)]
    else:
        vis = pd.DataFrame({"sid": np.zeros(0, np.int64), "day": np.zeros(0),
                            "edss": np.zeros(0), "_row": np.zeros(0, np.int64)})
    # assessments during a pseudo-relapse episode are not used (spec 3.1; engine rule)
    if len(pseudo_rel) and len(vis):
        pe = pseudo_rel.assign(e1=np.where(pseudo_rel["b"] > pseudo_rel["a"], pseudo_rel["b"],
                                           pseudo_rel["a"] + 29))
        hit = vis[["sid", "day", "_row"]].merge(pe[["sid", "a", "e1"]], on="sid")
        hit = hit[(hit["day"] >= hit["a"]) & (hit["day"] <= hit["e1"])]
        vis = vis[~vis["_row"].isin(hit["_row"])]
    vis = vis.sort_values(["sid", "day", "_row"], kind="stable")
    vis = vis[~vis.duplicated(["sid", "day"], keep="last")].reset_index(drop=True)
    # eligible as reference / confirmation: not within 30 days after a relapse onset
    # (relapse_to_bl = relapse_to_conf = 30; the engine's distance rule for intervals)
    elig = np.ones(len(vis), bool)
    if len(rel) and len(vis):
        hit = vis[["sid", "day"]].assign(_i=np.arange(len(vis))).merge(
            rel[["sid", "a", "b"]], on="sid")
        bad = (hit["a"] <= hit["day"]) & (hit["day"] <= hit["b"] + 29)
        elig[np.unique(hit.loc[bad, "_i"].to_numpy())] = False
    vis["elig"] = elig
    vkey = _key(vis["sid"].to_numpy(), vis["day"].to_numpy())
    epos = np.flatnonzero(elig)
    ekey = vkey[epos]

    # ---- ascertainment table overrides the default (spec 2.7.2) ----
    asc = _pd(ascertainment)
    if asc is not None and len(asc):
        asubj = _subject_col(asc, "ascertainment")
        idx = subjects.get_indexer(pd.Index(asc[asubj]))
        s0, s1 = _days(asc["start"]), _days(asc["end"])
        okk = idx >= 0
        a0[idx[okk]] = s0[okk]
        a1[idx[okk]] = s1[okk]

    # ---- MRI (spec 9) ----
    scans = _prepare_scans(_pd(mri), subjects, o)
    skey = _key(scans["sid"].to_numpy(), scans["day"].to_numpy())

    # follow-up end: last clinical contact, relapse, or MRI scan (minus the grace period)
    parts = [a1]
    if len(rel):
        lr = rel.groupby("sid")["b"].max()
        x = np.full(n_subj, np.nan)
        x[lr.index.to_numpy()] = lr.to_numpy()
        parts.append(x)
    if len(scans):
        ls = scans.groupby("sid")["day"].max()
        x = np.full(n_subj, np.nan)
        x[ls.index.to_numpy()] = ls.to_numpy() - o.mri_grace_days
        parts.append(x)
    stacked = np.vstack(parts)
    with np.errstate(all="ignore"):
        last_contact = np.where(np.isnan(stacked).all(axis=0), np.nan,
                                np.nanmax(np.where(np.isnan(stacked), -np.inf, stacked), axis=0))
    return _Data(subjects, ep, vis, vkey, ekey, epos, rel, a0, a1, last_contact, scans, skey,
                 ep_in.attrs.get("provenance"))


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(float)


def _prepare_scans(m: pd.DataFrame | None, subjects: pd.Index, o: NedaOptions) -> pd.DataFrame:
    cols = ["sid", "day", "comp", "new", "enl", "t2_active", "t2_clean", "gd", "gd_active",
            "gd_clean", "pbvc", "protocol_change"]
    if m is None or len(m) == 0:
        bools = {"t2_active", "t2_clean", "gd_active", "gd_clean", "protocol_change"}
        return pd.DataFrame({c: np.zeros(0, bool if c in bools else np.int64 if c == "sid"
                                          else float) for c in cols})
    msubj = _subject_col(m, "mri")
    m = m.reset_index(drop=True)
    sid = subjects.get_indexer(pd.Index(m[msubj]))
    day = _days(m["date"])
    comp = _days(m["comparator_date"]) if "comparator_date" in m.columns else np.full(
        len(m), np.nan)
    cord = (_flag(m["spinal_cord"]) if "spinal_cord" in m.columns
            else np.zeros(len(m), bool))

    def count(col: str) -> np.ndarray:
        x = _num(m, col)
        if not o.count_spinal_cord:
            x = np.where(cord, _num(m, f"{col}_brain"), x)
        return x

    new = count("new_t2")
    has_enl = "enlarging_t2" in m.columns
    enl = count("enlarging_t2") if has_enl else np.zeros(len(m))
    gd = count("gd")
    if "contrast" in m.columns:
        no_contrast = _false_flag(m["contrast"])
        gd = np.where(no_contrast, np.nan, gd)  # without contrast Gd is unknown, never 0
    out = pd.DataFrame({
        "sid": sid, "day": day, "comp": comp, "new": new, "enl": enl,
        "t2_active": (new >= 1) | (enl >= 1),
        "t2_clean": (new == 0) & (enl == 0),
        "gd": gd, "gd_active": gd >= 1, "gd_clean": gd == 0,
        "pbvc": _num(m, "pbvc"),
        "protocol_change": (_false_flag(m["same_protocol"]) if "same_protocol" in m.columns
                            else np.zeros(len(m), bool)),
        "_row": np.arange(len(m)),
    })
    out = out[(out["sid"] >= 0) & out["day"].notna()]
    out = out.sort_values(["sid", "day", "_row"], kind="stable")
    out = out[~out.duplicated(["sid", "day"], keep="last")]
    return out.drop(columns="_row").reset_index(drop=True)


# =============================================================================================
# MRI re-baseline scan (spec 4.1)


def _rebaseline(d: _Data, o: NedaOptions) -> np.ndarray:
    """Re-baseline scan day per epoch row (NaN = none): closest to S + target within
    [S + min, S + max] (and not after the epoch end); tie -> the earlier."""
    ep = d.ep
    out = np.full(len(ep), np.nan)
    if not len(d.scans) or not len(ep):
        return out
    m = ep[["ei", "sid", "S", "E"]].merge(d.scans[["sid", "day"]], on="sid")
    rel = m["day"] - m["S"]
    ok = (rel >= o.mri_rebaseline_min_days) & (rel <= o.mri_rebaseline_max_days)
    ok &= m["E"].isna() | (m["day"] <= m["E"])
    m = m[ok].assign(dist=(rel[ok] - o.mri_rebaseline_target_days).abs())
    if len(m):
        best = m.sort_values(["ei", "dist", "day"], kind="stable").drop_duplicates("ei")
        out[best["ei"].to_numpy()] = best["day"].to_numpy()
    return out


def mri_rebaseline_scan(mri: Any, epochs: Any, options: NedaOptions | None = None
                        ) -> pd.DataFrame:
    """The MRI re-baseline scan of each treatment epoch (spec 4.1, 4.3).

    B = the scan closest to S + 183 among scans dated in [S + 91, S + 274] (the earlier on a
    tie), not after the epoch's last day. Later scans are compared with it; new lesions on B
    itself are not on-treatment activity. Sources: CMSC 2016 ("a new baseline approximately 6
    months after switching DMT") [V]; MAGNIMS 2015 and ECTRIMS/EAN 2018 (re-baseline within 3-6
    months) [M]; the 91-274-day window is the platform's [C].

    Returns one row per epoch: ``subject``, ``epoch``, ``epoch_start``,
    ``rebaseline_scan_date`` (NaT = no scan in the window), ``days_after_start``.
    """
    o = (options or NedaOptions()).validated()
    d = _prepare(None, None, mri, epochs, None, o)
    b = _rebaseline(d, o)
    out = pd.DataFrame({
        "subject": np.asarray(d.subjects)[d.ep["sid"].to_numpy()],
        "epoch": d.ep["epoch"].to_numpy(),
        "epoch_start": _dates(d.ep["S"].to_numpy()),
        "rebaseline_scan_date": _dates(b),
        "days_after_start": pd.array(np.where(np.isnan(b), np.nan, b - d.ep["S"].to_numpy()),
                                     dtype="Int64"),
    })
    return with_provenance(out, provenance(o.rule_set, o, NEDA_SOURCE))


# =============================================================================================
# windows


def _clinical_start(d: _Data, o: NedaOptions, b: np.ndarray) -> np.ndarray:
    s = d.ep["S"].to_numpy()
    if o.clinical_from == "epoch_start":
        return s
    if o.clinical_from == "onset_delay":
        on = d.ep["onset"].to_numpy()
        return np.where(np.isnan(on), s + DEFAULT_ONSET_DELAY_DAYS, on)
    return np.where(np.isnan(b), s + o.mri_rebaseline_target_days, b)


def _windows(d: _Data, o: NedaOptions, b: np.ndarray, c0: np.ndarray) -> pd.DataFrame:
    """Per-year and cumulative windows (spec 4.0) - one row each."""
    ep = d.ep
    W = o.window_days
    g = o.mri_grace_days
    s = ep["S"].to_numpy()
    e_ex = np.where(ep["E"].isna(), np.inf, ep["E"].to_numpy() + 1)
    last = d.last_contact[ep["sid"].to_numpy()] if len(ep) else np.zeros(0)
    lim = np.minimum(e_ex, np.where(np.isnan(last), -np.inf, last + 1))
    with np.errstate(invalid="ignore"):
        n_win = np.maximum(1, np.ceil((lim - s) / W)).astype(np.int64)
    ei = np.repeat(ep["ei"].to_numpy(), n_win)
    start_pos = np.repeat(np.cumsum(n_win) - n_win, n_win)
    k = np.arange(n_win.sum()) - start_pos + 1
    S = s[ei]
    ws = S + W * (k - 1)
    we_full = S + W * k
    we = np.minimum(we_full, e_ex[ei])
    partial = we < we_full
    base = pd.DataFrame({"ei": ei, "sid": ep["sid"].to_numpy()[ei], "k": k, "S": S,
                         "we": we, "partial": partial, "n_win": n_win[ei],
                         "B": b[ei], "C0": c0[ei]})
    year = base.assign(wtype="per_year", ws=ws)
    cum = base.assign(wtype="cumulative", ws=S)
    win = pd.concat([year, cum], ignore_index=True)
    win["cs"] = np.maximum(win["ws"].to_numpy(), win["C0"].to_numpy())
    win["mws"] = win["ws"] + g
    win["mwe"] = win["we"] + g
    win["_w"] = np.arange(len(win))
    return win


def _covered(d: _Data, sid: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Relapse follow-up [A0, A1] covers the window: A0 <= start and A1 >= end (spec 4.1)."""
    a0, a1 = d.a0[sid], d.a1[sid]
    with np.errstate(invalid="ignore"):
        return (a0 <= start) & (a1 >= end)


def _relapse_counts(d: _Data, win: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """Per window row (_w): relapses inside [start, end) and imprecise ones partly inside."""
    out = pd.DataFrame({"_w": win["_w"].to_numpy(), "n_in": 0, "first_in": None,
                        "n_part": 0, "first_part": None})
    if not len(d.rel) or not len(win):
        return out
    m = win[["_w", "sid", start, end]].merge(d.rel, on="sid")
    a, b = m["a"].to_numpy(), m["b"].to_numpy()
    w0, w1 = m[start].to_numpy(), m[end].to_numpy()
    inside = (a >= w0) & (b < w1)
    part = (a < w1) & (b >= w0) & ~inside
    m = m.assign(inside=inside, part=part)
    mi = m[inside].sort_values(["_w", "a"], kind="stable")
    gi = mi.groupby("_w")
    mp = m[part].sort_values(["_w", "a"], kind="stable")
    gp = mp.groupby("_w")
    out = out.set_index("_w")
    if len(mi):
        out.loc[gi.size().index, "n_in"] = gi.size()
        out.loc[gi.size().index, "first_in"] = gi["label"].first()
    if len(mp):
        out.loc[gp.size().index, "n_part"] = gp.size()
        out.loc[gp.size().index, "first_part"] = gp["label"].first()
    return out.reset_index()


# =============================================================================================
# components


def _nullable(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, bool), ~np.asarray(known, bool))


def _relapse_component(d: _Data, win: pd.DataFrame) -> dict[str, Any]:
    cs, ce = win["cs"].to_numpy(), win["we"].to_numpy()
    rc = _relapse_counts(d, win, "cs", "we")
    n_in = rc["n_in"].to_numpy(np.int64)
    n_part = rc["n_part"].to_numpy(np.int64)
    sid = win["sid"].to_numpy()
    covered = _covered(d, sid, cs, ce)
    empty = cs >= ce
    false = n_in > 0
    unknown = ~false & ((n_part > 0) | ~covered | empty)
    reason = np.full(len(win), None, dtype=object)
    first_in = rc["first_in"].astype(object).to_numpy()
    f = np.flatnonzero(false)
    if len(f):
        lab = first_in[f].astype(str).astype(object)
        reason[f] = np.where(n_in[f] == 1, "relapse on " + lab,
                             n_in[f].astype(str).astype(object) + " relapses, first on " + lab)
    u = np.flatnonzero(unknown)
    if len(u):
        parts: list[np.ndarray] = []
        a0, a1 = d.a0[sid[u]], d.a1[sid[u]]
        fu = np.where(np.isnan(a0) | np.isnan(a1), "no relapse follow-up (no clinical contact)",
                      "relapse follow-up " + _iso(a0) + " to "
                      + _iso(a1) + " does not cover the window")
        parts.append(np.where(~covered[u] & ~empty[u], fu, ""))
        fp = rc["first_part"].astype(object).to_numpy()[u].astype(str).astype(object)
        parts.append(np.where(n_part[u] > 0, "relapse onset " + fp
                              + " (imprecise) lies partly in the window", ""))
        parts.append(np.where(empty[u], "no clinical window (relapses count from "
                              + _iso(cs[u]) + ")", ""))
        reason[u] = _join(parts)
    return {"n_relapses": n_in, "relapse": _nullable(~false, ~unknown),
            "relapse_reason": reason}


def _join(parts: list[np.ndarray], sep: str = "; ") -> np.ndarray:
    """Join the non-empty texts of each row."""
    arrs = [np.asarray(p, dtype=object) for p in parts]
    has = np.stack([a != "" for a in arrs])
    cnt = has.sum(axis=0)
    out = np.full(len(arrs[0]), "", dtype=object)
    for i, a in enumerate(arrs):
        sel = has[i] & (cnt == 1)
        out[sel] = a[sel]
    multi = np.flatnonzero(cnt > 1)
    if len(multi):
        out[multi] = [sep.join(t for t in (a[j] for a in arrs) if t) for j in multi]
    return out


def _disability_component(d: _Data, win: pd.DataFrame, o: NedaOptions
                          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fixed-reference, first-CDW course-engine runs (spec 4.1)."""
    n = len(win)
    copts = o.course_options()
    cs, ce = win["cs"].to_numpy(), win["we"].to_numpy()
    sid = win["sid"].to_numpy()
    empty = cs >= ce
    if o.per_window_reference == "window_start":
        T = cs
    else:
        T = np.where(win["wtype"].to_numpy() == "cumulative", cs, win["C0"].to_numpy())
        T = np.minimum(T, cs)
    need = ce - 1 + o.cdw_confirm_days
    runs_in = pd.DataFrame({"sid": sid, "T": T, "frm": cs, "need": need})[~empty]
    runs = runs_in.groupby(["sid", "T", "frm"], as_index=False, sort=True)["need"].max()
    runs["run"] = np.arange(len(runs))
    rs, rT, rfrm = runs["sid"].to_numpy(), runs["T"].to_numpy(), runs["frm"].to_numpy()

    vday = d.vis["day"].to_numpy()
    vsid = d.vis["sid"].to_numpy()
    ekey, epos = d.ekey, d.epos
    ne = len(ekey)
    # reference: latest eligible EDSS in [T - 183, T], else the first in (T, T + 91]
    i = np.searchsorted(ekey, _key(rs, rT), side="right") - 1
    ic = np.clip(i, 0, max(ne - 1, 0))
    back = (i >= 0) & (ne > 0)
    if ne:
        back &= (vsid[epos[ic]] == rs) & (vday[epos[ic]] >= rT - o.edss_reference_lookback_days)
    j = i + 1
    jc = np.clip(j, 0, max(ne - 1, 0))
    fwd = (j < ne) & (ne > 0)
    if ne:
        fwd &= (vsid[epos[jc]] == rs) & (vday[epos[jc]] <= rT + o.edss_reference_lookahead_days)
    ref_pos = np.where(back, epos[ic] if ne else 0, np.where(fwd, epos[jc] if ne else 0, -1))
    has_ref = ref_pos >= 0
    ref_day = np.where(has_ref, vday[np.maximum(ref_pos, 0)] if len(vday) else np.nan, np.nan)
    runs["ref_day"] = ref_day
    # horizon: up to the first eligible visit >= need (confirms any onset in the window)
    h = np.searchsorted(ekey, _key(rs, runs["need"].to_numpy()), side="left")
    hc = np.clip(h, 0, max(ne - 1, 0))
    has_h = (h < ne) & (ne > 0)
    if ne:
        has_h &= vsid[epos[hc]] == rs
    hi = np.where(has_h, (epos[hc] if ne else 0) + 1,
                  np.searchsorted(d.vkey, (rs + 1).astype(np.int64) * _KEY, side="left"))
    lo_day = np.maximum(rfrm, np.where(has_ref, ref_day + 1, rfrm))
    lo = np.searchsorted(d.vkey, _key(rs, lo_day), side="left")
    cnt = np.where(has_ref, np.maximum(hi - lo, 0), 0)
    # rows: reference visit, then [lo, hi)
    run_ids = np.flatnonzero(has_ref)
    total = cnt[run_ids]
    rep = np.repeat(run_ids, total)
    offs = np.arange(total.sum()) - np.repeat(np.cumsum(total) - total, total)
    rows = np.concatenate([ref_pos[run_ids], lo[rep] + offs])
    rrun = np.concatenate([run_ids, rep])
    order = np.lexsort((vday[rows] if len(rows) else rows, rrun))
    rows, rrun = rows[order], rrun[order]
    run_vis = pd.DataFrame({"subject": rrun, "date": _dates(vday[rows]),
                            "edss": d.vis["edss"].to_numpy()[rows]})
    rr = runs[has_ref][["run", "sid"]].merge(d.rel[["sid", "a", "b"]], on="sid")
    run_rel = pd.DataFrame({"subject": rr["run"].to_numpy(), "date": _dates(rr["a"].to_numpy()),
                            "date_end": _dates(rr["b"].to_numpy())})
    cdw = pd.DataFrame({"run": np.zeros(0, np.int64)})
    unconf = pd.DataFrame({"run": np.zeros(0, np.int64)})
    if len(run_vis):
        res = confirmed_events(run_vis, run_rel, copts, subject="subject", date="date",
                               value="edss", relapse_date_end="date_end")
        ev = res.events[res.events["event_type"] == "CDW"]
        ev = ev.sort_values(["subject", "onset_date"]).drop_duplicates("subject")
        cdw = pd.DataFrame({"run": ev["subject"].to_numpy(np.int64),
                            "on": _days(ev["onset_date"]), "on_v": ev["onset_value"].to_numpy(),
                            "ref_v": ev["reference_value"].to_numpy(),
                            "conf": _days(ev["confirmation_date"])})
        un = res.unconfirmed
        unconf = pd.DataFrame({"run": un["subject"].to_numpy(np.int64),
                               "u_on": _days(un["onset_date"]),
                               "u_v": un["onset_value"].to_numpy(float),
                               "u_ref": un["reference_value"].to_numpy(float)})
    runs = runs.merge(cdw, on="run", how="left").merge(unconf, on="run", how="left")
    w = pd.DataFrame({"_w": win["_w"].to_numpy(), "sid": sid, "T": T, "frm": cs})
    w = w.merge(runs, on=["sid", "T", "frm"], how="left").sort_values("_w")
    on = w["on"].to_numpy(float) if "on" in w else np.full(n, np.nan)
    u_on = w["u_on"].to_numpy(float) if "u_on" in w else np.full(n, np.nan)
    rday = w["ref_day"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        false = (on >= cs) & (on < ce)
        unconf_in = (u_on >= cs) & (u_on < ce)
    # an EDSS within 91 days of the window end
    dd = o.edss_end_window_days
    n_end = (np.searchsorted(d.vkey, _key(sid, ce + dd), side="right")
             - np.searchsorted(d.vkey, _key(sid, ce - dd), side="left"))
    noref = np.isnan(rday)
    no_end = n_end == 0
    unknown = ~false & (empty | noref | no_end | unconf_in)
    reason = np.full(n, None, dtype=object)
    f = np.flatnonzero(false)
    if len(f):
        reason[f] = ("confirmed disability worsening: EDSS "
                     + _fmt(w["ref_v"].to_numpy(float)[f]) + " to "
                     + _fmt(w["on_v"].to_numpy(float)[f]) + ", onset "
                     + _iso(on[f]) + ", confirmed "
                     + _iso(w["conf"].to_numpy(float)[f]))
    u = np.flatnonzero(unknown)
    if len(u):
        parts = [
            np.where(empty[u], "no clinical window (counted from "
                     + _iso(cs[u]) + ")", ""),
            np.where(noref[u] & ~empty[u], "no EDSS reference: no eligible EDSS from "
                     f"{o.edss_reference_lookback_days} days before to "
                     f"{o.edss_reference_lookahead_days} days after "
                     + _iso(T[u]), ""),
            np.where(no_end[u] & ~empty[u], f"no EDSS within {dd} days of the window end", ""),
            np.where(unconf_in[u], "worsening from " + _iso(u_on[u]) + " (EDSS "
                     + _fmt(w["u_ref"].to_numpy(float)[u]) + " to "
                     + _fmt(w["u_v"].to_numpy(float)[u]) + ") not yet confirmed", ""),
        ]
        reason[u] = _join(parts)
    out = {"edss_reference_date": _dates(rday), "cdw_onset_date": _dates(np.where(false, on,
                                                                                   np.nan)),
           "disability": _nullable(~false, ~unknown), "disability_reason": reason}
    return out, {"course_options": copts.as_dict(), "course_options_digest": copts.digest(),
                 "engine_runs": int(has_ref.sum())}


def _fmt(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = np.round(x, 1).astype(str).astype(object)
    out[~np.isfinite(x)] = "?"
    return out


def _scan_epochs(d: _Data, o: NedaOptions, b: np.ndarray, n_win: np.ndarray) -> pd.DataFrame:
    """Each scan x each epoch of its subject, with the per-year window k it belongs to."""
    ep = d.ep
    cols = ["ei", "S", "E"]
    m = ep[[*cols, "sid"]].assign(B=b, K=n_win).merge(d.scans, on="sid")
    W, g = o.window_days, o.mri_grace_days
    e_ex = np.where(m["E"].isna(), np.inf, m["E"].to_numpy() + 1)
    k = np.floor((m["day"].to_numpy() - m["S"].to_numpy() - g) / W).astype(np.int64) + 1
    upper = np.minimum(m["S"].to_numpy() + W * k, e_ex) + g
    ok = (k >= 1) & (k <= m["K"].to_numpy()) & (m["day"].to_numpy() < upper)
    return m[ok].assign(k=k[ok]).reset_index(drop=True)


def _first_per_epoch(frame: pd.DataFrame, col: str, values: np.ndarray) -> pd.DataFrame:
    """For each (ei, k) in frame: the first non-null of ``values`` over windows <= k."""
    s = pd.Series(values)
    has = s.notna().to_numpy()
    firsts = (pd.DataFrame({"ei": frame["ei"].to_numpy()[has], "k": frame["k"].to_numpy()[has],
                            col: s[has].to_numpy()})
              .sort_values(["ei", "k"], kind="stable").drop_duplicates("ei"))
    return firsts.rename(columns={"k": f"{col}_k"})


def _mri_component(d: _Data, win: pd.DataFrame, o: NedaOptions, b: np.ndarray,
                   n_win: np.ndarray) -> dict[str, Any]:
    n = len(win)
    sm = _scan_epochs(d, o, b, n_win)
    req_gd = o.mri_requires_gd
    S = sm["S"].to_numpy()
    day = sm["day"].to_numpy()
    comp = sm["comp"].to_numpy()
    B = sm["B"].to_numpy()
    has_b = ~np.isnan(B)
    k = sm["k"].to_numpy()
    with np.errstate(invalid="ignore"):
        if o.mri_from == "rebaseline_scan":
            anchor = np.where(has_b, B, S + o.mri_rebaseline_max_days)
            usable = np.where(has_b, day > B, k >= 2)
            counted = usable & ~np.isnan(comp) & (comp >= anchor)
        else:
            usable = day > S
            counted = usable & ~np.isnan(comp)
    gd_act = usable & sm["gd_active"].to_numpy(bool)
    t2_act = counted & sm["t2_active"].to_numpy(bool)
    active = gd_act | t2_act
    clean = counted & sm["t2_clean"].to_numpy(bool) & (sm["gd_clean"].to_numpy(bool) | (not req_gd))
    gd = sm["gd"].to_numpy()
    t2n = sm["new"].to_numpy() + sm["enl"].to_numpy()
    act_txt = np.full(len(sm), None, dtype=object)
    ia = np.flatnonzero(active)
    if len(ia):
        desc = _join([
            np.where(gd_act[ia], _int_txt(gd[ia]) + " Gd-enhancing", ""),
            np.where(t2_act[ia], np.where(np.isnan(t2n[ia]), "new/enlarging T2",
                                          _int_txt(t2n[ia]) + " new/enlarging T2"), ""),
        ], ", ")
        act_txt[ia] = "MRI activity on " + _iso(day[ia]) + ": " + desc
    unclean_txt = np.full(len(sm), None, dtype=object)
    iu = np.flatnonzero(counted & ~clean & ~active)
    if len(iu):
        t2_known = sm["t2_clean"].to_numpy(bool)[iu] | sm["t2_active"].to_numpy(bool)[iu]
        unclean_txt[iu] = np.where(
            ~t2_known, "scan on " + _iso(day[iu]) + ": new/enlarging T2 count "
            "missing", "scan on " + _iso(day[iu])
            + " without contrast (Gd count unknown)")
    skipped_txt = np.full(len(sm), None, dtype=object)
    isk = np.flatnonzero(usable & ~counted & ~active)
    if len(isk):
        skipped_txt[isk] = np.where(
            np.isnan(comp[isk]), "scan on " + _iso(day[isk])
            + " has no comparator scan",
            "scan on " + _iso(day[isk]) + " compared with a scan of "
            + _iso(comp[isk]) + ", before the re-baseline scan")
    sm = sm.assign(active=active, counted=counted, clean=clean, act_txt=act_txt,
                   unclean_txt=unclean_txt, skipped_txt=skipped_txt)
    agg = sm.groupby(["ei", "k"], as_index=False).agg(
        n_active=("active", "sum"), n_counted=("counted", "sum"), n_clean=("clean", "sum"),
        act_txt=("act_txt", "first"), unclean_txt=("unclean_txt", "first"),
        skipped_txt=("skipped_txt", "first"))
    yr = win[win["wtype"] == "per_year"][["_w", "ei", "k"]]
    yr = yr.merge(agg, on=["ei", "k"], how="left").sort_values(["ei", "k"])
    for c in ("n_active", "n_counted", "n_clean"):
        yr[c] = yr[c].fillna(0).astype(np.int64)
    cum = yr[["ei", "k"]].copy()
    g = yr.groupby("ei")
    for c in ("n_active", "n_counted", "n_clean"):
        cum[c] = g[c].cumsum().to_numpy()
    for c in ("act_txt", "unclean_txt", "skipped_txt"):
        firsts = _first_per_epoch(yr, c, yr[c].to_numpy())
        cum = cum.merge(firsts, on="ei", how="left")
        later = (cum["k"] >= cum[f"{c}_k"]).to_numpy()
        vals = cum[c].to_numpy(dtype=object).copy()
        vals[~later] = None
        cum[c] = vals
        cum = cum.drop(columns=f"{c}_k")
    cw = win[win["wtype"] == "cumulative"][["_w", "ei", "k"]].merge(cum, on=["ei", "k"])
    allw = pd.concat([yr, cw], ignore_index=True).set_index("_w").reindex(win["_w"])
    n_active = allw["n_active"].fillna(0).to_numpy(np.int64)
    n_counted = allw["n_counted"].fillna(0).to_numpy(np.int64)
    n_clean = allw["n_clean"].fillna(0).to_numpy(np.int64)
    false = n_active > 0
    no_rebl = (o.mri_from == "rebaseline_scan") & np.isnan(win["B"].to_numpy()) & (
        (win["k"].to_numpy() == 1) | (win["wtype"].to_numpy() == "cumulative"))
    true = ~false & ~no_rebl & (n_counted > 0) & (n_clean == n_counted)
    unknown = ~false & ~true
    reason = np.full(n, None, dtype=object)
    reason[false] = allw["act_txt"].to_numpy(dtype=object)[false]
    u = np.flatnonzero(unknown)
    if len(u):
        lo, hi = o.mri_rebaseline_min_days, o.mri_rebaseline_max_days
        none_txt = ("no counted scan in the MRI window (a scan after the re-baseline scan of "
                    + _iso(win["B"].to_numpy()[u])
                    + ", compared with a scan on or after it)")
        if o.mri_from == "epoch_start":
            none_txt = np.full(len(u), "no counted scan in the MRI window (a scan after the "
                               "epoch start with a comparator scan)", dtype=object)
        elif np.isnan(win["B"].to_numpy()[u]).any():
            none_txt = np.where(np.isnan(win["B"].to_numpy()[u]),
                                "no counted scan in the MRI window (without a re-baseline "
                                f"scan, a comparator dated on or after day {hi} is needed)",
                                none_txt)
        skipped = allw["skipped_txt"].to_numpy(dtype=object)[u]
        unclean = allw["unclean_txt"].to_numpy(dtype=object)[u]
        reason[u] = np.where(
            no_rebl[u], f"no scan in days {lo}-{hi} after start: no MRI re-baseline",
            np.where(n_counted[u] == 0,
                     np.where(pd.isna(skipped), none_txt,
                              none_txt + "; " + skipped.astype(str).astype(object)),
                     unclean))
    return {"n_scans_counted": n_counted, "mri": _nullable(~false, ~unknown),
            "mri_reason": reason, "_sm": sm}


def _int_txt(x: np.ndarray) -> np.ndarray:
    return np.array([str(int(v)) if np.isfinite(v) else "?" for v in x], dtype=object)


def _bvl_component(d: _Data, win: pd.DataFrame, o: NedaOptions, sm: pd.DataFrame
                   ) -> dict[str, Any]:
    n = len(win)
    pb = sm[sm["pbvc"].notna() & sm["comp"].notna()]
    comp = pb["comp"].to_numpy()
    dt = pb["day"].to_numpy() - comp
    B = pb["B"].to_numpy()
    with np.errstate(invalid="ignore"):
        if o.mri_from == "rebaseline_scan":
            earlier_ok = np.where(~np.isnan(B), comp >= B,
                                  (pb["k"].to_numpy() >= 2)
                                  & (comp >= pb["S"].to_numpy() + o.mri_rebaseline_max_days))
        else:
            earlier_ok = np.ones(len(pb), bool)
    ok = earlier_ok & (dt >= o.bvl_min_interval_days) & ~pb["protocol_change"].to_numpy(bool)
    pb = pb[ok].assign(dt=dt[ok])
    agg = pb.groupby(["ei", "k"], as_index=False).agg(s_pbvc=("pbvc", "sum"), s_dt=("dt", "sum"),
                                                      n_pairs=("pbvc", "size"))
    yr = win[win["wtype"] == "per_year"][["_w", "ei", "k"]]
    yr = yr.merge(agg, on=["ei", "k"], how="left").sort_values(["ei", "k"])
    for c in ("s_pbvc", "s_dt", "n_pairs"):
        yr[c] = yr[c].fillna(0)
    g = yr.groupby("ei")
    cum = yr[["ei", "k"]].assign(s_pbvc=g["s_pbvc"].cumsum().to_numpy(),
                                 s_dt=g["s_dt"].cumsum().to_numpy(),
                                 n_pairs=g["n_pairs"].cumsum().to_numpy())
    cw = win[win["wtype"] == "cumulative"][["_w", "ei", "k"]].merge(cum, on=["ei", "k"])
    allw = pd.concat([yr, cw], ignore_index=True).set_index("_w").reindex(win["_w"])
    n_pairs = allw["n_pairs"].fillna(0).to_numpy(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = np.where(n_pairs > 0, -allw["s_pbvc"].to_numpy() / (allw["s_dt"].to_numpy()
                                                                    / YEAR_DAYS), np.nan)
    thr = o.bvl_activity_threshold_pct
    with np.errstate(invalid="ignore"):
        if o.bvl_boundary == "activity_at_threshold":
            false = loss >= thr - 1e-9
        else:
            false = loss > thr + 1e-9
    # cumulative NEDA, once lost, is lost for good (spec 4.4)
    is_cum = win["wtype"].to_numpy() == "cumulative"
    carry = pd.Series((false & is_cum).astype(np.int8)).groupby(
        win["ei"].to_numpy() * 2 + is_cum).cummax()
    carried = carry.to_numpy().astype(bool) & is_cum & ~false
    first_loss = pd.Series(np.where(false & is_cum, loss, np.nan)).groupby(
        win["ei"].to_numpy() * 2 + is_cum).ffill().to_numpy()
    false = false | carried
    known = n_pairs > 0
    no_rebl = (o.mri_from == "rebaseline_scan") & np.isnan(win["B"].to_numpy()) & (
        (win["k"].to_numpy() == 1) | is_cum)
    unknown = ~false & (~known | no_rebl)
    reason = np.full(n, None, dtype=object)
    sym = ">=" if o.bvl_boundary == "activity_at_threshold" else ">"
    f = np.flatnonzero(false)
    if len(f):
        shown = np.where(carried[f], first_loss[f], loss[f])
        reason[f] = np.array([f"annualised brain volume loss {v:.2f} %/year ({sym} {thr:g})"
                              for v in shown], dtype=object)
        reason[f] = np.where(carried[f], reason[f] + " in an earlier cumulative window",
                             reason[f])
    u = np.flatnonzero(unknown)
    if len(u):
        lo, hi = o.mri_rebaseline_min_days, o.mri_rebaseline_max_days
        generic = ("no eligible brain-volume pair (PBVC vs a comparator "
                   + ("on or after the re-baseline scan" if o.mri_from == "rebaseline_scan"
                      else "scan") + f", at least {o.bvl_min_interval_days} days apart, same "
                   "scanner and protocol, later scan in the MRI window)")
        reason[u] = np.where(no_rebl[u], f"no scan in days {lo}-{hi} after start: no MRI "
                             "re-baseline", generic)
    return {"bvl_pairs": n_pairs, "bvl_loss_pct_per_year": loss,
            "bvl": _nullable(~false, ~unknown), "bvl_reason": reason}


# three-valued AND by lookup (codes 0 = False, 1 = unknown, 2 = True), built from tri_all
_TRI_CODES: tuple[Tri, ...] = (False, None, True)


def _tri_all_columns(cols: list[tuple[str, pd.arrays.BooleanArray]]
                     ) -> tuple[pd.arrays.BooleanArray, np.ndarray]:
    """Three-valued AND of the components (spec 0.2, via :func:`tri_all`) and a reason naming
    the components that decide it: ``"activity: relapse, MRI"`` when False, ``"unknown:
    disability"`` when unknown."""
    names = [n for n, _ in cols]
    combos = list(itertools.product(_TRI_CODES, repeat=len(cols)))
    table = np.array([_TRI_CODES.index(tri_all(combo)) for combo in combos])
    texts: list[str | None] = []
    for combo in combos:
        res = tri_all(combo)
        if res is False:
            texts.append("activity: " + ", ".join(n for n, v in zip(names, combo, strict=True)
                                                  if v is False))
        elif res is None:
            texts.append("unknown: " + ", ".join(n for n, v in zip(names, combo, strict=True)
                                                 if v is None))
        else:
            texts.append(None)
    code = np.zeros(len(cols[0][1]), np.int64)
    for _, c in cols:
        v = np.where(c.isna(), 1, np.where(c.to_numpy(dtype=bool, na_value=False), 2, 0))
        code = code * 3 + v
    decided = table[code]
    return (pd.arrays.BooleanArray(decided == 2, decided == 1),
            np.array(texts, dtype=object)[code])


# =============================================================================================
# public API


def neda_status(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any = None,
                options: NedaOptions | None = None) -> pd.DataFrame:
    """NEDA-3 and NEDA-4 per patient, per DMT epoch, per-year and cumulative (spec 4.0-4.4).

    Parameters
    ----------
    visits : clinical visits (``docs/data-model.md``): ``subject`` (or ``id``), ``date``,
        ``edss``. Every visit row is a clinical contact for relapse ascertainment.
    relapses : ``subject``, ``date`` (full date, ``YYYY-MM`` or ``YYYY``), optional
        ``date_end`` and ``pseudo``; assumed cleaned by relapse hygiene (spec 3.1).
        Pseudo-relapses are ignored and EDSS assessments during their episode are not used.
    mri : one row per read scan: ``subject``, ``date``, ``comparator_date``, ``contrast``,
        ``gd``, ``new_t2``, ``enlarging_t2`` (optional), ``spinal_cord``, ``pbvc``,
        ``same_protocol`` (optional).
    epochs : treatment epochs (``neda.rules.dmt.treatment_epochs``): ``subject``, ``epoch``,
        ``drug``, ``start``, ``end`` (last day, inclusive; NaT = ongoing), ``onset``.
    ascertainment : optional ``subject``, ``start``, ``end``: the relapse-ascertainment
        interval [A0, A1] (spec 2.7.2); default: first to last visit.
    options : :class:`NedaOptions`.

    Returns
    -------
    DataFrame with exactly the columns of :data:`NEDA_COLUMNS`, one row per subject x epoch x
    window type x window; ``attrs["provenance"]`` holds every option, the course-engine
    options of the disability runs and the epochs' provenance.

    Rules (spec 4.1-4.4): relapse ``False`` when a relapse onset lies in the clinical window;
    unknown when relapse follow-up does not cover it or an imprecise onset lies partly in it.
    Disability: a fixed-reference first-CDW engine run from the latest eligible EDSS in
    [T - 183, T] (else the first in (T, T + 91]); ``False`` when the CDW onset is in the window;
    unknown without an EDSS within 91 days of the window end or with an unresolved worsening.
    MRI: counted scans are dated after the re-baseline scan B with a comparator on or after B;
    ``False`` on any Gd-enhancing or new/enlarging T2 lesion (T2 activity needs no contrast);
    ``True`` only when every counted scan has 0 new/enlarging T2 and (with contrast) 0 Gd.
    BVL: pooled annualised loss over pairs whose later scan is in the MRI window.
    """
    o = (options or NedaOptions()).validated()
    d = _prepare(visits, relapses, mri, epochs, ascertainment, o)
    b = _rebaseline(d, o)
    c0 = _clinical_start(d, o, b)
    win = _windows(d, o, b, c0)
    n_win = win[win["wtype"] == "per_year"].groupby("ei")["k"].max().reindex(
        d.ep["ei"]).to_numpy()
    rel = _relapse_component(d, win)
    dis, engine_record = _disability_component(d, win, o)
    mri_c = _mri_component(d, win, o, b, n_win)
    bvl = _bvl_component(d, win, o, mri_c.pop("_sm"))
    neda3, neda3_reason = _tri_all_columns([
        ("relapse", rel["relapse"]), ("disability", dis["disability"]), ("MRI", mri_c["mri"])])
    neda4, neda4_reason = _tri_all_columns([
        ("relapse", rel["relapse"]), ("disability", dis["disability"]), ("MRI", mri_c["mri"]),
        ("brain volume", bvl["bvl"])])
    ei = win["ei"].to_numpy()
    ep = d.ep
    out = pd.DataFrame({
        "subject": np.asarray(d.subjects, dtype=object)[ep["sid"].to_numpy()[ei]]
        if len(ei) else np.zeros(0, object),
        "epoch": ep["epoch"].to_numpy()[ei],
        "drug": ep["drug"].to_numpy()[ei] if ep["drug"] is not None else None,
        "epoch_start": _dates(ep["S"].to_numpy()[ei]),
        "epoch_end": _dates(ep["E"].to_numpy()[ei]),
        "window_type": win["wtype"].to_numpy(),
        "window": win["k"].to_numpy(np.int64),
        "window_start": _dates(win["ws"].to_numpy()),
        "window_end": _dates(win["we"].to_numpy()),
        "partial_window": win["partial"].to_numpy(bool),
        "clinical_start": _dates(win["cs"].to_numpy()),
        "mri_window_start": _dates(win["mws"].to_numpy()),
        "mri_window_end": _dates(win["mwe"].to_numpy()),
        "rebaseline_scan_date": _dates(win["B"].to_numpy()),
        "edss_reference_date": dis["edss_reference_date"],
        "n_relapses": rel["n_relapses"],
        "relapse": rel["relapse"],
        "relapse_reason": rel["relapse_reason"],
        "cdw_onset_date": dis["cdw_onset_date"],
        "disability": dis["disability"],
        "disability_reason": dis["disability_reason"],
        "n_scans_counted": mri_c["n_scans_counted"],
        "mri": mri_c["mri"],
        "mri_reason": mri_c["mri_reason"],
        "bvl_pairs": bvl["bvl_pairs"],
        "bvl_loss_pct_per_year": bvl["bvl_loss_pct_per_year"],
        "bvl": bvl["bvl"],
        "bvl_reason": bvl["bvl_reason"],
        "neda3": neda3,
        "neda3_reason": neda3_reason,
        "neda4": neda4,
        "neda4_reason": neda4_reason,
    })
    order = np.lexsort((win["k"].to_numpy(), (win["wtype"] == "cumulative").to_numpy(), ei))
    out = out.iloc[order].reset_index(drop=True)
    record = provenance(o.rule_set, o, NEDA_SOURCE)
    record.update(engine_record)
    record["epochs_provenance"] = d.epochs_provenance
    out = with_provenance(out, record)
    return out[list(NEDA_COLUMNS)]


def cohort_neda_proportion(status: pd.DataFrame, by: str | list[str] | tuple[str, ...] = (
        "epoch", "window_type", "window"), measures: tuple[str, ...] = ("neda3", "neda4")
        ) -> pd.DataFrame:
    """Proportion with NEDA among assessable patients, with the count not assessable (4.4).

    ``status`` is the output of :func:`neda_status` (possibly filtered, e.g. to one drug).
    A patient is assessable when the status is ``True`` or ``False``; unknown statuses are
    excluded from the denominator and always reported (STRIVE convention: patients with any
    observed activity count as not NEDA; patients with missing data and no observed activity
    are excluded) [V] / [C]. Each group must hold at most one row per subject (the default
    ``by`` includes ``epoch``); otherwise a ValueError says which columns to add.

    Returns the ``by`` columns then :data:`PROPORTION_COLUMNS`, one row per group and measure.
    """
    keys = [by] if isinstance(by, str) else list(by)
    if status.duplicated([*keys, "subject"]).any():
        raise ValueError(f"a subject has several rows per group {keys}; group by 'epoch' (or "
                         "filter the status table to one epoch per subject) so that each "
                         "patient counts once")
    rows = []
    for meas in measures:
        v = status[meas].astype("boolean")
        f = status[keys].assign(_t=v.eq(True).fillna(False).astype(int),
                                _f=v.eq(False).fillna(False).astype(int),
                                _u=v.isna().astype(int), _n=1)
        g = f.groupby(keys, as_index=False, sort=True)[["_n", "_t", "_f", "_u"]].sum()
        g.insert(len(keys), "measure", meas)
        rows.append(g)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    out = out.rename(columns={"_n": "n_patients", "_t": "n_neda", "_f": "n_evident_activity",
                              "_u": "n_not_assessable"})
    out["n_assessable"] = out["n_neda"] + out["n_evident_activity"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["proportion"] = np.where(out["n_assessable"] > 0,
                                     out["n_neda"] / out["n_assessable"].where(
                                         out["n_assessable"] > 0, 1), np.nan)
    out = out[[*keys, *PROPORTION_COLUMNS]]
    out = out.sort_values([*keys, "measure"], kind="stable").reset_index(drop=True)
    out.attrs["provenance"] = status.attrs.get("provenance")
    return out


# ---------------------------------------------------------------------------------------------
# MEDA and MAGNIMS score (spec 4.5)


def _pick_scan(d: _Data, ep: pd.DataFrame, lo: np.ndarray, hi: np.ndarray,
               target: np.ndarray | None) -> np.ndarray:
    """Per epoch row: the scan in [lo, hi] closest to target (tie: earlier), or the latest
    when target is None. NaN = none."""
    out = np.full(len(ep), np.nan)
    if not len(d.scans) or not len(ep):
        return out
    q = pd.DataFrame({"ei": ep["ei"].to_numpy(), "sid": ep["sid"].to_numpy(), "lo": lo,
                      "hi": hi, "t": np.zeros(len(ep)) if target is None else target})
    m = q.merge(d.scans[["sid", "day"]], on="sid")
    m = m[(m["day"] >= m["lo"]) & (m["day"] <= m["hi"])]
    if not len(m):
        return out
    if target is None:
        best = m.sort_values(["ei", "day"], ascending=[True, False]).drop_duplicates("ei")
    else:
        m = m.assign(dist=(m["day"] - m["t"]).abs())
        best = m.sort_values(["ei", "dist", "day"], kind="stable").drop_duplicates("ei")
    out[best["ei"].to_numpy()] = best["day"].to_numpy()
    return out


def _chain_count(d: _Data, sid: np.ndarray, ref: np.ndarray, fu: np.ndarray,
                 count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lesion count between a reference and a follow-up scan: the follow-up scan's count when
    it was compared with the reference scan; otherwise the counts summed along its chain of
    comparator scans back to the reference. Returns (count, why-unknown code): 0 ok, 1 no scan,
    2 missing count, 3 chain does not reach the reference."""
    n = len(sid)
    total = np.zeros(n)
    why = np.where(np.isnan(ref) | np.isnan(fu), 1, 0)
    cur = fu.copy()
    pending = why == 0
    comp_all = d.scans["comp"].to_numpy()
    for _ in range(64):
        if not pending.any():
            break
        idx = np.flatnonzero(pending)
        k = _key(sid[idx], cur[idx])
        pos = np.searchsorted(d.skey, k)
        posc = np.clip(pos, 0, max(len(d.skey) - 1, 0))
        found = (pos < len(d.skey)) & (d.skey[posc] == k)
        comp = np.where(found, comp_all[posc], np.nan)
        cnt = np.where(found, count[posc], np.nan)
        broken = ~found | np.isnan(comp)
        miss = ~broken & np.isnan(cnt)
        why[idx[broken]] = 3
        why[idx[miss]] = 2
        ok = ~broken & ~miss
        total[idx[ok]] += cnt[ok]
        done = ok & (comp == ref[idx])
        before = ok & (comp < ref[idx])
        why[idx[before]] = 3
        go = ok & ~done & ~before
        cur[idx[go]] = comp[go]
        pending[idx[~go]] = False
    why[pending] = 3
    return np.where(why == 0, total, np.nan), why


def _year_frame(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any,
                o: NedaOptions, years: tuple[int, ...], count_kind: str
                ) -> tuple[pd.DataFrame, _Data]:
    d = _prepare(visits, relapses, mri, epochs, ascertainment, o)
    ep = d.ep
    S = ep["S"].to_numpy()
    e_ex = np.where(ep["E"].isna(), np.inf, ep["E"].to_numpy() + 1)
    scan_cap = e_ex - 1 + o.mri_grace_days
    base = _pick_scan(d, ep, S + o.baseline_scan_min_days,
                      np.minimum(S + o.baseline_scan_max_days, scan_cap), None)
    y1 = _pick_scan(d, ep, S + o.year1_scan_min_days,
                    np.minimum(S + o.year1_scan_max_days, scan_cap),
                    S + o.year1_scan_target_days)
    y2 = _pick_scan(d, ep, S + o.year2_scan_min_days,
                    np.minimum(S + o.year2_scan_max_days, scan_cap),
                    S + o.year2_scan_target_days)
    sc = d.scans
    if count_kind == "new_or_enlarging":
        cnt = sc["new"].to_numpy() + sc["enl"].to_numpy()
    else:
        cnt = sc["new"].to_numpy()
    frames = []
    for y in years:
        if y not in (1, 2):
            raise ValueError("years must be 1 and/or 2 (spec 4.5)")
        ref, fu = (base, y1) if y == 1 else (y1, y2)
        ws = S + 365 * (y - 1)
        we_full = S + 365 * y
        we = np.minimum(we_full, e_ex)
        frames.append(pd.DataFrame({"ei": ep["ei"].to_numpy(), "sid": ep["sid"].to_numpy(),
                                    "year": y, "S": S, "ws": ws, "we": we,
                                    "partial": we < we_full, "ref": ref, "fu": fu}))
    f = pd.concat(frames, ignore_index=True)
    f["_w"] = np.arange(len(f))
    rc = _relapse_counts(d, f, "ws", "we")
    f["n_in"] = rc["n_in"].to_numpy(np.int64)
    f["n_part"] = rc["n_part"].to_numpy(np.int64)
    f["first_in"] = rc["first_in"].to_numpy()
    f["covered"] = _covered(d, f["sid"].to_numpy(), f["ws"].to_numpy(), f["we"].to_numpy())
    f["uncertain"] = (f["n_part"] > 0) | ~f["covered"] | (f["ws"] >= f["we"])
    new, why = _chain_count(d, f["sid"].to_numpy(), f["ref"].to_numpy(), f["fu"].to_numpy(),
                            cnt)
    f["new"] = new
    f["why"] = why
    # CEL on the follow-up scan (cross-sectional; unknown without contrast)
    k = _key(f["sid"].to_numpy(), np.nan_to_num(f["fu"].to_numpy(), nan=0.0))
    pos = np.clip(np.searchsorted(d.skey, k), 0, max(len(d.skey) - 1, 0))
    hit = (~f["fu"].isna().to_numpy()) & (len(d.skey) > 0)
    if len(d.skey):
        hit &= d.skey[pos] == k
    f["cel"] = np.where(hit, sc["gd"].to_numpy()[pos] if len(sc) else np.nan, np.nan)
    return f, d


def _year_output(f: pd.DataFrame, d: _Data) -> dict[str, Any]:
    ep = d.ep
    ei = f["ei"].to_numpy()
    return {
        "subject": np.asarray(d.subjects, dtype=object)[f["sid"].to_numpy()]
        if len(f) else np.zeros(0, object),
        "epoch": ep["epoch"].to_numpy()[ei],
        "drug": ep["drug"].to_numpy()[ei] if ep["drug"] is not None else None,
        "epoch_start": _dates(f["S"].to_numpy()),
        "year": f["year"].to_numpy(np.int64),
        "window_start": _dates(f["ws"].to_numpy()),
        "window_end": _dates(f["we"].to_numpy()),
        "partial_window": f["partial"].to_numpy(bool),
        "reference_scan_date": _dates(f["ref"].to_numpy()),
        "followup_scan_date": _dates(f["fu"].to_numpy()),
        "n_relapses": f["n_in"].to_numpy(np.int64),
        "relapses_uncertain": f["uncertain"].to_numpy(bool),
        "new_t2": pd.array(f["new"].to_numpy(), dtype="Int64"),
    }


def _mri_why(f: pd.DataFrame, what: str) -> np.ndarray:
    why = f["why"].to_numpy()
    no_ref = f["ref"].isna().to_numpy()
    no_fu = f["fu"].isna().to_numpy()
    yr = f["year"].to_numpy()
    txt = np.full(len(f), "", dtype=object)
    txt = np.where(why == 2, f"{what} count missing", txt)
    txt = np.where(why == 3, f"the follow-up scan is not compared with the reference scan "
                   f"(no comparator chain back to it): {what} count unknown", txt)
    txt = np.where(no_fu, np.where(yr == 1, "no year-1 scan", "no year-2 scan"), txt)
    txt = np.where(no_ref, np.where(yr == 1, "no pre-treatment reference scan",
                                    "no year-1 scan (reference of year 2)"), txt)
    return txt


def _relapse_why(f: pd.DataFrame, d: _Data) -> np.ndarray:
    parts = [
        np.where(~f["covered"].to_numpy(), "relapse follow-up does not cover the window", ""),
        np.where(f["n_part"].to_numpy() > 0, "an imprecise relapse lies partly in the window",
                 ""),
    ]
    return _join(parts)


def meda_status(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any = None,
                options: NedaOptions | None = None, *, years: tuple[int, ...] = (1, 2)
                ) -> pd.DataFrame:
    """Minimal evident disease activity (MEDA) after year 1 and year 2 (spec 4.5).

    Prosperini et al. (JNNP 2020), after year 1 (also validated after year 2) of interferon-beta
    or glatiramer acetate: MEDA = 0 relapses, 1-2 new T2 lesions and no contrast-enhancing
    lesion (CEL); there is no disability component [V]. Categories [C]:

    * ``MEDA`` - 0 relapses, 1-2 new T2, CEL known and 0;
    * ``no_evident_activity`` - 0 relapses, 0 new T2, CEL known and 0 (merged into ``MEDA``
      with ``meda_include_zero_new_t2``; = low MAGNIMS score without CEL);
    * ``evident_activity`` - >= 1 relapse, or >= 3 new T2, or >= 1 CEL;
    * ``unknown`` - anything else (missing scan, no contrast, relapse follow-up not covering
      the window, an imprecise relapse partly in it).

    New T2 lesions are counted on the follow-up scan against the reference scan (year 1: the
    pre-treatment reference scan; year 2: the year-1 scan); CEL on the follow-up scan. Relapses
    count in ``[S, S + 365)`` (year 1) or ``[S + 365, S + 730)`` (year 2), cut at the epoch
    end. ``visits`` only supply the default relapse ascertainment (first to last visit).

    Returns exactly the columns of :data:`MEDA_COLUMNS`.
    """
    o = (options or NedaOptions()).validated()
    f, d = _year_frame(visits, relapses, mri, epochs, ascertainment, o, years, "new_only")
    n_in = f["n_in"].to_numpy()
    unc = f["uncertain"].to_numpy(bool)
    new = f["new"].to_numpy()
    cel = f["cel"].to_numpy()
    with np.errstate(invalid="ignore"):
        evident = (n_in >= 1) | (new >= 3) | (cel >= 1)
        quiet = (n_in == 0) & ~unc & (cel == 0)
        meda = ~evident & quiet & (new >= 1) & (new <= 2)
        nea = ~evident & quiet & (new == 0)
    cat = np.full(len(f), "unknown", dtype=object)
    cat[meda] = "MEDA"
    cat[nea] = "MEDA" if o.meda_include_zero_new_t2 else "no_evident_activity"
    cat[evident] = "evident_activity"
    new_txt = _int_txt(new)
    cel_txt = _int_txt(cel)
    summary = ("relapses " + f["n_in"].astype(str).to_numpy(dtype=object) + ", new T2 "
               + new_txt + ", CEL " + cel_txt)
    reason = summary.copy()
    unknown = cat == "unknown"
    if unknown.any():
        mri_txt = _mri_why(f, "new T2")
        cel_why = np.where(f["fu"].notna().to_numpy() & np.isnan(cel),
                           "follow-up scan without contrast (CEL unknown)", "")
        rel_txt = _relapse_why(f, d)
        why = _join([rel_txt, mri_txt, cel_why])
        reason = np.where(unknown, summary + ": " + why, reason)
    out = pd.DataFrame({**_year_output(f, d), "cel": pd.array(cel, dtype="Int64"),
                        "category": cat, "reason": reason})
    out = out.sort_values(["subject", "epoch", "year"], kind="stable").reset_index(drop=True)
    out = with_provenance(out, provenance(o.rule_set, o, NEDA_SOURCE))
    return out[list(MEDA_COLUMNS)]


def _magnims_level(r: np.ndarray, n: np.ndarray, cutoff: float) -> np.ndarray:
    """0 / 1 / 2 from relapses and new T2 (Sormani 2016), for known values (inf allowed)."""
    hi_t2 = n >= cutoff
    return np.where(r >= 2, 2, np.where(r == 1, np.where(hi_t2, 2, 1), np.where(hi_t2, 1, 0)))


def magnims_score(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any = None,
                  options: NedaOptions | None = None, *, years: tuple[int, ...] = (1,)
                  ) -> pd.DataFrame:
    """MAGNIMS score after year 1 of interferon-beta / glatiramer acetate (spec 4.5, 5.3).

    Sormani et al. (Neurology 2016) [M], as restated by Prosperini 2020 [V]: **low** = 0
    relapses and < 3 new T2 lesions; **medium** = 0 relapses and >= 3 new T2, or 1 relapse and
    0-2 new T2; **high** = 1 relapse and >= 3 new T2, or >= 2 relapses. Later papers number the
    levels 0 / 1 / 2 (Sormani 2021; Kunchok 2021); both labels are stored. The lesion count is
    ``scores.magnims_count`` (new T2 by default) on the year-1 scan against the pre-treatment
    reference scan. A level is reported whenever every value the unknown data could take gives
    the same level (e.g. >= 2 relapses -> high without MRI); otherwise it is unknown.

    Returns exactly the columns of :data:`MAGNIMS_COLUMNS`.
    """
    o = (options or NedaOptions()).validated()
    f, d = _year_frame(visits, relapses, mri, epochs, ascertainment, o, years, o.magnims_count)
    n_in = f["n_in"].to_numpy(float)
    r_hi = np.where(f["uncertain"].to_numpy(bool), np.inf, n_in)
    new = f["new"].to_numpy()
    n_lo = np.where(np.isnan(new), 0.0, new)
    n_hi = np.where(np.isnan(new), np.inf, new)
    cut = o.magnims_new_t2_cutoff
    lo = _magnims_level(n_in, n_lo, cut)
    hi = _magnims_level(r_hi, n_hi, cut)
    known = lo == hi
    level = np.where(known, np.array(MAGNIMS_LEVELS, dtype=object)[lo], "unknown")
    count_name = "new T2" if o.magnims_count == "new_only" else "new/enlarging T2"
    summary = ("relapses " + f["n_in"].astype(str).to_numpy(dtype=object)
               + np.where(f["uncertain"].to_numpy(bool), "+?", "") + f", {count_name} "
               + _int_txt(new))
    reason = summary.copy()
    if (~known).any():
        why = _join([_relapse_why(f, d), np.where(np.isnan(new), _mri_why(f, count_name), "")])
        reason = np.where(~known, summary + ": " + why, reason)
    out = pd.DataFrame({**_year_output(f, d), "magnims_level": level,
                        "magnims_score": pd.array(np.where(known, lo, np.nan), dtype="Int64"),
                        "reason": reason})
    if o.magnims_count != "new_only":
        out["new_t2"] = pd.array(new, dtype="Int64")
    out = out.sort_values(["subject", "epoch", "year"], kind="stable").reset_index(drop=True)
    out = with_provenance(out, provenance(o.rule_set, o, NEDA_SOURCE))
    return out[list(MAGNIMS_COLUMNS)]
