"""NEDA-3 / NEDA-4 proportions per therapy and treatment year, with Wilson intervals.

``neda_proportions(summary)`` counts the NEDA windows :func:`neda.course_summary` computed
(``summary.neda``, rules §5: one row per patient, epoch and treatment year) per group and
year. NEDA is three-valued: a window is ``NEDA`` (true), ``evidence of disease activity``
(false) or ``unknown`` (a component could not be assessed). Unknown windows are reported in
their own column and left out of the denominator - never counted as NEDA.

The proportion is ``n_neda / (n_neda + n_activity)`` with a Wilson score interval
(``statsmodels.stats.proportion.proportion_confint(method="wilson")``; Wilson, JASA 1927;
Brown, Cai & DasGupta, Stat Sci 2001 recommend it over the Wald interval).

Options: ``measure`` (``neda3``, default, or ``neda4``); ``window`` (``per_year``, default:
each treatment year on its own; ``cumulative``: from the start of the epoch to the end of
year k - "NEDA through year k"); ``by`` (default ``drug``; any epochs column such as
``efficacy`` or ``drug_class``, or a patient-level group); ``include_partial`` (default
False: a treatment year cut short by the end of the epoch or of follow-up is left out and
counted in ``partial``); ``confidence`` (0.95).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from ..rules.common import bare
from ._common import epoch_groups, group_order, summary_provenance

Measure = Literal["neda3", "neda4"]
Window = Literal["per_year", "cumulative"]

PROPORTION_COLUMNS = ("group", "year", "n_windows", "n_neda", "n_activity", "n_unknown",
                      "partial", "proportion", "ci_low", "ci_high")


def wilson_interval(successes: Any, n: Any, confidence: float = 0.95
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``successes / n`` (NaN where ``n`` is 0)."""
    from statsmodels.stats.proportion import proportion_confint

    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = m > 0
    if ok.any():
        lo, hi = proportion_confint(k[ok], m[ok], alpha=1 - confidence, method="wilson")
        # clipped: the formula's rounding can leave 1e-17 below 0
        low[ok], high[ok] = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
    # the interval's exact ends: 0 successes give a lower end of 0, all successes an upper
    # end of 1 (the formula's rounding printed 5.55e-17)
    low[ok & (k == 0)] = 0.0
    high[ok & (k == m)] = 1.0
    return low, high


COUNT_COLUMNS = ("group", "year", "n_windows", "n_neda", "n_activity", "n_unknown",
                 "partial")


def _check(measure: str, window: str, confidence: float) -> None:
    if measure not in ("neda3", "neda4"):
        raise ValueError(f"measure {measure!r}: neda3 or neda4")
    if window not in ("per_year", "cumulative"):
        raise ValueError(f"window {window!r}: per_year or cumulative")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence}: a level between 0 and 1, e.g. 0.95")


def neda_counts(summary: Any, *, measure: Measure = "neda3", window: Window = "per_year",
                by: str | None = "drug", include_partial: bool = False,
                years: tuple[int, ...] | None = None) -> pd.DataFrame:
    """The counts behind :func:`neda_proportions` (:data:`COUNT_COLUMNS`), one row per group
    and year. Counts add up: the counts of a cohort are the sums of the counts of any split
    of its patients, which is how the Dask run reduces them (:func:`reduce_neda_counts`)."""
    _check(measure, window, 0.95)
    neda = bare(summary.neda)
    if not len(neda):
        raise ValueError("NEDA needs treatment epochs: give a treatments table (NEDA is "
                         "assessed per treatment year)")
    rows = neda[(neda["window_type"] == window).to_numpy()]
    ep = bare(summary.epochs)
    labels = epoch_groups(summary, by)
    key = pd.MultiIndex.from_arrays([ep["subject"].to_numpy(), ep["epoch"].to_numpy()])
    group_of = pd.Series(labels.to_numpy(), index=key)
    group = group_of.reindex(pd.MultiIndex.from_arrays(
        [rows["subject"].to_numpy(), rows["epoch"].to_numpy()])).to_numpy()
    status = rows[measure].astype("boolean")
    partial = rows["partial_window"].to_numpy(dtype=bool) & (not include_partial)
    data = pd.DataFrame({
        "group": group, "year": rows["window"].to_numpy(dtype=int),
        "neda": (status.fillna(False).to_numpy(dtype=bool)) & ~partial,
        "activity": (~status.fillna(True).to_numpy(dtype=bool)) & ~partial,
        "unknown": status.isna().to_numpy() & ~partial,
        "partial": partial,
    })
    if years is not None:
        data = data[data["year"].isin(years)]
    counts = data.groupby(["group", "year"], sort=False).agg(
        n_windows=("neda", "size"), n_neda=("neda", "sum"), n_activity=("activity", "sum"),
        n_unknown=("unknown", "sum"), partial=("partial", "sum")).reset_index()
    return counts[list(COUNT_COLUMNS)]


