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

import contextlib
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
    documentation, or the clinical rules §2.3-2.7 for the exact rules). Returns
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

    if rsubj_col is None:
        rsubj_col = subj_col
    if rdate_col is None:
        rdate_col = date_col
    # pymsprog works on a copy of `data` with `validconf` set to 1 when no column is given;
    # here only the analysed columns are taken, never a copy of the whole frame
    assigned: dict[Any, pd.Series] = {}
    if validconf_col is None:
        validconf_col = "validconf"
        assigned[validconf_col] = _set_to_one(data, validconf_col)
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

    # ---- input preparation, as pymsprog does it, column by column ----
    assigned[value_col] = _column(data, assigned, value_col).astype(float)
    cols = list(np.unique([subj_col, value_col, date_col, validconf_col, valuedelta_col]))
    vis = _dropna({c: _column(data, assigned, c) for c in cols})
    if date_format != "day":
        vis[date_col] = _as_dates(vis[date_col], date_col, date_format)
    if relapse is None or len(relapse) == 0:
        relapsedata = False
        relapse_rebl = False
        rel_subj_ser = pd.Series([], dtype=object)
        rel_date_ser = pd.Series([], dtype=object)
        relapse_start = _min_date(vis[date_col])
    else:
        relapsedata = True
        rel_subj_ser, rel_date_ser = _dropna(
            {0: relapse[rsubj_col], 1: relapse[rdate_col]}).values()
        if date_format != "day":
            rel_date_ser = _as_dates(rel_date_ser, rdate_col, date_format)
        relapse_start = _min_date(rel_date_ser)

    if date_format != "day":
        global_start = min(_min_date(vis[date_col]), relapse_start)
        if relapsedata:
            rel_days = _days_since(rel_date_ser, global_start)
        else:
            rel_days = rel_date_ser.to_numpy(np.float64)
        vis_days = _days_since(vis[date_col], global_start)
    else:
        try:
            vis_days = vis[date_col].astype(float).to_numpy()
            rel_days = rel_date_ser.astype(float).to_numpy()
        except Exception as exc:
            raise ValueError(
                "Failed to intepret date columns as number of days (as per `date_format='day'`)"
            ) from exc
        global_start = None

    rel_subj = rel_subj_ser.to_numpy()
    if subjects is not None:
        keep = vis[subj_col].isin(subjects).to_numpy()
        vis = {c: v[keep] for c, v in vis.items()}
        vis_days = vis_days[keep]
        rkeep = rel_subj_ser.isin(subjects).to_numpy()
        rel_days = rel_days[rkeep]
        rel_subj = rel_subj[rkeep]

    if outcome != "custom":
        for vcol in np.unique([value_col, valuedelta_col]):
            v = _comparable(vis[vcol])
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
    codes, all_subj = _factorize(vis[subj_col])
    n_subj = len(all_subj)
    # visits by subject and date; same-day visits: the last row (pymsprog: groupby(date).last())
    sel = _last_visit_of_day(codes, vis_days)
    value = _take(vis[value_col].to_numpy(np.float64), sel, copy=True)  # the kernel writes it
    vdelta = _take(vis[valuedelta_col].to_numpy(np.float64), sel)
    validconf = _take(vis[validconf_col].to_numpy(), sel).astype(bool)
    codes_v = _take(codes, sel)
    dates = _take(vis_days, sel).astype(np.float64, copy=False)
    vstart, vend = offsets(codes_v, n_subj)

    # relapses: per subject in input order, dropping those long before the first visit
    if len(rel_subj):
        rcodes = pd.Index(all_subj).get_indexer(rel_subj)
        rok = rcodes >= 0
        if not rok.all():
            rcodes = rcodes[rok]
            rel_days = rel_days[rok]
        if len(rcodes) > 1 and (rcodes[1:] < rcodes[:-1]).any():
            rorder = np.argsort(rcodes, kind="stable")
            rcodes = rcodes[rorder]
            rel_days = rel_days[rorder]
        first_visit = dates[vstart[rcodes]]
        rkeep2 = rel_days >= first_visit - relapse_to_bl[0]
        rcodes = rcodes[rkeep2]
        rel_days = rel_days[rkeep2].astype(np.float64)
    else:
        rcodes = np.zeros(0, np.int64)
        rel_days = rel_days.astype(np.float64)
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
        row_is_float=_row_is_float(vis, date_col, date_format == "day"),
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


