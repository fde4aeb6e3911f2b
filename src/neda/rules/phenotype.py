"""MS disease-course descriptors (Lublin 2014) and the objective definition of SPMS.

``docs/rules.md`` § 6.1 (Lublin 2014 modifiers, RIS under
McDonald 2024), 6.2 (objective SPMS, Lorscheider 2016 as implemented by CORe/MSBase
``MSoutcomes::spmsDx``), 9 (MRI activity) and 4.1 (relapse component and lesion count per
score); configuration keys ``phenotype.*`` and ``spms.*`` (section 10).

Sources: Lublin FD, et al. Neurology 2014;83:278-286 (active / not active / indeterminate;
with / without progression); Lorscheider J, et al. Brain 2016;139:2395-2405 (objective SPMS,
accuracy 87 %); MSoutcomes 0.2.1 (CRAN, CORe/MSBase) ``spmsDx`` source, read for the exact
algorithm (rules §6.2 [V]).

* :func:`lublin_descriptors` - per window: activity (relapses and MRI activity), and for
  progressive courses progression (= a confirmed worsening classified PIRA by the default
  course-engine preset, rules §6.1). Missing data give ``indeterminate``, never "not active"
  or "without progression".
* :func:`objective_spms` - one row per subject: whether and when the objective SPMS definition
  is first met. A numba kernel follows the CORe code step by step; it runs on 60,000 patients
  (about 1M visits) in a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from ..course import CourseOptions, CourseResult, confirmed_events
from ..course.options import PRESETS
from ..io import ensure_table
from ..options import Options, option
from .common import (
    DayIndex,
    bare,
    column_floats,
    column_numpy,
    cummax_by_code,
    day_dates,
    factorized,
    index_positions,
    provenance,
    provenance_frame,
    rule_set_name,
    texts_by_key,
    with_provenance,
)
from .common import as_pandas as _to_pandas
from .common import subject_column as _subject_column
from .edss import EdssOptions, parse_fs_column
from .relapses import RelapseHygiene, RelapseOptions, as_hygiene
from .response import (
    Ascertainment,
    _days,
    _scan_columns,
    relapse_reason,
    scan_count_bounds,
    window_relapse_counts,
)

PHENOTYPE_SOURCE = (
    "docs/rules.md §6.1, 6.2, 9, 4.1; Lublin et al. Neurology 2014; "
    "Lorscheider et al. Brain 2016; MSoutcomes 0.2.1 spmsDx (CORe/MSBase)"
)
COURSES = ("CIS", "RRMS", "SPMS", "PPMS", "RIS", "MS_no_clinical_event")
PROGRESSIVE = ("SPMS", "PPMS")
REFERENCE_AFTER_FAILED = ("core", "keep")
UNCONFIRMED_AT_END = ("unknown", "not_met")

#: FS columns read by :func:`objective_spms`, in CORe's order (FSpyr ... FSamb).
SPMS_FS_COLUMNS = ("fs_pyramidal", "fs_cerebellar", "fs_brainstem", "fs_sensory",
                   "fs_bowel_bladder", "fs_visual", "fs_cerebral", "ambulation")
_FS_NAMES = ("pyramidal", "cerebellar", "brainstem", "sensory", "bowel_bladder", "visual",
             "cerebral", "ambulation")

#: Columns of :func:`lublin_descriptors`, in order.
LUBLIN_COLUMNS = {
    "subject": "Subject identifier.",
    "window_start": "First day of the assessment window (included).",
    "window_end": "Evaluation date, last day of the window (included).",
    "course": "Core course (CIS, RRMS, SPMS, PPMS, RIS, MS_no_clinical_event) or <NA>.",
    "activity": "active, not active or indeterminate (Lublin 2014).",
    "active": "True / False / <NA> (= indeterminate).",
    "relapse_activity": "True = a relapse with onset in the window; False = none and relapse "
                        "follow-up covers the window; <NA> otherwise.",
    "mri_activity": "True = a scan in the window shows Gd-enhancing or new/enlarging T2 "
                    "lesions; False = >= 1 scan, all complete with zero counts; <NA> otherwise.",
    "activity_reason": "Why activity is what it is.",
    "relapses": "Relapses counted in the window (onset interval inside).",
    "scans": "Scans dated in the window.",
    "progression": "with progression, without progression, indeterminate, or not applicable "
                   "(relapsing courses, RIS).",
    "progressing": "True / False / <NA> (indeterminate or not applicable).",
    "progression_reason": "Why progression is what it is.",
    "pira_events": "PIRA events (default course-engine preset) with onset in the window.",
    "descriptor": "e.g. 'SPMS, active, without progression'.",
    "flags": "';'-separated: legacy_PRMS, course_not_given, scan_interval_starts_before_window, "
             "relapse_associated_worsening.",
    "rule_set": "Name of the options that produced the row.",
}

#: Columns of :func:`objective_spms`, in order.
SPMS_COLUMNS = {
    "subject": "Subject identifier.",
    "spms": "True = objective SPMS definition met; False = not met over the follow-up; <NA> = "
            "not assessable or undecided (see reason).",
    "spms_date": "Date the definition is first met: the visit at which the confirmed worsening "
                 "was first recorded (onset; Lorscheider 2016).",
    "reason": "Why spms is True, False or <NA>.",
    "edss_at_spms": "EDSS at the SPMS date (>= min_edss).",
    "fs_pyramidal_at_spms": "Pyramidal FS at the SPMS date after CORe's imputation (missing -> 2 "
                            "if EDSS >= 5.5 else 0; < 2 with EDSS >= 5.5 -> 2).",
    "confirmed_edss": "Lowest EDSS from the onset up to the first visit > confirm_days later.",
    "leading_fs": "Functional system(s) with the largest increase at onset (';'-separated).",
    "reference_date": "Reference (baseline) visit the worsening is measured from.",
    "reference_edss": "EDSS at the reference.",
    "sustained_days": "Days from onset to the last visit of the worsening run > 30 days from a "
                      "relapse.",
    "visits": "EDSS visits of the subject (after removing missing EDSS and same-day repeats).",
    "rule_set": "Name of the options that produced the row.",
}


@dataclass(frozen=True)
class PhenotypeOptions(Options):
    """Options of the Lublin descriptors and of objective SPMS (rules §10: ``phenotype.*``,
    ``spms.*``). Defaults in brackets; spec section and evidence tag in parentheses.

    activity_window_days : ``phenotype.activity_window_days`` [365] - modifiers are assessed on
        the trailing window (end - 365, end] (6.1 [C]; Lublin 2014: "at least annually").
    mri_requires_gd : [True] - "not active" from MRI needs contrast with a Gd count of 0 on every
        scan in the window (as ``neda.mri_requires_gd``; 4.1 table: "as NEDA").
    progression_preset : [``"mueller2023"``] - course-engine preset whose PIRA events are
        progression (6.1 [C]: "a CDW classified PIRA by the default preset"; ``cdw.preset``).
    edss_edge_days : [91] - *unresolved in the spec*; named option [C]: "without progression"
        needs an EDSS within 91 days of both window ends (as ``neda.edss_end_window_days``),
        so that a missing assessment never reads as no progression.
    min_edss : ``spms.min_edss`` [4.0] - EDSS >= 4 at the worsening and at confirmation
        (Lorscheider 2016; CORe ``minEDSS``) (6.2 [V]).
    min_fs_pyramidal : ``spms.min_fs_pyramidal`` [2] - pyramidal FS >= 2 at the worsening
        (CORe ``minFSpyr``) (6.2 [V]).
    relapse_exclusion_days : ``spms.relapse_exclusion_days`` [30] - a reference or confirming
        visit must be *more than* 30 days after a relapse (CORe ``tRelapse``) (6.2 [V]).
    confirm_days : ``spms.confirm_days`` [90.75] - worsening sustained for more than 3 x 30.25
        days (CORe ``tProgression``) (6.2 [V]).
    regression_days : ``spms.regression_days`` [272.25] - an EDSS <= reference - 0.5 sustained
        for more than 9 x 30.25 days resets the reference (CORe ``tRegression``) (6.2 [V]).
    relapse_rebaseline_days : ``spms.relapse_rebaseline_days`` [181.5] - after a diagnostically
        significant relapse the new reference must be sustained for more than 6 x 30.25 days
        (CORe ``tRelProg``) (6.2 [V]).
    reference_after_failed_candidate : [``"core"``] | ``"keep"`` - *unresolved*; named option
        [C]. CORe's code, after a candidate worsening fails without a relapse or a regression,
        resumes the search with the subject's *first* reference (its ``pvis`` columns); "core"
        reproduces that (parity), "keep" keeps the reference in force.
    unconfirmed_at_end : [``"unknown"``] | ``"not_met"`` - *unresolved*; named option [C]: a
        worsening run still open at the last visit (not yet confirmable) makes ``spms`` <NA>
        (tri-state, rules §0.2); "not_met" gives False as CORe does.
    exclude_pseudo_relapse_visits : [True] - EDSS assessed during a fever/infection pseudo-relapse
        episode is not used (rules §3.1, ``cdw.exclude_pseudo_relapse_visits``); CORe has no such
        rule.
    name : rule-set name stored with results; default ``"spec_defaults"`` or ``"custom"``.
    """

    activity_window_days: int = option(365, whole=True, ge=1,
                                       key="phenotype.activity_window_days")
    mri_requires_gd: bool = option(True, key="neda.mri_requires_gd")
    progression_preset: str = option("mueller2023", choices=tuple(PRESETS),
                                     key="")
    edss_edge_days: int = option(91, whole=True, ge=0)
    min_edss: float = option(4.0, ge=0, le=10, key="spms.min_edss")
    min_fs_pyramidal: int = option(2, whole=True, ge=0, le=6, key="spms.min_fs_pyramidal")
    relapse_exclusion_days: float = option(30, ge=0, key="spms.relapse_exclusion_days")
    confirm_days: float = option(90.75, ge=0, key="spms.confirm_days")
    regression_days: float = option(272.25, ge=0, key="spms.regression_days")
    relapse_rebaseline_days: float = option(181.5, ge=0, key="spms.relapse_rebaseline_days")
    reference_after_failed_candidate: str = option(
        "core", choices=REFERENCE_AFTER_FAILED)
    unconfirmed_at_end: str = option("unknown", choices=UNCONFIRMED_AT_END,
                                     key="")
    exclude_pseudo_relapse_visits: bool = option(True, key="cdw.exclude_pseudo_relapse_visits")
    name: str | None = None

    @property
    def rule_set(self) -> str:
        return rule_set_name(self)


# ============================================================================ Lublin 2014


def _tri(true_mask: Any, false_mask: Any) -> pd.arrays.BooleanArray:
    """Nullable boolean: True where ``true_mask``, else False where ``false_mask``, else <NA>."""
    t = np.asarray(true_mask, bool)
    f = np.asarray(false_mask, bool) & ~t
    return pd.arrays.BooleanArray(t, ~(t | f))


def _boolean(values: np.ndarray) -> pd.arrays.BooleanArray:
    """``pd.array(values, dtype="boolean")`` of an object array of True / False / None, made
    as pandas makes it (a mask of the missing, the others as flags) without its checks."""
    missing = np.asarray(pd.isna(values), bool)
    flags = np.zeros(len(values), bool)
    flags[~missing] = values[~missing].astype(bool)
    return pd.arrays.BooleanArray(flags, missing)


def _normalise_course(value: Any) -> tuple[str | None, bool]:
    """(course, legacy_prms) from free text; unknown text raises."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None, False
    text = str(value).strip()
    if not text:
        return None, False
    key = text.upper().replace("-", "_").replace(" ", "_")
    if key in ("PRMS", "PR", "PROGRESSIVE_RELAPSING"):
        return "PPMS", True  # retired in 2014: PPMS, active (rules §6.1)
    for c in COURSES:
        if key == c.upper():
            return c, False
    raise ValueError(f"unknown disease course {value!r}; use one of {', '.join(COURSES)} "
                     "(legacy PRMS is mapped to PPMS)")


