"""Read every tidy table into a validated pandas DataFrame: the one way in.

All readers are all-or-nothing: every cell is checked against the table's schema
(:mod:`neda.io.schema`), and if anything is wrong one :class:`~neda.io.errors.InputError` lists
all problems, each with file (and sheet), row, column, the value found and what was expected.
Rows removed or merged on purpose are listed in the :class:`~neda.io.errors.InputReport` stored
in ``result.attrs["report"]``.

A table returned by a reader is marked as validated (``attrs["neda_table"]``); every rule calls
:func:`ensure_table`, which returns such a table unchanged and reads anything else through the
same reader. So a blank cell, a yes/no flag or an imprecise date is decided in exactly one place
whichever entry point the data came through.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from neda.io._parse import (
    PRECISIONS,
    DateUnit,
    Decimal,
    Problems,
    as_text,
    blank_rows,
    cell_text,
    comma_allowed,
    outcome_kind,
    parse_choice,
    parse_dates,
    parse_flags,
    parse_fs,
    parse_measure,
    parse_onsets,
    parse_subjects,
    parse_text,
)
from neda.io._table import RawTable, Source, fold, load_table
from neda.io.errors import ChangedRows, InputError, InputProblem, InputReport, NedaInputWarning
from neda.io.schema import LAB_TEST_SYNONYMS, SCHEMAS, TableSchema

_NEDA_TABLE = "neda_table"

_SYNONYMS: dict[str, dict[str, str]] = {
    "sex": {"f": "female", "w": "female", "woman": "female", "m": "male", "man": "male"},
    "phenotype_at_diagnosis": {"RR": "RRMS", "SP": "SPMS", "PP": "PPMS",
                               "relapsing-remitting": "RRMS", "secondary progressive": "SPMS",
                               "primary progressive": "PPMS"},
    "course": {"RR": "RRMS", "SP": "SPMS", "PP": "PPMS"},
    "stop_reason": {"efficacy": "inefficacy", "lack of efficacy": "inefficacy",
                    "adverse event": "adverse_event", "side effects": "adverse_event",
                    "ae": "adverse_event", "patient choice": "patient_choice"},
    "test": LAB_TEST_SYNONYMS,
}


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source: the same options for every table and entry point.

    columns : mapping of neda's column name to the source's header, e.g.
        ``{"subject": "Patient ID", "date": "Visit date"}``; other columns are found by name
        or alias, ignoring case, spaces, hyphens and underscores.
    date_format : strptime format of non-ISO dates, e.g. ``"%d/%m/%Y"`` [None: ISO 8601 only;
        day and month are never guessed].
    decimal : ``"auto"`` [default: a decimal comma is read in ``;``- or tab-separated CSV
        files], ``"."`` or ``","``.
    separator : CSV field separator [None: detected from the header line].
    encoding : CSV encoding ["auto": UTF-8 (with or without BOM), UTF-16 with BOM, else
        Windows-1252, noted in the report].
    sheet : Excel sheet name or 0-based number [None: the only sheet, or the one named like
        the table].
    date_unit, date_origin : read whole numbers in date columns as days (``"day"``) since
        ``date_origin`` [1970-01-01]; without ``date_unit`` numbers in a date column are
        refused.
    cutoff : the data cut-off; later dates are errors [None: today]. ``False`` turns the
        check off.
    keep_extra : keep columns that are not part of the table's schema (as text) [False:
        left out and listed in the report].
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    decimal: Decimal = "auto"
    separator: str | None = None
    encoding: str = "auto"
    sheet: str | int | None = None
    date_unit: DateUnit | None = None
    date_origin: str | dt.date | None = None
    cutoff: str | dt.date | bool | None = None
    keep_extra: bool = False

    def __post_init__(self) -> None:
        if self.decimal not in ("auto", ".", ","):
            raise ValueError(f"decimal must be 'auto', '.' or ',', not {self.decimal!r}")
        if self.date_unit not in (None, "day"):
            raise ValueError(f"date_unit must be 'day' or None, not {self.date_unit!r}")
        if self.separator is not None and len(self.separator) != 1:
            raise ValueError(f"separator must be one character, not {self.separator!r}")
        _as_date(self.date_origin, "date_origin")
        if not isinstance(self.cutoff, bool):
            _as_date(self.cutoff, "cutoff")

    @property
    def cutoff_date(self) -> dt.date | None:
        if self.cutoff is False:
            return None
        if self.cutoff is None or self.cutoff is True:
            return dt.date.today()
        return _as_date(self.cutoff, "cutoff")

    @property
    def origin_date(self) -> dt.date | None:
        return _as_date(self.date_origin, "date_origin")


def _as_date(value: Any, name: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


def is_validated(frame: Any, table: str) -> bool:
    """Whether ``frame`` is a table returned by the reader of ``table``."""
    return isinstance(frame, pd.DataFrame) and frame.attrs.get(_NEDA_TABLE) == table


def ensure_table(source: Any, table: str, options: ReadOptions | None = None, *,
                 file_label: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """``source`` as a validated ``table``: unchanged if it came from a reader, else read
    through :func:`read_table` (the one place where cells are parsed)."""
    if is_validated(source, table):
        missing = [c for c in (*kwargs.get("required", ()), *kwargs.get("extra", {}))
                   if c not in source.columns]
        if not missing:
            return source
        raise InputError([InputProblem(_label(source, table), None, c, None,
                                       f"a column named '{c}' (it was not read; read the "
                                       f"table again asking for it)") for c in missing])
    reader = READERS.get(table)
    if reader is not None and table != "visits" and not kwargs:
        return reader(source, options=options, file_label=file_label)
    if table == "mri":
        return resolve_contrast(read_table(source, table, options, file_label=file_label,
                                           **kwargs))
    return read_table(source, table, options, file_label=file_label, **kwargs)


def read_table(
    source: Source,
    table: str | TableSchema,
    options: ReadOptions | None = None,
    *,
    file_label: str | None = None,
    required: Sequence[str] = (),
    extra: Mapping[str, str] | None = None,
    **changes: Any,
) -> pd.DataFrame:
    """Read and validate one table (``"visits"``, ``"relapses"``, ``"mri"``,
    ``"treatments"``, ``"pros"``, ``"labs"``, ``"patients"``, ``"followup"``; see
    ``docs/data-model.md``).

    ``options`` (:class:`ReadOptions`) say how to read the source; keyword arguments override
    single fields (``date_format="%d/%m/%Y"``). ``required``: optional columns this caller
    needs (e.g. the outcome of an analysis). ``extra``: columns outside the schema to read,
    as ``{name: kind}`` with kind ``"number"``, ``"flag"`` or ``"text"``.

    Returns a pandas DataFrame with neda's column names: ``subject`` (int64 when every
    identifier is a plain integer, else text), dates as ``datetime64[ns]``, numbers as
    float64 (NaN = not known), flags as pandas ``boolean`` (<NA> = unknown), choices and text
    as objects (None = blank). Raises :class:`~neda.io.errors.InputError` listing every problem.
    """
    schema = SCHEMAS[table] if isinstance(table, str) else table
    opts = options or ReadOptions()
    if changes:
        opts = replace(opts, **changes)
    try:
        raw = load_table(source, file_label=file_label, default_label=schema.name,
                         sheet=opts.sheet, encoding=opts.encoding, separator=opts.separator)
    except InputError as exc:
        if schema.name == "relapses" and "no data rows" in str(exc):
            # a relapses file without rows is refused (an export that lost its rows looks the
            # same); a cohort with no relapse says so explicitly
            raise InputError([replace(p, expected=p.expected + _NO_RELAPSE_ROWS)
                              for p in exc.problems], headline=False) from None
        raise
    return _read(raw, schema, opts, required=tuple(required), extra=dict(extra or {}))


_NO_RELAPSE_ROWS = ("; if no relapse was recorded, leave the file out (on the command line "
                    "say so with --no-relapses)")


# ----------------------------------------------------------------------------------- reading
def _read(raw: RawTable, schema: TableSchema, opts: ReadOptions, *, required: tuple[str, ...],
          extra: dict[str, str]) -> pd.DataFrame:
    n_read = raw.frame.height
    blank = blank_rows(raw.frame)
    dropped: list[ChangedRows] = []
    if blank.any():
        dropped.append(_changed(raw, np.flatnonzero(blank), "blank row, skipped"))
        raw = raw.select(~blank)
    problems = Problems(raw)
    columns = _resolve(raw, schema, opts, problems, required, extra)
    _check_signature(raw, schema, problems)
    problems.raise_if_any()

    frame = raw.frame
    comma = comma_allowed(raw, opts.decimal)
    cutoff = opts.cutoff_date
    origin = opts.origin_date
    out: dict[str, Any] = {}
    ok = np.ones(frame.height, bool)
    for col in schema.columns:
        header = columns.get(col.name)
        if header is None:
            continue
        cells = frame[header]
        if col.kind == "subject":
            subjects, good = parse_subjects(header, cells, problems)
            out["subject"] = subjects
            ok &= good
        elif col.kind == "date":
            dates, _ = parse_dates(header, cells, problems, date_format=opts.date_format,
                                   date_unit=opts.date_unit, date_origin=origin, cutoff=cutoff,
                                   required=col.required)
            out[col.name] = dates
        elif col.kind == "onset":
            start, end, precision, _ = parse_onsets(
                header, cells, problems, date_format=opts.date_format, date_unit=opts.date_unit,
                date_origin=origin, cutoff=cutoff)
            out[col.name] = start
            out["__onset_end"] = end
            out["__precision"] = precision
        elif col.kind == "edss":
            out[col.name] = parse_measure(header, "edss", cells, problems, comma=comma)
        elif col.kind in ("number", "integer"):
            named = outcome_kind(col.name) if col.measure else "number"
            spec = named if named != "number" else (col.lo, col.hi, col.lo_open,
                                                    col.kind == "integer")
            out[col.name] = parse_measure(header, spec, cells, problems, comma=comma)
        elif col.kind == "fs":
            out[col.name] = parse_fs(header, cells, problems, int(col.hi or 6))
        elif col.kind == "flag":
            out[col.name] = parse_flags(header, cells, problems)
        elif col.kind == "choice":
            out[col.name] = parse_choice(header, cells, problems, col.allowed,
                                         _SYNONYMS.get(col.name))
        elif col.kind == "drug":
            out[col.name] = _parse_drugs(header, cells, problems)
        elif col.kind == "instrument":
            out[col.name] = _parse_instruments(header, cells, problems)
        else:
            out[col.name] = parse_text(cells)
    for name, kind in extra.items():
        header = columns[name]
        cells = frame[header]
        if kind == "flag":
            out[name] = parse_flags(header, cells, problems)
        elif kind == "number":
            out[name] = parse_measure(header, outcome_kind(name), cells, problems, comma=comma)
        else:
            out[name] = parse_text(cells)
    if schema.name == "relapses":
        _relapse_dates(out, columns, raw, problems)
    extra_columns = [c for c in frame.columns if c not in columns.values()]
    if opts.keep_extra:
        for c in extra_columns:
            if c not in out:
                out[c] = parse_text(frame[c])

    result = _assemble(out, schema, extra, opts.keep_extra and extra_columns)
    result = result.filter(pl.Series(ok))
    measures = [c for c in (*schema.measures, *(k for k, v in extra.items() if v == "number"))
                if c in result.columns]
    if measures:
        unmeasured = result.select(pl.all_horizontal(
            [_is_null(result[c]) for c in measures])).to_series().to_numpy()
        if unmeasured.any():
            names = ", ".join(f"'{columns[m]}'" for m in measures)
            dropped.append(_changed(raw, result["__pos"].to_numpy()[unmeasured],
                                    f"no value in {names}"))
            result = result.filter(pl.Series(~unmeasured))
    merged: list[ChangedRows] = []
    key = schema.key
    if key and all(k in result.columns for k in key):
        result, merged = _merge_repeats(result, raw, problems, list(key), columns)
    elif "date" in result.columns:
        result = result.sort(["subject", "date", "__pos"])
    else:
        result = result.sort(["subject", "__pos"])
    problems.raise_if_any()
    notes = list(raw.notes)
    ignored = [c for c in extra_columns if not opts.keep_extra]
    if ignored:
        shown = ", ".join(f"'{c}'" for c in ignored[:12])
        more = f" and {len(ignored) - 12} more" if len(ignored) > 12 else ""
        notes.append(f"{raw.label}: columns not used: {shown}{more}")
    frame_out = _to_pandas(result, schema)
    if schema.name in ("relapses", "pros"):
        # relapse hygiene and PRO scoring name rows in the user's numbering
        frame_out["source_row"] = _source_rows(raw, result["__pos"].to_numpy())
    frame_out.attrs[_NEDA_TABLE] = schema.name
    frame_out.attrs["report"] = InputReport(raw.label, n_read, len(frame_out), tuple(dropped),
                                            tuple(merged), tuple(notes))
    return frame_out


def _is_null(series: pl.Series) -> pl.Series:
    if series.dtype.is_float():
        return series.is_null() | series.is_nan()
    return series.is_null()


def _resolve(raw: RawTable, schema: TableSchema, opts: ReadOptions, problems: Problems,
             required: tuple[str, ...], extra: dict[str, str]) -> dict[str, str]:
    """neda column name -> the source's header."""
    found: dict[str, str] = {}
    known = {c.name for c in schema.columns}
    for name in opts.columns:
        if name not in known and name not in extra and name not in required:
            raise ValueError(f"columns={{'{name}': ...}}: the {schema.name} table has no column "
                             f"{name!r}; its columns are {', '.join(sorted(known))}")
    wanted: list[tuple[str, tuple[str, ...], bool]] = [
        (c.name, c.aliases, c.required or c.name in required) for c in schema.columns]
    wanted += [(name, (), True) for name in (*required, *extra) if name not in known]
    taken: set[str] = set()
    for name, aliases, needed in wanted:
        given = opts.columns.get(name)
        if given is not None:
            header = given if given in raw.frame.columns else raw.column(given)
            if header is None:
                problems.missing_given_header(schema.name, name, given)
                continue
        else:
            header = raw.column(name, aliases)
            if header in taken:
                header = None
        if header is None:
            if needed:
                problems.missing_column(name, aliases)
            continue
        found[name] = header
        taken.add(header)
    return found


