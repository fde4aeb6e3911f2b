"""Drop-in replacement for ``pymsprog.MSprog`` 1.0.7.

Same signature, same options, same return values (summary and results DataFrames with the
same columns, dtypes, index and row order; the unconfirmed table on request) - computed by
neda's compiled course engine instead of a per-subject pandas loop.

The method is the msprog algorithm of Montobbio et al., "msprog: an R package and a Python
package to assess disability course in multiple sclerosis", Mult Scler J 2024. Where
pymsprog 1.0.7 behaves in a way its own documentation does not describe (for example the
SDMT threshold), this module reproduces pymsprog; each such point is listed in
``docs/msprog-compatibility.md``. The native API with the clinical spec's defaults is
:func:`neda.course.confirmed_events`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..course import scan as K
from ..course.scan import offsets, run_scan
from .milestone import _as_dates
from .thresholds import _deltas

__all__ = ["MSprog"]

_OUTCOMES = ("edss", "nhpt", "t25fw", "sdmt", "custom")


def _pair(x: Any) -> list[Any]:
    """msprog's convention: a single number k means (k, 0)."""
    try:
        iter(x)
    except TypeError:
        return [x, 0]
    x = list(x)
    return [x[0], 0] if len(x) == 1 else x


def MSprog(  # noqa: N802 - pymsprog's public name
    data: pd.DataFrame,
    subj_col: str,
    value_col: str,
    date_col: str,
    outcome: str,
    relapse: pd.DataFrame | None = None,
    rsubj_col: str | None = None,
    rdate_col: str | None = None,
    subjects: Iterable[Any] | None = None,
    delta_fun: Callable[..., float] | None = None,
    worsening: str | None = None,
    valuedelta_col: str | None = None,
    event: str = "firstCDW",
    RAW_PIRA: bool = False,  # noqa: N803
    baseline: str = "fixed",
    proceed_from: str = "firstconf",
    sub_threshold_rebl: str = "none",
    bl_geq: bool = False,
    relapse_rebl: bool = False,
    skip_local_extrema: str = "none",
    validconf_col: str | None = None,
    conf_days: Any = 12 * 7,
    conf_tol_days: Any = (7, 2 * 365.25),
    require_sust_days: float = 0,
    check_intermediate: bool = True,
    relapse_to_bl: Any = 30,
    relapse_to_event: Any = 0,
    relapse_to_conf: Any = 30,
    relapse_assoc: Any = 90,
    relapse_indep: dict[str, Any] | None = None,
    impute_last_visit: float = 0,
    date_format: str | None = None,
    include_dates: bool = False,
    include_value: bool = False,
    include_stable: bool = True,
    return_unconfirmed: bool = False,
    verbose: int = 1,
) -> tuple[pd.DataFrame, ...]:
    """Confirmed disability worsening (CDW) and improvement (CDI) events, pymsprog-compatible.

    Every argument has the name, default and meaning of ``pymsprog.MSprog`` 1.0.7 (see its
    documentation, or the clinical spec sections 2.3-2.7 for the exact rules). Returns
    ``(summary, results)``, plus ``unconfirmed`` when ``return_unconfirmed=True``.
    """
    warning_msgs: list[str] = []

    # ---- argument normalisation, in pymsprog's order (so the same errors come first) ----
    try:
        iter(conf_days)
    except TypeError:
        conf_days = [conf_days]
    conf_days = list(conf_days)
    if not isinstance(conf_tol_days, dict):
        tol_map: dict[Any, Any] = {c: conf_tol_days for c in conf_days}
    elif any(c not in conf_tol_days for c in conf_days):
        raise ValueError(
            "If `conf_tol_days` is a dictionary, all values in conf_days must be in the keys."
        )
    else:
        tol_map = dict(conf_tol_days)
    for c in list(tol_map):
        try:
            iter(tol_map[c])
            if len(tol_map[c]) == 1:
                tol_map[c] = [tol_map[c][0], tol_map[c][0]]
        except TypeError:
            tol_map[c] = [tol_map[c], tol_map[c]]
    relapse_to_bl = _pair(relapse_to_bl)
    relapse_to_event = _pair(relapse_to_event)
    relapse_to_conf = _pair(relapse_to_conf)
    relapse_assoc = _pair(relapse_assoc)

    if outcome.lower() not in _OUTCOMES:
        raise ValueError(
            "Invalid value for `outcome` argument. Valid values: 'edss', 'nhpt', "
            "'t25fw', 'sdmt', 'custom'."
        )
    outcome = outcome.lower()
    if event not in ("firstCDW", "first", "firstCDI", "firstPIRA", "firstRAW", "multiple"):
        raise ValueError(
            "Invalid value for `event` argument. Valid values: 'firstCDW', 'first', "
            "'firstCDI', 'firstPIRA', 'multiple'."
        )
    if baseline not in ("fixed", "roving_impr", "roving_wors", "roving"):
        raise ValueError(
            "Invalid value for `baseline` argument. Valid values: "
            "'fixed', 'roving_impr', 'roving_wors', 'roving'."
        )
    if proceed_from not in ("event", "firstconf"):
        raise ValueError(
            "Invalid value for `proceed_from` argument. Valid values: 'event', 'firstconf'."
        )
    if sub_threshold_rebl not in ("event", "improvement", "worsening", "none"):
        raise ValueError(
            "Invalid value for `sub_threshold_rebl` argument. Valid values: "
            "'event', 'improvement', 'worsening', 'none'."
        )
    if skip_local_extrema not in ("none", "strict", "all"):
        raise ValueError(
            "Invalid value for `skip_local_extrema` argument. "
            "Valid values: 'none', 'strict', 'all'."
        )
    if relapse_indep is None:
        relapse_indep = {
            "prec": (0, 0), "event": (90, 30), "conf": (90, 30), "prec_type": "baseline",
        }
    if not isinstance(relapse_indep, dict) or not {"prec", "event", "conf"} <= set(relapse_indep):
        raise ValueError(
            "Invalid value for `relapse_indep` argument. "
            "Must be a dictionary containing at least the keys 'prec', 'event', 'conf'."
        )
    if "prec_type" not in relapse_indep:
        relapse_indep["prec_type"] = "baseline"  # pymsprog adds the key to the caller's dict
    if relapse_indep["prec_type"] not in ("baseline", "last", "last_delta"):
        raise ValueError(
            "Invalid value for `relapse_indep['prec_type']`. "
            "Valid values: 'baseline', 'last', 'last_delta'."
        )
    rawpira = RAW_PIRA if event in ("firstCDW", "multiple", "first") else event != "firstCDI"
    if not relapse_rebl:
        bl_geq = False

    data = data.copy()
    if rsubj_col is None:
        rsubj_col = subj_col
    if rdate_col is None:
        rdate_col = date_col
    if validconf_col is None:
        validconf_col = "validconf"
        data.loc[:, validconf_col] = 1
    if valuedelta_col is None:
        valuedelta_col = value_col

    if impute_last_visit < 0:
        raise ValueError("`impute_last_visit` must be nonnegative")
    if impute_last_visit <= 1:
        impute_max_fu = float("inf")
    else:
        impute_max_fu = float(impute_last_visit)
        impute_last_visit = 1

    if outcome in ("edss", "nhpt", "t25fw"):
        worsening = "increase"
    elif outcome == "sdmt":
        worsening = "decrease"
    elif worsening is None:
        raise ValueError(
            "If outcome='custom', you must specify the direction of worsening "
            "('increase' or 'decrease')"
        )
    elif delta_fun is None:
        raise ValueError(
            "If outcome='custom', you must define minimum clinically meaningful change "
            "(`delta_fun` argument)"
        )

    # ---- input preparation, as pymsprog does it ----
    data[value_col] = data[value_col].astype(float)
    cols = list(np.unique([subj_col, value_col, date_col, validconf_col, valuedelta_col]))
    data = data[cols].copy().dropna()
    if date_format != "day":
        data[date_col] = _as_dates(data[date_col], date_col, date_format)
    if relapse is None or len(relapse) == 0:
        relapsedata = False
        relapse_rebl = False
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
            rel_days = (relapse[rdate_col] - global_start).dt.days.to_numpy(np.float64)
        else:
            rel_days = relapse[rdate_col].to_numpy(np.float64)
        vis_days = (data[date_col] - global_start).dt.days.to_numpy(np.float64)
    else:
        try:
            vis_days = data[date_col].astype(float).to_numpy()
            rel_days = relapse[rdate_col].astype(float).to_numpy()
        except Exception as exc:
            raise ValueError(
                "Failed to intepret date columns as number of days (as per `date_format='day'`)"
            ) from exc
        global_start = None

    vis_subj = data[subj_col].to_numpy()
    rel_subj = relapse[rsubj_col].to_numpy()
    if subjects is not None:
        keep = data[subj_col].isin(subjects).to_numpy()
        data = data[keep]
        vis_days = vis_days[keep]
        vis_subj = vis_subj[keep]
        rkeep = relapse[rsubj_col].isin(subjects).to_numpy()
        rel_days = rel_days[rkeep]
        rel_subj = rel_subj[rkeep]

    if outcome != "custom":
        for vcol in np.unique([value_col, valuedelta_col]):
            v = data[vcol]
            if (v < 0).any():
                raise ValueError(f"negative {outcome.upper()} scores")
            elif outcome == "edss" and (v > 10).any():
                raise ValueError(f"invalid {outcome.upper()} scores")
            elif outcome == "sdmt" and (v > 110).any():
                raise ValueError("SDMT scores >110")
            elif outcome == "nhpt" and (v > 300).any():
                warning_msgs.append("NHPT scores >300")
            elif outcome == "t25fw" and (v > 180).any():
                warning_msgs.append("T25FW scores >180")

    # ---- flat arrays for the kernel ----
    codes = pd.factorize(data[subj_col], sort=False)[0].astype(np.int64)
    all_subj = data[subj_col].unique()
    n_subj = len(all_subj)
    order = np.lexsort((vis_days, codes))
    codes_s = codes[order]
    days_s = vis_days[order]
    # same-day visits: keep the last row (pymsprog: groupby(date).last())
    last_of_day = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        last_of_day[:-1] = (codes_s[1:] != codes_s[:-1]) | (days_s[1:] != days_s[:-1])
    sel = order[last_of_day]
    codes_v = codes[sel]
    dates = vis_days[sel].astype(np.float64)
    value = data[value_col].to_numpy(np.float64)[sel].copy()
    vdelta = data[valuedelta_col].to_numpy(np.float64)[sel]
    validconf = data[validconf_col].to_numpy()[sel].astype(bool)
    vstart, vend = offsets(codes_v, n_subj)

    # relapses: per subject in input order, dropping those long before the first visit
    rcodes = pd.Index(all_subj).get_indexer(rel_subj) if len(rel_subj) else np.zeros(0, np.int64)
    rok = rcodes >= 0
    rcodes = rcodes[rok]
    rel_days = rel_days[rok]
    rorder = np.argsort(rcodes, kind="stable")
    rcodes = rcodes[rorder]
    rel_days = rel_days[rorder]
    if len(rcodes):
        first_visit = dates[vstart[rcodes]]
        rkeep2 = rel_days >= first_visit - relapse_to_bl[0]
        rcodes = rcodes[rkeep2]
        rel_days = rel_days[rkeep2].astype(np.float64)
    rstart, rend = offsets(rcodes.astype(np.int64), n_subj)

    sgn = 1 if worsening == "increase" else -1
    if valuedelta_col == value_col:
        dw = _deltas(value, outcome, delta_fun, warning_msgs)
        alias = True
    else:
        dw = _deltas(vdelta, outcome, delta_fun, warning_msgs)
        alias = False
    di = dw.copy()

    res = run_scan(
        vstart=vstart, vend=vend, dates=dates, value=value, dw=dw, di=di, validconf=validconf,
        rstart=rstart, rend=rend, rel_date=rel_days, rel_a=rel_days, rel_b=rel_days,
        astart=rstart, aend=rend, att_a=rel_days, att_b=rel_days,
        asc0=np.full(n_subj, -np.inf), asc1=np.full(n_subj, np.inf),
        conf_days=conf_days, conf_tol=[tuple(tol_map[c]) for c in conf_days],
        worsening_sign=sgn, tol=0.0, baseline=baseline, proceed_from=proceed_from,
        sub_threshold_rebl=sub_threshold_rebl, relapse_rebl=relapse_rebl, bl_geq=bl_geq,
        alias_delta=alias, skip_local_extrema=skip_local_extrema,
        relapse_to_bl=tuple(relapse_to_bl), relapse_to_event=tuple(relapse_to_event),
        relapse_to_conf=tuple(relapse_to_conf), relapse_assoc=tuple(relapse_assoc),
        relapse_indep=relapse_indep, event=event, rawpira=rawpira,
        check_intermediate=check_intermediate, require_sust_days=require_sust_days,
        impute_p=float(impute_last_visit), impute_max_fu=impute_max_fu, replay_draws=True,
    )
    _raise_first_error(res.err)

    # ---- output frames ----
    summary, results, unconfirmed = _frames(
        res, all_subj, vstart, vend, dates, subj_col, conf_days, date_format, global_start,
        include_stable, return_unconfirmed, event, rawpira, include_dates, include_value,
        row_is_float=_row_is_float(data, date_col, date_format == "day"),
    )
    if verbose >= 1:
        _print_overview(summary, outcome, conf_days, tol_map, check_intermediate, baseline,
                        sub_threshold_rebl, relapse_rebl, relapse_to_bl, relapse_to_event,
                        relapse_to_conf, event, rawpira, n_subj)
    for w in warning_msgs:
        warnings.warn(w, stacklevel=2)
    if return_unconfirmed:
        return summary, results, unconfirmed
    return summary, results


