"""The same course on a Dask cluster: registries larger than one machine's memory.

:func:`course_summary_dask` and :func:`confirmed_events_dask` take the tables of
:func:`neda.course_summary` as Parquet files or folders of them (a Parquet dataset), Dask or
pandas DataFrames, and run the in-memory functions per partition of patients:

1. **split**: each input file (or DataFrame partition) is cut by a hash of the subject
   identifier (as text, the way :func:`neda.io.check_subjects` compares identifiers) into
   ``partitions`` buckets, the same buckets in every table, so each bucket is a complete
   sub-cohort: every row of a patient, from whichever file it came, lands in one bucket.
   Every row keeps its global row reference (its index label; for a Parquet dataset its
   position in the dataset, files in name order), so that problems and the readers' reports
   name the rows of the original tables (a bad cell of a dataset by its file and its row
   within that file).
2. **read**: each bucket's tables go through the validated readers of :mod:`neda.io` (the one
   way in); problems of every bucket are gathered and raised together (nothing is computed
   when one cell is wrong). Subject identifiers are compared across tables over the whole
   cohort (:func:`neda.io.check_subjects`), and the data cut-off of the monitoring statuses
   (the latest date in the data, rules §14) is the cohort's, not the bucket's.
3. **course**: :func:`neda.summary.summarise` (or :func:`neda.course.confirmed_events`) per
   bucket, then the tables are gathered and ordered by subject. Cohort figures are reduce
   steps: the pooled ARR sums relapses and person-time over the buckets (rules §4.6), and
   the NEDA proportions sum the buckets' counts of NEDA, activity and unknown windows before
   the proportion and its interval are computed once - never averages of bucket figures.

The results equal the in-memory run's (``tests/test_cohort_dask.py``). With ``output=`` the
buckets' tables are written by the workers as a partitioned Parquet dataset instead of being
gathered.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..course import CourseOptions, CourseResult, confirmed_events
from ..io import (
    READERS,
    SCHEMAS,
    InputError,
    InputProblem,
    InputReport,
    ReadOptions,
    Tables,
    check_subjects,
    ensure_table,
    fold,
    read_relapses,
)
from ..io.errors import ChangedRows
from ..rules.arr import POOLED_COLUMNS
from ..rules.common import day_numbers
from ..rules.monitoring import as_of_day
from ..rules.relapses import relapse_hygiene
from ..summary import CourseSummary, SummaryOptions, summarise
from .proportions import (
    PROPORTION_COLUMNS,
    Measure,
    neda_counts,
    proportions_from_counts,
    reduce_neda_counts,
)

#: Tables of :func:`neda.course_summary`, in the readers' order.
TABLES = tuple(READERS)

#: The tables of :class:`~neda.summary.CourseSummary` gathered (or written) per bucket.
SUMMARY_TABLES = ("patients", "events", "relapses", "epochs", "scores", "_visits", "neda",
                  "dropped", "removed_relapses", "assessments", "scans", "trends")


# ------------------------------------------------------------------------------ the client
def _client(client: Any) -> tuple[Any, Callable[[], None]]:
    """A ``distributed.Client``: the one given, one connected to an address, or one of a new
    ``LocalCluster`` (closed by the returned function)."""
    from distributed import Client, LocalCluster

    if isinstance(client, Client):
        return client, lambda: None
    if client is not None:
        try:
            c = Client(str(client), timeout=_connect_timeout())
        except Exception as exc:  # noqa: BLE001 - refused, timed out, or not a Dask scheduler
            raise ConnectionError(f"no Dask scheduler answers at {client} ({exc}); start one "
                                  "(dask scheduler) or leave the address out for a local "
                                  "cluster") from None
        return c, c.close
    cluster = LocalCluster(threads_per_worker=1, dashboard_address=":0")
    c = Client(cluster)

    def close() -> None:
        c.close()
        cluster.close()

    return c, close


#: Seconds to wait for the scheduler at a given address: a scheduler answers a connection in
#: well under a second, and a wrong address should be said at once, not after Dask's 30 s.
CONNECT_TIMEOUT = 5.0


def _connect_timeout() -> float:
    """:data:`CONNECT_TIMEOUT`, or Dask's connect timeout (``distributed.comm.timeouts.connect``)
    when that is shorter."""
    import dask
    from dask.utils import parse_timedelta

    configured = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
    return min(CONNECT_TIMEOUT, float(configured or CONNECT_TIMEOUT))


# ---------------------------------------------------------------------------- the split step
@dataclass(frozen=True)
class _Source:
    """One input table as chunks to split: ``chunks`` are delayed pandas frames whose index is
    the global row reference; ``label`` names the table in messages."""

    label: str | None
    chunks: list[Any]
    files: tuple[tuple[str, int], ...] = ()
    """A Parquet dataset's files (as named in messages) and the dataset row of each one's
    first row, in order."""


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".parquet", ".pq")
                       and p.is_file())
        if not files:
            raise InputError([InputProblem(path.name, None, None, None,
                                           f"{path} holds no .parquet file")], headline=False)
        return files
    if path.suffix.lower() in (".parquet", ".pq"):
        if not path.exists():
            raise InputError([InputProblem(path.name, None, None, None,
                                           f"no such file: {path}")], headline=False)
        return [path]
    raise InputError([InputProblem(path.name, None, None, None,
                                   "is not Parquet: the Dask run reads Parquet files or folders "
                                   "of them; convert it, or run without Dask")], headline=False)


def _read_parquet_chunk(path: str, offset: int) -> pd.DataFrame:
    """One file of a dataset, its rows numbered by their position in the dataset."""
    frame = pd.read_parquet(path)
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


def _source(name: str, source: Any) -> _Source:
    import dask
    import dask.dataframe as dd

    if isinstance(source, str | os.PathLike):
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        path = Path(source)
        files = _parquet_files(path)
        chunks, offset, starts = [], 0, []
        for f in files:
            chunks.append(dask.delayed(_read_parquet_chunk)(str(f), offset))
            starts.append((f.name if f == path else f"{path.name}/{f.relative_to(path)}",
                           offset))
            offset += pq.ParquetFile(f).metadata.num_rows
        return _Source(path.name, chunks, tuple(starts))
    if isinstance(source, dd.DataFrame):
        # the index labels are the row references, as in the in-memory run on .compute()
        return _Source(None, list(source.to_delayed()))
    if hasattr(source, "to_pandas") and not isinstance(source, pd.DataFrame):  # polars
        source = source.to_pandas()
    if isinstance(source, pd.DataFrame):
        return _Source(None, [dask.delayed(source)])
    raise TypeError(f"{name}: cannot run a {type(source).__name__} on Dask; give a Parquet "
                    "file or folder, or a pandas or Dask DataFrame")


def _subject_header(columns: Sequence[Any], table: str, options: ReadOptions) -> Any:
    """The source's subject column, found as the reader finds it (None: not there; the reader
    of the bucket then says so)."""
    given = options.columns.get("subject")
    names = [str(c) for c in columns]
    if given is not None:
        if given in names:
            return columns[names.index(given)]
        wanted: tuple[str, ...] = (given,)
    else:
        if "subject" in names:
            return columns[names.index("subject")]
        wanted = ("subject", *SCHEMAS[table].column("subject").aliases)
    for candidate in wanted:
        hits = [c for c, n in zip(columns, names, strict=True) if fold(n) == fold(candidate)]
        if len(hits) == 1:
            return hits[0]
    return None


def _in_files(error: InputError, sources: Mapping[str, _Source]) -> InputError:
    """Problems of a Parquet dataset named by file and row within that file (the buckets
    number a dataset's rows from its first file's first row)."""
    files = {}
    for src in sources.values():
        if src.files and src.label is not None:
            # two datasets of one name: their rows cannot be told apart, left as they are
            files[src.label] = None if src.label in files else src.files
    problems = []
    for p in error.problems:
        starts = files.get(p.file)
        if starts and isinstance(p.row, int | np.integer) and p.row_kind == "row index":
            i = int(np.searchsorted([s for _, s in starts], p.row, side="right")) - 1
            if i >= 0:
                name, first = starts[i]
                p = dataclasses.replace(p, file=name, row=int(p.row) - first)
        problems.append(p)
    return InputError(problems, error.omitted, headline=error.headline)


def subject_buckets(values: pd.Series, partitions: int) -> np.ndarray:
    """The bucket of each subject identifier: a hash of the identifier as text (``12``,
    ``12.0`` and ``" 12 "`` are one patient, as the readers read them; ``012`` is another)."""
    if values.dtype.kind in "iu":
        text = values.astype(str)
    elif values.dtype.kind == "f":
        whole = values.notna() & (values == values.round()) & (values.abs() < 2**53)
        text = values.astype(object).map(repr)
        text[whole] = values[whole].astype(np.int64).astype(str)
    else:
        text = values.astype(object).map(lambda v: "" if v is None or v is pd.NA or (
            isinstance(v, float) and np.isnan(v)) else str(v).strip())
    hashed = pd.util.hash_pandas_object(text.reset_index(drop=True), index=False).to_numpy()
    return (hashed % np.uint64(partitions)).astype(np.int64)


def _split(frame: pd.DataFrame, table: str, options: ReadOptions, partitions: int
           ) -> list[pd.DataFrame]:
    """A chunk's rows by bucket (rows stay in their order)."""
    header = _subject_header(list(frame.columns), table, options)
    if header is None or not len(frame):
        return [frame] + [frame.iloc[:0]] * (partitions - 1)
    bucket = subject_buckets(frame[header], partitions)
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange(partitions + 1))
    return [frame.take(order[bounds[b]:bounds[b + 1]]) for b in range(partitions)]


