"""Table one: the patients at baseline, by group.

``table_one(summary, by=None)`` describes the patients of a :func:`neda.course_summary`
result: number of patients; age at onset, sex (when the patients table gives birth date, sex
and onset date); phenotype (the clinician's phenotype at diagnosis when given, else the
Lublin course neda derived, rules §6); disease duration at baseline; EDSS at baseline (the
first EDSS); follow-up; the annualised relapse rate over follow-up (per patient, rules
§4.6); and the relapse rate in the ``before_years`` (default 2) years before baseline,
counting the relapses recorded before the first visit (after relapse hygiene).

Baseline is the first visit. Continuous values: median (IQR, the 25th and 75th percentile),
with the number missing; categories: n (%) of the group, missing values as their own
category. ``by``: a column of ``summary.patients`` or ``first_dmt`` / ``first_dmt_efficacy``;
``None`` gives one column. The table has one row per line and one column per group, then
``all``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..rules.common import bare
from ._common import MISSING_GROUP, group_order, patient_groups, summary_provenance

YEAR_DAYS = 365.25


def _median_iqr(values: pd.Series, digits: int = 1) -> str:
    v = pd.to_numeric(values, errors="coerce")
    known = v.dropna()
    missing = int(v.isna().sum())
    if not len(known):
        return f"– (missing {missing})" if missing else "–"
    q1, med, q3 = np.percentile(known.to_numpy(dtype=float), [25, 50, 75])
    text = f"{med:.{digits}f} ({q1:.{digits}f}–{q3:.{digits}f})"
    return text + (f", missing {missing}" if missing else "")


def _count(mask: pd.Series, n: int) -> str:
    k = int(mask.sum())
    return f"{k} ({100 * k / n:.0f}%)" if n else "0"


def _years_between(later: Any, earlier: Any) -> pd.Series:
    return (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.days / YEAR_DAYS


def table_one(summary: Any, *, by: str | None = None, before_years: float = 2.0
              ) -> pd.DataFrame:
    """Table one of the cohort (module docstring); ``attrs`` keep the options and the
    provenance."""
    if before_years <= 0:
        raise ValueError(f"before_years {before_years}: a positive number of years")
    p = bare(summary.patients).reset_index(drop=True)
    group = patient_groups(summary, by).reset_index(drop=True)
    cols: dict[str, pd.Series] = {
        "edss_baseline": pd.to_numeric(p["edss_first"], errors="coerce"),
        "follow_up": pd.to_numeric(p["follow_up_years"], errors="coerce"),
        "arr": pd.to_numeric(p["arr"], errors="coerce"),
    }
    has = set(p.columns)
    if {"birth_date", "onset_date"} <= has:
        cols["age_onset"] = _years_between(p["onset_date"], p["birth_date"])
    if "onset_date" in has:
        cols["duration"] = _years_between(p["first_visit"], p["onset_date"])
    relapses_given = not ("relapse_data" in has and (p["relapse_data"] == "not given").any())
    if relapses_given:
        rel = bare(summary.relapses)
        first = pd.Series(pd.to_datetime(p["first_visit"]).to_numpy(), index=p["subject"])
        onset = pd.to_datetime(rel["onset_start"])
        fv = first.reindex(rel["subject"]).to_numpy()
        window = pd.Timedelta(days=before_years * YEAR_DAYS)
        inside = (onset.to_numpy() < fv) & (onset.to_numpy() >= fv - window)
        counts = pd.Series(rel["subject"].to_numpy()[inside]).value_counts()
        cols["arr_before"] = pd.Series(counts.reindex(p["subject"]).fillna(0).to_numpy()
                                       / before_years)
    phenotype_col = next((c for c in ("phenotype_at_diagnosis", "course")
                          if c in has and p[c].notna().any()), None)
    categories: dict[str, pd.Series] = {}
    if "sex" in has:
        categories["Sex"] = p["sex"]
    if phenotype_col is not None:
        categories[f"Phenotype ({phenotype_col})"] = p[phenotype_col]
    if "spms" in has:
        spms = p["spms"].astype(object)
        categories["Objective SPMS (Lorscheider 2016) by the last visit"] = spms.map(
            lambda v: "unknown" if v is None or v is pd.NA or v != v else
            ("yes" if bool(v) else "no"))
    # category levels of the whole cohort, so that every group has the same rows
    levels = {name: group_order(v.astype(object).where(v.notna(), MISSING_GROUP).map(str))
              for name, v in categories.items()}
    columns: dict[str, dict[str, str]] = {}
    order = [g for g in group_order(group) if g != "all"] if by is not None else []
    for g in [*order, "all"]:
        keep = (group == g).to_numpy() if g != "all" else np.ones(len(p), bool)
        n = int(keep.sum())
        sub = {k: v[keep] for k, v in cols.items()}
        rows: dict[str, str] = {"Patients, n": str(n)}
        if "age_onset" in sub:
            rows["Age at onset, years, median (IQR)"] = _median_iqr(sub["age_onset"])
        for name, values in categories.items():
            v = values.astype(object)[keep]
            text = v.where(v.notna(), MISSING_GROUP).map(str)
            for level in levels[name]:
                rows[f"{name}: {level}, n (%)"] = _count(text == level, n)
        if "duration" in sub:
            rows["Disease duration at baseline, years, median (IQR)"] = _median_iqr(
                sub["duration"])
        rows["EDSS at baseline, median (IQR)"] = _median_iqr(sub["edss_baseline"])
        rows["Follow-up, years, median (IQR)"] = _median_iqr(sub["follow_up"])
        if relapses_given:
            rows["ARR over follow-up, median (IQR)"] = _median_iqr(sub["arr"], 2)
            rows[f"ARR in the {before_years:g} years before baseline, median (IQR)"] = (
                _median_iqr(sub["arr_before"], 2))
        else:
            rows["ARR over follow-up"] = "relapses not given"
        columns[g] = rows
    labels = list(columns["all"])
    table = pd.DataFrame({g: [rows[label] for label in labels] for g, rows in columns.items()},
                         index=pd.Index(labels, name="characteristic"))
    table.attrs = {"by": by, "before_years": before_years, "baseline": "first visit",
                   "phenotype": phenotype_col, "provenance": summary_provenance(summary),
                   "not_shown": _not_shown(has)}
    return table


def _not_shown(has: set[str]) -> str | None:
    """One line saying which rows the data cannot give and what would give them (None: every
    row is shown)."""
    missing = []
    if not {"birth_date", "onset_date"} <= has:
        missing.append("age at onset (needs birth_date and onset_date)")
    if "onset_date" not in has:
        missing.append("disease duration (needs onset_date)")
    if "sex" not in has:
        missing.append("sex (needs sex)")
    if not missing:
        return None
    return (f"Not shown: {', '.join(missing)} - the patients table gives these columns "
            "(docs/data-model.md; 'neda cohort' commands: --patients or patients.csv in the "
            "folder).")
