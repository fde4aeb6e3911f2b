"""Confirmed disability milestones, pymsprog-compatible (``pymsprog.value_milestone`` 1.0.7).

An EDSS (or other outcome) milestone is reached at the first visit whose value reaches the
milestone (e.g. EDSS >= 6) out of the influence of relapses and is *confirmed*: every value up
to the first valid confirmation visit still reaches it (Montobbio et al., "msprog: an R
package and a Python package to assess disability course in multiple sclerosis", Mult Scler
J 2024). All subjects are scanned at once by a compiled kernel over per-subject arrays.

Where pymsprog 1.0.7 behaves in a way its documentation does not describe, this module
reproduces pymsprog (each point is listed in ``docs/msprog-compatibility.md``).

The argument-normalisation and random-draw helpers here are shared with
:mod:`neda.msprog.relapse_split`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from ..course.scan import offsets, relapse_distances

__all__ = ["value_milestone"]

_BUILTIN = ("edss", "nhpt", "t25fw", "sdmt")
ERR_NONE = 0
ERR_INDEX_EMPTY = 1  # pymsprog: conf_idx[0] on an empty array (IndexError)


# ---------------------------------------------------------------------------
# argument normalisation shared with relapse_split (pymsprog's conventions)



def _as_dates(values: pd.Series, col: object, date_format: str | None) -> pd.Series:
    """pd.to_datetime as pymsprog calls it, with its error message (already dates: as is)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    try:
        return pd.to_datetime(values, format=date_format)
    except Exception as exc:
        raise ValueError(
            f"Failed to intepret '{col}' column as dates; "
            "please provide correct format via `date_format` argument."
        ) from exc

def _as_list(x: Any) -> Any:
    """A single number becomes a one-element list; anything iterable is kept as given."""
    try:
        iter(x)
    except TypeError:
        return [x]
    return x


def _symmetric(x: Any) -> Any:
    """Tolerance convention: k means (k, k); a one-element sequence likewise."""
    try:
        iter(x)
        if len(x) == 1:
            x = [x[0], x[0]]
    except TypeError:
        x = [x, x]
    return x


def _left_only(x: Any) -> Any:
    """Relapse-distance convention: k means (k, 0); a one-element sequence likewise."""
    try:
        iter(x)
        if len(x) == 1:
            x = [x[0], 0]
    except TypeError:
        x = [x, 0]
    return x


def _outcome_name(outcome: Any) -> str:
    if outcome is None or outcome.lower() not in _BUILTIN:
        return "outcome"
    return str(outcome.lower())


def _direction(outcome: str, worsening: Any) -> Any:
    if outcome in ("edss", "nhpt", "t25fw"):
        return "increase"
    if outcome == "sdmt":
        return "decrease"
    if worsening is None:
        raise ValueError(
            "Either specify an outcome type, or specify the direction of worsening "
            "('increase' or 'decrease')"
        )
    return worsening


def _impute(impute_last_visit: Any) -> tuple[Any, float]:
    """(probability, maximum follow-up) from pymsprog's ``impute_last_visit``."""
    if impute_last_visit < 0:
        raise ValueError("`impute_last_visit` must be nonnegative")
    if impute_last_visit <= 1:
        return impute_last_visit, float("inf")
    return 1, float(impute_last_visit)


def _windows(conf_days: Any, conf_tol_days: Any) -> tuple[np.ndarray, np.ndarray]:
    """Confirmation windows; pymsprog truncates each period to whole days (``int(c)``)."""
    win = [(int(c) - conf_tol_days[0], int(c) + conf_tol_days[1]) for c in conf_days]
    lo = np.array([w[0] for w in win], dtype=np.float64)
    hi = np.array([w[1] for w in win], dtype=np.float64)
    return lo, hi


def _sign(worsening: Any) -> int:
    return 1 if worsening == "increase" else (-1 if worsening == "decrease" else 0)


def _truthy(x: pd.Series) -> np.ndarray:
    """Per-element Python truthiness (how pymsprog reads a ``validconf`` cell)."""
    arr = x.to_numpy()
    if arr.dtype.kind in "biuf":
        return arr != 0
    return np.asarray(arr, dtype=object).astype(bool)


def _day_column(col: pd.Series, start: Any) -> pd.Series:
    """Whole days from ``start`` (``Timedelta.days``: floor), with the dtype pymsprog's
    element-wise ``.days`` gives: int64, or timedelta64 when the column is empty."""
    delta = col - start
    return delta.dt.days if len(delta) else delta


def _as_float(col: pd.Series) -> np.ndarray:
    return col.to_numpy(np.float64) if len(col) else np.zeros(0)


