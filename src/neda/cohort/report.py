"""One self-contained, offline HTML report of the cohort analyses.

``cohort_report(summary)`` puts together table one, Kaplan-Meier time to the first events,
NEDA proportions per therapy and treatment year, and the relapse rates with their rate ratios:
each with its tables, its figure (inline SVG: no file, script or network access is needed to
read it) and its methods paragraph, and a provenance section (neda version, rule set and
options digest of the course engine, NEDA rule set, the input files as read, the report's
options). An analysis that cannot be computed on the data (no treatments, relapses not given)
is reported with the reason, never left out silently.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._common import summary_provenance
from .figures import km_figure, neda_figure, rate_ratio_figure, svg_text
from .proportions import methods as neda_methods
from .proportions import neda_proportions
from .rates import relapse_rates
from .survival import event_label, km_analysis
from .table_one import table_one


@dataclass(frozen=True)
class ReportOptions:
    """Options of :func:`cohort_report` (each passed to its analysis).

    events : the Kaplan-Meier events, default ``("cdw", "pira", "relapse", "edss6")``.
    origin : Kaplan-Meier time origin, ``epoch_start`` (default: by therapy) or
        ``first_visit``.
    km_by : Kaplan-Meier groups, default ``efficacy`` (an epochs or patients column).
    therapy_by : groups of the NEDA proportions and relapse rates, default ``drug``.
    table_one_by : groups of table one, default ``first_dmt_efficacy``.
    neda_years : treatment years in the NEDA tables and figure, default 1 to 5.
    reference : reference group of the rate ratios (default: most person-years).
    confidence : level of every interval, default 0.95.
    """

    events: tuple[str, ...] = ("cdw", "pira", "relapse", "edss6")
    origin: str = "epoch_start"
    km_by: str | None = "efficacy"
    therapy_by: str | None = "drug"
    table_one_by: str | None = "first_dmt_efficacy"
    neda_years: tuple[int, ...] = (1, 2, 3, 4, 5)
    reference: str | None = None
    confidence: float = 0.95


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.methods{background:#f8f8f8;border-left:3px solid #888;padding:.5em 1em;font-size:.92em}
.missing{color:#a33}figure{margin:1em 0}svg{max-width:100%;height:auto}
code{background:#f3f3f3;padding:0 .2em}
"""


#: The report's options in words (the provenance keeps each key beside its words).
OPTION_WORDS = {
    "events": "Kaplan-Meier events",
    "origin": "Kaplan-Meier time origin",
    "km_by": "Kaplan-Meier groups",
    "therapy_by": "groups of the NEDA proportions and relapse rates",
    "table_one_by": "groups of table one",
    "neda_years": "treatment years of the NEDA tables",
    "reference": "reference group of the rate ratios",
    "confidence": "confidence level of every interval",
}

#: Values of the report's options in words.
_VALUE_WORDS = {"epoch_start": "start of each DMT epoch", "first_visit": "first visit",
                "first_dmt_efficacy": "efficacy of the first DMT", "first_dmt": "first DMT",
                "drug_class": "drug class"}

#: Column headers of the analyses' tables in words (the tables and files keep their keys).
COLUMN_WORDS = {
    "n_windows": "windows", "n_neda": "NEDA", "n_activity": "activity",
    "n_unknown": "unknown", "ci_low": "CI low", "ci_high": "CI high",
    "person_years": "person-years", "rate_ratio": "rate ratio", "p_value": "p",
    "arr": "ARR", "median_years": "median (years)", "n_patients": "patients",
    "n_relapses": "relapses", "n": "n",
}


def _option_value(key: str, value: Any) -> str:
    if value is None:
        return {"reference": "the group with the most person-years"}.get(key, "none (the "
                                                                          "whole cohort)")
    if key == "events":
        return "; ".join(event_label(e) for e in value)
    if key == "neda_years":
        return ", ".join(str(v) for v in value)
    if key == "confidence":
        return f"{value:.0%}"
    return _VALUE_WORDS.get(str(value), str(value))


def _table(frame: pd.DataFrame, index: bool = False) -> str:
    frame = frame.rename(columns=COLUMN_WORDS)
    return frame.to_html(index=index, escape=True, na_rep="–", border=0,
                         float_format=lambda v: f"{v:.3g}")


def _p(text: str, cls: str | None = None) -> str:
    return f"<p{f' class={cls!r}' if cls else ''}>{html.escape(text)}</p>"


def _km_section(summary: Any, event: str, o: ReportOptions) -> str:
    km = km_analysis(summary, event, origin=o.origin,  # type: ignore[arg-type]
                     by=o.km_by, confidence=o.confidence)
    med = km.medians.rename(columns={"median_years": "median (years)",
                                     "ci_low": "CI low", "ci_high": "CI high"})
    return "".join([
        f"<h3>Time to first {html.escape(event_label(event))}</h3>",
        f"<figure>{svg_text(km_figure(km))}</figure>",
        "<h4>Median time (inf: not reached)</h4>", _table(med),
        "<h4>Numbers at risk (years)</h4>", _table(km.at_risk),
        _p(km.methods(), "methods")])


