"""Cohort analyses registries publish, on the tables :func:`neda.course_summary` computes.

Each is a small function and a ``neda cohort`` command; none applies a clinical rule again
(docs/cohort.md):

* :func:`time_to_event`, :func:`kaplan_meier`, :func:`km_analysis` - time to the first CDW,
  PIRA, RAW, relapse or confirmed EDSS milestone (Kaplan-Meier, lifelines), by group, with
  numbers at risk and medians.
* :func:`neda_proportions` - NEDA-3/4 proportion per therapy and treatment year (Wilson
  intervals; unknown apart, never NEDA).
* :func:`relapse_rates` - annualised relapse rate per therapy, negative-binomial rate ratios
  (statsmodels).
* :func:`table_one` - the patients at baseline, by group.
* :func:`cohort_report`, :func:`write_report` - one self-contained offline HTML report.
* :mod:`neda.cohort.figures` - the figures (matplotlib, PNG and SVG).
* :func:`neda.cohort.multiverse.multiverse` - a grid of definitions of worsening over one
  cohort, sharing the prepared arrays (docs/multiverse.md).
"""

from .proportions import neda_proportions, wilson_interval
from .rates import RelapseRates, relapse_rates
from .report import ReportOptions, cohort_report, write_report
from .survival import KaplanMeier, kaplan_meier, km_analysis, time_to_event
from .table_one import table_one

__all__ = [
    "KaplanMeier", "RelapseRates", "ReportOptions", "cohort_report", "kaplan_meier",
    "km_analysis", "neda_proportions", "relapse_rates", "table_one", "time_to_event",
    "wilson_interval", "write_report",
]
