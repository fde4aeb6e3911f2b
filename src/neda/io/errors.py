"""Problems found in input tables, and the report of what the readers changed on purpose.

Readers never stop at the first bad cell: a clinician fixing a spreadsheet wants the whole list at
once, so every check runs and all problems are raised together in one :class:`InputError`.
Everything the readers remove or merge on purpose (rows without any outcome value, repeated rows)
is listed in an :class:`InputReport`, so nothing disappears silently.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

RowKind = Literal["row", "row index"]


class NedaInputWarning(UserWarning):
    """Input that is usable but probably not what the user meant (e.g. a relapse of an unknown
    subject)."""


@dataclass(frozen=True)
class InputProblem:
    """One bad cell (or one missing column) in an input table.

    ``row`` is what the user can look up: for CSV and Excel files it is the spreadsheet row number
    (the header is row 1, the first data row is row 2); for DataFrames and Parquet files it is the
    row's index label (``row_kind == "row index"``). ``value`` is the cell as read; ``None`` means
    the cell was empty (or, when ``row`` is ``None`` too, that the column itself is missing).
    """

    file: str
    row: Hashable | None
    column: str | None
    value: str | None
    expected: str
    row_kind: RowKind = "row"

    def __str__(self) -> str:
        if self.row is None and self.column is None:
            return f"{self.file} {self.expected}"  # the whole file: "visits.csv is empty..."
        where = [self.file]
        if self.row is not None:
            where.append(f"{self.row_kind} {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.value is not None:
            got = f"got '{self.value}'"
        elif self.row is None:
            got = "missing"
        else:
            got = "got an empty cell"
        return f"{', '.join(where)}: {got}; expected {self.expected}"


class InputError(ValueError):
    """All problems found in one input table, one per line in ``str(error)``.

    ``omitted`` counts, per column, the problems beyond the listed ones (the list is capped so that
    a wholly wrong column does not print a million lines).
    """

    def __init__(
        self,
        problems: list[InputProblem],
        omitted: dict[tuple[str, str], int] | None = None,
        *,
        headline: bool = True,
    ):
        self.problems = list(problems)
        self.omitted = dict(omitted or {})
        self.headline = headline
        super().__init__(self._message())

    @classmethod
    def combine(cls, errors: list[InputError]) -> InputError:
        """One error listing the problems of several tables (all problems at once)."""
        problems = [p for e in errors for p in e.problems]
        omitted: dict[tuple[str, str], int] = {}
        for e in errors:
            omitted.update(e.omitted)
        headline = len(problems) > 1 or any(e.headline for e in errors)
        return cls(problems, omitted, headline=headline)

    def _message(self) -> str:
        lines = [str(p) for p in self.problems]
        if not self.headline and not self.omitted:
            return "\n".join(lines)
        for (file, column), n in self.omitted.items():
            lines.append(f"{file}, column '{column}': and {n} more rows with problems")
        total = len(self.problems) + sum(self.omitted.values())
        head = f"{total} problem{'s' if total != 1 else ''} in the input; nothing was read:"
        return "\n".join([head, *lines])

    def __str__(self) -> str:
        return self._message()


@dataclass(frozen=True)
class ChangedRows:
    """Rows a reader removed or merged on purpose, with the reason, in the user's row numbering."""

    reason: str
    count: int
    rows: tuple[Hashable, ...]
    row_kind: RowKind = "row"

    def __str__(self) -> str:
        shown = ", ".join(str(r) for r in self.rows[:20])
        more = f", and {self.count - 20} more" if self.count > 20 else ""
        plural = "s" if self.count != 1 else ""
        return f"{self.count} {self.row_kind}{plural} ({shown}{more}): {self.reason}"


@dataclass(frozen=True)
class InputReport:
    """What a reader did to a table: rows read and kept, rows dropped or merged, warnings.

    Stored in ``DataFrame.attrs["report"]`` of every table the readers return. It is immutable, so
    pandas may share it between copies instead of deep-copying it on every operation.
    """

    file: str
    rows_read: int
    rows_kept: int
    dropped: tuple[ChangedRows, ...] = ()
    merged: tuple[ChangedRows, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def __deepcopy__(self, memo: dict[int, Any]) -> InputReport:
        return self

    def summary(self) -> str:
        """A few lines a command-line tool can print as is."""
        lines = [f"{self.file}: read {self.rows_read} rows, kept {self.rows_kept}"]
        lines += [f"  dropped {c}" for c in self.dropped]
        lines += [f"  merged {c}" for c in self.merged]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)
