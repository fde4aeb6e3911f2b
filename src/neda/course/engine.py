"""Native API: confirmed worsening / improvement events with RAW / PIRA attribution.

``confirmed_events(visits, relapses, options)`` takes tidy tables (one row per visit, one row
per relapse), applies the platform's relapse rules that the engine needs (pseudo-relapses,
the 30-day merge, imprecise onset dates as intervals), runs the compiled msprog-method scan
for all subjects at once, and returns events that carry their reference, onset,
confirmation, class and the option set that produced them (clinical rules §2).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..io import SCHEMAS, ReadOptions, check_subjects, ensure_table, is_validated
from ..rules._common import as_pandas
from ..rules.relapses import RelapseHygiene, RelapseOptions, onset_labels, relapse_hygiene
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


def _day_numbers(values: pd.Series) -> np.ndarray:
    return (values.to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64).astype(float)


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

    Returns
    -------
    CourseResult
    """
    opts = (options or CourseOptions()).validated()
    value = value or opts.outcome
    ro = _reading(read_options, subject, date)
    known = set(SCHEMAS["visits"].names)
    extra = {} if value in known else {value: "number"}
    if validconf:
        extra[validconf] = "flag"
    vis_table = _ensure_visits(visits, ro, value, extra)
    hygiene = _hygiene(relapses, vis_table, relapse_options, ro)
    subject, date = "subject", "date"
    dropped_parts: list[pd.DataFrame] = []

    vis = vis_table[[c for c in dict.fromkeys([subject, date, value, validconf]) if c]].copy()
    if subjects is not None:
        vis = vis[vis[subject].isin(list(subjects))]
    vis["_row"] = np.arange(len(vis))
    missing = vis[value].isna()
    if missing.any():
        dropped_parts.append(_dropped(vis[missing], subject, date, "missing value"))
        vis = vis[~missing]
    vis["_day"] = _day_numbers(vis[date])
    vis = vis.sort_values([subject, "_day", "_row"], kind="stable")

    # ---- relapses: the hygiene table (rules §3.1) as onset intervals (rules §2.7.2) ----
    if hygiene is not None:
        clean = hygiene.relapses
        rel = pd.DataFrame({subject: clean["subject"].to_numpy(),
                            "_a": _day_numbers(clean["onset_start"]),
                            "_b": _day_numbers(clean["onset_end"]),
                            "_label": onset_labels(clean)})
        episodes = hygiene.pseudo_episodes
        if len(episodes) and opts.exclude_pseudo_relapse_visits:
            ep = pd.DataFrame({subject: episodes["subject"].to_numpy(),
                               "_e0": _day_numbers(episodes["episode_start"]),
                               "_e1": _day_numbers(episodes["episode_end"])})
            hit = vis[[subject, "_day", "_row"]].merge(ep, on=subject)
            hit = hit[(hit["_day"] >= hit["_e0"]) & (hit["_day"] <= hit["_e1"])]
            inside = vis["_row"].isin(hit["_row"])
            if inside.any():
                dropped_parts.append(_dropped(vis[inside], subject, date,
                                              "assessed during a pseudo-relapse episode"))
                vis = vis[~inside]
    else:
        rel = pd.DataFrame({subject: pd.Series([], dtype=vis[subject].dtype),
                            "_a": np.zeros(0), "_b": np.zeros(0),
                            "_label": np.zeros(0, dtype=object)})
    rel = rel.sort_values([subject, "_a"], kind="stable")

    # ---- practice effect for cognitive / dexterity tests (rules §2.2) ----
    if opts.outcome in ("sdmt", "nhpt") and opts.practice_effect_visits > 1:
        vis = _practice_effect(vis, subject, value, opts.practice_effect_visits,
                               opts.worsening_sign, dropped_parts, date)

    # ---- flat arrays ----
    codes, subjects = pd.factorize(vis[subject], sort=False)
    codes = codes.astype(np.int64)
    n_subj = len(subjects)
    vstart, vend = offsets(codes, n_subj)
    dates = vis["_day"].to_numpy(np.float64)
    values = vis[value].to_numpy(np.float64).copy()
    dw = opts.worsening_delta(values)
    di = opts.improvement_delta(values)
    vconf = (vis[validconf].fillna(False).astype(bool).to_numpy() if validconf
             else np.ones(len(vis), bool))

    rcodes_all = pd.Index(subjects).get_indexer(pd.Index(rel[subject])).astype(np.int64)
    known = rcodes_all >= 0
    rel = rel[known]
    rcodes_all = rcodes_all[known]
    att_a = rel["_a"].to_numpy(np.float64)
    att_b = rel["_b"].to_numpy(np.float64)
    astart, aend = offsets(rcodes_all, n_subj)
    # the engine ignores relapses long before follow-up (rules §2.3); attribution sees all
    first_day = dates[vstart[rcodes_all]] if len(rcodes_all) else np.zeros(0)
    keep = att_b >= first_day - opts.relapse_to_bl[0]
    eng_codes = rcodes_all[keep]
    rel_a = att_a[keep]
    rel_b = att_b[keep]
    rstart, rend = offsets(eng_codes, n_subj)

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
        conf_window_int=False,
    )
    if (res.err != K.ERR_NONE).any():
        raise RuntimeError(
            "the course engine could not process subject "
            f"{subjects[int(np.flatnonzero(res.err)[0])]!r} with these options"
        )
    relapse_record = hygiene.provenance if hygiene is not None else None
    digest = combined_digest(opts, relapse_record)
    events = _events_frame(res, subjects, vstart, vend, dates, opts, digest)
    scans = ensure_mri(mri, ro) if mri is not None else None
    events.insert(list(events.columns).index("confirmed_by"), "pira_mri",
                  pira_mri(events, scans, opts))
    events.insert(list(events.columns).index("cdw_class") + 1, "cdw_reason",
                  attribution_reasons(events, rel, subjects, asc0, asc1, opts,
                                      relapses_given=hygiene is not None))
    unconfirmed = _unconfirmed_frame(res, subjects, vstart, vend, dates, values, dw, opts,
                                     events)
    summary = _summary_frame(events, subjects, vstart, vend, dates, res, unconfirmed)
    dropped = (pd.concat(dropped_parts, ignore_index=True) if dropped_parts
               else pd.DataFrame(columns=["row", "subject", "date", "reason"]))
    provenance = {"rule_set": opts.preset, "options": opts.as_dict(),
                  "options_digest": digest, "course_options_digest": opts.digest(),
                  "relapses": relapse_record,
                  "relapse_data": "given" if hygiene is not None else "not given",
                  "engine": "neda.course (msprog method)"}
    for df in (events, summary, unconfirmed):
        df.attrs["provenance"] = provenance
    return CourseResult(events, summary, unconfirmed, dropped, opts, provenance,
                        relapse_options=hygiene.options if hygiene is not None else None)