def _set_to_one(data: pd.DataFrame, name: Any) -> pd.Series:
    """Column ``name`` after pymsprog's ``data.loc[:, name] = 1`` on its copy of ``data``."""
    if len(data) and name not in data.columns:
        return pd.Series(np.ones(len(data), np.int64), index=data.index, name=name)
    # an existing column keeps a compatible dtype; an empty frame raises: as pandas does it
    tmp = data[[name]].copy() if name in data.columns else pd.DataFrame(index=data.index)
    tmp.loc[:, name] = 1
    return tmp[name]


def _column(data: pd.DataFrame, assigned: dict[Any, pd.Series], name: Any) -> Any:
    return assigned[name] if name in assigned else data[name]


def _isna(s: pd.Series) -> np.ndarray | None:
    """Missing values as ``DataFrame.dropna`` sees them (None: the dtype cannot hold any)."""
    dt = s.dtype
    if isinstance(dt, np.dtype):
        if dt.kind in "iub":
            return None
        if dt.kind in "fc":
            return np.isnan(s.to_numpy())
        if dt.kind in "mM":
            return np.isnat(s.to_numpy())
    return np.asarray(s.isna())


def _dropna(cols: dict[Any, pd.Series]) -> dict[Any, pd.Series]:
    """Rows with a missing value in any of these columns dropped (``frame.dropna()``)."""
    na = None
    for s in cols.values():
        m = _isna(s)
        if m is not None:
            na = m if na is None else na | m
    if na is None or not na.any():
        return cols
    keep = ~na
    return {c: s[keep] for c, s in cols.items()}


