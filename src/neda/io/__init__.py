"""The one way in: schemas of the tidy tables and their validated readers.

``read_visits``, ``read_relapses``, ``read_mri``, ``read_treatments``, ``read_pros``,
``read_labs``, ``read_patients`` and ``read_followup`` accept CSV, Parquet and Excel files and
pandas or polars DataFrames, check every cell against the table's schema (:mod:`neda.io.schema`,
``docs/data-model.md``), and either return a tidy pandas DataFrame or raise one
:class:`InputError` that lists every problem (file, sheet, row, column, value, expectation).
:func:`read_tables` reads several tables together and compares their subject identifiers.
"""

from neda.io._parse import (
    EDSS_SCALE,
    MISSING_MARKERS,
    PRECISIONS,
    Problems,
    outcome_kind,
    parse_onsets,
)
from neda.io._table import fold, load_table
from neda.io.errors import ChangedRows, InputError, InputProblem, InputReport, NedaInputWarning
from neda.io.readers import (
    READERS,
    ReadOptions,
    Tables,
    check_subjects,
    ensure_table,
    followup_from_visits,
    is_validated,
    read_followup,
    read_labs,
    read_mri,
    read_patients,
    read_pros,
    read_relapses,
    read_table,
    read_tables,
    read_treatments,
    read_visits,
    resolve_contrast,
)
from neda.io.schema import SCHEMAS, Column, TableSchema, data_model_markdown

__all__ = [
    "parse_onsets",
    "load_table",
    "fold",
    "Problems",
    "EDSS_SCALE",
    "MISSING_MARKERS",
    "PRECISIONS",
    "READERS",
    "SCHEMAS",
    "ChangedRows",
    "Column",
    "InputError",
    "InputProblem",
    "InputReport",
    "NedaInputWarning",
    "ReadOptions",
    "TableSchema",
    "Tables",
    "check_subjects",
    "data_model_markdown",
    "ensure_table",
    "followup_from_visits",
    "is_validated",
    "outcome_kind",
    "read_followup",
    "read_labs",
    "read_mri",
    "read_patients",
    "read_pros",
    "read_relapses",
    "read_table",
    "read_tables",
    "read_treatments",
    "read_visits",
    "resolve_contrast",
]
