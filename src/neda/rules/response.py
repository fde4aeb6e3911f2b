"""Treatment-response scores after the first year on interferon-β or glatiramer acetate.

``docs/rules.md`` § 5 (5.1 Rio score, 5.2 modified Rio
score), the common windows of 4.5, the lesion count per score of the 4.1 table and the MRI
conventions of section 9; configuration keys ``scores.*`` (section 10).

Sources:

* **Rio score** - Río J, et al. Mult Scler 2009;15:848-853 (components and the "active lesion"
  definition); Río J, et al. Mult Scler 2018 (online 2017): score >= 2, HR 3.3 for EDSS
  worsening over 6-12 years; the ">2 active lesions" cut-off and the 6-month EDSS confirmation
  as tabulated by Sormani & De Stefano, Nat Rev Neurol 2013 (spec [M]; open item 12.4).
* **Modified Rio score** - Sormani MP, et al. Mult Scler 2013;19:605-612: new T2 lesions > 4
  (1 point), relapses 0 / 1 / >= 2 (0 / 1 / 2 points); 0 = low, 1 = intermediate, >= 2 = high
  risk (3-year progression 24 % / 33 % / 65 %). The abstract words the MRI criterion ">5";
  ``mrio_new_t2_gt`` offers both (open item 12.3).

Both scores were derived in patients on interferon-β (later also glatiramer acetate); every row
carries ``validated_for_drug`` and a ``warning`` when the drug is not one of those (rules §5).

Partial scores (rules §5 [C]): each criterion is 1, 0 or unknown (<NA>) with a reason. Counts are
carried as intervals ``[min, max]`` so that an unknown part never turns into 0: a criterion is
1 when the smallest possible count already meets the cut-off, 0 when the largest possible count
does not, and unknown otherwise. The total is reported only when every criterion is known; the
risk group is reported whenever every completion of the unknown criteria gives the same group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..course import CourseOptions, confirmed_events
from ..io import ensure_table
from ..options import Options, option
from ._windows import ScanWindows
from .common import (
    DayIndex,
    column_floats,
    column_numpy,
    day_dates,
    index_positions,
    provenance,
    rule_set_name,
    single_value,
    with_provenance,
)
from .common import day_numbers as _days
from .dmt_catalogue import CATALOGUE_VERSION, lookup_drug
from .relapses import RelapseHygiene, RelapseOptions, as_hygiene

INF = math.inf
RESPONSE_SOURCE = (
    "docs/rules.md §5.1, 5.2, 4.5 (windows), 4.1 (lesion count per score), 9; "
    "Río et al. Mult Scler 2009 and 2018; Sormani et al. Mult Scler 2013"
)
#: Drug classes the Rio and modified Rio scores were derived in (rules §5; catalogue classes).
VALIDATED_DRUG_CLASSES = ("interferon_beta", "glatiramer")
COUNT_CHOICES = ("new_only", "new_or_enlarging")

#: Columns of :func:`rio_score`, in order.
RIO_COLUMNS = {
    "subject": "Subject identifier.",
    "drug": "Drug as given in the treatments table.",
    "treatment_start": "Treatment start S (first dose).",
    "drug_class": "Catalogue drug class (None when the drug is not in the catalogue).",
    "validated_for_drug": "True for interferon-β / glatiramer acetate, the drugs the score was "
                          "derived for (rules §5).",
    "warning": "Why the score may not apply (drug not validated, treatment stopped in year 1).",
    "reference_scan_date": "Pre-treatment reference scan: latest scan in [S-183, S+30].",
    "year1_scan_date": "Year-1 scan: closest to S+365 in [S+274, S+457] (tie: the earlier).",
    "active_lesions": "Active lesions year-1 vs reference scan (exact count, else <NA>).",
    "active_lesions_min": "Smallest count the data allow.",
    "active_lesions_max": "Largest count the data allow (inf = unbounded).",
    "mri_criterion": "1 if active lesions > rio_active_lesions_gt (2), 0, or <NA>.",
    "mri_reason": "Why the MRI criterion is 1, 0 or unknown.",
    "relapses_year1": "Relapses with onset in [S, S+365) (exact count, else <NA>).",
    "relapses_min": "Smallest possible relapse count.",
    "relapses_max": "Largest possible relapse count (inf when follow-up does not cover year 1).",
    "relapse_criterion": "1 if >= 1 relapse in year 1, 0, or <NA>.",
    "relapse_reason": "Why the relapse criterion is 1, 0 or unknown.",
    "edss_reference_date": "EDSS reference: latest eligible EDSS in [S-183, S], else the first "
                           "in (S, S+91].",
    "edss_reference_value": "EDSS at the reference.",
    "edss_onset_date": "Onset of the confirmed EDSS worsening (first CDW).",
    "edss_onset_value": "EDSS at onset.",
    "edss_confirmation_date": "First confirmation visit (>= rio_confirm_days after onset).",
    "edss_criterion": "1 if a worsening >= rio_edss_threshold with onset in [S, S+365) is "
                      "confirmed, 0, or <NA>.",
    "edss_reason": "Why the EDSS criterion is 1, 0 or unknown.",
    "score": "Total 0-3 (<NA> unless every criterion is known).",
    "score_min": "Smallest possible total.",
    "score_max": "Largest possible total.",
    "risk_group": "high (score >= 2), low (0-1) or unknown (not yet determined).",
    "rule_set": "Name of the options that produced the row.",
}

#: Columns of :func:`modified_rio_score`, in order.
MRIO_COLUMNS = {
    "subject": RIO_COLUMNS["subject"],
    "drug": RIO_COLUMNS["drug"],
    "treatment_start": RIO_COLUMNS["treatment_start"],
    "drug_class": RIO_COLUMNS["drug_class"],
    "validated_for_drug": RIO_COLUMNS["validated_for_drug"],
    "warning": RIO_COLUMNS["warning"],
    "reference_scan_date": RIO_COLUMNS["reference_scan_date"],
    "year1_scan_date": RIO_COLUMNS["year1_scan_date"],
    "new_t2": "New T2 lesions year-1 vs reference scan (new only by default; mrio_count), exact "
              "count or <NA>.",
    "new_t2_min": "Smallest count the data allow.",
    "new_t2_max": "Largest count the data allow (inf = unbounded).",
    "mri_points": "1 if new T2 > mrio_new_t2_gt (4), 0, or <NA>.",
    "mri_reason": "Why the MRI points are 1, 0 or unknown.",
    "relapses_year1": RIO_COLUMNS["relapses_year1"],
    "relapses_min": RIO_COLUMNS["relapses_min"],
    "relapses_max": RIO_COLUMNS["relapses_max"],
    "relapse_points": "0, 1 or 2 (>= 2 relapses), or <NA>.",
    "relapse_reason": "Why the relapse points are known or unknown.",
    "score": "Total 0-3 (<NA> unless both parts are known).",
    "score_min": "Smallest possible total.",
    "score_max": "Largest possible total.",
    "risk_group": "low (0), intermediate (1), high (>= 2) or unknown.",
    "rule_set": "Name of the options that produced the row.",
}


@dataclass(frozen=True)
class ResponseOptions(Options):
    """Options of the Rio and modified Rio scores (rules §10 keys ``scores.*``).

    Defaults in brackets; spec section and evidence tag in parentheses.

    scan_windows : :class:`~neda.rules._windows.ScanWindows` - the pre-treatment reference
        scan (latest in [S-183, S+30]) and the year-1 scan (closest to S+365 in [S+274,
        S+457]); keys ``scores.baseline_scan_*`` and ``scores.year1_scan_*``, declared once and
        shared with MEDA and the MAGNIMS score (rules §4.5).
    relapse_window_days : [365] - relapses count when their onset lies in [S, S+365) (4.5, 5).
    rio_active_lesions_gt : ``scores.rio_active_lesions_gt`` [2] - the MRI criterion needs
        more than 2 active lesions (new or enlarging T2 plus Gd-enhancing not already counted,
        combined unique active; Río 2009 [V] / cut-off [M], open item 12.4).
    rio_edss_threshold : ``scores.rio_edss_threshold`` [1.0] - EDSS increase at every reference
        level; Río used >= 1 point without a 1.5-from-0 stratum (5.1 [M]).
    rio_confirm_days : ``scores.rio_confirm_days`` [183] - confirmation >= 183 days after the
        onset (6 months; 5.1 [M], Sormani & De Stefano 2013 table), tolerance (0, inf).
    rio_edss_reference_lookback_days, rio_edss_reference_lookahead_days : [183, 91] - the EDSS
        reference is the latest eligible EDSS in [S-183, S], else the first eligible in
        (S, S+91] (5.1 [C]). Eligible: not 0-29 days after a relapse onset (rules §2.3).
    rio_edss_end_window_days : [91] - *unresolved in the spec*; named option [C]: the EDSS
        criterion is 0 only if an EDSS is dated on or after S+365-91 (follow-up reaches the end
        of year 1), mirroring ``neda.edss_end_window_days``; otherwise unknown.
    relapse_to_bl_days : [30] - relapse distance for reference/confirmation eligibility
        (``cdw.relapse_to_bl`` / ``cdw.relapse_to_conf``, rules §2.3).
    mrio_new_t2_gt : ``scores.mrio_new_t2_gt`` [4] - 1 point for more than 4 new T2 lesions;
        5 reproduces the abstract's ">5" wording (5.2; open item 12.3).
    mrio_count : ``scores.mrio_count`` [``new_only``] | ``new_or_enlarging`` - which count the
        modified Rio MRI criterion uses (4.1 table [M]; open item 12.3).
    Relapses are cleaned once by relapse hygiene (``relapse.*`` keys,
    :class:`neda.rules.relapses.RelapseOptions`, rules §3.1), like every other rule's.
    validated_drug_classes : [("interferon_beta", "glatiramer")] - catalogue classes the
        scores were derived in (rules §5 [V]: Río 2009, Sormani 2013, Río 2022).
    name : rule-set name stored with results; default ``"spec_defaults"`` or ``"custom"``.

    Not used here: ``scores.year2_scan_*`` and ``scores.magnims_*`` (MAGNIMS score and MEDA,
    ``neda.rules.neda``).
    """

    scan_windows: ScanWindows = field(default_factory=ScanWindows)
    relapse_window_days: int = option(365, whole=True, ge=1)
    rio_active_lesions_gt: int = option(2, whole=True, ge=0, key="scores.rio_active_lesions_gt")
    rio_edss_threshold: float = option(1.0, gt=0, key="scores.rio_edss_threshold")
    rio_confirm_days: int = option(183, whole=True, gt=0, key="scores.rio_confirm_days")
    rio_edss_reference_lookback_days: int = option(183, whole=True, ge=0)
    rio_edss_reference_lookahead_days: int = option(91, whole=True, ge=0)
    rio_edss_end_window_days: int = option(91, whole=True, ge=0)
    relapse_to_bl_days: int = option(30, whole=True, ge=0)
    mrio_new_t2_gt: int = option(4, choices=(4, 5), key="scores.mrio_new_t2_gt")
    mrio_count: str = option("new_only", choices=COUNT_CHOICES, key="scores.mrio_count")
    validated_drug_classes: tuple[str, ...] = VALIDATED_DRUG_CLASSES
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "validated_drug_classes", tuple(self.validated_drug_classes))
        super().__post_init__()

    @property
    def rule_set(self) -> str:
        return rule_set_name(self)


# ------------------------------------------------------------------------------ shared helpers
# (also used by neda.rules.phenotype)

def _dates(days: Any) -> pd.Series:
    return pd.Series(day_dates(days))


def relapse_days(relapses: Any, options: RelapseOptions | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, RelapseHygiene | None]:
    """The relapse hygiene table (rules §3.1) as day numbers for window counting.

    Returns ``(relapses, pseudo_episodes, hygiene)``: relapses ``subject``, ``a``, ``b``
    (first / last possible onset day, rules §2.7.2); episodes ``subject``, ``e0``, ``e1``;
    ``hygiene`` is None when relapses were not recorded (counts are then unknown).
    """
    hygiene = as_hygiene(relapses, options=options)
    if hygiene is None:
        empty = pd.DataFrame({"subject": pd.Series([], dtype=object),
                              "a": pd.Series(dtype=float), "b": pd.Series(dtype=float)})
        empty_ep = pd.DataFrame({"subject": pd.Series([], dtype=object),
                                 "e0": pd.Series(dtype=float), "e1": pd.Series(dtype=float)})
        return empty, empty_ep, None
    return hygiene.onset_days()[["subject", "a", "b"]], hygiene.episode_days(), hygiene


def ascertainment_intervals(visits: pd.DataFrame, vsubj: str, ascertainment: Any = None,
                            recorded: bool = True) -> pd.DataFrame:
    """Relapse-ascertainment interval [A0, A1] per subject (rules §2.7.2): first to last clinical
    visit, or the ``ascertainment`` table (``subject``, ``start``, ``end``) where given.
    ``recorded=False`` (relapses were not recorded): no day is ascertained."""
    subjects, first, last = _visit_spans(visits, vsubj)
    out = pd.DataFrame({"A0": first, "A1": last}, index=pd.Index(subjects, name="subject"))
    if not recorded:
        out["A0"], out["A1"] = INF, -INF
        return out
    if ascertainment is not None:
        asc = ensure_table(ascertainment, "followup")
        end = asc["end"] if "end" in asc.columns else pd.Series(pd.NaT, index=asc.index)
        given = pd.DataFrame({"A0": _days(asc["start"]),
                              "A1": np.where(end.isna(), INF, _days(end))},
                             index=pd.Index(asc["subject"].to_numpy(), name="subject"))
        out = given.combine_first(out)
        out.loc[given.index, ["A0", "A1"]] = given[["A0", "A1"]].to_numpy()
    return out


def _visit_spans(visits: pd.DataFrame, vsubj: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(subjects in order of appearance, first visit day, last visit day), as
    ``groupby(sort=False)`` would give them, by numpy (columns read without a Series)."""
    day = _days(column_numpy(visits, "date"))
    ok = ~np.isnan(day)
    subject = column_numpy(visits, vsubj)[ok]
    day = day[ok]
    if single_value(subject):  # one patient's visits: no hash table
        return subject[:1], day.min(keepdims=True), day.max(keepdims=True)
    codes, subjects = pd.factorize(subject, sort=False)
    day = day[codes >= 0]
    codes = codes[codes >= 0]
    first = np.full(len(subjects), INF)
    last = np.full(len(subjects), -INF)
    np.minimum.at(first, codes, day)
    np.maximum.at(last, codes, day)
    return np.asarray(subjects), first, last


