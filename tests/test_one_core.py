"""One core: each bug of the issue that made entry points disagree, pinned by a test.

Each of these failed before the core was rebuilt: relapse flags read as text truthiness, the
contrast cell read three ways, the engine merging attacks on earliest onsets, one summary
row contradicting itself, and the two commands giving different counts on the same files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from neda import course_summary
from neda.cli import app
from neda.course import confirmed_events
from neda.demo import write_demo_registry
from neda.rules.arr import annualised_relapse_rate
from neda.rules.phenotype import lublin_descriptors, objective_spms
from neda.rules.relapses import relapse_hygiene

runner = CliRunner()
D0 = pd.Timestamp("2019-01-01")


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def visits(*rows: tuple[int, float], subject: str = "P1") -> pd.DataFrame:
    return pd.DataFrame({"subject": subject, "date": [day(d) for d, _ in rows],
                         "edss": [e for _, e in rows]})


# a worsening at d200 confirmed at d300 and d400, a relapse at d170 (30 days before onset)
WORSE = visits((0, 2.0), (100, 2.0), (200, 3.0), (300, 3.0), (400, 3.0))


@pytest.mark.parametrize("flag", ["no", "No", "n", "false", "0", 0, False])
def test_a_pseudo_flag_of_no_is_not_a_pseudo_relapse(flag: object) -> None:
    # the bug: .fillna(False).astype(bool) read "no" as True, dropped the relapse: no RAW
    rel = pd.DataFrame({"subject": ["P1"], "date": [day(170)], "pseudo": [flag]})
    ev = confirmed_events(WORSE, rel).events
    assert ev["cdw_class"].tolist() == ["RAW"]
    assert "relapse 2019-06-20 began 30 days before" in ev["cdw_reason"].iloc[0]
    rate = annualised_relapse_rate(rel, pd.DataFrame({"subject": ["P1"], "start": [day(0)],
                                                      "end": [day(400)]}))
    assert rate.per_patient["relapses"].tolist() == [1]


def test_a_pseudo_flag_of_yes_is_a_pseudo_relapse_everywhere() -> None:
    rel = pd.DataFrame({"subject": ["P1"], "date": [day(170)], "pseudo": ["yes"]})
    ev = confirmed_events(WORSE, rel).events
    assert ev["cdw_class"].tolist() == ["PIRA"]
    h = relapse_hygiene(rel)
    assert len(h.relapses) == 0 and h.removed["reason"].tolist() == [
        "pseudo_relapse_fever_infection"]


def test_contrast_no_is_never_pira_without_mri_activity() -> None:
    # the bug: contrast="no" was truthy in the PIRMA overlay (PIRMA called on a scan without
    # contrast), NEDA read it correctly and course_summary raised TypeError
    rel = pd.DataFrame({"subject": [], "date": []})
    mri = pd.DataFrame({"subject": "P1", "date": [day(250)], "comparator_date": [day(0)],
                        "contrast": ["no"], "gd": [0], "new_t2": [0]})
    ev = confirmed_events(WORSE, rel, mri=mri).events
    assert ev["cdw_class"].tolist() == ["PIRA"]
    assert ev["pira_mri"].tolist() == ["MRI_unknown"]  # Gd unknown without contrast
    mri["contrast"] = "yes"
    assert confirmed_events(WORSE, rel, mri=mri).events["pira_mri"].tolist() == ["PIRMA"]
    mri["contrast"] = "no"
    summary = course_summary(WORSE, rel, mri)  # no TypeError
    assert summary.patients["PIRMA"].tolist() == [0]


def test_a_day_and_a_month_attack_keep_the_worsening_unknown() -> None:
    # the bug: the engine merged on earliest onsets (20 Feb and 1 Mar: 9 days), dropping the
    # month-precision attack whose March interval may fall in the PIRA window -> PIRA.
    # Relapse hygiene keeps both (a2 - b1 < 30 <= b2 - a1: merge uncertain), so the class
    # stays unknown (rules 2.7.2, 3.1).
    v = pd.DataFrame({"subject": "P1", "edss": [2.0, 2.0, 3.0, 3.0, 3.0],
                      "date": pd.to_datetime(["2023-06-01", "2023-12-01", "2024-06-15",
                                              "2024-09-20", "2024-12-20"])})
    rel = pd.DataFrame({"subject": ["P1", "P1"], "date": ["2024-02-20", "2024-03"]})
    h = relapse_hygiene(rel)
    assert h.relapses["merge_uncertain"].tolist() == [True, True]
    ev = confirmed_events(v, rel).events
    assert ev["cdw_class"].tolist() == ["unknown"]
    assert "2024-03" in ev["cdw_reason"].iloc[0] and "imprecise" in ev["cdw_reason"].iloc[0]


def test_no_relapse_data_is_never_pira() -> None:
    ev = confirmed_events(WORSE, None)
    assert ev.events["cdw_class"].tolist() == ["unknown"]
    assert "relapses were not given" in ev.events["cdw_reason"].iloc[0]
    assert "Relapse data were not given" in ev.describe()
    assert ev.provenance["relapse_data"] == "not given"
    # a course that meets objective SPMS needs "no relapse": without relapse data, unknown
    spms_course = pd.DataFrame({"subject": "P1", "date": [day(0), day(180), day(360)],
                                "edss": [3.0, 4.0, 4.0], "fs_pyramidal": [1, 2, 2]})
    met = objective_spms(spms_course, pd.DataFrame({"subject": [], "date": []}))
    assert met["spms"].tolist() == [True]
    unknown = objective_spms(spms_course, None)
    assert unknown["spms"].tolist()[0] is pd.NA
    assert "relapses were not recorded" in unknown["reason"].iloc[0]


def test_one_summary_row_never_contradicts_itself() -> None:
    # the bug: the summary counted cleaned relapses (0: the only attack is a pseudo-relapse)
    # while the Lublin descriptors read the raw table ("active ... 1 relapse")
    v = visits((0, 2.0), (200, 2.0), (400, 2.0), (600, 2.0))
    rel = pd.DataFrame({"subject": ["P1"], "date": [day(500)], "fever": ["yes"]})
    mri = pd.DataFrame({"subject": "P1", "date": [day(100), day(590)],
                        "comparator_date": [pd.NaT, day(100)], "contrast": True, "gd": 0,
                        "new_t2": [None, 0]})
    row = course_summary(v, rel, mri).patients.iloc[0]
    assert row["relapses"] == 0
    assert row["activity"] == "not active", row["activity_reason"]
    assert "no relapse" in row["activity_reason"]
    direct = lublin_descriptors(v, rel, mri).iloc[0]
    assert direct["activity"] == row["activity"]


def test_merged_attacks_count_once_in_every_rule() -> None:
    v = visits((0, 2.0), (200, 2.0), (400, 2.0), (600, 2.0))
    rel = pd.DataFrame({"subject": ["P1", "P1"], "date": [day(450), day(460)]})
    s = course_summary(v, rel)
    assert s.patients["relapses"].tolist() == [1]
    assert len(s.relapses) == 1 and s.relapses["merged_from"].tolist() == [2]
    assert "1 relapse(s)" in s.patients["activity_reason"].iloc[0]


def test_progression_and_course_agree_on_the_demo_files(tmp_path: Path) -> None:
    # the bug: `progression` read only subject and date of the relapses, so it counted
    # pseudo-relapses that `course` removed: different RAW/PIRA counts from the same files
    paths = write_demo_registry(tmp_path / "demo", 120, seed=4)
    rel = pd.read_csv(paths["relapses"])
    assert rel["pseudo"].astype(str).str.lower().isin(["true", "1", "yes"]).any()
    prog = tmp_path / "events.csv"
    result = runner.invoke(app, ["progression", str(paths["visits"]), "--relapses",
                                 str(paths["relapses"]), "-o", str(prog)])
    assert result.exit_code == 0, result.output
    course = tmp_path / "course"
    result = runner.invoke(app, ["course", str(paths["visits"]), "--relapses",
                                 str(paths["relapses"]), "--mri", str(paths["mri"]),
                                 "--treatments", str(paths["treatments"]), "-o", str(course)])
    assert result.exit_code == 0, result.output
    cols = ["subject", "event_type", "cdw_class", "onset_date", "confirmation_date"]
    a = pd.read_csv(prog)[cols].fillna("")
    b = pd.read_csv(course / "events.csv")[cols].fillna("")
    assert len(a) > 20
    pd.testing.assert_frame_equal(a, b)
    # and the Python API agrees with both
    lib = course_summary(paths["visits"], paths["relapses"], paths["mri"],
                         paths["treatments"]).events[cols]
    lib = lib.assign(onset_date=lib["onset_date"].dt.strftime("%Y-%m-%d"),
                     confirmation_date=lib["confirmation_date"].dt.strftime("%Y-%m-%d"))
    pd.testing.assert_frame_equal(lib.fillna("").reset_index(drop=True), a)


def test_without_a_relapses_file_the_commands_say_so(tmp_path: Path) -> None:
    paths = write_demo_registry(tmp_path / "demo", 30, seed=5)
    out = tmp_path / "events.csv"
    result = runner.invoke(app, ["progression", str(paths["visits"]), "-o", str(out),
                                 "--methods"])
    assert result.exit_code == 0, result.output
    assert "No relapses file" in result.output
    assert "Relapse data were not given" in " ".join(result.output.split())
    classes = set(pd.read_csv(out)["cdw_class"].dropna())
    assert classes <= {"unknown"}
    result = runner.invoke(app, ["progression", str(paths["visits"]), "--no-relapses",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "No relapses file" not in result.output
    assert "PIRA" in set(pd.read_csv(out)["cdw_class"].dropna())
    result = runner.invoke(app, ["progression", str(paths["visits"]), "--no-relapses",
                                 "--relapses", str(paths["relapses"])])
    assert result.exit_code == 2 and "not both" in result.output
