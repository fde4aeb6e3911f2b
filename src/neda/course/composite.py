"""EDSS-Plus: the first confirmed disability worsening on EDSS, T25FW or 9HPT.

EDSS-Plus (Cadavid et al., Mult Scler 2017; ASCEND) counts a confirmed disability worsening
(CDW) when at least one of the EDSS, the Timed 25-Foot Walk (T25FW, ≥20 %) or the 9-Hole Peg
Test (9HPT, ≥20 %, either hand and confirmed on the same hand) worsens; Kappos et al. (JAMA
Neurol 2020; OPERA I/II) call it confirmed disability accumulation (CDA) on ≥1 of the three
measures. The clinical spec (section 2.6, last paragraphs) fixes how it is computed here:

* the course engine (:func:`neda.course.confirmed_events`) runs **separately** for EDSS,
  T25FW, 9HPT dominant hand and 9HPT non-dominant hand with the **same preset** — each 9HPT
  hand is its own series, so a worsening on one hand can only be confirmed on that hand;
* the EDSS-Plus event is the confirmed CDW with the earliest onset; ties are broken by the
  earliest first confirmation visit (c1), then by the order of ``components`` [C];
* the event keeps that component's class (RAW / PIRA / undefined / unknown, rules §2.7.2) and,
  with MRI input, its PIRMA overlay (rules §2.7.4).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..io import SCHEMAS
from .engine import _ensure_visits, _hygiene, _reading, confirmed_events, ensure_mri
from .options import OUTCOME_DIRECTION, CourseOptions

#: Default EDSS-Plus components: column names of the data model (``docs/data-model.md``).
EDSS_PLUS_COMPONENTS = ("edss", "t25fw", "nhpt_dominant", "nhpt_nondominant")

#: Output columns of :func:`edss_plus` (``{component}_first_cdw_onset`` is added per component).
EDSS_PLUS_COLUMNS = {
    "subject": "Subject identifier.",
    "edss_plus_event": "True if any component has a confirmed worsening (CDW).",
    "component": "Component of the EDSS-Plus event (earliest CDW onset; ties: earliest c1, "
                 "then component order); empty without an event.",
    "cdw_class": "Class of that CDW in its own component run: RAW, PIRA, undefined, unknown "
                 "(not_classified without attribution).",
    "pira_mri": "For PIRA: PIRMA, PIRA_with_MRI_activity, MRI_unknown; not_assessed without MRI.",
    "reference_date": "Reference visit of the event (in its component).",
    "reference_value": "Component value at the reference visit.",
    "onset_date": "Onset of the EDSS-Plus event.",
    "onset_value": "Component value at onset.",
    "confirmation_date": "First confirmation visit (c1) of the event.",
    "confirmation_value": "Component value at c1.",
    "pira_confirmation_date": "For PIRA: the first relapse-free confirmation visit.",
    "components_worsened": "Components with at least one CDW, in component order.",
    "components_assessable": "Components with at least two assessments the engine used (a "
                             "reference and a later visit), in component order.",
    "unconfirmed_components": "Components whose last assessment is an unconfirmed worsening.",
    "first_assessment_date": "First date with any component assessed.",
    "last_assessment_date": "Last date with any component assessed (censoring date when there "
                            "is no event).",
    "rule_set": "Preset name of the options shared by every component run.",
    "options_digest": "Fingerprint of the component runs' option values (see attrs provenance).",
}

_TIE_RULE = ("earliest CDW onset; ties: earliest first confirmation visit (c1), then the order "
             "of the components argument (clinical rules §2.6 [C])")


def component_outcome(component: str) -> str:
    """The engine outcome of a component column: ``nhpt_*`` columns are 9HPT series."""
    if component.startswith("nhpt"):
        return "nhpt"
    if component in OUTCOME_DIRECTION:
        return component
    raise ValueError(
        f"component {component!r} has no course-engine outcome; use edss, t25fw, sdmt, nhpt or "
        "a column named nhpt_<hand> (e.g. nhpt_dominant, nhpt_nondominant)"
    )


def edss_plus(
    visits: Any,
    relapses: Any = None,
    options: CourseOptions | None = None,
    *,
    subject: str | None = None,
    components: Sequence[str] = EDSS_PLUS_COMPONENTS,
    mri: Any = None,
    ascertainment: Any = None,
) -> pd.DataFrame:
    """EDSS-Plus confirmed disability worsening, one row per subject.

    EDSS-Plus (Cadavid et al., Mult Scler 2017): a CDW on the EDSS, the T25FW (≥20 %) or the
    9HPT (≥20 %, either hand, confirmed on the same hand); Kappos et al. (JAMA Neurol 2020)
    use the same composite (CDA on ≥1 of EDSS, T25FW, 9HPT). Each available component column
    is run through :func:`neda.course.confirmed_events` with the same options (only the
    outcome changes: ``nhpt_*`` columns are 9HPT series, one per hand), and the EDSS-Plus
    event is the CDW with the earliest onset, ties broken by the earliest first confirmation
    visit, then by the order of ``components`` (clinical rules §2.6). The event keeps the class
    its component run gave it (rules §2.7.2) and its PIRMA overlay (rules §2.7.4).

    Parameters
    ----------
    visits : pandas or polars DataFrame, one row per visit: ``subject`` (default: a column
        named ``subject``, else ``id``), ``date`` and any of the component columns; a missing
        value means the test was not done at that visit.
    relapses, mri : as for :func:`neda.course.confirmed_events`; shared by every run
        (relapse hygiene runs once). ``relapses=None`` means relapses were not recorded:
        every event's class is then unknown; pass an empty table when none occurred.
    ascertainment : optional DataFrame (``subject``, ``start``, ``end``): the period in which
        relapses were recorded. Default: from the first to the last date on which any
        component was assessed (a clinical contact, rules §2.7.2; ``history_lookback_days``
        before the start), the same for every component run.
    options : :class:`CourseOptions` [preset mueller2023]; the ``outcome`` is set per
        component. Event modes ``first`` and ``firstCDI`` are rejected (they can stop a run at
        an improvement); the others give the first CDW of each run (``firstPIRA``: the first
        PIRA, i.e. an EDSS-Plus PIRA composite).
    components : component columns [edss, t25fw, nhpt_dominant, nhpt_nondominant]; columns
        absent from ``visits`` are skipped (at least one must be present).

    Returns
    -------
    pandas.DataFrame with the columns of :data:`EDSS_PLUS_COLUMNS` plus
    ``{component}_first_cdw_onset`` for each component run; subjects without a CDW have
    ``edss_plus_event = False`` and empty event columns. ``attrs["provenance"]`` records the
    definition, tie rule and every option value of each component run.
    """
    opts = (options or CourseOptions()).validated()
    if opts.event in ("first", "firstCDI"):
        raise ValueError(
            f"event={opts.event!r} can end a component run at a confirmed improvement; EDSS-Plus "
            "needs the first worsening: use event='multiple' or 'firstCDW' (or 'firstPIRA' / "
            "'firstRAW' for a class-specific composite)"
        )
    if isinstance(components, str):
        components = (components,)
    if len(set(components)) != len(components):
        raise ValueError(f"components must not repeat: {list(components)}")
    outcomes = {c: component_outcome(c) for c in components}
    ro = _reading(None, subject, None)
    known = set(SCHEMAS["visits"].names)
    vis = _ensure_visits(visits, ro, None, {c: "number" for c in components
                                              if c not in known})
    subject = "subject"
    # relapse hygiene once (rules §3.1), shared by every component run
    relapses = _hygiene(relapses, vis, None, ro)
    mri = ensure_mri(mri, ro) if mri is not None else None
    present = [c for c in components if c in vis.columns]
    if not present:
        raise ValueError(f"visits table has none of the components {list(components)} "
                         f"(columns: {list(vis.columns)})")

    subjects = pd.Index(pd.unique(vis[subject]))
    with contextlib.suppress(TypeError):  # mixed identifier types: order of first appearance
        subjects = subjects.sort_values()
    n = len(subjects)

    # one relapse-ascertainment interval for every component run (rules §2.7.2): first to last
    # date on which any component was assessed, so a later-starting test is not penalised
    assessed = vis[present].notna().any(axis=1).to_numpy()
    dates = pd.to_datetime(vis["date"])[assessed]
    span = dates.groupby(vis[subject][assessed].to_numpy()).agg(["min", "max"])
    if ascertainment is None:
        ascertainment = pd.DataFrame({
            "subject": span.index.to_numpy(),
            "start": (span["min"] - pd.Timedelta(days=opts.history_lookback_days)).to_numpy(),
            "end": span["max"].to_numpy(),
        })

    firsts: list[pd.DataFrame] = []
    onset_cols: dict[str, np.ndarray] = {}
    assessable: dict[str, np.ndarray] = {}
    unconfirmed: dict[str, np.ndarray] = {}
    runs: dict[str, dict[str, Any]] = {}
    for order, comp in enumerate(present):
        copts = opts.replace(outcome=outcomes[comp])
        onset_cols[comp] = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        assessable[comp] = np.zeros(n, bool)
        unconfirmed[comp] = np.zeros(n, bool)
        runs[comp] = {"column": comp, "outcome": copts.outcome, "rule_set": copts.preset,
                      "options_digest": copts.digest(), "options": copts.as_dict()}
        if not vis[comp].notna().any():
            continue
        res = confirmed_events(vis, relapses, copts, subject=subject, value=comp,
                               ascertainment=ascertainment, mri=mri)
        summ = res.summary
        seen = pd.Index(summ["subject"][summ["n_visits"] >= 2])
        assessable[comp][subjects.get_indexer(seen)] = True
        unconfirmed[comp][subjects.get_indexer(pd.Index(res.unconfirmed["subject"]))] = True
        cdw = res.events[res.events["event_type"] == "CDW"].copy()
        cdw["_s"] = subjects.get_indexer(pd.Index(cdw["subject"]))
        cdw = cdw.sort_values(["_s", "onset_date", "confirmation_date"], kind="stable")
        cdw = cdw.drop_duplicates("_s", keep="first")
        onset_cols[comp][cdw["_s"].to_numpy()] = cdw["onset_date"].to_numpy()
        cdw["component"] = comp
        cdw["_order"] = order
        firsts.append(cdw)

    keep = ["_s", "component", "cdw_class", "pira_mri", "reference_date", "reference_value",
            "onset_date", "onset_value", "confirmation_date", "confirmation_value",
            "pira_confirmation_date"]
    if firsts:
        allfirst = pd.concat([f[keep + ["_order"]] for f in firsts], ignore_index=True)
    else:
        allfirst = pd.DataFrame({c: pd.Series(dtype=object) for c in keep + ["_order"]})
    allfirst = allfirst.sort_values(["_s", "onset_date", "confirmation_date", "_order"],
                                    kind="stable").drop_duplicates("_s", keep="first")
    pos = allfirst["_s"].to_numpy(np.int64)

    out = pd.DataFrame({"subject": subjects.to_numpy()})
    has = np.zeros(n, bool)
    has[pos] = True
    out["edss_plus_event"] = has
    for col in ("component", "cdw_class", "pira_mri"):
        arr = np.full(n, "", dtype=object)
        arr[pos] = allfirst[col].to_numpy()
        out[col] = arr
    for col in ("reference", "onset", "confirmation"):
        d = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        d[pos] = allfirst[f"{col}_date"].to_numpy(dtype="datetime64[ns]")
        v = np.full(n, np.nan)
        v[pos] = allfirst[f"{col}_value"].to_numpy(dtype=float)
        out[f"{col}_date"] = d
        out[f"{col}_value"] = v
    d = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    d[pos] = allfirst["pira_confirmation_date"].to_numpy(dtype="datetime64[ns]")
    out["pira_confirmation_date"] = d

    out["components_worsened"] = _join_flags(
        {c: ~np.isnat(onset_cols[c]) for c in present}, n)
    out["components_assessable"] = _join_flags(assessable, n)
    out["unconfirmed_components"] = _join_flags(unconfirmed, n)

    for col, agg in (("first_assessment_date", "min"), ("last_assessment_date", "max")):
        d = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        d[subjects.get_indexer(span.index)] = span[agg].to_numpy(dtype="datetime64[ns]")
        out[col] = d
    for comp in present:
        out[f"{comp}_first_cdw_onset"] = onset_cols[comp]
    digest = hashlib.sha256(
        "|".join(f"{c}:{runs[c]['options_digest']}" for c in present).encode()
    ).hexdigest()[:12]
    out["rule_set"] = opts.preset
    out["options_digest"] = digest
    out.attrs["provenance"] = {
        "definition": "EDSS-Plus: first confirmed disability worsening on any of EDSS, T25FW "
                      "or 9HPT (each hand its own series, confirmed on the same hand)",
        "sources": ["Cadavid et al., Mult Scler 2017 (EDSS-Plus)",
                    "Kappos et al., JAMA Neurol 2020 (CDA on EDSS, T25FW or 9HPT)",
                    "clinical rules §2.2, 2.6"],
        "tie_rule": _TIE_RULE,
        "rule_set": opts.preset,
        "options_digest": digest,
        "components": runs,
        "components_missing": [c for c in components if c not in present],
        "engine": "neda.course (msprog method)",
    }
    return out


def _join_flags(flags: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Comma-separated names of the components flagged for each subject (vectorised)."""
    text = np.full(n, "", dtype=object)
    for comp, flag in flags.items():
        sep = np.where(text == "", "", ", ")
        text = np.where(flag, text + sep + comp, text)
    return text
