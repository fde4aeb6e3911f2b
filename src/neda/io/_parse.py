"""Vectorised parsing and checking of single columns: the one place where a cell is read.

Each parser turns one raw column into clean numpy values and reports the bad cells to a
:class:`Problems` collector. The checks themselves are whole-column operations; Python loops run
only over distinct values or over the failing cells, to build their messages. Every rule of
neda reads tables that went through these parsers, so a yes/no flag, a blank cell, a decimal
comma or an imprecise date means the same thing everywhere (rules §0.3).
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
Decimal = Literal["auto", ".", ","]

#: The 20 EDSS steps (rules §1.1). 0.5 does not exist; off-scale values are rejected,
#: never rounded.
EDSS_SCALE: tuple[float, ...] = (0.0, *(x / 2 for x in range(2, 21)))

EDSS_EXPECTED = "an EDSS value on the scale 0, 1.0, 1.5, ..., 9.5, 10"

#: Cell texts that mean "not known" in every column (R writes NA, pandas writes NaN).
MISSING_MARKERS = ("", "na", "n/a", "nan", "null", "none")

#: The one reading of yes/no cells (rules §0.3); blank or "unknown" = unknown.
TRUE_WORDS = ("yes", "y", "true", "t", "1", "1.0")
FALSE_WORDS = ("no", "n", "false", "f", "0", "0.0")
UNKNOWN_WORDS = (*MISSING_MARKERS, "unknown", "not known", "unk", "?", "<na>")

#: Earliest date accepted anywhere (rules §0.3): older dates are typing errors.
EARLIEST_DATE = dt.date(1900, 1, 1)

PROBLEMS_PER_COLUMN = 50

_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
_ISO_DATE_SHAPE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$")
_DAY_MONTH_SHAPE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\s*$")
_NUMBER_SHAPE = re.compile(r"^\s*-?\d{1,7}(\.\d*)?\s*$")
_DECIMAL_COMMA = r"^\s*[-+]?\d+,\d+\s*$"
_NUMBER_NOT_DATE = ("a date (YYYY-MM-DD); whole numbers are read as day numbers only with "
                    "date_unit='day' and a date_origin (--date-unit day --date-origin "
                    "YYYY-MM-DD)")
_CANONICAL_INT = r"^-?[1-9][0-9]{0,17}$|^0$"
_EPOCH = np.datetime64("1970-01-01", "D")


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

    def missing_column(self, wanted: str, aliases: tuple[str, ...] = ()) -> None:
        found = ", ".join(f"'{c}'" for c in self.table.frame.columns) or "none"
        also = (f" (or {', '.join(repr(a) for a in aliases)})" if aliases else "")
        problem = InputProblem(
            self.table.label,
            None,
            wanted,
            None,
            f"a column named '{wanted}'{also} (columns found: {found}); name another column "
            f"with columns={{'{wanted}': ...}} (--column TABLE.{wanted}=HEADER)",
            self.table.row_kind,
        )
        self._items.append((-1, len(self._items), problem))

    def missing_given_header(self, table: str, name: str, header: str) -> None:
        """The header the user named for a column (``columns={name: header}``) is not in the
        file."""
        found = ", ".join(f"'{c}'" for c in self.table.frame.columns) or "none"
        problem = InputProblem(
            self.table.label, None, header, None,
            f"the header '{header}' given for the column '{name}' (columns={{'{name}': "
            f"'{header}'}}, --column {table}.{name}='{header}'); the file's headers are: {found}",
            self.table.row_kind,
        )
        self._items.append((-1, len(self._items), problem))

    def whole_table(self, expected: str) -> None:
        """A problem of the table as a whole (e.g. a relapses file that is a visits sheet)."""
        problem = InputProblem(self.table.label, None, None, None, expected,
                               self.table.row_kind)
        self._items.append((-2, len(self._items), problem))

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

    def error(self) -> InputError | None:
        if not self._items:
            return None
        listed = [p for _, _, p in sorted(self._items, key=lambda t: (t[0], t[1]))]
        omitted = {
            (self.table.label, c): n - self.cap for c, n in self._per_column.items() if n > self.cap
        }
        whole_file = len(listed) == 1 and listed[0].row is None and listed[0].column is None
        return InputError(listed, omitted, headline=not whole_file)

    def raise_if_any(self) -> None:
        error = self.error()
        if error is not None:
            raise error


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


def missing_mask(raw: pl.Series, markers: tuple[str, ...] = MISSING_MARKERS) -> np.ndarray:
    """True where a cell is blank or a missing-value marker: "not known" (rules §0.3)."""
    if raw.dtype == pl.String:
        folded = raw.str.strip_chars().str.to_lowercase()
        return np.asarray((folded.is_null() | folded.is_in(list(markers))).to_numpy(), dtype=bool)
    mask = raw.is_null()
    if raw.dtype.is_float():
        mask = mask | raw.is_nan().fill_null(True)
    return np.asarray(mask.to_numpy(), dtype=bool)


def blank_rows(frame: pl.DataFrame) -> np.ndarray:
    """True for rows whose every cell is blank (skipped by every reader, rules §0.3)."""
    blank = np.ones(frame.height, dtype=bool)
    for name in frame.columns:
        blank &= missing_mask(frame[name], ("",))
        if not blank.any():
            break
    return blank


# ------------------------------------------------------------------------------------ numbers
def comma_allowed(table: RawTable, decimal: Decimal) -> bool:
    """Whether ``2,5`` reads as 2.5: asked for, or detected from a ``;``/tab separated file
    (spreadsheets in decimal-comma locales write ``;`` between fields)."""
    if decimal == ",":
        return True
    if decimal == ".":
        return False
    return table.separator in (";", "\t")


def parse_numbers(raw: pl.Series, *, comma: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, missing, bad): float64 values with NaN where missing or bad.

    A cell is missing when empty or a missing-value marker (``NA``, ``NaN``...), and bad when it
    is text that is not a finite decimal number (``abc``, ``inf``; ``2,5`` unless ``comma``).
    """
    missing = missing_mask(raw)
    if raw.dtype == pl.String:
        text = raw.str.strip_chars()
        if comma:
            text = pl.select(
                pl.when(text.str.contains(_DECIMAL_COMMA))
                .then(text.str.replace(",", ".", literal=True))
                .otherwise(text)
            ).to_series()
        numbers = text.cast(pl.Float64, strict=False)
    elif raw.dtype.is_numeric():
        numbers = raw.cast(pl.Float64)
    else:
        return np.full(len(raw), np.nan), missing, ~missing
    values = np.asarray(numbers.fill_null(np.nan).to_numpy(), dtype=np.float64)
    bad = ~missing & ~np.isfinite(values)
    values = np.where(missing | bad, np.nan, values)
    return values, missing, bad


