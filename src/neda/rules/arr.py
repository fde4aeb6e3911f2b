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
from ._common import as_pandas as _to_pandas
from ._common import day_dates, day_numbers, provenance, rule_set_name
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
                                    key="arr.followup_interval")
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


def _dates(days: np.ndarray) -> pd.Series:
    return pd.Series(day_dates(days))


def _count(win: pd.DataFrame, rel: pd.DataFrame) -> pd.DataFrame:
    """Relapse counts per window row (``_w`` key) under the rules §3.1 counting rule."""
    m = win[["_w", "_sid", "_w0", "_w1"]].merge(rel, on="_sid", how="inner")
    if len(m) == 0:
        return pd.DataFrame({"_w": [], "n": [], "n_obj": [], "n_mid": []})
    a, b = m["_a"].to_numpy(), m["_b"].to_numpy()
    w0, w1 = m["_w0"].to_numpy(), m["_w1"].to_numpy()
    inside = (a >= w0) & (b <= w1)
    outside = (b < w0) | (a > w1)
    mid = (a + b) / 2.0
    partial = ~inside & ~outside
    by_mid = partial & (mid >= w0) & (mid < w1 + 1)
    counted = inside | by_mid
    m = m.assign(n=counted.astype(int), n_obj=(counted & m["_obj"].to_numpy()).astype(int),
                 n_mid=by_mid.astype(int))
    return m.groupby("_w", as_index=False)[["n", "n_obj", "n_mid"]].sum()