def combined_digest(opts: CourseOptions, relapse_record: dict[str, Any] | None) -> str:
    """Fingerprint of every option that shaped the events: the engine's and relapse
    hygiene's, and whether relapse data were given at all."""
    blob = json.dumps({"course": opts.as_dict(),
                       "relapses": None if relapse_record is None
                       else relapse_record.get("options")}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def pira_mri(events: pd.DataFrame, mri: pd.DataFrame | None, opts: CourseOptions
             ) -> np.ndarray:
    """MRI overlay of PIRA events (rules §2.7.4; msclinical pirma; Müller 2023 PIRMA).

    ``mri``: a validated MRI table (:func:`neda.io.read_mri`: the contrast rule applied, so a
    Gd count without contrast is already unknown). Window [S0, cP]: S0 = reference (or
    onset) date, cP = PIRA confirmation date. A scan with a missing count is never evidence
    of no activity.
    """
    out = np.full(len(events), "", dtype=object)
    is_pira = (events["cdw_class"] == "PIRA").to_numpy()
    if mri is None:
        out[is_pira] = "not_assessed"
        return out
    if not is_pira.any():
        return out
    n = len(mri)
    nan = np.full(n, np.nan)
    gd = mri["gd"].to_numpy(np.float64) if "gd" in mri.columns else nan
    new = mri["new_t2"].to_numpy(np.float64) if "new_t2" in mri.columns else nan
    if "enlarging_t2" in mri.columns:
        # new + enlarging; an unknown part leaves the sum unknown (data model)
        new = new + mri["enlarging_t2"].to_numpy(np.float64)
    comparator = (mri["comparator_date"] if "comparator_date" in mri.columns
                  else pd.Series(pd.NaT, index=mri.index, dtype="datetime64[ns]"))
    scans = pd.DataFrame({"subject": mri["subject"].to_numpy(), "date": mri["date"].to_numpy(),
                          "comparator_date": comparator.to_numpy(), "gd": gd, "new_t2": new})
    ev = events.loc[is_pira, ["subject", "reference_date", "onset_date",
                              "pira_confirmation_date"]].copy()
    ev["_pos"] = np.flatnonzero(is_pira)
    ev["s0"] = ev["reference_date"] if opts.mri_window_start == "reference" else ev["onset_date"]
    if scans["subject"].dtype != ev["subject"].dtype:
        scans["subject"] = scans["subject"].astype(str)
        ev["subject"] = ev["subject"].astype(str)
    pairs = ev.merge(scans, on="subject", how="left")
    inside = (pairs["date"] >= pairs["s0"]) & (pairs["date"] <= pairs["pira_confirmation_date"])
    pairs = pairs[inside]
    lead = pd.Timedelta(days=opts.mri_comparator_lead_days)
    comp_ok = pairs["comparator_date"].notna()
    placed = comp_ok & (pairs["comparator_date"] >= pairs["s0"] - lead)
    gd_active = pairs["gd"] > 0
    t2_active = placed & (pairs["new_t2"] > 0)
    clean = (pairs["gd"] == 0) & comp_ok & (pairs["new_t2"] == 0)
    by_event = pd.DataFrame({"_pos": pairs["_pos"], "active": gd_active | t2_active,
                             "clean": clean}).groupby("_pos").agg(
        active=("active", "any"), clean=("clean", "all"), n=("clean", "size"))
    out[is_pira] = "MRI_unknown"
    pos = by_event.index.to_numpy()
    out[pos[by_event["active"].to_numpy(bool)]] = "PIRA_with_MRI_activity"
    ok = ~by_event["active"].to_numpy(bool) & by_event["clean"].to_numpy(bool) & (
        by_event["n"].to_numpy() > 0)
    out[pos[ok]] = "PIRMA"
    return out


def attribution_reasons(events: pd.DataFrame, rel: pd.DataFrame, subjects: Any,
                        asc0: np.ndarray, asc1: np.ndarray, opts: CourseOptions, *,
                        relapses_given: bool) -> np.ndarray:
    """Why each confirmed worsening got its class (rules §2.7.2), in words.

    RAW names the relapse; PIRA the relapse-free period checked and the ascertainment;
    undefined and unknown say what is missing. The class itself comes from the compiled
    engine; this only explains it.
    """
    out = np.full(len(events), "", dtype=object)
    is_cdw = (events["event_type"] == "CDW").to_numpy()
    if not is_cdw.any():
        return out
    cls = events["cdw_class"].to_numpy()
    idx = pd.Index(subjects)
    code = idx.get_indexer(events["subject"])
    onset = _day_numbers(events["onset_date"])
    ref = _day_numbers(events["reference_date"])
    conf = _day_numbers(events["confirmation_date"])
    rcode = idx.get_indexer(pd.Index(rel["subject"])) if len(rel) else np.zeros(0, np.int64)
    ra = rel["_a"].to_numpy(np.float64)
    rb = rel["_b"].to_numpy(np.float64)
    labels = rel["_label"].to_numpy(object)
    by_subject: dict[int, list[int]] = {}
    for j, c in enumerate(rcode.tolist()):
        by_subject.setdefault(c, []).append(j)
    before, after = opts.relapse_assoc
    ind = opts.relapse_indep

    def span(x: float) -> str:
        return _iso(x)

    for i in np.flatnonzero(is_cdw):
        c = cls[i]
        js = np.asarray(by_subject.get(int(code[i]), []), dtype=np.int64)
        if c == "not_classified":
            out[i] = "attribution off (option attribution=False)"
            continue
        if not relapses_given:
            out[i] = ("relapses were not given, so relapse activity is unknown (pass the "
                      "relapses, or an empty table when none occurred)")
            continue
        w0 = onset[i] - (before if before is not None else np.inf)
        w1 = onset[i] + (after if after is not None else 0)
        near = js[(ra[js] <= w1) & (rb[js] >= w0)] if js.size else js
        if c == "RAW":
            inside = near[(ra[near] >= w0) & (rb[near] <= w1)]
            j = int(inside[-1]) if inside.size else int(near[-1])
            days = int(onset[i] - rb[j])
            out[i] = (f"relapse {labels[j]} began {days} days before the worsening's onset "
                      f"(RAW window: {before:g} days before to {after:g} after)")
            continue
        if c == "unknown" and near.size:
            j = int(near[-1])
            out[i] = (f"relapse onset {labels[j]} is imprecise and may or may not fall in the "
                      f"RAW window ({before:g} days before the onset to {after:g} after)")
            continue
        lo = min(ref[i] - (ind.prec[0] or 0), onset[i] - (ind.event[0] or 0),
                 conf[i] - (ind.conf[0] or 0))
        hi = max(ref[i] + (ind.prec[1] or 0), onset[i] + (ind.event[1] or 0),
                 conf[i] + (ind.conf[1] or 0))
        if any(v is None for v in (*ind.prec, *ind.event, *ind.conf)):
            lo, hi = min(lo, ref[i]), max(hi, conf[i])
        hit = js[(ra[js] <= hi) & (rb[js] >= lo)] if js.size else js
        a0, a1 = asc0[code[i]], asc1[code[i]]
        covered = a0 <= lo and a1 >= hi
        if c == "PIRA":
            out[i] = (f"no relapse from {span(lo)} to {span(hi)} (the PIRA windows around "
                      f"reference, onset and confirmation); relapses ascertained "
                      f"{span(a0)} to {span(a1)}")
        elif c == "undefined":
            shown = ", ".join(str(labels[j]) for j in hit[:3])
            out[i] = (f"relapse {shown} falls in the PIRA windows of every confirmation, but "
                      "none in the RAW window")
        elif hit.size and (ra[hit] != rb[hit]).any():
            j = int(hit[ra[hit] != rb[hit]][0])
            out[i] = (f"relapse onset {labels[j]} is imprecise and may fall in a PIRA window "
                      f"({span(lo)} to {span(hi)})")
        elif not covered:
            out[i] = (f"relapse follow-up ({span(a0)} to {span(a1)}) does not cover the PIRA "
                      f"windows ({span(lo)} to {span(hi)})")
        else:
            out[i] = "relapses in the PIRA windows leave the class open"
    return out


def _iso(day: float) -> str:
    if not np.isfinite(day):
        return "open end" if day > 0 else "open start"
    return str(_EPOCH + np.int64(day))


def _dropped(df: pd.DataFrame, subject: str, date: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame({"row": df["_row"].to_numpy(), "subject": df[subject].to_numpy(),
                         "date": df[date].to_numpy(), "reason": reason})


def _practice_effect(vis: pd.DataFrame, subject: str, value: str, n_first: int, sign: int,
                     dropped_parts: list[pd.DataFrame], date: str) -> pd.DataFrame:
    """Keep only the best of the first ``n_first`` administrations, so the reference starts
    there and the search starts at the next one (rules §2.2, msclinical cogworse)."""
    pos = vis.groupby(subject, sort=False).cumcount().to_numpy()
    early = pos < n_first
    head = vis[early]
    # best = lowest time (worsening = increase) or highest score (worsening = decrease)
    score = head[value] * sign
    best_idx = score.groupby(head[subject], sort=False).idxmin()
    drop = early & ~vis.index.isin(best_idx.to_numpy())
    if drop.any():
        dropped_parts.append(_dropped(vis[drop], subject, date,
                                      "practice effect: not the best of the first "
                                      f"{n_first} administrations"))
    return vis[~drop]


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
        table = ensure_table(asc, "followup", ro)
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


def _events_frame(res: Any, subjects: Any, vstart: np.ndarray, vend: np.ndarray,
                  dates: np.ndarray, opts: CourseOptions, digest: str) -> pd.DataFrame:
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
    c1_val = np.where(has_conf, res.ev_onset_val[rows], res.ev_onset_val[rows])
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
    cls = np.array([CLASS_NAMES.get(int(t), "") for t in etype], dtype=object)
    cls[is_cdi] = ""
    out = pd.DataFrame({
        "subject": np.asarray(subjects)[esubj],
        "event_n": event_n.astype(np.int64),
        "event_type": np.where(is_cdi, "CDI", "CDW").astype(object),
        "cdw_class": cls,
        "onset_date": _to_dates(dates[vs + onset]),
        "onset_value": res.ev_onset_val[rows],
        "reference_date": _to_dates(dates[vs + res.ev_bl[rows]]),
        "reference_value": res.ev_bl_val[rows],
        "confirmation_date": _to_dates(c1_day),
        "confirmation_value": c1_val,
        "pira_confirmation_date": _to_dates(pira_day),
        "confirmed_by": np.select([by == K.CONFIRMED_BY_DEATH, by == K.CONFIRMED_BY_IMPUTATION],
                                  ["death", "imputation"], "visit").astype(object),
        "sustained_until_date": _to_dates(dates[vs + sust]),
        "sustained_to_last_visit": sust == n_v - 1,
        "days_from_first_visit": (dates[vs + onset] - dates[vs]).astype(np.int64),
        "rule_set": opts.preset,
        "options_digest": digest,
    })
    return out


def _unconfirmed_frame(res: Any, subjects: Any, vstart: np.ndarray, vend: np.ndarray,
                       dates: np.ndarray, values: np.ndarray, dw: np.ndarray,
                       opts: CourseOptions, events: pd.DataFrame) -> pd.DataFrame:
    """A worsening present at the last assessment and part of no confirmed event (rules §2.3).

    The onset is the first visit of the final uninterrupted run of visits that meet the
    threshold against the reference in force at the end of the scan.
    """
    n = len(subjects)
    out_rows = []
    sgn = opts.worsening_sign
    tol = opts.threshold_tolerance
    last_cdw_sust: dict[int, tuple[int, bool]] = {}
    if len(events):
        ev = events[events["event_type"] == "CDW"]
        for s_code, ref_date, to_last in zip(
            pd.Index(subjects).get_indexer(ev["subject"]), ev["reference_date"],
            ev["sustained_to_last_visit"], strict=True,
        ):
            last_cdw_sust[int(s_code)] = (int((np.datetime64(ref_date, "D") - _EPOCH)
                                              .astype(int)), bool(to_last))
    for s in range(n):
        i0, i1 = int(vstart[s]), int(vend[s])
        bl = int(res.final_bl[s])
        if i1 - i0 < 2 or bl >= i1 - i0 - 1:
            continue
        ref = res.final_bl_val[s]
        d = dw[i0 + bl] if values[i0 + bl] == ref else float(opts.worsening_delta(
            np.array([ref]))[0])
        def worse(x: float, ref: float = ref, d: float = d) -> bool:
            return bool(x - ref >= d - tol) if sgn > 0 else bool(x - ref <= -d + tol)
        if not worse(values[i1 - 1]):
            continue
        prev = last_cdw_sust.get(s)
        if prev is not None and prev[1] and prev[0] == int(dates[i0 + bl]):
            continue  # the last visit belongs to a confirmed worsening from this reference
        j = i1 - 1
        while j - 1 > i0 + bl and worse(values[j - 1]):
            j -= 1
        out_rows.append((subjects[s], dates[j], values[j], dates[i0 + bl], ref,
                         dates[i1 - 1]))
    cols = ["subject", "onset_date", "onset_value", "reference_date", "reference_value",
            "last_visit_date"]
    if not out_rows:
        frame = pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c.endswith("date")
                                           else float) for c in cols})
        frame["subject"] = frame["subject"].astype(object)
        return frame
    arr = list(zip(*out_rows, strict=True))
    return pd.DataFrame({
        "subject": list(arr[0]),
        "onset_date": _to_dates(np.array(arr[1], float)),
        "onset_value": np.array(arr[2], float),
        "reference_date": _to_dates(np.array(arr[3], float)),
        "reference_value": np.array(arr[4], float),
        "last_visit_date": _to_dates(np.array(arr[5], float)),
    })


