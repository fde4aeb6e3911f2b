"""Compiled disease-course scan: confirmed worsening / improvement for many subjects at once.

The scan follows the msprog method (Montobbio et al., Mult Scler J 2024) step by step, as
written in the clinical rules §2.6, so that the pymsprog drop-in (`neda.msprog`) and
the native API (`neda.course`) share one engine. Everything here works on flat, sorted
arrays: visits of subject ``s`` are ``vstart[s]:vend[s]``, relapses ``rstart[s]:rend[s]``.
Subjects are independent, so the outer loop runs in parallel (``prange``).

Conventions of the arrays (all built by ``neda.course._prepare``):

* ``dates``: visit day numbers (float64; whole days for calendar dates).
* ``value``: the outcome; a private copy, because a ``bl_geq`` reference move writes into it,
  exactly as msprog does.
* ``dw`` / ``di``: the minimum clinically meaningful change for worsening / improvement when
  the visit is the reference (precomputed from the delta-reference column, so custom
  threshold functions never enter compiled code).
* ``dminus`` / ``dplus``: distance in days to the closest relapse before / after each visit
  (0 on the day; ``inf`` when none) - msprog's ``closest_rel-`` / ``closest_rel+``.
* ``rel_date``: relapse onsets used for post-relapse re-baselining, in the input order msprog
  uses; ``att_a`` / ``att_b``: relapse onset intervals used for RAW/PIRA attribution.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Event codes (detection-time type).
CDI = 0
CDW_UNDEFINED = 1
RAW = 2
PIRA = 3
CDW_UNKNOWN = 4  # native API only: class cannot be decided (imprecise dates, ascertainment)
CDW_NOT_CLASSIFIED = 5  # attribution not requested

# Option codes.
BL_FIXED, BL_ROVING_IMPR, BL_ROVING_WORS, BL_ROVING = 0, 1, 2, 3
ST_NONE, ST_IMPROVEMENT, ST_WORSENING, ST_EVENT = 0, 1, 2, 3
EV_FIRSTCDW, EV_FIRSTCDI, EV_FIRST, EV_FIRSTPIRA, EV_FIRSTRAW, EV_MULTIPLE = 0, 1, 2, 3, 4, 5
SKIP_NONE, SKIP_STRICT, SKIP_ALL = 0, 1, 2
PREC_BASELINE, PREC_LAST, PREC_LAST_DELTA = 0, 1, 2

# Error codes (raised in Python for the first failing subject, as msprog would).
ERR_NONE = 0
ERR_EMPTY_MIN = 1  # msprog: np.min of an empty confirmation list (ValueError)
ERR_AMBIGUOUS = 2  # msprog: truth value of an array is ambiguous (ValueError)
ERR_INDEX = 3  # msprog: list index out of range (IndexError)
ERR_CAPACITY = 9  # our buffer too small: rerun the subject with a larger one
ERR_T0_UNSET = 4  # msprog: PIRA window start used before it was set (UnboundLocalError)

CONFIRMED_BY_VISIT, CONFIRMED_BY_IMPUTATION, CONFIRMED_BY_DEATH = 0, 1, 2


@njit(cache=True, inline="always")
def _wors(x: float, b: float, d: float, sgn: int, st: bool, tol: float) -> bool:
    if st:
        return x > b if sgn > 0 else x < b
    if sgn > 0:
        return x - b >= d - tol
    return x - b <= -d + tol


@njit(cache=True, inline="always")
def _impr(x: float, b: float, d: float, sgn: int, st: bool, tol: float) -> bool:
    if st:
        return x < b if sgn > 0 else x > b
    if sgn > 0:
        return x - b <= -d + tol
    return x - b >= d - tol


@njit(cache=True)
def _local_extremum(value, dw, di, i0, i, n, sgn, skip, tol):
    """msprog's local-extremum test for visit i (relative index) of one subject."""
    st = skip == SKIP_ALL
    prec = i if i == 0 else i - 1
    subs = i if i == n - 1 else i + 1
    vis = value[i0 + i]
    prec2 = -1.0 if i <= 1 else value[i0 + i - 2]
    dvis = dw[i0 + i]
    divis = di[i0 + i]
    ext = (
        _wors(value[i0 + prec], vis, dvis, sgn, st, tol)
        and _wors(value[i0 + subs], vis, dvis, sgn, st, tol)
    ) or (
        _impr(value[i0 + prec], vis, divis, sgn, st, tol)
        and _impr(value[i0 + subs], vis, divis, sgn, st, tol)
    )
    return ext and vis != prec2


@njit(cache=True)
def _last_delta(value, dw, di, i0, n, change, c0, improvement, sgn, skip, check_intermediate, tol):
    """Last visit before the onset from which the onset differs by a meaningful step (msprog)."""
    iref = change
    valid = False
    while iref > 1 and not valid:
        iref -= 1
        local = False
        if skip != SKIP_NONE:
            local = _local_extremum(value, dw, di, i0, iref, n, sgn, skip, tol)
        ref = value[i0 + iref]
        if improvement:
            d = di[i0 + iref]
            ok = _impr(value[i0 + change], ref, d, sgn, False, tol)
        else:
            d = dw[i0 + iref]
            ok = _wors(value[i0 + change], ref, d, sgn, False, tol)
        conf_ok = True
        if check_intermediate:
            for x in range(change + 1, c0 + 1):
                if improvement:
                    if not _impr(value[i0 + x], ref, d, sgn, False, tol):
                        conf_ok = False
                        break
                else:
                    if not _wors(value[i0 + x], ref, d, sgn, False, tol):
                        conf_ok = False
                        break
        else:
            if improvement:
                conf_ok = _impr(value[i0 + c0], ref, d, sgn, False, tol)
            else:
                conf_ok = _wors(value[i0 + c0], ref, d, sgn, False, tol)
        valid = ok and conf_ok and not local
    return iref if valid else 0


