"""NEDA-3/4, MEDA and the MAGNIMS score (clinical spec 4.0-4.5, 9, 2.7.2).

Day numbers below are days after the epoch start S = 2020-01-01 (``day(n)``). Per-year window
k is [S + 365(k-1), S + 365k); its MRI window is shifted by the 30-day grace period.
"""

from __future__ import annotations

import importlib
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neda.rules._windows import ScanWindows
from neda.rules.common import tri_all
from neda.rules.neda import (
    MAGNIMS_COLUMNS,
    MEDA_COLUMNS,
    NEDA_COLUMNS,
    PROPORTION_COLUMNS,
    NedaOptions,
    _tri_all_columns,
    cohort_neda_proportion,
    magnims_score,
    meda_status,
    mri_rebaseline_scan,
    neda_status,
)
from neda.rules.relapses import RelapseOptions, relapse_hygiene

D0 = pd.Timestamp("2020-01-01")


def day(n: float) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=int(n))


def epochs(*rows: tuple) -> pd.DataFrame:
    """rows: (subject, start_day, end_day or None[, epoch])."""
    return pd.DataFrame({
        "subject": [r[0] for r in rows],
        "epoch": [r[3] if len(r) > 3 else 1 for r in rows],
        "drug": "interferon beta-1a",
        "start": [day(r[1]) for r in rows],
        "end": [pd.NaT if r[2] is None else day(r[2]) for r in rows],
    })


def visits(days=None, edss=2.0, subject=1) -> pd.DataFrame:
    """Default: EDSS every 91 days from day -10 to day 1173 (relapse follow-up covers years
    1-3 and an EDSS lies within 91 days of every window end)."""
    days = list(range(-10, 1201, 91)) if days is None else list(days)
    vals = list(edss) if isinstance(edss, list | tuple) else [edss] * len(days)
    return pd.DataFrame({"subject": subject, "date": [day(d) for d in days], "edss": vals})


def scan(d, comp, gd=0, new=0, enl=0, contrast=True, pbvc=np.nan, subject=1, **extra):
    row = {"subject": subject, "date": day(d),
           "comparator_date": pd.NaT if comp is None else day(comp), "contrast": contrast,
           "gd": gd if contrast else np.nan, "new_t2": new, "enlarging_t2": enl, "pbvc": pbvc}
    row.update(extra)
    return row


def standard_scans(subject=1, changes=None) -> list[dict]:
    """Pre-treatment (-30), re-baseline (183), year 1 (365), year 2 (730), year 3 (1095):
    contrast, no lesions; ``changes`` maps a scan day to field overrides."""
    plan = [(-30, None), (183, -30), (365, 183), (730, 365), (1095, 730)]
    rows = []
    for d, c in plan:
        kw = dict((changes or {}).get(d, {}))
        rows.append(scan(d, c, subject=subject, **kw))
    return rows


def mri(rows) -> pd.DataFrame:
    return pd.DataFrame(rows)


def no_relapses() -> pd.DataFrame:
    return pd.DataFrame({"subject": pd.Series([], dtype=int), "date": pd.Series([], dtype=str)})


def relapses(*rows) -> pd.DataFrame:
    """rows: (subject, day or partial-date string)."""
    return pd.DataFrame({"subject": [r[0] for r in rows],
                         "date": [day(r[1]).strftime("%Y-%m-%d") if isinstance(r[1], int)
                                  else r[1] for r in rows]})


def status(vis=None, rel=None, scans=None, ep=None, asc=None, **opts) -> pd.DataFrame:
    return neda_status(visits() if vis is None else vis,
                       no_relapses() if rel is None else rel,
                       mri(standard_scans()) if scans is None else scans,
                       epochs((1, 0, None)) if ep is None else ep, asc,
                       NedaOptions(**opts) if opts else None)


def row(st_: pd.DataFrame, k: int = 1, wtype: str = "per_year", subject=1, epoch=1) -> pd.Series:
    r = st_[(st_["window"] == k) & (st_["window_type"] == wtype) & (st_["subject"] == subject)
            & (st_["epoch"] == epoch)]
    assert len(r) == 1, r
    return r.iloc[0]


def val(x):
    return None if x is pd.NA else bool(x)


# ---------------------------------------------------------------------------------------------
# output contract, options, provenance


def test_columns_defaults_and_provenance():
    st_ = status()
    assert list(st_.columns) == list(NEDA_COLUMNS)
    assert (st_["rule_set"] == "spec_defaults").all()
    prov = st_.attrs["provenance"]
    assert prov["options"]["mri_grace_days"] == 30
    assert prov["course_options"]["baseline"] == "fixed"
    assert prov["course_options"]["event"] == "firstCDW"
    assert prov["course_options"]["conf_days"] == [84]
    for c in ("relapse", "disability", "mri", "bvl", "neda3", "neda4"):
        assert str(st_[c].dtype) == "boolean"
    r1 = row(st_)
    assert r1["window_start"] == day(0) and r1["window_end"] == day(365)
    assert r1["mri_window_start"] == day(30) and r1["mri_window_end"] == day(395)
    assert r1["rebaseline_scan_date"] == day(183)
    assert val(r1["neda3"]) is True and r1["neda3_reason"] is None
    assert NedaOptions(mri_grace_days=0).rule_set == "custom"
    with pytest.raises(ValueError, match="clinical_from"):
        NedaOptions(clinical_from="never").validated()


def test_defaults_match_spec_section_10():
    o = NedaOptions()
    assert (o.window_days, o.mri_grace_days, o.clinical_from, o.mri_from) == (
        365, 30, "epoch_start", "rebaseline_scan")
    assert (o.mri_rebaseline_target_days, o.mri_rebaseline_min_days,
            o.mri_rebaseline_max_days) == (183, 91, 274)
    assert o.mri_requires_gd and o.count_spinal_cord
    assert (o.edss_thresholds, o.cdw_confirm_days, o.per_window_reference) == (
        "three_strata", 84, "window_start")
    assert (o.edss_reference_lookback_days, o.edss_reference_lookahead_days,
            o.edss_end_window_days) == (183, 91, 91)
    assert (o.bvl_activity_threshold_pct, o.bvl_boundary, o.bvl_min_interval_days) == (
        0.4, "activity_at_threshold", 168)
    assert o.meda_include_zero_new_t2 is False
    w = o.scan_windows
    assert w == ScanWindows()
    assert (w.baseline_scan_min_days, w.baseline_scan_max_days) == (-183, 30)
    assert (w.year1_scan_target_days, w.year1_scan_min_days, w.year1_scan_max_days) == (
        365, 274, 457)
    assert (w.year2_scan_target_days, w.year2_scan_min_days, w.year2_scan_max_days) == (
        730, 639, 822)
    assert (o.magnims_new_t2_cutoff, o.magnims_count) == (3, "new_only")


# ---------------------------------------------------------------------------------------------
# tri-state logic (spec 0.2, 4.1, 4.4)


