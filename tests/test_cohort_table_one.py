"""Table one: counts and medians by hand on a small cohort with a patients table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cohort_cases import tiny_tables

import neda
from neda.cohort import table_one


def _summary() -> object:
    t = tiny_tables()
    patients = pd.DataFrame({"subject": ["A", "B", "C", "D"], "sex": ["F", "M", "F", None],
                             "birth_date": ["1980-01-01", "1990-01-01", "1985-01-01",
                                            "1970-01-01"],
                             "onset_date": ["2010-01-01", "2015-01-01", "2019-01-01",
                                            "2018-01-01"]})
    return neda.course_summary(t["visits"], t["relapses"], treatments=t["treatments"],
                               patients=patients)


def test_counts_and_medians_by_hand() -> None:
    s = _summary()
    t = table_one(s, by="sex")
    assert list(t.columns) == ["female", "male", "(missing)", "all"]
    assert t.loc["Patients, n"].tolist() == ["2", "1", "1", "4"]
    assert t.loc["Sex: female, n (%)", "all"] == "2 (50%)"
    assert t.loc["Sex: (missing), n (%)", "all"] == "1 (25%)"
    # first EDSS 1.0, 2.0, 2.0, 1.5: median 1.75, quartiles 1.375 and 2.0
    assert t.loc["EDSS at baseline, median (IQR)", "all"] == "1.8 (1.4–2.0)"
    # age at onset 30, 25, 34, 48 years (365.25-day years)
    ages = np.array([30, 25, 34, 48]) * 1.0
    expected = np.percentile(
        [(pd.Timestamp(o) - pd.Timestamp(b)).days / 365.25 for o, b in
         (("2010-01-01", "1980-01-01"), ("2015-01-01", "1990-01-01"),
          ("2019-01-01", "1985-01-01"), ("2018-01-01", "1970-01-01"))], 50)
    assert t.loc["Age at onset, years, median (IQR)", "all"].startswith(f"{expected:.1f}")
    assert abs(expected - np.median(ages)) < 0.1
    # relapses in the 2 years before the first visit: none recorded
    assert t.loc["ARR in the 2 years before baseline, median (IQR)", "all"].startswith("0.00")
    assert t.attrs["not_shown"] is None  # every row given


def test_rows_the_data_cannot_give_are_said() -> None:
    t = tiny_tables()
    s = neda.course_summary(t["visits"], t["relapses"], treatments=t["treatments"])
    table = table_one(s)
    assert not any("Sex" in r or "Age" in r for r in table.index)
    assert table.attrs["not_shown"].startswith(
        "Not shown: age at onset (needs birth_date and onset_date), disease duration (needs "
        "onset_date), sex (needs sex) - the patients table gives these columns")
    assert "\n" not in table.attrs["not_shown"]


def test_groups_by_first_therapy() -> None:
    s = _summary()
    t = table_one(s, by="first_dmt")
    assert list(t.columns) == ["ocrelizumab", "teriflunomide", "all"]
    assert t.loc["Patients, n"].tolist() == ["2", "2", "4"]
    with pytest.raises(ValueError, match="before_years"):
        table_one(s, before_years=0)
