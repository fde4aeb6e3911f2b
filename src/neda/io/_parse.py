"""Vectorised parsing and checking of single columns.

Each parser turns one raw column into clean numpy values and reports the bad cells to a
:class:`Problems` collector. The checks themselves are whole-column operations; Python loops run
only over the failing cells, to build their messages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Literal

import numpy as np
import polars as pl

from neda.io._table import RawTable
from neda.io.errors import InputError, InputProblem

DateUnit = Literal["day"]

#: The 20 EDSS steps (clinical rules 1.1). 0.5 does not exist; off-scale values are rejected,
#: never rounded.
EDSS_SCALE: tuple[float, ...] = (0.0, *(x / 2 for x in range(2, 21)))

EDSS_EXPECTED = "an EDSS value on the scale 0, 1.0, 1.5, ..., 9.5, 10"

#: Cell texts that mean "not measured" in outcome columns (R writes NA, pandas writes NaN).
MISSING_MARKERS = ("", "na", "n/a", "nan", "null", "none")

PROBLEMS_PER_COLUMN = 50

_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
_ISO_DATE_SHAPE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$")
_DAY_MONTH_SHAPE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\s*$")
_NUMBER_SHAPE = re.compile(r"^\s*-?\d{1,7}(\.\d*)?\s*$")
_NUMBER_NOT_DATE = "a date (YYYY-MM-DD); numbers are read as day numbers only with date_unit='day'"
_CANONICAL_INT = r"^-?[1-9][0-9]{0,17}$|^0$"


class Problems:
    """Collects every problem of one table, capped per column, and raises them together."""

    def __init__(self, table: RawTable, cap: int = PROBLEMS_PER_COLUMN):
        self.table = table
        self.cap = cap
        self._items: list[tuple[int, int, InputProblem]] = []
        self._per_column: dict[str, int] = {}
        self._column_order: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._items)

    def missing_column(self, wanted: str) -> None:
        found = ", ".join(f"'{c}'" for c in self.table.frame.columns) or "none"
        problem = InputProblem(
            self.table.label,
            None,
            wanted,
            None,
            f"a column named '{wanted}' (columns found: {found})",
            self.table.row_kind,
        )
        self._items.append((-1, len(self._items), problem))

    def cells(
        self,
        column: str,
        positions: np.ndarray,
        raw: pl.Series,
        expected: str | Callable[[str | None], str],
    ) -> None:
        """Report the cells at ``positions`` of column ``column`` (shown with its raw text)."""
        order = self._column_order.setdefault(column, len(self._column_order))
        for pos in positions:
            seen = self._per_column.get(column, 0)
            self._per_column[column] = seen + 1
            if seen >= self.cap:
                continue
            value = cell_text(raw, int(pos))
            text = expected if isinstance(expected, str) else expected(value)
            problem = InputProblem(
                self.table.label,
                self.table.row(int(pos)),
                column,
                value,
                text,
                self.table.row_kind,
            )
            self._items.append((int(pos), order, problem))

    def add(self, pos: int, column: str, value: str | None, expected: str) -> None:
        """Report one cell whose message needs more than its own text (e.g. conflicting rows)."""
        order = self._column_order.setdefault(column, len(self._column_order))
        seen = self._per_column.get(column, 0)
        self._per_column[column] = seen + 1
        if seen < self.cap:
            problem = InputProblem(
                self.table.label,
                self.table.row(pos),
                column,
                value,
                expected,
                self.table.row_kind,
            )
            self._items.append((pos, order, problem))

    def raise_if_any(self) -> None:
        if not self._items:
            return
        listed = [p for _, _, p in sorted(self._items, key=lambda t: (t[0], t[1]))]
        omitted = {
            (self.table.label, c): n - self.cap for c, n in self._per_column.items() if n > self.cap
        }
        raise InputError(listed, omitted)


def cell_text(raw: pl.Series, pos: int) -> str | None:
    """A cell as the user typed it; ``None`` for an empty cell."""
    v = raw[pos]
    if v is None:
        return None
    if isinstance(v, str):
        return None if v.strip() == "" else v
    if isinstance(v, float):
        return None if np.isnan(v) else repr(v)
    if isinstance(v, dt.datetime) and v.time() == dt.time(0):
        return v.date().isoformat()
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return str(v)


def _missing(raw: pl.Series, markers: tuple[str, ...]) -> np.ndarray:
    if raw.dtype == pl.String:
        folded = raw.str.strip_chars().str.to_lowercase()
        return np.asarray((folded.is_null() | folded.is_in(list(markers))).to_numpy(), dtype=bool)
    mask = raw.is_null()
    if raw.dtype.is_float():
        mask = mask | raw.is_nan().fill_null(True)
    return np.asarray(mask.to_numpy(), dtype=bool)


def parse_numbers(raw: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, missing, bad): float64 values with NaN where missing or bad.

    A cell is missing when empty or a missing-value marker (``NA``, ``NaN``...), and bad when it is
    text that is not a finite decimal number (``2,5``, ``abc``, ``inf``).
    """
    missing = _missing(raw, MISSING_MARKERS)
    if raw.dtype == pl.String:
        numbers = raw.str.strip_chars().cast(pl.Float64, strict=False)
    elif raw.dtype.is_numeric():
        numbers = raw.cast(pl.Float64)
    else:
        numbers = pl.Series(raw.name, np.full(len(raw), np.nan))
        return numbers.to_numpy(), missing, ~missing
    values = np.asarray(numbers.fill_null(np.nan).to_numpy(), dtype=np.float64)
    bad = ~missing & ~np.isfinite(values)
    values = np.where(missing | bad, np.nan, values)
    return values, missing, bad


