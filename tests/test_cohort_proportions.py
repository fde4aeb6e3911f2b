"""NEDA proportions: counts checked row by row, Wilson intervals against the formula,
unknown never in the denominator."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from cohort_cases import demo_summary, tiny_summary
from scipy.stats import norm

from neda.cohort import neda_proportions, wilson_interval


def _wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson (1927): (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    z = norm.ppf(1 - (1 - confidence) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(0, 5), (0, 3), (0, 12), (3, 10), (7, 7), (45, 120), (1, 1)])
def test_wilson_interval_is_the_formula(k: int, n: int) -> None:
    low, high = wilson_interval([k], [n])
    expected = _wilson(k, n)
    assert low[0] == pytest.approx(max(expected[0], 0), abs=1e-12)
    assert high[0] == pytest.approx(min(expected[1], 1), abs=1e-12)
    # the exact ends, not the formula's rounding (it printed 5.55e-17 for 0 of 3)
    if k == 0:
        assert low[0] == 0.0
    if k == n:
        assert high[0] == 1.0
    low90, _ = wilson_interval([k], [n], confidence=0.9)
    assert low90[0] == pytest.approx(max(_wilson(k, n, 0.9)[0], 0), abs=1e-12)


@pytest.mark.parametrize(("measure", "window"), [("neda3", "per_year"),
                                                 ("neda4", "cumulative")])
def test_counts_agree_with_a_row_by_row_count(measure: str, window: str) -> None:
    s = demo_summary()
    table = neda_proportions(s, measure=measure, window=window)  # type: ignore[arg-type]
    drug = {(r.subject, r.epoch): r.drug for r in s.epochs.itertuples()}
    counts: Counter[tuple[str, int, str]] = Counter()
    for r in s.neda[s.neda["window_type"] == window].itertuples():
        key = (drug[(r.subject, r.epoch)], int(r.window))
        status = getattr(r, measure)
        if r.partial_window:
            counts[(*key, "partial")] += 1
        elif status is pd.NA:
            counts[(*key, "unknown")] += 1
        else:
            counts[(*key, "neda" if status else "activity")] += 1
    for r in table.itertuples():
        assert r.n_neda == counts[(r.group, r.year, "neda")]
        assert r.n_activity == counts[(r.group, r.year, "activity")]
        assert r.n_unknown == counts[(r.group, r.year, "unknown")]
        assert r.partial == counts[(r.group, r.year, "partial")]
        assert r.n_windows == r.n_neda + r.n_activity + r.n_unknown + r.partial
        known = r.n_neda + r.n_activity
        if known:
            assert r.proportion == pytest.approx(r.n_neda / known)
            assert (r.ci_low, r.ci_high) == pytest.approx(
                tuple(min(max(x, 0), 1) for x in _wilson(r.n_neda, known)), abs=1e-12)
        else:
            assert np.isnan(r.proportion) and np.isnan(r.ci_low)
    assert table["n_unknown"].sum() > 0 and table["n_neda"].sum() > 0
    assert sum(table["n_windows"]) == (s.neda["window_type"] == window).sum()


def test_unknown_is_never_neda() -> None:
    s = tiny_summary()
    # ocrelizumab year 1: A has activity (its worsening), C is unknown (no MRI)
    t = neda_proportions(s).set_index(["group", "year"])
    row = t.loc[("ocrelizumab", 1)]
    assert (row["n_neda"], row["n_activity"], row["n_unknown"]) == (0, 1, 1)
    assert row["proportion"] == 0
    # C's year 4 is cut short by the epoch end: left out unless asked for
    assert t.loc[("ocrelizumab", 4), "partial"] == 1
    with_partial = neda_proportions(s, include_partial=True).set_index(["group", "year"])
    assert with_partial.loc[("ocrelizumab", 4), "n_unknown"] == 1


def test_years_and_groups() -> None:
    s = demo_summary()
    t = neda_proportions(s, by="efficacy", years=(1, 2))
    assert set(t["year"]) == {1, 2}
    assert set(t["group"]) <= set(s.epochs["efficacy"])
    with pytest.raises(ValueError, match="measure"):
        neda_proportions(s, measure="neda5")  # type: ignore[arg-type]
