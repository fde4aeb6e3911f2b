"""Load any supported source into raw polars columns, remembering how the user numbers its rows.

Every source (CSV, Parquet, Excel, pandas or polars DataFrame) becomes the same thing: a polars
DataFrame of untouched columns plus the rule that turns a row position into the row number the
user sees. CSV files are read with every column as text, so that a cell like ``03/04/2020`` or
``2,5`` reaches the validators exactly as typed instead of being guessed at by a type-inference
step.

What a registry export throws at a reader is handled here, before any cell is interpreted:
encodings (UTF-8 with or without BOM, UTF-16 from Excel's "Unicode text", Windows-1252),
separators (``,``, ``;``, tab, ``|``), CRLF line ends, workbooks with several sheets, empty
files, header-only files, and files that are not text at all (a zipped or binary file saved
as ``.csv``). Each gets either a table or one line saying what to do.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from neda.io.errors import InputError, InputProblem, RowKind

Source = str | os.PathLike[str] | pd.DataFrame | pl.DataFrame | pl.LazyFrame

_CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".tab"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_OLD_EXCEL_SUFFIXES = {".xls"}
_SEPARATORS = (",", ";", "\t", "|")


def fold(name: str) -> str:
    """A header name compared ignoring case, spaces, hyphens, dots and underscores."""
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


@dataclass(frozen=True)
class RawTable:
    """Raw columns of one input table and the user's numbering of its rows.

    ``label`` names the table in messages (file name, and sheet for a workbook).
    ``notes``: what the loader did that the user should know (e.g. the encoding it detected).
    ``separator``: the CSV field separator (None for other sources), which decides whether a
    decimal comma can be read (``;`` and tab files).
    """

    frame: pl.DataFrame
    label: str
    row_kind: RowKind
    row_offset: int = 0
    index_labels: np.ndarray | None = None
    notes: tuple[str, ...] = field(default=())
    separator: str | None = None

    def row(self, pos: int) -> Hashable:
        """The row number (spreadsheet files) or index label (tables) of data row ``pos``."""
        if self.index_labels is not None:
            label = self.index_labels[pos]
            return label.item() if isinstance(label, np.generic) else label
        return int(pos) + self.row_offset

    def rows(self, positions: Sequence[int] | np.ndarray) -> tuple[Hashable, ...]:
        return tuple(self.row(int(p)) for p in positions)

    def column(self, wanted: str, aliases: Sequence[str] = ()) -> str | None:
        """The table's name for column ``wanted``: exact match first, else the one column whose
        name matches ignoring case, spaces, hyphens and underscores (``Visit Date`` for
        ``visit_date``), else the same for each alias in turn."""
        names = self.frame.columns
        if wanted in names:
            return wanted
        for candidate in (wanted, *aliases):
            key = fold(candidate)
            folded = [c for c in names if fold(c) == key]
            if len(folded) == 1:
                return folded[0]
        return None

    def select(self, keep: np.ndarray) -> RawTable:
        """The rows where ``keep`` is true, keeping their original row numbers."""
        positions = np.flatnonzero(keep)
        labels = (self.index_labels[positions] if self.index_labels is not None
                  else positions + self.row_offset)
        return RawTable(self.frame.filter(pl.Series(keep)), self.label, self.row_kind, 0,
                        np.asarray(labels, dtype=object), self.notes, self.separator)


def _fail(label: str, what: str) -> InputError:
    return InputError([InputProblem(label, None, None, None, what)], headline=False)


def load_table(source: Source, *, file_label: str | None, default_label: str,
               sheet: str | int | None = None, encoding: str = "auto",
               separator: str | None = None) -> RawTable:
    """Read ``source`` without interpreting any cell."""
    if isinstance(source, pl.LazyFrame):
        source = source.collect()
    if isinstance(source, pl.DataFrame):
        frame = source.rename({c: str(c) for c in source.columns})
        return RawTable(frame, file_label or default_label, "row index")
    if isinstance(source, pd.DataFrame):
        return _from_pandas(source, file_label or default_label, "row index", offset=0)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = file_label or path.name
        if not path.exists():
            raise _fail(label, f"no such file: {path}")
        if path.is_dir():
            raise _fail(label, f"{path} is a folder; give the path of a file (a folder of Parquet "
                                       "files is read on Dask: --dask, or client=)")
        suffix = path.suffix.lower()
        if suffix in _CSV_SUFFIXES:
            return _read_csv(path, label, encoding=encoding, separator=separator)
        if suffix in _PARQUET_SUFFIXES:
            try:
                frame = pl.read_parquet(path)
            except Exception as exc:  # polars raises several kinds for a damaged file
                raise _fail(label, f"cannot be read as Parquet ({type(exc).__name__}); "
                            "export the table again") from None
            return RawTable(frame, label, "row index")
        if suffix in _EXCEL_SUFFIXES:
            return _read_excel(path, label, sheet, default_label)
        if suffix in _OLD_EXCEL_SUFFIXES:
            raise _fail(label, "old Excel 97-2003 workbooks (.xls) are not read; save it as "
                        ".xlsx or as CSV UTF-8")
        raise ValueError(
            f"{path.name}: cannot read files ending in '{path.suffix}'; "
            "expected .csv, .parquet or .xlsx"
        )
    raise TypeError(
        f"cannot read a {type(source).__name__}; "
        "expected a file path or a pandas or polars DataFrame"
    )


# ------------------------------------------------------------------------------------- CSV
def _decode(data: bytes, label: str, encoding: str) -> tuple[bytes, str | None]:
    """UTF-8 bytes of the file, and a note when it was not UTF-8."""
    if encoding != "auto":
        try:
            text = data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise _fail(label, f"cannot be read with encoding={encoding!r} ({exc})") from None
        return text.lstrip("\ufeff").encode("utf-8"), None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").lstrip("\ufeff").encode("utf-8"), "read as UTF-16"
    try:
        data.decode("utf-8")
        return data, None
    except UnicodeDecodeError as exc:
        bad_byte = data[exc.start]
        line = data.count(b"\n", 0, exc.start) + 1
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise _fail(label, f"is not UTF-8 text (byte 0x{bad_byte:02X} on line {line}); save it "
                    "as 'CSV UTF-8' or pass its encoding (encoding='latin-1', "
                    "--encoding)") from None
    return text.encode("utf-8"), (
        f"read as Windows-1252, not UTF-8 (first non-UTF-8 byte 0x{bad_byte:02X} on line "
        f"{line}); check accented names, or save the file as 'CSV UTF-8'")


def _not_text(data: bytes, label: str) -> None:
    head = data[:8192]
    if head.startswith(b"PK\x03\x04"):
        raise _fail(label, "is a zip archive or an Excel workbook, not a CSV file; unzip it, "
                    "or give the workbook its .xlsx name")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _fail(label, "is an old Excel workbook (.xls), not a CSV file; save it as .xlsx "
                    "or as CSV UTF-8")
    if head.startswith(b"\x1f\x8b"):
        raise _fail(label, "is gzip-compressed; decompress it first")
    if head.startswith(b"PAR1"):
        raise _fail(label, "is a Parquet file; give it a .parquet name")
    if head.startswith(b"%PDF"):
        raise _fail(label, "is a PDF document, not a table")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(label, "is a binary file, not CSV text; export the table as CSV UTF-8")


def _sniff_separator(header: str) -> str:
    """The separator used in the header line: the candidate seen most often outside quotes
    (spreadsheets in decimal-comma locales write ``;``)."""
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, label: str, *, encoding: str, separator: str | None) -> RawTable:
    data = path.read_bytes()
    if not data.strip():
        raise _fail(label, "is empty; expected a header line and data rows")
    _not_text(data, label)
    data, note = _decode(data, label, encoding)
    if not data.strip():  # (only a byte-order mark, or blank lines after one)
        raise _fail(label, "is empty; expected a header line and data rows")
    lines = data.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    header = lines[first].decode("utf-8")
    sep = separator or ("\t" if path.suffix.lower() in (".tsv", ".tab")
                        else _sniff_separator(header))
    if not any(line.strip(sep.encode() + b" \r\t") for line in lines[first + 1:]):
        raise _fail(label, "has a header line but no data rows")
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, separator=sep,
                            skip_rows=first, truncate_ragged_lines=False)
    except pl.exceptions.ComputeError:
        _raise_ragged(data, label, sep, first)
        raise
    except pl.exceptions.DuplicateError as exc:
        raise _fail(label, f"has two columns with the same name ({exc}); rename one") from None
    frame = _drop_unnamed_empty(frame)
    return RawTable(frame, label, "row", row_offset=first + 2,
                    notes=(note,) if note else (), separator=sep)


def _drop_unnamed_empty(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns without a header whose cells are all empty (trailing separators)."""
    drop = [c for c in frame.columns
            if (c == "" or c.startswith("_duplicated_") or c.startswith("column_"))
            and frame[c].cast(pl.String).str.strip_chars().fill_null("").eq("").all()]
    return frame.drop(drop) if drop else frame