@dataclass
class _Windows:
    """Assessment windows as arrays: subject, first and last day (day numbers, included),
    the course given for the window (None = not given), and subject codes (``code`` indexes
    ``subjects``) for the searches by subject and day."""

    subject: np.ndarray
    w0: np.ndarray
    w1: np.ndarray
    course_in: np.ndarray
    subjects: pd.Index
    code: np.ndarray

    def codes(self, values: Any) -> np.ndarray:
        """Code of each subject identifier of another table (-1: no window); one subject (a
        clinic screen) compared directly, no rows without an index."""
        if not len(values):
            return np.zeros(0, np.int64)
        return index_positions(self.subjects, values)


def _windows(windows: Any, vis: pd.DataFrame, vsubj: str, opts: PhenotypeOptions) -> _Windows:
    if windows is None:
        # one window per subject, ending at its last visit (subjects in order of appearance)
        day = _days(column_numpy(vis, "date"))
        ok = ~np.isnan(day)
        subject_all = column_numpy(vis, vsubj)[ok]
        codes, subjects = factorized(subject_all)
        last = np.full(len(subjects), -np.inf)
        np.maximum.at(last, codes[codes >= 0], day[ok][codes >= 0])
        subject = np.asarray(subjects)
        w1 = last
        w0 = w1 - opts.activity_window_days + 1
        course_in = np.full(len(subject), None, dtype=object)
        # one window per subject: the subjects are the windows' own, in order
        index = pd.Index(subject)
        return _Windows(subject, np.asarray(w0, np.float64), np.asarray(w1, np.float64),
                        course_in, index, np.arange(len(subject), dtype=np.int64))
    win = _to_pandas(windows)
    wsubj = _subject_column(win, None, "windows")
    end_col = "end" if "end" in win.columns else "date"
    if end_col not in win.columns:
        raise ValueError("windows table needs an 'end' (evaluation date) column")
    w1 = _days(win[end_col])
    if np.isnan(w1).any():
        raise ValueError("windows table: missing end date")
    w0 = _days(win["start"]) if "start" in win.columns else w1 - opts.activity_window_days + 1
    w0 = np.where(np.isnan(w0), w1 - opts.activity_window_days + 1, w0)
    subject = win[wsubj].to_numpy()
    course_in = (win["course"].to_numpy(dtype=object) if "course" in win.columns
                 else np.full(len(subject), None, dtype=object))
    subjects = pd.Index(pd.unique(subject))
    return _Windows(subject, np.asarray(w0, np.float64), np.asarray(w1, np.float64),
                    course_in, subjects, subjects.get_indexer(pd.Index(subject)))


