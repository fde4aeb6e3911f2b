"""Kaplan-Meier time to first event: a hand-computed table, and lifelines called directly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from cohort_cases import demo_summary, tiny_summary
from lifelines import KaplanMeierFitter
from scipy.stats import norm

from neda.cohort import kaplan_meier, km_analysis, time_to_event

Y = 365.25


def test_hand_computed_km_table() -> None:
    # six durations; events at 1, 2, 3, 5, censored at 2 and 4
    times = pd.DataFrame({"group": "all", "years": [1.0, 2, 2, 3, 4, 5],
                          "observed": [True, True, False, True, False, True]})
    km = kaplan_meier(times, at=(0, 1, 2, 3, 4, 5))
    s = km.survival.set_index("years")
    # S(t) = prod (1 - d/n): 5/6, then 5/6 * 4/5, then * 2/3, unchanged at 4, then 0
    assert s.loc[1, "survival"] == pytest.approx(5 / 6)
    assert s.loc[2, "survival"] == pytest.approx(2 / 3)
    assert s.loc[3, "survival"] == pytest.approx(4 / 9)
    assert s.loc[4, "survival"] == pytest.approx(4 / 9)
    assert s.loc[5, "survival"] == pytest.approx(0)
    assert s.loc[2, ["at_risk", "events", "censored"]].tolist() == [5, 1, 1]
    # log(-log) interval with Greenwood's sum: at t=2, sum d/(n(n-d)) = 1/30 + 1/20
    surv = 2 / 3
    v = (1 / 30 + 1 / 20) / math.log(surv) ** 2
    z = norm.ppf(0.975)
    assert s.loc[2, "ci_low"] == pytest.approx(surv ** math.exp(z * math.sqrt(v)))
    assert s.loc[2, "ci_high"] == pytest.approx(surv ** math.exp(-z * math.sqrt(v)))
    assert km.medians.loc[0, "median_years"] == 3  # first time S <= 0.5
    assert km.at_risk.iloc[0, 1:].tolist() == [6, 6, 5, 3, 2, 1]


def test_time_to_first_cdw_on_a_hand_made_cohort() -> None:
    s = tiny_summary()
    # the engine's events, read off the visits: A on 2021-01-01, B on 2022-01-01
    cdw = s.events[s.events["event_type"] == "CDW"]
    assert dict(zip(cdw["subject"], cdw["onset_date"].dt.strftime("%Y-%m-%d"), strict=True)
                ) == {"A": "2021-01-01", "B": "2022-01-01"}
    times = time_to_event(s, "cdw").set_index("subject")
    # from the first visit (2020-01-01); C and D censored at their last visits
    assert times.loc["A", "years"] == pytest.approx(366 / Y)
    assert times.loc["B", "years"] == pytest.approx(731 / Y)
    assert times.loc["C", "years"] == pytest.approx(1461 / Y)
    assert times.loc["D", "years"] == pytest.approx(912 / Y)
    assert times["observed"].to_dict() == {"A": True, "B": True, "C": False, "D": False}
    km = km_analysis(s, "cdw", at=(0, 1, 2, 3))
    surv = km.survival.set_index("years")["survival"]
    # 3/4 after A, then B with 3 at risk: 3/4 * 2/3
    assert surv.loc[366 / Y] == pytest.approx(3 / 4)
    assert surv.loc[731 / Y] == pytest.approx(1 / 2)
    assert km.medians.loc[0, "median_years"] == pytest.approx(731 / Y)
    assert km.at_risk.iloc[0, 1:].tolist() == [4, 4, 3, 1]


def test_time_to_first_relapse_and_milestone() -> None:
    s = tiny_summary()
    rel = time_to_event(s, "relapse").set_index("subject")
    assert rel.loc["D", "years"] == pytest.approx(152 / Y) and rel.loc["D", "observed"]
    assert rel.loc["C", "years"] == pytest.approx(517 / Y) and rel.loc["C", "observed"]
    assert not rel.loc["A", "observed"] and rel.loc["A", "years"] == pytest.approx(1096 / Y)
    # only B reaches EDSS 4 (confirmed six months later)
    m = time_to_event(s, "edss4").set_index("subject")
    assert m["observed"].to_dict() == {"A": False, "B": True, "C": False, "D": False}
    assert m.loc["B", "years"] == pytest.approx(731 / Y)


def test_epoch_origin_is_censored_at_the_epoch_end() -> None:
    s = tiny_summary()
    t = time_to_event(s, "pira", origin="epoch_start").set_index("subject")
    assert t["group"].to_dict() == {"A": "ocrelizumab", "B": "teriflunomide",
                                    "C": "ocrelizumab", "D": "teriflunomide"}
    assert t.loc["A", "years"] == pytest.approx(214 / Y) and t.loc["A", "observed"]
    assert t.loc["B", "years"] == pytest.approx(717 / Y) and t.loc["B", "observed"]
    # C's epoch ends (with its tail) before the last visit: censored at the epoch end
    end = s.epochs.set_index("subject").loc["C", "end"]
    assert t.loc["C", "end_date"] == end and not t.loc["C", "observed"]
    assert t.loc["D", "end_date"] == pd.Timestamp("2022-07-01")


def test_a_milestone_reached_before_the_origin_is_not_at_risk() -> None:
    s = tiny_summary()
    # A reaches EDSS 3 on 2021-01-01, after its epoch start: at risk; nobody else reaches it
    t = time_to_event(s, "edss3", origin="epoch_start")
    assert t.attrs["excluded"] == {}
    assert t.set_index("subject").loc["A", "observed"]


def _independent_first_visit_times(s: object, kind: str) -> pd.DataFrame:
    """Time to first CDW / PIRA per patient, computed row by row from the tables."""
    rows = []
    events = s.events  # type: ignore[attr-defined]
    for _, p in s.patients.iterrows():  # type: ignore[attr-defined]
        ev = events[(events["subject"] == p["subject"]) & (events["event_type"] == "CDW")]
        if kind == "pira":
            ev = ev[ev["cdw_class"] == "PIRA"]
        ev = ev[ev["onset_date"] > p["first_visit"]]
        end = ev["onset_date"].min() if len(ev) else p["last_visit"]
        rows.append({"years": (end - p["first_visit"]).days / Y, "observed": len(ev) > 0})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("kind", ["cdw", "pira"])
def test_km_agrees_with_lifelines_called_directly(kind: str) -> None:
    s = demo_summary()
    ours = km_analysis(s, kind)
    mine = _independent_first_visit_times(s, kind)
    kmf = KaplanMeierFitter().fit(mine["years"], mine["observed"])
    assert ours.medians.loc[0, "events"] == int(mine["observed"].sum()) > 5
    expected = kmf.survival_function_.iloc[:, 0]
    got = ours.survival.set_index("years")["survival"]
    np.testing.assert_allclose(got.to_numpy(), expected.reindex(got.index).to_numpy())
    ci = kmf.confidence_interval_survival_function_.reindex(got.index)
    np.testing.assert_allclose(ours.survival["ci_low"], ci.iloc[:, 0].to_numpy())
    assert ours.medians.loc[0, "median_years"] == kmf.median_survival_time_


def test_epoch_groups_agree_with_lifelines_per_group() -> None:
    s = demo_summary()
    ours = km_analysis(s, "relapse", origin="epoch_start", by="efficacy")
    times = ours.times
    for group, kmf in ours.fitters.items():
        rows = times[times["group"] == group]
        # epochs begun before the first visit enter late (lifelines' entry)
        direct = KaplanMeierFitter().fit(rows["years"], rows["observed"],
                                         entry=rows["entry_years"])
        got = ours.survival[ours.survival["group"] == group]["survival"].to_numpy()
        np.testing.assert_allclose(got, direct.survival_function_.iloc[:, 0].to_numpy())
        assert kmf.median_survival_time_ == direct.median_survival_time_
    # one row per epoch, grouped by the epoch's efficacy
    assert len(times) + sum(times.attrs["excluded"].values()) == len(s.epochs)


def test_bad_options_say_what_to_do() -> None:
    s = tiny_summary()
    with pytest.raises(ValueError, match="event 'cdv'"):
        time_to_event(s, "cdv")
    with pytest.raises(ValueError, match="origin"):
        time_to_event(s, "cdw", origin="diagnosis")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no column 'sexx'"):
        time_to_event(s, "cdw", by="sexx")


def test_an_epoch_begun_before_the_first_visit_enters_late() -> None:
    from cohort_cases import tiny_tables

    import neda

    t = tiny_tables()
    # D started teriflunomide on 2019-06-01, seven months before the first visit
    t["treatments"].loc[3, "start"] = "2019-06-01"
    s = neda.course_summary(t["visits"], t["relapses"], treatments=t["treatments"])
    times = time_to_event(s, "cdw", origin="epoch_start").set_index("subject")
    assert times.loc["D", "entry_years"] == pytest.approx(214 / Y)
    assert times.loc["D", "years"] == pytest.approx(1126 / Y)  # censored 2022-07-01
    assert (times.drop(index="D")["entry_years"] == 0).all()
    km = kaplan_meier(times.reset_index())
    rows = times[times["group"] == "teriflunomide"]
    direct = KaplanMeierFitter().fit(rows["years"], rows["observed"], entry=rows["entry_years"])
    got = km.survival[km.survival["group"] == "teriflunomide"].set_index("years")["survival"]
    expected = direct.survival_function_.iloc[:, 0]
    np.testing.assert_allclose(got.to_numpy(), expected.reindex(got.index).to_numpy())
    # D's relapse (2020-06-01) falls after its first visit: kept; a relapse before the
    # first visit would leave the row out
    rel = time_to_event(s, "relapse", origin="epoch_start").set_index("subject")
    assert rel.loc["D", "observed"] and rel.attrs["excluded"] == {}


def test_a_milestone_is_confirmed_as_the_run_confirms_worsening() -> None:
    """EDSS 4 reached at day 100, still 4 at day 200, back to 2 at day 300: confirmed with
    12 weeks (mueller2023), not with 24 weeks (portaccio2025): the milestone follows the
    run's confirmation, not a fixed 12 weeks."""
    import neda
    from neda.course import CourseOptions
    from neda.summary import SummaryOptions

    day0 = pd.Timestamp("2020-01-01")
    visits = pd.DataFrame({"subject": 1, "edss": [2.0, 4.0, 4.0, 2.0, 2.0],
                           "date": [day0 + pd.Timedelta(days=d) for d in
                                    (0, 100, 200, 300, 400)]})
    relapses = pd.DataFrame({"subject": [1], "date": ["2018-01-01"]})  # long before
    observed = {}
    for preset in ("mueller2023", "portaccio2025"):
        s = neda.course_summary(visits, relapses, options=(
            SummaryOptions(course=CourseOptions.from_preset(preset))))
        t = time_to_event(s, "edss4")
        observed[preset] = bool(t["observed"].iloc[0])
        assert f"definition '{preset}'" in t.attrs["confirmation"]
        assert t.attrs["confirmation"] in km_analysis(s, "edss4").methods()
    assert observed == {"mueller2023": True, "portaccio2025": False}
    # no relapse recorded: the milestone is still found (msprog needs the column names)
    none = neda.course_summary(visits, relapses.iloc[:0])
    assert time_to_event(none, "edss4")["observed"].tolist() == [True]
