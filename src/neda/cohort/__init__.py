"""Cohort-level analyses and registries beyond one machine's memory.

``course_summary_dask`` and ``confirmed_events_dask`` run :func:`neda.course_summary` and
:func:`neda.confirmed_events` per partition of patients on a Dask cluster (a ``LocalCluster``
by default, or any ``distributed.Client``), from Parquet datasets, Dask or pandas DataFrames;
the results are identical to the in-memory run (:mod:`neda.cohort.distributed`).
"""

from typing import Any

__all__ = ["confirmed_events_dask", "course_summary_dask", "pooled_followup_arr"]


def __getattr__(name: str) -> Any:
    # loaded on first use: importing dask costs about a second
    if name in ("confirmed_events_dask", "course_summary_dask", "pooled_followup_arr"):
        from . import distributed

        return getattr(distributed, name)
    raise AttributeError(f"module 'neda.cohort' has no attribute {name!r}")