def test_tri_all_lookup_matches_tri_all_for_every_combination():
    codes = (False, None, True)
    combos = list(itertools.product(codes, repeat=4))
    cols = []
    for i in range(4):
        vals = [c[i] for c in combos]
        cols.append((f"c{i}", pd.array(vals, dtype="boolean")))
    res, why = _tri_all_columns(cols)
    for j, combo in enumerate(combos):
        expect = tri_all(combo)
        got = None if res[j] is pd.NA else bool(res[j])
        assert got is expect
        if expect is False:
            assert why[j].startswith("activity: ")
        elif expect is None:
            assert why[j].startswith("unknown: ")
        else:
            assert why[j] is None


def test_any_false_gives_false_even_with_missing_mri():
    # relapse in year 1, no MRI at all: NEDA-3 False (not unknown)
    st_ = status(rel=relapses((1, 100)), scans=mri([]))
    r = row(st_)
    assert val(r["relapse"]) is False and r["relapse_reason"] == "relapse on 2020-04-10"
    assert val(r["mri"]) is None and "no MRI re-baseline" in r["mri_reason"]
    assert val(r["neda3"]) is False and val(r["neda4"]) is False
    assert r["neda3_reason"] == "activity: relapse"


def test_missing_data_never_gives_true():
    st_ = status(vis=visits([-10]), scans=mri([]))
    for _, r in st_.iterrows():
        assert val(r["neda3"]) is None and val(r["neda4"]) is None
        assert val(r["relapse"]) is None
        if r["window_type"] == "per_year":
            assert "does not cover the window" in r["relapse_reason"]
        else:  # the cumulative window ends at the last contact, before the start: empty
            assert r["window_end"] == r["window_start"] == day(0)
            assert r["relapse_reason"] == ("no clinical window (relapses count from 2020-01-01; "
                                           "the last clinical contact is on 2019-12-22)")
        assert val(r["disability"]) is None


# ---------------------------------------------------------------------------------------------
# MRI re-baseline scan (spec 4.1): days 90/91 and 274/275, ties


@pytest.mark.parametrize("d, chosen", [(90, None), (91, 91), (274, 274), (275, None)])
def test_rebaseline_scan_window_boundaries(d, chosen):
    m = mri([scan(-30, None), scan(d, -30)])
    rb = mri_rebaseline_scan(m, epochs((1, 0, None)))
    got = rb.loc[0, "rebaseline_scan_date"]
    if chosen is None:
        assert pd.isna(got)
    else:
        assert got == day(chosen) and rb.loc[0, "days_after_start"] == chosen


def test_rebaseline_scan_closest_to_day_183_tie_earlier():
    m = mri([scan(-30, None), scan(100, -30), scan(173, 100), scan(193, 173), scan(270, 193)])
    assert mri_rebaseline_scan(m, epochs((1, 0, None))).loc[0, "rebaseline_scan_date"] == day(173)


def test_no_rebaseline_scan_year1_and_cumulative_unknown_later_years_count():
    # no scan in days 91-274; the year-2 scan is compared with a scan on day 300 (>= 274)
    m = mri([scan(-30, None), scan(300, -30), scan(730, 300), scan(1095, 730)])
    st_ = status(scans=m)
    for k in (1, 2, 3):
        r = row(st_, k, "cumulative")
        assert val(r["mri"]) is None
        # the year that leaves the cumulative window unknown is named once it spans years
        assert r["mri_reason"] == ("year 1: " if k > 1 else "") + (
            "no scan in days 91-274 after start: no MRI re-baseline")
    assert val(row(st_, 1)["mri"]) is None
    assert val(row(st_, 2)["mri"]) is True
    # activity in a later window is still activity, also cumulatively
    m2 = mri([scan(-30, None), scan(300, -30), scan(730, 300, new=1), scan(1095, 730)])
    st2 = status(scans=m2)
    assert val(row(st2, 2)["mri"]) is False
    assert val(row(st2, 2, "cumulative")["mri"]) is False


# ---------------------------------------------------------------------------------------------
# MRI component (spec 4.1, 9)


@pytest.mark.parametrize("d, year", [(394, 1), (395, 2)])
def test_mri_grace_day_29_vs_30(d, year):
    # a late "12-month" scan: up to 29 days after the window end it still belongs to year 1
    m = mri([scan(-30, None), scan(183, -30), scan(d, 183, new=1), scan(730, d),
             scan(1095, 730)])
    st_ = status(scans=m)
    assert val(row(st_, year)["mri"]) is False
    assert row(st_, year)["mri_reason"] == f"MRI activity on {day(d).date()}: 1 new/enlarging T2"
    other = 2 if year == 1 else 1
    assert val(row(st_, other)["mri"]) is not False


def test_new_lesions_on_rebaseline_scan_are_not_counted():
    st_ = status(scans=mri(standard_scans(changes={183: {"new": 4, "gd": 2}})))
    assert val(row(st_)["mri"]) is True


def test_scan_without_contrast():
    # a new T2 lesion shows activity even without contrast
    st_ = status(scans=mri(standard_scans(changes={365: {"contrast": False, "new": 1}})))
    assert val(row(st_)["mri"]) is False
    # no lesion, no contrast: unknown (Gd part missing) ...
    st2 = status(scans=mri(standard_scans(changes={365: {"contrast": False}})))
    r = row(st2)
    assert val(r["mri"]) is None and r["mri_reason"] == "scan on 2020-12-31 without contrast " \
                                                       "(Gd count unknown)"
    # ... unless the option lets T2-only scans give True
    st3 = status(scans=mri(standard_scans(changes={365: {"contrast": False}})),
                 mri_requires_gd=False)
    assert val(row(st3)["mri"]) is True
    # missing T2 counts never give True, even with contrast
    st4 = status(scans=mri(standard_scans(changes={365: {"new": np.nan}})))
    assert val(row(st4)["mri"]) is None
    assert "new/enlarging T2 count missing" in row(st4)["mri_reason"]


def test_comparator_before_rebaseline_scan():
    # the year-1 scan was compared with the pre-treatment scan: its new T2 lesions may predate
    # the re-baseline scan, so they neither show activity nor absence of it
    m = mri([scan(-30, None), scan(183, -30), scan(365, -30, new=2), scan(730, 365),
             scan(1095, 730)])
    r = row(status(scans=m))
    assert val(r["mri"]) is None
    assert "compared with a scan of 2019-12-02, before the re-baseline scan" in r["mri_reason"]
    # compared with the re-baseline scan itself: counted
    m2 = mri([scan(-30, None), scan(183, -30), scan(365, 183, new=2), scan(730, 365),
              scan(1095, 730)])
    assert val(row(status(scans=m2))["mri"]) is False
    # a Gd-enhancing lesion after the re-baseline scan is activity whatever the comparator
    m3 = mri([scan(-30, None), scan(183, -30), scan(365, -30, gd=1), scan(730, 365)])
    assert val(row(status(scans=m3))["mri"]) is False


def test_mri_from_epoch_start_counts_pretreatment_comparator():
    m = mri([scan(-30, None), scan(365, -30, new=2), scan(730, 365)])
    st_ = status(scans=m, mri_from="epoch_start")
    assert val(row(st_)["mri"]) is False
    assert val(row(st_, 2)["mri"]) is True


