"""Lublin 2014 descriptors and objective SPMS (clinical spec 6.1, 6.2; CORe spmsDx)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neda.rules.phenotype import (
    LUBLIN_COLUMNS,
    SPMS_COLUMNS,
    PhenotypeOptions,
    lublin_descriptors,
    objective_spms,
)

D0 = pd.Timestamp("2010-01-01")  # generated courses end before the data cut-off


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def visits(*rows: tuple, subject: int = 1) -> pd.DataFrame:
    """rows: (day, edss, pyramidal FS) - pyramidal None = not recorded."""
    return pd.DataFrame({"subject": subject, "date": [day(r[0]) for r in rows],
                         "edss": [r[1] for r in rows],
                         "fs_pyramidal": [r[2] if len(r) > 2 else 2 for r in rows],
                         "fs_sensory": 1})


def rel(*days: int, subject: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"subject": subject, "date": [day(d) for d in days]})


#: relapses recorded, none occurred (None would mean "not recorded": unknown)
NO_RELAPSES = pd.DataFrame({"subject": [], "date": []})


def spms(v: pd.DataFrame, r: pd.DataFrame | None = None, **opts) -> pd.Series:
    out = objective_spms(v, NO_RELAPSES if r is None else r,
                         PhenotypeOptions(**opts) if opts else None)
    assert list(out.columns) == list(SPMS_COLUMNS)
    assert len(out) == 1
    return out.iloc[0]


# ============================================================================ objective SPMS

#: EDSS 3.0 -> 4.0 with pyramidal 1 -> 2 from d180, sustained to the last visit
BASE = [(0, 3.0, 1), (180, 4.0, 2), (360, 4.0, 2)]


def test_spms_met_values_and_date():
    r = spms(visits(*BASE))
    assert r["spms"] == True  # noqa: E712 (nullable boolean)
    assert r["spms_date"] == day(180)
    assert (r["edss_at_spms"], r["fs_pyramidal_at_spms"], r["confirmed_edss"]) == (4.0, 2.0, 4.0)
    assert r["reference_date"] == day(0) and r["reference_edss"] == 3.0
    assert r["leading_fs"] == "pyramidal" and r["sustained_days"] == 180


@pytest.mark.parametrize(("gap", "expected"), [(90, None), (91, True)])
def test_spms_confirmation_90_vs_91_days(gap, expected):
    # run from d180 to d180+gap: must last more than 90.75 days (CORe tProgression)
    r = spms(visits((0, 3.0, 1), (180, 4.0, 2), (180 + gap, 4.0, 2)))
    if expected is None:
        assert r["spms"] is pd.NA and "not yet confirmed" in r["reason"]
        r2 = spms(visits((0, 3.0, 1), (180, 4.0, 2), (180 + gap, 4.0, 2)),
                  unconfirmed_at_end="not_met")
        assert r2["spms"] == False  # noqa: E712 - CORe parity
    else:
        assert r["spms"] == True  # noqa: E712


@pytest.mark.parametrize(("edss", "expected"), [(3.5, False), (4.0, True)])
def test_spms_min_edss_35_vs_4(edss, expected):
    r = spms(visits((0, 2.5, 1), (180, edss, 2), (360, edss, 2), (450, edss, 2)))
    assert r["spms"] == expected


@pytest.mark.parametrize(("pyr", "expected"), [(1, False), (2, True)])
def test_spms_pyramidal_1_vs_2(pyr, expected):
    r = spms(visits((0, 3.0, 0), (180, 4.0, pyr), (360, 4.0, pyr)))
    assert r["spms"] == expected


def test_spms_missing_pyramidal_imputed_from_edss_55():
    # pyramidal not recorded at onset: imputed 2 when EDSS >= 5.5 (CORe), else 0
    r = spms(visits((0, 4.5, 1), (180, 5.5, None), (360, 5.5, None)))
    assert r["spms"] == True and r["fs_pyramidal_at_spms"] == 2  # noqa: E712


@pytest.mark.parametrize(("days_before", "expected"), [(30, True), (31, False)])
def test_spms_reference_needs_more_than_30_days_after_relapse(days_before, expected):
    # relapse 30 days before d0: d0 (3.5) cannot be the reference -> d100 (3.0) is, and 4.0 is
    # +1.0; 31 days: d0 (3.5) is the reference and 4.0 is only +0.5
    v = visits((0, 3.5, 1), (100, 3.0, 1), (200, 4.0, 2), (300, 4.0, 2), (400, 4.0, 2))
    r = spms(v, rel(-days_before))
    assert r["spms"] == expected
    if expected:
        assert r["reference_date"] == day(100)


def test_spms_relapse_since_previous_visit_disqualifies_onset():
    v = visits((0, 3.0, 1), (100, 3.0, 1), (200, 4.0, 2), (300, 4.0, 2), (400, 4.0, 2))
    assert spms(v)["spms_date"] == day(200)
    # relapse at d150, between the previous visit (d100) and the onset (d200): that worsening
    # does not count, and the reference moves to d200 (CORe), so no SPMS
    r = spms(v, rel(150))
    assert r["spms"] == False  # noqa: E712
    # relapse at d90, before the previous visit: not intervening (110 days > 100-day gap)
    assert spms(v, rel(90))["spms_date"] == day(200)


def test_spms_confirming_visit_within_30_days_of_relapse_does_not_count():
    # run d180-d272; the d272 visit is 30 days after a relapse at d242 -> the run counts only
    # to d180 (0 days); with the relapse at d241 (31 days) it counts to d272 (92 days)
    v = visits((0, 3.0, 1), (180, 4.0, 2), (272, 4.0, 2))
    assert spms(v, rel(242))["spms"] is not True
    assert spms(v, rel(241))["spms"] == True  # noqa: E712


def test_spms_single_dip_is_tolerated_two_are_not():
    one_dip = visits((0, 2.0, 1), (100, 4.0, 2), (200, 4.0, 2), (300, 3.0, 2), (400, 4.0, 2),
                     (500, 4.0, 2))
    assert spms(one_dip)["spms_date"] == day(100)
    # two non-worsening visits in a row end the run at d200: not sustained to the last visit;
    # the run from d400 is
    two_dips = visits((0, 2.0, 1), (100, 4.0, 2), (200, 4.0, 2), (300, 3.0, 2), (350, 3.0, 2),
                      (400, 4.0, 2), (500, 4.0, 2))
    assert spms(two_dips)["spms_date"] == day(400)


def test_spms_confirmed_edss_is_the_lowest_up_to_confirmation():
    # the dip falls on the first visit > 90.75 days after onset: confirmed EDSS 3.0 < 4 (CORe)
    v = visits((0, 2.0, 1), (100, 4.0, 2), (200, 3.0, 2), (300, 4.0, 2), (400, 4.0, 2))
    r = spms(v)
    assert r["spms_date"] == day(300) and r["confirmed_edss"] == 4.0


REGRESSION = [(0, 4.0, 2), (100, 3.0, 2), (None, 3.0, 2), (500, 4.0, 3), (600, 4.0, 3),
              (700, 4.0, 3)]


@pytest.mark.parametrize(("low_until", "expected"), [(372, False), (373, True)])
def test_spms_regression_resets_reference_after_272_25_days(low_until, expected):
    # EDSS 4.0 -> 3.0 from d100; the regression lasts to low_until. > 272.25 days: reference
    # becomes 3.0 (d100) and 4.0 later is +1.0; 272 days: the reference stays 4.0
    v = visits(*[(low_until if d is None else d, e, p) for d, e, p in REGRESSION])
    r = spms(v, reference_after_failed_candidate="keep")
    assert r["spms"] == expected
    if expected:
        assert r["spms_date"] == day(500) and r["reference_date"] == day(100)


def test_spms_core_parity_quirks_leading_dip_and_reference_reversion():
    """CORe code (spec 6.2: parity tests follow the code): the single-dip smoothing also turns
    a lone non-worsening visit *before* the first worsening visit into a worsening visit; that
    visit (d373, no FS increase) is tried as a candidate, fails, and CORe then resumes with the
    subject's first reference (4.0), so the regression reset is lost."""
    v = visits(*[(373 if d is None else d, e, p) for d, e, p in REGRESSION])
    assert spms(v)["spms"] == False  # noqa: E712  (default: core)
    # with a second non-worsening visit after the regression the reset survives under CORe
    v = visits((0, 4.0, 2), (100, 3.0, 2), (373, 3.0, 2), (450, 3.0, 2), (550, 4.0, 3),
               (650, 4.0, 3), (750, 4.0, 3))
    r = spms(v)
    assert r["spms_date"] == day(550) and r["reference_date"] == day(100)


