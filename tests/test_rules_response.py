"""Rio and modified Rio scores (clinical spec 5.1, 5.2; windows of 4.5; lesion counts of 4.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neda.io import InputError
from neda.rules._windows import ScanWindows
from neda.rules.response import (
    MRIO_COLUMNS,
    RIO_COLUMNS,
    ResponseOptions,
    modified_rio_score,
    rio_score,
)

D0 = pd.Timestamp("2020-01-01")


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def treat(drug: str = "Avonex", start: int = 0, subject: int = 1, stop: int | None = None
          ) -> pd.DataFrame:
    out = pd.DataFrame({"subject": [subject], "drug": [drug], "start": [day(start)]})
    if stop is not None:
        out["stop"] = [day(stop)]
    return out


def visits(*rows: tuple[int, float], subject: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"subject": subject, "date": [day(d) for d, _ in rows],
                         "edss": [e for _, e in rows]})


#: stable EDSS covering year 1 (reference d-10, follow-up to d400)
STABLE = visits((-10, 2.0), (180, 2.0), (400, 2.0))


def scans(*rows: dict, enlarging: bool = True) -> pd.DataFrame:
    """rows: dicts with day, comp (day or None), gd (None = no contrast), new, enl."""
    out = pd.DataFrame({
        "subject": 1,
        "date": [day(r["day"]) for r in rows],
        "comparator_date": [day(r["comp"]) if r.get("comp") is not None else pd.NaT
                            for r in rows],
        "contrast": [r.get("gd") is not None for r in rows],
        "gd": [r.get("gd") for r in rows],
        "new_t2": [r.get("new") for r in rows],
    })
    if enlarging:
        out["enlarging_t2"] = [r.get("enl", 0) for r in rows]
    for extra in ("combined_unique_active",):
        if any(extra in r for r in rows):
            out[extra] = [r.get(extra) for r in rows]
    return out


def pair(new: int | None, gd: int | None = 0, enl: int | None = 0, **kw) -> pd.DataFrame:
    """Reference scan d-30, year-1 scan d360 compared with it."""
    return scans({"day": -30, "gd": 0}, {"day": 360, "comp": -30, "gd": gd, "new": new,
                                         "enl": enl, **kw})


def one(frame: pd.DataFrame) -> pd.Series:
    assert len(frame) == 1
    return frame.iloc[0]


# ------------------------------------------------------------------------------ Rio: MRI


@pytest.mark.parametrize(("new", "enl", "gd", "expected"), [
    (2, 0, 0, 0),   # 2 active lesions: not > 2
    (3, 0, 0, 1),   # 3 > 2
    (1, 1, 0, 0),   # new + enlarging = 2
    (2, 1, 0, 1),   # new + enlarging = 3
    (0, 0, 3, 1),   # 3 Gd-enhancing lesions: unique active >= 3
])
def test_rio_mri_cutoff(new, enl, gd, expected):
    r = one(rio_score(treat(), STABLE, NO_REL, pair(new, gd=gd, enl=enl)))
    assert r["mri_criterion"] == expected
    assert list(rio_score(treat(), STABLE, NO_REL, pair(new)).columns) == list(RIO_COLUMNS)


def test_rio_gd_may_overlap_new_t2_unless_unique_count_given():
    # 2 new T2 + 1 Gd: combined unique active is 2 or 3 -> unknown
    r = one(rio_score(treat(), STABLE, NO_REL, pair(2, gd=1)))
    assert r["mri_criterion"] is pd.NA
    assert (r["active_lesions_min"], r["active_lesions_max"]) == (2, 3)
    assert "already be counted" in r["mri_reason"]
    # the combined unique active count settles it
    r = one(rio_score(treat(), STABLE, NO_REL, pair(2, gd=1, combined_unique_active=3)))
    assert r["mri_criterion"] == 1 and r["active_lesions"] == 3


def test_rio_no_contrast_on_year1_scan():
    assert one(rio_score(treat(), STABLE, NO_REL, pair(3, gd=None)))["mri_criterion"] == 1
    r = one(rio_score(treat(), STABLE, NO_REL, pair(1, gd=None)))
    assert r["mri_criterion"] is pd.NA and "no contrast" in r["mri_reason"]


def test_rio_missing_counts_and_missing_scans_are_unknown():
    r = one(rio_score(treat(), STABLE, NO_REL, pair(None)))
    assert r["mri_criterion"] is pd.NA
    r = one(rio_score(treat(), STABLE, NO_REL, scans({"day": 360, "comp": -30, "gd": 0, "new": 0})))
    assert r["mri_criterion"] is pd.NA and "reference scan" in r["mri_reason"]
    r = one(rio_score(treat(), STABLE, NO_REL, None))
    assert r["mri_criterion"] is pd.NA and r["mri_reason"] == "no MRI table"
    # no comparator on the year-1 scan: counts unknown (spec 9)
    r = one(rio_score(treat(), STABLE, NO_REL, scans({"day": -30, "gd": 0},
                                                    {"day": 360, "gd": 0, "new": 0})))
    assert r["mri_criterion"] is pd.NA


@pytest.mark.parametrize(("ref_day", "found"), [(-183, True), (-184, False), (30, True),
                                                (31, False)])
def test_reference_scan_window(ref_day, found):
    m = scans({"day": ref_day, "gd": 0}, {"day": 360, "comp": ref_day, "gd": 0, "new": 0})
    r = one(rio_score(treat(), STABLE, NO_REL, m))
    assert (r["reference_scan_date"] == day(ref_day)) is found
    assert (r["mri_criterion"] == 0) if found else (r["mri_criterion"] is pd.NA)


@pytest.mark.parametrize(("y1_day", "found"), [(274, True), (273, False), (457, True),
                                               (458, False)])
def test_year1_scan_window(y1_day, found):
    m = scans({"day": -30, "gd": 0}, {"day": y1_day, "comp": -30, "gd": 0, "new": 0})
    r = one(rio_score(treat(), STABLE, NO_REL, m))
    assert pd.notna(r["year1_scan_date"]) is found


def test_year1_scan_closest_to_365_tie_earlier_and_hyun_variant():
    m = scans({"day": -30, "gd": 0}, {"day": 345, "comp": -30, "gd": 0, "new": 0},
              {"day": 385, "comp": 345, "gd": 0, "new": 5})
    assert one(rio_score(treat(), STABLE, NO_REL, m))["year1_scan_date"] == day(345)
    m = scans({"day": -30, "gd": 0}, {"day": 200, "comp": -30, "gd": 0, "new": 0})
    assert pd.isna(one(rio_score(treat(), STABLE, NO_REL, m))["year1_scan_date"])
    hyun = ResponseOptions(scan_windows=ScanWindows(year1_scan_min_days=183))
    assert one(rio_score(treat(), STABLE, NO_REL, m, hyun))["year1_scan_date"] == day(200)


def test_counts_summed_over_a_rebaseline_scan_chain():
    m = scans({"day": -30, "gd": 0}, {"day": 180, "comp": -30, "gd": 0, "new": 2},
              {"day": 360, "comp": 180, "gd": 0, "new": 1})
    r = one(rio_score(treat(), STABLE, NO_REL, m))
    assert r["active_lesions"] == 3 and r["mri_criterion"] == 1
    # a year-1 comparison reaching back before the reference: zero still means zero
    m = scans({"day": -100, "gd": 0}, {"day": -30, "comp": -100, "gd": 0, "new": 0},
              {"day": 360, "comp": -100, "gd": 0, "new": 0})
    assert one(rio_score(treat(), STABLE, NO_REL, m))["mri_criterion"] == 0
    m.loc[2, "new_t2"] = 4
    assert one(rio_score(treat(), STABLE, NO_REL, m))["mri_criterion"] is pd.NA


# ------------------------------------------------------------------------------ relapses


#: relapses recorded, none occurred (None means "not recorded": the criterion is unknown)
NO_REL = pd.DataFrame({"subject": [], "date": []})


def rel(*days_or_text) -> pd.DataFrame:
    return pd.DataFrame({"subject": 1, "date": [day(d).strftime("%Y-%m-%d") if isinstance(d, int)
                                                else d for d in days_or_text]})


@pytest.mark.parametrize(("rdays", "expected"), [((), 0), ((0,), 1), ((364,), 1), ((365,), 0),
                                                  ((-1,), 0)])
def test_rio_relapse_window_is_S_to_S_plus_365_exclusive(rdays, expected):
    r = one(rio_score(treat(), STABLE, rel(*rdays), pair(0)))
    assert r["relapse_criterion"] == expected


def test_relapse_followup_must_cover_year1():
    short = visits((-10, 2.0), (200, 2.0))
    r = one(rio_score(treat(), short, NO_REL, pair(0)))
    assert r["relapse_criterion"] is pd.NA and "does not cover" in r["relapse_reason"]
    # relapses not recorded at all: unknown, whatever the follow-up
    r = one(rio_score(treat(), STABLE, None, pair(0)))
    assert r["relapse_criterion"] is pd.NA and r["relapse_reason"] == "relapses were not recorded"
    # ... but an observed relapse is activity whatever the follow-up
    assert one(rio_score(treat(), short, rel(50), pair(0)))["relapse_criterion"] == 1


def test_imprecise_relapse_partly_in_year1_is_unknown_and_pseudo_excluded():
    r = one(rio_score(treat(), STABLE, rel("2019-12"), pair(0)))  # Dec 2019, before S
    assert r["relapse_criterion"] == 0
    r = one(rio_score(treat(start=-10), STABLE, rel("2019-12"), pair(0)))  # S = 2019-12-22
    assert r["relapse_criterion"] is pd.NA
    pseudo = rel(50).assign(pseudo=True)
    assert one(rio_score(treat(), STABLE, pseudo, pair(0)))["relapse_criterion"] == 0


# ------------------------------------------------------------------------------ EDSS criterion


def test_rio_edss_onset_timing():
    # onset d364 (inside year 1), confirmed 183 days later
    v = visits((-10, 2.0), (200, 2.0), (364, 3.0), (547, 3.0))
    r = one(rio_score(treat(), v, NO_REL, pair(0)))
    assert r["edss_criterion"] == 1 and r["edss_onset_date"] == day(364)
    assert r["edss_confirmation_date"] == day(547)  # confirmation after month 12 is allowed
    # onset d365: outside year 1
    v = visits((-10, 2.0), (200, 2.0), (365, 3.0), (548, 3.0))
    r = one(rio_score(treat(), v, NO_REL, pair(0)))
    assert r["edss_criterion"] == 0 and r["edss_onset_date"] == day(365)


def test_rio_edss_confirmation_183_days_and_threshold_1_from_0():
    v = visits((-10, 0.0), (100, 1.0), (282, 1.0), (400, 1.0))   # 182 days: intermediate
    r = one(rio_score(treat(), v, NO_REL, pair(0)))
    assert r["edss_criterion"] == 1 and r["edss_confirmation_date"] == day(400)
    v = visits((-10, 2.0), (100, 3.0), (282, 3.0))               # ends unconfirmed
    r = one(rio_score(treat(), v, NO_REL, pair(0)))
    assert r["edss_criterion"] is pd.NA and "not yet confirmed" in r["edss_reason"]
    v = visits((-10, 2.0), (100, 3.0), (282, 2.0), (400, 2.0))   # refuted
    assert one(rio_score(treat(), v, NO_REL, pair(0)))["edss_criterion"] == 0
    v = visits((-10, 2.0), (100, 2.5), (300, 2.5), (400, 2.5))   # +0.5 is not enough
    assert one(rio_score(treat(), v, NO_REL, pair(0)))["edss_criterion"] == 0


def test_rio_edss_reference_choice():
    # the latest eligible EDSS in [S-183, S]: d-10 (3.0), not d-100 (2.0)
    v = visits((-100, 2.0), (-10, 3.0), (100, 3.0), (300, 3.0), (400, 3.0))
    r = one(rio_score(treat(), v, NO_REL, pair(0)))
    assert r["edss_reference_date"] == day(-10) and r["edss_criterion"] == 0
    # d-10 is 10 days after a relapse: not eligible -> d-100 (2.0) is the reference
    r = one(rio_score(treat(), v, rel(-20), pair(0)))
    assert r["edss_reference_date"] == day(-100) and r["edss_criterion"] == 1
    # nothing before S: the first eligible in (S, S+91]
    v = visits((91, 2.0), (200, 2.0), (400, 2.0))
    assert one(rio_score(treat(), v, NO_REL, pair(0)))["edss_reference_date"] == day(91)
    v = visits((92, 2.0), (200, 2.0), (400, 2.0))
    r = one(rio_score(treat(), v, NO_REL, pair(0)))
    assert r["edss_criterion"] is pd.NA and "no eligible EDSS reference" in r["edss_reason"]


def test_rio_edss_followup_must_reach_end_of_year1():
    v = visits((-10, 2.0), (180, 2.0), (273, 2.0))
    assert one(rio_score(treat(), v, NO_REL, pair(0)))["edss_criterion"] is pd.NA
    v = visits((-10, 2.0), (180, 2.0), (274, 2.0))
    assert one(rio_score(treat(), v, NO_REL, pair(0)))["edss_criterion"] == 0


# ------------------------------------------------------------------------------ totals


def test_rio_partial_scores_and_risk_group():
    worse = visits((-10, 2.0), (100, 3.0), (300, 3.0), (400, 3.0))
    # relapse 1 + EDSS 1, MRI unknown -> high whatever the MRI
    r = one(rio_score(treat(), worse, rel(50), None))
    assert r["score"] is pd.NA and (r["score_min"], r["score_max"]) == (2, 3)
    assert r["risk_group"] == "high"
    # relapse 0 + EDSS 0, MRI unknown -> low (cut-off >= 2)
    r = one(rio_score(treat(), STABLE, NO_REL, None))
    assert r["risk_group"] == "low" and r["score"] is pd.NA
    # one 1, one 0, one unknown -> unknown
    r = one(rio_score(treat(), STABLE, rel(50), None))
    assert r["risk_group"] == "unknown"
    # all known
    r = one(rio_score(treat(), worse, rel(50), pair(3)))
    assert r["score"] == 3 and r["risk_group"] == "high"
    r = one(rio_score(treat(), STABLE, rel(50), pair(0)))
    assert r["score"] == 1 and r["risk_group"] == "low"


def test_validated_for_drug_flag_and_provenance():
    out = rio_score(pd.concat([treat("Avonex"), treat("Copaxone", subject=2),
                               treat("ocrelizumab", subject=3)]),
                    pd.concat([STABLE.assign(subject=s) for s in (1, 2, 3)]), NO_REL)
    assert list(out["validated_for_drug"]) == [True, True, False]
    assert out["warning"].iloc[0] == "" and "anti_cd20" in out["warning"].iloc[2]
    # a drug outside the catalogue is a reading error naming the cell (rules 8.1)
    with pytest.raises(InputError, match="column 'drug': got 'unobtainium'; expected a drug"):
        rio_score(treat("unobtainium", subject=4), STABLE.assign(subject=4), NO_REL)
    assert (out["rule_set"] == "spec_defaults").all()
    assert out.attrs["provenance"]["options"]["rio_active_lesions_gt"] == 2
    stopped = one(rio_score(treat(stop=100), STABLE))
    assert "stopped during year 1" in stopped["warning"]


# ------------------------------------------------------------------------------ modified Rio


@pytest.mark.parametrize(("new", "gt", "expected"), [(4, 4, 0), (5, 4, 1), (5, 5, 0), (6, 5, 1)])
def test_mrio_new_t2_cutoff_option(new, gt, expected):
    opts = ResponseOptions(mrio_new_t2_gt=gt)
    r = one(modified_rio_score(treat(), STABLE, NO_REL, pair(new, gd=None), opts))
    assert r["mri_points"] == expected
    assert r["rule_set"] == ("spec_defaults" if gt == 4 else "custom")


def test_mrio_counts_new_only_by_default():
    # 3 new + 3 enlarging: 3 new -> 0 points; new_or_enlarging variant -> 6 -> 1 point
    m = pair(3, enl=3)
    assert one(modified_rio_score(treat(), STABLE, NO_REL, m))["mri_points"] == 0
    opts = ResponseOptions(mrio_count="new_or_enlarging")
    assert one(modified_rio_score(treat(), STABLE, NO_REL, m, opts))["mri_points"] == 1
    # without an enlarging_t2 column new_t2 means new-or-enlarging: 6 is only an upper bound
    m = scans({"day": -30, "gd": 0}, {"day": 360, "comp": -30, "gd": 0, "new": 6},
              enlarging=False)
    r = one(modified_rio_score(treat(), STABLE, NO_REL, m))
    assert r["mri_points"] is pd.NA and (r["new_t2_min"], r["new_t2_max"]) == (0, 6)
    m.loc[1, "new_t2"] = 2
    assert one(modified_rio_score(treat(), STABLE, NO_REL, m))["mri_points"] == 0


@pytest.mark.parametrize(("rdays", "points", "group"), [((), 0, "low"), ((50,), 1, "intermediate"),
                                                         ((50, 200), 2, "high"),
                                                         ((50, 70), 1, "intermediate")])
def test_mrio_relapse_points(rdays, points, group):
    # (50, 70): attacks < 30 days apart are one relapse (spec 3.1)
    r = one(modified_rio_score(treat(), STABLE, rel(*rdays), pair(0)))
    assert r["relapse_points"] == points and r["risk_group"] == group
    assert list(modified_rio_score(treat(), STABLE, NO_REL, pair(0)).columns) == list(MRIO_COLUMNS)


def test_mrio_partial():
    # two relapses: high whatever the MRI
    r = one(modified_rio_score(treat(), STABLE, rel(50, 200), None))
    assert r["score"] is pd.NA and r["risk_group"] == "high"
    # no relapse, MRI unknown: low or intermediate -> unknown
    assert one(modified_rio_score(treat(), STABLE, NO_REL, None))["risk_group"] == "unknown"
    # relapses unknown (follow-up short), MRI 1 -> >= 1: intermediate or high -> unknown
    short = visits((-10, 2.0), (200, 2.0))
    r = one(modified_rio_score(treat(), short, NO_REL, pair(6)))
    assert r["relapse_points"] is pd.NA and r["risk_group"] == "unknown"
    # one observed relapse, follow-up short, MRI 1: at least 2 -> high
    r = one(modified_rio_score(treat(), short, rel(50), pair(6)))
    assert r["risk_group"] == "high"


@given(new=st.one_of(st.none(), st.integers(0, 12)), gd=st.one_of(st.none(), st.integers(0, 5)),
       n_rel=st.integers(0, 3))
def test_property_known_score_within_bounds_and_missing_never_lowers(new, gd, n_rel):
    """score_min <= score <= score_max; an unknown count never yields a 0 criterion unless
    the known part already decides it."""
    rdays = [30 + 60 * i for i in range(n_rel)]
    for fn in (rio_score, modified_rio_score):
        r = one(fn(treat(), STABLE, rel(*rdays), pair(new, gd=gd)))
        assert r["score_min"] <= r["score_max"]
        if r["score"] is not pd.NA:
            assert r["score_min"] == r["score"] == r["score_max"]
        crit = "mri_criterion" if fn is rio_score else "mri_points"
        if new is None and r[crit] is not pd.NA:
            assert r[crit] == 1  # only the Gd part can decide it, and only upwards
        assert np.isfinite(r["relapses_max"])
