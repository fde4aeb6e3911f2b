"""Cohort-level analyses and registries beyond one machine's memory.

``course_summary_dask`` and ``confirmed_events_dask`` run :func:`neda.course_summary` and
:func:`neda.confirmed_events` per partition of patients on a Dask cluster (a ``LocalCluster``
by default, or any ``distributed.Client``), from Parquet datasets, Dask or pandas DataFrames;
the results are identical to the in-memory run (:mod:`neda.cohort.distributed`).
"""

import os
from pathlib import Path
from typing import Any

__all__ = ["confirmed_events_dask", "course_summary_dask", "reduce_pooled_arr", "wants_dask"]


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
    # loaded on first use: importing dask costs about a second
    if name in ("confirmed_events_dask", "course_summary_dask", "reduce_pooled_arr"):
        from . import distributed

        return getattr(distributed, name)
    raise AttributeError(f"module 'neda.cohort' has no attribute {name!r}")