@njit(cache=True)
def _scan_subject(
    s, i0, n, dates, value, dw, di, dminus, dplus, validconf,
    rel_date, r0, nrel, att_a, att_b, a0, na, asc0, asc1,
    conf_lo, conf_hi, sgn, tol,
    baseline, proceed_from, sub_threshold, relapse_rebl, bl_geq, alias_delta, skip,
    rtb0, rtb1, rte0, rte1, rtc0, rtc1, ra0, ra1,
    ind_lo, ind_hi, ind_set_lo, ind_set_hi, prec_type,
    event_mode, rawpira, check_intermediate, require_sust, impute_p, impute_max_fu,
    at_or_above_onset, death_value, death_confirms,
    draws, draw_pos,
    cap, e0, ev_type, ev_onset, ev_onset_val, ev_bl, ev_bl_val, ev_ld, ev_ld_val, ev_sust,
    ev_conf, ev_conf_val, ev_pconf, ev_pconf_val, ev_by,
    un_onset, un_val, un_bl, un_bl_val, ev_count, un_count, final_bl, final_bl_val, err, t0_state,
    ndraw, d_type, d_onset, d_onset_val, d_bl, d_bl_val, d_ld, d_ld_val, d_sust, d_conf, d_conf_val,
    d_pconf, d_pconf_val, d_by, cand, union, alive, clean, keep, order_buf,
):
    M = conf_lo.shape[0]
    nd = 0
    nu = 0
    n_cdw = 0
    n_cdi = 0
    n_raw = 0
    n_pira = 0

    bl = 0
    search = 1
    proceed = True
    irel = 0
    if nrel > 0:
        irel = -1
        for r in range(nrel):
            if rel_date[r0 + r] > dates[i0 + bl]:
                irel = r
                break
    bl_last_set = False
    bl_last = 0.0
    bl_last_dw = 0.0
    bl_last_di = 0.0
    rebl_gap = 0.0 if event_mode == EV_FIRSTPIRA else ra0
    t0 = t0_state[0]

    while proceed:
        # 1. reference must be eligible (and not a local extremum, if asked)
        local = False
        if skip != SKIP_NONE:
            local = _local_extremum(value, dw, di, i0, bl, n, sgn, skip, tol)
        while proceed and (dminus[i0 + bl] < rtb0 or dplus[i0 + bl] < rtb1 or local):
            bl += 1
            if bl < n and skip != SKIP_NONE:
                local = _local_extremum(value, dw, di, i0, bl, n, sgn, skip, tol)
            else:
                local = False
            if bl > n - 2:
                proceed = False
        # 2. next relapse after the reference
        if relapse_rebl and irel != -1 and irel < nrel and bl < n:
            nxt = -1
            for r in range(irel, nrel):
                if rel_date[r0 + r] > dates[i0 + bl]:
                    nxt = r
                    break
            irel = nxt
        # 3.
        if search <= bl:
            search = bl + 1
        # 4.
        if bl > n - 1:
            bl = n - 1
            proceed = False
        elif bl_geq and bl_last_set and bl_last > value[i0 + bl]:
            value[i0 + bl] = bl_last
            if alias_delta:
                dw[i0 + bl] = bl_last_dw
                di[i0 + bl] = bl_last_di
        # 5.
        b = value[i0 + bl]
        bdw = dw[i0 + bl]
        bdi = di[i0 + bl]
        bl_last = b
        bl_last_dw = bdw
        bl_last_di = bdi
        bl_last_set = True

        # 6. onset: first later visit that differs from the reference
        st = sub_threshold != ST_NONE
        change = -1
        for x in range(search, n):
            xv = value[i0 + x]
            if st:
                differs = xv != b
            else:
                differs = _wors(xv, b, bdw, sgn, False, tol) or _impr(xv, b, bdi, sgn, False, tol)
            if differs and dminus[i0 + x] >= rte0 and dplus[i0 + x] >= rte1:
                change = x
                break

        if change == -1:
            proceed = False
        elif (
            relapse_rebl
            and irel != -1
            and irel < nrel
            and dates[i0 + change] > rel_date[r0 + irel] + rebl_gap
        ):
            # 7. the change lies beyond the next relapse: re-baseline after it first (step 10)
            search = change
        else:
            # 8. confirmation candidates, per confirmation period
            union[:n] = False
            any_cand = False
            for m in range(M):
                for x in range(change + 1, n):
                    gap = dates[i0 + x] - dates[i0 + change]
                    ok = (
                        conf_lo[m] <= gap
                        and gap <= conf_hi[m]
                        and dminus[i0 + x] >= rtc0
                        and dplus[i0 + x] >= rtc1
                        and validconf[i0 + x]
                    )
                    cand[m, x] = ok
                    if ok:
                        union[x] = True
                        any_cand = True
            c0 = -1
            if any_cand:
                for x in range(change + 1, n):
                    if union[x]:
                        c0 = x
                        break
            cv = value[i0 + change]

            # held(test) over the intermediate visits up to c0
            impr_held = False
            if any_cand and _impr(cv, b, bdi, sgn, False, tol):
                impr_held = True
                if check_intermediate:
                    for x in range(change + 1, c0 + 1):
                        if not _impr(value[i0 + x], b, bdi, sgn, False, tol):
                            impr_held = False
                            break
                else:
                    impr_held = _impr(value[i0 + c0], b, bdi, sgn, False, tol)

            if impr_held:
                # 9a. confirmed improvement
                next_ns = -1
                for x in range(c0 + 1, n):
                    if not _impr(value[i0 + x], b, bdi, sgn, False, tol):
                        next_ns = x
                        break
                limit = n if next_ns == -1 else next_ns
                valid = True
                if require_sust != 0:
                    valid = _sustained(
                        dates, value, i0, n, change, next_ns, b, bdi, sgn, tol,
                        require_sust, check_intermediate, True,
                    )
                for m in range(M):
                    alive[m] = True
                if valid:
                    if nd >= cap:
                        err[s] = ERR_CAPACITY
                        return
                    ld = _last_delta(value, dw, di, i0, n, change, c0, True, sgn, skip,
                                     check_intermediate, tol)
                    _record(nd, CDI, change, cv, bl, b, ld, value[i0 + ld],
                            n - 1 if next_ns == -1 else next_ns - 1, CONFIRMED_BY_VISIT,
                            d_type, d_onset, d_onset_val, d_bl, d_bl_val, d_ld, d_ld_val,
                            d_sust, d_by, d_conf, d_conf_val, d_pconf, d_pconf_val, M)
                    for m in range(M):
                        first = -1
                        for x in range(change + 1, limit):
                            if cand[m, x]:
                                first = x
                                break
                        if first == -1:
                            alive[m] = False
                        else:
                            d_conf[nd, m] = first
                            d_conf_val[nd, m] = value[i0 + first]
                    nd += 1
                    n_cdi += 1
                else:
                    if nu >= cap:
                        err[s] = ERR_CAPACITY
                        return
                    un_onset[e0 + nu] = change
                    un_val[e0 + nu] = cv
                    un_bl[e0 + nu] = bl
                    un_bl_val[e0 + nu] = b
                    nu += 1
                conf_first = _first_alive_conf(cand, alive, change, limit, M)
                if conf_first == -2:
                    err[s] = ERR_EMPTY_MIN
                    return
                if baseline == BL_ROVING or baseline == BL_ROVING_IMPR:
                    newref = conf_first if proceed_from == 1 else change
                    bl = newref
                elif valid:
                    newref = conf_first if proceed_from == 1 else change
                else:
                    newref = change
                search = newref + 1
            elif (
                any_cand
                and cv < b
                and _held_raw(value, i0, change, c0, b, check_intermediate, False)
                and (baseline == BL_ROVING or baseline == BL_ROVING_IMPR)
                and (sub_threshold == ST_EVENT or sub_threshold == ST_IMPROVEMENT)
            ):
                # 9b. confirmed sub-threshold decrease: move the reference only
                newref = c0 if proceed_from == 1 else change
                bl = newref
                search = newref + 1
            else:
                wors_onset = _wors(cv, b, bdw, sgn, False, tol)
                confirmed = False
                by = CONFIRMED_BY_VISIT
                if wors_onset:
                    if any_cand:
                        confirmed = True
                        if check_intermediate:
                            for x in range(change + 1, c0 + 1):
                                if not _wors(value[i0 + x], b, bdw, sgn, False, tol):
                                    confirmed = False
                                    break
                        else:
                            confirmed = _wors(value[i0 + c0], b, bdw, sgn, False, tol)
                        if confirmed and at_or_above_onset:
                            if sgn > 0:
                                confirmed = value[i0 + c0] >= cv
                            else:
                                confirmed = value[i0 + c0] <= cv
                    if not confirmed and death_confirms and cv >= death_value:
                        confirmed = True
                        by = CONFIRMED_BY_DEATH
                    if not confirmed:
                        if dates[i0 + change] - dates[i0] <= impute_max_fu:
                            # msprog draws here whatever p is (counted to replay the draws)
                            ndraw[s] += 1
                            draw = False
                            if impute_p >= 1.0:
                                draw = True
                            elif impute_p > 0.0:
                                draw = draws[draw_pos[0]] != 0
                                draw_pos[0] += 1
                            if draw and change == n - 1:
                                confirmed = True
                                by = CONFIRMED_BY_IMPUTATION
                if confirmed:
                    # 9c. confirmed worsening
                    single = by != CONFIRMED_BY_VISIT
                    if single:
                        c0 = change
                    next_ns = -1
                    for x in range(c0 + 1, n):
                        if not _wors(value[i0 + x], b, bdw, sgn, False, tol):
                            next_ns = x
                            break
                    limit = n if next_ns == -1 else next_ns
                    if single:
                        # confirmed by imputation or death: the onset is its own confirmation
                        union[:n] = False
                        union[change] = True
                        cand[:, :n] = False
                    valid = True
                    if require_sust != 0:
                        valid = _sustained(
                            dates, value, i0, n, change, next_ns, b, bdw, sgn, tol,
                            require_sust, check_intermediate, False,
                        )
                    for m in range(M):
                        alive[m] = True
                    include = False
                    if valid:
                        ld = _last_delta(value, dw, di, i0, n, change, c0, False, sgn, skip,
                                         check_intermediate, tol)
                        include = True
                        ctype = CDW_NOT_CLASSIFIED
                        if rawpira:
                            ctype, t0, t0err = _classify(
                                dates, i0, n, change, bl, ld, union, limit, clean,
                                att_a, att_b, a0, na, asc0[s], asc1[s],
                                ra0, ra1, ind_lo, ind_hi, ind_set_lo, ind_set_hi, prec_type, t0,
                            )
                            if t0err:
                                err[s] = ERR_T0_UNSET
                                return
                            if ctype == RAW:
                                if event_mode == EV_FIRSTPIRA and (
                                    baseline == BL_FIXED or baseline == BL_ROVING_IMPR
                                ):
                                    include = False
                            elif (baseline == BL_FIXED or baseline == BL_ROVING_IMPR) and (
                                event_mode == EV_FIRSTRAW
                                or (event_mode == EV_FIRSTPIRA and ctype != PIRA)
                            ):
                                # searching one class without CDW-driven re-baselining
                                include = False
                        if include:
                            if nd >= cap:
                                err[s] = ERR_CAPACITY
                                return
                            _record(nd, ctype, change, cv, bl, b, ld, value[i0 + ld],
                                    n - 1 if next_ns == -1 else next_ns - 1, by,
                                    d_type, d_onset, d_onset_val, d_bl, d_bl_val, d_ld,
                                    d_ld_val, d_sust, d_by, d_conf, d_conf_val, d_pconf,
                                    d_pconf_val, M)
                            for m in range(M):
                                first = -1
                                pfirst = -1
                                for x in range(change + 1, limit):
                                    if cand[m, x]:
                                        if first == -1:
                                            first = x
                                        if ctype == PIRA and clean[x] and pfirst == -1:
                                            pfirst = x
                                if first == -1:
                                    alive[m] = False
                                else:
                                    d_conf[nd, m] = first
                                    d_conf_val[nd, m] = value[i0 + first]
                                if pfirst != -1:
                                    d_pconf[nd, m] = pfirst
                                    d_pconf_val[nd, m] = value[i0 + pfirst]
                            nd += 1
                            if ctype == CDI:
                                n_cdi += 1
                            else:
                                n_cdw += 1
                                if ctype == RAW:
                                    n_raw += 1
                                elif ctype == PIRA:
                                    n_pira += 1
                    else:
                        for m in range(M):
                            has = False
                            for x in range(change + 1, limit):
                                if cand[m, x]:
                                    has = True
                                    break
                            if not has:
                                alive[m] = False
                        if nu >= cap:
                            err[s] = ERR_CAPACITY
                            return
                        un_onset[e0 + nu] = change
                        un_val[e0 + nu] = cv
                        un_bl[e0 + nu] = bl
                        un_bl_val[e0 + nu] = b
                        nu += 1
                    any_alive = False
                    for m in range(M):
                        if alive[m]:
                            any_alive = True
                    if any_alive:
                        conf_first = _first_alive_conf(cand, alive, change, limit, M)
                        if conf_first == -2:
                            err[s] = ERR_EMPTY_MIN
                            return
                        if baseline == BL_ROVING or baseline == BL_ROVING_WORS:
                            newref = conf_first if proceed_from == 1 else change
                            bl = newref
                        elif not include:
                            newref = change
                        else:
                            newref = conf_first if proceed_from == 1 else change
                        search = newref + 1
                    else:
                        search = change + 1
                elif (
                    any_cand
                    and cv > b
                    and _held_raw(value, i0, change, c0, b, check_intermediate, True)
                    and (baseline == BL_ROVING or baseline == BL_ROVING_WORS)
                    and (sub_threshold == ST_EVENT or sub_threshold == ST_WORSENING)
                ):
                    # 9d. confirmed sub-threshold increase: move the reference only
                    newref = c0 if proceed_from == 1 else change
                    bl = newref
                    search = newref + 1
                else:
                    # 9e. not confirmed
                    search = change + 1
                    if nu >= cap:
                        err[s] = ERR_CAPACITY
                        return
                    un_onset[e0 + nu] = change
                    un_val[e0 + nu] = cv
                    un_bl[e0 + nu] = bl
                    un_bl_val[e0 + nu] = b
                    nu += 1

        # 10. post-relapse re-baselining once the search has passed a relapse (+ association gap)
        if relapse_rebl and proceed and search < n:
            crossed = False
            for r in range(nrel):
                rd = rel_date[r0 + r]
                if dates[i0 + bl] < rd and rd + rebl_gap < dates[i0 + search]:
                    crossed = True
                    break
            if crossed:
                if irel == -1:
                    if nrel != 1:
                        err[s] = ERR_AMBIGUOUS
                        return
                    target = rel_date[r0]
                else:
                    target = rel_date[r0 + irel]
                nb = -1
                for x in range(bl, n):
                    if target <= dates[i0 + x]:
                        nb = x
                        break
                if nb != -1:
                    bl = nb
                    search = bl + 1
                if nb == -1 or bl > n - 2:
                    proceed = False
        # 11. first-event modes
        if proceed:
            if (
                (event_mode == EV_FIRST and nd > 1)
                or (event_mode == EV_FIRSTCDW and n_cdw > 0)
                or (event_mode == EV_FIRSTCDI and n_cdi > 0)
                or (event_mode == EV_FIRSTPIRA and n_pira > 0)
                or (event_mode == EV_FIRSTRAW and n_raw > 0)
            ):
                proceed = False

    t0_state[0] = t0
    final_bl[s] = bl
    final_bl_val[s] = value[i0 + bl] if bl < n else np.nan
    un_count[s] = nu

    # AFTER: duplicates of one onset keep the last detected; order by onset.
    for i in range(nd):
        keep[i] = True
        for j in range(i + 1, nd):
            if d_onset[j] == d_onset[i]:
                keep[i] = False
                break
    k = 0
    for i in range(nd):
        if keep[i]:
            order_buf[k] = i
            k += 1
    # insertion sort of kept positions by onset (onsets are unique among kept; k is small)
    for i in range(1, k):
        cur = order_buf[i]
        j = i - 1
        while j >= 0 and d_onset[order_buf[j]] > d_onset[cur]:
            order_buf[j + 1] = order_buf[j]
            j -= 1
        order_buf[j + 1] = cur
    order = order_buf[:k]
    if event_mode != EV_MULTIPLE and nd > 0:
        # msprog picks the position of the first event of the wanted kind in detection order
        # and uses it to index the onset-sorted list.
        pos = -1
        if event_mode == EV_FIRST:
            pos = 0
        else:
            for i in range(nd):
                t = d_type[i]
                if event_mode == EV_FIRSTCDW and t != CDI:
                    pos = i
                    break
                if event_mode == EV_FIRSTCDI and t == CDI:
                    pos = i
                    break
                if event_mode == EV_FIRSTPIRA and t == PIRA:
                    pos = i
                    break
                if event_mode == EV_FIRSTRAW and t == RAW:
                    pos = i
                    break
        if pos == -1:
            order = order[:0]
        elif pos >= k:
            err[s] = ERR_INDEX
            return
        else:
            order = order[pos:pos + 1]
    k = order.shape[0]
    for i in range(k):
        j = order[i]
        o = e0 + i
        ev_type[o] = d_type[j]
        ev_onset[o] = d_onset[j]
        ev_onset_val[o] = d_onset_val[j]
        ev_bl[o] = d_bl[j]
        ev_bl_val[o] = d_bl_val[j]
        ev_ld[o] = d_ld[j]
        ev_ld_val[o] = d_ld_val[j]
        ev_sust[o] = d_sust[j]
        ev_by[o] = d_by[j]
        for m in range(M):
            ev_conf[o, m] = d_conf[j, m]
            ev_conf_val[o, m] = d_conf_val[j, m]
            ev_pconf[o, m] = d_pconf[j, m]
            ev_pconf_val[o, m] = d_pconf_val[j, m]
    ev_count[s] = k