def _raise_ragged(data: bytes, label: str, separator: str, skip: int) -> None:
    """Name the lines whose field count differs from the header's (e.g. an unquoted decimal
    comma: ``1,2020-01-01,2,5``). Runs only after polars has refused the file."""
    import csv

    problems: list[InputProblem] = []
    omitted = 0
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=separator)
    for _ in range(skip):
        next(reader, None)
    header = next(reader, [])
    for line_number, fields in enumerate(reader, start=skip + 2):
        if len(fields) in (0, len(header)) or not any(f.strip() for f in fields):
            continue
        if len(problems) >= 50:
            omitted += 1
            continue
        problems.append(
            InputProblem(
                label,
                line_number,
                None,
                separator.join(fields),
                f"{len(header)} fields like the header, found {len(fields)} "
                '(quote values that contain the separator, e.g. "2,5")',
            )
        )
    if problems:
        raise InputError(problems, {(label, "(all)"): omitted} if omitted else None)


# ------------------------------------------------------------------------------------- Excel
def _read_excel(path: Path, label: str, sheet: str | int | None, table: str) -> RawTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged or mislabelled file raises many kinds
        raise _fail(label, f"cannot be opened as an Excel workbook ({type(exc).__name__}); "
                    "save it again as .xlsx or as CSV UTF-8") from None
    try:
        names = list(book.sheetnames)
        name = _pick_sheet(names, sheet, table, label)
        rows = book[name].iter_rows(values_only=True)
        header: tuple[Any, ...] | None = None
        header_row = 0
        body: list[tuple[Any, ...]] = []
        numbers: list[int] = []
        for number, values in enumerate(rows, start=1):
            blank = all(v is None or (isinstance(v, str) and not v.strip()) for v in values)
            if header is None:
                if not blank:
                    header, header_row = values, number
                continue
            body.append(values)
            numbers.append(number)
    finally:
        book.close()
    where = f"{label}, sheet '{name}'" if len(names) > 1 or sheet is not None else label
    if header is None:
        raise _fail(where, "is empty; expected a header row and data rows")
    width = max((i + 1 for i, v in enumerate(header) if v is not None and str(v).strip()),
                default=0)
    names_row = [str(v).strip() if v is not None else f"column {i + 1}"
                 for i, v in enumerate(header[:width])]
    if len(set(names_row)) != len(names_row):
        dup = sorted({n for n in names_row if names_row.count(n) > 1})
        raise _fail(where, f"has two columns named {dup[0]!r} in row {header_row}; rename one")
    if not body or all(all(v is None for v in r[:width]) for r in body):
        raise _fail(where, f"has a header row (row {header_row}) but no data rows")
    columns = {n: [r[i] if i < len(r) else None for r in body] for i, n in enumerate(names_row)}
    frame = pl.DataFrame({n: _excel_column(v) for n, v in columns.items()})
    return RawTable(frame, where, "row", 0, np.asarray(numbers, dtype=object))