OutcomeKind = Literal["edss", "timed", "sdmt", "pasat", "number"]


def outcome_kind(name: str) -> OutcomeKind:
    """Which range check a measure column gets, from its name in the field's usual words."""
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


def _with_comma_hint(base: str, table: RawTable) -> Callable[[str | None], str]:
    """``base``, plus how to read a decimal comma when the cell has one."""
    def expected(value: str | None) -> str:
        if value is not None and re.match(_DECIMAL_COMMA, value):
            sep = "','" if table.separator == "," else (
                repr(table.separator) if table.separator else "no separator (not a CSV file)")
            return (f"{base} with a decimal point; fields are separated by {sep}, so a "
                    "decimal comma is read only with decimal=',' (--decimal ,)")
        return base
    return expected


def parse_measure(column: str, kind: OutcomeKind | tuple[float | None, float | None, bool, bool],
                  raw: pl.Series, problems: Problems, *, comma: bool) -> np.ndarray:
    """Float64 values of one numeric column; NaN where not known. Bad cells are reported.

    ``kind``: a named outcome range (EDSS scale, seconds > 0, SDMT 0-110, ...) or
    ``(lo, hi, lo_open, whole)``.
    """
    values, missing, bad = parse_numbers(raw, comma=comma)
    if isinstance(kind, str):
        ok = in_range(kind, values)
        expected_base = _OUTCOME_EXPECTED[kind]
    else:
        lo, hi, lo_open, whole = kind
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(values)
            if lo is not None:
                ok &= (values > lo) if lo_open else (values >= lo)
            if hi is not None:
                ok &= values <= hi
            if whole:
                ok &= values == np.round(values)
        expected_base = _range_text(lo, hi, lo_open, whole)
    bad = bad | (~missing & ~bad & ~ok)
    if bad.any():
        problems.cells(column, np.flatnonzero(bad), raw,
                       expected_base if comma else _with_comma_hint(expected_base,
                                                                     problems.table))
        values = np.where(bad, np.nan, values)
    return values


