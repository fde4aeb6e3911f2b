"""Annualised relapse rate (clinical rules §4.6).

``annualised_relapse_rate(relapses, followup, windows=None, options)`` counts relapses per
window and divides by person-years:

* **Numerator** - relapses (already cleaned by relapse hygiene, rules §3.1: >=24 h, merged when
  <30 days apart; rows flagged ``pseudo`` are left out here as well) with onset in the window.
  Imprecise onsets (``YYYY-MM``, ``YYYY`` or a ``date_end`` range; intervals ``[a, b]`` from
  :func:`neda.course.relapse_onset_intervals`) follow the counting rule of rules §3.1: counted
  when ``[a, b]`` lies inside the window, not counted when it lies outside, and when partly
  inside counted in the window that holds its midpoint ``(a + b) / 2`` (flagged
  ``imprecise_midpoint``). A window of days ``[w0, w1]`` holds the midpoint when
  ``w0 <= (a + b) / 2 < w1 + 1``, so adjacent windows never both count one relapse.
* **Denominator** - person-years = days in the window / ``year_days`` (365.25; rules §0.2, 4.6).
  Windows include both ends: ``[w0, w1]`` has ``w1 - w0 + 1`` days.
* **Per patient** - over the follow-up window; not reported (``status =
  insufficient_followup``, ``arr`` NaN) when the window has fewer than ``min_followup_days``
  (183) days (rules §4.6 [C]).
* **Per epoch** (``windows`` = :func:`neda.rules.dmt.treatment_epochs` output) - on-treatment
  window from the epoch onset (start + onset delay) to the epoch end (rules §4.6, 8.3), and the
  pre-treatment window of ``pre_treatment_days`` (365) days before the epoch start,
  ``[start - 365, start - 1]``; both cut to follow-up (flag ``partial_window``).
* **Pooled (cohort) ARR** - sum of relapses / sum of person-years over all windows of a group,
  **not** the mean of per-patient rates, which overweights short follow-up (rules §4.6 [V]:
  peers msclinical ``table1`` and mstrial; Tysabri label footnote). Pooled rates use every
  window with person-time, including those too short for a per-patient rate.
* **All vs objectively confirmed** - when the relapses table has an ``objective`` column (spec
  3.1 ``objectively_confirmed``: true / "yes"), ``relapses_objective`` and ``arr_objective``
  count the confirmed ones; without it they are <NA>.

Group comparisons (negative binomial regression with a log person-years offset, rules §4.6 [M])
are not part of this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..io import ensure_table
from ..options import Options, option
from .common import (
    DayIndex,
    column_numpy,
    day_dates,
    day_numbers,
    factorized,
    frame_of,
    index_positions,
    provenance,
    rule_set_name,
    single_value,
    subject_codes,
    texts_by_key,
)
from .common import as_pandas as _to_pandas
from .relapses import RelapseOptions, as_hygiene

#: Columns of :attr:`ArrResult.rates`, in order.
RATE_COLUMNS = {
    "subject": "Subject identifier.",
    "window": "followup, on_treatment or pre_treatment.",
    "epoch": "Epoch number (<NA> for the follow-up window).",
    "drug": "Generic drug name of the epoch (None for the follow-up window).",
    "window_start": "First day of the window (included).",
    "window_end": "Last day of the window (included).",
    "days": "Days in the window (w1 - w0 + 1; 0 = empty; <NA> = no follow-up).",
    "person_years": "days / year_days.",
    "relapses": "Relapses counted in the window (rules §3.1 counting rule).",
    "relapses_objective": "Of which objectively confirmed (<NA> without an objective column).",
    "relapses_midpoint": "Of which imprecise onsets assigned by their midpoint (flagged).",
    "arr": "relapses / person_years; NaN unless status is 'reported'.",
    "arr_objective": "relapses_objective / person_years; NaN unless reported.",
    "status": "reported, insufficient_followup (days < min_followup_days), empty_window, "
              "no_followup.",
    "flags": "partial_window, ongoing, previous_dmt, imprecise_midpoint; ';'-separated.",
    "rule_set": "Name of the options that produced the row.",
}

#: Columns of :attr:`ArrResult.pooled` and :func:`pooled_arr`.
POOLED_COLUMNS = {
    "window": "followup, on_treatment or pre_treatment.",
    "drug": "Drug pooled over, or 'all'.",
    "pooled_over": "Which windows were pooled.",
    "subjects": "Subjects contributing person-time.",
    "windows": "Windows contributing person-time.",
    "relapses": "Sum of relapses.",
    "relapses_objective": "Sum of objectively confirmed relapses (<NA> without the column).",
    "person_years": "Sum of person-years.",
    "arr": "Pooled ARR = relapses / person_years (rules §4.6).",
    "arr_objective": "relapses_objective / person_years.",
    "rule_set": "Name of the options.",
}

ARR_SOURCE = ("docs/rules.md §4.6 (ARR), 3.1 (counting imprecise onsets), "
              "8.3 (epoch windows), 0.2 (365.25-day years)")
FOLLOWUP_INTERVALS = ("closed", "left_open")


@dataclass(frozen=True)
class ArrOptions(Options):
    """Options of the annualised relapse rate (rules §10 keys ``arr.*``).

    year_days : ``arr.year_days`` = 365.25 days per person-year (rules §0.2
        ``time.person_year_days`` [C]; peers msclinical/mstrial use 365.25).
    min_followup_days : ``arr.min_followup_days`` = 183 (6 months, rules §0.2); a per-patient (or
        per-window) rate over fewer days is not reported (``insufficient_followup``). Spec 4.6 [C].
    pre_treatment_days : ``arr.pre_treatment_days`` = 365 (variant 730): the pre-treatment
        window is ``[start - pre_treatment_days, start - 1]``. Spec 4.6 [C].
    followup_interval : how the follow-up table's ``start``/``end`` are read [C; the rules'
        "days in window" leaves it open]. ``"closed"`` (default): both days belong to follow-up,
        ``end - start + 1`` days, consistent with the closed epoch windows of rules §8.3.
        ``"left_open"``: ``(start, end]``, ``end - start`` days, a relapse on the start day not
        counted - the convention of msclinical ``table1`` and mstrial ``endpoints`` (parity).
    name : rule-set name stored with results; default ``"spec_defaults"`` or ``"custom"``.
    """

    year_days: float = option(365.25, gt=0, key="arr.year_days")
    min_followup_days: int = option(183, whole=True, ge=0, key="arr.min_followup_days")
    pre_treatment_days: int = option(365, whole=True, ge=0, key="arr.pre_treatment_days")
    followup_interval: str = option("closed", choices=FOLLOWUP_INTERVALS,
                                    key="")
    name: str | None = None

    @property
    def rule_set(self) -> str:
        return rule_set_name(self)


@dataclass
class ArrResult:
    """Output of :func:`annualised_relapse_rate`.

    ``rates``: one row per subject and window (columns :data:`RATE_COLUMNS`);
    ``pooled``: cohort rates (columns :data:`POOLED_COLUMNS`); ``options``;
    ``provenance`` (also in ``rates.attrs`` and ``pooled.attrs``).
    """

    rates: pd.DataFrame
    pooled: pd.DataFrame
    options: ArrOptions
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def per_patient(self) -> pd.DataFrame:
        """Follow-up window rows (one per subject)."""
        return self.rates[self.rates["window"] == "followup"].reset_index(drop=True)

    @property
    def per_epoch(self) -> pd.DataFrame:
        """On-treatment window rows (one per epoch)."""
        return self.rates[self.rates["window"] == "on_treatment"].reset_index(drop=True)

    @property
    def pre_treatment(self) -> pd.DataFrame:
        """Pre-treatment window rows (one per epoch)."""
        return self.rates[self.rates["window"] == "pre_treatment"].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------

def _day_array(values: pd.Series, what: str) -> np.ndarray:
    """Day numbers (float, NaN for missing)."""
    return day_numbers(values)


def _count(sid: np.ndarray, w0: np.ndarray, w1: np.ndarray, rel_sid: np.ndarray,
           a: np.ndarray, b: np.ndarray, objective: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relapses counted per window (all, objective, by midpoint) under the rules §3.1 counting
    rule; windows of subject codes ``sid`` over days [w0, w1], relapses of codes ``rel_sid``."""
    n = len(sid)
    if not len(a) or not n:
        return np.zeros(n), np.zeros(n), np.zeros(n)
    # a relapse overlapping [w0, w1] has w0 - (longest onset interval) <= a <= w1
    reach = float(np.max(b - a))
    w, r = DayIndex.of(rel_sid, a).pairs(sid, w0 - reach, w1)
    a, b, lo, hi = a[r], b[r], w0[w], w1[w]
    inside = (a >= lo) & (b <= hi)
    outside = (b < lo) | (a > hi)
    mid = (a + b) / 2.0
    partial = ~inside & ~outside
    by_mid = partial & (mid >= lo) & (mid < hi + 1)
    counted = inside | by_mid
    return (np.bincount(w, weights=counted, minlength=n),
            np.bincount(w, weights=counted & objective[r], minlength=n),
            np.bincount(w, weights=by_mid, minlength=n))