def test_spms_must_be_sustained_to_last_visit():
    v = visits((0, 3.0, 1), (180, 4.0, 2), (300, 4.0, 2), (400, 3.0, 1), (500, 3.0, 1))
    assert spms(v)["spms"] == False  # noqa: E712


def test_spms_leading_fs_must_stay_increased():
    # EDSS worsening driven by pyramidal 1 -> 3, which is back to baseline at the next visit
    v = visits((0, 3.0, 1), (180, 4.0, 3), (360, 4.0, 1), (450, 4.0, 1))
    assert spms(v)["spms"] is not True


def test_spms_not_assessed():
    r = spms(visits((0, 3.0, 1), (180, 4.0, 2)))
    assert r["spms"] is pd.NA and "fewer than 3" in r["reason"]
    v = visits(*BASE)
    v["fs_pyramidal"] = None
    v["fs_sensory"] = None
    r = spms(v)
    assert r["spms"] is pd.NA and "functional-system" in r["reason"]
    # counted from the first visit with FS data
    v = visits((-100, 3.0, None), *BASE[:2])
    v.loc[0, "fs_sensory"] = None
    assert "fewer than 3" in spms(v)["reason"]


def test_spms_fs_markers_and_pseudo_relapse_visits():
    v = visits(*BASE)
    v["fs_pyramidal"] = ["1", "2X", "2"]
    assert spms(v)["spms"] == True  # noqa: E712
    # an assessment during a fever/infection pseudo-relapse is not used
    r = rel(175).assign(pseudo=True)
    assert spms(visits(*BASE), r)["spms"] is pd.NA  # only d0, d360 left: < 3 visits


