"""The table helpers of ``neda.rules.common`` that stand in for pandas' own steps give pandas'
tables: ``copy_of`` is ``DataFrame.copy()``."""

import numpy as np
import pandas as pd
import pytest

from neda.rules.common import copy_of, frame_of


def _tables() -> list[pd.DataFrame]:
    n = 4
    mixed = frame_of({  # one block per column, as the rules build their tables
        "subject": np.arange(n), "edss": np.array([1.0, np.nan, 2.5, 3.0]),
        "date": np.array(["2020-01-01", "NaT", "2021-03-04", "2022-05-06"], "datetime64[ns]"),
        "flag": np.array([True, False, True, False]), "text": np.array(["a", None, "c", "d"],
                                                                       dtype=object),
        "gap": np.array([1, 2, 3, 4], "timedelta64[ns]"),
        "count": pd.array([1, None, 2, 3], dtype="Int64"),
        "status": pd.array([True, None, False, True], dtype="boolean"),
        "edss_2": np.array([0.5, 1.0, 1.5, 2.0]), "date_2": np.array(["2020-01-01"] * n,
                                                                     "datetime64[ns]"),
        "kind": pd.Categorical(["x", "y", "x", "y"]),
    })
    mixed.attrs["provenance"] = {"rule_set": "test", "options": {"window": [1, 2], "x": None}}
    tz = pd.DataFrame({"at": pd.date_range("2020-01-01", periods=3, tz="UTC"), "v": [1, 2, 3]})
    shifted = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}, index=[7, 9])
    inserted = pd.DataFrame({"a": [1.0, 2.0], "c": [3.0, 4.0]})
    inserted.insert(1, "b", [5, 6])  # blocks out of column order
    inserted.insert(0, "z", [7.0, 8.0])
    return [mixed, tz, shifted, inserted, pd.DataFrame({"a": np.arange(0)}), pd.DataFrame(),
            pd.DataFrame(index=[1, 2])]


@pytest.mark.parametrize("frame", _tables())
def test_copy_of_is_pandas_copy(frame: pd.DataFrame) -> None:
    expected, got = frame.copy(), copy_of(frame)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
    assert type(got.index) is type(expected.index) and got.index.equals(expected.index)
    assert got.attrs == frame.attrs
    if frame.attrs:  # the attrs copied too (an edit of the copy's provenance stays there)
        got.attrs["provenance"]["options"]["window"].append(3)
        assert frame.attrs["provenance"]["options"]["window"] == [1, 2]
    assert got._mgr.nblocks == expected._mgr.nblocks  # one block per numpy type
    for i in range(len(frame.columns)):  # never the frame's memory
        a, b = got.iloc[:, i].array, frame.iloc[:, i].array
        if isinstance(a, pd.arrays.NumpyExtensionArray | pd.arrays.DatetimeArray):
            assert not np.shares_memory(np.asarray(a), np.asarray(b))
    if len(frame) and len(frame.columns):
        got.iloc[0, 0] = got.iloc[1, 0]
        pd.testing.assert_frame_equal(frame, expected)  # the original unchanged


@pytest.mark.parametrize("frame", _tables())
def test_copy_of_with_new_row_numbers(frame: pd.DataFrame) -> None:
    index = pd.RangeIndex(len(frame))
    expected = frame.copy()
    expected.index = index
    got = copy_of(frame, index)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert type(got.index) is pd.RangeIndex


@pytest.mark.parametrize("frame", _tables())
def test_bare_is_the_same_table_without_attrs(frame: pd.DataFrame) -> None:
    """``bare`` is pandas' shallow copy: the same columns (the same memory), no attrs; a
    column added to it, even in front, leaves the frame as it was."""
    from neda.rules.common import bare

    before = frame.copy()
    got = bare(frame)
    pd.testing.assert_frame_equal(got, pd.DataFrame(frame, copy=False), check_exact=True)
    assert got.attrs == {} and frame.attrs == before.attrs
    for i in range(len(frame.columns)):
        a, b = got.iloc[:, i].array, frame.iloc[:, i].array
        if isinstance(a, pd.arrays.NumpyExtensionArray) and len(a):
            assert np.shares_memory(np.asarray(a), np.asarray(b))
    got.insert(0, "added_in_front", 1)
    got["added_at_the_end"] = 2
    assert "added_in_front" not in frame.columns
    # read by column, by row and copied (pandas reads each block's column positions)
    pd.testing.assert_frame_equal(frame, before, check_exact=True)
    pd.testing.assert_frame_equal(frame.copy(), before, check_exact=True)
    if len(frame):
        pd.testing.assert_series_equal(frame.iloc[0], before.iloc[0], check_exact=True)


