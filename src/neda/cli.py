"""The ``neda`` command line."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    import pandas as pd

    from neda.course import CourseOptions, CourseResult

app = typer.Typer(
    name="neda",
    help="Multiple sclerosis disease-course analytics.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _dask_address_given(token: str) -> bool:
    """Whether the word after ``--dask`` is a scheduler address (else it is the next
    argument, and ``--dask`` means a new local cluster)."""
    import re

    return "://" in token or token == "local" or bool(re.fullmatch(r"[\w.-]+:\d+", token))


def dask_arguments(args: list[str]) -> list[str]:
    """``--dask`` with no address as ``--dask local`` (typer options always take a value)."""
    out = []
    for i, token in enumerate(args):
        out.append(token)
        if token == "--dask" and (i + 1 == len(args) or not _dask_address_given(args[i + 1])):
            out.append("local")
    return out


def run() -> None:
    """The ``neda`` console script: :data:`app`, with ``--dask [ADDRESS]``."""
    import sys

    app(args=dask_arguments(sys.argv[1:]), prog_name="neda")


def _print_table(table: Any) -> None:
    """A rich table: sized to the terminal by rich; written whole (never cut at 80 columns)
    when the output is a file or a pipe."""
    if console.is_terminal:
        console.print(table)
    else:
        # (console.print's width cannot exceed the console's: a console as wide as the table)
        whole = console.measure(table, options=console.options.update_width(10_000))
        Console(file=console.file, width=max(whole.maximum, console.width)).print(table)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"neda {version('neda')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print neda's version and exit.")] = False,
) -> None:
    """Multiple sclerosis disease-course analytics."""


# ------------------------------------------------------------------ options shared by commands
# Both `progression` and `course` read their files with the same options, through the same
# readers (neda.io), so that the two commands see the same tables.
SubjectCol = Annotated[str | None, typer.Option(
    help="Subject column of every file, when not 'subject'/'id'/'patient'.")]
DateCol = Annotated[str | None, typer.Option(
    help="Date column of every file (visit date, relapse onset, scan date), when not 'date'.")]
DateFormat = Annotated[str | None, typer.Option(
    help="strptime format of non-ISO dates, e.g. %d/%m/%Y (day and month are never guessed).")]
Decimal = Annotated[str, typer.Option(
    help="Decimal mark: auto (a decimal comma is read in ';' or tab files), '.' or ','.")]
Encoding = Annotated[str, typer.Option(
    help="CSV encoding: auto (UTF-8 with or without BOM, else Windows-1252) or a name.")]
Sheets = Annotated[list[str] | None, typer.Option(
    "--sheet", help="Excel sheet: NAME for the visits file, or TABLE=NAME (relapses=Attacks); "
    "repeat for several. Default: the only sheet, or the one named like the table.")]
Columns = Annotated[list[str] | None, typer.Option(
    "--column", help="A column name of one file: TABLE.COLUMN=HEADER, e.g. "
    "relapses.date='Onset date'; repeat for several.")]
RelapsesSubjectCol = Annotated[str | None, typer.Option(
    help="Subject column of the relapses file (if it differs from the visits file's).")]
RelapsesDateCol = Annotated[str | None, typer.Option(
    help="Onset column of the relapses file (if not 'date').")]
Cutoff = Annotated[str | None, typer.Option(
    help="Data cut-off YYYY-MM-DD: later dates are errors (default: today).")]
DateUnit = Annotated[str | None, typer.Option(
    help="Read whole numbers in date columns as days ('day'), counted from --date-origin.")]
DateOrigin = Annotated[str | None, typer.Option(
    help="Origin YYYY-MM-DD of day numbers (with --date-unit day; default 1970-01-01).")]
NoRelapses = Annotated[bool, typer.Option(
    "--no-relapses", help="State that no relapse occurred (no relapses file). Without "
    "--relapses or --no-relapses every worsening is unknown: RAW/PIRA need relapse data.")]
Dask = Annotated[str | None, typer.Option(
    "--dask", metavar="[ADDRESS]",
    help="Run per partition of patients on a Dask cluster: the scheduler at ADDRESS "
    "(tcp://host:8786), or a new local cluster when no address is given (Parquet files or "
    "folders of them; results identical to the run without Dask).")]
DroppedOut = Annotated[Path | None, typer.Option(
    "--dropped-out", help="Write the rows the readers and the engine left out or merged, "
    "with the reason (.csv or .parquet).")]


def _read_options(
    subject_col: SubjectCol = None,
    date_col: DateCol = None,
    date_format: DateFormat = None,
    decimal: Decimal = "auto",
    encoding: Encoding = "auto",
    sheet: Sheets = None,
    column: Columns = None,
    relapses_subject_col: RelapsesSubjectCol = None,
    relapses_date_col: RelapsesDateCol = None,
    cutoff: Cutoff = None,
    date_unit: DateUnit = None,
    date_origin: DateOrigin = None,
) -> dict[str, Any]:
    """Per-table :class:`neda.io.ReadOptions` from the command-line reading options.

    This signature declares the reading options of every command that reads files, once
    (:func:`_reads_files` puts them on the command line), so that their names, help and
    defaults are the same everywhere."""
    from neda.io import READERS, ReadOptions

    sheets, columns = sheet, column

    per_table: dict[str, dict[str, Any]] = {t: {"columns": {}} for t in READERS}
    for t in per_table:
        if subject_col:
            per_table[t]["columns"]["subject"] = subject_col
        if date_col and t in ("visits", "relapses", "mri", "pros"):
            per_table[t]["columns"]["date"] = date_col
    if relapses_subject_col:
        per_table["relapses"]["columns"]["subject"] = relapses_subject_col
    if relapses_date_col:
        per_table["relapses"]["columns"]["date"] = relapses_date_col
    for item in columns or []:
        key, sep, header = item.partition("=")
        table, dot, name = key.partition(".")
        if not sep or not dot or table not in per_table or not name or not header:
            raise typer.BadParameter(
                f"--column {item!r}: expected TABLE.COLUMN=HEADER with TABLE one of "
                f"{', '.join(per_table)}, e.g. relapses.date='Onset date'")
        per_table[table]["columns"][name] = header
    for item in sheets or []:
        table, sep, name = item.partition("=")
        if sep and table in per_table:
            per_table[table]["sheet"] = name
        else:
            per_table["visits"]["sheet"] = item
    if decimal not in ("auto", ".", ","):
        raise typer.BadParameter(f"--decimal {decimal!r}: use auto, '.' or ','")
    if date_unit not in (None, "day"):
        raise typer.BadParameter(f"--date-unit {date_unit!r}: the only unit is 'day'")
    out = {}
    for table, kw in per_table.items():
        try:
            out[table] = ReadOptions(date_format=date_format, decimal=decimal,  # type: ignore[arg-type]
                                     encoding=encoding, cutoff=cutoff, date_unit=date_unit,  # type: ignore[arg-type]
                                     date_origin=date_origin, **kw)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    return out


#: the default of a command's ``reading`` parameter, never used: :func:`_reads_files` passes it
_READING: dict[str, Any] = {}


def _reads_files(func: Any) -> Any:
    """A command that reads input files: its ``reading`` parameter (per-table
    :class:`neda.io.ReadOptions`) becomes, on the command line, the reading options declared
    by :func:`_read_options` (at the place of ``reading`` in the command's options)."""
    import functools
    import inspect

    own = inspect.signature(func, eval_str=True)
    options = inspect.signature(_read_options, eval_str=True).parameters
    params: list[inspect.Parameter] = []
    for name, p in own.parameters.items():
        params += options.values() if name == "reading" else [p]

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        reading = _read_options(**{n: kwargs.pop(n) for n in options})
        return func(reading=reading, **kwargs)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def _check_outputs(*paths: Path | None, suffixes: tuple[str, ...] = (".csv", ".parquet")
                   ) -> None:
    """Refuse an unusable output path before anything is computed."""
    for path in paths:
        if path is None:
            continue
        if path.suffix.lower() not in suffixes:
            raise typer.BadParameter(f"{path}: write {' or '.join(suffixes)}")
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise typer.BadParameter(f"{path}: cannot write there ({parent} is not a writable "
                                     "folder)")


def _announce_compile() -> None:
    """The first run compiles the engine (about a minute); say so instead of hanging."""
    from neda.course import kernel_is_compiled

    if not kernel_is_compiled():
        console.print("[dim]First run: compiling the course engine (about a minute; it is "
                      "cached for later runs)...[/dim]", highlight=False)


def _print_reports(tables: Any) -> None:
    for report in tables.reports():
        if report.dropped or report.merged or report.warnings:
            console.print(report.summary(), highlight=False, soft_wrap=True, markup=False)


def _input_failed(exc: Exception) -> typer.Exit:
    console.print(str(exc), style="red", highlight=False, soft_wrap=True, markup=False)
    return typer.Exit(1)


@app.command("data-model")
def data_model_command() -> None:
    """Print the data model (every table, column, type and meaning) as Markdown."""
    from neda.io import data_model_markdown

    typer.echo(data_model_markdown(), nl=False)


@app.command("demo-cohort")
def demo_cohort_command(
    patients: Annotated[int, typer.Option(min=1, help="Number of synthetic patients.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same cohort.")] = 0,
    out: Annotated[
        Path, typer.Option(file_okay=False, help="Directory for the CSV tables.")
    ] = Path("build/demo"),
    registry: Annotated[bool, typer.Option(
        "--registry/--visits-only",
        help="Also write treatments.csv, mri.csv, pros.csv and labs.csv (default).")] = True,
) -> None:
    """Write a synthetic cohort (visits, relapses, treatments, MRI, PROs, labs) to try neda
    on."""
    from neda.demo import write_demo_cohort, write_demo_registry

    if registry:
        paths = write_demo_registry(out, patients, seed=seed)
    else:
        paths = dict(zip(("visits", "relapses"), write_demo_cohort(out, patients, seed=seed),
                         strict=True))
    what = {
        "visits": "visits: id, date, edss, nhpt, t25fw, sdmt, fs_pyramidal",
        "relapses": "relapses: id, date (+ pseudo, objective, steroids)",
        "treatments": "DMT courses: id, drug, start, stop, stop_reason",
        "mri": "scans: id, date, comparator_date, contrast, gd, new_t2, enlarging_t2, pbvc",
        "pros": "item answers: id, date, instrument, item, response",
        "labs": "safety labs: id, date, test, result",
    }
    lines = [f"Wrote [bold]{patients}[/bold] synthetic patients (seed {seed}):"]
    for name, path in paths.items():
        lines.append(f"  {path}  [dim]{_count_rows(path)} {what[name]}[/dim]")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def _count_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def _numbers(text: str | None, name: str) -> tuple[float, ...] | None:
    """'30' -> (30,), '30,0' -> (30, 0), 'inf' allowed; None stays None."""
    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.replace(" ", "").split(",") if x != "")
    except ValueError as exc:
        raise typer.BadParameter(
            f"{name}: expected numbers separated by commas, got {text!r}"
        ) from exc


