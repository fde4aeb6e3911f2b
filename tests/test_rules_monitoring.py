"""Monitoring (rules §14): the last 12 months, overdue EDSS and MRI, safety labs due, score
trends; and their place in the patient course."""

from __future__ import annotations

import pandas as pd
import pytest

from neda.io import read_labs, read_mri, read_visits
from neda.rules.dmt import treatment_epochs
from neda.rules.dmt_catalogue import catalogue, lookup_drug, parse_lab_schedule
from neda.rules.monitoring import (
    MONITORING_COLUMNS,
    MonitoringOptions,
    monitoring_status,
    score_trends,
)
from neda.rules.relapses import relapse_hygiene
from neda.summary import SummaryOptions, course_summary

AS_OF = pd.Timestamp("2024-06-30")


def day(n: int) -> pd.Timestamp:
    """n days before AS_OF (n = 0 is AS_OF)."""
    return AS_OF - pd.Timedelta(days=n)


def visits(*days_ago: int, subject: str = "A", edss: float | None = 2.0) -> pd.DataFrame:
    return read_visits(pd.DataFrame({"subject": subject, "date": [day(n) for n in days_ago],
                                     "edss": edss}))


def status(vis: pd.DataFrame, **kw: object) -> pd.Series:
    out = monitoring_status(vis, as_of=AS_OF, **kw)  # type: ignore[arg-type]
    assert list(out.columns) == list(MONITORING_COLUMNS)
    return out.iloc[0]


# ---------------------------------------------------------------- relapses (rules §14.2)
def test_relapses_not_recorded_are_unknown_never_none() -> None:
    row = status(visits(800, 0))
    assert pd.isna(row["relapses_last_year"]) and pd.isna(row["relapse_last_year"])
    assert "not recorded" in row["relapse_last_year_reason"]


@pytest.mark.parametrize(("onset", "count", "expected"), [
    (day(364).strftime("%Y-%m-%d"), 1, True),    # first day of (as_of - 365, as_of]
    (day(365).strftime("%Y-%m-%d"), 0, False),   # the day before the window
    (day(0).strftime("%Y-%m-%d"), 1, True),
])
def test_relapse_window_boundaries(onset: str, count: int, expected: bool) -> None:
    vis = visits(800, 0)
    rel = relapse_hygiene(pd.DataFrame({"subject": ["A"], "date": [onset]}), visits=vis)
    row = status(vis, relapses=rel)
    assert row["relapses_last_year"] == count and row["relapse_last_year"] == expected


def test_an_imprecise_onset_across_the_window_edge_is_unknown() -> None:
    vis = visits(800, 0)
    month = day(365).strftime("%Y-%m")  # the month holding the day before the window
    rel = relapse_hygiene(pd.DataFrame({"subject": ["A"], "date": [month]}), visits=vis)
    row = status(vis, relapses=rel)
    assert pd.isna(row["relapse_last_year"]) and "partly" in row["relapse_last_year_reason"]
    assert row["relapses_last_year"] == 0


def test_no_relapse_needs_the_record_to_cover_the_window() -> None:
    vis = visits(800, 100)  # last visit 100 days before as_of
    empty = relapse_hygiene(pd.DataFrame({"subject": [], "date": []}), visits=vis)
    row = status(vis, relapses=empty)
    assert pd.isna(row["relapse_last_year"]) and "last visit" in row["relapse_last_year_reason"]
    # a clinic's register: relapses are recorded up to as_of
    register = MonitoringOptions(relapses_recorded_to="as_of")
    row = status(vis, relapses=empty, options=register)
    assert row["relapse_last_year"] == False  # noqa: E712 - a pandas boolean
    # ... for a patient the clinic saw in the window only
    gone = visits(800, 400)
    gone_empty = relapse_hygiene(pd.DataFrame({"subject": [], "date": []}), visits=gone)
    row = status(gone, relapses=gone_empty, options=register)
    assert pd.isna(row["relapse_last_year"]) and "no visit since" in row[
        "relapse_last_year_reason"]
    # a follow-up table covering the window
    follow = pd.DataFrame({"subject": ["A"], "start": [day(900)], "end": [pd.NaT]})
    assert status(vis, relapses=empty, followup=follow)["relapse_last_year"] == False  # noqa
    short = pd.DataFrame({"subject": ["A"], "start": [day(900)], "end": [day(30)]})
    assert pd.isna(status(vis, relapses=empty, followup=short)["relapse_last_year"])


