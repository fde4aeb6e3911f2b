"""Native API: confirmed worsening / improvement events with RAW / PIRA attribution.

``confirmed_events(visits, relapses, options)`` takes tidy tables (one row per visit, one row
per relapse), applies the platform's relapse rules that the engine needs (pseudo-relapses,
the 30-day merge, imprecise onset dates as intervals), runs the compiled msprog-method scan
for all subjects at once, and returns events that carry their reference, onset,
confirmation, class and the option set that produced them (clinical spec section 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..rules._common import as_pandas
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
    "onset_date": "Date of the first visit of the confirmed change (onset).",
    "onset_value": "Outcome value at onset.",
    "reference_date": "Date of the reference (baseline) visit the change is measured from.",
    "reference_value": "Reference value.",
    "confirmation_date": "First confirmation visit (c1); the onset itself for death.",
    "confirmation_value": "Outcome value at c1.",
    "pira_confirmation_date": "For PIRA: the first confirmation visit free of relapses.",
    "pira_mri": "For PIRA: PIRMA, PIRA_with_MRI_activity, MRI_unknown; not_assessed without "
                "MRI input (spec 2.7.4).",
    "confirmed_by": "visit; death (option death_confirms); imputation (impute_last_visit).",
    "sustained_until_date": "Last visit at which the change was still present.",
    "sustained_to_last_visit": "Whether the change lasted to the last visit.",
    "days_from_first_visit": "Days from the subject's first visit to onset.",
    "rule_set": "Preset name of the options that produced the event.",
    "options_digest": "Fingerprint of every option value (see CourseResult.options).",
}


@dataclass
class CourseResult:
    """Output of :func:`confirmed_events`.

    ``events``: one row per confirmed event (columns in :data:`EVENT_COLUMNS`);
    ``summary``: one row per subject; ``unconfirmed``: a worsening present at the last visit
    but not (yet) confirmed (spec 2.3); ``dropped``: every input row left out on purpose,
    with the reason; ``options``: the options used (``options.describe()`` writes the
    methods paragraph).
    """

    events: pd.DataFrame
    summary: pd.DataFrame
    unconfirmed: pd.DataFrame
    dropped: pd.DataFrame
    options: CourseOptions
    provenance: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return self.options.describe()


def _to_pandas(df: Any) -> Any:
    """pandas as is, polars converted; None stays None."""
    return None if df is None else as_pandas(df)


_EPOCH = np.datetime64("1970-01-01", "D")


def _day_numbers(values: pd.Series) -> np.ndarray:
    return (values.to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64).astype(float)


_PARTIAL = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?\s*$")


def relapse_onset_intervals(onset: pd.Series, onset_end: pd.Series | None = None
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Onset interval [a, b] in day numbers for each relapse (spec 2.7.2).

    A full date gives a = b; ``"2024-03"`` the whole month; ``"2024"`` the whole year; an
    ``onset_end`` column gives an explicit range.
    """
    if pd.api.types.is_datetime64_any_dtype(onset):
        a = _day_numbers(onset)
        b = a.copy()
    else:
        a = np.empty(len(onset))
        b = np.empty(len(onset))
        for i, raw in enumerate(onset.astype(str).to_numpy()):
            m = _PARTIAL.match(raw)
            if not m:
                raise ValueError(f"relapse onset {raw!r} (row {i}) is not a date, a year-month "
                                 "(YYYY-MM) or a year (YYYY)")
            y, mo, d = m.group(1), m.group(2), m.group(3)
            if d is not None:
                day = np.datetime64(f"{y}-{int(mo):02d}-{int(d):02d}", "D")
                a[i] = b[i] = float((day - _EPOCH).astype(int))
            elif mo is not None:
                start = np.datetime64(f"{y}-{int(mo):02d}", "M")
                a[i] = float((start.astype("datetime64[D]") - _EPOCH).astype(int))
                b[i] = float(((start + 1).astype("datetime64[D]") - _EPOCH).astype(int)) - 1
            else:
                start_y = np.datetime64(y, "Y")
                a[i] = float((start_y.astype("datetime64[D]") - _EPOCH).astype(int))
                b[i] = float(((start_y + 1).astype("datetime64[D]") - _EPOCH).astype(int)) - 1
    if onset_end is not None:
        has_end = onset_end.notna().to_numpy()
        if has_end.any():
            end = _day_numbers(pd.to_datetime(onset_end[has_end]))
            b[has_end] = np.maximum(b[has_end], end)
    return a, b


