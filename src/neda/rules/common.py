"""Conventions shared by every clinical rule module.

* **Three-valued results.** A composite status is ``True``, ``False`` or ``None`` (unknown) in
  Python, and a pandas nullable ``"boolean"`` column (``<NA>`` = unknown) in tables; every
  false or unknown status comes with a human-readable ``reason``. Missing data never yields
  "no activity" (rules §0.2).
* **Options.** Each rule module has a frozen dataclass of options whose defaults are the
  spec's (section 10) and whose docstring names each default and its source.
* **Provenance.** Every result table carries a ``rule_set`` column (the options' name) and
  ``attrs["provenance"]`` with every option value, so results of different definitions are
  never mixed silently.
* **Tables.** The helpers every package of neda reads and builds tables with (course, summary,
  cohort and web as well as the rules): columns read as stored without a Series, tables built
  from finished columns, identifier look-ups and codes with a one-patient path, day numbers.
  Shared by neda's own packages (hence public); not part of the user API in ``neda``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import importlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray
from pandas.arrays import NumpyExtensionArray

Tri = bool | None


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value, so messages read ``subject 7``, not
    ``subject np.int64(7)`` (NumPy 2 reprs)."""
    return value.item() if isinstance(value, np.generic) else value


def tri_all(values: Iterable[Tri]) -> Tri:
    """Three-valued AND: False if any is False, else None if any is None, else True."""
    seen_unknown = False
    for v in values:
        if v is False:
            return False
        if v is None:
            seen_unknown = True
    return None if seen_unknown else True


def tri_any(values: Iterable[Tri]) -> Tri:
    """Three-valued OR: True if any is True, else None if any is None, else False."""
    seen_unknown = False
    for v in values:
        if v is True:
            return True
        if v is None:
            seen_unknown = True
    return None if seen_unknown else False


def tri_not(value: Tri) -> Tri:
    return None if value is None else not value


def as_pandas(df: Any) -> pd.DataFrame:
    """A pandas DataFrame as is; a polars one converted."""
    if isinstance(df, pd.DataFrame):
        return df
    if hasattr(df, "to_pandas"):
        out: pd.DataFrame = df.to_pandas()
        return out
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(df).__name__}")


def subject_column(frame: pd.DataFrame, subject: str | None, table: str) -> str:
    """The subject column: the one named, else ``subject``, ``id`` or ``patient``."""
    candidates = [subject] if subject else ["subject", "id", "patient"]
    for c in candidates:
        if c in frame.columns:
            return c
    raise ValueError(f"{table} table has no subject column (looked for "
                     f"{', '.join(repr(c) for c in candidates)}; columns: {list(frame.columns)})")


_Made = TypeVar("_Made")


def per_options(maxsize: int) -> Callable[[Callable[[Any], _Made]], Callable[[Any], _Made]]:
    """Cache a function of one frozen options object: made once per options object (a course
    asks for the same records dozens of times). Options holding an unhashable value (a list
    where a tuple is expected) are not cached: the function runs each time."""
    def decorate(make: Callable[[Any], _Made]) -> Callable[[Any], _Made]:
        cached = functools.lru_cache(maxsize=maxsize)(make)

        @functools.wraps(make)
        def once(options: Any) -> _Made:
            try:
                return cached(options)
            except TypeError:  # unhashable: not cached
                return make(options)

        return once

    return decorate


def rule_set_name(options: Any) -> str:
    """``options.name`` if set, else ``spec_defaults`` when every value is the default, else
    ``custom`` - so an edited definition is never reported under the default's name."""
    if options.name:
        return str(options.name)
    return _unnamed_rule_set(options)


@per_options(maxsize=256)
def _unnamed_rule_set(options: Any) -> str:
    # cached per options object (frozen, hashable): the comparison makes two option objects
    default = type(options)()
    return "spec_defaults" if dataclasses.replace(options, name=None) == default else "custom"


