"""Patient-reported outcome (PRO) and spasticity scores (clinical rules §7.2-7.8).

Input is the long ``pros`` table of ``docs/data-model.md``: one row per item answer with
``subject``, ``date``, ``instrument``, ``item`` and ``response``. :func:`score_pros` scores every
response set (one subject, date and instrument) at once, in whole-column operations: each
distinct instrument name, date, item and answer text is parsed once; a table already in
subject, date and instrument order (e.g. the demo registry's) is not sorted; every answer is
written to its cell of a matrix per instrument (sets x items), and the (sub)scale sums and
answered counts are products of that matrix with 0/1 item-to-scale matrices. 18.5 million item
answers take under a second (``docs/performance.md``). Bad cells are found in the same pass;
only then do row-by-row checks run, to name the first one.

Instruments (names matched case-insensitively, ignoring blanks, ``-`` and ``_``):

========================  ==================================================================
``MFIS``                  Modified Fatigue Impact Scale, 21 items 0-4 (MSQLI; Fisk 1994,
                          Ritvo 1997): physical, cognitive, psychosocial subscales, total,
                          and the MFIS-5 items (rules §7.2)
``MFIS-5``                abbreviated MFIS administered on its own, 5 items 0-4 (rules §7.2)
``FSS``                   Fatigue Severity Scale, 9 items 1-7, mean (Krupp 1989; rules §7.3)
``MSIS-29v1``/``v2``      MS Impact Scale, physical (1-20) and psychological (21-29) on 0-100
                          (Hobart 2001; rules §7.4); a version is required
``MSWS-12v1``/``v2``      MS Walking Scale, 0-100 (Hobart 2003; rules §7.5); v2 is not scored
                          unless its item metadata are loaded (``msws12.score_v2``)
``spasticity_nrs``        0-10 numeric rating scale, item 1 (Farrar 2008; rules §7.6)
``ashworth``              Modified Ashworth Scale, one row per muscle group (the ``item``),
                          categories 0, 1, 1+, 2, 3, 4 (Bohannon & Smith 1987; rules §7.6)
``PDDS``                  Patient Determined Disease Steps, item 1, 0-8 (rules §7.7, optional)
========================  ==================================================================

Missing items (rules §7.2-7.5, 7.8): a (sub)scale is scored when enough of its items are answered
(see :class:`ProOptions`); each missing item then takes the mean of the answered items of that
(sub)scale, unrounded. For the 0-100 scales this is computed as
``100 x (sum answered - sum of their minima) / (sum of their maxima - sum of their minima)``,
which equals mean imputation followed by ``(raw - min) / (max - min) x 100`` and stays correct
when items have different ranges (rules §7.5: never hard-code the range).

No item is reverse-scored in these instruments as published (rules §7.8). MSSS-88, MSSS and ARMSS
are not scored: MSSS-88 needs the licensed form's item-to-subscale map, MSSS/ARMSS the
published lookup tables (rules §7.6, 7.7: "do not approximate").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from neda.io import (
    InputError,
    InputProblem,
    ReadOptions,
    ensure_table,
    is_validated,
    read_pros,
)
from neda.options import Options, option
from neda.rules.common import column_numpy, frame_of, plain, provenance, with_provenance

SOURCE = (
    "docs/rules.md §7.2-7.8; MFIS: Fisk 1994 / MSQLI manual (Ritvo 1997); "
    "FSS: Krupp 1989; MSIS-29: Hobart 2001; MSWS-12: Hobart 2003; spasticity NRS: Farrar 2008; "
    "Modified Ashworth: Bohannon & Smith 1987; PDDS (rules §7.7)"
)

#: Modified Ashworth categories in order; the ordinal code is the position (rules §7.6).
ASHWORTH_CATEGORIES = ("0", "1", "1+", "2", "3", "4")
MFIS5_NUMBERINGS = ("form", "mfis21")

#: MFIS subscales (rules §7.2; MSQLI manual) and the MFIS-5 items, in MFIS numbering.
MFIS_PHYSICAL = (4, 6, 7, 10, 13, 14, 17, 20, 21)
MFIS_COGNITIVE = (1, 2, 3, 5, 11, 12, 15, 16, 18, 19)
MFIS_PSYCHOSOCIAL = (8, 9)
MFIS5_ITEMS = (1, 9, 10, 17, 19)


@dataclass(frozen=True)
class ProOptions(Options):
    """Options of PRO scoring; every ``pro.*`` and ``msws12.*`` key of rules §10.

    Parameters (default in brackets; spec section and source in parentheses):

    mfis_max_missing_fraction : float [0.5] (7.2 [C]). Per MFIS subscale, and for MFIS-5 as a
        whole: scored when at most this fraction of its items is missing (physical <= 4 of 9,
        cognitive <= 5 of 10, psychosocial <= 1 of 2, MFIS-5 <= 2 of 5). The total needs all
        three subscales. No published rule was retrieved; mirrors the MSIS-29 rule.
    fss_min_answered : int [7] (7.3 [C]). FSS = mean of the answered items when at least this
        many of the 9 are answered.
    msis29_max_missing_fraction : float [0.5] (7.4 [M]; Hobart 2001). Per scale: physical
        <= 10 of 20, psychological <= 4 of 9 missing.
    msws12_max_missing_fraction : float [0.5] (7.5 [C]). At most 6 of 12 missing.
    msws12_score_v2 : bool [False] (7.5, key ``msws12.score_v2``). MSWS-12 v2 response options
        are unverified; v2 sets are reported ``not_scored`` unless this is true *and*
        ``msws12_v2_items`` holds the licensed form's item metadata.
    msws12_v2_items : tuple of (item, min, max) or None [None] (7.5: "compute from the
        administered version's item metadata; never hard-code 48"). One entry per v2 item.
    mfis5_item_numbering : ``"form"`` | ``"mfis21"`` [form] ([C]; not in the spec). How items
        of a stand-alone ``MFIS-5`` are numbered: 1-5 in form order (MFIS items 1, 9, 10, 17,
        19), or by their MFIS numbers.
    """

    mfis_max_missing_fraction: float = option(0.5, ge=0, le=0.999999,
                                              key="pro.mfis_max_missing_fraction")
    fss_min_answered: int = option(7, whole=True, ge=1, le=9, key="pro.fss_min_answered")
    msis29_max_missing_fraction: float = option(0.5, ge=0, le=0.999999,
                                                key="pro.msis29_max_missing_fraction")
    msws12_max_missing_fraction: float = option(0.5, ge=0, le=0.999999,
                                                key="pro.msws12_max_missing_fraction")
    msws12_score_v2: bool = option(False, key="msws12.score_v2")
    msws12_v2_items: tuple[tuple[int, int, int], ...] | None = None
    mfis5_item_numbering: str = option("form", choices=MFIS5_NUMBERINGS)

    def __post_init__(self) -> None:
        super().__post_init__()
        meta = self.msws12_v2_items
        if meta is not None:
            try:
                rows = tuple((int(i), int(lo), int(hi)) for i, lo, hi in meta)
            except (TypeError, ValueError):
                raise ValueError("msws12_v2_items must be (item, min, max) triples") from None
            items = [r[0] for r in rows]
            if not rows or len(set(items)) != len(items) or any(
                    i < 1 or lo >= hi for i, lo, hi in rows):
                raise ValueError("msws12_v2_items: each item once, item numbers from 1, and "
                                 "min < max for every item")
            object.__setattr__(self, "msws12_v2_items", tuple(sorted(rows)))
        if self.msws12_score_v2 and meta is None:
            raise ValueError("msws12.score_v2=True needs msws12_v2_items: the item-level response "
                             "options of the licensed MSWS-12 v2 form (rules §7.5)")

    @property
    def rule_set(self) -> str:
        """Name stored with every result, e.g. ``pro/mfis0.5/fss7/msis0.5/msws0.5/v2off``."""
        name = (f"pro/mfis{self.mfis_max_missing_fraction:g}/fss{self.fss_min_answered}"
                f"/msis{self.msis29_max_missing_fraction:g}"
                f"/msws{self.msws12_max_missing_fraction:g}"
                f"/v2{'on' if self.msws12_score_v2 else 'off'}")
        if self.mfis5_item_numbering != "form":
            name += f"/mfis5={self.mfis5_item_numbering}"
        return name


# -------------------------------------------------------------------------- instrument tables
@dataclass(frozen=True)
class _Scale:
    column: str
    label: str
    items: tuple[int, ...]
    kind: str  # "sum" (mean-imputed sum), "mean", "percent" (0-100), "value" (single item)
    max_missing: int
    rule: str  # option key quoted in reasons
    raw_column: str | None = None


@dataclass(frozen=True)
class _Instrument:
    name: str
    items: tuple[int, ...]
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    scales: tuple[_Scale, ...]
    headline: tuple[str, ...]  # columns that must be present for ``scored``
    not_scored: str | None = None  # reason when the instrument is never scored


def _max_missing(fraction: float, n: int) -> int:
    return int(math.floor(fraction * n + 1e-9))


@lru_cache(maxsize=32)
def _instruments(opts: ProOptions) -> dict[str, _Instrument]:
    f = opts.mfis_max_missing_fraction
    out: dict[str, _Instrument] = {}
    key = "pro.mfis_max_missing_fraction"
    out["MFIS"] = _Instrument(
        "MFIS", tuple(range(1, 22)), (0,) * 21, (4,) * 21,
        (_Scale("mfis_physical", "physical subscale", MFIS_PHYSICAL, "sum",
                _max_missing(f, 9), key),
         _Scale("mfis_cognitive", "cognitive subscale", MFIS_COGNITIVE, "sum",
                _max_missing(f, 10), key),
         _Scale("mfis_psychosocial", "psychosocial subscale", MFIS_PSYCHOSOCIAL, "sum",
                _max_missing(f, 2), key),
         _Scale("mfis5", "MFIS-5 items", MFIS5_ITEMS, "sum", _max_missing(f, 5), key)),
        ("mfis_total",))
    m5 = MFIS5_ITEMS if opts.mfis5_item_numbering == "mfis21" else (1, 2, 3, 4, 5)
    out["MFIS-5"] = _Instrument(
        "MFIS-5", m5, (0,) * 5, (4,) * 5,
        (_Scale("mfis5", "MFIS-5", m5, "sum", _max_missing(f, 5), key),), ("mfis5",))
    out["FSS"] = _Instrument(
        "FSS", tuple(range(1, 10)), (1,) * 9, (7,) * 9,
        (_Scale("fss", "FSS", tuple(range(1, 10)), "mean", 9 - opts.fss_min_answered,
                "pro.fss_min_answered"),), ("fss",))
    g = opts.msis29_max_missing_fraction
    for version, top in (("v1", 5), ("v2", 4)):
        out[f"MSIS-29{version}"] = _Instrument(
            f"MSIS-29{version}", tuple(range(1, 30)), (1,) * 29, (top,) * 29,
            (_Scale("msis29_physical", "physical scale", tuple(range(1, 21)), "percent",
                    _max_missing(g, 20), "pro.msis29_max_missing_fraction",
                    "msis29_physical_raw"),
             _Scale("msis29_psychological", "psychological scale", tuple(range(21, 30)),
                    "percent", _max_missing(g, 9), "pro.msis29_max_missing_fraction",
                    "msis29_psychological_raw")),
            ("msis29_physical", "msis29_psychological"))
    h = opts.msws12_max_missing_fraction
    out["MSWS-12v1"] = _Instrument(
        "MSWS-12v1", tuple(range(1, 13)), (1,) * 12, (5,) * 12,
        (_Scale("msws12", "MSWS-12", tuple(range(1, 13)), "percent", _max_missing(h, 12),
                "pro.msws12_max_missing_fraction", "msws12_raw"),), ("msws12",))
    if opts.msws12_score_v2 and opts.msws12_v2_items is not None:
        meta = opts.msws12_v2_items
        items = tuple(r[0] for r in meta)
        out["MSWS-12v2"] = _Instrument(
            "MSWS-12v2", items, tuple(r[1] for r in meta), tuple(r[2] for r in meta),
            (_Scale("msws12", "MSWS-12", items, "percent", _max_missing(h, len(items)),
                    "pro.msws12_max_missing_fraction", "msws12_raw"),), ("msws12",))
    else:
        out["MSWS-12v2"] = _Instrument(
            "MSWS-12v2", tuple(range(1, 13)), (0,) * 12, (10**6,) * 12, (), ("msws12",),
            not_scored="not_scored: MSWS-12 v2 item response options are unverified (spec "
                       "7.5); set msws12.score_v2 and load msws12_v2_items to score it")
    out["spasticity_nrs"] = _Instrument(
        "spasticity_nrs", (1,), (0,), (10,),
        (_Scale("spasticity_nrs", "spasticity NRS", (1,), "value", 0, "single item"),),
        ("spasticity_nrs",))
    out["PDDS"] = _Instrument(
        "PDDS", (1,), (0,), (8,),
        (_Scale("pdds", "PDDS", (1,), "value", 0, "single item"),), ("pdds",))
    return out


_ALIASES = {
    "mfis": "MFIS", "mfis21": "MFIS", "mfis5": "MFIS-5", "fss": "FSS",
    "msis29v1": "MSIS-29v1", "msis29v2": "MSIS-29v2",
    "msws12v1": "MSWS-12v1", "msws12v2": "MSWS-12v2",
    "spasticitynrs": "spasticity_nrs", "nrsspasticity": "spasticity_nrs",
    "ashworth": "ashworth", "modifiedashworth": "ashworth", "mas": "ashworth",
    "pdds": "PDDS",
}
INSTRUMENTS = ("MFIS", "MFIS-5", "FSS", "MSIS-29v1", "MSIS-29v2", "MSWS-12v1", "MSWS-12v2",
               "spasticity_nrs", "ashworth", "PDDS")


def canonical_instrument(name: Any) -> str:
    """The canonical instrument name (:data:`INSTRUMENTS`) of a spelling, or a ``ValueError``."""
    key = re.sub(r"[\s\-_]", "", str(name)).lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key in ("msis29", "msws12"):
        base = "MSIS-29" if key == "msis29" else "MSWS-12"
        raise ValueError(f"instrument {name!r} needs its version: {base}v1 or {base}v2 "
                         "(rules §7.4/7.5: store the version with every response set)")
    raise ValueError(f"unknown instrument {name!r}; expected one of {', '.join(INSTRUMENTS)}")


@lru_cache(maxsize=256)
def _canonical_text(name: str) -> str:
    """:func:`canonical_instrument` of a text, worked out once per spelling (a regular
    expression per instrument and call otherwise)."""
    return canonical_instrument(name)


# -------------------------------------------------------------------------------- output
#: Output columns of :func:`score_pros`, always all present (NaN where not applicable).
RESULT_COLUMNS: dict[str, str] = {
    "subject": "subject identifier as given",
    "date": "date of the response set (datetime64)",
    "instrument": "canonical instrument name",
    "muscle": "Modified Ashworth muscle group (the `item`); None for other instruments",
    "n_items": "items on the form (1 per Ashworth muscle)",
    "items_answered": "items with an answer",
    "scored": "the instrument's score(s) could be computed (bool)",
    "reason": "why a score or subscale is missing (None when everything was scored)",
    "mfis_physical": "MFIS physical subscale, 0-36 (9 items)",
    "mfis_cognitive": "MFIS cognitive subscale, 0-40 (10 items)",
    "mfis_psychosocial": "MFIS psychosocial subscale, 0-8 (2 items)",
    "mfis_total": "MFIS total = sum of the three subscales, 0-84",
    "mfis5": "MFIS-5, 0-20 (MFIS items 1, 9, 10, 17, 19)",
    "fss": "FSS mean of the items, 1-7",
    "fss_sum": "FSS sum, 9-63 (= 9 x mean when items are missing)",
    "msis29_physical": "MSIS-29 physical, 0-100",
    "msis29_psychological": "MSIS-29 psychological, 0-100",
    "msis29_physical_raw": "MSIS-29 physical raw sum (v1 20-100, v2 20-80)",
    "msis29_psychological_raw": "MSIS-29 psychological raw sum (v1 9-45, v2 9-36)",
    "msws12": "MSWS-12, 0-100",
    "msws12_raw": "MSWS-12 raw sum (v1 12-60)",
    "spasticity_nrs": "spasticity NRS, 0-10",
    "pdds": "PDDS, 0-8",
    "ashworth": "Modified Ashworth category (ordered: 0 < 1 < 1+ < 2 < 3 < 4)",
    "ashworth_code": "Modified Ashworth ordinal code 0-5 (1+ = 2); never average it",
    "rule_set": "name of the options that produced the row",
}
_SCORE_COLUMNS = [c for c in RESULT_COLUMNS if c not in (
    "subject", "date", "instrument", "muscle", "n_items", "items_answered", "scored", "reason",
    "ashworth", "ashworth_code", "rule_set")]
_KEY_COLUMNS = ["subject", "date", "instrument", "muscle", "n_items", "items_answered", "scored",
                "reason"]

#: Columns of each instrument (used by the per-instrument functions).
INSTRUMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "MFIS": ("mfis_physical", "mfis_cognitive", "mfis_psychosocial", "mfis_total", "mfis5"),
    "MFIS-5": ("mfis5",),
    "FSS": ("fss", "fss_sum"),
    "MSIS-29": ("msis29_physical", "msis29_psychological", "msis29_physical_raw",
                "msis29_psychological_raw"),
    "MSWS-12": ("msws12", "msws12_raw"),
    "spasticity_nrs": ("spasticity_nrs",),
    "ashworth": ("ashworth", "ashworth_code"),
    "PDDS": ("pdds",),
}


# ------------------------------------------------------------------------------- parsing
def _blank(values: np.ndarray) -> np.ndarray:
    """True for NaN/None/NA and blank strings (object arrays checked element-wise)."""
    out = pd.isna(values)
    if values.dtype == object:
        idx = np.flatnonzero(~out)
        if idx.size:
            is_str = np.fromiter((isinstance(v, str) for v in values[idx]), bool, idx.size)
            s = idx[is_str]
            if s.size:
                out[s] = np.fromiter((not v.strip() for v in values[s]), bool, s.size)
    return np.asarray(out, bool)


def _numeric(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float values, "is not a number though not blank") for any 1-d array."""
    if values.dtype.kind in "biuf":
        return values.astype(float), np.zeros(values.size, bool)
    num = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    nan = np.isnan(num)
    bad = np.zeros(values.size, bool)
    if nan.any():
        idx = np.flatnonzero(nan)
        bad[idx] = ~_blank(values[idx])
    return num, bad


def _numeric_column(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_numeric` of a whole column, parsing each distinct text once."""
    if values.dtype != object:
        return _numeric(values)
    codes, uniques = pd.factorize(values)
    num, bad = _numeric(np.asarray(uniques, dtype=object))
    return np.append(num, np.nan)[codes], np.append(bad, False)[codes]


def _run_starts(*columns: np.ndarray) -> np.ndarray:
    """Rows where any of the columns differs from the row before (and row 0), computed a
    million rows at a time. Object columns compare with ``!=`` (may raise, e.g. for pd.NA)."""
    n = columns[0].size
    parts = [np.zeros(1, np.int64)]
    for a in range(1, n, _CHUNK):
        b = min(a + _CHUNK, n)
        change = np.zeros(b - a, bool)
        for col in columns:
            change |= np.not_equal(col[a:b], col[a - 1: b - 1])
        parts.append(np.flatnonzero(change) + a)
    return np.concatenate(parts)


def _factorize_runs(values: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """``(starts, codes, uniques)``: ``pd.factorize(values)`` (codes in order of first
    appearance, -1 = missing) hashing only the rows where an object column changes value, as
    the instrument, date and identifier columns of a pros table are long runs of one value.
    ``codes`` are per run beginning at ``starts``, or per row when ``starts`` is None."""
    n = values.size
    if values.dtype == object and n > 1:
        try:
            starts = _run_starts(values)
        except (TypeError, ValueError):  # pd.NA, arrays in cells: hash every row
            starts = np.arange(n)
        if starts.size <= n // 4:
            runs = values[starts]
            if starts.size <= 64 and all(type(v) is str for v in runs.tolist()):
                # a few runs of text (one patient's instruments): pd.factorize's codes and
                # uniques by a dict, without its hash table (about 10 µs)
                seen: dict[str, int] = {}
                codes = np.array([seen.setdefault(v, len(seen)) for v in runs.tolist()],
                                 np.intp)
                return starts, codes, np.array(list(seen), dtype=object)
            codes, uniques = pd.factorize(runs)
            return starts, codes, np.asarray(uniques)
    codes, uniques = pd.factorize(values)
    return None, codes, np.asarray(uniques)


def _per_row(starts: np.ndarray | None, values: np.ndarray, n: int) -> np.ndarray:
    """Values given per run (see :func:`_factorize_runs`) repeated for every row."""
    return values if starts is None else np.repeat(values, np.diff(np.append(starts, n)))


# ------------------------------------------------------------------------------- scoring
_Reason = tuple[np.ndarray, np.ndarray, Callable[[int], str]]
_CHUNK = 1 << 20  # rows per step of the passes over the whole table
_SCORE_ROW = {c: i for i, c in enumerate(_SCORE_COLUMNS)}


def _reasons(parts: list[_Reason], g: int) -> np.ndarray:
    """Why scales are missing, per response set (None when all were scored). ``parts`` holds,
    per scale in order, the "not scored" mask, the answered counts and the text of a count;
    each distinct combination of failed scales and counts is written once."""
    out = np.full(g, None, dtype=object)
    failed = np.zeros(g, bool)
    for mask, _, _ in parts:
        failed |= mask
    rows = np.flatnonzero(failed)
    if rows.size:
        key = np.stack([np.where(mask[rows], k[rows], -1) for mask, k, _ in parts], axis=1)
        combos, inverse = np.unique(key, axis=0, return_inverse=True)
        texts = ["; ".join(text(int(k)) for (_, _, text), k in zip(parts, combo, strict=True)
                           if k >= 0) for combo in combos]
        out[rows] = np.array(texts, dtype=object)[inverse.reshape(-1)]
    return out


def _reason_text(sc: _Scale, n: int) -> Callable[[int], str]:
    if sc.kind == "value":
        return lambda k: f"{sc.label}: not answered"
    if sc.kind == "mean":
        return lambda k: (f"{sc.label}: {k} of {n} items answered (at least "
                          f"{n - sc.max_missing} needed, {sc.rule})")
    return lambda k: (f"{sc.label}: {n - k} of {n} items missing (at most {sc.max_missing} "
                      f"allowed, {sc.rule})")


@dataclass(frozen=True)
class _Form:
    """An instrument's constant arrays for :func:`_score_matrix` (read-only)."""

    lo_all: np.ndarray  # per item: lowest and highest answer
    hi_all: np.ndarray
    member: np.ndarray  # item x scale: 1 when the item belongs to the scale
    lo_member: np.ndarray  # member x the item's lowest / highest answer
    hi_member: np.ndarray
    scale_items: tuple[np.ndarray, ...]  # per scale: its items' columns
    uniform: bool  # every item has the same range
    n_items: np.ndarray  # per scale: its number of items, and of items allowed missing
    max_missing: np.ndarray
    totals: tuple[tuple[Any, Any], ...]  # per scale: its items' lowest and highest sums


@lru_cache(maxsize=64)
def _form_matrices(inst: _Instrument, calc: np.dtype[Any]) -> _Form:
    """:class:`_Form` of an instrument, made once (per float type of the products)."""
    pos = {item: j for j, item in enumerate(inst.items)}
    lo_all = np.asarray(inst.lo, float)
    hi_all = np.asarray(inst.hi, float)
    member = np.zeros((len(inst.items), len(inst.scales)), calc)
    for q, sc in enumerate(inst.scales):
        member[[pos[i] for i in sc.items], q] = 1
    arrays = [lo_all, hi_all, member, member * lo_all[:, None], member * hi_all[:, None],
              *(np.array([pos[i] for i in sc.items]) for sc in inst.scales)]
    for a in arrays:
        a.flags.writeable = False
    n_items = np.array([len(sc.items) for sc in inst.scales], np.int64)
    max_missing = np.array([sc.max_missing for sc in inst.scales], np.int64)
    for a in (n_items, max_missing):
        a.flags.writeable = False
    return _Form(lo_all=lo_all, hi_all=hi_all, member=member, lo_member=arrays[3],
                 hi_member=arrays[4], scale_items=tuple(arrays[5:]),
                 uniform=len(set(inst.lo)) == 1 and len(set(inst.hi)) == 1,
                 n_items=n_items, max_missing=max_missing,
                 totals=tuple((lo_all[idx].sum(), hi_all[idx].sum()) for idx in arrays[5:]))


def _score_matrix(inst: _Instrument, block: np.ndarray, step: int, low: int,
                  calc: type[np.floating]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Scores of every response set and the reasons of missing scales (see :func:`_reasons`).

    ``block`` has a row per set and a column per item: 0 where the item is not answered, else
    ``step`` + answer - ``low``. A product with the 0/1 item-to-scale matrix gives, per scale,
    ``step`` x (items answered) + (sum of the answers - ``low`` per answer); ``step`` exceeds
    the second term, so both come out exactly: whole numbers, and ``calc`` (the float type of
    the products) holds them exactly (see :func:`_score_numbered`)."""
    form = _form_matrices(inst, np.dtype(calc))
    lo_all, hi_all, member, uniform = form.lo_all, form.hi_all, form.member, form.uniform
    product = np.empty((block.shape[0], len(inst.scales)))
    if not uniform:  # the minima and maxima of the answered items differ by item
        lo_sums, hi_sums = np.empty_like(product), np.empty_like(product)
        lo_member, hi_member = form.lo_member, form.hi_member
    step_rows = max(1, _CHUNK // len(inst.items))
    for r in range(0, block.shape[0], step_rows):  # a million cells at a time
        part = block[r: r + step_rows].astype(calc)
        product[r: r + step_rows] = part @ member
        if not uniform:
            answered = (part != 0).astype(calc)
            lo_sums[r: r + step_rows] = answered @ lo_member
            hi_sums[r: r + step_rows] = answered @ hi_member
    counts = np.floor(product / step)
    sums = product - counts * step + counts * low
    cols: dict[str, np.ndarray] = {}
    parts: list[_Reason] = []
    # per set and scale at once: enough items answered, and the divisor of the means
    enough = (form.n_items - counts <= form.max_missing) & (counts > 0)
    divisor = np.maximum(counts, 1)
    with np.errstate(invalid="ignore", divide="ignore"):  # (once: not per scale)
        for q, sc in enumerate(inst.scales):
            idx = form.scale_items[q]
            k = counts[:, q]
            n = idx.size
            ok = enough[:, q]
            s = sums[:, q]
            kk = divisor[:, q]
            if sc.kind == "sum":
                val = np.where(k == n, s, s / kk * n)
            elif sc.kind in ("mean", "value"):
                val = s / kk
            else:  # percent: mean imputation, generic range (rules §7.5)
                if uniform:
                    lo_a, hi_a = k * lo_all[0], k * hi_all[0]
                else:
                    lo_a, hi_a = lo_sums[:, q], hi_sums[:, q]
                val = 100.0 * (s - lo_a) / np.where(hi_a > lo_a, hi_a - lo_a, 1.0)
                lo_t, hi_t = form.totals[q]
                raw = np.where(k == n, s, lo_t + val / 100.0 * (hi_t - lo_t))
                assert sc.raw_column is not None
                cols[sc.raw_column] = np.where(ok, raw, np.nan)
            cols[sc.column] = np.where(ok, val, np.nan)
            parts.append((~ok, k, _reason_text(sc, n)))
    if inst.name == "MFIS":
        total = cols["mfis_physical"] + cols["mfis_cognitive"] + cols["mfis_psychosocial"]
        cols["mfis_total"] = total
        missing = np.isnan(total)
        parts.append((missing, np.zeros(missing.size, np.int64),
                      lambda k: "total: needs all three subscales"))
    if inst.name == "FSS":
        cols["fss_sum"] = cols["fss"] * 9.0
    return cols, _reasons(parts, block.shape[0])


# ------------------------------------------------------------------------ grouping the rows
def _increasing(*keys: np.ndarray) -> bool:
    """Whether consecutive rows of the key columns are in strictly increasing order."""
    ok = np.zeros(keys[0].size - 1, bool)
    tie = np.ones(keys[0].size - 1, bool)
    for k in keys:
        a, b = k[:-1], k[1:]
        ok |= tie & (b > a)
        tie &= b == a
    return bool(ok.all())


def _group_rows(subjects: np.ndarray, days: np.ndarray, canon: np.ndarray, n_canon: int
                ) -> tuple[np.ndarray | None, np.ndarray]:
    """``(order, starts)``: the rows in output order (subject, date, instrument; stable, so a
    response set's first row is its first row in the table) and where each set starts.
    ``order`` is None when the table is already in that order (no sort needed).

    Identifiers are ordered like ``DataFrame.sort_values``; identifiers that cannot be ordered
    (mixed types) keep the order in which they first appear."""
    kind = subjects.dtype.kind
    numeric = kind in "biufmM"
    skey = subjects.view(np.int64) if kind in "mM" else subjects
    if numeric:
        starts = _run_starts(skey, days, canon)
    else:
        try:
            starts = _run_starts(subjects, days, canon)
        except (TypeError, ValueError):  # pd.NA and the like: compare codes
            starts = _run_starts(pd.factorize(subjects)[0], days, canon)
    sortable = True
    if numeric:
        rank = skey[starts]
    else:
        try:
            rank = pd.factorize(subjects[starts], sort=True)[0]
        except TypeError:
            sortable = False
            rank = pd.factorize(subjects[starts])[0]
    if _increasing(rank, days[starts], canon[starts]):
        return None, starts
    if numeric or not sortable:
        s_codes = pd.factorize(skey, sort=numeric)[0]
    else:
        try:
            s_codes = pd.factorize(subjects, sort=True)[0]
        except TypeError:
            s_codes = pd.factorize(subjects)[0]
    d_codes, d_uniques = pd.factorize(days, sort=True)
    key = (s_codes.astype(np.int64) * len(d_uniques) + d_codes) * n_canon + canon
    order = np.argsort(key, kind="stable")
    return order, _run_starts(key[order])


def _runs(lengths: np.ndarray) -> np.ndarray:
    """Positions of the rows of consecutive groups of these lengths, counted from each start."""
    total = int(lengths.sum())
    return np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)


# ------------------------------------------------------------------------- numbered items
class _BadInput(Exception):
    """A bad cell was found; the row-by-row checks name the first one (see _raise_first)."""


def _rising(position: np.ndarray, local: np.ndarray) -> bool:
    """Whether ``position`` strictly rises within each set (sets begin at ``local``)."""
    rising = position[1:] > position[:-1]
    rising[local[1:] - 1] = True
    return bool(rising.all())


def _item_cells(items: np.ndarray, canon: np.ndarray, lens: np.ndarray, local: np.ndarray,
                base: np.ndarray, insts: dict[int, _Instrument]) -> tuple[np.ndarray, bool]:
    """(cell of every answer in the score matrix, whether the items rise within each set):
    sets are ``lens`` consecutive rows from ``local``, of instrument ``canon``, their cells
    begin at ``base``. Raises :class:`_BadInput` for an item not on the form."""
    kind = items.dtype.kind
    contiguous = all(inst.items == tuple(range(1, len(inst.items) + 1))
                     for inst in insts.values())
    if contiguous and (kind == "i" or (kind == "u" and items.dtype.itemsize < 8)):
        # items 1..n on every form present: the cell is the set's base + item - 1
        n_of = np.zeros(max(insts) + 1, np.int64)
        for c, inst in insts.items():
            n_of[c] = len(inst.items)
        rising = _rising(items, local)
        if rising:  # the first and the last item of a set are its smallest and largest
            smallest, largest = items[local], items[local + lens - 1]
        else:
            smallest, largest = np.minimum.reduceat(items, local), np.maximum.reduceat(items, local)
        if ((smallest < 1) | (largest > n_of[canon])).any():
            raise _BadInput
        cells = np.repeat(base - 1, lens)
        np.add(cells, items, out=cells, casting="unsafe")
        return cells, rising
    top = max(max(inst.items) for inst in insts.values())
    table = np.full((max(insts) + 1, top + 2), -1, np.int32)
    for c, inst in insts.items():
        table[c, list(inst.items)] = np.arange(len(inst.items))
    if items.dtype == object:
        codes, uniques = pd.factorize(items)
        num, _ = _numeric(np.asarray(uniques, dtype=object))
        codes = np.where(codes < 0, num.size, codes)
        num = np.append(num, np.nan)
    else:
        num, _ = _numeric(items)
        codes = None
    whole = np.isfinite(num) & (num == np.round(num)) & (num >= 0) & (num <= top)
    as_int = np.where(whole, num, top + 1).astype(np.int64)
    row_canon = np.repeat(canon, lens)
    j = table[row_canon, as_int] if codes is None else table[:, as_int][row_canon, codes]
    del row_canon
    if (j < 0).any():
        raise _BadInput
    cells = np.repeat(base, lens)
    cells += j
    return cells, _rising(j, local)


def _answers_valid(values: np.ndarray, canon: np.ndarray, local: np.ndarray,
                   insts: dict[int, _Instrument]) -> bool:
    """Whether every answer is a whole number in its item's range, checked per response set
    on its smallest and largest answer (forms whose items differ in range: within the widest
    range here, then item by item in :func:`_block_valid`)."""
    whole = values.dtype.kind in "biu"
    if not whole and ((np.floor(values) != values) & (values == values)).any():
        return False  # not whole and not NaN (inf: see below)
    size = max(insts) + 1
    lo, hi = np.full(size, -np.inf), np.full(size, np.inf)
    finite = np.zeros(size, bool)
    for c, inst in insts.items():
        if inst.not_scored is not None:
            finite[c] = not whole
        else:
            lo[c], hi[c] = min(inst.lo), max(inst.hi)
    low = np.fmin.reduceat(values, local)  # NaN: nothing answered
    high = np.fmax.reduceat(values, local)
    bad = (low < lo[canon]) | (high > hi[canon])
    if finite.any():
        bad |= finite[canon] & (np.isinf(low) | np.isinf(high))
    return not bad.any()


def _block_valid(inst: _Instrument, block: np.ndarray, shift: int) -> bool:
    """Whether every answer of a form whose items differ in range is within its item's
    (``block`` as in :func:`_score_matrix`: answer + ``shift``, 0 = not answered)."""
    if len(set(inst.lo)) == 1 and len(set(inst.hi)) == 1:
        return True  # checked by _answers_valid
    answered = block != 0
    values = block.astype(float) - shift
    low = np.where(answered, values, np.inf).min(axis=0)
    high = np.where(answered, values, -np.inf).max(axis=0)
    return not ((low < np.asarray(inst.lo, float)) | (high > np.asarray(inst.hi, float))).any()


@lru_cache(maxsize=64)
def _coding(insts: tuple[_Instrument, ...]
            ) -> tuple[int, int, np.dtype[Any], type[np.floating[Any]]]:
    """``(step, low, kind, calc)`` of the score matrix of these forms (see
    :func:`_score_numbered`), worked out once per set of forms (a few hundred Python steps
    over their items)."""
    scored_forms = [inst for inst in insts if inst.not_scored is None]
    low = min((min(inst.lo) for inst in scored_forms), default=0)
    spread = max((max(inst.hi) for inst in scored_forms), default=low) - low
    bound = max((sum(inst.hi[inst.items.index(i)] - low for i in sc.items)
                 for inst in scored_forms for sc in inst.scales), default=0)
    step = 1 << bound.bit_length()
    coded_max = step + spread
    kind = np.dtype(np.uint8 if coded_max <= 0xFF else np.uint16 if coded_max <= 0xFFFF
                    else np.float64)
    big = max((abs(b) for inst in scored_forms for b in inst.lo + inst.hi), default=0)
    n_max = max((len(inst.items) for inst in scored_forms), default=1)
    calc = np.float32 if n_max * max(coded_max, big) < 2**24 else np.float64
    return step, low, kind, calc


def _score_numbered(items: np.ndarray, responses: np.ndarray, rows: np.ndarray | None,
                    canon: np.ndarray, lens: np.ndarray, defs: dict[str, _Instrument],
                    canon_names: list[str], out: dict[str, np.ndarray], at: np.ndarray | None
                    ) -> None:
    """Score the numbered-item response sets: ``lens`` consecutive rows each of ``rows`` (the
    table's rows in output order; None: as they are), of instrument ``canon``; the results go
    to rows ``at`` (None: all, in order) of the output columns ``out``. Raises
    :class:`_BadInput` on any bad cell.

    Every instrument's sets form one block of a flat matrix (sets x items); each answer is
    written to its cell at once, then each block is scored."""
    g = lens.size
    insts = {int(c): defs[canon_names[c]] for c in np.flatnonzero(np.bincount(canon))}
    start_of = np.zeros(max(insts) + 1, np.int64)
    width = np.zeros(max(insts) + 1, np.int64)
    rank = np.zeros(g, np.int64)
    members: dict[int, np.ndarray] = {}
    size = 0
    for c, inst in insts.items():
        members[c] = np.flatnonzero(canon == c)
        rank[members[c]] = np.arange(members[c].size)
        start_of[c] = size
        width[c] = len(inst.items)
        size += members[c].size * len(inst.items)
    base = rank
    base *= width[canon]
    base += start_of[canon]
    del rank
    # The matrix holds answer + shift (0 = not answered), shift = step - lowest minimum,
    # step > the largest sum of answer - lowest minimum over a scale: a product then gives
    # counts and sums at once (_score_matrix). For the published forms the coded answers fit
    # in a byte, and the products are exact in float32.
    step, low, kind, calc = _coding(tuple(insts.values()))
    shift = step - low
    m = np.zeros(size, kind)
    n_answered = out["items_answered"] if at is None else np.empty(g, np.int64)
    # a million rows (whole sets) at a time: no temporary the size of the table
    ends = np.cumsum(lens)
    local = ends - lens
    cuts = (np.unique(np.searchsorted(ends, np.arange(_CHUNK, int(ends[-1]), _CHUNK)) + 1
                      ).tolist() if ends[-1] > _CHUNK else [])
    taken: np.ndarray | None = None  # cells written by sets whose items do not rise
    marked = 0
    for ga, gb in zip([0, *cuts], [*cuts, g], strict=True):
        if ga >= gb:
            continue
        ra, rb = int(local[ga]), int(ends[gb - 1])
        sel = slice(ra, rb) if rows is None else rows[ra:rb]
        c_lens, c_local, c_canon = lens[ga:gb], local[ga:gb] - ra, canon[ga:gb]
        cells, rising = _item_cells(items[sel], c_canon, c_lens, c_local, base[ga:gb], insts)
        values = responses[sel]
        if values.dtype.kind not in "biuf":
            values, bad = _numeric_column(values)
            if bad.any():
                raise _BadInput
        if not _answers_valid(values, c_canon, c_local, insts):
            raise _BadInput
        # an item answered twice: items rise within each set, or two rows share a cell (the
        # reader orders items as text - 1, 10, 11, ..., 2 - so most tables come here)
        if not rising:
            if taken is None:
                taken = np.zeros(size, bool)
            taken[cells] = True
            marked += cells.size
        # answers of unscored forms (any whole number) may not fit: they are never read
        with np.errstate(over="ignore", invalid="ignore"):
            if values.dtype.kind == "f":
                n_answered[ga:gb] = c_lens - np.add.reduceat(np.isnan(values), c_local,
                                                             dtype=np.int64)
                coded = np.fmax(values + shift, 0).astype(kind)  # NaN (not answered): 0
            else:
                n_answered[ga:gb] = c_lens
                coded = np.add(values, shift, dtype=kind, casting="unsafe")
        m[cells] = coded
    if taken is not None and np.count_nonzero(taken) != marked:
        raise _BadInput  # sets are whole within a pass: only a set's own rows share a cell

    for c, inst in insts.items():
        idx = members[c]
        at_c = idx if at is None else at[idx]
        out["n_items"][at_c] = len(inst.items)
        if at is not None:
            out["items_answered"][at_c] = n_answered[idx]
        if inst.not_scored is not None:
            out["reason"][at_c] = inst.not_scored
            continue
        block = m[start_of[c]: start_of[c] + idx.size * len(inst.items)].reshape(
            idx.size, len(inst.items))
        if not _block_valid(inst, block, shift):
            raise _BadInput
        cols, reasons = _score_matrix(inst, block, step, low, calc)
        scored = np.ones(idx.size, bool)
        for col in inst.headline:
            scored &= ~np.isnan(cols[col]) if col in cols else False
        out["scored"][at_c] = scored
        out["reason"][at_c] = reasons
        for col, v in cols.items():
            out["scores"][_SCORE_ROW[col], at_c] = v


# ------------------------------------------------------------------------- Modified Ashworth
_ASHWORTH_MAP: dict[Any, int] = {c: i for i, c in enumerate(ASHWORTH_CATEGORIES)}
# the result column's type, made once (an immutable dtype: a new one costs about 50 µs)
_ASHWORTH_DTYPE = pd.CategoricalDtype(list(ASHWORTH_CATEGORIES), ordered=True)
_ASHWORTH_MAP.update({0: 0, 1: 1, 2: 3, 3: 4, 4: 5})


def _ashworth_code(v: Any) -> int:
    """Ordinal code 0-5 of one answer that is not blank; -2 when it is no category, -3 when
    the row-by-row check stops on it otherwise."""
    key = v.strip().upper() if isinstance(v, str) else v
    code = None
    if isinstance(key, str | int | float | np.integer | np.floating) and not isinstance(
            key, bool):
        try:
            code = _ASHWORTH_MAP.get(key)
        except TypeError:
            code = None
        if code is None and isinstance(key, str):
            try:
                num = float(key)
                code = _ASHWORTH_MAP.get(num) if num == int(num) else None
            except ValueError:
                code = None
            except OverflowError:
                return -3
    return -2 if code is None else code


def _ashworth_column(values: np.ndarray) -> np.ndarray:
    """Ordinal codes 0-5 of Modified Ashworth answers (-1 = not answered, below -1 = bad),
    each distinct answer parsed once."""
    kinds = set(map(type, values)) if values.dtype == object else {values.dtype.type}
    if kinds & {bool, np.bool_}:  # True hashes like 1 but is no category: row by row
        uniques, codes = values, None
    else:
        codes, found = pd.factorize(values)
        uniques = np.asarray(found)
    blank = _blank(uniques)
    parsed = np.array([-1 if b else _ashworth_code(v) for v, b in zip(uniques, blank,
                                                                      strict=True)], np.int64)
    return parsed if codes is None else np.append(parsed, -1)[codes]


def _muscle_names(muscles: np.ndarray) -> np.ndarray:
    """``str(item).strip()`` of Ashworth rows, each distinct item once where that is safe."""
    if muscles.dtype == object:
        once = set(map(type, muscles)) <= {str, int}
    else:
        once = muscles.dtype.kind in "iu"
    if not once:  # e.g. 1 and 1.0 are one value for hashing but read "1" and "1.0"
        return np.array([str(x).strip() for x in muscles], dtype=object)
    codes, uniques = pd.factorize(muscles)
    return np.array([str(x).strip() for x in uniques], dtype=object)[codes]


def _score_ashworth(muscles: np.ndarray, responses: np.ndarray, group: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order of the rows by set and muscle, muscle names, codes) of Ashworth rows grouped by
    set (``group``, rising). Raises :class:`_BadInput` on any bad cell."""
    if _blank(muscles).any():
        raise _BadInput
    names = _muscle_names(muscles)
    rank = pd.factorize(names, sort=True)[0]
    order = np.lexsort((rank, group))
    g, r = group[order], rank[order]
    if ((g[1:] == g[:-1]) & (r[1:] == r[:-1])).any():
        raise _BadInput
    codes = _ashworth_column(responses)
    if (codes < -1).any():
        raise _BadInput
    return order, names[order], codes[order]


# ------------------------------------------------------------------- naming the bad cells
_LISTED = 50  # problems listed per column, the rest counted (as the readers do)
#: One kind of bad cell: the column, the rows of the table, and the problem of one such row.
_Found = tuple[str, np.ndarray, Callable[[int], InputProblem]]


def _cell(value: Any) -> str | None:
    """A cell of the validated table as text (None: an empty cell); whole numbers read back
    as typed (``5``, not ``5.0``)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if abs(number) < 2**53 and number == int(number):
            return str(int(number))
    return str(plain(value))


class _Names:
    """Each row of the validated table as the user knows it: the file, the row (spreadsheet
    row, or the DataFrame's index label: ``source_row``), the column's header, the subject and
    the date (see :func:`neda.io.read_pros`). ``context``: name the subject and date (not for
    the one made-up set of :func:`score_response_set`)."""

    def __init__(self, table: pd.DataFrame, subjects: np.ndarray, dates: np.ndarray, *,
                 context: bool = True) -> None:
        report = table.attrs.get("report")
        self.file = str(getattr(report, "file", "pros"))
        self.kind = table.attrs.get("row_kind", "row")
        self.headers = table.attrs.get("headers", {})
        self.rows = (table["source_row"].to_numpy() if "source_row" in table.columns
                     else np.arange(len(table)))
        # problems are listed in the user's row order when rows are numbers, else table order
        self.rank = (self.rows if self.rows.dtype.kind in "iu"
                     else np.arange(len(table), dtype=np.int64))
        self.subjects, self.dates, self.context = subjects, dates, context

    def row(self, r: int) -> Any:
        return plain(self.rows[r])

    def who(self, r: int) -> str:
        """``subject 3 on 2020-01-01`` ("" without context)."""
        if not self.context:
            return ""
        day = pd.Timestamp(self.dates[r]).strftime("%Y-%m-%d")
        return f"subject {plain(self.subjects[r])} on {day}"

    def of(self, r: int) -> str:
        """`` of subject 3 on 2020-01-01`` ("" without context)."""
        return f" of {self.who(r)}" if self.context else ""

    def note(self, r: int, first: str = "", last: str = "") -> str:
        """`` (first; subject 3 on 2020-01-01; last)`` without the empty parts."""
        parts = [p for p in (first, self.who(r), last) if p]
        return f" ({'; '.join(parts)})" if parts else ""

    def problem(self, r: int, column: str, value: str | None, expected: str) -> InputProblem:
        return InputProblem(self.file, self.row(r), self.headers.get(column, column), value,
                            expected, self.kind)

    def others(self, rows: np.ndarray, values: np.ndarray) -> str:
        """``row 3 ('4') and row 9 (blank)``: other rows of a repeated item, with the answer."""
        return " and ".join(f"{self.kind} {self.row(int(q))} "
                            + (f"('{v}')" if (v := _cell(values[q])) is not None else "(blank)")
                            for q in rows)


def _repeated(rows: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, Callable[[int],
                                                                                np.ndarray]]:
    """(rows sharing their ``key`` with another row, the other rows of such a row); ``rows``
    rise."""
    order = np.argsort(key, kind="stable")
    k = key[order]
    same = k[1:] == k[:-1]
    shared = np.zeros(k.size, bool)
    shared[1:] |= same
    shared[:-1] |= same

    def others(r: int) -> np.ndarray:
        kr = key[np.searchsorted(rows, r)]
        members = rows[order[np.searchsorted(k, kr, "left"): np.searchsorted(k, kr, "right")]]
        return members[members != r]

    return np.sort(rows[order[shared]]), others


def _item_problems(inst: _Instrument, rows: np.ndarray, names: _Names, items: np.ndarray,
                   responses: np.ndarray, set_of: np.ndarray) -> list[_Found]:
    """Every bad cell of one numbered-item instrument (``rows``, rising): an item not on the
    form, an answer out of its item's range or not a whole number, an item answered twice."""
    it, it_bad = _numeric_column(items[rows])
    top = max(inst.items)
    valid = np.zeros(top + 2, bool)
    valid[list(inst.items)] = True
    with np.errstate(invalid="ignore"):
        as_int = np.where(np.isfinite(it) & (it == np.round(it)) & (it >= 0) & (it <= top), it,
                          top + 1).astype(np.int64)
    known = ~it_bad & valid[as_int]
    listed = (str(inst.items[0]) if len(inst.items) == 1
              else f"{inst.items[0]}-{inst.items[-1]}"
              if inst.items == tuple(range(inst.items[0], inst.items[-1] + 1))
              else ", ".join(map(str, inst.items)))
    hint = "see pro.mfis5_item_numbering" if inst.name == "MFIS-5" else ""
    position = np.full(top + 2, -1, np.int64)
    position[list(inst.items)] = np.arange(len(inst.items))

    def number(r: int) -> int:  # the item of a row on the form
        return int(float(items[r]))

    def unknown(r: int) -> InputProblem:
        return names.problem(r, "item", _cell(items[r]), f"an item number {listed} of "
                             f"{inst.name}{names.note(r, last=hint)}")

    def answer(r: int) -> InputProblem:
        j = position[number(r)]
        rule = ("a whole number" if inst.not_scored is not None
                else f"a whole number from {inst.lo[j]} to {inst.hi[j]}")
        return names.problem(r, "response", _cell(responses[r]),
                             f"{rule}{names.note(r, first=f'{inst.name} item {number(r)}')}")

    rows_k = rows[known]
    j = position[as_int[known]]
    v, v_bad = _numeric_column(responses[rows_k])
    answered = ~np.isnan(v)
    with np.errstate(invalid="ignore"):
        if inst.not_scored is not None:
            off = answered & ((v != np.round(v)) | ~np.isfinite(v))
        else:
            off = answered & ((v < np.asarray(inst.lo, float)[j])
                              | (v > np.asarray(inst.hi, float)[j]) | (v != np.round(v)))
    twice, others = _repeated(rows_k, set_of[rows_k] * len(inst.items) + j)

    def repeat(r: int) -> InputProblem:
        return names.problem(r, "item", _cell(items[r]), f"one answer per item, but "
                             f"{inst.name} item {number(r)}{names.of(r)} is also answered in "
                             f"{names.others(others(r), responses)}")

    return [("item", rows[~known], unknown), ("response", rows_k[v_bad | off], answer),
            ("item", twice, repeat)]


def _ashworth_problems(rows: np.ndarray, names: _Names, items: np.ndarray,
                       responses: np.ndarray, set_of: np.ndarray) -> list[_Found]:
    """Every bad cell of the Modified Ashworth rows (``rows``, rising): no muscle group, a
    muscle rated twice, an answer that is no category."""
    blank = _blank(items[rows])
    rows_m = rows[~blank]
    names_m = _muscle_names(items[rows_m])
    m_codes, m_uniques = pd.factorize(names_m)
    twice, others = _repeated(rows_m, set_of[rows_m] * max(len(m_uniques), 1) + m_codes)

    def muscle(r: int) -> str | None:
        i = int(np.searchsorted(rows_m, r))
        return str(names_m[i]) if i < rows_m.size and rows_m[i] == r else None

    bad = _ashworth_column(responses[rows]) < -1

    def no_muscle(r: int) -> InputProblem:
        return names.problem(r, "item", None, "the muscle group (and side) rated on the "
                             f"Modified Ashworth scale{names.note(r)}")

    def repeat(r: int) -> InputProblem:
        return names.problem(r, "item", _cell(items[r]), f"one rating per muscle, but "
                             f"'{muscle(r)}'{names.of(r)} is also rated in "
                             f"{names.others(others(r), responses)}")

    def answer(r: int) -> InputProblem:
        value = _cell(responses[r])
        hint = ("; '1+' is a category, not 1.5 (rules §7.6)"
                if str(value).strip() in ("1.5", "1,5") else "")
        m = muscle(r)
        where = names.note(r, first=f"muscle '{m}'" if m is not None else "")
        return names.problem(r, "response", value, "a Modified Ashworth category 0, 1, 1+, 2, "
                             f"3 or 4{where}{hint}")

    return [("item", rows[blank], no_muscle), ("item", twice, repeat),
            ("response", rows[bad], answer)]


def _input_error(names: _Names, canon_names: list[str], row_canon: np.ndarray,
                 items: np.ndarray, responses: np.ndarray, set_of: np.ndarray,
                 defs: dict[str, _Instrument]) -> InputError:
    """All bad items and answers at once, in the user's row order, at most :data:`_LISTED`
    per column (only called once the columnar pass has found a bad cell)."""
    found: list[_Found] = []
    for c, name in enumerate(canon_names):
        rows = np.flatnonzero(row_canon == c)
        if name == "ashworth":
            found += _ashworth_problems(rows, names, items, responses, set_of)
        else:
            found += _item_problems(defs[name], rows, names, items, responses, set_of)
    listed: list[tuple[int, int, int, InputProblem]] = []
    omitted: dict[tuple[str, str], int] = {}
    for order, column in enumerate(("item", "response")):
        parts = [(rows, problem) for col, rows, problem in found if col == column and rows.size]
        if not parts:
            continue
        rows = np.concatenate([p[0] for p in parts])
        kind = np.repeat(np.arange(len(parts)), [p[0].size for p in parts])
        for i in np.lexsort((kind, rows, names.rank[rows]))[:_LISTED]:
            r = int(rows[i])
            listed.append((int(names.rank[r]), order, r, parts[kind[i]][1](r)))
        if rows.size > _LISTED:
            omitted[(names.file, names.headers.get(column, column))] = rows.size - _LISTED
    if not listed:
        raise AssertionError("score_pros: a bad cell was found, but no check names it")
    listed.sort(key=lambda t: t[:3])
    return InputError([t[3] for t in listed], omitted)


def _empty_result() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS if c != "rule_set"})
    return _finish(out)


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    out["date"] = pd.to_datetime(out["date"])
    for c in _SCORE_COLUMNS:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    out["n_items"] = out["n_items"].astype(np.int64)
    out["items_answered"] = out["items_answered"].astype(np.int64)
    out["scored"] = out["scored"].astype(bool)
    code = pd.array(out["ashworth_code"].to_numpy(), dtype="Int64")
    out["ashworth_code"] = code
    labels = np.array(ASHWORTH_CATEGORIES, dtype=object)
    known = ~np.asarray(pd.isna(code), bool)
    cat = np.full(len(out), None, dtype=object)
    cat[known] = labels[np.asarray(code[known], dtype=np.int64)]
    out["ashworth"] = pd.Categorical(cat, categories=list(ASHWORTH_CATEGORIES), ordered=True)
    return out


def score_pros(pros: pd.DataFrame, options: ProOptions | None = None, *,
               subject: str = "subject") -> pd.DataFrame:
    """Score every response set of a long ``pros`` table (rules §7.2-7.8), vectorised.

    One output row per subject, date and instrument (per muscle group for Modified Ashworth),
    with every column of :data:`RESULT_COLUMNS` (scores of other instruments are NaN), sorted by
    subject, date, instrument and muscle; ``attrs["provenance"]`` holds every option.
    ``subject`` names the identifier column (e.g. ``"id"`` for the demo registry).

    ``pros`` is read through :func:`neda.io.read_pros` unless it came from it (rules §0.3): the
    reader checks subjects, dates and instrument names (or MSIS-29/MSWS-12 without a version)
    and repeated rows, and raises :class:`neda.io.InputError` naming file, row, column and
    value. Items and answers are then checked against each instrument's form: an unknown item
    number, an answer out of the item's range or not a whole number, the same item answered
    twice (e.g. ``1`` and ``01``), a Modified Ashworth row without its muscle or with no
    category. Every such cell is listed at once in one :class:`~neda.io.InputError`, each with
    the file, the user's row (``source_row``), the column, the value, what was expected and the
    subject, date, instrument and item. Rows with a blank response count as unanswered items.
    """
    # the one way in (rules §0.3): subject, date and instrument are read and checked by the
    # pros reader; items and answers are checked here against each instrument's form
    table = ensure_table(pros, "pros", ReadOptions(
        columns={"subject": subject} if subject != "subject" else {}))
    return _score(table, options or ProOptions())


def _score(table: pd.DataFrame, opts: ProOptions, *, context: bool = True) -> pd.DataFrame:
    """:func:`score_pros` of a validated table (``context``: see :class:`_Names`)."""
    record = provenance(opts.rule_set, opts, SOURCE)
    if len(table) == 0:
        return with_provenance(_empty_result(), record)

    # columns read without building a Series (each would deep-copy the reader's report in
    # attrs: about 40 µs a column on a patient's answers)
    subjects = column_numpy(table, "subject")
    row_dates = np.asarray(column_numpy(table, "date"), "datetime64[ns]")  # never NaT (reader)
    items = column_numpy(table, "item")
    responses = column_numpy(table, "response")

    n = len(table)
    # instruments are canonical names (the reader), in long runs: hash where they change
    i_starts, i_codes, inst_uniques = _factorize_runs(column_numpy(table, "instrument"))
    names = [_canonical_text(u) if type(u) is str else canonical_instrument(u)
             for u in inst_uniques]
    canon_names = sorted(set(names))
    row_canon = _per_row(i_starts, np.array([canon_names.index(x) for x in names],
                                            np.int8)[i_codes], n)
    defs = _instruments(opts)

    days = row_dates.view(np.int64)
    order, starts = _group_rows(subjects, days, row_canon, len(canon_names))
    lens = np.diff(np.append(starts, n))
    first = starts if order is None else order[starts]
    canon = row_canon[first]
    is_ash = canon == (canon_names.index("ashworth") if "ashworth" in canon_names else -1)
    try:
        if not is_ash.any():
            out = _empty_columns(first.size)
            _score_numbered(items, responses, order, canon, lens, defs, canon_names, out, None)
            out_first, out_canon = first, canon
        else:
            out, out_first, out_canon = _score_with_ashworth(
                items, responses, order, lens, first, canon, is_ash, defs, canon_names)
    except _BadInput:
        set_of = np.empty(n, np.int64)  # the response set of every row
        set_of[slice(None) if order is None else order] = np.repeat(np.arange(lens.size), lens)
        raise _input_error(_Names(table, subjects, row_dates, context=context), canon_names,
                           row_canon, items, responses, set_of, defs) from None

    codes = out["ashworth_code"]
    columns = {
        "subject": subjects[out_first], "date": row_dates[out_first],
        "instrument": np.array(canon_names, dtype=object)[out_canon], "muscle": out["muscle"],
        "n_items": out["n_items"], "items_answered": out["items_answered"],
        "scored": out["scored"], "reason": out["reason"],
        **dict(zip(_SCORE_COLUMNS, out["scores"], strict=True)),
        # codes are -1 (not answered) or 0-5 (_score_ashworth raised on anything else)
        "ashworth": pd.Categorical.from_codes(codes, dtype=_ASHWORTH_DTYPE, validate=False),
        "ashworth_code": pd.arrays.IntegerArray(np.maximum(codes, 0), codes < 0)}
    # one block per column, no copies, no type inference on the object columns
    result = frame_of({**columns, "rule_set": record["rule_set"]}, infer_dates=False)
    result.attrs["provenance"] = record
    return result


def _empty_columns(g: int) -> dict[str, np.ndarray]:
    """Output columns of ``g`` rows before scoring (``scores``: one row per score column)."""
    return {"muscle": np.full(g, None, dtype=object), "n_items": np.ones(g, np.int64),
            "items_answered": np.zeros(g, np.int64), "scored": np.zeros(g, bool),
            "reason": np.full(g, None, dtype=object),
            "scores": np.full((len(_SCORE_COLUMNS), g), np.nan),
            "ashworth_code": np.full(g, -1, np.int64)}


def _score_with_ashworth(items: np.ndarray, responses: np.ndarray, order: np.ndarray | None,
                         lens: np.ndarray, first: np.ndarray, canon: np.ndarray,
                         is_ash: np.ndarray, defs: dict[str, _Instrument],
                         canon_names: list[str]
                         ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Output columns, first rows and instruments when the table has Modified Ashworth rows:
    one output row per muscle."""
    row_is_ash = np.repeat(is_ash, lens)
    pos_a = np.flatnonzero(row_is_ash)
    pos_n = np.flatnonzero(~row_is_ash)
    rows_a = pos_a if order is None else order[pos_a]
    rows_n = pos_n if order is None else order[pos_n]
    ash_sets = np.flatnonzero(is_ash)
    num_sets = np.flatnonzero(~is_ash)
    a_order, a_muscles, a_codes = _score_ashworth(items[rows_a], responses[rows_a],
                                                  np.repeat(ash_sets, lens[ash_sets]))
    n_out = np.where(is_ash, lens, 1)
    out_start = np.cumsum(n_out) - n_out
    g = int(n_out.sum())
    at_n = out_start[num_sets]
    at_a = np.repeat(out_start[ash_sets], lens[ash_sets]) + _runs(lens[ash_sets])
    out_first = np.empty(g, np.int64)
    out_first[at_n] = first[num_sets]
    out_first[at_a] = rows_a[a_order]
    out_canon = np.empty(g, np.int64)
    out_canon[at_n] = canon[num_sets]
    out_canon[at_a] = canon[ash_sets[0]]
    out = _empty_columns(g)
    out["muscle"][at_a] = a_muscles
    out["ashworth_code"][at_a] = a_codes
    answered = a_codes >= 0
    out["items_answered"][at_a] = answered
    out["scored"][at_a] = answered
    out["reason"][at_a[~answered]] = "Modified Ashworth: not answered"
    if num_sets.size:
        _score_numbered(items, responses, rows_n, canon[num_sets], lens[num_sets], defs,
                        canon_names, out, at_n)
    return out, out_first, out_canon


# ------------------------------------------------------------------ per-instrument helpers
def _select(pros: Any, names: tuple[str, ...], version: str | None,
            options: ProOptions | None, subject: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """Scores of the instrument(s) ``names`` (``version``: only that one). Every row is read and
    checked (rules §0.3); only the rows of these instruments are scored."""
    only = version or (names[0] if len(names) == 1 else None)
    if (isinstance(pros, pd.DataFrame) and not is_validated(pros, "pros")
            and "instrument" not in pros.columns):
        if only is None:
            raise ValueError(f"pros has no `instrument` column: say which version "
                             f"({' or '.join(names)}) with version=")
        pros = pros.assign(instrument=only)
    table = ensure_table(pros, "pros", ReadOptions(
        columns={"subject": subject} if subject != "subject" else {}))
    chosen = table[table["instrument"].isin([only] if only else names).to_numpy()]
    out = _score(chosen, options or ProOptions())
    keep_cols = [*_KEY_COLUMNS, *columns, "rule_set"]
    if "ashworth" not in columns:
        keep_cols.remove("muscle")
    result = out[keep_cols].reset_index(drop=True)
    result.attrs = out.attrs
    return result


def _version(base: str, version: Any) -> str | None:
    if version is None:
        return None
    v = str(version).strip().lower().lstrip("v")
    if v not in ("1", "2"):
        raise ValueError(f"{base} version must be 1 or 2, got {version!r}")
    return f"{base}v{v}"


def mfis(pros: pd.DataFrame, options: ProOptions | None = None, *,
         subject: str = "subject") -> pd.DataFrame:
    """MFIS subscales, total and MFIS-5 items of every 21-item MFIS (rules §7.2; MSQLI manual).

    Physical = items 4, 6, 7, 10, 13, 14, 17, 20, 21 (0-36); cognitive = 1, 2, 3, 5, 11, 12,
    15, 16, 18, 19 (0-40); psychosocial = 8, 9 (0-8); total = their sum (0-84), only when all
    three are scored. Without an ``instrument`` column every row is read as MFIS.
    """
    return _select(pros, ("MFIS",), None, options, subject, INSTRUMENT_COLUMNS["MFIS"])


def mfis5(pros: pd.DataFrame, options: ProOptions | None = None, *,
          subject: str = "subject") -> pd.DataFrame:
    """Stand-alone MFIS-5 (items 1, 9, 10, 17, 19 of the MFIS; 0-20; rules §7.2)."""
    return _select(pros, ("MFIS-5",), None, options, subject, INSTRUMENT_COLUMNS["MFIS-5"])


def fss(pros: pd.DataFrame, options: ProOptions | None = None, *,
        subject: str = "subject") -> pd.DataFrame:
    """Fatigue Severity Scale: mean of 9 items 1-7 and the sum (Krupp 1989; rules §7.3)."""
    return _select(pros, ("FSS",), None, options, subject, INSTRUMENT_COLUMNS["FSS"])


def msis29(pros: pd.DataFrame, options: ProOptions | None = None, *, version: Any = None,
           subject: str = "subject") -> pd.DataFrame:
    """MSIS-29 physical and psychological scales, 0-100 (Hobart 2001; rules §7.4).

    ``version`` (1 or 2) restricts to one version, and is required without an ``instrument``
    column.
    """
    return _select(pros, ("MSIS-29v1", "MSIS-29v2"), _version("MSIS-29", version), options,
                   subject, INSTRUMENT_COLUMNS["MSIS-29"])


def msws12(pros: pd.DataFrame, options: ProOptions | None = None, *, version: Any = None,
           subject: str = "subject") -> pd.DataFrame:
    """MSWS-12, 0-100 (Hobart 2003; rules §7.5); v2 only with its item metadata loaded."""
    return _select(pros, ("MSWS-12v1", "MSWS-12v2"), _version("MSWS-12", version), options,
                   subject, INSTRUMENT_COLUMNS["MSWS-12"])


def spasticity_nrs(pros: pd.DataFrame, options: ProOptions | None = None, *,
                   subject: str = "subject") -> pd.DataFrame:
    """Spasticity numeric rating scale 0-10, item 1 (Farrar 2008; rules §7.6)."""
    return _select(pros, ("spasticity_nrs",), None, options, subject,
                   INSTRUMENT_COLUMNS["spasticity_nrs"])


def ashworth(pros: pd.DataFrame, options: ProOptions | None = None, *,
             subject: str = "subject") -> pd.DataFrame:
    """Modified Ashworth Scale per muscle group (Bohannon & Smith 1987; rules §7.6).

    ``item`` names the muscle group (and side); ``response`` is 0, 1, "1+", 2, 3 or 4.
    ``ashworth`` is an ordered categorical (1+ is a category, not 1.5) and ``ashworth_code``
    its ordinal code 0-5. Never average these values.
    """
    return _select(pros, ("ashworth",), None, options, subject, INSTRUMENT_COLUMNS["ashworth"])


def pdds(pros: pd.DataFrame, options: ProOptions | None = None, *,
         subject: str = "subject") -> pd.DataFrame:
    """Patient Determined Disease Steps, 0-8, item 1 (rules §7.7, optional measure)."""
    return _select(pros, ("PDDS",), None, options, subject, INSTRUMENT_COLUMNS["PDDS"])


def score_response_set(instrument: str, responses: Mapping[Any, Any],
                       options: ProOptions | None = None) -> dict[str, Any]:
    """Score one response set given as ``{item: response}`` (unanswered items may be left out).

    Returns ``instrument``, ``n_items``, ``items_answered``, ``scored``, ``reason`` and the
    instrument's score columns. Modified Ashworth is per muscle: use :func:`ashworth`.
    """
    name = canonical_instrument(instrument)
    if name == "ashworth":
        raise ValueError("Modified Ashworth is rated per muscle group; use ashworth()")
    if not responses:
        defs = _instruments(options or ProOptions())
        return {"instrument": name, "n_items": len(defs[name].items), "items_answered": 0,
                "scored": False, "reason": "no item answered"}
    # one made-up subject and date; a bad cell is named by its item ("row index" = the key)
    keys = pd.Index(list(responses.keys()), dtype=object)
    index = pd.RangeIndex(len(keys)) if keys.hasnans else keys  # a blank item: by position
    frame = pd.DataFrame({"subject": 0, "date": pd.Timestamp("2000-01-01"), "instrument": name,
                          "item": keys.to_numpy(), "response": pd.Series(
                              list(responses.values()), index=index, dtype=object)},
                         index=index)
    row = _score(read_pros(frame, file_label=f"{name} responses"), options or ProOptions(),
                 context=False).iloc[0]
    group = name.rsplit("v", 1)[0] if name.startswith(("MSIS", "MSWS")) else name
    keys = ["instrument", "n_items", "items_answered", "scored", "reason",
            *INSTRUMENT_COLUMNS[group]]
    out = {k: row[k] for k in keys}
    for k in ("n_items", "items_answered"):
        out[k] = int(out[k])
    out["scored"] = bool(out["scored"])
    for k in INSTRUMENT_COLUMNS[group]:
        out[k] = float(out[k])
    return out