def pooled_arr(rates: pd.DataFrame, by: str | list[str] | None = None,
               year_days: float = 365.25) -> pd.DataFrame:
    """Pooled ARR of a rates table (``ArrResult.rates`` or a subset, possibly merged with
    grouping columns such as the treatment arm): Σ relapses / Σ person-years per group over
    the windows with person-time (rules §4.6). Not the mean of the per-patient rates."""
    keys = [by] if isinstance(by, str) else list(by or [])
    r = rates[rates["days"].fillna(0) > 0]
    has_obj = rates["relapses_objective"].notna().any() if len(rates) else False
    if keys:
        groups = r.groupby(keys, dropna=False, sort=True)
        agg = groups.agg(subjects=("subject", "nunique"), windows=("subject", "size"),
                         relapses=("relapses", "sum"), objective=("relapses_objective", "sum"),
                         days=("days", "sum")).reset_index()
    else:
        agg = pd.DataFrame({"subjects": [r["subject"].nunique()], "windows": [len(r)],
                            "relapses": [r["relapses"].sum()],
                            "objective": [r["relapses_objective"].sum()],
                            "days": [r["days"].sum()]})
    py = agg["days"].astype(float) / year_days
    with np.errstate(divide="ignore", invalid="ignore"):
        arr = np.where(py > 0, agg["relapses"].astype(float) / py, np.nan)
        arr_obj = np.where(py > 0, agg["objective"].astype(float) / py, np.nan)
    out = agg[keys].copy() if keys else pd.DataFrame(index=agg.index)
    out["subjects"] = agg["subjects"].astype("int64")
    out["windows"] = agg["windows"].astype("int64")
    out["relapses"] = agg["relapses"].astype("int64")
    out["relapses_objective"] = (agg["objective"].astype("Int64") if has_obj
                                 else pd.Series(pd.NA, index=agg.index, dtype="Int64"))
    out["person_years"] = py
    out["arr"] = arr
    out["arr_objective"] = arr_obj if has_obj else np.nan
    return out


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
    fu = ensure_table(followup, "followup")
    fsubj = "subject"
    dup = fu[fsubj].duplicated(keep=False)
    if dup.any():
        raise ValueError(f"followup: one row per subject expected (subject "
                         f"{fu.loc[dup, fsubj].iloc[0]!r} repeats)")
    f0 = _day_array(fu["start"], "start")
    f1 = (_day_array(fu["end"], "end") if "end" in fu.columns
          else np.full(len(fu), np.nan))
    bad = np.isnan(f1)
    if bad.any():
        raise ValueError(f"followup: subject {fu[fsubj].iloc[np.flatnonzero(bad)[0]]!r} has no "
                         "end date (a rate needs a closed follow-up)")
    if (f1 < f0).any():
        raise ValueError(f"followup: subject {fu[fsubj].iloc[np.flatnonzero(f1 < f0)[0]]!r} "
                         "ends before it starts")
    if o.followup_interval == "left_open":
        f0 = f0 + 1  # (start, end] == [start + 1, end]
    fu_map = {sid: (a, b) for sid, a, b in zip(fu[fsubj].to_numpy(), f0, f1, strict=True)}

    # ---- windows ---------------------------------------------------------------------------
    w: dict[str, list[Any]] = {k: [] for k in ("sid", "window", "epoch", "drug", "w0", "w1",
                                                "flags", "first", "nofu")}

    def add(sid: Any, kind: str, epoch: Any, drug: Any, n0: float, n1: float, flags: list[str],
            first: bool) -> None:
        if sid in fu_map:
            a, b = fu_map[sid]
            if n0 < a or (np.isfinite(n1) and n1 > b):
                flags = [*flags, "partial_window"]
            n0, n1 = max(n0, a), min(n1, b)
            nofu = False
        else:
            nofu = True
        w["sid"].append(sid)
        w["window"].append(kind)
        w["epoch"].append(epoch)
        w["drug"].append(drug)
        w["w0"].append(n0)
        w["w1"].append(n1)
        w["flags"].append(flags)
        w["first"].append(first)
        w["nofu"].append(nofu)

    for sid, (a, b) in fu_map.items():
        add(sid, "followup", pd.NA, None, a, b, [], False)

    if windows is not None:
        ep = _to_pandas(windows)
        missing = [c for c in ("subject", "epoch", "drug", "start", "onset", "end")
                   if c not in ep.columns]
        if missing:
            raise ValueError(f"windows table lacks {missing} (expected the output of "
                             "neda.rules.dmt.treatment_epochs)")
        record["windows_provenance"] = ep.attrs.get("provenance")
        ep = ep.sort_values(["subject", "start"], kind="stable")
        s = _day_array(ep["start"], "start")
        on = _day_array(ep["onset"], "onset")
        en = _day_array(ep["end"], "end")
        sids = ep["subject"].to_numpy()
        prev_sid: Any = object()
        earlier: list[tuple[float, float]] = []
        epoch_no = ep["epoch"].astype(int).tolist()  # lists: no per-row .iloc in the loop
        drug_name = ep["drug"].tolist()
        for i in range(len(ep)):
            sid = sids[i]
            if sid != prev_sid:
                earlier = []
                prev_sid = sid
            first = not earlier
            end_i = np.inf if np.isnan(en[i]) else en[i]
            flags = ["ongoing"] if np.isnan(en[i]) else []
            add(sid, "on_treatment", epoch_no[i], drug_name[i], on[i], end_i, flags, first)
            p0, p1 = s[i] - o.pre_treatment_days, s[i] - 1
            pflags = (["previous_dmt"] if any(e0 <= p1 and e1 >= p0 for e0, e1 in earlier)
                      else [])
            add(sid, "pre_treatment", epoch_no[i], drug_name[i], p0, p1, pflags, first)
            earlier.append((s[i], end_i))

    win = pd.DataFrame({"_w": np.arange(len(w["sid"])), "_sid": w["sid"],
                        "_w0": np.array(w["w0"], float), "_w1": np.array(w["w1"], float)})
    nofu = np.array(w["nofu"], bool)
    finite = ~nofu & np.isfinite(win["_w1"].to_numpy())
    days = np.where(finite, np.maximum(win["_w1"].to_numpy() - win["_w0"].to_numpy() + 1, 0),
                    np.nan)

    # ---- relapses --------------------------------------------------------------------------
    # relapse hygiene is the one relapse table (rules §3.1); None = not recorded
    hygiene = as_hygiene(relapses, options=relapse_options)
    if hygiene is not None:
        record["relapses"] = hygiene.provenance
        days_rel = hygiene.onset_days()
        has_obj = bool((days_rel["objective"] >= 0).any())
        relc = pd.DataFrame({"_sid": days_rel["subject"].to_numpy(), "_a": days_rel["a"],
                             "_b": days_rel["b"],
                             "_obj": days_rel["objective"].to_numpy() == 1})
        if len(relc) and len(win) and relc["_sid"].dtype != win["_sid"].dtype:
            relc["_sid"] = relc["_sid"].astype(str)
            win["_sid"] = win["_sid"].astype(str)
    else:
        has_obj = False
        relc = pd.DataFrame({"_sid": [], "_a": [], "_b": [], "_obj": []})
    counts = _count(win[finite], relc).set_index("_w") if len(win) else pd.DataFrame()
    n = counts["n"].reindex(win["_w"]).fillna(0).to_numpy() if len(counts) else np.zeros(len(win))
    n_obj = (counts["n_obj"].reindex(win["_w"]).fillna(0).to_numpy() if len(counts)
             else np.zeros(len(win)))
    n_mid = (counts["n_mid"].reindex(win["_w"]).fillna(0).to_numpy() if len(counts)
             else np.zeros(len(win)))

    # ---- assemble --------------------------------------------------------------------------
    no_data = hygiene is None
    status = np.where(nofu, "no_followup",
                      np.where(no_data, "no_relapse_data",
                               np.where(days == 0, "empty_window",
                                        np.where(days < o.min_followup_days,
                                                 "insufficient_followup", "reported"))))
    py = days / o.year_days
    reported = status == "reported"
    with np.errstate(divide="ignore", invalid="ignore"):
        arr = np.where(reported, n / py, np.nan)
        arr_obj = np.where(reported & has_obj, n_obj / py, np.nan)
    flags = [";".join([*fl, *(["imprecise_midpoint"] if k > 0 else [])])
             for fl, k in zip(w["flags"], n_mid, strict=True)]
    w0_out = np.where(nofu, np.nan, win["_w0"].to_numpy())
    w1_out = np.where(finite, win["_w1"].to_numpy(), np.nan)
    rates = pd.DataFrame({
        "subject": pd.Series(w["sid"]) if w["sid"] else pd.Series([], dtype=object),
        "window": pd.Series(w["window"], dtype=object),
        "epoch": pd.Series(w["epoch"], dtype="Int64"),
        "drug": pd.Series(w["drug"], dtype=object),
        "window_start": _dates(w0_out),
        "window_end": _dates(w1_out),
        "days": pd.Series(days, dtype="Float64").astype("Int64"),
        "person_years": py,
        "relapses": (pd.Series(np.where(finite, n, 0), dtype="Int64") if not no_data
                     else pd.Series(pd.NA, index=range(len(win)), dtype="Int64")),
        "relapses_objective": (pd.Series(np.where(finite, n_obj, 0), dtype="Int64") if has_obj
                               else pd.Series(pd.NA, index=range(len(win)), dtype="Int64")),
        "relapses_midpoint": pd.Series(np.where(finite, n_mid, 0), dtype="int64"),
        "arr": arr,
        "arr_objective": arr_obj,
        "status": pd.Series(status, dtype=object),
        "flags": pd.Series(flags, dtype=object),
    })
    rates["rule_set"] = o.rule_set
    order = {"followup": 0, "on_treatment": 1, "pre_treatment": 2}
    rates["_o"] = rates["window"].map(order)
    rates["_first"] = pd.Series(w["first"], dtype=bool)
    rates = rates.sort_values(["subject", "_o", "epoch"], kind="stable").reset_index(drop=True)
    first_epoch = rates.pop("_first")
    rates = rates.drop(columns="_o")

    # ---- pooled ----------------------------------------------------------------------------
    parts: list[pd.DataFrame] = []
    for kind in ("followup", "on_treatment", "pre_treatment"):
        sel = rates[rates["window"] == kind]
        if kind == "followup":
            parts.append(pooled_arr(sel, year_days=o.year_days).assign(
                window=kind, drug="all", pooled_over="follow-up window of every subject"))
            continue
        if len(sel) == 0:
            continue
        if kind == "on_treatment":
            total = pooled_arr(sel, year_days=o.year_days).assign(
                pooled_over="on_treatment windows of every epoch")
        else:
            total = pooled_arr(sel[first_epoch[sel.index]], year_days=o.year_days).assign(
                pooled_over="pre_treatment window of each subject's first epoch")
        per_drug = pooled_arr(sel, by="drug", year_days=o.year_days).assign(
            pooled_over=f"{kind} windows of every epoch of the drug")
        parts.append(total.assign(window=kind, drug="all"))
        parts.append(per_drug.assign(window=kind))
    pooled = pd.concat(parts, ignore_index=True)
    pooled["rule_set"] = o.rule_set
    pooled = pooled[list(POOLED_COLUMNS)]
    if not has_obj:
        pooled["relapses_objective"] = pd.Series(pd.NA, index=pooled.index, dtype="Int64")
        pooled["arr_objective"] = np.nan
    rates.attrs["provenance"] = record
    pooled.attrs["provenance"] = record
    return ArrResult(rates=rates, pooled=pooled, options=o, provenance=record)
