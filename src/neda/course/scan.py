"""The low-level scan: tidy arrays in, one compiled pass over all subjects, raw arrays out.

This is the interface shared by the native engine (:func:`neda.course.confirmed_events`) and
the pymsprog drop-in (:mod:`neda.msprog`), so both run the same compiled kernel. Callers give
visits and relapses as flat arrays sorted by subject (per-subject ``start``/``end`` offsets,
see :func:`offsets`) and get a :class:`ScanResult` whose event and error codes are the
constants exported here. Nothing in this module validates tables or builds frames.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from . import _kernel as K
from ._kernel import (
    CDI,
    CDW_NOT_CLASSIFIED,
    CDW_UNDEFINED,
    CDW_UNKNOWN,
    CONFIRMED_BY_DEATH,
    CONFIRMED_BY_IMPUTATION,
    CONFIRMED_BY_VISIT,
    ERR_AMBIGUOUS,
    ERR_CAPACITY,
    ERR_EMPTY_MIN,
    ERR_INDEX,
    ERR_NONE,
    ERR_T0_UNSET,
    PIRA,
    RAW,
    fixed_reference_runs,
    fixed_reference_runs_serial,
    relapse_distances,
)

__all__ = [
    "fixed_reference_runs",
    "fixed_reference_runs_serial",
    "CDI",
    "CDW_NOT_CLASSIFIED",
    "CDW_UNDEFINED",
    "CDW_UNKNOWN",
    "CONFIRMED_BY_DEATH",
    "CONFIRMED_BY_IMPUTATION",
    "CONFIRMED_BY_VISIT",
    "ERR_AMBIGUOUS",
    "ERR_CAPACITY",
    "ERR_EMPTY_MIN",
    "ERR_INDEX",
    "ERR_NONE",
    "ERR_T0_UNSET",
    "PIRA",
    "RAW",
    "ScanResult",
    "offsets",
    "relapse_distances",
    "run_scan",
]

BASELINE_CODES = {
    "fixed": K.BL_FIXED,
    "roving_impr": K.BL_ROVING_IMPR,
    "roving_wors": K.BL_ROVING_WORS,
    "roving": K.BL_ROVING,
}
SUB_THRESHOLD_CODES = {
    "none": K.ST_NONE,
    "improvement": K.ST_IMPROVEMENT,
    "worsening": K.ST_WORSENING,
    "event": K.ST_EVENT,
}
EVENT_CODES = {
    "firstCDW": K.EV_FIRSTCDW,
    "firstCDI": K.EV_FIRSTCDI,
    "first": K.EV_FIRST,
    "firstPIRA": K.EV_FIRSTPIRA,
    "firstRAW": K.EV_FIRSTRAW,
    "multiple": K.EV_MULTIPLE,
}
SKIP_CODES = {"none": K.SKIP_NONE, "strict": K.SKIP_STRICT, "all": K.SKIP_ALL}
PREC_CODES = {"baseline": K.PREC_BASELINE, "last": K.PREC_LAST, "last_delta": K.PREC_LAST_DELTA}


def offsets(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Start/end offsets of each group in an array sorted by group code."""
    counts = np.bincount(codes, minlength=n_groups) if len(codes) else np.zeros(n_groups, int)
    end = np.cumsum(counts).astype(np.int64)
    start = (end - counts).astype(np.int64)
    return start, end