@dataclass
class Ascertainment:
    """:func:`ascertainment_intervals` as arrays: ``subjects`` (an Index) and per subject
    ``a0``, ``a1`` (day numbers), for lookups without a table."""

    subjects: pd.Index
    a0: np.ndarray
    a1: np.ndarray

    @classmethod
    def of(cls, visits: pd.DataFrame, vsubj: str, ascertainment: Any = None,
           recorded: bool = True) -> Ascertainment:
        """:func:`ascertainment_intervals`; without an ascertainment table, from the visits
        directly (the table is built only to merge one in)."""
        if ascertainment is not None:
            table = ascertainment_intervals(visits, vsubj, ascertainment, recorded)
            return cls(table.index, table["A0"].to_numpy(np.float64),
                       table["A1"].to_numpy(np.float64))
        subjects, first, last = _visit_spans(visits, vsubj)
        if not recorded:
            first, last = np.full(len(subjects), INF), np.full(len(subjects), -INF)
        return cls(pd.Index(subjects, name="subject"), first, last)


def window_relapse_counts(subject: np.ndarray, w0: np.ndarray, w1: np.ndarray,
                          rel: dict[str, np.ndarray] | pd.DataFrame,
                          asc: pd.DataFrame | Ascertainment,
                          codes: tuple[pd.Index, np.ndarray] | None = None
                          ) -> dict[str, np.ndarray]:
    """:func:`count_relapses` on arrays: one entry per window (subject, first and last day);
    ``rel``: ``subject``, ``a``, ``b`` (arrays or columns); ``asc``:
    :func:`ascertainment_intervals` or its :class:`Ascertainment`; ``codes``: the windows'
    distinct subjects in order of appearance (an Index) and each window's position in it,
    when the caller has them [None: made here]."""
    subject = np.asarray(subject)
    w0 = np.asarray(w0, np.float64)
    w1 = np.asarray(w1, np.float64)
    n = len(subject)
    if codes is None:
        # subjects in order of appearance (one patient's windows: one, without a hash table)
        index = pd.Index(subject[:1] if single_value(subject) else pd.unique(subject))
        codes = index, index_positions(index, subject)
    index, code = codes
    inside_n = np.zeros(n, np.int64)
    partial_n = np.zeros(n, np.int64)
    a = np.asarray(rel["a"], np.float64)
    b = np.asarray(rel["b"], np.float64)
    if len(a) and n:
        # a relapse overlapping [w0, w1] has w0 - (longest onset interval) <= a <= w1
        reach = float(np.max(b - a))
        w, r = DayIndex.of(index_positions(index, rel["subject"]), a).pairs(
            code, w0 - reach, w1)
        inside = (a[r] >= w0[w]) & (b[r] <= w1[w])
        partial = ~inside & (a[r] <= w1[w]) & (b[r] >= w0[w])
        inside_n = np.bincount(w, weights=inside, minlength=n).astype(np.int64)
        partial_n = np.bincount(w, weights=partial, minlength=n).astype(np.int64)
    if isinstance(asc, pd.DataFrame):
        asc = Ascertainment(asc.index, asc["A0"].to_numpy(np.float64),
                            asc["A1"].to_numpy(np.float64))
    at = index_positions(asc.subjects, subject)
    known = at >= 0
    a0 = np.where(known, asc.a0[np.where(known, at, 0)], np.nan)
    a1 = np.where(known, asc.a1[np.where(known, at, 0)], np.nan)
    covered = (a0 <= w0) & (a1 >= w1)
    return {"inside": inside_n, "partial": partial_n, "covered": covered,
            "rel_min": inside_n.astype(float),
            "rel_max": np.where(covered, (inside_n + partial_n).astype(float), INF)}