@njit(cache=True, inline="always")
def _record(i, ctype, change, cv, bl, b, ld, ld_val, sust, by, d_type, d_onset, d_onset_val,
            d_bl, d_bl_val, d_ld, d_ld_val, d_sust, d_by, d_conf, d_conf_val, d_pconf,
            d_pconf_val, M):
    """Write one detected event (confirmation columns start empty)."""
    d_type[i] = ctype
    d_onset[i] = change
    d_onset_val[i] = cv
    d_bl[i] = bl
    d_bl_val[i] = b
    d_ld[i] = ld
    d_ld_val[i] = ld_val
    d_sust[i] = sust
    d_by[i] = by
    for m in range(M):
        d_conf[i, m] = -1
        d_conf_val[i, m] = np.nan
        d_pconf[i, m] = -1
        d_pconf_val[i, m] = np.nan


@njit(cache=True)
def _first_alive_conf(cand, alive, change, limit, M):
    """msprog's new reference: earliest confirmation of the first remaining period.

    Returns -2 when a remaining period has no confirmation left (msprog then fails on the
    minimum of an empty list).
    """
    result = -1
    for m in range(M):
        if not alive[m]:
            continue
        first = -1
        for x in range(change + 1, limit):
            if cand[m, x]:
                first = x
                break
        if first == -1:
            return -2
        if result == -1:
            result = first
    return result


