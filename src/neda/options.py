"""One validation mechanism for every options object.

Every rule module has a frozen dataclass of options whose defaults are those of
``docs/rules.md`` (section 10 lists every key). Each field that has a constraint declares it
where it is defined, with :func:`option`::

    merge_days: int = option(30, whole=True, ge=0, key="relapse.merge_days")

and :class:`Options` checks every field when the object is made (and on every
``dataclasses.replace``), so an invalid value never reaches a rule. Constraints that tie
several fields together are written in ``_check_together``. Messages name the configuration
key, the value and what is allowed (scikit-learn's parameter constraints, in spirit).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Constraint:
    """What one option allows. Numbers: ``ge``/``gt``/``le`` bounds, ``whole`` for whole
    numbers; ``choices`` for named variants; ``flag`` for True/False; ``optional``: None is
    allowed too."""

    choices: tuple[Any, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    whole: bool = False
    number: bool = False
    flag: bool = False
    optional: bool = False
    key: str = ""

    def describe(self) -> str:
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.flag:
            text = "True or False"
        elif self.number or self.whole:
            text = "a whole number" if self.whole else "a number"
            bounds = []
            if self.ge is not None:
                bounds.append(f">= {self.ge:g}")
            if self.gt is not None:
                bounds.append(f"> {self.gt:g}")
            if self.le is not None:
                bounds.append(f"<= {self.le:g}")
            if bounds:
                text += " " + " and ".join(bounds)
        else:
            text = "a valid value"
        return text + (" (or None)" if self.optional else "")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if self.choices is not None:
            return any(value == c and type(value) is type(c) for c in self.choices) or (
                isinstance(value, str) and value in self.choices)
        if self.flag:
            return isinstance(value, bool | np.bool_)
        if self.number or self.whole:
            if isinstance(value, bool | np.bool_) or not isinstance(
                    value, int | float | np.integer | np.floating):
                return False
            x = float(value)
            if math.isnan(x):
                return False
            if self.whole and not (isinstance(value, int | np.integer) or x.is_integer()):
                return False
            if self.ge is not None and not x >= self.ge:
                return False
            if self.gt is not None and not x > self.gt:
                return False
            return not (self.le is not None and not x <= self.le)
        return True


def option(default: Any = dataclasses.MISSING, *, choices: Sequence[Any] | None = None,
           ge: float | None = None, gt: float | None = None, le: float | None = None,
           whole: bool = False, number: bool = False, flag: bool | None = None,
           optional: bool = False, key: str = "", compare: bool = True,
           default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its constraint (see :class:`Constraint`). A bool default makes
    the option a flag unless said otherwise."""
    is_flag = isinstance(default, bool) if flag is None else flag
    constraint = Constraint(tuple(choices) if choices is not None else None, ge, gt, le, whole,
                            number or ge is not None or gt is not None or le is not None,
                            is_flag, optional, key)
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, compare=compare,
                     metadata={"constraint": constraint})
    return field(default=default, compare=compare, metadata={"constraint": constraint})


def check_options(options: Any) -> None:
    """Check every declared constraint of an options dataclass; one ValueError lists every
    invalid value."""
    problems = []
    name = type(options).__name__
    for f in dataclasses.fields(options):
        constraint: Constraint | None = f.metadata.get("constraint")
        if constraint is None:
            continue
        value = getattr(options, f.name)
        if not constraint.accepts(value):
            label = f"{constraint.key} ({name}.{f.name})" if constraint.key else \
                f"{name}.{f.name}"
            problems.append(f"{label} must be {constraint.describe()}, got {value!r}")
    together = getattr(options, "_check_together", None)
    if together is not None and not problems:
        problems.extend(together())
    if problems:
        raise ValueError("; ".join(problems))


def constraints(options_class: type) -> dict[str, Constraint]:
    """The declared constraint of each option of a class (for documentation and forms)."""
    return {f.name: f.metadata["constraint"] for f in dataclasses.fields(options_class)
            if "constraint" in f.metadata}


class Options:
    """Mixin of every options dataclass: values are checked when the object is made (and on
    ``dataclasses.replace``), by :func:`check_options`."""

    def __post_init__(self) -> None:
        check_options(self)

    def validated(self) -> Any:
        """The options themselves (kept for callers that ask explicitly): they were checked
        when made, and a frozen dataclass cannot change afterwards."""
        return self

    def _check_together(self) -> list[str]:
        """Constraints between several options; messages for the ones broken."""
        return []