OutcomeKind = Literal["edss", "timed", "sdmt", "pasat", "number"]


def outcome_kind(name: str) -> OutcomeKind:
    """Which range check a column gets, from its name in the field's usual words."""
    n = name.strip().lower()
    if n == "edss":
        return "edss"
    if any(n == t or n.startswith(t + "_") for t in ("t25fw", "nhpt", "9hpt")):
        return "timed"
    if n == "sdmt" or n.startswith("sdmt_"):
        return "sdmt"
    if n == "pasat" or n.startswith("pasat_"):
        return "pasat"
    return "number"


_OUTCOME_EXPECTED: dict[OutcomeKind, str] = {
    "edss": EDSS_EXPECTED,
    "timed": "a time in seconds greater than 0",
    "sdmt": "the number of correct answers, from 0 to 110",
    "pasat": "the number of correct answers, from 0 to 60",
    "number": "a number",
}


def in_range(kind: OutcomeKind, values: np.ndarray) -> np.ndarray:
    """True where a (non-missing) value is allowed for an outcome of this kind."""
    with np.errstate(invalid="ignore"):
        if kind == "edss":
            doubled = values * 2
            return (doubled == np.round(doubled)) & (values >= 0) & (values <= 10) & (values != 0.5)
        if kind == "timed":
            return values > 0
        if kind == "sdmt":
            return (values >= 0) & (values <= 110)
        if kind == "pasat":
            return (values >= 0) & (values <= 60)
        return np.isfinite(values)


def parse_outcome(column: str, name: str, raw: pl.Series, problems: Problems) -> np.ndarray:
    """Float64 values of one outcome column; NaN where not measured. Bad cells are reported."""
    kind = outcome_kind(name)
    values, missing, bad = parse_numbers(raw)
    bad = bad | (~missing & ~bad & ~in_range(kind, values))
    if bad.any():
        problems.cells(column, np.flatnonzero(bad), raw, _OUTCOME_EXPECTED[kind])
        values = np.where(bad, np.nan, values)
    return values


def _date_expected(date_format: str | None) -> Callable[[str | None], str]:
    def expected(value: str | None) -> str:
        if date_format is not None:
            return f"a date in the format '{date_format}'"
        if value is None:
            return "a date (YYYY-MM-DD)"
        if _ISO_DATE_SHAPE.match(value):
            return "a real calendar date in the form YYYY-MM-DD"
        if _NUMBER_SHAPE.match(value):
            return _NUMBER_NOT_DATE
        m = _DAY_MONTH_SHAPE.match(value)
        if m and int(m.group(1)) <= 12 and int(m.group(2)) <= 12:
            return (
                "an ISO 8601 date YYYY-MM-DD; day and month order is ambiguous here, so "
                "pass date_format (for example '%d/%m/%Y' or '%m/%d/%Y')"
            )
        return (
            "an ISO 8601 date YYYY-MM-DD (other formats need an explicit date_format, "
            "for example '%d/%m/%Y')"
        )

    return expected