@njit(cache=True)
def _held_raw(value, i0, change, c0, b, check_intermediate, above):
    """Sub-threshold change held up to c0 (raw comparison against the reference, as msprog)."""
    if check_intermediate:
        for x in range(change + 1, c0 + 1):
            v = value[i0 + x]
            if above:
                if not v > b:
                    return False
            elif not v < b:
                return False
        return True
    v = value[i0 + c0]
    return v > b if above else v < b


@njit(cache=True)
def _sustained(dates, value, i0, n, change, next_ns, b, d, sgn, tol, require_sust,
               check_intermediate, improvement):
    """``require_sust_days``: keep the event only if the change lasts long enough."""
    if check_intermediate:
        if next_ns == -1:
            return True
        return dates[i0 + next_ns] - dates[i0 + change] >= require_sust
    sust_vis = n - 1
    if dates[i0 + n - 1] - dates[i0 + change] >= require_sust:
        for x in range(change + 1, n):
            if dates[i0 + x] - dates[i0 + change] >= require_sust:
                sust_vis = x
                break
    if improvement:
        return _impr(value[i0 + sust_vis], b, d, sgn, False, tol)
    return _wors(value[i0 + sust_vis], b, d, sgn, False, tol)


@njit(cache=True)
def _classify(dates, i0, n, change, bl, ld, confset, limit, clean, att_a, att_b, a0, na,
              asc0, asc1, ra0, ra1, ind_lo, ind_hi, ind_set_lo, ind_set_hi, prec_type, t0):
    """RAW / PIRA / undefined / unknown for one confirmed worsening (rules §2.7.2).

    Relapses are onset intervals [a, b]; a = b for day-precise dates, which makes
    "lies inside" and "touches" coincide and the result equal to msprog's.
    Returns (class, t0, t0_error): ``t0`` is msprog's carried window start.
    """
    onset_day = dates[i0 + change]
    w0 = onset_day - ra0
    w1 = onset_day + ra1
    touch_raw = False
    for j in range(na):
        a = att_a[a0 + j]
        bb = att_b[a0 + j]
        if a >= w0 and bb <= w1:
            return RAW, t0, False
        if a <= w1 and bb >= w0:
            touch_raw = True
    if touch_raw:
        for x in range(n):
            clean[x] = False
        return CDW_UNKNOWN, t0, False
    if prec_type == PREC_BASELINE:
        P = dates[i0 + bl]
    elif prec_type == PREC_LAST:
        P = dates[i0 + change - 1]
    else:
        P = dates[i0 + ld]
    any_clean = False
    all_blocked = True
    fc_lo = np.empty(3)
    fc_hi = np.empty(3)
    nfc = 0
    lo = np.empty(3)
    hi = np.empty(3)
    for x in range(n):
        clean[x] = False
    # a change confirmed by imputation or death is its own confirmed set
    for c in range(change, limit):
        if not confset[c]:
            continue
        # windows around (P, onset_day, c), built as msprog builds them
        nw = 0
        for k in range(3):
            anchor = P if k == 0 else (onset_day if k == 1 else dates[i0 + c])
            if ind_set_lo[k]:
                t0 = anchor - ind_lo[k]
            if ind_set_hi[k]:
                if np.isnan(t0):
                    return CDW_UNDEFINED, t0, True
                t1 = anchor + ind_hi[k]
                if t1 > t0:
                    lo[nw] = t0
                    hi[nw] = t1
                    nw += 1
        is_clean = True
        blocked = False
        for j in range(na):
            a = att_a[a0 + j]
            bb = att_b[a0 + j]
            for w in range(nw):
                if a <= hi[w] and bb >= lo[w]:
                    is_clean = False
                    if a >= lo[w] and bb <= hi[w]:
                        blocked = True
        if is_clean:
            clean[c] = True
            if not any_clean:
                any_clean = True
                nfc = nw
                for w in range(nw):
                    fc_lo[w] = lo[w]
                    fc_hi[w] = hi[w]
        if not blocked:
            all_blocked = False
    raw_inside = w0 >= asc0 and w1 <= asc1
    if any_clean:
        ok = raw_inside
        for w in range(nfc):
            if fc_lo[w] < asc0 or fc_hi[w] > asc1:
                ok = False
        return (PIRA if ok else CDW_UNKNOWN), t0, False
    if all_blocked:
        return (CDW_UNDEFINED if raw_inside else CDW_UNKNOWN), t0, False
    return CDW_UNKNOWN, t0, False