# ----------------------------------------------------------------------------- the read step
@dataclass
class _Part:
    """One bucket, read: its validated tables, or the problems found."""

    tables: Tables | None
    bucket: int
    error: InputError | None = None


def _options_for(read_options: Any, name: str) -> ReadOptions:
    if isinstance(read_options, Mapping):
        return read_options.get(name, read_options.get("*", ReadOptions()))  # type: ignore[no-any-return]
    return read_options or ReadOptions()


def _read_part(bucket: int, pieces: dict[str, list[pd.DataFrame]],
               labels: dict[str, str | None], read_options: Any,
               kwargs: dict[str, dict[str, Any]]) -> _Part:
    """Read one bucket's tables with the validated readers (as :func:`neda.io.read_tables`
    does, without comparing subjects: that is done over the whole cohort)."""
    frames: dict[str, pd.DataFrame | None] = {}
    errors: list[InputError] = []
    for name in TABLES:
        if name not in pieces:
            continue
        chunks = pieces[name]
        frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks)
        opts = _options_for(read_options, name)
        try:
            if kwargs.get(name):
                frames[name] = ensure_table(frame, name, opts, file_label=labels[name],
                                            **kwargs[name])
            elif name == "relapses":
                frames[name] = read_relapses(frame, options=opts, file_label=labels[name])
            else:
                frames[name] = READERS[name](frame, options=opts, file_label=labels[name])
        except InputError as exc:
            errors.append(exc)
    if errors:
        return _Part(None, bucket, InputError.combine(errors))
    return _Part(Tables(**frames), bucket)


