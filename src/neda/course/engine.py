"""Native API: confirmed worsening / improvement events with RAW / PIRA attribution.

``confirmed_events(visits, relapses, options)`` takes tidy tables (one row per visit, one row
per relapse), applies the platform's relapse rules that the engine needs (pseudo-relapses,
the 30-day merge, imprecise onset dates as intervals), runs the compiled msprog-method scan
for all subjects at once, and returns events that carry their reference, onset,
confirmation, class and the option set that produced them (clinical rules §2).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..io import SCHEMAS, ReadOptions, check_subjects, ensure_table, is_validated
from ..rules.common import (
    DayIndex,
    as_pandas,
    bare,
    column,
    column_numpy,
    copy_of,
    empty_table,
    factorized,
    frame_of,
    index_positions,
    subject_codes,
)
from ..rules.relapses import RelapseHygiene, RelapseOptions, relapse_hygiene
from . import _kernel as K
from .options import CourseOptions
from .scan import offsets, run_scan

CLASS_NAMES = {
    K.CDW_UNDEFINED: "undefined",
    K.RAW: "RAW",
    K.PIRA: "PIRA",
    K.CDW_UNKNOWN: "unknown",
    K.CDW_NOT_CLASSIFIED: "not_classified",
}

# the class of each event type code, as text (CDI: no class)
_CLASS_LABELS = np.array([CLASS_NAMES.get(code, "") if code != K.CDI else ""
                          for code in range(max(CLASS_NAMES) + 1)], dtype=object)

# how each event was confirmed, by the kernel's code (0, 1, 2)
_CONFIRMED_BY = np.array(["visit", "imputation", "death"], dtype=object)
assert (K.CONFIRMED_BY_VISIT, K.CONFIRMED_BY_IMPUTATION, K.CONFIRMED_BY_DEATH) == (0, 1, 2)

EVENT_COLUMNS = {
    "subject": "Subject identifier.",
    "event_n": "Event number within the subject (chronological by onset).",
    "event_type": "CDW (confirmed worsening) or CDI (confirmed improvement).",
    "cdw_class": "RAW, PIRA, undefined, unknown or not_classified (empty for CDI).",
    "cdw_reason": "Why: the relapse that made it RAW, the relapse-free period that made it "
                  "PIRA, or what leaves it unknown (rules §2.7.2).",
    "onset_date": "Date of the first visit of the confirmed change (onset).",
    "onset_value": "Outcome value at onset.",
    "reference_date": "Date of the reference (baseline) visit the change is measured from.",
    "reference_value": "Reference value.",
    "confirmation_date": "First confirmation visit (c1); the onset itself for death.",
    "confirmation_value": "Outcome value at c1.",
    "pira_confirmation_date": "For PIRA: the first confirmation visit free of relapses.",
    "pira_mri": "For PIRA: PIRMA, PIRA_with_MRI_activity, MRI_unknown; not_assessed without "
                "MRI input (rules §2.7.4).",
    "confirmed_by": "visit; death (option death_confirms); imputation (impute_last_visit).",
    "sustained_until_date": "Last visit at which the change was still present.",
    "sustained_to_last_visit": "Whether the change lasted to the last visit.",
    "days_from_first_visit": "Days from the subject's first visit to onset.",
    "rule_set": "Preset name of the options that produced the event.",
    "options_digest": "Fingerprint of every option value: the engine's, relapse hygiene's, and "
                      "whether relapses were given (see CourseResult.provenance).",
}


@dataclass
class CourseResult:
    """Output of :func:`confirmed_events`.

    ``events``: one row per confirmed event (columns in :data:`EVENT_COLUMNS`);
    ``summary``: one row per subject; ``unconfirmed``: a worsening present at the last visit
    but not (yet) confirmed (rules §2.3); ``dropped``: every input row left out on purpose,
    with the reason; ``options``: the options used (``options.describe()`` writes the
    methods paragraph).
    """

    events: pd.DataFrame
    summary: pd.DataFrame
    unconfirmed: pd.DataFrame
    dropped: pd.DataFrame
    options: CourseOptions
    provenance: dict[str, Any] = field(default_factory=dict)
    relapse_options: RelapseOptions | None = None

    def describe(self) -> str:
        """The methods paragraph: the definition, every changed option, relapse hygiene, and
        whether relapse data were given."""
        return self.options.describe(relapses=self.relapse_options,
                                     relapse_data=self.provenance.get("relapse_data", "given"))


def _to_pandas(df: Any) -> Any:
    """pandas as is, polars converted; None stays None."""
    return None if df is None else as_pandas(df)


def _reading(read_options: ReadOptions | None, subject: str | None, date: str | None
             ) -> ReadOptions:
    opts = read_options or ReadOptions()
    names = {k: v for k, v in (("subject", subject), ("date", date)) if v and v != k}
    return replace(opts, columns={**opts.columns, **names}) if names else opts


def _ensure_visits(visits: Any, ro: ReadOptions, value: str | None, extra: dict[str, str]
                   ) -> pd.DataFrame:
    """The visits table, validated, with the outcome (and validconf) column."""
    if is_validated(visits, "visits") and (value is None or value in visits.columns) and all(
            c in visits.columns for c in extra):
        return visits
    required = [value] if value is not None and value in SCHEMAS["visits"].names else []
    return ensure_table(visits, "visits", ro, required=required, extra=extra)


def _hygiene(relapses: Any, vis: pd.DataFrame, options: RelapseOptions | None,
             ro: ReadOptions) -> RelapseHygiene | None:
    """The relapse table every rule reads (rules §3.1); None when relapses were not given."""
    if relapses is None:
        return None
    if isinstance(relapses, RelapseHygiene):
        if options is not None and options != relapses.options:
            raise ValueError("relapse_options differ from the options of the RelapseHygiene "
                             "given; pass one or the other")
        return relapses
    rel = ensure_table(relapses, "relapses", ro)
    checked = check_subjects({"visits": vis, "relapses": rel})["relapses"]
    assert checked is not None
    return relapse_hygiene(checked, options=options)


def ensure_mri(mri: Any, ro: ReadOptions | None = None) -> pd.DataFrame:
    """The MRI table, validated, with the one contrast rule applied (rules §0.3, 9)."""
    return ensure_table(mri, "mri", ro)


_EPOCH = np.datetime64("1970-01-01", "D")


def _floats(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``frame[name].to_numpy(np.float64)`` without building the Series."""
    values = column(frame, name)
    if isinstance(values, np.ndarray):
        return np.asarray(values, dtype=np.float64)
    return np.asarray(values.to_numpy(np.float64))


