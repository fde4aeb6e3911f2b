"""``neda.course.scan``: the capacity retry gives the results of a single full-size run.

``run_scan`` first gives each subject room for n + 1 records and runs again with the proven
bound only when a subject overflowed. Here the first attempt is made far too small on
purpose, so that every subject with a record overflows and the second run decides.
"""

from __future__ import annotations

import msprog_cases as mc
import numpy as np
import pandas.testing as pdt
import pytest

from neda.course import CourseOptions, confirmed_events, scan
from neda.demo import demo_cohort
from neda.msprog import MSprog

OPTIONS = [
    dict(event="multiple", baseline="roving", RAW_PIRA=True),
    dict(event="multiple", baseline="roving", RAW_PIRA=True, relapse_rebl=True, bl_geq=True),
    dict(event="multiple", baseline="fixed", relapse_rebl=True, conf_days=[84, 168],
         conf_tol_days=(7, 730)),
    dict(event="firstCDW", relapse_rebl=True, bl_geq=True, return_unconfirmed=True),
]


def _tiny(nvis: np.ndarray) -> np.ndarray:
    return np.ones(len(nvis), np.int64)


@pytest.mark.parametrize("opts", OPTIONS)
def test_retry_after_overflow_matches_one_run(opts, monkeypatch):
    visits, relapses = mc.make_cohort(mc.CohortSpec(seed=11, n_subjects=60, date_mode="datetime"))
    kw = dict(data=visits, subj_col="id", value_col="edss", date_col="date", outcome="edss",
              relapse=relapses, verbose=0, include_dates=True, include_value=True, **opts)
    expected = MSprog(**kw)
    calls = []
    real = scan.K.scan_all

    def counting(*args):
        out = real(*args)
        calls.append(bool((out[21] == scan.ERR_CAPACITY).any()))
        return out

    monkeypatch.setattr(scan, "_first_capacity", _tiny)
    monkeypatch.setattr(scan.K, "scan_all", counting)
    got = MSprog(**kw)
    assert calls == [True, False]  # the first attempt overflowed, the second did not
    for a, b in zip(expected, got, strict=True):
        pdt.assert_frame_equal(a, b)


def test_native_engine_retry(monkeypatch):
    visits, relapses = demo_cohort(300, seed=3)
    opts = CourseOptions.from_preset("kappos2020").replace(event="multiple", baseline="roving")
    expected = confirmed_events(visits, relapses, opts)
    monkeypatch.setattr(scan, "_first_capacity", _tiny)
    got = confirmed_events(visits, relapses, opts)
    assert len(got.events)
    pdt.assert_frame_equal(expected.events, got.events)
