"""Differential tests: ``neda.msprog.value_milestone`` and
``neda.msprog.separate_ri_ra`` against ``pymsprog`` 1.0.7.

Every case calls the pymsprog function and neda's with identical arguments (deep copies)
and the same global random seed, and requires:

* identical return values: ``assert_frame_equal`` with ``check_dtype``, ``check_index_type``,
  ``check_column_type`` and ``check_exact``;
* or, when pymsprog raises, the same exception type and message;
* the same stdout (``verbose=1``), the same ``UserWarning`` messages, the same state of the
  legacy global generator afterwards, and the same side effects on the caller's ``data``.

pymsprog crashes on many inputs (rows not in date order, relapses within
``relapse_assoc[1]`` days of the baseline, string dates in ``separate_ri_ra`` ...); a
drop-in must crash the same way, and the rest of such a cohort is still compared subject by
subject.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import Callable
from typing import Any

import msprog_cases as mc
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pymsprog
import pytest

from neda.msprog import separate_ri_ra, value_milestone

INF = float("inf")
NEDA: dict[str, Callable[..., Any]] = {
    "value_milestone": value_milestone,
    "separate_ri_ra": separate_ri_ra,
}

# ---------------------------------------------------------------------------
# harness


def _copy(x: Any) -> Any:
    if isinstance(x, (pd.DataFrame, pd.Series)):
        return x.copy(deep=True)
    if callable(x):
        return x
    return copy.deepcopy(x)


def _run(fn: Callable[..., Any], kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    kw = {k: _copy(v) for k, v in kwargs.items()}
    np.random.seed(seed)
    out = io.StringIO()
    value = error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(out):
            try:
                value = fn(**kw)
            except Exception as exc:  # compared below
                error = exc
    state = np.random.get_state()
    return {
        "value": value,
        "error": error,
        "stdout": out.getvalue(),
        "data": kw.get("data"),
        "rng": (state[1].copy(), state[2]),
        "warns": sorted({str(w.message) for w in caught if w.category is UserWarning}),
    }


def _frames(x: Any) -> tuple[pd.DataFrame, ...]:
    return x if isinstance(x, tuple) else (x,)


def check(name: str, seed: int = 7, **kwargs: Any) -> BaseException | None:
    """Run pymsprog and neda on the same input; assert identical behaviour. Returns
    pymsprog's exception (None when it succeeded)."""
    ref = _run(getattr(pymsprog, name), kwargs, seed)
    got = _run(NEDA[name], kwargs, seed)
    if ref["error"] is not None or got["error"] is not None:
        assert type(got["error"]) is type(ref["error"]), (ref["error"], got["error"])
        assert str(got["error"]) == str(ref["error"])
    else:
        want, have = _frames(ref["value"]), _frames(got["value"])
        assert len(want) == len(have)
        for w, h in zip(want, have, strict=True):
            pdt.assert_frame_equal(h, w, check_dtype=True, check_index_type=True,
                                   check_column_type=True, check_exact=True)
        assert got["stdout"] == ref["stdout"]
    if ref["data"] is not None:  # pymsprog writes into the caller's frame
        pdt.assert_frame_equal(got["data"], ref["data"], check_exact=True)
    assert np.array_equal(got["rng"][0], ref["rng"][0]) and got["rng"][1] == ref["rng"][1]
    assert got["warns"] == ref["warns"]
    return ref["error"]


def check_by_subject(name: str, data: pd.DataFrame, **kwargs: Any) -> int:
    """Whole cohort, then - if pymsprog crashed on it - each subject alone."""
    err = check(name, data=data, **kwargs)
    if err is None:
        return 0
    crashed = 0
    for sid in data[kwargs["subj_col"]].dropna().unique():
        one = data[data[kwargs["subj_col"]] == sid]
        crashed += check(name, data=one, **kwargs) is not None
    return crashed


_COHORTS: dict[mc.CohortSpec, tuple[pd.DataFrame, pd.DataFrame]] = {}