def test_spinal_cord_option():
    rows = standard_scans(changes={365: {"new": 1, "spinal_cord": True, "new_t2_brain": 0,
                                   "enlarging_t2_brain": 0, "gd_brain": 0}})
    assert val(row(status(scans=mri(rows)))["mri"]) is False
    assert val(row(status(scans=mri(rows), count_spinal_cord=False))["mri"]) is True
    # without brain-only counts a cord-covering scan gives unknown counts
    rows2 = standard_scans(changes={365: {"new": 1, "spinal_cord": True}})
    assert val(row(status(scans=mri(rows2), count_spinal_cord=False))["mri"]) is None


# ---------------------------------------------------------------------------------------------
# relapse component (spec 4.1, 3.1, 2.7.2)


def test_relapse_in_window_boundaries():
    st_ = status(rel=relapses((1, 364)))
    assert val(row(st_, 1)["relapse"]) is False and val(row(st_, 2)["relapse"]) is True
    st2 = status(rel=relapses((1, 365)))
    assert val(row(st2, 1)["relapse"]) is True and val(row(st2, 2)["relapse"]) is False


def test_pseudo_relapse_ignored():
    rel = relapses((1, 100)).assign(pseudo=[True])
    assert val(row(status(rel=rel))["relapse"]) is True


def test_relapse_followup_not_covering_window():
    # last clinical contact on day 364 < window end 365: relapse component unknown
    vis = visits([-10, 100, 200, 300, 364])
    r = row(status(vis=vis))
    assert val(r["relapse"]) is None
    assert r["relapse_reason"] == ("relapse follow-up 2019-12-22 to 2020-12-30 does not cover "
                                   "the window")
    # first contact after the window start
    r2 = row(status(vis=visits(range(5, 1101, 91))))
    assert val(r2["relapse"]) is None
    # an ascertainment table that covers the window
    asc = pd.DataFrame({"subject": [1], "start": [day(-400)], "end": [day(365)]})
    assert val(row(status(vis=vis, asc=asc))["relapse"]) is True


def test_imprecise_relapse_partly_in_window():
    # S = 2020-01-01: year 1 = [2020-01-01, 2020-12-31); "2020-12" straddles its end
    st_ = status(rel=relapses((1, "2020-12")))
    for k in (1, 2):
        r = row(st_, k)
        assert val(r["relapse"]) is None
        assert r["relapse_reason"] == "relapse onset 2020-12 (imprecise) lies partly in the window"
    assert val(row(st_, 2, "cumulative")["relapse"]) is False  # inside [S, S + 730)
    # wholly inside: counted
    assert val(row(status(rel=relapses((1, "2020-06"))))["relapse"]) is False
    # a day-precise relapse in the window already shows activity
    assert val(row(status(rel=relapses((1, "2020-12"), (1, 50))))["relapse"]) is False


def test_clinical_from_rebaseline_skips_early_relapse():
    st_ = status(rel=relapses((1, 100)), clinical_from="rebaseline")
    r = row(st_)
    assert r["clinical_start"] == day(183)
    assert val(r["relapse"]) is True
    assert val(row(status(rel=relapses((1, 100))))["relapse"]) is False


# ---------------------------------------------------------------------------------------------
# disability component (spec 4.1): fixed-reference engine run


def test_confirmed_worsening_in_window():
    vis = visits([-10, 100, 200, 290, 380, 470, 560, 650, 740, 830],
                 [2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0])
    st_ = status(vis=vis)
    r = row(st_)
    assert val(r["disability"]) is False
    assert r["cdw_onset_date"] == day(200)
    assert r["disability_reason"] == ("confirmed disability worsening: EDSS 2.0 to 3.0, onset "
                                      "2020-07-19, confirmed 2020-10-17")
    assert r["edss_reference_date"] == day(-10)
    # year 2 takes a new reference at its start (day 290 visit): no new worsening
    r2 = row(st_, 2)
    assert r2["edss_reference_date"] == day(290) and val(r2["disability"]) is True
    # cumulative windows keep the day-0 reference: lost for good
    assert val(row(st_, 2, "cumulative")["disability"]) is False
    # per_window_reference = epoch_start: year 2 is measured from the day-0 reference again
    st3 = status(vis=vis, per_window_reference="epoch_start")
    assert val(row(st3, 2)["disability"]) is False


def test_worsening_not_yet_confirmed_is_unknown():
    vis = visits([-10, 100, 200, 300], [2.0, 2.0, 2.0, 3.5])
    r = row(status(vis=vis))
    assert val(r["disability"]) is None
    assert "worsening from 2020-10-27 (EDSS 2.0 to 3.5) not yet confirmed" in \
        r["disability_reason"]


@pytest.mark.parametrize("last, known", [(274, True), (273, False), (456, True), (457, False)])
def test_edss_within_91_days_of_window_end(last, known):
    vis = visits([-10, 100, 200, last] if last < 365 else [-10, 100, 200, last])
    asc = pd.DataFrame({"subject": [1], "start": [day(-10)], "end": [day(1200)]})
    r = row(status(vis=vis, asc=asc))
    if known:
        assert val(r["disability"]) is True
    else:
        assert val(r["disability"]) is None
        assert r["disability_reason"] == "no EDSS within 91 days of the window end"


@pytest.mark.parametrize("first, found", [(91, True), (92, False)])
def test_edss_reference_lookahead(first, found):
    vis = visits([first, 200, 290, 380, 470])
    r = row(status(vis=vis))
    if found:
        assert r["edss_reference_date"] == day(first)
    else:
        assert pd.isna(r["edss_reference_date"])
        assert "no EDSS reference" in r["disability_reason"]
        assert val(r["disability"]) is None


def test_reference_not_within_30_days_after_relapse():
    # day -10 is within 30 days after a relapse on day -20: the reference is day -150
    vis = visits([-150, -10, 100, 200, 290, 380, 470])
    r = row(status(vis=vis, rel=relapses((1, -20))))
    assert r["edss_reference_date"] == day(-150)
    r2 = row(status(vis=vis, rel=relapses((1, -39))))   # 29 days after: still ineligible
    assert r2["edss_reference_date"] == day(-150)
    r3 = row(status(vis=vis, rel=relapses((1, -40))))   # 30 days after: eligible
    assert r3["edss_reference_date"] == day(-10)


def test_havrdova_thresholds():
    vis = visits([-10, 100, 200, 290, 380, 470], [6.0, 6.0, 6.5, 6.5, 6.5, 6.5])
    assert val(row(status(vis=vis))["disability"]) is False            # +0.5 from 6.0
    assert val(row(status(vis=vis, edss_thresholds="havrdova2009"))["disability"]) is True


# ---------------------------------------------------------------------------------------------
# brain volume (spec 4.2)


def _bvl_scans(pbvc_by_day: dict, comp_by_day: dict | None = None,
               extra: dict | None = None) -> pd.DataFrame:
    comp = {183: -30, 365: 183, 730: 365, 1095: 730, **(comp_by_day or {})}
    rows = [scan(-30, None)]
    for d in (183, 365, 730, 1095):
        rows.append(scan(d, comp[d], pbvc=pbvc_by_day.get(d, np.nan),
                         **(extra or {}).get(d, {})))
    return mri(rows)