def _pick_sheet(names: list[str], sheet: str | int | None, table: str, label: str) -> str:
    """The sheet to read: the one asked for, the only one, or the one named like the table."""
    listed = ", ".join(f"'{n}'" for n in names)
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            raise _fail(label, f"has no sheet number {sheet} (sheets: {listed}; numbers start "
                        "at 0)")
        return names[sheet]
    if isinstance(sheet, str):
        if sheet in names:
            return sheet
        matches = [n for n in names if fold(n) == fold(sheet)]
        if len(matches) == 1:
            return matches[0]
        raise _fail(label, f"has no sheet named '{sheet}' (sheets: {listed})")
    if len(names) == 1:
        return names[0]
    matches = [n for n in names if fold(n) == fold(table) or fold(n).startswith(fold(table))]
    if len(matches) == 1:
        return matches[0]
    raise _fail(label, f"has {len(names)} sheets ({listed}) and none is named '{table}'; pick "
                f"one with sheet='...' (--sheet {table}=NAME)")


def _excel_column(values: list[Any]) -> pl.Series:
    """One sheet column: numbers stay numbers, real dates stay dates, anything mixed becomes
    each cell's text so that the validators can name the bad cells."""
    present = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pl.Series([None if v is None or isinstance(v, str) else float(v)
                          for v in values], dtype=pl.Float64)
    if present and all(isinstance(v, dt.datetime | dt.date) for v in present):
        return pl.Series([_as_date(v) for v in values], dtype=pl.Date)
    return pl.Series([_cell_text(v) for v in values], dtype=pl.String)


