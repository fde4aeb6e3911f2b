"""Time to a first event, Kaplan-Meier (lifelines), by any group.

``time_to_event(summary, event)`` turns the tables :func:`neda.course_summary` computed into
one row per patient (origin ``first_visit``) or per treatment epoch (origin ``epoch_start``):
the time in years from the origin to the first event, or to censoring. ``kaplan_meier(times)``
fits a Kaplan-Meier estimator per group (``lifelines.KaplanMeierFitter``, Kaplan & Meier, JASA
1958; Greenwood variance, exponential (log(-log)) confidence interval as lifelines computes
it) and gives the survival table, the numbers at risk and the median with its confidence
interval.

Events (each read from the course tables, never recomputed):

* ``cdw``: the first confirmed disability worsening (``summary.events``, event_type CDW);
  ``pira`` / ``raw``: the first CDW classified PIRA / RAW (the engine's classification).
* ``relapse``: the first relapse after relapse hygiene (``summary.relapses``, the earliest
  possible onset ``onset_start``).
* ``edss3``, ``edss4``, ``edss6`` (any ``edssX``): the first confirmed EDSS milestone, from
  :func:`neda.msprog.value_milestone` (the msprog method: reached out of the influence of
  relapses and confirmed, every value up to the confirmation still at the milestone;
  Montobbio et al., Mult Scler J 2024) on the visits and the hygiene-cleaned relapses,
  confirmed as the run's worsening is confirmed: the confirmation period and tolerance, the
  relapse windows around the event and the confirmation, sustained days and last-visit
  imputation of the summary's course options (``mueller2023``: 12 weeks, Müller et al., JAMA
  Neurol 2023; ``portaccio2025``: 24 weeks), so that a milestone and a worsening of one
  summary follow one definition.

Origin and censoring (explicit options):

* ``origin="first_visit"`` (default): time from the first visit; censored at the last visit
  (the last assessment). One row per patient.
* ``origin="epoch_start"``: time from the start of each DMT epoch; censored at the end of the
  epoch or the last visit, whichever is first. One row per epoch: a patient with several
  epochs is in several rows (each epoch its own "at risk" period). An event is counted in the
  epoch its date falls in (start excluded, censoring date included); events of the engine's
  whole follow-up are used as they are (the engine's reference may precede the epoch).
* A milestone is a state: a patient who reached it on or before the origin is not at risk and
  is left out (counted in ``attrs["excluded"]``); a worsening or relapse is looked for after
  the origin.
* An epoch that started before the patient's first visit enters the risk set at the first
  visit (delayed entry, ``entry_years``; lifelines ``entry``): the time before it was not
  observed. Its row is left out when its first event falls before the first visit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..rules.common import bare
from ._common import epoch_groups, group_order, patient_groups, summary_provenance

YEAR_DAYS = 365.25
EVENTS = ("cdw", "pira", "raw", "relapse", "edss3", "edss4", "edss6")
EVENT_LABELS = {"cdw": "confirmed disability worsening (CDW)", "pira": "PIRA",
                "raw": "RAW", "relapse": "relapse"}
_MILESTONE = re.compile(r"^edss(\d+(?:\.5)?)$")

Origin = Literal["first_visit", "epoch_start"]
EventDate = Literal["onset", "confirmation"]


def event_label(event: str) -> str:
    """The event in words (``edss6``: "confirmed EDSS >= 6")."""
    m = _MILESTONE.match(event)
    if m:
        return f"confirmed EDSS >= {m.group(1)}"
    return EVENT_LABELS[event]


def time_to_event(summary: Any, event: str = "cdw", *, origin: Origin = "first_visit",
                  by: str | None = None, event_date: EventDate = "onset") -> pd.DataFrame:
    """Time from the origin to the first ``event``, or to censoring (module docstring).

    Parameters
    ----------
    summary : a :class:`neda.summary.CourseSummary`.
    event : ``cdw``, ``pira``, ``raw``, ``relapse`` or ``edssX`` (X = 3, 4, 6, ... or 6.5).
    origin : ``first_visit`` (default) or ``epoch_start``.
    by : group column; with ``epoch_start`` an epochs column (default ``drug``) or a
        patient-level group; with ``first_visit`` a column of ``summary.patients`` or
        ``first_dmt`` / ``first_dmt_efficacy``; ``None``: one group.
    event_date : for worsening events, the date of the event: ``onset`` (default, the first
        visit of the worsening) or ``confirmation`` (the confirming visit).

    Returns one row per patient or epoch: ``subject`` (``epoch``), ``group``, ``origin_date``,
    ``end_date`` (event or censoring), ``observed``, ``years`` (origin to end) and
    ``entry_years`` (origin to the first visit when later: delayed entry, else 0);
    ``attrs`` say what was left out and why, the options and the provenance.
    """
    if origin not in ("first_visit", "epoch_start"):
        raise ValueError(f"origin {origin!r}: first_visit or epoch_start")
    if event_date not in ("onset", "confirmation"):
        raise ValueError(f"event_date {event_date!r}: onset or confirmation")
    dates, state = _event_dates(summary, event, event_date)
    p = bare(summary.patients)
    last_visit = pd.Series(pd.to_datetime(p["last_visit"]).to_numpy(),
                           index=pd.Index(p["subject"]))
    excluded: dict[str, int] = {}
    if origin == "first_visit":
        frame = pd.DataFrame({
            "subject": p["subject"].to_numpy(),
            "group": patient_groups(summary, by).to_numpy(),
            "origin_date": pd.to_datetime(p["first_visit"]).to_numpy(),
            "censor_date": last_visit.to_numpy(),
        })
    else:
        ep = bare(summary.epochs)
        if not len(ep):
            raise ValueError("origin epoch_start needs treatment epochs: give a treatments "
                             "table")
        by = "drug" if by is None else by
        end = pd.to_datetime(ep["end"]).to_numpy()
        lv = last_visit.reindex(ep["subject"]).to_numpy()
        censor = np.where(pd.isna(end) | (end > lv), lv, end)
        frame = pd.DataFrame({
            "subject": ep["subject"].to_numpy(), "epoch": ep["epoch"].to_numpy(),
            "group": epoch_groups(summary, by).to_numpy(),
            "origin_date": pd.to_datetime(ep["start"]).to_numpy(),
            "censor_date": pd.to_datetime(censor),
        })
        # an epoch that began before the first visit enters the risk set at the first visit
        # (delayed entry, left truncation): its earlier time was not observed
        first_visit = pd.Series(pd.to_datetime(p["first_visit"]).to_numpy(),
                                index=pd.Index(p["subject"]))
        frame["entry_date"] = np.maximum(frame["origin_date"].to_numpy(),
                                         first_visit.reindex(ep["subject"]).to_numpy())
        no_time = (frame["censor_date"] <= frame["entry_date"]).to_numpy()
        if no_time.any():
            excluded["epoch ended (or last visit) on or before its start"] = int(no_time.sum())
            frame = frame[~no_time]
    frame, first, reached = _first_after(frame, dates, state)
    if reached.any():
        excluded["milestone reached on or before the origin (not at risk)"] = int(reached.sum())
        frame, first = frame[~reached], first[~reached]
    if "entry_date" in frame.columns:
        early = (pd.notna(first) & (first <= frame["entry_date"].to_numpy()))
        if early.any():
            excluded["first event between the epoch start and the first visit (before "
                     "observation began)"] = int(early.sum())
            frame, first = frame[~early], first[~early]
    else:
        frame["entry_date"] = frame["origin_date"]
    observed = pd.notna(first) & (first <= frame["censor_date"].to_numpy())
    end_date = np.where(observed, first, frame["censor_date"].to_numpy())
    frame = frame.drop(columns="censor_date").assign(
        end_date=pd.to_datetime(end_date),
        observed=observed,
    )
    frame["years"] = (frame["end_date"] - frame["origin_date"]).dt.days / YEAR_DAYS
    frame["entry_years"] = (frame["entry_date"] - frame["origin_date"]).dt.days / YEAR_DAYS
    frame = frame.drop(columns="entry_date")
    frame = frame.reset_index(drop=True)
    frame.attrs = {
        "event": event, "event_label": event_label(event), "origin": origin,
        "by": by, "event_date": event_date, "excluded": excluded,
        "censoring": ("last visit" if origin == "first_visit"
                      else "end of the epoch or last visit, whichever is first"),
        "confirmation": milestone_confirmation(summary) if state else None,
        "provenance": summary_provenance(summary),
    }
    return frame


def _event_dates(summary: Any, event: str, event_date: EventDate
                 ) -> tuple[pd.DataFrame, bool]:
    """``subject``, ``date`` of every event of that kind; the flag says it is a state
    (a milestone: reached once, for good)."""
    if event in ("cdw", "pira", "raw"):
        ev = bare(summary.events)
        keep = (ev["event_type"] == "CDW").to_numpy()
        if event != "cdw":
            keep &= (ev["cdw_class"] == event.upper()).to_numpy()
        col = "onset_date" if event_date == "onset" else "confirmation_date"
        return pd.DataFrame({"subject": ev["subject"].to_numpy()[keep],
                             "date": pd.to_datetime(ev[col].to_numpy()[keep])}), False
    if event == "relapse":
        p = bare(summary.patients)
        if "relapse_data" in p.columns and (p["relapse_data"] == "not given").any():
            raise ValueError("time to relapse needs the relapses table (relapses were not "
                             "given: give --relapses, or --no-relapses if none occurred)")
        rel = bare(summary.relapses)
        return pd.DataFrame({"subject": rel["subject"].to_numpy(),
                             "date": pd.to_datetime(rel["onset_start"].to_numpy())}), False
    m = _MILESTONE.match(event)
    if m:
        return _milestone_dates(summary, float(m.group(1))), True
    raise ValueError(f"event {event!r}: one of {', '.join(EVENTS)} (or edssX, e.g. edss6.5)")


def milestone_options(summary: Any) -> Any:
    """The course options whose confirmation an EDSS milestone follows: the summary's run's
    (:class:`neda.course.CourseOptions`), else the msprog defaults (``msprog_defaults``)."""
    from ..course import CourseOptions

    run = getattr(summary, "course_result", None)
    options = getattr(run, "options", None)
    return options if options is not None else CourseOptions.from_preset("msprog_defaults")


def milestone_confirmation(summary: Any) -> str:
    """How a milestone was confirmed, in words (the methods paragraph)."""
    o = milestone_options(summary)
    before, after = o.conf_tol_days
    window = (f"at least {'/'.join(f'{d:g}' for d in o.conf_days)} days later"
              + (f" ({before:g} days earlier allowed)" if before else "")
              + ("" if after == np.inf else f", at most {after:g} days after that"))

    def no_relapse(days: tuple[float, ...], visit: str) -> str | None:
        before, after = (tuple(days) + (0,))[:2]
        if not before and not after:
            return None
        return (f"no relapse from {before:g} days before to {after:g} days after the {visit}"
                if after else f"no relapse in the {before:g} days before the {visit}")

    windows = [w for w in (no_relapse(o.relapse_to_event, "milestone visit"),
                           no_relapse(o.relapse_to_conf, "confirmation")) if w]
    return (f"EDSS milestones were confirmed as the worsening of definition '{o.preset}': at "
            f"a visit {window}, every value up to it still at the milestone"
            + (f", with {' and '.join(windows)}" if windows else "")
            + " (msprog value_milestone, Montobbio et al., Mult Scler J 2024).")


def _milestone_dates(summary: Any, milestone: float) -> pd.DataFrame:
    """Date each patient reached the confirmed EDSS milestone (none: not reached)."""
    from ..msprog.milestone import value_milestone

    vis = bare(summary._visits)
    data = pd.DataFrame({"subject": vis["subject"].to_numpy(), "date": vis["date"].to_numpy(),
                         "edss": vis["edss"].to_numpy(dtype=float)})
    relapses = None
    if len(summary.relapses):
        rel = bare(summary.relapses)
        relapses = pd.DataFrame({"subject": rel["subject"].to_numpy(),
                                 "date": pd.to_datetime(rel["onset_start"].to_numpy())})
    o = milestone_options(summary)
    # the relapse column names given also without relapses: msprog needs them then
    result = value_milestone(data, milestone, "subject", "edss", "date", "edss",
                             relapse=relapses, rsubj_col="subject", rdate_col="date",
                             conf_days=list(o.conf_days),
                             conf_tol_days=list(o.conf_tol_days),
                             relapse_to_event=list(o.relapse_to_event),
                             relapse_to_conf=list(o.relapse_to_conf),
                             require_sust_days=o.require_sust_days,
                             impute_last_visit=o.impute_last_visit)
    hit = result[result["observed"].to_numpy(dtype=bool)]
    return pd.DataFrame({"subject": hit.index.to_numpy(),
                         "date": pd.to_datetime(hit["date"].to_numpy())})


def _first_after(frame: pd.DataFrame, dates: pd.DataFrame, state: bool
                 ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Per row the first event date after its origin (NaT: none); for a state, also which
    rows had reached it on or before the origin."""
    frame = frame.reset_index(drop=True)
    n = len(frame)
    first = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    reached = np.zeros(n, bool)
    if not len(dates) or not n:
        return frame, first, reached
    rows = frame[["subject", "origin_date"]].reset_index().merge(dates, on="subject")
    if state:
        before = rows[rows["date"] <= rows["origin_date"]]
        reached[before["index"].to_numpy()] = True
    after = rows[rows["date"] > rows["origin_date"]]
    earliest = after.groupby("index")["date"].min()
    first[earliest.index.to_numpy()] = earliest.to_numpy()
    return frame, first, reached


