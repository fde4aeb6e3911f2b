"""The ``neda`` command line."""

from __future__ import annotations

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


@app.callback()
def main() -> None:
    """Multiple sclerosis disease-course analytics."""
    # A callback keeps `neda` a group of subcommands even while it has only one command.


@app.command("demo-cohort")
def demo_cohort_command(
    patients: Annotated[int, typer.Option(min=1, help="Number of synthetic patients.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same cohort.")] = 0,
    out: Annotated[
        Path, typer.Option(file_okay=False, help="Directory for the CSV tables.")
    ] = Path("build/demo"),
    registry: Annotated[bool, typer.Option(
        "--registry/--visits-only",
        help="Also write treatments.csv, mri.csv and pros.csv (default).")] = True,
) -> None:
    """Write a synthetic cohort (visits, relapses, treatments, MRI, PROs) to try neda on."""
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
def progression_command(
    visits: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Visits: CSV, Parquet or Excel.")
    ],
    relapses: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Relapse onsets (id, date).")
    ] = None,
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
        help="Column (1/0) marking visits that may confirm an event.")] = None,
    subject_col: Annotated[str, typer.Option(help="Subject column.")] = "id",
    date_col: Annotated[str, typer.Option(help="Date column.")] = "date",
    value_col: Annotated[
        str | None, typer.Option(help="Outcome column (default: the outcome name).")
    ] = None,
    date_format: Annotated[
        str | None, typer.Option(help="strptime format when dates are not ISO 8601, e.g. %d/%m/%Y.")
    ] = None,
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
        bool | None, typer.Option("--check-intermediate/--no-check-intermediate")
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
        bool | None, typer.Option("--death-confirms/--no-death-confirms")
    ] = None,
    require_ascertainment: Annotated[
        bool | None, typer.Option("--require-ascertainment/--no-require-ascertainment")
    ] = None,
    history_lookback_days: Annotated[float | None, typer.Option()] = None,
    timed_test_pct: Annotated[float | None, typer.Option()] = None,
    sdmt_points: Annotated[float | None, typer.Option()] = None,
    sdmt_pct: Annotated[float | None, typer.Option()] = None,
    sdmt_combine: Annotated[str | None, typer.Option(help="or, and, points.")] = None,
    practice_effect_visits: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Confirmed disability worsening / improvement, RAW and PIRA for every subject."""
    import time

    from neda.course import CourseOptions, RelapseIndependence
    from neda.io import InputError, read_relapses, read_visits

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

    t0 = time.perf_counter()
    try:
        with console.status("Reading and checking the input..."):
            vis = read_visits(
                visits,
                subject=subject_col,
                date=date_col,
                outcomes=[value_col] + ([validconf_col] if validconf_col else []),
                date_format=date_format,
            )
            rel = None
            if relapses is not None:
                rel = read_relapses(
                    relapses,
                    subject=subject_col,
                    date=date_col,
                    visits=vis,
                    date_format=date_format,
                )
    except InputError as exc:
        console.print(
            f"[red]The input has problems; nothing was computed.[/red]\n{exc}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from exc
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
    t_read = time.perf_counter() - t0
    if validconf_col:
        vis[validconf_col] = vis[validconf_col].fillna(0).astype(bool)
    result = _run_with_progress(vis, rel, opts, value_col, validconf_col)
    t_total = time.perf_counter() - t0

    _print_progression(result, vis, t_read, t_total)
    if methods:
        console.print("\n[bold]Methods[/bold]\n" + opts.describe(), highlight=False)
    for path, frame in ((output, result.events), (summary_out, result.summary),
                        (unconfirmed_out, result.unconfirmed)):
        if path is not None:
            _write_table(frame, path)
            console.print(f"Wrote {path} ({len(frame)} rows)", highlight=False, soft_wrap=True)


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
    )


def _print_progression(
    result: CourseResult, vis: pd.DataFrame, t_read: float, t_total: float
) -> None:
    from rich.table import Table

    s = result.summary
    ev = result.events
    cdw = ev[ev.event_type == "CDW"]
    overview = Table(title=f"Disease course ({result.options.preset})", show_header=False)
    overview.add_column(style="bold")
    overview.add_column(justify="right")
    overview.add_row("Subjects", f"{len(s):,}")
    overview.add_row("Visits", f"{len(vis):,}")
    overview.add_row("Subjects with a confirmed worsening (CDW)", f"{(s.CDW > 0).sum():,}")
    for cls in ("RAW", "PIRA", "undefined", "unknown", "not_classified"):
        n = int((cdw.cdw_class == cls).sum())
        if n or cls in ("RAW", "PIRA"):
            overview.add_row(f"  CDW events classified {cls}", f"{n:,}")
    overview.add_row("CDW events", f"{len(cdw):,}")
    overview.add_row("Confirmed improvements (CDI)", f"{int((ev.event_type == 'CDI').sum()):,}")
    overview.add_row("Unconfirmed worsening at last visit", f"{len(result.unconfirmed):,}")
    overview.add_row("Time (read + compute)", f"{t_read:.2f} s + {t_total - t_read:.2f} s")
    console.print(overview)
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
    console.print(per)


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise typer.BadParameter(f"{path}: write .csv or .parquet")


def _read_any(path: Path) -> pd.DataFrame:
    """A table from CSV, Parquet or Excel (the rule functions validate its content)."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path)
    return pd.read_csv(path)