def test_spms_several_subjects_and_provenance():
    v = pd.concat([visits(*BASE, subject=s) for s in ("a", "b")])
    out = objective_spms(v)
    assert list(out["subject"]) == ["a", "b"] and out["spms"].all()
    assert out.attrs["provenance"]["options"]["confirm_days"] == 90.75
    assert (out["rule_set"] == "spec_defaults").all()


@st.composite
def series(draw):
    n = draw(st.integers(3, 9))
    gaps = draw(st.lists(st.integers(20, 200), min_size=n - 1, max_size=n - 1))
    days = np.concatenate([[0], np.cumsum(gaps)])
    edss = draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.5, 6.0, 6.5]),
                         min_size=n, max_size=n))
    pyr = draw(st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=n, max_size=n))
    rdays = draw(st.lists(st.integers(-60, int(days[-1])), max_size=3))
    return days, edss, pyr, rdays


@given(series())
def test_property_spms_date_never_precedes_first_edss_at_min(data):
    days, edss, pyr, rdays = data
    v = pd.DataFrame({"subject": 1, "date": [day(int(d)) for d in days], "edss": edss,
                      "fs_pyramidal": pyr, "fs_sensory": 1})
    r = objective_spms(v, rel(*rdays) if rdays else None).iloc[0]
    if r["spms"] is not pd.NA and bool(r["spms"]):
        first = v.loc[v["edss"] >= 4.0, "date"].min()
        assert r["spms_date"] >= first
        assert r["edss_at_spms"] >= 4.0 and r["fs_pyramidal_at_spms"] >= 2
        assert r["confirmed_edss"] >= 4.0
        # sustained to the last visit
        assert r["spms_date"] + pd.Timedelta(days=r["sustained_days"]) >= v["date"].max()
    else:
        assert pd.isna(r["spms_date"])