def _check_signature(raw: RawTable, schema: TableSchema, problems: Problems) -> None:
    """A file or sheet of another table (a visits sheet read as relapses) is an error before
    any cell is read: otherwise it would silently give 0 relapses."""
    if not schema.signature:
        return
    headers = {fold(c) for c in raw.frame.columns}

    def present(s: TableSchema) -> list[str]:
        hits = []
        for name in s.signature:
            col = s.column(name)
            if any(fold(a) in headers for a in (col.name, *col.aliases)):
                hits.append(name)
        return hits

    if present(schema):
        return
    for other in SCHEMAS.values():
        if other.name == schema.name or not other.signature:
            continue
        hits = present(other)
        if hits:
            cols = ", ".join(f"'{h}'" for h in hits[:4])
            problems.whole_table(
                f"looks like a {other.name} table (it has {cols}), not a {schema.name} table; "
                f"check the file, or the sheet (sheet=, --sheet {schema.name}=NAME)")
            return


def _relapse_dates(out: dict[str, Any], columns: dict[str, str], raw: RawTable,
                   problems: Problems) -> None:
    """Fold an explicit ``date_end`` into the onset interval; check the order of dates."""
    start = out["date"]
    end = out.pop("__onset_end")
    precision = out.pop("__precision")
    if "date_end" in out:
        given = out["date_end"]
        has = ~np.isnat(given) & ~np.isnat(start)
        early = has & (given < start)
        if early.any():
            header = columns["date_end"]
            problems.cells(header, np.flatnonzero(early), raw.frame[header],
                           "an end of the onset range on or after the onset (dates out of "
                           "order)")
        wider = has & ~early & (given > end)
        end = np.where(wider, given, end)
        precision = np.where(wider, 3, precision).astype(np.int8)
    out["date_end"] = end
    out["precision"] = np.array(PRECISIONS, dtype=object)[precision]
    if "resolved_date" in out:
        res = out["resolved_date"]
        early = ~np.isnat(res) & ~np.isnat(start) & (res < start)
        if early.any():
            header = columns["resolved_date"]
            problems.cells(header, np.flatnonzero(early), raw.frame[header],
                           "a resolution date on or after the onset (dates out of order)")