def _neda_section(summary: Any, measure: str, o: ReportOptions) -> str:
    table = neda_proportions(summary, measure=measure,  # type: ignore[arg-type]
                             by=o.therapy_by, years=o.neda_years, confidence=o.confidence)
    what = "NEDA-3" if measure == "neda3" else "NEDA-4"
    return "".join([
        f"<h3>{what}</h3>", f"<figure>{svg_text(neda_figure(table))}</figure>",
        _table(table), _p(neda_methods(table), "methods")])


def _rates_section(summary: Any, o: ReportOptions) -> str:
    rates = relapse_rates(summary, by=o.therapy_by, reference=o.reference,
                          confidence=o.confidence)
    alpha = (f"Negative-binomial dispersion alpha = {rates.alpha:.3g} "
             f"({int(o.confidence * 100)}% CI {rates.alpha_ci[0]:.3g} to "
             f"{rates.alpha_ci[1]:.3g})." if rates.alpha is not None and rates.alpha_ci
             else "")
    return "".join([
        "<h3>Annualised relapse rate per group</h3>", _table(rates.rates),
        f"<h3>Rate ratios (reference: {html.escape(rates.reference)})</h3>",
        f"<figure>{svg_text(rate_ratio_figure(rates))}</figure>",
        _table(rates.ratios), _p(alpha), _p(rates.methods(), "methods")])


def _guarded(title: str, make: Any) -> str:
    """A section, or why it could not be computed on these data."""
    try:
        return make()
    except ValueError as exc:
        return f"<h3>{html.escape(title)}</h3>" + _p(f"Not computed: {exc}", "missing")


def cohort_report(summary: Any, options: ReportOptions | None = None, *,
                  title: str = "neda cohort report", progress: Any = None) -> str:
    """The HTML report of a :func:`neda.course_summary` result (module docstring).

    ``progress``: optional callable ``(section, done, total)`` told as each section starts.
    """
    o = options or ReportOptions()
    def one() -> str:
        table = table_one(summary, by=o.table_one_by)
        return _table(table, index=True) + _p(
            "Baseline: the first visit. Continuous values: median (IQR); categories: n (%)."
            + (f" {table.attrs['not_shown']}" if table.attrs.get("not_shown") else ""),
            "methods")

    sections: list[tuple[str, Any]] = [("Table one", one)]
    for event in o.events:
        sections.append((f"Time to first {event}",
                         lambda e=event: _km_section(summary, e, o)))
    for measure in ("neda3", "neda4"):
        sections.append((measure.upper(), lambda m=measure: _neda_section(summary, m, o)))
    sections.append(("Relapse rates", lambda: _rates_section(summary, o)))
    body: list[str] = []
    headings = {0: "<h2>Table one</h2>", 1: "<h2>Time to first event (Kaplan-Meier)</h2>",
                1 + len(o.events): "<h2>NEDA per therapy and treatment year</h2>",
                3 + len(o.events): "<h2>Relapse rates per therapy</h2>"}
    for i, (name, make) in enumerate(sections):
        if progress is not None:
            progress(name, i, len(sections))
        body.append(headings.get(i, ""))
        body.append(_guarded(name, make))
    prov = summary_provenance(summary)
    given = asdict(o)
    provenance = pd.DataFrame({"item": [
        "neda version", "rule set (course engine)", "options digest (course engine)",
        "NEDA rule set", "relapse data", *(f"input {i + 1}" for i in range(len(prov["inputs"]))),
        *(f"report: {OPTION_WORDS[k]}" for k in given)],
        "value": [prov["neda_version"], prov["rule_set"], prov["options_digest"],
                  prov["neda_rule_set"], prov["relapse_data"], *prov["inputs"],
                  *(_option_value(k, v) for k, v in given.items())],
        # the keys of ReportOptions (and of the command's options), to redo the run
        "key": ["", "", "", "", "", *("" for _ in prov["inputs"]),
                *(f"{k} = {v!r}" for k, v in given.items())]})
    course_methods = summary.describe()
    patients = len(summary.patients)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        _p(f"{patients} patients. Every result below is computed by neda from the course "
           "tables of neda.course_summary (one pipeline; no rule is applied again here). "
           "Unknown statuses are reported as unknown, never counted as no activity."),
        *body,
        "<h2>Provenance</h2>", _table(provenance),
        "<h2>Methods of the course engine</h2>", _p(course_methods, "methods"),
        "</body></html>", ""])


def write_report(summary: Any, path: str | Path, options: ReportOptions | None = None, *,
                 title: str = "neda cohort report", progress: Any = None) -> Path:
    """Write :func:`cohort_report` to ``path`` (UTF-8); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(cohort_report(summary, options, title=title, progress=progress),
                      encoding="utf-8")
    return target