@app.command("course")
def course_command(
    visits: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                           help="Visits: id, date, edss (+ tests, FS).")],
    relapses: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    mri: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    treatments: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    pros: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    patient: Annotated[str | None, typer.Option(
        help="Show this patient's course (default: the cohort overview).")] = None,
    format: Annotated[str, typer.Option(help="markdown or json (with --patient).")
                      ] = "markdown",
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Directory for the cohort tables (CSV).")] = None,
    preset: Annotated[str, typer.Option(help="Definition of worsening (see progression).")
                      ] = "mueller2023",
) -> None:
    """The whole course per patient: therapy and NEDA, relapses, worsening (RAW/PIRA/PIRMA),
    phenotype, latest scores, and a plain-language paragraph."""
    from neda.course import CourseOptions
    from neda.io import InputError, read_visits
    from neda.summary import SummaryOptions, course_summary

    try:
        import polars as pl

        header = pl.read_csv(visits, n_rows=0).columns if visits.suffix.lower() == ".csv" \
            else list(_read_any(visits).columns)
        measures = [c for c in header if c in ("edss", "t25fw", "nhpt", "nhpt_dominant",
                                                "nhpt_nondominant", "sdmt", "pasat")
                    or c.startswith("fs_") or c == "ambulation"]
        vis = read_visits(visits, outcomes=measures or ["edss"])
    except InputError as exc:
        console.print(f"[red]The input has problems; nothing was computed.[/red]\n{exc}",
                      highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    tables = {name: (_read_any(p) if p is not None else None) for name, p in
              (("relapses", relapses), ("mri", mri), ("treatments", treatments), ("pros", pros))}
    try:
        summary = course_summary(
            vis, tables["relapses"], tables["mri"], tables["treatments"], tables["pros"],
            options=SummaryOptions(course=CourseOptions.from_preset(preset)),
        )
    except ValueError as exc:
        console.print(f"[red]Cannot compute the course:[/red] {exc}", highlight=False,
                      soft_wrap=True)
        raise typer.Exit(1) from exc
    if patient is not None:
        try:
            one = summary.patient(patient)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        text = one.to_json() if format == "json" else one.to_markdown()
        typer.echo(text)
        return
    _print_cohort_overview(summary)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        for name in ("patients", "epochs", "relapses", "events", "scores"):
            frame = getattr(summary, name)
            frame.to_csv(output / f"{name}.csv", index=False)
        console.print(f"Wrote patients, epochs, relapses, events and scores tables to {output}",
                      soft_wrap=True)


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
    t.add_row("Relapses", f"{int(p['relapses'].sum()):,}")
    console.print(t)
