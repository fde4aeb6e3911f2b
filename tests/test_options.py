"""Every options object is checked by one mechanism, and every configuration key it declares
is documented in docs/rules.md section 10 with the option that implements it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from neda.course import CourseOptions
from neda.options import Options, constraints
from neda.rules._windows import ScanWindows
from neda.rules.arr import ArrOptions
from neda.rules.dmt import DmtOptions
from neda.rules.edss import EdssOptions
from neda.rules.monitoring import MonitoringOptions
from neda.rules.msfc import MsfcOptions
from neda.rules.neda import NedaOptions
from neda.rules.phenotype import PhenotypeOptions
from neda.rules.pro import ProOptions
from neda.rules.relapses import RelapseOptions
from neda.rules.response import ResponseOptions

CLASSES = [CourseOptions, RelapseOptions, ArrOptions, DmtOptions, EdssOptions, MsfcOptions,
           NedaOptions, PhenotypeOptions, ResponseOptions, ScanWindows, ProOptions,
           MonitoringOptions]
RULES = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text(encoding="utf-8")
SECTION_10 = RULES[RULES.index("## 10 Configuration keys"):RULES.index("## 11 ")]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_options_class_uses_the_one_mechanism(cls: type) -> None:
    assert issubclass(cls, Options)
    assert dataclasses.is_dataclass(cls)
    cls()  # the defaults are valid


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_bad_value_names_the_key(cls: type) -> None:
    for name, c in constraints(cls).items():
        bad: object = "no such variant" if c.choices or c.flag else -1e9
        if c.choices and any(isinstance(x, int) for x in c.choices):
            bad = -999
        elif c.whole and c.ge is None and c.gt is None:
            bad = 0.5  # no bound: a fraction is what a whole-number option refuses
        with pytest.raises(ValueError) as err:
            cls(**{name: bad})
        assert f"{cls.__name__}.{name}" in str(err.value)
        if c.key:
            assert c.key in str(err.value)


def _declared() -> list[tuple[str, str, str]]:
    out = []
    for cls in CLASSES:
        for name, c in constraints(cls).items():
            out.append((c.key, cls.__name__, name))
    return out


@pytest.mark.parametrize(("key", "cls", "name"), _declared())
def test_every_declared_key_is_documented_with_its_option(key: str, cls: str,
                                                          name: str) -> None:
    if not key:  # an option with no configuration key: listed by its class and field
        assert f"`{cls}.{name}`" in SECTION_10 or f"`{name}`" in SECTION_10, (
            f"{cls}.{name} is not in docs/rules.md section 10")
        return
    rows = [line for line in SECTION_10.splitlines() if line.startswith(f"| `{key}` |")]
    assert rows, f"{key} is not a row of docs/rules.md section 10"
    assert any(re.search(rf"`{cls}\.{name}`|`{name}`", row) for row in rows), (
        f"docs/rules.md section 10 row of {key} does not name {cls}.{name}")


def test_per_options_caches_hashable_options_and_runs_for_unhashable() -> None:
    # a record made once per frozen options object; options holding a list (unhashable) are
    # not cached, and still get their record
    from dataclasses import dataclass

    from neda.rules.common import per_options

    calls: list[object] = []

    @per_options(maxsize=8)
    def record(options: object) -> str:
        calls.append(options)
        return repr(options)

    @dataclass(frozen=True)
    class Opts:
        table: object = ((1.0, 0.5),)

    frozen, listed = Opts(), Opts(table=[[1.0, 0.5]])
    assert record(frozen) == record(frozen) == repr(frozen)
    assert record(listed) == record(listed) == repr(listed)
    assert calls == [frozen, listed, listed]