def pooled_arr(rates: pd.DataFrame, by: str | list[str] | None = None,
               year_days: float = 365.25) -> pd.DataFrame:
    """Pooled ARR of a rates table (``ArrResult.rates`` or a subset, possibly merged with
    grouping columns such as the treatment arm): Σ relapses / Σ person-years per group over
    the windows with person-time (rules §4.6). Not the mean of the per-patient rates.
    Groups are the key values that occur, in sorted order (missing last)."""
    keys = [by] if isinstance(by, str) else list(by or [])
    cols = _pooled(rates["subject"].to_numpy(), _floats(rates["days"]),
                   _floats(rates["relapses"]), _floats(rates["relapses_objective"]),
                   {k: rates[k].to_numpy() for k in keys}, year_days)
    cols["relapses_objective"] = _objective_counts(cols["relapses_objective"])
    return pd.DataFrame(cols)


def _floats(column: pd.Series) -> np.ndarray:
    return column.to_numpy(np.float64, na_value=np.nan)


def _pooled(subject: np.ndarray, days: np.ndarray, relapses: np.ndarray,
            objective: np.ndarray, keys: dict[str, np.ndarray], year_days: float
            ) -> dict[str, Any]:
    """:func:`pooled_arr` on the columns of a rates table (counts as floats, NaN = <NA>);
    ``relapses_objective`` as (counts, whether they are missing): see
    :func:`_objective_counts`."""
    days = _zero_nan(days)  # (elementwise: the used rows' values as zeroed on their own)
    used = days > 0
    has_obj = bool((~np.isnan(objective)).any())
    # group of each used window: codes of the sorted key values, combined
    key_codes, key_values = [], []
    for values in keys.values():
        values = values[used]
        codes, uniques = factorized(values, sort=True, use_na_sentinel=False)
        key_codes.append(codes)
        key_values.append(uniques)
    n_used = int(used.sum())
    if len(keys) == 1 and n_used and len(key_values[0]) == 1:  # one key value: one group
        groups, group = np.zeros((1, 1), np.int64), np.zeros(n_used, np.int64)
    elif len(keys) == 1:  # one key: its codes, without sorting rows of a 2-D array
        groups, group = np.unique(key_codes[0], return_inverse=True)
        groups, group = groups.reshape(-1, 1), group.reshape(-1)
    elif keys:
        groups, group = np.unique(np.stack(key_codes, axis=1), axis=0, return_inverse=True)
        group = group.reshape(-1)
    else:
        groups, group = np.zeros((1, 0), np.int64), np.zeros(n_used, np.int64)
    n = len(groups)

    def total(values: np.ndarray, zeroed: bool = False) -> np.ndarray:
        values = values[used]
        return np.bincount(group, weights=values if zeroed else _zero_nan(values),
                           minlength=n)

    subject = subject[used]
    windows = np.bincount(group, minlength=n).astype("int64")
    if single_value(subject):  # one subject (of known identifier): in every group with a row
        n_subjects = (windows > 0).astype("int64")
    else:
        code = pd.factorize(subject)[0]
        # distinct (group, subject) pairs as one integer each; a missing subject is no
        # subject (as nunique)
        known = code >= 0
        span = int(code.max()) + 1 if known.any() else 1
        pairs = np.unique(group[known] * span + code[known]) // span
        n_subjects = np.bincount(pairs, minlength=n).astype("int64")
    py = total(days, zeroed=True) / year_days
    n_rel = total(relapses)
    n_obj = total(objective) if has_obj else np.zeros(n)  # (no objective count: zeros)
    # (rates of the groups with person-time; NaN without, as n / 0 is not a rate)
    some = py > 0
    arr = np.divide(n_rel, py, out=np.full(n, np.nan), where=some)
    arr_obj = (np.divide(n_obj, py, out=np.full(n, np.nan), where=some) if has_obj
               else np.full(n, np.nan))
    out: dict[str, Any] = {k: (v.take(groups[:, i]) if isinstance(v, np.ndarray)
                               else pd.api.extensions.take(v, groups[:, i]))
                           for i, (k, v) in enumerate(zip(keys, key_values, strict=True))}
    out["subjects"] = n_subjects
    out["windows"] = windows
    out["relapses"] = n_rel.astype("int64")
    out["relapses_objective"] = (n_obj.astype("int64"), np.full(n, not has_obj))
    out["person_years"] = py
    out["arr"] = arr
    out["arr_objective"] = arr_obj
    return out