def _row_is_float(data: pd.DataFrame, date_col: str, day_mode: bool) -> bool:
    """Whether a row of pymsprog's per-subject frame (these columns, dates as day numbers,
    plus float distances) is upcast to float64."""
    if len(data) == 0:
        return False
    probe = data.head(1).copy()
    probe[date_col] = np.zeros(1, np.float64 if day_mode else np.int64)
    probe["_distance"] = np.inf
    return bool(probe.iloc[0, :].dtype.kind == "f")


def _raise_first_error(err: np.ndarray) -> None:
    bad = np.flatnonzero(err)
    if len(bad) == 0:
        return
    code = err[bad[0]]
    if code == K.ERR_EMPTY_MIN:
        raise ValueError("zero-size array to reduction operation minimum which has no identity")
    if code == K.ERR_AMBIGUOUS:
        raise ValueError(
            "The truth value of an array with more than one element is ambiguous. "
            "Use a.any() or a.all()"
        )
    if code == K.ERR_INDEX:
        raise IndexError("list index out of range")
    if code == K.ERR_T0_UNSET:
        raise UnboundLocalError(
            "cannot access local variable 't0' where it is not associated with a value"
        )
    raise RuntimeError(f"neda internal error {code}")


_TYPE_NAMES = np.array(["CDI", "CDW", "RAW", "PIRA", "CDW", "CDW"], dtype=object)