def _range_text(lo: float | None, hi: float | None, lo_open: bool, whole: bool) -> str:
    what = "a whole number" if whole else "a number"
    if lo is not None and hi is not None:
        return f"{what} from {lo:g} to {hi:g}" if not lo_open else f"{what} > {lo:g} and <= {hi:g}"
    if lo is not None:
        return f"{what} greater than {lo:g}" if lo_open else f"{what}, {lo:g} or more"
    if hi is not None:
        return f"{what}, {hi:g} or less"
    return what


# ------------------------------------------------------------------------------------- flags
def parse_flags(column: str, raw: pl.Series, problems: Problems) -> np.ndarray:
    """Yes/no cells as int8: 1 yes, 0 no, -1 unknown (rules §0.3). Anything else is reported.

    Accepts yes/no, y/n, true/false, t/f, 1/0 in any case; blank, ``NA`` or ``unknown`` is
    unknown - never no.
    """
    n = len(raw)
    out = np.full(n, -1, np.int8)
    if raw.dtype.is_numeric():
        values = np.asarray(raw.cast(pl.Float64).fill_null(np.nan).to_numpy(), dtype=float)
        out[values == 1] = 1
        out[values == 0] = 0
        bad = ~np.isnan(values) & (values != 1) & (values != 0)
    elif raw.dtype == pl.Boolean:
        b = raw.to_numpy()
        known = raw.is_not_null().to_numpy()
        out[known & (b == True)] = 1  # noqa: E712 - numpy object array of bools
        out[known & (b == False)] = 0  # noqa: E712
        bad = np.zeros(n, bool)
    else:
        folded = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
        yes = np.asarray(folded.is_in(list(TRUE_WORDS)).fill_null(False).to_numpy(), bool)
        no = np.asarray(folded.is_in(list(FALSE_WORDS)).fill_null(False).to_numpy(), bool)
        unknown = np.asarray((folded.is_null() | folded.is_in(list(UNKNOWN_WORDS)))
                             .fill_null(True).to_numpy(), bool)
        out[yes] = 1
        out[no] = 0
        bad = ~yes & ~no & ~unknown
    if bad.any():
        problems.cells(column, np.flatnonzero(bad), raw,
                       "yes or no (also y/n, true/false, 1/0; blank = unknown)")
    return out


# ----------------------------------------------------------------------------------- choices
def parse_choice(column: str, raw: pl.Series, problems: Problems, allowed: tuple[str, ...],
                 synonyms: dict[str, str] | None = None) -> np.ndarray:
    """Cells as the canonical spelling of ``allowed`` (matched ignoring case, spaces, hyphens);
    None where blank. Anything else is reported with the allowed values."""
    text, blank = as_text(raw)
    missing = blank | missing_mask(text, UNKNOWN_WORDS)
    lookup = {_fold_choice(a): a for a in allowed}
    lookup.update({_fold_choice(k): v for k, v in (synonyms or {}).items()})
    values = np.asarray(text.to_numpy(), dtype=object)
    out = np.full(len(values), None, dtype=object)
    bad = np.zeros(len(values), bool)
    present = np.flatnonzero(~missing)
    if present.size:
        uniq, inverse = np.unique(values[present].astype(str), return_inverse=True)
        mapped = np.array([lookup.get(_fold_choice(u)) for u in uniq], dtype=object)
        out[present] = mapped[inverse]
        bad[present] = np.array([m is None for m in mapped], bool)[inverse]
    if bad.any():
        listed = ", ".join(allowed)
        problems.cells(column, np.flatnonzero(bad), raw, f"one of {listed}")
    return out


def _fold_choice(text: str) -> str:
    return "".join(ch for ch in str(text).casefold() if ch.isalnum())