def _window(text: str | None, name: str) -> tuple[float | None, float | None] | None:
    """'90,30' -> (90, 30); 'none,30' -> (None, 30) (open end, msprog's None)."""
    if text is None:
        return None
    parts = [p.strip().lower() for p in text.split(",")]
    if len(parts) != 2:
        raise typer.BadParameter(f"{name}: expected two values 'before,after', got {text!r}")
    try:
        lo, hi = (None if p in ("none", "null", "") else float(p) for p in parts)
    except ValueError as exc:
        raise typer.BadParameter(f"{name}: expected numbers or 'none', got {text!r}") from exc
    return (lo, hi)


@app.command("progression")
@_reads_files
def progression_command(
    visits: Annotated[
        Path, typer.Argument(exists=True, help="Visits: CSV, Parquet or Excel (with --dask: "
                             "Parquet files or a folder of them).")
    ],
    relapses: Annotated[Path | None, typer.Option(
        exists=True, help="Relapses (subject, onset date, optional pseudo, "
        "objective, ...); cleaned by relapse hygiene.")] = None,
    no_relapses: NoRelapses = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write events to .csv or .parquet.")
    ] = None,
    summary_out: Annotated[
        Path | None,
        typer.Option("--summary-out", help="Write the per-subject summary to .csv or .parquet."),
    ] = None,
    methods: Annotated[bool, typer.Option(help="Print the methods paragraph.")] = False,
    unconfirmed_out: Annotated[Path | None, typer.Option(
        "--unconfirmed-out", help="Write unconfirmed worsening at the last visit.")] = None,
    subjects: Annotated[str | None, typer.Option(
        help="Only these subjects (comma-separated identifiers).")] = None,
    validconf_col: Annotated[str | None, typer.Option(
        help="Column (yes/no) marking visits that may confirm an event.")] = None,
    value_col: Annotated[
        str | None, typer.Option(help="Outcome column (default: the outcome name).")
    ] = None,
    dropped_out: DroppedOut = None,
    dask: Dask = None,
    reading: dict[str, Any] = _READING,
    preset: Annotated[
        str,
        typer.Option(
            help="Definition: mueller2023 (default), kappos2020, "
            "cagol2022, mueller2023_strict, mueller2025, "
            "portaccio2025, msprog_defaults."
        ),
    ] = "mueller2023",
    outcome: Annotated[str, typer.Option(help="edss, t25fw, nhpt or sdmt.")] = "edss",
    event: Annotated[
        str | None, typer.Option(help="multiple, firstCDW, firstCDI, first, firstPIRA, firstRAW.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="roving, roving_wors, roving_impr, fixed.")
    ] = None,
    edss_thresholds: Annotated[
        str | None, typer.Option(help="three_strata, msprog, trial_le5.5, expand.")
    ] = None,
    cdi_thresholds: Annotated[
        str | None, typer.Option(help="same_as_worsening or kalincik2015.")
    ] = None,
    roving_after_improvement: Annotated[
        str | None, typer.Option(help="threshold or any_lower.")
    ] = None,
    sub_threshold_rebl: Annotated[
        str | None, typer.Option(help="none, improvement, worsening, event.")
    ] = None,
    proceed_from: Annotated[str | None, typer.Option(help="firstconf or event.")] = None,
    relapse_rebl: Annotated[
        bool | None,
        typer.Option("--relapse-rebl/--no-relapse-rebl", help="Re-baseline after each relapse."),
    ] = None,
    bl_geq: Annotated[
        bool | None,
        typer.Option(
            "--bl-geq/--no-bl-geq", help="Never lower the reference (with --relapse-rebl)."
        ),
    ] = None,
    skip_local_extrema: Annotated[str | None, typer.Option(help="none, strict, all.")] = None,
    relapse_to_bl: Annotated[
        str | None, typer.Option(help="Days 'after,before', e.g. 30,0.")
    ] = None,
    relapse_to_event: Annotated[str | None, typer.Option(help="Days 'after,before'.")] = None,
    relapse_to_conf: Annotated[str | None, typer.Option(help="Days 'after,before'.")] = None,
    relapse_assoc: Annotated[
        str | None, typer.Option(help="RAW window 'before,after' the onset, e.g. 90,0.")
    ] = None,
    relapse_indep_prec: Annotated[
        str | None, typer.Option(help="PIRA window around the reference, e.g. 0,0 or 0,none.")
    ] = None,
    relapse_indep_event: Annotated[
        str | None, typer.Option(help="PIRA window around the onset, e.g. 90,30.")
    ] = None,
    relapse_indep_conf: Annotated[
        str | None, typer.Option(help="PIRA window around confirmation, e.g. 90,30.")
    ] = None,
    prec_type: Annotated[str | None, typer.Option(help="baseline, last, last_delta.")] = None,
    conf_days: Annotated[
        str | None, typer.Option(help="Confirmation period(s), e.g. 84,168.")
    ] = None,
    conf_tol_days: Annotated[
        str | None, typer.Option(help="Tolerance 'before,after', e.g. 0,inf or 7,730.5.")
    ] = None,
    require_sust_days: Annotated[
        float | None,
        typer.Option(help="Keep events sustained this many days (inf: to the last visit)."),
    ] = None,
    check_intermediate: Annotated[
        bool | None, typer.Option("--check-intermediate/--no-check-intermediate",
                                  help="Every visit up to the confirmation must be worse.")
    ] = None,
    attribution: Annotated[
        bool | None, typer.Option("--attribution/--no-attribution", help="Classify RAW / PIRA.")
    ] = None,
    confirm_magnitude: Annotated[
        str | None, typer.Option(help="threshold_vs_reference or at_or_above_onset.")
    ] = None,
    impute_last_visit: Annotated[float | None, typer.Option(
        help="Impute a worsening at the last visit: 0 never, 1 always, N>1 within N days.")
    ] = None,
    death_confirms: Annotated[
        bool | None, typer.Option("--death-confirms/--no-death-confirms",
                                  help="An EDSS of 10 confirms itself.")
    ] = None,
    require_ascertainment: Annotated[
        bool | None, typer.Option("--require-ascertainment/--no-require-ascertainment",
                                  help="PIRA needs its windows inside relapse follow-up.")
    ] = None,
    history_lookback_days: Annotated[float | None, typer.Option(
        help="Days before the first visit counted as relapse follow-up.")] = None,
    timed_test_pct: Annotated[float | None, typer.Option(
        help="T25FW / 9HPT worsening in percent of the reference (default 20).")] = None,
    sdmt_points: Annotated[float | None, typer.Option(
        help="SDMT worsening in points (default 4).")] = None,
    sdmt_pct: Annotated[float | None, typer.Option(
        help="SDMT worsening in percent of the reference (default 10).")] = None,
    sdmt_combine: Annotated[str | None, typer.Option(help="or, and, points.")] = None,
    practice_effect_visits: Annotated[int | None, typer.Option(
        help="SDMT / 9HPT: the reference is the best of the first N (default 2).")] = None,
) -> None:
    """Confirmed disability worsening / improvement, RAW and PIRA for every subject."""
    import time

    from neda.course import CourseOptions, RelapseIndependence

    value_col = value_col or outcome
    changes: dict[str, object] = {}
    plain = dict(
        event=event,
        baseline=baseline,
        edss_thresholds=edss_thresholds,
        cdi_thresholds=cdi_thresholds,
        roving_after_improvement=roving_after_improvement,
        sub_threshold_rebl=sub_threshold_rebl,
        proceed_from=proceed_from,
        relapse_rebl=relapse_rebl,
        bl_geq=bl_geq,
        skip_local_extrema=skip_local_extrema,
        require_sust_days=require_sust_days,
        check_intermediate=check_intermediate,
        attribution=attribution,
        confirm_magnitude=confirm_magnitude,
        death_confirms=death_confirms,
        impute_last_visit=impute_last_visit,
        require_ascertainment=require_ascertainment,
        history_lookback_days=history_lookback_days,
        timed_test_pct=timed_test_pct,
        sdmt_points=sdmt_points,
        sdmt_pct=sdmt_pct,
        sdmt_combine=sdmt_combine,
        practice_effect_visits=practice_effect_visits,
        relapse_to_bl=_numbers(relapse_to_bl, "--relapse-to-bl"),
        relapse_to_event=_numbers(relapse_to_event, "--relapse-to-event"),
        relapse_to_conf=_numbers(relapse_to_conf, "--relapse-to-conf"),
        relapse_assoc=_numbers(relapse_assoc, "--relapse-assoc"),
        conf_days=_numbers(conf_days, "--conf-days"),
        conf_tol_days=_numbers(conf_tol_days, "--conf-tol-days"),
    )
    changes.update({k: v for k, v in plain.items() if v is not None})
    if outcome != "edss":
        changes["outcome"] = outcome
    windows = {
        k: _window(v, f"--relapse-indep-{k}")
        for k, v in (
            ("prec", relapse_indep_prec),
            ("event", relapse_indep_event),
            ("conf", relapse_indep_conf),
        )
    }
    if any(v is not None for v in windows.values()) or prec_type is not None:
        base = CourseOptions.from_preset(preset).relapse_indep
        changes["relapse_indep"] = RelapseIndependence(
            prec=windows["prec"] or base.prec,
            event=windows["event"] or base.event,
            conf=windows["conf"] or base.conf,
            prec_type=prec_type or base.prec_type,
        )
    try:
        opts = CourseOptions.from_preset(preset, **changes)
    except (ValueError, TypeError) as exc:
        console.print(f"[red]Invalid options:[/red] {exc}")
        raise typer.Exit(2) from exc

    if relapses is not None and no_relapses:
        raise typer.BadParameter("give --relapses FILE or --no-relapses, not both")
    _check_outputs(output, summary_out, unconfirmed_out, dropped_out)
    t0 = time.perf_counter()
    if dask is not None:
        if subjects is not None or no_relapses:
            raise typer.BadParameter("--subjects and --no-relapses run without --dask")
        result, tables = _progression_on_dask(dask, reading, visits, relapses, opts, value_col,
                                              validconf_col)
        n_visits = int(tables.visits.attrs["report"].rows_kept)
        t_read = None  # the workers read each partition as they compute it: one figure
    else:
        result, tables, n_visits, t_read = _progression_in_memory(
            reading, visits, relapses, no_relapses, subjects, opts, value_col, validconf_col,
            t0)
    t_total = time.perf_counter() - t0

    _print_progression(result, n_visits, t_read, t_total)
    if methods:
        console.print("\n[bold]Methods[/bold]\n" + result.describe(), highlight=False)
    dropped = _dropped_table(tables, result.dropped)
    for path, frame in ((output, result.events), (summary_out, result.summary),
                        (unconfirmed_out, result.unconfirmed), (dropped_out, dropped)):
        if path is not None:
            _write_table(frame, path)
            console.print(f"Wrote {path} ({len(frame)} rows)", highlight=False, soft_wrap=True)