def options_dict(options: Any) -> dict[str, Any]:
    """Every field of an options dataclass, JSON-friendly (inf as the string "inf")."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(options):
        v = getattr(options, f.name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            v = options_dict(v)
        elif isinstance(v, tuple):
            v = list(v)
        if isinstance(v, float) and math.isinf(v):
            v = "inf"
        out[f.name] = v
    return out


def provenance(rule_set: str, options: Any, source: str) -> dict[str, Any]:
    """The provenance record stored with a result: rule set, every option, its source."""
    values, digest = _options_record(options)
    return {
        "rule_set": rule_set,
        "options": plain_copy(values),  # every record its own copy
        "options_digest": digest,
        "source": source,
    }


def plain_copy(value: Any) -> Any:
    """A deep copy of JSON-like values (dicts, lists, scalars), as ``copy.deepcopy`` makes
    it, in a fraction of its time (a course copies about a dozen option records)."""
    # (the texts, numbers and None of a record - most of its values - kept without a call)
    if type(value) is dict:
        return {k: v if type(v) in _ATOMS else plain_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [v if type(v) in _ATOMS else plain_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_copy(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return copy.deepcopy(value)


_ATOMS = frozenset({str, int, float, bool, type(None)})


@per_options(maxsize=256)
def _options_record(options: Any) -> tuple[dict[str, Any], str]:
    """Every option value and their digest, once per options object (frozen, hashable)."""
    values = options_dict(options) if options is not None else {}
    blob = json.dumps(values, sort_keys=True, default=str)
    return values, hashlib.sha256(blob.encode()).hexdigest()[:12]


_EPOCH0 = np.datetime64("1970-01-01", "D")
_NS_PER_DAY = 86_400_000_000_000


def day_numbers(values: Any) -> np.ndarray:
    """Day numbers since 1970-01-01 (float; NaN for missing).

    Validated tables hold ``datetime64`` columns, converted here by numpy alone: on them
    ``pd.to_datetime`` would first box up to thousands of cells as Timestamps to decide
    whether to cache (pandas' ``should_cache``), the largest cost of a one-patient call."""
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(pd.Series(arr)).to_numpy()
    d = arr.astype("datetime64[D]")
    out = (d - _EPOCH0).astype(np.int64).astype(np.float64)
    out[np.isnat(d)] = np.nan
    return out


def day_dates(days: Any) -> np.ndarray:
    """Day numbers as ``datetime64[ns]`` (NaT for missing)."""
    arr = np.asarray(days, dtype=float)
    ok = np.isfinite(arr)
    if ok.all():
        return (arr.astype(np.int64) * _NS_PER_DAY).view("datetime64[ns]")
    ns = np.full(arr.shape, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    ns[ok] = arr[ok].astype(np.int64) * _NS_PER_DAY
    return ns.view("datetime64[ns]")


def with_provenance(frame: pd.DataFrame, record: dict[str, Any]) -> pd.DataFrame:
    """Add the ``rule_set`` column and ``attrs["provenance"]`` to a result table."""
    frame = frame.copy()
    frame["rule_set"] = record["rule_set"]
    frame.attrs["provenance"] = record
    return frame


def texts_by_key(keys: np.ndarray, text: Any) -> np.ndarray:
    """``text(key)`` per row, written once per distinct key (an object array): reasons and
    flags depend on a few codes, so a registry needs a handful of texts, not one per row.
    A few rows (one patient's) of whole-number or text keys go by a dict in the order met,
    which costs less than sorting the keys."""
    if len(keys) <= 32 and keys.dtype.kind in "iuU":
        made: dict[Any, str] = {}
        out = np.empty(len(keys), dtype=object)
        out[:] = [made[k] if k in made else made.setdefault(k, text(k)) for k in keys.tolist()]
        return out
    distinct, inverse = np.unique(keys, return_inverse=True)
    table = np.empty(len(distinct), dtype=object)
    table[:] = [text(k) for k in distinct.tolist()]
    return table[inverse.reshape(-1)]


def bare(frame: pd.DataFrame) -> pd.DataFrame:
    """The same table (the same data, not a copy) without ``attrs``, to read columns from:
    pandas deep-copies a frame's ``attrs`` into every column it hands out, and a provenance
    record or a reader's report costs 0.05-0.1 ms per column. Not for passing on: a table
    without its attrs is no longer marked as validated."""
    mgr: Any = getattr(frame, "_mgr", None)
    if not _FAST_FRAME or type(frame) is not pd.DataFrame or type(mgr) is not _BlockManager:
        return pd.DataFrame(frame, copy=False)
    # pandas' shallow copy (``BlockManager.copy(deep=False)``: new blocks on the same
    # arrays) without its generic per-block dispatch: half the time of the constructor
    new = _BlockManager(tuple(type(b)(b.values, ndim=2, placement=b._mgr_locs, refs=b.refs)
                              for b in mgr.blocks), list(mgr.axes), verify_integrity=False)
    if mgr._blknos is not None:
        new._blknos, new._blklocs = mgr._blknos.copy(), mgr._blklocs.copy()
    return pd.DataFrame._from_mgr(new, axes=new.axes)  # type: ignore[attr-defined]


def column(frame: pd.DataFrame, name: str) -> Any:
    """``frame[name]``'s values as the table stores them (``Series._values``: a numpy array,
    or a pandas array for dates and pandas types) without building the Series: pandas
    builds it and deep-copies the frame's attrs into it, about 20 µs a column read on one
    patient's tables, against 1.5 µs here (a course reads a few hundred)."""
    labels = frame.columns
    if type(labels) is pd.Index and _FAST_FRAME:
        # a plain Index (every table here): its hash table asked directly, as its get_loc
        # does after its checks (half the cost of a column read, about 400 a course)
        try:
            at = labels._engine.get_loc(name)  # type: ignore[attr-defined]
        except (KeyError, TypeError):
            at = None  # (missing or unhashable: get_loc below raises pandas' own error)
        if type(at) is int:
            return frame._mgr.iget_values(at)
    loc = labels.get_loc(name)
    if isinstance(loc, int) and hasattr(frame, "_get_column_array"):
        return getattr(frame, "_get_column_array")(loc)  # noqa: B009 (mypy: not a column)
    return bare(frame)[name]._values  # pragma: no cover - duplicate names, another pandas


def column_numpy(frame: pd.DataFrame, name: str) -> Any:
    """``frame[name].to_numpy()`` without building the Series (see :func:`column`)."""
    v = column(frame, name)
    return np.asarray(v) if isinstance(v.dtype, np.dtype) else v.to_numpy()


def copy_of(frame: pd.DataFrame, index: Any = None) -> pd.DataFrame:
    """``frame.copy()`` (``index``: with that index instead of the frame's, an Index of its
    length), as pandas makes it: every column copied, the columns of one numpy type in one
    block (in column order), ``attrs`` deep-copied. Without pandas' steps per block and its
    ``copy.deepcopy`` of the attrs: a patient's summary copies seven tables of up to 30
    columns, 0.05-0.3 ms each in pandas."""
    mgr: Any = getattr(frame, "_mgr", None)
    if (not _FAST_FRAME or type(frame) is not pd.DataFrame or type(mgr) is not _BlockManager
            or not frame.flags.allows_duplicate_labels):
        return _pandas_copy(frame, index)
    by_type: dict[Any, list[Any]] = {}
    blocks: list[Any] = []
    for blk in mgr.blocks:
        values = blk.values
        if type(values) is np.ndarray or (type(values) in _DATE_TYPES and values.ndim == 2):
            by_type.setdefault(values.dtype, []).append(blk)
        elif values.ndim == 1:  # a pandas array (Int64, boolean, category): its own block
            blocks.append(blk)
        else:  # pragma: no cover - another block layout (dates with a time zone): pandas'
            return _pandas_copy(frame, index)
    # pandas' order (as its consolidation leaves it): pandas arrays, then by type name
    new = [type(b)(b.values.copy(), ndim=2, placement=b._mgr_locs)
           for b in sorted(blocks, key=lambda b: str(b.dtype))]
    for dtype, group in sorted(by_type.items(), key=lambda kv: _type_name(kv[0])):
        raw = [b.values if type(b.values) is np.ndarray else b.values._ndarray for b in group]
        if len(group) == 1:
            data, placement = raw[0].copy(), group[0]._mgr_locs
        else:  # stacked in column order, as pandas merges blocks
            locs = np.concatenate([b.mgr_locs.as_array for b in group])
            order = np.argsort(locs)
            data, placement = np.concatenate(raw)[order], _BlockPlacement(locs[order])
        if dtype.kind in "mM":  # wrapped as pandas would, without its checks (see frame_of)
            new.append(_internals.DatetimeLikeBlock(
                _DATE_ARRAYS[dtype.kind]._simple_new(data, dtype=dtype), ndim=2,
                placement=placement))
        else:
            new.append(_internals.NumpyBlock(data, ndim=2, placement=placement))
    axes = [frame.columns.view(), frame.index.view() if index is None else index]
    out = pd.DataFrame._from_mgr(  # type: ignore[attr-defined]
        _BlockManager(tuple(new), axes, verify_integrity=False), axes=axes)
    if frame.attrs:
        out.attrs = plain_copy(frame.attrs)
    return out


def row_of(frame: pd.DataFrame, at: int) -> pd.Series:
    """``frame.iloc[at]`` of a table with a column of Python objects (its row holds objects):
    each cell read from its block as pandas reads it (numpy scalars, Timestamps, <NA>),
    without pandas' search for the common type of every column and its steps per block (the
    patients table has about 100 columns, one block each)."""
    mgr: Any = getattr(frame, "_mgr", None)
    if (not _FAST_FRAME or type(frame) is not pd.DataFrame or type(mgr) is not _BlockManager
            or not any(type(b.values) is np.ndarray and b.values.dtype.kind == "O"
                       for b in mgr.blocks)):
        return frame.iloc[at]
    blocks = mgr.blocks
    cells = np.empty(len(frame.columns), dtype=object)
    for j, (b, i) in enumerate(zip(mgr.blknos.tolist(), mgr.blklocs.tolist(), strict=True)):
        values = blocks[b].values  # (a pandas array of one column is one-dimensional)
        cells[j] = values[at] if values.ndim == 1 else values[i, at]
    row = pd.Series(cells, index=frame.columns, name=frame.index[at], dtype=object, copy=False)
    return row.__finalize__(frame)


@functools.lru_cache(maxsize=64)
def _type_name(dtype: np.dtype) -> str:
    return dtype.name  # numpy works the name out in Python each time


def _pandas_copy(frame: pd.DataFrame, index: Any = None) -> pd.DataFrame:
    out = frame.copy()
    if index is not None:
        out.index = index
    return out


def empty_table(*columns: str) -> pd.DataFrame:
    """``pd.DataFrame(columns=[...])`` (no columns: ``pd.DataFrame()``) as a copy of one built
    once: pandas takes most of a millisecond to build an empty frame with named columns."""
    return _empty_table(columns).copy()


@functools.cache
def _empty_table(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns)) if columns else pd.DataFrame()


def _own(values: Any) -> Any:
    """``values`` when it is a numpy array that owns its memory (or a scalar), else a copy."""
    if isinstance(values, np.ndarray):
        return values if values.flags.owndata else values.copy()
    return values.copy() if hasattr(values, "copy") and hasattr(values, "dtype") else values


def provenance_frame(columns: dict[str, Any], record: dict[str, Any], index: Any = None
                     ) -> pd.DataFrame:
    """A result table built once from finished columns, with the ``rule_set`` column and
    ``attrs["provenance"]`` (as :func:`with_provenance`, without copying a frame).

    Columns stay one block each: pandas would otherwise copy a table's columns of one type
    into a 2-D block, 0.1-0.5 s for a million-row table. A column is copied only when it
    may be shared with something else (a view of another array, a pandas array or Series),
    so the table never shares memory with its inputs."""
    seen: set[int] = set()
    own: dict[str, Any] = {}
    for c, v in columns.items():  # one array under two names is copied for the second
        own[c] = v.copy() if isinstance(v, np.ndarray) and id(v) in seen else _own(v)
        seen.add(id(v))
    own["rule_set"] = record["rule_set"]
    frame = frame_of(own) if index is None else pd.DataFrame(own, index=index, copy=False)
    frame.attrs["provenance"] = record
    return frame


# pandas' own steps of its DataFrame constructor (internal modules: without them, or in
# another pandas, frame_of is the constructor itself)
try:
    _sanitize_array: Any = importlib.import_module("pandas.core.construction").sanitize_array
    _column_arrays_manager: Any = importlib.import_module(
        "pandas.core.internals.managers").create_block_manager_from_column_arrays
    _internals: Any = importlib.import_module("pandas.core.internals.blocks")
    _BlockManager: Any = importlib.import_module("pandas.core.internals.managers").BlockManager
    _BlockPlacement: Any = importlib.import_module("pandas._libs.internals").BlockPlacement
    _MaskedArray: Any = importlib.import_module("pandas.core.arrays.masked").BaseMaskedArray
    _NumpyBlock, _DatesBlock, _ArrayBlock = (
        _internals.NumpyBlock, _internals.DatetimeLikeBlock, _internals.ExtensionBlock)
    _FAST_FRAME = (hasattr(pd.DataFrame, "_from_mgr") and hasattr(_internals, "new_block_2d")
                   and hasattr(_BlockManager, "iget_values") and hasattr(pd.Index, "_engine"))
except (ImportError, AttributeError):  # pragma: no cover - another pandas layout
    _FAST_FRAME = False
_NS_DATES = (np.dtype("datetime64[ns]"), np.dtype("timedelta64[ns]"))
# whether pandas makes text columns and labels its string type (then labels go through pandas)
_STRING_DTYPE: Any = getattr(importlib.import_module("pandas._config"), "using_string_dtype",
                             None)
_DATE_ARRAYS: Any = {"M": pd.arrays.DatetimeArray, "m": pd.arrays.TimedeltaArray}
_DATE_TYPES = (pd.arrays.DatetimeArray, pd.arrays.TimedeltaArray)


def frame_of(columns: dict[str, Any], consolidate: bool = False, infer_dates: bool = True
             ) -> pd.DataFrame:
    """``pd.DataFrame(columns, copy=False)`` (``consolidate``: ``pd.DataFrame(columns)``, whose
    numpy columns are copied into one block per type) without pandas' checks of columns that
    are already 1-D numpy arrays of numbers, flags or nanosecond dates, or pandas arrays:
    on one patient's course the constructor's per-column checks cost more than the data
    (about 20 tables a course). Other values (text columns, which pandas inspects for
    dates; scalars, broadcast) go through pandas' own ``sanitize_array``, so the table is
    the constructor's; so do lists. A pandas Series is taken as its values when it has the
    default row numbers (else, and for anything else, this is the constructor), a
    ``NumpyExtensionArray`` (a numpy column's ``.array``) as its numpy array. With
    ``consolidate`` the pandas arrays are copied, as the constructor copies them.
    ``infer_dates=False``: columns of Python objects are taken as they are, without pandas
    looking for dates in them (0.1 s for a million-row flag column of True/False/None): for
    tables whose object columns are known to hold text, flags or numbers, never dates."""
    values: list[Any] = []
    n = None
    for v in columns.values():
        if type(v) is np.ndarray and v.ndim == 1:  # most columns: checked first
            if n is None:
                n = len(v)
            elif len(v) != n:
                n = -1
                break
            values.append(v)
            continue
        if isinstance(v, pd.Series):  # a column with the default row numbers: its values
            if not (isinstance(v.index, pd.RangeIndex) and v.index.start == 0
                    and v.index.step == 1):
                n = -1
                break
            v = v.array
        if isinstance(v, NumpyExtensionArray):  # a numpy column's ``.array``: its numpy
            v = v.to_numpy()  # array, as pandas' constructor takes it
        if isinstance(v, np.ndarray | ExtensionArray | list):
            if n is None:
                n = len(v)
            if len(v) != n or (isinstance(v, np.ndarray) and v.ndim != 1):
                n = -1
                break
        elif np.ndim(v) != 0 or isinstance(v, dict | set):
            n = -1
            break
        values.append(v)
    if n is None or n < 0 or not _FAST_FRAME:
        table = pd.DataFrame(columns) if consolidate else pd.DataFrame(columns, copy=False)
        if not infer_dates:  # object columns back as they were given (not turned into dates)
            for c, v in columns.items():
                if (isinstance(v, np.ndarray) and v.dtype == object and v.ndim == 1
                        and table[c].dtype != object):
                    table[c] = pd.Series(v, index=table.index, dtype=object)
        return table
    index = pd.RangeIndex(n)
    arrays: list[Any] = []
    for v in values:
        if type(v) is np.ndarray:  # most columns: numbers and flags as they are
            kind = v.dtype.kind
            if kind in "biufc":
                arrays.append(v)
                continue
            if kind == "O" and not infer_dates:
                arrays.append(v if consolidate or v.flags.owndata else v.copy())
                continue
            if kind == "O" and len(v) <= 64 and _text_only(v):
                # what pandas' date inference leaves as it is (about 8 µs a column even on
                # a few rows; a registry's columns go through pandas)
                arrays.append(v)
                continue
        if isinstance(v, np.ndarray) and v.dtype in _NS_DATES and not consolidate:
            # wrapped as pandas' block would (``_from_sequence``, about 10 µs a column, only
            # checks what a nanosecond array already is): the same array, no copy
            arrays.append(_DATE_ARRAYS[v.dtype.kind]._simple_new(v, dtype=v.dtype))
        elif isinstance(v, np.ndarray) and (v.dtype.kind in "biufc" or v.dtype in _NS_DATES):
            arrays.append(v)
        elif isinstance(v, ExtensionArray):
            arrays.append(v.copy() if consolidate else v)
        elif not infer_dates and isinstance(v, np.ndarray) and v.dtype == object:
            arrays.append(v if consolidate or v.flags.owndata else v.copy())
        else:
            arrays.append(_sanitize_array(v, index, copy=False))
    axes = [_labels(list(columns)) if columns else pd.RangeIndex(0), index]
    mgr = (_consolidated(arrays, axes) if consolidate else _BlockManager(
        tuple(_block(a, _BlockPlacement(i)) for i, a in enumerate(arrays)), axes,
        verify_integrity=False))
    return pd.DataFrame._from_mgr(mgr, axes=mgr.axes)  # type: ignore[attr-defined]


def _text_only(values: np.ndarray) -> bool:
    """Whether pandas' inference of an object column (``maybe_infer_to_datetimelike``) leaves
    it as it is, known without it: only text and None, when pandas does not make text
    columns its string type."""
    if _STRING_DTYPE is None or _STRING_DTYPE():
        return False
    return all(type(x) is str or x is None for x in values.tolist())


def _labels(names: list[Any]) -> pd.Index:
    """``pd.Index(names)``: for text names (every table here) the object index pandas infers,
    without its inference (15 µs a table)."""
    if _STRING_DTYPE is not None and not _STRING_DTYPE() and all(
            type(c) is str for c in names):
        return pd.Index._simple_new(np.array(names, dtype=object))  # type: ignore[attr-defined]
    return pd.Index(names)


def _consolidated(arrays: list[Any], axes: list[pd.Index]) -> Any:
    """The block manager pandas' constructor makes (one 2-D block per numpy type, one block per
    pandas array, in the order of its consolidation), each type's columns stacked once:
    pandas first stacks each run of neighbouring same-typed columns, then stacks those
    blocks again (the patients table has about 100 columns of alternating types)."""
    by_type: dict[Any, list[int]] = {}
    extension: list[int] = []
    for i, a in enumerate(arrays):
        if isinstance(a.dtype, np.dtype):
            by_type.setdefault(a.dtype, []).append(i)
        elif pd.api.types.is_extension_array_dtype(a.dtype) and a.ndim == 1 and not hasattr(
                a, "_ndarray"):  # pandas' one-dimensional arrays (Int64, boolean, category)
            extension.append(i)
        else:  # a two-dimensional pandas array (dates with a time zone): pandas' own way
            return _column_arrays_manager(arrays, axes, consolidate=True,
                                          refs=[None] * len(arrays))
    blocks = []
    # pandas' order: blocks that cannot be consolidated first, then by type name (stable)
    for i in sorted(extension, key=lambda i: str(arrays[i].dtype)):
        blocks.append(_block(arrays[i], _BlockPlacement(i)))
    for dtype, where in sorted(by_type.items(), key=lambda kv: _type_name(kv[0])):
        stacked = np.empty((len(where), len(axes[1])), dtype=dtype)
        for j, i in enumerate(where):
            stacked[j] = arrays[i]
        blocks.append(_block(stacked, _BlockPlacement(np.asarray(where, dtype=np.intp))))
    return _BlockManager(tuple(blocks), axes, verify_integrity=False)


def _block(values: Any, placement: Any) -> Any:
    """pandas' block of a column (1-D) or of stacked columns (2-D), as its constructor makes it
    (``new_block_2d(ensure_block_shape(values, 2), placement)``), made directly for numpy
    numbers, flags and objects, nanosecond dates and pandas' masked arrays (Int64,
    boolean), which pandas' checks and wrapping would leave as they are (about 3 µs a
    column; a course builds about 400 columns)."""
    kind = type(values)
    if kind is np.ndarray:
        two_d = values if values.ndim == 2 else values.reshape(1, -1)
        if values.dtype.kind in "biufcO":
            return _NumpyBlock(two_d, ndim=2, placement=placement)
        if values.dtype in _NS_DATES:  # wrapped as pandas wraps them (see frame_of)
            return _DatesBlock(_DATE_ARRAYS[values.dtype.kind]._simple_new(
                two_d, dtype=values.dtype), ndim=2, placement=placement)
    elif kind in _DATE_TYPES and values.dtype in _NS_DATES and values.freq is None:
        return _DatesBlock(values if values.ndim == 2 else values.reshape(1, -1), ndim=2,
                           placement=placement)
    elif isinstance(values, _MaskedArray):
        return _ArrayBlock(values, ndim=2, placement=placement)
    return _internals.new_block_2d(_internals.ensure_block_shape(values, 2), placement=placement)


# ------------------------------------------------------------ sorted (subject, day) keys
# Rules look up, per subject, the rows dated in a range of days: on keys sorted by subject
# code and day that is a binary search, where a pandas merge and groupby cost about a
# millisecond each even on one patient's rows, and build every pair on a registry.
_KEY = np.int64(1 << 23)  # key range of one subject code (days)
_SHIFT = 1 << 21  # days before 1970 a key can hold (about 5,700 years)


def day_key(code: Any, day: Any) -> np.ndarray:
    """Sortable key of (subject code, day number): ``code * 2**23 + day + 2**21``."""
    return np.asarray(code, np.int64) * _KEY + (np.asarray(day, np.float64) + _SHIFT).astype(
        np.int64)


def subject_codes(subjects: pd.Index, values: Any) -> np.ndarray:
    """Position of each subject identifier in ``subjects`` (-1 = not there). Identifiers are
    compared as text when one table holds numbers and the other text (rules §0.3)."""
    codes = _one_subject_codes(subjects, values)  # one patient (the clinic's call)
    if codes is not None:
        return codes
    vals = pd.Index(values)
    numeric = {subjects.dtype.kind in "iuf", vals.dtype.kind in "iuf"}
    if len(numeric) == 2 and len(vals) and len(subjects):
        return np.asarray(subjects.astype(str).get_indexer(vals.astype(str)), np.int64)
    return np.asarray(subjects.get_indexer(vals), np.int64)


@dataclass
class DayIndex:
    """Rows (of one table) sorted by subject code and day, for range searches.

    ``order``: positions of the input rows in key order (rows of unknown subjects, code -1,
    left out); ``key``: their sorted keys."""

    order: np.ndarray
    key: np.ndarray

    @classmethod
    def of(cls, code: np.ndarray, day: np.ndarray) -> DayIndex:
        known = np.flatnonzero(np.asarray(code) >= 0)
        key = day_key(np.asarray(code)[known], np.asarray(day)[known])
        order = np.argsort(key, kind="stable")
        return cls(known[order], key[order])

    def bounds(self, code: np.ndarray, lo: Any, hi: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per query: [start, stop) in key order of the rows of subject ``code`` dated in
        [lo, hi] (both included; day numbers)."""
        start = np.searchsorted(self.key, day_key(code, lo), side="left")
        stop = np.searchsorted(self.key, day_key(code, hi), side="right")
        return start, np.maximum(stop, start)

    def count(self, code: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
        """Per query: rows of subject ``code`` dated in [lo, hi]."""
        start, stop = self.bounds(code, lo, hi)
        return (stop - start).astype(np.int64)

    def pairs(self, code: np.ndarray, lo: Any, hi: Any) -> tuple[np.ndarray, np.ndarray]:
        """(query, input row) for every row of subject ``code`` dated in [lo, hi]."""
        start, stop = self.bounds(code, lo, hi)
        count = stop - start
        query = np.repeat(np.arange(len(count)), count)
        first = np.cumsum(count) - count
        return query, self.order[start[query] + np.arange(int(count.sum())) - first[query]]


def single_value(values: Any) -> bool:
    """Whether ``values`` is a non-empty numpy array of one value, whole numbers or texts (none
    missing): one patient's identifiers, whose codes need no hash table."""
    if not (isinstance(values, np.ndarray) and values.ndim == 1 and len(values) > 0
            and (values.dtype.kind in "iu" or (values.dtype == object
                                               and type(values[0]) is str))):
        return False
    same = equal_to(values, values[0])
    return same is not None and bool(same[-1]) and bool(same.all())


def equal_to(values: np.ndarray, one: Any) -> np.ndarray | None:
    """``values == one`` per value as flags; None when that comparison has no yes/no answer
    (pandas' NA among Python objects, which refuses to be a flag): the caller then asks
    pandas, which treats NA as missing."""
    try:
        same = values == one
    except TypeError:
        return None
    return same if isinstance(same, np.ndarray) and same.dtype == bool else None


def _one_subject_codes(subjects: pd.Index, values: Any) -> np.ndarray | None:
    """Positions of ``values`` in a one-identifier ``subjects`` compared directly (no index and
    hash table: about 20 µs a lookup, several per rule on one patient), when
    ``values`` is a numpy array of the identifier's own type (whole numbers), or texts that
    all are the identifier (text in an object array); None otherwise (the general rule)."""
    if len(subjects) == 1 and isinstance(values, np.ndarray) and values.ndim == 1:
        one = subjects[0]
        if values.dtype.kind in "iu" and subjects.dtype == values.dtype:
            return np.where(values == one, 0, -1).astype(np.int64)
        if values.dtype == object and subjects.dtype == object and type(one) is str:
            same = equal_to(values, one)
            if same is not None and same.all():  # (others: text or not, the general rule
                return np.zeros(len(values), np.int64)  # decides)
    return None


def comparable_ids(subjects: Any, values: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Both sets of identifiers as numpy arrays that ``==`` compares as pandas' look-ups do:
    integers, or Python objects (``==`` per value, integers made objects to meet text, so
    1 and "1" differ as in ``get_indexer``); None for anything else (floats, pandas arrays:
    then pandas' look-up)."""
    pair = []
    for ids in (subjects, values):
        if isinstance(ids, pd.Index | pd.Series):
            if not isinstance(ids.dtype, np.dtype):
                return None
            ids = ids.to_numpy()
        if not isinstance(ids, np.ndarray) or ids.ndim != 1 or ids.dtype.kind not in "iuO":
            return None
        pair.append(ids)
    if (pair[0].dtype.kind == "O") != (pair[1].dtype.kind == "O"):
        pair = [ids.astype(object) for ids in pair]
    return pair[0], pair[1]


def index_positions(subjects: Any, values: Any) -> np.ndarray:
    """Position of each identifier of ``values`` in ``subjects`` (unique identifiers, an Index
    or an array; -1 = not there): ``pd.Index(subjects).get_indexer(pd.Index(values))``, the
    identifiers compared as they are. One identifier (one patient, the clinic's call) is
    compared, not hashed: building and searching an index costs about 25 µs, several times per
    rule on one patient's few rows."""
    if not len(values):
        return np.zeros(0, np.int64)
    if len(subjects) == 1:
        pair = comparable_ids(subjects, values)
        same = None if pair is None else equal_to(pair[1], pair[0][0])
        if same is not None:
            return np.where(same, 0, -1).astype(np.int64)
    if not isinstance(subjects, pd.Index):
        subjects = pd.Index(subjects)
    return np.asarray(subjects.get_indexer(pd.Index(values)), np.int64)


def factorized(values: Any, sort: bool = False, use_na_sentinel: bool = True
               ) -> tuple[np.ndarray, Any]:
    """``pd.factorize(values, sort=sort, use_na_sentinel=use_na_sentinel)`` with int64 codes;
    one patient's identifiers (:func:`single_value`) without pandas' hash table (10-15 µs a
    call, more than the rest of a step on 20 visits)."""
    if single_value(values):
        return np.zeros(len(values), np.int64), values[:1].copy()
    codes, uniques = pd.factorize(values, sort=sort, use_na_sentinel=use_na_sentinel)
    return np.asarray(codes, np.int64), uniques


def cummax_by_code(code: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``pd.Series(values).groupby(code).cummax().to_numpy()`` for rows sorted by ``code``,
    by numpy (pandas' groupby costs about 0.3 ms even on one patient's rows): one subject is
    one running maximum; several are offset by 2**32 per code, so one running maximum stays
    within each code (exact for whole day numbers below 2**31). Anything else (NaN, other
    values) goes through pandas."""
    code = np.asarray(code)
    values = np.asarray(values)
    if values.dtype.kind == "f" and len(code):
        if code[0] == code[-1]:  # one subject (a clinic screen)
            if not np.isnan(values).any():
                return np.maximum.accumulate(values)
        elif (np.isfinite(values).all() and np.abs(values).max() < 2.0 ** 31
              and code.min() >= 0 and code.max() < 2 ** 20
              and (values == np.round(values)).all()):
            offset = code.astype(np.float64) * 2.0 ** 32
            return np.asarray(np.maximum.accumulate(values + offset) - offset)
    return np.asarray(pd.Series(values).groupby(code).cummax().to_numpy())


def column_floats(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``frame[name].to_numpy(np.float64)`` without building the Series (see :func:`column`)."""
    values = column(frame, name)
    if isinstance(values, np.ndarray):
        return np.asarray(values, dtype=np.float64)
    return np.asarray(values.to_numpy(np.float64))