@pytest.mark.parametrize("boundary, loss, active", [
    ("activity_at_threshold", 0.4, True), ("neda_at_threshold", 0.4, False),
    ("activity_at_threshold", 0.399, False), ("neda_at_threshold", 0.401, True),
])
def test_bvl_threshold_boundary(boundary, loss, active):
    dt = 730 - 365
    st_ = status(scans=_bvl_scans({730: -loss * dt / 365.25}), bvl_boundary=boundary)
    r = row(st_, 2)
    assert r["bvl_loss_pct_per_year"] == pytest.approx(loss)
    assert val(r["bvl"]) is (not active)
    if active:
        assert r["bvl_reason"].startswith(f"annualised brain volume loss {loss:.2f} %/year")


def test_bvl_straddling_pair_and_rebaseline():
    # pair (183 -> 425): the later scan is in year 2's MRI window, the earlier in year 1
    m = mri([scan(-30, None), scan(183, -30), scan(425, 183, pbvc=-0.5), scan(800, 425)])
    st_ = status(scans=m)
    assert val(row(st_, 2)["bvl"]) is False and row(st_, 2)["bvl_pairs"] == 1
    assert val(row(st_, 1)["bvl"]) is None
    # a pair whose earlier scan precedes the re-baseline scan is excluded (pseudo-atrophy)
    m2 = mri([scan(-30, None), scan(183, -30), scan(425, -30, pbvc=-0.5), scan(800, 425)])
    assert val(row(status(scans=m2), 2)["bvl"]) is None
    # a protocol change excludes the pair
    m3 = _bvl_scans({730: -0.1}, extra={730: {"same_protocol": False}})
    assert val(row(status(scans=m3), 2)["bvl"]) is None


@pytest.mark.parametrize("dt, known", [(167, False), (168, True)])
def test_bvl_minimum_interval(dt, known):
    m = mri([scan(-30, None), scan(183, -30), scan(183 + dt, 183, pbvc=-0.1), scan(800, 183 + dt)])
    r = row(status(scans=m))
    assert (val(r["bvl"]) is True) is known
    if not known:
        assert "at least 168 days apart" in r["bvl_reason"]


def test_bvl_pooled_annualisation_and_cumulative_lost_for_good():
    # year 2 loses 0.6 %/yr; year 3 gains: pooled cumulative rate falls below 0.4 but the
    # cumulative status stays lost
    m = _bvl_scans({365: -0.1, 730: -0.6 * 365 / 365.25, 1095: 0.5})
    st_ = status(scans=m)
    assert val(row(st_, 2)["bvl"]) is False and val(row(st_, 3)["bvl"]) is True
    c2, c3 = row(st_, 2, "cumulative"), row(st_, 3, "cumulative")
    assert val(c2["bvl"]) is False
    assert c3["bvl_loss_pct_per_year"] < 0.4
    # lost for good: the year that lost it decides every later cumulative window
    assert val(c3["bvl"]) is False
    assert c3["bvl_reason"] == "year 2: annualised brain volume loss 0.60 %/year (>= 0.4)"
    expect = -(-0.1 - 0.6 * 365 / 365.25) / ((182 + 365) / 365.25)
    assert c2["bvl_loss_pct_per_year"] == pytest.approx(expect)


# ---------------------------------------------------------------------------------------------
# windows: per-year vs cumulative, epochs


def test_per_year_vs_cumulative():
    st_ = status(scans=mri(standard_scans(changes={365: {"new": 1}})))
    assert [val(row(st_, k)["neda3"]) for k in (1, 2, 3)] == [False, True, True]
    assert [val(row(st_, k, "cumulative")["neda3"]) for k in (1, 2, 3)] == [False] * 3
    assert row(st_, 3, "cumulative")["window_start"] == day(0)
    assert row(st_, 3, "cumulative")["window_end"] == day(1095)


def test_epoch_end_cuts_the_window():
    ep = epochs((1, 0, 499, 1), (1, 500, None, 2))
    st_ = status(ep=ep)
    r = row(st_, 2)
    assert r["window_end"] == day(500) and bool(r["partial_window"])
    assert r["mri_window_end"] == day(530)
    assert not bool(row(st_, 1)["partial_window"])
    assert st_[st_["epoch"] == 1]["window"].max() == 2
    assert row(st_, 1, epoch=2)["window_start"] == day(500)


# ---------------------------------------------------------------------------------------------
# cumulative windows (rules 4.4): every year covered, never past the data


def test_cumulative_mri_needs_a_counted_scan_in_every_year():
    # scans only in year 1: the per-year MRI components of years 2-4 are unknown, and so are
    # the cumulative ones from year 2 on (missing data never yields "no activity")
    st_ = status(scans=mri([scan(-30, None), scan(183, -30), scan(365, 183)]))
    assert [val(row(st_, k)["mri"]) for k in (1, 2, 3, 4)] == [True, None, None, None]
    assert [val(row(st_, k, "cumulative")["mri"]) for k in (1, 2, 3, 4)] == [
        True, None, None, None]
    assert [val(row(st_, k, "cumulative")["neda3"]) for k in (1, 2, 3, 4)] == [
        True, None, None, None]
    assert row(st_, 2, "cumulative")["mri_reason"].startswith(
        "year 2: no counted scan in the MRI window")
    assert row(st_, 3, "cumulative")["n_scans_counted"] == 1


def test_cumulative_window_ends_at_the_last_contact():
    # visits to day 1173: year 4 runs to day 1460, but "since the start" ends at day 1173
    st_ = status()
    y4, c4 = row(st_, 4), row(st_, 4, "cumulative")
    assert y4["window_end"] == day(1460)
    assert c4["window_start"] == day(0) and c4["window_end"] == day(1173)
    assert bool(c4["partial_window"]) and c4["mri_window_end"] == day(1203)
    assert not bool(row(st_, 3, "cumulative")["partial_window"])
    # the year in progress is unknown; the data up to the last contact are complete
    assert val(y4["relapse"]) is None and val(c4["relapse"]) is True
    assert val(c4["disability"]) is True
    assert (st_["window_end"][st_["window_type"] == "cumulative"] <= day(1173)).all()


def test_cumulative_unknown_when_a_year_is_not_covered():
    # no EDSS within 91 days of the end of year 2 (day 730): year 2 is unknown, and so is
    # every cumulative window that contains it, although the window ends are covered
    vis = visits([-10, 100, 200, 290, 380, 470, 560, 840, 930, 1020, 1110])
    st_ = status(vis=vis)
    assert [val(row(st_, k)["disability"]) for k in (1, 2, 3)] == [True, None, True]
    assert [val(row(st_, k, "cumulative")["disability"]) for k in (1, 2, 3)] == [
        True, None, None]
    assert row(st_, 3, "cumulative")["disability_reason"] == (
        "year 2: no EDSS within 91 days of the window end")