def _progression_on_dask(dask: str, reading: dict[str, Any], visits: Path,
                         relapses: Path | None, opts: CourseOptions, value_col: str,
                         validconf_col: str | None) -> tuple[CourseResult, Any]:
    """``neda progression --dask``: the engine per partition of patients on a cluster."""
    from neda.cohort.distributed import confirmed_events_dask
    from neda.io import InputError

    _no_relapse_warning(relapses is None)
    reports: list[Any] = []
    try:
        result = confirmed_events_dask(
            visits, relapses, opts, value=value_col, validconf=validconf_col,
            read_options=reading, client=None if dask == "local" else dask, reports=reports)
    except InputError as exc:
        raise _input_failed(exc) from exc
    except ConnectionError as exc:
        console.print(f"[red]--dask:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    _print_reports(reports[0])
    return result, reports[0]


def _progression_in_memory(reading: dict[str, Any], visits: Path, relapses: Path | None,
                           no_relapses: bool, subjects: str | None, opts: CourseOptions,
                           value_col: str, validconf_col: str | None, t0: float
                           ) -> tuple[CourseResult, Any, int, float]:
    import time

    tables = _read_inputs(reading, visits, relapses, no_relapses, outcome=value_col,
                          validconf=validconf_col)
    vis, rel = tables.visits, tables.relapses
    assert vis is not None
    if subjects is not None:
        # after reading, so relapses are checked against every subject's visits
        wanted = {x.strip() for x in subjects.split(",") if x.strip()}
        vis = vis[vis["subject"].astype(str).isin(wanted)].reset_index(drop=True)
        if vis.empty:
            console.print(
                f"[red]None of the subjects {sorted(wanted)} is in {visits}.[/red]",
                soft_wrap=True,
            )
            raise typer.Exit(1)
        if rel is not None:
            rel = rel[rel["subject"].isin(vis["subject"].unique())]
    _print_reports(tables)
    _no_relapse_warning(rel is None)
    t_read = time.perf_counter() - t0
    _announce_compile()
    result = _run_with_progress(vis, rel, opts, value_col, validconf_col)
    return result, tables, len(vis), t_read


def _read_inputs(reading: dict[str, Any], visits: Path, relapses: Path | None,
                 no_relapses: bool, *, outcome: str = "edss", validconf: str | None = None,
                 mri: Path | None = None, treatments: Path | None = None,
                 pros: Path | None = None, patients: Path | None = None,
                 followup: Path | None = None, labs: Path | None = None) -> Any:
    """Every input file through the validated readers (one InputError listing every problem
    of every file), subject identifiers compared across files."""
    import pandas as pd

    from neda.io import SCHEMAS, InputError, Tables, check_subjects, read_table, read_tables

    errors: list[InputError] = []
    known = set(SCHEMAS["visits"].names)
    extra = {} if outcome in known else {outcome: "number"}
    if validconf:
        extra[validconf] = "flag"
    vis = None
    try:
        with console.status("Reading and checking the input..."):
            vis = read_table(visits, "visits", reading["visits"],
                             required=[outcome] if outcome in known else [], extra=extra)
    except InputError as exc:
        errors.append(exc)
    others: Tables | None = None
    try:
        with console.status("Reading and checking the input..."):
            others = read_tables(reading, relapses=relapses, mri=mri, treatments=treatments,
                                 pros=pros, labs=labs, patients=patients, followup=followup)
    except InputError as exc:
        errors.append(exc)
    if errors:
        raise _input_failed(InputError.combine(errors))
    assert others is not None
    frames: dict[str, pd.DataFrame | None] = {
        name: getattr(others, name) for name in ("relapses", "mri", "treatments", "pros",
                                                 "labs", "patients", "followup")}
    if no_relapses:
        # stated: relapses were recorded and none occurred
        frames["relapses"] = read_table(pd.DataFrame({"subject": [], "date": []}), "relapses",
                                        file_label="--no-relapses")
    try:
        checked = check_subjects({"visits": vis, **frames})
    except InputError as exc:
        raise _input_failed(exc) from exc
    return Tables(**checked)


def _no_relapse_warning(missing: bool) -> None:
    if missing:
        console.print(
            "[yellow]No relapses file: relapse activity is unknown, so every confirmed "
            "worsening is reported as unknown (never PIRA). Give --relapses FILE, or "
            "--no-relapses if no relapse occurred.[/yellow]", soft_wrap=True)


def _dropped_table(tables: Any, engine_dropped: Any) -> Any:
    """Rows the readers left out or merged, then the engine's, in one table."""
    import pandas as pd

    read = tables.dropped()
    eng = pd.DataFrame({"file": "(engine)", "row": engine_dropped.get("row", []),
                        "action": "left out",
                        "reason": engine_dropped.get("reason", []),
                        "subject": engine_dropped.get("subject", []),
                        "date": engine_dropped.get("date", [])})
    return pd.concat([read, eng], ignore_index=True)


def _run_with_progress(
    vis: pd.DataFrame,
    rel: pd.DataFrame | None,
    opts: CourseOptions,
    value_col: str,
    validconf_col: str | None = None,
) -> CourseResult:
    """Run the engine; on large cohorts in chunks of subjects so a progress bar can move."""
    import pandas as pd
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from neda.course import CourseResult, confirmed_events

    subjects = vis["subject"].unique()
    chunk = 20_000
    if len(subjects) <= chunk:
        return confirmed_events(
            vis, rel, opts, subject="subject", date="date", value=value_col,
            validconf=validconf_col,
        )
    parts = []
    with Progress(
        TextColumn("Scanning subjects"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("scan", total=len(subjects))
        for i in range(0, len(subjects), chunk):
            ids = subjects[i : i + chunk]
            v = vis[vis["subject"].isin(ids)]
            r = None if rel is None else rel[rel["subject"].isin(ids)]
            parts.append(
                confirmed_events(
                    v, r, opts, subject="subject", date="date", value=value_col,
                    validconf=validconf_col,
                )
            )
            bar.update(task, advance=len(ids))
    return CourseResult(
        events=pd.concat([p.events for p in parts], ignore_index=True),
        summary=pd.concat([p.summary for p in parts], ignore_index=True),
        unconfirmed=pd.concat([p.unconfirmed for p in parts], ignore_index=True),
        dropped=pd.concat([p.dropped for p in parts], ignore_index=True),
        options=opts,
        provenance=parts[0].provenance,
        relapse_options=parts[0].relapse_options,
    )


def _print_progression(
    result: CourseResult, n_visits: int, t_read: float | None, t_total: float
) -> None:
    from rich.table import Table

    s = result.summary
    ev = result.events
    cdw = ev[ev.event_type == "CDW"]
    overview = Table(title=f"Disease course ({result.options.preset})", show_header=False)
    overview.add_column(style="bold")
    overview.add_column(justify="right")
    overview.add_row("Subjects", f"{len(s):,}")
    overview.add_row("Visits", f"{n_visits:,}")
    overview.add_row("Subjects with a confirmed worsening (CDW)", f"{(s.CDW > 0).sum():,}")
    for cls in ("RAW", "PIRA", "undefined", "unknown", "not_classified"):
        n = int((cdw.cdw_class == cls).sum())
        if n or cls in ("RAW", "PIRA"):
            overview.add_row(f"  CDW events classified {cls}", f"{n:,}")
    overview.add_row("CDW events", f"{len(cdw):,}")
    overview.add_row("Confirmed improvements (CDI)", f"{int((ev.event_type == 'CDI').sum()):,}")
    overview.add_row("Unconfirmed worsening at last visit", f"{len(result.unconfirmed):,}")
    if t_read is None:
        overview.add_row("Time (read and compute, on Dask)", f"{t_total:.2f} s")
    else:
        overview.add_row("Time (read + compute)", f"{t_read:.2f} s + {t_total - t_read:.2f} s")
    _print_table(overview)
    per = Table(title="Per subject (first 10; --summary-out for all)")
    for c in (
        "subject",
        "n_visits",
        "follow_up_days",
        "CDW",
        "RAW",
        "PIRA",
        "CDI",
        "event_sequence",
    ):
        per.add_column(c)
    for _, r in s.head(10).iterrows():
        per.add_row(
            *(
                str(r[c])
                for c in (
                    "subject",
                    "n_visits",
                    "follow_up_days",
                    "CDW",
                    "RAW",
                    "PIRA",
                    "CDI",
                    "event_sequence",
                )
            )
        )
    _print_table(per)


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise typer.BadParameter(f"{path}: write .csv or .parquet")


@app.command("course")
@_reads_files
def course_command(
    visits: Annotated[Path, typer.Argument(exists=True,
                                           help="Visits: subject, date, edss (+ tests, FS).")],
    relapses: Annotated[Path | None, typer.Option(
        exists=True, help="Relapses (cleaned by relapse hygiene).")] = None,
    no_relapses: NoRelapses = False,
    mri: Annotated[Path | None, typer.Option(exists=True,
                                             help="MRI scans (one row per read scan).")] = None,
    treatments: Annotated[Path | None, typer.Option(
        exists=True, help="DMT courses (drug, start, stop).")] = None,
    pros: Annotated[Path | None, typer.Option(
        exists=True, help="PRO item answers.")] = None,
    labs: Annotated[Path | None, typer.Option(
        exists=True, help="Safety laboratory tests (subject, date, test, "
        "result): which are due (rules §14.4).")] = None,
    patients: Annotated[Path | None, typer.Option(
        exists=True, help="Patients: birth date, sex, diagnosis, course.")
    ] = None,
    followup: Annotated[Path | None, typer.Option(
        exists=True, help="Relapse ascertainment periods (subject, start, "
        "end); default: first to last visit.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The date 'now' refers to (current therapy, the last 12 months, what "
        "is due); default: the latest date in the data.")] = None,
    patient: Annotated[str | None, typer.Option(
        help="Show this patient's course (default: the cohort overview).")] = None,
    format: Annotated[str, typer.Option(help="markdown or json (with --patient).")
                      ] = "markdown",
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", file_okay=False, help="Folder for the cohort tables (CSV).")] = None,
    preset: Annotated[str, typer.Option(help="Definition of worsening (see progression).")
                      ] = "mueller2023",
    methods: Annotated[bool, typer.Option(help="Print the methods paragraph.")] = False,
    dropped_out: DroppedOut = None,
    dask: Dask = None,
    parquet_out: Annotated[Path | None, typer.Option(
        "--parquet-out", file_okay=False,
        help="With --dask: the workers write every cohort table to this folder as a "
        "partitioned Parquet dataset (one file per partition) instead of gathering them.")
    ] = None,
    reading: dict[str, Any] = _READING,
) -> None:
    """The whole course per patient: therapy and NEDA, relapses, worsening (RAW/PIRA/PIRMA),
    phenotype, latest scores, and a plain-language paragraph."""
    from neda.course import CourseOptions
    from neda.summary import SummaryOptions, summarise

    if relapses is not None and no_relapses:
        raise typer.BadParameter("give --relapses FILE or --no-relapses, not both")
    if format not in ("markdown", "json"):
        raise typer.BadParameter(f"--format {format!r}: markdown or json")
    _check_outputs(dropped_out)
    if output is not None and output.exists() and not output.is_dir():
        raise typer.BadParameter(f"-o {output}: a file of that name exists; give a folder")
    try:
        if as_of is not None:
            as_of = datetime.date.fromisoformat(as_of).isoformat()
        options = SummaryOptions(course=CourseOptions.from_preset(preset), as_of=as_of)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if parquet_out is not None and dask is None:
        raise typer.BadParameter("--parquet-out goes with --dask")
    if dask is not None:
        if patient is not None or no_relapses:
            raise typer.BadParameter("--patient and --no-relapses run without --dask")
        summary = _course_on_dask(dask, reading, options, parquet_out, visits=visits,
                                  relapses=relapses, mri=mri, treatments=treatments, pros=pros,
                                  labs=labs, patients=patients, followup=followup)
        if summary is None:
            return
        tables = summary.inputs
    else:
        tables = None
        summary = None
    if tables is None:
        tables = _read_inputs(reading, visits, relapses, no_relapses, mri=mri,
                          treatments=treatments, pros=pros, patients=patients,
                          followup=followup, labs=labs)
    _print_reports(tables)
    _no_relapse_warning(tables.relapses is None)
    if summary is None and patient is not None:
        # one patient: only their rows go through the rules
        assert tables.visits is not None
        ids = tables.visits["subject"].unique()
        known = [s for s in ids if str(s) == str(patient)]
        if not known:
            shown = ", ".join(str(s) for s in ids[:3])
            console.print(f"[red]no patient {patient!r} in {visits}[/red] (its identifiers are "
                          f"written like {shown}{' ...' if len(ids) > 3 else ''})",
                          markup=True, highlight=False)
            raise typer.Exit(1)
        tables = _only_subject(tables, known[0])
    if summary is None:
        _announce_compile()
        try:
            summary = _summarise_with_progress(summarise, tables, options)
        except ValueError as exc:
            console.print("[red]Cannot compute the course:[/red]")
            console.print(str(exc), highlight=False, soft_wrap=True, markup=False)
            raise typer.Exit(1) from exc
    if dropped_out is not None:
        _write_table(_dropped_table(tables, summary.dropped), dropped_out)
        console.print(f"Wrote {dropped_out}", highlight=False, soft_wrap=True)
    if patient is not None:
        one = summary.patient(patient)
        text = one.to_json() if format == "json" else one.to_markdown()
        typer.echo(text)
        return
    _print_cohort_overview(summary)
    if methods:
        console.print("\n[bold]Methods[/bold]\n" + summary.describe(), highlight=False)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        for name in ("patients", "epochs", "relapses", "events", "scores", "neda"):
            frame = getattr(summary, name)
            frame.to_csv(output / f"{name}.csv", index=False)
        console.print(f"Wrote patients, epochs, relapses, events, scores and neda tables to "
                      f"{output}", soft_wrap=True)


def _course_on_dask(dask: str, reading: dict[str, Any], options: Any,
                    parquet_out: Path | None, **paths: Any) -> Any:
    """``neda course --dask``: course_summary per partition of patients on a cluster; None
    when the workers wrote the tables (``--parquet-out``)."""
    from neda.cohort.distributed import course_summary_dask
    from neda.io import InputError

    try:
        summary = course_summary_dask(**paths, options=options, read_options=reading,
                                      client=None if dask == "local" else dask,
                                      output=parquet_out)
    except InputError as exc:
        raise _input_failed(exc) from exc
    except ConnectionError as exc:
        console.print(f"[red]--dask:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:
        console.print("[red]Cannot compute the course:[/red]")
        console.print(str(exc), highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1) from exc
    if isinstance(summary, Path):
        console.print(f"Wrote the cohort tables to {summary} (one Parquet file per partition "
                      "in each table's folder)", highlight=False, soft_wrap=True)
        return None
    return summary


def _only_subject(tables: Any, subject: Any) -> Any:
    from neda.io import Tables

    out = {}
    for name in ("visits", "relapses", "mri", "treatments", "pros", "labs", "patients",
                 "followup"):
        frame = getattr(tables, name)
        out[name] = None if frame is None else frame[frame["subject"] == subject]
    return Tables(**out)


def _summarise_with_progress(summarise: Any, tables: Any, options: Any,
                             min_visits: int = 50_000) -> Any:
    """The summary, with a progress bar over its stages on inputs of ``min_visits`` visits or
    more."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    n = len(tables.visits) if tables.visits is not None else 0
    if n < min_visits:
        return summarise(tables, options=options)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("Computing the course", total=None)

        def stage(name: str, done: int, total: int) -> None:
            bar.update(task, description=f"Computing the course: {name}", completed=done,
                       total=total)

        return summarise(tables, options=options, progress=stage)


def _print_cohort_overview(summary: Any) -> None:
    from rich.table import Table

    p = summary.patients
    t = Table(title="Cohort course overview", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("Patients", f"{len(p):,}")
    t.add_row("On a DMT at last contact", f"{int(p['current_dmt'].notna().sum()):,}")
    t.add_row("With a confirmed worsening (CDW)", f"{int((p['CDW'] > 0).sum()):,}")
    t.add_row("  with RAW / PIRA / PIRMA",
              f"{int((p['RAW'] > 0).sum()):,} / {int((p['PIRA'] > 0).sum()):,} / "
              f"{int((p['PIRMA'] > 0).sum()):,}")
    counted = p["relapses"].dropna()
    t.add_row("Relapses (after relapse hygiene)",
              f"{int(counted.sum()):,}" if len(counted) else "not recorded")
    _print_table(t)


# ------------------------------------------------------------------ the clinic's backups
def _clinic_command(name: str, *args: str) -> None:
    """Run one of the clinic's management commands (``neda-admin NAME ...``) with the
    clinic's settings (``DJANGO_SETTINGS_MODULE=neda.web.settings`` unless set; the database
    from ``DATABASE_URL`` / ``NEDA_DATA_DIR``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neda.web.settings")
    import django
    from django.core.management import call_command
    from django.core.management.base import CommandError

    django.setup()
    try:
        call_command(name, *args)
    except CommandError as exc:
        console.print(f"neda {name}: {exc}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1) from None


@app.command("backup")
def backup_command(
    clinic: Annotated[str, typer.Option("--clinic", help="The clinic's name.")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", dir_okay=False,
        help="The backup file (.json, or .json.gz compressed); readable by its owner only.")],
    no_accounts: Annotated[bool, typer.Option(
        "--no-accounts", help="Leave out the staff and patient accounts.")] = False,
) -> None:
    """Save every row of a clinic (patients, records with their deleted state, audit trail,
    accounts with password hashes) in one file: 'neda-admin backup'."""
    _clinic_command("backup", "--clinic", clinic, "-o", str(output),
                    *(["--no-accounts"] if no_accounts else []))


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="A file made by 'neda backup'.")],
    clinic: Annotated[str | None, typer.Option(
        "--clinic", help="Restore under this name (default: the name in the backup).")] = None,
    no_accounts: Annotated[bool, typer.Option(
        "--no-accounts", help="Leave out the accounts of the backup.")] = False,
) -> None:
    """Put back a clinic saved by 'neda backup', all or nothing: 'neda-admin restore'."""
    _clinic_command("restore", str(file), *(["--clinic", clinic] if clinic else []),
                    *(["--no-accounts"] if no_accounts else []))


# ------------------------------------------------------------------ cohort analyses
cohort_app = typer.Typer(
    name="cohort",
    help="Cohort analyses registries publish: Kaplan-Meier time to first event, NEDA "
    "proportions per therapy, relapse rates and rate ratios, table one, one HTML report. "
    "Each reads the input files through the same readers and course_summary as 'neda "
    "course'.",
    no_args_is_help=True,
)
app.add_typer(cohort_app, name="cohort")

# the tables a folder given as DATA may hold, found by name (visits.csv, relapses.parquet, ...)
_COHORT_TABLES = ("visits", "relapses", "mri", "treatments", "patients", "followup")
_TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx", ".xls", ".tsv", ".txt")


def _cohort_input_options(
    data: Annotated[Path, typer.Argument(
        exists=True, help="A folder holding visits.csv and, found by name, relapses, "
        "treatments, mri, patients, followup (.csv, .parquet or .xlsx) - e.g. the folder "
        "'neda demo-cohort' writes; or the visits file itself.")],
    relapses: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Relapses (cleaned by relapse hygiene); default: "
        "the folder's relapses file.")] = None,
    no_relapses: NoRelapses = False,
    mri: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="MRI scans; default: the folder's mri file.")
    ] = None,
    treatments: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="DMT courses; default: the folder's treatments "
        "file.")] = None,
    patients: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Patients (birth date, sex, onset, phenotype); "
        "default: the folder's patients file.")] = None,
    followup: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Relapse ascertainment periods; default: the "
        "folder's followup file, else first to last visit.")] = None,
    preset: Annotated[str, typer.Option(
        help="Definition of worsening (see 'neda progression --help').")] = "mueller2023",
    reading: dict[str, Any] = _READING,
) -> None:
    """The input options every 'neda cohort' command takes (see :func:`_cohort_command`)."""


