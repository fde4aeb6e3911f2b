"""The command line as a user meets it: help on every option, the version, outputs checked
before anything is computed, the reader's report printed and written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from neda.cli import app
from neda.demo import write_demo_registry

runner = CliRunner()


def test_every_option_of_every_command_has_help() -> None:
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert {"progression", "course", "demo-cohort", "data-model"} <= set(commands)
    for name, command in commands.items():
        assert command.help, f"neda {name} has no help"
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"neda {name} {param.opts[0]} has no help text"


def test_the_command_lists_show_each_summary_as_one_paragraph() -> None:
    """`neda --help` and `neda cohort --help` list each command with its docstring's first
    paragraph, joined: a line break inside it had left "on." alone on a line."""
    group = typer.main.get_command(app)
    commands = dict(group.commands)  # type: ignore[attr-defined]
    commands.update({f"cohort {n}": c for n, c in commands["cohort"].commands.items()})
    assert len(commands) >= 13
    for name, command in commands.items():
        if name == "cohort":
            continue  # a group: its help is the Typer's help= text, one line already
        assert command.short_help and "\n" not in command.short_help, name
        assert command.short_help == " ".join(command.help.split("\n\n")[0].split()), name
    shown = runner.invoke(app, ["--help"], terminal_width=200).output
    assert "to try neda on." in shown


def test_every_command_that_reads_files_has_the_reading_options_declared_once() -> None:
    """The reading options (--subject-col, --date-format, --sheet, ...) are declared once
    (neda.cli._read_options): every command reading files shows them with the same names,
    help and defaults."""
    import inspect

    from neda.cli import _read_options

    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    cohort = commands["cohort"].commands
    readers = {"progression": commands["progression"], "course": commands["course"],
               **{f"cohort {n}": c for n, c in cohort.items()}}
    assert len(readers) == 8
    declared = list(inspect.signature(_read_options).parameters)
    assert len(declared) == 12
    shown = {}
    for name, command in readers.items():
        params = {p.name: p for p in command.params}
        assert set(declared) <= set(params), name
        shown[name] = [(p.opts, p.help, p.default) for p in
                       (params[n] for n in declared)]
    first = shown.pop("progression")
    for name, options in shown.items():
        assert options == first, name
    assert ["--decimal"] in [o for o, _, _ in first]
    # a command's reading options are read into per-table ReadOptions
    visits_at = [p.name for p in commands["course"].params].index("subject_col")
    assert [p.name for p in commands["course"].params][visits_at:visits_at + 12] == declared


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("neda ")


def test_bad_output_path_is_refused_before_reading(tmp_path: Path) -> None:
    visits = tmp_path / "visits.csv"
    visits.write_text("id,date,edss\n1,2020-01-01,0.5\n", encoding="utf-8")  # bad, unread
    result = runner.invoke(app, ["progression", str(visits), "--no-relapses", "-o",
                                 str(tmp_path / "events.xlsx")])
    assert result.exit_code == 2 and "write .csv or .parquet" in result.output
    assert "0.5" not in result.output  # nothing was read


def test_reader_report_is_printed_and_written(tmp_path: Path) -> None:
    paths = write_demo_registry(tmp_path / "demo", 20, seed=2)
    visits = pd.read_csv(paths["visits"])
    visits = pd.concat([visits, visits.iloc[:3]])  # repeated rows, merged on reading
    visits.loc[len(visits)] = [None] * len(visits.columns)  # a blank row
    path = tmp_path / "visits.csv"
    visits.to_csv(path, index=False)
    dropped = tmp_path / "dropped.csv"
    result = runner.invoke(app, ["progression", str(path), "--relapses", str(paths["relapses"]),
                                 "--dropped-out", str(dropped)])
    assert result.exit_code == 0, result.output
    assert "merged" in result.output and "blank row" in result.output
    table = pd.read_csv(dropped)
    assert {"file", "row", "action", "reason"} <= set(table.columns)
    assert (table["action"] == "merged").sum() == 3
    assert table["reason"].str.contains("blank row").any()


def test_course_methods_and_one_patient(tmp_path: Path) -> None:
    paths = write_demo_registry(tmp_path / "demo", 20, seed=2)
    args = ["course", str(paths["visits"]), "--relapses", str(paths["relapses"])]
    result = runner.invoke(app, [*args, "--methods"])
    assert result.exit_code == 0, result.output
    assert "Relapses were cleaned first" in " ".join(result.output.split())
    result = runner.invoke(app, [*args, "--patient", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    # an identifier written otherwise than the file's: the file's own shown
    result = runner.invoke(app, [*args, "--patient", "MS-0003"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "no patient 'MS-0003' in" in said and "identifiers are written like 1, 2, 3 ..." in said
    result = runner.invoke(app, [*args, "--format", "yaml"])
    assert result.exit_code == 2