def _to_dates(days: np.ndarray, start: Any) -> np.ndarray:
    """Day numbers back to datetime64[ns]: ``start + days`` (NaN gives NaT)."""
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(days)
    if ok.any():
        stamps = pd.Timestamp(start) + pd.to_timedelta(days[ok], unit="D")
        out[ok] = stamps.to_numpy().astype("datetime64[ns]")
    return out


class _Draws:
    """The legacy global generator as pymsprog uses it: ``np.random.binomial(1, p, 1)`` once
    per eligible check. A block drawn at once gives the same stream; afterwards the state is
    restored and exactly the draws used are re-drawn, so the caller's generator ends where
    pymsprog's would."""

    def __init__(self, p: Any, bound: int) -> None:
        self.p = p
        self.random = bool(0 < p < 1)
        self.value = 1 if p >= 1 else 0
        if self.random:
            self.state = np.random.get_state()
            self.block = np.random.binomial(1, p, max(bound, 1)).astype(np.int64)
            np.random.set_state(self.state)
        else:
            self.block = np.zeros(1, np.int64)

    def consume(self, used: int) -> None:
        if used:
            np.random.binomial(1, self.p, used)


# ---------------------------------------------------------------------------
# compiled scan



@njit(cache=True)
def _first_confirmation(i0, onset, start, stop, dates, validconf, dminus, dplus, rtc0, rtc1,
                        lo, hi, nwin):
    """First visit in [start, stop) that may confirm the onset: valid for confirmation, far
    enough from relapses, and inside one of the confirmation windows; -1 if none."""
    for x in range(start, stop):
        i = i0 + x
        if not validconf[i] or not dminus[i] >= rtc0 or not dplus[i] >= rtc1:
            continue
        d = dates[i] - dates[i0 + onset]
        for w in range(nwin):
            if lo[w] <= d and d <= hi[w]:
                return x
    return -1

@njit(cache=True, inline="always")
def _reaches(v, milestone, sgn):
    if sgn > 0:
        return v >= milestone
    if sgn < 0:
        return v <= milestone
    return False


@njit(cache=True, inline="always")
def _falls_back(v, milestone, sgn):
    if sgn > 0:
        return v < milestone
    if sgn < 0:
        return v > milestone
    return False


@njit(cache=True)
def _milestone_scan(vstart, vend, dates, value, validconf, dminus, dplus, milestone, sgn,
                    lo, hi, rte0, rte1, rtc0, rtc1, require_sust, impute_max_fu,
                    draws, random_draws, draw_value):
    """Index (relative to the subject's first visit) of the confirmed milestone visit, or -1.

    Subjects are scanned in order and the scan stops at the first error, as pymsprog does,
    so the number of random draws used is exact.
    """
    n_subj = vstart.shape[0]
    reached = np.full(n_subj, -1, np.int64)
    err = np.zeros(n_subj, np.int64)
    pos = 0
    nwin = lo.shape[0]
    for s in range(n_subj):
        i0 = vstart[s]
        n = vend[s] - i0
        search = 0
        while True:
            m = -1
            for x in range(search, n):
                i = i0 + x
                if _reaches(value[i], milestone, sgn) and dminus[i] >= rte0 and dplus[i] >= rte1:
                    m = x
                    break
            if m < 0:
                break
            # first valid confirmation visit in any window
            c0 = _first_confirmation(i0, m, m + 1, n, dates, validconf, dminus, dplus,
                                     rtc0, rtc1, lo, hi, nwin)
            confirmed = False
            if c0 >= 0:
                confirmed = True
                for x in range(m + 1, c0 + 1):
                    if not _reaches(value[i0 + x], milestone, sgn):
                        confirmed = False
                        break
            # pymsprog compares the milestone *value* with the last visit index here
            if (not confirmed and milestone == n - 1
                    and dates[i0 + m] - dates[i0] <= impute_max_fu):
                dv = draws[pos] if random_draws else draw_value
                pos += 1
                if dv != 0:
                    confirmed = True
                    if m == n - 1:
                        c0 = n - 1
                    elif c0 < 0:
                        err[s] = ERR_INDEX_EMPTY
                        return reached, err, pos
            if confirmed:
                nxt = -1
                for x in range(c0 + 1, n):
                    if _falls_back(value[i0 + x], milestone, sgn):
                        nxt = x
                        break
                valid = True
                if require_sust != 0:
                    valid = nxt < 0 or dates[i0 + nxt] - dates[i0 + m] >= require_sust
                if valid:
                    reached[s] = m
                    break
                search = nxt + 1
            else:
                # pymsprog looks for the next value *below* the milestone, whatever the
                # direction of worsening
                nc = n - 1
                for x in range(m + 1, n):
                    if value[i0 + x] < milestone:
                        nc = x
                        break
                search = nc + 1
    return reached, err, pos


