"""What the cohort analyses share: the grouping columns and the provenance of a summary.

Every analysis reads the tables :func:`neda.course_summary` computed (no clinical rule is
applied here again); this module only puts a group label on each patient or epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..rules.common import bare

MISSING_GROUP = "(missing)"
UNTREATED = "untreated"

# patient-level groups derived from the epochs table (each patient's first DMT epoch)
DERIVED_PATIENT_GROUPS = ("first_dmt", "first_dmt_efficacy")


def patient_groups(summary: Any, by: str | None) -> pd.Series:
    """One group label per patient (index: subject), from a column of ``summary.patients``
    or ``first_dmt`` / ``first_dmt_efficacy`` (the drug / efficacy of the first epoch,
    ``"untreated"`` without one). ``by=None``: every patient in group ``"all"``. A missing
    value is the group ``"(missing)"``, never dropped silently."""
    p = bare(summary.patients)
    subjects = pd.Index(p["subject"])
    if by is None:
        return pd.Series("all", index=subjects, name="group")
    if by in DERIVED_PATIENT_GROUPS:
        ep = bare(summary.epochs)
        col = "drug" if by == "first_dmt" else "efficacy"
        if len(ep) and col in ep.columns:
            first = ep.sort_values(["subject", "start", "epoch"]).drop_duplicates("subject")
            values = first.set_index("subject")[col].reindex(subjects)
        else:
            values = pd.Series(np.nan, index=subjects, dtype=object)
        return values.astype(object).where(values.notna(), UNTREATED).rename("group")
    if by not in p.columns:
        raise ValueError(_unknown_group(by, p, DERIVED_PATIENT_GROUPS))
    return _labels(pd.Series(p[by].to_numpy(), index=subjects)).rename("group")


# a column suggested for grouping has at most this many distinct values (sex, phenotype,
# therapy, efficacy class); any column of the patients table can be used
_FEW_GROUPS = 12


def _unknown_group(by: str, table: pd.DataFrame, derived: tuple[str, ...]) -> str:
    """The error for a grouping column that does not exist: the columns that make sensible
    groups (text or yes/no with a few values; not reasons, dates or identifiers) and the
    derived groups. Listing all ~130 summary columns buried the useful ones."""
    fit = []
    for c in table.columns:
        values = table[c]
        if (c == "subject" or "reason" in c or c.endswith(("_date", "_since", "_start", "_end"))
                or not (values.dtype == object or values.dtype == bool
                        or str(values.dtype) in ("boolean", "category", "string"))):
            continue
        if 1 < values.nunique(dropna=True) <= _FEW_GROUPS:
            fit.append(c)
    return (f"no column {by!r} to group patients by: columns that form groups here are "
            f"{', '.join(list(derived) + fit)} (any column of the course summary's patients "
            "table can be used: 'neda course -o DIR' writes it as patients.csv)")


def epoch_groups(summary: Any, by: str | None) -> pd.Series:
    """One group label per epoch row of ``summary.epochs`` (same index): an epochs column
    (``drug``, ``efficacy``, ``drug_class``, ``route``, ...) or a patient-level group (see
    :func:`patient_groups`); ``None``: all epochs in group ``"all"``."""
    ep = bare(summary.epochs)
    if by is None:
        return pd.Series("all", index=ep.index, name="group")
    if by in ep.columns and by != "subject":
        return _labels(ep[by]).rename("group")
    per_patient = patient_groups(summary, by)
    return pd.Series(per_patient.reindex(ep["subject"]).to_numpy(), index=ep.index,
                     name="group")


def _labels(values: pd.Series) -> pd.Series:
    """Group labels as text; missing values become ``"(missing)"``."""
    out = values.astype(object)
    return out.where(out.notna(), MISSING_GROUP).map(str)


def group_order(labels: Any) -> list[str]:
    """Groups in a stable order: by label, the missing group last."""
    seen = sorted({str(x) for x in labels if str(x) != MISSING_GROUP})
    return seen + ([MISSING_GROUP] if MISSING_GROUP in {str(x) for x in labels} else [])


def summary_provenance(summary: Any) -> dict[str, Any]:
    """Rule set and options digest of the course engine, and the NEDA rule set, of a summary:
    what every analysis result records."""
    from .. import __version__

    ev = bare(summary.events)
    neda = bare(summary.neda)
    p = bare(summary.patients)
    return {
        "neda_version": __version__,
        "rule_set": str(p["rule_set"].iloc[0]) if len(p) and "rule_set" in p.columns else None,
        # the digest the events carry: the engine's options, relapse hygiene's, and whether
        # relapses were given
        "options_digest": (summary.course_result.provenance.get("options_digest")
                           if summary.course_result is not None else
                           str(ev["options_digest"].iloc[0])
                           if len(ev) and "options_digest" in ev.columns else None),
        "neda_rule_set": (str(neda["rule_set"].iloc[0])
                          if len(neda) and "rule_set" in neda.columns else None),
        "relapse_data": (str(p["relapse_data"].iloc[0])
                         if len(p) and "relapse_data" in p.columns else None),
        "inputs": list((summary.provenance or {}).get("inputs", [])),
    }