_MRI_ACTIVE = "MRI activity (Gd-enhancing or new/enlarging T2 lesions)"
_MRI_CLEAN = "no MRI activity on the scans of the window"
_MRI_NONE = "no scan in the window"


@dataclass
class _MriActivity:
    mri: pd.arrays.BooleanArray  # tri-state MRI activity per window
    true: np.ndarray  # its True and False windows (the rest: unknown)
    false: np.ndarray
    scans: np.ndarray  # scans dated in the window
    why: np.ndarray
    early: np.ndarray  # a scan's comparison interval starts before the window


def _mri_activity(w: _Windows, mri: Any, opts: PhenotypeOptions) -> _MriActivity:
    """Per window: MRI activity (tri-state), scans in the window and a reason (rules §9)."""
    n = len(w.subject)
    if mri is None:
        return _MriActivity(pd.array([pd.NA] * n, dtype="boolean"), np.zeros(n, bool),
                            np.zeros(n, bool), np.zeros(n, np.int64),
                            np.full(n, "no MRI table", dtype=object), np.zeros(n, bool))
    scans, has_enl = _scan_columns(mri)
    lo, hi = scan_count_bounds(scans["new"], scans["enl"], has_enl, "new_or_enlarging")
    comp = scans["comp"]
    no_comp = np.isnan(comp)
    lo = np.where(no_comp, 0.0, lo)
    hi = np.where(no_comp, np.inf, hi)
    gd = scans["gd"]
    act = (lo >= 1) | (gd >= 1)  # (a missing Gd count: not >= 1)
    t2_zero = hi == 0
    gd_zero = gd == 0
    clean = t2_zero & (gd_zero if opts.mri_requires_gd else True)
    # every (window, scan dated in the window) of the subject
    wi, si = DayIndex.of(w.codes(scans["subject"]), scans["day"]).pairs(
        w.code, w.w0, w.w1)

    def any_of(flag: np.ndarray) -> np.ndarray:
        return np.bincount(wi, weights=flag[si], minlength=n) > 0

    count = np.bincount(wi, minlength=n).astype(np.int64)
    has = count > 0
    a = any_of(act)
    c = ~any_of(~clean) & has
    t2u = any_of(~np.isfinite(hi))
    gdu = any_of(np.isnan(gd))
    early = (np.bincount(wi, weights=comp[si] < w.w0[wi], minlength=n) > 0) & has

    def incomplete(k: int) -> str:
        parts = []
        if k & 1:
            parts.append("new/enlarging T2 count unknown (missing or no comparator)")
        if k & 2 and opts.mri_requires_gd:
            parts.append("no contrast or Gd count missing")
        return "; ".join(parts) or "incomplete MRI counts"

    why = texts_by_key(t2u.astype(np.int64) + 2 * gdu.astype(np.int64), incomplete)
    why[~has] = _MRI_NONE
    why[c] = _MRI_CLEAN
    why[a] = _MRI_ACTIVE
    return _MriActivity(_tri(a, c), a, c & ~a, count, why, early)


@dataclass
class _Progression:
    prog: np.ndarray  # True / False / None per window
    why: np.ndarray
    pira: np.ndarray  # PIRA events with onset in the window
    raw: np.ndarray  # a RAW / undefined worsening in the window