def _empty_visits(part: _Part) -> bool:
    return part.tables is not None and (part.tables.visits is None
                                        or not len(part.tables.visits))


@dataclass
class _Facts:
    """What the cohort-wide steps need to know of a bucket (small)."""

    error: InputError | None
    subjects: dict[str, tuple[np.ndarray, np.ndarray]]  # table: (identifiers, row counts)
    reports: dict[str, InputReport]
    latest_day: float | None


def _facts(part: _Part, relapse_options: Any, latest: bool) -> _Facts:
    if part.tables is None:
        return _Facts(part.error, {}, {}, None)
    subjects, reports = {}, {}
    for name in TABLES:
        frame = getattr(part.tables, name)
        if frame is None:
            continue
        ids, counts = np.unique(frame["subject"].to_numpy(), return_counts=True)
        subjects[name] = (ids, counts)
        reports[name] = frame.attrs["report"]
    day = (_latest_day(part.tables, relapse_options) if latest and not _empty_visits(part)
           else None)
    return _Facts(None, subjects, reports, day)


def _latest_day(t: Tables, relapse_options: Any) -> float | None:
    """The bucket's latest date, as the monitoring statuses take it (rules §14): of the
    visits, scans, laboratory tests and the relapses relapse hygiene counts.

    Relapse hygiene runs once, in the bucket's course (:func:`neda.summary.summarise`); here
    it runs only on the patients with a relapse onset after every other date of the bucket -
    usually none. That is exact: hygiene only removes or merges rows, so a counted onset is
    a given onset, and hygiene decides each patient's relapses from that patient's rows."""
    try:
        day = float(as_of_day(None, [t.visits, t.mri, t.labs]))
    except ValueError:
        return None
    rel = t.relapses
    if rel is None or not len(rel):
        return day
    onset = day_numbers(rel["date"])
    late = pd.unique(rel["subject"].to_numpy()[onset > day])
    if not len(late):
        return day

    def of_late(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if frame is None else frame[frame["subject"].isin(late)]

    hygiene = relapse_hygiene(of_late(rel), visits=of_late(t.visits),
                              followup=of_late(t.followup), options=relapse_options)
    if len(hygiene.relapses):
        day = max(day, float(as_of_day(None, [hygiene.relapses[["onset_start"]]])))
    return day


def _merge_changes(changes: list[ChangedRows]) -> tuple[ChangedRows, ...]:
    """Rows changed for one reason in several buckets, as one entry (rows in order)."""
    out: dict[str, list[ChangedRows]] = {}
    for c in changes:
        out.setdefault(c.reason, []).append(c)
    merged = []
    for reason, group in out.items():
        rows = [r for c in group for r in c.rows]
        with contextlib.suppress(TypeError):  # labels of mixed kinds stay in bucket order
            rows = sorted(rows)  # type: ignore[type-var]
        merged.append(ChangedRows(reason, sum(c.count for c in group), tuple(rows),
                                  group[0].row_kind))
    return tuple(merged)


def _merge_reports(reports: list[InputReport]) -> InputReport:
    notes: list[str] = []
    for r in reports:
        notes += [n for n in r.warnings if n not in notes]
    return InputReport(reports[0].file, sum(r.rows_read for r in reports),
                       sum(r.rows_kept for r in reports),
                       _merge_changes([c for r in reports for c in r.dropped]),
                       _merge_changes([c for r in reports for c in r.merged]), tuple(notes))


@dataclass
class _Cohort:
    """The cohort-wide decisions every bucket follows."""

    text_subjects: bool
    reports: dict[str, InputReport]
    as_of: str | None
    numeric_order: bool = True
    """Whether the visits reader read integer identifiers (the tables' order is numeric)."""
    visit_starts: pd.Series | None = None
    """Position of each subject's first visit in the cohort's visits table (the engine's
    ``dropped`` rows are positions in that table)."""


def _cohort(facts: list[_Facts]) -> _Cohort:
    """Problems of every bucket raised together; subjects compared over the whole cohort."""
    errors = [f.error for f in facts if f.error is not None]
    if errors:
        problems = InputError.combine(errors)
        # a missing column is found in every bucket: said once
        unique = list(dict.fromkeys(problems.problems))
        unique.sort(key=lambda p: (p.file, str(p.column), _row_key(p.row)))
        raise InputError(unique, problems.omitted, headline=problems.headline)
    names = [n for n in TABLES if any(n in f.subjects for f in facts)]
    reports = {n: _merge_reports([f.reports[n] for f in facts if n in f.reports])
               for n in names}
    # every subject in one bucket only (a wrong bucket would split a patient's course)
    seen: dict[Any, int] = {}
    for b, f in enumerate(facts):
        for ids in {tuple(v[0].tolist()) for v in f.subjects.values()}:
            for s in ids:
                if seen.setdefault(str(s), b) != b:
                    raise RuntimeError(f"subject {s!r} was split between two partitions; "
                                       "report this as a neda bug")
    # the cohort's identifiers, each repeated as often as it has rows (for the counts of
    # neda.io.check_subjects' warnings), compared as the in-memory run compares them
    whole: dict[str, pd.DataFrame | None] = {}
    for n in names:
        parts = [f.subjects[n] for f in facts if n in f.subjects]
        repeated = [np.repeat(i, c) for i, c in parts]
        kinds = {a.dtype.kind for a, _ in parts if len(a)}
        values = (np.concatenate(repeated) if kinds <= {"i", "u"} else
                  np.concatenate([a.astype(object) for a in repeated]))
        frame = pd.DataFrame({"subject": values})
        frame.attrs["report"] = reports[n]
        whole[n] = frame
    checked = check_subjects(whole)
    text = any(v is not None and len(v) and v["subject"].dtype.kind not in "iu"
               for v in checked.values())
    for n, checked_frame in checked.items():
        if checked_frame is not None:
            reports[n] = checked_frame.attrs["report"]
    days = [f.latest_day for f in facts if f.latest_day is not None]
    as_of = str(np.datetime64(int(max(days)), "D")) if days else None
    visits = [f.subjects["visits"] for f in facts if "visits" in f.subjects]
    numeric = all(a.dtype.kind in "iu" for a, _ in visits if len(a))
    ids = np.concatenate([a.astype(object) for a, _ in visits])
    counts = np.concatenate([c for _, c in visits])
    order = np.argsort(_order_key(ids, numeric), kind="stable")
    starts = np.cumsum(counts[order]) - counts[order]
    keys = [str(i) for i in ids[order]] if text else ids[order]
    return _Cohort(bool(text), reports, as_of, numeric, pd.Series(starts, index=keys))


def _order_key(subjects: np.ndarray, numeric: bool) -> np.ndarray:
    """The sort key of identifiers in the readers' order: numeric when the visits reader read
    integers (even if another table's text identifiers made them text afterwards)."""
    if numeric and subjects.dtype == object:
        return np.asarray([int(s) for s in subjects], dtype=np.int64)
    return subjects


def _global_rows(rows: np.ndarray, visits: pd.DataFrame, cohort: _Cohort) -> np.ndarray:
    """Positions in a partition's visits table as positions in the cohort's."""
    assert cohort.visit_starts is not None
    subject = visits["subject"].to_numpy()
    codes, uniques = pd.factorize(subject)
    first = np.full(len(uniques), len(subject), np.int64)
    np.minimum.at(first, codes, np.arange(len(subject)))
    local_first = pd.Series(first, index=uniques)
    at = subject[rows]
    return (cohort.visit_starts.reindex(at).to_numpy() + rows
            - local_first.reindex(at).to_numpy()).astype(np.int64)


def _with_global_rows(dropped: pd.DataFrame, visits: pd.DataFrame, cohort: _Cohort
                      ) -> pd.DataFrame:
    if not len(dropped) or "row" not in dropped.columns:
        return dropped
    out = dropped.copy()
    out["row"] = _global_rows(dropped["row"].to_numpy(np.int64), visits, cohort)
    return out


def _row_key(row: Any) -> tuple[int, Any]:
    if row is None:
        return (0, 0)
    return (1, row) if isinstance(row, int | np.integer) else (2, str(row))


def _cohort_tables(part: _Part, cohort: _Cohort) -> Tables:
    """A bucket's tables as the cohort reads them: identifiers as text when any table of the
    cohort has text identifiers, each table with the cohort's report."""
    assert part.tables is not None
    out = {}
    for name in TABLES:
        frame = getattr(part.tables, name)
        if frame is not None:
            if cohort.text_subjects and frame["subject"].dtype.kind in "iu":
                frame = frame.copy()
                frame["subject"] = frame["subject"].astype(str).astype(object)
            frame.attrs["report"] = cohort.reports[name]
        out[name] = frame
    return Tables(**out)


# ---------------------------------------------------------------------------- the run
def _run(client: Any, sources: dict[str, Any], read_options: Any, partitions: int | None,
         reader_kwargs: dict[str, dict[str, Any]], relapse_options: Any, latest: bool,
         work: Callable[..., Any], work_args: tuple[Any, ...], progress: bool
         ) -> tuple[list[Any], _Cohort]:
    """Split, read and check every bucket, then ``work(part, cohort, *work_args)`` per bucket
    on the workers; the work results (of buckets with visits), and the cohort decisions."""
    import dask

    given = {k: _source(k, v) for k, v in sources.items() if v is not None}
    c, close = _client(client)
    try:
        n = partitions or max(2, 4 * len(c.scheduler_info()["workers"]))
        pieces: dict[str, list[Any]] = {}
        for name, src in given.items():
            opts = _options_for(read_options, name)
            pieces[name] = [dask.delayed(_split, nout=n)(chunk, name, opts, n)
                            for chunk in src.chunks]
        labels = {k: v.label for k, v in given.items()}
        parts = [dask.delayed(_read_part)(b, {k: [p[b] for p in v] for k, v in pieces.items()},
                                          labels, read_options, reader_kwargs)
                 for b in range(n)]
        part_futures = c.compute(parts)
        fact_futures = c.map(_facts, part_futures, relapse_options=relapse_options,
                             latest=latest, pure=False)
        facts = _gather_each(c, fact_futures, progress, "reading and checking every table")
        try:
            cohort = _cohort(facts)  # raises every problem of every bucket together
        except InputError as exc:
            raise _in_files(exc, given) from None
        keep = [f for f, fact in zip(part_futures, facts, strict=True)
                if "visits" in fact.subjects and len(fact.subjects["visits"][0])]
        del parts, pieces
        work_futures = c.map(work, keep, cohort=cohort, args=work_args, pure=False)
        del part_futures, keep
        # each partition's result leaves its worker as soon as it is done (with the
        # partition's tables), so a worker holds one partition's run at a time
        return _gather_each(c, work_futures, progress, "the course of every partition"), cohort
    finally:
        close()


def _gather_each(c: Any, futures: list[Any], progress: bool, what: str) -> list[Any]:
    """The futures' results in their order, each gathered (and released) when done."""
    from distributed import as_completed

    position = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    bar = _Bar(len(futures), what) if progress else None
    for future in as_completed(futures):
        results[position[future.key]] = future.result()
        future.release()
        if bar is not None:
            bar.advance()
    if bar is not None:
        bar.close()
    futures.clear()
    return results


class _Bar:
    """A rich progress bar over partitions (the client's side of a Dask run)."""

    def __init__(self, total: int, what: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn(f"Dask: {what}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total} partitions"),
                                 TimeElapsedColumn())
        self.progress.start()
        self.task = self.progress.add_task(what, total=total)

    def advance(self) -> None:
        self.progress.update(self.task, advance=1)

    def close(self) -> None:
        self.progress.stop()


# --------------------------------------------------------------------------- course_summary
def _summary_part(part: _Part, *, cohort: _Cohort, args: tuple[Any, ...]) -> Any:
    options, courses, output = args
    tables = _cohort_tables(part, cohort)
    summary = summarise(tables, options=options, courses=courses, monitoring_as_of=cohort.as_of)
    assert tables.visits is not None
    summary.dropped = _with_global_rows(summary.dropped, tables.visits, cohort)
    summary.course_result = dataclasses.replace(summary.course_result,
                                                dropped=summary.dropped)
    pooled = (_pooled_part(summary, options), _neda_counts_part(summary))
    if output is None:
        return summary, pooled
    folder = Path(output)
    for name in SUMMARY_TABLES:
        frame = getattr(summary, name)
        if frame is None or not len(frame.columns):
            continue
        target = folder / name.lstrip("_")
        target.mkdir(parents=True, exist_ok=True)
        frame = frame.copy()
        frame.attrs = {}
        _parquet_safe(frame).to_parquet(target / f"part-{part.bucket:05d}.parquet",
                                        index=False)
    return None, pooled


#: the NEDA proportions a Dask run reduces: per drug and treatment year (each year on its
#: own), NEDA-3 and NEDA-4 (:func:`neda.cohort.neda_proportions`'s defaults)
NEDA_MEASURES: tuple[Measure, ...] = ("neda3", "neda4")


def _neda_counts_part(summary: CourseSummary) -> pd.DataFrame:
    """The partition's NEDA counts per measure, drug and year (they add up over partitions)."""
    if summary.neda is None or not len(summary.neda):
        return pd.DataFrame()
    return pd.concat([neda_counts(summary, measure=m).assign(measure=m)
                      for m in NEDA_MEASURES], ignore_index=True)


def reduce_neda_proportions(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The cohort's NEDA proportions (:func:`neda.cohort.neda_proportions` with its defaults,
    one block per measure) from the partitions' counts: the counts are summed, then the
    proportion and its Wilson interval computed once - never an average of proportions."""
    blocks = []
    for m in NEDA_MEASURES:
        mine = [p[p["measure"] == m].drop(columns="measure") for p in parts if len(p)]
        # no partition with NEDA windows (e.g. no treatments given): no block
        counts = reduce_neda_counts(mine) if any(len(p) for p in mine) else None
        if counts is not None and len(counts):
            blocks.append(proportions_from_counts(counts).assign(measure=m))
    if not blocks:
        return pd.DataFrame(columns=["measure", *PROPORTION_COLUMNS])
    out = pd.concat(blocks, ignore_index=True)
    return out[["measure", *PROPORTION_COLUMNS]]


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing kinds (e.g. texts and dates) written as text."""
    for c in frame.columns:
        if frame[c].dtype == object:
            kinds = {type(v) for v in frame[c].dropna().head(1000)}
            if len(kinds) > 1:
                frame[c] = frame[c].map(lambda v: None if v is None or v is pd.NA else str(v))
    return frame


def _pooled_part(summary: CourseSummary, options: SummaryOptions) -> pd.DataFrame:
    """The bucket's numerators and denominators of the pooled ARR: the pooled rates its
    course computed with the relapse rates, person-time back in days (days add up)."""
    pooled = summary.pooled_arr.copy()
    pooled["days"] = pooled["person_years"] * options.arr.year_days
    return pooled


def reduce_pooled_arr(parts: Sequence[pd.DataFrame], year_days: float = 365.25
                        ) -> pd.DataFrame:
    """The pooled ARR of a cohort from its partitions' pooled tables: Σ relapses / Σ
    person-years per window and drug (rules §4.6), never the mean of partition rates. Columns
    of :data:`neda.rules.arr.POOLED_COLUMNS`, rows in the in-memory order."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return pd.DataFrame(columns=list(POOLED_COLUMNS))
    both = pd.concat(frames, ignore_index=True)
    # the rows over every window of a kind first, then one per drug (sorted, missing last)
    both["_per_drug"] = both["pooled_over"].str.endswith("of the drug")
    both["_kind"] = both["window"].map({"followup": 0, "on_treatment": 1, "pre_treatment": 2})
    both["_obj"] = both["relapses_objective"].astype("Float64")
    keys = ["_kind", "window", "_per_drug", "drug", "pooled_over"]
    g = both.groupby(keys, sort=False, dropna=False)
    out = g.agg(subjects=("subjects", "sum"), windows=("windows", "sum"),
                relapses=("relapses", "sum"), days=("days", "sum"),
                rule_set=("rule_set", "first")).reset_index()
    out["relapses_objective"] = g["_obj"].sum(min_count=1).to_numpy()
    out["relapses_objective"] = out["relapses_objective"].astype("Int64")
    out = out.sort_values(["_kind", "_per_drug", "drug"], kind="stable",
                          na_position="last").reset_index(drop=True)
    py = out["days"].to_numpy() / year_days
    with np.errstate(divide="ignore", invalid="ignore"):
        out["person_years"] = py
        out["arr"] = np.where(py > 0, out["relapses"].to_numpy() / py, np.nan)
        n_obj = out["relapses_objective"].to_numpy(np.float64, na_value=np.nan)
        out["arr_objective"] = np.where(py > 0, n_obj / py, np.nan)
    for c in ("subjects", "windows", "relapses"):
        out[c] = out[c].astype("int64")
    return out[list(POOLED_COLUMNS)]


@dataclass
class DaskCourseSummary(CourseSummary):
    """A :class:`~neda.summary.CourseSummary` computed on Dask, with the cohort reductions.

    ``pooled_arr``: the pooled annualised relapse rates of the cohort (Σ relapses / Σ
    person-years over every partition, :func:`reduce_pooled_arr`), as
    ``neda.rules.arr.annualised_relapse_rate(...).pooled`` gives in memory.
    ``neda_proportions``: the cohort's NEDA proportions, a reduce of the partitions' counts.
    ``partitions``: how many partitions of patients ran.
    """

    neda_proportions: pd.DataFrame = field(default_factory=pd.DataFrame)
    """NEDA-3 and NEDA-4 proportions per drug and treatment year (``measure`` column), the
    partitions' counts summed (:func:`reduce_neda_proportions`); equal to
    :func:`neda.cohort.neda_proportions` on the in-memory summary."""
    partitions: int = 0
    inputs: Tables = field(default_factory=Tables)
    """What the readers did to each whole table (``inputs.reports()``, ``inputs.dropped()``),
    as :func:`neda.io.read_tables` reports it; the tables themselves stay on the workers."""


def report_tables(reports: Mapping[str, InputReport]) -> Tables:
    """Empty tables carrying the cohort's reader reports (:meth:`neda.io.Tables.reports` and
    :meth:`~neda.io.Tables.dropped` read them)."""
    out = {}
    for name, report in reports.items():
        frame = pd.DataFrame()
        frame.attrs["report"] = report
        out[name] = frame
    return Tables(**out)


def course_summary_dask(
    visits: Any,
    relapses: Any = None,
    mri: Any = None,
    treatments: Any = None,
    pros: Any = None,
    *,
    labs: Any = None,
    patients: Any = None,
    followup: Any = None,
    courses: Any = None,
    options: SummaryOptions | None = None,
    read_options: ReadOptions | dict[str, ReadOptions] | None = None,
    client: Any = None,
    partitions: int | None = None,
    output: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> DaskCourseSummary | Path:
    """:func:`neda.course_summary` on a Dask cluster, per partition of patients.

    Tables as in :func:`neda.course_summary`, each a Parquet file, a folder of Parquet files
    (a dataset: its files in name order, a patient's rows may be in several files), a Dask or
    a pandas DataFrame. Row references (problems, the readers' reports, ``source_row``) are
    the row's index label, and for Parquet its 0-based position in the file or dataset; a bad
    cell of a dataset is named by its file (``visits/part-1.parquet``) and its 0-based row
    within that file.

    client : a ``distributed.Client``, or a scheduler address (``"tcp://host:8786"``)
        [None: a new ``LocalCluster``, one single-threaded worker per core, closed at the end].
    partitions : number of partitions of patients [None: 4 per worker]. Each partition is one
        in-memory ``course_summary``: its tables must fit in a worker's memory.
    output : a folder: the workers write each partition's tables there (``patients/``,
        ``events/``, ... one ``part-NNNNN.parquet`` per partition) and the folder is returned
        instead of the gathered summary (for cohorts larger than this machine's memory)
        [None: the summary is gathered].
    progress : show a progress bar over the partitions (reading, then the course) [True].

    Returns a :class:`DaskCourseSummary`: every table equals the in-memory one (rows ordered
    by subject), with ``pooled_arr`` the cohort's pooled ARR.
    """
    opts = options or SummaryOptions()
    if visits is None:
        raise ValueError("course_summary needs a visits table (subject, date, edss)")
    sources = {"visits": visits, "relapses": relapses, "mri": mri, "treatments": treatments,
               "pros": pros, "labs": labs, "patients": patients, "followup": followup}
    if output is not None:
        Path(output).mkdir(parents=True, exist_ok=True)
    results, cohort = _run(client, sources, read_options, partitions, {}, opts.relapse,
                           opts.as_of is None, _summary_part,
                           (opts, courses, None if output is None else str(output)),
                           progress)
    pooled = reduce_pooled_arr([p for _, (p, _) in results], opts.arr.year_days)
    proportions = reduce_neda_proportions([n for _, (_, n) in results])
    if output is not None:
        pooled.to_parquet(Path(output) / "pooled_arr.parquet", index=False)
        proportions.to_parquet(Path(output) / "neda_proportions.parquet", index=False)
        return Path(output)
    summaries = [s for s, _ in results]
    out = _gather_summaries(summaries, cohort)
    out.pooled_arr = pooled
    return DaskCourseSummary(**{f.name: getattr(out, f.name)
                                for f in dataclasses.fields(CourseSummary)},
                             neda_proportions=proportions,
                             partitions=len(summaries),
                             inputs=report_tables(cohort.reports))


def by_subject(frames: list[pd.DataFrame], numeric: bool = True) -> pd.DataFrame:
    """Partition tables as one, rows ordered by subject (a stable sort: a subject's rows keep
    their order), indexed 0..n-1."""
    frames = [f for f in frames if f is not None]
    if not frames:
        return pd.DataFrame()
    shaped = [f for f in frames if len(f.columns)]
    if not shaped:
        return frames[0]
    nonempty = [f for f in shaped if len(f)] or shaped[:1]
    attrs = nonempty[0].attrs
    table = nonempty[0].copy() if len(nonempty) == 1 else pd.concat(nonempty, ignore_index=True)
    if "subject" in table.columns and len(nonempty) > 1:
        order = np.argsort(_order_key(table["subject"].to_numpy(), numeric), kind="stable")
        table = table.take(order)
    table.index = pd.RangeIndex(len(table))
    table.attrs = attrs
    return table


def _gather_summaries(parts: list[CourseSummary], cohort: _Cohort) -> CourseSummary:
    tables = {name: by_subject([getattr(p, name) for p in parts], cohort.numeric_order)
              for name in SUMMARY_TABLES}
    provenance = merge_provenance([p.provenance for p in parts])
    provenance["inputs"] = [r.summary().splitlines()[0] for r in cohort.reports.values()]
    course = _gather_course([p.course_result for p in parts], cohort)
    return CourseSummary(tables["patients"], tables["events"], tables["relapses"],
                         tables["epochs"], tables["scores"], provenance, tables["_visits"],
                         tables["neda"], dropped=tables["dropped"], course_result=course,
                         removed_relapses=tables["removed_relapses"],
                         assessments=tables["assessments"], scans=tables["scans"],
                         trends=tables["trends"])


def _gather_course(parts: list[CourseResult], cohort: _Cohort) -> CourseResult:
    def gathered(name: str) -> pd.DataFrame:
        return by_subject([getattr(p, name) for p in parts], cohort.numeric_order)

    return dataclasses.replace(
        parts[0], provenance=merge_provenance([p.provenance for p in parts]),
        events=gathered("events"), summary=gathered("summary"),
        unconfirmed=gathered("unconfirmed"), dropped=gathered("dropped"))


def merge_provenance(records: list[Any]) -> Any:
    """The provenance of the whole cohort from its partitions': the same record, with counts
    (e.g. how many times the engine ran) summed."""
    first = records[0]
    if all(r == first for r in records[1:]):
        return copy.deepcopy(first)
    if isinstance(first, dict) and all(isinstance(r, dict) and r.keys() == first.keys()
                                       for r in records):
        return {k: merge_provenance([r[k] for r in records]) for k in first}
    if all(isinstance(r, int | np.integer) and not isinstance(r, bool) for r in records):
        return int(sum(records))
    raise ValueError(f"partitions recorded different provenance: {records[:2]}")


# ------------------------------------------------------------------------- confirmed_events
def _events_part(part: _Part, *, cohort: _Cohort, args: tuple[Any, ...]) -> CourseResult:
    options, relapse_options, value, validconf, subjects = args
    t = _cohort_tables(part, cohort)
    hygiene = (relapse_hygiene(t.relapses, options=relapse_options)
               if t.relapses is not None else None)
    result = confirmed_events(t.visits, hygiene, options, value=value, mri=t.mri,
                              ascertainment=t.followup, validconf=validconf,
                              subjects=subjects, relapse_options=None)
    assert t.visits is not None
    return dataclasses.replace(result, dropped=_with_global_rows(result.dropped, t.visits,
                                                                 cohort))


def confirmed_events_dask(
    visits: Any,
    relapses: Any = None,
    options: CourseOptions | None = None,
    *,
    subject: str | None = None,
    date: str | None = None,
    value: str | None = None,
    relapse_options: Any = None,
    ascertainment: Any = None,
    validconf: str | None = None,
    mri: Any = None,
    subjects: Any = None,
    read_options: ReadOptions | Mapping[str, ReadOptions] | None = None,
    client: Any = None,
    partitions: int | None = None,
    progress: bool = True,
    reports: list[Tables] | None = None,
) -> CourseResult:
    """:func:`neda.confirmed_events` on a Dask cluster, per partition of patients.

    Arguments as in :func:`neda.confirmed_events`; tables, ``client``, ``partitions`` and
    ``progress`` as in :func:`course_summary_dask`; ``read_options`` may also map table names
    to their options. The result equals the in-memory one (rows ordered by subject).
    ``reports``: a list to which the readers' reports of the whole tables are appended (as
    :func:`report_tables`), for a caller that shows them."""
    from ..course.engine import _reading

    opts = (options or CourseOptions()).validated()
    value = value or opts.outcome
    ro: Any = (read_options if isinstance(read_options, Mapping)
               else _reading(read_options, subject, date))
    extra = {} if value in set(SCHEMAS["visits"].names) else {value: "number"}
    if validconf:
        extra[validconf] = "flag"
    required = [value] if value in SCHEMAS["visits"].names else []
    sources = {"visits": visits, "relapses": relapses, "mri": mri, "followup": ascertainment}
    results, cohort = _run(client, sources, ro, partitions,
                      {"visits": {"required": required, "extra": extra}}, relapse_options,
                      False, _events_part, (opts, relapse_options, value, validconf, subjects),
                      progress)
    if reports is not None:
        reports.append(report_tables(cohort.reports))
    return _gather_course(results, cohort)