def parse_dates(
    column: str,
    raw: pl.Series,
    problems: Problems,
    *,
    date_format: str | None,
    date_unit: DateUnit | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(dates, ok): ``datetime64[ns]`` calendar dates, or int64 days with ``date_unit="day"``.

    Only ISO 8601 dates are read without ``date_format``: ``03/04/2020`` is 3 April in Europe and
    4 March in the US, and guessing would move visits by months without anyone noticing. A time of
    day, if present, is dropped: all arithmetic is on calendar dates (clinical rules 0.2).
    """
    n = len(raw)
    if date_unit is not None:
        if date_unit != "day":
            raise ValueError(f"date_unit must be 'day' or None, not {date_unit!r}")
        values, missing, bad = parse_numbers(raw)
        with np.errstate(invalid="ignore"):
            bad = bad | missing | (values != np.round(values)) | (values < 0)
        if bad.any():
            problems.cells(column, np.flatnonzero(bad), raw, "a whole number of days, 0 or more")
        return np.where(bad, 0, values).astype(np.int64), ~bad

    if raw.dtype == pl.String:
        frame = pl.DataFrame({"s": raw.str.strip_chars()})
        if date_format is not None:
            expr = pl.col("s").str.to_datetime(date_format, strict=False).dt.date()
        else:
            expr = (
                pl.when(pl.col("s").str.contains(_ISO_DATETIME))
                .then(pl.col("s").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
                .otherwise(pl.col("s").str.to_date("%Y-%m-%d", strict=False))
            )
        parsed = frame.select(expr.alias("d"))["d"]
        expected: str | Callable[[str | None], str] = _date_expected(date_format)
    elif raw.dtype == pl.Date:
        parsed = raw
        expected = "a date"
    elif isinstance(raw.dtype, pl.Datetime):
        parsed = (raw.dt.replace_time_zone(None) if raw.dtype.time_zone else raw).dt.date()
        expected = "a date"
    else:
        parsed = pl.Series("d", [None] * n, dtype=pl.Date)
        expected = _NUMBER_NOT_DATE
    ok = np.asarray(parsed.is_not_null().to_numpy(), dtype=bool)
    if not ok.all():
        problems.cells(column, np.flatnonzero(~ok), raw, expected)
    dates = parsed.to_numpy().astype("datetime64[ns]")
    return dates, ok


def parse_subjects(column: str, raw: pl.Series, problems: Problems) -> tuple[pl.Series, np.ndarray]:
    """(subjects, ok): a polars ``subject`` column, Int64 when every identifier is a plain integer,
    else String.

    Text identifiers with leading zeros (``007``) stay text, so they round-trip unchanged.
    """
    if raw.dtype.is_integer():
        ok = np.asarray(raw.is_not_null().to_numpy(), dtype=bool)
        values = raw.fill_null(0).cast(pl.Int64)
    elif raw.dtype.is_float():
        as_float = raw.fill_nan(None)
        ok = np.asarray(as_float.is_not_null().to_numpy(), dtype=bool)
        f = np.asarray(as_float.fill_null(0).to_numpy(), dtype=np.float64)
        if (f == np.round(f)).all() and (np.abs(f) < 2**53).all():
            values = pl.Series(f.astype(np.int64))
        else:
            values = pl.Series([repr(x) for x in f], dtype=pl.String)
    else:
        text = raw.cast(pl.String).str.strip_chars()
        ok = np.asarray((text.is_not_null() & (text != "")).fill_null(False).to_numpy(), dtype=bool)
        present = text.filter(pl.Series(ok))
        if len(present) and present.str.contains(_CANONICAL_INT).all():
            values = text.cast(pl.Int64, strict=False).fill_null(0)
        else:
            values = text.fill_null("")
    if not ok.all():
        problems.cells(column, np.flatnonzero(~ok), raw, "a subject identifier")
    return values.alias("subject"), ok


def subject_series(values: np.ndarray) -> pl.Series:
    """A ``subject`` column from numpy identifiers (int64, or objects read as text)."""
    if values.dtype.kind in "iu":
        return pl.Series("subject", values, dtype=pl.Int64)
    return pl.Series("subject", values.astype(str).astype(object), dtype=pl.String)
