"""Load any supported source into raw polars columns, remembering how the user numbers its rows.

Every source (CSV, Parquet, Excel, pandas or polars DataFrame) becomes the same thing: a polars
DataFrame of untouched columns plus the rule that turns a row position into the row number the user
sees. CSV files are read with every column as text, so that a cell like ``03/04/2020`` or ``2,5``
reaches the validators exactly as typed instead of being guessed at by a type-inference step.
pyarrow is deliberately not needed here (its newest releases refuse numpy 1.x).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from neda.io.errors import InputError, InputProblem, RowKind

Source = str | os.PathLike[str] | pd.DataFrame | pl.DataFrame | pl.LazyFrame

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}


@dataclass(frozen=True)
class RawTable:
    """Raw columns of one input table and the user's numbering of its rows."""

    frame: pl.DataFrame
    label: str
    row_kind: RowKind
    row_offset: int = 0
    index_labels: np.ndarray | None = None

    def row(self, pos: int) -> Hashable:
        """The row number (spreadsheet files) or index label (tables) of data row ``pos``."""
        if self.index_labels is not None:
            label = self.index_labels[pos]
            return label.item() if isinstance(label, np.generic) else label
        return int(pos) + self.row_offset

    def rows(self, positions: Sequence[int] | np.ndarray) -> tuple[Hashable, ...]:
        return tuple(self.row(int(p)) for p in positions)

    def column(self, wanted: str) -> str | None:
        """The table's name for column ``wanted``: exact match first, else the one column that
        matches ignoring case and surrounding spaces (``EDSS`` for ``edss``)."""
        names = self.frame.columns
        if wanted in names:
            return wanted
        folded = [c for c in names if c.strip().lower() == wanted.strip().lower()]
        return folded[0] if len(folded) == 1 else None


def load_table(source: Source, *, file_label: str | None, default_label: str) -> RawTable:
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
        suffix = path.suffix.lower()
        if suffix in _CSV_SUFFIXES:
            return RawTable(_read_csv(path), label, "row", row_offset=2)
        if suffix in _PARQUET_SUFFIXES:
            return RawTable(pl.read_parquet(path), label, "row index")
        if suffix in _EXCEL_SUFFIXES:
            # The first sheet, header in row 1: row numbers then match what Excel shows.
            sheet = pd.read_excel(path, dtype=object, sheet_name=0)
            sheet.index = pd.RangeIndex(len(sheet))
            return _from_pandas(sheet, label, "row", offset=2)
        raise ValueError(
            f"{path.name}: cannot read files ending in '{path.suffix}'; "
            "expected .csv, .parquet or .xlsx/.xls"
        )
    raise TypeError(
        f"cannot read a {type(source).__name__}; "
        "expected a file path or a pandas or polars DataFrame"
    )


def _read_csv(path: Path) -> pl.DataFrame:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    # Spreadsheets saved in a comma-decimal locale use ';' between fields.
    if path.suffix.lower() == ".tsv" or ("\t" in header and "," not in header):
        separator = "\t"
    elif ";" in header and "," not in header:
        separator = ";"
    else:
        separator = ","
    try:
        return pl.read_csv(path, infer_schema=False, separator=separator)
    except pl.exceptions.ComputeError:
        _raise_ragged(path, separator)
        raise


def _raise_ragged(path: Path, separator: str) -> None:
    """Name the lines whose field count differs from the header's (e.g. an unquoted decimal
    comma: ``1,2020-01-01,2,5``). Runs only after polars has refused the file."""
    import csv

    problems: list[InputProblem] = []
    omitted = 0
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=separator)
        header = next(reader, [])
        for line_number, fields in enumerate(reader, start=2):
            if len(fields) in (0, len(header)):
                continue
            if len(problems) >= 50:
                omitted += 1
                continue
            problems.append(
                InputProblem(
                    path.name,
                    line_number,
                    None,
                    separator.join(fields),
                    f"{len(header)} fields like the header, found {len(fields)} "
                    '(quote values that contain the separator, e.g. "2,5")',
                )
            )
    if problems:
        raise InputError(problems, {(path.name, "(all)"): omitted} if omitted else None)


def _from_pandas(df: pd.DataFrame, label: str, row_kind: RowKind, offset: int) -> RawTable:
    columns = {str(c): _pandas_to_polars(str(c), df[c]) for c in df.columns}
    index = df.index
    plain = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    labels = None if plain else np.asarray(index.to_numpy(dtype=object))
    return RawTable(pl.DataFrame(columns), label, row_kind, offset, labels)


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
    if pd.api.types.is_bool_dtype(dtype) and dtype.kind != "O":
        # True/False is no outcome value nor a date: keep it as text so it is reported.
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
        return pl.Series(name, values.to_numpy(), dtype=pl.String)
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
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.date().isoformat() if v == pd.Timestamp(v).normalize() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)
