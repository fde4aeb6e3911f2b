"""Relapse-independent vs relapse-associated trajectories, pymsprog-compatible
(``pymsprog.separate_ri_ra`` 1.0.7).

Each subject's disability trajectory is decomposed into a relapse-independent component
(RIC: what is left after removing relapse-associated worsening, i.e. the PIRA trajectory)
and a relapse-associated component, split into a sustained part (SRAC: confirmed,
sustained relapse-associated worsening, carried forward) and a transient part (TRAC:
"bumps" around relapses). All components are changes from the subject's baseline
(Montobbio et al., "msprog: an R package and a Python package to assess disability course
in multiple sclerosis", Mult Scler J 2024).

All subjects are processed by one compiled pass over per-subject arrays. Where pymsprog
1.0.7 behaves in a way its documentation does not describe (visits taken in input order,
relapses in input order, ...), this module reproduces pymsprog; each point is listed in
``docs/msprog-compatibility.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from ..course.scan import offsets, relapse_distances
from .milestone import (
    _as_float,
    _as_list,
    _day_column,
    _direction,
    _Draws,
    _first_confirmation,
    _impute,
    _left_only,
    _outcome_name,
    _sign,
    _symmetric,
    _to_dates,
    _truthy,
    _windows,
)
from .thresholds import compute_delta

__all__ = ["separate_ri_ra"]

# Subject status codes of the kernel.
ST_OK = 0
ST_NEED_DELTA = 1  # threshold for this reference value unknown yet: compute it and rerun
ST_NO_BASELINE = 2  # pymsprog: `None + 1` (TypeError) - no visit far enough before a relapse
ST_DELTA_RAISED = 3  # the threshold function raised for this reference value
ST_BAD_DIRECTION = 4  # pymsprog: KeyError on an unknown direction of worsening
ST_NOT_RUN = -1


# ---------------------------------------------------------------------------
# compiled pass


@njit(cache=True, inline="always")
def _influenced(rel, vis, d0, d1):
    """Whether a visit lies within a relapse's influence window (pymsprog's rule)."""
    if vis == rel and d0 + d1 > 0:
        return True
    if vis - rel > 0:
        return d0 > 0 and vis - rel <= d0
    return d1 > 0 and rel - vis <= d1


@njit(cache=True, inline="always")
def _worse(x, b, d, sgn, sub_threshold):
    if sub_threshold:
        return x > b if sgn > 0 else x < b
    if sgn > 0:
        return x - b >= d
    return x - b <= -d


@njit(cache=True, inline="always")
def _pos(x):
    return x if x > 0 else 0.0


@njit(cache=True)
def _split_subject(s, i0, n, dates, value, validconf, dminus, dplus, r0, nr, rdates,
                   lo, hi, rtb0, rtb1, rtc0, rtc1, ra0, ra1, sgn, sub_threshold, sust_raw,
                   impute_max_fu, draws, random_draws, draw_value, pos,
                   tkeys, tvals, tbad, tused, keep, bump, ra, relnum, gbl, need,
                   raw_vis, raw_delta, raw_count):
    """One subject; returns its status. Visits are in input order (as pymsprog reads them)."""
    # first visit out of relapse influence: the global baseline
    rfb = -1
    for x in range(n):
        if dminus[i0 + x] >= rtb0 and dplus[i0 + x] >= rtb1:
            rfb = x
            break
    if rfb < 0:
        return ST_OK  # every row of the subject is dropped
    g = value[i0]
    for x in range(1, rfb + 1):
        if value[i0 + x] < g:
            g = value[i0 + x]
    gbl[s] = g
    k0 = i0 + rfb
    m = n - rfb
    for v in range(m):
        keep[k0 + v] = True
    bl_date = dates[k0]
    for v in range(1, m):
        if dates[k0 + v] < bl_date:
            bl_date = dates[k0 + v]

    # relapses after the baseline, in input order; closest visit before / after each
    sel = np.empty(nr, np.int64)
    nq = 0
    for j in range(nr):
        if rdates[r0 + j] > bl_date:
            sel[nq] = r0 + j
            nq += 1
    cvm = np.full(nq, -1, np.int64)
    cvp = np.full(nq, -1, np.int64)
    for q in range(nq):
        R = rdates[sel[q]]
        best_m = np.inf
        best_p = np.inf
        for v in range(m):
            d = R - dates[k0 + v]
            if d >= 0 and d < best_m:
                best_m = d
                cvm[q] = v
            if -d >= 0 and -d < best_p:
                best_p = -d
                cvp[q] = v

    thr = max(rtb1, ra1)
    nwin = lo.shape[0]
    has_last = False
    last_conf = 0.0
    nraw = 0
    for q in range(nq):
        R = rdates[sel[q]]
        if has_last and last_conf >= R:
            continue  # within the confirmation period of the last change
        bl_idx = -1
        for v in range(cvm[q], -1, -1):
            if R - dates[k0 + v] > thr:
                bl_idx = v
                break
        if bl_idx < 0:
            return ST_NO_BASELINE
        a = value[k0 + bl_idx] - bump[k0 + bl_idx]
        blv = g if g > a else a
        end = m - 1 if cvp[q] < 0 else cvp[q]
        change = -1
        for v in range(bl_idx + 1, end + 1):
            if _influenced(R, dates[k0 + v], ra0, ra1):
                change = v
                break
        d = 0.0
        d_ready = False
        confirmed = False
        tmp = change
        while (not confirmed and change >= 0 and tmp < m
               and _influenced(R, dates[k0 + tmp], ra0, ra1)):
            stable = True
            while stable and tmp < m and _influenced(R, dates[k0 + tmp], ra0, ra1):
                change = tmp
                if not d_ready:
                    # the threshold is looked up where pymsprog first calls is_event
                    if not sub_threshold:
                        t = np.searchsorted(tkeys, blv)
                        if t >= tkeys.shape[0] or tkeys[t] != blv:
                            need[s] = blv
                            return ST_NEED_DELTA
                        tused[t] = True
                        if tbad[t]:
                            need[s] = blv
                            return ST_DELTA_RAISED
                        d = tvals[t]
                    if sgn == 0:
                        return ST_BAD_DIRECTION
                    d_ready = True
                stable = not _worse(value[k0 + change], blv, d, sgn, sub_threshold)
                tmp = change + 1
            if (not _influenced(R, dates[k0 + change], ra0, ra1)
                    or not _worse(value[k0 + change], blv, d, sgn, sub_threshold)):
                confirmed = False
                tmp = change + 1
                continue
            conf = -1
            drawn = False
            if change == m - 1 and dates[k0 + change] - dates[k0] <= impute_max_fu:
                dv = draws[pos[0]] if random_draws else draw_value
                pos[0] += 1
                drawn = dv != 0
            if drawn:
                confirmed = True
                conf = m - 1
            else:
                conf = _first_confirmation(k0, change, change + 1, m, dates, validconf, dminus,
                                           dplus, rtc0, rtc1, lo, hi, nwin)
                confirmed = conf >= 0
                if confirmed:
                    for x in range(change + 1, conf + 1):
                        if not _worse(value[k0 + x], blv, d, sgn, sub_threshold):
                            confirmed = False
                            break
            if confirmed:
                has_last = True
                last_conf = dates[k0 + conf]
                valid = True
                nns = -1
                if sust_raw != 0:
                    for x in range(conf + 1, m):
                        if not _worse(value[k0 + x], blv, d, sgn, sub_threshold):
                            nns = x
                            break
                    valid = nns < 0 or dates[k0 + nns - 1] - dates[k0 + change] > sust_raw
                if valid:
                    sidx = m - 1
                    for x in range(conf + 1, m):
                        if dates[k0 + x] - dates[k0 + change] > sust_raw:
                            sidx = x - 1
                            break
                    eidx = sidx if q == nq - 1 else min(max(cvm[q + 1], conf), sidx)
                    low = value[k0 + change]
                    for x in range(change + 1, eidx + 1):
                        if value[k0 + x] < low:
                            low = value[k0 + x]
                    delta = low - blv
                    if delta < 0:
                        delta = 0.0
                    for x in range(change, conf + 1):
                        bump[k0 + x] = bump[k0 + x] + _pos(value[k0 + x] - low)
                    raw_vis[r0 + nraw] = k0 + change
                    raw_delta[r0 + nraw] = delta
                    nraw += 1
                else:
                    ref = value[k0 + nns]
                    for x in range(change, nns):
                        bump[k0 + x] = bump[k0 + x] + _pos(value[k0 + x] - ref)
            else:
                if conf >= 0:
                    nnc = change + 1
                    for x in range(change + 1, conf + 1):
                        if not _worse(value[k0 + x], blv, d, sgn, sub_threshold):
                            nnc = x
                            break
                    eidx = nnc - 1
                    ref = value[k0 + nnc]
                else:
                    eidx = change
                    ref = blv
                for x in range(change, eidx + 1):
                    bump[k0 + x] = bump[k0 + x] + _pos(value[k0 + x] - ref)
                # pymsprog stores a visit *index* here, later compared with relapse dates
                has_last = True
                last_conf = float(eidx)
                tmp = max(eidx + 1, change + 1)

    raw_count[s] = nraw
    for e in range(nraw):
        rd = dates[raw_vis[r0 + e]]
        for v in range(m):
            if dates[k0 + v] >= rd:
                ra[k0 + v] = ra[k0 + v] + raw_delta[r0 + e]
    for v in range(m):
        c = 0
        for j in range(nr):
            if dates[k0 + v] >= rdates[r0 + j]:
                c += 1
        relnum[k0 + v] = c
    return ST_OK


@njit(cache=True)
def _split_all(first, vstart, vend, dates, value, validconf, dminus, dplus, rstart, rend,
               rdates, lo, hi, rtb0, rtb1, rtc0, rtc1, ra0, ra1, sgn, sub_threshold,
               sust_raw, impute_max_fu, draws, random_draws, draw_value, draw0,
               tkeys, tvals, tbad, tused, keep, bump, ra, relnum, gbl, need, status,
               draw_begin, raw_vis, raw_delta, raw_count):
    """Subjects ``first..`` in order; stops at the first hard error (as pymsprog raises).
    A subject whose threshold is still unknown is marked and the pass goes on, so that
    one Python round can collect the thresholds of many subjects."""
    pos = np.zeros(1, np.int64)
    pos[0] = draw0
    for s in range(first, vstart.shape[0]):
        i0 = vstart[s]
        n = vend[s] - i0
        draw_begin[s] = pos[0]
        for i in range(i0, i0 + n):
            keep[i] = False
            bump[i] = 0.0
            ra[i] = 0.0
            relnum[i] = 0
        raw_count[s] = 0
        st = _split_subject(s, i0, n, dates, value, validconf, dminus, dplus, rstart[s],
                            rend[s] - rstart[s], rdates, lo, hi, rtb0, rtb1, rtc0, rtc1,
                            ra0, ra1, sgn, sub_threshold, sust_raw, impute_max_fu, draws,
                            random_draws, draw_value, pos, tkeys, tvals, tbad, tused, keep,
                            bump, ra, relnum, gbl, need, raw_vis, raw_delta, raw_count)
        status[s] = st
        if st != ST_OK and st != ST_NEED_DELTA:
            return s, pos[0]
    return vstart.shape[0], pos[0]


# ---------------------------------------------------------------------------
# thresholds (evaluated in Python, looked up in compiled code)


class _Thresholds:
    """Minimum meaningful change per reference value, computed on demand by pymsprog's rule
    (``compute_delta`` or the caller's ``delta_fun``); exceptions and warnings are kept and
    replayed only if the reference value is actually used."""

    def __init__(self, outcome: str, delta_fun: Callable[..., Any] | None) -> None:
        self.outcome = outcome
        self.delta_fun = delta_fun
        self.val: dict[float, float] = {}
        self.exc: dict[float, BaseException] = {}
        self.warns: dict[float, list[warnings.WarningMessage]] = {}

    def _one(self, b: float) -> Any:
        if self.delta_fun is None:
            return compute_delta(b, self.outcome)
        try:
            return self.delta_fun(b, self.outcome)
        except TypeError:
            return self.delta_fun(b)

    def add(self, refs: np.ndarray) -> None:
        for b in np.unique(refs):
            key = float(b)
            if key in self.val or key in self.exc:
                continue
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    self.val[key] = float(self._one(key))
                except Exception as exc:  # replayed only if pymsprog would evaluate it
                    self.exc[key] = exc
            if caught:
                self.warns[key] = list(caught)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keys = np.array(sorted([*self.val, *self.exc]), dtype=np.float64)
        vals = np.array([self.val.get(k, np.nan) for k in keys], dtype=np.float64)
        bad = np.array([k in self.exc for k in keys], dtype=np.bool_)
        return keys, vals, bad

    def replay_warnings(self, keys: np.ndarray, used: np.ndarray) -> None:
        seen: set[tuple[str, type]] = set()
        for k in keys[used]:
            for w in self.warns.get(float(k), []):
                sig = (str(w.message), w.category)
                if sig not in seen:
                    seen.add(sig)
                    warnings.warn(w.message, w.category, stacklevel=3)


# ---------------------------------------------------------------------------
# public function


def separate_ri_ra(
    data: pd.DataFrame,
    subj_col: str,
    value_col: str,
    date_col: str,
    outcome: str | None,
    relapse: pd.DataFrame,
    rsubj_col: str | None = None,
    rdate_col: str | None = None,
    delta_fun: Callable[..., Any] | None = None,
    worsening: str | None = None,
    sub_threshold: bool = False,
    validconf_col: str | None = None,
    conf_days: Any = 7 * 12,
    conf_tol_days: Any = (7, 2 * 365.25),
    sust_raw_days: float = 180,
    relapse_to_bl: Any = 30,
    relapse_to_conf: Any = 30,
    relapse_assoc: Any = 90,
    impute_last_visit: float = 0,
    subtract_bl: bool = False,
    date_format: str | None = None,
    include_rel_num: bool = False,
    include_bl: bool = True,
    include_raw_dates: bool = False,
    verbose: int = 0,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Split each disability trajectory into relapse-independent and relapse-associated parts.

    Around each relapse, a worsening from the last pre-relapse reference that is confirmed
    within the relapse's influence (``relapse_assoc``) is a relapse-associated worsening
    (RAW). Its change, when sustained (``sust_raw_days``), is carried forward as the sustained
    relapse-associated component (``srac_<value>``); transient excess over it is a "bump"
    (``trac_<value>``); what remains, relative to baseline, is the relapse-independent
    component (``ric_<value>``) - the PIRA trajectory (msprog method, Montobbio et al.,
    Mult Scler J 2024).

    Drop-in for ``pymsprog.separate_ri_ra`` 1.0.7: same arguments and defaults, same output
    (``data`` with the added columns, rows of visits before the first relapse-free baseline
    dropped; plus the RAW dates when ``include_raw_dates=True``) with the same dtypes, same
    errors, same side effects on ``data``.
    """
    # ---- argument normalisation, in pymsprog's order ----
    conf_days = _as_list(conf_days)
    conf_tol_days = _symmetric(conf_tol_days)
    relapse_to_bl = _left_only(relapse_to_bl)
    relapse_to_conf = _left_only(relapse_to_conf)
    relapse_assoc = _left_only(relapse_assoc)
    outcome = _outcome_name(outcome)
    if rsubj_col is None:
        rsubj_col = subj_col
    if rdate_col is None:
        rdate_col = date_col
    if validconf_col is None:  # pymsprog writes this into the caller's frame
        validconf_col = "validconf"
        data.loc[:, validconf_col] = 1
    impute_p, impute_max_fu = _impute(impute_last_visit)
    worsening = _direction(outcome, worsening)

    data_sep = data.copy()
    relapse = relapse.copy()
    data_sep[value_col] = data_sep[value_col].astype(float)
    data_sep = data_sep.dropna(subset=[subj_col, value_col, date_col, validconf_col])
    relapse = relapse[[rsubj_col, rdate_col]].copy().dropna()

    # ---- dates ----
    if date_format != "day":
        try:
            data_sep[date_col] = pd.to_datetime(data_sep[date_col], format=date_format)
            # pymsprog parses relapse dates without the format
            relapse[rdate_col] = pd.to_datetime(relapse[rdate_col])
        except Exception as exc:
            raise ValueError(
                "Failed to intepret date column; please provide correct format via "
                "`date_format` argument."
            ) from exc
        # pymsprog takes the origin from the caller's unparsed column, all rows included
        global_start = min(data[date_col].min(), relapse[rdate_col].min())
        relapse[rdate_col] = _day_column(relapse[rdate_col], global_start)
        data_sep[date_col] = _day_column(data_sep[date_col], global_start)
        rel_days = _as_float(relapse[rdate_col])
        vis_days = _as_float(data_sep[date_col])
    else:
        try:
            data_sep[date_col] = data_sep[date_col].astype(float)
            relapse[rdate_col] = relapse[rdate_col].astype(float)
        except Exception as exc:
            raise ValueError(
                "Failed to intepret date columns as number of days (as per `date_format='day'`)"
            ) from exc
        global_start = None
        rel_days = relapse[rdate_col].to_numpy(np.float64)
        vis_days = data_sep[date_col].to_numpy(np.float64)

    ri_col, ra_col, bump_col = "ric_" + value_col, "srac_" + value_col, "trac_" + value_col
    data_sep[ra_col] = 0.0
    data_sep[bump_col] = 0.0
    data_sep[ri_col] = data_sep[value_col]
    if include_rel_num:
        data_sep["relapse_num"] = 0
    if include_bl:
        data_sep["bl_" + value_col] = 0.0
    if subtract_bl:
        data_sep[value_col + "-bl"] = 0.0
    lo, hi = _windows(conf_days, conf_tol_days)
    all_subj = data[subj_col].unique()
    nsub = len(all_subj)

    if nsub:
        # the first subject's relapse comparisons, which fail for some dtypes (an empty
        # relapse frame, or no valid visit at all, with real dates)
        first_rel = relapse.loc[relapse[rsubj_col] == all_subj[0], rdate_col]
        first_vis = data_sep.loc[data_sep[subj_col] == all_subj[0], date_col]
        if len(first_vis):
            _ = first_rel >= first_vis.iloc[0]
        _ = first_rel > first_vis.min()

    # ---- per-subject arrays (visits and relapses in input order) ----
    subj_index = pd.Index(all_subj)
    codes = subj_index.get_indexer(data_sep[subj_col].to_numpy()).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    vcodes = codes[order]
    dates = vis_days[order]
    value = data_sep[value_col].to_numpy(np.float64)[order]
    validconf = _truthy(data_sep[validconf_col])[order]
    vstart, vend = offsets(vcodes, nsub)
    rcodes = (subj_index.get_indexer(relapse[rsubj_col].to_numpy()).astype(np.int64)
              if len(relapse) else np.zeros(0, np.int64))
    ok = rcodes >= 0
    rcodes, rdays = rcodes[ok], rel_days[ok]
    ro = np.argsort(rcodes, kind="stable")
    rcodes, rdays = rcodes[ro], rdays[ro].astype(np.float64)
    rstart, rend = offsets(rcodes, nsub)
    dminus, dplus = relapse_distances(vstart, vend, dates, rstart, rend, rdays, rdays)

    # ---- compiled pass, with thresholds filled in on demand ----
    V, R = len(dates), len(rdays)
    keep = np.zeros(V, np.bool_)
    bump = np.zeros(V)
    ra = np.zeros(V)
    relnum = np.zeros(V, np.int64)
    gbl = np.zeros(nsub)
    need = np.zeros(nsub)
    status = np.full(nsub, ST_NOT_RUN, np.int64)
    draw_begin = np.zeros(nsub, np.int64)
    raw_vis = np.zeros(R, np.int64)
    raw_delta = np.zeros(R)
    raw_count = np.zeros(nsub, np.int64)
    draws = _Draws(impute_p, R)
    sgn = _sign(worsening)
    thresholds = _Thresholds(outcome, delta_fun)
    if not sub_threshold:
        thresholds.add(np.unique(value))
    tkeys, tvals, tbad = thresholds.arrays()
    tused = np.zeros(len(tkeys), np.bool_)
    first, draw0 = 0, 0
    while True:
        stop, used = _split_all(
            first, vstart, vend, dates, value, validconf, dminus, dplus, rstart, rend, rdays,
            lo, hi, float(relapse_to_bl[0]), float(relapse_to_bl[1]),
            float(relapse_to_conf[0]), float(relapse_to_conf[1]),
            float(relapse_assoc[0]), float(relapse_assoc[1]), sgn, bool(sub_threshold),
            float(sust_raw_days), float(impute_max_fu), draws.block, draws.random,
            draws.value, draw0, tkeys, tvals, tbad, tused, keep, bump, ra, relnum, gbl,
            need, status, draw_begin, raw_vis, raw_delta, raw_count,
        )
        pending = np.flatnonzero(status[first:stop] == ST_NEED_DELTA) + first
        if len(pending) == 0:
            break
        # thresholds for new reference values; rerun from the first subject that needed one
        old_keys, old_used = tkeys, tused
        thresholds.add(need[pending])
        tkeys, tvals, tbad = thresholds.arrays()
        tused = np.zeros(len(tkeys), np.bool_)
        tused[np.searchsorted(tkeys, old_keys[old_used])] = True
        first = int(pending[0])
        draw0 = int(draw_begin[first])
        status[first:] = ST_NOT_RUN
    draws.consume(int(used))
    thresholds.replay_warnings(tkeys, tused)
    if stop < nsub:
        code = status[stop]
        if code == ST_NO_BASELINE:
            raise TypeError("unsupported operand type(s) for +: 'NoneType' and 'int'")
        if code == ST_DELTA_RAISED:
            raise thresholds.exc[float(need[stop])]
        if code == ST_BAD_DIRECTION:
            raise KeyError(worsening)
        raise RuntimeError(f"neda internal error {code}")  # pragma: no cover

    data_sep = _write_back(
        data_sep, order, keep, bump, ra, relnum, gbl, vcodes, value, value_col, ri_col,
        ra_col, bump_col, include_rel_num, include_bl, subtract_bl,
    )
    if date_format != "day":
        if len(data_sep):
            data_sep[date_col] = _to_dates(data_sep[date_col].to_numpy(np.float64),
                                           global_start)
        else:
            data_sep[date_col] = []
        data_sep[date_col] = pd.to_datetime(data_sep[date_col])
    elif len(data_sep) == 0:
        data_sep[date_col] = []

    # ---- RAW events: subject order, then relapse order ----
    ev_subj = np.repeat(np.arange(nsub), raw_count)
    ev_rank = np.arange(len(ev_subj)) - np.repeat(np.cumsum(raw_count) - raw_count, raw_count)
    ev_vis = raw_vis[rstart[ev_subj] + ev_rank] if len(ev_subj) else np.zeros(0, np.int64)
    ev_day = dates[ev_vis]
    ev_when = (list(ev_day) if date_format == "day"
               else list(pd.DatetimeIndex(_to_dates(ev_day, global_start))))
    raw_events = pd.DataFrame(
        [[s, w] for s, w in zip(all_subj[ev_subj], ev_when, strict=True)],
        columns=[subj_col, date_col],
    )
    if verbose > 0:
        print(f"\n---\nTotal subjects: {nsub}\n---\n"
              f"Subjects with RAW: {len(raw_events[subj_col].unique())}\n---")
    return (data_sep, raw_events) if include_raw_dates else data_sep


def _write_back(data_sep: pd.DataFrame, order: np.ndarray, keep: np.ndarray, bump: np.ndarray,
                ra: np.ndarray, relnum: np.ndarray, gbl: np.ndarray, vcodes: np.ndarray,
                value: np.ndarray, value_col: str, ri_col: str, ra_col: str, bump_col: str,
                include_rel_num: bool, include_bl: bool, subtract_bl: bool) -> pd.DataFrame:
    """Drop the rows before each subject's baseline and write the components back the way
    pymsprog does (one ``.loc[rows, :] = frame.values`` assignment, whose dtype effects are
    pandas')."""
    keep_rows = np.zeros(len(keep), np.bool_)
    keep_rows[order] = keep
    data_sep = data_sep[keep_rows]
    if len(data_sep) == 0:
        return data_sep
    sorted_idx = np.flatnonzero(keep)  # kept visits, subject/visit order
    idx = sorted_idx[np.argsort(order[sorted_idx], kind="stable")]  # ... in row order
    v = value[idx]
    g = gbl[vcodes[idx]]
    new = data_sep.copy()
    new[ra_col] = ra[idx]
    new[bump_col] = bump[idx]
    new[ri_col] = np.maximum(v - ra[idx] - bump[idx], 0) - g
    if include_rel_num:
        new["relapse_num"] = relnum[idx]
    if include_bl:
        new["bl_" + value_col] = g
    if subtract_bl:
        new[value_col + "-bl"] = v - g
    data_sep.loc[np.ones(len(data_sep), np.bool_), :] = new.values
    return data_sep
