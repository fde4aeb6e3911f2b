"""The drop-in leaves NumPy's global generator exactly where pymsprog leaves it."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pymsprog
import pytest

from neda import msprog as neda_msprog
from neda.demo import demo_cohort


@pytest.mark.parametrize("impute", [0, 1, 0.4, 800])
def test_generator_state_after_msprog(impute: float) -> None:
    visits, relapses = demo_cohort(60, seed=11)
    kw = dict(relapse=relapses, event="multiple", baseline="roving", RAW_PIRA=True,
              impute_last_visit=impute, verbose=0)
    np.random.seed(123)
    with contextlib.redirect_stdout(io.StringIO()):
        ref = pymsprog.MSprog(visits.copy(), "id", "edss", "date", "edss", **kw)
    after_ref = np.random.random()
    np.random.seed(123)
    ours = neda_msprog.MSprog(visits.copy(), "id", "edss", "date", "edss", **kw)
    after_ours = np.random.random()
    assert after_ref == after_ours
    for a, b in zip(ref, ours, strict=True):
        assert a.equals(b)
