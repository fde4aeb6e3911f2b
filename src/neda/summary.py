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

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .course import CourseOptions, confirmed_events
from .io import ReadOptions, Tables, read_tables
from .rules.arr import ArrOptions, annualised_relapse_rate
from .rules.dmt import DmtOptions, treatment_epochs
from .rules.edss import FS_SYSTEMS, EdssOptions, compute_edss
from .rules.monitoring import MonitoringOptions, monitoring_status, score_trends
from .rules.msfc import MsfcOptions, msfc_scores
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

    def describe(self) -> str:
        """The methods paragraph of the course engine, relapse hygiene included."""
        return self.course_result.describe() if self.course_result is not None else ""

    def patient(self, subject: Any = None) -> PatientCourse:
        """The structured summary of one patient (the only one, if there is one)."""
        ids = self.patients["subject"].tolist()
        if subject is None:
            if len(ids) != 1:
                raise ValueError(f"{len(ids)} patients in the data: name one with patient(id)")
            subject = ids[0]
        matches = [s for s in ids if str(s) == str(subject)]
        if not matches:
            raise ValueError(f"no patient {subject!r} in the data")
        s = matches[0]

        def rows(df: pd.DataFrame) -> pd.DataFrame:
            return df[df["subject"] == s].reset_index(drop=True)

        return PatientCourse(
            row=self.patients[self.patients["subject"] == s].iloc[0],
            events=rows(self.events), relapses=rows(self.relapses), epochs=rows(self.epochs),
            scores=rows(self.scores), visits=rows(self._visits), provenance=self.provenance,
            trends=rows(self.trends) if len(self.trends) else self.trends,
            assessments=rows(self.assessments) if len(self.assessments) else self.assessments,
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
    """
    opts = options or SummaryOptions()
    if visits is None:
        raise ValueError("course_summary needs a visits table (subject, date, edss)")
    tables = read_tables(read_options, visits=visits, relapses=relapses, mri=mri,
                         treatments=treatments, pros=pros, labs=labs, patients=patients,
                         followup=followup)
    return summarise(tables, options=opts, courses=courses)


def summarise(tables: Tables, *, options: SummaryOptions | None = None,
              courses: Any = None, progress: Any = None) -> CourseSummary:
    """:func:`course_summary` on tables already read by :func:`neda.io.read_tables`.

    ``progress``: optional callable ``(stage, done, total)`` told as each stage starts."""
    opts = options or SummaryOptions()
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
    first = vis.groupby("subject", sort=False)["date"].min()
    last = vis.groupby("subject", sort=False)["date"].max()
    followup = pd.DataFrame({"subject": first.index, "start": first.to_numpy(),
                             "end": last.to_numpy()})

    stage(2)
    epochs = (treatment_epochs(tr, opts.dmt) if tr is not None and len(tr)
              else pd.DataFrame(columns=["subject", "epoch", "drug", "route", "drug_class",
                                         "efficacy", "start", "onset", "end", "end_reason"]))
    stage(3)
    arr = annualised_relapse_rate(hygiene, followup, epochs if len(epochs) else None, opts.arr)
    rates = arr.rates

    stage(4)
    scores = (score_pros(pr, opts.pro) if pr is not None and len(pr)
              else pd.DataFrame(columns=["subject", "date", "instrument"]))

    stage(5)
    neda = (neda_status(vis, hygiene, scans, epochs, ascertainment=tables.followup,
                        options=opts.neda) if len(epochs) else None)
    stage(6)
    clinician = _clinician_courses(tables.patients, courses)
    phenotype = lublin_descriptors(vis, hygiene, scans, opts.phenotype, courses=clinician,
                                   ascertainment=tables.followup)
    stage(7)
    spms = objective_spms(vis, hygiene, opts.phenotype)

    stage(8)
    assessments = _assessments(vis, opts)
    trends = score_trends(assessments, scores if len(scores) else None)

    stage(9)
    as_of = pd.Timestamp(opts.as_of) if opts.as_of else None
    monitoring = monitoring_status(vis, hygiene, course.events, scans, tables.labs,
                                   epochs if len(epochs) else None, as_of=as_of,
                                   followup=tables.followup, options=opts.monitoring)

    stage(10)
    severity = (relapse_severity(hygiene, vis, opts.relapse) if hygiene is not None
                and len(hygiene.relapses) else None)
    relapses_out = _relapses_table(hygiene, recovery, severity)
    patients = _patients_table(vis, course, epochs, rates, scores, relapses_out, opts)
    patients = patients.merge(
        phenotype[["subject", "course", "activity", "activity_reason", "progression",
                   "progression_reason", "descriptor"]], on="subject", how="left")
    patients = patients.merge(
        spms[["subject", "spms", "spms_date", "reason"]].rename(columns={"reason": "spms_reason"}),
        on="subject", how="left")
    if tables.patients is not None:
        facts = [c for c in ("birth_date", "sex", "onset_date", "diagnosis_date",
                             "phenotype_at_diagnosis") if c in tables.patients.columns]
        if facts:
            patients = patients.merge(tables.patients[["subject", *facts]], on="subject",
                                      how="left")
    epochs_out = _epochs_table(epochs, rates, neda)
    patients = _with_current_neda(patients, neda)
    patients["relapse_data"] = "given" if hygiene is not None else "not given"
    patients = patients.merge(monitoring.drop(columns="rule_set"), on="subject", how="left")
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
        "monitoring": monitoring.attrs.get("provenance"),
        "inputs": [str(r.summary().splitlines()[0]) for r in tables.reports()],
    }
    return CourseSummary(patients, course.events, relapses_out, epochs_out, scores, provenance,
                         vis, neda if neda is not None else pd.DataFrame(),
                         dropped=course.dropped, course_result=course,
                         removed_relapses=hygiene.removed if hygiene is not None
                         else pd.DataFrame(), assessments=assessments,
                         scans=scans if scans is not None else pd.DataFrame(),
                         trends=trends)


_MSFC_INPUTS = ("t25fw", "nhpt", "nhpt_dominant", "nhpt_nondominant", "pasat", "sdmt")


def _assessments(vis: pd.DataFrame, opts: SummaryOptions) -> pd.DataFrame:
    """One row per visit: rated and computed EDSS (rules §1.5), timed tests, SDMT, MSFC (rules
    §7.1). The computed EDSS is a check of the rated one, never a replacement."""
    keep = [c for c in ("subject", "date", "edss", "t25fw", "nhpt", "sdmt") if c in vis.columns]
    out = vis[keep].reset_index(drop=True)
    record: dict[str, Any] = {}
    fs_given = [f"fs_{s}" for s in FS_SYSTEMS if f"fs_{s}" in vis.columns]
    if fs_given or "ambulation" in vis.columns:
        computed = compute_edss(vis.reset_index(drop=True), opts.edss)
        out["computed_edss"] = computed["computed_edss"].to_numpy()
        out["edss_mismatch"] = computed["mismatch"].to_numpy()
        out["edss_mismatch_reason"] = computed["mismatch_reason"].to_numpy()
        out["computed_edss_reason"] = computed["reason"].to_numpy()
        record["edss"] = computed.attrs.get("provenance")
    else:
        out["computed_edss"] = np.nan
        out["edss_mismatch"] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["edss_mismatch_reason"] = None
        out["computed_edss_reason"] = "no functional-system grades recorded"
    if any(c in vis.columns for c in _MSFC_INPUTS[:5]):
        msfc = msfc_scores(vis.reset_index(drop=True), opts.msfc)
        out["msfc"] = msfc["msfc"].to_numpy()
        out["msfc_reason"] = msfc["reason"].to_numpy()
        record["msfc"] = msfc.attrs.get("provenance")
    else:
        out["msfc"] = np.nan
        out["msfc_reason"] = "no MSFC component recorded"
    out.attrs["provenance"] = record
    return out


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


def _latest(vis: pd.DataFrame, col: str) -> pd.DataFrame:
    have = vis[vis[col].notna()] if col in vis.columns else vis.iloc[:0]
    g = have.groupby("subject", sort=False)
    return pd.DataFrame({f"{col}_first": g[col].first(), f"{col}_first_date": g["date"].first(),
                         f"{col}_latest": g[col].last(), f"{col}_latest_date": g["date"].last()})


def _patients_table(vis: pd.DataFrame, course: Any, epochs: pd.DataFrame, rates: pd.DataFrame,
                    scores: pd.DataFrame, rel: pd.DataFrame, opts: SummaryOptions
                    ) -> pd.DataFrame:
    s = course.summary.set_index("subject")
    out = pd.DataFrame(index=s.index)
    out["n_visits"] = s["n_visits"]
    out["first_visit"] = s["first_visit"]
    out["last_visit"] = s["last_visit"]
    out["follow_up_years"] = (s["follow_up_days"] / 365.25).round(2)
    out = out.join(_latest(vis, "edss"))
    for col in ("t25fw", "nhpt", "sdmt"):
        if col in vis.columns:
            out = out.join(_latest(vis, col)[[f"{col}_latest", f"{col}_latest_date"]])
    for col in ("CDW", "RAW", "PIRA", "undefined", "unknown", "CDI"):
        out[col] = s[col]
    ev = course.events
    pirma = ev[ev["pira_mri"] == "PIRMA"].groupby("subject").size()
    out["PIRMA"] = pirma.reindex(out.index).fillna(0).astype(int)
    out["unconfirmed_worsening"] = s["unconfirmed_worsening"]
    if len(rel):
        counts = rel.groupby("subject")["recovery"].value_counts().unstack(fill_value=0)
        for label in ("complete", "incomplete", "not_assessable"):
            have = counts[label] if label in counts.columns else pd.Series(dtype=int)
            out[f"relapses_recovery_{label}"] = have.reindex(out.index).fillna(0).astype(int)
    else:
        for label in ("complete", "incomplete", "not_assessable"):
            out[f"relapses_recovery_{label}"] = 0
    follow = rates[rates["window"] == "followup"].set_index("subject")
    # Int64: <NA> when relapses were not recorded (never 0 for missing data)
    out["relapses"] = follow["relapses"].reindex(out.index).astype("Int64")
    out["arr"] = follow["arr"].reindex(out.index)
    out["arr_status"] = follow["status"].reindex(out.index)
    # current therapy: the latest epoch, if it has not ended before the last contact
    as_of = (pd.Timestamp(opts.as_of) if opts.as_of else None)
    cur_drug = pd.Series(None, index=out.index, dtype=object)
    cur_since = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    if len(epochs):
        # the last epoch row as a whole (groupby().last() would skip a missing end date)
        latest = (epochs.sort_values(["subject", "start"])
                  .drop_duplicates("subject", keep="last").set_index("subject"))
        ref = out["last_visit"] if as_of is None else pd.Series(as_of, index=out.index)
        lat = latest.reindex(out.index)
        ongoing = lat["drug"].notna() & (lat["end"].isna() | (lat["end"] >= ref))
        cur_drug[ongoing] = lat.loc[ongoing, "drug"]
        cur_since[ongoing] = lat.loc[ongoing, "start"]
    out["current_dmt"] = cur_drug
    out["current_dmt_since"] = cur_since
    if len(scores) and "instrument" in scores.columns:
        for instrument, col in (("MFIS", "mfis_total"), ("FSS", "fss"),
                                ("MSWS-12v1", "msws12"), ("MSIS-29v1", "msis29_physical")):
            if col not in scores.columns:
                continue
            sub = scores[(scores["instrument"] == instrument) & scores[col].notna()]
            latest_score = sub.groupby("subject")[col].last()
            out[f"{col}_latest"] = latest_score.reindex(out.index)
    out = out.reset_index()
    out["rule_set"] = course.options.preset
    return out


_NEDA_KEEP = ["neda3", "neda3_reason", "neda4", "neda4_reason", "window_start", "window_end",
              "relapse", "relapse_reason", "disability", "disability_reason", "mri",
              "mri_reason", "bvl", "bvl_reason"]


def _latest_windows(neda: pd.DataFrame, window_type: str,
                    last_contact: pd.Series | None = None) -> pd.DataFrame:
    """The last window of each epoch: for per-year windows the latest one that ended by the
    last contact (a year still running is incomplete by construction), else the latest."""
    w = neda[neda["window_type"] == window_type].sort_values(["subject", "epoch", "window"])
    if last_contact is not None and len(w):
        done = w["window_end"] <= w["subject"].map(last_contact) + pd.Timedelta(days=1)
        latest_done = w[done].drop_duplicates(["subject", "epoch"], keep="last")
        rest = w.drop_duplicates(["subject", "epoch"], keep="last")
        rest = rest[~rest.set_index(["subject", "epoch"]).index.isin(
            latest_done.set_index(["subject", "epoch"]).index)]
        return pd.concat([latest_done, rest]).sort_values(["subject", "epoch"])
    return w.drop_duplicates(["subject", "epoch"], keep="last")


def _epochs_table(epochs: pd.DataFrame, rates: pd.DataFrame, neda: pd.DataFrame | None
                  ) -> pd.DataFrame:
    if not len(epochs):
        return epochs
    on = rates[rates["window"] == "on_treatment"][["subject", "epoch", "relapses",
                                                   "person_years", "arr", "status"]]
    on = on.rename(columns={"relapses": "relapses_on_treatment", "status": "arr_status"})
    out = epochs.merge(on, on=["subject", "epoch"], how="left")
    if neda is not None and len(neda):
        cum = _latest_windows(neda, "cumulative")[["subject", "epoch", *_NEDA_KEEP]]
        cum = cum.rename(columns={c: f"{c}_cumulative" for c in _NEDA_KEEP})
        out = out.merge(cum, on=["subject", "epoch"], how="left")
    return out


def _with_current_neda(patients: pd.DataFrame, neda: pd.DataFrame | None) -> pd.DataFrame:
    """NEDA on the current therapy: its latest treatment year and since it started."""
    cols = [f"{c}_{w}" for w in ("current_year", "since_start") for c in _NEDA_KEEP]
    if neda is None or not len(neda):
        for c in cols:
            patients[c] = None
        return patients
    current = patients[["subject", "current_dmt_since"]].dropna()
    last_contact = patients.set_index("subject")["last_visit"]
    out = patients
    for window_type, suffix in (("per_year", "current_year"), ("cumulative", "since_start")):
        w = _latest_windows(neda, window_type, last_contact if window_type == "per_year"
                            else None)
        w = w.merge(current, left_on=["subject", "epoch_start"],
                    right_on=["subject", "current_dmt_since"])[["subject", *_NEDA_KEEP]]
        out = out.merge(w.rename(columns={c: f"{c}_{suffix}" for c in _NEDA_KEEP}),
                        on="subject", how="left")
    return out


_RECOVERY_KEEP = ["edss_pre", "edss_pre_date", "edss_peak", "edss_peak_date", "edss_post",
                  "edss_post_date", "residual_deficit", "recovery", "reason",
                  "recovery_fraction", "fraction_clipped"]


def _relapses_table(hygiene: Any, recovery: pd.DataFrame | None,
                    severity: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per counted relapse (after hygiene) with its severity and recovery (rules §3.1,
    3.2, 3.3)."""
    if hygiene is None or not len(hygiene.relapses):
        return pd.DataFrame(columns=["subject", "relapse_n", "onset_start", "onset_end",
                                     "severity", "recovery"])
    clean = hygiene.relapses[["subject", "relapse_n", "onset_start", "onset_end", "precision",
                              "objective", "merged_from"]]
    assert recovery is not None
    rec = recovery[["subject", "relapse_n", *_RECOVERY_KEEP]].rename(
        columns={"reason": "recovery_reason"})
    out = clean.merge(rec, on=["subject", "relapse_n"], how="left")
    if severity is not None:
        sev = severity[["subject", "relapse_n", "severity", "severity_reason", "edss_change",
                        "severity_clinician"]]
        out = out.merge(sev, on=["subject", "relapse_n"], how="left")
    return out


# ------------------------------------------------------------------------------ one patient
def _fmt_date(d: Any) -> str:
    return "" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")


def _num(x: Any) -> Any:
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
    return [{c: _num(v) for c, v in zip(cols, row, strict=True)}
            for row in df[cols].itertuples(index=False)]


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

    def to_dict(self) -> dict[str, Any]:
        r = self.row
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
            "latest_scores": {k.replace("_latest", ""): _num(r[k]) for k in r.index
                              if k.endswith("_latest") and not k.startswith("edss")},
            "msfc": self._msfc(),
            "monitoring": self._monitoring(),
            "score_trends": _records(self.trends, [
                "measure", "label", "symptom", "latest", "latest_date", "previous",
                "previous_date", "change", "trend", "worse_when", "n_values"]),
            "plain_language": self.plain_language(),
            "rule_set": r["rule_set"],
        }

    def _msfc(self) -> dict[str, Any] | None:
        """The latest MSFC composite (rules §7.1), or why the latest visit has none."""
        a = self.assessments
        if not len(a) or "msfc" not in a.columns:
            return None
        have = a[a["msfc"].notna()]
        if len(have):
            last = have.iloc[-1]
            return {"latest": _num(last["msfc"]), "date": _fmt_date(last["date"]),
                    "reason": None}
        last = a.iloc[-1]
        return {"latest": None, "date": _fmt_date(last["date"]),
                "reason": _num(last.get("msfc_reason"))}

    def _monitoring(self) -> dict[str, Any] | None:
        """The last 12 months and what is due, relative to ``as_of`` (rules §14)."""
        r = self.row
        if "as_of" not in r.index:
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
                  f"- Last 12 months: activity **{ph['activity_last_year']}** "
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
        r = self.row
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
        if activity == "active":
            parts.append("In the last year the MS was active (a relapse or new MRI lesions).")
        elif activity == "not active":
            parts.append("In the last year there was no sign of MS activity (no relapse, no new "
                         "MRI lesions).")
        elif activity is not None:
            parts.append("Whether the MS was active in the last year cannot be said from the "
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