def _lookup_each_distinct(cells: pl.Series, lookup: Any) -> tuple[np.ndarray, np.ndarray,
                                                                    dict[str, str]]:
    """(values, bad, messages): ``lookup(text)`` applied once per distinct text; None for
    blank cells; ``bad`` where lookup raised (its message kept per text)."""
    text, blank = as_text(cells)
    mapping: dict[str, str | None] = {}
    messages: dict[str, str] = {}
    for u in text.drop_nulls().unique().to_list():
        try:
            mapping[u] = lookup(u)
        except (KeyError, ValueError) as exc:
            messages[u] = str(exc).strip("'\"")
            mapping[u] = None
    values = np.asarray(text.replace_strict(mapping, default=None, return_dtype=pl.String)
                        .to_numpy(), dtype=object) if mapping else np.full(len(text), None)
    values[blank] = None
    bad = np.asarray(text.is_in(list(messages)).fill_null(False).to_numpy(), dtype=bool)
    return values, bad & ~blank, messages


def _parse_drugs(header: str, cells: pl.Series, problems: Problems) -> np.ndarray:
    from neda.rules.dmt_catalogue import lookup_drug

    values, bad, messages = _lookup_each_distinct(cells, lambda name: (lookup_drug(name), name)[1])
    if bad.any():
        def expected(v: str | None) -> str:
            return f"a drug of the DMT catalogue ({messages.get(str(v).strip(), '')})"

        problems.cells(header, np.flatnonzero(bad), cells, expected)
    missing = np.flatnonzero(pd.isna(values) & ~bad)
    if missing.size:
        problems.cells(header, missing, cells, "a drug name")
    return values