@dataclass
class KaplanMeier:
    """Kaplan-Meier estimates per group (:func:`kaplan_meier`).

    ``survival``: per group and distinct time, numbers at risk, events, censored, the
    survival probability and its confidence interval; ``at_risk``: numbers at risk at
    ``times`` (years); ``medians``: per group n, events, median time and its confidence
    interval (``inf``: not reached); ``fitters``: the lifelines fitters, by group; ``times``:
    the input rows; ``attrs``: event, origin, censoring, exclusions, provenance."""

    survival: pd.DataFrame
    at_risk: pd.DataFrame
    medians: pd.DataFrame
    fitters: dict[str, Any] = field(repr=False)
    times: pd.DataFrame = field(repr=False)
    confidence: float = 0.95
    attrs: dict[str, Any] = field(default_factory=dict)

    def methods(self) -> str:
        """The methods paragraph of this analysis."""
        a = self.attrs
        unit = "patient" if a.get("origin") == "first_visit" else "treatment epoch"
        origin = ("the first visit" if a.get("origin") == "first_visit"
                  else "the start of each DMT epoch")
        grouped = f", by {a['by']}" if a.get("by") else ""
        excluded = "; ".join(f"{v} left out: {k}" for k, v in a.get("excluded", {}).items())
        return (
            f"Time to the first {a.get('event_label')} was estimated with the Kaplan-Meier "
            f"method (lifelines KaplanMeierFitter){grouped}, one row per {unit}, from "
            f"{origin}, censored at the {a.get('censoring')}. Event dates: "
            f"{a.get('event_date')} date of the event as computed by neda "
            f"(rule set {a.get('provenance', {}).get('rule_set')}, options "
            f"{a.get('provenance', {}).get('options_digest')}). {int(self.confidence * 100)}% "
            "confidence intervals: Greenwood variance, log(-log) transform; median with the "
            "lifelines interval (Brookmeyer-Crowley type, from the pointwise band)."
            + (f" {a['confirmation']}" if a.get("confirmation") else "")
            + (f" {excluded}." if excluded else ""))


