"""NEDA-3, NEDA-4, MEDA and the MAGNIMS score (rules sections 4.0-4.5, 9, 2.7.2).

* :func:`neda_status` - "no evidence of disease activity" per patient, per DMT epoch, for each
  per-year window and cumulatively: NEDA-3 (Havrdova et al., Lancet Neurol 2009: no relapse, no
  confirmed disability worsening, no MRI activity) and NEDA-4 (Kappos et al., Mult Scler 2016:
  NEDA-3 plus annualised brain volume loss below 0.4 %/year).
* :func:`cohort_neda_proportion` - the proportion with NEDA among assessable patients, always
  with the number not assessable (rules §4.4; STRIVE convention).
* :func:`meda_status` - minimal evident disease activity (Prosperini et al., JNNP 2020).
* :func:`magnims_score` - the MAGNIMS score (Sormani et al., Neurology 2016), levels
  low / medium / high with the later 0 / 1 / 2 numbering (Sormani 2021; Kunchok 2021).
* :func:`mri_rebaseline_scan` - the on-treatment MRI re-baseline scan (rules §4.1, 4.3).

Every component is three-valued (rules §0.2): ``True`` = no activity, ``False`` = activity,
``<NA>`` = unknown; missing data never give ``True``, any evidence of activity gives ``False``
even when other data are missing. Each ``False`` or unknown component carries a reason in
plain words. The disability component is the disease-course engine's scan with a fixed
reference (the kernel's fixed-reference mode, :func:`neda.course._kernel.fixed_reference_runs`:
every window of every patient in one launch), so confirmation follows the engine's pymsprog
1.0.7 inequalities exactly (rules §2.3, 2.6).

Inputs are read once by :mod:`neda.io` (:func:`neda.io.ensure_table`: visits, MRI with the
contrast rule of rules §0.3 already applied) and relapses through relapse hygiene
(:func:`neda.rules.relapses.as_hygiene`, rules §3.1): pseudo-relapses are not relapses, and the
EDSS assessments during their episodes are not used. ``relapses=None`` means relapses were not
recorded: every relapse component is then unknown, never "no relapse".

Day conventions (rules §0.2, 4.0): all differences are whole calendar days; ``S`` is the epoch
start (first dose). Per-year window k is ``[S + 365(k-1), S + 365k)`` - the ``window_end``
column is that exclusive bound, i.e. the first day **after** the window - cut at the end of
the epoch (``partial_window``). MRI scans belong to window k when dated in
``[window_start + 30, window_end + 30)``. Cumulative window k is ``[S, window_end of year k)``,
cut at the last clinical contact (rules §4.4): a component is True there only when it is True in
every year the window covers.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from neda.course import CourseOptions
from neda.course.scan import fixed_reference_runs, fixed_reference_runs_serial
from neda.io import ensure_table
from neda.options import Options, option
from neda.rules.relapses import RelapseHygiene, RelapseOptions, as_hygiene

from ._windows import ScanWindows
from .common import (
    Tri,
    bare,
    column,
    column_numpy,
    frame_of,
    per_options,
    provenance,
    rule_set_name,
    tri_all,
)
from .common import day_dates as _dates
from .common import day_key as _key
from .common import day_numbers as _days
from .common import subject_codes as _codes

#: Havrdova 2009 (AFFIRM) disability worsening: +1.5 from EDSS 0, +1.0 from any other value.
HAVRDOVA2009_THRESHOLDS: tuple[tuple[float, float], ...] = ((0.0, 1.5), (10.0, 1.0))

#: Used for ``clinical_from = "onset_delay"`` when the epochs table has no ``onset`` column
#: (``dmt.onset_delay_days`` default, rules §8.3).
DEFAULT_ONSET_DELAY_DAYS = 183

#: Person-year length used to annualise brain volume change (rules §0.2, 4.2).
YEAR_DAYS = 365.25

NEDA_SOURCE = ("neda rules (docs/rules.md) sections 0.2, 0.3, 2.7.2, 3.1, 4.0-4.5, 9 (Havrdova "
               "2009; Kappos 2016; Prosperini 2020; Sormani 2016)")

#: Reason of every relapse component (and MEDA / MAGNIMS relapse count) without relapse data.
NOT_RECORDED = "relapses were not recorded"

#: Columns of :func:`neda_status`, in order.
NEDA_COLUMNS = {
    "subject": "Subject identifier.",
    "epoch": "Epoch number (treatment epochs table).",
    "drug": "DMT of the epoch.",
    "epoch_start": "First dose S (rules §4.0).",
    "epoch_end": "Last day of the epoch (inclusive); NaT = ongoing.",
    "window_type": "per_year (window k alone) or cumulative (from S to the end of year k).",
    "window": "k = 1, 2, ...",
    "window_start": "First day of the window (S for cumulative windows).",
    "window_end": "First day after the window (exclusive end: S + 365k, or the day after the "
                  "epoch end when the window is cut; a cumulative window ends at the last "
                  "clinical contact at the latest, rules §4.4).",
    "partial_window": "The window is shorter than k years: cut at the end of the epoch (rules "
                      "4.0) or, for a cumulative window, at the last clinical contact (4.4).",
    "clinical_start": "First day from which relapses and disability worsening count "
                      "(window start, or later under neda.clinical_from).",
    "mri_window_start": "First day of the MRI window (window start + mri_grace_days).",
    "mri_window_end": "First day after the MRI window (window end + mri_grace_days).",
    "rebaseline_scan_date": "MRI re-baseline scan of the epoch (rules §4.1); NaT = none.",
    "edss_reference_date": "Fixed EDSS reference of the disability run (rules §4.1); NaT = none.",
    "n_relapses": "Relapses with their whole onset interval in the clinical window; <NA> when "
                  "relapses were not recorded.",
    "relapse": "No relapse (True), relapse (False), unknown (<NA>).",
    "relapse_reason": "Why relapse is False or unknown.",
    "cdw_onset_date": "Onset of the confirmed disability worsening in the window, if any.",
    "disability": "No confirmed disability worsening (True), worsening (False), unknown.",
    "disability_reason": "Why disability is False or unknown.",
    "n_scans_counted": "Scans whose lesion counts entered the MRI component.",
    "mri": "No MRI activity (True), activity (False), unknown (<NA>).",
    "mri_reason": "Why mri is False or unknown.",
    "bvl_pairs": "Eligible brain-volume scan pairs (rules §4.2).",
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
    "n_not_assessable": "Patients with an unknown status (always reported, rules §4.4).",
    "proportion": "n_neda / n_assessable (NaN when nobody is assessable).",
}

_YEAR_COMMON = {
    "subject": "Subject identifier.",
    "epoch": "Epoch number.",
    "drug": "DMT of the epoch.",
    "epoch_start": "Treatment start S.",
    "year": "1 or 2 (rules §4.5).",
    "window_start": "S + 365(year-1): first day of the relapse window.",
    "window_end": "First day after the relapse window (exclusive; cut at the epoch end).",
    "partial_window": "The relapse window was cut at the end of the epoch.",
    "reference_scan_date": "Year 1: pre-treatment reference scan, latest in [S-183, S+30]; "
                           "year 2: the year-1 scan.",
    "followup_scan_date": "Year-1 scan (closest to S+365 in [S+274, S+457]) or year-2 scan "
                          "(closest to S+730 in [S+639, S+822]); ties -> the earlier.",
    "n_relapses": "Relapses with their whole onset interval in the window (<NA> when relapses "
                  "were not recorded).",
    "relapses_uncertain": "An imprecise relapse lies partly in the window, relapse follow-up "
                          "does not cover it, or relapses were not recorded (the count is a "
                          "lower bound).",
    "new_t2": "New T2 lesions on the follow-up scan vs the reference scan (summed along the "
              "chain of comparator scans); <NA> = unknown.",
}

#: Columns of :func:`meda_status`.
MEDA_COLUMNS = {
    **_YEAR_COMMON,
    "cel": "Contrast-enhancing lesions on the follow-up scan; <NA> = unknown / no contrast.",
    "category": "MEDA, no_evident_activity, evident_activity or unknown (rules §4.5).",
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
class NedaOptions(Options):
    """Options of NEDA-3/4, MEDA and the MAGNIMS score (rules section 10, keys ``neda.*``,
    ``meda.*``, ``scores.*`` used by 4.5, ``mri.count_spinal_cord``). Defaults are the rules'.

    Windows (rules §4.0):

    window_days : ``neda.window_days`` = 365 - per-year window length [C].
    mri_grace_days : ``neda.mri_grace_days`` = 30 - a "12-month" scan done up to 29 days late
        still belongs to year 1 [C].
    clinical_from : ``neda.clinical_from`` = ``"epoch_start"`` - relapses and disability
        worsening count from S; ``"onset_delay"``: from the epoch's ``onset`` (S +
        ``dmt.onset_delay_days``); ``"rebaseline"``: from the MRI re-baseline scan (S + 183
        without one), as many real-world studies do. The disability reference time moves with
        it (rules §4.3) [C].

    MRI (rules §4.1, 4.3, 9):

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

    Disability (rules §4.1):

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

    Brain volume (rules §4.2; Kappos et al., Mult Scler 2016; De Stefano 2016):

    bvl_activity_threshold_pct : ``neda.bvl_activity_threshold_pct`` = 0.4 (% per year).
    bvl_boundary : ``neda.bvl_boundary`` = ``"activity_at_threshold"`` - a loss of exactly
        0.4 %/year is activity (Kappos 2016: NEDA needs < 0.4 %); ``"neda_at_threshold"``: it
        is NEDA (Guevara 2019; MS-MRIUS 2018 restatements).
    bvl_min_interval_days : ``neda.bvl_min_interval_days`` = 168 - minimum scan interval of a
        brain-volume pair [C].

    MEDA and MAGNIMS score (rules §4.5):

    meda_include_zero_new_t2 : ``meda.include_zero_new_t2`` = False - 0 new T2 lesions is "no
        evident activity", not MEDA (Prosperini et al., JNNP 2020); True merges it into MEDA
        (= low MAGNIMS score without CEL).
    scan_windows : :class:`~neda.rules._windows.ScanWindows` - the pre-treatment reference,
        year-1 and year-2 scans (keys ``scores.baseline_scan_*`` = -183, 30;
        ``scores.year1_scan_*`` = 365, 274, 457; ``scores.year2_scan_*`` = 730, 639, 822),
        shared with the Rio scores [C].
    magnims_new_t2_cutoff : ``scores.magnims_new_t2_cutoff`` = 3 (Sormani 2016) [M].
    magnims_count : ``scores.magnims_count`` = ``"new_only"`` (Sormani 2016 counts new T2
        lesions) [M]; ``"new_or_enlarging"``.

    name : rule-set name stored with results; default ``"spec_defaults"`` when every value is
        the default, else ``"custom"``.
    """

    window_days: int = option(365, whole=True, ge=1, key="neda.window_days")
    mri_grace_days: int = option(30, whole=True, ge=0, key="neda.mri_grace_days")
    clinical_from: str = option("epoch_start", choices=("epoch_start", "onset_delay",
                                                         "rebaseline"),
                                key="neda.clinical_from")
    mri_from: str = option("rebaseline_scan", choices=("rebaseline_scan", "epoch_start"),
                           key="neda.mri_from")
    mri_rebaseline_target_days: int = option(183, whole=True,
                                             key="neda.mri_rebaseline_target_days")
    mri_rebaseline_min_days: int = option(91, whole=True, key="neda.mri_rebaseline_min_days")
    mri_rebaseline_max_days: int = option(274, whole=True, key="neda.mri_rebaseline_max_days")
    mri_requires_gd: bool = option(True, key="neda.mri_requires_gd")
    count_spinal_cord: bool = option(True, key="mri.count_spinal_cord")
    edss_thresholds: str = "three_strata"
    cdw_confirm_days: int = option(84, whole=True, ge=1, key="neda.cdw_confirm_days")
    per_window_reference: str = option("window_start", choices=("window_start", "epoch_start"),
                                       key="neda.per_window_reference")
    edss_reference_lookback_days: int = option(183, whole=True, ge=0,
                                               key="neda.edss_reference_lookback_days")
    edss_reference_lookahead_days: int = option(91, whole=True, ge=0,
                                                key="neda.edss_reference_lookahead_days")
    edss_end_window_days: int = option(91, whole=True, ge=0, key="neda.edss_end_window_days")
    bvl_activity_threshold_pct: float = option(0.4, ge=0, key="neda.bvl_activity_threshold_pct")
    bvl_boundary: str = option("activity_at_threshold",
                               choices=("activity_at_threshold", "neda_at_threshold"),
                               key="neda.bvl_boundary")
    bvl_min_interval_days: int = option(168, whole=True, ge=0, key="neda.bvl_min_interval_days")
    meda_include_zero_new_t2: bool = option(False, key="meda.include_zero_new_t2")
    scan_windows: ScanWindows = field(default_factory=ScanWindows)
    magnims_new_t2_cutoff: int = option(3, whole=True, ge=0, key="scores.magnims_new_t2_cutoff")
    magnims_count: str = option("new_only", choices=("new_only", "new_or_enlarging"),
                                key="scores.magnims_count")
    name: str | None = None

    @property
    def rule_set(self) -> str:
        return rule_set_name(self)

    def _check_together(self) -> list[str]:
        problems = []
        if not (self.mri_rebaseline_min_days <= self.mri_rebaseline_target_days
                <= self.mri_rebaseline_max_days):
            problems.append("mri_rebaseline_min_days <= target <= max_days is required")
        if not isinstance(self.scan_windows, ScanWindows):
            problems.append("scan_windows must be a neda.rules._windows.ScanWindows, got "
                            f"{type(self.scan_windows).__name__}")
        try:
            self.course_options()  # rejects an unknown threshold table
        except ValueError as exc:
            problems.append(str(exc))
        return problems

    def course_options(self) -> CourseOptions:
        """The course-engine options of the NEDA disability component (rules §4.1): fixed
        reference, first CDW, 84-day confirmation with tolerance (0, inf), relapse distances
        30 / 0 / 30, no re-baselining, no RAW/PIRA attribution."""
        return _disability_engine(self)


@per_options(maxsize=64)
def _disability_engine(o: NedaOptions) -> CourseOptions:
    """:meth:`NedaOptions.course_options`, made once per options object (both frozen)."""
    thresholds: Any = (HAVRDOVA2009_THRESHOLDS if o.edss_thresholds == "havrdova2009"
                       else o.edss_thresholds)
    return CourseOptions.from_preset(
        "mueller2023", baseline="fixed", event="firstCDW", edss_thresholds=thresholds,
        conf_days=(o.cdw_confirm_days,), conf_tol_days=(0, math.inf),
        relapse_to_bl=(30, 0), relapse_to_event=(0, 0), relapse_to_conf=(30, 0),
        relapse_rebl=False, bl_geq=False, attribution=False,
    )


# =============================================================================================
# input preparation

_E0 = np.datetime64("1970-01-01", "D")

# three-valued codes: False < unknown < True, so a three-valued AND is a minimum
_F, _U, _T = np.int8(0), np.int8(1), np.int8(2)


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


def _filled(n: int, text: str) -> np.ndarray:
    """An object array of ``n`` references to one text (``np.full`` would copy the text into
    every element)."""
    out = np.empty(n, dtype=object)
    out.fill(text)
    return out


def _iso(days: np.ndarray) -> np.ndarray:
    """ISO date strings (object array); '' for missing. Formats each distinct day once."""
    arr = np.asarray(days, dtype=float)
    ok = np.isfinite(arr)
    if len(arr) <= 64 and ok.all():  # a few dates (one patient's), none missing: each formatted
        return np.datetime_as_string(arr.astype(np.int64).astype("datetime64[D]"),
                                     unit="D").astype(object)
    out = _filled(len(arr), "")
    if not ok.any():
        return out
    v = arr[ok].astype(np.int64)
    lo, hi = int(v.min()), int(v.max())
    if hi - lo < 2 * len(v):  # a table of the days in range when that is fewer strings
        # (one patient's few dates span years: formatted each, not every day between)
        table = np.datetime_as_string(_E0 + np.arange(lo, hi + 1), unit="D").astype(object)
        out[ok] = table[v - lo]
    else:
        out[ok] = np.datetime_as_string(_E0 + v, unit="D").astype(object)
    return out


def _date_columns(*days: np.ndarray) -> list[np.ndarray]:
    """:func:`~neda.rules.common.day_dates` of each array (of one length); a few rows (one
    patient's windows) converted as the rows of one array, one call instead of one each."""
    if len(days) and len(days[0]) <= 4096:
        return list(_dates(np.stack(days).astype(np.float64)))
    return [_dates(x) for x in days]


def _sort_by_key(key: np.ndarray) -> np.ndarray | None:
    """A stable sorting permutation of ``key``, or None when it is already sorted."""
    if len(key) < 2 or bool((key[1:] >= key[:-1]).all()):
        return None
    return np.argsort(key, kind="stable")


def _last_of_equal(key: np.ndarray) -> np.ndarray:
    """Mask keeping the last row of each run of equal keys (sorted input)."""
    keep = np.ones(len(key), bool)
    if len(key) > 1:
        keep[:-1] = key[1:] != key[:-1]
    return keep


def _in_ranges(vkey: np.ndarray, sid: np.ndarray, lo: np.ndarray, hi: np.ndarray
               ) -> np.ndarray:
    """Mask of the sorted keys ``vkey`` lying in any of the day ranges [lo, hi) of subject
    ``sid`` (difference array over the sorted keys; ranges may overlap)."""
    n = len(vkey)
    if not n or not len(sid):
        return np.zeros(n, bool)
    i0 = np.searchsorted(vkey, _key(sid, lo), side="left")
    i1 = np.searchsorted(vkey, _key(sid, hi), side="left")
    ok = i1 > i0
    diff = (np.bincount(i0[ok], minlength=n + 1) - np.bincount(i1[ok], minlength=n + 1))
    return np.cumsum(diff[:n]) > 0


def _group_bounds(sid: np.ndarray, n_subj: int) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of each subject code in an array sorted by subject code."""
    codes = np.arange(n_subj)
    return (np.searchsorted(sid, codes, side="left").astype(np.int64),
            np.searchsorted(sid, codes, side="right").astype(np.int64))


def _column(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    # (the stored values, without building a Series: see neda.rules.common.column)
    v = column(frame, col)
    if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
        return np.asarray(v, dtype=np.float64)
    return np.asarray(pd.Series(v, copy=False).to_numpy(dtype=np.float64, na_value=np.nan))


def _flag_is(frame: pd.DataFrame, col: str, value: bool) -> np.ndarray:
    """Rows where the (validated, three-valued) flag ``col`` is ``value``; unknown is neither."""
    if col not in frame.columns:
        return np.zeros(len(frame), bool)
    v = column(frame, col)
    if isinstance(v, pd.arrays.BooleanArray):  # a validated flag: its values and mask
        return np.asarray(v.to_numpy(dtype=bool, na_value=not value) == value)
    f = pd.Series(v, copy=False).astype("boolean")
    return np.asarray(f.fillna(not value).to_numpy(dtype=bool) == value)


@dataclass
class _Scans:
    """Validated MRI scans (rules §9), sorted by subject code and day, one per day."""

    sid: np.ndarray
    day: np.ndarray
    comp: np.ndarray
    new: np.ndarray
    enl: np.ndarray
    gd: np.ndarray
    pbvc: np.ndarray
    protocol_change: np.ndarray
    key: np.ndarray

    @property
    def t2_active(self) -> np.ndarray:
        return np.asarray((self.new >= 1) | (self.enl >= 1))

    @property
    def t2_clean(self) -> np.ndarray:
        return np.asarray((self.new == 0) & (self.enl == 0))

    def __len__(self) -> int:
        return len(self.sid)


@dataclass
class _Data:
    """Inputs as integer subject codes (``sid``) and day numbers."""

    subjects: pd.Index
    ep_sid: np.ndarray        # epochs sorted by subject code and start
    ep_epoch: np.ndarray
    ep_drug: np.ndarray | None
    ep_S: np.ndarray
    ep_E: np.ndarray          # last day (inclusive); NaN = open
    ep_onset: np.ndarray
    v_sid: np.ndarray         # EDSS assessments (pseudo-relapse episodes left out), sorted
    v_day: np.ndarray
    v_edss: np.ndarray
    v_key: np.ndarray
    v_elig: np.ndarray        # may be a reference / confirmation (rules §2.3 relapse distance)
    r_given: bool             # relapses were recorded (a table, possibly empty)
    r_sid: np.ndarray         # counted relapses, sorted by subject code and a
    r_a: np.ndarray
    r_b: np.ndarray
    r_label: np.ndarray
    r_start: np.ndarray       # per subject code: its relapses are r_start:r_end
    r_end: np.ndarray
    a0: np.ndarray            # relapse ascertainment per subject code (NaN = none)
    a1: np.ndarray
    last_contact: np.ndarray  # follow-up end per subject code (NaN = no data)
    cut: np.ndarray           # last clinical contact per subject code (inf = none)
    scans: _Scans
    relapse_provenance: dict[str, Any] | None
    epochs_provenance: Any


def _prepare(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any,
             o: NedaOptions, relapse_options: RelapseOptions | None) -> _Data:
    ep_given = _pd(epochs)
    if ep_given is None:
        raise ValueError("an epochs table is required (neda.rules.dmt.treatment_epochs)")
    # columns are read without building Series (neda.rules.common.column)
    ep_in = ep_given
    esubj = _subject_col(ep_in, "epochs")
    missing = [c for c in ("start",) if c not in ep_in.columns]
    if missing:
        raise ValueError(f"epochs table lacks {missing} (columns: {list(ep_in.columns)})")
    ep_subject = column_numpy(ep_in, esubj)
    one = isinstance(ep_subject, np.ndarray) and len(ep_subject) and bool(
        (ep_subject == ep_subject[0]).all())  # one patient's epochs: no hash table
    subjects = pd.Index(ep_subject[:1] if one else pd.unique(ep_subject))
    n_subj = len(subjects)
    sid = (np.zeros(len(ep_subject), np.int64) if n_subj == 1  # one patient's epochs
           else np.asarray(subjects.get_indexer(ep_subject), np.int64))
    n_ep = len(ep_in)
    epoch = (column_numpy(ep_in, "epoch") if "epoch" in ep_in.columns
             else bare(ep_in).groupby(esubj, sort=False).cumcount().to_numpy() + 1)
    drug = (np.asarray(column_numpy(ep_in, "drug"), dtype=object) if "drug" in ep_in.columns
            else None)
    S = _days(column_numpy(ep_in, "start"))
    E = _days(column_numpy(ep_in, "end")) if "end" in ep_in.columns else np.full(n_ep, np.nan)
    onset = (_days(column_numpy(ep_in, "onset")) if "onset" in ep_in.columns
             else np.full(n_ep, np.nan))
    if np.isnan(S).any():
        raise ValueError("epochs table: every epoch needs a start date")
    if n_ep > 1:  # (one epoch: in order)
        order = np.lexsort((S, sid))
        sid, epoch, S, E, onset = sid[order], epoch[order], S[order], E[order], onset[order]
        if drug is not None:
            drug = drug[order]

    # ---- relapses: relapse hygiene is the one relapse table (rules §3.1) ----
    hyg: RelapseHygiene | None = as_hygiene(relapses, options=relapse_options)
    if hyg is not None:
        od = hyg.onset_arrays()
        rsid = _codes(subjects, od["subject"])
        ra, rb, rlab = od["a"], od["b"], od["label"]
        ok = rsid >= 0
        # (unfiltered, these are relapse hygiene's own arrays: read here, never written)
        if not ok.all():  # (one patient's relapses: all of them)
            rsid, ra, rb, rlab = rsid[ok], ra[ok], rb[ok], rlab[ok]
        rorder = _sort_by_key(_key(rsid, ra))
        if rorder is not None:
            rsid, ra, rb, rlab = rsid[rorder], ra[rorder], rb[rorder], rlab[rorder]
        epi = hyg.episode_arrays()
        e0, e1 = epi["e0"], epi["e1"]
        esid = _codes(subjects, epi["subject"]) if len(e0) else np.zeros(0, np.int64)
        eok = esid >= 0
        if not eok.all():
            e0, e1, esid = e0[eok], e1[eok], esid[eok]
    else:
        rsid = np.zeros(0, np.int64)
        ra = rb = e0 = e1 = np.zeros(0)
        rlab = np.zeros(0, object)
        esid = np.zeros(0, np.int64)
    r_start, r_end = _group_bounds(rsid, n_subj)

    # ---- visits: clinical contacts and EDSS assessments ----
    a0 = np.full(n_subj, np.nan)
    a1 = np.full(n_subj, np.nan)
    v_sid = np.zeros(0, np.int64)
    v_day = v_edss = np.zeros(0)
    if visits is not None and not _no_rows(visits):
        vis = ensure_table(visits, "visits")
        vsid = _codes(subjects, column_numpy(vis, "subject"))
        vday = _days(column_numpy(vis, "date"))
        vedss = _column(vis, "edss")
        ok = (vsid >= 0) & ~np.isnan(vday)
        if not ok.all():  # (one patient's dated visits: all of them)
            vsid, vday, vedss = vsid[ok], vday[ok], vedss[ok]
        vorder = _sort_by_key(_key(vsid, vday))
        if vorder is not None:
            vsid, vday, vedss = vsid[vorder], vday[vorder], vedss[vorder]
        if len(vsid):
            # relapse ascertainment default: first to last clinical contact (rules §2.7.2)
            first = np.ones(len(vsid), bool)
            first[1:] = vsid[1:] != vsid[:-1]
            last = np.ones(len(vsid), bool)
            last[:-1] = vsid[1:] != vsid[:-1]
            a0[vsid[first]] = vday[first]
            a1[vsid[last]] = vday[last]
        has = ~np.isnan(vedss)
        v_sid, v_day, v_edss = vsid[has], vday[has], vedss[has]
    v_key = _key(v_sid, v_day)
    keep = _last_of_equal(v_key)
    # assessments during a pseudo-relapse episode are not used (rules §3.1; engine rule)
    keep &= ~_in_ranges(v_key, esid, e0, e1 + 1)
    if not keep.all():
        v_sid, v_day, v_edss, v_key = v_sid[keep], v_day[keep], v_edss[keep], v_key[keep]
    # eligible as reference / confirmation: not within 30 days after a relapse onset
    # (relapse_to_bl = relapse_to_conf = 30; the engine's distance rule for intervals)
    copts = o.course_options()
    gap = float(copts.relapse_to_bl[0])
    v_elig = ~_in_ranges(v_key, rsid, ra, rb + gap)
    last_visit = a1.copy()

    # ---- ascertainment table overrides the default (rules §2.7.2) ----
    if ascertainment is not None and not _no_rows(ascertainment):
        asc = ensure_table(ascertainment, "followup")
        if len(asc):
            idx = _codes(subjects, column_numpy(asc, "subject"))
            s0 = _days(column_numpy(asc, "start"))
            s1 = (_days(column_numpy(asc, "end")) if "end" in asc.columns
                  else np.full(len(asc), np.nan))
            s1 = np.where(np.isnan(s1), np.inf, s1)  # blank end: ongoing
            okk = idx >= 0
            lo = np.full(n_subj, np.inf)
            hi = np.full(n_subj, -np.inf)
            np.minimum.at(lo, idx[okk], s0[okk])
            np.maximum.at(hi, idx[okk], s1[okk])
            listed = np.isfinite(lo)
            a0[listed] = lo[listed]
            a1[listed] = hi[listed]

    scans = _prepare_scans(mri, subjects, o)

    # follow-up end: last clinical contact, relapse, or MRI scan (minus the grace period)
    last_contact = np.where(np.isfinite(a1), a1, -np.inf)
    if len(rsid):
        lr = np.full(n_subj, -np.inf)
        np.maximum.at(lr, rsid, rb)
        last_contact = np.maximum(last_contact, lr)
    if len(scans):
        ls = np.full(n_subj, -np.inf)
        lastscan = _last_of_equal(scans.sid)
        ls[scans.sid[lastscan]] = scans.day[lastscan] - o.mri_grace_days
        last_contact = np.maximum(last_contact, ls)
    last_contact = np.where(np.isneginf(last_contact), np.nan, last_contact)
    # a cumulative window never ends after the last clinical contact (rules §4.4)
    cut = np.where(np.isfinite(last_visit), last_visit,
                   np.where(np.isfinite(last_contact), last_contact, np.inf))
    return _Data(subjects, sid, epoch, drug, S, E, onset, v_sid, v_day, v_edss, v_key, v_elig,
                 hyg is not None, rsid, ra, rb, rlab, r_start, r_end, a0, a1, last_contact, cut,
                 scans, hyg.provenance if hyg is not None else None,
                 ep_given.attrs.get("provenance"))


def _no_rows(frame: Any) -> bool:
    """An in-memory table without rows (whatever its columns): nothing to read."""
    if isinstance(frame, pd.DataFrame):
        return len(frame) == 0
    return bool(getattr(frame, "height", None) == 0)


def _prepare_scans(mri: Any, subjects: pd.Index, o: NedaOptions) -> _Scans:
    if mri is None or _no_rows(mri):
        z = np.zeros(0)
        return _Scans(np.zeros(0, np.int64), z, z, z, z, z, z, np.zeros(0, bool),
                      np.zeros(0, np.int64))
    m = ensure_table(mri, "mri")  # the contrast rule is applied here (rules §0.3, 9)
    sid = _codes(subjects, column_numpy(m, "subject"))
    day = _days(column_numpy(m, "date"))
    comp = (_days(column_numpy(m, "comparator_date")) if "comparator_date" in m.columns
            else np.full(len(m), np.nan))
    # (cord scans matter only when their lesions do not count: read then)
    cord = _flag_is(m, "spinal_cord", True) if not o.count_spinal_cord else None

    def count(col: str) -> np.ndarray:
        x = _column(m, col)
        if cord is not None:
            x = np.where(cord, _column(m, f"{col}_brain"), x)
        return x

    new = count("new_t2")
    # without an enlarging_t2 column, new_t2 is read as "new or enlarging" (rules §9)
    enl = count("enlarging_t2") if "enlarging_t2" in m.columns else np.zeros(len(m))
    gd = count("gd")
    pbvc = _column(m, "pbvc")
    protocol_change = _flag_is(m, "same_protocol", False)
    ok = (sid >= 0) & ~np.isnan(day)
    # (the arrays may be the table's own columns: read, never written)
    arrays = [sid, day, comp, new, enl, gd, pbvc, protocol_change]
    if not ok.all():  # (one patient's dated scans: all of them)
        arrays = [a[ok] for a in arrays]
    key = _key(arrays[0], arrays[1])
    order = _sort_by_key(key)
    if order is not None:
        arrays = [a[order] for a in arrays]
        key = key[order]
    keep = _last_of_equal(key)
    if not keep.all():
        arrays = [a[keep] for a in arrays]
        key = key[keep]
    s_sid, s_day, s_comp, s_new, s_enl, s_gd, s_pbvc, s_pc = arrays
    return _Scans(s_sid, s_day, s_comp, s_new, s_enl, s_gd, s_pbvc, s_pc.astype(bool), key)


# =============================================================================================
# compiled helpers: one pass over all windows (no per-window pandas)


@njit(cache=True)
def _relapse_window_counts(r_lo, r_hi, ra, rb, w0, w1):
    """Per window [w0, w1): relapses whose onset interval [a, b] lies inside, and imprecise
    ones lying partly inside, with the first of each (relapses sorted by a per subject;
    window w's subject owns relapses r_lo[w]:r_hi[w])."""
    n = w0.shape[0]
    n_in = np.zeros(n, np.int64)
    first_in = np.full(n, -1, np.int64)
    n_part = np.zeros(n, np.int64)
    first_part = np.full(n, -1, np.int64)
    for w in range(n):
        lo = w0[w]
        hi = w1[w]
        for j in range(r_lo[w], r_hi[w]):
            a = ra[j]
            if a >= hi:
                break
            b = rb[j]
            if b < lo:
                continue
            if a >= lo and b < hi:
                if n_in[w] == 0:
                    first_in[w] = j
                n_in[w] += 1
            else:
                if n_part[w] == 0:
                    first_part[w] = j
                n_part[w] += 1
    return n_in, first_in, n_part, first_part


@njit(cache=True)
def _mri_window_stats(s_lo, s_hi, sday, scomp, t2_active, t2_clean, gd, pbvc, protocol_change,
                      B, S, k, rebaseline_mode, max_days, req_gd, min_interval):
    """Per window: the scans of its MRI window (s_lo[w]:s_hi[w]) classified as in rules §4.1
    (counted, active, clean, skipped) and the brain-volume pairs of rules §4.2."""
    n = s_lo.shape[0]
    n_active = np.zeros(n, np.int64)
    n_counted = np.zeros(n, np.int64)
    n_clean = np.zeros(n, np.int64)
    i_act = np.full(n, -1, np.int64)
    act_gd = np.zeros(n, np.bool_)
    act_t2 = np.zeros(n, np.bool_)
    i_unclean = np.full(n, -1, np.int64)
    i_skip = np.full(n, -1, np.int64)
    n_pairs = np.zeros(n, np.int64)
    s_pbvc = np.zeros(n)
    s_dt = np.zeros(n)
    for w in range(n):
        has_b = not np.isnan(B[w])
        c_pbvc = 0.0
        for j in range(s_lo[w], s_hi[w]):
            day = sday[j]
            comp = scomp[j]
            comp_ok = not np.isnan(comp)
            if rebaseline_mode:
                if has_b:
                    anchor = B[w]
                    usable = day > B[w]
                else:
                    anchor = S[w] + max_days
                    usable = k[w] >= 2
                counted = usable and comp_ok and comp >= anchor
            else:
                usable = day > S[w]
                counted = usable and comp_ok
            g_act = usable and gd[j] >= 1
            t_act = counted and t2_active[j]
            active = g_act or t_act
            clean = counted and t2_clean[j] and (gd[j] == 0 or not req_gd)
            if active:
                if n_active[w] == 0:
                    i_act[w] = j
                    act_gd[w] = g_act
                    act_t2[w] = t_act
                n_active[w] += 1
            elif counted and not clean and i_unclean[w] == -1:
                i_unclean[w] = j
            elif usable and not counted and i_skip[w] == -1:
                i_skip[w] = j
            if counted:
                n_counted[w] += 1
            if clean:
                n_clean[w] += 1
            # brain-volume pair (the later scan is this one)
            if comp_ok and not np.isnan(pbvc[j]) and not protocol_change[j]:
                earlier_ok = True
                if rebaseline_mode and has_b:
                    earlier_ok = comp >= B[w]
                elif rebaseline_mode:
                    earlier_ok = k[w] >= 2 and comp >= S[w] + max_days
                if earlier_ok and day - comp >= min_interval:
                    n_pairs[w] += 1
                    # compensated (Kahan) sums, as pandas' groupby sums
                    y = pbvc[j] - c_pbvc
                    t = s_pbvc[w] + y
                    c_pbvc = (t - s_pbvc[w]) - y
                    s_pbvc[w] = t
                    s_dt[w] += day - comp
    return (n_active, n_counted, n_clean, i_act, act_gd, act_t2, i_unclean, i_skip, n_pairs,
            s_pbvc, s_dt)


@njit(cache=True)
def _local_search(start, end, day, x, right):
    """``np.searchsorted(day[start:end], x, side)`` per query, as a global index: the first
    position in [start, end) whose day is >= x (``right``: > x). Each query searches only its
    subject's rows (``day`` sorted within them)."""
    n = x.shape[0]
    out = np.empty(n, np.int64)
    for q in range(n):
        lo = start[q]
        hi = end[q]
        v = x[q]
        while lo < hi:
            mid = (lo + hi) >> 1
            if day[mid] < v or (right and day[mid] == v):
                lo = mid + 1
            else:
                hi = mid
        out[q] = lo
    return out


@njit(cache=True)
def _any_within(start, end, day, lo, hi):
    """Per query: does its subject have a row (start:end, sorted by day) dated in [lo, hi]?"""
    n = lo.shape[0]
    out = np.zeros(n, np.bool_)
    for q in range(n):
        a = start[q]
        b = end[q]
        v = lo[q]
        while a < b:
            mid = (a + b) >> 1
            if day[mid] < v:
                a = mid + 1
            else:
                b = mid
        out[q] = a < end[q] and day[a] <= hi[q]
    return out


@njit(cache=True)
def _segment_cumsum(x, seg_off):
    """Running sums of ``x`` restarting at each segment start ``seg_off`` (compensated, as
    pandas' groupby cumsum)."""
    out = np.empty(x.shape[0])
    n_seg = seg_off.shape[0]
    for s in range(n_seg):
        end = seg_off[s + 1] if s + 1 < n_seg else x.shape[0]
        acc = 0.0
        c = 0.0
        for i in range(seg_off[s], end):
            y = x[i] - c
            t = acc + y
            c = (t - acc) - y
            acc = t
            out[i] = acc
    return out


# =============================================================================================
# MRI re-baseline scan (rules §4.1)


def _closest_scan(scans: _Scans, sid: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  target: np.ndarray | None) -> np.ndarray:
    """Per row: the day of subject ``sid``'s scan in [lo, hi] closest to ``target`` (tie: the
    earlier), or the latest when ``target`` is None. NaN = none."""
    out = np.full(len(sid), np.nan)
    if not len(scans) or not len(sid):
        return out
    with np.errstate(invalid="ignore"):
        i0 = np.searchsorted(scans.key, _key(sid, np.ceil(lo)), side="left")
        i1 = np.searchsorted(scans.key, _key(sid, np.floor(hi)), side="right")
    has = (i1 > i0) & (lo <= hi)
    if target is None:
        pick = i1 - 1
    else:
        it = np.searchsorted(scans.key, _key(sid, target), side="left")
        after = np.clip(it, i0, np.maximum(i1 - 1, i0))
        before = np.clip(it - 1, i0, np.maximum(i1 - 1, i0))
        nmax = max(len(scans) - 1, 0)
        d_after = np.abs(scans.day[np.minimum(after, nmax)] - target)
        d_before = np.abs(scans.day[np.minimum(before, nmax)] - target)
        pick = np.where(d_before <= d_after, before, after)
    out[has] = scans.day[np.minimum(pick[has], len(scans) - 1)]
    return out


def _rebaseline(d: _Data, o: NedaOptions) -> np.ndarray:
    """Re-baseline scan day per epoch (NaN = none): closest to S + target within
    [S + min, S + max] (and not after the epoch end); tie -> the earlier."""
    S = d.ep_S
    hi = np.fmin(S + o.mri_rebaseline_max_days, d.ep_E)
    return _closest_scan(d.scans, d.ep_sid, S + o.mri_rebaseline_min_days, hi,
                         S + o.mri_rebaseline_target_days)


def mri_rebaseline_scan(mri: Any, epochs: Any, options: NedaOptions | None = None
                        ) -> pd.DataFrame:
    """The MRI re-baseline scan of each treatment epoch (rules §4.1, 4.3).

    B = the scan closest to S + 183 among scans dated in [S + 91, S + 274] (the earlier on a
    tie), not after the epoch's last day. Later scans are compared with it; new lesions on B
    itself are not on-treatment activity. Sources: CMSC 2016 ("a new baseline approximately 6
    months after switching DMT") [V]; MAGNIMS 2015 and ECTRIMS/EAN 2018 (re-baseline within 3-6
    months) [M]; the 91-274-day window is the platform's [C].

    Returns one row per epoch: ``subject``, ``epoch``, ``epoch_start``,
    ``rebaseline_scan_date`` (NaT = no scan in the window), ``days_after_start``.
    """
    o = (options or NedaOptions()).validated()
    d = _prepare(None, None, mri, epochs, None, o, None)
    b = _rebaseline(d, o)
    out = pd.DataFrame({
        "subject": np.asarray(d.subjects, dtype=object)[d.ep_sid],
        "epoch": d.ep_epoch,
        "epoch_start": _dates(d.ep_S),
        "rebaseline_scan_date": _dates(b),
        "days_after_start": pd.array(np.where(np.isnan(b), np.nan, b - d.ep_S),
                                     dtype="Int64"),
    })
    return _finish(out, provenance(o.rule_set, o, NEDA_SOURCE))


def _finish(frame: pd.DataFrame, record: dict[str, Any]) -> pd.DataFrame:
    """The ``rule_set`` column and ``attrs["provenance"]``, set on the frame itself (no copy)."""
    frame["rule_set"] = record["rule_set"]
    frame.attrs["provenance"] = record
    return frame


# =============================================================================================
# windows (rules §4.0, 4.4)


def _clinical_start(d: _Data, o: NedaOptions, b: np.ndarray) -> np.ndarray:
    s = d.ep_S
    if o.clinical_from == "epoch_start":
        return s
    if o.clinical_from == "onset_delay":
        on = d.ep_onset
        return np.where(np.isnan(on), s + DEFAULT_ONSET_DELAY_DAYS, on)
    return np.where(np.isnan(b), s + o.mri_rebaseline_target_days, b)


_PER_YEAR, _CUMULATIVE, _CUT_YEAR = 0, 1, 2
_NO_SLOT = np.iinfo(np.int64).max  # (no slot with that result)


@dataclass
class _Win:
    """Every window, one row each: per epoch ``K`` per-year windows then ``K`` cumulative
    windows (the output rows, in output order), then one hidden "cut year" per epoch whose
    cumulative windows end inside a year (the last clinical contact falls in it).

    The cumulative window k combines its own evaluation over ``[S, end)`` with the
    evaluations of the years it covers (its *slots*): years 1 .. min(k, j_cut), the last one
    replaced by the cut year when there is one (rules §4.4)."""

    ei: np.ndarray
    sid: np.ndarray
    k: np.ndarray
    wtype: np.ndarray
    ws: np.ndarray
    we: np.ndarray
    partial: np.ndarray
    at_contact: np.ndarray    # the window ends at the last clinical contact (rules §4.4)
    contact: np.ndarray       # that contact (day)
    cs: np.ndarray
    mws: np.ndarray
    mwe: np.ndarray
    B: np.ndarray
    C0: np.ndarray
    S: np.ndarray
    n_out: int
    # slots of the cumulative windows
    slot_win: np.ndarray      # window row of each slot, epochs one after the other
    slot_off: np.ndarray      # per epoch: its first slot
    j_cut: np.ndarray         # per epoch: number of slots
    cum_rows: np.ndarray      # the cumulative window rows
    cum_pos: np.ndarray       # their last slot
    cum_span: np.ndarray      # their number of slots
    cum_index: np.ndarray     # per window row: its position in cum_rows (-1: not cumulative)
    slot_shift: np.ndarray    # per slot: 3 x (epochs after its epoch), for running minima
    cum_ei: np.ndarray        # epoch of each cumulative row

    def __len__(self) -> int:
        return len(self.ei)


def _windows(d: _Data, o: NedaOptions, b: np.ndarray, c0: np.ndarray) -> _Win:
    W, g = o.window_days, o.mri_grace_days
    n_ep = len(d.ep_S)
    S = d.ep_S
    e_ex = np.where(np.isnan(d.ep_E), np.inf, d.ep_E + 1)
    last = d.last_contact[d.ep_sid] if n_ep else np.zeros(0)
    lim = np.minimum(e_ex, np.where(np.isnan(last), -np.inf, last + 1))
    with np.errstate(invalid="ignore"):
        K = np.maximum(1, np.ceil((lim - S) / W)).astype(np.int64)
    # cumulative windows end at the last clinical contact at the latest (rules §4.4)
    # (empty when the last contact is on or before the start)
    cut = np.maximum(d.cut[d.ep_sid] if n_ep else np.zeros(0), S)
    we_K = np.minimum(S + W * K, e_ex)
    cut_inside = cut < we_K
    jc = np.where(cut_inside, np.floor((np.where(cut_inside, cut, S + 1) - 1 - S) / W) + 1,
                  K)
    jc = np.clip(jc, 1, K).astype(np.int64)
    hidden = cut_inside & (cut < np.minimum(S + W * jc, e_ex))
    j_cut = np.where(cut_inside, jc, K)

    # output rows: per epoch K per-year windows, then K cumulative windows
    blk = 2 * K
    blk_start = np.cumsum(blk) - blk
    n_out = int(blk.sum())
    ei = np.repeat(np.arange(n_ep), blk)
    within = np.arange(n_out) - blk_start[ei]
    Ke = K[ei]
    is_cum = within >= Ke
    k = within - np.where(is_cum, Ke, 0) + 1
    Se = S[ei]
    we_full = Se + W * k
    we = np.minimum(we_full, e_ex[ei])
    we = np.where(is_cum, np.minimum(we, cut[ei]), we)
    ws = np.where(is_cum, Se, Se + W * (k - 1))
    wtype = is_cum.astype(np.int8)
    # hidden cut years
    he = np.flatnonzero(hidden)
    h_k = jc[he]
    ei_all = np.concatenate([ei, he])
    k_all = np.concatenate([k, h_k])
    ws_all = np.concatenate([ws, S[he] + W * (h_k - 1)])
    we_all = np.concatenate([we, cut[he]])
    partial = np.concatenate([we < we_full, np.ones(len(he), bool)])
    at_contact = np.concatenate([is_cum & (we < np.minimum(we_full, e_ex[ei])),
                                 np.ones(len(he), bool)])
    wtype = np.concatenate([wtype, np.full(len(he), _CUT_YEAR, np.int8)])
    C0 = c0[ei_all]
    cs = np.maximum(ws_all, C0)

    # slots of the cumulative windows (rules §4.4)
    slot_off = np.cumsum(j_cut) - j_cut
    n_slots = int(j_cut.sum())
    slot_e = np.repeat(np.arange(n_ep), j_cut)
    slot_j = np.arange(n_slots) - slot_off[slot_e] + 1
    slot_win = blk_start[slot_e] + slot_j - 1
    if len(he):
        slot_win[slot_off[he] + j_cut[he] - 1] = n_out + np.arange(len(he))
    cum_rows = np.flatnonzero(is_cum)
    ce = ei[cum_rows]
    span = np.minimum(k[cum_rows], j_cut[ce])
    cum_index = np.full(len(ei_all), -1, np.int64)
    cum_index[cum_rows] = np.arange(len(cum_rows))
    # codes 0-2 offset by 3 per later epoch: one running minimum restarts at each epoch
    slot_shift = 3 * (n_ep - 1 - slot_e)
    return _Win(ei_all, d.ep_sid[ei_all], k_all, wtype, ws_all, we_all, partial, at_contact,
                d.cut[d.ep_sid[ei_all]], cs, ws_all + g, we_all + g, b[ei_all], C0, S[ei_all],
                n_out, slot_win, slot_off, j_cut, cum_rows, slot_off[ce] + span - 1, span,
                cum_index, slot_shift.astype(np.int64), ce)


def _combine(win: _Win, code: np.ndarray, direct: bool, neutral: np.ndarray | None = None,
             own_false_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative windows (rules §4.4): True only when every year they cover is True (and their
    own evaluation, when ``direct``), False when any is False, else unknown.

    Returns, for the cumulative rows, the combined codes and the row whose result decides
    them, for the reason: the first year with that result, else the cumulative row itself
    (``own_false_first``: the row itself when it is False); -1 when True. ``neutral`` marks
    years that do not enter (no clinical window in them)."""
    rows = win.cum_rows
    if not len(rows):
        return np.zeros(0, np.int8), np.zeros(0, np.int64)
    sc = code[win.slot_win].astype(np.int64)
    if neutral is not None:
        sc[neutral[win.slot_win]] = _T
    off = win.slot_shift
    prefix = np.minimum.accumulate(sc + off) - off
    pos = np.arange(len(sc))
    first_f = np.minimum.reduceat(np.where(sc == _F, pos, _NO_SLOT), win.slot_off)
    first_u = np.minimum.reduceat(np.where(sc == _U, pos, _NO_SLOT), win.slot_off)
    e = win.cum_ei
    slots = prefix[win.cum_pos]
    own = code[rows].astype(np.int64) if direct else np.full(len(rows), _T, np.int64)
    final = np.minimum(own, slots).astype(np.int8)
    src = np.full(len(rows), -1, np.int64)
    pos_k = win.cum_pos
    ff = first_f[e] if len(e) else np.zeros(0, np.int64)
    fu = first_u[e] if len(e) else np.zeros(0, np.int64)
    f = final == _F
    slot_f = f & (ff <= pos_k)
    if own_false_first:
        slot_f &= own != _F
    u = final == _U
    slot_u = u & (fu <= pos_k)
    src[f | u] = rows[f | u]
    src[slot_f] = win.slot_win[ff[slot_f]]
    src[slot_u] = win.slot_win[fu[slot_u]]
    return final, src


def _nullable(code: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(code == _T), np.asarray(code == _U))


def _join(parts: list[np.ndarray], sep: str = "; ") -> np.ndarray:
    """Join the non-empty texts of each row."""
    arrs = [np.asarray(p, dtype=object) for p in parts]
    has = np.stack([a != "" for a in arrs])
    cnt = has.sum(axis=0)
    out = _filled(len(arrs[0]), "")
    for i, a in enumerate(arrs):
        sel = has[i] & (cnt == 1)
        out[sel] = a[sel]
    multi = np.flatnonzero(cnt > 1)
    if len(multi):
        out[multi] = [sep.join(t for t in (a[j] for a in arrs) if t) for j in multi]
    return out


def _compose(n: int, parts: list[tuple[np.ndarray, Any]], sep: str = "; ") -> np.ndarray:
    """Texts of ``n`` rows from optional parts, in order: each part is (mask, build), where
    ``build(positions)`` makes the part's text for the masked positions only."""
    out = _filled(n, "")
    count = np.zeros(n, np.int64)
    for mask, build in parts:
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        built = build(idx)
        vals = (_filled(len(idx), built) if isinstance(built, str)
                else np.asarray(built, dtype=object))
        first = count[idx] == 0
        out[idx[first]] = vals[first]
        if not first.all():
            later = idx[~first]
            out[later] = [a + sep + b for a, b in zip(out[later], vals[~first], strict=True)]
        count[idx] += 1
    return out


def _small_table(v: np.ndarray) -> tuple[int, int] | None:
    """(lo, hi) when the whole numbers ``v`` span a range small enough for a lookup table."""
    lo, hi = int(v.min()), int(v.max())
    return (lo, hi) if hi - lo <= 2 * len(v) + 4096 else None


def _fmt(x: np.ndarray) -> np.ndarray:
    """EDSS values as text, one decimal ('?' when missing), as ``str(np.round(x, 1))``."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    if len(x) <= 64 and ok.all() and bool((x * 2 == np.round(x * 2)).all()):
        # a few values on the EDSS grid (one patient's), each written (+ 0.0: no "-0.0",
        # as the table below)
        return (np.round(x, 1) + 0.0).astype(str).astype(object)
    out = _filled(len(x), "?")
    if ok.any():
        v = x[ok]
        half = v * 2
        span = _small_table(half) if bool((half == np.round(half)).all()) else None
        if span is not None:  # the EDSS grid: one text per half step
            steps = np.arange(span[0], span[1] + 1)
            table = np.round(steps / 2, 1).astype(str).astype(object)
            out[ok] = table[half.astype(np.int64) - span[0]]
        else:
            uniq, inv = np.unique(np.round(v, 1), return_inverse=True)
            out[ok] = uniq.astype(str).astype(object)[inv]
    return out


def _int_txt(x: np.ndarray) -> np.ndarray:
    """Whole numbers as text ('?' when missing)."""
    x = np.asarray(x, dtype=float)
    out = _filled(len(x), "?")
    ok = np.isfinite(x)
    if ok.any():
        v = x[ok].astype(np.int64)
        span = _small_table(v)
        if span is not None:
            table = np.arange(span[0], span[1] + 1).astype(str).astype(object)
            out[ok] = table[v - span[0]]
        else:
            out[ok] = v.astype(str).astype(object)
    return out


def _count_phrase(x: np.ndarray, unit: str, missing: str) -> np.ndarray:
    """``"2 Gd-enhancing"`` per count (``missing`` when the count is unknown)."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    if len(x) <= 64 and ok.all():  # a few counts (one patient's): each written
        return np.array([f"{i} {unit}" for i in x.astype(np.int64).tolist()], dtype=object)
    out = _filled(len(x), missing)
    if ok.any():
        v = x[ok].astype(np.int64)
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 2 * len(v) + 4096:
            table = np.array([f"{i} {unit}" for i in range(lo, hi + 1)], dtype=object)
            out[ok] = table[v - lo]
        else:
            out[ok] = [f"{i} {unit}" for i in v.tolist()]
    return out


def _dense_unique(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for integers in [0, size) (without sorting
    when they are many)."""
    if len(values) * 8 < size:
        uniq, inv = np.unique(values, return_inverse=True)
        return uniq, inv.reshape(-1)
    seen = np.zeros(size, bool)
    seen[values] = True
    slot = np.cumsum(seen) - 1
    return np.flatnonzero(seen), slot[values]


def _reasons(win: _Win, code: np.ndarray, src: np.ndarray, texts: Any) -> np.ndarray:
    """The reason of every output row that is not True: per-year rows their own
    (``texts(rows)``); cumulative rows the deciding row's (see :func:`_combine`), named
    ("year 2: ...") when it is one of several years. Each text is built once."""
    n_out = win.n_out
    out = np.full(n_out, None, dtype=object)
    need = np.flatnonzero(code[:n_out] != _T)
    if not len(need):
        return out
    pos = win.cum_index[need]
    cumulative = pos >= 0
    yr = need[~cumulative]
    cr = need[cumulative]
    if not len(cr):
        out[yr] = texts(yr)
        return out
    pos = pos[cumulative]
    srow = src[pos]
    named = (srow != cr) & (win.cum_span[pos] > 1)
    uk, inv = _dense_unique(srow * 2 + named, 2 * len(win))
    us, un = uk >> 1, (uk & 1).astype(bool)
    # per-year rows are built for their own row; the other deciding rows (the cumulative
    # row itself, a cut year) with them, in one call
    shown = (us < n_out) & (win.cum_index[us] < 0)
    extra = us[~shown]
    if len(yr) or len(extra):
        built = texts(np.concatenate([yr, extra]) if len(extra) else yr)
        out[yr] = built[:len(yr)]
    base = np.empty(len(us), dtype=object)
    base[shown] = out[us[shown]]
    if len(extra):
        base[~shown] = built[len(yr):]
    if un.any():
        base[un] = [f"year {k}: {t}" for k, t in zip(win.k[us[un]].tolist(),
                                                     base[un].tolist(), strict=True)]
    out[cr] = base[inv]
    return out


# =============================================================================================
# components (rules §4.1, 4.2): codes for every window, texts built lazily for the rows shown


def _relapse_counts(d: _Data, sid: np.ndarray, w0: np.ndarray, w1: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per window [w0, w1): relapses inside (count, first) and imprecise ones partly inside."""
    if not len(sid):
        z = np.zeros(0, np.int64)
        return z, z, z, z
    result: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = _relapse_window_counts(
        d.r_start[sid], d.r_end[sid], d.r_a, d.r_b, np.asarray(w0, np.float64),
        np.asarray(w1, np.float64))
    return result


def _last_contact_txt(win: _Win, rows: np.ndarray) -> np.ndarray:
    """'; the last clinical contact is on ...' for windows cut at it, else ''."""
    return np.where(win.at_contact[rows], "; the last clinical contact is on "
                    + _iso(win.contact[rows]), "").astype(object)


def _covered(d: _Data, sid: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Relapse follow-up [A0, A1] covers the window: A0 <= start and A1 >= end (rules §4.1)."""
    a0, a1 = d.a0[sid], d.a1[sid]
    # (comparisons with NaN are False, without a warning)
    return np.asarray((a0 <= start) & (a1 >= end))


def _codes_of(false: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    return np.where(false, _F, np.where(unknown, _U, _T)).astype(np.int8)


@dataclass
class _Component:
    """One component for every window: ``code`` (combined for cumulative windows),
    ``direct`` (each window on its own), the deciding row of each cumulative window
    (``src``) and ``texts(rows)``, the reasons of rows evaluated on their own."""

    code: np.ndarray
    direct: np.ndarray
    texts: Any
    src: np.ndarray


def _relapse_component(d: _Data, win: _Win) -> tuple[_Component, np.ndarray, np.ndarray]:
    cs, ce, sid = win.cs, win.we, win.sid
    empty = cs >= ce
    n_in, first_in, n_part, first_part = _relapse_counts(d, sid, cs, ce)
    covered = _covered(d, sid, cs, ce)
    false = n_in > 0
    code = _codes_of(false, ~false & ((n_part > 0) | ~covered | empty | (not d.r_given)))

    def texts(rows: np.ndarray) -> np.ndarray:
        out = np.full(len(rows), None, dtype=object)
        c = code[rows]
        f = c == _F
        if f.any():
            fr = rows[f]
            out[f] = [f"relapse on {lab}" if k == 1 else f"{k} relapses, first on {lab}"
                      for k, lab in zip(n_in[fr].tolist(), d.r_label[first_in[fr]], strict=True)]
        u = c == _U
        if u.any() and not d.r_given:
            out[u] = NOT_RECORDED
        elif u.any():
            ur = rows[u]

            def follow_up(i: np.ndarray) -> list[str]:
                a0, a1 = d.a0[sid[ur[i]]], d.a1[sid[ur[i]]]
                end_txt = np.where(np.isposinf(a1), "open end", _iso(a1))
                return [f"relapse follow-up {x} to {y} does not cover the window" if x and y
                        else "no relapse follow-up (no clinical contact)"
                        for x, y in zip(_iso(a0), end_txt, strict=True)]

            def partly(i: np.ndarray) -> list[str]:
                return [f"relapse onset {lab} (imprecise) lies partly in the window"
                        for lab in d.r_label[first_part[ur[i]]]]

            def no_window(i: np.ndarray) -> np.ndarray:
                return ("no clinical window (relapses count from " + _iso(cs[ur[i]])
                        + _last_contact_txt(win, ur[i]) + ")")

            emp = empty[ur]
            out[u] = _compose(len(ur), [(~covered[ur] & ~emp, follow_up),
                                        (n_part[ur] > 0, partly), (emp, no_window)])
        return out

    return _Component(code, code.copy(), texts, np.zeros(0, np.int64)), n_in, empty


def _disability_component(d: _Data, win: _Win, o: NedaOptions
                          ) -> tuple[_Component, dict[str, Any], dict[str, Any]]:
    """First confirmed worsening from a fixed reference (rules §4.1), for every window at once:
    the course engine's scan in its fixed-reference mode, one run per distinct (subject,
    reference time, first day), long enough to confirm any onset of its windows."""
    n = len(win)
    copts = o.course_options()
    if copts.relapse_to_bl != copts.relapse_to_conf or copts.relapse_to_event != (0, 0):
        raise AssertionError("NEDA disability runs need relapse_to_bl == relapse_to_conf")
    cs, ce, sid = win.cs, win.we, win.sid
    empty = cs >= ce
    if o.per_window_reference == "window_start":
        T = cs
    else:
        T = np.minimum(np.where(win.wtype == _CUMULATIVE, cs, win.C0), cs)
    need = ce - 1 + o.cdw_confirm_days
    # runs: one per (subject, T, first day), long enough for the latest window end
    idx = np.flatnonzero(~empty)
    gkey = ((sid[idx].astype(np.int64) << 40)
            + ((T[idx].astype(np.int64) + (1 << 19)) << 20)
            + (cs[idx].astype(np.int64) + (1 << 19)))
    order = np.argsort(gkey, kind="stable")
    sk = gkey[order]
    new_run = np.ones(len(sk), bool)
    new_run[1:] = sk[1:] != sk[:-1]
    starts = np.flatnonzero(new_run)
    run_of = np.empty(len(idx), np.int64)
    run_of[order] = np.cumsum(new_run) - 1
    first_w = idx[order[starts]]
    rs, rT, rfrm = sid[first_w], T[first_w], cs[first_w]
    rneed = np.maximum.reduceat(need[idx][order], starts) if len(starts) else np.zeros(0)

    vday, vsid, vval = d.v_day, d.v_sid, d.v_edss
    n_subj = len(d.subjects)
    v_start, v_end = _group_bounds(vsid, n_subj)
    epos = np.flatnonzero(d.v_elig)
    e_day = vday[epos]
    e_start, e_end = _group_bounds(vsid[epos], n_subj)
    # reference: latest eligible EDSS in [T - 183, T], else the first in (T, T + 91]
    ref_pos = np.full(len(rs), -1, np.int64)
    if len(epos) and len(rs):
        e0, e1 = e_start[rs], e_end[rs]
        i = _local_search(e0, e1, e_day, rT.astype(np.float64), True) - 1
        ic = np.clip(i, 0, len(epos) - 1)
        back = (i >= e0) & (e_day[ic] >= rT - o.edss_reference_lookback_days)
        jc = np.clip(i + 1, 0, len(epos) - 1)
        fwd = (i + 1 < e1) & (e_day[jc] <= rT + o.edss_reference_lookahead_days)
        ref_pos = np.where(back, epos[ic], np.where(fwd, epos[jc], -1))
    has_ref = ref_pos >= 0
    rp = np.maximum(ref_pos, 0)
    ref_day = np.where(has_ref, vday[rp] if len(vday) else np.nan, np.nan)
    ref_val = np.where(has_ref, vval[rp] if len(vday) else np.nan, np.nan)
    run_ids = np.flatnonzero(has_ref)
    r_on = np.full(len(rs), -1, np.int64)
    r_conf = np.full(len(rs), -1, np.int64)
    r_un = np.full(len(rs), -1, np.int64)
    if len(run_ids):
        rs_ = rs[run_ids]
        # the run: the reference, then from the first day (after the reference) up to the
        # first eligible visit >= need, which confirms any onset in its windows
        h = _local_search(e_start[rs_], e_end[rs_], e_day, rneed[run_ids].astype(np.float64),
                          False)
        has_h = h < e_end[rs_]
        hi = np.where(has_h, epos[np.minimum(h, len(epos) - 1)] + 1, v_end[rs_])
        lo = _local_search(v_start[rs_], v_end[rs_], vday,
                           np.maximum(rfrm[run_ids], ref_day[run_ids] + 1), False)
        dw = copts.worsening_delta(vval)
        di = copts.improvement_delta(vval)
        # one launch for every run; a few runs (one patient) without starting threads
        kernel = fixed_reference_runs if len(run_ids) > 2048 else fixed_reference_runs_serial
        on_, conf_, un_ = kernel(
            vday, vval, dw, di, d.v_elig, np.ones(len(vval), np.bool_), d.v_elig,
            ref_pos[run_ids], lo.astype(np.int64), hi.astype(np.int64),
            float(copts.conf_days[0] - copts.conf_tol_days[0]),
            float(copts.conf_days[0] + copts.conf_tol_days[1]), int(copts.worsening_sign),
            float(copts.threshold_tolerance), bool(copts.check_intermediate),
            copts.proceed_from == "firstconf")
        r_on[run_ids], r_conf[run_ids], r_un[run_ids] = on_, conf_, un_
    # back to the windows
    w_run = np.full(n, -1, np.int64)
    w_run[idx] = run_of
    has_run = w_run >= 0
    wr = np.maximum(w_run, 0)

    def per_window(run_values: np.ndarray, fill: float) -> np.ndarray:
        if not len(run_values):
            return np.full(n, fill)
        return np.where(has_run, run_values[wr], fill)

    rday = per_window(ref_day, np.nan)
    rval = per_window(ref_val, np.nan)
    on_i = per_window(r_on, -1).astype(np.int64)
    conf_i = per_window(r_conf, -1).astype(np.int64)
    un_i = per_window(r_un, -1).astype(np.int64)
    on = np.where(on_i >= 0, vday[np.maximum(on_i, 0)] if len(vday) else np.nan, np.nan)
    u_on = np.where(un_i >= 0, vday[np.maximum(un_i, 0)] if len(vday) else np.nan, np.nan)
    false = (on >= cs) & (on < ce)  # (NaN: False, without a warning)
    unconf_in = (u_on >= cs) & (u_on < ce)
    # an EDSS within 91 days of the window end
    dd = o.edss_end_window_days
    no_end = ~_any_within(v_start[sid], v_end[sid], vday, (ce - dd).astype(np.float64),
                          (ce + dd).astype(np.float64))
    noref = np.isnan(rday)
    code = _codes_of(false, ~false & (empty | noref | no_end | unconf_in))
    # a reason depends on the run and three flags only (empty windows aside): built once each
    text_key = np.where(empty, -1, w_run * 8 + no_end * 4 + unconf_in * 2 + false)

    def texts(rows: np.ndarray) -> np.ndarray:
        if not (win.wtype[rows] == _CUMULATIVE).any():
            return build(rows)  # one text per run and flags anyway
        keys = text_key[rows]
        plain = keys >= 0
        out = np.empty(len(rows), dtype=object)
        if not plain.all():
            out[~plain] = build(rows[~plain])
        if plain.any():
            uk, inv = _dense_unique(keys[plain], 8 * max(len(rs), 1))
            rep_rows = np.empty(len(uk), np.int64)
            rep_rows[inv] = rows[plain]
            out[plain] = build(rep_rows)[inv]
        return out

    def build(rows: np.ndarray) -> np.ndarray:
        out = np.full(len(rows), None, dtype=object)
        c = code[rows]
        f = c == _F
        if f.any():
            fr = rows[f]
            out[f] = [f"confirmed disability worsening: EDSS {a} to {b}, onset {x}, confirmed {y}"
                      for a, b, x, y in zip(_fmt(rval[fr]), _fmt(vval[on_i[fr]]), _iso(on[fr]),
                                            _iso(vday[conf_i[fr]]), strict=True)]
        u = c == _U
        if u.any():
            ur = rows[u]

            def no_window(i: np.ndarray) -> np.ndarray:
                return ("no clinical window (counted from " + _iso(cs[ur[i]])
                        + _last_contact_txt(win, ur[i]) + ")")

            def no_reference(i: np.ndarray) -> list[str]:
                head = (f"no EDSS reference: no eligible EDSS from "
                        f"{o.edss_reference_lookback_days} days before to "
                        f"{o.edss_reference_lookahead_days} days after ")
                return [head + x for x in _iso(T[ur[i]])]

            def unconfirmed(i: np.ndarray) -> list[str]:
                w = ur[i]
                return [f"worsening from {x} (EDSS {a} to {b}) not yet confirmed"
                        for x, a, b in zip(_iso(u_on[w]), _fmt(rval[w]), _fmt(vval[un_i[w]]),
                                           strict=True)]

            emp = empty[ur]
            out[u] = _compose(len(ur), [
                (emp, no_window), (noref[ur] & ~emp, no_reference),
                (no_end[ur] & ~emp, lambda i: f"no EDSS within {dd} days of the window end"),
                (unconf_in[ur], unconfirmed)])
        return out

    comp = _Component(code, code.copy(), texts, np.zeros(0, np.int64))
    extra = {"edss_reference_date": rday, "on": on, "empty": empty}
    # (the options object keeps its values and their JSON: as_dict is a fresh copy)
    return comp, extra, {"course_options": copts.as_dict(),
                         "course_options_digest": copts.digest(),
                         "engine_runs": int(has_ref.sum()),
                         "engine": "neda.course fixed-reference mode (firstCDW, fixed baseline)"}


def _mri_component(d: _Data, win: _Win, o: NedaOptions, rows: np.ndarray
                   ) -> tuple[_Component, dict[str, np.ndarray]]:
    """MRI activity (rules §4.1, 9, 12.16) of the per-year windows and cut years ``rows``,
    and the brain-volume sums of their pairs (rules §4.2)."""
    n = len(win)
    sc = d.scans
    sid = win.sid[rows]
    g0, g1 = _group_bounds(sc.sid, len(d.subjects))
    s_lo = _local_search(g0[sid], g1[sid], sc.day, win.mws[rows].astype(np.float64), False)
    s_hi = _local_search(g0[sid], g1[sid], sc.day, win.mwe[rows].astype(np.float64), False)
    names = ("n_active", "n_counted", "n_clean", "i_act", "act_gd", "act_t2", "i_unclean",
             "i_skip", "n_pairs", "s_pbvc", "s_dt")
    res = _mri_window_stats(
        s_lo.astype(np.int64), s_hi.astype(np.int64), sc.day, sc.comp, sc.t2_active,
        sc.t2_clean, sc.gd, sc.pbvc, sc.protocol_change, win.B[rows], win.S[rows],
        win.k[rows], o.mri_from == "rebaseline_scan", float(o.mri_rebaseline_max_days),
        bool(o.mri_requires_gd), float(o.bvl_min_interval_days))
    st: dict[str, np.ndarray] = {}
    for name, values in zip(names, res, strict=True):
        full = np.zeros(n, values.dtype) if values.dtype != np.int64 or not name.startswith(
            "i_") else np.full(n, -1, np.int64)
        full[rows] = values
        st[name] = full
    n_active, n_counted, n_clean = st["n_active"], st["n_counted"], st["n_clean"]
    false = n_active > 0
    no_rebl = (o.mri_from == "rebaseline_scan") & np.isnan(win.B) & (win.k == 1)
    true = ~false & ~no_rebl & (n_counted > 0) & (n_clean == n_counted)
    code = _codes_of(false, ~false & ~true)
    lo_d, hi_d = o.mri_rebaseline_min_days, o.mri_rebaseline_max_days

    def texts(rows: np.ndarray) -> np.ndarray:
        out = np.full(len(rows), None, dtype=object)
        c = code[rows]
        f = c == _F
        if f.any():
            fr = rows[f]
            j = st["i_act"][fr]
            t2n = sc.new[j] + sc.enl[j]
            # which lesions show the activity: 1 Gd only, 2 T2 only, 3 both
            kind = (st["act_gd"][fr].astype(np.int8) + 2 * st["act_t2"][fr]).tolist()
            out[f] = [f"MRI activity on {x}: {g}" if k == 1 else (
                f"MRI activity on {x}: {t}" if k == 2 else f"MRI activity on {x}: {g}, {t}")
                for x, g, t, k in zip(
                    _iso(sc.day[j]).tolist(),
                    _count_phrase(sc.gd[j], "Gd-enhancing", "Gd-enhancing").tolist(),
                    _count_phrase(t2n, "new/enlarging T2", "new/enlarging T2").tolist(), kind,
                    strict=True)]
        u = c == _U
        if u.any():
            ur = rows[u]
            res = np.full(len(ur), None, dtype=object)
            nr = no_rebl[ur]
            res[nr] = f"no scan in days {lo_d}-{hi_d} after start: no MRI re-baseline"
            none = np.flatnonzero(~nr & (n_counted[ur] == 0))
            if len(none):
                w = ur[none]
                Bw = win.B[w]
                if o.mri_from == "epoch_start":
                    txt: Any = _filled(len(w), "no counted scan in the MRI window (a scan after "
                                       "the epoch start with a comparator scan)")
                else:
                    txt = _filled(len(w), "no counted scan in the MRI window (without a "
                                  "re-baseline scan, a comparator dated on or after day "
                                  f"{hi_d} is needed)")
                    hb = ~np.isnan(Bw)
                    if hb.any():
                        txt[hb] = [f"no counted scan in the MRI window (a scan after the "
                                   f"re-baseline scan of {x}, compared with a scan on or after "
                                   "it)" for x in _iso(Bw[hb])]
                js = st["i_skip"][w]
                hs = js >= 0
                if hs.any():
                    jj = js[hs]
                    txt[hs] = [f"{t}; scan on {x} compared with a scan of {y}, before the "
                               "re-baseline scan" if y else f"{t}; scan on {x} has no "
                               "comparator scan" for t, x, y in zip(
                                   txt[hs], _iso(sc.day[jj]), _iso(sc.comp[jj]), strict=True)]
                res[none] = txt
            rest = np.flatnonzero(~nr & (n_counted[ur] > 0))
            if len(rest):
                jj = st["i_unclean"][ur[rest]]
                t2_known = sc.t2_clean[jj] | sc.t2_active[jj]
                res[rest] = [f"scan on {x} without contrast (Gd count unknown)" if k
                             else f"scan on {x}: new/enlarging T2 count missing"
                             for x, k in zip(_iso(sc.day[jj]), t2_known.tolist(), strict=True)]
            out[u] = res
        return out

    return _Component(code, code.copy(), texts, np.zeros(0, np.int64)), st


def _bvl_loss_texts(v: np.ndarray, carried: np.ndarray, sym: str, thr: float) -> np.ndarray:
    """``annualised brain volume loss 0.52 %/year (>= 0.4)`` for each value, formatted as
    ``f"{v:.2f}"`` once per distinct text (hundredths; a value whose rounding is a near-tie
    is formatted on its own)."""
    v = np.asarray(v, dtype=float)
    if len(v) <= 32:  # a few values (one patient's): each formatted
        return np.array([f"annualised brain volume loss {x:.2f} %/year ({sym} {thr:g})"
                         + (" in an earlier cumulative window" if cr else "")
                         for x, cr in zip(v.tolist(), carried.tolist(), strict=True)],
                        dtype=object)
    out = np.empty(len(v), dtype=object)
    scaled = np.abs(v) * 100
    m = np.round(scaled)
    odd = ~np.isfinite(v) | (np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6)
    key = (m.astype(np.int64, copy=False) * 2 + (v < 0)) * 2 + carried.astype(np.int64)
    ok = ~odd
    if ok.any():
        uniq, first, inv = np.unique(key[ok], return_index=True, return_inverse=True)
        vo, co = v[ok][first], carried[ok][first]
        texts = np.array([f"annualised brain volume loss {x:.2f} %/year ({sym} {thr:g})"
                          + (" in an earlier cumulative window" if cr else "")
                          for x, cr in zip(vo.tolist(), co.tolist(), strict=True)], dtype=object)
        out[ok] = texts[inv]
    for i in np.flatnonzero(odd):
        out[i] = (f"annualised brain volume loss {v[i]:.2f} %/year ({sym} {thr:g})"
                  + (" in an earlier cumulative window" if carried[i] else ""))
    return out


def _bvl_component(win: _Win, o: NedaOptions, n_pairs: np.ndarray, s_pbvc: np.ndarray,
                   s_dt: np.ndarray) -> tuple[_Component, np.ndarray]:
    """Annualised brain volume loss (rules §4.2): pooled over the pairs of each window (for a
    cumulative window, over its years); once lost, lost for good in later cumulative windows
    (rules §4.4)."""
    n = len(win)
    cum = win.cum_rows
    known = n_pairs > 0
    loss = np.divide(-s_pbvc, s_dt / YEAR_DAYS, out=np.full(n, np.nan), where=known)
    thr = o.bvl_activity_threshold_pct
    # (NaN: False, without a warning)
    false = (loss >= thr - 1e-9 if o.bvl_boundary == "activity_at_threshold"
             else loss > thr + 1e-9)
    no_rebl = (o.mri_from == "rebaseline_scan") & np.isnan(win.B) & (
        (win.k == 1) | (win.wtype == _CUMULATIVE))
    carried = np.zeros(n, bool)
    shown = loss.copy()
    if len(cum):
        first_row = cum - (win.k[cum] - 1)  # the epoch's first cumulative row
        latest = np.maximum.accumulate(np.where(false[cum], cum, first_row - 1))
        prev = latest >= first_row
        carried[cum] = prev & ~false[cum]
        shown[cum] = np.where(prev, loss[np.maximum(latest, 0)], loss[cum])
    false = false | carried
    code = _codes_of(false, ~false & (~known | no_rebl))
    sym = ">=" if o.bvl_boundary == "activity_at_threshold" else ">"
    lo, hi = o.mri_rebaseline_min_days, o.mri_rebaseline_max_days
    generic = ("no eligible brain-volume pair (PBVC vs a comparator "
               + ("on or after the re-baseline scan" if o.mri_from == "rebaseline_scan"
                  else "scan") + f", at least {o.bvl_min_interval_days} days apart, same "
               "scanner and protocol, later scan in the MRI window)")

    def texts(rows: np.ndarray) -> np.ndarray:
        out = np.full(len(rows), None, dtype=object)
        c = code[rows]
        f = c == _F
        if f.any():
            fr = rows[f]
            out[f] = _bvl_loss_texts(shown[fr], carried[fr], sym, thr)
        u = c == _U
        if u.any():
            texts_u = _filled(int(u.sum()), generic)
            texts_u[no_rebl[rows[u]]] = (f"no scan in days {lo}-{hi} after start: no MRI "
                                         "re-baseline")
            out[u] = texts_u
        return out

    return _Component(code, code.copy(), texts, np.zeros(0, np.int64)), loss


def _combine_into(win: _Win, comp: _Component, direct: bool,
                  neutral: np.ndarray | None = None, own_false_first: bool = False) -> None:
    """Cumulative windows of ``comp`` from their years (and themselves when ``direct``)."""
    final, src = _combine(win, comp.direct, direct=direct, neutral=neutral,
                          own_false_first=own_false_first)
    comp.code[win.cum_rows] = final
    comp.src = src


# three-valued AND by lookup (codes 0 = False, 1 = unknown, 2 = True), built from tri_all
_TRI_CODES: tuple[Tri, ...] = (False, None, True)


def _tri_all_codes(names: list[str], codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Three-valued AND of component codes (rules §0.2, via :func:`tri_all`) and a reason
    naming the components that decide it: ``"activity: relapse, MRI"`` when False,
    ``"unknown: disability"`` when unknown."""
    table, texts = _tri_all_table(tuple(names))
    idx = np.zeros(len(codes[0]), np.int64)
    for c in codes:
        idx = idx * 3 + c
    return table[idx], texts[idx]


@functools.lru_cache(maxsize=16)
def _tri_all_table(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The decision and reason of every combination of component codes, made once per list
    of components (81 combinations of four; each call would remake them)."""
    combos = list(itertools.product(_TRI_CODES, repeat=len(names)))
    table = np.array([_TRI_CODES.index(tri_all(combo)) for combo in combos], dtype=np.int8)
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
    table.flags.writeable = False
    text_table = np.array(texts, dtype=object)
    text_table.flags.writeable = False
    return table, text_table


def _tri_all_columns(cols: list[tuple[str, pd.arrays.BooleanArray]]
                     ) -> tuple[pd.arrays.BooleanArray, np.ndarray]:
    """:func:`_tri_all_codes` on nullable boolean columns."""
    codes = [np.where(c.isna(), _U, np.where(c.to_numpy(dtype=bool, na_value=False), _T, _F))
             for _, c in cols]
    decided, why = _tri_all_codes([n for n, _ in cols], codes)
    return _nullable(decided), why


# =============================================================================================
# public API


def neda_status(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any = None,
                options: NedaOptions | None = None, *,
                relapse_options: RelapseOptions | None = None) -> pd.DataFrame:
    """NEDA-3 and NEDA-4 per patient, per DMT epoch, per-year and cumulative (rules §4.0-4.4).

    Parameters
    ----------
    visits : clinical visits (``docs/data-model.md``), read by :func:`neda.io.ensure_table`
        unless already validated: ``subject``, ``date``, ``edss``. Every visit is a clinical
        contact for relapse ascertainment.
    relapses : a :class:`~neda.rules.relapses.RelapseHygiene`, or a relapses table (cleaned
        here by relapse hygiene with ``relapse_options``, rules §3.1): pseudo-relapses are not
        relapses and the EDSS assessments during their episodes are not used; attacks under
        30 days apart are one relapse; imprecise onsets stay intervals. ``None`` means
        relapses were *not recorded*: every relapse component is unknown ("relapses were not
        recorded"); pass an empty table when none occurred.
    mri : one row per read scan (``docs/data-model.md``; the contrast rule of rules §0.3 is
        applied by the reader): ``subject``, ``date``, ``comparator_date``, ``contrast``,
        ``gd``, ``new_t2``, ``enlarging_t2`` (optional), ``spinal_cord``, ``pbvc``,
        ``same_protocol`` (optional).
    epochs : treatment epochs (``neda.rules.dmt.treatment_epochs``): ``subject``, ``epoch``,
        ``drug``, ``start``, ``end`` (last day, inclusive; NaT = ongoing), ``onset``.
    ascertainment : optional follow-up table ``subject``, ``start``, ``end`` (blank end:
        ongoing): the relapse-ascertainment interval [A0, A1] (rules §2.7.2); default: first to
        last visit.
    options : :class:`NedaOptions`.
    relapse_options : :class:`~neda.rules.relapses.RelapseOptions` for a relapses table
        [rules §3.1 defaults].

    Returns
    -------
    DataFrame with exactly the columns of :data:`NEDA_COLUMNS`, one row per subject x epoch x
    window type x window; ``attrs["provenance"]`` holds every option, the course-engine
    options of the disability runs, relapse hygiene's options and the epochs' provenance.

    Rules (rules §4.1-4.4): relapse ``False`` when a relapse onset lies in the clinical window;
    unknown when relapse follow-up does not cover it, an imprecise onset lies partly in it, or
    relapses were not recorded. Disability: a fixed-reference first-CDW engine run from the
    latest eligible EDSS in [T - 183, T] (else the first in (T, T + 91]); ``False`` when the
    CDW onset is in the window; unknown without an EDSS within 91 days of the window end or
    with an unresolved worsening. MRI: counted scans are dated after the re-baseline scan B
    with a comparator on or after B; ``False`` on any Gd-enhancing or new/enlarging T2 lesion
    (T2 activity needs no contrast); ``True`` only when every counted scan has 0
    new/enlarging T2 and (with contrast) 0 Gd. BVL: pooled annualised loss over pairs whose
    later scan is in the MRI window. Cumulative windows end at the last clinical contact at
    the latest, and a cumulative component is ``True`` only when it is ``True`` in every year
    the window covers (and over the whole window); one ``False`` year makes it ``False``.
    """
    o = (options or NedaOptions()).validated()
    d = _prepare(visits, relapses, mri, epochs, ascertainment, o, relapse_options)
    b = _rebaseline(d, o)
    c0 = _clinical_start(d, o, b)
    win = _windows(d, o, b, c0)
    n_out = win.n_out
    cum = win.cum_rows
    not_cum = np.flatnonzero(win.wtype != _CUMULATIVE)

    # relapses and disability: every window, then the years of each cumulative window
    rel, n_in, rel_empty = _relapse_component(d, win)
    _combine_into(win, rel, direct=True, neutral=rel_empty)
    if not d.r_given:
        rel.src = cum.copy()  # one reason for every window: relapses were not recorded
    dis, dx, engine_record = _disability_component(d, win, o)
    # a worsening since the start is named by its own onset (the epoch's reference)
    _combine_into(win, dis, direct=True, neutral=dx["empty"], own_false_first=True)
    # the onset shown with a False disability: the window's own, else the deciding year's
    on = dx["on"].copy()
    if len(cum):
        on[cum] = on[np.maximum(dis.src, 0)]
    on = np.where(dis.code == _F, on, np.nan)

    # MRI: per-year windows and cut years; a cumulative window from its years
    mri_c, st = _mri_component(d, win, o, not_cum)
    _combine_into(win, mri_c, direct=False)
    # counted scans and pooled brain-volume sums of a cumulative window: over its years
    n_counted, n_pairs, s_pbvc, s_dt = st["n_counted"], st["n_pairs"], st["s_pbvc"], st["s_dt"]
    if len(cum):
        for arr in (n_counted, n_pairs, s_pbvc, s_dt):
            csum = _segment_cumsum(arr[win.slot_win].astype(np.float64),
                                   win.slot_off.astype(np.int64))
            arr[cum] = csum[win.cum_pos]
    bvl, loss = _bvl_component(win, o, n_pairs, s_pbvc, s_dt)
    _combine_into(win, bvl, direct=True)

    # composites and the output rows (the first n_out windows, already in output order)
    r = slice(0, n_out)
    comps = [rel.code[r], dis.code[r], mri_c.code[r]]
    neda3, neda3_reason = _tri_all_codes(["relapse", "disability", "MRI"], comps)
    neda4, neda4_reason = _tri_all_codes(["relapse", "disability", "MRI", "brain volume"],
                                         [*comps, bvl.code[r]])
    ei = win.ei[r]
    sid = d.ep_sid[ei]
    # (pd.array(n_in[r], dtype="Int64") or all <NA>, without pandas' type inference)
    n_rel = pd.arrays.IntegerArray(n_in[r].astype(np.int64) if d.r_given
                                   else np.ones(n_out, np.int64), np.full(n_out, not d.r_given))
    subjects = np.asarray(d.subjects, dtype=object)
    record = provenance(o.rule_set, o, NEDA_SOURCE)
    (epoch_start, epoch_end, window_start, window_end, clinical_start, mri_window_start,
     mri_window_end, rebaseline_date, edss_reference, cdw_onset) = _date_columns(
         d.ep_S[ei], d.ep_E[ei], win.ws[r], win.we[r], win.cs[r], win.mws[r], win.mwe[r],
         win.B[r], dx["edss_reference_date"][r], on[r])
    # the table built once, with its rule_set column (pandas' constructor and a column insert
    # cost about a millisecond on one patient's rows)
    out = frame_of({
        "subject": subjects[sid] if n_out else np.zeros(0, object),
        "epoch": d.ep_epoch[ei],
        "drug": d.ep_drug[ei] if d.ep_drug is not None else None,
        "epoch_start": epoch_start,
        "epoch_end": epoch_end,
        "window_type": np.array(["per_year", "cumulative"], dtype=object)[win.wtype[r]],
        "window": win.k[r].astype(np.int64),
        "window_start": window_start,
        "window_end": window_end,
        "partial_window": win.partial[r].astype(bool),
        "clinical_start": clinical_start,
        "mri_window_start": mri_window_start,
        "mri_window_end": mri_window_end,
        "rebaseline_scan_date": rebaseline_date,
        "edss_reference_date": edss_reference,
        "n_relapses": n_rel,
        "relapse": _nullable(rel.code[r]),
        "relapse_reason": _reasons(win, rel.code, rel.src, rel.texts),
        "cdw_onset_date": cdw_onset,
        "disability": _nullable(dis.code[r]),
        "disability_reason": _reasons(win, dis.code, dis.src, dis.texts),
        "n_scans_counted": n_counted[r],
        "mri": _nullable(mri_c.code[r]),
        "mri_reason": _reasons(win, mri_c.code, mri_c.src, mri_c.texts),
        "bvl_pairs": n_pairs[r],
        "bvl_loss_pct_per_year": loss[r],
        "bvl": _nullable(bvl.code[r]),
        "bvl_reason": _reasons(win, bvl.code, bvl.src, bvl.texts),
        "neda3": _nullable(neda3),
        "neda3_reason": neda3_reason,
        "neda4": _nullable(neda4),
        "neda4_reason": neda4_reason,
        "rule_set": record["rule_set"],
    }, infer_dates=False)  # object columns hold identifiers, drugs and texts, never dates
    record.update(engine_record)
    record["relapses"] = d.relapse_provenance
    record["relapse_data"] = "given" if d.r_given else "not given"
    record["epochs_provenance"] = d.epochs_provenance
    out.attrs["provenance"] = record
    return out


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
# MEDA and MAGNIMS score (rules §4.5)


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
    skey = d.scans.key
    comp_all = d.scans.comp
    for _ in range(64):
        if not pending.any():
            break
        idx = np.flatnonzero(pending)
        k = _key(sid[idx], cur[idx])
        pos = np.searchsorted(skey, k)
        posc = np.clip(pos, 0, max(len(skey) - 1, 0))
        found = (pos < len(skey)) & (skey[posc] == k) if len(skey) else np.zeros(len(idx), bool)
        comp = np.where(found, comp_all[posc] if len(skey) else np.nan, np.nan)
        cnt = np.where(found, count[posc] if len(skey) else np.nan, np.nan)
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
                o: NedaOptions, years: tuple[int, ...], count_kind: str,
                relapse_options: RelapseOptions | None) -> tuple[pd.DataFrame, _Data]:
    for y in years:
        if y not in (1, 2):
            raise ValueError("years must be 1 and/or 2 (rules §4.5)")
    d = _prepare(visits, relapses, mri, epochs, ascertainment, o, relapse_options)
    sw = o.scan_windows
    S = d.ep_S
    sid = d.ep_sid
    e_ex = np.where(np.isnan(d.ep_E), np.inf, d.ep_E + 1)
    scan_cap = e_ex - 1 + o.mri_grace_days
    base = _closest_scan(d.scans, sid, S + sw.baseline_scan_min_days,
                         np.minimum(S + sw.baseline_scan_max_days, scan_cap), None)
    y1 = _closest_scan(d.scans, sid, S + sw.year1_scan_min_days,
                       np.minimum(S + sw.year1_scan_max_days, scan_cap),
                       S + sw.year1_scan_target_days)
    y2 = _closest_scan(d.scans, sid, S + sw.year2_scan_min_days,
                       np.minimum(S + sw.year2_scan_max_days, scan_cap),
                       S + sw.year2_scan_target_days)
    sc = d.scans
    cnt = sc.new + sc.enl if count_kind == "new_or_enlarging" else sc.new
    frames = []
    n_ep = len(S)
    for y in years:
        ref, fu = (base, y1) if y == 1 else (y1, y2)
        ws = S + 365 * (y - 1)
        we_full = S + 365 * y
        we = np.minimum(we_full, e_ex)
        frames.append(pd.DataFrame({"ei": np.arange(n_ep), "sid": sid, "year": y, "S": S,
                                    "ws": ws, "we": we, "partial": we < we_full, "ref": ref,
                                    "fu": fu}))
    f = pd.concat(frames, ignore_index=True)
    fs, fws, fwe = f["sid"].to_numpy(), f["ws"].to_numpy(), f["we"].to_numpy()
    n_in, first_in, n_part, _ = _relapse_counts(d, fs, fws, fwe)
    f["n_in"] = n_in
    f["n_part"] = n_part
    f["covered"] = _covered(d, fs, fws, fwe)
    f["uncertain"] = (f["n_part"] > 0) | ~f["covered"] | (f["ws"] >= f["we"]) | (not d.r_given)
    new, why = _chain_count(d, fs, f["ref"].to_numpy(), f["fu"].to_numpy(), cnt)
    f["new"] = new
    f["why"] = why
    # CEL on the follow-up scan (cross-sectional; unknown without contrast)
    fu = f["fu"].to_numpy()
    k = _key(fs, np.nan_to_num(fu, nan=0.0))
    pos = np.clip(np.searchsorted(sc.key, k), 0, max(len(sc) - 1, 0))
    hit = ~np.isnan(fu) & (len(sc) > 0)
    if len(sc):
        hit &= sc.key[pos] == k
    f["cel"] = np.where(hit, sc.gd[pos] if len(sc) else np.nan, np.nan)
    return f, d


def _year_output(f: pd.DataFrame, d: _Data) -> dict[str, Any]:
    ei = f["ei"].to_numpy()
    n_rel = pd.array(f["n_in"].to_numpy(np.int64), dtype="Int64")
    if not d.r_given:
        n_rel = pd.array(np.full(len(f), pd.NA), dtype="Int64")
    return {
        "subject": np.asarray(d.subjects, dtype=object)[f["sid"].to_numpy()]
        if len(f) else np.zeros(0, object),
        "epoch": d.ep_epoch[ei],
        "drug": d.ep_drug[ei] if d.ep_drug is not None else None,
        "epoch_start": _dates(f["S"].to_numpy()),
        "year": f["year"].to_numpy(np.int64),
        "window_start": _dates(f["ws"].to_numpy()),
        "window_end": _dates(f["we"].to_numpy()),
        "partial_window": f["partial"].to_numpy(bool),
        "reference_scan_date": _dates(f["ref"].to_numpy()),
        "followup_scan_date": _dates(f["fu"].to_numpy()),
        "n_relapses": n_rel,
        "relapses_uncertain": f["uncertain"].to_numpy(bool),
        "new_t2": pd.array(f["new"].to_numpy(), dtype="Int64"),
    }


def _relapse_summary(f: pd.DataFrame, d: _Data, mark_uncertain: bool) -> np.ndarray:
    """``relapses 1`` (``1+?`` when the count is a lower bound), ``relapses ?`` without
    relapse data."""
    if not d.r_given:
        return np.full(len(f), "relapses ?", dtype=object)
    txt = "relapses " + f["n_in"].astype(str).to_numpy(dtype=object)
    if mark_uncertain:
        txt = txt + np.where(f["uncertain"].to_numpy(bool), "+?", "")
    return np.asarray(txt, dtype=object)


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
    if not d.r_given:
        return np.full(len(f), NOT_RECORDED, dtype=object)
    parts = [
        np.where(~f["covered"].to_numpy(), "relapse follow-up does not cover the window", ""),
        np.where(f["n_part"].to_numpy() > 0, "an imprecise relapse lies partly in the window",
                 ""),
    ]
    return _join(parts)


def meda_status(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any = None,
                options: NedaOptions | None = None, *, years: tuple[int, ...] = (1, 2),
                relapse_options: RelapseOptions | None = None) -> pd.DataFrame:
    """Minimal evident disease activity (MEDA) after year 1 and year 2 (rules §4.5).

    Prosperini et al. (JNNP 2020), after year 1 (also validated after year 2) of interferon-beta
    or glatiramer acetate: MEDA = 0 relapses, 1-2 new T2 lesions and no contrast-enhancing
    lesion (CEL); there is no disability component [V]. Categories [C]:

    * ``MEDA`` - 0 relapses, 1-2 new T2, CEL known and 0;
    * ``no_evident_activity`` - 0 relapses, 0 new T2, CEL known and 0 (merged into ``MEDA``
      with ``meda_include_zero_new_t2``; = low MAGNIMS score without CEL);
    * ``evident_activity`` - >= 1 relapse, or >= 3 new T2, or >= 1 CEL;
    * ``unknown`` - anything else (missing scan, no contrast, relapse follow-up not covering
      the window, an imprecise relapse partly in it, relapses not recorded).

    New T2 lesions are counted on the follow-up scan against the reference scan (year 1: the
    pre-treatment reference scan; year 2: the year-1 scan; ``options.scan_windows``); CEL on
    the follow-up scan. Relapses (through relapse hygiene, as in :func:`neda_status`; ``None``
    = not recorded) count in ``[S, S + 365)`` (year 1) or ``[S + 365, S + 730)`` (year 2), cut
    at the epoch end. ``visits`` only supply the default relapse ascertainment (first to last
    visit).

    Returns exactly the columns of :data:`MEDA_COLUMNS`.
    """
    o = (options or NedaOptions()).validated()
    f, d = _year_frame(visits, relapses, mri, epochs, ascertainment, o, years, "new_only",
                       relapse_options)
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
    summary = (_relapse_summary(f, d, mark_uncertain=False) + ", new T2 " + _int_txt(new)
               + ", CEL " + _int_txt(cel))
    reason = summary.copy()
    unknown = cat == "unknown"
    if unknown.any():
        mri_txt = _mri_why(f, "new T2")
        cel_why = np.where(f["fu"].notna().to_numpy() & np.isnan(cel),
                           "follow-up scan without contrast (CEL unknown)", "")
        why = _join([_relapse_why(f, d), mri_txt, cel_why])
        reason = np.where(unknown, summary + ": " + why, reason)
    out = pd.DataFrame({**_year_output(f, d), "cel": pd.array(cel, dtype="Int64"),
                        "category": cat, "reason": reason})
    out = out.sort_values(["subject", "epoch", "year"], kind="stable").reset_index(drop=True)
    out = _finish(out, provenance(o.rule_set, o, NEDA_SOURCE))
    return out[list(MEDA_COLUMNS)]


def _magnims_level(r: np.ndarray, n: np.ndarray, cutoff: float) -> np.ndarray:
    """0 / 1 / 2 from relapses and new T2 (Sormani 2016), for known values (inf allowed)."""
    hi_t2 = n >= cutoff
    return np.where(r >= 2, 2, np.where(r == 1, np.where(hi_t2, 2, 1), np.where(hi_t2, 1, 0)))


def magnims_score(visits: Any, relapses: Any, mri: Any, epochs: Any, ascertainment: Any = None,
                  options: NedaOptions | None = None, *, years: tuple[int, ...] = (1,),
                  relapse_options: RelapseOptions | None = None) -> pd.DataFrame:
    """MAGNIMS score after year 1 of interferon-beta / glatiramer acetate (rules §4.5, 5.3).

    Sormani et al. (Neurology 2016) [M], as restated by Prosperini 2020 [V]: **low** = 0
    relapses and < 3 new T2 lesions; **medium** = 0 relapses and >= 3 new T2, or 1 relapse and
    0-2 new T2; **high** = 1 relapse and >= 3 new T2, or >= 2 relapses. Later papers number the
    levels 0 / 1 / 2 (Sormani 2021; Kunchok 2021); both labels are stored. The lesion count is
    ``scores.magnims_count`` (new T2 by default) on the year-1 scan against the pre-treatment
    reference scan. A level is reported whenever every value the unknown data could take gives
    the same level (e.g. >= 2 relapses -> high without MRI); otherwise it is unknown.
    Relapses are read as in :func:`meda_status` (``None`` = not recorded: the count is open).

    Returns exactly the columns of :data:`MAGNIMS_COLUMNS`.
    """
    o = (options or NedaOptions()).validated()
    f, d = _year_frame(visits, relapses, mri, epochs, ascertainment, o, years, o.magnims_count,
                       relapse_options)
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
    summary = (_relapse_summary(f, d, mark_uncertain=True) + f", {count_name} "
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
    out = _finish(out, provenance(o.rule_set, o, NEDA_SOURCE))
    return out[list(MAGNIMS_COLUMNS)]