def count_relapses(windows: pd.DataFrame, rel: pd.DataFrame, asc: pd.DataFrame
                   ) -> pd.DataFrame:
    """Relapse counts per window as an interval (rules §3.1 counting rule, 4.1 coverage).

    ``windows``: ``_w`` (key), ``subject``, ``w0``, ``w1`` (first and last day, both included).
    Returns per ``_w``: ``inside`` (onset interval inside the window), ``partial`` (partly
    inside), ``covered`` (A0 <= w0 and A1 >= w1), ``rel_min``, ``rel_max`` (inf when not
    covered).
    """
    counts = window_relapse_counts(windows["subject"].to_numpy(), windows["w0"].to_numpy(),
                                   windows["w1"].to_numpy(), rel, asc)
    return pd.DataFrame(counts, index=pd.Index(windows["_w"].to_numpy(), name="_w"))


def relapse_reason(n_min: float, n_max: float, covered: bool, partial: int,
                   recorded: bool = True) -> str:
    if n_min >= 1:
        return f"{int(n_min)} relapse(s) with onset in the window"
    if not recorded:
        return "relapses were not recorded"
    if not covered:
        return "relapse follow-up (first to last clinical visit) does not cover the window"
    if partial:
        return "a relapse with an imprecise onset date lies partly in the window"
    return "no relapse with onset in the window; follow-up covers it"