def as_text(raw: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """(text, blank): cells as stripped text - whole numbers without a trailing ``.0`` - and
    where they are blank or a missing-value marker."""
    blank = missing_mask(raw)
    if raw.dtype.is_float():
        values = raw.to_list()
        text = pl.Series(raw.name, [None if v is None or v != v else
                                    (str(int(v)) if float(v).is_integer() else repr(v))
                                    for v in values], dtype=pl.String)
    else:
        text = raw.cast(pl.String).str.strip_chars()
    return text, blank


def parse_text(raw: pl.Series) -> np.ndarray:
    """Free text as entered (stripped); None where blank."""
    text, blank = as_text(raw)
    out = np.asarray(text.to_numpy(), dtype=object)
    out[blank] = None
    return out


# -------------------------------------------------------------------------------- FS grades
_FS_GRADE = re.compile(r"^([+-]?\d+)(?:[.,]0*)?\s*([A-Za-z]*)$")
#: Cells meaning "not assessed" in an FS column (rules §1.2).
FS_NOT_ASSESSED = ("x", "9", "-1", "not assessable", "not done", *MISSING_MARKERS)


def parse_fs(column: str, raw: pl.Series, problems: Problems, top: int) -> np.ndarray:
    """FS grades as text, normalised (``"2"``, ``"2X"``; ``"X"``, ``"9"`` ... kept as entered
    for the EDSS rules' missing codes); None where blank. Grades outside 0-``top`` or with a
    marker other than X are reported (rules §1.2)."""
    text, blank = as_text(raw)
    values = np.asarray(text.to_numpy(), dtype=object)
    out = np.full(len(values), None, dtype=object)
    bad = np.zeros(len(values), bool)
    present = np.flatnonzero(~blank)
    if present.size:
        uniq, inverse = np.unique(values[present].astype(str), return_inverse=True)
        norm = np.array([_fs_text(u, top) for u in uniq], dtype=object)
        out[present] = norm[inverse]
        bad[present] = np.array([v is None for v in norm], bool)[inverse]
        out[bad] = None
    if bad.any():
        problems.cells(column, np.flatnonzero(bad), raw,
                       f"a grade 0-{top}, optionally followed by the marker 'X' (or X / 9 / "
                       "-1 for not assessed)")
    return out


def _fs_text(cell: str, top: int) -> str | None:
    folded = cell.casefold().strip()
    if folded in FS_NOT_ASSESSED:
        return cell.strip().upper() if folded == "x" else cell.strip()
    m = _FS_GRADE.match(cell.strip())
    if m is None:
        return None
    number, suffix = int(m.group(1)), m.group(2)
    if suffix and suffix.upper() != "X":
        return None
    if not 0 <= number <= top:
        return None
    return f"{number}{'X' if suffix else ''}"


# -------------------------------------------------------------------------------------- dates
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
                "pass date_format (for example '%d/%m/%Y' or '%m/%d/%Y'; --date-format)"
            )
        if m:
            first = int(m.group(1))
            fmt = "%d/%m/%Y" if first > 12 else "%m/%d/%Y"
            sep = value.strip()[len(m.group(1))]
            fmt = fmt.replace("/", sep)
            return (f"an ISO 8601 date YYYY-MM-DD; this looks like {fmt}, so pass "
                    f"date_format='{fmt}' (--date-format '{fmt}')")
        return (
            "an ISO 8601 date YYYY-MM-DD (other formats need an explicit date_format, "
            "for example '%d/%m/%Y')"
        )

    return expected


def _text_to_dates(raw: pl.Series, date_format: str | None) -> pl.Series:
    frame = pl.DataFrame({"s": raw.str.strip_chars()})
    if date_format is not None:
        expr = pl.col("s").str.to_datetime(date_format, strict=False).dt.date()
    else:
        expr = (
            pl.when(pl.col("s").str.contains(_ISO_DATETIME))
            .then(pl.col("s").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
            .otherwise(pl.col("s").str.to_date("%Y-%m-%d", strict=False))
        )
    return frame.select(expr.alias("d"))["d"]


def _day_numbers(dates: np.ndarray) -> np.ndarray:
    """int64 day numbers of ``datetime64`` values (NaT -> min int)."""
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)