def _as_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return None


# ------------------------------------------------------------------------------ DataFrames
def _from_pandas(df: pd.DataFrame, label: str, row_kind: RowKind, offset: int) -> RawTable:
    columns = {str(c): _pandas_to_polars(str(c), df[c]) for c in df.columns}
    if len(columns) != len(df.columns):
        raise _fail(label, "has two columns with the same name; rename one")
    index = df.index
    plain = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    labels = None if plain else np.asarray(index.to_numpy(dtype=object))
    return RawTable(pl.DataFrame(columns, nan_to_null=False), label, row_kind, offset, labels)


def _pandas_to_polars(name: str, s: pd.Series) -> pl.Series:
    """Convert one pandas column without pyarrow, keeping numbers, dates and text apart."""
    if isinstance(s, pd.DataFrame):  # duplicated column names
        s = s.iloc[:, 0]
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s = s.astype(object)
        dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        # The local calendar date is the clinical date; the zone is dropped, not converted.
        s = pd.Series(pd.DatetimeIndex(s).tz_localize(None), index=s.index, name=s.name)
        dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return pl.Series(name, s.to_numpy(dtype="datetime64[ns]"))
    if pd.api.types.is_bool_dtype(dtype):
        # True/False: kept as text, so that flags read it and measurements report it.
        return pl.Series(name, [_cell_text(v) for v in s.astype(object)], dtype=pl.String)
    if pd.api.types.is_integer_dtype(dtype):
        if s.isna().any():  # nullable Int64 with gaps
            return pl.Series(name, s.to_numpy(dtype="float64", na_value=np.nan))
        return pl.Series(name, s.to_numpy(dtype="int64"))
    if pd.api.types.is_float_dtype(dtype):
        return pl.Series(name, s.to_numpy(dtype="float64", na_value=np.nan))
    values = s.astype(object).where(s.notna(), None)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return pl.Series(name, values.tolist(), dtype=pl.String)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return _pandas_to_polars(name, pd.to_numeric(values))
    if kind in ("datetime", "datetime64", "date"):
        return _pandas_to_polars(name, pd.to_datetime(values))
    # Mixed cells, as in Excel columns holding both real dates and typed text: keep each cell's
    # text so that the validators can name the bad ones.
    return pl.Series(name, [_cell_text(v) for v in values.to_numpy()], dtype=pl.String)


def _cell_text(v: Any) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.date().isoformat() if v == pd.Timestamp(v).normalize() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
