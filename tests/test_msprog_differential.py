"""Differential tests: ``neda.msprog`` against ``pymsprog`` 1.0.7.

Every case calls ``pymsprog.MSprog`` and ``neda.msprog.MSprog`` with identical
arguments (deep copies of everything mutable) and requires identical output:
summary, results and (when requested) unconfirmed frames must match with
``assert_frame_equal(check_dtype=True, check_index_type=True,
check_column_type=True, check_exact=True)``; when pymsprog raises, neda must
raise the same exception type; the set of ``UserWarning`` messages emitted
must be the same.  When pymsprog crashes on a whole cohort (it does for some
option combinations, see ``KNOWN CRASHES`` below) the cohort is additionally
compared subject by subject (``subjects=[id]``), so the rest of the cohort is
still checked.

Set ``NEDA_MSPROG_IMPL=pymsprog`` to run the harness pymsprog-vs-pymsprog
(self-test of the harness itself).

KNOWN CRASHES of pymsprog 1.0.7 that a drop-in must reproduce:
* ``conf_days`` with several values, when a confirmed worsening is not
  recorded (``event='firstPIRA'``/``'firstRAW'`` with a fixed/roving_impr
  baseline) or a confirmed change fails ``require_sust_days``, and one of the
  confirmation windows has no member left after trimming: ``ValueError``
  (``np.min`` of an empty list).  Same with ``impute_last_visit`` and a
  skipped imputed event.
* ``relapse_indep`` whose first non-null end is a right end
  (e.g. ``{'prec': (None, 0), ...}``): ``UnboundLocalError`` on ``t0`` at the
  first PIRA check.
* no event at all and ``include_stable=False`` (or ``subjects`` matching no
  one): ``KeyError: 'event_type'``.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import msprog_cases as mc
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pymsprog
import pytest
from hypothesis import given
from hypothesis import strategies as st

if os.environ.get("NEDA_MSPROG_IMPL", "neda") == "pymsprog":
    neda_msprog = pymsprog  # harness self-test
else:
    from neda import msprog as neda_msprog

INF = float("inf")

# ---------------------------------------------------------------------------
# helpers


class Outcome:
    def __init__(self, value=None, error: BaseException | None = None, warns=()):
        self.value = value
        self.error = error
        self.warns = sorted(set(warns))


def _copy_arg(x):
    if isinstance(x, (pd.DataFrame, pd.Series)):
        return x.copy(deep=True)
    if callable(x):
        return x
    return copy.deepcopy(x)


def _run(fn: Callable, kwargs: dict, seed: int | None = None) -> Outcome:
    kw = {k: _copy_arg(v) for k, v in kwargs.items()}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        if seed is not None:
            np.random.seed(seed)
        try:
            value = fn(**kw)
        except Exception as exc:  # noqa: BLE001 - any exception type is compared
            return Outcome(error=exc, warns=_user_warnings(rec))
    return Outcome(value=value, warns=_user_warnings(rec))


def _user_warnings(rec) -> list[str]:
    # only the plain warnings.warn(msg) calls (pymsprog's own messages), not
    # pandas/numpy Future/Deprecation/Runtime warnings
    return [str(w.message) for w in rec if w.category is UserWarning]


def _assert_frames(ref: pd.DataFrame, new: pd.DataFrame, what: str) -> None:
    assert isinstance(new, pd.DataFrame), f"{what}: expected DataFrame, got {type(new)}"
    pdt.assert_frame_equal(
        new,
        ref,
        check_dtype=True,
        check_index_type=True,
        check_column_type=True,
        check_exact=True,
        obj=what,
    )


def _assert_same(ref: Outcome, new: Outcome, label: str = "") -> None:
    if ref.error is not None:
        assert new.error is not None, (
            f"{label}pymsprog raised {type(ref.error).__name__}({ref.error}) "
            "but neda returned normally"
        )
        assert type(new.error) is type(ref.error), (
            f"{label}pymsprog raised {type(ref.error).__name__}({ref.error}); "
            f"neda raised {type(new.error).__name__}({new.error})"
        )
    else:
        if new.error is not None:
            raise AssertionError(
                f"{label}neda raised {type(new.error).__name__}: {new.error}"
            ) from new.error
        assert isinstance(new.value, tuple) and len(new.value) == len(ref.value), (
            f"{label}expected a tuple of {len(ref.value)} frames, got {type(new.value)}"
        )
        names = ("summary", "results", "unconfirmed")[: len(ref.value)]
        for name, r, n in zip(names, ref.value, new.value, strict=True):
            _assert_frames(r, n, label + name)
    assert new.warns == ref.warns, f"{label}warnings differ: pymsprog {ref.warns}, neda {new.warns}"


def compare_msprog(
    kwargs: dict, seed: int | None = None, per_subject_fallback: bool = True
) -> Outcome:
    """Run both implementations on ``kwargs`` and assert identical behaviour."""
    originals = {k: v.copy(deep=True) for k, v in kwargs.items() if isinstance(v, pd.DataFrame)}
    ref = _run(pymsprog.MSprog, kwargs, seed)
    new = _run(neda_msprog.MSprog, kwargs, seed)
    _assert_same(ref, new)
    for k, v in originals.items():  # neither side may touch the caller's frames
        pdt.assert_frame_equal(kwargs[k], v, obj=f"input {k}")
    if ref.error is not None and per_subject_fallback and kwargs.get("subjects") is None:
        data = kwargs["data"]
        for sid in pd.unique(data[kwargs["subj_col"]]):
            kw = dict(kwargs, subjects=[sid])
            r = _run(pymsprog.MSprog, kw, seed)
            n = _run(neda_msprog.MSprog, kw, seed)
            _assert_same(r, n, label=f"[subject {sid!r}] ")
    return ref


# ---------------------------------------------------------------------------
# option grid


def three_strata(b):
    """Clinical spec 2.1 default table, as a one-argument delta_fun."""
    return 1.5 if b == 0 else (1.0 if b <= 5.5 else 0.5)


def trial_le55(b, outcome=None):
    """OPERA/ORATORIO table, as a two-argument delta_fun (pymsprog tries (b, outcome) first)."""
    return 1.0 if b <= 5.5 else 0.5


TOL0 = [0, INF]

# clinical-rules.md 2.7.3 presets (pymsprog options); thresholds via delta_fun
PRESETS: dict[str, dict[str, Any]] = {
    "msprog_defaults": {},
    "mueller2023": dict(
        baseline="roving",
        delta_fun=three_strata,
        conf_tol_days=TOL0,
        relapse_indep={
            "prec": (0, 0),
            "event": (90, 30),
            "conf": (90, 30),
            "prec_type": "baseline",
        },
    ),
    "mueller2023_strict": dict(
        baseline="roving",
        delta_fun=three_strata,
        conf_tol_days=TOL0,
        relapse_indep={"prec": (0, None), "event": (None, None), "conf": (None, 0)},
    ),
    "kappos2020": dict(
        baseline="fixed",
        relapse_rebl=True,
        bl_geq=True,
        delta_fun=trial_le55,
        conf_tol_days=TOL0,
        relapse_indep={
            "prec": (0, None),
            "event": (None, 30),
            "conf": (30, 30),
            "prec_type": "baseline",
        },
    ),
    "cagol2022": dict(
        baseline="roving",
        delta_fun=three_strata,
        conf_tol_days=TOL0,
        relapse_indep={
            "prec": (0, 0),
            "event": (90, None),
            "conf": (None, 0),
            "prec_type": "baseline",
        },
    ),
    "mueller2025": dict(
        baseline="roving",
        relapse_rebl=True,
        delta_fun=three_strata,
        conf_days=183,
        conf_tol_days=TOL0,
        relapse_indep={"prec": (0, None), "event": (None, 0), "conf": (0, 0), "prec_type": "last"},
    ),
    "portaccio2025": dict(
        baseline="roving",
        delta_fun=three_strata,
        conf_days=168,
        conf_tol_days=TOL0,
        relapse_indep={"prec": (0, 0), "event": (90, 30), "conf": (0, 0), "prec_type": "baseline"},
    ),
}

MULTI = dict(event="multiple", RAW_PIRA=True, baseline="roving")

# (case id, outcome, value column, MSprog options, CohortSpec overrides, relapse mode)
# relapse mode: 'df' (default), 'none' (relapse=None), 'empty' (empty frame),
# 'renamed' (rsubj_col/rdate_col)
GRID: list[tuple[str, str, str, dict, dict, str]] = [
    # --- outcomes
    ("edss_defaults", "edss", "edss", {}, {}, "df"),
    ("nhpt_defaults_extreme", "nhpt", "nhpt", {}, dict(extreme=True), "df"),
    ("t25fw_multiple_extreme", "t25fw", "t25fw", dict(MULTI), dict(extreme=True), "df"),
    ("sdmt_multiple", "sdmt", "sdmt", dict(MULTI), {}, "df"),
    ("sdmt_first_fixed", "sdmt", "sdmt", dict(event="first", RAW_PIRA=True), {}, "df"),
    (
        "nhpt_multiple_roving_impr",
        "nhpt",
        "nhpt",
        dict(event="multiple", baseline="roving_impr"),
        {},
        "df",
    ),
    (
        "custom_increase",
        "custom",
        "edss",
        dict(MULTI, delta_fun=lambda x: 0.5 if x >= 5 else 1.0, worsening="increase"),
        {},
        "df",
    ),
    (
        "custom_decrease",
        "custom",
        "sdmt",
        dict(MULTI, delta_fun=lambda x: max(3.0, x / 10), worsening="decrease"),
        {},
        "df",
    ),
    (
        "custom_decrease_fixed_first",
        "custom",
        "t25fw",
        dict(event="first", delta_fun=lambda x: 0.1 * x, worsening="decrease"),
        {},
        "df",
    ),
    (
        "edss_delta_fun_2arg_worsening_ignored",
        "edss",
        "edss",
        dict(MULTI, delta_fun=trial_le55, worsening="decrease"),
        {},
        "df",
    ),
    # --- event modes
    (
        "firstCDI_roving_impr",
        "edss",
        "edss",
        dict(event="firstCDI", baseline="roving_impr"),
        {},
        "df",
    ),
    (
        "firstCDI_fixed_rawpira_ignored",
        "edss",
        "edss",
        dict(event="firstCDI", RAW_PIRA=True),
        {},
        "df",
    ),
    ("first_rawpira", "edss", "edss", dict(event="first", RAW_PIRA=True), {}, "df"),
    ("firstCDW_rawpira", "edss", "edss", dict(RAW_PIRA=True), {}, "df"),
    ("firstPIRA_roving", "edss", "edss", dict(event="firstPIRA", baseline="roving"), {}, "df"),
    ("firstPIRA_fixed", "edss", "edss", dict(event="firstPIRA"), {}, "df"),
    (
        "firstPIRA_roving_wors_dates",
        "edss",
        "edss",
        dict(event="firstPIRA", baseline="roving_wors", include_dates=True, include_value=True),
        {},
        "df",
    ),
    ("firstRAW_fixed", "edss", "edss", dict(event="firstRAW"), {}, "df"),
    (
        "firstRAW_roving_wors_event",
        "edss",
        "edss",
        dict(event="firstRAW", baseline="roving_wors", proceed_from="event", include_dates=True),
        {},
        "df",
    ),
    ("multiple_fixed_no_rawpira", "edss", "edss", dict(event="multiple"), {}, "df"),
    # --- baseline / proceed_from / sub-threshold
    (
        "roving_impr_event",
        "edss",
        "edss",
        dict(event="multiple", baseline="roving_impr", proceed_from="event", RAW_PIRA=True),
        {},
        "df",
    ),
    (
        "roving_wors_event",
        "edss",
        "edss",
        dict(event="multiple", baseline="roving_wors", proceed_from="event", RAW_PIRA=True),
        {},
        "df",
    ),
    (
        "roving_subimpr_event",
        "edss",
        "edss",
        dict(MULTI, sub_threshold_rebl="improvement", proceed_from="event"),
        {},
        "df",
    ),
    (
        "roving_subimpr_firstconf",
        "edss",
        "edss",
        dict(MULTI, sub_threshold_rebl="improvement"),
        {},
        "df",
    ),
    ("roving_subwors", "edss", "edss", dict(MULTI, sub_threshold_rebl="worsening"), {}, "df"),
    (
        "roving_subevent_event",
        "edss",
        "edss",
        dict(MULTI, sub_threshold_rebl="event", proceed_from="event"),
        {},
        "df",
    ),
    (
        "roving_wors_subwors",
        "edss",
        "edss",
        dict(event="multiple", baseline="roving_wors", sub_threshold_rebl="worsening"),
        {},
        "df",
    ),
    (
        "fixed_subevent",
        "edss",
        "edss",
        dict(event="multiple", sub_threshold_rebl="event"),
        {},
        "df",
    ),
    (
        "sdmt_roving_subimpr",
        "sdmt",
        "sdmt",
        dict(MULTI, sub_threshold_rebl="improvement"),
        {},
        "df",
    ),
    (
        "sdmt_roving_subwors_event",
        "sdmt",
        "sdmt",
        dict(MULTI, sub_threshold_rebl="worsening", proceed_from="event"),
        {},
        "df",
    ),
    # --- relapse re-baselining, bl_geq
    (
        "relapse_rebl_fixed",
        "edss",
        "edss",
        dict(event="multiple", RAW_PIRA=True, relapse_rebl=True),
        {},
        "df",
    ),
    (
        "relapse_rebl_bl_geq_roving",
        "edss",
        "edss",
        dict(MULTI, relapse_rebl=True, bl_geq=True),
        {},
        "df",
    ),
    (
        "relapse_rebl_bl_geq_fixed_firstCDW",
        "edss",
        "edss",
        dict(RAW_PIRA=True, relapse_rebl=True, bl_geq=True),
        {},
        "df",
    ),
    ("bl_geq_without_relapse_rebl", "edss", "edss", dict(MULTI, bl_geq=True), {}, "df"),
    (
        "relapse_rebl_firstPIRA_roving",
        "edss",
        "edss",
        dict(event="firstPIRA", baseline="roving", relapse_rebl=True),
        {},
        "df",
    ),
    (
        "relapse_rebl_no_relapse_data",
        "edss",
        "edss",
        dict(MULTI, relapse_rebl=True, bl_geq=True),
        {},
        "none",
    ),
    (
        "relapse_rebl_assoc_pair_event",
        "edss",
        "edss",
        dict(MULTI, relapse_rebl=True, relapse_assoc=(60, 30), proceed_from="event"),
        {},
        "df",
    ),
    # --- local extrema
    ("skip_extrema_strict", "edss", "edss", dict(MULTI, skip_local_extrema="strict"), {}, "df"),
    (
        "skip_extrema_all_last_delta",
        "edss",
        "edss",
        dict(
            MULTI,
            skip_local_extrema="all",
            include_dates=True,
            include_value=True,
            relapse_indep={
                "prec": (0, 0),
                "event": (90, 30),
                "conf": (90, 30),
                "prec_type": "last_delta",
            },
        ),
        {},
        "df",
    ),
    (
        "skip_extrema_strict_fixed_sdmt",
        "sdmt",
        "sdmt",
        dict(event="multiple", skip_local_extrema="strict", include_value=True),
        {},
        "df",
    ),
    # --- validconf
    (
        "validconf_bool",
        "edss",
        "edss",
        dict(MULTI, validconf_col="validconf"),
        dict(validconf="bool"),
        "df",
    ),
    (
        "validconf_int_firstCDW",
        "edss",
        "edss",
        dict(validconf_col="validconf", RAW_PIRA=True),
        dict(validconf="int"),
        "df",
    ),
    ("validconf_column_ignored", "edss", "edss", dict(MULTI), dict(validconf="bool"), "df"),
    # --- confirmation windows
    (
        "conf_list_84_168",
        "edss",
        "edss",
        dict(MULTI, conf_days=[84, 168], include_dates=True, include_value=True),
        {},
        "df",
    ),
    (
        "conf_list_dict_tol",
        "edss",
        "edss",
        dict(MULTI, conf_days=[84, 168], conf_tol_days={84: 7, 168: (14, 60)}, include_dates=True),
        {},
        "df",
    ),
    ("conf_tol_scalar", "edss", "edss", dict(MULTI, conf_tol_days=7, include_dates=True), {}, "df"),
    (
        "conf_tol_zero_inf",
        "edss",
        "edss",
        dict(event="multiple", RAW_PIRA=True, conf_tol_days=TOL0),
        {},
        "df",
    ),
    ("conf_tol_len1_list", "edss", "edss", dict(MULTI, conf_tol_days=[14]), {}, "df"),
    (
        "conf_days_float",
        "edss",
        "edss",
        dict(MULTI, conf_days=90.75, conf_tol_days=(7, 30), include_dates=True, include_value=True),
        {},
        "df",
    ),
    (
        "conf_list_firstPIRA_fixed",
        "edss",
        "edss",
        dict(event="firstPIRA", conf_days=[84, 168]),
        {},
        "df",
    ),
    # --- sustained / intermediate
    ("sust365", "edss", "edss", dict(MULTI, require_sust_days=365), {}, "df"),
    (
        "sust_inf_fixed",
        "edss",
        "edss",
        dict(event="multiple", require_sust_days=INF, RAW_PIRA=True),
        {},
        "df",
    ),
    ("no_intermediate", "edss", "edss", dict(MULTI, check_intermediate=False), {}, "df"),
    (
        "no_intermediate_sust365_tol7_200",
        "edss",
        "edss",
        dict(MULTI, check_intermediate=False, require_sust_days=365, conf_tol_days=(7, 200)),
        {},
        "df",
    ),
    (
        "no_intermediate_sust_inf_cdi",
        "edss",
        "edss",
        dict(event="firstCDI", baseline="roving", check_intermediate=False, require_sust_days=INF),
        {},
        "df",
    ),
    (
        "sust365_conf_list",
        "edss",
        "edss",
        dict(MULTI, require_sust_days=365, conf_days=[84, 168]),
        {},
        "df",
    ),
    # --- relapse distances
    (
        "relapse_dist_pairs",
        "edss",
        "edss",
        dict(MULTI, relapse_to_bl=(30, 30), relapse_to_event=(0, 30), relapse_to_conf=(30, 30)),
        {},
        "df",
    ),
    (
        "relapse_dist_scalars",
        "edss",
        "edss",
        dict(MULTI, relapse_to_bl=0, relapse_to_event=30, relapse_to_conf=0),
        {},
        "df",
    ),
    (
        "relapse_dist_len1",
        "edss",
        "edss",
        dict(
            MULTI,
            relapse_to_bl=[60],
            relapse_to_event=[10],
            relapse_to_conf=[90],
            relapse_assoc=[30],
        ),
        {},
        "df",
    ),
    ("relapse_assoc_pair", "edss", "edss", dict(MULTI, relapse_assoc=(90, 30)), {}, "df"),
    (
        "relapse_assoc_scalar_30",
        "edss",
        "edss",
        dict(event="multiple", RAW_PIRA=True, relapse_assoc=30),
        {},
        "df",
    ),
    # --- relapse_indep presets (firstCDW, one-off) and prec_type last_delta
    (
        "indep_strict_firstCDW",
        "edss",
        "edss",
        dict(
            RAW_PIRA=True,
            relapse_indep={"prec": (0, None), "event": (None, None), "conf": (None, 0)},
        ),
        {},
        "df",
    ),
    (
        "indep_last_delta",
        "edss",
        "edss",
        dict(
            MULTI,
            include_dates=True,
            include_value=True,
            relapse_indep={
                "prec": (0, 30),
                "event": (90, 30),
                "conf": (90, 30),
                "prec_type": "last_delta",
            },
        ),
        {},
        "df",
    ),
    (
        "indep_last_delta_fixed_multiple",
        "edss",
        "edss",
        dict(
            event="multiple",
            RAW_PIRA=True,
            relapse_indep={
                "prec": (90, None),
                "event": (None, 30),
                "conf": (30, 30),
                "prec_type": "last_delta",
            },
        ),
        {},
        "df",
    ),
    # --- imputation
    ("impute_1", "edss", "edss", dict(MULTI, impute_last_visit=1, include_dates=True), {}, "df"),
    (
        "impute_1000_fixed",
        "edss",
        "edss",
        dict(event="multiple", RAW_PIRA=True, impute_last_visit=1000),
        {},
        "df",
    ),
    (
        "impute_1_firstPIRA_roving",
        "edss",
        "edss",
        dict(event="firstPIRA", baseline="roving", impute_last_visit=1),
        {},
        "df",
    ),
    ("impute_0_float", "edss", "edss", dict(MULTI, impute_last_visit=0.0), {}, "df"),
    # --- output shape flags
    (
        "all_flags_on",
        "edss",
        "edss",
        dict(
            MULTI,
            include_dates=True,
            include_value=True,
            include_stable=False,
            return_unconfirmed=True,
        ),
        {},
        "df",
    ),
    (
        "unconfirmed_firstCDW",
        "edss",
        "edss",
        dict(return_unconfirmed=True, include_dates=True),
        {},
        "df",
    ),
    (
        "unconfirmed_sust_nhpt",
        "nhpt",
        "nhpt",
        dict(MULTI, return_unconfirmed=True, require_sust_days=365, include_value=True),
        {},
        "df",
    ),
    (
        "stable_off_firstCDI",
        "edss",
        "edss",
        dict(event="firstCDI", include_stable=False, include_value=True),
        dict(n_subjects=80),
        "df",
    ),
    # --- valuedelta, subjects, dates, relapse frames
    (
        "valuedelta",
        "edss",
        "edss",
        dict(MULTI, valuedelta_col="edss_delta", include_value=True),
        dict(valuedelta=True),
        "df",
    ),
    ("subjects_subset", "edss", "edss", dict(MULTI, subjects="HALF"), {}, "df"),
    (
        "date_day",
        "edss",
        "edss",
        dict(MULTI, include_dates=True, return_unconfirmed=True),
        dict(date_mode="day"),
        "df",
    ),
    (
        "date_dmy",
        "edss",
        "edss",
        dict(MULTI, include_dates=True, return_unconfirmed=True),
        dict(date_mode="dmy"),
        "df",
    ),
    (
        "date_iso",
        "edss",
        "edss",
        dict(MULTI, include_dates=True, return_unconfirmed=True),
        dict(date_mode="iso"),
        "df",
    ),
    (
        "date_datetime_int_ids",
        "edss",
        "edss",
        dict(MULTI, include_dates=True, return_unconfirmed=True),
        dict(date_mode="datetime", id_kind="int"),
        "df",
    ),
    (
        "relapse_renamed_cols",
        "edss",
        "edss",
        dict(MULTI, include_dates=True),
        dict(relapse_cols=("pid", "onset")),
        "renamed",
    ),
    (
        "relapse_none",
        "edss",
        "edss",
        dict(MULTI, include_dates=True, return_unconfirmed=True),
        {},
        "none",
    ),
    ("relapse_empty_frame", "edss", "edss", dict(MULTI, RAW_PIRA=True), {}, "empty"),
    (
        "clean_sorted_no_missing",
        "edss",
        "edss",
        dict(MULTI, return_unconfirmed=True),
        dict(shuffle_rows=False, missing=0.0, duplicates=0.0),
        "df",
    ),
]

# clinical spec 2.7.3: all seven presets with event='multiple' and RAW_PIRA=True
for _name, _opts in PRESETS.items():
    GRID.append(
        (
            f"preset_{_name}_multiple",
            "edss",
            "edss",
            dict(_opts, event="multiple", RAW_PIRA=True, include_dates=True),
            {},
            "df",
        )
    )

assert len({g[0] for g in GRID}) == len(GRID), "duplicate case ids"

SEEDS = (0, 1, 2)
N_SUBJECTS = 45


def _spec_for(index: int, seed: int, overrides: dict) -> mc.CohortSpec:
    base = mc.CohortSpec(
        seed=10_000 * index + seed,
        n_subjects=N_SUBJECTS,
        date_mode=mc.DATE_MODES[index % 4],
        id_kind=("str", "int")[(index // 4) % 2],
    )
    return replace(base, **overrides)


def _build_kwargs(
    outcome: str, value_col: str, opts: dict, spec: mc.CohortSpec, relapse_mode: str
) -> dict:
    visits, relapses = mc.make_cohort(spec)
    kw: dict[str, Any] = dict(
        data=visits,
        subj_col="id",
        value_col=value_col,
        date_col="date",
        outcome=outcome,
        date_format=mc.date_format_for(spec.date_mode),
        verbose=0,
    )
    if relapse_mode == "df":
        kw["relapse"] = relapses
    elif relapse_mode == "renamed":
        kw.update(relapse=relapses, rsubj_col=spec.relapse_cols[0], rdate_col=spec.relapse_cols[1])
    elif relapse_mode == "empty":
        kw["relapse"] = relapses.iloc[:0]
    elif relapse_mode != "none":
        raise ValueError(relapse_mode)
    opts = dict(opts)
    if opts.get("subjects") == "HALF":
        ids = list(pd.unique(visits["id"]))
        opts["subjects"] = ids[::2] + (["not_a_subject"] if spec.id_kind == "str" else [-1])
    kw.update(opts)
    if kw["date_format"] is None and spec.date_mode == "iso" and spec.seed % 2:
        del kw["date_format"]  # also exercise the default
    return kw


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", GRID, ids=[g[0] for g in GRID])
def test_msprog_grid(case, seed):
    index = GRID.index(case)
    name, outcome, value_col, opts, overrides, relapse_mode = case
    spec = _spec_for(index, seed, overrides)
    compare_msprog(_build_kwargs(outcome, value_col, opts, spec, relapse_mode))


# ---------------------------------------------------------------------------
# stress: bigger cohorts, default options and the multiple/roving/RAW_PIRA set


@pytest.mark.parametrize(
    "opts",
    [{}, dict(MULTI, include_dates=True, include_value=True, return_unconfirmed=True)],
    ids=["defaults", "multiple_roving_rawpira"],
)
def test_msprog_stress(opts):
    spec = mc.CohortSpec(seed=424242, n_subjects=400, date_mode="datetime", id_kind="str")
    compare_msprog(_build_kwargs("edss", "edss", opts, spec, "df"))


# ---------------------------------------------------------------------------
# imputation with a probability: pymsprog draws np.random.binomial(1, p) for
# every not-confirmed worsening onset whose time from the first visit is
# within impute_max_fu (not only at the last visit) -- neda must consume the
# global numpy RNG in exactly the same order to match.


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_msprog_impute_probability_seeded(p):
    spec = mc.CohortSpec(seed=777, n_subjects=60, date_mode="day")
    kw = _build_kwargs("edss", "edss", dict(MULTI, impute_last_visit=p), spec, "df")
    compare_msprog(kw, seed=12345)


# ---------------------------------------------------------------------------
# clinical spec 2.8 scenarios under every preset (multiple, RAW_PIRA) and a
# few extra option sets

SCENARIO_OPTS = {
    f"preset_{k}": dict(v, event="multiple", RAW_PIRA=True) for k, v in PRESETS.items()
}
SCENARIO_OPTS["msprog_defaults_firstCDW"] = dict(RAW_PIRA=True)
SCENARIO_OPTS["any_lower_event"] = dict(
    MULTI,
    sub_threshold_rebl="improvement",
    proceed_from="event",
    delta_fun=three_strata,
    conf_tol_days=TOL0,
)
SCENARIO_OPTS["impute_1"] = dict(RAW_PIRA=True, impute_last_visit=1, return_unconfirmed=True)


@pytest.mark.parametrize("name", list(SCENARIO_OPTS))
def test_msprog_spec_scenarios(name):
    visits, relapses = mc.spec_scenarios_cohort()
    kw = dict(
        data=visits,
        subj_col="id",
        value_col="edss",
        date_col="date",
        outcome="edss",
        relapse=relapses,
        date_format="day",
        verbose=0,
        include_dates=True,
        include_value=True,
    )
    kw.update(SCENARIO_OPTS[name])
    compare_msprog(kw)


# ---------------------------------------------------------------------------
# pymsprog's toy data

TOY_OPTS = {
    "defaults": {},
    "multiple_roving_rawpira": dict(MULTI, include_dates=True, include_value=True),
    "firstPIRA_unconfirmed": dict(
        event="firstPIRA", baseline="roving", include_dates=True, return_unconfirmed=True
    ),
    "mueller2025": dict(PRESETS["mueller2025"], event="multiple", RAW_PIRA=True),
}


@pytest.mark.parametrize("opts_name", list(TOY_OPTS))
@pytest.mark.parametrize("with_relapses", [True, False], ids=["relapses", "no_relapses"])
@pytest.mark.parametrize(
    "value_col,outcome,date_col",
    [("EDSS", "edss", "date"), ("SDMT", "sdmt", "date"), ("EDSS", "edss", "visit_day")],
)
def test_msprog_toy_data(value_col, outcome, date_col, with_relapses, opts_name):
    visits, relapses = pymsprog.load_toy_data()
    if date_col == "visit_day":
        relapses = relapses.drop(columns="date").rename(columns={"visit_day": "date"})
        visits = visits.drop(columns="date")
    kw = dict(
        data=visits,
        subj_col="id",
        value_col=value_col,
        date_col=date_col,
        outcome=outcome,
        relapse=relapses if with_relapses else None,
        verbose=0,
    )
    if date_col == "visit_day":
        kw.update(date_format="day", rdate_col="date")
    kw.update(TOY_OPTS[opts_name])
    out = compare_msprog(kw)
    assert out.error is None


# ---------------------------------------------------------------------------
# errors (argument validation and pymsprog crashes)


def _small():
    v, r = mc.make_cohort(mc.CohortSpec(seed=99, n_subjects=12, date_mode="iso"))
    return dict(
        data=v,
        subj_col="id",
        value_col="edss",
        date_col="date",
        outcome="edss",
        relapse=r,
        verbose=0,
    )


def _bad_values(col, val):
    def f(kw):
        d = kw["data"].copy()
        d.loc[d.index[3], col] = val
        kw["data"] = d

    return f


def _bad_dates(kw):
    d = kw["data"].copy()
    d["date"] = d["date"].astype(object)
    d.loc[d.index[0], "date"] = "not a date"
    kw["data"] = d


ERROR_CASES = {
    "outcome_invalid": dict(outcome="pasat"),
    "outcome_uppercase_ok": dict(outcome="EDSS"),
    "event_invalid": dict(event="firstRAW_"),
    "baseline_invalid": dict(baseline="roving_both"),
    "proceed_from_invalid": dict(proceed_from="conf"),
    "sub_threshold_invalid": dict(sub_threshold_rebl="change"),
    "skip_local_extrema_invalid": dict(skip_local_extrema="some"),
    "relapse_indep_not_dict": dict(relapse_indep=[(0, 0), (90, 30), (90, 30)]),
    "relapse_indep_missing_key": dict(relapse_indep={"prec": (0, 0), "event": (90, 30)}),
    "relapse_indep_bad_prec_type": dict(
        relapse_indep={"prec": (0, 0), "event": (90, 30), "conf": (90, 30), "prec_type": "first"}
    ),
    "relapse_indep_right_end_first": dict(
        RAW_PIRA=True,
        event="multiple",
        relapse_indep={"prec": (None, 0), "event": (90, 30), "conf": (90, 30)},
    ),
    "conf_tol_dict_missing_key": dict(conf_days=[84, 168], conf_tol_days={84: 7}),
    "impute_negative": dict(impute_last_visit=-1),
    "custom_no_worsening": dict(outcome="custom", delta_fun=lambda x: 1.0),
    "custom_no_delta_fun": dict(outcome="custom", worsening="increase"),
    "edss_above_10": dict(_mutate=_bad_values("edss", 10.5)),
    "edss_negative": dict(_mutate=_bad_values("edss", -0.5)),
    "sdmt_above_110": dict(outcome="sdmt", value_col="sdmt", _mutate=_bad_values("sdmt", 111.0)),
    "nhpt_negative": dict(outcome="nhpt", value_col="nhpt", _mutate=_bad_values("nhpt", -1.0)),
    "custom_negative_ok": dict(
        outcome="custom",
        worsening="increase",
        delta_fun=lambda x: 1.0,
        _mutate=_bad_values("edss", -3.0),
    ),
    "bad_date_string": dict(_mutate=_bad_dates),
    "wrong_date_format": dict(date_format="%d/%m/%Y"),
    "day_format_on_strings": dict(date_format="day"),
    "no_event_include_stable_false": dict(include_stable=False, subjects="FIRST_STABLE"),
    "subjects_match_nobody": dict(subjects=["nobody"]),
    "firstPIRA_fixed_conf_list": dict(event="firstPIRA", conf_days=[84, 168], conf_tol_days=TOL0),
    "firstPIRA_fixed_impute": dict(event="firstPIRA", impute_last_visit=1),
    "sust_conf_list_multiple": dict(event="multiple", conf_days=[84, 168], require_sust_days=365),
    "missing_value_column": dict(value_col="edss_plus"),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_msprog_errors(name):
    kw = _small()
    opts = dict(ERROR_CASES[name])
    mutate = opts.pop("_mutate", None)
    kw.update(opts)
    if mutate is not None:
        mutate(kw)
    if kw.get("subjects") == "FIRST_STABLE":
        s, _ = _run(pymsprog.MSprog, dict(kw, subjects=None, include_stable=True)).value
        kw["subjects"] = [s.index[(s["CDW"] == 0).to_numpy()][0]]
    compare_msprog(kw, per_subject_fallback=False)


# ---------------------------------------------------------------------------
# hypothesis: single-subject trajectories built from boundary gaps

_GAP = st.sampled_from(mc.BOUNDARY_GAPS + [45, 120, 250])
_EDSS = st.sampled_from([0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 5.5, 6.0, 6.5, 7.0])
_HYP_OPTS = [
    {},
    dict(MULTI),
    dict(MULTI, sub_threshold_rebl="improvement", proceed_from="event"),
    dict(MULTI, check_intermediate=False, require_sust_days=365, conf_tol_days=(7, 200)),
    dict(MULTI, relapse_rebl=True, bl_geq=True),
    dict(PRESETS["kappos2020"], event="multiple", RAW_PIRA=True),
    dict(PRESETS["mueller2025"], event="multiple", RAW_PIRA=True),
    dict(PRESETS["mueller2023_strict"], event="multiple", RAW_PIRA=True),
    dict(event="firstPIRA", baseline="roving", skip_local_extrema="strict"),
]


@given(
    gaps=st.lists(_GAP, min_size=0, max_size=9),
    values=st.lists(_EDSS, min_size=10, max_size=10),
    rel=st.lists(
        st.tuples(
            st.integers(0, 9),
            st.sampled_from([-91, -90, -89, -31, -30, -29, -1, 0, 1, 29, 30, 31, 89, 90, 91]),
        ),
        max_size=3,
    ),
    opt_index=st.integers(0, len(_HYP_OPTS) - 1),
)
def test_msprog_hypothesis_single_subject(gaps, values, rel, opt_index):
    days = np.concatenate([[0], np.cumsum(gaps)]).astype(int)
    visits = pd.DataFrame({"id": "h", "date": days, "edss": values[: len(days)]})
    relapses = pd.DataFrame(
        {"id": ["h"] * len(rel), "date": [int(days[min(i, len(days) - 1)]) + off for i, off in rel]}
    )
    kw = dict(
        data=visits,
        subj_col="id",
        value_col="edss",
        date_col="date",
        outcome="edss",
        relapse=relapses,
        date_format="day",
        verbose=0,
        include_dates=True,
        include_value=True,
        return_unconfirmed=True,
    )
    kw.update(_HYP_OPTS[opt_index])
    compare_msprog(kw, per_subject_fallback=False)


# ---------------------------------------------------------------------------
# API surface


def test_msprog_signature():
    ref = inspect.signature(pymsprog.MSprog)
    new = inspect.signature(neda_msprog.MSprog)
    assert [(p.name, p.kind) for p in new.parameters.values()] == [
        (p.name, p.kind) for p in ref.parameters.values()
    ]
    for name, p in ref.parameters.items():
        # a tuple in place of pymsprog's mutable list default is accepted
        ref_default, new_default = p.default, new.parameters[name].default
        if isinstance(ref_default, list) and isinstance(new_default, tuple):
            new_default = list(new_default)
        assert new_default == ref_default, name
    ref_cd = inspect.signature(pymsprog.compute_delta)
    new_cd = inspect.signature(neda_msprog.compute_delta)
    assert [(p.name, p.default) for p in new_cd.parameters.values()] == [
        (p.name, p.default) for p in ref_cd.parameters.values()
    ]


CD_VALUES = [
    -1.0,
    -0.0,
    0,
    0.0,
    0.5,
    1,
    1.0,
    4.5,
    5,
    5.0,
    5.25,
    5.5,
    6.0,
    9.5,
    10,
    10.0,
    10.5,
    20,
    21,
    99.0,
    110,
    110.5,
    111,
    179.0,
    180,
    181.0,
    300,
    300.5,
    1000.0,
    float("nan"),
    INF,
    -INF,
    np.float64(5.5),
    np.int64(0),
    np.int64(7),
]
CD_OUTCOMES = ["edss", "nhpt", "t25fw", "sdmt", "custom", "EDSS", None]


def _call_cd(fn, value, outcome):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            out = fn(value) if outcome is None else fn(value, outcome)
        except Exception as exc:  # noqa: BLE001
            return ("raise", type(exc)), [str(w.message) for w in rec if w.category is UserWarning]
    return ("ok", out), [str(w.message) for w in rec if w.category is UserWarning]


@pytest.mark.parametrize("outcome", CD_OUTCOMES, ids=[str(o) for o in CD_OUTCOMES])
def test_compute_delta(outcome):
    for value in CD_VALUES:
        ref, ref_w = _call_cd(pymsprog.compute_delta, value, outcome)
        new, new_w = _call_cd(neda_msprog.compute_delta, value, outcome)
        ctx = f"compute_delta({value!r}, {outcome!r})"
        assert new[0] == ref[0], f"{ctx}: pymsprog {ref}, neda {new}"
        if ref[0] == "raise":
            assert new[1] is ref[1], (
                f"{ctx}: pymsprog raised {ref[1].__name__}, neda {new[1].__name__}"
            )
        else:
            r, n = ref[1], new[1]
            assert type(n) is type(r), (
                f"{ctx}: type {type(r).__name__} expected, got {type(n).__name__}"
            )
            assert (math.isnan(r) and math.isnan(n)) or n == r, f"{ctx}: {r!r} expected, got {n!r}"
        assert new_w == ref_w, f"{ctx}: warnings {ref_w} expected, got {new_w}"