def _frames(res, all_subj, vstart, vend, dates, subj_col, conf_days, date_format,
            global_start, include_stable, return_unconfirmed, event, rawpira,
            include_dates, include_value, row_is_float):
    n_subj = len(all_subj)
    day_mode = date_format == "day"
    rows, esubj = res.event_rows()
    first = dates[vstart] if n_subj else np.zeros(0)
    last = dates[vend - 1] if n_subj else np.zeros(0)
    total_fu = last - first

    # ---- summary ----
    etype = _TYPE_NAMES[res.ev_type[rows]] if len(rows) else np.zeros(0, dtype=object)
    cdi = np.bincount(esubj, weights=(etype == "CDI"), minlength=n_subj).astype(np.int64)
    raw = np.bincount(esubj, weights=(etype == "RAW"), minlength=n_subj).astype(np.int64)
    pira = np.bincount(esubj, weights=(etype == "PIRA"), minlength=n_subj).astype(np.int64)
    cdw = np.bincount(esubj, weights=(etype != "CDI"), minlength=n_subj).astype(np.int64)
    seq = np.full(n_subj, "", dtype=object)
    if len(rows):
        starts = np.searchsorted(esubj, np.arange(n_subj))
        ends = np.searchsorted(esubj, np.arange(n_subj), side="right")
        for s in np.flatnonzero(ends > starts):
            seq[s] = ", ".join(etype[starts[s]:ends[s]])
    summary = pd.DataFrame(
        {"event_sequence": seq, "CDI": cdi, "CDW": cdw, "RAW": raw, "PIRA": pira},
        index=all_subj,
    )

    # ---- results ----
    stable = np.ones(n_subj, dtype=bool)
    stable[esubj] = False
    stable_subj = np.flatnonzero(stable) if include_stable else np.zeros(0, np.int64)
    # row order: subject order, events in order, a stable subject's single row in its place
    subj_of_row = np.concatenate([esubj, stable_subj])
    is_event_row = np.concatenate([np.ones(len(esubj), bool), np.zeros(len(stable_subj), bool)])
    within = np.concatenate([np.arange(len(esubj)), np.zeros(len(stable_subj), np.int64)])
    ord_rows = np.lexsort((within, subj_of_row))
    subj_of_row = subj_of_row[ord_rows]
    is_event_row = is_event_row[ord_rows]
    ev_pos = np.full(len(ord_rows), -1, np.int64)
    ev_pos[is_event_row] = rows[ord_rows[is_event_row]]
    nrow = len(ord_rows)
    if nrow == 0:
        # pymsprog builds an empty frame and then fails on its missing 'event_type' column
        raise KeyError("event_type")
    vs = vstart[subj_of_row]
    ep = ev_pos[is_event_row]
    ev_vs = vs[is_event_row]

    def ev_dates(rel_idx: np.ndarray, mask: Any = slice(None)) -> np.ndarray:
        return dates[ev_vs[mask] + rel_idx[mask]]

    def col(ev_values: np.ndarray, stable_values: Any = None, kind: str = "f") -> Any:
        """A column with msprog's dtype: filled for event rows, missing (or given) elsewhere."""
        has_all = stable_values is not None or is_event_row.all()
        if kind == "f":
            out = np.full(nrow, np.nan)
            out[is_event_row] = ev_values
            if stable_values is not None:
                out[~is_event_row] = stable_values
            return out
        if kind == "i":
            if has_all:
                out_i = np.zeros(nrow, np.int64)
                out_i[is_event_row] = ev_values
                if stable_values is not None:
                    out_i[~is_event_row] = stable_values
                return out_i
            out = np.full(nrow, np.nan)
            out[is_event_row] = ev_values
            return out
        if kind == "b":
            if has_all:
                out_b = np.zeros(nrow, bool)
                out_b[is_event_row] = ev_values
                return out_b
            out_o = np.full(nrow, np.nan, dtype=object)
            out_o[is_event_row] = ev_values.astype(object)
            return out_o
        out_o = np.full(nrow, np.nan, dtype=object)
        out_o[is_event_row] = ev_values
        if stable_values is not None:
            out_o[~is_event_row] = stable_values
        return out_o

    time_kind = "f" if day_mode else "i"
    fu_rows = total_fu[subj_of_row]
    onset = res.ev_onset[ep]
    n_v = (vend - vstart)[subj_of_row][is_event_row]
    sust = res.ev_sust[ep]
    cols: dict[str, Any] = {}
    cols[subj_col] = all_subj[subj_of_row]
    nevent = np.zeros(nrow, np.int64)
    if len(esubj):
        within_subject = np.arange(len(esubj)) - np.searchsorted(esubj, esubj) + 1
        nevent[is_event_row] = within_subject[ord_rows[is_event_row]]
    cols["nevent"] = nevent
    etypes = _TYPE_NAMES[res.ev_type[ep]]
    cols["event_type"] = col(etypes, "", "o")
    has_events = bool(is_event_row.any())
    if has_events:
        cols["date"] = col(ev_dates(onset), None, time_kind)
        cols["value"] = col(res.ev_onset_val[ep])
        cols["bl_date"] = col(ev_dates(res.ev_bl[ep]), None, time_kind)
        cols["bl_value"] = col(res.ev_bl_val[ep])
        cols["last_delta_date"] = col(ev_dates(res.ev_ld[ep]), None, time_kind)
        cols["last_delta_value"] = col(res.ev_ld_val[ep])
    cols["total_fu"] = fu_rows if day_mode else fu_rows.astype(np.int64)
    t2e = ev_dates(onset) - dates[ev_vs]
    cols["time2event"] = col(t2e, total_fu[subj_of_row[~is_event_row]], time_kind)
    if has_events:
        # pymsprog takes the reference date from a row of its per-subject frame; when every
        # column of that frame is numeric the row is upcast to float, and so is bl2event.
        bl_kind = "f" if row_is_float else time_kind
        cols["bl2event"] = col(ev_dates(onset) - ev_dates(res.ev_bl[ep]), None, bl_kind)
        conf_cols: dict[str, Any] = {}
        for m, c in enumerate(conf_days):
            ci = res.ev_conf[ep, m]
            ok = ci >= 0
            if ok.any():
                d = np.full(len(ep), np.nan)
                d[ok] = ev_dates(ci, ok)
                conf_cols[f"conf{c}_date"] = _partial(d, ok, is_event_row, time_kind)
                conf_cols[f"conf{c}_value"] = _partial(res.ev_conf_val[ep, m], ok, is_event_row,
                                                       "f")
        for m, c in enumerate(conf_days):
            pi = res.ev_pconf[ep, m]
            ok = pi >= 0
            if ok.any():
                d = np.full(len(ep), np.nan)
                d[ok] = ev_dates(pi, ok)
                conf_cols[f"PIRA_conf{c}_date"] = _partial(d, ok, is_event_row, time_kind)
                conf_cols[f"PIRA_conf{c}_value"] = _partial(res.ev_pconf_val[ep, m], ok,
                                                            is_event_row, "f")
        cols.update(conf_cols)
        cols["sust_days"] = col(ev_dates(sust) - ev_dates(onset), None, time_kind)
        cols["sust_last"] = col(sust == n_v - 1, None, "b")
    results = pd.DataFrame(cols)
    if not day_mode:
        for c in [c for c in results.columns if c.endswith("date")]:
            results[c] = _num_to_date(results[c].to_numpy(), global_start)
    results["CDW_type"] = results["event_type"].map(
        lambda x: x if x in ("PIRA", "RAW") else ("undefined" if x == "CDW" else ""))
    results.loc[results["event_type"].isin(("CDW", "PIRA", "RAW")), "event_type"] = "CDW"

    columns = (
        [subj_col, "nevent", "event_type", "CDW_type", "date", "value",
         "bl_date", "bl_value", "last_delta_date", "last_delta_value",
         "total_fu", "time2event", "bl2event"]
        + [f"conf{m}_date" for m in conf_days] + [f"conf{m}_value" for m in conf_days]
        + [f"PIRA_conf{m}_date" for m in conf_days] + [f"PIRA_conf{m}_value" for m in conf_days]
        + ["sust_days", "sust_last"]
    )
    if not include_dates:
        columns = [c for c in columns if not c.endswith("date")]
    if not include_value:
        columns = [c for c in columns if not c.endswith("value")]
    scolumns = list(summary.columns)
    if event == "firstPIRA":
        scolumns = ["PIRA"]
    elif event == "firstRAW":
        scolumns = ["RAW"]
        columns = [c for c in columns if not c.startswith("PIRA")]
    elif event == "firstCDW":
        scolumns = [c for c in scolumns if c != "CDI"]
    elif event == "firstCDI":
        scolumns = ["CDI"]
        columns = [c for c in columns if not c.startswith("PIRA")]
    if not rawpira:
        scolumns = [c for c in scolumns if c not in ("PIRA", "RAW")]
        columns = [c for c in columns if not c.startswith("PIRA") and c != "CDW_type"]
    summary = summary[[c for c in scolumns if c in summary.columns]]
    results = results[[c for c in columns if c in results.columns]].reset_index(drop=True)

    unconfirmed = None
    if return_unconfirmed:
        urows, usubj = res.unconfirmed_rows()
        if len(urows) == 0:
            unconfirmed = pd.DataFrame([])
        else:
            uvs = vstart[usubj]
            uon = res.un_onset[urows]
            # distances at the onset, recomputed the way the kernel saw them
            ud = {
                subj_col: all_subj[usubj],
                "date": dates[uvs + uon],
                "value": res.un_val[urows],
                "bl_date": dates[uvs + res.un_bl[urows]],
                "bl_value": res.un_bl_val[urows],
                "closest_rel-": res.dminus[uvs + uon],
                "closest_rel+": res.dplus[uvs + uon],
            }
            unconfirmed = pd.DataFrame(ud)
            if not day_mode:
                for c in ("date", "bl_date"):
                    unconfirmed[c] = _num_to_date(unconfirmed[c].to_numpy(), global_start)
    return summary, results, unconfirmed