def kaplan_meier(times: pd.DataFrame, *, confidence: float = 0.95,
                 at: tuple[float, ...] | None = None) -> KaplanMeier:
    """Kaplan-Meier per group of :func:`time_to_event` rows (``years``, ``observed``,
    ``group``).

    ``confidence``: level of the intervals (default 0.95). ``at``: times (years) for the
    numbers-at-risk table; default every whole year up to the longest follow-up (every
    second, third, ... year when that makes more than 11 columns).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence}: a level between 0 and 1, e.g. 0.95")
    if not len(times):
        raise ValueError("no patient or epoch at risk: nothing to estimate")
    if at is None:
        top = int(np.floor(times["years"].max()))
        step = max(1, -(-top // 10))
        at = tuple(float(t) for t in range(0, top + 1, step))
    survival, at_risk, medians, fitters = [], [], [], {}
    for group in group_order(times["group"]):
        rows = times[times["group"] == group]
        kmf = KaplanMeierFitter(alpha=1 - confidence)
        entry = rows["entry_years"] if "entry_years" in rows.columns else None
        kmf.fit(rows["years"], event_observed=rows["observed"], label=group,
                entry=entry if entry is not None and (entry > 0).any() else None)
        fitters[group] = kmf
        table = kmf.event_table
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        survival.append(pd.DataFrame({
            "group": group, "years": table.index.to_numpy(dtype=float),
            "at_risk": table["at_risk"].to_numpy(), "events": table["observed"].to_numpy(),
            "censored": table["censored"].to_numpy(),
            "survival": sf.reindex(table.index).to_numpy(),
            "ci_low": ci.iloc[:, 0].reindex(table.index).to_numpy(),
            "ci_high": ci.iloc[:, 1].reindex(table.index).to_numpy()}))
        years = rows["years"].to_numpy()
        entered = (rows["entry_years"].to_numpy() if "entry_years" in rows.columns
                   else np.zeros(len(rows)))
        at_risk.append({"group": group, **{f"{t:g}": int(((years >= t) & (entered <= t)).sum())
                                           for t in at}})
        mci = median_survival_times(kmf.confidence_interval_)
        medians.append({"group": group, "n": len(rows), "events": int(rows["observed"].sum()),
                        "median_years": float(kmf.median_survival_time_),
                        "ci_low": float(mci.iloc[0, 0]), "ci_high": float(mci.iloc[0, 1])})
    return KaplanMeier(
        survival=pd.concat(survival, ignore_index=True),
        at_risk=pd.DataFrame(at_risk), medians=pd.DataFrame(medians), fitters=fitters,
        times=times, confidence=confidence,
        attrs={str(k): v for k, v in times.attrs.items()})


def km_analysis(summary: Any, event: str = "cdw", *, origin: Origin = "first_visit",
                by: str | None = None, event_date: EventDate = "onset",
                confidence: float = 0.95, at: tuple[float, ...] | None = None
                ) -> KaplanMeier:
    """:func:`time_to_event` then :func:`kaplan_meier` (the options of both)."""
    times = time_to_event(summary, event, origin=origin, by=by, event_date=event_date)
    return kaplan_meier(times, confidence=confidence, at=at)