@njit(cache=True, parallel=True)
def scan_all(
    vstart, vend, dates, value, dw, di, dminus, dplus, validconf,
    rstart, rend, rel_date, astart, aend, att_a, att_b, asc0, asc1,
    conf_lo, conf_hi, sgn, tol,
    baseline, proceed_from, sub_threshold, relapse_rebl, bl_geq, alias_delta, skip,
    rtb0, rtb1, rte0, rte1, rtc0, rtc1, ra0, ra1,
    ind_lo, ind_hi, ind_set_lo, ind_set_hi, prec_type,
    event_mode, rawpira, check_intermediate, require_sust, impute_p, impute_max_fu,
    at_or_above_onset, death_value, death_confirms,
    draws, serial, estart, ecap, t0_init,
):
    """Scan every subject; outputs are laid out at ``estart[s]`` with room for ``ecap[s]``."""
    S = vstart.shape[0]
    M = conf_lo.shape[0]
    E = 0
    if S > 0:
        E = estart[S - 1] + ecap[S - 1]
    ev_type = np.zeros(E, np.int8)
    ev_onset = np.zeros(E, np.int64)
    ev_onset_val = np.zeros(E)
    ev_bl = np.zeros(E, np.int64)
    ev_bl_val = np.zeros(E)
    ev_ld = np.zeros(E, np.int64)
    ev_ld_val = np.zeros(E)
    ev_sust = np.zeros(E, np.int64)
    ev_conf = np.full((E, M), -1, np.int64)
    ev_conf_val = np.full((E, M), np.nan)
    ev_pconf = np.full((E, M), -1, np.int64)
    ev_pconf_val = np.full((E, M), np.nan)
    ev_by = np.zeros(E, np.int8)
    un_onset = np.zeros(E, np.int64)
    un_val = np.zeros(E)
    un_bl = np.zeros(E, np.int64)
    un_bl_val = np.zeros(E)
    ev_count = np.zeros(S, np.int64)
    un_count = np.zeros(S, np.int64)
    final_bl = np.zeros(S, np.int64)
    final_bl_val = np.zeros(S)
    err = np.zeros(S, np.int8)
    ndraw = np.zeros(S, np.int64)
    draw_pos = np.zeros(1, np.int64)
    # Subjects run in chunks; scratch space is allocated once per chunk, not per subject.
    n_chunks = 1 if serial else min(S, 256)
    for c in prange(n_chunks):
        lo_s = (S * c) // n_chunks
        hi_s = (S * (c + 1)) // n_chunks
        cap_max = 1
        n_max = 1
        for s in range(lo_s, hi_s):
            cap_max = max(cap_max, ecap[s])
            n_max = max(n_max, vend[s] - vstart[s])
        d_type = np.empty(cap_max, np.int8)
        d_onset = np.empty(cap_max, np.int64)
        d_onset_val = np.empty(cap_max)
        d_bl = np.empty(cap_max, np.int64)
        d_bl_val = np.empty(cap_max)
        d_ld = np.empty(cap_max, np.int64)
        d_ld_val = np.empty(cap_max)
        d_sust = np.empty(cap_max, np.int64)
        d_conf = np.empty((cap_max, M), np.int64)
        d_conf_val = np.empty((cap_max, M))
        d_pconf = np.empty((cap_max, M), np.int64)
        d_pconf_val = np.empty((cap_max, M))
        d_by = np.zeros(cap_max, np.int8)
        cand = np.zeros((M, n_max), np.bool_)
        union = np.zeros(n_max, np.bool_)
        alive = np.zeros(M, np.bool_)
        clean = np.zeros(n_max, np.bool_)
        keep = np.zeros(cap_max, np.bool_)
        order_buf = np.zeros(cap_max, np.int64)
        t0_state = np.full(1, t0_init)
        for s in range(lo_s, hi_s):
            _scan_subject(
                s, vstart[s], vend[s] - vstart[s], dates, value, dw, di, dminus, dplus,
                validconf, rel_date, rstart[s], rend[s] - rstart[s], att_a, att_b, astart[s],
                aend[s] - astart[s], asc0, asc1, conf_lo, conf_hi, sgn, tol,
                baseline, proceed_from, sub_threshold, relapse_rebl, bl_geq, alias_delta, skip,
                rtb0, rtb1, rte0, rte1, rtc0, rtc1, ra0, ra1,
                ind_lo, ind_hi, ind_set_lo, ind_set_hi, prec_type,
                event_mode, rawpira, check_intermediate, require_sust, impute_p, impute_max_fu,
                at_or_above_onset, death_value, death_confirms, draws, draw_pos,
                ecap[s], estart[s], ev_type, ev_onset, ev_onset_val, ev_bl, ev_bl_val, ev_ld,
                ev_ld_val, ev_sust, ev_conf, ev_conf_val, ev_pconf, ev_pconf_val, ev_by,
                un_onset, un_val, un_bl, un_bl_val, ev_count, un_count, final_bl,
                final_bl_val, err, t0_state, ndraw,
                d_type, d_onset, d_onset_val, d_bl, d_bl_val, d_ld, d_ld_val, d_sust, d_conf,
                d_conf_val, d_pconf, d_pconf_val, d_by, cand, union, alive, clean, keep,
                order_buf,
            )
            if serial and err[s] != ERR_NONE:
                break
    return (
        ev_type, ev_onset, ev_onset_val, ev_bl, ev_bl_val, ev_ld, ev_ld_val, ev_sust,
        ev_conf, ev_conf_val, ev_pconf, ev_pconf_val, ev_by, un_onset, un_val, un_bl, un_bl_val,
        ev_count, un_count, final_bl, final_bl_val, err, ndraw,
    )