def test_frame_of_object_columns_as_the_constructor_infers_them() -> None:
    # short columns of text and None are taken as they are; anything else goes through
    # pandas' inference (dates, periods and NaN-filled text included), as the constructor
    cases = [["a", None, "c"], [None, None, None], ["a", float("nan"), "c"],
             [pd.Timestamp("2020-01-01"), None, pd.NaT], [np.str_("a"), "b", None],
             ["a", pd.NA, None], [pd.Period("2020-01", "M")] * 3, [True, False, None]]
    for values in cases:
        column = np.array(values, dtype=object)
        for columns in ({"x": column}, {"x": column, "n": np.arange(3)}):
            expected = pd.DataFrame(columns, copy=False)
            got = frame_of(columns)
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
            assert list(got.dtypes) == list(expected.dtypes)


def test_subject_codes_of_one_patient_as_pandas_finds_them() -> None:
    from neda.rules.common import subject_codes

    for subjects, values in ((pd.Index([7]), np.array([7, 8, 7])),
                             (pd.Index([7], dtype=np.uint16), np.array([7, 8], np.int32)),
                             (pd.Index([7]), np.array([], np.int64)),
                             (pd.Index(["7"]), np.array([7, 8])),
                             (pd.Index([7]), np.array(["7", "x"], dtype=object)),
                             (pd.Index(["A"], dtype=object), np.array(["A", "A"], dtype=object)),
                             (pd.Index(["A"], dtype=object), np.array(["A", "B"], dtype=object)),
                             (pd.Index(["7"], dtype=object), np.array(["7"], dtype=object))):
        vals = pd.Index(values)
        numeric = {subjects.dtype.kind in "iuf", vals.dtype.kind in "iuf"}
        expected = (subjects.astype(str).get_indexer(vals.astype(str))
                    if len(numeric) == 2 and len(vals) else subjects.get_indexer(vals))
        assert subject_codes(subjects, values).tolist() == expected.tolist()


def test_index_positions_of_one_patient_as_pandas_finds_them() -> None:
    # one identifier is compared, not hashed: the rows pandas' look-up finds, for numbers,
    # text, numbers against text (never equal), other integer widths, an Index, floats
    from neda.rules.common import index_positions

    cases = [(pd.Index([7]), np.array([7, 8, 7, 1])), (pd.Index(["a"]), np.array(
        ["a", "b", None, 1], dtype=object)), (pd.Index([1]), np.array(["1", 1], dtype=object)),
        (pd.Index(["1"]), np.array([1, 2])), (pd.Index([np.uint8(3)]), np.array([3, 4])),
        (pd.Index([5]), pd.Index([5, 6])), (pd.Index([2]), np.array([2.0, 3.0])),
        (np.array([4]), np.array([4, 4])), (np.array(["x"], dtype=object), np.array([], object)),
        (pd.Index([3, 4]), np.array([4, 5, 3])),
        # pandas' NA among the identifiers (an edited table): missing, as pandas reads it
        (pd.Index(["a"]), np.array(["a", pd.NA, "a"], dtype=object)),
        (np.array([7]), np.array([7, pd.NA], dtype=object))]
    for subjects, values in cases:
        expected = pd.Index(subjects).get_indexer(pd.Index(values)).tolist()
        got = index_positions(subjects, values)
        assert got.dtype == np.int64 and got.tolist() == expected


