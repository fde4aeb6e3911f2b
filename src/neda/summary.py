"""The patient course: one call that puts every rule together.

``course_summary(visits, relapses, mri, treatments, pros)`` runs the disease-course engine and
the clinical rules on tidy tables (``docs/data-model.md``) and returns, for a whole cohort,
tables with one row per patient, per treatment epoch, per relapse and per event; for one
patient, :meth:`CourseSummary.patient` gives the structured summary a clinician reads, with a
plain-language paragraph the patient can read, as a dict, JSON or Markdown.

It supports decisions, it does not make them: every status carries its reason, and the
paragraph says what the numbers mean, not what to do.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .course import CourseOptions, confirmed_events
from .io import ReadOptions, Tables, followup_from_visits, read_tables
from .rules.arr import ArrOptions, annualised_relapse_rate
from .rules.common import (
    bare,
    column,
    column_numpy,
    comparable_ids,
    copy_of,
    empty_table,
    equal_to,
    factorized,
    frame_of,
    index_positions,
    plain_copy,
    row_of,
)
from .rules.dmt import DmtOptions, treatment_epochs
from .rules.edss import FS_SYSTEMS, EdssOptions, edss_columns
from .rules.monitoring import MonitoringOptions, monitoring_columns, score_trends
from .rules.msfc import MsfcOptions, msfc_columns
from .rules.neda import NedaOptions, neda_status
from .rules.phenotype import PhenotypeOptions, lublin_descriptors, objective_spms
from .rules.pro import ProOptions, score_pros
from .rules.relapses import (
    RelapseHygiene,
    RelapseOptions,
    relapse_hygiene,
    relapse_recovery,
    relapse_severity,
)


@dataclass(frozen=True)
class SummaryOptions:
    """Options of every rule the summary runs (each with the defaults of docs/rules.md).

    ``relapse``: relapse hygiene (rules §3), the one relapse table every other rule reads.
    ``as_of``: the date "now" refers to (current therapy, time since the last visit); default:
    the latest date in the data.
    """

    course: CourseOptions = field(default_factory=CourseOptions)
    dmt: DmtOptions = field(default_factory=DmtOptions)
    arr: ArrOptions = field(default_factory=ArrOptions)
    pro: ProOptions = field(default_factory=ProOptions)
    relapse: RelapseOptions = field(default_factory=RelapseOptions)
    phenotype: PhenotypeOptions = field(default_factory=PhenotypeOptions)
    neda: NedaOptions = field(default_factory=NedaOptions)
    edss: EdssOptions = field(default_factory=EdssOptions)
    msfc: MsfcOptions = field(default_factory=MsfcOptions)
    monitoring: MonitoringOptions = field(default_factory=MonitoringOptions)
    as_of: str | None = None


@functools.cache
def _default_options() -> SummaryOptions:
    """The default options, made (and checked) once: a frozen dataclass, so one object serves
    every call (each of its ten rule options is checked when made)."""
    return SummaryOptions()


@dataclass
class CourseSummary:
    """Cohort tables; :meth:`patient` gives one patient's structured summary."""

    patients: pd.DataFrame
    events: pd.DataFrame
    relapses: pd.DataFrame
    epochs: pd.DataFrame
    scores: pd.DataFrame
    provenance: dict[str, Any]
    _visits: pd.DataFrame = field(repr=False)
    neda: pd.DataFrame = field(default_factory=pd.DataFrame)
    """NEDA-3/4 per patient, epoch and window (per year and cumulative), with reasons."""
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Visits the course engine left out, with the reason."""
    course_result: Any = field(default=None, repr=False)
    removed_relapses: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Relapse rows relapse hygiene did not count, with the reason (rules §3.1)."""
    assessments: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per visit: the rated EDSS, the EDSS computed from the functional systems and
    the mismatch flag (rules §1.5), the timed tests and SDMT, and the MSFC composite (rules
    §7.1)."""
    scans: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The MRI scans as read (rules §9: a Gd count without contrast is unknown)."""
    trends: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Latest and previous value of every score per patient (rules §14.5)."""
    pooled_arr: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    """The cohort's pooled relapse rates, Σ relapses / Σ person-years per window and drug
    (rules §4.6; ``annualised_relapse_rate(...).pooled``, computed with the rates)."""

    def describe(self) -> str:
        """The methods paragraph of the course engine, relapse hygiene included."""
        return self.course_result.describe() if self.course_result is not None else ""

    def patient(self, subject: Any = None) -> PatientCourse:
        """The structured summary of one patient (the only one, if there is one)."""
        ids = column(self.patients, "subject").tolist()
        if subject is None:
            if len(ids) != 1:
                raise ValueError(f"{len(ids)} patients in the data: name one with patient(id)")
            subject = ids[0]
        matches = [s for s in ids if str(s) == str(subject)]
        if not matches:
            raise ValueError(f"no patient {subject!r} in the data")
        s = matches[0]
        return self._course_of(ids.index(s), lambda name: np.flatnonzero(
            column_numpy(getattr(self, name), "subject") == s))

    def _course_of(self, at: int, positions: Callable[[str], np.ndarray]) -> PatientCourse:
        """The course of the patient in row ``at`` of ``patients``, whose rows of each table
        ``positions(name)`` gives (a comparison here, :class:`SubjectIndex` for a clinic)."""
        def rows(name: str) -> pd.DataFrame:
            """The patient's rows, renumbered (a copy of the table when they are all)."""
            df = getattr(self, name)
            keep = positions(name)
            if len(keep) == len(df):  # a one-patient summary's tables: copied, as pandas would
                return copy_of(df, pd.RangeIndex(len(df)))
            out = df.take(keep)
            out.index = pd.RangeIndex(len(out))
            return out

        return PatientCourse(
            row=row_of(self.patients, at),
            events=rows("events"), relapses=rows("relapses"), epochs=rows("epochs"),
            scores=rows("scores"), visits=rows("_visits"), provenance=self.provenance,
            trends=rows("trends") if len(self.trends) else self.trends,
            assessments=rows("assessments") if len(self.assessments) else self.assessments,
        )


