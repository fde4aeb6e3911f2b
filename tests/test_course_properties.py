"""Invariants of the course engine (hypothesis), and the native API checked against pymsprog.

pymsprog 1.0.7 is the slow reference: with ascertainment and relapse merging switched off and
the preset's threshold table passed as ``delta_fun``, every preset must give pymsprog's events.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import pandas as pd
import pymsprog
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neda.course import PRESETS, CourseOptions, confirmed_events
from neda.rules.relapses import RelapseOptions

D0 = pd.Timestamp("2000-01-01")  # generated courses stay before the data cut-off
GAPS = [1, 14, 29, 30, 31, 60, 76, 77, 83, 84, 85, 89, 90, 91, 120, 150, 183, 240, 365, 800]
EDSS = [0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0]


@st.composite
def patient(draw: Any, min_visits: int = 2, max_visits: int = 10) -> tuple[list, list]:
    n = draw(st.integers(min_visits, max_visits))
    gaps = [0] + draw(st.lists(st.sampled_from(GAPS), min_size=n - 1, max_size=n - 1))
    days = np.cumsum(gaps).tolist()
    start = draw(st.sampled_from(EDSS[:9]))
    values = [start]
    for _ in range(n - 1):
        step = draw(st.sampled_from([-1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5]))
        values.append(float(min(10.0, max(0.0, values[-1] + step))))
    values = [1.0 if v == 0.5 else v for v in values]  # EDSS has no 0.5
    n_rel = draw(st.integers(0, 3))
    rel = draw(st.lists(st.integers(-30, int(days[-1]) + 60), min_size=n_rel, max_size=n_rel))
    return list(zip(days, values, strict=True)), sorted(set(rel))


def frames(p: tuple[list, list], shift: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    visits, rel = p
    v = pd.DataFrame({"id": "P", "date": [D0 + pd.Timedelta(days=d + shift) for d, _ in visits],
                      "edss": [x for _, x in visits]})
    r = pd.DataFrame({"id": ["P"] * len(rel),
                      "date": [D0 + pd.Timedelta(days=d + shift) for d in rel]})
    return v, r


def key(res: Any, shift: int = 0) -> list[tuple]:
    e = res.events
    return [
        (t, c, (o - D0).days - shift, (cf - D0).days - shift, (rf - D0).days - shift)
        for t, c, o, cf, rf in zip(e.event_type, e.cdw_class, e.onset_date,
                                   e.confirmation_date, e.reference_date, strict=True)
    ]


@settings(max_examples=80, deadline=None)
@given(patient(), st.integers(-4000, 4000), st.sampled_from(sorted(PRESETS)))
def test_shifting_all_dates_changes_nothing(p: Any, shift: int, name: str) -> None:
    opts = CourseOptions.from_preset(name)
    a = confirmed_events(*frames(p), opts)
    b = confirmed_events(*frames(p, shift), opts)
    assert key(a) == key(b, shift)


@settings(max_examples=80, deadline=None)
@given(patient(), st.sampled_from(GAPS), st.sampled_from(EDSS))
def test_a_later_visit_never_removes_an_earlier_event_with_fixed_reference(
    p: Any, gap: int, value: float
) -> None:
    opts = CourseOptions.from_preset("mueller2023", baseline="fixed", event="firstCDW")
    before = confirmed_events(*frames(p), opts)
    visits, rel = p
    longer = (visits + [(visits[-1][0] + gap, value)], rel)
    after = confirmed_events(*frames(longer), opts)
    old = {k[2:] for k in key(before)}
    new = {k[2:] for k in key(after)}
    assert old <= new


@settings(max_examples=80, deadline=None)
@given(patient(), st.randoms())
def test_row_order_does_not_matter(p: Any, rnd: Any) -> None:
    v, r = frames(p)
    shuffled = v.sample(frac=1.0, random_state=rnd.randint(0, 2**31))
    assert key(confirmed_events(v, r)) == key(confirmed_events(shuffled, r))


@settings(max_examples=80, deadline=None)
@given(patient(), st.sampled_from(sorted(PRESETS)))
def test_every_event_meets_its_definition(p: Any, name: str) -> None:
    opts = CourseOptions.from_preset(name)
    res = confirmed_events(*frames(p), opts)
    for e in res.events.itertuples():
        delta = float(opts.worsening_delta(np.array([e.reference_value]))[0])
        gap = (e.confirmation_date - e.onset_date).days
        assert gap >= opts.conf_days[0] - opts.conf_tol_days[0]
        if e.event_type == "CDW":
            assert e.onset_value - e.reference_value >= delta - 1e-9
            assert e.confirmation_value - e.reference_value >= delta - 1e-9
            assert e.cdw_class in ("RAW", "PIRA", "undefined", "unknown")
        else:
            assert e.reference_value - e.onset_value >= delta - 1e-9
    # missing data never gives PIRA: without any relapse ascertainment nothing is PIRA
    asc = pd.DataFrame({"id": ["P"], "start": [D0], "end": [D0]})
    strict = opts.replace(require_ascertainment=True)
    res = confirmed_events(*frames(p), strict, ascertainment=asc)
    assert "PIRA" not in set(res.events.cdw_class)


# ---------------------------------------------------------------- native API vs pymsprog
def _msprog_kwargs(opts: CourseOptions) -> dict[str, Any]:
    table = opts.worsening_delta
    return dict(
        delta_fun=lambda b: float(table(np.array([b]))[0]),
        baseline=opts.baseline, relapse_rebl=opts.relapse_rebl, bl_geq=opts.bl_geq,
        relapse_indep=opts.relapse_indep.as_msprog(), conf_days=list(opts.conf_days),
        conf_tol_days=list(opts.conf_tol_days), event=opts.event, RAW_PIRA=True,
        relapse_to_bl=list(opts.relapse_to_bl), relapse_to_event=list(opts.relapse_to_event),
        relapse_to_conf=list(opts.relapse_to_conf), relapse_assoc=list(opts.relapse_assoc),
        proceed_from=opts.proceed_from, sub_threshold_rebl=opts.effective_sub_threshold_rebl,
        require_sust_days=opts.require_sust_days, check_intermediate=opts.check_intermediate,
    )


def _pymsprog_key(v: pd.DataFrame, r: pd.DataFrame, opts: CourseOptions) -> list[tuple]:
    with contextlib.redirect_stdout(io.StringIO()):
        _, res = pymsprog.MSprog(v, "id", "edss", "date", "edss", relapse=r if len(r) else None,
                                 include_dates=True, verbose=0, **_msprog_kwargs(opts))
    res = res[res.event_type != ""]
    conf_col = f"conf{opts.conf_days[0]}_date"
    out = []
    for e in res.itertuples():
        cls = e.CDW_type if e.event_type == "CDW" else ""
        out.append((e.event_type, cls, (e.date - D0).days, (getattr(e, conf_col) - D0).days,
                    (e.bl_date - D0).days))
    return out


@pytest.mark.parametrize("name", sorted(PRESETS))
@settings(max_examples=40, deadline=None)
@given(p=patient(3, 9))
def test_native_presets_equal_pymsprog(name: str, p: Any) -> None:
    # pymsprog does not merge attacks: relapse hygiene's 30-day merge off
    opts = CourseOptions.from_preset(name).replace(require_ascertainment=False)
    v, r = frames(p)
    ours = confirmed_events(v, r, opts, relapse_options=RelapseOptions(merge_days=0))
    assert key(ours) == _pymsprog_key(v, r, opts)