def _parse_instruments(header: str, cells: pl.Series, problems: Problems) -> np.ndarray:
    from neda.rules.pro import INSTRUMENTS, canonical_instrument

    values, bad, _ = _lookup_each_distinct(cells, canonical_instrument)
    bad = bad | pd.isna(values)
    if bad.any():
        problems.cells(header, np.flatnonzero(bad), cells, f"one of {', '.join(INSTRUMENTS)}")
    return values


def _assemble(out: dict[str, Any], schema: TableSchema, extra: dict[str, str],
              kept: Any) -> pl.DataFrame:
    series: list[pl.Series] = []
    n = None
    for name, values in out.items():
        if isinstance(values, pl.Series):
            series.append(values.alias(name))
            n = len(values)
            continue
        arr = np.asarray(values)
        n = len(arr)
        col = schema.column(name) if name in schema.names else None
        kind = col.kind if col is not None else extra.get(name, "text")
        if kind == "flag":
            flags = [None if v < 0 else bool(v == 1) for v in arr.tolist()]
            series.append(pl.Series(name, flags, dtype=pl.Boolean))
        elif arr.dtype.kind == "M":
            series.append(pl.Series(name, arr.astype("datetime64[ns]")))
        elif arr.dtype.kind == "f":
            series.append(pl.Series(name, arr, dtype=pl.Float64, nan_to_null=False))
        else:
            series.append(pl.Series(name, arr.tolist(), dtype=pl.String))
    series.append(pl.Series("__pos", np.arange(n or 0, dtype=np.int64)))
    return pl.DataFrame(series)