# ------------------------------------------------------ confirmed worsening (rules §14.2)
def test_worsening_in_the_last_year_is_counted_by_class() -> None:
    events = pd.DataFrame({
        "subject": "A", "event_type": ["CDW", "CDW", "CDW", "CDW", "CDI", "CDW"],
        "cdw_class": ["RAW", "PIRA", "PIRA", "undefined", "", "PIRA"],
        "pira_mri": ["", "PIRMA", "", "", "", ""],
        "onset_date": [day(10), day(100), day(200), day(300), day(50), day(400)],
        "confirmation_date": [day(0), day(1), day(20), day(100), day(0), day(200)],
    })
    row = status(visits(800, 0), events=events)
    assert (row["cdw_last_year"], row["raw_last_year"], row["pira_last_year"],
            row["pirma_last_year"], row["unclassified_last_year"]) == (4, 1, 2, 1, 1)
    # confirmed after as_of: not yet a confirmed worsening on that day
    late = events.assign(confirmation_date=AS_OF + pd.Timedelta(days=5))
    assert status(visits(800, 0), events=late)["cdw_last_year"] == 0


# ------------------------------------------------------------ EDSS and MRI (rules §14.3)
@pytest.mark.parametrize(("ago", "overdue"), [(364, False), (365, True)])
def test_edss_overdue_after_365_days(ago: int, overdue: bool) -> None:
    row = status(visits(800, ago))
    assert bool(row["edss_overdue"]) is overdue
    assert row["edss_last_date"] == day(ago)


def test_visits_without_edss_do_not_count() -> None:
    vis = read_visits(pd.DataFrame({"subject": "A", "date": [day(800), day(10)],
                                    "edss": [2.0, None], "t25fw": [5.0, 5.5]}))
    row = status(vis)
    assert bool(row["edss_overdue"]) and row["edss_last_date"] == day(800)


def _epochs(drug: str, started: int, stopped: int | None = None) -> pd.DataFrame:
    return treatment_epochs(pd.DataFrame({"subject": ["A"], "drug": [drug],
                                          "start": [day(started)],
                                          "stop": [pd.NaT if stopped is None
                                                   else day(stopped)]}))


def test_mri_overdue_only_on_a_dmt() -> None:
    vis = visits(800, 0)
    scans = read_mri(pd.DataFrame({"subject": ["A"], "date": [day(400)], "new_t2": [0]}))
    on = _epochs("ocrelizumab", 700)
    row = status(vis, mri=scans, epochs=on)
    assert row["mri_status"] == "overdue" and row["mri_overdue"] == True  # noqa: E712
    assert row["dmt_at_as_of"] == "ocrelizumab"
    recent = read_mri(pd.DataFrame({"subject": ["A"], "date": [day(364)], "new_t2": [0]}))
    assert status(vis, mri=recent, epochs=on)["mri_status"] == "up_to_date"
    off = status(vis, mri=scans, epochs=_epochs("dimethyl fumarate", 700, 500))
    assert off["mri_status"] == "not_on_dmt" and pd.isna(off["mri_overdue"])
    unknown = status(vis, mri=None, epochs=on)
    assert unknown["mri_status"] == "unknown" and pd.isna(unknown["mri_overdue"])


# ---------------------------------------------------------------- safety labs (rules §14.4)
def _labs(*rows: tuple[str, int]) -> pd.DataFrame:
    return read_labs(pd.DataFrame({"subject": "A", "test": [t for t, _ in rows],
                                   "date": [day(n) for _, n in rows]}))