def test_spms_runs_on_60000_patients():
    """Objective SPMS on 60,000 patients at once (its speed is in bench/, never asserted)."""
    rng = np.random.default_rng(1)
    n, k = 60_000, 16
    steps = rng.choice([-0.5, 0.0, 0.0, 0.5, 1.0], size=(n, k))
    edss = np.clip(np.round((2 + np.cumsum(steps, axis=1)) * 2) / 2, 0, 9.5).ravel()
    edss[edss == 0.5] = 1.0
    v = pd.DataFrame({
        "subject": np.repeat(np.arange(n), k),
        "date": D0 + pd.to_timedelta(np.tile(np.arange(k) * 180, n)
                                     + rng.integers(0, 30, n * k), "D"),
        "edss": edss, "fs_pyramidal": rng.integers(0, 5, n * k),
        "fs_cerebellar": rng.integers(0, 4, n * k)})
    r = pd.DataFrame({"subject": rng.integers(0, n, n),
                      "date": D0 + pd.to_timedelta(rng.integers(0, 2880, n), "D")})
    objective_spms(v.iloc[:200], r)  # compile
    out = objective_spms(v, r)
    assert len(out) == n and out["spms"].notna().sum() > n // 2


# ============================================================================ Lublin 2014


def scan(d: int, comp: int | None, gd: int | None, new: int | None, subject: int = 1) -> dict:
    return {"subject": subject, "date": day(d),
            "comparator_date": day(comp) if comp is not None else pd.NaT,
            "contrast": gd is not None, "gd": gd, "new_t2": new, "enlarging_t2": 0}