def _merge_repeats(
    frame: pl.DataFrame,
    raw: RawTable,
    problems: Problems,
    key: list[str],
    columns: dict[str, str],
) -> tuple[pl.DataFrame, list[ChangedRows]]:
    """Merge rows repeating a key (subject and date); report conflicting values as problems.

    Rows that agree (or complement each other: one has EDSS, the other T25FW) are merged into
    the first one. Rows with different values for the same column are an error: picking one
    would be a silent guess.
    """
    frame = frame.sort([*key, "__pos"])
    same_prev = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in key])
    same_next = pl.all_horizontal([pl.col(k) == pl.col(k).shift(-1) for k in key])
    mask = frame.select((same_prev | same_next).fill_null(False)).to_series()
    if not mask.any():
        return frame, []
    repeated = frame.filter(mask)
    single = frame.filter(~mask)
    values = [c for c in frame.columns if c not in (*key, "__pos")]
    spread = repeated.group_by(key).agg(
        [_non_null(pl.col(c), repeated[c].dtype).n_unique().alias(c) for c in values])
    for c in values:
        clash = spread.filter(pl.col(c) > 1).select(key)
        if clash.height == 0:
            continue
        header = columns.get(c, c)
        cells = raw.frame[header] if header in raw.frame.columns else None
        rows = repeated.join(clash, on=key, how="semi").filter(~_is_null(repeated.join(
            clash, on=key, how="semi")[c]))
        for group in rows.partition_by(key, maintain_order=True):
            pos = group["__pos"].to_list()
            shown = _cell_texts(cells, group, c)
            what = " and ".join(_show_key(group[k][0]) for k in key[1:]) or "this subject"
            for p in pos:
                others = ", ".join(f"'{shown[q]}' in {raw.row_kind} {raw.row(q)}"
                                   for q in pos if q != p)
                where = f" on {what}" if "date" in key else ""
                problems.add(p, header, shown[p],
                             f"one value per {' and '.join(key)}, but subject "
                             f"{group['subject'][0]}{where} also has {others}")
    merged = repeated.group_by(key, maintain_order=True).agg(
        [_non_null(pl.col(c), repeated[c].dtype).first().alias(c) for c in values]
        + [pl.col("__pos").min()])
    kept = set(merged["__pos"].to_list())
    removed = np.array([p for p in repeated["__pos"].to_list() if p not in kept], dtype=np.int64)
    change = _changed(raw, removed, f"same {' and '.join(key)} as an earlier row, merged into it")
    merged = merged.select(frame.columns)
    return pl.concat([single, merged]).sort(key), [change]


def _cell_texts(cells: pl.Series | None, group: pl.DataFrame, column: str) -> dict[int, Any]:
    """Each row's cell as the user typed it (or the parsed value, for derived columns)."""
    pos = group["__pos"].to_list()
    if cells is not None:
        return {q: cell_text(cells, q) for q in pos}
    return {q: str(v) for q, v in zip(pos, group[column].to_list(), strict=True)}