def course_summary(
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
) -> CourseSummary:
    """Disease course of every patient in the tables (see the module docstring).

    Every table goes through the validated readers of :mod:`neda.io` (paths, pandas or polars
    frames, or tables a reader already returned; ``read_options`` say how to read files), and
    subject identifiers are compared across tables. ``visits`` (required) has ``subject``,
    ``date`` and ``edss``; the other tables follow ``docs/data-model.md``. Relapses go through
    relapse hygiene once (rules §3.1) and that one table feeds the engine, the relapse rates,
    NEDA, the phenotype and objective SPMS. ``relapses=None`` means relapses were not
    recorded: relapse-based results are unknown, never "no relapse" (pass an empty table when
    none occurred). ``patients`` (birth date, sex, onset and diagnosis dates, phenotype at
    diagnosis, the clinician's ``course``), ``labs`` (safety laboratory tests, rules §14.4) and
    ``followup`` (relapse ascertainment periods) are optional. ``courses`` (``subject``,
    ``course``) is the older way to give the clinician's phenotype; the computed descriptors
    never replace it.

    A Dask DataFrame or a folder of Parquet files (a dataset) as a table, or ``client`` (a
    ``distributed.Client`` or a scheduler address), runs the same course per partition of
    patients on a Dask cluster (:func:`neda.cohort.course_summary_dask`; a new
    ``LocalCluster`` when no client is given), with identical results.
    """
    from .cohort import wants_dask

    if wants_dask(visits, relapses, mri, treatments, pros, labs, patients, followup,
                  client=client):
        from .cohort.distributed import course_summary_dask

        result = course_summary_dask(visits, relapses, mri, treatments, pros, labs=labs,
                                     patients=patients, followup=followup, courses=courses,
                                     options=options, read_options=read_options,
                                     client=client)
        assert isinstance(result, CourseSummary)
        return result
    opts = options or _default_options()
    if visits is None:
        raise ValueError("course_summary needs a visits table (subject, date, edss)")
    tables = read_tables(read_options, visits=visits, relapses=relapses, mri=mri,
                         treatments=treatments, pros=pros, labs=labs, patients=patients,
                         followup=followup)
    return summarise(tables, options=opts, courses=courses)


def summarise(tables: Tables, *, options: SummaryOptions | None = None,
              courses: Any = None, progress: Any = None,
              monitoring_as_of: str | None = None) -> CourseSummary:
    """:func:`course_summary` on tables already read by :func:`neda.io.read_tables`.

    ``progress``: optional callable ``(stage, done, total)`` told as each stage starts.
    ``monitoring_as_of``: the data cut-off of the monitoring statuses when ``options.as_of``
    is None and ``tables`` are one partition of a larger cohort (:mod:`neda.cohort.
    distributed`): the cohort's latest date, not the partition's [None: from the tables]."""
    opts = options or _default_options()
    stages = ("relapse hygiene", "confirmed worsening", "treatment epochs", "relapse rates",
              "PRO scores", "NEDA", "phenotype", "objective SPMS", "assessments",
              "monitoring", "tables")

    def stage(i: int) -> None:
        if progress is not None:
            progress(stages[i], i, len(stages))

    vis = tables.visits
    if vis is None:
        raise ValueError("course_summary needs a visits table (subject, date, edss)")
    if "edss" not in vis.columns:
        raise ValueError("the visits table needs an 'edss' column")
    scans, tr, pr = tables.mri, tables.treatments, tables.pros

    # relapse hygiene once: the one relapse table of every rule (rules §3.1)
    hygiene: RelapseHygiene | None = None
    recovery = None
    stage(0)
    if tables.relapses is not None:
        hygiene = relapse_hygiene(tables.relapses, visits=vis, followup=tables.followup,
                                  options=opts.relapse)
        recovery = relapse_recovery(hygiene, vis, opts.relapse)
    stage(1)
    course = confirmed_events(vis, hygiene, opts.course, mri=scans,
                              ascertainment=tables.followup)
    # relapse rates are per follow-up: first to last visit (dates the visits reader checked)
    followup = followup_from_visits(vis)

    stage(2)
    epochs = (treatment_epochs(tr, opts.dmt) if tr is not None and len(tr)
              else empty_table("subject", "epoch", "drug", "route", "drug_class",
                               "efficacy", "start", "onset", "end", "end_reason"))
    stage(3)
    arr = annualised_relapse_rate(hygiene, followup, epochs if len(epochs) else None, opts.arr)
    rates = arr.rates

    stage(4)
    scores = (score_pros(pr, opts.pro) if pr is not None and len(pr)
              else empty_table("subject", "date", "instrument"))

    stage(5)
    neda = (neda_status(vis, hygiene, scans, epochs, ascertainment=tables.followup,
                        options=opts.neda) if len(epochs) else None)
    stage(6)
    clinician = _clinician_courses(tables.patients, courses)
    # the progression modifier reads the engine's PIRA events: the run above when its
    # options are the progression preset's (the default), instead of a second run
    same_engine = opts.course == CourseOptions.from_preset(opts.phenotype.progression_preset)
    phenotype = lublin_descriptors(vis, hygiene, scans, opts.phenotype, courses=clinician,
                                   ascertainment=tables.followup,
                                   course_result=course if same_engine else None)
    stage(7)
    spms = objective_spms(vis, hygiene, opts.phenotype)

    stage(8)
    assessments = _assessments(vis, opts)
    trends = score_trends(assessments, scores if len(scores) else None)

    stage(9)
    as_of = (pd.Timestamp(opts.as_of) if opts.as_of else
             pd.Timestamp(monitoring_as_of) if monitoring_as_of else None)
    # monitoring_status' columns, joined to the patients table without a table of their own
    monitoring, monitoring_record = monitoring_columns(
        vis, hygiene, course.events, scans, tables.labs, epochs if len(epochs) else None,
        as_of=as_of, followup=tables.followup, options=opts.monitoring)

    stage(10)
    severity = (relapse_severity(hygiene, vis, opts.relapse) if hygiene is not None
                and len(hygiene.relapses) else None)
    relapses_out = _relapses_table(hygiene, recovery, severity)
    # one row per patient (``subjects``: their identifiers, as an Index); the other tables'
    # rows looked up by subject (a left join)
    columns, subjects = _patient_columns(vis, course, epochs, rates, scores, relapses_out, opts)
    _join(columns, subjects, phenotype, ["course", "activity", "activity_reason", "progression",
                                         "progression_reason", "descriptor"])
    _join(columns, subjects, spms, ["spms", "spms_date", "reason"], {"reason": "spms_reason"})
    if tables.patients is not None:
        facts = [c for c in ("birth_date", "sex", "onset_date", "diagnosis_date",
                             "phenotype_at_diagnosis") if c in tables.patients.columns]
        if facts:
            _join(columns, subjects, tables.patients, facts)
    # the neda rows' subjects coded once for both tables
    neda_code = (factorized(column_numpy(neda, "subject"))
                 if neda is not None and len(neda) else None)
    # the latest cumulative window of each epoch, once for both tables
    cumulative = (_latest_windows(neda, "cumulative", None, neda_code[0])
                  if neda is not None and neda_code is not None else None)
    epochs_out = _epochs_table(epochs, rates, neda, neda_code, cumulative)
    _current_neda(columns, subjects, neda, neda_code, cumulative)
    columns["relapse_data"] = "given" if hygiene is not None else "not given"
    _join(columns, subjects, monitoring, [c for c in monitoring if c != "subject"])
    patients = frame_of(columns, consolidate=False, infer_dates=False)
    provenance = {
        "course": course.provenance,
        "dmt": epochs.attrs.get("provenance"),
        "arr": arr.provenance,
        "pro": scores.attrs.get("provenance"),
        "relapses": hygiene.provenance if hygiene is not None else "not given",
        "phenotype": phenotype.attrs.get("provenance"),
        "spms": spms.attrs.get("provenance"),
        "neda": neda.attrs.get("provenance") if neda is not None else None,
        "assessments": assessments.attrs.get("provenance"),
        "monitoring": monitoring_record,
        "inputs": [str(r.summary().splitlines()[0]) for r in tables.reports()],
    }
    return CourseSummary(patients, course.events, relapses_out, epochs_out, scores, provenance,
                         vis, neda if neda is not None else empty_table(),
                         dropped=course.dropped, course_result=course,
                         removed_relapses=hygiene.removed if hygiene is not None
                         else empty_table(), assessments=assessments,
                         scans=scans if scans is not None else empty_table(),
                         trends=trends, pooled_arr=arr.pooled)