# ---------------------------------------------------------------------------
# public function


def value_milestone(
    data: pd.DataFrame,
    milestone: float,
    subj_col: str,
    value_col: str,
    date_col: str,
    outcome: str | None,
    relapse: pd.DataFrame | None = None,
    rsubj_col: str | None = None,
    rdate_col: str | None = None,
    worsening: str | None = None,
    validconf_col: str | None = None,
    conf_days: Any = 7 * 12,
    conf_tol_days: Any = (7, 2 * 365.25),
    require_sust_days: float = 0,
    relapse_to_event: Any = 0,
    relapse_to_conf: Any = 30,
    impute_last_visit: float = 0,
    date_format: str | None = None,
    verbose: int = 0,
) -> pd.DataFrame:
    """First time each subject reaches a disability milestone, with confirmation.

    The milestone is reached at the first visit whose value reaches or passes ``milestone``
    (``>=`` when higher is worse, ``<=`` otherwise), out of the influence of relapses
    (``relapse_to_event``), and confirmed: all values up to the first valid confirmation
    visit (``conf_days``, ``conf_tol_days``, ``relapse_to_conf``, ``validconf_col``) still
    reach it, optionally sustained for ``require_sust_days`` (msprog method, Montobbio et al.,
    Mult Scler J 2024).

    Drop-in for ``pymsprog.value_milestone`` 1.0.7: same arguments and defaults, same result
    (one row per subject: date reached - or last visit -, value, ``time2event``,
    ``observed``) with the same dtypes, same errors, same side effects on ``data``.
    """
    # ---- argument normalisation, in pymsprog's order ----
    conf_days = _as_list(conf_days)
    conf_tol_days = _symmetric(conf_tol_days)
    relapse_to_event = _left_only(relapse_to_event)
    relapse_to_conf = _left_only(relapse_to_conf)
    outcome = _outcome_name(outcome)
    worsening = _direction(outcome, worsening)
    impute_p, impute_max_fu = _impute(impute_last_visit)

    if relapse is not None and rsubj_col is None:
        rsubj_col = subj_col
    if relapse is not None and rdate_col is None:
        rdate_col = date_col
    # pymsprog writes these two into the caller's frame
    if validconf_col is None:
        validconf_col = "validconf"
        data.loc[:, validconf_col] = 1
    data[value_col] = data[value_col].astype(float)
    data = data[[subj_col, value_col, date_col, validconf_col]].dropna()

    # ---- dates ----
    if date_format != "day":
        data[date_col] = _as_dates(data[date_col], date_col, date_format)
    if relapse is None:
        relapsedata = False
        relapse = pd.DataFrame([], columns=[rsubj_col, rdate_col])
        relapse_start = data[date_col].min()
    else:
        relapsedata = True
        relapse = relapse[[rsubj_col, rdate_col]].copy().dropna()
        if date_format != "day":
            relapse[rdate_col] = _as_dates(relapse[rdate_col], rdate_col, date_format)
        relapse_start = relapse[rdate_col].min()
    if date_format != "day":
        global_start = min(data[date_col].min(), relapse_start)
        if relapsedata:
            relapse[rdate_col] = _day_column(relapse[rdate_col], global_start)
            rel_days = _as_float(relapse[rdate_col])
        else:
            relapse[rdate_col] = relapse[rdate_col].astype(float)
            rel_days = np.zeros(0)
        data[date_col] = _day_column(data[date_col], global_start)
        vis_days = _as_float(data[date_col])
    else:
        try:
            vis_days = data[date_col].astype(float).to_numpy()
            rel_float = relapse[rdate_col].astype(float)
            relapse[rdate_col] = rel_float
        except Exception as exc:
            raise ValueError(
                "Failed to intepret date columns as number of days (as per `date_format='day'`)"
            ) from exc
        rel_days = rel_float.to_numpy(np.float64) if relapsedata else np.zeros(0)
        global_start = None

    lo, hi = _windows(conf_days, conf_tol_days)
    all_subj = data[subj_col].unique()
    nsub = len(all_subj)
    day_mode = date_format == "day"
    columns = [date_col, value_col, "time2event", "observed"]

    if nsub == 0:
        results = pd.DataFrame([], columns=columns, index=all_subj)
        _print_milestone(verbose, outcome, conf_days, conf_tol_days, relapse_to_event,
                         relapse_to_conf, nsub, 0, milestone)
        return results
    # the per-subject relapse look-up pymsprog performs (fails when `relapse` was None and
    # no relapse column names were given)
    first_rel = relapse.loc[relapse[rsubj_col] == all_subj[0], :]
    # ... and its first comparison, which fails on an empty relapse frame with real dates
    first_day = data.loc[data[subj_col] == all_subj[0], date_col].min()
    _ = first_rel[rdate_col] >= first_day - relapse_to_event[0]

    # ---- per-subject visit arrays ----
    codes = pd.factorize(data[subj_col], sort=False)[0].astype(np.int64)
    value_all = data[value_col].to_numpy(np.float64)
    valid_all = _truthy(data[validconf_col])
    nrow = len(codes)
    pos = np.arange(nrow)
    by_day = np.lexsort((pos, vis_days, codes))
    same = np.zeros(nrow, dtype=bool)
    if nrow > 1:
        same[1:] = (codes[by_day][1:] == codes[by_day][:-1]) & (
            vis_days[by_day][1:] == vis_days[by_day][:-1])
    # a subject with same-day visits is sorted by date and keeps the last row of each day;
    # any other subject keeps its rows in input order
    has_dup = np.zeros(nsub, dtype=bool)
    has_dup[codes[by_day][same]] = True
    key = np.where(has_dup[codes], vis_days, pos.astype(np.float64))
    order = np.lexsort((pos, key, codes))
    drop = np.zeros(nrow, dtype=bool)
    if nrow > 1:
        c_s, d_s = codes[order], vis_days[order]
        drop[:-1] = (c_s[1:] == c_s[:-1]) & (d_s[1:] == d_s[:-1]) & has_dup[c_s[:-1]]
    sel = order[~drop]
    vcodes = codes[sel]
    dates = vis_days[sel]
    value = value_all[sel]
    validconf = valid_all[sel]
    vstart, vend = offsets(vcodes, nsub)

    # ---- relapses: those of known subjects, not earlier than the influence window ----
    rel_subj = relapse[rsubj_col].to_numpy() if relapsedata else np.zeros(0, dtype=object)
    if len(rel_subj):
        rcodes = pd.Index(all_subj).get_indexer(rel_subj).astype(np.int64)
        ok = rcodes >= 0
        rcodes, rdays = rcodes[ok], rel_days[ok]
        first_visit = np.minimum.reduceat(dates, vstart)[rcodes]
        keep = rdays >= first_visit - relapse_to_event[0]
        rcodes, rdays = rcodes[keep], rdays[keep]
        ro = np.argsort(rcodes, kind="stable")
        rcodes, rdays = rcodes[ro], rdays[ro].astype(np.float64)
    else:
        rcodes, rdays = np.zeros(0, np.int64), np.zeros(0)
    rstart, rend = offsets(rcodes, nsub)
    dminus, dplus = relapse_distances(vstart, vend, dates, rstart, rend, rdays, rdays)

    draws = _Draws(impute_p, len(dates))
    reached, err, used = _milestone_scan(
        vstart, vend, dates, value, validconf, dminus, dplus, float(milestone),
        _sign(worsening), lo, hi, float(relapse_to_event[0]), float(relapse_to_event[1]),
        float(relapse_to_conf[0]), float(relapse_to_conf[1]), float(require_sust_days),
        float(impute_max_fu), draws.block, draws.random, draws.value,
    )
    draws.consume(int(used))
    if err.any():
        raise IndexError("index 0 is out of bounds for axis 0 with size 0")

    # ---- result ----
    observed = reached >= 0
    at = np.where(observed, vstart + reached, vend - 1)
    t2e = dates[at] - dates[vstart]
    val = np.where(observed, value[at], np.nan)
    when = dates[at] if day_mode else _to_dates(dates[at], global_start)
    results = pd.DataFrame(
        {date_col: when, value_col: val, "time2event": t2e.astype(np.float64),
         "observed": observed},
        index=all_subj,
    )
    _print_milestone(verbose, outcome, conf_days, conf_tol_days, relapse_to_event,
                     relapse_to_conf, nsub, int(observed.sum()), milestone)
    return results


def _print_milestone(verbose: int, outcome: str, conf_days: Any, conf_tol_days: Any,
                     relapse_to_event: Any, relapse_to_conf: Any, nsub: int, n_obs: int,
                     milestone: Any) -> None:
    """The run summary pymsprog prints with ``verbose >= 1``."""
    if verbose < 1:
        return
    right = ("inf" if conf_tol_days[1] == float("inf")
             else str(conf_tol_days[1]) + " days")
    print(
        f"\n---\nOutcome: {outcome.upper()}\n"
        f"Confirmation over: {conf_days} days (-{conf_tol_days[0]} days, +{right})\n"
        f"Relapse influence (event): {relapse_to_event} days\n"
        f"Relapse influence (confirmation): {relapse_to_conf} days\n        "
    )
    print(f"---\nTotal subjects: {nsub}\n{n_obs} reached the milestone "
          f"{outcome}={milestone}.\n---")