def _non_null(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_float():
        expr = expr.fill_nan(None)
    return expr.drop_nulls()


def _show_key(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _source_rows(raw: RawTable, positions: np.ndarray) -> np.ndarray:
    """The user's row number (spreadsheet row, or index label) of each data row position."""
    if raw.index_labels is None:
        return (positions + raw.row_offset).astype(np.int64)
    labels = raw.index_labels[positions]
    try:
        return np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        return np.asarray(labels, dtype=object)


def _changed(table: RawTable, positions: np.ndarray, reason: str) -> ChangedRows:
    return ChangedRows(reason, len(positions), table.rows(np.sort(positions)), table.row_kind)


def _to_pandas(frame: pl.DataFrame, schema: TableSchema) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name in frame.columns:
        if name == "__pos":
            continue
        s = frame[name]
        if name == "subject":
            data[name] = (s.to_numpy() if s.dtype == pl.Int64
                          else np.asarray(s.to_numpy(), dtype=object))
        elif s.dtype == pl.Boolean:
            arr = pd.array(s.to_list(), dtype="boolean")
            data[name] = arr
        elif isinstance(s.dtype, pl.Datetime) or s.dtype == pl.Date:
            data[name] = s.to_numpy().astype("datetime64[ns]")
        elif s.dtype.is_float():
            data[name] = np.asarray(s.fill_null(np.nan).to_numpy(), dtype=np.float64)
        else:
            data[name] = np.asarray(s.to_list(), dtype=object)
    return pd.DataFrame(data)


# ------------------------------------------------------------------------ the named readers
def read_visits(
    source: Source,
    *,
    subject: str | None = None,
    date: str | None = None,
    outcomes: Sequence[str] = ("edss",),
    options: ReadOptions | None = None,
    file_label: str | None = None,
    **changes: Any,
) -> pd.DataFrame:
    """Read assessments (one row per subject and visit date) and check every cell.

    ``source`` is a path (``.csv``, ``.parquet``, ``.xlsx``) or a pandas or polars DataFrame.
    ``subject`` and ``date`` name the source's columns when they are not called so (matched
    exactly, else ignoring case); ``outcomes`` are measures that must be present: schema columns
    (``edss``, ``t25fw``, ...) or other numeric columns (read as numbers). Every other visits
    column of the data model found in the source is read and checked too (EDSS on its 20-step
    scale, FS grades, timed tests above 0 s, SDMT 0-110, ...). See :class:`ReadOptions` for
    dates, decimal commas, sheets and cut-off.

    Returns ``subject``, ``date`` and one column per measure (NaN = not measured at that
    visit), sorted by subject and date with a fresh RangeIndex. Rows with no measure at all are
    dropped; repeated rows of the same subject and date whose values do not conflict are
    merged. Both are listed in ``attrs["report"]``.

    Raises :class:`~neda.io.errors.InputError` listing every problem.
    """
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    opts = _with_columns(options, subject=subject, date=date)
    known = set(SCHEMAS["visits"].names)
    extra = {o: "number" for o in outcomes if o not in known}
    return read_table(source, "visits", opts, file_label=file_label,
                      required=[o for o in outcomes if o in known], extra=extra, **changes)


def read_relapses(
    source: Source,
    *,
    subject: str | None = None,
    date: str | None = None,
    visits: pd.DataFrame | None = None,
    options: ReadOptions | None = None,
    file_label: str | None = None,
    **changes: Any,
) -> pd.DataFrame:
    """Read relapse onsets (one row per reported attack) and check every cell.

    Onsets may be full dates, ``YYYY-MM`` or ``YYYY`` (imprecise dates are intervals, rules
    §2.7.2); the result has ``date`` (earliest possible onset day), ``date_end`` (latest) and
    ``precision``, plus every relapse column of the data model found (flags as pandas
    ``boolean``). Rows are sorted by subject and onset; repeats are kept (relapse hygiene folds
    them, with the reason).

    With ``visits`` (a table returned by :func:`read_visits`), subject identifiers are compared
    with the visits' (:func:`check_subjects`): none in common stops the read with an example of
    each side; relapses of subjects without visits are kept but reported (a
    :class:`~neda.io.errors.NedaInputWarning` and ``attrs["report"].warnings``).
    """
    opts = _with_columns(options, subject=subject, date=date)
    rel = read_table(source, "relapses", opts, file_label=file_label, **changes)
    if visits is not None:
        checked = check_subjects({"visits": visits, "relapses": rel})["relapses"]
        assert checked is not None
        rel = checked
    return rel


def read_mri(source: Source, *, options: ReadOptions | None = None,
             file_label: str | None = None, **changes: Any) -> pd.DataFrame:
    """Read MRI scans (one row per read scan) and check every cell.

    The one rule for the ``contrast`` cell (rules §0.3, §9): blank = given when a ``gd`` count
    is recorded, else unknown; "no" = the Gd count is unknown (set to NaN), never 0.
    """
    scans = read_table(source, "mri", options, file_label=file_label, **changes)
    return resolve_contrast(scans)


def resolve_contrast(scans: pd.DataFrame) -> pd.DataFrame:
    """Apply the contrast rule to a validated MRI table (idempotent)."""
    gd = scans["gd"] if "gd" in scans.columns else pd.Series(np.nan, index=scans.index)
    recorded = gd.notna().to_numpy()
    given = (pd.array(scans["contrast"].to_numpy(dtype=object), dtype="boolean")
             if "contrast" in scans.columns
             else pd.array([None] * len(scans), dtype="boolean"))
    known = ~np.asarray(given.isna(), dtype=bool)
    value = np.asarray(given.fillna(False), dtype=bool)
    # blank: given when a Gd count is recorded, else unknown (rules §0.3)
    value = np.where(known, value, recorded)
    unknown = ~known & ~recorded
    contrast = pd.arrays.BooleanArray(value, unknown)
    scans = scans.copy()
    scans["contrast"] = contrast
    no = ~unknown & ~value
    for col in ("gd", "gd_brain"):
        if col in scans.columns and no.any():
            scans.loc[no, col] = np.nan
    return scans


def read_treatments(source: Source, *, options: ReadOptions | None = None,
                    file_label: str | None = None, **changes: Any) -> pd.DataFrame:
    """Read DMT courses (drug names checked against the catalogue, rules §8.1)."""
    tr = read_table(source, "treatments", options, file_label=file_label, **changes)
    if len(tr) and "stop" in tr.columns:
        early = tr["stop"].notna() & (tr["stop"] < tr["start"])
        if early.any():
            label = tr.attrs["report"].file
            problems = [InputProblem(label, None, "stop", str(tr["stop"].iloc[i].date()),
                                     f"a stop date on or after the start "
                                     f"{tr['start'].iloc[i].date()} (subject "
                                     f"{tr['subject'].iloc[i]}, {tr['drug'].iloc[i]})")
                        for i in np.flatnonzero(early.to_numpy())[:50]]
            raise InputError(problems)
    return tr


def read_pros(source: Source, *, options: ReadOptions | None = None,
              file_label: str | None = None, **changes: Any) -> pd.DataFrame:
    """Read PRO item answers (one row per answered item; scored by ``neda.rules.pro``, which
    checks each item number and answer against the instrument's form).

    ``item`` and ``response`` are numbers (int64 items, float64 answers, NaN = unanswered) when
    every cell is one, else text (e.g. ``1+`` on the Modified Ashworth scale).
    ``source_row`` and ``attrs["row_kind"]`` name each row as the user numbers it (``"row"``:
    the spreadsheet row of a file; ``"row index"``: the DataFrame's index label), and
    ``attrs["headers"]`` each column as the source names it (``{"response": "Answer", ...}``),
    so that the scoring names the cell of a bad item or answer."""
    opts = options or ReadOptions()
    if changes:
        opts = replace(opts, **changes)
    raw = load_table(source, file_label=file_label, default_label="pros", sheet=opts.sheet,
                     encoding=opts.encoding, separator=opts.separator)
    table = _read(raw, SCHEMAS["pros"], opts, required=(), extra={})
    # one string object per instrument name, not one per row: an eighth of the memory, and
    # rows compare by identity (the scoring finds the response sets row by row)
    codes, names = pd.factorize(table["instrument"].to_numpy(dtype=object))
    table["instrument"] = np.asarray(names, dtype=object)[codes]
    for column in ("item", "response"):
        table[column] = _numbers_if_all(table[column], whole=column == "item")
    table.attrs["row_kind"] = raw.row_kind
    table.attrs["headers"] = _resolve(raw, SCHEMAS["pros"], opts, Problems(raw), (), {})
    return table


def _numbers_if_all(values: pd.Series, *, whole: bool) -> pd.Series:
    """A text column as numbers when every present cell is a plain number (``whole``: every
    cell a whole number, as int64), else unchanged. Each distinct text is parsed once."""
    if values.dtype.kind in "biuf":
        return values
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))  # -1: blank
    if len(uniques) == 0:
        return values
    numbers = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(
        np.float64)
    if np.isnan(numbers).any():  # a cell that is not a number
        return values
    if whole:
        exact = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 2**53)
        if (codes < 0).any() or not exact.all():
            return values
        return pd.Series(numbers.astype(np.int64)[codes], index=values.index, name=values.name)
    return pd.Series(np.append(numbers, np.nan)[codes], index=values.index, name=values.name)


