"""A plain reference beside the fast code: slow, obviously-correct pure Python.

Written from the rule text of the clinical specification (``shared/docs/clinical-rules.md``),
not from the numba kernels, so that the property tests in ``test_naive_reference.py`` compare
two independent readings of the same rules (as stumpy keeps ``tests/naive.py`` beside its
kernels). Only lists, loops and ``datetime``; no numpy, no pandas.

* :func:`confirmed_events` - confirmed disability worsening (CDW) and improvement (CDI) on EDSS
  with RAW / PIRA / undefined / unknown attribution (spec 2.1 thresholds, 2.3 confirmation,
  2.4 reference schemes, 2.5 CDI, 2.6 the course engine loop, 2.7.2 classification with
  imprecise relapse onsets and relapse ascertainment, 3.1 the 30-day merge).
* :func:`objective_spms` - the objective definition of SPMS (spec 6.2; Lorscheider 2016 as
  implemented by CORe/MSBase ``spmsDx``), one subject at a time.

What is left out is listed in each function's docstring.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

TOL = 1e-9

# ============================================================================ dates


def day_number(iso: str) -> int:
    """Days since 0001-01-01 of a full ISO date."""
    return dt.date.fromisoformat(iso).toordinal()


def iso(day: int) -> str:
    return dt.date.fromordinal(day).isoformat()


def onset_interval(text: str) -> tuple[int, int]:
    """Possible onset days [a, b] of a relapse (spec 2.7.2): a full date gives a = b, a month
    ("2024-03") its first to last day, a year ("2024") 1 January to 31 December."""
    parts = text.strip().split("-")
    if len(parts) == 3:
        d = day_number(text.strip())
        return d, d
    year = int(parts[0])
    if len(parts) == 2:
        month = int(parts[1])
        last = calendar.monthrange(year, month)[1]
        return (dt.date(year, month, 1).toordinal(), dt.date(year, month, last).toordinal())
    return dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()


# ============================================================================ thresholds


def edss_worsening_delta(ref: float, table: Any) -> float:
    """Minimum EDSS increase from a reference value (spec 2.1)."""
    if table == "three_strata":  # Kalincik 2015: +1.5 from 0, +1.0 up to 5.5, +0.5 from 6.0
        return 1.5 if ref == 0 else (1.0 if ref <= 5.5 else 0.5)
    if table == "msprog":  # pymsprog compute_delta: +1.0 only up to 5.0
        return 1.5 if ref == 0 else (1.0 if ref <= 5.0 else 0.5)
    if table == "trial_le5.5":  # OPERA / ORATORIO: no special rule at 0
        return 1.0 if ref <= 5.5 else 0.5
    if table == "expand":
        return 1.0 if ref <= 5.0 else 0.5
    # custom: (reference_max_inclusive, delta) pairs in ascending order
    for ref_max, delta in table:
        if ref <= ref_max:
            return float(delta)
    return float(table[-1][1])


def edss_improvement_delta(ref: float, cdi_table: str, wors_table: Any) -> float:
    """Minimum EDSS decrease from a reference value (spec 2.5)."""
    if cdi_table == "kalincik2015":  # -1.5 up to 1.5, -1.0 from 2.0 to 6.0, -0.5 from 6.5
        return 1.5 if ref <= 1.5 else (1.0 if ref <= 6.0 else 0.5)
    return edss_worsening_delta(ref, wors_table)


# ============================================================================ relapses


@dataclass(frozen=True)
class Relapse:
    a: int  # earliest possible onset day
    b: int  # latest possible onset day

    def touches(self, t0: float, t1: float) -> bool:
        return self.a <= t1 and self.b >= t0

    def inside(self, t0: float, t1: float) -> bool:
        return self.a >= t0 and self.b <= t1


def merge_attacks(attacks: Iterable[Relapse], merge_days: float = 30) -> list[Relapse]:
    """The 30-day rule of spec 3.1: a later attack is part of the previous relapse when even
    its latest possible onset is less than 30 days after the relapse's earliest possible first
    onset; otherwise (separate, or uncertain) it starts a new relapse. The relapse keeps its
    first onset."""
    out: list[Relapse] = []
    for r in sorted(attacks, key=lambda r: (r.a, r.b)):
        if merge_days > 0 and out and r.b - out[-1].a < merge_days:
            continue
        if out and (r.a, r.b) == (out[-1].a, out[-1].b):
            continue  # the same attack entered twice
        out.append(r)
    return out


# ============================================================================ CDW / CDI


@dataclass
class Event:
    subject: Any
    event_type: str  # CDW or CDI
    cdw_class: str  # RAW, PIRA, undefined, unknown ("" for CDI)
    onset_date: str
    onset_value: float
    reference_date: str
    reference_value: float
    confirmation_date: str
    confirmation_value: float
    pira_confirmation_date: str | None
    sustained_until_date: str

    def key(self) -> tuple[Any, ...]:
        return (self.subject, self.event_type, self.cdw_class, self.onset_date,
                self.onset_value, self.reference_date, self.reference_value,
                self.confirmation_date, self.confirmation_value, self.pira_confirmation_date,
                self.sustained_until_date)


FIRST_MODES = ("firstCDW", "firstCDI", "first")


def confirmed_events(visits: Sequence[tuple[Any, str, float]],
                     relapses: Sequence[tuple[Any, str]] = (),
                     options: Any = None,
                     ascertainment: dict[Any, tuple[str, str]] | None = None,
                     merge_days: float = 30) -> list[Event]:
    """CDW / CDI events of every subject, by the rules of spec sections 2.1-2.7 and 3.1.

    ``merge_days``: relapse hygiene's 30-day merge of attacks (``RelapseOptions.merge_days``).

    ``visits``: (subject, ISO date, EDSS) rows; ``relapses``: (subject, onset) rows, onsets
    "YYYY-MM-DD", "YYYY-MM" or "YYYY"; ``options``: a ``neda.course.CourseOptions`` (read
    only as a record of option values); ``ascertainment``: optional {subject: (start, end)}
    of relapse recording, default first to last visit.

    Covered: EDSS; every threshold table; ``cdi_thresholds``; baseline ``roving``,
    ``roving_wors``, ``roving_impr``, ``fixed``; ``proceed_from``; ``sub_threshold_rebl`` and
    ``roving_after_improvement``; ``relapse_rebl`` and ``bl_geq``; the relapse distances
    ``relapse_to_bl`` / ``_event`` / ``_conf``; ``relapse_assoc``; ``relapse_indep`` with
    ``prec_type`` ``baseline`` or ``last``; one or more ``conf_days`` with ``conf_tol_days``;
    ``require_sust_days``; ``check_intermediate``; ``confirm_magnitude``; event modes
    ``multiple``, ``firstCDW``, ``firstCDI``, ``first``; ``require_ascertainment`` and
    ``history_lookback_days``; imprecise (month / year) relapse onsets; the 30-day merge.

    Left out: other measures (T25FW, 9HPT, SDMT, practice effect), ``firstPIRA`` /
    ``firstRAW``, ``prec_type = last_delta``, ``skip_local_extrema``, death and imputation,
    pseudo-relapses, ``validconf``, MRI (PIRMA), ``attribution = False``, the
    ``unconfirmed`` table.
    """
    o = options
    if o is None:
        from neda.course import CourseOptions
        o = CourseOptions()
    unsupported = {
        "outcome": (o.outcome, "edss"), "event": (o.event, ("multiple", *FIRST_MODES)),
        "prec_type": (o.relapse_indep.prec_type, ("baseline", "last")),
        "skip_local_extrema": (o.skip_local_extrema, "none"),
        "death_confirms": (o.death_confirms, False), "impute_last_visit": (o.impute_last_visit, 0),
        "attribution": (o.attribution, True),
    }
    for name, (value, allowed) in unsupported.items():
        ok = value in allowed if isinstance(allowed, tuple) else value == allowed
        if not ok:
            raise NotImplementedError(f"naive reference does not cover {name}={value!r}")

    by_subject: dict[Any, list[tuple[int, float]]] = {}
    for subj, date, value in visits:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        by_subject.setdefault(subj, []).append((day_number(date), float(value)))
    attacks: dict[Any, list[Relapse]] = {}
    for subj, onset in relapses:
        a, b = onset_interval(onset)
        attacks.setdefault(subj, []).append(Relapse(a, b))

    out: list[Event] = []
    for subj in sorted(by_subject, key=str):
        rows = sorted(by_subject[subj], key=lambda r: r[0])
        series: list[tuple[int, float]] = []
        for day, value in rows:  # same-day assessments: the last entered is kept
            if series and series[-1][0] == day:
                series[-1] = (day, value)
            else:
                series.append((day, value))
        rels = merge_attacks(attacks.get(subj, []), merge_days)
        if ascertainment is not None and subj in ascertainment:
            start, end = ascertainment[subj]
            asc = (day_number(start), day_number(end))
        else:
            asc = (series[0][0] - o.history_lookback_days, series[-1][0])
        out.extend(subject_events(subj, series, rels, o, asc))
    return out


def subject_events(subj: Any, series: list[tuple[int, float]], all_relapses: list[Relapse],
                   o: Any, asc: tuple[float, float]) -> list[Event]:
    """The course engine of spec 2.6 for one subject and one measure."""
    n = len(series)
    days = [d for d, _ in series]
    vals = [v for _, v in series]  # bl_geq may raise a reference visit's value
    sub_rebl = o.sub_threshold_rebl
    if o.roving_after_improvement == "any_lower" and sub_rebl == "none":
        sub_rebl = "improvement"  # spec 2.4: any_lower = sub_threshold_rebl improvement
    bl_geq = o.bl_geq and o.relapse_rebl  # active only with post-relapse re-baselining
    D = o.relapse_assoc[0]

    def dw(ref: float) -> float:
        return edss_worsening_delta(ref, o.edss_thresholds)

    def di(ref: float) -> float:
        return edss_improvement_delta(ref, o.cdi_thresholds, o.edss_thresholds)

    def worse(x: float, ref: float) -> bool:
        return x - ref >= dw(ref) - TOL

    def better(x: float, ref: float) -> bool:
        return ref - x >= di(ref) - TOL

    # ---- PREPARE: the engine ignores relapses long before follow-up (2.3); attribution
    # uses them all (2.7.2)
    rels = [r for r in all_relapses if r.b >= days[0] - o.relapse_to_bl[0]]
    rels.sort(key=lambda r: (r.b, r.a))  # ONSET(j) = b_j, the latest possible day

    def d_minus(t: int) -> float:
        ds = [t - min(r.b, t) for r in rels if r.a <= t]
        return min(ds) if ds else math.inf

    def d_plus(t: int) -> float:
        ds = [max(r.a, t) - t for r in rels if r.b >= t]
        return min(ds) if ds else math.inf

    def eligible(i: int, dist: tuple[float, float]) -> bool:
        return d_minus(days[i]) >= dist[0] and d_plus(days[i]) >= dist[1]

    def held(test: Any, onset: int, c1: int, ref: float) -> bool:
        if o.check_intermediate:
            return all(test(vals[i], ref) for i in range(onset + 1, c1 + 1))
        return bool(test(vals[c1], ref))

    def candidates(onset: int) -> list[int]:
        out = []
        for i in range(onset + 1, n):
            gap = days[i] - days[onset]
            in_window = any(c - o.conf_tol_days[0] <= gap <= c + o.conf_tol_days[1]
                            for c in o.conf_days)
            if in_window and eligible(i, o.relapse_to_conf):
                out.append(i)
        return out

    def confirmed_run(test: Any, onset: int, C: list[int], ref: float
                      ) -> tuple[list[int], int, bool]:
        """Trim C to the visits before the first later visit that no longer meets the test;
        the last visit of the run; whether require_sust_days is met (spec 2.3)."""
        c1 = C[0]
        stop = next((i for i in range(c1 + 1, n) if not test(vals[i], ref)), None)
        kept = C if stop is None else [c for c in C if c < stop]
        sust_until = n - 1 if stop is None else stop - 1
        ok = True
        k = o.require_sust_days
        if k:
            if o.check_intermediate:
                ok = stop is None or days[stop] - days[onset] >= k
            else:
                if days[n - 1] - days[onset] >= k:
                    probe = next(i for i in range(onset + 1, n) if days[i] - days[onset] >= k)
                else:
                    probe = n - 1
                ok = test(vals[probe], ref)
        return kept, sust_until, ok

    records: list[tuple[int, Event]] = []
    bl = 0
    search = 1
    bl_last: float | None = None
    after = [j for j, r in enumerate(rels) if r.b > days[0]]
    irel: int | None = after[0] if after else None
    running = True
    while running:
        # 1. the reference must be eligible
        while bl < n and not eligible(bl, o.relapse_to_bl):
            bl += 1
        if bl > n - 2:
            running = False  # stop after this pass
        # 2. next relapse after the reference
        if o.relapse_rebl and irel is not None and bl < n:
            irel = next((j for j in range(irel, len(rels)) if rels[j].b > days[bl]), None)
        # 3.
        if search <= bl:
            search = bl + 1
        # 4.
        if bl > n - 1:
            break
        if bl_geq and bl_last is not None and bl_last > vals[bl]:
            vals[bl] = bl_last
        # 5.
        ref = vals[bl]
        bl_last = ref
        # 6. onset
        onset = None
        for i in range(search, n):
            if sub_rebl != "none":
                change = abs(vals[i] - ref) > TOL
            else:
                change = worse(vals[i], ref) or better(vals[i], ref)
            if change and eligible(i, o.relapse_to_event):
                onset = i
                break
        if onset is None:
            break
        # 7. the change lies beyond the next relapse's influence: re-baseline first (step 10)
        if o.relapse_rebl and irel is not None and days[onset] > rels[irel].b + D:
            search = onset
        else:
            # 8. confirmation candidates
            C = candidates(onset)
            x = vals[onset]
            if C and better(x, ref) and held(better, onset, C[0], ref):  # 9a CDI
                kept, sust_until, ok = confirmed_run(better, onset, C, ref)
                c1 = C[0]
                if ok:
                    records.append((onset, Event(
                        subj, "CDI", "", iso(days[onset]), x, iso(days[bl]), ref,
                        iso(days[c1]), vals[c1], None, iso(days[sust_until]))))
                k = c1 if o.proceed_from == "firstconf" else onset
                if o.baseline in ("roving", "roving_impr"):
                    bl = k
                    search = k + 1
                else:
                    search = k + 1 if ok else onset + 1
            elif (C and x < ref and held(lambda v, r: v < r, onset, C[0], ref)
                  and o.baseline in ("roving", "roving_impr")
                  and sub_rebl in ("improvement", "event")):  # 9b sub-threshold decrease
                bl = C[0] if o.proceed_from == "firstconf" else onset
                search = bl + 1
            elif (C and worse(x, ref) and held(worse, onset, C[0], ref)
                  and (o.confirm_magnitude != "at_or_above_onset" or vals[C[0]] >= x - TOL)):
                kept, sust_until, ok = confirmed_run(worse, onset, C, ref)  # 9c CDW
                c1 = C[0]
                if ok:
                    cls, pira_c = classify(days, bl, onset, kept, all_relapses, o, asc)
                    records.append((onset, Event(
                        subj, "CDW", cls, iso(days[onset]), x, iso(days[bl]), ref,
                        iso(days[c1]), vals[c1], None if pira_c is None else iso(days[pira_c]),
                        iso(days[sust_until]))))
                k = c1 if o.proceed_from == "firstconf" else onset
                if o.baseline in ("roving", "roving_wors"):
                    bl = k  # moves even when require_sust_days discards the event
                    search = k + 1
                else:
                    search = k + 1 if ok else onset + 1
            elif (C and x > ref and held(lambda v, r: v > r, onset, C[0], ref)
                  and o.baseline in ("roving", "roving_wors")
                  and sub_rebl in ("worsening", "event")):  # 9d sub-threshold increase
                bl = C[0] if o.proceed_from == "firstconf" else onset
                search = bl + 1
            else:  # 9e not confirmed: try the next visit
                search = onset + 1
        # 10. post-relapse re-baselining, deferred by relapse_assoc[0] days
        if (o.relapse_rebl and running and search <= n - 1
                and any(days[bl] < r.b and r.b + D < days[search] for r in rels)):
            assert irel is not None
            nxt = next((i for i in range(bl, n) if days[i] >= rels[irel].b), None)
            if nxt is None or nxt > n - 2:
                running = False
            if nxt is not None:
                bl = nxt
                search = bl + 1
        # 11. first-event modes
        types = [e.event_type for _, e in records]
        if ((o.event == "firstCDW" and "CDW" in types) or (o.event == "firstCDI" and "CDI" in types)
                or (o.event == "first" and types)):
            break

    # AFTER: two records with one onset visit (only with relapse_rebl): keep the last found
    by_onset: dict[int, Event] = {}
    for onset_idx, ev in records:
        by_onset[onset_idx] = ev
    events = [by_onset[i] for i in sorted(by_onset)]
    if o.event == "firstCDW":
        events = [e for e in events if e.event_type == "CDW"][:1]
    elif o.event == "firstCDI":
        events = [e for e in events if e.event_type == "CDI"][:1]
    elif o.event == "first":
        events = events[:1]
    return events


def pira_windows(prec: int, onset: int, c: int, ind: Any) -> list[tuple[int, int]]:
    """Relapse-free intervals of one confirmation visit (spec 2.7.2): through the anchors
    (P, prec), (O, event), (c, conf) in order, a left end sets t0 = anchor - left, a right end
    sets t1 = anchor + right and adds [t0, t1] when t1 > t0. P = ``prec``, O = ``onset``."""
    out = []
    t0: float | None = None
    for anchor, (left, right) in ((prec, ind.prec), (onset, ind.event), (c, ind.conf)):
        if left is not None:
            t0 = anchor - left
        if right is not None:
            t1 = anchor + right
            if t0 is not None and t1 > t0:
                out.append((int(t0), int(t1)))
    return out


def classify(days: list[int], bl: int, onset: int, C: list[int], relapses: list[Relapse],
             o: Any, asc: tuple[float, float]) -> tuple[str, int | None]:
    """RAW / PIRA / undefined / unknown of one CDW and its PIRA confirmation visit
    (spec 2.7.2)."""
    onset_day = days[onset]
    raw = (onset_day - o.relapse_assoc[0], onset_day + o.relapse_assoc[1])
    a0, a1 = asc

    def ascertained(t0: float, t1: float) -> bool:
        return not o.require_ascertainment or (t0 >= a0 and t1 <= a1)

    # 1. RAW first
    if any(r.inside(*raw) for r in relapses):
        return "RAW", None
    if any(r.touches(*raw) for r in relapses):
        return "unknown", None
    # 2. PIRA on each confirmed visit, in date order
    prec = days[bl] if o.relapse_indep.prec_type == "baseline" else days[onset - 1]
    windows = {c: pira_windows(prec, onset_day, days[c], o.relapse_indep) for c in C}
    clean = [c for c in C
             if not any(r.touches(*w) for r in relapses for w in windows[c])]
    blocked = [c for c in C if any(r.inside(*w) for r in relapses for w in windows[c])]
    if clean:
        c = clean[0]
        # 3. ascertainment must cover the RAW window and the PIRA windows of that visit
        if ascertained(*raw) and all(ascertained(*w) for w in windows[c]):
            return "PIRA", c
        return "unknown", None
    if len(blocked) == len(C):
        return ("undefined", None) if ascertained(*raw) else ("unknown", None)
    return "unknown", None


# ============================================================================ objective SPMS

#: FS columns in CORe's order (FSpyr, FScrbl, FSbstem, FSsens, FSsph, FSvis, FScereb, FSamb).
SPMS_FS = ("fs_pyramidal", "fs_cerebellar", "fs_brainstem", "fs_sensory", "fs_bowel_bladder",
           "fs_visual", "fs_cerebral", "ambulation")
FS_NAMES = ("pyramidal", "cerebellar", "brainstem", "sensory", "bowel_bladder", "visual",
            "cerebral", "ambulation")


@dataclass
class SpmsVisit:
    day: int
    edss: float
    fs: list[float | None]  # raw grades, None = not recorded
    dpr: float | None  # days since the most recent relapse onset (None: none before)

    @property
    def fsna(self) -> bool:
        return all(f is None for f in self.fs)


@dataclass
class SpmsResult:
    subject: Any
    spms: bool | None  # None = not assessable or undecided
    status: str  # met, not_met, few_visits, no_fs, no_reference, pending
    spms_date: str | None = None
    edss_at_spms: float | None = None
    fs_pyramidal_at_spms: float | None = None
    confirmed_edss: float | None = None
    leading_fs: str = ""
    reference_date: str | None = None
    reference_edss: float | None = None
    sustained_days: float | None = None
    visits: int = 0
    exit: str = ""  # how the scan ended without SPMS (for the tests)

    def key(self) -> tuple[Any, ...]:
        return (self.subject, self.spms, self.status, self.spms_date, self.edss_at_spms,
                self.fs_pyramidal_at_spms, self.confirmed_edss, self.leading_fs,
                self.reference_date, self.reference_edss, self.sustained_days, self.visits)


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def objective_spms(visits: Sequence[dict[str, Any]], relapses: Sequence[tuple[Any, str]] = (),
                   options: Any = None) -> list[SpmsResult]:
    """Objective SPMS (Lorscheider 2016) per subject, read from spec 6.2, ``docs/rules.md``
    (objective SPMS) and the code of CORe/MSBase ``MSoutcomes::spmsDx`` 0.2.1 that the spec
    names as the reference (its quirks included: the single-dip smoothing also before the first
    worsening visit, the sentinel row after the last visit, the search resuming with the first
    reference after a failed candidate).

    ``visits``: dicts with ``subject``, ``date`` (ISO), ``edss`` and any of :data:`SPMS_FS`
    (numbers, None / NaN = not recorded); ``relapses``: (subject, onset) rows, onsets full
    dates or "YYYY-MM"; ``options``: a ``neda.rules.phenotype.PhenotypeOptions``.

    Covered: every ``spms.*`` option, ``reference_after_failed_candidate`` (core / keep),
    ``unconfirmed_at_end`` (unknown / not_met), imprecise relapse onsets (a visit is counted
    from the latest possible onset day, 0 inside the interval). Left out: FS markers ("2X"),
    pseudo-relapses, same-day repeats (generate distinct dates).

    ``unconfirmed_at_end = unknown`` is read from its documentation ("a worsening run still
    open at the last visit, not yet confirmable"): when the scan ends without SPMS, the answer
    is undecided if the last visit belongs to a (single-dip smoothed) worsening run that was
    never assessed as a candidate and is not the reference itself, or - when the reference
    moved and one visit is left - that visit is a worsening from the reference that is not
    part of the run just assessed.
    """
    o = options
    if o is None:
        from neda.rules.phenotype import PhenotypeOptions
        o = PhenotypeOptions()
    rel: dict[Any, list[Relapse]] = {}
    for subj, onset in relapses:
        rel.setdefault(subj, []).append(Relapse(*onset_interval(onset)))
    rows: dict[Any, list[SpmsVisit]] = {}
    for v in visits:
        if _missing(v.get("edss")):
            continue
        fs = [None if _missing(v.get(c)) else float(v[c]) for c in SPMS_FS]
        rows.setdefault(v["subject"], []).append(
            SpmsVisit(day_number(v["date"]), float(v["edss"]), fs, None))
    out = []
    for subj in rows:
        series = sorted(rows[subj], key=lambda x: x.day)
        for x in series:
            # days since the most recent relapse onset on or before the visit; an imprecise
            # onset counts from its latest possible day, a visit inside it is 0 days after
            ds = [x.day - min(r.b, x.day) for r in rel.get(subj, []) if r.a <= x.day]
            x.dpr = min(ds) if ds else None
        res = _spms_subject(series, o)
        res.subject = subj
        res.visits = len(series)
        out.append(res)
    return out


def _spms_subject(series: list[SpmsVisit], o: Any) -> SpmsResult:
    t_rel = o.relapse_exclusion_days
    t_prog = o.confirm_days
    t_reg = o.regression_days
    t_relprog = o.relapse_rebaseline_days
    min_edss = o.min_edss
    if len(series) < 3:
        return SpmsResult(None, None, "few_visits")
    first_fs = next((i for i, x in enumerate(series) if not x.fsna), None)
    if first_fs is None:
        return SpmsResult(None, None, "no_fs")
    pvis = series[first_fs:]  # visits before the first one with FS data are not used
    if len(pvis) < 3:
        return SpmsResult(None, None, "few_visits")

    def no_relapse_near(x: SpmsVisit | None) -> bool:  # more than t_rel days after a relapse
        return x is None or x.dpr is None or x.dpr > t_rel

    first_ref = next((x for x in pvis if no_relapse_near(x)), None)
    if first_ref is None:
        return SpmsResult(None, None, "no_reference")
    base_day = first_ref.day  # every "days post baseline" is counted from the first reference
    final = pvis[-1].day - base_day
    # per visit of pvis: a relapse since the previous visit; EDSS change from the previous visit
    intervening: dict[int, bool | None] = {}
    d_prior: dict[int, float | None] = {}
    for i, x in enumerate(pvis):
        gap = 0 if i == 0 else x.day - pvis[i - 1].day
        intervening[id(x)] = None if x.dpr is None else x.dpr <= gap
        d_prior[id(x)] = None if i == 0 else x.edss - pvis[i - 1].edss

    def worsened(edss: float, ref_edss: float) -> bool:
        d = edss - ref_edss
        if ref_edss == 0:
            step = 1.5
        elif ref_edss < 6.0:
            step = 1.0
        else:
            step = 0.5
        return d >= step - TOL and edss >= min_edss - TOL

    ref = first_ref
    B = [x for x in pvis if x.day >= ref.day]
    for _ in range(10 * len(pvis) + 10):
        rows: list[SpmsVisit | None] = [*B, None]  # None = CORe's sentinel row after the last
        m = len(B)
        raw = [worsened(x.edss, ref.edss) for x in B]
        # single-dip smoothing: a group = a worsening visit and the non-worsening visits after
        # it (the first group: the visits before the first worsening visit); a group with
        # exactly one non-worsening visit has it counted as worsening
        prog = list(raw)
        start = 0
        while start < m:
            end = start + 1
            while end < m and not raw[end]:
                end += 1
            zeros = [k for k in range(start, end) if not raw[k]]
            if len(zeros) == 1:
                prog[zeros[0]] = True
            start = end
        prog.append(False)
        reg = [x.edss - ref.edss <= -0.5 + TOL for x in B] + [False]

        def dpb(x: SpmsVisit | None) -> float | None:
            return None if x is None else x.day - base_day

        def dfs(x: SpmsVisit | None, f: int, ref: SpmsVisit = ref) -> float | None:
            if x is None:
                return 0.0  # the sentinel row
            a, b = x.fs[f], ref.fs[f]
            return None if a is None or b is None else a - b

        prog_days = [0.0] * (m + 1)
        reg_days = [0.0] * (m + 1)
        for v in range(m):
            if prog[v]:
                nxt = next(r for r in range(v + 1, m + 1) if not prog[r])
                ok = [r for r in range(nxt) if no_relapse_near(rows[r])]
                if ok:  # (the last such visit may even lie before v: CORe's max())
                    prog_days[v] = float(dpb(rows[max(ok)]) - dpb(rows[v]))  # type: ignore
            if reg[v]:
                nxt = next(r for r in range(v + 1, m + 1) if not reg[r])
                reg_days[v] = float(dpb(rows[nxt - 1]) - dpb(rows[v]))  # type: ignore
        prog_or_reg = [prog_days[v] > t_prog or reg_days[v] > t_reg for v in range(m + 1)]
        if not any(prog_or_reg):
            # a (single-dip smoothed) worsening run still open at the last visit?
            return _spms_end(o, prog[m - 1] and B[-1] is not ref,
                             "reference_is_last_visit" if B[-1] is ref else "no_candidate")
        first = prog_or_reg.index(True)

        # relapses between the reference and the first candidate: diagnostically significant?
        bpr = [rows[r] for r in range(first) if rows[r] is not None and rows[r].day != ref.day]
        sig = []
        if first != 0:
            for k, x in enumerate(bpr):
                assert x is not None
                dp = d_prior[id(x)]
                if (intervening[id(x)] is True and x.edss > 3.0 and x.edss - ref.edss >= 0.5
                        and dp is not None and dp >= 0.5 and ref.edss < 6.0):
                    sig.append(k)
        if sig:
            new_ref: SpmsVisit | None
            if sig[-1] == len(bpr) - 1:
                new_ref = rows[first]
            else:
                bprn: list[SpmsVisit | None] = [*bpr[sig[-1] + 1:], None]
                valid = []
                for v, cand in enumerate(bprn):
                    if cand is None:
                        valid.append(False)  # the sentinel is sustained for 0 days
                        continue

                    def sustained(x: SpmsVisit | None, nb: float = cand.edss,
                                  old: float = ref.edss) -> bool:
                        if x is None:
                            return False
                        d = abs(x.edss - nb)
                        if nb == 0:
                            return d < 1.5
                        # CORe compares with the *old* reference here (bEDSS < 6.0)
                        return d < 1.0 if old < 6.0 else d < 0.5

                    nxt = next(r for r in range(v + 1, len(bprn))
                               if not sustained(bprn[r]))
                    last = bprn[nxt - 1]
                    days = 0.0 if last is None else float(last.day - cand.day)
                    valid.append(days > t_relprog)
                pick = next((v for v, cand in enumerate(bprn)
                             if valid[v] and cand is not None and not cand.fsna), None)
                new_ref = rows[first] if pick is None else bprn[pick]
            assert new_ref is not None
            ref = new_ref
            B = [x for x in pvis if x.day > ref.day]
            if len(B) <= 1:  # one visit left: a worsening not yet confirmable?
                return _spms_end(o, len(B) == 1 and worsened(B[0].edss, ref.edss),
                                 "relapse_rebaseline_one_visit_left")
            continue

        # the candidate: the first visit of sustained worsening (or regression)
        cand = rows[first]
        assert cand is not None
        days_lead = [0.0]
        d1 = []
        for f in range(8):
            d = dfs(cand, f)
            # at the candidate a missing pyramidal change counts as 1, any other as 0 (CORe)
            d1.append((1.0 if f == 0 else 0.0) if d is None else d)
        mx = max(d1)
        lead_fs = [f for f in range(8) if d1[f] == mx]
        if prog[first] and mx > 0:
            days_lead = []
            tail = rows[first:]
            for f in lead_fs:
                col = []
                for x in tail:
                    d = dfs(x, f)
                    col.append(1.0 if d is None else d)  # missing: counted as increased
                col.append(0.0)
                z = next(k for k, val in enumerate(col) if val == 0)
                days_lead.append(float(dpb(tail[z - 1]) - dpb(tail[0])))  # type: ignore
        lead_ok = any(x >= t_prog for x in days_lead)
        after = [x for x in rows[first + 1:] if x is not None]
        upto = next((k for k, x in enumerate(after) if x.day - cand.day > t_prog), None)
        confirmed = None if upto is None else min(x.edss for x in after[:upto + 1])
        pyr = cand.fs[0]
        if pyr is None:
            pyr = 2.0 if cand.edss >= 5.5 else 0.0
        if pyr < 2 and cand.edss >= 5.5:
            pyr = 2.0
        interv = intervening[id(cand)] is True
        cand_dpb = float(cand.day - base_day)
        met = (prog[first] and prog_days[first] >= t_prog
               and cand_dpb + prog_days[first] >= final and not interv
               and cand.edss >= min_edss and confirmed is not None and confirmed >= min_edss
               and pyr >= o.min_fs_pyramidal and lead_ok)
        if met:
            return SpmsResult(
                None, True, "met", iso(cand.day), cand.edss, pyr, confirmed,
                ";".join(FS_NAMES[f] for f in lead_fs), iso(ref.day), ref.edss,
                prog_days[first])
        keep = o.reference_after_failed_candidate == "keep"
        run_to_end = prog[first] and cand_dpb + prog_days[first] >= final
        if prog[first] and cand_dpb + prog_days[first] < final:
            # resume after the end of the run, with the first reference (CORe) or this one
            B = [x for x in pvis if x.day - base_day > cand_dpb + prog_days[first]]
            ref = ref if keep else first_ref
        else:
            B = [x for x in pvis if x.day > cand.day]
            ref = ref if keep else first_ref
            if (prog[first] and interv) or reg[first]:
                # new reference: the candidate, or the first later visit with FS data
                nb: SpmsVisit | None = cand
                if cand.fsna:
                    nb = B[0] if B else None
                while len(B) > 1 and nb is not None and nb.fsna:
                    B = B[1:]
                    nb = B[0]
                if nb is None:
                    return _spms_end(o, False, "no_visit_left")
                ref = nb
        if len(B) <= 1:
            # one visit left, not the reference, worse than it, and not part of the run just
            # assessed: a worsening at the last visit not yet confirmable
            return _spms_end(o, len(B) == 1 and B[0] is not ref and not run_to_end
                             and worsened(B[0].edss, ref.edss), "failed_candidate")
    raise RuntimeError("objective SPMS: the search does not move forward")


def _spms_end(o: Any, open_at_end: bool, how: str) -> SpmsResult:
    """Not met over the follow-up - unless a worsening at the last visit is still open and
    ``unconfirmed_at_end = unknown`` (then undecided)."""
    if o.unconfirmed_at_end == "unknown" and open_at_end:
        return SpmsResult(None, None, "pending", exit=how)
    return SpmsResult(None, False, "not_met", exit=how)