def _cohort_command(func: Any) -> Any:
    """A 'neda cohort' command: ``func(summary, **own_options)`` gets the course summary of
    the input files; its signature gains the input options of
    :func:`_cohort_input_options` (the same readers and reading options as 'neda course')."""
    import functools
    import inspect

    own = inspect.signature(func, eval_str=True)
    shared = inspect.signature(_cohort_input_options, eval_str=True)
    names = list(shared.parameters)
    params = [shared.parameters["data"],
              *(p for n, p in own.parameters.items() if n != "summary"),
              *(p for n, p in shared.parameters.items() if n != "data")]

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        inputs = {n: kwargs.pop(n) for n in names}
        return func(_cohort_summary(**inputs), **kwargs)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return _reads_files(command)


def _find_table(folder: Path, name: str) -> Path | None:
    for suffix in _TABLE_SUFFIXES:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def _cohort_summary(data: Path, relapses: Path | None, no_relapses: bool, mri: Path | None,
                    treatments: Path | None, patients: Path | None, followup: Path | None,
                    preset: str, reading: dict[str, Any]) -> Any:
    """The input files read and checked as 'neda course' reads them, then course_summary."""
    from neda.course import CourseOptions
    from neda.summary import SummaryOptions, summarise

    given = {"relapses": relapses, "mri": mri, "treatments": treatments,
             "patients": patients, "followup": followup}
    if data.is_dir():
        visits = _find_table(data, "visits")
        if visits is None:
            raise typer.BadParameter(f"{data}: no visits file in this folder (visits.csv, "
                                     ".parquet or .xlsx); give the folder of the tables or "
                                     "the visits file")
        for name in given:
            if given[name] is None and not (name == "relapses" and no_relapses):
                given[name] = _find_table(data, name)
    else:
        visits = data
    if given["relapses"] is not None and no_relapses:
        raise typer.BadParameter("give --relapses FILE or --no-relapses, not both (a folder's "
                                 "relapses file counts as given)")
    try:
        options = SummaryOptions(course=CourseOptions.from_preset(preset))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    tables = _read_inputs(reading, visits, given["relapses"], no_relapses, mri=given["mri"],
                          treatments=given["treatments"], patients=given["patients"],
                          followup=given["followup"])
    _print_reports(tables)
    _no_relapse_warning(tables.relapses is None)
    _announce_compile()
    try:
        # the analyses are quick: the course is the long part, so it always shows its stages
        return _summarise_with_progress(summarise, tables, options, min_visits=1_000)
    except ValueError as exc:
        console.print("[red]Cannot compute the course:[/red]")
        console.print(str(exc), highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1) from exc