@njit(cache=True, parallel=True)
def relapse_distances(vstart, vend, dates, rstart, rend, rel_a, rel_b):
    """Days from each visit to the closest relapse before (``d-``) and after (``d+``) it.

    Relapse onsets are intervals [a, b] (a = b when the day is known). A visit inside an
    interval is at distance 0 on both sides (the conservative reading of rules §2.7.2); for
    day-precise onsets this is msprog's ``closest_rel-`` / ``closest_rel+``.
    """
    V = dates.shape[0]
    dminus = np.full(V, np.inf)
    dplus = np.full(V, np.inf)
    for s in prange(vstart.shape[0]):
        for i in range(vstart[s], vend[s]):
            t = dates[i]
            for j in range(rstart[s], rend[s]):
                a = rel_a[j]
                b = rel_b[j]
                if a <= t:
                    d = t - min(b, t)
                    if d < dminus[i]:
                        dminus[i] = d
                if b >= t:
                    d = max(a, t) - t
                    if d < dplus[i]:
                        dplus[i] = d
    return dminus, dplus


@njit(cache=True)
def _fixed_reference_run(
    r, dates, value, dw, di, ok_ref, ok_event, ok_conf, ref, lo, hi,
    conf_lo, conf_hi, sgn, tol, check_intermediate, proceed_firstconf,
    cdw_onset, cdw_conf, un_onset,
):
    """One run of :func:`fixed_reference_runs` (writes its three outputs at ``r``)."""
    r0 = ref[r]
    l0 = lo[r]
    n = 1 + max(hi[r] - l0, 0)
    # 1. the reference must be eligible (the engine moves it forward otherwise)
    bl = 0
    proceed = True
    while proceed and not ok_ref[r0 if bl == 0 else l0 + bl - 1]:
        bl += 1
        if bl > n - 2:
            proceed = False
    if bl > n - 1:
        bl = n - 1
    ib = r0 if bl == 0 else l0 + bl - 1
    b = value[ib]
    bdw = dw[ib]
    bdi = di[ib]
    search = bl + 1
    sust_to_end = False
    while proceed:
        # 6. onset: first later visit that differs from the reference
        change = -1
        for x in range(search, n):
            ix = l0 + x - 1
            xv = value[ix]
            if (_wors(xv, b, bdw, sgn, False, tol) or _impr(xv, b, bdi, sgn, False, tol)) \
                    and ok_event[ix]:
                change = x
                break
        if change == -1:
            break
        ic = l0 + change - 1
        cv = value[ic]
        # 8. first confirmation candidate
        c0 = -1
        for x in range(change + 1, n):
            ix = l0 + x - 1
            gap = dates[ix] - dates[ic]
            if conf_lo <= gap and gap <= conf_hi and ok_conf[ix]:
                c0 = x
                break
        impr_held = False
        if c0 != -1 and _impr(cv, b, bdi, sgn, False, tol):
            impr_held = True
            if check_intermediate:
                for x in range(change + 1, c0 + 1):
                    if not _impr(value[l0 + x - 1], b, bdi, sgn, False, tol):
                        impr_held = False
                        break
            else:
                impr_held = _impr(value[l0 + c0 - 1], b, bdi, sgn, False, tol)
        if impr_held:
            # 9a. confirmed improvement: the fixed reference stays, the search moves on
            search = (c0 if proceed_firstconf else change) + 1
            continue
        confirmed = False
        if c0 != -1 and _wors(cv, b, bdw, sgn, False, tol):
            confirmed = True
            if check_intermediate:
                for x in range(change + 1, c0 + 1):
                    if not _wors(value[l0 + x - 1], b, bdw, sgn, False, tol):
                        confirmed = False
                        break
            else:
                confirmed = _wors(value[l0 + c0 - 1], b, bdw, sgn, False, tol)
        if confirmed:
            # 9c. the first confirmed worsening ends the run (firstCDW)
            cdw_onset[r] = ic
            cdw_conf[r] = l0 + c0 - 1
            sust_to_end = True
            for x in range(c0 + 1, n):
                if not _wors(value[l0 + x - 1], b, bdw, sgn, False, tol):
                    sust_to_end = False
                    break
            break
        # 9e. not confirmed
        search = change + 1
    # a worsening at the last visit that no confirmed worsening sustained to it explains
    if n >= 2 and bl < n - 1 and not (cdw_onset[r] != -1 and sust_to_end):
        if _wors(value[l0 + n - 2], b, bdw, sgn, False, tol):
            j = n - 1
            while j - 1 > bl and _wors(value[l0 + j - 2], b, bdw, sgn, False, tol):
                j -= 1
            un_onset[r] = l0 + j - 1


