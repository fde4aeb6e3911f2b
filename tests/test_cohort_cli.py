"""`neda cohort ...` on the demo files (real files in tmp_path): every command, the same
numbers as the library functions on course_summary of the same files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import neda
from neda.cli import app
from neda.cohort import km_analysis, neda_proportions, relapse_rates
from neda.demo import write_demo_registry

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_registry(folder, 60, seed=5)
    return folder


@pytest.fixture(scope="module")
def summary(demo: Path) -> object:
    return neda.course_summary(demo / "visits.csv", demo / "relapses.csv", demo / "mri.csv",
                               demo / "treatments.csv")


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_km_command_agrees_with_the_library(demo: Path, summary: object, tmp_path: Path
                                            ) -> None:
    out = tmp_path / "km.csv"
    text = _ok(["cohort", "km", str(demo), "--event", "pira", "--origin", "epoch_start",
                "--by", "efficacy", "-o", str(out), "--figure", str(tmp_path / "km")])
    assert "Numbers at risk" in text and "Kaplan-Meier" in text
    table = pd.read_csv(out)
    expected = km_analysis(summary, "pira", origin="epoch_start", by="efficacy").survival
    np.testing.assert_allclose(table["survival"], expected["survival"])
    assert table["group"].tolist() == expected["group"].tolist()
    assert (tmp_path / "km.png").stat().st_size > 10_000
    assert (tmp_path / "km.svg").read_text().lstrip().startswith("<?xml")


def test_neda_command_agrees_with_the_library(demo: Path, summary: object,
                                              tmp_path: Path) -> None:
    out = tmp_path / "neda.csv"
    _ok(["cohort", "neda", str(demo), "--measure", "neda4", "--years", "1,2", "-o", str(out),
         "--figure", str(tmp_path / "neda.svg")])
    table = pd.read_csv(out)
    expected = neda_proportions(summary, measure="neda4", years=(1, 2))
    assert table[["n_neda", "n_activity", "n_unknown"]].to_numpy().tolist() == \
        expected[["n_neda", "n_activity", "n_unknown"]].to_numpy().tolist()
    assert (tmp_path / "neda.svg").exists() and not (tmp_path / "neda.png").exists()


def test_tables_are_not_cut_when_the_output_is_not_a_terminal(demo: Path) -> None:
    # CliRunner's output is not a terminal (rich would assume 80 columns and cut the table)
    text = runner.invoke(app, ["cohort", "neda", str(demo)], env={"COLUMNS": None}).output
    header = next(line for line in text.splitlines() if "group" in line)
    assert "n_windows" in header and "ci_high" in header and "…" not in text
    assert len(header) > 80
    assert " nan " not in text  # not computable: '–', as in the report


def test_arr_command_agrees_with_the_library(demo: Path, summary: object,
                                             tmp_path: Path) -> None:
    out = tmp_path / "arr.csv"
    text = _ok(["cohort", "arr", str(demo), "--by", "efficacy", "-o", str(out)])
    assert "Rate ratios" in text
    table = pd.read_csv(out)
    expected = relapse_rates(summary, by="efficacy")
    np.testing.assert_allclose(table["arr"], expected.rates["arr"])
    np.testing.assert_allclose(table["rate_ratio"],
                               expected.ratios.set_index("group")["rate_ratio"]
                               .reindex(table["group"]).to_numpy())


def test_table_one_and_report(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "t1.csv"
    _ok(["cohort", "table-one", str(demo / "visits.csv"), "--relapses",
         str(demo / "relapses.csv"), "--treatments", str(demo / "treatments.csv"),
         "--by", "first_dmt_efficacy", "-o", str(out)])
    assert pd.read_csv(out).columns[0] == "characteristic"
    # the demo has no patients table: the rows it cannot give are said, in one line
    text = _ok(["cohort", "table-one", str(demo)])
    assert "Not shown: age at onset" in text and "Sex:" not in text
    report = tmp_path / "report.html"
    _ok(["cohort", "report", str(demo), "-o", str(report), "--event", "cdw", "--event",
         "edss4"])
    html = report.read_text()
    assert html.count("<svg") == 5  # two KM, two NEDA, the rate ratios
    assert "Time to first confirmed EDSS &gt;= 4" in html and "Provenance" in html
    # self-contained: nothing is fetched when it is opened
    # the provenance: the rule set and options digest of the course engine that made it
    events = neda.course_summary(demo / "visits.csv", demo / "relapses.csv").events
    assert "mueller2023" in html and events["options_digest"].iloc[0] in html
    assert "src=\"http" not in html and "<script" not in html and "<link" not in html
    # options and columns in words; the option keys kept in the provenance
    assert "report: Kaplan-Meier groups</td>" in html and "<td>efficacy</td>" in html
    assert "km_by = 'efficacy'" in html and "report option" not in html
    assert "<th>windows</th>" in html and "<th>n_windows</th>" not in html


def test_missing_tables_are_explained(demo: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["cohort", "neda", str(demo / "visits.csv"), "--relapses",
                                 str(demo / "relapses.csv")])
    assert result.exit_code == 1 and "treatments table" in result.output
    result = runner.invoke(app, ["cohort", "km", str(demo / "visits.csv"), "--event",
                                 "relapse"])
    assert result.exit_code == 1 and "relapses table" in result.output
    # the report says why a section is missing instead of leaving it out
    report = tmp_path / "r.html"
    _ok(["cohort", "report", str(demo / "visits.csv"), "--no-relapses", "-o", str(report),
         "--event", "cdw"])
    assert report.read_text().count("Not computed") >= 3
    result = runner.invoke(app, ["cohort", "km", str(tmp_path)], env={"COLUMNS": "400"})
    assert result.exit_code != 0 and "no visits file in this folder" in result.output


def test_a_bad_figure_path_is_refused(demo: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["cohort", "km", str(demo), "--figure",
                                 str(tmp_path / "km.jpg")], env={"COLUMNS": "400"})
    assert result.exit_code == 2 and "give a .png or .svg path" in result.output


def test_an_unknown_group_column_names_the_columns_that_form_groups(demo: Path) -> None:
    """A typo in --by lists the columns that make groups (therapy, efficacy, descriptor...),
    not all ~130 summary columns with their reasons and dates."""
    result = runner.invoke(app, ["cohort", "km", str(demo), "--by", "efficacyy"],
                           env={"COLUMNS": "400"})
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "no column 'efficacyy' to group patients by" in text
    listed = text.split("columns that form groups here are ")[1].split(" (any column")[0]
    names = listed.split(", ")
    assert {"first_dmt", "first_dmt_efficacy", "current_dmt", "descriptor"} <= set(names)
    assert not [n for n in names if "reason" in n or n.endswith("_date") or n == "subject"]
    assert len(names) < 30


def test_terminal_tables_read_as_figures(demo: Path, tmp_path: Path) -> None:
    """On the terminal: a Kaplan-Meier median not reached says so (the written table keeps
    inf), rate ratios do not repeat the reference as True/False, large numbers are whole."""
    out = tmp_path / "km.csv"
    text = _ok(["cohort", "km", str(demo), "--event", "pira", "-o", str(out)])
    medians = text.split("Numbers at risk")[0]
    assert " inf " not in medians
    km = km_analysis(neda.course_summary(demo / "visits.csv", demo / "relapses.csv",
                                         demo / "mri.csv", demo / "treatments.csv"), "pira")
    if np.isinf(km.medians["median_years"]).any():
        assert "not reached" in medians
    text = _ok(["cohort", "arr", str(demo), "--by", "efficacy"])
    ratios = text.split("Rate ratios")[1].split("Dispersion")[0]
    assert "True" not in ratios and "False" not in ratios and "reference" in ratios
    assert "e+0" not in text


def test_figure_cells() -> None:
    from neda.cli import _figure

    assert _figure(1204.4, "inf") == "1,204" and _figure(15.34, "inf") == "15.3"
    assert _figure(float("nan"), "inf") == "–" and _figure(float("inf"), "not reached") == \
        "not reached"
    assert _figure(True, "inf") == "yes" and _figure(np.bool_(False), "inf") == "no"
    assert _figure(3, "inf") == "3" and _figure("high", "inf") == "high"