def test_cumulative_false_when_one_year_is_false():
    # EDSS 3.0 at the start, 1.0 through year 1, 2.0 from day 470: against the year-2
    # reference (1.0) a confirmed worsening; against the start (3.0) none
    vis = visits([-10, 100, 200, 290, 380, 470, 560, 650, 740, 830, 920, 1010, 1100],
                 [3.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    st_ = status(vis=vis)
    assert [val(row(st_, k)["disability"]) for k in (1, 2, 3)] == [True, False, True]
    for k in (2, 3):
        c = row(st_, k, "cumulative")
        assert val(c["disability"]) is False and c["cdw_onset_date"] == day(470)
        assert c["disability_reason"] == ("year 2: confirmed disability worsening: EDSS 1.0 "
                                          "to 2.0, onset 2021-04-15, confirmed 2021-07-14")
        assert val(c["neda3"]) is False


# ---------------------------------------------------------------------------------------------
# relapses through relapse hygiene (rules 3.1); relapses not recorded (rules 0.3)


def test_relapses_not_recorded_are_unknown_never_no_relapse():
    st_ = neda_status(visits(), None, mri(standard_scans()), epochs((1, 0, None)))
    assert st_["relapse"].isna().all()
    assert (st_["relapse_reason"] == "relapses were not recorded").all()
    assert st_["n_relapses"].isna().all()
    assert st_["neda3"].isna().all() and row(st_)["neda3_reason"] == "unknown: relapse"
    assert st_.attrs["provenance"]["relapse_data"] == "not given"
    # other activity still decides
    st2 = neda_status(visits(), None, mri(standard_scans(changes={365: {"new": 1}})),
                      epochs((1, 0, None)))
    assert val(row(st2)["neda3"]) is False
    # an empty table means that none occurred
    assert val(row(status())["relapse"]) is True
    m = meda_status(visits(), None, _score_scans(0), epochs((1, 0, None)))
    r = m[m["year"] == 1].iloc[0]
    assert r["category"] == "unknown" and bool(r["relapses_uncertain"])
    assert pd.isna(r["n_relapses"]) and "relapses were not recorded" in r["reason"]
    g = magnims_score(visits(), None, _score_scans(3), epochs((1, 0, None))).iloc[0]
    assert g["magnims_level"] == "unknown" and g["reason"].startswith("relapses ?, new T2 3")
    two = magnims_score(visits(), relapses((1, 50), (1, 200)), _score_scans(0),
                        epochs((1, 0, None))).iloc[0]
    assert two["magnims_level"] == "high"


def test_relapses_are_read_through_relapse_hygiene():
    # attacks 20 days apart are one relapse (rules 3.1, McDonald 2001)
    rel = relapses((1, 100), (1, 120))
    r = row(status(rel=rel))
    assert r["n_relapses"] == 1 and r["relapse_reason"] == "relapse on 2020-04-10"
    # with relapse options, or a RelapseHygiene made beforehand
    st2 = neda_status(visits(), rel, mri(standard_scans()), epochs((1, 0, None)),
                      relapse_options=RelapseOptions(merge_days=0))
    assert row(st2)["relapse_reason"] == "2 relapses, first on 2020-04-10"
    assert st2.attrs["provenance"]["relapses"]["options"]["merge_days"] == 0
    hyg = relapse_hygiene(rel)
    st3 = neda_status(visits(), hyg, mri(standard_scans()), epochs((1, 0, None)))
    assert row(st3)["n_relapses"] == 1
    with pytest.raises(ValueError, match="relapse options differ"):
        neda_status(visits(), hyg, mri(standard_scans()), epochs((1, 0, None)),
                    relapse_options=RelapseOptions(merge_days=0))


def test_pseudo_relapse_episode_leaves_out_assessments_to_its_end():
    # a fever on day 370, resolved on day 450: the EDSS of days 380 and 440 are not used, so
    # the worsening of day 290 has no confirmation yet
    vis = visits([-10, 100, 200, 290, 380, 440], [2.0, 2.0, 2.0, 3.5, 3.5, 3.5])
    assert val(row(status(vis=vis))["disability"]) is False
    rel = pd.DataFrame({"subject": [1], "date": [day(370).strftime("%Y-%m-%d")],
                        "resolved_date": [day(450)], "fever": [True]})
    r = row(status(vis=vis, rel=rel))
    assert val(r["relapse"]) is True
    assert val(r["disability"]) is None
    assert "worsening from 2020-10-17 (EDSS 2.0 to 3.5) not yet confirmed" in \
        r["disability_reason"]


def test_mri_contrast_no_means_gd_unknown():
    # contrast "no": the Gd count is unknown whatever the cell says (rules 0.3)
    no = standard_scans(changes={365: {"contrast": False}})
    no[2]["gd"] = 0
    r = row(status(scans=mri(no)))
    assert val(r["mri"]) is None and "without contrast" in r["mri_reason"]


def test_mri_blank_contrast_with_a_gd_count_means_contrast_given():
    # the one contrast rule (rules §0.3): blank + a recorded Gd count = contrast given
    blank = standard_scans()
    blank[2]["contrast"] = None  # the year-1 scan, Gd count 0 recorded
    assert val(row(status(scans=mri(blank)))["mri"]) is True
    blank[2]["gd"] = np.nan  # blank and no count: unknown, never "no activity"
    assert val(row(status(scans=mri(blank)))["mri"]) is None


# ---------------------------------------------------------------------------------------------
# shared scan windows (rules 4.5, 10)


def test_scan_windows_are_one_option_shared_with_the_scores():
    with pytest.raises(ValueError, match="year1_scan_min_days <= year1_scan_target_days"):
        NedaOptions(scan_windows=ScanWindows(year1_scan_min_days=500))
    with pytest.raises(ValueError, match="baseline_scan_min_days must not exceed"):
        ScanWindows(baseline_scan_min_days=40)
    with pytest.raises(ValueError, match="year2_scan_max_days .* must be a whole number"):
        ScanWindows(year2_scan_max_days=822.5)  # type: ignore[arg-type]
    early = NedaOptions(scan_windows=ScanWindows(year1_scan_min_days=183))
    assert early.rule_set == "custom"
    assert early.validated() is early
    m = mri([scan(-30, None), scan(200, -30, new=1)])
    default = meda_status(visits(), no_relapses(), m, epochs((1, 0, None)), years=(1,))
    assert pd.isna(default.iloc[0]["followup_scan_date"])
    hyun = meda_status(visits(), no_relapses(), m, epochs((1, 0, None)), years=(1,),
                       options=early)
    assert hyun.iloc[0]["followup_scan_date"] == day(200)
    assert hyun.iloc[0]["category"] == "MEDA"
    assert hyun.attrs["provenance"]["options"]["scan_windows"]["year1_scan_min_days"] == 183


# ---------------------------------------------------------------------------------------------
# cohort proportion (spec 4.4)


def test_cohort_proportion_reports_not_assessable():
    vis = pd.concat([visits(subject=s) for s in (1, 2, 3)] + [visits([-10], subject=4)])
    rel = relapses((2, 100))
    scans = mri(standard_scans(1) + standard_scans(2) + standard_scans(3, changes={365: {"gd": 1}})
                + standard_scans(4))
    ep = epochs(*[(s, 0, None) for s in (1, 2, 3, 4)])
    st_ = neda_status(vis, rel, scans, ep)
    p = cohort_neda_proportion(st_)
    assert list(p.columns) == ["epoch", "window_type", "window", *PROPORTION_COLUMNS]
    y1 = p[(p["window_type"] == "per_year") & (p["window"] == 1) & (p["measure"] == "neda3")]
    y1 = y1.iloc[0]
    assert (y1["n_patients"], y1["n_assessable"], y1["n_neda"], y1["n_not_assessable"]) == (
        4, 3, 1, 1)
    assert y1["proportion"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="several rows"):
        cohort_neda_proportion(st_, by="window")


# ---------------------------------------------------------------------------------------------
# MEDA and MAGNIMS score (spec 4.5)


def _score_scans(new=0, gd=0, contrast=True, y2_new=0, y2_gd=0, enl=0):
    return mri([scan(-30, None), scan(183, -30, new=0),
                scan(365, 183, new=new, gd=gd, contrast=contrast, enl=enl),
                scan(730, 365, new=y2_new, gd=y2_gd)])


@pytest.mark.parametrize("new, gd, rel_days, expected", [
    (0, 0, [], "no_evident_activity"),
    (1, 0, [], "MEDA"),
    (2, 0, [], "MEDA"),
    (3, 0, [], "evident_activity"),
    (1, 1, [], "evident_activity"),
    (1, 0, [200], "evident_activity"),
    (1, None, [], "unknown"),
])
def test_meda_categories(new, gd, rel_days, expected):
    contrast = gd is not None
    rel = relapses(*[(1, d) for d in rel_days]) if rel_days else no_relapses()
    m = meda_status(visits(), rel, _score_scans(new, gd or 0, contrast), epochs((1, 0, None)))
    assert list(m.columns) == list(MEDA_COLUMNS)
    r = m[m["year"] == 1].iloc[0]
    assert r["category"] == expected
    assert r["reference_scan_date"] == day(-30) and r["followup_scan_date"] == day(365)
    assert r["new_t2"] == new  # summed over the chain -30 -> 183 -> 365


def test_meda_zero_new_t2_option_and_year2():
    m = meda_status(visits(), no_relapses(), _score_scans(0, 0, y2_new=2), epochs((1, 0, None)),
                    options=NedaOptions(meda_include_zero_new_t2=True))
    assert m[m["year"] == 1].iloc[0]["category"] == "MEDA"
    y2 = m[m["year"] == 2].iloc[0]
    assert y2["reference_scan_date"] == day(365) and y2["category"] == "MEDA"


def test_meda_unknown_without_followup_scan_or_coverage():
    m = meda_status(visits(), no_relapses(), mri([scan(-30, None), scan(183, -30)]),
                    epochs((1, 0, None)))
    r = m[m["year"] == 1].iloc[0]
    assert r["category"] == "unknown" and "no year-1 scan" in r["reason"]
    m2 = meda_status(visits([-10, 100]), no_relapses(), _score_scans(1), epochs((1, 0, None)))
    r2 = m2[m2["year"] == 1].iloc[0]
    assert r2["category"] == "unknown" and "does not cover" in r2["reason"]


@pytest.mark.parametrize("n_rel, new, level, score", [
    (0, 0, "low", 0), (0, 2, "low", 0), (0, 3, "medium", 1), (1, 2, "medium", 1),
    (1, 3, "high", 2), (2, 0, "high", 2),
])
def test_magnims_levels(n_rel, new, level, score):
    rel = relapses(*[(1, 50 + 100 * i) for i in range(n_rel)]) if n_rel else no_relapses()
    g = magnims_score(visits(), rel, _score_scans(new), epochs((1, 0, None)))
    assert list(g.columns) == list(MAGNIMS_COLUMNS)
    r = g.iloc[0]
    assert (r["magnims_level"], r["magnims_score"]) == (level, score)


def test_magnims_partial_information():
    m = mri([scan(-30, None)])  # no year-1 scan
    two = relapses((1, 50), (1, 200))
    assert magnims_score(visits(), two, m, epochs((1, 0, None))).iloc[0]["magnims_level"] == \
        "high"
    g = magnims_score(visits(), no_relapses(), m, epochs((1, 0, None))).iloc[0]
    assert g["magnims_level"] == "unknown" and pd.isna(g["magnims_score"])
    # enlarging lesions count only with the new_or_enlarging variant
    m2 = _score_scans(new=1, enl=2)
    assert magnims_score(visits(), no_relapses(), m2, epochs((1, 0, None))).iloc[0][
        "magnims_level"] == "low"
    assert magnims_score(visits(), no_relapses(), m2, epochs((1, 0, None)),
                         options=NedaOptions(magnims_count="new_or_enlarging")).iloc[0][
        "magnims_level"] == "medium"


# ---------------------------------------------------------------------------------------------
# property: adding evidence of activity never turns False into True (nor unknown into True)

_ORDER = {False: 0, None: 1, True: 2}


def _random_cohort(seed: int, n: int = 6, flat_edss: bool = False):
    rng = np.random.default_rng(seed)
    vis, scans, rel, eps = [], [], [], []
    for s in range(1, n + 1):
        vdays = np.sort(rng.choice(np.arange(-150, 1000), size=rng.integers(2, 12),
                                   replace=False))
        edss = (np.full(len(vdays), 2.0) if flat_edss
                else rng.choice([1.0, 1.5, 2.0, 3.0, 3.5, 4.5], size=len(vdays)))
        vis.append(visits(vdays.tolist(), list(edss), subject=s))
        sdays = np.sort(rng.choice(np.arange(-100, 1000, 7), size=rng.integers(1, 7),
                                   replace=False))
        prev = None
        for d in sdays:
            contrast = bool(rng.random() < 0.7)
            scans.append(scan(int(d), prev, gd=int(rng.random() < 0.2), new=int(rng.random() < 0.3),
                              contrast=contrast, subject=s,
                              pbvc=float(rng.normal(-0.3, 0.3)) if prev is not None else np.nan))
            prev = int(d)
        for d in rng.choice(np.arange(-100, 1000), size=rng.integers(0, 3), replace=False):
            rel.append((s, int(d)))
        eps.append((s, 0, None))
    return (pd.concat(vis, ignore_index=True), relapses(*rel) if rel else no_relapses(),
            mri(scans), epochs(*eps))


def _compare(before: pd.DataFrame, after: pd.DataFrame, cols=("neda3", "neda4")):
    key = ["subject", "epoch", "window_type", "window"]
    m = before.merge(after, on=key, suffixes=("_b", "_a"))
    for c in cols:
        for b, a in zip(m[f"{c}_b"], m[f"{c}_a"], strict=True):
            assert _ORDER[val(a)] <= _ORDER[val(b)], (c, b, a)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), which=st.integers(0, 10_000), kind=st.sampled_from(
    ["new_t2", "gd", "pbvc"]))