def _analysis_failed(exc: Exception) -> typer.Exit:
    console.print(f"[red]Cannot compute the analysis:[/red] {exc}", highlight=False,
                  soft_wrap=True)
    return typer.Exit(1)


def _print_frame(frame: pd.DataFrame, title: str, index: bool = False,
                 infinite: str = "inf") -> None:
    """A result table on the terminal (the written files keep every value as computed).
    ``infinite``: what an infinite figure means here (a Kaplan-Meier median not reached)."""
    from rich.table import Table

    t = Table(title=title)
    if index:
        t.add_column(str(frame.index.name or ""))
    for c in frame.columns:
        t.add_column(str(c), justify="left" if frame[c].dtype == object else "right")
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = [_figure(v, infinite) for v in row]
        t.add_row(*([str(label)] if index else []), *cells)
    _print_table(t)


def _figure(value: Any, infinite: str) -> str:
    """One cell: three significant digits, but whole numbers from 1,000 on (person-years
    read "1,204", not "1.2e+03"); "–" for a figure that cannot be computed (the proportion of
    no window), as in the report; yes/no for flags."""
    import numpy as np

    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if not isinstance(value, float | np.floating):
        return str(value)
    x = float(value)
    if x != x:
        return "–"
    if np.isinf(x):
        return infinite if x > 0 else f"-{infinite}"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _figure_out(fig: Any, path: Path) -> None:
    """Write a figure: .png or .svg by the suffix; no suffix: both."""
    from neda.cohort.figures import save_figure

    suffix = path.suffix.lower().lstrip(".")
    formats = (suffix,) if suffix else ("png", "svg")
    for written in save_figure(fig, path, formats):
        console.print(f"Wrote {written}", highlight=False, soft_wrap=True)


