"""EDSS computed from the functional systems (FS) and the Neurostatus ambulation score.

``docs/rules.md`` § 1: allowed values (1.1), FS ranges,
markers and conversions (1.2), the ambulation score (1.3), the step table (1.4), the reference
algorithm (1.5) and its pitfalls (1.7); configuration keys ``edss.*`` (section 10).

Sources: Kurtzke, Neurology 1983;33:1444 (EDSS steps, FS, the visual "X" marker, the bowel and
bladder conversion); Neurostatus-EDSS definitions 04/10.2 and scoring table 04/10.3 (visual
conversion, ambulation score, cerebellar "X" marker).

The computed EDSS is a *check* of the rated EDSS, never a replacement (rules §1.5): both are kept
and a disagreement is flagged. The computation is ``EDSS = max(F(fs), G(ambulation))``, where
``F`` is the FS-derived step (never above 5.0) and ``G`` the step implied by walking.

Missing grades: an EDSS is computed only when every completion of the missing inputs gives the
same value - "if any FS grade *needed* for a computation is missing, the computed EDSS is
unknown" (rules §1.2). Because the rule is monotone (checked exhaustively in the tests), the
extremes are the completions with every missing FS at grade 0 and at its maximum; e.g. an
ambulation score of 3 or more sets the step whatever the FS (pitfall 1.7.4).
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from neda.options import Options, option
from neda.rules.common import Tri, column, column_numpy, frame_of, provenance, single_value

SOURCE = (
    "docs/rules.md §1; Kurtzke, Neurology 1983;33:1444; "
    "Neurostatus-EDSS definitions 04/10.2 and scoring table 04/10.3"
)

#: The 20 EDSS values (rules §1.1): 0, then 1.0 to 10.0 in half steps; 0.5 does not exist.
EDSS_VALUES: tuple[float, ...] = (0.0, *(1.0 + 0.5 * i for i in range(19)))

#: FS in the argument order of :func:`edss_from_functional_systems`.
FS_SYSTEMS: tuple[str, ...] = (
    "pyramidal", "cerebellar", "brainstem", "sensory", "bowel_bladder", "visual", "cerebral",
)

#: Highest raw grade of each FS (rules §1.2; Kurtzke 1983, Neurostatus).
FS_RAW_MAX: dict[str, int] = {
    "pyramidal": 6, "cerebellar": 5, "brainstem": 5, "sensory": 6,
    "bowel_bladder": 6, "visual": 6, "cerebral": 5,
}

#: Raw visual 0-6 -> converted 0-4 (rules §1.2a; Neurostatus definitions 04/10.2).
VISUAL_CONVERSION: tuple[int, ...] = (0, 1, 2, 2, 3, 3, 4)
#: Raw bowel & bladder 0-6 -> converted 0-5 (rules §1.2b; Kurtzke 1983, Neurostatus table).
BOWEL_BLADDER_CONVERSION: tuple[int, ...] = (0, 1, 2, 3, 3, 4, 5)

#: Phrases that always mean "not assessed" (rules §1.2), besides ``edss.fs_missing_codes``.
FS_NOT_ASSESSED_PHRASES: tuple[str, ...] = ("not assessable", "not done")
#: The only FS marker (rules §1.2): visual temporal pallor (Kurtzke 1983), cerebellar testing
#: limited by weakness (Neurostatus). One parsing rule for every FS.
FS_MARKER = "X"
#: Default of ``edss.fs_missing_codes`` (rules §1.2 and section 10; registry convention).
DEFAULT_FS_MISSING_CODES: tuple[str, ...] = ("X", "9", "-1", "NA", "")

METHODS: tuple[str, ...] = ("neurostatus_16", "neurostatus_12", "kurtzke_1983", "unknown")
#: Methods for which the platform computes an EDSS (rules §1.3).
COMPUTED_METHODS: tuple[str, ...] = ("neurostatus_16", "neurostatus_12")
FS4_COMPANION_RULES: tuple[str, ...] = ("neurostatus_table", "strict_others_le1")

#: Ambulation score -> implied EDSS (rules §1.3/1.5 ``G``), per coding.
AMBULATION_STEP: dict[str, tuple[float, ...]] = {
    # Neurostatus 0-16 coding (17 codes)
    "neurostatus_16": (0.0, 2.0, 4.5, 5.0, 5.5, 6.0, 6.0, 6.0, 6.5, 6.5,
                       7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0),
    # older Neurostatus sheets, 0-13 coding (14 codes; Motyl EDSScalculator neurostatus_12)
    "neurostatus_12": (0.0, 2.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0),
}
#: Widest ambulation coding, used to validate rows whose method is not computed.
_AMBULATION_MAX_ANY = 16

#: Walking descriptions of the 0-16 coding (spec table 1.3, Neurostatus, paraphrased).
AMBULATION_LABELS_16: tuple[str, ...] = (
    "unrestricted walking",
    "fully ambulatory, >=500 m unaided but not unrestricted",
    ">=300 m and <500 m without help",
    ">=200 m and <300 m without help",
    ">=100 m and <200 m without help",
    "walking range <100 m without assistance",
    "unilateral assistance, >=50 m",
    "bilateral assistance, >=120 m",
    "unilateral assistance, <50 m",
    "bilateral assistance, >=5 m and <120 m",
    "cannot walk 5 m with an aid; wheelchair, independent",
    "a few steps only; wheelchair, may need help",
    "largely confined to bed or chair, or pushed in a wheelchair",
    "in bed much of the day",
    "bedbound and dependent, can communicate and eat",
    "bedbound, fully dependent, cannot communicate or eat",
    "death due to MS",
)


class UnsupportedEdssMethod(NotImplementedError, ValueError):
    """The requested EDSS method cannot be computed (rules §1.3); a ``ValueError`` too."""


@dataclass(frozen=True)
class EdssOptions(Options):
    """Options of the EDSS computation; every ``edss.*`` key of rules §10.

    Parameters (default in brackets; spec section and source in parentheses):

    method : ``"neurostatus_16"`` | ``"neurostatus_12"`` | ``"kurtzke_1983"`` | ``"unknown"``
        [neurostatus_16] (1.3; Neurostatus-EDSS 04/10.2 ambulation score, 17 codes 0-16).
        ``neurostatus_12`` is the older 0-13 coding (14 codes; names kept from the Motyl
        EDSScalculator package). ``kurtzke_1983`` is *declared unsupported*: computing with
        it raises :class:`UnsupportedEdssMethod`, because Kurtzke 1983 has no coded ambulation
        score and its wording for steps 4.0-6.5 is not a closed decision table (rules §1.3).
        ``unknown``: no EDSS is computed (rules §1.3, "not computed"); the computed EDSS is
        unknown with that reason and the rated EDSS is kept unchecked.
    cerebral1_as_zero : bool [True] (1.2c; Kurtzke 1983: step 0 "cerebral grade 1
        acceptable", grade-1 counts at 1.0 and 1.5 exclude cerebral grade 1). ``False`` counts
        cerebral grade 1 like any other grade 1 (the adobrasinovic JS calculator). *Unresolved*
        (rules §12.1d): whether Neurostatus scoring table 04/10.3 disregards cerebral grade 1 at
        steps 0-1.5 is not verified; the default is the rules' recommendation.
    fs4_companion_rule : ``"neurostatus_table"`` | ``"strict_others_le1"`` [neurostatus_table]
        (1.5; Neurostatus scoring table 04/10.3 as implemented by the JS calculator). Decides
        one FS grade 4 with companions: default - grade-2 companions give 4.5, three or more
        grade-3 companions give 5.0; ``strict_others_le1`` - grade-2 companions give 4.0, one to
        four grade-3 companions 4.5, five 5.0 (Motyl R calculator, its gap closed). *Unresolved*
        (rules §12.1a-b): the default is the rules' recommendation pending table 04/10.3.
    fs_missing_codes : tuple of str [("X", "9", "-1", "NA", "")] (1.2; registry convention,
        [C]). Cell texts (compared case-insensitively, blanks stripped) read as "grade not
        known". "not assessable" and "not done" always are (rules §1.2).
    """

    method: str = option("neurostatus_16", choices=METHODS, key="edss.method")
    cerebral1_as_zero: bool = option(True, key="edss.cerebral1_as_zero")
    fs4_companion_rule: str = option("neurostatus_table", choices=FS4_COMPANION_RULES,
                                     key="edss.fs4_companion_rule")
    fs_missing_codes: tuple[str, ...] = DEFAULT_FS_MISSING_CODES

    def __post_init__(self) -> None:
        # a list is accepted for convenience; stored as a tuple so the options stay hashable
        codes = self.fs_missing_codes
        if isinstance(codes, str) or not all(isinstance(c, str) for c in codes):
            raise ValueError("edss.fs_missing_codes must be a list of strings (rules §1.2)")
        object.__setattr__(self, "fs_missing_codes", tuple(codes))
        super().__post_init__()

    @property
    def rule_set(self) -> str:
        """Name stored with every result, e.g. ``edss/neurostatus_16/neurostatus_table/cer1=0``."""
        cer = "cer1=0" if self.cerebral1_as_zero else "cer1=1"
        return f"edss/{self.method}/{self.fs4_companion_rule}/{cer}"


def _unsupported(method: str) -> UnsupportedEdssMethod:
    return UnsupportedEdssMethod(
        f"edss.method {method!r} cannot be computed: Kurtzke 1983 has no coded ambulation score "
        "and its step wording for 4.0-6.5 is not a closed decision table (rules §1.3). Store the "
        "rated EDSS and FS as they are, or choose neurostatus_16 / neurostatus_12.")


# ------------------------------------------------------------------------------------ parsing
@dataclass(frozen=True)
class FsGrade:
    """One parsed FS cell: ``grade`` (None = not known) and the ``marker_x`` flag (rules §1.2)."""

    system: str
    grade: int | None
    marker_x: bool = False
    raw: str = ""


_GRADE_TEXT = re.compile(r"^([+-]?\d+)(?:\.0*)?\s*([A-Za-z]*)$")


#: Highest converted grade of each FS: the worst completion of a missing grade.
_CONVERTED_MAX: dict[str, int] = {
    s: max(VISUAL_CONVERSION) if s == "visual"
    else max(BOWEL_BLADDER_CONVERSION) if s == "bowel_bladder" else FS_RAW_MAX[s]
    for s in FS_SYSTEMS
}


def _is_missing_scalar(raw: Any) -> bool:
    if raw is None or raw is pd.NA or raw is pd.NaT:
        return True
    return isinstance(raw, float | np.floating) and math.isnan(raw)


def _check_system(system: str) -> None:
    if system not in FS_RAW_MAX:
        raise ValueError(f"unknown functional system {system!r}; one of {', '.join(FS_SYSTEMS)}")


def parse_fs_grade(
    raw: Any, system: str, *, missing_codes: Iterable[str] = DEFAULT_FS_MISSING_CODES
) -> FsGrade:
    """Parse one rated FS cell (rules §1.2, "FS value parsing", one rule for every FS).

    ``3`` or ``"3"`` -> grade 3. ``"2X"`` -> grade 2 with ``marker_x`` (the grade counts, the
    marker is kept). A bare ``"X"``, ``"not assessable"``, ``"not done"``, a code of
    ``missing_codes`` (``edss.fs_missing_codes``, e.g. 9 or -1) and NaN/None -> grade None.
    Anything else raises a ``ValueError`` naming the system, the value and the allowed range.
    """
    _check_system(system)
    top = FS_RAW_MAX[system]
    allowed = f"0-{top}, optionally followed by the marker 'X'"
    if _is_missing_scalar(raw):
        return FsGrade(system, None, False, "")
    if isinstance(raw, bool | np.bool_):
        raise ValueError(f"FS {system}: {raw!r} is not a grade; allowed {allowed} (rules §1.2)")
    if isinstance(raw, int | np.integer):
        text = str(int(raw))
    elif isinstance(raw, float | np.floating):
        if not float(raw).is_integer():
            raise ValueError(
                f"FS {system}: {raw!r} is not a whole grade; allowed {allowed} (rules §1.2)")
        text = str(int(raw))
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        raise ValueError(f"FS {system}: {raw!r} is not a grade; allowed {allowed} (rules §1.2)")
    folded = text.casefold()
    if folded in FS_NOT_ASSESSED_PHRASES or folded in {c.strip().casefold() for c in missing_codes}:
        return FsGrade(system, None, False, text)
    match = _GRADE_TEXT.match(text)
    if match is None:
        raise ValueError(f"FS {system}: {raw!r} is not a grade; allowed {allowed} (rules §1.2)")
    number, suffix = int(match.group(1)), match.group(2)
    if suffix and suffix.upper() != FS_MARKER:
        raise ValueError(
            f"FS {system}: unknown marker {suffix!r} in {raw!r}; the only FS marker is "
            f"'{FS_MARKER}' (e.g. '2X'), allowed {allowed} (rules §1.2)")
    if not 0 <= number <= top:
        raise ValueError(
            f"FS {system}: grade {number} in {raw!r} is out of range; allowed {allowed} "
            "(rules §1.2)")
    return FsGrade(system, number, bool(suffix), text)


def parse_ambulation(raw: Any, method: str = "neurostatus_16") -> int | None:
    """Parse a Neurostatus ambulation score (rules §1.3): 0-16, or 0-13 for ``neurostatus_12``.

    NaN/None/"" -> None (not known). Not a whole number, or out of the coding's range ->
    ``ValueError`` naming the value and the allowed range. For methods that are not computed
    (``unknown``, ``kurtzke_1983``) the widest coding, 0-16, is accepted.
    """
    top = len(AMBULATION_STEP[method]) - 1 if method in AMBULATION_STEP else _AMBULATION_MAX_ANY
    allowed = f"whole numbers 0-{top} ({method} coding, rules §1.3)"
    if _is_missing_scalar(raw) or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool | np.bool_):
        raise ValueError(f"ambulation score {raw!r} is not a number; allowed {allowed}")
    value: float
    if isinstance(raw, int | np.integer | float | np.floating):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(
                f"ambulation score {raw!r} is not a number; allowed {allowed}") from None
    else:
        raise ValueError(f"ambulation score {raw!r} is not a number; allowed {allowed}")
    if not value.is_integer():
        raise ValueError(f"ambulation score {raw!r} is not a whole number; allowed {allowed}")
    if not 0 <= value <= top:
        raise ValueError(f"ambulation score {raw!r} is out of range; allowed {allowed}")
    return int(value)


def validate_edss(value: Any) -> float | None:
    """A rated EDSS as float (None if missing); values outside rules §1.1 raise (never rounded)."""
    if _is_missing_scalar(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"EDSS {value!r} is not a number; allowed {_EDSS_ALLOWED}") from None
    if isinstance(value, bool | np.bool_) or number not in EDSS_VALUES:
        raise ValueError(f"EDSS {value!r} is not an EDSS value; allowed {_EDSS_ALLOWED}")
    return number


_EDSS_ALLOWED = "0, 1.0, 1.5, ..., 10.0 (0.5 does not exist; rules §1.1)"


def convert_fs(grade: int | None, system: str, options: EdssOptions | None = None) -> int | None:
    """Converted grade used for step determination (rules §1.2a-c); raw grades are never changed.

    Visual 0-6 -> 0,1,2,2,3,3,4 (Neurostatus 04/10.2); bowel & bladder 0-6 -> 0,1,2,3,3,4,5
    (Kurtzke 1983, Neurostatus table); cerebral 1 -> 0 when ``cerebral1_as_zero`` (Kurtzke
    1983); every other FS unchanged. ``None`` (not known) stays ``None``.
    """
    _check_system(system)
    if grade is None:
        return None
    if not 0 <= grade <= FS_RAW_MAX[system]:
        raise ValueError(
            f"FS {system}: grade {grade} is out of range 0-{FS_RAW_MAX[system]} (rules §1.2)")
    opts = options or EdssOptions()
    if system == "visual":
        return VISUAL_CONVERSION[grade]
    if system == "bowel_bladder":
        return BOWEL_BLADDER_CONVERSION[grade]
    if system == "cerebral" and grade == 1 and opts.cerebral1_as_zero:
        return 0
    return grade


# ------------------------------------------------------------------------- the step rules
class FsRule(enum.IntEnum):
    """Which line of the FS step table (rules §1.4/1.5) decided ``F``; counts use converted
    grades."""

    ALL_ZERO = 0
    ONE_1 = 1
    TWO_PLUS_1 = 2
    ONE_2 = 3
    TWO_2 = 4
    THREE_FOUR_2 = 5
    FIVE_2 = 6
    SIX_PLUS_2 = 7
    ONE_3 = 8
    ONE_3_WITH_2 = 9
    ONE_3_WITH_3PLUS_2 = 10
    TWO_3 = 11
    TWO_TO_FOUR_3 = 12
    FIVE_3 = 13
    SIX_PLUS_3 = 14
    ONE_4 = 15
    ONE_4_WITH_LESSER = 16
    ONE_4_WITH_3PLUS_3 = 17
    ONE_4_STRICT = 18
    ONE_4_WITH_1TO4_3_STRICT = 19
    ONE_4_WITH_5PLUS_3_STRICT = 20
    TWO_PLUS_4 = 21
    GRADE_5_PLUS = 22


#: (step, wording) of each rule.
FS_RULES: dict[FsRule, tuple[float, str]] = {
    FsRule.ALL_ZERO: (0.0, "all FS 0"),
    FsRule.ONE_1: (1.0, "one FS grade 1, others 0"),
    FsRule.TWO_PLUS_1: (1.5, "two or more FS grade 1, none higher"),
    FsRule.ONE_2: (2.0, "one FS grade 2, others 0 or 1"),
    FsRule.TWO_2: (2.5, "two FS grade 2, others 0 or 1"),
    FsRule.THREE_FOUR_2: (3.0, "three or four FS grade 2, others 0 or 1"),
    FsRule.FIVE_2: (3.5, "five FS grade 2, others 0 or 1"),
    FsRule.SIX_PLUS_2: (4.0, "six or more FS grade 2"),
    FsRule.ONE_3: (3.0, "one FS grade 3, others 0 or 1"),
    FsRule.ONE_3_WITH_2: (3.5, "one FS grade 3 with one or two FS grade 2"),
    FsRule.ONE_3_WITH_3PLUS_2: (4.0, "one FS grade 3 with three or more FS grade 2"),
    FsRule.TWO_3: (3.5, "two FS grade 3, others 0 or 1"),
    FsRule.TWO_TO_FOUR_3: (
        4.0, "two FS grade 3 with FS grade 2, or three or four FS grade 3"),
    FsRule.FIVE_3: (4.5, "five FS grade 3"),
    FsRule.SIX_PLUS_3: (5.0, "six or more FS grade 3"),
    FsRule.ONE_4: (4.0, "one FS grade 4, others 0 or 1"),
    FsRule.ONE_4_WITH_LESSER: (
        4.5, "one FS grade 4 with FS grade 2 or one or two FS grade 3 (neurostatus_table)"),
    FsRule.ONE_4_WITH_3PLUS_3: (
        5.0, "one FS grade 4 with three or more FS grade 3 (neurostatus_table)"),
    FsRule.ONE_4_STRICT: (4.0, "one FS grade 4, others 2 or less (strict_others_le1)"),
    FsRule.ONE_4_WITH_1TO4_3_STRICT: (
        4.5, "one FS grade 4 with one to four FS grade 3 (strict_others_le1)"),
    FsRule.ONE_4_WITH_5PLUS_3_STRICT: (
        5.0, "one FS grade 4 with five or more FS grade 3 (strict_others_le1)"),
    FsRule.TWO_PLUS_4: (5.0, "two or more FS grade 4"),
    FsRule.GRADE_5_PLUS: (5.0, "an FS grade 5 or more"),
}
_RULE_STEP = np.array([FS_RULES[FsRule(i)][0] for i in range(len(FsRule))])


def fs_step(converted: Sequence[int], fs4_companion_rule: str = "neurostatus_table"
            ) -> tuple[float, FsRule]:
    """``F(fs)`` of rules §1.5 for seven known converted grades: the FS-derived step (<= 5.0)."""
    n = [0] * 5
    n5plus = 0
    for c in converted:
        if c >= 5:
            n5plus += 1
        else:
            n[c] += 1
    n1, n2, n3, n4 = n[1], n[2], n[3], n[4]
    if n5plus >= 1:
        rule = FsRule.GRADE_5_PLUS
    elif n4 >= 2:
        rule = FsRule.TWO_PLUS_4
    elif n4 == 1 and fs4_companion_rule == "neurostatus_table":
        rule = (FsRule.ONE_4_WITH_3PLUS_3 if n3 >= 3 else
                FsRule.ONE_4_WITH_LESSER if n3 >= 1 or n2 >= 1 else FsRule.ONE_4)
    elif n4 == 1:
        # strict_others_le1: grade-2 companions do not raise 4.0 (Motyl; gap at n3 >= 5 closed)
        rule = (FsRule.ONE_4_WITH_5PLUS_3_STRICT if n3 >= 5 else
                FsRule.ONE_4_WITH_1TO4_3_STRICT if n3 >= 1 else FsRule.ONE_4_STRICT)
    elif n3 >= 6:
        rule = FsRule.SIX_PLUS_3
    elif n3 == 5:
        rule = FsRule.FIVE_3
    elif n3 >= 2:
        rule = FsRule.TWO_3 if n3 == 2 and n2 == 0 else FsRule.TWO_TO_FOUR_3
    elif n3 == 1:
        rule = (FsRule.ONE_3_WITH_3PLUS_2 if n2 >= 3 else
                FsRule.ONE_3_WITH_2 if n2 >= 1 else FsRule.ONE_3)
    elif n2 >= 6:
        rule = FsRule.SIX_PLUS_2
    elif n2 == 5:
        rule = FsRule.FIVE_2
    elif n2 >= 3:
        rule = FsRule.THREE_FOUR_2
    elif n2 == 2:
        rule = FsRule.TWO_2
    elif n2 == 1:
        rule = FsRule.ONE_2
    elif n1 >= 2:
        rule = FsRule.TWO_PLUS_1
    elif n1 == 1:
        rule = FsRule.ONE_1
    else:
        rule = FsRule.ALL_ZERO
    return FS_RULES[rule][0], rule


_GRADE_FIELD = np.array([1 << (3 * k) for k in range(7)], np.int32)


def _fs_step_array(conv: np.ndarray, fs4_companion_rule: str) -> np.ndarray:
    """Vectorised :func:`fs_step`: rule codes for an (n, 7) array of known converted grades."""
    # counts of each grade 0-6 packed into 3-bit fields (at most 7 FS per field): seven
    # vector additions instead of slow reductions along the short axis
    packed = np.zeros(len(conv), np.int32)
    for j in range(conv.shape[1]):
        packed += _GRADE_FIELD[conv[:, j]]
    # the rule depends on the counts of grades 1-6 only: looked up in the table of every
    # count (twenty vector conditions per call cost about 0.2 ms even on a few rows)
    return _fs_rule_table(fs4_companion_rule)[packed >> 3].astype(np.int64)


@functools.lru_cache(maxsize=4)
def _fs_rule_table(fs4_companion_rule: str) -> np.ndarray:
    """The rule code of every count of converted grades 1-6 among seven FS, at ``packed >> 3``
    (the packing of :func:`_fs_step_array`); made once (1,716 counts) by
    :func:`_fs_rules_of_counts`."""
    counts = np.indices((8,) * 6).reshape(6, -1)  # n1 .. n6, each 0-7
    counts = counts[:, counts.sum(axis=0) <= 7]  # seven FS at most
    index = (counts << (3 * np.arange(6))[:, None]).sum(axis=0)
    table = np.zeros(1 << 18, np.int8)
    n1, n2, n3, n4, n5, n6 = counts
    table[index] = _fs_rules_of_counts(n1, n2, n3, n4, n5, n6, fs4_companion_rule)
    table.flags.writeable = False
    return table


def _fs_rules_of_counts(n1: np.ndarray, n2: np.ndarray, n3: np.ndarray, n4: np.ndarray,
                        n5: np.ndarray, n6: np.ndarray, fs4_companion_rule: str) -> np.ndarray:
    """Rule codes (rules §1.4/1.5, as :func:`fs_step`) from the counts of converted grades
    1-6."""
    n5plus = n5 + n6
    if fs4_companion_rule == "neurostatus_table":
        four = [(n3 >= 3, FsRule.ONE_4_WITH_3PLUS_3),
                ((n3 >= 1) | (n2 >= 1), FsRule.ONE_4_WITH_LESSER),
                (np.True_, FsRule.ONE_4)]
    else:
        four = [(n3 >= 5, FsRule.ONE_4_WITH_5PLUS_3_STRICT),
                (n3 >= 1, FsRule.ONE_4_WITH_1TO4_3_STRICT),
                (np.True_, FsRule.ONE_4_STRICT)]
    # np.select takes the first true condition: the same order as the rules' if-chain
    table = [
        (n5plus >= 1, FsRule.GRADE_5_PLUS),
        (n4 >= 2, FsRule.TWO_PLUS_4),
        *(((n4 == 1) & cond, rule) for cond, rule in four),
        (n3 >= 6, FsRule.SIX_PLUS_3),
        (n3 == 5, FsRule.FIVE_3),
        ((n3 == 2) & (n2 == 0), FsRule.TWO_3),
        (n3 >= 2, FsRule.TWO_TO_FOUR_3),
        ((n3 == 1) & (n2 >= 3), FsRule.ONE_3_WITH_3PLUS_2),
        ((n3 == 1) & (n2 >= 1), FsRule.ONE_3_WITH_2),
        (n3 == 1, FsRule.ONE_3),
        (n2 >= 6, FsRule.SIX_PLUS_2),
        (n2 == 5, FsRule.FIVE_2),
        (n2 >= 3, FsRule.THREE_FOUR_2),
        (n2 == 2, FsRule.TWO_2),
        (n2 == 1, FsRule.ONE_2),
        (n1 >= 2, FsRule.TWO_PLUS_1),
        (n1 == 1, FsRule.ONE_1),
    ]
    conds = [np.broadcast_to(c, n1.shape) for c, _ in table]
    return np.select(conds, [int(r) for _, r in table], default=int(FsRule.ALL_ZERO))


# ------------------------------------------------------------------------------- wording
# Why a computed EDSS is unknown; codes are combined into the table's text keys.
_NOT_COMPUTED_UNKNOWN = 1
_NOT_COMPUTED_KURTZKE = 2
_METHOD_REASON = {
    "unknown": "EDSS method unknown: the rated EDSS and FS are stored but no EDSS is computed "
               "(rules §1.3)",
    "kurtzke_1983": "EDSS method kurtzke_1983: not computed - no coded ambulation score and no "
                    "closed decision table for steps 4.0-6.5 (rules §1.3)",
}


def _walk_text(amb: int, method: str) -> str:
    if method == "neurostatus_16":
        return f"ambulation score {amb} ({AMBULATION_LABELS_16[amb]})"
    return f"ambulation score {amb} (0-13 coding)"


def _step_rule_text(rule: FsRule, amb: int, method: str, cer_note: bool,
                    missing: Sequence[str]) -> str:
    """Which rule of the 1.4 table (or which walking score) decided the EDSS, in words."""
    f_step, f_text = FS_RULES[rule]
    g_step = AMBULATION_STEP[method][amb]
    fs_part = f"FS (converted grades): {f_text}"
    if cer_note:
        fs_part += ", cerebral grade 1 counted as 0 (edss.cerebral1_as_zero)"
    if g_step > f_step:
        text = f"walking: {_walk_text(amb, method)} -> {g_step:.1f}; {fs_part} gives {f_step:.1f}"
    elif f_step > g_step:
        text = f"{fs_part} -> {f_step:.1f}"
        if amb:
            text += f"; walking: {_walk_text(amb, method)} gives {g_step:.1f}"
    elif amb == 0:
        text = f"{fs_part}, walking unrestricted -> {f_step:.1f}"
    else:
        text = f"{fs_part} and walking: {_walk_text(amb, method)} both give {f_step:.1f}"
    if missing:
        # only reached when no grade of the missing FS could change the result
        text += f" (missing {', '.join(missing)}: no grade could change the result)"
    return text


def _reason_text(not_computed: int, amb_missing: bool, missing: Sequence[str]) -> str:
    if not_computed:
        return _METHOD_REASON["unknown" if not_computed == _NOT_COMPUTED_UNKNOWN
                              else "kurtzke_1983"]
    parts = []
    if amb_missing:
        parts.append("ambulation score missing")
    if missing:
        parts.append(f"FS grade missing ({', '.join(missing)}) and needed: other grades "
                     "would give a different step")
    return "; ".join(parts)


def _mismatch(computed: float | None, rated: float | None, reason: str | None
              ) -> tuple[Tri, str]:
    if rated is None and computed is None:
        return None, f"no rated EDSS; computed EDSS unknown ({reason})"
    if rated is None:
        return None, "no rated EDSS to check"
    if computed is None:
        return None, f"rated EDSS {rated:.1f} cannot be checked: {reason}"
    if computed == rated:
        return False, f"rated EDSS {rated:.1f} equals the computed EDSS"
    direction = "above" if rated > computed else "below"
    return True, (f"rated EDSS {rated:.1f} is {direction} the computed EDSS {computed:.1f} "
                  "(both kept; rules §1.5)")


# ------------------------------------------------------------------------------ one visit
@dataclass(frozen=True)
class EdssResult:
    """Computed EDSS of one assessment, with its reasons (rules §1.5).

    ``edss`` is None when not computable (``reason`` says why). ``step_rule`` names the line of
    the 1.4 table (or the ambulation score) that decided it. ``mismatch`` is True / False /
    None (unknown: no rated EDSS or no computed EDSS) with ``mismatch_reason``. ``converted``
    holds the converted grades used (None = not known), ``markers`` the FS rated with "X".
    """

    edss: float | None
    reason: str | None
    step_rule: str | None
    mismatch: Tri
    mismatch_reason: str
    rated_edss: float | None
    converted: dict[str, int | None]
    markers: tuple[str, ...]
    provenance: dict[str, Any] = field(repr=False, compare=False)


def edss_from_functional_systems(
    pyramidal: Any,
    cerebellar: Any,
    brainstem: Any,
    sensory: Any,
    bowel_bladder: Any,
    visual: Any,
    cerebral: Any,
    ambulation: Any,
    rated_edss: Any = None,
    options: EdssOptions | None = None,
) -> EdssResult:
    """EDSS from the seven raw FS grades and the ambulation score (rules §1.5).

    FS cells are parsed by :func:`parse_fs_grade` (raw grades, markers such as "2X", missing
    codes); visual and bowel & bladder are converted first (pitfall 1.7.1). ``EDSS =
    max(F(fs), G(ambulation))``. A rated EDSS, if given, is validated (rules §1.1) and compared.
    Raises :class:`UnsupportedEdssMethod` for ``method="kurtzke_1983"``.
    """
    opts = options or EdssOptions()
    if opts.method == "kurtzke_1983":
        raise _unsupported(opts.method)
    raws = (pyramidal, cerebellar, brainstem, sensory, bowel_bladder, visual, cerebral)
    grades = [parse_fs_grade(r, s, missing_codes=opts.fs_missing_codes)
              for r, s in zip(raws, FS_SYSTEMS, strict=True)]
    amb = parse_ambulation(ambulation, opts.method)
    rated = validate_edss(rated_edss)
    converted = {g.system: convert_fs(g.grade, g.system, opts) for g in grades}
    markers = tuple(g.system for g in grades if g.marker_x)
    missing = [s for s in FS_SYSTEMS if converted[s] is None]
    record = provenance(opts.rule_set, opts, SOURCE)

    edss: float | None = None
    step_rule: str | None = None
    reason: str | None
    if opts.method not in COMPUTED_METHODS:
        reason = _reason_text(_NOT_COMPUTED_UNKNOWN, False, [])
    else:
        # extremes of the missing grades: 0 and each system's highest converted grade
        known = {s: c for s, c in converted.items() if c is not None}
        f_low, rule = fs_step([known.get(s, 0) for s in FS_SYSTEMS], opts.fs4_companion_rule)
        f_high, _ = fs_step([known.get(s, _CONVERTED_MAX[s]) for s in FS_SYSTEMS],
                            opts.fs4_companion_rule)
        g = None if amb is None else AMBULATION_STEP[opts.method][amb]
        if amb is not None and g is not None and max(f_low, g) == max(f_high, g):
            edss = max(f_low, g)
            cer_note = opts.cerebral1_as_zero and grades[6].grade == 1
            step_rule = _step_rule_text(rule, amb, opts.method, cer_note, missing)
            reason = None
        else:
            reason = _reason_text(0, amb is None, missing if f_low != f_high else [])
    mismatch, mismatch_reason = _mismatch(edss, rated, reason)
    return EdssResult(edss, reason, step_rule, mismatch, mismatch_reason, rated, converted,
                      markers, record)




# ---------------------------------------------------------------------------------- a table
RESULT_COLUMNS: dict[str, str] = {
    "computed_edss": "EDSS computed from FS and ambulation (NaN: not computable, see reason)",
    "step_rule": "which rule of the step table (rules §1.4) or walking decided it",
    "reason": "why the EDSS could not be computed (None when computed)",
    "fs_markers": "FS rated with the 'X' marker, comma-separated ('' if none)",
    "mismatch": "rated EDSS differs from the computed one (nullable boolean; <NA> = unknown)",
    "mismatch_reason": "the comparison in words",
    "method_mixed": "the subject's series mixes EDSS methods / ambulation codings (pitfall 1.7.6)",
    "rule_set": "name of the options that produced the row",
}


def _row_error(frame: pd.DataFrame, column: str, codes: np.ndarray, bad: int,
               exc: Exception) -> ValueError:
    label: Hashable = frame.index[int(np.flatnonzero(codes == bad)[0])]
    return ValueError(f"visits row {label!r}, column {column!r}: {exc}")


def _distinct(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, Any]:
    """``pd.factorize(frame[name])``: codes (-1 = missing) and the distinct values, as Python
    values, in order of appearance; the column read as stored, without building a Series
    (pandas deep-copies a table's attrs into every Series it hands out)."""
    codes, uniques = pd.factorize(column(frame, name), use_na_sentinel=True)
    # (an Index - what factorizing a Series gives - yields Python numbers, as tolist does)
    return codes, uniques.tolist() if isinstance(uniques, np.ndarray) else uniques


def parse_fs_column(frame: pd.DataFrame, column: str, system: str, opts: EdssOptions
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Raw grades (int8, -1 = not known) and markers of one FS column; each distinct cell
    value is parsed once."""
    n = len(frame)
    if column not in frame.columns:
        return np.full(n, -1, np.int8), np.zeros(n, bool)
    codes, uniques = _distinct(frame, column)
    grade_lut = np.full(len(uniques) + 1, -1, np.int8)  # last slot: NaN sentinel (-1)
    marker_lut = np.zeros(len(uniques) + 1, bool)
    for i, value in enumerate(uniques):
        try:
            parsed = parse_fs_grade(value, system, missing_codes=opts.fs_missing_codes)
        except ValueError as exc:
            raise _row_error(frame, column, codes, i, exc) from None
        grade_lut[i] = -1 if parsed.grade is None else parsed.grade
        marker_lut[i] = parsed.marker_x
    return grade_lut[codes], marker_lut[codes]


def _method_column(frame: pd.DataFrame, opts: EdssOptions) -> np.ndarray:
    """Per-row method code (index into METHODS); missing cells take ``options.method``."""
    default = METHODS.index(opts.method)
    if "edss_method" not in frame.columns:
        return np.full(len(frame), default, np.int8)
    codes, uniques = _distinct(frame, "edss_method")
    lut = np.full(len(uniques) + 1, default, np.int8)
    for i, value in enumerate(uniques):
        if value not in METHODS:
            exc = ValueError(f"unknown EDSS method {value!r}; one of {', '.join(METHODS)} "
                             "(rules §1.3)")
            raise _row_error(frame, "edss_method", codes, i, exc)
        lut[i] = METHODS.index(value)
    return lut[codes]


def _parse_ambulation_column(frame: pd.DataFrame, method: np.ndarray) -> np.ndarray:
    n = len(frame)
    if "ambulation" not in frame.columns:
        return np.full(n, -1, np.int8)
    codes, uniques = _distinct(frame, "ambulation")
    lut = np.full(len(uniques) + 1, -1, np.int8)
    for i, value in enumerate(uniques):
        try:
            parsed = parse_ambulation(value, "unknown")  # widest coding; per-method check below
        except ValueError as exc:
            raise _row_error(frame, "ambulation", codes, i, exc) from None
        lut[i] = -1 if parsed is None else parsed
    amb = lut[codes]
    top = np.array([len(AMBULATION_STEP.get(m, ())) - 1 if m in AMBULATION_STEP
                    else _AMBULATION_MAX_ANY for m in METHODS])
    bad = np.flatnonzero(amb > top[method])
    if bad.size:
        m = METHODS[method[bad[0]]]
        raise ValueError(
            f"visits row {frame.index[bad[0]]!r}, column 'ambulation': ambulation score "
            f"{int(amb[bad[0]])} is out of range; allowed whole numbers "
            f"0-{int(top[method[bad[0]]])} ({m} coding, rules §1.3)")
    return amb


def _parse_rated(frame: pd.DataFrame) -> np.ndarray:
    if "edss" not in frame.columns:
        return np.full(len(frame), np.nan)
    codes, uniques = _distinct(frame, "edss")
    lut = np.full(len(uniques) + 1, np.nan)
    for i, value in enumerate(uniques):
        try:
            parsed = validate_edss(value)
        except ValueError as exc:
            raise _row_error(frame, "edss", codes, i, exc) from None
        lut[i] = np.nan if parsed is None else parsed
    return lut[codes]


def _texts(keys: np.ndarray, build: Any) -> np.ndarray:
    """Strings for integer keys, each distinct key built once (the wording is shared by
    :func:`edss_from_functional_systems`, so table and scalar texts are identical)."""
    # a hash table, not a sort: the order of the distinct keys does not matter here
    inverse, uniq = pd.factorize(np.asarray(keys).reshape(-1))
    words = np.array([build(int(k)) for k in uniq], dtype=object)
    return words[inverse]


@functools.lru_cache(maxsize=4)
def _conversion_tables(cerebral1_as_zero: bool) -> tuple[np.ndarray, ...]:
    """Per FS (order :data:`FS_SYSTEMS`): the converted grade of each raw grade
    (:func:`convert_fs`), made once per option value."""
    opts = EdssOptions(cerebral1_as_zero=cerebral1_as_zero)
    return tuple(np.array([convert_fs(g, system, opts) for g in range(FS_RAW_MAX[system] + 1)],
                          np.int8) for system in FS_SYSTEMS)


@functools.cache
def _ambulation_table() -> np.ndarray:
    """G per method and ambulation score (NaN for methods that are not computed and, in the
    last column, for a missing score)."""
    g_table = np.full((len(METHODS), _AMBULATION_MAX_ANY + 2), np.nan)
    for m, steps in AMBULATION_STEP.items():
        g_table[METHODS.index(m), : len(steps)] = steps
    g_table.flags.writeable = False
    return g_table


def _edss_core(raw: np.ndarray, amb: np.ndarray, method: np.ndarray, opts: EdssOptions
               ) -> dict[str, np.ndarray]:
    """Vectorised rules §1.5 for raw grades (n, 7; -1 = not known, order :data:`FS_SYSTEMS`),
    ambulation scores (-1 = not known) and method codes (index into :data:`METHODS`).

    Returns the FS rule at the low extreme, ``f_low``/``f_high`` (F with every missing grade
    at 0 / at its maximum), ``g`` and ``edss`` (NaN unless computable) and ``computable``.
    """
    missing = raw < 0
    low = np.where(missing, 0, raw)
    conv_low = np.empty_like(low)
    high = np.empty_like(low)
    for j, (system, lut) in enumerate(zip(FS_SYSTEMS, _conversion_tables(
            opts.cerebral1_as_zero), strict=True)):
        conv_low[:, j] = lut[low[:, j]]
        high[:, j] = np.where(missing[:, j], _CONVERTED_MAX[system], conv_low[:, j])
    rule = _fs_step_array(conv_low, opts.fs4_companion_rule)
    f_low = _RULE_STEP[rule]
    f_high = f_low.copy()
    incomplete = missing.any(axis=1)
    if incomplete.any():
        f_high[incomplete] = _RULE_STEP[_fs_step_array(high[incomplete],
                                                       opts.fs4_companion_rule)]
    g = _ambulation_table()[method, np.where(amb < 0, _AMBULATION_MAX_ANY + 1, amb)]
    low_edss = np.fmax(f_low, g)
    computable = ~np.isnan(g) & (low_edss == np.fmax(f_high, g))
    return {"rule": rule, "f_low": f_low, "f_high": f_high, "g": g,
            "edss": np.where(computable, low_edss, np.nan), "computable": computable}


def compute_edss(visits: pd.DataFrame, options: EdssOptions | None = None, *,
                 subject: str | None = None) -> pd.DataFrame:
    """Computed EDSS, the deciding rule and the rated-vs-computed check for every visit.

    ``visits`` (``docs/data-model.md``): ``subject``, ``date``, ``fs_pyramidal``,
    ``fs_cerebellar``, ``fs_brainstem``, ``fs_sensory``, ``fs_bowel_bladder``, ``fs_visual``,
    ``fs_cerebral``, ``ambulation``, optional ``edss`` (rated) and ``edss_method`` (the method
    of that assessment, rules §1.3; missing cells take ``options.method``). Absent FS columns and
    an absent ``ambulation`` are read as "not known".

    Returns one row per visit (same index): ``subject``/``date`` when present, then
    :data:`RESULT_COLUMNS`, with ``attrs["provenance"]``. Bad cells raise ``ValueError`` naming
    the row, column, value and allowed range. Row by row equal to
    :func:`edss_from_functional_systems`; vectorised (about 1 s per million rows).
    """
    out, record = edss_columns(visits, options, subject=subject)
    # (the given columns as they are, as pandas takes a Series; the others hold texts)
    table = frame_of(out, infer_dates=False)
    table.index = visits.index
    table.attrs["provenance"] = record
    return table


def edss_columns(visits: pd.DataFrame, options: EdssOptions | None = None, *,
                  subject: str | None = None, checks_only: bool = False
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`compute_edss`' columns and provenance record, before the table is built.
    ``checks_only``: only ``computed_edss``, ``step_rule``, ``reason``, ``mismatch`` and
    ``mismatch_reason`` (every cell checked alike), for callers that read those (the course
    summary's assessments), which would otherwise pay for the whole table."""
    opts = options or EdssOptions()
    if opts.method == "kurtzke_1983":
        raise _unsupported(opts.method)
    n = len(visits)
    subj = subject or ("subject" if "subject" in visits.columns or "id" not in visits.columns
                       else "id")

    # columns read as stored (rules.common.column)
    given = visits
    raw = np.empty((n, 7), np.int8)
    markers = np.zeros((n, 7), bool)
    for j, system in enumerate(FS_SYSTEMS):
        raw[:, j], markers[:, j] = parse_fs_column(given, f"fs_{system}", system, opts)
    method = _method_column(given, opts)
    amb = _parse_ambulation_column(given, method)
    rated = _parse_rated(given)

    core = _edss_core(raw, amb, method, opts)
    rule, edss, computable = core["rule"], core["edss"], core["computable"]
    missing = raw < 0

    # wording: each distinct (rule, walking, note, missing set) is worded once
    missing_bits = (missing.astype(np.int64) << np.arange(7)).sum(axis=1)
    cer_note = opts.cerebral1_as_zero & (raw[:, 6] == 1)
    not_computed = np.where(method == METHODS.index("unknown"), _NOT_COMPUTED_UNKNOWN,
                            np.where(method == METHODS.index("kurtzke_1983"),
                                     _NOT_COMPUTED_KURTZKE, 0))
    fs_decides = core["f_low"] != core["f_high"]  # the missing grades matter for F
    key = (((((rule.astype(np.int64) * 18 + amb.astype(np.int64) + 1) * 4 + method) * 2
             + cer_note) * 128 + missing_bits) * 3 + not_computed) * 2 + fs_decides
    key = np.where(computable, key, -1 - key)

    def build_rule(k: int) -> tuple[str | None, str | None]:
        ok = k >= 0
        k = k if ok else -1 - k
        k, decides = divmod(k, 2)
        k, nc = divmod(k, 3)
        k, bits = divmod(k, 128)
        k, note = divmod(k, 2)
        k, m = divmod(k, 4)
        r, a = divmod(k, 18)
        names = [s for j, s in enumerate(FS_SYSTEMS) if bits >> j & 1]
        if ok:
            return _step_rule_text(FsRule(r), a - 1, METHODS[m], bool(note), names), None
        return None, _reason_text(nc, a == 0, names if decides else [])

    # distinct keys by hashing (pd.factorize), not sorting (np.unique): their order does not
    # matter, and a registry has a million rows
    inverse, uniq = pd.factorize(key)
    built = [build_rule(int(k)) for k in uniq]
    step_rule = np.array([b[0] for b in built], dtype=object)[inverse.reshape(-1)]
    reason_idx = inverse.reshape(-1)
    reasons = np.array([b[1] for b in built], dtype=object)
    reason = reasons[reason_idx]

    # rated vs computed: each distinct (rated, computed, reason) is worded once
    def half_steps(x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), 0, x * 2 + 1).astype(np.int64)  # 0 = missing

    mkey = (half_steps(rated) * 22 + half_steps(edss)) * (len(uniq) + 1) + reason_idx
    minv, muniq = pd.factorize(mkey)
    mvals: list[Tri] = []
    mtexts: list[str] = []
    for k in muniq:
        rest, idx = divmod(int(k), len(uniq) + 1)
        r2, c2 = divmod(rest, 22)
        m_val, m_text = _mismatch(None if c2 == 0 else (c2 - 1) / 2,
                                  None if r2 == 0 else (r2 - 1) / 2, reasons[idx])
        mvals.append(m_val)
        mtexts.append(m_text)
    minv = minv.reshape(-1)
    # built from per-key flags: pd.array over a million objects costs a tenth of a second
    mismatch = pd.arrays.BooleanArray(np.array([v is True for v in mvals], bool)[minv],
                                      np.array([v is None for v in mvals], bool)[minv])
    mismatch_reason = np.array(mtexts, dtype=object)[minv]

    record = provenance(opts.rule_set, opts, SOURCE)
    if checks_only:
        return {"computed_edss": edss, "step_rule": step_rule, "reason": reason,
                "mismatch": mismatch, "mismatch_reason": mismatch_reason}, record

    marker_bits = (markers.astype(np.int64) << np.arange(7)).sum(axis=1)
    fs_markers = _texts(marker_bits, lambda b: ",".join(
        s for j, s in enumerate(FS_SYSTEMS) if b >> j & 1))

    # columns gathered, the table built once (a column insert costs about 0.3 ms), with the
    # visits' index; the given columns copied (the table shares no memory with its input)
    out: dict[str, Any] = {col: column(given, col).copy() for col in (subj, "date")
                           if col in given.columns}
    out["computed_edss"] = edss
    out["step_rule"] = step_rule
    out["reason"] = reason
    out["fs_markers"] = fs_markers
    out["mismatch"] = mismatch
    out["mismatch_reason"] = mismatch_reason
    out["method_mixed"] = _method_mixed(given, subj, method)
    out["rule_set"] = record["rule_set"]
    return out, record


def _method_mixed(visits: pd.DataFrame, subj: str, method: np.ndarray
                  ) -> pd.arrays.BooleanArray:
    """True for every visit of a subject whose series uses more than one method or ambulation
    coding (pitfall 1.7.6: never mix them without flagging); one series if no subject column."""
    if single_value(method):  # one method in the table: no series mixes methods
        return pd.arrays.BooleanArray(np.zeros(len(method), bool), np.zeros(len(method), bool))
    if subj in visits.columns:
        key = pd.factorize(column_numpy(visits, subj), use_na_sentinel=False)[0]
    else:
        key = np.zeros(len(visits), np.int64)
    code = pd.factorize(np.asarray(method), use_na_sentinel=True)[0]  # -1: no method
    given = code >= 0
    # distinct (subject, method) pairs, counted per subject
    width = int(code.max(initial=0)) + 1
    pairs = pd.unique(key[given].astype(np.int64) * width + code[given])  # hashed: no sort
    methods = np.bincount(pairs // width, minlength=int(key.max(initial=-1)) + 1)
    mixed = methods[key] > 1 if len(key) else np.zeros(0, bool)
    return pd.arrays.BooleanArray(np.asarray(mixed, bool), np.zeros(len(mixed), bool))