_MSFC_INPUTS = ("t25fw", "nhpt", "nhpt_dominant", "nhpt_nondominant", "pasat", "sdmt")


def _assessments(vis: pd.DataFrame, opts: SummaryOptions) -> pd.DataFrame:
    """One row per visit: rated and computed EDSS (rules §1.5), timed tests, SDMT, MSFC (rules
    §7.1). The computed EDSS is a check of the rated one, never a replacement."""
    given = vis  # read by column (neda.rules.common.column: no Series, no attrs copied)
    n = len(given)
    # columns gathered, the table built once (a column insert costs about 0.3 ms)
    # (as stored: numpy columns as numpy arrays, which frame_of takes without pandas' checks)
    out: dict[str, Any] = {c: column(given, c) for c in ("subject", "date", "edss", "t25fw",
                                                         "nhpt", "sdmt") if c in given.columns}
    record: dict[str, Any] = {}
    fs_given = [f"fs_{s}" for s in FS_SYSTEMS if f"fs_{s}" in vis.columns]
    # compute_edss' and msfc_scores' columns, without their tables (only these are read)
    if fs_given or "ambulation" in vis.columns:
        computed, record["edss"] = edss_columns(vis, opts.edss, checks_only=True)
        out["computed_edss"] = computed["computed_edss"]
        out["edss_mismatch"] = computed["mismatch"].to_numpy()  # (as read from its table)
        out["edss_mismatch_reason"] = computed["mismatch_reason"]
        out["computed_edss_reason"] = computed["reason"]
    else:
        out["computed_edss"] = np.full(n, np.nan)
        out["edss_mismatch"] = pd.array([pd.NA] * n, dtype="boolean")
        out["edss_mismatch_reason"] = np.full(n, None, dtype=object)
        out["computed_edss_reason"] = np.full(n, "no functional-system grades recorded",
                                              dtype=object)
    if any(c in vis.columns for c in _MSFC_INPUTS[:5]):
        msfc, record["msfc"] = msfc_columns(vis, opts.msfc)
        out["msfc"] = msfc["msfc"]
        out["msfc_reason"] = msfc["reason"]
    else:
        out["msfc"] = np.full(n, np.nan)
        out["msfc_reason"] = np.full(n, "no MSFC component recorded", dtype=object)
    table = frame_of(out, consolidate=False, infer_dates=False)
    table.attrs["provenance"] = record
    return table


def _clinician_courses(patients: pd.DataFrame | None, courses: Any) -> Any:
    """The clinician's current course per subject: ``courses`` if given, else the patients
    table's ``course`` column."""
    if courses is not None:
        return courses
    if patients is not None and "course" in patients.columns:
        given = patients[patients["course"].notna()]
        if len(given):
            return given[["subject", "course"]]
    return None


# The cohort tables are assembled from finished columns: every lookup below is a binary search
# on subject codes and a take, where pandas joins, merges and drop_duplicates cost about a
# millisecond each on one patient's rows (and copied every column on a registry).


def _take(values: Any, pos: np.ndarray, found_all: bool | None = None) -> Any:
    """``values`` (a column or an array) at ``pos``; -1 gives a missing value, in the dtype a
    pandas left join gives (NaN in floats and objects, integers and flags widened, NaT,
    <NA>). ``found_all``: :func:`_found_all` of ``pos``, for a caller taking many columns at
    the same positions."""
    if type(values) is not np.ndarray:
        if isinstance(values, pd.Series):
            values = values.array
        if isinstance(values, pd.arrays.NumpyExtensionArray) or not isinstance(
                values, pd.api.extensions.ExtensionArray):
            values = np.asarray(values)
    if found_all if found_all is not None else _found_all(pos):
        if type(values) in _MASKED:  # (Int64, boolean: their take without pandas' steps)
            return values._simple_new(values._data.take(pos), values._mask.take(pos))
        return values.take(pos)  # nothing missing: the array's own take, the same values
    return pd.api.extensions.take(values, pos, allow_fill=True)


_MASKED = (pd.arrays.BooleanArray, pd.arrays.IntegerArray)


def _found_all(pos: np.ndarray) -> bool:
    """Whether ``pos`` has rows and none is missing (-1)."""
    return len(pos) > 0 and bool(pos.min() >= 0)