def _day_numbers(values: Any) -> np.ndarray:
    """Day numbers of a date column (a Series or its values)."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    return (arr.astype("datetime64[D]") - _EPOCH).astype(np.int64).astype(float)


def confirmed_events(
    visits: Any,
    relapses: Any = None,
    options: CourseOptions | None = None,
    *,
    subject: str | None = None,
    date: str | None = None,
    value: str | None = None,
    relapse_options: RelapseOptions | None = None,
    ascertainment: Any = None,
    validconf: str | None = None,
    mri: Any = None,
    subjects: Any = None,
    read_options: ReadOptions | None = None,
    client: Any = None,
) -> CourseResult:
    """Confirmed disability worsening / improvement events for every subject.

    Parameters
    ----------
    visits : visits table (``docs/data-model.md``), a path or a pandas / polars DataFrame; read
        with :func:`neda.io.read_visits` unless it already was. ``subject`` and ``date`` name
        its columns when they are not called so; ``value`` is the outcome column (default: the
        option's outcome, e.g. ``edss``).
    relapses : the relapses (a relapses table, or the :class:`~neda.rules.relapses.
        RelapseHygiene` of one). A table goes through relapse hygiene first (rules §3.1, with
        ``relapse_options``): pseudo-relapses leave out the visits during their episode,
        attacks under 30 days apart are one relapse, imprecise onsets stay intervals.
        ``None`` means *relapses were not recorded*: every worsening is then ``unknown``
        (never PIRA; rules §2.7.2). Pass an empty table when no relapse occurred.
    options : :class:`CourseOptions` [preset mueller2023].
    relapse_options : :class:`~neda.rules.relapses.RelapseOptions` [rules §3.1 defaults].
    ascertainment : optional table (``subject``, ``start``, ``end``) giving the period in
        which relapses were recorded; default: first to last visit (rules §2.7.2).
    validconf : optional yes/no column of the visits: visits that may confirm an event.
    mri : optional MRI table (``docs/data-model.md``); when given, each PIRA event gets
        ``pira_mri`` (rules §2.7.4).
    subjects : optional list of subject identifiers to analyse (msprog ``subjects``).
    read_options : :class:`neda.io.ReadOptions` for tables that still need reading.
    client : a ``distributed.Client`` or a scheduler address: run per partition of subjects
        on a Dask cluster (:func:`neda.cohort.confirmed_events_dask`, identical results);
        also when a table is a Dask DataFrame or a folder of Parquet files (then on a new
        ``LocalCluster`` without a client) [None].

    Returns
    -------
    CourseResult
    """
    from ..cohort import wants_dask

    if not isinstance(relapses, RelapseHygiene) and wants_dask(visits, relapses, ascertainment,
                                                               mri, client=client):
        from ..cohort.distributed import confirmed_events_dask

        return confirmed_events_dask(
            visits, relapses, options, subject=subject, date=date, value=value,
            relapse_options=relapse_options, ascertainment=ascertainment, validconf=validconf,
            mri=mri, subjects=subjects, read_options=read_options, client=client)
    opts = (options or CourseOptions()).validated()
    ro = _reading(read_options, subject, date)
    value, vis_table, hygiene = _read_course_inputs(visits, relapses, opts, value,
                                                    relapse_options, validconf, ro)
    prep = _prepare(vis_table, hygiene, opts, value, validconf, subjects)
    res, rel, asc0, asc1, values, dw = _scan(prep, hygiene, opts, ascertainment, ro)
    subjects, vstart, vend, dates = prep.subjects, prep.vstart, prep.vend, prep.dates
    dropped_parts = prep.dropped_parts
    relapse_record = hygiene.provenance if hygiene is not None else None
    digest = combined_digest(opts, relapse_record)
    # the events' columns as arrays, read by the MRI overlay, the reasons and the other two
    # tables; the events table is built once, with every column in its place
    # (and each event's subject as its position in ``subjects``, so that no step looks the
    # identifiers up again)
    cols, ecode = _event_columns(res, subjects, vstart, vend, dates, opts, digest)
    scans = ensure_mri(mri, ro) if mri is not None else None
    overlay = _pira_mri(cols, scans, opts)
    reasons = _attribution_reasons(cols, rel, subjects, asc0, asc1, opts,
                                   relapses_given=hygiene is not None, codes=ecode,
                                   relapse_codes=prep.rcodes)
    events = frame_of(_with_columns(cols, {"cdw_class": ("cdw_reason", reasons)},
                                    {"confirmed_by": ("pira_mri", overlay)}),
                      consolidate=True)
    unconfirmed, ucode = _unconfirmed_frame(res, subjects, vstart, vend, dates, values, dw,
                                            opts, cols, ecode)
    summary = _summary_frame(cols, ecode, subjects, vstart, vend, dates, res, ucode)
    dropped = (pd.concat(dropped_parts, ignore_index=True) if dropped_parts
               else empty_table("row", "subject", "date", "reason"))
    provenance = {"rule_set": opts.preset, "options": opts.as_dict(),
                  "options_digest": digest, "course_options_digest": opts.digest(),
                  "relapses": relapse_record,
                  "relapse_data": "given" if hygiene is not None else "not given",
                  "engine": "neda.course (msprog method)"}
    for df in (events, summary, unconfirmed):
        df.attrs["provenance"] = provenance
    return CourseResult(events, summary, unconfirmed, dropped, opts, provenance,
                        relapse_options=hygiene.options if hygiene is not None else None)


# The stages of confirmed_events, kept apart so that a run of many definitions over one cohort
# (neda.cohort.multiverse) reads and cleans the tables once, prepares the sorted arrays once
# per visit selection, and scans again only per definition.

def _read_course_inputs(visits: Any, relapses: Any, opts: CourseOptions, value: str | None,
                        relapse_options: RelapseOptions | None, validconf: str | None,
                        ro: ReadOptions) -> tuple[str, pd.DataFrame, RelapseHygiene | None]:
    """The outcome column, the validated visits table and relapse hygiene (None: relapses
    were not given)."""
    value = value or opts.outcome
    known = set(SCHEMAS["visits"].names)
    extra = {} if value in known else {value: "number"}
    if validconf:
        extra[validconf] = "flag"
    vis_table = _ensure_visits(visits, ro, value, extra)
    hygiene = _hygiene(relapses, vis_table, relapse_options, ro)
    return value, vis_table, hygiene


def _preparation_key(opts: CourseOptions) -> tuple[Any, ...]:
    """The options :func:`_prepare` reads: definitions equal in these share prepared arrays."""
    practice = opts.outcome in ("sdmt", "nhpt") and opts.practice_effect_visits > 1
    return (opts.outcome, opts.exclude_pseudo_relapse_visits,
            (opts.practice_effect_visits, opts.worsening_sign) if practice else None)


@dataclass
class _Prepared:
    """The visits kept, sorted by subject and day, as flat arrays (per-subject offsets), and
    the relapses of the analysed subjects sorted by subject and onset."""

    table: pd.DataFrame
    dropped_parts: list[pd.DataFrame]
    subjects: Any
    vstart: np.ndarray
    vend: np.ndarray
    dates: np.ndarray
    values: np.ndarray
    vconf: np.ndarray
    rel: _Relapses
    rcodes: np.ndarray
    # (d-, d+) per visit by the relapses the engine keeps, which depend on relapse_to_bl only:
    # scans of several definitions over these arrays compute them once
    distances: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _prepare(vis_table: pd.DataFrame, hygiene: RelapseHygiene | None, opts: CourseOptions,
             value: str, validconf: str | None, subjects: Any) -> _Prepared:
    """Visits with a value, outside pseudo-relapse episodes, after the practice effect (each
    left-out row with its reason), as sorted arrays. Reads only the options of
    :func:`_preparation_key`."""
    subject, date = "subject", "date"
    dropped_parts: list[pd.DataFrame] = []

    # ---- visits as arrays, sorted by subject, day and row (pandas sorts cost more than the
    # scan on one patient) ----
    # columns read by column() / column_numpy(), which do not build a Series (whose copy of
    # the reader's report costs more than a column here)
    table = vis_table
    if subjects is not None:
        table = bare(vis_table)
        table = table[table[subject].isin(list(subjects))]
    # columns read as arrays (no Series per column: they cost more than the rule here)
    subj = column_numpy(table, subject)
    day_all = _day_numbers(column_numpy(table, date))
    value_all = _floats(table, value)
    conf_all = (bare(table)[validconf].fillna(False).astype(bool).to_numpy() if validconf
                else np.ones(len(table), bool))
    missing = np.isnan(value_all)
    if missing.any():
        dropped_parts.append(_dropped_rows(table, np.flatnonzero(missing), subject, date,
                                           "missing value"))
    rows = np.flatnonzero(~missing)
    code, day_r = factorized(subj[rows], sort=True)[0], day_all[rows]
    # visits already by subject and date (the readers' order) are not sorted again
    if not bool(np.all((code[1:] > code[:-1])
                       | ((code[1:] == code[:-1]) & (day_r[1:] >= day_r[:-1])))):
        rows = rows[np.lexsort((rows, day_r, code))]

    # ---- relapses: the hygiene table (rules §3.1) as onset intervals (rules §2.7.2) ----
    if hygiene is not None:
        # the hygiene's onset arrays (made once per hygiene, shared with the other rules)
        onsets = hygiene.onset_arrays()
        rel = _Relapses(onsets["subject"], onsets["a"], onsets["b"], onsets["label"])
        episodes = hygiene.pseudo_episodes
        if len(episodes) and opts.exclude_pseudo_relapse_visits:
            index = factorized(subj[rows])[1]
            _, hit = DayIndex.of(index_positions(index, subj[rows]), day_all[rows]).pairs(
                index_positions(index, episodes["subject"]),
                _day_numbers(episodes["episode_start"]), _day_numbers(episodes["episode_end"]))
            inside = np.zeros(len(rows), bool)
            inside[hit] = True
            if inside.any():
                dropped_parts.append(_dropped_rows(table, rows[inside], subject, date,
                                                   "assessed during a pseudo-relapse episode"))
                rows = rows[~inside]
    else:
        rel = _Relapses(np.zeros(0, dtype=subj.dtype), np.zeros(0), np.zeros(0),
                        np.zeros(0, dtype=object))

    # ---- practice effect for cognitive / dexterity tests (rules §2.2) ----
    if opts.outcome in ("sdmt", "nhpt") and opts.practice_effect_visits > 1:
        rows = _practice_effect(table, rows, subject, value, opts.practice_effect_visits,
                                opts.worsening_sign, dropped_parts, date)

    # ---- flat arrays ----
    codes, subjects = factorized(subj[rows])
    n_subj = len(subjects)
    vstart, vend = offsets(codes, n_subj)

    # relapses of the analysed subjects, by subject (in visit order) and onset
    rcodes_all = index_positions(subjects, rel.subject)
    analysed = np.flatnonzero(rcodes_all >= 0)
    analysed = analysed[np.lexsort((rel.a[analysed], rcodes_all[analysed]))]
    return _Prepared(table, dropped_parts, subjects, vstart, vend, day_all[rows],
                     value_all[rows], conf_all[rows], rel.take(analysed), rcodes_all[analysed])


def _scan(prep: _Prepared, hygiene: RelapseHygiene | None, opts: CourseOptions,
          ascertainment: Any, ro: ReadOptions
          ) -> tuple[Any, _Relapses, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One compiled pass over every prepared subject with the options of one definition:
    (scan result, relapses, ascertainment start and end per subject, values and worsening
    thresholds as the scan left them). The prepared arrays are not changed."""
    subjects, vstart, vend = prep.subjects, prep.vstart, prep.vend
    dates, vconf = prep.dates, prep.vconf
    # a bl_geq reference move writes into the values (the kernel's private copy): another
    # definition scanning the same prepared arrays must see them as read
    values = prep.values.copy() if opts.bl_geq else prep.values
    rel, rcodes_all = prep.rel, prep.rcodes
    n_subj = len(subjects)
    dw = opts.worsening_delta(values)
    di = opts.improvement_delta(values)
    att_a = rel.a
    att_b = rel.b
    astart, aend = offsets(rcodes_all, n_subj)
    # the engine ignores relapses long before follow-up (rules §2.3); attribution sees all
    first_day = dates[vstart[rcodes_all]] if len(rcodes_all) else np.zeros(0)
    keep = att_b >= first_day - opts.relapse_to_bl[0]
    eng_codes = rcodes_all[keep]
    rel_a = att_a[keep]
    rel_b = att_b[keep]
    rstart, rend = offsets(eng_codes, n_subj)
    distances = prep.distances.get(float(opts.relapse_to_bl[0]))

    asc0, asc1 = _ascertainment(ascertainment, subjects, dates, vstart, vend,
                                opts.history_lookback_days, ro)
    if hygiene is None:
        # relapses were not recorded: no window is ascertained, so no worsening can be
        # called PIRA or undefined - it is unknown (rules §2.7.2; missing data never gives
        # "no relapse")
        asc0 = np.full(n_subj, np.inf)
        asc1 = np.full(n_subj, -np.inf)
    elif not opts.require_ascertainment:
        asc0 = np.full(n_subj, -np.inf)
        asc1 = np.full(n_subj, np.inf)

    res = run_scan(
        vstart=vstart, vend=vend, dates=dates, value=values, dw=dw, di=di, validconf=vconf,
        rstart=rstart, rend=rend, rel_date=rel_b, rel_a=rel_a, rel_b=rel_b,
        astart=astart, aend=aend, att_a=att_a, att_b=att_b, asc0=asc0, asc1=asc1,
        conf_days=list(opts.conf_days), conf_tol=[opts.conf_tol_days] * len(opts.conf_days),
        worsening_sign=opts.worsening_sign, tol=opts.threshold_tolerance,
        baseline=opts.baseline, proceed_from=opts.proceed_from,
        sub_threshold_rebl=opts.effective_sub_threshold_rebl,
        relapse_rebl=opts.relapse_rebl, bl_geq=opts.bl_geq, alias_delta=True,
        skip_local_extrema=opts.skip_local_extrema,
        relapse_to_bl=opts.relapse_to_bl, relapse_to_event=opts.relapse_to_event,
        relapse_to_conf=opts.relapse_to_conf, relapse_assoc=opts.relapse_assoc,
        relapse_indep=opts.relapse_indep.as_msprog(), event=opts.event,
        rawpira=opts.attribution, check_intermediate=opts.check_intermediate,
        require_sust_days=opts.require_sust_days,
        impute_p=1.0 if opts.impute_last_visit else 0.0,
        impute_max_fu=float(opts.impute_last_visit) if opts.impute_last_visit > 1 else np.inf,
        at_or_above_onset=opts.confirm_magnitude == "at_or_above_onset",
        death_value=10.0 if (opts.death_confirms and opts.outcome == "edss") else np.inf,
        death_confirms=opts.death_confirms and opts.outcome == "edss",
        conf_window_int=False, distances=distances,
    )
    prep.distances.setdefault(float(opts.relapse_to_bl[0]), (res.dminus, res.dplus))
    if (res.err != K.ERR_NONE).any():
        raise RuntimeError(
            "the course engine could not process subject "
            f"{subjects[int(np.flatnonzero(res.err)[0])]!r} with these options"
        )
    return res, rel, asc0, asc1, values, dw


def combined_digest(opts: CourseOptions, relapse_record: dict[str, Any] | None) -> str:
    """Fingerprint of every option that shaped the events: the engine's and relapse
    hygiene's, and whether relapse data were given at all."""
    # json.dumps({"course": ..., "relapses": ...}, sort_keys=True, default=str), written from
    # the course options' JSON text (made once per options object): the same characters
    relapses = json.dumps(None if relapse_record is None else relapse_record.get("options"),
                          sort_keys=True, default=str)
    blob = '{"course": ' + opts._values()[1] + ', "relapses": ' + relapses + "}"
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def pira_mri(events: pd.DataFrame, mri: pd.DataFrame | None, opts: CourseOptions
             ) -> np.ndarray:
    """MRI overlay of PIRA events (rules §2.7.4; msclinical pirma; Müller 2023 PIRMA).

    ``mri``: a validated MRI table (:func:`neda.io.read_mri`: the contrast rule applied, so a
    Gd count without contrast is already unknown). Window [S0, cP]: S0 = reference (or
    onset) date, cP = PIRA confirmation date. A scan with a missing count is never evidence
    of no activity.
    """
    return _pira_mri(_columns_of(events), mri, opts)


def _pira_mri(events: Mapping[str, np.ndarray], mri: pd.DataFrame | None, opts: CourseOptions
              ) -> np.ndarray:
    """:func:`pira_mri` on the events' columns as arrays."""
    out = np.full(len(events["subject"]), "", dtype=object)
    is_pira = events["cdw_class"] == "PIRA"
    if mri is None:
        out[is_pira] = "not_assessed"
        return out
    if not is_pira.any():
        return out
    mri = bare(mri)
    n = len(mri)
    nan = np.full(n, np.nan)
    gd = mri["gd"].to_numpy(np.float64) if "gd" in mri.columns else nan
    new = mri["new_t2"].to_numpy(np.float64) if "new_t2" in mri.columns else nan
    if "enlarging_t2" in mri.columns:
        # new + enlarging; an unknown part leaves the sum unknown (data model)
        new = new + mri["enlarging_t2"].to_numpy(np.float64)
    date = mri["date"].to_numpy().astype("datetime64[ns]")
    comparator = (mri["comparator_date"].to_numpy().astype("datetime64[ns]")
                  if "comparator_date" in mri.columns
                  else np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    pos = np.flatnonzero(is_pira)
    s0 = events["reference_date" if opts.mri_window_start == "reference" else "onset_date"
                ][pos]
    cp = events["pira_confirmation_date"][pos]
    # every (event, scan of its subject dated in [S0, cP]): identifiers compared as text
    # when one table has numbers and the other text
    index = pd.Index(pd.unique(events["subject"][pos]))
    ev_code = subject_codes(index, events["subject"][pos])
    scan_day = _day_numbers(mri["date"])
    e, k = DayIndex.of(subject_codes(index, mri["subject"].to_numpy()), scan_day).pairs(
        ev_code, _day_numbers(pd.Series(s0)), _day_numbers(pd.Series(cp)))
    inside = (date[k] >= s0[e]) & (date[k] <= cp[e])  # the exact times, as given
    e, k = e[inside], k[inside]
    lead = pd.Timedelta(days=opts.mri_comparator_lead_days).to_timedelta64()
    comp = comparator[k]
    comp_ok = ~np.isnat(comp)
    placed = comp_ok & (comp >= s0[e] - lead)
    active = (gd[k] > 0) | (placed & (new[k] > 0))
    clean = (gd[k] == 0) & comp_ok & (new[k] == 0)
    m = len(pos)
    any_active = np.bincount(e, weights=active, minlength=m) > 0
    all_clean = np.bincount(e, weights=~clean, minlength=m) == 0
    scanned = np.bincount(e, minlength=m) > 0
    out[pos] = "MRI_unknown"
    out[pos[any_active]] = "PIRA_with_MRI_activity"
    out[pos[~any_active & all_clean & scanned]] = "PIRMA"
    return out


def attribution_reasons(events: pd.DataFrame, rel: _Relapses, subjects: Any,
                        asc0: np.ndarray, asc1: np.ndarray, opts: CourseOptions, *,
                        relapses_given: bool) -> np.ndarray:
    """Why each confirmed worsening got its class (rules §2.7.2), in words.

    RAW names the relapse; PIRA the relapse-free period checked and the ascertainment;
    undefined and unknown say what is missing. The class itself comes from the compiled
    engine; this only explains it. ``rel``: the relapses of the analysed subjects, sorted
    by subject (in ``subjects`` order) and onset.
    """
    return _attribution_reasons(_columns_of(events), rel, subjects, asc0, asc1, opts,
                                relapses_given=relapses_given)


def _attribution_reasons(events: Mapping[str, np.ndarray], rel: _Relapses, subjects: Any,
                         asc0: np.ndarray, asc1: np.ndarray, opts: CourseOptions, *,
                         relapses_given: bool, codes: np.ndarray | None = None,
                         relapse_codes: np.ndarray | None = None) -> np.ndarray:
    """:func:`attribution_reasons` on the events' columns as arrays. ``codes`` and
    ``relapse_codes``: the events' and the relapses' subjects as positions in ``subjects``
    when the caller has them [None: looked up]."""
    out = np.full(len(events["subject"]), "", dtype=object)
    is_cdw = events["event_type"] == "CDW"
    if not is_cdw.any():
        return out
    cls_all = events["cdw_class"]
    out[is_cdw & (cls_all == "not_classified")] = "attribution off (option attribution=False)"
    rows = np.flatnonzero(is_cdw & (cls_all != "not_classified"))
    if not relapses_given:
        out[rows] = ("relapses were not given, so relapse activity is unknown (pass the "
                     "relapses, or an empty table when none occurred)")
        return out
    if codes is None:
        codes = index_positions(subjects, events["subject"])
    code = codes[rows]
    cls = cls_all[rows]
    onset = _day_numbers(events["onset_date"])[rows]
    ref = _day_numbers(events["reference_date"])[rows]
    conf = _day_numbers(events["confirmation_date"])[rows]
    rcode = (relapse_codes if relapse_codes is not None
             else index_positions(subjects, rel.subject))
    ra, rb, labels = rel.a, rel.b, rel.label
    before, after = opts.relapse_assoc
    ind = opts.relapse_indep
    # the RAW window [w0, w1] around the onset; the PIRA windows span [lo, hi]
    w0 = onset - (before if before is not None else np.inf)
    w1 = onset + (after if after is not None else 0)
    lo = np.minimum.reduce([ref - (ind.prec[0] or 0), onset - (ind.event[0] or 0),
                            conf - (ind.conf[0] or 0)])
    hi = np.maximum.reduce([ref + (ind.prec[1] or 0), onset + (ind.event[1] or 0),
                            conf + (ind.conf[1] or 0)])
    if any(v is None for v in (*ind.prec, *ind.event, *ind.conf)):
        lo, hi = np.minimum(lo, ref), np.maximum(hi, conf)
    by_onset = DayIndex.of(rcode, ra)
    reach = float(np.max(rb - ra)) if len(ra) else 0.0
    n = len(rows)

    # the relapses that may overlap the RAW window [w0, w1] or the PIRA windows [lo, hi],
    # searched once for both (an open start reaches every relapse of the subject)
    e_near, j_near = by_onset.pairs(code, np.maximum(np.minimum(w0, lo) - reach, -_OPEN),
                                    np.minimum(np.maximum(w1, hi), _OPEN))

    def overlapping(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(event, relapse) pairs, relapses of the event's subject overlapping [start, end]
        (relapses in onset order)."""
        keep = (ra[j_near] <= end[e_near]) & (rb[j_near] >= start[e_near])
        return e_near[keep], j_near[keep]

    def last_of(e: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Per event, the last relapse of its pairs (-1: none)."""
        found = np.full(n, -1, np.int64)
        np.maximum.at(found, e, j)
        return found

    def first_of(e: np.ndarray, j: np.ndarray) -> np.ndarray:
        found = np.full(n, len(ra), np.int64)
        np.minimum.at(found, e, j)
        return np.where(found == len(ra), -1, found)

    e, j = overlapping(w0, w1)
    near = last_of(e, j)
    inside = (ra[j] >= w0[e]) & (rb[j] <= w1[e])
    near_inside = last_of(e[inside], j[inside])
    e, j = overlapping(lo, hi)
    n_hit = np.bincount(e, minlength=n)
    imprecise = ra[j] != rb[j]
    first_imprecise = first_of(e[imprecise], j[imprecise])
    hits: dict[int, list[int]] = {}
    for ei, ji in zip(e.tolist(), j.tolist(), strict=True):
        hits.setdefault(ei, []).append(ji)
    a0, a1 = asc0[code], asc1[code]
    covered = (a0 <= lo) & (a1 >= hi)
    # the four day columns written as text in one conversion (numpy's per call cost is
    # most of it on a patient's few events)
    lo_txt, hi_txt, a0_txt, a1_txt = _iso_days(np.concatenate([lo, hi, a0, a1])).reshape(4, n)
    reasons = []
    for i, c in enumerate(cls.tolist()):
        if c == "RAW":
            k = near_inside[i] if near_inside[i] >= 0 else near[i]
            days = int(onset[i] - rb[k])
            reasons.append(f"relapse {labels[k]} began {days} days before the worsening's "
                           f"onset (RAW window: {before:g} days before to {after:g} after)")
        elif c == "unknown" and near[i] >= 0:
            reasons.append(f"relapse onset {labels[near[i]]} is imprecise and may or may not "
                           f"fall in the RAW window ({before:g} days before the onset to "
                           f"{after:g} after)")
        elif c == "PIRA":
            reasons.append(f"no relapse from {lo_txt[i]} to {hi_txt[i]} (the PIRA windows "
                           f"around reference, onset and confirmation); relapses ascertained "
                           f"{a0_txt[i]} to {a1_txt[i]}")
        elif c == "undefined":
            shown = ", ".join(str(labels[k]) for k in hits.get(i, [])[:3])
            reasons.append(f"relapse {shown} falls in the PIRA windows of every confirmation, "
                           "but none in the RAW window")
        elif n_hit[i] and first_imprecise[i] >= 0:
            reasons.append(f"relapse onset {labels[first_imprecise[i]]} is imprecise and may "
                           f"fall in a PIRA window ({lo_txt[i]} to {hi_txt[i]})")
        elif not covered[i]:
            reasons.append(f"relapse follow-up ({a0_txt[i]} to {a1_txt[i]}) does not cover the "
                           f"PIRA windows ({lo_txt[i]} to {hi_txt[i]})")
        else:
            reasons.append("relapses in the PIRA windows leave the class open")
    out[rows] = np.array(reasons, dtype=object)
    return out


_OPEN = float(1 << 20)  # days: an open window end reaches every relapse (within a day key)


def _iso_days(days: np.ndarray) -> np.ndarray:
    """:func:`_iso` of each day number (an object array)."""
    out = np.where(days > 0, "open end", "open start").astype(object)
    ok = np.isfinite(days)
    out[ok] = np.datetime_as_string(_EPOCH + days[ok].astype(np.int64), unit="D").astype(object)
    return out


def _iso(day: float) -> str:
    if not np.isfinite(day):
        return "open end" if day > 0 else "open start"
    return str(_EPOCH + np.int64(day))


@dataclass
class _Relapses:
    """Counted relapses as onset intervals in day numbers, with their onset in words."""

    subject: np.ndarray
    a: np.ndarray
    b: np.ndarray
    label: np.ndarray

    def take(self, rows: np.ndarray) -> _Relapses:
        return _Relapses(self.subject[rows], self.a[rows], self.b[rows], self.label[rows])


def _dropped_rows(table: pd.DataFrame, rows: np.ndarray, subject: str, date: str,
                  reason: str) -> pd.DataFrame:
    """Visits left out (``rows``: positions in the visits table), with the reason."""
    return pd.DataFrame({"row": rows, "subject": column_numpy(table, subject)[rows],
                         "date": column_numpy(table, date)[rows], "reason": reason})


def _practice_effect(table: pd.DataFrame, rows: np.ndarray, subject: str, value: str,
                     n_first: int, sign: int, dropped_parts: list[pd.DataFrame], date: str
                     ) -> np.ndarray:
    """Keep only the best of the first ``n_first`` administrations, so the reference starts
    there and the search starts at the next one (rules §2.2, msclinical cogworse).
    ``rows``: visits sorted by subject and date; returns the rows kept."""
    code = pd.factorize(column_numpy(table, subject)[rows])[0]
    n = len(rows)
    new = np.ones(n, bool)
    new[1:] = code[1:] != code[:-1]
    pos = np.arange(n) - np.maximum.accumulate(np.where(new, np.arange(n), 0))
    early = np.flatnonzero(pos < n_first)
    # best = lowest time (worsening = increase) or highest score (worsening = decrease); the
    # earlier one on a tie
    score = _floats(table, value)[rows[early]] * sign
    order = early[np.lexsort((early, score, code[early]))]
    first = np.ones(len(order), bool)
    first[1:] = code[order][1:] != code[order][:-1]
    drop = np.zeros(n, bool)
    drop[early] = True
    drop[order[first]] = False
    if drop.any():
        dropped_parts.append(_dropped_rows(table, rows[drop], subject, date,
                                           "practice effect: not the best of the first "
                                           f"{n_first} administrations"))
    return rows[~drop]


def _ascertainment(asc: Any, subjects: Any, dates: np.ndarray, vstart: np.ndarray,
                   vend: np.ndarray, lookback: float, ro: ReadOptions
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Relapse ascertainment per subject: the table's periods, else first visit - lookback to
    the last visit (rules §2.7.2)."""
    n = len(subjects)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    a0 = dates[vstart] - lookback
    a1 = dates[vend - 1]
    if asc is not None:
        table = bare(ensure_table(asc, "followup", ro))
        idx = pd.Index(subjects).get_indexer(table["subject"])
        ok = idx >= 0
        a0 = a0.copy()
        a1 = a1.copy()
        a0[idx[ok]] = _day_numbers(table["start"][ok])
        end = table["end"][ok] if "end" in table.columns else pd.Series(pd.NaT, index=[])
        a1[idx[ok]] = np.where(end.isna().to_numpy(), np.inf, _day_numbers(end))
    return a0.astype(np.float64), a1.astype(np.float64)


def _to_dates(days: np.ndarray) -> np.ndarray:
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(days)
    out[ok] = (_EPOCH + days[ok].astype(np.int64)).astype("datetime64[ns]")
    return out


def _columns_of(events: pd.DataFrame) -> dict[str, np.ndarray]:
    """An events table's columns as arrays (``events[c].to_numpy()``), for the functions that
    read them."""
    return {str(c): column_numpy(events, c) for c in events.columns}


def _with_columns(columns: dict[str, Any], after: dict[str, tuple[str, Any]],
                  before: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """``columns`` with new ones placed after / before the named ones."""
    out: dict[str, Any] = {}
    for c, v in columns.items():
        if c in before:
            out[before[c][0]] = before[c][1]
        out[c] = v
        if c in after:
            out[after[c][0]] = after[c][1]
    return out


def _event_columns(res: Any, subjects: Any, vstart: np.ndarray, vend: np.ndarray,
                   dates: np.ndarray, opts: CourseOptions, digest: str
                   ) -> tuple[dict[str, Any], np.ndarray]:
    """The events table's columns, and each event's subject as its position in
    ``subjects`` (int64)."""
    rows, esubj = res.event_rows()
    vs = vstart[esubj]
    etype = res.ev_type[rows]
    is_cdi = etype == K.CDI
    onset = res.ev_onset[rows]
    conf = res.ev_conf[rows]
    conf_any = np.where(conf >= 0, conf, np.iinfo(np.int64).max).min(axis=1) if len(rows) \
        else np.zeros(0, np.int64)
    has_conf = conf_any != np.iinfo(np.int64).max
    by = res.ev_by[rows]
    c1 = np.where(has_conf, conf_any, onset)
    c1_day = dates[vs + c1]
    c1_val = res.ev_onset_val[rows]
    if len(rows):
        conf_val = res.ev_conf_val[rows]
        pick = np.argmax(conf == conf_any[:, None], axis=1)
        c1_val = np.where(has_conf, conf_val[np.arange(len(rows)), pick], res.ev_onset_val[rows])
    pconf = res.ev_pconf[rows]
    p_any = np.where(pconf >= 0, pconf, np.iinfo(np.int64).max).min(axis=1) if len(rows) \
        else np.zeros(0, np.int64)
    is_pira = etype == K.PIRA
    p_idx = np.where(p_any == np.iinfo(np.int64).max, onset, p_any)
    pira_day = np.where(is_pira, dates[vs + p_idx], np.nan)
    sust = res.ev_sust[rows]
    n_v = (vend - vstart)[esubj]
    event_n = (np.arange(len(esubj)) - np.searchsorted(esubj, esubj) + 1) if len(esubj) \
        else np.zeros(0, np.int64)
    cls = _CLASS_LABELS[etype]
    # the five date columns converted from day numbers at once
    onset_date, reference_date, confirmation_date, pira_date, sustained_date = _to_dates(
        np.array([dates[vs + onset], dates[vs + res.ev_bl[rows]], c1_day, pira_day,
                  dates[vs + sust]], dtype=np.float64).reshape(5, len(rows)))
    return {
        "subject": np.asarray(subjects)[esubj],
        "event_n": event_n.astype(np.int64),
        "event_type": np.where(is_cdi, "CDI", "CDW").astype(object),
        "cdw_class": cls,
        "onset_date": onset_date,
        "onset_value": res.ev_onset_val[rows],
        "reference_date": reference_date,
        "reference_value": res.ev_bl_val[rows],
        "confirmation_date": confirmation_date,
        "confirmation_value": c1_val,
        "pira_confirmation_date": pira_date,
        "confirmed_by": _CONFIRMED_BY[by],
        "sustained_until_date": sustained_date,
        "sustained_to_last_visit": sust == n_v - 1,
        "days_from_first_visit": (dates[vs + onset] - dates[vs]).astype(np.int64),
        "rule_set": np.full(len(rows), opts.preset, dtype=object),
        "options_digest": np.full(len(rows), digest, dtype=object),
    }, esubj.astype(np.int64)


def _unconfirmed_frame(res: Any, subjects: Any, vstart: np.ndarray, vend: np.ndarray,
                       dates: np.ndarray, values: np.ndarray, dw: np.ndarray,
                       opts: CourseOptions, events: Mapping[str, np.ndarray],
                       codes: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """A worsening present at the last assessment and part of no confirmed event (rules §2.3),
    and the position in ``subjects`` of each row's subject. ``codes``: the events' subjects
    as positions in ``subjects``.

    The onset is the first visit of the final uninterrupted run of visits that meet the
    threshold against the reference in force at the end of the scan.
    """
    n = len(subjects)
    sgn = opts.worsening_sign
    tol = opts.threshold_tolerance
    nvis = vend - vstart
    bl = res.final_bl.astype(np.int64)
    # subjects whose reference is not their last visit (the last visit may be a worsening)
    s = np.flatnonzero((nvis >= 2) & (bl < nvis - 1))
    i_ref = vstart[s] + bl[s]
    last = vend[s] - 1
    ref = res.final_bl_val[s].astype(np.float64)
    # the threshold of the reference value in force (its visit's, unless it was moved)
    d = np.where(values[i_ref] == ref, dw[i_ref],
                 opts.worsening_delta(ref) if len(ref) else np.zeros(0))

    def worse(x: np.ndarray, who: np.ndarray) -> np.ndarray:
        if sgn > 0:
            return x - ref[who] >= d[who] - tol
        return x - ref[who] <= -d[who] + tol

    keep = worse(values[last], np.arange(len(s)))
    # not when the last visit belongs to a confirmed worsening from this reference: the last
    # CDW event of the subject, sustained to the last visit, from the reference's date
    if len(events["subject"]):
        cdw = np.flatnonzero(events["event_type"] == "CDW")
        last_cdw = np.full(n, -1, np.int64)
        np.maximum.at(last_cdw, codes[cdw], cdw)
        e = last_cdw[s]
        has = e >= 0
        e = np.where(has, e, 0)
        ref_day = _day_numbers(events["reference_date"])[e]
        to_last = np.asarray(events["sustained_to_last_visit"], bool)[e]
        keep &= ~(has & to_last & (ref_day == dates[i_ref]))
    s, i_ref, last, k = s[keep], i_ref[keep], last[keep], np.flatnonzero(keep)
    if not len(s):
        return copy_of(_no_unconfirmed()), s
    # onset: the first visit of the run of worse visits ending at the last one, after the
    # reference
    owner = np.repeat(np.arange(len(s)), last - i_ref)
    visit = i_ref[owner] + (np.arange(len(owner)) - np.repeat(np.cumsum(last - i_ref)
                                                              - (last - i_ref), last - i_ref)) + 1
    not_worse = ~worse(values[visit], k[owner])
    latest_not_worse = np.full(len(s), -1, np.int64)
    np.maximum.at(latest_not_worse, owner[not_worse], visit[not_worse])
    j = np.where(latest_not_worse >= 0, latest_not_worse + 1, i_ref + 1)
    return frame_of({
        "subject": np.asarray(subjects)[s],
        "onset_date": _to_dates(dates[j]),
        "onset_value": values[j].astype(float),
        "reference_date": _to_dates(dates[i_ref]),
        "reference_value": res.final_bl_val[s].astype(float),
        "last_visit_date": _to_dates(dates[last]),
    }, consolidate=True), s


@functools.cache
def _no_unconfirmed() -> pd.DataFrame:
    """The empty unconfirmed table (built once: an empty frame costs pandas a millisecond)."""
    frame = pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c.endswith("date") else float)
                          for c in _UNCONFIRMED_COLUMNS})
    frame["subject"] = frame["subject"].astype(object)
    return frame


_UNCONFIRMED_COLUMNS = ("subject", "onset_date", "onset_value", "reference_date",
                        "reference_value", "last_visit_date")


def _summary_frame(events: Mapping[str, np.ndarray], codes: np.ndarray, subjects: Any,
                   vstart: np.ndarray, vend: np.ndarray, dates: np.ndarray, res: Any,
                   unconfirmed: np.ndarray) -> pd.DataFrame:
    """One row per subject. ``codes``: the events' subjects as positions in ``subjects``;
    ``unconfirmed``: the positions of the subjects with an unconfirmed worsening."""
    n = len(subjects)
    n_events = len(events["subject"])
    et = events["event_type"]
    cl = events["cdw_class"]
    # per subject, the events of each kind (CDW, RAW, PIRA, undefined, unknown, CDI): one
    # count over (kind, subject)
    kind, e = np.nonzero(np.array([et == "CDW", cl == "RAW", cl == "PIRA", cl == "undefined",
                                   cl == "unknown", et == "CDI"], dtype=bool).reshape(6, n_events))
    counts = np.bincount(kind * n + codes[e], minlength=6 * n).astype(np.int64).reshape(6, n)
    seq = np.full(n, "", dtype=object)
    if n_events:
        labels = np.where(et == "CDI", "CDI", cl).astype(str)
        labels = np.where(labels == "not_classified", "CDW", labels)
        starts = np.searchsorted(codes, np.arange(n))
        ends = np.searchsorted(codes, np.arange(n), side="right")
        for s in np.flatnonzero(ends > starts):
            seq[s] = ", ".join(labels[starts[s]:ends[s]])
    first = dates[vstart] if n else np.zeros(0)
    last = dates[vend - 1] if n else np.zeros(0)
    has_unconf = np.zeros(n, bool)
    has_unconf[unconfirmed] = True
    final_ref = dates[vstart + res.final_bl.astype(np.int64)] if n else np.zeros(0)
    first_visit, last_visit, final_date = _to_dates(
        np.array([first, last, final_ref], dtype=np.float64).reshape(3, n))
    return frame_of({
        "subject": np.asarray(subjects),
        "n_visits": (vend - vstart).astype(np.int64),
        "first_visit": first_visit,
        "last_visit": last_visit,
        "follow_up_days": (last - first).astype(np.int64),
        "CDW": counts[0],
        "RAW": counts[1],
        "PIRA": counts[2],
        "undefined": counts[3],
        "unknown": counts[4],
        "CDI": counts[5],
        "event_sequence": seq,
        "unconfirmed_worsening": has_unconf,
        "final_reference_date": final_date,
        "final_reference_value": res.final_bl_val.astype(float),
    }, consolidate=True)