def _summary_frame(events: pd.DataFrame, subjects: Any, vstart: np.ndarray, vend: np.ndarray,
                   dates: np.ndarray, res: Any, unconfirmed: pd.DataFrame) -> pd.DataFrame:
    n = len(subjects)
    idx = pd.Index(subjects)
    codes = idx.get_indexer(events["subject"]) if len(events) else np.zeros(0, np.int64)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n).astype(np.int64)

    et = events["event_type"].to_numpy()
    cl = events["cdw_class"].to_numpy()
    seq = np.full(n, "", dtype=object)
    if len(events):
        labels = np.where(et == "CDI", "CDI", cl).astype(str)
        labels = np.where(labels == "not_classified", "CDW", labels)
        starts = np.searchsorted(codes, np.arange(n))
        ends = np.searchsorted(codes, np.arange(n), side="right")
        for s in np.flatnonzero(ends > starts):
            seq[s] = ", ".join(labels[starts[s]:ends[s]])
    first = dates[vstart] if n else np.zeros(0)
    last = dates[vend - 1] if n else np.zeros(0)
    has_unconf = np.zeros(n, bool)
    if len(unconfirmed):
        has_unconf[idx.get_indexer(unconfirmed["subject"])] = True
    final_ref = np.array([dates[vstart[s] + res.final_bl[s]] for s in range(n)], float)
    return pd.DataFrame({
        "subject": np.asarray(subjects),
        "n_visits": (vend - vstart).astype(np.int64),
        "first_visit": _to_dates(first),
        "last_visit": _to_dates(last),
        "follow_up_days": (last - first).astype(np.int64),
        "CDW": count(et == "CDW"),
        "RAW": count(cl == "RAW"),
        "PIRA": count(cl == "PIRA"),
        "undefined": count(cl == "undefined"),
        "unknown": count(cl == "unknown"),
        "CDI": count(et == "CDI"),
        "event_sequence": seq,
        "unconfirmed_worsening": has_unconf,
        "final_reference_date": _to_dates(final_ref),
        "final_reference_value": res.final_bl_val.astype(float),
    })