def read_patients(source: Source, *, options: ReadOptions | None = None,
                  file_label: str | None = None, **changes: Any) -> pd.DataFrame:
    """Read the patients table (birth date, sex, onset and diagnosis dates, phenotype)."""
    return read_table(source, "patients", options, file_label=file_label, **changes)


def read_labs(source: Source, *, options: ReadOptions | None = None,
              file_label: str | None = None, **changes: Any) -> pd.DataFrame:
    """Read safety laboratory tests (``subject``, ``date``, ``test``, ``result``; rules §14.4).
    Test names are read as the catalogue's tests (``ALT`` is ``liver``, ``FBC`` is ``cbc``)."""
    return read_table(source, "labs", options, file_label=file_label, **changes)


def read_followup(source: Source, *, options: ReadOptions | None = None,
                  file_label: str | None = None, **changes: Any) -> pd.DataFrame:
    """Read relapse-ascertainment periods (``subject``, ``start``, ``end``)."""
    return read_table(source, "followup", options, file_label=file_label, **changes)


def followup_from_visits(visits: pd.DataFrame) -> pd.DataFrame:
    """The followup table spanning each subject's first to last visit, from a validated
    visits table: its dates were checked by the visits reader, so the table is returned as
    read (``read_followup``'s columns and order: ``subject``, ``start``, ``end``, sorted by
    subject) without parsing the same dates again."""
    if not is_validated(visits, "visits"):
        raise ValueError("followup_from_visits needs a visits table from read_visits")
    codes, subjects = pd.factorize(visits["subject"].to_numpy(), sort=False)
    ns = visits["date"].to_numpy().astype("datetime64[ns]").view(np.int64)
    first = np.full(len(subjects), np.iinfo(np.int64).max)
    last = np.full(len(subjects), np.iinfo(np.int64).min)  # NaT, never a validated date
    np.minimum.at(first, codes, ns)
    np.maximum.at(last, codes, ns)
    by_subject = np.argsort(np.asarray(subjects), kind="stable")
    frame = pd.DataFrame({"subject": np.asarray(subjects)[by_subject],
                          "start": first[by_subject].view("datetime64[ns]"),
                          "end": last[by_subject].view("datetime64[ns]")})
    frame.attrs[_NEDA_TABLE] = "followup"
    return frame


def _with_columns(options: ReadOptions | None, **names: str | None) -> ReadOptions:
    opts = options or ReadOptions()
    given = {k: v for k, v in names.items() if v is not None and v != k}
    if not given:
        return opts
    return replace(opts, columns={**opts.columns, **given})


READERS = {
    "visits": read_visits, "relapses": read_relapses, "mri": read_mri,
    "treatments": read_treatments, "pros": read_pros, "labs": read_labs,
    "patients": read_patients, "followup": read_followup,
}


