"""The definition multiverse: one cohort, many definitions of worsening, in one call.

Registries report the share of worsening that is PIRA under one definition, yet published
definitions differ in the confirmation period, the reference, the RAW window, the PIRA windows
and relapse hygiene, and the share moves with them (msclinical's multiverse finds PIRA shares
from 0.44 to 0.86 across 32 definitions; Bsteh et al. 2025). :func:`multiverse` runs a grid of
definitions over one cohort and reports, per definition, the counts and shares of CDW, RAW,
PIRA, undefined and unknown; :meth:`MultiverseResult.influence` says which choice moves a
share most and :meth:`MultiverseResult.plot` draws the shares across definitions.

Every definition goes through the stages of :func:`neda.course.confirmed_events` (so the
counts are the ones a separate run gives; ``tests/test_cohort_multiverse.py`` checks every
cell), but the work they share is done once: the tables are read and validated once, relapse
hygiene runs once per relapse-option set, the visits are sorted into arrays once per visit
selection (outcome, pseudo-relapse visits, practice effect), the distances from each visit to
the nearest relapses once per relapse set the engine sees, and the compiled scan runs once per
definition over all subjects. Counts are taken from the scan's arrays: the event table,
its reasons and the per-subject summary, most of a full run's time, are not built.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..course import scan as K
from ..course.engine import (
    _preparation_key,
    _prepare,
    _Prepared,
    _read_course_inputs,
    _reading,
    _scan,
    combined_digest,
)
from ..course.options import PRESETS, CourseOptions
from ..io import ReadOptions, ensure_table
from ..rules.relapses import RelapseHygiene, RelapseOptions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: 32 definitions: four published definitions x confirmation at 12 or 24 weeks x a reference
#: roving after any event or only after worsening x a RAW window of 30 or 90 days before onset.
DEFAULT_GRID: dict[str, list[Any]] = {
    "preset": ["mueller2023", "mueller2023_strict", "cagol2022", "portaccio2025"],
    "conf_days": [84, 168],
    "baseline": ["roving", "roving_wors"],
    "relapse_assoc": [[30, 0], [90, 0]],
}

#: Grid keys of relapse hygiene: ``relapse.`` and a field of
#: :class:`~neda.rules.relapses.RelapseOptions`, e.g. ``relapse.merge_days``.
RELAPSE_PREFIX = "relapse."

#: Columns of :attr:`MultiverseResult.table` after the definition's own columns.
COUNT_COLUMNS = {
    "subjects": "Subjects analysed (at least one visit with a value kept).",
    "CDW": "Confirmed disability worsening events.",
    "RAW": "CDW events classified relapse-associated worsening.",
    "PIRA": "CDW events classified progression independent of relapse activity.",
    "undefined": "CDW events whose every confirmation is blocked by a relapse, none in the RAW "
                 "window.",
    "unknown": "CDW events whose class cannot be decided (imprecise relapse dates, relapse "
               "follow-up not covering the windows, relapses not given).",
    "not_classified": "CDW events not classified (option attribution=False).",
    "CDI": "Confirmed disability improvement events.",
    "subjects_with_CDW": "Subjects with at least one CDW.",
    "subjects_with_RAW": "Subjects with at least one RAW.",
    "subjects_with_PIRA": "Subjects with at least one PIRA.",
    "RAW_share": "RAW / CDW (NaN without CDW).",
    "PIRA_share": "PIRA / CDW (NaN without CDW).",
    "undefined_share": "undefined / CDW (NaN without CDW).",
    "unknown_share": "unknown / CDW (NaN without CDW).",
}

#: Kinds of event :meth:`MultiverseResult.per_subject` counts per subject.
PER_SUBJECT = ("CDW", "RAW", "PIRA", "undefined", "unknown", "CDI")

_CLASS_CODES = {"RAW": K.RAW, "PIRA": K.PIRA, "undefined": K.CDW_UNDEFINED,
                "unknown": K.CDW_UNKNOWN, "not_classified": K.CDW_NOT_CLASSIFIED}


@dataclass
class Definition:
    """One cell of the grid: the engine's options, relapse hygiene's, and the grid values that
    made it (``varied``)."""

    options: CourseOptions
    relapse_options: RelapseOptions
    varied: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return _label(self.varied) or self.options.preset


def grid_keys() -> list[str]:
    """Every key a grid may vary: ``preset``, the options of
    :class:`~neda.course.CourseOptions`, and ``relapse.<option>`` of relapse hygiene."""
    course = [f.name for f in dataclasses.fields(CourseOptions)
              if f.name not in ("preset", "base_preset", "delta_fun")]
    relapse = [RELAPSE_PREFIX + f.name for f in dataclasses.fields(RelapseOptions)
               if f.name != "name"]
    return ["preset", *course, *relapse]


def _check_key(key: Any) -> None:
    allowed = grid_keys()
    if key in allowed:
        return
    near = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ValueError(f"grid key {key!r} is not an option{hint}; vary preset, an option of "
                     "CourseOptions (docs/rules.md §10) or relapse.<option> of relapse hygiene")


def grid_definitions(grid: Mapping[str, Sequence[Any]] | Iterable[Any] | None = None, *,
                     base: str = "mueller2023",
                     relapse_options: RelapseOptions | None = None) -> list[Definition]:
    """The definitions of a grid, every option checked before anything is computed.

    ``grid``: a mapping of option -> list of values (every combination is one definition;
    keys in :func:`grid_keys`), or a list whose items are :class:`~neda.course.CourseOptions`
    or mappings of option -> value (one definition each) [:data:`DEFAULT_GRID`]. Options
    not varied are those of the preset ``base`` (or of the cell's ``preset``) and of
    ``relapse_options``. A bad key, value or combination raises one ValueError naming the
    definition.
    """
    base_relapse = relapse_options or RelapseOptions()
    if base not in PRESETS:
        raise ValueError(f"base preset {base!r} is unknown; choose one of {', '.join(PRESETS)}")
    cells: list[Any]
    if grid is None:
        grid = DEFAULT_GRID
    if isinstance(grid, Mapping):
        keys = list(grid)
        if not keys:
            raise ValueError("the grid is empty: give at least one option and its values")
        for key in keys:
            _check_key(key)
            values = grid[key]
            if isinstance(values, str | bytes) or not isinstance(values, Sequence) \
                    or not len(values):
                raise ValueError(f"grid key {key!r}: give a non-empty list of values, got "
                                 f"{values!r}")
        cells = [dict(zip(keys, combo, strict=True))
                 for combo in itertools.product(*(grid[k] for k in keys))]
    else:
        cells = list(grid)
        if not cells:
            raise ValueError("the grid is empty: give at least one definition")
    out = []
    for i, cell in enumerate(cells, 1):
        try:
            out.append(_definition(cell, base, base_relapse))
        except (ValueError, TypeError) as exc:
            what = _label(cell) if isinstance(cell, Mapping) else type(cell).__name__
            raise ValueError(f"grid definition {i} ({what}): {exc}") from None
    return out


def _definition(cell: Any, base: str, base_relapse: RelapseOptions) -> Definition:
    if isinstance(cell, CourseOptions):
        varied = {"preset": cell.base_preset, **cell.changed_options()}
        return Definition(cell.validated(), base_relapse, varied)
    if not isinstance(cell, Mapping):
        raise TypeError(f"a definition is CourseOptions or a mapping of option -> value, "
                        f"got {cell!r}")
    for key in cell:
        _check_key(key)
    course = {k: v for k, v in cell.items()
              if k != "preset" and not k.startswith(RELAPSE_PREFIX)}
    relapse = {k[len(RELAPSE_PREFIX):]: v for k, v in cell.items()
               if k.startswith(RELAPSE_PREFIX)}
    options = CourseOptions.from_preset(cell.get("preset", base), **course)
    ropts = dataclasses.replace(base_relapse, **relapse) if relapse else base_relapse
    return Definition(options, ropts, dict(cell))


def _text(value: Any) -> Any:
    """A grid value as a table cell: scalars as they are, the rest as compact JSON."""
    if value is None or isinstance(value, str | bool | int | float | np.number):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, default=str, separators=(",", ":"))


def _label(cell: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_text(v)}" for k, v in cell.items())


@dataclass
class MultiverseResult:
    """Output of :func:`multiverse`.

    ``table``: one row per definition: ``definition`` (1, 2, ...), ``label`` (the grid values),
    ``rule_set`` (preset name, ``custom`` when edited), ``options_digest`` (the
    ``options_digest`` its events would carry), one column per varied option, then
    :data:`COUNT_COLUMNS`. ``definitions``: the options of each row. ``shared``: how many
    times each stage ran (reads of the tables with relapse hygiene, preparations of the sorted
    arrays, distances from visits to relapses, scans).
    """

    table: pd.DataFrame
    definitions: list[Definition]
    varied: list[str]
    relapse_data: str
    shared: dict[str, int]
    # per definition: the subjects analysed (one Index per prepared arrays) and the event
    # counts per subject by kind; tables are built on request (per_subject)
    subject_counts: list[tuple[pd.Index, dict[str, np.ndarray]]] = field(
        repr=False, default_factory=list)

    def describe(self, definition: int) -> str:
        """The methods paragraph of one definition (``definition``: its number, from 1)."""
        d = self.definitions[definition - 1]
        return d.options.describe(relapses=d.relapse_options, relapse_data=self.relapse_data)

    def per_subject(self, count: str = "PIRA") -> pd.DataFrame:
        """Events of one kind (``CDW``, ``RAW``, ``PIRA``, ``undefined``, ``unknown``, ``CDI``)
        per subject (rows) and definition (columns, by number); NaN: the subject was not
        analysed under that definition (no visit kept)."""
        if count not in PER_SUBJECT:
            raise ValueError(f"count {count!r}: one of {', '.join(PER_SUBJECT)}")
        numbers = self.table["definition"].to_list()
        indexes = {id(index) for index, _ in self.subject_counts}
        if len(indexes) == 1:  # every definition analysed the same subjects
            index = self.subject_counts[0][0]
            values = np.column_stack([c[count] for _, c in self.subject_counts])
            return pd.DataFrame(values, index=index, columns=numbers)
        return pd.concat([pd.Series(c[count], index=index, name=n)
                          for n, (index, c) in zip(numbers, self.subject_counts, strict=True)],
                         axis=1)

    def influence(self, metric: str = "PIRA_share") -> pd.DataFrame:
        """Which choice moves ``metric`` most: for each varied option, the absolute change of
        ``metric`` between definitions that differ in that option only (mean, max, and how
        many such pairs), largest mean first."""
        if metric not in self.table.columns:
            raise ValueError(f"metric {metric!r} is not a column of the table")
        keys = [k for k in self.varied if k in self.table.columns]
        cells = self.table[keys].map(lambda v: json.dumps(_text(v), default=str))
        y = self.table[metric].to_numpy(np.float64)
        rows = []
        for key in keys:
            others = [k for k in keys if k != key]
            groups = (cells.groupby(others, sort=False).indices if others
                      else {(): np.arange(len(cells))})
            diffs: list[float] = []
            for idx in groups.values():
                col = cells[key].to_numpy()[idx]
                for a, b in itertools.combinations(range(len(idx)), 2):
                    if col[a] != col[b] and not (math.isnan(y[idx[a]]) or math.isnan(y[idx[b]])):
                        diffs.append(abs(y[idx[a]] - y[idx[b]]))
            rows.append({"choice": key, "mean_abs_change": float(np.mean(diffs)) if diffs
                         else math.nan, "max_abs_change": float(np.max(diffs)) if diffs
                         else math.nan, "pairs": len(diffs)})
        out = pd.DataFrame(rows, columns=["choice", "mean_abs_change", "max_abs_change",
                                          "pairs"])
        return out.sort_values("mean_abs_change", ascending=False, na_position="last",
                               ignore_index=True)

    def plot(self, path: str | Path | None = None, *, sort_by: str = "PIRA_share"
             ) -> Figure:
        """The shares of CDW across definitions (stacked bars, sorted by ``sort_by``) over a
        grid of dots showing each definition's choices (a specification curve). Saved to
        ``path`` when given (.png, .svg or .pdf)."""
        from matplotlib.figure import Figure

        if path is not None and Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
            raise ValueError(f"{path}: the figure is written as .png, .svg or .pdf")
        t = self.table
        order = np.argsort(t[sort_by].fillna(-1).to_numpy(), kind="stable")
        n = len(t)
        rows = [(k, v) for k in self.varied if k in t.columns
                for v in pd.unique(t[k].map(lambda x: _text(x)))]
        fig = Figure(figsize=(max(6.0, 0.28 * n + 3), 4.5 + 0.25 * len(rows)),
                     layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, max(1, len(rows)) * 0.35]
                                   ) if rows else (fig.subplots(1, 1), None)
        x = np.arange(n)
        bottom_of = np.zeros(n)
        colours = {"PIRA": "#1b9e77", "RAW": "#d95f02", "undefined": "#7570b3",
                   "unknown": "#bbbbbb", "not_classified": "#666666"}
        cdw = t["CDW"].to_numpy(np.float64)[order]
        for cls, colour in colours.items():
            counts = t[cls].to_numpy(np.float64)[order]
            if cls == "not_classified" and not counts.any():
                continue
            share = np.divide(counts, cdw, out=np.zeros(n), where=cdw > 0)
            top.bar(x, share, bottom=bottom_of, color=colour, label=cls, width=0.8)
            bottom_of += share
        pira = t["PIRA_share"].dropna()
        span = (f"PIRA share {pira.min():.2f} to {pira.max():.2f}" if len(pira)
                else "no confirmed worsening")
        top.set_ylim(0, 1)
        top.set_ylabel("share of CDW events")
        top.set_title(f"{n} definitions: {span} (numbers: CDW events)", pad=20)
        top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        for xi, c in zip(x, cdw, strict=True):
            top.text(xi, 1.01, f"{int(c)}", ha="center", va="bottom", fontsize=6, rotation=90)
        if bottom is None:
            top.set_xticks(x, [str(v) for v in t["label"].to_numpy()[order]], rotation=90,
                           fontsize=7)
        else:
            for r, (key, value) in enumerate(rows):
                has = (t[key].map(lambda v: _text(v)).to_numpy()[order] == value)
                bottom.scatter(x[has], np.full(int(has.sum()), r), s=14, color="black")
            bottom.set_yticks(range(len(rows)), [f"{k} = {v}" for k, v in rows], fontsize=7)
            bottom.set_ylim(len(rows) - 0.5, -0.5)
            bottom.set_xticks(x, [str(i) for i in t["definition"].to_numpy()[order]],
                              fontsize=6)
            bottom.set_xlabel(f"definition (sorted by {sort_by})")
        if path is not None:
            fig.savefig(path)
        return fig


def multiverse(
    visits: Any,
    relapses: Any = None,
    grid: Mapping[str, Sequence[Any]] | Iterable[Any] | None = None,
    *,
    base: str = "mueller2023",
    relapse_options: RelapseOptions | None = None,
    subject: str | None = None,
    date: str | None = None,
    value: str | None = None,
    validconf: str | None = None,
    ascertainment: Any = None,
    subjects: Any = None,
    read_options: ReadOptions | None = None,
    progress: bool = False,
) -> MultiverseResult:
    """Counts and shares of CDW, RAW, PIRA, undefined and unknown under every definition of a
    grid, over one cohort.

    Parameters
    ----------
    visits, relapses, subject, date, value, validconf, ascertainment, subjects, read_options :
        as for :func:`neda.course.confirmed_events` (``relapses=None``: relapses were not
        recorded, so every CDW is unknown; an empty table: none occurred).
    grid : what to vary (see :func:`grid_definitions`) [:data:`DEFAULT_GRID`: 32 definitions].
    base : preset of the options a grid does not vary ['mueller2023'].
    relapse_options : relapse hygiene's options a grid does not vary [rules §3.1 defaults].
    progress : show a progress bar over the definitions (rich) [False].

    Every definition is checked before the tables are read; each row's counts equal those of
    ``confirmed_events(visits, relapses, definition.options, relapse_options=...)``.
    """
    defs = grid_definitions(grid, base=base, relapse_options=relapse_options)
    given_hygiene = isinstance(relapses, RelapseHygiene)
    if given_hygiene and any(d.relapse_options != relapses.options for d in defs):
        raise ValueError("relapse hygiene was given already cleaned (RelapseHygiene) but the "
                         "grid changes its options: pass the relapses table instead")
    ro = _reading(read_options, subject, date)
    if relapses is not None and not given_hygiene:
        relapses = ensure_table(relapses, "relapses", ro)  # read once, cleaned per option set
    if ascertainment is not None:
        ascertainment = ensure_table(ascertainment, "followup", ro)
    readings: dict[Any, tuple[str, pd.DataFrame, RelapseHygiene | None]] = {}
    visit_tables: dict[str, pd.DataFrame] = {}
    prepared: dict[Any, _Prepared] = {}
    rows = []
    subject_index: dict[Any, pd.Index] = {}
    subject_counts = []
    for number, d in enumerate(_progress(defs, progress), 1):
        opts = d.options
        column = value or opts.outcome
        hygiene_key = None if relapses is None or given_hygiene else d.relapse_options
        read_key = (column, hygiene_key)
        if read_key not in readings:
            readings[read_key] = _read_course_inputs(
                visit_tables.get(column, visits), relapses, opts, value,
                None if given_hygiene or relapses is None else d.relapse_options, validconf, ro)
            visit_tables[column] = readings[read_key][1]
        column, vis_table, hygiene = readings[read_key]
        prep_key = (read_key, _preparation_key(opts))
        if prep_key not in prepared:
            prepared[prep_key] = _prepare(vis_table, hygiene, opts, column, validconf, subjects)
        prep = prepared[prep_key]
        res = _scan(prep, hygiene, opts, ascertainment, ro)[0]
        counts, by_subject = _counts(res, len(prep.subjects))
        if prep_key not in subject_index:
            subject_index[prep_key] = pd.Index(prep.subjects, name="subject")
        subject_counts.append((subject_index[prep_key], by_subject))
        rows.append({
            "definition": number,
            "label": d.label,
            "rule_set": opts.preset,
            "options_digest": combined_digest(
                opts, hygiene.provenance if hygiene is not None else None),
            **{k: _text(v) for k, v in d.varied.items()},
            **counts,
        })
    varied = list(dict.fromkeys(k for d in defs for k in d.varied))
    table = pd.DataFrame(rows)
    table = table[["definition", "label", "rule_set", "options_digest", *varied,
                   *COUNT_COLUMNS]]
    relapse_data = "not given" if relapses is None else "given"
    table.attrs["provenance"] = {
        "analysis": "neda.cohort.multiverse", "base": base, "relapse_data": relapse_data,
        "definitions": {int(r["definition"]): d.options.as_dict()
                        for r, d in zip(rows, defs, strict=True)},
        "engine": "neda.course (msprog method)"}
    shared = {"definitions": len(defs), "readings": len(readings),
              "preparations": len(prepared),
              "relapse_distances": sum(len(p.distances) for p in prepared.values()),
              "scans": len(defs)}
    return MultiverseResult(table, defs, varied, relapse_data, shared, subject_counts)


def _counts(res: Any, n: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Counts of one scan over ``n`` subjects, from its event arrays (no event table is
    built), and the counts per subject of each kind in :data:`PER_SUBJECT`."""
    rows, esubj = res.event_rows()
    etype = res.ev_type[rows]
    is_cdw = etype != K.CDI
    masks = {"CDW": is_cdw, **{k: etype == c for k, c in _CLASS_CODES.items()},
             "CDI": etype == K.CDI}
    out: dict[str, Any] = {"subjects": n}
    by_subject: dict[str, np.ndarray] = {}
    for k, mask in masks.items():
        out[k] = int(mask.sum())
        if k in PER_SUBJECT:
            by_subject[k] = np.bincount(esubj[mask], minlength=n).astype(np.int32)
    for k in ("CDW", "RAW", "PIRA"):
        out[f"subjects_with_{k}"] = int(np.count_nonzero(by_subject[k]))
    cdw = out["CDW"]
    for k in ("RAW", "PIRA", "undefined", "unknown"):
        out[f"{k}_share"] = out[k] / cdw if cdw else math.nan
    return out, by_subject


def _progress(defs: list[Definition], show: bool) -> Iterable[Definition]:
    if not show:
        return defs
    from rich.progress import track

    return track(defs, description=f"{len(defs)} definitions", transient=True)




# ------------------------------------------------------------------ grids from files and text
def read_grid(path: str | Path) -> tuple[Any, str | None]:
    """A grid from a TOML or JSON file, and its ``base`` preset (None if not given).

    The file holds ``grid`` (a table of option -> list of values), or ``definitions`` (a list
    of tables of option -> value, one definition each), or the grid's keys at the top level;
    ``base`` names the preset of the options not varied. JSON writes an open window end as
    ``null`` (TOML has no null)."""
    import tomllib

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".toml":
            doc: Any = tomllib.loads(text)
        elif p.suffix.lower() == ".json":
            doc = json.loads(text)
        else:
            raise ValueError("write the grid as .toml or .json")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: not valid {p.suffix[1:].upper()}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None
    if isinstance(doc, list):
        return doc, None
    if not isinstance(doc, dict):
        raise ValueError(f"{p}: expected a table of options or a list of definitions")
    doc = dict(doc)
    base = doc.pop("base", None)
    if base is not None and not isinstance(base, str):
        raise ValueError(f"{p}: base must be a preset name, got {base!r}")
    if "grid" in doc and "definitions" in doc:
        raise ValueError(f"{p}: give grid or definitions, not both")
    grid = doc.pop("grid", None) or doc.pop("definitions", None) or doc
    if doc and grid is not doc:
        raise ValueError(f"{p}: unexpected keys {', '.join(map(repr, doc))} next to the grid "
                         "(put options inside grid)")
    return grid, base


def vary_values(item: str) -> tuple[str, list[Any]]:
    """``key=v1,v2`` as (key, values): JSON values (``84,168``; ``[30,0],[90,0]``; ``true``)
    or plain words (``roving,fixed``)."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key or not text.strip():
        raise ValueError(f"--vary {item!r}: expected OPTION=VALUE1,VALUE2,... e.g. "
                         "conf_days=84,168")
    try:
        values = json.loads(f"[{text}]")
    except json.JSONDecodeError:
        values = [_word(v.strip()) for v in text.split(",")]
    return key, values


def _word(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


__all__ = ["COUNT_COLUMNS", "DEFAULT_GRID", "Definition", "MultiverseResult", "grid_definitions",
           "grid_keys", "multiverse", "read_grid", "vary_values"]