def parse_dates(
    column: str,
    raw: pl.Series,
    problems: Problems,
    *,
    date_format: str | None,
    date_unit: DateUnit | None = None,
    date_origin: dt.date | None = None,
    cutoff: dt.date | None = None,
    required: bool = True,
    plausible: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(dates, ok): ``datetime64[ns]`` calendar dates (NaT where blank or bad).

    Only ISO 8601 dates are read without ``date_format``: ``03/04/2020`` is 3 April in Europe
    and 4 March in the US, and guessing would move visits by months without anyone noticing. A
    time of day, if present, is dropped: all arithmetic is on calendar dates (rules §0.2).
    Whole numbers are day numbers only with ``date_unit="day"`` (counted from ``date_origin``,
    default 1970-01-01); otherwise they are refused, since a number read as a date silently
    collapses every visit onto one day. Dates before 1900 or after ``cutoff`` are reported.
    A blank cell is a problem when ``required``, else NaT.
    """
    n = len(raw)
    blank = missing_mask(raw)
    if date_unit is not None:
        if date_unit != "day":
            raise ValueError(f"date_unit must be 'day' or None, not {date_unit!r}")
        values, missing, bad = parse_numbers(raw)
        with np.errstate(invalid="ignore"):
            bad = bad | (values != np.round(values))
        bad &= ~missing
        if bad.any():
            problems.cells(column, np.flatnonzero(bad), raw, "a whole number of days")
        origin = np.datetime64(date_origin or dt.date(1970, 1, 1), "D")
        days = np.where(bad | missing, 0, values).astype(np.int64)
        dates = (origin + days.astype("timedelta64[D]")).astype("datetime64[ns]")
        dates[bad | missing] = np.datetime64("NaT")
        parsed_ok = ~(bad | missing)
        expected_blank = "a whole number of days"
    else:
        if raw.dtype == pl.String:
            parsed = _text_to_dates(raw, date_format)
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
        parsed_ok = np.asarray(parsed.is_not_null().to_numpy(), dtype=bool)
        bad = ~parsed_ok & ~blank
        if bad.any():
            problems.cells(column, np.flatnonzero(bad), raw, expected)
        dates = parsed.to_numpy().astype("datetime64[ns]")
        expected_blank = "a date (YYYY-MM-DD)" if date_format is None else \
            f"a date in the format '{date_format}'"
    if required and blank.any():
        problems.cells(column, np.flatnonzero(blank), raw, expected_blank)
    ok = parsed_ok.copy()
    if plausible:
        _check_plausible(column, raw, problems, dates, ok, cutoff)
    return dates, ok


def _check_plausible(column: str, raw: pl.Series, problems: Problems, dates: np.ndarray,
                     ok: np.ndarray, cutoff: dt.date | None,
                     latest: np.ndarray | None = None) -> None:
    """Dates before 1900 or after the data cut-off are typing errors (rules §0.3)."""
    if not ok.any():
        return
    day = _day_numbers(dates)
    early = ok & (day < (np.datetime64(EARLIEST_DATE, "D") - _EPOCH).astype(np.int64))
    if early.any():
        problems.cells(column, np.flatnonzero(early), raw,
                       f"a date from {EARLIEST_DATE.isoformat()} on (an earlier date is a "
                       "typing error: correct the cell)")
        ok &= ~early
    if cutoff is not None:
        limit = (np.datetime64(cutoff, "D") - _EPOCH).astype(np.int64)
        late = ok & (day > limit)
        if late.any():
            problems.cells(column, np.flatnonzero(late), raw,
                           f"a date on or before the data cut-off {cutoff.isoformat()} (a "
                           "later date is a typing error; set cutoff= / --cutoff for data "
                           "from the future)")
            ok &= ~late


# ------------------------------------------------------------------------- imprecise onsets
PRECISIONS = ("day", "month", "year", "range")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_ISO_YEAR = re.compile(r"^(\d{4})$")


def _partial_patterns(date_format: str | None) -> list[tuple[re.Pattern[str], str]]:
    """Regexes of month-precision and year-precision dates: ISO ``YYYY-MM`` / ``YYYY``, and
    the user's date format with the day left out (``%d/%m/%Y`` -> ``03/2024``)."""
    pats: list[tuple[re.Pattern[str], str]] = [(_ISO_MONTH, "month"), (_ISO_YEAR, "year")]
    if date_format and "%d" in date_format:
        month_fmt = re.sub(r"%d[^%]?|[^%]?%d", "", date_format, count=1)
        regex = re.escape(month_fmt).replace("%m", r"(?P<m>\d{1,2})").replace(
            "%Y", r"(?P<y>\d{4})")
        if "(?P<m>" in regex and "(?P<y>" in regex:
            pats.insert(0, (re.compile(f"^{regex}$"), "month"))
    return pats


def parse_onsets(
    column: str,
    raw: pl.Series,
    problems: Problems,
    *,
    date_format: str | None,
    date_unit: DateUnit | None = None,
    date_origin: dt.date | None = None,
    cutoff: dt.date | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(start, end, precision, ok): the interval of possible onset days of each relapse
    (rules §2.7.2). A full date gives start = end (precision ``day``); ``2024-03`` the whole
    month; ``2024`` the whole year. With a ``date_format`` such as ``%d/%m/%Y``, ``03/2024``
    is the month too. Imprecise dates are never moved to a single day."""
    n = len(raw)
    if raw.dtype.is_numeric() and date_unit is None:
        # a bare year (2019) is the one sensible reading of a number in an onset column
        raw = pl.Series(raw.name, [None if v is None or v != v else
                                   (str(int(v)) if float(v).is_integer() else str(v))
                                   for v in raw.to_list()], dtype=pl.String)
    start, ok = parse_dates(column, raw, _Quiet(problems.table), date_format=date_format,
                            date_unit=date_unit, date_origin=date_origin, plausible=False)
    end = start.copy()
    precision = np.zeros(n, np.int8)
    blank = missing_mask(raw)
    rest = np.flatnonzero(~ok & ~blank)
    if rest.size and raw.dtype == pl.String and date_unit is None:
        texts = np.asarray(raw.str.strip_chars().to_numpy(), dtype=object)
        patterns = _partial_patterns(date_format)
        for pos in rest:
            got = _partial(str(texts[pos]), patterns)
            if got is not None:
                start[pos], end[pos], precision[pos] = got
                ok[pos] = True
    bad = ~ok & ~blank
    if bad.any():
        expected = _date_expected(date_format)

        def onset_expected(value: str | None) -> str:
            base = expected(value)
            if "real calendar date" in base:
                return base
            return base + "; an onset known only to the month or year may be written " + \
                "YYYY-MM or YYYY"

        problems.cells(column, np.flatnonzero(bad), raw, onset_expected)
    if blank.any():
        problems.cells(column, np.flatnonzero(blank), raw,
                       "an onset date (YYYY-MM-DD, YYYY-MM or YYYY)")
    _check_plausible(column, raw, problems, start, ok, cutoff)
    return start, end, precision, ok


def _partial(text: str, patterns: list[tuple[re.Pattern[str], str]]
             ) -> tuple[np.datetime64, np.datetime64, int] | None:
    for pattern, kind in patterns:
        m = pattern.match(text)
        if m is None:
            continue
        groups = m.groupdict()
        year = int(groups.get("y") or m.group(1))
        if kind == "year":
            first = np.datetime64(f"{year:04d}", "Y")
            return (first.astype("datetime64[D]").astype("datetime64[ns]"),
                    ((first + 1).astype("datetime64[D]") - 1).astype("datetime64[ns]"), 2)
        month = int(groups.get("m") or m.group(2))
        if not 1 <= month <= 12:
            return None
        first_m = np.datetime64(f"{year:04d}-{month:02d}", "M")
        return (first_m.astype("datetime64[D]").astype("datetime64[ns]"),
                ((first_m + 1).astype("datetime64[D]") - 1).astype("datetime64[ns]"), 1)
    return None


class _Quiet(Problems):
    """A collector that drops what it is told (first pass of :func:`parse_onsets`)."""

    def cells(self, column: str, positions: np.ndarray, raw: pl.Series,
              expected: str | Callable[[str | None], str]) -> None:
        return None


# --------------------------------------------------------------------------------- subjects
def parse_subjects(column: str, raw: pl.Series, problems: Problems) -> tuple[pl.Series, np.ndarray]:
    """(subjects, ok): a polars ``subject`` column, Int64 when every identifier is a plain
    integer, else String.

    Text identifiers with leading zeros (``007``) stay text, so they round-trip unchanged (and
    ``007`` never matches ``7``: identifiers are compared as text across tables, rules §0.3).
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