# ------------------------------------------------------------------------ across tables
def check_subjects(tables: Mapping[str, pd.DataFrame | None], *,
                   reference: str | None = None) -> dict[str, pd.DataFrame | None]:
    """Compare subject identifiers across validated tables (rules §0.3).

    Identifiers are compared as text: when one table has text identifiers, integer ones are
    turned into text too (``1`` stays ``"1"``, so it does not match ``"0001"``). A table
    sharing no identifier with the reference table (patients if given, else visits) stops the
    run with an example of each side; identifiers missing from the reference are reported as
    a :class:`~neda.io.errors.NedaInputWarning` and in the table's report.
    """
    present = {k: v for k, v in tables.items() if v is not None}
    if not present:
        return dict(tables)
    text = any(v["subject"].dtype.kind not in "iu" for v in present.values() if len(v))
    out: dict[str, pd.DataFrame | None] = dict(tables)
    if text:
        for name, frame in present.items():
            if frame["subject"].dtype.kind in "iu":
                frame = frame.copy()
                frame["subject"] = frame["subject"].astype(str).astype(object)
                out[name] = frame
    ref_name = reference or ("patients" if "patients" in present else
                             "visits" if "visits" in present else None)
    if ref_name is None:
        return out
    ref = out[ref_name]
    assert ref is not None
    ref_ids = pd.unique(ref["subject"])
    ref_set = set(ref_ids.tolist())
    problems: list[InputProblem] = []
    for name, table in out.items():
        if table is None or name == ref_name or not len(table) or not len(ref):
            continue
        frame = table
        ids = pd.unique(frame["subject"])
        unknown = [s for s in ids.tolist() if s not in ref_set]
        label = _label(frame, name)
        ref_label = _label(ref, ref_name)
        if len(unknown) == len(ids):
            problems.append(InputProblem(
                label, None, None, None,
                f"shares no subject with {ref_label}: {name} use "
                f"{_examples(np.asarray(ids))}, {ref_name} use "
                f"{_examples(np.asarray(ref_ids))}; identifiers are "
                "compared as text (0001 and 1 differ), so use the same identifiers in every "
                "table"))
            continue
        if unknown:
            n_rows = int(frame["subject"].isin(unknown).sum())
            note = (f"{label}: {n_rows} row{'s' if n_rows != 1 else ''} of {len(unknown)} "
                    f"subject{'s' if len(unknown) != 1 else ''} not in {ref_label} "
                    f"({_examples(np.array(unknown, dtype=object), 10)}); kept")
            warnings.warn(note, NedaInputWarning, stacklevel=3)
            frame = frame.copy() if out[name] is tables[name] else frame
            report = frame.attrs.get("report")
            if isinstance(report, InputReport):
                frame.attrs["report"] = replace(report, warnings=(*report.warnings, note))
            out[name] = frame
    if problems:
        raise InputError(problems, headline=len(problems) > 1)
    return out


def _label(frame: pd.DataFrame, name: str) -> str:
    report = frame.attrs.get("report")
    return report.file if isinstance(report, InputReport) else name


def _examples(ids: np.ndarray, limit: int = 3) -> str:
    shown = ", ".join(f"'{s}'" for s in list(ids)[:limit])
    return shown + (f" ... ({len(ids)} in all)" if len(ids) > limit else "")


@dataclass
class Tables:
    """Every table of one analysis, read and validated together (:func:`read_tables`)."""

    visits: pd.DataFrame | None = None
    relapses: pd.DataFrame | None = None
    mri: pd.DataFrame | None = None
    treatments: pd.DataFrame | None = None
    pros: pd.DataFrame | None = None
    labs: pd.DataFrame | None = None
    patients: pd.DataFrame | None = None
    followup: pd.DataFrame | None = None

    def reports(self) -> list[InputReport]:
        out = []
        for name in READERS:
            frame = getattr(self, name)
            if frame is not None and isinstance(frame.attrs.get("report"), InputReport):
                out.append(frame.attrs["report"])
        return out

    def dropped(self) -> pd.DataFrame:
        """Every row a reader left out or merged, with file, row and reason (for
        ``--dropped-out``)."""
        rows = []
        for report in self.reports():
            for kind, changes in (("dropped", report.dropped), ("merged", report.merged)):
                for change in changes:
                    rows += [{"file": report.file, "row": r, "action": kind,
                              "reason": change.reason} for r in change.rows]
        return pd.DataFrame(rows, columns=["file", "row", "action", "reason"])


def read_tables(options: ReadOptions | Mapping[str, ReadOptions] | None = None,
                **sources: Source | None) -> Tables:
    """Read several tables at once (``visits=..., relapses=..., mri=..., treatments=...,
    pros=..., labs=..., patients=..., followup=...``), report every problem of every table together,
    and compare subject identifiers across them (:func:`check_subjects`).

    ``options``: one :class:`ReadOptions` for all tables, or a mapping of table name to its
    options (tables not in the mapping get ``options.get("*")`` or the defaults).
    """
    unknown = set(sources) - set(READERS)
    if unknown:
        raise TypeError(f"read_tables() got unknown tables {sorted(unknown)}; "
                        f"expected {', '.join(READERS)}")
    frames: dict[str, pd.DataFrame | None] = {}
    errors: list[InputError] = []
    for name, source in sources.items():
        if source is None:
            frames[name] = None
            continue
        if isinstance(options, Mapping):
            opts = options.get(name, options.get("*", ReadOptions()))
        else:
            opts = options or ReadOptions()
        try:
            if is_validated(source, name):
                frames[name] = source  # type: ignore[assignment]
            elif name == "relapses":
                frames[name] = read_relapses(source, options=opts)
            else:
                frames[name] = READERS[name](source, options=opts)
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputError.combine(errors)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NedaInputWarning)
        checked = check_subjects(frames)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return Tables(**checked)
