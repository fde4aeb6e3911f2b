"""The course engine against the plain reference in ``tests/naive.py``.

``naive.confirmed_events`` is a loop-by-loop reading of the clinical spec (sections 2.1-2.7,
3.1) in pure Python; here it must give the same event lists as the compiled engine
(``neda.course.confirmed_events``) on generated small cohorts, for the default preset and the
option variations that matter, and it must reproduce the spec's scenarios of section 2.8.

Relapse onsets are generated at least 60 days apart (whole onset intervals), so the test does
not depend on how the engine merges attacks; a separate test draws day-precise attacks that may
be closer, where the 30-day rule is unambiguous (spec 3.1).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import naive
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neda.course import CourseOptions, confirmed_events

EDSS_SCALE = [0.0] + [1.0 + 0.5 * k for k in range(19)]
START = dt.date(2005, 1, 1)  # generated courses end before the data cut-off


# ---------------------------------------------------------------- option sets
def _opts(preset: str = "mueller2023", **kw: Any) -> CourseOptions:
    return CourseOptions.from_preset(preset, **kw)


OPTION_SETS: dict[str, CourseOptions] = {
    "mueller2023": _opts(),
    "fixed_firstCDW": _opts(baseline="fixed", event="firstCDW"),
    "conf168": _opts(conf_days=168),
    "relapse_assoc_30_10": _opts(relapse_assoc=(30, 10)),
    "relapse_indep_wide": _opts(relapse_indep={"prec": (0, None), "event": (None, 60),
                                               "conf": (60, 60), "prec_type": "baseline"}),
    "relapse_indep_last": _opts(relapse_indep={"prec": (0, None), "event": (None, 0),
                                               "conf": (30, 0), "prec_type": "last"}),
    "no_ascertainment": _opts(require_ascertainment=False),
    "lookback_90": _opts(history_lookback_days=90),
    "relapse_distances": _opts(relapse_to_bl=(60, 10), relapse_to_event=(10, 0),
                               relapse_to_conf=(45, 5)),
    "roving_wors_event": _opts(baseline="roving_wors", proceed_from="event"),
    "any_lower_event": _opts(roving_after_improvement="any_lower", proceed_from="event"),
    "sub_threshold_event": _opts(sub_threshold_rebl="event"),
    "kalincik_cdi": _opts(cdi_thresholds="kalincik2015"),
    "relapse_rebl_bl_geq": _opts(relapse_rebl=True, bl_geq=True),
    "sustained_no_intermediate": _opts(check_intermediate=False, require_sust_days=365,
                                       conf_tol_days=(7, 200)),
    "at_or_above_onset": _opts(confirm_magnitude="at_or_above_onset"),
    "two_conf_periods": _opts(conf_days=(84, 168), conf_tol_days=(0, 30)),
    "first_event": _opts(event="first"),
    "mueller2023_strict": _opts("mueller2023_strict"),
    "kappos2020": _opts("kappos2020"),
    "cagol2022": _opts("cagol2022"),
    "mueller2025": _opts("mueller2025"),
    "portaccio2025": _opts("portaccio2025"),
    "msprog_defaults": _opts("msprog_defaults"),
}
CORE_SETS = ["mueller2023", "fixed_firstCDW", "conf168", "relapse_assoc_30_10",
             "relapse_indep_wide", "no_ascertainment"]


# ---------------------------------------------------------------- the two sides
Cohort = tuple[list[tuple[str, str, float]], list[tuple[str, str]],
               dict[str, tuple[str, str]] | None]


def engine_events(visits: list[tuple[str, str, float]], relapses: list[tuple[str, str]],
                  options: CourseOptions,
                  ascertainment: dict[str, tuple[str, str]] | None = None) -> list[tuple]:
    vis = pd.DataFrame(visits, columns=["subject", "date", "edss"])
    rel = pd.DataFrame({"subject": pd.Series([r[0] for r in relapses], dtype=object),
                        "date": pd.Series([r[1] for r in relapses], dtype=object)})
    asc = None
    if ascertainment is not None:
        asc = pd.DataFrame([(s, a, b) for s, (a, b) in ascertainment.items()],
                           columns=["subject", "start", "end"])
    res = confirmed_events(vis, rel, options, ascertainment=asc)

    def day(x: Any) -> str | None:
        return None if pd.isna(x) else pd.Timestamp(x).date().isoformat()

    ev = res.events
    cols = [ev[c].tolist() for c in (
        "subject", "event_type", "cdw_class", "onset_date", "onset_value", "reference_date",
        "reference_value", "confirmation_date", "confirmation_value", "pira_confirmation_date",
        "sustained_until_date")]
    out = [(s, t, c, day(o), float(ov), day(r), float(rv), day(c1), float(cv), day(p), day(u))
           for s, t, c, o, ov, r, rv, c1, cv, p, u in zip(*cols, strict=True)]
    return sorted(out, key=lambda t: (t[0], t[3]))


def naive_events(visits: list[tuple[str, str, float]], relapses: list[tuple[str, str]],
                 options: CourseOptions,
                 ascertainment: dict[str, tuple[str, str]] | None = None) -> list[tuple]:
    evs = naive.confirmed_events(visits, relapses, options, ascertainment)
    return sorted((e.key() for e in evs), key=lambda t: (t[0], t[3]))


# ---------------------------------------------------------------- generated cohorts
GAPS = st.one_of(st.sampled_from([29, 30, 31, 60, 77, 83, 84, 85, 89, 90, 91, 167, 168, 169,
                                  182, 183, 184]),
                 st.integers(1, 250))


@st.composite
def cohorts(draw: Any, month_onsets: bool = True, min_relapse_gap: int = 60,
            with_ascertainment: bool = True) -> Cohort:
    visits: list[tuple[str, str, float]] = []
    relapses: list[tuple[str, str]] = []
    asc: dict[str, tuple[str, str]] = {}
    for s in range(draw(st.integers(1, 4))):
        subj = f"P{s}"
        first = START + dt.timedelta(days=draw(st.integers(0, 400)))
        day = first
        pos = draw(st.integers(0, 12))
        for k in range(draw(st.integers(2, 15))):
            if k:
                day += dt.timedelta(days=draw(GAPS))
                pos += draw(st.sampled_from([-3, -2, -1, 0, 0, 0, 1, 1, 2, 3]))
                pos = max(0, min(len(EDSS_SCALE) - 1, pos))
            visits.append((subj, day.isoformat(), EDSS_SCALE[pos]))
        last = day
        # relapses: whole onset intervals at least min_relapse_gap days apart
        t = first - dt.timedelta(days=draw(st.integers(0, 200)))
        prev_end: dt.date | None = None
        for _ in range(draw(st.integers(0, 3))):
            gap = draw(st.integers(min_relapse_gap if prev_end else 0, 400))
            t = (prev_end or t) + dt.timedelta(days=gap)
            if month_onsets and draw(st.integers(0, 4)) == 0:
                if t.day != 1:  # the month starts on or after t, so the gap holds
                    t = (t.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
                relapses.append((subj, t.strftime("%Y-%m")))
                prev_end = (t.replace(day=28) + dt.timedelta(days=4)).replace(day=1) \
                    - dt.timedelta(days=1)
            else:
                relapses.append((subj, t.isoformat()))
                prev_end = t
        if with_ascertainment and draw(st.booleans()):
            a0 = first - dt.timedelta(days=draw(st.integers(-30, 120)))
            a1 = last + dt.timedelta(days=draw(st.integers(-30, 120)))
            asc[subj] = (a0.isoformat(), a1.isoformat())
    return visits, relapses, (asc or None)


def _check(cohort: Cohort, name: str) -> None:
    visits, relapses, asc = cohort
    opts = OPTION_SETS[name]
    fast = engine_events(visits, relapses, opts, asc)
    slow = naive_events(visits, relapses, opts, asc)
    assert fast == slow, (
        f"option set {name!r}\nvisits={visits}\nrelapses={relapses}\nascertainment={asc}\n"
        f"engine={fast}\nnaive ={slow}")


@settings(max_examples=100, deadline=None)
@given(cohorts(), st.sampled_from(CORE_SETS))
def test_engine_equals_naive_core_options(cohort: Cohort, name: str) -> None:
    _check(cohort, name)


@settings(max_examples=120, deadline=None)
@given(cohorts(), st.sampled_from(sorted(OPTION_SETS)))
def test_engine_equals_naive_all_option_sets(cohort: Cohort, name: str) -> None:
    _check(cohort, name)


@settings(max_examples=40, deadline=None)
@given(cohorts(month_onsets=False, min_relapse_gap=1, with_ascertainment=False),
       st.sampled_from(["mueller2023", "kappos2020", "relapse_assoc_30_10"]))
def test_engine_equals_naive_with_close_attacks(cohort: Cohort, name: str) -> None:
    """Day-precise attacks may be < 30 days apart: both merge them into one relapse."""
    _check(cohort, name)


# ---------------------------------------------------------------- spec 2.8 through naive
D0 = dt.date(2024, 1, 1)


def d(n: int) -> str:
    return (D0 + dt.timedelta(days=n)).isoformat()


def scenario(edss: dict[int, float], relapses: list[int | str] = (), preset: str = "mueller2023",
             asc_end: int | None = None, **kw: Any) -> list[tuple]:
    """Spec 2.8 fixture: one patient, first visit d0, ascertainment d0 to last visit + 60.

    Returns (type, class, onset day, c1 day, reference day) per event, from naive; the engine
    must give the same full event rows."""
    visits = [("P1", d(k), v) for k, v in edss.items()]
    rel = [("P1", r if isinstance(r, str) else d(r)) for r in relapses]
    end = max(edss) + 60 if asc_end is None else asc_end
    asc = {"P1": (d(0), d(end))}
    opts = _opts(preset, **kw)
    slow = naive_events(visits, rel, opts, asc)
    assert engine_events(visits, rel, opts, asc) == slow

    def n(iso: str) -> int:
        return (dt.date.fromisoformat(iso) - D0).days

    return [(e[1], e[2], n(e[3]), n(e[7]), n(e[5])) for e in slow]


def cdw(onset: int, c1: int, ref: int = 0, cls: str = "PIRA") -> tuple:
    return ("CDW", cls, onset, c1, ref)


def cdi(onset: int, c1: int, ref: int = 0) -> tuple:
    return ("CDI", "", onset, c1, ref)


def test_s1_to_s8_thresholds_and_confirmation() -> None:
    assert scenario({0: 0, 90: 1.0, 180: 1.0}) == []
    assert scenario({0: 0, 90: 1.0, 180: 1.0}, edss_thresholds="trial_le5.5") == [cdw(90, 180)]
    assert scenario({0: 0, 90: 1.5, 180: 1.5}) == [cdw(90, 180)]
    assert scenario({0: 2.0, 90: 3.0, 135: 2.5, 180: 3.0}) == []
    assert scenario({0: 5.5, 90: 6.0, 180: 6.0}) == []
    for table in ("msprog", "expand"):
        assert scenario({0: 5.5, 90: 6.0, 180: 6.0}, edss_thresholds=table) == [cdw(90, 180)]
    assert scenario({0: 6.0, 90: 6.5, 180: 6.5}) == [cdw(90, 180)]
    assert scenario({0: 2.0, 100: 3.0, 183: 3.0, 184: 3.0}) == [cdw(100, 184)]
    assert scenario({0: 2.0, 100: 3.0, 177: 3.0}) == []
    assert scenario({0: 2.0, 100: 3.0, 176: 3.0}) == []


def test_s1_to_s8_under_msprog_defaults() -> None:
    """The last column of the spec 2.8 table (pymsprog 1.0.7 runs)."""
    msprog = "msprog_defaults"
    assert scenario({0: 0, 90: 1.0, 180: 1.0}, preset=msprog) == []
    assert scenario({0: 5.5, 90: 6.0, 180: 6.0}, preset=msprog) == [cdw(90, 180)]
    assert scenario({0: 2.0, 100: 3.0, 183: 3.0, 184: 3.0}, preset=msprog) == [cdw(100, 183)]
    assert scenario({0: 2.0, 100: 3.0, 177: 3.0}, preset=msprog) == [cdw(100, 177)]
    assert scenario({0: 2.0, 100: 3.0, 176: 3.0}, preset=msprog) == []
    plateau = {0: 2.0, 90: 3.0, 180: 3.0, 270: 3.0, 360: 3.0}
    assert scenario(plateau, preset=msprog) == [cdw(90, 180)]  # S29, firstCDW


def test_s9_to_s18_relapse_distances_and_raw() -> None:
    base = {0: 2.0, 100: 3.0, 190: 3.0}
    assert scenario({0: 2.0, 100: 3.0, 189: 3.0}, [160]) == []
    assert scenario(base, [160]) == [cdw(100, 190, cls="undefined")]
    assert scenario(base, [-30]) == [cdw(100, 190)]
    assert scenario(base, [-29]) == []
    assert scenario(base, [100]) == [cdw(100, 190, cls="RAW")]
    assert scenario(base, [10]) == [cdw(100, 190, cls="RAW")]
    assert scenario(base, [9]) == [cdw(100, 190)]
    assert scenario({0: 2.0, 100: 3.0, 195: 3.0, 230: 3.0}, [185]) == [
        cdw(100, 230, cls="undefined")]
    assert scenario({0: 2.0, 100: 3.0, 190: 3.0, 300: 3.0}, [170]) == [cdw(100, 300)]
    assert scenario({0: 2.0, 80: 3.0, 170: 3.0}, [60]) == [cdw(80, 170, cls="RAW")]


def test_s19_to_s23_ascertainment_and_imprecise_onsets() -> None:
    s19 = {0: 2.0, 200: 3.0, 290: 3.0}
    assert scenario(s19, [100]) == [cdw(200, 290)]
    assert scenario(s19, [100], asc_end=290) == [cdw(200, 290, cls="unknown")]
    assert scenario(s19, [100], asc_end=290, require_ascertainment=False) == [cdw(200, 290)]
    assert scenario({0: 2.0, 150: 2.0, 250: 3.0, 340: 3.0}, [100]) == [cdw(250, 340, ref=0)]
    assert scenario({0: 2.0, 90: 3.0}) == []
    # S23: first visit 2024-01-02; a relapse in "2024-03" partly overlaps the RAW window
    s23 = {1: 2.0, 161: 3.0, 253: 3.0}
    assert d(1) == "2024-01-02" and d(161) == "2024-06-10" and d(253) == "2024-09-10"
    assert scenario(s23, ["2024-03"], asc_end=313) == [cdw(161, 253, ref=1, cls="unknown")]
    assert scenario(s23, ["2024-03-11"], asc_end=313) == [cdw(161, 253, ref=1)]
    assert scenario(s23, ["2024-03-12"], asc_end=313) == [cdw(161, 253, ref=1, cls="RAW")]


def test_s25_attacks_within_30_days_are_one_relapse() -> None:
    assert scenario({0: 2.0, 100: 3.0, 190: 3.0}, [5, 20]) == [cdw(100, 190)]
    # measured from the first onset: attacks on days 0, 20 and 40 are two relapses (3.1)
    assert naive.merge_attacks([naive.Relapse(k, k) for k in (0, 20, 40)]) == [
        naive.Relapse(0, 0), naive.Relapse(40, 40)]
    month = naive.onset_interval("2020-03")
    assert naive.merge_attacks([naive.Relapse(*month), naive.Relapse(*naive.onset_interval(
        "2020-03-15"))]) == [naive.Relapse(*month)]
    uncertain = [naive.Relapse(*naive.onset_interval("2020-02-20")), naive.Relapse(*month)]
    assert naive.merge_attacks(uncertain) == uncertain


def test_s26_to_s29_reference_schemes() -> None:
    s26 = {0: 3.0, 90: 2.5, 180: 2.5, 270: 3.5, 360: 3.5}
    assert scenario(s26) == []
    assert scenario(s26, roving_after_improvement="any_lower") == [cdw(270, 360, ref=180)]
    assert scenario(s26, roving_after_improvement="any_lower", proceed_from="event") == [
        cdw(270, 360, ref=90)]
    s27 = {0: 4.0, 90: 3.0, 180: 3.0, 270: 4.0, 360: 4.0}
    assert scenario(s27) == [cdi(90, 180), cdw(270, 360, ref=180)]
    assert scenario(s27, relapse_rebl=True, bl_geq=True) == [cdi(90, 180)]
    s28 = {0: 6.0, 90: 5.5, 180: 5.5, 270: 6.0, 360: 6.0, 450: 6.5, 540: 6.5}
    assert scenario(s28) == [cdi(90, 180), cdw(450, 540, ref=180)]
    assert scenario(s28, cdi_thresholds="kalincik2015") == [cdw(450, 540, ref=0)]
    assert scenario(s28, preset="msprog_defaults") == [cdw(450, 540, ref=0)]
    assert scenario({0: 2.0, 90: 3.0, 180: 3.0, 270: 3.0, 360: 3.0}) == [cdw(90, 180)]


def test_s33_pira_needs_one_clean_confirmation_visit() -> None:
    visits = [("P1", d(k), v) for k, v in {0: 2.0, 100: 3.0, 190: 3.0, 300: 3.0}.items()]
    asc = {"P1": (d(0), d(360))}
    (ev,) = naive_events(visits, [("P1", d(200))], _opts(), asc)
    assert ev[2] == "PIRA" and ev[7] == d(190) and ev[9] == d(300)
    assert scenario({0: 2.0, 100: 3.0, 190: 3.0, 300: 3.0}, [200]) == [cdw(100, 190)]


PRESET_TABLE = {
    "S16": ({0: 2.0, 100: 3.0, 195: 3.0, 230: 3.0}, [185]),
    "S17": ({0: 2.0, 100: 3.0, 190: 3.0, 300: 3.0}, [170]),
    "S18": ({0: 2.0, 80: 3.0, 170: 3.0}, [60]),
    "S19": ({0: 2.0, 200: 3.0, 290: 3.0}, [100]),
    "S21": ({0: 2.0, 150: 2.0, 250: 3.0, 340: 3.0}, [100]),
    "S2": ({0: 0, 90: 1.5, 180: 1.5}, []),
}
PRESETS = ("kappos2020", "cagol2022", "mueller2023_strict", "mueller2025", "portaccio2025")
EXPECTED: dict[str, tuple[list[tuple], ...]] = {  # in the order of PRESETS (spec 2.8)
    "S16": ([cdw(100, 230)], [cdw(100, 230, cls="undefined")],
            [cdw(100, 230, cls="undefined")], [], []),
    "S17": ([cdw(100, 300)], [cdw(100, 300, cls="undefined")],
            [cdw(100, 300, cls="undefined")], [cdw(100, 300)], [cdw(100, 300)]),
    "S18": ([cdw(80, 170, cls="RAW")], [cdw(80, 170, cls="RAW")], [cdw(80, 170, cls="RAW")],
            [], []),
    "S19": ([], [cdw(200, 290)], [cdw(200, 290, cls="undefined")], [], []),
    "S21": ([cdw(250, 340, ref=150)], [cdw(250, 340)], [cdw(250, 340, cls="undefined")], [],
            []),
    "S2": ([cdw(90, 180)], [cdw(90, 180)], [cdw(90, 180)], [], []),
}


@pytest.mark.parametrize("name", sorted(PRESET_TABLE))
def test_spec_presets_table(name: str) -> None:
    visits, rel = PRESET_TABLE[name]
    got = tuple(scenario(visits, list(rel), preset=p) for p in PRESETS)
    assert got == EXPECTED[name]