def _objective_counts(counts: tuple[np.ndarray, np.ndarray]) -> pd.arrays.IntegerArray:
    """The ``relapses_objective`` column of (counts, missing)."""
    return pd.arrays.IntegerArray(*counts)


def _zero_nan(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values)`` (counts and days: NaN, never infinite, in practice)."""
    out = np.where(np.isnan(values), 0.0, values)
    return out if not np.isinf(out).any() else np.nan_to_num(values)


def _missing_counts(n: int) -> pd.arrays.IntegerArray:
    """``pd.array([pd.NA] * n, dtype="Int64")``."""
    return pd.arrays.IntegerArray(np.ones(n, np.int64), np.ones(n, bool))


def _flags(bits: np.ndarray) -> np.ndarray:
    """';'-joined window flags from bits (1 ongoing, 2 previous_dmt, 4 partial_window,
    8 imprecise_midpoint), each distinct set written once."""
    names = ("ongoing", "previous_dmt", "partial_window", "imprecise_midpoint")
    return texts_by_key(bits, lambda k: ";".join(f for i, f in enumerate(names)
                                                 if k >> i & 1))


def annualised_relapse_rate(
    relapses: Any,
    followup: Any,
    windows: Any = None,
    options: ArrOptions | None = None,
    *,
    relapse_options: RelapseOptions | None = None,
) -> ArrResult:
    """Annualised relapse rates per patient, per DMT epoch, before treatment, and pooled.

    Parameters
    ----------
    relapses : the relapses: a :class:`~neda.rules.relapses.RelapseHygiene`, or a relapses
        table (``docs/data-model.md``) cleaned here by relapse hygiene (rules §3.1, with
        ``relapse_options``: pseudo-relapses out, attacks < 30 days apart one relapse,
        imprecise onsets as intervals). ``None``: relapses were not recorded - every rate is
        unknown (status ``no_relapse_data``), never 0.
    followup : one row per subject: ``subject``, ``start``, ``end`` - the period in which
        relapses were ascertained (rules §2.7.2 ascertainment interval), read per
        ``options.followup_interval``. Subjects absent here get no follow-up row.
    windows : optional treatment-epochs table (:func:`neda.rules.dmt.treatment_epochs`); adds
        on-treatment rows ``[onset, end]`` and pre-treatment rows ``[start - 365, start - 1]``
        per epoch, cut to follow-up.
    options : :class:`ArrOptions` (spec defaults).

    Returns
    -------
    :class:`ArrResult` with ``rates`` (:data:`RATE_COLUMNS`) and ``pooled``
    (:data:`POOLED_COLUMNS`): follow-up over all subjects; on-treatment per drug and over all
    epochs; pre-treatment per drug and, for "all", over each subject's first epoch only (the
    pre-treatment windows of later epochs may overlap earlier ones).
    """
    o = (options or ArrOptions()).validated()
    record = provenance(o.rule_set, o, ARR_SOURCE)

    # ---- follow-up -------------------------------------------------------------------------
    # (columns read without building Series: neda.rules.common.column)
    fu = ensure_table(followup, "followup")
    fsubj = "subject"
    fu_subject = column_numpy(fu, fsubj)
    if len(fu) > 1:  # (one row: nothing repeats)
        dup = pd.Series(fu_subject).duplicated(keep=False).to_numpy()
        if dup.any():
            raise ValueError(f"followup: one row per subject expected (subject "
                             f"{fu_subject[dup][0]!r} repeats)")
    f0 = _day_array(column_numpy(fu, "start"), "start")
    f1 = (_day_array(column_numpy(fu, "end"), "end") if "end" in fu.columns
          else np.full(len(fu), np.nan))
    bad = np.isnan(f1)
    if bad.any():
        raise ValueError(f"followup: subject {fu_subject[np.flatnonzero(bad)[0]]!r} has no "
                         "end date (a rate needs a closed follow-up)")
    if (f1 < f0).any():
        raise ValueError(f"followup: subject {fu_subject[np.flatnonzero(f1 < f0)[0]]!r} "
                         "ends before it starts")
    if o.followup_interval == "left_open":
        f0 = f0 + 1  # (start, end] == [start + 1, end]

    # ---- windows: follow-up, then on- and pre-treatment per epoch --------------------------
    subjects = pd.Index(fu_subject)
    sid = [fu_subject]
    kind = [np.full(len(fu), "followup", dtype=object)]
    epoch = [np.zeros(len(fu), np.int64)]
    drug = [np.full(len(fu), None, dtype=object)]
    n0, n1 = [f0], [f1]
    bits = [np.zeros(len(fu), np.int64)]
    first = [np.zeros(len(fu), bool)]
    if windows is not None:
        ep = _to_pandas(windows)
        missing = [c for c in ("subject", "epoch", "drug", "start", "onset", "end")
                   if c not in ep.columns]
        if missing:
            raise ValueError(f"windows table lacks {missing} (expected the output of "
                             "neda.rules.dmt.treatment_epochs)")
        record["windows_provenance"] = ep.attrs.get("provenance")
        ep_subject = column_numpy(ep, "subject")
        ep_code = factorized(ep_subject, sort=True)[0]
        s = _day_array(column_numpy(ep, "start"), "start")
        order = np.lexsort((s, ep_code))  # by subject, then start (stable)
        ep_subject, ep_code, s = ep_subject[order], ep_code[order], s[order]
        on = _day_array(column_numpy(ep, "onset"), "onset")[order]
        en = _day_array(column_numpy(ep, "end"), "end")[order]
        end = np.where(np.isnan(en), np.inf, en)
        new_subject = np.ones(len(order), bool)
        new_subject[1:] = ep_code[1:] != ep_code[:-1]
        # previous_dmt: an earlier epoch of the subject, started before this one, still running
        # in the pre-treatment window [s - pre, s - 1]: the latest end among the epochs that
        # precede the subject's first epoch with this start
        p0 = s - o.pre_treatment_days
        # (each subject's running maximum, in numpy: rows are by subject, ends never NaN;
        # a value's rank offset by its subject, so one accumulate serves every subject)
        # one subject (a clinic screen): one maximum (codes sorted: a missing subject's -1
        # would come first and needs the offsets below)
        if len(ep_code) and ep_code[0] == 0 and ep_code[-1] == 0:
            run_end = np.maximum.accumulate(end)
        else:
            ends, rank = np.unique(end, return_inverse=True)
            offset = ep_code.astype(np.int64) * len(ends)
            run_end = ends[np.maximum.accumulate(offset + rank.reshape(-1)) - offset]
        tie_start = np.ones(len(order), bool)
        tie_start[1:] = new_subject[1:] | (s[1:] != s[:-1])
        head = np.maximum.accumulate(np.where(tie_start, np.arange(len(order)), 0))
        before = np.where(new_subject[head], -np.inf, run_end[np.maximum(head - 1, 0)])
        previous = before >= p0
        # rows in the order they were added: each epoch's on-treatment, then pre-treatment row
        pair = np.repeat(np.arange(len(order)), 2)
        on_row = np.zeros(2 * len(order), bool)
        on_row[::2] = True  # (np.tile([True, False], ...))
        sid.append(ep_subject[pair])
        kind.append(np.where(on_row, "on_treatment", "pre_treatment").astype(object))
        epoch.append(column_numpy(ep, "epoch")[order].astype(int)[pair])
        drug.append(np.asarray(column_numpy(ep, "drug"), dtype=object)[order][pair])
        n0.append(np.where(on_row, on[pair], p0[pair]))
        n1.append(np.where(on_row, end[pair], s[pair] - 1))
        bits.append(np.where(on_row, np.isnan(en)[pair] * 1, previous[pair] * 2))
        first.append(new_subject[pair])
    sid_all = np.concatenate(sid)
    w0, w1 = np.concatenate(n0), np.concatenate(n1)
    flag_bits = np.concatenate(bits)
    # windows are cut to the subject's follow-up (flag partial_window); none: no_followup
    fpos = index_positions(subjects, sid_all)
    nofu = fpos < 0
    fa = np.where(nofu, np.nan, f0[fpos])
    fb = np.where(nofu, np.nan, f1[fpos])
    cut = ~nofu & ((w0 < fa) | (np.isfinite(w1) & (w1 > fb)))
    flag_bits = flag_bits + 4 * cut
    w0 = np.where(~nofu & (fa > w0), fa, w0)  # max(w0, fa), NaN start kept
    w1 = np.where(~nofu & (fb < w1), fb, w1)
    finite = ~nofu & np.isfinite(w1)
    days = np.where(finite, np.maximum(w1 - w0 + 1, 0), np.nan)

    # ---- relapses --------------------------------------------------------------------------
    # relapse hygiene is the one relapse table (rules §3.1); None = not recorded
    hygiene = as_hygiene(relapses, options=relapse_options)
    n = np.zeros(len(sid_all))
    n_obj = np.zeros(len(sid_all))
    n_mid = np.zeros(len(sid_all))
    if hygiene is not None:
        record["relapses"] = hygiene.provenance
        days_rel = hygiene.onset_arrays()
        has_obj = bool((days_rel["objective"] >= 0).any())
        one = single_value(sid_all)
        # (one patient with the follow-up row's identifier type: that row's index)
        rel_index = (subjects if one and len(subjects) == 1 and sid_all.dtype == subjects.dtype
                     else pd.Index(sid_all[:1] if one else pd.unique(sid_all)))
        rows = np.flatnonzero(finite)
        counted = _count(subject_codes(rel_index, sid_all[rows]), w0[rows], w1[rows],
                         subject_codes(rel_index, days_rel["subject"]),
                         days_rel["a"], days_rel["b"], days_rel["objective"] == 1)
        n[rows], n_obj[rows], n_mid[rows] = counted
    else:
        has_obj = False

    # ---- assemble --------------------------------------------------------------------------
    no_data = hygiene is None
    status = np.where(nofu, "no_followup",
                      np.where(no_data, "no_relapse_data",
                               np.where(days == 0, "empty_window",
                                        np.where(days < o.min_followup_days,
                                                 "insufficient_followup", "reported"))))
    py = days / o.year_days
    reported = status == "reported"
    # (a reported window has days: no division by zero)
    arr = np.divide(n, py, out=np.full(len(py), np.nan), where=reported)
    arr_obj = np.divide(n_obj, py, out=np.full(len(py), np.nan), where=reported & has_obj)
    flags = _flags(flag_bits + 8 * (n_mid > 0))
    w0_out = np.where(nofu, np.nan, w0)
    w1_out = np.where(finite, w1, np.nan)
    window = np.concatenate(kind)
    epoch_no = np.concatenate(epoch)
    is_fu = window == "followup"
    n_win = len(sid_all)
    counts = np.where(finite, n, 0).astype(np.int64)
    columns = {
        "subject": sid_all if n_win else np.zeros(0, dtype=object),
        "window": window,
        "epoch": pd.arrays.IntegerArray(epoch_no, is_fu),
        "drug": np.concatenate(drug),
        "window_start": day_dates(w0_out),
        "window_end": day_dates(w1_out),
        # (pd.array(days, dtype="Float64").astype("Int64"): whole numbers or NaN)
        "days": pd.arrays.IntegerArray(np.where(np.isnan(days), 0, days).astype(np.int64),
                                       np.isnan(days)),
        "person_years": py,
        "relapses": (pd.arrays.IntegerArray(counts, np.zeros(n_win, bool)) if not no_data
                     else _missing_counts(n_win)),
        "relapses_objective": (pd.arrays.IntegerArray(np.where(finite, n_obj, 0).astype(
            np.int64), np.zeros(n_win, bool)) if has_obj
            else _missing_counts(n_win)),
        "relapses_midpoint": np.where(finite, n_mid, 0).astype(np.int64),
        "arr": arr,
        "arr_objective": arr_obj,
        "status": status.astype(object),
        "flags": flags,
        "rule_set": o.rule_set,
    }
    # rows by subject, then follow-up, on- and pre-treatment, then epoch (stable)
    kind_rank = np.where(is_fu, 0, np.where(window == "on_treatment", 1, 2))
    by_row: Any = np.lexsort((np.where(is_fu, -1, epoch_no), kind_rank,
                             factorized(sid_all, sort=True)[0]))
    in_order = bool((by_row == np.arange(n_win)).all())
    if in_order:  # rows already in order (one epoch): the columns as built
        by_row = slice(None)
    # one block per column, each column's type as built (pandas would copy the columns of
    # one type into a 2-D block and look for dates in the object columns)
    rates = frame_of({k: (v[by_row] if not (in_order or isinstance(v, str)) else v)
                      for k, v in columns.items()}, infer_dates=False)

    # ---- pooled ----------------------------------------------------------------------------
    # from the sorted columns: follow-up over all subjects; on-treatment over all epochs and
    # per drug; pre-treatment over each subject's first epoch and per drug
    kind_sorted = window[by_row]
    first_epoch = np.concatenate(first)[by_row]
    values = (column_numpy(rates, "subject"), days[by_row],
              np.where(finite, n, 0.0)[by_row] if not no_data else np.full(n_win, np.nan),
              np.where(finite, n_obj, 0.0)[by_row] if has_obj else np.full(n_win, np.nan))
    drugs = column_numpy(rates, "drug")
    parts: list[dict[str, Any]] = []

    def part(rows: np.ndarray, kind_name: str, pooled_over: str, per_drug: bool) -> None:
        subject, days_, relapses_, objective_ = (v[rows] for v in values)
        cols = _pooled(subject, days_, relapses_, objective_,
                       {"drug": drugs[rows]} if per_drug else {}, o.year_days)
        m = len(cols["subjects"])
        parts.append({"window": np.full(m, kind_name, dtype=object),
                      "drug": cols.pop("drug") if per_drug else np.full(m, "all", dtype=object),
                      "pooled_over": np.full(m, pooled_over, dtype=object), **cols})

    part(kind_sorted == "followup", "followup", "follow-up window of every subject", False)
    for kind_name in ("on_treatment", "pre_treatment"):
        rows = kind_sorted == kind_name
        if not rows.any():
            continue
        if kind_name == "on_treatment":
            part(rows, kind_name, "on_treatment windows of every epoch", False)
        else:
            part(rows & first_epoch, kind_name,
                 "pre_treatment window of each subject's first epoch", False)
        part(rows, kind_name, f"{kind_name} windows of every epoch of the drug", True)
    pooled_cols: dict[str, Any] = {c: np.concatenate([p[c] for p in parts])
                                   for c in POOLED_COLUMNS if c not in ("relapses_objective",
                                                                        "rule_set")}
    objective = [p["relapses_objective"] for p in parts]
    pooled_cols["relapses_objective"] = pd.arrays.IntegerArray(
        np.concatenate([np.where(missing, 0, x) for x, missing in objective]),
        np.concatenate([missing for _, missing in objective]) | (not has_obj))
    if not has_obj:
        pooled_cols["arr_objective"] = np.full(len(pooled_cols["arr"]), np.nan)
    pooled_cols["rule_set"] = o.rule_set
    # (pd.DataFrame's table, one block per type, without its per-column checks)
    # (its object columns hold window and drug names and texts, never dates)
    pooled = frame_of({c: pooled_cols[c] for c in POOLED_COLUMNS}, consolidate=True,
                      infer_dates=False)
    rates.attrs["provenance"] = record
    pooled.attrs["provenance"] = record
    return ArrResult(rates=rates, pooled=pooled, options=o, provenance=record)