def test_labs_due_when_the_interval_has_passed() -> None:
    vis, on = visits(800, 0), _epochs("natalizumab", 700)
    row = status(vis, epochs=on, labs=_labs(("JCV", 183)))
    assert row["labs_status"] == "due" and row["labs_due_tests"] == "jcv_antibody"
    assert "due since" in row["labs_reason"]
    row = status(vis, epochs=on, labs=_labs(("jcv_antibody", 182)))
    assert row["labs_status"] == "up_to_date" and row["labs_due"] == False  # noqa: E712
    assert row["labs_next_due"] == day(182) + pd.Timedelta(days=183)
    # none recorded: due; labs not recorded at all: unknown
    assert status(vis, epochs=on, labs=_labs(("cbc", 10)))["labs_status"] == "due"
    assert status(vis, epochs=on, labs=None)["labs_status"] == "unknown"
    # a test after as_of does not count
    late = read_labs(pd.DataFrame({"subject": ["A"], "test": ["jcv"],
                                   "date": [AS_OF + pd.Timedelta(days=3)]}))
    assert status(vis, epochs=on, labs=late)["labs_status"] == "due"


def test_lab_schedules_change_over_the_therapy() -> None:
    vis = visits(800, 0)
    # teriflunomide: liver every 14 days in the first 183 days, then every 56
    early = _epochs("teriflunomide", 100)
    assert status(vis, epochs=early, labs=_labs(("ALT", 20)))["labs_status"] == "due"
    later = _epochs("teriflunomide", 400)
    row = status(vis, epochs=later, labs=_labs(("ALT", 20)))
    assert row["labs_status"] == "up_to_date" and "every 56 days" in row["labs_reason"]


def test_labs_without_a_known_schedule_are_not_guessed() -> None:
    vis = visits(800, 0)
    row = status(vis, epochs=_epochs("ocrelizumab", 700), labs=_labs(("cbc", 900)))
    assert row["labs_status"] == "no_schedule" and pd.isna(row["labs_due"])
    row = status(vis, epochs=_epochs("glatiramer acetate", 700), labs=_labs(("cbc", 900)))
    assert row["labs_status"] == "not_required" and row["labs_due"] == False  # noqa: E712
    row = status(vis, epochs=None, labs=_labs(("cbc", 900)))
    assert row["labs_status"] == "not_on_dmt"


def test_catalogue_lab_schedules_parse_and_name_their_evidence() -> None:
    for drug in catalogue():
        intervals = drug.lab_intervals
        if drug.lab_schedule:
            assert drug.lab_schedule_evidence in ("V", "M", "C"), drug.name
        if intervals:
            assert all(i.days >= 1 for i in intervals)
    assert lookup_drug("Tysabri").lab_intervals[0].test == "jcv_antibody"  # type: ignore[index]
    assert parse_lab_schedule("none") == () and parse_lab_schedule("") is None
    for bad in ("cbc", "cbc:0", "sodium:30", "cbc:30@100-50"):
        with pytest.raises(ValueError):
            parse_lab_schedule(bad)


def test_as_of_defaults_to_the_latest_date_in_the_data() -> None:
    out = monitoring_status(visits(800, 30))
    assert out["as_of"].iloc[0] == day(30) and not out["edss_overdue"].iloc[0]