def _days_since(dates: pd.Series, start: Any) -> np.ndarray:
    """Whole days from ``start`` (pymsprog: ``(dates - start).apply(lambda x: x.days)``)."""
    if (isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M"
            and isinstance(start, pd.Timestamp) and start.tz is None):
        values = dates.to_numpy()
        origin = start.to_datetime64()
        per_day = _UNITS_PER_DAY.get(np.datetime_data(values.dtype)[0])
        if origin.dtype == values.dtype and per_day is not None:  # integer arithmetic
            return ((values.view(np.int64) - origin.view(np.int64)) // per_day).astype(np.float64)
        return ((values - origin) // np.timedelta64(1, "D")).astype(np.float64)
    return (dates - start).dt.days.to_numpy(np.float64)


_UNITS_PER_DAY = {"ns": 86_400_000_000_000, "us": 86_400_000_000, "ms": 86_400_000, "s": 86_400}


def _min_date(dates: pd.Series) -> Any:
    """``dates.min()`` (a Timestamp; NaT when empty), without pandas' missing-value pass."""
    if isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M" and len(dates):
        lowest = dates.to_numpy().min()  # NaT if any is missing: then pandas decides
        if not np.isnat(lowest):
            return pd.Timestamp(lowest)
    return dates.min()


def _comparable(s: pd.Series) -> Any:
    """The values to compare with the range limits (numpy for numeric columns)."""
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
        return s.to_numpy()
    return s


def _factorize(subj: pd.Series) -> tuple[np.ndarray, Any]:
    """Subject codes in order of first appearance, and ``subj.unique()``."""
    if isinstance(subj.dtype, np.dtype) and subj.dtype.kind in "iu":
        # integer ids, each subject's rows together (the usual layout): no hashing of rows
        ids = subj.to_numpy()
        new = np.ones(len(ids), dtype=bool)
        new[1:] = ids[1:] != ids[:-1]
        firsts = ids[new]
        if len(firsts) < 2 or (firsts[1:] > firsts[:-1]).all() or (
                len(pd.unique(firsts)) == len(firsts)):
            return np.cumsum(new, dtype=np.int64) - 1, firsts
    if isinstance(subj.dtype, np.dtype) and subj.dtype.kind in "iufO":
        codes, uniques = pd.factorize(subj.to_numpy(), sort=False)
        return codes.astype(np.int64, copy=False), uniques
    return pd.factorize(subj, sort=False)[0].astype(np.int64), subj.unique()


def _last_visit_of_day(codes: np.ndarray, days: np.ndarray) -> np.ndarray | None:
    """Row positions of the visits used, sorted by subject and day, the last row of a day
    (``None``: every row, in the given order)."""
    if len(codes) < 2:
        return None
    dc = codes[1:] - codes[:-1]
    dd = days[1:] - days[:-1]
    if ((dc > 0) | ((dc == 0) & (dd > 0))).all():
        return None  # already in order, one visit a day: the common case, no copies
    order = np.lexsort((days, codes))
    codes_s = codes[order]
    days_s = days[order]
    last_of_day = np.ones(len(order), dtype=bool)
    last_of_day[:-1] = (codes_s[1:] != codes_s[:-1]) | (days_s[1:] != days_s[:-1])
    return order[last_of_day]


def _take(values: np.ndarray, sel: np.ndarray | None, copy: bool = False) -> np.ndarray:
    if sel is None:
        return values.copy() if copy else values
    return values[sel]


_ROW_IS_FLOAT: dict[Any, bool] = {}


def _row_is_float(vis: dict[Any, pd.Series], date_col: Any, day_mode: bool) -> bool:
    """Whether a row of pymsprog's per-subject frame (these columns, dates as day numbers,
    plus float distances) is upcast to float64. Depends on the dtypes only: cached."""
    if len(vis[date_col]) == 0:
        return False
    key = (day_mode, tuple(None if c == date_col else s.dtype for c, s in vis.items()))
    try:
        return _ROW_IS_FLOAT[key]
    except (KeyError, TypeError):
        pass
    probe = pd.DataFrame({c: s.iloc[:1] for c, s in vis.items()})
    probe[date_col] = np.zeros(1, np.float64 if day_mode else np.int64)
    probe["_distance"] = np.inf
    out = bool(probe.iloc[0, :].dtype.kind == "f")
    with contextlib.suppress(TypeError):  # an unhashable dtype is not cached
        if len(_ROW_IS_FLOAT) < 256:
            _ROW_IS_FLOAT[key] = out
    return out


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


def _labels(names: dict[int, str], stable: str) -> np.ndarray:
    """Kernel event code -> label, with one more slot (``_STABLE``) for a stable subject."""
    out = np.empty(_STABLE + 1, dtype=object)
    for code, name in names.items():
        out[code] = name
    out[_STABLE] = stable
    return out


_STABLE = 1 + max(K.CDI, K.CDW_UNDEFINED, K.RAW, K.PIRA, K.CDW_UNKNOWN, K.CDW_NOT_CLASSIFIED)
# pymsprog's labels: the summary's event sequence; event_type, and CDW_type of a worsening
_SEQ_NAME = _labels({K.CDI: "CDI", K.CDW_UNDEFINED: "CDW", K.RAW: "RAW", K.PIRA: "PIRA",
                     K.CDW_UNKNOWN: "CDW", K.CDW_NOT_CLASSIFIED: "CDW"}, "")
_SEQ_NAME_SEP = _SEQ_NAME + ", "
_EVENT_TYPE = _labels({K.CDI: "CDI", K.CDW_UNDEFINED: "CDW", K.RAW: "CDW", K.PIRA: "CDW",
                       K.CDW_UNKNOWN: "CDW", K.CDW_NOT_CLASSIFIED: "CDW"}, "")
_CDW_TYPE = _labels({K.CDI: "", K.CDW_UNDEFINED: "undefined", K.RAW: "RAW", K.PIRA: "PIRA",
                     K.CDW_UNKNOWN: "undefined", K.CDW_NOT_CLASSIFIED: "undefined"}, "")
_SUST_LAST = np.array([False, True, np.nan], dtype=object)  # False, True, stable subject


def _frames(res, all_subj, vstart, vend, dates, subj_col, conf_days, date_format,
            global_start, include_stable, return_unconfirmed, event, rawpira,
            include_dates, include_value, row_is_float):
    """pymsprog's output frames, built column by column from the kernel's arrays."""
    n_subj = len(all_subj)
    day_mode = date_format == "day"
    rows, esubj = res.event_rows()
    first = dates[vstart] if n_subj else np.zeros(0)
    last = dates[vend - 1] if n_subj else np.zeros(0)
    total_fu = last - first
    ev_count = res.ev_count
    ev_codes = res.ev_type[rows]

    # ---- column choice (pymsprog's rules) ----
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
    scolumns = ["event_sequence", "CDI", "CDW", "RAW", "PIRA"]
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

    # ---- summary ----
    scols: dict[str, Any] = {}
    for c in scolumns:
        if c == "event_sequence":
            seq = np.full(n_subj, "", dtype=object)
            if len(rows):
                # ", ".join per subject: "name, " for each event but the last, then summed
                has = np.flatnonzero(ev_count)
                ends = np.cumsum(ev_count[has])
                parts = _SEQ_NAME_SEP[ev_codes]
                parts[ends - 1] = _SEQ_NAME[ev_codes[ends - 1]]
                seq[has] = np.add.reduceat(parts, ends - ev_count[has])
            scols[c] = seq
        else:
            pick = {"CDI": ev_codes == K.CDI, "CDW": ev_codes != K.CDI,
                    "RAW": ev_codes == K.RAW, "PIRA": ev_codes == K.PIRA}[c]
            scols[c] = np.bincount(esubj[pick], minlength=n_subj).astype(np.int64)
    summary = pd.DataFrame(scols, index=all_subj, copy=False)

    # ---- results: subject order, events in order, a stable subject's single row ----
    stable = ev_count == 0
    per_subject = np.where(stable, 1 if include_stable else 0, ev_count)
    subj_of_row = np.repeat(np.arange(n_subj), per_subject)
    is_event_row = ~stable[subj_of_row]
    all_events = bool(is_event_row.all())
    nrow = len(subj_of_row)
    if nrow == 0:
        # pymsprog builds an empty frame and then fails on its missing 'event_type' column
        raise KeyError("event_type")
    ep = rows  # event rows appear in the kernel's order
    ev_vs = vstart[esubj]

    def ev_dates(rel_idx: np.ndarray, mask: Any = slice(None)) -> np.ndarray:
        return dates[ev_vs[mask] + rel_idx[mask]]

    def col(ev_values: np.ndarray, stable_values: Any = None, kind: str = "f") -> Any:
        """A column with msprog's dtype: filled for event rows, missing (or given) elsewhere;
        ``kind`` "i" is int64 when no value is missing, float64 otherwise."""
        if all_events:
            return ev_values.astype(np.float64 if kind == "f" else np.int64, copy=False)
        if kind == "i" and stable_values is not None:
            out = np.zeros(nrow, np.int64)
        else:
            out = np.full(nrow, np.nan)
        out[is_event_row] = ev_values
        if stable_values is not None:
            out[~is_event_row] = stable_values
        return out

    time_kind = "f" if day_mode else "i"
    fu_rows = total_fu[subj_of_row]
    onset = res.ev_onset[ep]
    onset_dates = ev_dates(onset)
    n_v = (vend - vstart)[esubj]
    sust = res.ev_sust[ep]
    cols: dict[Any, Any] = {}
    cols[subj_col] = all_subj[subj_of_row]
    nevent = np.zeros(nrow, np.int64)
    if len(esubj):
        nevent[is_event_row] = np.arange(len(esubj)) - np.searchsorted(esubj, esubj) + 1
    cols["nevent"] = nevent
    row_type = res.ev_type[ep] if all_events else np.full(nrow, _STABLE, np.int8)
    if not all_events:
        row_type[is_event_row] = res.ev_type[ep]
    cols["event_type"] = None  # its place in pymsprog's frame; values below
    has_events = len(ep) > 0
    if has_events:
        bl_dates = ev_dates(res.ev_bl[ep])
        cols["date"] = col(onset_dates, None, time_kind)
        cols["value"] = col(res.ev_onset_val[ep])
        cols["bl_date"] = col(bl_dates, None, time_kind)
        cols["bl_value"] = col(res.ev_bl_val[ep])
        cols["last_delta_date"] = col(ev_dates(res.ev_ld[ep]), None, time_kind)
        cols["last_delta_value"] = col(res.ev_ld_val[ep])
    cols["total_fu"] = fu_rows if day_mode else fu_rows.astype(np.int64)
    t2e = onset_dates - dates[ev_vs]
    cols["time2event"] = col(t2e, total_fu[subj_of_row[~is_event_row]], time_kind)
    if has_events:
        # pymsprog takes the reference date from a row of its per-subject frame; when every
        # column of that frame is numeric the row is upcast to float, and so is bl2event.
        bl_kind = "f" if row_is_float else time_kind
        cols["bl2event"] = col(onset_dates - bl_dates, None, bl_kind)
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
        cols["sust_days"] = col(ev_dates(sust) - onset_dates, None, time_kind)
        sust_last = sust == n_v - 1
        if all_events:
            cols["sust_last"] = sust_last
        else:  # object: True/False for events, NaN for stable subjects
            code = np.full(nrow, 2, np.int8)
            code[is_event_row] = sust_last
            cols["sust_last"] = _SUST_LAST[code]
    if not day_mode:
        for c in [c for c in cols if c.endswith("date")]:
            cols[c] = _num_to_date(cols[c], global_start)
    # pymsprog labels RAW/PIRA/undefined in CDW_type and calls them all CDW in event_type
    cols["event_type"] = _EVENT_TYPE[row_type]
    cols["CDW_type"] = _CDW_TYPE[row_type]

    result_cols = [c for c in columns if c in cols]
    if len(set(result_cols)) == len(result_cols):
        results = pd.DataFrame({c: cols[c] for c in result_cols}, copy=False)
    else:  # a subject column named like an output column: pymsprog's duplicate columns
        results = pd.DataFrame(cols)[result_cols].reset_index(drop=True)

    unconfirmed = None
    if return_unconfirmed:
        urows, usubj = res.unconfirmed_rows()
        if len(urows) == 0:
            unconfirmed = pd.DataFrame([])
        else:
            uvs = vstart[usubj]
            uon = res.un_onset[urows]
            ud = {
                subj_col: all_subj[usubj],
                "date": dates[uvs + uon],
                "value": res.un_val[urows],
                "bl_date": dates[uvs + res.un_bl[urows]],
                "bl_value": res.un_bl_val[urows],
                # distances at the onset, as the kernel saw them
                "closest_rel-": res.dminus[uvs + uon],
                "closest_rel+": res.dplus[uvs + uon],
            }
            if not day_mode:
                for c in ("date", "bl_date"):
                    ud[c] = _num_to_date(ud[c], global_start)
            unconfirmed = pd.DataFrame(ud)
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


_NS_PER_DAY = 86_400_000_000_000


def _num_to_date(day: Any, start: Any) -> np.ndarray:
    """Day numbers back to dates: ``start`` + whole days (missing: NaT), datetime64[ns]."""
    day = np.asarray(day)
    if isinstance(start, pd.Timestamp) and start.tz is None:
        if day.dtype.kind in "iu":
            return (day.astype(np.int64) * _NS_PER_DAY + start.value).view("datetime64[ns]")
        day = day.astype(np.float64, copy=False)
        ok = ~np.isnan(day)
        whole = np.where(ok, day, 0.0)
        if (whole == np.floor(whole)).all():
            out = (whole.astype(np.int64) * _NS_PER_DAY + start.value).view("datetime64[ns]")
            out[~ok] = np.datetime64("NaT")
            return out
    day = day.astype(np.float64)
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