def _progression(w: _Windows, vis: pd.DataFrame, vsubj: str, relapses: Any,
                 ascertainment: Any, opts: PhenotypeOptions,
                 course_result: CourseResult | None) -> _Progression:
    """Per window: PIRA with onset in the window (rules §6.1), tri-state."""
    n = len(w.subject)
    eng = CourseOptions.from_preset(opts.progression_preset)
    res = course_result
    if res is None:
        ed = vis[[vsubj, "date", "edss"]].dropna(subset=["edss"])
        res = confirmed_events(ed, relapses, eng, ascertainment=ascertainment)
    # columns read as arrays (no Series per column)
    ev = res.events
    cdw = column_numpy(ev, "event_type") == "CDW"
    cls = column_numpy(ev, "cdw_class")[cdw]
    wi, ei = DayIndex.of(w.codes(column_numpy(ev, "subject")[cdw]),
                         _days(column_numpy(ev, "onset_date"))[cdw]).pairs(w.code, w.w0, w.w1)

    def events_of(mask: np.ndarray) -> np.ndarray:
        return np.bincount(wi, weights=mask[ei], minlength=n).astype(np.int64)

    n_pira = events_of(cls == "PIRA")
    n_unk = events_of(cls == "unknown")
    n_raw = events_of((cls == "RAW") | (cls == "undefined"))
    un = res.unconfirmed
    n_un = DayIndex.of(w.codes(column_numpy(un, "subject")),
                       _days(column_numpy(un, "onset_date"))).count(w.code, w.w0, w.w1)
    k = opts.edss_edge_days
    rated = ~np.isnan(column_floats(vis, "edss"))
    edss = DayIndex.of(w.codes(column_numpy(vis, vsubj)[rated]),
                       _days(column_numpy(vis, "date"))[rated])
    s_ok = edss.count(w.code, w.w0 - k, w.w0 + k) > 0
    e_ok = edss.count(w.code, w.w1 - k, w.w1 + k) > 0
    vals = np.full(n, False, dtype=object)
    why = np.where(n_raw > 0, "no PIRA with onset in the window (relapse-associated "
                   "worsening only)", "no PIRA with onset in the window").astype(object)
    # the first rule that applies wins: assigned from the last to the first
    no_edss = ~(s_ok & e_ok)
    vals[no_edss] = None
    why[no_edss] = np.where(s_ok[no_edss], f"no EDSS within {k} days of the window end",
                            f"no EDSS within {k} days of the window start")
    vals[n_un > 0] = None
    why[n_un > 0] = "a worsening with onset in the window is not yet confirmed"
    vals[n_unk > 0] = None
    why[n_unk > 0] = ("a confirmed worsening in the window could not be attributed "
                      "(relapse date imprecise or ascertainment incomplete)")
    pira = n_pira > 0
    vals[pira] = True
    why[pira] = texts_by_key(n_pira[pira], lambda m: f"{m} PIRA event(s) with onset in the "
                          f"window (preset {eng.preset})")
    return _Progression(vals, why, n_pira, n_raw > 0)


def _courses(w: _Windows, courses: Any) -> np.ndarray:
    """The course per window: the windows table's, else ``courses`` (table or mapping)."""
    if courses is None:
        return w.course_in
    if isinstance(courses, dict):
        cmap = pd.Series(courses)
    elif isinstance(courses, pd.Series):
        cmap = courses
    else:
        ct = _to_pandas(courses)
        cmap = pd.Series(ct["course"].to_numpy(), index=ct[_subject_column(ct, None,
                                                                           "courses")])
    given = cmap.reindex(w.subject).to_numpy()
    missing = pd.isna(w.course_in)
    if missing.all():
        return given
    return np.where(missing, given, w.course_in)