@dataclass
class ScanResult:
    """Raw kernel output. Visit indices are relative to each subject's first visit."""

    ev_type: np.ndarray
    ev_onset: np.ndarray
    ev_onset_val: np.ndarray
    ev_bl: np.ndarray
    ev_bl_val: np.ndarray
    ev_ld: np.ndarray
    ev_ld_val: np.ndarray
    ev_sust: np.ndarray
    ev_conf: np.ndarray
    ev_conf_val: np.ndarray
    ev_pconf: np.ndarray
    ev_pconf_val: np.ndarray
    ev_by: np.ndarray
    un_onset: np.ndarray
    un_val: np.ndarray
    un_bl: np.ndarray
    un_bl_val: np.ndarray
    ev_count: np.ndarray
    un_count: np.ndarray
    final_bl: np.ndarray
    final_bl_val: np.ndarray
    err: np.ndarray
    draws: np.ndarray  # per subject: how many imputation draws msprog would make
    estart: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    dminus: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dplus: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def event_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(row positions into the event arrays, subject of each row), subject order."""
        return _rows(self.estart, self.ev_count)

    def unconfirmed_rows(self) -> tuple[np.ndarray, np.ndarray]:
        return _rows(self.estart, self.un_count)


def _rows(start: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = int(count.sum())
    subj = np.repeat(np.arange(len(count)), count)
    if total == 0:
        return np.zeros(0, np.int64), subj
    first = np.cumsum(count) - count  # row of each subject's first record in the output
    return (start - first)[subj] + np.arange(total), subj


def _first_capacity(nvis: np.ndarray) -> np.ndarray:
    """Room for records on the first attempt (the proven bound without re-baselining)."""
    return (nvis + 1).astype(np.int64)


#: Below this many subjects the compiled scan runs on the calling thread only: waking the
#: other threads costs more than it saves, and on a busy machine a paused thread holds the
#: whole call (a clinic screen computes one patient at a time).
SERIAL_BELOW_SUBJECTS = 2_000


def _one_thread_when_small(scan: Callable[..., ScanResult]) -> Callable[..., ScanResult]:
    """Run ``scan`` on the calling thread only when it has few subjects."""

    @functools.wraps(scan)
    def wrapper(**kwargs: Any) -> ScanResult:
        if len(kwargs["vstart"]) >= SERIAL_BELOW_SUBJECTS:
            return scan(**kwargs)
        previous = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return scan(**kwargs)
        finally:
            numba.set_num_threads(previous)

    return wrapper


@_one_thread_when_small
def run_scan(
    *,
    vstart: np.ndarray,
    vend: np.ndarray,
    dates: np.ndarray,
    value: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    validconf: np.ndarray,
    rstart: np.ndarray,
    rend: np.ndarray,
    rel_date: np.ndarray,
    rel_a: np.ndarray,
    rel_b: np.ndarray,
    astart: np.ndarray,
    aend: np.ndarray,
    att_a: np.ndarray,
    att_b: np.ndarray,
    asc0: np.ndarray,
    asc1: np.ndarray,
    conf_days: list[float],
    conf_tol: list[tuple[float, float]],
    worsening_sign: int,
    tol: float,
    baseline: str,
    proceed_from: str,
    sub_threshold_rebl: str,
    relapse_rebl: bool,
    bl_geq: bool,
    alias_delta: bool,
    skip_local_extrema: str,
    relapse_to_bl: tuple[float, float],
    relapse_to_event: tuple[float, float],
    relapse_to_conf: tuple[float, float],
    relapse_assoc: tuple[float, float],
    relapse_indep: dict[str, Any],
    event: str,
    rawpira: bool,
    check_intermediate: bool,
    require_sust_days: float,
    impute_p: float,
    impute_max_fu: float,
    at_or_above_onset: bool = False,
    death_value: float = np.inf,
    death_confirms: bool = False,
    conf_window_int: bool = True,
    replay_draws: bool = False,
    distances: tuple[np.ndarray, np.ndarray] | None = None,
) -> ScanResult:
    """Distances to relapses, capacity planning and one compiled pass over all subjects.

    ``distances``: the (d-, d+) of :func:`relapse_distances` for these visits and relapses,
    when a previous scan of the same arrays computed them (the kernel only reads them)."""
    n_subj = len(vstart)
    dminus, dplus = (distances if distances is not None else
                     relapse_distances(vstart, vend, dates, rstart, rend, rel_a, rel_b))
    nvis = vend - vstart
    nrel = rend - rstart
    # Room for each subject's records. Without post-relapse re-baselining every record moves
    # the search past its onset, so a subject has at most n records; each re-baselining
    # consumes a relapse, so with it the bound is n * (relapses + 1). That bound is rarely
    # approached and costly to allocate: the scan first runs with room for n + 1 records and
    # runs again with the full bound only if a subject overflowed (the kernel stops that
    # subject with ERR_CAPACITY).
    full = (nvis * (nrel + 1) + 1 if relapse_rebl else nvis + 1).astype(np.int64)
    first = np.minimum(_first_capacity(nvis), full)
    capacities = [first] if (first == full).all() else [first, full]
    # the kernel raises reference values in place (bl_geq): a second run starts from a copy
    pristine = (value.copy(), dw.copy(), di.copy()) if len(capacities) > 1 and bl_geq else None
    # msprog truncates the confirmation period to whole days when building the window
    lo = np.array(
        [(int(c) if conf_window_int else c) - conf_tol[i][0] for i, c in enumerate(conf_days)],
        dtype=np.float64,
    )
    hi = np.array(
        [(int(c) if conf_window_int else c) + conf_tol[i][1] for i, c in enumerate(conf_days)],
        dtype=np.float64,
    )
    ind_lo = np.zeros(3)
    ind_hi = np.zeros(3)
    set_lo = np.zeros(3, np.bool_)
    set_hi = np.zeros(3, np.bool_)
    for k, point in enumerate(("prec", "event", "conf")):
        left, right = relapse_indep[point]
        if left is not None:
            ind_lo[k] = float(left)
            set_lo[k] = True
        if right is not None:
            ind_hi[k] = float(right)
            set_hi[k] = True
    event_code = EVENT_CODES[event]
    random_impute = 0.0 < impute_p < 1.0
    # msprog keeps the PIRA window start from one anchor to the next (even across subjects)
    # when an anchor has no left end: a serial pass reproduces that exactly.
    serial = random_impute or not set_lo[0]
    draws = np.zeros(1, np.int64)
    if random_impute:
        # msprog draws np.random.binomial(1, p, 1) at each eligible unconfirmed worsening; the
        # legacy generator gives the same stream drawn in one block. The state is restored
        # afterwards and the draws replayed (replay_draws), so the caller's generator ends
        # where msprog's would.
        state = np.random.get_state()
        draws = np.random.binomial(1, impute_p, int(nvis.sum()) * int(nrel.max(initial=0) + 1) + 1)
        draws = draws.astype(np.int64)
    for attempt, ecap in enumerate(capacities):
        if attempt and pristine is not None:
            value[:], dw[:], di[:] = pristine
        estart = (np.cumsum(ecap) - ecap).astype(np.int64)
        out = K.scan_all(
            vstart, vend, dates, value, dw, di, dminus, dplus, validconf,
            rstart, rend, rel_date, astart, aend, att_a, att_b, asc0, asc1,
            lo, hi, int(worsening_sign), float(tol),
            BASELINE_CODES[baseline], 1 if proceed_from == "firstconf" else 0,
            SUB_THRESHOLD_CODES[sub_threshold_rebl], bool(relapse_rebl), bool(bl_geq),
            bool(alias_delta), SKIP_CODES[skip_local_extrema],
            float(relapse_to_bl[0]), float(relapse_to_bl[1]),
            float(relapse_to_event[0]), float(relapse_to_event[1]),
            float(relapse_to_conf[0]), float(relapse_to_conf[1]),
            float(relapse_assoc[0]), float(relapse_assoc[1]),
            ind_lo, ind_hi, set_lo, set_hi,
            PREC_CODES[relapse_indep.get("prec_type", "baseline")],
            event_code, bool(rawpira), bool(check_intermediate), float(require_sust_days),
            float(impute_p), float(impute_max_fu),
            bool(at_or_above_onset), float(death_value), bool(death_confirms),
            draws, bool(serial), estart, ecap, np.nan,
        )
        result = ScanResult(*out)
        if not (result.err == ERR_CAPACITY).any():
            break
    result.estart, result.dminus, result.dplus = estart, dminus, dplus
    if random_impute:
        np.random.set_state(state)
    if replay_draws:
        # leave NumPy's global generator where msprog leaves it: one binomial draw per check
        # (also for p = 0 or 1), up to the first failing subject
        failed = np.flatnonzero(result.err)
        used = result.draws[: failed[0] + 1] if len(failed) else result.draws
        if used.sum():
            np.random.binomial(1, min(max(impute_p, 0.0), 1.0), int(used.sum()))
    if n_subj and (result.err == ERR_CAPACITY).any():  # pragma: no cover - bound is proven
        raise RuntimeError("neda internal error: event buffer too small")
    return result