def _check_figure(path: Path | None) -> None:
    """Refuse a figure path that is neither .png, .svg nor without suffix, before the
    analysis runs."""
    if path is not None and path.suffix.lower() not in ("", ".png", ".svg"):
        raise typer.BadParameter(f"--figure {path}: give a .png or .svg path, or a path "
                                 "without suffix for both")
    _check_outputs(path, suffixes=("", ".png", ".svg"))


def _years_list(text: str | None, name: str) -> tuple[float, ...] | None:
    values = _numbers(text, name)
    if values is not None and any(v < 0 for v in values):
        raise typer.BadParameter(f"{name}: years are 0 or more, got {text!r}")
    return values


FigureOut = Annotated[Path | None, typer.Option(
    "--figure", help="Write the figure: a .png or .svg path, or a path without suffix for "
    "both.")]
Confidence = Annotated[float, typer.Option(
    min=0.5, max=0.999, help="Level of every confidence interval.")]


@cohort_app.command("km")
@_cohort_command
def cohort_km_command(
    summary: Any,
    event: Annotated[str, typer.Option(
        help="cdw (first confirmed worsening), pira, raw, relapse, or edssX: the first "
        "confirmed EDSS >= X (edss3, edss4, edss6, edss6.5).")] = "cdw",
    origin: Annotated[str, typer.Option(
        help="Time origin: first_visit (censored at the last visit) or epoch_start (one row "
        "per DMT epoch, censored at the epoch end or the last visit).")] = "first_visit",
    by: Annotated[str | None, typer.Option(
        help="Group column: an epochs column (drug, efficacy, drug_class) with epoch_start "
        "(default drug), a patients column, or first_dmt / first_dmt_efficacy.")] = None,
    event_date: Annotated[str, typer.Option(
        help="Date of a worsening: onset or confirmation.")] = "onset",
    at: Annotated[str | None, typer.Option(
        help="Years of the numbers-at-risk table, e.g. 0,1,2,5 (default every year).")
    ] = None,
    confidence: Confidence = 0.95,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the Kaplan-Meier table (.csv or .parquet).")] = None,
    figure: FigureOut = None,
) -> None:
    """Kaplan-Meier time to the first CDW, PIRA, RAW, relapse or EDSS milestone, by group,
    with numbers at risk and the median (lifelines)."""
    from neda.cohort.figures import km_figure
    from neda.cohort.survival import km_analysis

    _check_outputs(output)
    _check_figure(figure)
    try:
        km = km_analysis(summary, event, origin=origin, by=by,  # type: ignore[arg-type]
                         event_date=event_date,  # type: ignore[arg-type]
                         confidence=confidence, at=_years_list(at, "--at"))
    except ValueError as exc:
        raise _analysis_failed(exc) from exc
    _print_frame(km.medians, f"Time to first {km.attrs['event_label']} (median, years)",
                 infinite="not reached")
    _print_frame(km.at_risk, "Numbers at risk (columns: years)")
    console.print(km.methods(), highlight=False, soft_wrap=True)
    if output is not None:
        _write_table(km.survival, output)
        console.print(f"Wrote {output}", highlight=False, soft_wrap=True)
    if figure is not None:
        _figure_out(km_figure(km), figure)