@njit(cache=True, parallel=True)
def fixed_reference_runs(
    dates, value, dw, di, ok_ref, ok_event, ok_conf, ref, lo, hi,
    conf_lo, conf_hi, sgn, tol, check_intermediate, proceed_firstconf,
):
    """Fixed-reference mode: many first-CDW runs over one visit array in one launch.

    Run ``r`` is the visit sequence ``[ref[r]] + [lo[r], hi[r])`` (global indices into the
    visit arrays, in date order, ``lo[r] > ref[r]``): the same scan as :func:`scan_all` with
    ``baseline = fixed``, ``event = firstCDW``, one confirmation period ``[conf_lo, conf_hi]``,
    no sub-threshold or post-relapse re-baselining, no local-extremum skipping, no
    ``require_sust_days``, no imputation or death confirmation and no RAW/PIRA attribution
    (the disability component of NEDA, rules §4.1). ``ok_ref`` / ``ok_event`` / ``ok_conf``
    say whether a visit may be the reference / an onset / a confirmation (the relapse
    distances ``relapse_to_bl`` / ``relapse_to_event`` / ``relapse_to_conf``, rules §2.3).

    Returns, per run, global visit indices (-1 = none): the first confirmed worsening's onset
    and first confirmation visit, and the onset of a worsening still present at the run's
    last visit and part of no confirmed worsening sustained to it (what
    ``confirmed_events(...).unconfirmed`` reports for a subject). Runs are independent and
    run in parallel; :func:`fixed_reference_runs_serial` is the same for a few runs (one
    patient), without the cost of starting the threads.
    """
    R = ref.shape[0]
    cdw_onset = np.full(R, -1, np.int64)
    cdw_conf = np.full(R, -1, np.int64)
    un_onset = np.full(R, -1, np.int64)
    for r in prange(R):
        _fixed_reference_run(
            r, dates, value, dw, di, ok_ref, ok_event, ok_conf, ref, lo, hi,
            conf_lo, conf_hi, sgn, tol, check_intermediate, proceed_firstconf,
            cdw_onset, cdw_conf, un_onset)
    return cdw_onset, cdw_conf, un_onset


@njit(cache=True)
def fixed_reference_runs_serial(
    dates, value, dw, di, ok_ref, ok_event, ok_conf, ref, lo, hi,
    conf_lo, conf_hi, sgn, tol, check_intermediate, proceed_firstconf,
):
    """:func:`fixed_reference_runs` in one thread (for a few runs)."""
    R = ref.shape[0]
    cdw_onset = np.full(R, -1, np.int64)
    cdw_conf = np.full(R, -1, np.int64)
    un_onset = np.full(R, -1, np.int64)
    for r in range(R):
        _fixed_reference_run(
            r, dates, value, dw, di, ok_ref, ok_event, ok_conf, ref, lo, hi,
            conf_lo, conf_hi, sgn, tol, check_intermediate, proceed_firstconf,
            cdw_onset, cdw_conf, un_onset)
    return cdw_onset, cdw_conf, un_onset
