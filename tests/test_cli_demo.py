"""`neda demo-cohort` writes a cohort the readers accept as is."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from neda.cli import app
from neda.io import read_relapses, read_visits

runner = CliRunner()


def test_demo_cohort_command_writes_readable_files(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(
        app, ["demo-cohort", "--patients", "30", "--seed", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "visits.csv" in result.output and "relapses.csv" in result.output

    header = (out / "visits.csv").read_text().splitlines()[0]
    assert header == "id,date,edss,nhpt,t25fw,sdmt,fs_pyramidal"
    assert (out / "relapses.csv").read_text().splitlines()[0] == "id,date,pseudo,objective,steroids"
    for name in ("treatments", "mri", "pros", "labs"):
        assert (out / f"{name}.csv").exists() and f"{name}.csv" in result.output

    visits = read_visits(out / "visits.csv", outcomes=("edss", "nhpt", "t25fw", "sdmt"))
    relapses = read_relapses(out / "relapses.csv", visits=visits)
    assert visits["subject"].nunique() == 30
    assert visits.attrs["report"].dropped == () and visits.attrs["report"].merged == ()
    assert set(relapses["subject"]) <= set(visits["subject"])


def test_same_seed_same_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        runner.invoke(
            app, ["demo-cohort", "--patients", "10", "--seed", "7", "--out", str(tmp_path / name)]
        )
    for file in ("visits.csv", "relapses.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    first = pd.read_csv(tmp_path / "a" / "visits.csv")
    assert len(first) >= 30  # at least 3 visits each


def test_patients_must_be_positive(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo-cohort", "--patients", "0", "--out", str(tmp_path)])
    assert result.exit_code != 0


def test_help_lists_the_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo-cohort" in result.output


def test_visits_only(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo-cohort", "--patients", "5", "--out", str(out),
                                 "--visits-only"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["relapses.csv", "visits.csv"]
    assert (out / "relapses.csv").read_text().splitlines()[0] == "id,date"