@cohort_app.command("neda")
@_cohort_command
def cohort_neda_command(
    summary: Any,
    measure: Annotated[str, typer.Option(help="neda3 or neda4.")] = "neda3",
    window: Annotated[str, typer.Option(
        help="per_year (each treatment year) or cumulative (through treatment year k).")
    ] = "per_year",
    by: Annotated[str | None, typer.Option(
        help="Group: an epochs column (drug, efficacy, drug_class) or a patients column.")
    ] = "drug",
    years: Annotated[str | None, typer.Option(
        help="Only these treatment years, e.g. 1,2,3 (default: all).")] = None,
    include_partial: Annotated[bool, typer.Option(
        "--include-partial", help="Count treatment years cut short by the end of the epoch "
        "or follow-up (default: left out).")] = False,
    confidence: Confidence = 0.95,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the proportions (.csv or .parquet).")] = None,
    figure: FigureOut = None,
) -> None:
    """NEDA-3/4 proportion per therapy and treatment year with Wilson intervals; unknown
    windows counted apart, never as NEDA."""
    from neda.cohort.figures import neda_figure
    from neda.cohort.proportions import methods, neda_proportions

    _check_outputs(output)
    _check_figure(figure)
    wanted = _years_list(years, "--years")
    try:
        table = neda_proportions(summary, measure=measure,  # type: ignore[arg-type]
                                 window=window, by=by,  # type: ignore[arg-type]
                                 include_partial=include_partial, confidence=confidence,
                                 years=tuple(int(y) for y in wanted) if wanted else None)
    except ValueError as exc:
        raise _analysis_failed(exc) from exc
    _print_frame(table, f"{measure.upper()} per {by or 'cohort'} and treatment year")
    console.print(methods(table), highlight=False, soft_wrap=True)
    if output is not None:
        _write_table(table, output)
        console.print(f"Wrote {output}", highlight=False, soft_wrap=True)
    if figure is not None:
        _figure_out(neda_figure(table), figure)


@cohort_app.command("arr")
@_cohort_command
def cohort_arr_command(
    summary: Any,
    by: Annotated[str | None, typer.Option(
        help="Group: an epochs column (drug, efficacy, drug_class) or a patients column.")
    ] = "drug",
    reference: Annotated[str | None, typer.Option(
        help="Reference group of the rate ratios (default: the most person-years).")] = None,
    model: Annotated[str, typer.Option(
        help="negative_binomial (NB2, dispersion by maximum likelihood) or poisson.")
    ] = "negative_binomial",
    cluster: Annotated[bool, typer.Option(
        "--cluster/--no-cluster", help="Standard errors clustered by patient.")] = True,
    confidence: Confidence = 0.95,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write rates and rate ratios per group (.csv or .parquet).")
    ] = None,
    figure: FigureOut = None,
) -> None:
    """Annualised relapse rate per therapy and negative-binomial rate ratios with a
    log(person-years) offset (statsmodels)."""
    from neda.cohort.figures import rate_ratio_figure
    from neda.cohort.rates import relapse_rates

    _check_outputs(output)
    _check_figure(figure)
    try:
        rates = relapse_rates(summary, by=by, reference=reference,
                              model=model, cluster=cluster,  # type: ignore[arg-type]
                              confidence=confidence)
    except ValueError as exc:
        raise _analysis_failed(exc) from exc
    _print_frame(rates.rates, f"Annualised relapse rate per {by or 'cohort'}")
    # the reference row says so in its note: the yes/no column is kept for the written table
    _print_frame(rates.ratios.drop(columns=["reference"], errors="ignore"),
                 f"Rate ratios (reference: {rates.reference})")
    if rates.alpha is not None and rates.alpha_ci is not None:
        console.print(f"Dispersion alpha = {rates.alpha:.3g} ({rates.alpha_ci[0]:.3g} to "
                      f"{rates.alpha_ci[1]:.3g})", highlight=False)
    console.print(rates.methods(), highlight=False, soft_wrap=True)
    if output is not None:
        merged = rates.rates.merge(rates.ratios, on="group", how="left",
                                   suffixes=("", "_rate_ratio"))
        _write_table(merged, output)
        console.print(f"Wrote {output}", highlight=False, soft_wrap=True)
    if figure is not None:
        _figure_out(rate_ratio_figure(rates), figure)


@cohort_app.command("table-one")
@_cohort_command
def cohort_table_one_command(
    summary: Any,
    by: Annotated[str | None, typer.Option(
        help="Group: a patients column, or first_dmt / first_dmt_efficacy (default: none).")
    ] = None,
    before_years: Annotated[float, typer.Option(
        min=0.01, help="Years before baseline (the first visit) of the prior relapse rate.")
    ] = 2.0,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write table one (.csv or .parquet).")] = None,
) -> None:
    """Table one: patients, age at onset, sex, phenotype, disease duration, baseline EDSS,
    follow-up, relapse rates, by group."""
    from neda.cohort.table_one import table_one

    _check_outputs(output)
    try:
        table = table_one(summary, by=by, before_years=before_years)
    except ValueError as exc:
        raise _analysis_failed(exc) from exc
    _print_frame(table, "Table one (baseline: the first visit)", index=True)
    if table.attrs.get("not_shown"):
        console.print(table.attrs["not_shown"], highlight=False, soft_wrap=True)
    if output is not None:
        _write_table(table.reset_index(), output)
        console.print(f"Wrote {output}", highlight=False, soft_wrap=True)