def lublin_descriptors(visits: Any, relapses: Any = None, mri: Any = None,
                       options: PhenotypeOptions | None = None, windows: Any = None, *,
                       courses: Any = None, ascertainment: Any = None,
                       relapse_options: RelapseOptions | None = None,
                       course_result: CourseResult | None = None) -> pd.DataFrame:
    """Lublin 2014 phenotype modifiers per assessment window (rules §6.1).

    Activity: a relapse with onset in the window (relapse rule of 4.1: pseudo-relapses
    excluded, imprecise onsets partly in the window and relapse follow-up not covering the
    window make it unknown) or MRI activity on a scan dated in the window (rule of 9: Gd-
    enhancing or new/unequivocally enlarging T2 lesions against the previous comparable scan)
    -> ``active``; no relapse with full follow-up **and** >= 1 scan with complete zero counts
    (contrast given, ``mri_requires_gd``) -> ``not active``; anything else -> ``indeterminate``.

    Progression (SPMS, PPMS, and subjects without a course): a confirmed worsening classified
    PIRA by the ``progression_preset`` course-engine run, with onset in the window -> ``with
    progression``; RAW / undefined worsening does not count; an unattributable (``unknown``)
    or not yet confirmed worsening in the window, or no EDSS near either window edge ->
    ``indeterminate``. Relapsing courses (CIS, RRMS) and RIS / ``MS_no_clinical_event``
    (McDonald 2024, rules §6.1) get ``not applicable``.

    Parameters
    ----------
    visits : ``subject``, ``date``, ``edss`` (data model); visits also give the relapse
        follow-up (first to last visit) unless ``ascertainment`` is given.
    relapses : a :class:`~neda.rules.relapses.RelapseHygiene` or a relapses table (cleaned by
        relapse hygiene with ``relapse_options``, rules §3.1); ``None``: relapses were not
        recorded, so relapse activity is unknown.
    mri : MRI table (optional; without it MRI activity is unknown).
    options : :class:`PhenotypeOptions`.
    windows : optional table ``subject``, ``end`` (evaluation date), optional ``start`` and
        ``course``; default one window per subject ending at its last visit. Without
        ``start`` the window is the ``activity_window_days`` days ending at ``end``.
    courses : optional table ``subject``, ``course`` (or a mapping subject -> course).
    course_result : optional :func:`~neda.course.confirmed_events` result of these visits,
        relapses and ascertainment under the ``progression_preset`` options (as
        :func:`neda.summary.course_summary` has one): its events are used instead of running
        the course engine again. Options or relapse hygiene that differ raise ``ValueError``.

    Returns one row per window, columns :data:`LUBLIN_COLUMNS`.
    """
    opts = (options or PhenotypeOptions()).validated()
    vis = ensure_table(visits, "visits", required=["edss"])
    vsubj = "subject"
    hygiene = as_hygiene(relapses, options=relapse_options)
    if course_result is not None:
        _check_course_result(course_result, opts, hygiene)
    w = _windows(windows, vis, vsubj, opts)  # (reads the visits by column)
    n = len(w.subject)
    course_txt = _courses(w, courses)
    # each distinct text parsed once; missing values (code -1) take the last entry
    text_code: Any
    texts: Any
    text_code, texts = ((np.full(n, -1, np.int64), ())
                        if all(c is None for c in course_txt.tolist())  # none given (default)
                        else pd.factorize(course_txt))
    parsed = [*(_normalise_course(v) for v in texts), (None, False)]
    course = np.array([parsed[c][0] for c in text_code], dtype=object)
    legacy = np.array([parsed[c][1] for c in text_code], dtype=bool)
    # relapses (rules §4.1 relapse rule over the window)
    rel = (hygiene.onset_arrays() if hygiene is not None
           else {"subject": np.zeros(0, dtype=object), "a": np.zeros(0), "b": np.zeros(0)})
    asc = Ascertainment.of(vis, vsubj, ascertainment, recorded=hygiene is not None)
    counts = window_relapse_counts(w.subject, w.w0, w.w1, rel, asc, (w.subjects, w.code))
    rmin, rmax = counts["rel_min"], counts["rel_max"]
    r_true = rmin >= 1
    r_false = (rmax == 0) & ~r_true
    rel_act = _tri(r_true, r_false)
    mri_a = _mri_activity(w, mri, opts)
    prog = _progression(w, vis, vsubj, hygiene, ascertainment, opts, course_result)

    # activity: True if either part is True, False if both are False, else unknown
    # (the masks of the tri-state columns: True, False, neither)
    r_known = r_true | r_false
    m_known = mri_a.true | mri_a.false
    is_active = r_true | mri_a.true
    not_active = r_known & m_known & ~is_active
    active = np.full(n, None, dtype=object)
    active[is_active] = True
    active[not_active] = False
    activity = np.where(is_active, "active", np.where(not_active, "not active",
                                                      "indeterminate")).astype(object)
    recorded = hygiene is not None
    rel_key = np.stack([rmin, rmax, counts["covered"], counts["partial"]], axis=1)
    rel_why = np.empty(n, dtype=object)
    if n:
        # each distinct reason written once (one window: itself)
        distinct, inverse = ((rel_key, np.zeros(1, np.int64)) if n == 1
                             else np.unique(rel_key, axis=0, return_inverse=True))
        rel_why[:] = np.array([relapse_reason(r0, r1, bool(c), int(p), recorded)
                               for r0, r1, c, p in distinct.tolist()],
                              dtype=object)[inverse.reshape(-1)]
    reason = "relapses: " + rel_why + "; MRI: " + mri_a.why

    is_none = np.array([c is None for c in course], dtype=bool)
    applies = np.array([c is None or c in PROGRESSIVE for c in course], dtype=bool)
    p_t = prog.prog.copy()
    p_t[~applies] = None
    progression = np.array([{True: "with progression", False: "without progression",
                             None: "indeterminate"}[p] for p in p_t], dtype=object)
    progression[~applies] = "not applicable"
    p_why = prog.why.copy()
    if not applies.all():
        p_why[~applies] = texts_by_key(course[~applies].astype(str), lambda c: (
            f"progression modifiers apply to progressive courses only ({c})"))
    flag_bits = (legacy.astype(np.int64) + 2 * is_none + 4 * mri_a.early
                 + 8 * (applies & prog.raw))
    flag_names = ("legacy_PRMS", "course_not_given", "scan_interval_starts_before_window",
                  "relapse_associated_worsening")
    flags = texts_by_key(flag_bits, lambda k: ";".join(
        f for i, f in enumerate(flag_names) if k >> i & 1))
    descriptor = activity.copy()
    descriptor[~is_none] = course[~is_none] + ", " + activity[~is_none]
    descriptor[applies] = descriptor[applies] + ", " + progression[applies]
    columns = {
        "subject": w.subject,
        "window_start": day_dates(w.w0),
        "window_end": day_dates(w.w1),
        "course": course,
        "activity": activity,
        "active": _tri(is_active, not_active),  # = pd.array(active, dtype="boolean")
        "relapse_activity": rel_act,
        # a column of True / False / pd.NA objects, as it has always been
        "mri_activity": mri_a.mri.to_numpy(),
        "activity_reason": np.asarray(reason, dtype=object),
        "relapses": counts["inside"].astype(np.int64),
        "scans": mri_a.scans.astype(np.int64),
        "progression": progression,
        "progressing": _boolean(p_t),
        "progression_reason": p_why.astype(object),
        "pira_events": prog.pira.astype(np.int64),
        "descriptor": descriptor,
        "flags": flags,
    }
    record = provenance(opts.rule_set, opts, PHENOTYPE_SOURCE)
    record["course_engine"] = {"preset": opts.progression_preset}
    return provenance_frame(columns, record)


def _check_course_result(result: CourseResult, opts: PhenotypeOptions,
                         hygiene: RelapseHygiene | None) -> None:
    """A course-engine result given to :func:`lublin_descriptors` must be the run it would
    make: the progression preset's options, the same relapse hygiene (or none)."""
    if result.options != CourseOptions.from_preset(opts.progression_preset):
        raise ValueError(f"course_result was computed with options {result.options.preset!r}, "
                         f"not the progression preset {opts.progression_preset!r}")
    given = result.provenance.get("relapse_data", "given") == "given"
    if given != (hygiene is not None) or (
            hygiene is not None and result.relapse_options != hygiene.options):
        raise ValueError("course_result was computed from other relapse data or relapse "
                         "options than these relapses")


# ============================================================================ objective SPMS

# status codes of the kernel
_MET = 1
_NOT_MET = 0
_FEW_VISITS = -1
_NO_FS = -2
_NO_REFERENCE = -3
_PENDING = -4
_NO_RELAPSE_DATA = -5

_REASONS = {
    _NO_RELAPSE_DATA: "undecided: the course meets the definition, but relapses were not "
                      "recorded and it needs progression without relapses",
    _FEW_VISITS: "not assessed: fewer than 3 EDSS visits from the first visit with FS data "
                 "(CORe spmsDx)",
    _NO_FS: "not assessed: no visit with functional-system data",
    _NO_REFERENCE: "not assessed: every visit with FS data is within 30 days after a relapse "
                   "(no reference)",
    _PENDING: "undecided: a worsening at the last visit is not yet confirmed",
    _NOT_MET: "objective SPMS definition not met over the follow-up",
}

_TOL = 1e-9
_EDSS_DEFAULTS = EdssOptions()  # (frozen: one object for every call)


@njit(cache=True)
def _threshold(b: float) -> float:
    if b == 0.0:
        return 1.5
    if b < 6.0:
        return 1.0
    return 0.5