def _scan_columns(mri: Any) -> tuple[dict[str, np.ndarray], bool]:
    """Scans (a validated MRI table: the contrast rule applied, rules §0.3) as flat arrays in
    table order; second value: whether ``enlarging_t2`` is a column. (Columns read without
    building a Series: neda.rules.common.column.)"""
    scans = ensure_table(mri, "mri")
    has_enl = "enlarging_t2" in scans.columns

    def num(col: str) -> np.ndarray:
        if col not in scans.columns:
            return np.full(len(scans), np.nan)
        return column_floats(scans, col)

    return {
        "subject": column_numpy(scans, "subject"),
        "day": _days(column_numpy(scans, "date")),
        "comp": (_days(column_numpy(scans, "comparator_date"))
                 if "comparator_date" in scans.columns else np.full(len(scans), np.nan)),
        "new": num("new_t2"),
        "enl": num("enlarging_t2"),
        "gd": num("gd"),
        "cua": num("combined_unique_active"),
    }, has_enl


def _scan_table(mri: Any) -> tuple[pd.DataFrame, bool]:
    """:func:`_scan_columns` as a frame sorted by subject and day."""
    columns, has_enl = _scan_columns(mri)
    out = pd.DataFrame(columns)
    # one scan per subject and date: the reader merged repeats
    out = out.sort_values(["subject", "day"], kind="stable").reset_index(drop=True)
    return out, has_enl