def confirmed_events(
    visits: Any,
    relapses: Any = None,
    options: CourseOptions | None = None,
    *,
    subject: str | None = None,
    date: str = "date",
    value: str | None = None,
    relapse_date: str | None = None,
    relapse_date_end: str = "date_end",
    pseudo: str = "pseudo",
    ascertainment: Any = None,
    validconf: str | None = None,
    mri: Any = None,
    subjects: Any = None,
) -> CourseResult:
    """Confirmed disability worsening / improvement events for every subject.

    Parameters
    ----------
    visits : pandas or polars DataFrame with ``subject`` (default: a column named ``subject``,
        else ``id``), ``date`` and the outcome column (``value``; default: the option's
        outcome name, e.g. ``edss``). ``neda.io.read_visits`` returns such a table.
    relapses : DataFrame with ``subject`` and ``relapse_date`` (default ``date``) columns;
        optional ``date_end`` (end of an imprecise onset) and ``pseudo`` (True for a
        fever/infection pseudo-relapse). Onsets may be full dates, ``YYYY-MM`` or ``YYYY``.
    options : :class:`CourseOptions` [preset mueller2023].
    ascertainment : optional DataFrame (``subject``, ``start``, ``end``) giving the period in
        which relapses were recorded; default: first to last visit (spec 2.7.2).
    validconf : optional boolean column: visits that may confirm an event.
    mri : optional DataFrame of read scans (``docs/data-model.md``: ``subject``, ``date``,
        ``comparator_date``, ``contrast``, ``gd``, ``new_t2``, ``enlarging_t2``); when given,
        each PIRA event gets ``pira_mri``.
    subjects : optional list of subject identifiers to analyse (msprog ``subjects``).

    Returns
    -------
    CourseResult
    """
    opts = (options or CourseOptions()).validated()
    value = value or opts.outcome
    vis = _to_pandas(visits)
    if subject is None:
        # neda.io tables call it "subject"; msprog-style tables "id"
        subject = "subject" if "subject" in vis.columns else "id"
    for col in (subject, date, value):
        if col not in vis.columns:
            raise ValueError(f"visits table has no column {col!r} (columns: {list(vis.columns)})")
    dropped_parts: list[pd.DataFrame] = []

    vis = vis[[c for c in dict.fromkeys([subject, date, value, validconf]) if c]].copy()
    if subjects is not None:
        vis = vis[vis[subject].isin(list(subjects))]
    vis["_row"] = np.arange(len(vis))
    missing = vis[value].isna()
    if missing.any():
        dropped_parts.append(_dropped(vis[missing], subject, date, "missing value"))
        vis = vis[~missing]
    vis[date] = pd.to_datetime(vis[date])
    vis["_day"] = _day_numbers(vis[date])
    vis = vis.sort_values([subject, "_day", "_row"], kind="stable")
    dup = vis.duplicated([subject, "_day"], keep="last")
    if dup.any():
        dropped_parts.append(_dropped(vis[dup], subject, date,
                                      "same-day assessment; the last entered is kept"))
        vis = vis[~dup]

    # ---- relapses: intervals, pseudo-relapses, 30-day merge (spec 3.1, 2.7.2) ----
    rel = _to_pandas(relapses)
    rdate = relapse_date or date
    if rel is None or len(rel) == 0:
        rel = pd.DataFrame({subject: pd.Series([], dtype=vis[subject].dtype),
                            rdate: pd.Series([], dtype="datetime64[ns]")})
    for col in (subject, rdate):
        if col not in rel.columns:
            raise ValueError(f"relapses table has no column {col!r} "
                             f"(columns: {list(rel.columns)})")
    rel = rel.copy()
    ra, rb = relapse_onset_intervals(
        rel[rdate], rel[relapse_date_end] if relapse_date_end in rel.columns else None)
    rel["_a"] = ra
    rel["_b"] = rb
    is_pseudo = (rel[pseudo].fillna(False).astype(bool).to_numpy()
                 if pseudo in rel.columns else np.zeros(len(rel), bool))
    if is_pseudo.any() and opts.exclude_pseudo_relapse_visits:
        ep = rel[is_pseudo]
        ep_end = np.where(ep["_b"] > ep["_a"], ep["_b"], ep["_a"] + opts.pseudo_episode_days - 1)
        episodes = pd.DataFrame({subject: ep[subject].to_numpy(), "_e0": ep["_a"].to_numpy(),
                                 "_e1": ep_end})
        hit = vis[[subject, "_day", "_row"]].merge(episodes, on=subject)
        hit = hit[(hit["_day"] >= hit["_e0"]) & (hit["_day"] <= hit["_e1"])]
        inside = vis["_row"].isin(hit["_row"])
        if inside.any():
            dropped_parts.append(_dropped(vis[inside], subject, date,
                                          "assessed during a pseudo-relapse episode"))
            vis = vis[~inside]
    rel = rel[~is_pseudo].sort_values([subject, "_a"], kind="stable")
    rel = _merge_attacks(rel, subject, opts.relapse_merge_days)

    # ---- practice effect for cognitive / dexterity tests (spec 2.2) ----
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
    # the engine ignores relapses long before follow-up (spec 2.3); attribution sees all
    first_day = dates[vstart[rcodes_all]] if len(rcodes_all) else np.zeros(0)
    keep = att_b >= first_day - opts.relapse_to_bl[0]
    eng_codes = rcodes_all[keep]
    rel_a = att_a[keep]
    rel_b = att_b[keep]
    rstart, rend = offsets(eng_codes, n_subj)

    asc0, asc1 = _ascertainment(ascertainment, subjects, subject, dates, vstart, vend,
                                opts.history_lookback_days)
    if not opts.require_ascertainment:
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
    events = _events_frame(res, subjects, vstart, vend, dates, opts)
    events.insert(list(events.columns).index("confirmed_by"), "pira_mri",
                  pira_mri(events, _to_pandas(mri), opts, subject))
    unconfirmed = _unconfirmed_frame(res, subjects, vstart, vend, dates, values, dw, opts,
                                     events)
    summary = _summary_frame(events, subjects, vstart, vend, dates, res, unconfirmed)
    dropped = (pd.concat(dropped_parts, ignore_index=True) if dropped_parts
               else pd.DataFrame(columns=["row", "subject", "date", "reason"]))
    provenance = {"rule_set": opts.preset, "options": opts.as_dict(),
                  "options_digest": opts.digest(), "engine": "neda.course (msprog method)"}
    for df in (events, summary, unconfirmed):
        df.attrs["provenance"] = provenance
    return CourseResult(events, summary, unconfirmed, dropped, opts, provenance)