@njit(cache=True)
def _spms_kernel(vstart: np.ndarray, vend: np.ndarray, day: np.ndarray, edss: np.ndarray,
                 fs: np.ndarray, fsna: np.ndarray, dpr: np.ndarray, min_edss: float,
                 min_pyr: float, t_rel: float, t_prog: float, t_reg: float, t_relprog: float,
                 revert: bool, pending_unknown: bool, status: np.ndarray, onset: np.ndarray,
                 ref: np.ndarray, conf: np.ndarray, pyr: np.ndarray, lead: np.ndarray,
                 sust: np.ndarray) -> None:
    """CORe spmsDx (MSoutcomes 0.2.1), one subject at a time; indices are global rows."""
    nfs = fs.shape[1]
    for s in range(len(vstart)):
        i0 = vstart[s]
        i1 = vend[s]
        onset[s] = -1
        ref[s] = -1
        conf[s] = np.nan
        pyr[s] = np.nan
        lead[s] = 0
        sust[s] = np.nan
        if i1 - i0 < 3:
            status[s] = _FEW_VISITS
            continue
        p0 = -1
        for i in range(i0, i1):
            if not fsna[i]:
                p0 = i
                break
        if p0 < 0:
            status[s] = _NO_FS
            continue
        n = i1 - p0
        if n < 3:
            status[s] = _FEW_VISITS
            continue
        b0 = -1
        for i in range(p0, i1):
            if np.isnan(dpr[i]) or dpr[i] > t_rel:
                b0 = i
                break
        if b0 < 0:
            status[s] = _NO_REFERENCE
            continue
        # per-visit values of pvis (rows p0..i1-1), local index k = i - p0
        interv = np.empty(n, np.int8)
        dprior = np.empty(n)
        norel = np.empty(n, np.bool_)
        for k in range(n):
            i = p0 + k
            gap = 0.0 if k == 0 else day[i] - day[i - 1]
            if np.isnan(dpr[i]):
                interv[k] = -1
                norel[k] = True
            else:
                interv[k] = 1 if dpr[i] <= gap else 0
                norel[k] = dpr[i] > t_rel
            dprior[k] = np.nan if k == 0 else edss[i] - edss[i - 1]
        last_day = day[i1 - 1]
        rawp = np.zeros(n, np.bool_)
        prog = np.zeros(n, np.bool_)
        reg = np.zeros(n, np.bool_)
        dprog = np.zeros(n)
        nxt0 = np.zeros(n, np.int64)
        lastnr = np.full(n + 1, -1, np.int64)
        b = b0 - p0
        st = b
        result = _NOT_MET
        failed_to_end = False  # the last candidate failed although its run reached the end
        while True:
            bE = edss[p0 + b]
            thr = _threshold(bE)
            for k in range(st, n):
                d = edss[p0 + k] - bE
                rawp[k] = (d >= thr - _TOL) and (edss[p0 + k] >= min_edss - _TOL)
                reg[k] = d <= -0.5 + _TOL
            # a run of exactly one non-worsening visit does not break a run (single dip)
            k = st
            while k < n:
                if rawp[k]:
                    prog[k] = True
                    k += 1
                    continue
                j = k
                while j < n and not rawp[j]:
                    j += 1
                for q in range(k, j):
                    prog[q] = j - k == 1
                k = j
            # sustained worsening: to the last visit > t_rel days from a relapse before the
            # next non-worsening visit
            nx = n
            for k in range(n - 1, st - 1, -1):
                nxt0[k] = nx
                if not prog[k]:
                    nx = k
            lastnr[st] = -1
            for xi in range(st + 1, n + 1):
                lastnr[xi] = xi - 1 if norel[xi - 1] else lastnr[xi - 1]
            first = -1
            nxr = n
            for k in range(n - 1, st - 1, -1):
                # regression duration: to the visit before the next non-regression visit
                dreg = day[p0 + nxr - 1] - day[p0 + k] if reg[k] else 0.0
                if not reg[k]:
                    nxr = k
                if prog[k]:
                    f = lastnr[nxt0[k]]
                    dprog[k] = day[p0 + f] - day[p0 + k] if f >= 0 else 0.0
                else:
                    dprog[k] = 0.0
                if dprog[k] > t_prog or dreg > t_reg:
                    first = k
            if first < 0:
                # the reference itself at the last visit is no open worsening, even when the
                # single-dip rule marks it (a bug found by tests/naive.py)
                open_end = prog[n - 1] and n - 1 != b
                result = _PENDING if (open_end and pending_unknown) else _NOT_MET
                break
            # diagnostically significant relapses before the first progression/regression
            last_sig = -1
            if first > st:
                for k in range(st, first):
                    if k == b:
                        continue
                    if (interv[k] == 1 and edss[p0 + k] > 3.0 and edss[p0 + k] - bE >= 0.5 - _TOL
                            and not np.isnan(dprior[k]) and dprior[k] >= 0.5 - _TOL
                            and bE < 6.0):
                        last_sig = k
            if last_sig >= 0:
                if last_sig == first - 1:
                    b = first
                else:
                    newb = -1
                    for v in range(last_sig + 1, first):
                        ev = edss[p0 + v]
                        t = 1.5 if ev == 0.0 else (1.0 if bE < 6.0 else 0.5)
                        r = v + 1
                        while r < first and abs(edss[p0 + r] - ev) < t - _TOL:
                            r += 1
                        if day[p0 + r - 1] - day[p0 + v] > t_relprog and not fsna[p0 + v]:
                            newb = v
                            break
                    b = first if newb < 0 else newb
                st = b + 1
                if n - st <= 1:
                    # at most one visit after the new reference: a worsening there cannot be
                    # confirmed yet - undecided, not "not met" (tests/naive.py)
                    if n - st == 1 and pending_unknown:
                        last = edss[p0 + n - 1]
                        ref_e = edss[p0 + b]
                        if (last - ref_e >= _threshold(ref_e) - _TOL
                                and last >= min_edss - _TOL):
                            result = _PENDING
                    break
                continue
            # candidate onset
            o = first
            ob = p0 + o
            bb = p0 + b
            maxd = -1e9
            dfs = np.zeros(nfs)
            for f in range(nfs):
                x = fs[ob, f] - fs[bb, f]
                if np.isnan(x):
                    x = 1.0 if f == 0 else 0.0
                dfs[f] = x
                if x > maxd:
                    maxd = x
            lead_mask = 0
            fs_conf = False
            if prog[o] and maxd > 0:
                for f in range(nfs):
                    if dfs[f] != maxd:
                        continue
                    lead_mask |= 1 << f
                    r = o
                    while r < n:
                        x = fs[p0 + r, f] - fs[bb, f]
                        if not np.isnan(x) and x == 0.0:
                            break
                        r += 1
                    if day[p0 + r - 1] - day[ob] >= t_prog:
                        fs_conf = True
            iv = interv[o] == 1
            # confirmed EDSS: lowest EDSS after onset up to the first visit > t_prog days later
            cmin = np.nan
            run_min = np.inf
            for r in range(o + 1, n):
                run_min = min(run_min, edss[p0 + r])
                if day[p0 + r] - day[ob] > t_prog:
                    cmin = run_min
                    break
            py = fs[ob, 0]
            if np.isnan(py):
                py = 2.0 if edss[ob] >= 5.5 else 0.0
            elif py < 2.0 and edss[ob] >= 5.5:
                py = 2.0
            met = (prog[o] and dprog[o] >= t_prog and day[ob] + dprog[o] >= last_day
                   and not iv and edss[ob] >= min_edss - _TOL
                   and not np.isnan(cmin) and cmin >= min_edss - _TOL
                   and py >= min_pyr and fs_conf)
            if met:
                result = _MET
                onset[s] = ob
                ref[s] = bb
                conf[s] = cmin
                pyr[s] = py
                lead[s] = lead_mask
                sust[s] = dprog[o]
                break
            failed_to_end = prog[o] and day[ob] + dprog[o] >= last_day
            if prog[o] and day[ob] + dprog[o] < last_day:
                cut = day[ob] + dprog[o]
                k = o + 1
                while k < n and day[p0 + k] <= cut:
                    k += 1
                st = k
                if revert:
                    b = b0 - p0
            else:
                st = o + 1
                if (prog[o] and iv) or reg[o]:
                    if not fsna[ob]:
                        b = o
                    else:
                        nb = st
                        while n - st > 1 and fsna[p0 + nb]:
                            st += 1
                            nb = st
                        b = nb
                elif revert:
                    b = b0 - p0
            if n - st <= 1:
                if pending_unknown and st < n and not failed_to_end:
                    e = edss[p0 + n - 1]
                    bE = edss[p0 + b]
                    if (n - 1 != b and e - bE >= _threshold(bE) - _TOL
                            and e >= min_edss - _TOL):
                        result = _PENDING
                break
        status[s] = result