@cohort_app.command("report")
@_cohort_command
def cohort_report_command(
    summary: Any,
    output: Annotated[Path, typer.Option(
        "-o", "--output", dir_okay=False, help="The report: one self-contained HTML file.")
    ] = Path("cohort-report.html"),
    event: Annotated[list[str] | None, typer.Option(
        help="Kaplan-Meier event (repeat for several); default cdw, pira, relapse, edss6.")
    ] = None,
    origin: Annotated[str, typer.Option(
        help="Kaplan-Meier origin: epoch_start or first_visit.")] = "epoch_start",
    km_by: Annotated[str | None, typer.Option(help="Kaplan-Meier groups.")] = "efficacy",
    therapy_by: Annotated[str | None, typer.Option(
        help="Groups of the NEDA proportions and relapse rates.")] = "drug",
    table_one_by: Annotated[str | None, typer.Option(help="Groups of table one.")
                            ] = "first_dmt_efficacy",
    neda_years: Annotated[str, typer.Option(help="Treatment years of the NEDA tables.")
                          ] = "1,2,3,4,5",
    reference: Annotated[str | None, typer.Option(
        help="Reference group of the rate ratios (default: the most person-years).")] = None,
    confidence: Confidence = 0.95,
    title: Annotated[str, typer.Option(help="Title of the report.")] = "neda cohort report",
) -> None:
    """One offline HTML report: table one, Kaplan-Meier, NEDA proportions, relapse rates,
    figures inline, methods and provenance."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from neda.cohort.report import ReportOptions, write_report

    if output.suffix.lower() not in (".html", ".htm"):
        raise typer.BadParameter(f"{output}: the report is an .html file")
    years = _years_list(neda_years, "--neda-years") or ()
    options = ReportOptions(
        events=tuple(event) if event else ReportOptions.events, origin=origin, km_by=km_by,
        therapy_by=therapy_by, table_one_by=table_one_by,
        neda_years=tuple(int(y) for y in years), reference=reference, confidence=confidence)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("Report", total=None)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, description=f"Report: {name}", completed=done, total=total)

        path = write_report(summary, output, options, title=title, progress=step)
    console.print(f"Wrote {path}", highlight=False, soft_wrap=True)



@cohort_app.command("multiverse")
@_reads_files
def multiverse_command(
    visits: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Visits: CSV, Parquet or Excel.")
    ],
    relapses: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Relapses; cleaned by relapse hygiene (once per "
        "relapse.* option set of the grid).")] = None,
    no_relapses: NoRelapses = False,
    grid: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Grid of definitions: .toml or .json with 'grid' "
        "(option = [values]) or 'definitions' (a list), and optional 'base' preset.")] = None,
    vary: Annotated[list[str] | None, typer.Option(
        "--vary", help="OPTION=V1,V2: one more varied option, e.g. conf_days=84,168 or "
        "preset=mueller2023,cagol2022 or relapse.merge_days=0,30; repeat for several. "
        "Without --grid or --vary: 32 definitions (4 presets x 12/24 weeks x 2 references "
        "x RAW window 30/90 days).")] = None,
    base: Annotated[str | None, typer.Option(
        help="Preset of the options not varied (default: the grid file's, else "
        "mueller2023).")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the table (one row per definition) to .csv or "
        ".parquet.")] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Draw the shares across definitions to .png, .svg or .pdf.")] = None,
    outcome: Annotated[str, typer.Option(help="edss, t25fw, nhpt or sdmt.")] = "edss",
    value_col: Annotated[
        str | None, typer.Option(help="Outcome column (default: the outcome name).")
    ] = None,
    reading: dict[str, Any] = _READING,
) -> None:
    """Counts and shares of CDW, RAW, PIRA and unknown under many definitions at once."""
    from neda.cohort.multiverse import (
        DEFAULT_GRID,
        grid_definitions,
        multiverse,
        read_grid,
        vary_values,
    )

    value_col = value_col or outcome
    try:
        spec: Any = None
        file_base = None
        if grid is not None:
            spec, file_base = read_grid(grid)
        if vary:
            if spec is not None and not isinstance(spec, dict):
                raise ValueError("--vary adds options to a grid of option -> values; the grid "
                                 f"file {grid} lists definitions")
            spec = dict(spec or {})
            spec.update(vary_values(item) for item in vary)
        if spec is None:
            spec = DEFAULT_GRID
        if outcome != "edss":
            spec = ({"outcome": [outcome], **spec} if isinstance(spec, dict)
                    else [{"outcome": outcome, **d} if isinstance(d, dict) else d
                          for d in spec])
        base_preset = base or file_base or "mueller2023"
        grid_definitions(spec, base=base_preset)  # every definition checked before reading
    except (ValueError, TypeError) as exc:
        console.print(f"[red]Invalid grid:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    if relapses is not None and no_relapses:
        raise typer.BadParameter("give --relapses FILE or --no-relapses, not both")
    _check_outputs(output)
    _check_outputs(plot, suffixes=(".png", ".svg", ".pdf"))
    tables = _read_inputs(reading, visits, relapses, no_relapses, outcome=value_col)
    _print_reports(tables)
    _no_relapse_warning(tables.relapses is None)
    _announce_compile()
    try:
        result = multiverse(tables.visits, tables.relapses, spec, base=base_preset,
                            value=value_col, progress=True)
    except ValueError as exc:
        console.print("[red]Cannot compute the multiverse:[/red]")
        console.print(str(exc), highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1) from exc
    _print_multiverse(result)
    if output is not None:
        _write_table(result.table, output)
        console.print(f"Wrote {output} ({len(result.table)} definitions)", highlight=False,
                      soft_wrap=True)
    if plot is not None:
        plot.parent.mkdir(parents=True, exist_ok=True)
        result.plot(plot)
        console.print(f"Wrote {plot}", highlight=False, soft_wrap=True)


def _print_multiverse(result: Any) -> None:
    from rich.table import Table

    t = result.table

    def share(x: float) -> str:
        return "-" if x != x else f"{x:.2f}"

    table = Table(title=f"Definition multiverse: {len(t)} definitions, "
                  f"{int(t['subjects'].max()):,} subjects")
    for c in ("#", "definition", "CDW", "RAW", "PIRA", "undefined", "unknown", "PIRA share",
              "subjects with PIRA"):
        table.add_column(c, justify="left" if c == "definition" else "right")
    for r in t.to_dict("records"):
        table.add_row(str(r["definition"]), str(r["label"]), f"{r['CDW']:,}", f"{r['RAW']:,}",
                      f"{r['PIRA']:,}", f"{r['undefined']:,}", f"{r['unknown']:,}",
                      share(r["PIRA_share"]), f"{r['subjects_with_PIRA']:,}")
    _print_table(table)
    pira = t["PIRA_share"].dropna()
    if len(pira):
        console.print(f"PIRA share from {pira.min():.2f} to {pira.max():.2f} across "
                      "definitions.", highlight=False)
    inf = result.influence()
    if len(inf) > 1:
        moved = Table(title="What moves the PIRA share (definitions differing in one choice)")
        for c in ("choice", "mean change", "max change", "pairs"):
            moved.add_column(c, justify="left" if c == "choice" else "right")
        for r in inf.to_dict("records"):
            moved.add_row(str(r["choice"]), share(r["mean_abs_change"]),
                          share(r["max_abs_change"]), str(r["pairs"]))
        _print_table(moved)


def _one_line_summaries(*apps: typer.Typer) -> None:
    """The command lists (``neda --help``, ``neda cohort --help``) show each command's first
    docstring paragraph as written, line breaks included ("... to try neda" / "on."): give
    every command that paragraph on one line, for the list to wrap."""
    for one in apps:
        for info in one.registered_commands:
            doc = (info.callback.__doc__ or "") if info.callback else ""
            first = doc.strip().split("\n\n")[0]
            if info.short_help is None and first:
                info.short_help = " ".join(first.split())


_one_line_summaries(app, cohort_app)
