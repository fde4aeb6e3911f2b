"""Result tables built by ``provenance_frame`` keep their columns unconsolidated but never share
memory with what they were built from (an edit of the result must not change an input)."""

import numpy as np
import pandas as pd

from neda.rules.common import provenance_frame


def test_result_never_shares_memory_with_its_inputs() -> None:
    visits = pd.DataFrame({"subject": ["a", "b", "c"], "edss": [1.0, 2.0, 3.0]})
    fresh = np.array([0.5, 1.5, 2.5])
    view = np.arange(6.0)[::2]
    out = provenance_frame({"subject": visits["subject"].array, "edss": visits["edss"],
                            "fresh": fresh, "view": view, "again": fresh},
                           {"rule_set": "test"})
    assert out["rule_set"].tolist() == ["test"] * 3
    assert out.attrs["provenance"] == {"rule_set": "test"}
    for col in ("subject", "edss", "view", "again"):
        assert not np.shares_memory(out[col].to_numpy(), visits["subject"].to_numpy())
        assert not np.shares_memory(out[col].to_numpy(), visits["edss"].to_numpy())
        assert not np.shares_memory(out[col].to_numpy(), view)
    assert not np.shares_memory(out["again"].to_numpy(), out["fresh"].to_numpy())
    out.loc[0, ["subject", "edss", "view", "again"]] = ["z", 9.0, 9.0, 9.0]
    assert visits["subject"].tolist() == ["a", "b", "c"]
    assert visits["edss"].tolist() == [1.0, 2.0, 3.0]
    assert view.tolist() == [0.0, 2.0, 4.0]
    assert out["fresh"].tolist() == [0.5, 1.5, 2.5]


def test_frame_of_builds_the_constructors_table() -> None:
    """``frame_of`` skips pandas' checks of ready columns only: every kind of column (dates
    held as objects, day-unit dates, numpy text, scalars, pandas arrays) gives the table,
    types, index and copies of ``pd.DataFrame``."""
    from neda.rules.common import frame_of

    n = 3
    columns = {
        "int": np.arange(n), "float": np.array([1.5, np.nan, 2.0]),
        "flag": np.array([True, False, True]), "text": np.array(["x", None, "z"], dtype=object),
        "numpy_text": np.array(["u", "v", "w"]), "none": np.full(n, None, dtype=object),
        "dates": np.array(["2020-01-01", "NaT", "2021-01-01"], dtype="datetime64[ns]"),
        "day_dates": np.array(["2020-01-01"] * n, dtype="datetime64[D]"),
        "object_dates": np.array([pd.Timestamp("2020-01-01"), None, pd.NaT], dtype=object),
        "Int64": pd.array([1, None, 2], dtype="Int64"),
        "boolean": pd.array([True, None, False], dtype="boolean"),
        "category": pd.Categorical(["a", "b", "a"]), "scalar": "s", "missing": None,
        "list": ["a", None, "c"], "series": pd.Series(pd.to_datetime(["2020-01-01"] * n)),
        "float_series": pd.Series([1.0, 2.0, 3.0]),
    }
    shifted = pd.Series([1.0, 2.0, 3.0], index=[5, 6, 7])  # aligned by pandas: its way
    for given in (columns, {"a": np.arange(0), "b": np.array([], dtype=object), "c": "x"}, {},
                  {"a": np.arange(2), "b": [1, 2]}, {"a": shifted, "b": shifted * 2}):
        for consolidate in (False, True):
            expected = pd.DataFrame(given) if consolidate else pd.DataFrame(given, copy=False)
            got = frame_of(given, consolidate=consolidate)
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
            assert list(got.dtypes) == list(expected.dtypes)
            assert type(got.index) is type(expected.index)
            for name, values in given.items():
                if isinstance(values, np.ndarray) and values.dtype.kind in "if" and len(values):
                    # consolidated: a copy, as the constructor's; else the array itself
                    assert np.shares_memory(got[name].to_numpy(), values) == (not consolidate)


def test_frame_of_without_date_inference_keeps_object_columns() -> None:
    """``infer_dates=False`` (the summary's tables of text and flags): a column of Python
    objects is taken as it is, never turned into dates, on the fast path and on pandas'
    own; every other column is the constructor's."""
    from neda.rules.common import frame_of

    flags = np.array([True, None, False], dtype=object)
    stamps = np.array([pd.Timestamp("2020-01-01"), None, pd.NaT], dtype=object)
    shifted = pd.Series([1.0, 2.0, 3.0], index=[5, 6, 7])  # not the fast path
    for given in ({"flag": flags, "stamps": stamps, "x": np.arange(3.0)},
                  {"flag": flags, "stamps": stamps, "x": shifted.reset_index(drop=True),
                   "y": np.arange(3)}):
        for consolidate in (False, True):
            got = frame_of(given, consolidate=consolidate, infer_dates=False)
            assert got["stamps"].dtype == object and got["flag"].dtype == object
            assert got["stamps"].tolist()[0] == pd.Timestamp("2020-01-01")
            assert got["flag"].tolist() == [True, None, False]
            assert got["x"].tolist() == [0.0, 1.0, 2.0] or got["x"].tolist() == [1.0, 2.0, 3.0]
            # with date inference the constructor turns the timestamps into dates
            assert frame_of(given, consolidate=consolidate)["stamps"].dtype.kind == "M"
    # pandas' own path (a column pandas aligns by its index) keeps objects too
    got = frame_of({"stamps": stamps, "s": pd.Series([1, 2, 3], index=[4, 5, 6])},
                   infer_dates=False)
    assert got["stamps"].dtype == object
    assert got["stamps"].tolist()[0] == pd.Timestamp("2020-01-01")