def mri(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


STABLE = visits((0, 3.0), (180, 3.0), (365, 3.0), (545, 3.0), (730, 3.0))
WIN = pd.DataFrame({"subject": [1], "end": [day(730)]})  # window (d365, d730]


def lublin(v=STABLE, r=NO_RELAPSES, m=None, course="SPMS", **opts) -> pd.Series:
    out = lublin_descriptors(v, r, m, PhenotypeOptions(**opts) if opts else None, WIN,
                             courses={1: course} if course else None)
    assert list(out.columns) == list(LUBLIN_COLUMNS)
    return out.iloc[0]


CLEAN = mri(scan(300, None, 0, None), scan(700, 300, 0, 0))


def test_missing_mri_is_indeterminate_never_not_active():
    r = lublin()
    assert r["activity"] == "indeterminate" and r["active"] is pd.NA
    assert r["relapse_activity"] == False  # noqa: E712
    assert "no MRI table" in r["activity_reason"]
    r = lublin(m=mri(scan(300, None, 0, None)))  # no scan inside the window
    assert r["activity"] == "indeterminate" and "no scan in the window" in r["activity_reason"]


def test_not_active_needs_complete_relapse_and_mri_data():
    r = lublin(m=CLEAN)
    assert r["activity"] == "not active" and r["active"] == False  # noqa: E712
    assert r["descriptor"] == "SPMS, not active, without progression"
    # relapses not recorded: relapse activity unknown, so never "not active"
    r = lublin(m=CLEAN, r=None)
    assert r["activity"] == "indeterminate" and r["relapse_activity"] is pd.NA
    assert "relapses were not recorded" in r["activity_reason"]


@pytest.mark.parametrize("bad", [
    scan(700, 300, None, 0),   # no contrast
    scan(700, None, 0, 0),     # no comparator: new/enlarging unknown
    scan(700, 300, 0, None),   # count missing
])
def test_incomplete_mri_is_indeterminate(bad):
    r = lublin(m=mri(scan(300, None, 0, None), bad))
    assert r["activity"] == "indeterminate"


def test_t2_only_scan_can_be_not_active_when_gd_not_required():
    m = mri(scan(300, None, 0, None), scan(700, 300, None, 0))
    assert lublin(m=m, mri_requires_gd=False)["activity"] == "not active"


@pytest.mark.parametrize("active_scan", [scan(700, 300, 1, None), scan(700, 300, None, 2),
                                         scan(700, None, 1, 0)])
def test_mri_activity_from_any_positive_count(active_scan):
    r = lublin(m=mri(scan(300, None, 0, None), active_scan))
    assert r["activity"] == "active" and r["mri_activity"] == True  # noqa: E712


@pytest.mark.parametrize(("rday", "active"), [(366, True), (730, True), (365, False)])
def test_relapse_in_window_is_activity(rday, active):
    r = lublin(r=rel(rday), m=CLEAN)
    assert (r["activity"] == "active") is active


def test_relapse_followup_not_covering_window_is_indeterminate():
    short = visits((400, 3.0), (545, 3.0), (730, 3.0))
    r = lublin(v=short, m=CLEAN)
    assert r["relapse_activity"] is pd.NA and r["activity"] == "indeterminate"


def test_progression_with_pira_in_window():
    v = visits((0, 3.0), (180, 3.0), (400, 4.0), (545, 4.0), (730, 4.0))
    r = lublin(v=v, m=CLEAN)
    assert r["progression"] == "with progression" and r["pira_events"] == 1
    assert r["descriptor"] == "SPMS, not active, with progression"


def test_relapse_associated_worsening_is_not_progression():
    v = visits((0, 3.0), (180, 3.0), (400, 4.0), (545, 4.0), (730, 4.0))
    r = lublin(v=v, r=rel(350), m=CLEAN)
    assert r["progression"] == "without progression"
    assert "relapse_associated_worsening" in r["flags"] and r["activity"] == "not active"


def test_progression_indeterminate_without_edss_near_window_edges():
    v = visits((0, 3.0), (180, 3.0), (365, 3.0), (500, 3.0))
    r = lublin(v=v, m=CLEAN)
    assert r["progression"] == "indeterminate" and r["progressing"] is pd.NA
    # a worsening at the end not yet confirmed
    v = visits((0, 3.0), (180, 3.0), (365, 3.0), (545, 3.0), (700, 4.0), (730, 4.0))
    assert lublin(v=v, m=CLEAN)["progression"] == "indeterminate"


def test_relapsing_courses_get_no_progression_modifier_and_prms_maps_to_ppms():
    r = lublin(m=CLEAN, course="RRMS")
    assert r["progression"] == "not applicable" and r["descriptor"] == "RRMS, not active"
    r = lublin(m=CLEAN, course="PRMS")
    assert r["course"] == "PPMS" and "legacy_PRMS" in r["flags"]
    r = lublin(m=CLEAN, course=None)
    assert "course_not_given" in r["flags"] and r["progression"] == "without progression"
    with pytest.raises(ValueError, match="unknown disease course"):
        lublin(course="benign")


def test_default_window_ends_at_last_visit():
    out = lublin_descriptors(STABLE, NO_RELAPSES, CLEAN)
    assert out["window_end"].iloc[0] == day(730) and out["window_start"].iloc[0] == day(366)


@pytest.mark.parametrize("as_text", [False, True])
def test_one_patient_rows_are_the_cohorts_rows(as_text):
    """One patient's tables (the clinic screen, whose identifiers skip the hash tables) give
    that patient's rows of the cohort's result, with number and text identifiers."""
    from neda.demo import demo_registry
    from neda.io import read_tables
    from neda.rules.relapses import relapse_hygiene

    reg = demo_registry(30, seed=5)
    if as_text:
        for k in ("visits", "relapses", "mri"):
            reg[k] = reg[k].assign(id="p" + reg[k]["id"].astype(str))
    t = read_tables(visits=reg["visits"], relapses=reg["relapses"], mri=reg["mri"])
    hyg = relapse_hygiene(t.relapses, visits=t.visits)
    cohort_l = lublin_descriptors(t.visits, hyg, t.mri)
    cohort_s = objective_spms(t.visits, hyg)
    subjects = list(dict.fromkeys(t.visits["subject"]))
    assert len(subjects) == 30
    for s in subjects[::4]:
        def own(frame, s=s):
            return frame[frame["subject"] == s]
        one_hyg = relapse_hygiene(own(t.relapses), visits=own(t.visits))
        for got, cohort in ((lublin_descriptors(own(t.visits), one_hyg, own(t.mri)), cohort_l),
                            (objective_spms(own(t.visits), one_hyg), cohort_s)):
            want = own(cohort).reset_index(drop=True)
            if "mri_activity" in got:  # (True / False / <NA> objects; flags without a <NA>)
                got, want = (f.assign(mri_activity=f["mri_activity"].astype(object))
                             for f in (got, want))
            pd.testing.assert_frame_equal(got, want, check_exact=True)
