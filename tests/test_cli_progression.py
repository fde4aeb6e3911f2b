"""`neda progression`: real files in, real files out, through the typer app."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from neda.cli import app
from neda.course import EVENT_COLUMNS, CourseOptions, confirmed_events
from neda.demo import write_demo_cohort
from neda.io import read_relapses, read_visits

runner = CliRunner()


def test_progression_writes_events_and_summary(tmp_path: Path) -> None:
    visits, relapses = write_demo_cohort(tmp_path, 150, seed=3)
    events_path = tmp_path / "out" / "events.csv"
    summary_path = tmp_path / "out" / "subjects.parquet"
    result = runner.invoke(app, [
        "progression", str(visits), "--relapses", str(relapses), "-o", str(events_path),
        "--summary-out", str(summary_path), "--methods",
    ])
    assert result.exit_code == 0, result.output
    assert "Disease course (mueller2023)" in result.output
    assert "Methods" in result.output and "Müller" in result.output
    events = pd.read_csv(events_path)
    assert list(events.columns) == list(EVENT_COLUMNS)
    summary = pd.read_parquet(summary_path)
    assert len(summary) == 150
    # the CLI computes exactly what the library computes
    vis = read_visits(visits)
    rel = read_relapses(relapses, visits=vis)
    lib = confirmed_events(vis, rel)
    assert len(lib.events) == len(events)
    assert (lib.events.cdw_class.fillna("").to_numpy()
            == events.cdw_class.fillna("").to_numpy()).all()


def test_options_become_a_custom_definition(tmp_path: Path) -> None:
    visits, relapses = write_demo_cohort(tmp_path, 60, seed=4)
    out = tmp_path / "e.csv"
    result = runner.invoke(app, [
        "progression", str(visits), "--relapses", str(relapses), "--conf-days", "168",
        "--relapse-indep-event", "90,none", "--relapse-indep-conf", "none,0", "-o", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "Disease course (custom)" in result.output
    assert set(pd.read_csv(out).rule_set) <= {"custom"}


def test_bad_input_names_file_row_and_column_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "visits.csv"
    bad.write_text("id,date,edss\n1,2020-01-01,2.0\n1,2020-06-01,0.5\n1,03/04/2021,3.0\n")
    out = tmp_path / "events.csv"
    result = runner.invoke(app, ["progression", str(bad), "-o", str(out)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "2 problems in the input; nothing was read" in text and text.count("nothing was") == 1
    assert "visits.csv, row 3, column 'edss'" in text and "0.5" in text
    assert "row 4, column 'date'" in text
    assert not out.exists()


def test_contradictory_options_are_refused(tmp_path: Path) -> None:
    visits, _ = write_demo_cohort(tmp_path, 10, seed=5)
    result = runner.invoke(app, ["progression", str(visits), "--baseline", "fixed"])
    assert result.exit_code == 2
    assert "first-event mode" in " ".join(result.output.split())


def test_large_cohort_runs_in_chunks_with_the_same_result(tmp_path: Path) -> None:
    visits, relapses = write_demo_cohort(tmp_path, 20_500, seed=6)
    out = tmp_path / "events.parquet"
    result = runner.invoke(app, ["progression", str(visits), "--relapses", str(relapses),
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    vis = read_visits(visits)
    lib = confirmed_events(vis, read_relapses(relapses, visits=vis), CourseOptions())
    chunked = pd.read_parquet(out)
    pd.testing.assert_frame_equal(chunked.reset_index(drop=True),
                                  lib.events.reset_index(drop=True), check_dtype=False)


def test_subject_subset_validconf_and_unconfirmed_table(tmp_path: Path) -> None:
    visits, relapses = write_demo_cohort(tmp_path, 40, seed=8)
    table = pd.read_csv(visits)
    table["ok"] = 1
    table.loc[table.index % 3 == 0, "ok"] = 0  # every third visit may not confirm
    table.to_csv(visits, index=False)
    out, unconf = tmp_path / "e.csv", tmp_path / "u.csv"
    result = runner.invoke(app, [
        "progression", str(visits), "--relapses", str(relapses), "--subjects", "1,2,3,4,5",
        "--validconf-col", "ok", "-o", str(out), "--unconfirmed-out", str(unconf),
    ])
    assert result.exit_code == 0, result.output
    events = pd.read_csv(out)
    assert set(events.subject) <= {1, 2, 3, 4, 5}
    assert pd.read_csv(unconf).columns[0] == "subject"
    vis = read_visits(visits, outcomes=["edss", "ok"])
    rel = read_relapses(relapses, visits=vis)
    vis = vis[vis.subject <= 5].copy()
    vis["ok"] = vis["ok"].astype(bool)
    lib = confirmed_events(vis, rel, validconf="ok")
    assert len(lib.events) == len(events)
    nothing = runner.invoke(app, ["progression", str(visits), "--subjects", "999"])
    assert nothing.exit_code == 1 and "None of the subjects" in nothing.output