def test_property_more_mri_activity_never_helps(seed, which, kind):
    vis, rel, scans, ep = _random_cohort(seed)
    before = neda_status(vis, rel, scans, ep)
    s2 = scans.copy()
    i = which % len(s2)
    if kind == "new_t2":
        s2.loc[i, "new_t2"] = s2.loc[i, "new_t2"] + 1
    elif kind == "gd":
        s2.loc[i, ["contrast", "gd"]] = [True, 1]
    else:
        s2.loc[i, "pbvc"] = (s2.loc[i, "pbvc"] if not math.isnan(s2.loc[i, "pbvc"]) else 0) - 1
    after = neda_status(vis, rel, s2, ep)
    _compare(before, after, cols=("mri", "bvl", "neda3", "neda4"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), subject=st.integers(1, 6), d=st.integers(-100, 1000))
def test_property_adding_a_relapse_never_helps(seed, subject, d):
    # flat EDSS: a relapse cannot remove a confirmed worsening (spec 2.3 relapse distances
    # can, legitimately, when EDSS varies - see docs/rules.md, NEDA)
    vis, rel, scans, ep = _random_cohort(seed, flat_edss=True)
    before = neda_status(vis, rel, scans, ep)
    rel2 = pd.concat([rel, relapses((subject, d))], ignore_index=True)
    after = neda_status(vis, rel2, scans, ep)
    _compare(before, after, cols=("relapse", "disability", "neda3", "neda4"))


