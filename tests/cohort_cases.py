"""Small cohorts of the cohort-analysis tests: a hand-made one whose events can be read off
its visits, and the demo registry."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

import neda
from neda.demo import demo_registry

DAY = 1 / 365.25


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Four patients. A worsens from EDSS 1.0 to 3.0 on 2021-01-01 and B from 2.0 to 4.0 on
    2022-01-01, both confirmed and sustained; C and D stay stable (last visits 2024-01-01 and
    2022-07-01). C relapses on 2021-06-01, D on 2020-06-01."""
    rows = [("A", "2020-01-01", 1.0), ("A", "2020-07-01", 1.0), ("A", "2021-01-01", 3.0),
            ("A", "2021-07-01", 3.0), ("A", "2022-01-01", 3.0), ("A", "2023-01-01", 3.0),
            ("B", "2020-01-01", 2.0), ("B", "2021-01-01", 2.0), ("B", "2022-01-01", 4.0),
            ("B", "2022-07-01", 4.0), ("B", "2023-01-01", 4.0),
            ("C", "2020-01-01", 2.0), ("C", "2021-01-01", 2.0), ("C", "2022-01-01", 2.0),
            ("C", "2024-01-01", 2.0),
            ("D", "2020-01-01", 1.5), ("D", "2021-01-01", 1.5), ("D", "2022-07-01", 1.5)]
    return {
        "visits": pd.DataFrame(rows, columns=["subject", "date", "edss"]),
        "relapses": pd.DataFrame({"subject": ["C", "D"],
                                  "date": ["2021-06-01", "2020-06-01"]}),
        "treatments": pd.DataFrame({
            "subject": ["A", "B", "C", "D"],
            "drug": ["ocrelizumab", "teriflunomide", "ocrelizumab", "teriflunomide"],
            "start": ["2020-06-01", "2020-01-15", "2020-02-01", "2020-03-01"],
            "stop": [None, None, "2023-01-01", None]}),
    }


@functools.cache
def tiny_summary() -> Any:
    t = tiny_tables()
    return neda.course_summary(t["visits"], t["relapses"], treatments=t["treatments"])


@functools.cache
def demo_summary(patients: int = 120) -> Any:
    t = demo_registry(patients, seed=3)
    return neda.course_summary(t["visits"], t["relapses"], t["mri"], t["treatments"])