def pira_mri(events: pd.DataFrame, mri: pd.DataFrame | None, opts: CourseOptions,
             subject: str = "id") -> np.ndarray:
    """MRI overlay of PIRA events (spec 2.7.4; msclinical pirma; Müller 2023 PIRMA).

    Window [S0, cP]: S0 = reference (or onset) date, cP = PIRA confirmation date. A scan row
    with missing counts is never evidence of no activity.
    """
    out = np.full(len(events), "", dtype=object)
    is_pira = (events["cdw_class"] == "PIRA").to_numpy()
    if mri is None:
        out[is_pira] = "not_assessed"
        return out
    if not is_pira.any():
        return out
    scans = mri.rename(columns={subject: "subject"}).copy()
    for col in ("subject", "date"):
        if col not in scans.columns:
            raise ValueError(f"MRI table has no column {col!r} (columns: {list(mri.columns)})")
    scans["date"] = pd.to_datetime(scans["date"])
    for col in ("gd", "new_t2"):
        scans[col] = pd.to_numeric(scans[col], errors="coerce") if col in scans else np.nan
    if "enlarging_t2" in scans:
        # new + enlarging; an unknown part leaves the sum unknown (data model: docs)
        scans["new_t2"] = scans["new_t2"] + pd.to_numeric(scans["enlarging_t2"], errors="coerce")
    scans["comparator_date"] = (pd.to_datetime(scans["comparator_date"])
                                if "comparator_date" in scans else pd.NaT)
    scans["contrast"] = (scans["contrast"].fillna(False).astype(bool)
                         if "contrast" in scans else scans["gd"].notna())
    ev = events.loc[is_pira, ["subject", "reference_date", "onset_date",
                              "pira_confirmation_date"]].copy()
    ev["_pos"] = np.flatnonzero(is_pira)
    ev["s0"] = ev["reference_date"] if opts.mri_window_start == "reference" else ev["onset_date"]
    pairs = ev.merge(scans, on="subject", how="left")
    inside = (pairs["date"] >= pairs["s0"]) & (pairs["date"] <= pairs["pira_confirmation_date"])
    pairs = pairs[inside]
    lead = pd.Timedelta(days=opts.mri_comparator_lead_days)
    comp_ok = pairs["comparator_date"].notna()
    placed = comp_ok & (pairs["comparator_date"] >= pairs["s0"] - lead)
    gd_active = pairs["contrast"] & (pairs["gd"] > 0)
    t2_active = placed & (pairs["new_t2"] > 0)
    clean = (pairs["contrast"] & (pairs["gd"] == 0) & comp_ok & (pairs["new_t2"] == 0))
    by_event = pd.DataFrame({"_pos": pairs["_pos"], "active": gd_active | t2_active,
                             "clean": clean}).groupby("_pos").agg(
        active=("active", "any"), clean=("clean", "all"), n=("clean", "size"))
    out[is_pira] = "MRI_unknown"
    for pos, row in by_event.iterrows():
        if row["active"]:
            out[pos] = "PIRA_with_MRI_activity"
        elif row["clean"] and row["n"] > 0:
            out[pos] = "PIRMA"
    return out