def test_factorized_is_pandas_factorize() -> None:
    # one patient's identifiers skip pandas' hash table: the same codes and distinct values
    from neda.rules.common import factorized

    cases = [np.array([7, 7, 7]), np.array(["a", "a"], dtype=object), np.array([], np.int64),
             np.array([3, 1, 3, 2]), np.array(["b", None, "a", "b"], dtype=object),
             np.array([1.0, np.nan, 1.0]), np.array(["a", 1], dtype=object),
             np.array(["a", pd.NA, "a"], dtype=object), np.array(["a", "a", pd.NA], dtype=object)]
    for values in cases:
        for sort in (False, True):
            for sentinel in (True, False):
                if sort and values.dtype == object and len(set(map(type, values))) > 1:
                    continue  # (pandas cannot sort text against numbers or None)
                codes, uniques = factorized(values, sort=sort, use_na_sentinel=sentinel)
                e_codes, e_uniques = pd.factorize(values, sort=sort, use_na_sentinel=sentinel)
                assert codes.dtype == np.int64 and codes.tolist() == e_codes.tolist()
                assert pd.Index(uniques).equals(pd.Index(e_uniques))


def test_single_value_is_one_identifier_and_nothing_missing() -> None:
    from neda.rules.common import single_value

    assert single_value(np.array([3, 3])) and single_value(np.array(["a", "a"], dtype=object))
    for values in (np.array([3, 4]), np.array([], np.int64), np.array([1.0, 1.0]),
                   np.array(["a", None], dtype=object), np.array(["a", pd.NA], dtype=object),
                   np.array(["a", pd.NA, "a"], dtype=object), pd.array([3, 3], dtype="Int64")):
        assert not single_value(values)


@pytest.mark.parametrize("frame", _tables())
def test_column_is_the_series_values(frame: pd.DataFrame) -> None:
    """``column`` reads a column as stored: what ``frame[name]._values`` is, the same memory."""
    from neda.rules.common import column

    for name in frame.columns:
        got, expected = column(frame, name), frame[name]._values
        assert type(got) is type(expected) and got.dtype == expected.dtype
        if isinstance(expected, np.ndarray):
            assert np.shares_memory(got, expected) or not len(expected)
        pd.testing.assert_extension_array_equal(pd.array(got), pd.array(expected))
    with pytest.raises(KeyError):
        column(frame, "no such column")


def test_column_of_a_repeated_name_or_numbered_columns() -> None:
    from neda.rules.common import column

    repeated = pd.DataFrame([[1, 2.5]], columns=["a", "a"])
    assert column(repeated, "a").tolist() == [[1.0, 2.5]]  # (both, as pandas gives them)
    numbered = pd.DataFrame({0: [1, 2], 1: ["x", "y"]})
    assert column(numbered, 1).tolist() == ["x", "y"]


def test_plain_copy_is_a_deep_copy() -> None:
    from collections import OrderedDict

    from neda.rules.common import plain_copy

    record = {"rule_set": "x", "options": {"window": [1, 2.5, None, True], "t": (1, 2)},
              "n": np.int64(3), "f": np.float64(0.5), "nested": [{"a": [1]}],
              "ordered": OrderedDict(b=[1])}
    got = plain_copy(record)
    assert got == record and type(got["ordered"]) is dict  # (JSON-like: a plain dict)
    got["options"]["window"].append(3)
    got["nested"][0]["a"].append(2)
    got["ordered"]["b"].append(2)
    assert record["options"]["window"] == [1, 2.5, None, True]
    assert record["nested"] == [{"a": [1]}] and record["ordered"]["b"] == [1]


@pytest.mark.parametrize("frame", _tables())
def test_row_of_is_pandas_row(frame: pd.DataFrame) -> None:
    from neda.rules.common import row_of

    for at in range(len(frame)):
        expected, got = frame.iloc[at], row_of(frame, at)
        pd.testing.assert_series_equal(got, expected, check_exact=True)
        assert [type(x) for x in got.tolist()] == [type(x) for x in expected.tolist()]
        assert got.attrs == frame.attrs and got.name == expected.name