def reduce_neda_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The counts of a cohort from the counts of its parts (sums per group and year)."""
    both = pd.concat([p for p in parts if len(p)], ignore_index=True)
    if not len(both):
        return pd.DataFrame(columns=list(COUNT_COLUMNS))
    return both.groupby(["group", "year"], sort=False).sum().reset_index()[
        list(COUNT_COLUMNS)]


def proportions_from_counts(counts: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """:data:`PROPORTION_COLUMNS` from :func:`neda_counts` (or their reduce): groups in their
    display order, the proportion NEDA / (NEDA + activity) and its Wilson interval."""
    order = {g: i for i, g in enumerate(group_order(counts["group"]))}
    counts = counts.sort_values(["group", "year"], key=lambda c: c.map(order)
                                if c.name == "group" else c).reset_index(drop=True)
    known = counts["n_neda"] + counts["n_activity"]
    counts["proportion"] = np.where(known > 0, counts["n_neda"] / known.where(known > 0), np.nan)
    counts["ci_low"], counts["ci_high"] = wilson_interval(counts["n_neda"], known, confidence)
    for c in ("n_windows", "n_neda", "n_activity", "n_unknown", "partial"):
        counts[c] = counts[c].astype(int)
    return counts[list(PROPORTION_COLUMNS)]


def neda_proportions(summary: Any, *, measure: Measure = "neda3", window: Window = "per_year",
                     by: str | None = "drug", include_partial: bool = False,
                     confidence: float = 0.95, years: tuple[int, ...] | None = None
                     ) -> pd.DataFrame:
    """NEDA proportion per group and treatment year (module docstring).

    ``years``: only these treatment years (default: every year with a window). Returns one
    row per group and year (:data:`PROPORTION_COLUMNS`): ``n_windows`` (all windows of the
    year, partial ones included), ``n_neda``, ``n_activity``, ``n_unknown`` (never in the
    denominator), ``partial`` (left out as incomplete), ``proportion`` = n_neda / (n_neda +
    n_activity) and its Wilson interval. ``attrs`` hold the options and the provenance.
    """
    _check(measure, window, confidence)
    counts = proportions_from_counts(
        neda_counts(summary, measure=measure, window=window, by=by,
                    include_partial=include_partial, years=years), confidence)
    counts.attrs = {"measure": measure, "window": window, "by": by,
                    "include_partial": include_partial, "confidence": confidence,
                    "provenance": summary_provenance(summary)}
    return counts


def methods(table: pd.DataFrame) -> str:
    """The methods paragraph of a :func:`neda_proportions` table."""
    a = table.attrs
    what = "NEDA-3" if a.get("measure") == "neda3" else "NEDA-4"
    window = ("each treatment year on its own" if a.get("window") == "per_year"
              else "from the start of the epoch to the end of each treatment year")
    return (
        f"{what} (rules §5; neda rule set {a.get('provenance', {}).get('neda_rule_set')}) was "
        f"assessed per DMT epoch over {window}, and the proportion with {what} computed per "
        f"{a.get('by') or 'cohort'} and treatment year as NEDA / (NEDA + evidence of disease "
        "activity). Windows whose status is unknown (a component not assessable) are "
        "reported separately and are not in the denominator"
        + ("" if a.get("include_partial") else
           "; treatment years cut short by the end of the epoch or of follow-up are left out")
        + f". {int(a.get('confidence', 0.95) * 100)}% confidence intervals: Wilson score "
        "(statsmodels proportion_confint).")