# ---------------------------------------------------------------------------------------------
# cohort scale


@pytest.mark.parametrize("seed", range(8))
def test_fixed_reference_kernel_mode_matches_the_course_engine(seed):
    """The kernel's fixed-reference mode (all NEDA disability windows in one launch) gives
    the course engine's first confirmed worsening and unconfirmed worsening, subject by
    subject, with NEDA's engine options (rules 2.3, 2.6, 4.1)."""
    from neda.course import confirmed_events
    from neda.course._kernel import fixed_reference_runs, fixed_reference_runs_serial

    rng = np.random.default_rng(seed)
    copts = NedaOptions(edss_thresholds="havrdova2009" if seed % 2 else "three_strata"
                        ).course_options()
    rows, rel_rows = [], []
    for s_ in range(1, 41):
        days = np.sort(rng.choice(np.arange(0, 1500), size=int(rng.integers(1, 16)),
                                  replace=False))
        steps = rng.choice([-1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5], size=len(days))
        edss = np.clip(rng.choice([0.0, 1.0, 2.0, 3.5, 6.0]) + np.cumsum(steps), 0, 9.5)
        edss = np.where(edss == 0.5, 1.0, edss)
        rows += [(s_, day(d), e) for d, e in zip(days, edss, strict=True)]
        r = -60 + int(rng.integers(0, 90))
        for _ in range(int(rng.integers(0, 4))):
            rel_rows.append((s_, r))
            r += int(rng.integers(30, 400))
    vis = pd.DataFrame(rows, columns=["subject", "date", "edss"])
    rel = (relapses(*rel_rows) if rel_rows else no_relapses())
    res = confirmed_events(vis, rel, copts)
    ev = res.events.set_index("subject")
    un = res.unconfirmed.set_index("subject")
    # the kernel on the same visits: one run per subject, from its first visit
    dd = (vis["date"] - D0).dt.days.to_numpy(float)
    sid = vis["subject"].to_numpy()
    ra = np.array([r[1] for r in rel_rows], float)
    rs = np.array([r[0] for r in rel_rows])
    elig = np.array([not ((rs == s_) & (ra <= x) & (x <= ra + 29)).any()
                     for s_, x in zip(sid, dd, strict=True)])
    values = vis["edss"].to_numpy(float)
    first = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    end = np.r_[first[1:], len(sid)]
    args = (dd, values, copts.worsening_delta(values), copts.improvement_delta(values), elig,
            np.ones(len(values), bool), elig, first.astype(np.int64), first + 1,
            end.astype(np.int64), 84.0, math.inf, 1, 1e-9, True, True)
    on, conf, unc = fixed_reference_runs(*args)
    for a, b in zip((on, conf, unc), fixed_reference_runs_serial(*args), strict=True):
        assert (a == b).all()
    for i, s_ in enumerate(sid[first]):
        want_on = ev.loc[s_, "onset_date"] if s_ in ev.index else None
        got_on = day(dd[on[i]]) if on[i] >= 0 else None
        assert got_on == want_on, (seed, s_)
        if want_on is not None:
            assert day(dd[conf[i]]) == ev.loc[s_, "confirmation_date"]
        want_un = un.loc[s_, "onset_date"] if s_ in un.index else None
        got_un = day(dd[unc[i]]) if unc[i] >= 0 else None
        assert got_un == want_un, (seed, s_)
    assert (on >= 0).sum() >= 3 and (unc >= 0).sum() >= 1  # the cohort exercises both


def test_cohort_scale_smoke():
    from neda.demo import demo_cohort

    v, r = demo_cohort(2000, seed=5)
    v, r = v.rename(columns={"id": "subject"}), r.rename(columns={"id": "subject"})
    first = v.groupby("subject")["date"].min()
    ep = pd.DataFrame({"subject": first.index, "epoch": 1, "drug": "glatiramer acetate",
                       "start": first.to_numpy() + np.timedelta64(30, "D"), "end": pd.NaT})
    m = pd.DataFrame({"subject": np.repeat(first.index, 3),
                      "date": np.repeat(first.to_numpy(), 3)
                      + np.tile(np.array([0, 210, 400], "timedelta64[D]"), len(first))})
    m["comparator_date"] = m.groupby("subject")["date"].shift()
    m["contrast"], m["gd"], m["new_t2"] = True, 0, 0
    st_ = neda_status(v, r, m, ep)
    assert set(st_["subject"]) == set(first.index)
    assert (st_.groupby("subject")["window"].min() == 1).all()
    one = cohort_neda_proportion(st_)
    assert (one["n_assessable"] + one["n_not_assessable"] == one["n_patients"]).all()


# ---------------------------------------------------------------------------------------------
# differential test vs the peer msclinical 0.1.0 (docs/differences.md, NEDA)

msc = importlib.import_module("msclinical.neda.core")

#: our options set to msclinical's definitions where they can be: no MRI grace, no
#: re-baseline, loss of exactly 0.4 %/yr still NEDA, no minimum BVL interval, the year-1
#: reference for every window (msclinical runs one course per patient).
PEER_OPTIONS = NedaOptions(mri_grace_days=0, mri_from="epoch_start",
                           bvl_boundary="neda_at_threshold", bvl_min_interval_days=0,
                           per_window_reference="epoch_start", name="msclinical_parity")


