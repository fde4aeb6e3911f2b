"""Cohort analyses registries publish, on the tables :func:`neda.course_summary` computes,
and the same course beyond one machine's memory.

Each analysis is a small function and a ``neda cohort`` command; none applies a clinical rule
again (docs/cohort.md):

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
* :func:`course_summary_dask`, :func:`confirmed_events_dask` - :func:`neda.course_summary`
  and :func:`neda.confirmed_events` per partition of patients on a Dask cluster (a
  ``LocalCluster`` by default, or any ``distributed.Client``), from Parquet datasets, Dask or
  pandas DataFrames; identical to the in-memory run (:mod:`neda.cohort.distributed`).

Everything is loaded on first use: ``import neda`` asks :func:`wants_dask` on every call, and
dask, lifelines, statsmodels and matplotlib cost seconds to import.
"""

import importlib
import os
from pathlib import Path
from typing import Any

#: public name -> the module that defines it (imported when first asked for)
_LAZY = {
    "confirmed_events_dask": "distributed", "course_summary_dask": "distributed",
    "reduce_pooled_arr": "distributed",
    "neda_proportions": "proportions", "wilson_interval": "proportions",
    "RelapseRates": "rates", "relapse_rates": "rates",
    "ReportOptions": "report", "cohort_report": "report", "write_report": "report",
    "KaplanMeier": "survival", "kaplan_meier": "survival", "km_analysis": "survival",
    "time_to_event": "survival",
}

# imported now: the module has the function's name, and a module imported later would
# otherwise shadow the function as the package's attribute (pandas only)
from .table_one import table_one as table_one  # noqa: E402

__all__ = sorted([*_LAZY, "table_one", "wants_dask"])


def wants_dask(*sources: Any, client: Any = None) -> bool:
    """Whether :func:`neda.course_summary` / :func:`neda.confirmed_events` run on Dask: a
    client or scheduler address is given, or a table is a Dask DataFrame or a folder (a
    Parquet dataset). Checked without importing dask."""
    if client is not None:
        return True
    for s in sources:
        if type(s).__module__.startswith("dask"):
            return True
        if isinstance(s, str | os.PathLike) and Path(s).is_dir():
            return True
    return False


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'neda.cohort' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