def cohort(**spec: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = mc.CohortSpec(**spec)
    if key not in _COHORTS:
        _COHORTS[key] = mc.make_cohort(key)
    v, r = _COHORTS[key]
    return v.copy(), r.copy()


@pytest.fixture(scope="module")
def toy() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pymsprog.load_toy_data()


@pytest.fixture(scope="module")
def toy_dt(toy: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    v, r = (x.copy() for x in toy)
    v["date"] = pd.to_datetime(v["date"])
    r["date"] = pd.to_datetime(r["date"])
    return v, r


# ---------------------------------------------------------------------------
# value_milestone


@pytest.mark.parametrize(
    "opts",
    [
        dict(milestone=4.0, value_col="EDSS", outcome="edss"),
        dict(milestone=6, value_col="EDSS", outcome="EDSS", verbose=1),
        dict(milestone=3.0, value_col="EDSS", outcome="edss", require_sust_days=INF),
        dict(milestone=50, value_col="SDMT", outcome="sdmt", conf_tol_days=[30]),
        dict(milestone=6, value_col="EDSS", outcome="edss", impute_last_visit=1),
        dict(milestone=50, value_col="SDMT", outcome=None, worsening="decrease",
             relapse_to_event=[30, 30], relapse_to_conf=90),
    ],
)
@pytest.mark.parametrize("dates", ["str", "day"])
def test_value_milestone_toy(toy, opts, dates):
    v, r = toy
    kw = dict(date_col="date") if dates == "str" else dict(date_col="visit_day", date_format="day")
    check("value_milestone", data=v, relapse=r, subj_col="id", **kw, **opts)


_VM_OPTIONS = [
    {},
    dict(relapse_to_event=30, relapse_to_conf=[30, 10]),
    dict(relapse_to_event=[0, 30], relapse_to_conf=0),
    dict(conf_days=[84, 182], conf_tol_days=[7, INF]),
    dict(conf_days=90.7, conf_tol_days=30),
    dict(require_sust_days=180),
    dict(require_sust_days=INF),
    dict(impute_last_visit=1),
    dict(impute_last_visit=0.5),
    dict(impute_last_visit=400),
    dict(verbose=1),
]
_VM_OUTCOMES = [
    # (value column, outcome, milestones, worsening)
    ("edss", "edss", (4.0, 6.0), None),
    ("nhpt", "nhpt", (30.0,), None),
    ("t25fw", "t25fw", (9.0,), None),
    ("sdmt", "sdmt", (40.0, 5.0), None),
    ("edss", None, (5.0,), "increase"),
    ("sdmt", "custom", (45.0,), "decrease"),
    ("edss", None, (5.0,), "sideways"),  # pymsprog: never reached
]


@pytest.mark.parametrize("seed", range(6))
def test_value_milestone_random(seed):
    mode = mc.DATE_MODES[seed % 4]
    v, r = cohort(seed=seed, n_subjects=20, id_kind=("str", "int")[seed % 2], date_mode=mode,
                  validconf=(None, "bool", "int")[seed % 3], shuffle_rows=seed % 3 != 0,
                  relapse_cols=("id", "date") if seed % 2 else ("pid", "onset"))
    base = dict(data=v, relapse=r, subj_col="id", date_col="date",
                date_format=mc.date_format_for(mode))
    if seed % 2 == 0:
        base.update(rsubj_col="pid", rdate_col="onset")
    if "validconf" in v:
        base["validconf_col"] = "validconf"
    outcomes = 0
    for value_col, outcome, milestones, worsening in _VM_OUTCOMES:
        for milestone in milestones:
            for opts in _VM_OPTIONS[outcomes % 3::3] if outcome != "edss" else _VM_OPTIONS:
                check("value_milestone", seed=seed, milestone=milestone, value_col=value_col,
                      outcome=outcome, worsening=worsening, **base, **opts)
            outcomes += 1


def test_value_milestone_imputation_quirk():
    """pymsprog imputes only when the milestone *value* equals the last visit index, and then
    indexes an empty confirmation list (IndexError) unless the onset is the last visit."""
    rows = [(0, 2.0), (100, 3.0), (200, 3.0), (300, 2.0)]  # 4 visits: milestone 3 = n - 1
    v = pd.DataFrame({"id": "A", "date": [d for d, _ in rows], "edss": [x for _, x in rows]})
    r = pd.DataFrame({"id": pd.Series([], dtype=object), "date": pd.Series([], dtype=float)})
    base = dict(data=v, relapse=r, subj_col="id", value_col="edss", date_col="date",
                outcome="edss", date_format="day")
    assert check("value_milestone", milestone=3.0, conf_days=500, impute_last_visit=1,
                 **base).__class__ is IndexError
    check("value_milestone", milestone=3.0, conf_days=100, conf_tol_days=0,
          require_sust_days=150, impute_last_visit=1, **base)
    for p in (0, 0.3, 1):
        check("value_milestone", milestone=2.5, impute_last_visit=p, **base)
    v2 = v.assign(edss=[2.0, 2.0, 2.0, 3.0])  # reached at the last visit
    check("value_milestone", **{**base, "data": v2}, milestone=3.0, impute_last_visit=1)
    check("value_milestone", **{**base, "data": v2}, milestone=3.0, impute_last_visit=0.5)


def test_value_milestone_unsorted_and_same_day():
    """Rows are taken in input order unless the subject has same-day visits (then by date,
    keeping the last row of each day); ``next value below the milestone`` ignores the
    direction of worsening."""
    v = pd.DataFrame({
        "id": ["A"] * 5 + ["B"] * 5,
        "date": [0, 300, 100, 200, 400, 0, 100, 100, 200, 300],
        "sdmt": [50.0, 38, 39, 41, 38, 50, 39, 45, 40, 38],
    })
    r = pd.DataFrame({"id": ["A", "B"], "date": [250, -10]})
    base = dict(data=v, relapse=r, subj_col="id", value_col="sdmt", date_col="date",
                outcome="sdmt", date_format="day")
    for ms in (40.0, 39.0, 38.0):
        check("value_milestone", milestone=ms, **base)
        check("value_milestone", milestone=ms, relapse_to_conf=[60, 0], relapse_to_event=20,
              **base)


def test_value_milestone_relapse_none(toy):
    v, _ = toy
    base = dict(data=v, milestone=4.0, subj_col="id", value_col="EDSS", date_col="date",
                outcome="edss")
    assert check("value_milestone", **base) is not None  # relapse=None fails in pymsprog
    check("value_milestone", **base, rsubj_col="id", rdate_col="date")
    check("value_milestone", **base, rsubj_col="id")
    check("value_milestone", **base, rdate_col="visit_day", date_format=None)


@pytest.mark.parametrize(
    "case",
    [
        "no_worsening", "bad_outcome_type", "negative_impute", "bad_dates", "bad_days",
        "bad_relapse_dates", "missing_column", "missing_validconf", "empty_data",
        "empty_after_dropna", "empty_relapse_dates", "empty_relapse_days", "bad_value",
    ],
)
def test_value_milestone_errors(toy, case):
    v, r = (x.copy() for x in toy)
    base: dict[str, Any] = dict(data=v, relapse=r, milestone=4.0, subj_col="id",
                                value_col="EDSS", date_col="date", outcome="edss")
    if case == "no_worsening":
        base["outcome"] = None
    elif case == "bad_outcome_type":
        base["outcome"] = 4
    elif case == "negative_impute":
        base["impute_last_visit"] = -1
    elif case == "bad_dates":
        base["date_format"] = "%d/%m/%Y"
    elif case == "bad_days":
        base["date_format"] = "day"
    elif case == "bad_relapse_dates":
        base["relapse"] = r.assign(date="not a date")
    elif case == "missing_column":
        base["date_col"] = "nope"
    elif case == "missing_validconf":
        base["validconf_col"] = "nope"
    elif case == "empty_data":
        base["data"] = v.iloc[:0]
    elif case == "empty_after_dropna":
        base.update(data=v.assign(EDSS=np.nan), verbose=1)
    elif case == "empty_relapse_dates":
        base["relapse"] = r.iloc[:0]
    elif case == "empty_relapse_days":
        base.update(relapse=r.iloc[:0], date_col="visit_day", date_format="day")
    elif case == "bad_value":
        base["data"] = v.assign(EDSS=v["EDSS"].astype(object).where(v.index != 3, "x"))
    check("value_milestone", **base)


# ---------------------------------------------------------------------------
# separate_ri_ra


def _delta_two(b, outcome):
    return 0.5 if b > 4 else 1.0


def _delta_one(b):
    return 0.5 + b / 10


def _delta_nhpt(b, outcome):
    return b / 7 + 0.3


@pytest.mark.parametrize(
    "opts",
    [
        {},
        dict(include_rel_num=True, subtract_bl=True, include_raw_dates=True, verbose=1),
        dict(value_col="SDMT", outcome="sdmt", include_bl=False),
        dict(sub_threshold=True, sust_raw_days=0, include_raw_dates=True),
        dict(relapse_to_bl=[30, 0], relapse_assoc=[120, 0], relapse_to_conf=[0, 0]),
    ],
)
def test_separate_ri_ra_toy(toy, toy_dt, opts):
    kw = dict(subj_col="id", value_col="EDSS", outcome="edss") | opts
    v, r = toy_dt
    check("separate_ri_ra", data=v, relapse=r, date_col="date", **kw)
    v, r = toy
    check("separate_ri_ra", data=v, relapse=r, date_col="visit_day", date_format="day", **kw)
    # string dates: pymsprog compares a string with a Timestamp (TypeError)
    assert check("separate_ri_ra", data=v, relapse=r, date_col="date", **kw) is not None


_SR_OPTIONS = [
    {},
    dict(include_rel_num=True, subtract_bl=True, include_raw_dates=True),
    dict(relapse_assoc=[90, 30], include_raw_dates=True),
    dict(relapse_to_bl=[30, 20], relapse_to_conf=[30, 10]),
    dict(relapse_assoc=60, relapse_to_bl=0, relapse_to_conf=0),
    dict(sust_raw_days=0, include_raw_dates=True),
    dict(sust_raw_days=INF),
    dict(sub_threshold=True, include_raw_dates=True),
    dict(conf_days=[84, 182], conf_tol_days=[7, INF]),
    dict(conf_days=90.5, conf_tol_days=30),
    dict(impute_last_visit=1, include_raw_dates=True),
    dict(impute_last_visit=0.5, include_raw_dates=True),
    dict(impute_last_visit=500),
    dict(include_bl=False, verbose=1),
]
_SR_OUTCOMES = [
    # (value column, outcome, extra arguments)
    ("edss", "edss", {}),
    ("nhpt", "nhpt", {}),
    ("t25fw", "t25fw", {}),
    ("sdmt", "sdmt", {}),
    ("edss", "edss", dict(delta_fun=_delta_one)),
    ("nhpt", None, dict(worsening="increase", delta_fun=_delta_nhpt)),
    ("sdmt", "custom", dict(worsening="decrease", delta_fun=_delta_two)),
    ("edss", None, dict(worsening="increase", sub_threshold=True)),
]


@pytest.mark.parametrize("seed", range(6))
def test_separate_ri_ra_random(seed):
    mode = ("datetime", "day")[seed % 2]
    v, r = cohort(seed=50 + seed, n_subjects=16, id_kind=("str", "int")[seed // 2 % 2],
                  date_mode=mode, validconf=(None, "bool", "int")[seed % 3],
                  shuffle_rows=False, extreme=seed % 3 == 1,
                  relapse_cols=("id", "date") if seed % 3 else ("pid", "onset"))
    base = dict(relapse=r, subj_col="id", date_col="date", date_format=mc.date_format_for(mode))
    if seed % 3 == 0:
        base.update(rsubj_col="pid", rdate_col="onset")
    if "validconf" in v:
        base["validconf_col"] = "validconf"
    for k, (value_col, outcome, extra) in enumerate(_SR_OUTCOMES):
        options = _SR_OPTIONS if k == 0 else _SR_OPTIONS[k % 4::4]
        for opts in options:
            check_by_subject("separate_ri_ra", v, value_col=value_col, outcome=outcome,
                             **base, **(extra | opts))


@pytest.mark.parametrize("seed", range(3))
def test_separate_ri_ra_unsorted_rows(seed):
    """Visits in input order (not by date) and relapses in input order: pymsprog's results
    depend on both, and it often crashes (no reference visit before a relapse)."""
    v, r = cohort(seed=90 + seed, n_subjects=15, id_kind="str", date_mode="datetime",
                  shuffle_rows=True, duplicates=0.1, validconf="bool")
    base = dict(relapse=r, subj_col="id", value_col="edss", date_col="date", outcome="edss",
                validconf_col="validconf", include_raw_dates=True, include_rel_num=True)
    check_by_subject("separate_ri_ra", v, **base)
    check_by_subject("separate_ri_ra", v, **base, relapse_assoc=[90, 30], sust_raw_days=90)
    # the same relapses in reverse order
    check_by_subject("separate_ri_ra", v, **(base | dict(relapse=r.iloc[::-1])))


def test_separate_ri_ra_relapse_order_matters():
    """pymsprog walks relapses in input order (skips, next-relapse look-ups), so the order of
    the relapse rows changes the result; neda follows it."""
    v = pd.DataFrame({
        "id": "A",
        "date": [0, 100, 130, 200, 290, 330, 420, 520, 620],
        "edss": [2.0, 2.0, 3.5, 3.5, 3.5, 5.0, 5.0, 4.5, 5.0],
    })
    r = pd.DataFrame({"id": "A", "date": [120, 320, 150]})
    base = dict(data=v, subj_col="id", value_col="edss", date_col="date", outcome="edss",
                date_format="day", include_raw_dates=True)
    outs = []
    for rel in (r, r.iloc[::-1], r.iloc[[1, 0, 2]]):
        check("separate_ri_ra", relapse=rel, **base)
        outs.append(separate_ri_ra(**{k: _copy(x) for k, x in (base | {"relapse": rel}).items()}))
    assert any(not outs[0][0].equals(o[0]) or not outs[0][1].equals(o[1]) for o in outs[1:])


def test_separate_ri_ra_frame_shapes():
    """Extra columns of any dtype, a non-default index, integer values: the write-back goes
    through ``DataFrame.values`` as in pymsprog, with the same dtype effects."""
    v, r = cohort(seed=301, n_subjects=12, id_kind="int", date_mode="day", shuffle_rows=False)
    n = len(v)
    variants = [
        v[["id", "date", "edss"]].assign(n=np.arange(n), f32=np.arange(n, dtype=np.float32)),
        v[["id", "date", "edss"]].assign(flag=np.arange(n) % 2 == 0),
        v.assign(site="A", when=pd.Timestamp("2020-01-01"),
                 cat=pd.Categorical(np.where(np.arange(n) % 2 == 0, "x", "y"))),
        v.set_index(pd.Index([f"r{i}" for i in range(n)][::-1])),
    ]
    for data in variants:
        check("separate_ri_ra", data=data, relapse=r, subj_col="id", value_col="edss",
              date_col="date", outcome="edss", date_format="day", include_rel_num=True,
              subtract_bl=True)
        check("value_milestone", data=data, relapse=r, milestone=4.0, subj_col="id",
              value_col="edss", date_col="date", outcome="edss", date_format="day")
    ints = v.assign(edss=(v["edss"].fillna(0) * 2).astype(int))
    check("separate_ri_ra", data=ints, relapse=r, subj_col="id", value_col="edss",
          date_col="date", outcome=None, worsening="increase", delta_fun=lambda b: 2,
          date_format="day")


def test_separate_ri_ra_all_rows_dropped(toy_dt):
    v, r = toy_dt
    base = dict(data=v, relapse=r, subj_col="id", value_col="EDSS", date_col="date",
                outcome="edss", include_raw_dates=True)
    check("separate_ri_ra", **base, relapse_to_bl=5000, include_rel_num=True)
    check("separate_ri_ra", **(base | dict(data=v.assign(EDSS=np.nan))))
    tv, tr = pymsprog.load_toy_data()
    check("separate_ri_ra", data=tv.assign(EDSS=np.nan), relapse=tr, subj_col="id",
          value_col="EDSS", date_col="visit_day", outcome="edss", date_format="day")


def _raises_for_high(b, outcome):
    if b > 5:
        raise ZeroDivisionError("no threshold above 5")
    return 1.0


@pytest.mark.parametrize(
    "case",
    [
        "relapse_none", "empty_relapse_dates", "empty_relapse_days", "no_delta_fun",
        "no_worsening", "bad_direction", "bad_direction_sub_threshold", "delta_fun_raises",
        "edss_out_of_range", "negative_impute", "bad_date_format", "bad_days",
        "missing_column", "empty_data", "bad_conf_tol",
    ],
)
def test_separate_ri_ra_errors(toy_dt, case):
    v, r = (x.copy() for x in toy_dt)
    base: dict[str, Any] = dict(data=v, relapse=r, subj_col="id", value_col="EDSS",
                                date_col="date", outcome="edss")
    if case == "relapse_none":
        base["relapse"] = None
    elif case == "empty_relapse_dates":
        base["relapse"] = r.iloc[:0]
    elif case == "empty_relapse_days":
        base.update(relapse=r.iloc[:0], date_col="visit_day", date_format="day")
    elif case == "no_delta_fun":
        base.update(outcome=None, worsening="increase")
    elif case == "no_worsening":
        base.update(outcome=None, delta_fun=_delta_two)
    elif case == "bad_direction":
        base.update(outcome=None, worsening="up", delta_fun=_delta_two)
    elif case == "bad_direction_sub_threshold":
        base.update(outcome=None, worsening="up", sub_threshold=True)
    elif case == "delta_fun_raises":
        base["delta_fun"] = _raises_for_high
    elif case == "edss_out_of_range":
        base["data"] = v.assign(EDSS=v["EDSS"] * 2)
    elif case == "negative_impute":
        base["impute_last_visit"] = -3
    elif case == "bad_date_format":
        base["date_format"] = "%Y"
        base["data"] = v.assign(date=v["date"].dt.strftime("%d.%m.%Y"))
    elif case == "bad_days":
        base["date_format"] = "day"
    elif case == "missing_column":
        base["value_col"] = "nope"
    elif case == "empty_data":
        base["data"] = v.iloc[:0]
    elif case == "bad_conf_tol":
        base["conf_tol_days"] = []
    err = check("separate_ri_ra", **base)
    assert (err is None) == (case == "empty_relapse_days")  # day numbers: no failure


def test_separate_ri_ra_warnings():
    """NHPT / T25FW references above the plausible range warn (pymsprog's compute_delta)."""
    v, r = cohort(seed=400, n_subjects=30, id_kind="int", date_mode="day", shuffle_rows=False,
                  extreme=True, duplicates=0.0)
    for value_col in ("nhpt", "t25fw"):
        check("separate_ri_ra", data=v, relapse=r, subj_col="id", value_col=value_col,
              date_col="date", outcome=value_col, date_format="day")