# ------------------------------------------------------------ score trends (rules §14.5)
def test_the_latest_msfc_or_why_not() -> None:
    vis = pd.DataFrame({"subject": "A", "date": pd.to_datetime(["2020-01-01", "2021-01-01"]),
                        "edss": [2.0, 2.0], "t25fw": [5.0, 5.5],
                        "nhpt_dominant": [20.0, 21.0], "nhpt_nondominant": [None, None],
                        "pasat": [50, 48]})
    one = course_summary(vis).patient().to_dict()
    assert one["msfc"]["date"] == "2021-01-01" and one["msfc"]["latest"] is None
    assert "9HPT (non-dominant hand)" in one["msfc"]["reason"]
    # the latest composite there is, with its date
    some = course_summary(vis.assign(nhpt_nondominant=[22.0, None])).patient().to_dict()
    assert some["msfc"]["date"] == "2020-01-01" and some["msfc"]["latest"] is not None
    full = course_summary(vis.assign(nhpt_nondominant=[22.0, 23.0])).patient().to_dict()
    assert full["msfc"]["latest"] is not None and full["msfc"]["reason"] is None
    assert "msfc" in {t["measure"] for t in full["score_trends"]}


def test_score_trends_latest_previous_and_direction() -> None:
    frame = pd.DataFrame({"subject": ["A", "A", "A", "B"],
                          "date": pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01",
                                                  "2022-01-01"]),
                          "edss": [2.0, 3.0, 2.5, 4.0], "sdmt": [50, None, 45, None]})
    t = score_trends(frame).set_index(["subject", "measure"])
    a = t.loc[("A", "edss")]
    assert (a["latest"], a["previous"], a["change"], a["trend"], a["n_values"]) == (
        2.5, 3.0, -0.5, "down", 3)
    s = t.loc[("A", "sdmt")]
    assert s["previous_date"] == pd.Timestamp("2020-01-01") and s["worse_when"] == "lower"
    b = t.loc[("B", "edss")]
    assert b["trend"] is None and pd.isna(b["previous"])


# ------------------------------------------------------------- in the patient course
def test_the_course_summary_carries_monitoring_severity_and_computed_edss() -> None:
    d = pd.Timestamp("2022-01-01")
    fs = {"fs_pyramidal": 2, "fs_cerebellar": 0, "fs_brainstem": 0, "fs_sensory": 0,
          "fs_bowel_bladder": 0, "fs_visual": 0, "fs_cerebral": 0, "ambulation": 0}
    vis = pd.DataFrame([{"subject": "A", "date": d + pd.Timedelta(days=x), "edss": e, **fs}
                        for x, e in ((0, 2.5), (150, 2.5), (400, 2.5), (800, 2.5))])
    rel = pd.DataFrame({"subject": ["A"], "date": [d + pd.Timedelta(days=700)],
                        "hospitalised": ["yes"]})
    tr = pd.DataFrame({"subject": ["A"], "drug": ["natalizumab"], "start": [d],
                       "stop": [pd.NaT]})
    labs = pd.DataFrame({"subject": ["A"], "date": [d + pd.Timedelta(days=500)],
                         "test": ["JCV"], "result": ["negative"]})
    cs = course_summary(vis, rel, treatments=tr, labs=labs,
                        options=SummaryOptions(as_of="2024-06-30"))
    row = cs.patients.iloc[0]
    assert row["labs_status"] == "due" and row["relapses_last_year"] == 1
    assert row["mri_status"] == "unknown"  # no MRI table: scans were not recorded
    # rated 2.5 versus computed from one FS grade 2: the mismatch is flagged (rules §1.5)
    assert (cs.assessments["computed_edss"] == 2.0).all()
    assert cs.assessments["edss_mismatch"].all()
    assert cs.relapses["severity"].iloc[0] == "severe"  # hospitalised (rules §3.2)
    one = cs.patient().to_dict()
    assert one["monitoring"]["labs"]["due_tests"] == ["jcv_antibody"]
    assert one["monitoring"]["as_of"] == "2024-06-30"
    assert one["relapses"][0]["severity"] == "severe"
    assert [t["measure"] for t in one["score_trends"]] == ["edss"]
    assert one["msfc"]["latest"] is None and one["msfc"]["reason"] == "no MSFC component recorded"
    status_ = one["current_therapy"]["neda"]["current_year"]["component_status"]
    assert set(status_) == {"relapse", "disability", "mri", "bvl"}