def _zero_missing(x: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(x)`` of float counts, in fewer steps when none is infinite."""
    out = np.where(np.isnan(x), 0.0, x)
    return out if np.isfinite(out).all() else np.nan_to_num(x)


def scan_count_bounds(new: np.ndarray, enl: np.ndarray, has_enl: bool, which: str
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per scan, the [lo, hi] bounds of a lesion count versus its comparator (rules §9).

    ``which = "new_or_enlarging"``: new + enlarging T2 (without an ``enlarging_t2`` column the
    ``new_t2`` value already is new-or-enlarging, data model). ``"new_only"``: new T2; without
    an ``enlarging_t2`` column the recorded count is an upper bound of the new-only count. A
    missing count is [known part, inf].
    """
    if which == "new_or_enlarging":
        if has_enl:
            lo = _zero_missing(new) + _zero_missing(enl)
            hi = np.where(np.isnan(new) | np.isnan(enl), INF, new + enl)
            return lo, hi
        return _zero_missing(new), np.where(np.isnan(new), INF, new)
    if has_enl:
        return _zero_missing(new), np.where(np.isnan(new), INF, new)
    return np.zeros(len(new)), np.where(np.isnan(new), INF, new)


# ------------------------------------------------------------------------------ treatment rows


def _treatment_rows(treatments: Any, opts: ResponseOptions) -> pd.DataFrame:
    t = ensure_table(treatments, "treatments")
    tsubj = "subject"
    start = _days(t["start"])
    stop = _days(t["stop"]) if "stop" in t.columns else np.full(len(t), np.nan)
    classes: list[str | None] = []
    valid: list[bool] = []
    warn: list[str] = []
    for drug, s, e in zip(t["drug"].to_numpy(), start, stop, strict=True):
        notes = []
        try:
            cls: str | None = lookup_drug(drug).drug_class
        except ValueError:
            cls = None
        ok = cls in opts.validated_drug_classes
        if cls is None:
            notes.append(f"drug {drug!r} is not in the DMT catalogue {CATALOGUE_VERSION}; the "
                         "score is validated only for interferon-β and glatiramer acetate")
        elif not ok:
            notes.append(f"not validated for {cls} (derived for interferon-β / glatiramer "
                         "acetate; rules §5)")
        if not np.isnan(e) and e < s + opts.relapse_window_days - 1:
            notes.append("treatment stopped during year 1")
        classes.append(cls)
        valid.append(ok)
        warn.append("; ".join(notes))
    return pd.DataFrame({
        "_w": np.arange(len(t)), "subject": t[tsubj].to_numpy(), "drug": t["drug"].to_numpy(),
        "S": start, "drug_class": classes, "validated_for_drug": valid, "warning": warn,
    })


def _select_scans(rows: pd.DataFrame, scans: pd.DataFrame, opts: ResponseOptions
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``scans`` of the reference and year-1 scan per treatment row (-1: none)."""
    n = len(rows)
    ref = np.full(n, -1, np.int64)
    y1 = np.full(n, -1, np.int64)
    if len(scans) == 0 or n == 0:
        return ref, y1
    sc = scans[["subject", "day"]].copy()
    sc["_i"] = np.arange(len(scans))
    m = rows[["_w", "subject", "S"]].merge(sc, on="subject", how="inner")
    rel = m["day"].to_numpy() - m["S"].to_numpy()
    sw = opts.scan_windows
    in_ref = (rel >= sw.baseline_scan_min_days) & (rel <= sw.baseline_scan_max_days)
    r = m[in_ref].sort_values(["_w", "day"]).groupby("_w")["_i"].last()
    ref[r.index.to_numpy()] = r.to_numpy()
    in_y1 = (rel >= sw.year1_scan_min_days) & (rel <= sw.year1_scan_max_days)
    c = m[in_y1].assign(_dist=np.abs(rel[in_y1] - sw.year1_scan_target_days))
    c = c.sort_values(["_w", "_dist", "day"]).groupby("_w")["_i"].first()
    y1[c.index.to_numpy()] = c.to_numpy()
    return ref, y1


def _chain_bounds(scans: pd.DataFrame, lo: np.ndarray, hi: np.ndarray, ref: int, y1: int
                  ) -> tuple[float, float, str]:
    """Bounds of a count accumulated from the reference scan to the year-1 scan.

    Follows comparator dates back from the year-1 scan: each scan's count covers
    (comparator, scan]; links that start after the reference add exactly; a link reaching
    back before the reference covers a longer interval, so its count is only an upper bound;
    a missing comparator (rules §9: counts unknown) or a comparator not in the table leaves the
    count unbounded.
    """
    subj = scans["subject"].to_numpy()
    day = scans["day"].to_numpy()
    comp = scans["comp"].to_numpy()
    ref_day = day[ref]
    total_lo, total_hi = 0.0, 0.0
    cur = y1
    note = ""
    for _ in range(len(scans)):
        c = comp[cur]
        if np.isnan(c):
            return total_lo, INF, "a scan between the reference and year-1 scans has no comparator"
        if c < ref_day:
            return total_lo, total_hi + hi[cur], (
                "the year-1 comparison reaches back before the reference scan (count is an "
                "upper bound)")
        total_lo += lo[cur]
        total_hi += hi[cur]
        if c == ref_day:
            return total_lo, total_hi, note
        # step to the comparator scan of the same subject
        j = cur - 1
        while j >= 0 and subj[j] == subj[cur] and day[j] > c:
            j -= 1
        if j < 0 or subj[j] != subj[cur] or day[j] != c:
            return total_lo, INF, "the comparator scan of an intermediate scan is not in the table"
        cur = j
        note = "counts summed over consecutive scans from the reference to the year-1 scan"
    return total_lo, INF, "comparator chain could not be followed"


def _mri_counts(rows: pd.DataFrame, mri: Any, opts: ResponseOptions, which: str,
                with_gd: bool) -> pd.DataFrame:
    """Reference/year-1 scans and the [lo, hi] count per treatment row."""
    n = len(rows)
    out = pd.DataFrame({"ref_day": np.full(n, np.nan), "y1_day": np.full(n, np.nan),
                        "lo": np.zeros(n), "hi": np.full(n, INF), "why": [""] * n,
                        "pair": np.zeros(n, bool)}, index=rows.index)
    if mri is None:
        out["why"] = "no MRI table"
        return out
    scans, has_enl = _scan_table(mri)
    ref, y1 = _select_scans(rows, scans, opts)
    lo_s, hi_s = scan_count_bounds(scans["new"].to_numpy(), scans["enl"].to_numpy(), has_enl,
                                   which)
    day = scans["day"].to_numpy()
    gd = scans["gd"].to_numpy()
    cua = scans["cua"].to_numpy()
    comp = scans["comp"].to_numpy()
    why: list[str] = []
    pair = np.zeros(n, bool)
    los = np.zeros(n)
    his = np.full(n, INF)
    for k in range(n):
        if ref[k] < 0:
            sw = opts.scan_windows
            why.append(f"no pre-treatment reference scan in [S{sw.baseline_scan_min_days:+d}, "
                       f"S{sw.baseline_scan_max_days:+d}]")
            continue
        if y1[k] < 0:
            why.append(f"no year-1 scan in [S+{opts.scan_windows.year1_scan_min_days}, "
                       f"S+{opts.scan_windows.year1_scan_max_days}]")
            continue
        if day[y1[k]] <= day[ref[k]]:
            why.append("year-1 scan is not after the reference scan")
            continue
        lo, hi, note = _chain_bounds(scans, lo_s, hi_s, int(ref[k]), int(y1[k]))
        if not has_enl and which == "new_only":
            note = "; ".join(x for x in (note, "no enlarging_t2 column: the recorded new_t2 is "
                                         "new-or-enlarging, an upper bound of new lesions") if x)
        if with_gd:
            g = gd[y1[k]]
            if comp[y1[k]] == day[ref[k]] and not np.isnan(cua[y1[k]]):
                lo, hi = cua[y1[k]], cua[y1[k]]
                note = "combined unique active count recorded on the year-1 scan"
            elif np.isnan(g):
                # unique active >= T2 part; the Gd part is unknown without contrast
                hi = INF
                note = "; ".join(x for x in (note, "no contrast (or Gd count missing) on the "
                                             "year-1 scan") if x)
            else:
                # combined unique active lies between max(T2, Gd) and T2 + Gd (rules §9)
                lo, hi = max(lo, g), hi + g
                if g > 0 and lo != hi:
                    note = "; ".join(x for x in (note, "Gd-enhancing lesions may already be "
                                                 "counted as new T2 lesions") if x)
        los[k], his[k] = lo, hi
        pair[k] = True
        why.append(note)
    has_ref = ref >= 0
    out.loc[has_ref, "ref_day"] = day[ref[has_ref]]
    has_y1 = y1 >= 0
    out.loc[has_y1, "y1_day"] = day[y1[has_y1]]
    out["lo"] = los
    out["hi"] = his
    out["why"] = why
    out["pair"] = pair
    return out


def _exact(lo: np.ndarray, hi: np.ndarray) -> pd.Series:
    """The count when it is known exactly (lo == hi, finite), else <NA>."""
    vals = np.where((lo == hi) & np.isfinite(hi), lo, np.nan)
    return pd.Series(pd.array(vals, dtype="Float64").astype("Int64"))


def _criterion(lo: np.ndarray, hi: np.ndarray, gt: float) -> pd.Series:
    """1 if lo > gt, 0 if hi <= gt, else <NA>."""
    vals = np.where(lo > gt, 1.0, np.where(hi <= gt, 0.0, np.nan))
    return pd.Series(pd.array(vals, dtype="Float64").astype("Int64"))


def _mri_reason(crit: pd.Series, lo: np.ndarray, hi: np.ndarray, gt: int, why: list[str],
                pair: np.ndarray, what: str) -> list[str]:
    out = []
    for c, a, b, w, p in zip(crit, lo, hi, why, pair, strict=True):
        if not p:
            out.append(w)
            continue
        rng = f"{int(a)}" if a == b else f"{int(a)}-{'?' if np.isinf(b) else int(b)}"
        if c is pd.NA:
            base = f"{what} {rng}: cannot tell whether > {gt}"
        elif c == 1:
            base = f"{what} {rng} > {gt}"
        else:
            base = f"{what} {rng} <= {gt}"
        out.append(base + (f" ({w})" if w else ""))
    return out


# ------------------------------------------------------------------------------ EDSS criterion


def _edss_criterion(rows: pd.DataFrame, visits: pd.DataFrame, vsubj: str, rel: pd.DataFrame,
                    episodes: pd.DataFrame, opts: ResponseOptions,
                    relapse_options: RelapseOptions | None = None) -> pd.DataFrame:
    """Rio disability criterion (rules §5.1): one fixed-reference course-engine run per start."""
    n = len(rows)
    out = pd.DataFrame({
        "ref_day": np.full(n, np.nan), "ref_val": np.full(n, np.nan),
        "onset_day": np.full(n, np.nan), "onset_val": np.full(n, np.nan),
        "conf_day": np.full(n, np.nan), "crit": np.full(n, np.nan), "why": [""] * n,
    })
    if "edss" not in visits.columns:
        out["why"] = "visits table has no edss column"
        return out
    v = pd.DataFrame({"subject": visits[vsubj].to_numpy(), "day": _days(visits["date"]),
                      "edss": visits["edss"].to_numpy(np.float64)})
    v = v[~np.isnan(v["edss"])]
    if len(episodes):
        hit = v.reset_index().merge(episodes, on="subject")
        hit = hit[(hit["day"] >= hit["e0"]) & (hit["day"] <= hit["e1"])]
        v = v.drop(index=hit["index"].to_numpy())
    # reference eligibility: not 0-29 days after a relapse onset (rules §2.3; intervals: a visit
    # inside [a, b] has distance 0)
    v = v.reset_index(drop=True)
    v["_vi"] = np.arange(len(v))
    if len(rel):
        mr = v[["_vi", "subject", "day"]].merge(rel, on="subject")
        mr = mr[mr["a"] <= mr["day"]]
        dist = mr["day"] - np.minimum(mr["b"], mr["day"])
        bad = mr.loc[dist < opts.relapse_to_bl_days, "_vi"].unique()
    else:
        bad = np.zeros(0, np.int64)
    v["elig"] = ~v["_vi"].isin(bad)
    m = rows[["_w", "subject", "S"]].merge(v, on="subject", how="inner")
    rd = m["day"] - m["S"]
    before = m[m["elig"] & (rd >= -opts.rio_edss_reference_lookback_days) & (rd <= 0)]
    after = m[m["elig"] & (rd > 0) & (rd <= opts.rio_edss_reference_lookahead_days)]
    r1 = before.sort_values(["_w", "day"]).groupby("_w")[["day", "edss"]].last()
    r2 = after.sort_values(["_w", "day"]).groupby("_w")[["day", "edss"]].first()
    refs = r1.combine_first(r2)
    ref_day = refs["day"].reindex(rows["_w"]).to_numpy()
    out["ref_day"] = ref_day
    out["ref_val"] = refs["edss"].reindex(rows["_w"]).to_numpy()
    last_day = v.groupby("subject")["day"].max()
    # engine input: the reference, then every EDSS dated on or after max(S, reference)
    m = m.assign(_ref=ref_day[m["_w"].to_numpy()])
    keep = m["_ref"].notna() & ((m["day"] == m["_ref"])
                                | (m["day"] >= np.maximum(m["S"], m["_ref"])))
    ev_in = m.loc[keep, ["_w", "day", "edss"]].rename(columns={"_w": "subject"})
    ev_in["date"] = _dates(ev_in["day"].to_numpy()).to_numpy()
    rel_in = rows[["_w", "subject"]].merge(rel, on="subject")
    rel_in = pd.DataFrame({"subject": rel_in["_w"].to_numpy(),
                           "date": _dates(rel_in["a"].to_numpy()).to_numpy(),
                           "date_end": _dates(rel_in["b"].to_numpy()).to_numpy()})
    eng = CourseOptions().replace(
        baseline="fixed", event="firstCDW", edss_thresholds=((10.0, opts.rio_edss_threshold),),
        conf_days=(opts.rio_confirm_days,), conf_tol_days=(0, INF),
        relapse_to_bl=(opts.relapse_to_bl_days, 0), relapse_to_event=(0, 0),
        relapse_to_conf=(opts.relapse_to_bl_days, 0), attribution=False,
        require_ascertainment=False,
    )
    # the intervals are relapse hygiene's already (pseudo-relapse visits left out above);
    # hygiene is idempotent on them, so the engine sees the same relapses
    res = confirmed_events(ev_in[["subject", "date", "edss"]], rel_in, eng,
                           relapse_options=relapse_options)
    cdw = res.events[res.events["event_type"] == "CDW"].groupby("subject").first()
    unc = res.unconfirmed.groupby("subject").first()
    S = rows["S"].to_numpy()
    end = S + opts.relapse_window_days  # window [S, S + 365)
    last = last_day.reindex(rows["subject"]).to_numpy(float)
    crit = np.full(n, np.nan)
    why = []
    onset = np.full(n, np.nan)
    onset_val = np.full(n, np.nan)
    conf = np.full(n, np.nan)
    for k, w in enumerate(rows["_w"].to_numpy()):
        if np.isnan(ref_day[k]):
            why.append(f"no eligible EDSS reference in [S-{opts.rio_edss_reference_lookback_days}"
                       f", S+{opts.rio_edss_reference_lookahead_days}]")
            continue
        if w in cdw.index:
            e = cdw.loc[w]
            od = float(_days([e["onset_date"]])[0])
            onset[k], onset_val[k] = od, e["onset_value"]
            conf[k] = float(_days([e["confirmation_date"]])[0])
            if S[k] <= od < end[k]:
                crit[k] = 1
                why.append(f"EDSS {e['reference_value']:g} -> {e['onset_value']:g} (onset day "
                           f"{int(od - S[k])} after S) confirmed >= {opts.rio_confirm_days} "
                           "days later")
                continue
        if w in unc.index:
            ud = float(_days([unc.loc[w, "onset_date"]])[0])
            if ud < end[k]:
                why.append(f"worsening with onset day {int(ud - S[k])} after S not yet "
                           "confirmed at the end of follow-up")
                continue
        if not last[k] >= end[k] - opts.rio_edss_end_window_days:
            why.append("EDSS follow-up ends before S+"
                       f"{opts.relapse_window_days - opts.rio_edss_end_window_days} (no "
                       "assessment near the end of year 1)")
            continue
        crit[k] = 0
        why.append("no confirmed EDSS worsening with onset in year 1"
                   + ("" if np.isnan(onset[k]) else
                      f" (first CDW onset day {int(onset[k] - S[k])} after S)"))
    out["onset_day"], out["onset_val"], out["conf_day"] = onset, onset_val, conf
    out["crit"], out["why"] = crit, why
    return out


# ------------------------------------------------------------------------------ public API


@dataclass
class _Inputs:
    rows: pd.DataFrame
    visits: pd.DataFrame
    vsubj: str
    relapses: pd.DataFrame
    episodes: pd.DataFrame
    counts: pd.DataFrame
    hygiene: RelapseHygiene | None


def _prepare(treatments: Any, visits: Any, relapses: Any, opts: ResponseOptions,
             ascertainment: Any, relapse_options: RelapseOptions | None) -> _Inputs:
    rows = _treatment_rows(treatments, opts)
    vis = ensure_table(visits, "visits", required=["edss"])
    vsubj = "subject"
    rel, episodes, hygiene = relapse_days(relapses, relapse_options)
    asc = ascertainment_intervals(vis, vsubj, ascertainment, recorded=hygiene is not None)
    win = pd.DataFrame({"_w": rows["_w"], "subject": rows["subject"], "w0": rows["S"],
                        "w1": rows["S"] + opts.relapse_window_days - 1})
    counts = count_relapses(win, rel, asc).reindex(rows["_w"])
    return _Inputs(rows, vis, vsubj, rel, episodes, counts, hygiene)


def _group(total: np.ndarray, cuts: list[tuple[float, str]]) -> np.ndarray:
    out = np.empty(len(total), dtype=object)
    for i, t in enumerate(total):
        out[i] = next(label for top, label in cuts if t <= top)
    return out



def _treatment_columns(rows: pd.DataFrame, mri_c: pd.DataFrame) -> dict[str, Any]:
    """The leading columns both Rio scores share: the treatment and the scans used."""
    return {
        "subject": rows["subject"].to_numpy(),
        "drug": rows["drug"].to_numpy(),
        "treatment_start": _dates(rows["S"].to_numpy()),
        "drug_class": rows["drug_class"].to_numpy(),
        "validated_for_drug": rows["validated_for_drug"].to_numpy(bool),
        "warning": rows["warning"].to_numpy(),
        "reference_scan_date": _dates(mri_c["ref_day"].to_numpy()),
        "year1_scan_date": _dates(mri_c["y1_day"].to_numpy()),
    }

def rio_score(treatments: Any, visits: Any, relapses: Any = None, mri: Any = None,
              options: ResponseOptions | None = None, *, ascertainment: Any = None,
              relapse_options: RelapseOptions | None = None) -> pd.DataFrame:
    """Rio score after the first treatment year, one row per treatment start (rules §5.1).

    Criteria (1 point each): more than ``rio_active_lesions_gt`` (2) active lesions on the
    year-1 scan versus the pre-treatment reference scan; >= 1 relapse with onset in [S, S+365);
    an EDSS increase >= 1.0 from the EDSS at treatment start with onset in [S, S+365),
    confirmed >= 183 days later (fixed-reference course-engine run, ``firstCDW``). Score >= 2 =
    high risk of poor response (Río 2009; Río 2018: HR 3.3).

    Parameters
    ----------
    treatments : ``subject``, ``drug``, ``start`` (optional ``stop``): one score per row.
    visits : ``subject``, ``date``, ``edss`` (data model); also the relapse follow-up (first to
        last visit) unless ``ascertainment`` (``subject``, ``start``, ``end``) is given.
    relapses : a :class:`~neda.rules.relapses.RelapseHygiene` or a relapses table (cleaned here
        by relapse hygiene with ``relapse_options``, rules §3.1); ``None``: relapses were not
        recorded, so the relapse criterion is unknown.
    mri : ``subject``, ``date``, ``comparator_date``, ``contrast``, ``gd``, ``new_t2``,
        ``enlarging_t2``; optional ``combined_unique_active`` (counted once per lesion).
    options : :class:`ResponseOptions`.

    Returns one row per treatment row, columns :data:`RIO_COLUMNS`; ``attrs["provenance"]``.
    """
    opts = (options or ResponseOptions()).validated()
    inp = _prepare(treatments, visits, relapses, opts, ascertainment, relapse_options)
    rows, counts = inp.rows, inp.counts
    mri_c = _mri_counts(rows, mri, opts, "new_or_enlarging", with_gd=True)
    ed = _edss_criterion(rows, inp.visits, inp.vsubj, inp.relapses, inp.episodes, opts,
                         inp.hygiene.options if inp.hygiene is not None else None)
    n = len(rows)
    lo, hi = mri_c["lo"].to_numpy(), mri_c["hi"].to_numpy()
    mri_crit = _criterion(lo, hi, opts.rio_active_lesions_gt)
    rmin, rmax = counts["rel_min"].to_numpy(float), counts["rel_max"].to_numpy(float)
    rel_crit = _criterion(rmin, rmax, 0)
    edss_crit = pd.Series(pd.array(ed["crit"].to_numpy(), dtype="Float64").astype("Int64"))
    crits = pd.concat([mri_crit, rel_crit, edss_crit], axis=1)
    smin = crits.fillna(0).sum(axis=1).to_numpy(float)
    smax = crits.fillna(1).sum(axis=1).to_numpy(float)
    cuts = [(1.0, "low"), (INF, "high")]
    gmin, gmax = _group(smin, cuts), _group(smax, cuts)
    risk = np.where(gmin == gmax, gmin, "unknown")
    frame = pd.DataFrame({
        **_treatment_columns(rows, mri_c),
        "active_lesions": _exact(lo, hi),
        "active_lesions_min": lo,
        "active_lesions_max": hi,
        "mri_criterion": mri_crit,
        "mri_reason": _mri_reason(mri_crit, lo, hi, opts.rio_active_lesions_gt,
                                  list(mri_c["why"]), mri_c["pair"].to_numpy(), "active lesions"),
        "relapses_year1": _exact(rmin, rmax),
        "relapses_min": rmin,
        "relapses_max": rmax,
        "relapse_criterion": rel_crit,
        "relapse_reason": [relapse_reason(a, b, c, p, inp.hygiene is not None)
                           for a, b, c, p in zip(rmin, rmax, counts["covered"],
                                                 counts["partial"], strict=True)],
        "edss_reference_date": _dates(ed["ref_day"].to_numpy()),
        "edss_reference_value": ed["ref_val"].to_numpy(),
        "edss_onset_date": _dates(ed["onset_day"].to_numpy()),
        "edss_onset_value": ed["onset_val"].to_numpy(),
        "edss_confirmation_date": _dates(ed["conf_day"].to_numpy()),
        "edss_criterion": edss_crit,
        "edss_reason": ed["why"].to_numpy(),
        "score": pd.array(np.where(smin == smax, smin, np.nan), dtype="Float64").astype("Int64"),
        "score_min": smin.astype(np.int64),
        "score_max": smax.astype(np.int64),
        "risk_group": risk.astype(object),
    }, index=pd.RangeIndex(n))
    return with_provenance(frame, provenance(opts.rule_set, opts, RESPONSE_SOURCE))


def modified_rio_score(treatments: Any, visits: Any, relapses: Any = None, mri: Any = None,
                       options: ResponseOptions | None = None, *, ascertainment: Any = None,
                       relapse_options: RelapseOptions | None = None) -> pd.DataFrame:
    """Modified Rio score after the first treatment year, one row per start (rules §5.2).

    MRI: more than ``mrio_new_t2_gt`` (4) new T2 lesions on the year-1 scan versus the
    pre-treatment reference scan -> 1 point (count per ``mrio_count``: new only by default);
    relapses with onset in [S, S+365): 0 -> 0, 1 -> 1, >= 2 -> 2 points. No EDSS component.
    Total 0 = low, 1 = intermediate, >= 2 = high risk (Sormani 2013: 3-year progression
    24 % / 33 % / 65 %). Arguments as :func:`rio_score` (``visits`` gives the relapse
    follow-up). Returns columns :data:`MRIO_COLUMNS`.
    """
    opts = (options or ResponseOptions()).validated()
    inp = _prepare(treatments, visits, relapses, opts, ascertainment, relapse_options)
    rows, counts = inp.rows, inp.counts
    mri_c = _mri_counts(rows, mri, opts, opts.mrio_count, with_gd=False)
    n = len(rows)
    lo, hi = mri_c["lo"].to_numpy(), mri_c["hi"].to_numpy()
    mri_pts = _criterion(lo, hi, opts.mrio_new_t2_gt)
    rmin, rmax = counts["rel_min"].to_numpy(float), counts["rel_max"].to_numpy(float)
    pmin, pmax = np.minimum(rmin, 2), np.minimum(rmax, 2)
    rel_pts = pd.Series(pd.array(np.where(pmin == pmax, pmin, np.nan), dtype="Float64")
                        .astype("Int64"))
    smin = mri_pts.fillna(0).to_numpy(float) + pmin
    smax = mri_pts.fillna(1).to_numpy(float) + pmax
    cuts = [(0.0, "low"), (1.0, "intermediate"), (INF, "high")]
    gmin, gmax = _group(smin, cuts), _group(smax, cuts)
    risk = np.where(gmin == gmax, gmin, "unknown")
    rel_reason = []
    for a, b, c, p in zip(rmin, rmax, counts["covered"], counts["partial"], strict=True):
        text = relapse_reason(a, b, c, p, inp.hygiene is not None)
        if a >= 1 and a != b and min(a, 2) != min(b, 2):
            text += "; more may have occurred (follow-up or imprecise onset)"
        rel_reason.append(text)
    what = "new T2 lesions" if opts.mrio_count == "new_only" else "new or enlarging T2 lesions"
    frame = pd.DataFrame({
        **_treatment_columns(rows, mri_c),
        "new_t2": _exact(lo, hi),
        "new_t2_min": lo,
        "new_t2_max": hi,
        "mri_points": mri_pts,
        "mri_reason": _mri_reason(mri_pts, lo, hi, opts.mrio_new_t2_gt, list(mri_c["why"]),
                                  mri_c["pair"].to_numpy(), what),
        "relapses_year1": _exact(rmin, rmax),
        "relapses_min": rmin,
        "relapses_max": rmax,
        "relapse_points": rel_pts,
        "relapse_reason": rel_reason,
        "score": pd.array(np.where(smin == smax, smin, np.nan), dtype="Float64").astype("Int64"),
        "score_min": smin.astype(np.int64),
        "score_max": smax.astype(np.int64),
        "risk_group": risk.astype(object),
    }, index=pd.RangeIndex(n))
    return with_provenance(frame, provenance(opts.rule_set, opts, RESPONSE_SOURCE))