def _dropped(df: pd.DataFrame, subject: str, date: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame({"row": df["_row"].to_numpy(), "subject": df[subject].to_numpy(),
                         "date": df[date].to_numpy(), "reason": reason})


def _merge_attacks(rel: pd.DataFrame, subject: str, merge_days: float) -> pd.DataFrame:
    """Attacks starting less than ``merge_days`` after the previous one are one relapse whose
    onset is the first (spec 3.1; McDonald 2001)."""
    if len(rel) < 2 or merge_days <= 0:
        return rel
    subj = rel[subject].to_numpy()
    a = rel["_a"].to_numpy()
    keep = np.ones(len(rel), bool)
    last_a = np.nan
    for i in range(len(rel)):
        if i > 0 and subj[i] == subj[i - 1] and a[i] - last_a < merge_days:
            keep[i] = False
            continue
        last_a = a[i]
    return rel[keep]


def _practice_effect(vis: pd.DataFrame, subject: str, value: str, n_first: int, sign: int,
                     dropped_parts: list[pd.DataFrame], date: str) -> pd.DataFrame:
    """Keep only the best of the first ``n_first`` administrations, so the reference starts
    there and the search starts at the next one (spec 2.2, msclinical cogworse)."""
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


def _ascertainment(asc: Any, subjects: Any, subject: str, dates: np.ndarray,
                   vstart: np.ndarray, vend: np.ndarray, lookback: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    n = len(subjects)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    a0 = dates[vstart] - lookback
    a1 = dates[vend - 1]
    if asc is not None:
        asc = _to_pandas(asc)
        idx = pd.Index(subjects).get_indexer(asc[subject])
        ok = idx >= 0
        a0 = a0.copy()
        a1 = a1.copy()
        a0[idx[ok]] = _day_numbers(pd.to_datetime(asc["start"][ok]))
        a1[idx[ok]] = _day_numbers(pd.to_datetime(asc["end"][ok]))
    return a0.astype(np.float64), a1.astype(np.float64)


def _to_dates(days: np.ndarray) -> np.ndarray:
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(days)
    out[ok] = (_EPOCH + days[ok].astype(np.int64)).astype("datetime64[ns]")
    return out


def _events_frame(res: Any, subjects: Any, vstart: np.ndarray, vend: np.ndarray,
                  dates: np.ndarray, opts: CourseOptions) -> pd.DataFrame:
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
        "options_digest": opts.digest(),
    })
    return out


def _unconfirmed_frame(res: Any, subjects: Any, vstart: np.ndarray, vend: np.ndarray,
                       dates: np.ndarray, values: np.ndarray, dw: np.ndarray,
                       opts: CourseOptions, events: pd.DataFrame) -> pd.DataFrame:
    """A worsening present at the last assessment and part of no confirmed event (spec 2.3).

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
