"""Readers and validation of visit and relapse tables.

``read_visits`` and ``read_relapses`` accept CSV, Parquet and Excel files and pandas or polars
DataFrames, check every cell, and either return a tidy pandas DataFrame or raise one
:class:`InputError` that lists every problem (file, row, column, value, expectation).
"""

from neda.io._parse import EDSS_SCALE, MISSING_MARKERS, outcome_kind
from neda.io.errors import ChangedRows, InputError, InputProblem, InputReport, NedaInputWarning
from neda.io.readers import read_relapses, read_visits

__all__ = [
    "EDSS_SCALE",
    "MISSING_MARKERS",
    "ChangedRows",
    "InputError",
    "InputProblem",
    "InputReport",
    "NedaInputWarning",
    "outcome_kind",
    "read_relapses",
    "read_visits",
]
