"""Read visit and relapse tables into tidy, validated pandas DataFrames.

Both readers are all-or-nothing: every cell is checked, and if anything is wrong one
:class:`~neda.io.errors.InputError` lists all problems, each with file, row, column, the value found
and what was expected. Rows removed or merged on purpose are listed in the
:class:`~neda.io.errors.InputReport` stored in ``result.attrs["report"]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import polars as pl

from neda.io._parse import (
    DateUnit,
    Problems,
    cell_text,
    parse_dates,
    parse_outcome,
    parse_subjects,
    subject_series,
)
from neda.io._table import RawTable, Source, load_table
from neda.io.errors import ChangedRows, InputReport, NedaInputWarning

_KEYS = ["subject", "date"]


def read_visits(
    source: Source,
    *,
    subject: str = "id",
    date: str = "date",
    outcomes: Sequence[str] = ("edss",),
    date_format: str | None = None,
    date_unit: DateUnit | None = None,
    file_label: str | None = None,
) -> pd.DataFrame:
    """Read assessments (one row per subject and visit date) and check every cell.

    ``source`` is a path (``.csv``, ``.parquet``, ``.xlsx``/``.xls``) or a pandas or polars
    DataFrame. ``subject``, ``date`` and ``outcomes`` name the source's columns (matched exactly,
    else ignoring case). Dates must be ISO 8601 (``2020-04-03``) unless ``date_format`` (a strptime
    format such as ``"%d/%m/%Y"``) is given; with ``date_unit="day"`` the date column holds whole
    day numbers instead (e.g. days since diagnosis).

    Checks: EDSS on its 20-step scale (column ``edss``), timed tests (``t25fw``, ``nhpt``, ``9hpt``
    and ``nhpt_*``...) above 0 s, SDMT 0-110, PASAT 0-60, other outcomes numeric; one set of values
    per subject and date.

    Returns columns ``subject`` (int64 when every identifier is an integer, else str objects),
    ``date`` (``datetime64[ns]``, or int64 day numbers with ``date_unit="day"``) and one float64
    column per outcome (NaN = not measured at that visit), sorted by subject and date with a fresh
    RangeIndex. Rows with no outcome value at all are dropped; repeated rows of the same subject and
    date whose values do not conflict are merged. Both are listed in ``attrs["report"]``.

    Raises :class:`~neda.io.errors.InputError` listing every problem.
    """
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    table = load_table(source, file_label=file_label, default_label="visits")
    problems = Problems(table)
    columns = _resolve(table, problems, [subject, date, *outcomes])
    problems.raise_if_any()

    raw = {name: table.frame[columns[name]] for name in [subject, date, *outcomes]}
    subjects, subject_ok = parse_subjects(columns[subject], raw[subject], problems)
    dates, date_ok = parse_dates(
        columns[date], raw[date], problems, date_format=date_format, date_unit=date_unit
    )
    values = {o: parse_outcome(columns[o], o, raw[o], problems) for o in outcomes}

    n = table.frame.height
    positions = np.arange(n, dtype=np.int64)
    measured = np.zeros(n, dtype=bool)
    for v in values.values():
        measured |= ~np.isnan(v)
    frame = pl.DataFrame(
        [
            subjects,
            pl.Series("date", dates),
            *(pl.Series(o, v).fill_nan(None) for o, v in values.items()),
            pl.Series("__pos", positions),
        ]
    )
    keys_ok = subject_ok & date_ok
    unmeasured = keys_ok & ~measured
    frame = frame.filter(pl.Series(keys_ok & measured))
    frame, merged = _merge_repeats(frame, table, problems, outcomes, raw, columns)
    problems.raise_if_any()

    dropped: list[ChangedRows] = []
    if unmeasured.any():
        names = ", ".join(f"'{o}'" for o in outcomes)
        dropped.append(_changed(table, np.flatnonzero(unmeasured), f"no value in {names}"))
    result = _to_pandas(frame, outcomes)
    result.attrs["report"] = InputReport(table.label, n, len(result), tuple(dropped), tuple(merged))
    return result


def read_relapses(
    source: Source,
    *,
    subject: str = "id",
    date: str = "date",
    visits: pd.DataFrame | None = None,
    date_format: str | None = None,
    date_unit: DateUnit | None = None,
    file_label: str | None = None,
) -> pd.DataFrame:
    """Read relapse onsets (one row per subject and onset date) and check every cell.

    Sources, column matching and date rules are those of :func:`read_visits`. Returns columns
    ``subject`` and ``date`` (onset) with the same dtypes as :func:`read_visits`, sorted. Repeated
    rows (same subject and onset) are merged and listed in ``attrs["report"]``.

    With ``visits`` (a table returned by :func:`read_visits`), relapses of subjects that have no
    visits are kept but reported: as a :class:`~neda.io.errors.NedaInputWarning` and in
    ``attrs["report"].warnings``. They are not errors, since a relapse table exported from a
    registry often covers more patients than an analysis. The ``subject`` dtype follows the visits
    table when that makes the identifiers comparable (integer ids become text if visits use text).
    """
    table = load_table(source, file_label=file_label, default_label="relapses")
    problems = Problems(table)
    columns = _resolve(table, problems, [subject, date])
    problems.raise_if_any()

    raw = {name: table.frame[columns[name]] for name in [subject, date]}
    subjects, subject_ok = parse_subjects(columns[subject], raw[subject], problems)
    dates, date_ok = parse_dates(
        columns[date], raw[date], problems, date_format=date_format, date_unit=date_unit
    )
    problems.raise_if_any()

    if visits is not None and visits["subject"].dtype.kind not in "iu":
        subjects = subjects.cast(pl.String)
    n = table.frame.height
    frame = pl.DataFrame(
        [
            subjects,
            pl.Series("date", dates),
            pl.Series("__pos", np.arange(n, dtype=np.int64)),
        ]
    )
    frame, merged = _merge_repeats(frame, table, problems, [], raw, columns)

    notes: list[str] = []
    if visits is not None:
        known = subject_series(np.asarray(visits["subject"].to_numpy()))
        ours = frame["subject"]
        if known.dtype != ours.dtype:
            known, ours = known.cast(pl.String), ours.cast(pl.String)
        unknown = ~pd.Series(ours.to_numpy()).isin(known.unique().to_numpy()).to_numpy()
        if unknown.any():
            rows = frame["__pos"].to_numpy()[unknown]
            ids = pd.unique(frame["subject"].to_numpy()[unknown])
            shown = ", ".join(f"'{s}'" for s in ids[:10]) + (
                f" and {len(ids) - 10} more" if len(ids) > 10 else ""
            )
            notes.append(
                f"{table.label}: {unknown.sum()} relapse{'s' if unknown.sum() != 1 else ''} of "
                f"{len(ids)} subject{'s' if len(ids) != 1 else ''} with no visits ({shown}); "
                f"{_row_list(table, rows)}"
            )
    for note in notes:
        warnings.warn(note, NedaInputWarning, stacklevel=2)

    result = _to_pandas(frame, [])
    result.attrs["report"] = InputReport(
        table.label, n, len(result), (), tuple(merged), tuple(notes)
    )
    return result


def _resolve(table: RawTable, problems: Problems, wanted: list[str]) -> dict[str, str]:
    columns: dict[str, str] = {}
    for name in wanted:
        found = table.column(name)
        if found is None:
            problems.missing_column(name)
        else:
            columns[name] = found
    return columns


def _merge_repeats(
    frame: pl.DataFrame,
    table: RawTable,
    problems: Problems,
    outcomes: list[str],
    raw: dict[str, pl.Series],
    columns: dict[str, str],
) -> tuple[pl.DataFrame, list[ChangedRows]]:
    """Merge rows repeating a subject and date; report conflicting values as problems.

    Rows that agree (or complement each other: one has EDSS, the other T25FW) are merged into the
    first one. Rows with different values for the same outcome are an error: picking one would be
    a silent guess.
    """
    # Sorting once puts repeats next to each other; the result is returned in this order.
    frame = frame.sort([*_KEYS, "__pos"])
    same_as_previous = (pl.col("subject") == pl.col("subject").shift(1)) & (
        pl.col("date") == pl.col("date").shift(1)
    )
    same_as_next = (pl.col("subject") == pl.col("subject").shift(-1)) & (
        pl.col("date") == pl.col("date").shift(-1)
    )
    is_repeat = frame.select((same_as_previous | same_as_next).fill_null(False))
    mask = is_repeat.to_series()
    if not mask.any():
        return frame, []
    repeated = frame.filter(mask)
    single = frame.filter(~mask)

    if outcomes:
        spread = repeated.group_by(_KEYS).agg(
            [pl.col(o).drop_nulls().n_unique().alias(o) for o in outcomes]
        )
        for o in outcomes:
            clash = spread.filter(pl.col(o) > 1).select(_KEYS)
            if clash.height == 0:
                continue
            rows = repeated.join(clash, on=_KEYS, how="semi").filter(pl.col(o).is_not_null())
            for group in rows.partition_by(_KEYS, maintain_order=True):
                pos = group["__pos"].to_list()
                for p in pos:
                    others = ", ".join(
                        f"'{cell_text(raw[o], q)}' in {table.row_kind} {table.row(q)}"
                        for q in pos
                        if q != p
                    )
                    when = group["date"][0]
                    when_text = when.date().isoformat() if hasattr(when, "date") else str(when)
                    problems.add(
                        p,
                        columns[o],
                        cell_text(raw[o], p),
                        f"one value per subject and date, but subject {group['subject'][0]} on "
                        f"{when_text} also has {others}",
                    )

    merged = repeated.group_by(_KEYS, maintain_order=True).agg(
        [pl.col(o).drop_nulls().first() for o in outcomes] + [pl.col("__pos").min()]
    )
    kept = set(merged["__pos"].to_list())
    removed = np.array([p for p in repeated["__pos"].to_list() if p not in kept], dtype=np.int64)
    change = _changed(table, removed, "same subject and date as an earlier row, merged into it")
    merged = merged.select(frame.columns)
    return pl.concat([single, merged]).sort(_KEYS), [change]


def _changed(table: RawTable, positions: np.ndarray, reason: str) -> ChangedRows:
    return ChangedRows(reason, len(positions), table.rows(np.sort(positions)), table.row_kind)


def _row_list(table: RawTable, positions: np.ndarray, limit: int = 20) -> str:
    shown = ", ".join(str(r) for r in table.rows(np.sort(positions)[:limit]))
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return f"{table.row_kind}{'s' if len(positions) != 1 else ''} {shown}{more}"


def _to_pandas(frame: pl.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    subject = frame["subject"]
    data: dict[str, np.ndarray] = {
        "subject": subject.to_numpy()
        if subject.dtype == pl.Int64
        else np.asarray(subject.to_numpy(), dtype=object),
        "date": frame["date"].to_numpy(),
    }
    for o in outcomes:
        data[o] = np.asarray(
            frame[o].cast(pl.Float64).fill_null(np.nan).to_numpy(), dtype=np.float64
        )
    out = pd.DataFrame(data)
    if out["date"].dtype.kind == "M":
        out["date"] = out["date"].astype("datetime64[ns]")
    return out
