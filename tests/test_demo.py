"""The synthetic cohort has the shapes the course engine must handle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neda.demo import demo_cohort, write_demo_cohort
from neda.io import EDSS_SCALE, read_relapses, read_visits


@pytest.fixture(scope="module")
def cohort() -> tuple[pd.DataFrame, pd.DataFrame]:
    return demo_cohort(2000, seed=3)


def test_columns_and_dtypes(cohort: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    visits, relapses = cohort
    assert list(visits.columns) == ["id", "date", "edss", "nhpt", "t25fw", "sdmt",
                                    "fs_pyramidal"]
    assert list(relapses.columns) == ["id", "date"]
    assert visits["id"].dtype == np.int64 and visits["date"].dtype == "datetime64[ns]"
    assert all(visits[c].dtype == np.float64
               for c in ["edss", "nhpt", "t25fw", "sdmt", "fs_pyramidal"])


def test_edss_is_on_its_scale_and_never_missing(cohort: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    visits, _ = cohort
    assert visits["edss"].notna().all()
    assert set(visits["edss"].unique()) <= set(EDSS_SCALE)
    assert not (visits["edss"] == 0.5).any()
    baseline = visits.groupby("id")["edss"].first()
    assert (baseline <= 4.0).mean() > 0.7


def test_visits_are_irregular_and_between_3_and_30(
    cohort: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    visits, _ = cohort
    per_patient = visits.groupby("id").size()
    assert per_patient.min() >= 3 and per_patient.max() <= 30
    gaps = visits.groupby("id")["date"].diff().dt.days.dropna()
    assert (gaps > 0).all()
    assert gaps.std() > 30
    assert (gaps > 365).any()  # some follow-up gaps


def test_relapses_and_tests_look_clinical(cohort: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    visits, relapses = cohort
    span = visits.groupby("id")["date"].agg(lambda d: (d.max() - d.min()).days).sum() / 365.25
    assert 0.15 < len(relapses) / span < 0.6
    onset_gaps = relapses.groupby("id")["date"].diff().dt.days.dropna()
    assert (onset_gaps >= 30).all()
    assert 4 < visits["t25fw"].median() < 8
    assert 18 < visits["nhpt"].median() < 30
    assert 40 < visits["sdmt"].median() < 65
    for column in ["nhpt", "t25fw", "sdmt"]:
        assert 0.05 < visits[column].isna().mean() < 0.6
    # walking gets slower with disability
    low = visits.loc[visits["edss"] <= 2, "t25fw"].median()
    high = visits.loc[visits["edss"] >= 5.5, "t25fw"].median()
    assert high > low * 1.2


def test_seeded_and_reproducible() -> None:
    a, ra = demo_cohort(50, seed=11)
    b, rb = demo_cohort(50, seed=11)
    c, _ = demo_cohort(50, seed=12)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ra, rb)
    assert not a.equals(c)


def test_written_files_read_back_identically(tmp_path) -> None:  # type: ignore[no-untyped-def]
    visits_path, relapses_path = write_demo_cohort(tmp_path, 40, seed=5)
    visits, relapses = demo_cohort(40, seed=5)
    read = read_visits(visits_path, outcomes=("edss", "nhpt", "t25fw", "sdmt", "fs_pyramidal"))
    expected = visits.rename(columns={"id": "subject"})
    # FS grades are read as validated text ("2", "2X"), the other measures as numbers
    read["fs_pyramidal"] = read["fs_pyramidal"].astype(float)
    pd.testing.assert_frame_equal(read[expected.columns], expected)
    rel = read_relapses(relapses_path)
    assert (rel["date_end"] == rel["date"]).all() and set(rel["precision"]) == {"day"}
    pd.testing.assert_frame_equal(rel[["subject", "date"]],
                                  relapses.rename(columns={"id": "subject"}))


def test_one_patient_and_invalid_counts() -> None:
    visits, _ = demo_cohort(1, seed=0)
    assert visits["id"].unique().tolist() == [1]
    with pytest.raises(ValueError):
        demo_cohort(0)