def _peer_cohort(seed: int, n: int):
    """Data on which both definitions are meant to agree: starts between 2021-03-01 and
    2022-02-28 (12 calendar months = 365 days for years 1-2), EDSS every 91 days from the
    start and never decreasing, relapses 40-60 days before a visit (so no visit is within 30
    days after one), scans with contrast, complete counts, comparator = previous scan, no scan
    or relapse within 3 days of a window boundary."""
    rng = np.random.default_rng(seed)
    vis, rel, scans, starts = [], [], [], []
    base = pd.Timestamp("2021-03-01")
    for p in range(1, n + 1):
        s = base + pd.Timedelta(days=int(rng.integers(0, 364)))
        starts.append((p, s))
        vd = np.arange(0, 91 * 13, 91)
        steps = rng.choice([0.0, 0.0, 0.0, 0.5, 1.0, 1.5], size=len(vd))
        steps[0] = 0
        edss = np.minimum(rng.choice([0.0, 1.0, 2.0, 3.0, 5.5, 6.0]) + np.cumsum(steps), 9.5)
        edss = np.where(edss == 0.5, 1.0, edss)  # EDSS 0.5 does not exist (rules 1.1)
        for d, e in zip(vd, edss, strict=True):
            vis.append((p, s + pd.Timedelta(days=int(d)), float(e)))
        for j in rng.choice(np.arange(1, 12), size=rng.integers(0, 3), replace=False):
            d = 91 * int(j) - int(rng.integers(40, 61))
            if all(abs(d - b) > 3 for b in (0, 365, 730)):
                rel.append((p, s + pd.Timedelta(days=d)))
        sd = [-20] + sorted(int(x) for x in rng.choice(np.arange(10, 1000), size=4,
                                                       replace=False)
                            if all(abs(int(x) - b) > 3 for b in (0, 365, 730)))
        prev = None
        for d in sd:
            date = s + pd.Timedelta(days=d)
            scans.append({"patient": p, "date": date, "comparator_date": prev,
                          "new_t2": int(rng.random() < 0.15), "enlarging_t2": 0,
                          "gd": int(rng.random() < 0.1), "contrast": True,
                          "pbvc": float(rng.normal(-0.35, 0.25)) if prev is not None
                          else np.nan})
            prev = date
    visits_ = pd.DataFrame(vis, columns=["patient", "date", "edss"])
    rel_ = pd.DataFrame(rel, columns=["patient", "date"])
    scans_ = pd.DataFrame(scans)
    starts_ = pd.DataFrame(starts, columns=["patient", "date"])
    return visits_, rel_, scans_, starts_


def test_differential_vs_msclinical():
    vis, rel, scans, starts = _peer_cohort(7, 150)
    peer = msc.neda(vis, rel, scans.drop(columns=["comparator_date", "contrast"]), starts)
    ep = pd.DataFrame({"subject": starts["patient"], "epoch": 1, "drug": "x",
                       "start": starts["date"], "end": pd.NaT})
    ours = neda_status(vis.rename(columns={"patient": "subject"}),
                       rel.rename(columns={"patient": "subject"}).assign(
                           date=lambda f: f["date"].dt.strftime("%Y-%m-%d")),
                       scans.rename(columns={"patient": "subject"}), ep, options=PEER_OPTIONS)
    ours = ours[ours["window_type"] == "per_year"]
    m = peer[peer["window"] <= 2].merge(
        ours, left_on=["patient", "window"], right_on=["subject", "window"])
    assert len(m) == 300
    assert (pd.to_datetime(m["start"]) == m["window_start"]).all()
    assert (pd.to_datetime(m["end"]) == m["window_end"]).all()

    def tri(x):
        return None if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)) \
            else bool(x)

    # relapses: identical
    assert [tri(x) for x in m["relapse"]] == [r == 0 for r in m["relapses"]]
    # MRI: identical (complete counts, contrast, comparator = previous scan)
    assert [tri(x) for x in m["mri"]] == [tri(x) for x in m["no_mri_activity"]]
    # brain volume: same pooled annualised rate, same boundary (neda at exactly 0.4)
    both = m["pbvc_per_year"].notna() & m["bvl_loss_pct_per_year"].notna()
    assert both.sum() > 100
    assert np.allclose(-m.loc[both, "pbvc_per_year"], m.loc[both, "bvl_loss_pct_per_year"])
    # disability: identical in year 1, and in year 2 when year 1 had no worsening (msclinical
    # roves its reference after an event; ours keeps the year-1 reference, docs/differences)
    peer_y1_cdw = m[m["window"] == 1].set_index("patient")["cdw_events"] > 0
    same = (m["window"] == 1) | ~m["patient"].map(peer_y1_cdw)
    peer_dis = [not c > 0 for c in m.loc[same, "cdw_events"]]
    assert [tri(x) for x in m.loc[same, "disability"]] == peer_dis
    assert (m["cdw_events"] > 0).sum() > 20
    # composites follow
    for c in ("neda3", "neda4"):
        assert [tri(x) for x in m.loc[same, f"{c}_y"]] == [tri(x) for x in m.loc[same, f"{c}_x"]]


def test_documented_differences_vs_msclinical():
    """Each intended difference of docs/differences.md, NEDA, on one small patient."""
    s = pd.Timestamp("2021-03-01")
    vis = pd.DataFrame({"patient": 1, "date": [s + pd.Timedelta(days=d) for d in
                                               range(0, 1000, 91)], "edss": 2.0})
    starts = pd.DataFrame({"patient": [1], "date": [s]})
    ep = pd.DataFrame({"subject": [1], "epoch": 1, "drug": "x", "start": [s], "end": pd.NaT})
    no_rel = pd.DataFrame({"patient": pd.Series([], dtype=int), "date": pd.Series([], dtype=str)})

    def ours(scans, opts=None):
        out = neda_status(vis.rename(columns={"patient": "subject"}),
                          no_rel.rename(columns={"patient": "subject"}),
                          scans.rename(columns={"patient": "subject"}), ep, options=opts)
        return out[out["window_type"] == "per_year"].set_index("window")

    def scans(rows):
        return pd.DataFrame([{"patient": 1, "date": s + pd.Timedelta(days=d),
                              "comparator_date": None if c is None else s + pd.Timedelta(days=c),
                              "new_t2": n, "enlarging_t2": 0, "gd": g, "contrast": g == g}
                             for d, c, n, g in rows])

    # 1. re-baseline: a new lesion on the 6-month scan is year-1 activity for msclinical
    #    (rebaseline_months = 0), not for us (spec 4.3)
    sc = scans([(-20, None, 0, 0), (183, -20, 1, 0), (365, 183, 0, 0), (730, 365, 0, 0)])
    peer = msc.neda(vis, no_rel, sc.drop(columns=["comparator_date", "contrast"]), starts)
    assert peer.loc[0, "no_mri_activity"] is False or peer.loc[0, "no_mri_activity"] == False  # noqa: E712
    assert val(ours(sc).loc[1, "mri"]) is True
    # 2. a scan without contrast showing a new T2 lesion: activity for us; msclinical drops the
    #    scan (its Gd count is missing) and, with the clean 6-month scan, reports no activity
    sc2 = scans([(-20, None, 0, 0), (183, -20, 0, 0), (365, 183, 1, np.nan), (730, 365, 0, 0)])
    peer2 = msc.neda(vis, no_rel, sc2.drop(columns=["comparator_date", "contrast"]), starts)
    assert peer2.loc[0, "no_mri_activity"] == True  # noqa: E712
    assert val(ours(sc2).loc[1, "mri"]) is False
    # 3. a 12-month scan done 10 days late: ours keeps it in year 1 (30-day grace)
    sc3 = scans([(-20, None, 0, 0), (183, -20, 0, 0), (375, 183, 1, 0), (730, 375, 0, 0)])
    peer3 = msc.neda(vis, no_rel, sc3.drop(columns=["comparator_date", "contrast"]), starts)
    assert peer3.loc[1, "no_mri_activity"] == False  # noqa: E712  (year 2 for msclinical)
    assert val(ours(sc3).loc[1, "mri"]) is False and val(ours(sc3).loc[2, "mri"]) is True