def _first_last(code: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last row (in table order) of each of ``n`` codes; -1 where none."""
    rows = np.flatnonzero(code >= 0)
    if n == 1:  # one patient: the first and last row of code 0
        return (rows[:1] if len(rows) else np.full(1, -1, np.int64),
                rows[-1:] if len(rows) else np.full(1, -1, np.int64))
    c = code[rows]
    if len(c) and bool((c[1:] >= c[:-1]).all()):  # each code one run (tables by subject)
        first, last = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        begins = np.concatenate(([True], c[1:] != c[:-1]))
        first[c[begins]] = rows[begins]
        ends = np.concatenate((begins[1:], [True]))
        last[c[ends]] = rows[ends]
        return first, last
    first = np.full(n, len(code), np.int64)
    last = np.full(n, -1, np.int64)
    np.minimum.at(first, code[rows], rows)
    np.maximum.at(last, code[rows], rows)
    return np.where(first == len(code), -1, first), last


def _join(columns: dict[str, Any], subjects: pd.Index,
          table: pd.DataFrame | dict[str, Any], names: list[str],
          rename: dict[str, str] | None = None) -> None:
    """Add ``names`` of ``table`` (one row per subject; a table or its columns) to the patient
    columns."""
    def read(name: str) -> Any:
        return table[name] if isinstance(table, dict) else column(table, name)

    pos = index_positions(read("subject"), subjects)
    found_all = _found_all(pos)
    for name in names:
        columns[(rename or {}).get(name, name)] = _take(read(name), pos, found_all)


def _patient_columns(vis: pd.DataFrame, course: Any, epochs: pd.DataFrame,
                     rates: pd.DataFrame, scores: pd.DataFrame, rel: pd.DataFrame,
                     opts: SummaryOptions) -> tuple[dict[str, Any], pd.Index]:
    # columns are read as stored (neda.rules.common.column: no Series, no attrs copied)
    s = course.summary
    subject = column_numpy(s, "subject")
    subjects = pd.Index(subject)
    n = len(subject)
    out: dict[str, Any] = {
        "subject": subject,
        "n_visits": column_numpy(s, "n_visits"),
        "first_visit": column_numpy(s, "first_visit"),
        "last_visit": column_numpy(s, "last_visit"),
        "follow_up_years": np.round(column_numpy(s, "follow_up_days") / 365.25, 2),
    }
    # first and latest value of each measure (rows in table order)
    vcode = index_positions(subjects, column(vis, "subject"))
    date = column_numpy(vis, "date")
    for col in ("edss", "t25fw", "nhpt", "sdmt"):
        if col not in vis.columns:
            continue
        values = column_numpy(vis, col)
        first, last = _first_last(np.where(pd.notna(values), vcode, -1), n)
        if col == "edss":
            out["edss_first"] = _take(values, first)
            out["edss_first_date"] = _take(date, first)
        out[f"{col}_latest"] = _take(values, last)
        out[f"{col}_latest_date"] = _take(date, last)
    for col in ("CDW", "RAW", "PIRA", "undefined", "unknown", "CDI"):
        out[col] = column_numpy(s, col)
    ev = course.events
    pirma = index_positions(subjects, column(ev, "subject"))[
        column_numpy(ev, "pira_mri") == "PIRMA"]
    out["PIRMA"] = np.bincount(pirma[pirma >= 0], minlength=n).astype(np.int64)
    out["unconfirmed_worsening"] = column_numpy(s, "unconfirmed_worsening")
    rcode = index_positions(subjects, column(rel, "subject")) if len(rel) else np.zeros(0, np.int64)
    recovery = column_numpy(rel, "recovery") if len(rel) else np.zeros(0, object)
    for label in ("complete", "incomplete", "not_assessable"):
        hit = rcode[(recovery == label) & (rcode >= 0)]
        out[f"relapses_recovery_{label}"] = np.bincount(hit, minlength=n).astype(np.int64)
    # the follow-up rows of the rates, read as positions in the table (not a filtered copy)
    follow = np.flatnonzero(column_numpy(rates, "window") == "followup")
    fpos = index_positions(column_numpy(rates, "subject")[follow], subjects)
    fpos = _rows_at(follow, fpos)
    # Int64: <NA> when relapses were not recorded (never 0 for missing data)
    relapses = column(rates, "relapses")
    if type(relapses.dtype) is not pd.Int64Dtype:  # (the rates' own Int64 column: as it is)
        relapses = pd.array(relapses, dtype="Int64", copy=False)
    out["relapses"] = _take(relapses, fpos)
    out["arr"] = _take(column_numpy(rates, "arr"), fpos)
    out["arr_status"] = _take(column_numpy(rates, "status"), fpos)
    # current therapy: the latest epoch, if it has not ended before the last contact
    cur_drug = np.full(n, None, dtype=object)
    cur_since = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if len(epochs):
        # the last epoch row as a whole (latest start; the later row on a tie)
        ecode = index_positions(subjects, column(epochs, "subject"))
        start = column_numpy(epochs, "start")
        order = np.lexsort((np.arange(len(ecode)), start, ecode))
        latest = np.full(n, -1, np.int64)
        known = order[ecode[order] >= 0]
        latest[ecode[known]] = known  # sorted: the last row of each subject is written last
        ref = (out["last_visit"] if opts.as_of is None
               else np.datetime64(pd.Timestamp(opts.as_of), "ns"))
        drug = column(epochs, "drug")
        drug = _take(np.asarray(drug, dtype=object) if isinstance(drug, np.ndarray)
                     else drug.to_numpy(dtype=object), latest)
        end = _take(column_numpy(epochs, "end"), latest)
        ongoing = pd.notna(drug) & (np.isnat(end) | (end >= ref))
        cur_drug[ongoing] = drug[ongoing]
        cur_since[ongoing] = _take(start, latest)[ongoing]
    out["current_dmt"] = cur_drug
    out["current_dmt_since"] = cur_since
    if len(scores) and "instrument" in scores.columns:
        instrument = column_numpy(scores, "instrument")
        scode = index_positions(subjects, column(scores, "subject"))
        for name, col in (("MFIS", "mfis_total"), ("FSS", "fss"),
                          ("MSWS-12v1", "msws12"), ("MSIS-29v1", "msis29_physical")):
            if col not in scores.columns:
                continue
            values = column(scores, col)
            have = (instrument == name) & np.asarray(pd.notna(values))
            _, last = _first_last(np.where(have, scode, -1), n)
            out[f"{col}_latest"] = _take(values, last)
    out["rule_set"] = course.options.preset
    return out, subjects


_NEDA_KEEP = ["neda3", "neda3_reason", "neda4", "neda4_reason", "window_start", "window_end",
              "relapse", "relapse_reason", "disability", "disability_reason", "mri",
              "mri_reason", "bvl", "bvl_reason"]


def _latest_windows(neda: pd.DataFrame, window_type: str,
                    last_contact: np.ndarray | None = None,
                    subject_code: np.ndarray | None = None) -> np.ndarray:
    """Rows of the last window of each epoch: for per-year windows the latest one that ended
    by the last contact (a year still running is incomplete by construction), else the latest
    (the later row on a tie). ``last_contact``: per neda row, its subject's last contact;
    ``subject_code``: per neda row, a code of its subject (``factorized``), when known."""
    rows = np.flatnonzero(column_numpy(neda, "window_type") == window_type)
    if not len(rows):
        return rows
    subject = (factorized(column_numpy(neda, "subject")[rows])[0] if subject_code is None
               else subject_code[rows])
    epoch = column_numpy(neda, "epoch")[rows]
    window = column_numpy(neda, "window")[rows]
    done = np.ones(len(rows), bool)
    if last_contact is not None:
        done = column_numpy(neda, "window_end")[rows] <= last_contact[rows] + np.timedelta64(
            1, "D")
    fast = _latest_in_blocks(rows, subject, epoch, window, done)
    if fast is not None:
        return fast
    # per (subject, epoch): a finished window before an unfinished one, then the latest
    order = np.lexsort((rows, window, done, epoch, subject))
    last = np.ones(len(order), bool)
    last[:-1] = (subject[order][1:] != subject[order][:-1]) | (
        epoch[order][1:] != epoch[order][:-1])
    return rows[order[last]]


def _latest_in_blocks(rows: np.ndarray, subject: np.ndarray, epoch: np.ndarray,
                      window: np.ndarray, done: np.ndarray) -> np.ndarray | None:
    """:func:`_latest_windows`' pick without sorting, when each (subject, epoch) is one block
    of rows (as neda_status writes them: subjects in order of first appearance, epochs
    ascending); None otherwise. In a block, the largest (done, window, row) wins."""
    n = len(rows)
    e0, w0 = int(epoch.min()), int(window.min())
    e_span, w_span = int(epoch.max()) - e0 + 1, int(window.max()) - w0 + 1
    if (e_span * (int(subject.max()) + 1) >= 1 << 62 or 2 * w_span * n >= 1 << 62
            or (subject < 0).any()):
        return None
    group = subject.astype(np.int64) * e_span + (epoch - e0)
    if (group[1:] < group[:-1]).any():
        return None
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    score = ((done.astype(np.int64) * w_span + (window - w0)) * n + np.arange(n))
    return rows[np.maximum.reduceat(score, starts) % n]


def _rows_at(rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``rows[pos]`` (-1 where ``pos`` is -1): positions in a filtered table as rows of the
    table (no filtered copy built)."""
    if not len(rows):
        return np.full(len(pos), -1, np.int64)
    return np.where(pos >= 0, rows[np.maximum(pos, 0)], -1).astype(np.int64)


def _pair_positions(subject: Any, number: Any, table_subject: Any, table_number: Any
                    ) -> np.ndarray:
    """Row of ``table`` with the same (subject, number) as each row (-1: none); the table's
    pairs are unique (epochs, relapses)."""
    if not len(table_subject):
        return np.full(len(subject), -1, np.int64)
    pair = (comparable_ids(subject, table_subject)
            if len(subject) * len(table_subject) <= 4096 else None)
    ids = None if pair is None else equal_to(pair[0][:, None], pair[1][None, :])
    if ids is not None:
        # a few rows (one patient's): every pair compared, not hashed; the first match
        same = (ids & (np.asarray(number, np.int64)[:, None]
                   == np.asarray(table_number, np.int64)[None, :]))
        return np.where(same.any(axis=1), same.argmax(axis=1), -1).astype(np.int64)
    index = pd.Index(pd.unique(np.asarray(table_subject)))
    left = index_positions(index, subject)
    right = index_positions(index, table_subject)
    # (subject code, number) as one integer: numbers are small positive counters
    key = pd.Index(right * (1 << 32) + np.asarray(table_number, np.int64))
    pos = np.asarray(key.get_indexer(left * (1 << 32) + np.asarray(number, np.int64)), np.int64)
    return np.where(left >= 0, pos, -1)


def _epochs_table(epochs: pd.DataFrame, rates: pd.DataFrame, neda: pd.DataFrame | None,
                  neda_code: tuple[np.ndarray, Any] | None = None,
                  cumulative: np.ndarray | None = None) -> pd.DataFrame:
    """One row per treatment epoch with its relapse rate and cumulative NEDA. ``neda_code``:
    ``factorized`` of the neda subjects; ``cumulative``: ``_latest_windows(neda,
    "cumulative", None, neda_code[0])``; each when done already."""
    if not len(epochs):
        return epochs
    # columns read as stored (neda.rules.common.column), rows by position
    out: dict[str, Any] = {c: column(epochs, c) for c in epochs.columns}
    subject, epoch = column(epochs, "subject"), column(epochs, "epoch")
    on = np.flatnonzero(column_numpy(rates, "window") == "on_treatment")
    pos = _pair_positions(subject, epoch, column_numpy(rates, "subject")[on],
                          column_numpy(rates, "epoch")[on])
    pos = _rows_at(on, pos)
    found_all = _found_all(pos)
    for name, col in (("relapses_on_treatment", "relapses"), ("person_years", "person_years"),
                      ("arr", "arr"), ("arr_status", "status")):
        out[name] = _take(column(rates, col), pos, found_all)
    if neda is not None and len(neda):
        cum = (cumulative if cumulative is not None else _latest_windows(
            neda, "cumulative", None, None if neda_code is None else neda_code[0]))
        pos = _pair_positions(subject, epoch, column_numpy(neda, "subject")[cum],
                              column_numpy(neda, "epoch")[cum])
        rows = np.full(len(pos), -1, np.int64)
        rows[pos >= 0] = cum[pos[pos >= 0]]
        found_all = _found_all(rows)
        for c in _NEDA_KEEP:
            out[f"{c}_cumulative"] = _take(column(neda, c), rows, found_all)
    return frame_of(out, consolidate=False, infer_dates=False)


def _current_neda(columns: dict[str, Any], subjects: pd.Index, neda: pd.DataFrame | None,
                  neda_code: tuple[np.ndarray, Any] | None = None,
                  cumulative: np.ndarray | None = None) -> None:
    """NEDA on the current therapy: its latest treatment year and since it started.
    ``neda_code``: ``factorized`` of the neda subjects; ``cumulative``: the latest
    cumulative windows (see :func:`_epochs_table`); each when done already."""
    n = len(subjects)
    if neda is None or not len(neda):
        for w in ("current_year", "since_start"):
            for c in _NEDA_KEEP:
                columns[f"{c}_{w}"] = np.full(n, None, dtype=object)
        return
    # the neda rows' subjects coded once: codes, and the patient row of each code
    scode, named = (factorized(column_numpy(neda, "subject")) if neda_code is None
                    else neda_code)
    ncode = np.where(scode >= 0, index_positions(subjects, named)[scode], -1)
    last_contact = _take(columns["last_visit"], ncode)
    since = _take(columns["current_dmt_since"], ncode)
    epoch_start = column_numpy(neda, "epoch_start")
    for window_type, suffix in (("per_year", "current_year"), ("cumulative", "since_start")):
        rows = (cumulative if window_type == "cumulative" and cumulative is not None
                else _latest_windows(neda, window_type, last_contact
                                     if window_type == "per_year" else None, scode))
        # the window of the epoch the current therapy started
        current = rows[(ncode[rows] >= 0) & (epoch_start[rows] == since[rows])]
        pos = np.full(n, -1, np.int64)
        pos[ncode[current]] = current
        found_all = _found_all(pos)
        for c in _NEDA_KEEP:
            columns[f"{c}_{suffix}"] = _take(column(neda, c), pos, found_all)


_RECOVERY_KEEP = ["edss_pre", "edss_pre_date", "edss_peak", "edss_peak_date", "edss_post",
                  "edss_post_date", "residual_deficit", "recovery", "reason",
                  "recovery_fraction", "fraction_clipped"]


def _relapses_table(hygiene: Any, recovery: pd.DataFrame | None,
                    severity: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per counted relapse (after hygiene) with its severity and recovery (rules §3.1,
    3.2, 3.3)."""
    if hygiene is None or not len(hygiene.relapses):
        return empty_table("subject", "relapse_n", "onset_start", "onset_end", "severity",
                           "recovery")
    clean = hygiene.relapses
    assert recovery is not None
    cols, rec = clean, recovery  # read by column (no Series, no attrs copied)
    out = {c: column(cols, c) for c in ("subject", "relapse_n", "onset_start", "onset_end",
                                         "precision", "objective", "merged_from")}
    pos = _pair_positions(out["subject"], out["relapse_n"], column(rec, "subject"),
                          column(rec, "relapse_n"))
    found_all = _found_all(pos)
    for c in _RECOVERY_KEEP:
        out["recovery_reason" if c == "reason" else c] = _take(column(rec, c), pos, found_all)
    if severity is not None:
        sev = severity
        pos = _pair_positions(out["subject"], out["relapse_n"], column(sev, "subject"),
                              column(sev, "relapse_n"))
        found_all = _found_all(pos)
        for c in ("severity", "severity_reason", "edss_change", "severity_clinician"):
            out[c] = _take(column(sev, c), pos, found_all)
    table = frame_of(out, consolidate=False, infer_dates=False)
    # the provenance of relapse hygiene, which recovery shares (as a pandas merge keeps it)
    if clean.attrs and clean.attrs == recovery.attrs:
        table.attrs = plain_copy(clean.attrs)
    return table


# ------------------------------------------------------------------------------ one patient
def _fmt_date(d: Any) -> str:
    return "" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")


def _num(x: Any) -> Any:
    kind = type(x)
    if kind is str or kind is int or kind is bool:  # most cells: text, counts, flags
        return x
    if kind is float:
        return None if x != x else x
    # the numpy scalars of the patient's row (row_of), as the general steps below give them
    if kind is np.float64:
        return None if x != x else float(x)
    if kind is np.int64:
        return int(x)
    if kind is np.bool_:
        return bool(x)
    if x is None or (np.ndim(x) == 0 and pd.isna(x)):
        return None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, pd.Timestamp):
        return _fmt_date(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _yes_no(value: Any) -> str:
    """A three-valued status in words."""
    return "unknown" if value is None else ("yes" if value else "no")


def _records(df: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    cols = [c for c in cols if c in df.columns]
    values = [_cells(column(df, c)) for c in cols]
    return [{c: _num(v) for c, v in zip(cols, row, strict=True)}
            for row in zip(*values, strict=True)]


def _cells(values: Any) -> list[Any]:
    """A column's cells as Python scalars, as a row iteration gives them; nanosecond dates as
    the text ``_num`` makes of them (numpy writes them all at once, where each Timestamp is
    built and formatted alone; ``None`` for NaT; a nanosecond date is in years 1677-2262, so
    numpy's four-digit year is strftime's)."""
    if isinstance(values, pd.arrays.DatetimeArray) and values.dtype == _NS:
        days = np.datetime_as_string(np.asarray(values), unit="D").tolist()
        return [None if d == "NaT" else d for d in days]
    out: list[Any] = values.tolist()
    return out


_NS = np.dtype("datetime64[ns]")


@dataclass
class PatientCourse:
    """One patient's course, as data (:meth:`to_dict`), JSON or Markdown."""

    row: pd.Series
    events: pd.DataFrame
    relapses: pd.DataFrame
    epochs: pd.DataFrame
    scores: pd.DataFrame
    visits: pd.DataFrame
    provenance: dict[str, Any]
    trends: pd.DataFrame = field(default_factory=pd.DataFrame)
    assessments: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _values(self) -> dict[str, Any]:
        """The row as a dict of its values (each look-up on a Series costs microseconds)."""
        return dict(zip(map(str, self.row.index), self.row.tolist(), strict=True))

    def to_dict(self) -> dict[str, Any]:
        r = self._values()
        return {
            "subject": _num(r["subject"]),
            "follow_up": {"first_visit": _fmt_date(r["first_visit"]),
                          "last_visit": _fmt_date(r["last_visit"]),
                          "years": _num(r["follow_up_years"]), "visits": _num(r["n_visits"])},
            "edss": {"first": _num(r.get("edss_first")), "latest": _num(r.get("edss_latest")),
                     "latest_date": _fmt_date(r.get("edss_latest_date"))},
            "current_therapy": (None if r.get("current_dmt") is None or
                                pd.isna(r.get("current_dmt")) else
                                {"drug": r["current_dmt"],
                                 "since": _fmt_date(r["current_dmt_since"]),
                                 "neda": {
                                     w: {"window_start": _fmt_date(r.get(f"window_start_{w}")),
                                         "window_end": _fmt_date(r.get(f"window_end_{w}")),
                                         "neda3": _num(r.get(f"neda3_{w}")),
                                         "neda3_reason": _num(r.get(f"neda3_reason_{w}")),
                                         "neda4": _num(r.get(f"neda4_{w}")),
                                         "neda4_reason": _num(r.get(f"neda4_reason_{w}")),
                                         "components": {
                                             c: _num(r.get(f"{c}_reason_{w}"))
                                             for c in ("relapse", "disability", "mri", "bvl")},
                                         "component_status": {
                                             c: _num(r.get(f"{c}_{w}"))
                                             for c in ("relapse", "disability", "mri", "bvl")}}
                                     for w in ("current_year", "since_start")}}),
            "treatment_history": _records(self.epochs, [
                "epoch", "drug", "route", "efficacy", "start", "end", "end_reason",
                "relapses_on_treatment", "arr"]),
            "relapses": _records(self.relapses, [
                "onset_start", "onset_end", "precision", "objective", "edss_pre", "edss_peak",
                "edss_post", "residual_deficit", "recovery", "recovery_reason", "severity",
                "severity_reason", "edss_change"]),
            "annualised_relapse_rate": _num(r.get("arr")),
            "confirmed_events": _records(self.events, [
                "event_type", "cdw_class", "pira_mri", "onset_date", "onset_value",
                "reference_date", "reference_value", "confirmation_date",
                "sustained_to_last_visit"]),
            "unconfirmed_worsening_at_last_visit": bool(r["unconfirmed_worsening"]),
            "phenotype": {
                "course": _num(r.get("course")),
                "activity_last_year": _num(r.get("activity")),
                "activity_reason": _num(r.get("activity_reason")),
                "progression_last_year": _num(r.get("progression")),
                "progression_reason": _num(r.get("progression_reason")),
                "descriptor": _num(r.get("descriptor")),
                "objective_spms": _num(r.get("spms")),
                "objective_spms_date": _fmt_date(r.get("spms_date")),
                "objective_spms_reason": _num(r.get("spms_reason")),
            },
            # the scores this patient has (a cohort's table has a column for every score
            # any of its patients has: the patient's course is the same in any cohort)
            "latest_scores": {k.replace("_latest", ""): _num(r[k]) for k in r
                              if k.endswith("_latest") and not k.startswith("edss")
                              and _num(r[k]) is not None},
            "msfc": self._msfc(),
            "monitoring": self._monitoring(r),
            "score_trends": _records(self.trends, [
                "measure", "label", "symptom", "latest", "latest_date", "previous",
                "previous_date", "change", "trend", "worse_when", "n_values"]),
            "plain_language": self._plain_language(r),
            "rule_set": r["rule_set"],
        }

    def _msfc(self) -> dict[str, Any] | None:
        """The latest MSFC composite (rules §7.1), or why the latest visit has none."""
        a = self.assessments  # read by column (no Series, no attrs copied)
        if not len(a) or "msfc" not in a.columns:
            return None
        # the cells read from the columns (a row of a table of mixed types is built cell by
        # cell; the values are the same numpy scalars and Timestamps)
        msfc, dates = column_numpy(a, "msfc"), column(a, "date")
        have = np.flatnonzero(pd.notna(msfc))
        if len(have):
            return {"latest": _num(msfc[have[-1]]), "date": _fmt_date(dates[have[-1]]),
                    "reason": None}
        reason = column_numpy(a, "msfc_reason")[-1] if "msfc_reason" in a.columns else None
        return {"latest": None, "date": _fmt_date(dates[-1]), "reason": _num(reason)}

    def _monitoring(self, r: dict[str, Any]) -> dict[str, Any] | None:
        """The last 12 months and what is due, relative to ``as_of`` (rules §14); ``r``: the
        row's values (:meth:`_values`)."""
        if "as_of" not in r:
            return None
        return {
            "as_of": _fmt_date(r["as_of"]),
            "relapses_last_year": _num(r.get("relapses_last_year")),
            "relapse_last_year": _num(r.get("relapse_last_year")),
            "relapse_last_year_reason": _num(r.get("relapse_last_year_reason")),
            "worsening_last_year": {k: _num(r.get(f"{k}_last_year")) for k in (
                "cdw", "raw", "pira", "pirma", "unclassified")},
            "edss": {"last_date": _fmt_date(r.get("edss_last_date")),
                     "overdue": _num(r.get("edss_overdue")),
                     "reason": _num(r.get("edss_reason"))},
            "dmt": _num(r.get("dmt_at_as_of")),
            "mri": {"last_date": _fmt_date(r.get("mri_last_date")),
                    "status": _num(r.get("mri_status")),
                    "overdue": _num(r.get("mri_overdue")),
                    "reason": _num(r.get("mri_reason"))},
            "labs": {"status": _num(r.get("labs_status")), "due": _num(r.get("labs_due")),
                     "due_tests": [t for t in (_num(r.get("labs_due_tests")) or "").split(";")
                                   if t],
                     "next_due": _fmt_date(r.get("labs_next_due")),
                     "reason": _num(r.get("labs_reason"))},
        }

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)

    def to_markdown(self) -> str:
        d = self.to_dict()
        lines = [f"# Disease course: patient {d['subject']}", "",
                 f"Follow-up {d['follow_up']['first_visit']} to {d['follow_up']['last_visit']}"
                 f" ({d['follow_up']['years']} years, {d['follow_up']['visits']} visits). "
                 f"EDSS {d['edss']['first']} → {d['edss']['latest']} "
                 f"(latest {d['edss']['latest_date']}).", ""]
        ct = d["current_therapy"]
        lines += ["## Current therapy and NEDA", "",
                  (f"{ct['drug']} since {ct['since']}." if ct else "No current DMT recorded."),
                  ""]
        if ct:
            for w, label in (("current_year", "Latest completed treatment year"),
                             ("since_start", "Since the start")):
                n = ct["neda"][w]
                lines.append(f"- {label} ({n['window_start']} to {n['window_end']}): NEDA-3 "
                             f"**{_yes_no(n['neda3'])}**"
                             + (f" - {n['neda3_reason']}" if n["neda3_reason"] else "")
                             + f"; NEDA-4 **{_yes_no(n['neda4'])}**.")
                for comp, why in n["components"].items():
                    if why:
                        lines.append(f"  - {comp}: {why}")
            lines.append("")
        if d["confirmed_events"]:
            lines += ["## Confirmed disability events", "",
                      "| type | class | onset | EDSS | reference | confirmed |",
                      "|---|---|---|---|---|---|"]
            for e in d["confirmed_events"]:
                cls = e.get("cdw_class") or ""
                if e.get("pira_mri") and e["pira_mri"] not in ("", "not_assessed"):
                    cls += f" ({e['pira_mri']})"
                lines.append(f"| {e['event_type']} | {cls} | {e['onset_date']} | "
                             f"{e['onset_value']} | {e['reference_value']} "
                             f"({e['reference_date']}) | {e['confirmation_date']} |")
            lines.append("")
        if d["relapses"]:
            lines += ["## Relapses and recovery", "",
                      "| onset | EDSS before / at / after | residual | recovery |",
                      "|---|---|---|---|"]
            def show(v: Any) -> str:
                return "–" if v is None else str(v)

            for x in d["relapses"]:
                onset = x["onset_start"] if x["onset_start"] == x["onset_end"] else \
                    f"{x['onset_start']} to {x['onset_end']}"
                lines.append(f"| {onset} | {show(x['edss_pre'])} / {show(x['edss_peak'])} / "
                             f"{show(x['edss_post'])} | {show(x['residual_deficit'])} | "
                             f"{x['recovery']} |")
            lines.append("")
        if d["treatment_history"]:
            lines += ["## Treatment history", "", "| drug | start | end | relapses on it |",
                      "|---|---|---|---|"]
            for e in d["treatment_history"]:
                lines.append(f"| {e['drug']} | {e['start']} | {e['end'] or 'ongoing'} | "
                             f"{e.get('relapses_on_treatment')} |")
            lines.append("")
        ph = d["phenotype"]
        lines += ["## Phenotype (Lublin 2014) and objective SPMS", "",
                  f"- 12 months to the last visit ({d['follow_up']['last_visit']}): activity "
                  f"**{ph['activity_last_year']}** "
                  f"({ph['activity_reason'] or 'no reason recorded'}); progression "
                  f"**{ph['progression_last_year']}** ({ph['progression_reason'] or '-'}).",
                  f"- Objective SPMS (Lorscheider 2016): **{_yes_no(ph['objective_spms'])}**"
                  + (f" since {ph['objective_spms_date']}" if ph["objective_spms_date"] else "")
                  + f" ({ph['objective_spms_reason'] or '-'}).", ""]
        lines += ["## In plain words", "", d["plain_language"], "",
                  f"_Definitions: {d['rule_set']} (neda). This summary supports, and does not "
                  "replace, the judgement of the MS team._"]
        return "\n".join(lines)

    def plain_language(self) -> str:
        """A paragraph a patient can read: what happened, in everyday words, terms explained."""
        return self._plain_language(self._values())

    def _plain_language(self, r: dict[str, Any]) -> str:
        """:meth:`plain_language` from the row's values (``to_dict`` reads them once)."""
        parts = []
        years = r["follow_up_years"]
        parts.append(
            f"Over {years:.1f} years of check-ups ({int(r['n_visits'])} visits), your EDSS "
            "(the disability score neurologists use, from 0 = normal examination to 10) "
            f"went from {r.get('edss_first')} to {r.get('edss_latest')}."
        )
        n_rel_raw = r.get("relapses")
        if n_rel_raw is None or pd.isna(n_rel_raw):
            parts.append("Relapses were not recorded in the data used here, so this summary "
                         "cannot say whether any occurred.")
            n_rel = -1
        else:
            n_rel = int(n_rel_raw)
        if n_rel < 0:
            pass
        elif n_rel == 0:
            parts.append("No relapse (an attack of new or returning symptoms lasting at least a "
                         "day) was recorded.")
        else:
            parts.append(
                f"{n_rel} relapse{'s were' if n_rel > 1 else ' was'} recorded (a relapse is an "
                "attack of new or returning symptoms lasting at least a day; afterwards "
                "function often comes back - this is called remission)."
            )
            full = int(r.get("relapses_recovery_complete", 0))
            partial = int(r.get("relapses_recovery_incomplete", 0))
            if full:
                parts.append(f"After {full} of them your score came back to where it was "
                             "(full remission).")
            if partial:
                parts.append(f"After {partial} of them some disability remained.")
        raw, pira = int(r["RAW"]), int(r["PIRA"])
        if raw:
            parts.append(
                f"{raw} time{'s' if raw > 1 else ''} a relapse left a lasting increase in "
                "disability (relapse-associated worsening, RAW: the part of an attack that did "
                "not recover)."
            )
        if pira:
            parts.append(
                f"{pira} time{'s' if pira > 1 else ''} disability increased and stayed higher "
                "without a relapse (progression independent of relapse activity, PIRA: slow, "
                "silent worsening)."
            )
        unclear = int(r["CDW"]) - raw - pira
        if unclear > 0:
            parts.append(
                f"{unclear} time{'s' if unclear > 1 else ''} disability increased and stayed "
                "higher, but the data cannot tell whether a relapse caused it (for example a "
                "relapse date known only to the month, or no relapse record)."
            )
        if not raw and not pira and int(r["CDW"]) == 0:
            parts.append("No lasting (confirmed) increase in disability was found.")
        if int(r["CDI"]):
            parts.append("At some point disability improved and the improvement lasted.")
        if bool(r["unconfirmed_worsening"]):
            parts.append("The latest score is higher than before, but it is not yet confirmed "
                         "by a later visit: it may still improve.")
        activity = _num(r.get("activity"))
        # Lublin's activity is judged in the 12 months up to the last visit (rules §6.1), not
        # up to today: the date says which year, so old records do not read as recent ones.
        year = f"In the 12 months before your latest check-up ({_fmt_date(r['last_visit'])})"
        if activity == "active":
            parts.append(f"{year} the MS was active (a relapse or new MRI lesions).")
        elif activity == "not active":
            parts.append(f"{year} there was no sign of MS activity (no relapse, no new MRI "
                         "lesions).")
        elif activity is not None:
            parts.append(f"Whether the MS was active in the 12 months before your latest "
                         f"check-up ({_fmt_date(r['last_visit'])}) cannot be said from the "
                         "data (for example, no recent MRI).")
        spms = r.get("spms")
        if spms is not None and not pd.isna(spms) and bool(spms):
            parts.append(
                f"Since {_fmt_date(r.get('spms_date'))} the course meets a research definition "
                "of secondary progressive MS (a phase of slow worsening mostly without "
                "relapses); your neurologist decides whether this applies to you."
            )
        drug = r.get("current_dmt")
        if drug is not None and not pd.isna(drug):
            parts.append(f"You are on {drug} since {_fmt_date(r['current_dmt_since'])}.")
            status = _num(r.get("neda3_current_year"))
            if status is True:
                parts.append("In the latest completed year on it there was no evidence of "
                             "disease activity (NEDA: no relapse, no new MRI lesions, no lasting "
                             "worsening).")
            elif status is False:
                parts.append("In the latest completed year on it there was evidence of disease "
                             f"activity ({_num(r.get('neda3_reason_current_year'))}).")
            elif status is None and _num(r.get("window_start_current_year")) is not None:
                parts.append("Whether the disease was quiet in the latest completed year on it "
                             "cannot be said from the data ("
                             f"{_num(r.get('neda3_reason_current_year'))}).")
        parts.append("Your MS team can explain what this means for you.")
        return " ".join(parts)


class SubjectIndex:
    """Where each subject's rows are in a :class:`CourseSummary`'s tables, found once per
    table: ``SubjectIndex(summary).patient(s)`` equals ``summary.patient(s)``, and
    ``rows(name, s)`` equals ``table[table["subject"] == s]``, for a summary that is read, never
    changed. :meth:`CourseSummary.patient` compares the whole ``subject`` column of every table
    with the patient (and every identifier as text), O(cohort) per patient: the clinic's web
    screens take patient after patient out of one clinic's summary, so they keep this index
    with it and pay O(the patient's rows) each."""

    def __init__(self, summary: CourseSummary) -> None:
        self.summary = summary
        self._tables: dict[str, tuple[dict[Any, int], np.ndarray, np.ndarray]] = {}
        self._subjects: dict[str, tuple[int, Any]] | None = None

    def positions(self, name: str, subject: Any) -> np.ndarray:
        """The positions of ``subject``'s rows in table ``name``, in table order (those of
        ``np.flatnonzero(table["subject"] == subject)``)."""
        found = self._tables.get(name)
        if found is None:
            frame = getattr(self.summary, name)
            # one stable sort of the table's subject codes: each subject's rows are one run
            codes, uniques = pd.factorize(column_numpy(frame, "subject") if len(frame)
                                          else np.array([], dtype=np.int64))
            order = np.argsort(codes, kind="stable")
            bounds = np.concatenate([[0], np.cumsum(np.bincount(codes[codes >= 0],
                                                                minlength=len(uniques)))])
            found = self._tables[name] = (
                {u: i for i, u in enumerate(uniques.tolist())}, order[len(codes) - bounds[-1]:],
                bounds)
        code_of, order, bounds = found
        code = code_of.get(subject)
        if code is None:
            return np.array([], dtype=np.intp)
        return order[bounds[code]:bounds[code + 1]]

    def rows(self, name: str, subject: Any) -> pd.DataFrame:
        """``subject``'s rows of table ``name`` with their labels (as a boolean mask would),
        to read: without the table's ``attrs`` (:func:`neda.rules.common.bare`), which
        pandas would deep-copy into every row selection and column read from them."""
        return bare(getattr(self.summary, name)).iloc[self.positions(name, subject)]

    def patient(self, subject: Any) -> PatientCourse:
        """:meth:`CourseSummary.patient` of ``subject`` (matched as text, like it)."""
        if self._subjects is None:
            self._subjects = {}
            for i, s in enumerate(column(self.summary.patients, "subject").tolist()):
                self._subjects.setdefault(str(s), (i, s))
        found = self._subjects.get(str(subject))
        if found is None:
            raise ValueError(f"no patient {subject!r} in the data")
        at, s = found
        return self.summary._course_of(at, lambda name: self.positions(name, s))