def _days_since_relapse(vcode: np.ndarray, vday: np.ndarray, rcode: np.ndarray,
                        ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Days since the most recent relapse onset on or before each visit (NaN: none).

    An imprecise onset [a, b] counts from its latest possible day b, and a visit inside
    [a, b] is 0 days after it (conservative, as the course engine, rules §2.7.2)."""
    out = np.full(len(vday), np.nan)
    if len(ra) == 0 or len(vday) == 0:
        return out
    off = 10**6
    order = np.lexsort((ra, rcode))
    rc, a, b = rcode[order], ra[order], rb[order]
    bmax = cummax_by_code(rc, b)
    rkey = rc.astype(np.int64) * 10**7 + (a.astype(np.int64) + off)
    vkey = vcode.astype(np.int64) * 10**7 + (vday.astype(np.int64) + off)
    pos = np.searchsorted(rkey, vkey, side="right") - 1
    ok = pos >= 0
    ok[ok] = rc[pos[ok]] == vcode[ok]
    out[ok] = vday[ok] - np.minimum(bmax[pos[ok]], vday[ok])
    return out


def objective_spms(visits: Any, relapses: Any = None, options: PhenotypeOptions | None = None,
                   *, relapse_options: RelapseOptions | None = None) -> pd.DataFrame:
    """Objective SPMS (Lorscheider 2016) per subject, following CORe ``spmsDx`` (rules §6.2).

    Per subject (EDSS visits sorted by date, from the first visit with any FS data; >= 3
    visits needed): the reference is the first visit more than 30 days after a relapse; a visit
    shows worsening when EDSS - reference >= 1.5 (reference 0), 1.0 (reference < 6.0) or 0.5
    and EDSS >= ``min_edss``; a single non-worsening visit does not break a run. The first
    worsening visit whose run lasts more than ``confirm_days`` (to its last visit > 30 days
    after a relapse) and is sustained to the last recorded visit, without a relapse since the
    previous visit, with pyramidal FS >= 2, confirmed EDSS >= ``min_edss`` and the leading FS
    still increased >= ``confirm_days`` later, gives the SPMS date (its onset). Regression
    (EDSS <= reference - 0.5 for > ``regression_days``) and diagnostically significant relapses
    (``relapse_rebaseline_days``) move the reference as in CORe.

    Parameters
    ----------
    visits : ``subject``, ``date``, ``edss`` and the FS columns of :data:`SPMS_FS_COLUMNS`
        (``fs_*`` as rated, markers such as "2X" allowed; ``ambulation`` 0-16); missing FS
        columns are read as not recorded.
    relapses : a :class:`~neda.rules.relapses.RelapseHygiene` or a relapses table (cleaned by
        relapse hygiene with ``relapse_options``, rules §3.1). "Days since the most recent
        relapse" (CORe) counts from the latest attack merged into a relapse
        (``last_onset_end``), so merging never shortens it. ``None``: relapses were not
        recorded - a course that would meet the definition is reported unknown, since it
        needs progression without relapses.
    options : :class:`PhenotypeOptions`.

    Returns one row per subject, columns :data:`SPMS_COLUMNS`. Compute it for relapsing-onset
    courses and keep the clinician's phenotype separately (rules §6.2: propose, not impose).
    """
    opts = (options or PhenotypeOptions()).validated()
    # columns read from an attrs-free view, numbered from 0 (rows named in messages)
    vis = bare(ensure_table(visits, "visits", required=["edss"]))
    vis.index = pd.RangeIndex(len(vis))
    vsubj = "subject"
    hygiene = as_hygiene(relapses, options=relapse_options)
    # columns read as arrays (a Series of each costs more than its use on one patient)
    subject_all = column_numpy(vis, vsubj)
    all_subjects = factorized(subject_all)[1]
    edss = column_floats(vis, "edss")
    day = _days(column_numpy(vis, "date"))
    fs = np.full((len(vis), len(SPMS_FS_COLUMNS)), np.nan)
    eo = _EDSS_DEFAULTS
    for f, (col, name) in enumerate(zip(SPMS_FS_COLUMNS[:-1], _FS_NAMES[:-1], strict=True)):
        if col in vis.columns:
            g, _m = parse_fs_column(vis, col, name, eo)
            fs[:, f] = np.where(g >= 0, g, np.nan)
    if "ambulation" in vis.columns:
        fs[:, -1] = column_floats(vis, "ambulation")
    keep = ~np.isnan(edss) & ~np.isnan(day)
    if hygiene is not None:
        onsets = hygiene.onset_arrays()
        # days since the most recent attack: a merged relapse lasts to its last attack
        rel_subject, rel_a, rel_b = onsets["subject"], onsets["a"], onsets["last_b"]
        episodes = hygiene.episode_arrays()
    else:
        rel_subject, rel_a, rel_b = np.zeros(0, dtype=object), np.zeros(0), np.zeros(0)
        episodes = {"subject": np.zeros(0, dtype=object), "e0": np.zeros(0), "e1": np.zeros(0)}
    rows = np.flatnonzero(keep)
    if opts.exclude_pseudo_relapse_visits and len(episodes["e0"]):
        index = factorized(subject_all[rows])[1]
        _, hit = DayIndex.of(index_positions(index, subject_all[rows]), day[rows]).pairs(
            index_positions(index, episodes["subject"]), episodes["e0"], episodes["e1"])
        rows = np.delete(rows, hit)
    # by subject, day and row; one visit per subject and day (the last row)
    code = factorized(subject_all[rows], sort=True)[0]
    day_r = day[rows]
    # visits already by subject and date (the readers' order) are not sorted again
    if not bool(np.all((code[1:] > code[:-1])
                       | ((code[1:] == code[:-1]) & (day_r[1:] >= day_r[:-1])))):
        rows = rows[np.lexsort((rows, day_r, code))]
    codes, subjects = factorized(subject_all[rows])
    last_of_day = np.ones(len(rows), bool)
    last_of_day[:-1] = (codes[1:] != codes[:-1]) | (day[rows][1:] != day[rows][:-1])
    rows = rows[last_of_day]
    codes = codes[last_of_day].astype(np.int64)
    nsub = len(subjects)
    counts = np.bincount(codes, minlength=nsub)
    vend = np.cumsum(counts).astype(np.int64)
    vstart = (vend - counts).astype(np.int64)
    vday = day[rows]
    vedss = edss[rows]
    vfs = np.ascontiguousarray(fs[rows])
    fsna = np.isnan(vfs).all(axis=1)
    rcode = (index_positions(pd.Index(subjects), rel_subject) if len(rel_subject)
             else np.zeros(0, np.int64))
    okr = rcode >= 0
    dpr = _days_since_relapse(codes, vday, rcode[okr].astype(np.int64),
                              np.asarray(rel_a, float)[okr], np.asarray(rel_b, float)[okr])
    status = np.zeros(nsub, np.int64)
    onset = np.zeros(nsub, np.int64)
    ref = np.zeros(nsub, np.int64)
    conf = np.zeros(nsub)
    pyr = np.zeros(nsub)
    lead = np.zeros(nsub, np.int64)
    sust = np.zeros(nsub)
    _spms_kernel(vstart, vend, vday.astype(np.float64), vedss.astype(np.float64), vfs, fsna,
                 dpr, float(opts.min_edss), float(opts.min_fs_pyramidal),
                 float(opts.relapse_exclusion_days), float(opts.confirm_days),
                 float(opts.regression_days), float(opts.relapse_rebaseline_days),
                 opts.reference_after_failed_candidate == "core",
                 opts.unconfirmed_at_end == "unknown", status, onset, ref, conf, pyr, lead, sust)
    if hygiene is None:
        # relapses not recorded: "progression without relapses" cannot be established
        status = np.where(status == _MET, _NO_RELAPSE_DATA, status)
    met = status == _MET
    o = np.where(met, onset, 0)
    r = np.where(met, ref, 0)
    spms_vals = _tri(met, status == _NOT_MET)
    lead_txt = texts_by_key(lead, lambda m: ";".join(_FS_NAMES[f] for f in range(8)
                                                    if m >> f & 1))
    reasons = texts_by_key(status, lambda st_: _REASONS.get(st_, ""))
    reasons[met] = [
        f"EDSS {vedss[ri]:g} -> {vedss[oi]:g} (>= {opts.min_edss:g}), no relapse since "
        f"the previous visit, sustained > {opts.confirm_days:g} days and to the last "
        f"visit, pyramidal FS >= {opts.min_fs_pyramidal}, leading FS confirmed"
        for oi, ri in zip(o[met], r[met], strict=True)]
    columns = {
        "subject": np.asarray(subjects),
        "spms": spms_vals,
        "spms_date": day_dates(np.where(met, vday[o], np.nan)),
        "reason": reasons,
        "edss_at_spms": np.where(met, vedss[o], np.nan),
        "fs_pyramidal_at_spms": np.where(met, pyr, np.nan),
        "confirmed_edss": np.where(met, conf, np.nan),
        "leading_fs": np.where(met, lead_txt, ""),
        "reference_date": day_dates(np.where(met, vday[r], np.nan)),
        "reference_edss": np.where(met, vedss[r], np.nan),
        "sustained_days": np.where(met, sust, np.nan),
        "visits": counts.astype(np.int64),
    }
    record = provenance(opts.rule_set, opts, PHENOTYPE_SOURCE)
    # subjects whose every EDSS is missing: not assessed
    if len(all_subjects) == nsub:
        return provenance_frame(columns, record)
    out = pd.DataFrame(columns)
    seen = set(out["subject"])
    missing = [s_ for s_ in all_subjects if s_ not in seen]
    if missing:
        extra = pd.DataFrame({"subject": missing, "spms": pd.array([pd.NA] * len(missing),
                                                                    dtype="boolean"),
                              "reason": _REASONS[_FEW_VISITS], "visits": 0})
        out = pd.concat([out, extra], ignore_index=True)
        out["leading_fs"] = out["leading_fs"].fillna("")
    return with_provenance(out, record)