def _partial(values: np.ndarray, ok: np.ndarray, is_event_row: np.ndarray, kind: str) -> Any:
    """A column present only for some events: missing elsewhere (float, as pandas infers)."""
    out = np.full(len(is_event_row), np.nan)
    tmp = np.full(len(values), np.nan)
    tmp[ok] = values[ok]
    out[is_event_row] = tmp
    if kind == "i" and ok.all() and is_event_row.all():
        return out.astype(np.int64)
    return out


def _num_to_date(day: np.ndarray, start: Any) -> np.ndarray:
    day = np.asarray(day, dtype=float)
    out = np.full(day.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(day)
    out[ok] = start + pd.to_timedelta(day[ok], unit="D")
    return out


def _print_overview(summary, outcome, conf_days, tol_map, check_intermediate, baseline,
                    sub_threshold_rebl, relapse_rebl, relapse_to_bl, relapse_to_event,
                    relapse_to_conf, event, rawpira, n_subj) -> None:
    """A short run description on stdout (verbose >= 1), as pymsprog prints one."""
    def tol_text(c: Any) -> str:
        right = tol_map[c][1]
        return f"{c} (-{tol_map[c][0]}, +{'inf' if right == float('inf') else right}) days"

    lines = [
        "", "---", f"Outcome: {outcome}",
        f"Confirmation {'over' if check_intermediate else 'at'}: "
        + "; ".join(tol_text(c) for c in conf_days),
        f"Baseline: {baseline}"
        + (f" (including sub-threshold {sub_threshold_rebl})"
           if baseline != "fixed" and sub_threshold_rebl != "none" else "")
        + (" (and post-relapse re-baseline)" if relapse_rebl else ""),
        f"Relapse influence (baseline): {relapse_to_bl} days",
        f"Relapse influence (event): {relapse_to_event} days",
        f"Relapse influence (confirmation): {relapse_to_conf} days",
        f"Events detected: {event}", "---", f"Total subjects: {n_subj}",
    ]
    if event != "firstCDI" and "CDW" in summary or event in ("firstPIRA", "firstRAW"):
        key = "PIRA" if event == "firstPIRA" else ("RAW" if event == "firstRAW" else "CDW")
        extra = ""
        if event not in ("firstPIRA", "firstRAW") and rawpira:
            extra = (f" (PIRA: {(summary['PIRA'] > 0).sum()}; "
                     f"RAW: {(summary['RAW'] > 0).sum()})")
        lines += ["---", f"Subjects with {key}: {(summary[key] > 0).sum()}{extra}"]
    if event not in ("firstCDW", "firstPIRA", "firstRAW"):
        lines.append(f"Subjects with CDI: {(summary['CDI'] > 0).sum()}")
    if event == "multiple":
        lines += ["---", f"CDW events: {summary['CDW'].sum()}"
                  + (f" (PIRA: {summary['PIRA'].sum()}; RAW: {summary['RAW'].sum()})"
                     if rawpira else ""),
                  f"CDI events: {summary['CDI'].sum()}"]
    print("\n".join(lines))

