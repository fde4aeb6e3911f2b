"""Readers: every bad input is named by file, row, column, value and expectation; nothing is
dropped silently; all sources give the same table."""

from __future__ import annotations

import copy
import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from neda.io import (
    EDSS_SCALE,
    InputError,
    InputProblem,
    NedaInputWarning,
    read_relapses,
    read_visits,
)

EDSS_EXPECTATION = "expected an EDSS value on the scale 0, 1.0, 1.5, ..., 9.5, 10"


def write_csv(tmp_path: Path, text: str, name: str = "visits.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problem_lines(error: pytest.ExceptionInfo[InputError]) -> list[str]:
    return str(error.value).splitlines()[1:]


# --- EDSS scale -----------------------------------------------------------------------------


def test_edss_scale_has_twenty_steps_without_half() -> None:
    assert len(EDSS_SCALE) == 20
    assert 0.5 not in EDSS_SCALE
    assert EDSS_SCALE[0] == 0 and EDSS_SCALE[1] == 1.0 and EDSS_SCALE[-1] == 10.0


def test_edss_half_point_is_rejected_with_spreadsheet_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "id,date,edss\n"
        + "".join(f"1,2020-01-{d:02d},2.0\n" for d in range(1, 6))
        + "1,2020-02-01,0.5\n",
    )
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert problem_lines(err) == [
        f"visits.csv, row 7, column 'edss': got '0.5'; {EDSS_EXPECTATION}"
    ]
    (problem,) = err.value.problems
    assert problem == InputProblem("visits.csv", 7, "edss", "0.5", EDSS_EXPECTATION[9:])


@pytest.mark.parametrize("bad", ["10.5", "2.25", "-1", "11", "two", "inf"])
def test_edss_off_scale_or_not_a_number(tmp_path: Path, bad: str) -> None:
    path = write_csv(tmp_path, f"id,date,edss\n1,2020-01-01,{bad}\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    shown = bad.strip('"')
    assert problem_lines(err) == [
        f"visits.csv, row 2, column 'edss': got '{shown}'; {EDSS_EXPECTATION}"
    ]


def test_quoted_decimal_comma_in_a_comma_file_says_how_to_read_it(tmp_path: Path) -> None:
    path = write_csv(tmp_path, 'id,date,edss\n1,2020-01-01,"2,5"\n')
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert problem_lines(err) == [
        f"visits.csv, row 2, column 'edss': got '2,5'; {EDSS_EXPECTATION} with a decimal "
        "point; fields are separated by ',', so a decimal comma is read only with decimal=',' "
        "(--decimal ,)"
    ]
    assert read_visits(path, decimal=",")["edss"].tolist() == [2.5]


def test_unquoted_decimal_comma_names_the_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,2020-01-01,2.0\n1,2020-06-01,2,5\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    (line,) = problem_lines(err)
    assert line.startswith("visits.csv, row 3: got '1,2020-06-01,2,5'; expected 3 fields like the")


def test_every_edss_step_is_accepted(tmp_path: Path) -> None:
    rows = "".join(
        f"1,{dt.date(2020, 1, 1) + dt.timedelta(days=i)},{v}\n"
        for i, v in enumerate(["0", "1", *[f"{x:.1f}" for x in EDSS_SCALE[1:]], "10"])
    )
    visits = read_visits(write_csv(tmp_path, "id,date,edss\n" + rows))
    assert set(visits["edss"]) == set(EDSS_SCALE)


# --- columns ----------------------------------------------------------------------------------


def test_a_folder_is_refused_with_the_way_to_read_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_visits(tmp_path)
    assert "is a folder; give the path of a file (a folder of Parquet files is read on " \
        "Dask: --dask, or client=)" in str(err.value)


def test_missing_columns_are_all_listed_with_the_columns_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "pid,when,edss\n1,2020-01-01,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path, outcomes=("edss", "t25fw"))
    lines = problem_lines(err)
    assert len(lines) == 3
    assert lines[0] == (
        "visits.csv, column 'subject': missing; expected a column named 'subject' (or 'id', "
        "'patient', 'patient_id', 'subject_id') (columns found: 'pid', 'when', 'edss'); name "
        "another column with columns={'subject': ...} (--column TABLE.subject=HEADER)"
    )
    assert lines[1].startswith("visits.csv, column 'date': missing; expected a column named 'date'")
    assert lines[2].startswith("visits.csv, column 't25fw': missing")


def test_a_header_named_for_a_column_but_absent_says_which_and_lists_the_headers(
        tmp_path: Path) -> None:
    """``columns={'edss': 'nosuch'}`` (``--column visits.edss=nosuch``): the message names the
    header given, the column it was given for and the file's headers, not a column 'nosuch'."""
    from neda.io import ReadOptions

    path = write_csv(tmp_path, "id,date,edss\n1,2020-01-01,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path, options=ReadOptions(columns={"edss": "nosuch"}))
    assert problem_lines(err) == [
        "visits.csv, column 'nosuch': missing; expected the header 'nosuch' given for the "
        "column 'edss' (columns={'edss': 'nosuch'}, --column visits.edss='nosuch'); the "
        "file's headers are: 'id', 'date', 'edss'"]


def test_column_names_can_be_chosen_and_match_ignoring_case(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "Patient,VisitDate,EDSS\nA,2020-01-01,2.0\n")
    visits = read_visits(path, subject="patient", date="visitdate")
    assert list(visits.columns) == ["subject", "date", "edss"]
    assert visits.loc[0, "subject"] == "A"


def test_semicolon_separated_csv_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id;date;edss\n1;2020-01-01;2.0\n")
    assert read_visits(path)["edss"].tolist() == [2.0]


# --- dates ------------------------------------------------------------------------------------


def test_unparsable_date(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,2020-01-01,2.0\n1,last spring,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    (line,) = problem_lines(err)
    assert line.startswith(
        "visits.csv, row 3, column 'date': got 'last spring'; expected an ISO 8601"
    )
    assert "date_format" in line


def test_ambiguous_day_month_date_needs_date_format(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,03/04/2020,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    (line,) = problem_lines(err)
    assert line.startswith(
        "visits.csv, row 2, column 'date': got '03/04/2020'; expected an ISO 8601"
    )
    assert "ambiguous" in line and "date_format" in line

    european = read_visits(path, date_format="%d/%m/%Y")
    american = read_visits(path, date_format="%m/%d/%Y")
    assert european.loc[0, "date"] == pd.Timestamp("2020-04-03")
    assert american.loc[0, "date"] == pd.Timestamp("2020-03-04")


def test_unambiguous_non_iso_date_still_needs_date_format(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,25/04/2020,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert "expected an ISO 8601 date YYYY-MM-DD" in str(err.value)
    assert "ambiguous" not in str(err.value)


def test_date_not_matching_the_given_format(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,2020-04-03,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path, date_format="%d/%m/%Y")
    assert problem_lines(err) == [
        "visits.csv, row 2, column 'date': got '2020-04-03'; "
        "expected a date in the format '%d/%m/%Y'"
    ]


def test_impossible_calendar_date(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,2021-02-29,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert problem_lines(err) == [
        "visits.csv, row 2, column 'date': got '2021-02-29'; "
        "expected a real calendar date in the form YYYY-MM-DD"
    ]


def test_empty_date_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert problem_lines(err) == [
        "visits.csv, row 2, column 'date': got an empty cell; expected a date (YYYY-MM-DD)"
    ]


def test_iso_date_time_keeps_the_calendar_date(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,2020-01-01T09:30:00,2.0\n1,2020-02-01 23:59,3.0\n")
    visits = read_visits(path)
    assert visits["date"].tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-02-01")]
    assert visits["date"].dtype == "datetime64[ns]"


def test_numeric_dates_need_date_unit(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,0,2.0\n1,180,2.5\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert "date_unit='day'" in str(err.value)

    visits = read_visits(path, date_unit="day", date_origin="2010-01-01")
    assert visits["date"].dtype == "datetime64[ns]"
    assert visits["date"].tolist() == [pd.Timestamp("2010-01-01"), pd.Timestamp("2010-06-30")]
    from_epoch = read_visits(path, date_unit="day")
    assert from_epoch["date"].tolist() == [pd.Timestamp("1970-01-01"), pd.Timestamp("1970-06-30")]


@pytest.mark.parametrize("bad", ["1.5", "soon", ""])
def test_day_numbers_must_be_whole(tmp_path: Path, bad: str) -> None:
    path = write_csv(tmp_path, f"id,date,edss\n1,0,2.0\n1,{bad},2.5\n")
    with pytest.raises(InputError) as err:
        read_visits(path, date_unit="day")
    (line,) = problem_lines(err)
    assert line.startswith("visits.csv, row 3, column 'date': got ")
    assert line.endswith("expected a whole number of days")


# --- timed tests and SDMT ---------------------------------------------------------------------


@pytest.mark.parametrize("column", ["t25fw", "nhpt", "nhpt_dom"])
@pytest.mark.parametrize("bad", ["-4.2", "0", "slow"])
def test_timed_tests_must_be_positive_seconds(tmp_path: Path, column: str, bad: str) -> None:
    path = write_csv(tmp_path, f"id,date,edss,{column}\n1,2020-01-01,2.0,{bad}\n")
    with pytest.raises(InputError) as err:
        read_visits(path, outcomes=("edss", column))
    assert problem_lines(err) == [
        f"visits.csv, row 2, column '{column}': got '{bad}'; "
        "expected a time in seconds greater than 0"
    ]


@pytest.mark.parametrize("bad", ["-1", "111", "many"])
def test_sdmt_must_be_a_count_of_correct_answers(tmp_path: Path, bad: str) -> None:
    path = write_csv(tmp_path, f"id,date,sdmt\n1,2020-01-01,{bad}\n")
    with pytest.raises(InputError) as err:
        read_visits(path, outcomes=("sdmt",))
    assert problem_lines(err) == [
        f"visits.csv, row 2, column 'sdmt': got '{bad}'; "
        "expected the number of correct answers, from 0 to 110"
    ]


def test_missing_timed_test_is_nan_and_kept(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss,t25fw\n1,2020-01-01,2.0,\n1,2020-06-01,2.0,NA\n")
    visits = read_visits(path, outcomes=("edss", "t25fw"))
    assert len(visits) == 2
    assert visits["t25fw"].isna().all()
    assert visits.attrs["report"].dropped == ()


# --- subjects ---------------------------------------------------------------------------------


def test_missing_subject_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n,2020-01-01,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert problem_lines(err) == [
        "visits.csv, row 2, column 'id': got an empty cell; expected a subject identifier"
    ]


def test_integer_ids_become_int64_and_text_ids_stay_text(tmp_path: Path) -> None:
    numbers = read_visits(
        write_csv(tmp_path, "id,date,edss\n12,2020-01-01,2.0\n3,2020-01-01,1.0\n")
    )
    assert numbers["subject"].dtype == np.int64
    assert numbers["subject"].tolist() == [3, 12]  # sorted as numbers
    padded = read_visits(
        write_csv(tmp_path, "id,date,edss\n007,2020-01-01,2.0\n8,2020-01-01,1.0\n")
    )
    assert padded["subject"].dtype == object
    assert padded["subject"].tolist() == ["007", "8"]


# --- repeated visits and dropped rows ---------------------------------------------------------


def test_conflicting_values_on_the_same_date_are_an_error(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, "id,date,edss\n1,2020-01-01,2.0\n1,2020-06-01,2.5\n1,2020-01-01,3.0\n"
    )
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert problem_lines(err) == [
        "visits.csv, row 2, column 'edss': got '2.0'; expected one value per subject and date, "
        "but subject 1 on 2020-01-01 also has '3.0' in row 4",
        "visits.csv, row 4, column 'edss': got '3.0'; expected one value per subject and date, "
        "but subject 1 on 2020-01-01 also has '2.0' in row 2",
    ]


def test_identical_and_complementary_repeats_are_merged_and_reported(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "id,date,edss,t25fw\n"
        "1,2020-01-01,2.0,\n"  # row 2
        "1,2020-01-01,2.0,\n"  # row 3: identical
        "2,2020-01-01,3.0,\n"  # row 4
        "2,2020-01-01,,6.1\n",  # row 5: adds the walk test
    )
    visits = read_visits(path, outcomes=("edss", "t25fw"))
    assert visits[["subject", "edss", "t25fw"]].to_dict("list") == {
        "subject": [1, 2],
        "edss": [2.0, 3.0],
        "t25fw": [pytest.approx(np.nan, nan_ok=True), 6.1],
    }
    report = visits.attrs["report"]
    assert report.rows_read == 4 and report.rows_kept == 2
    (merged,) = report.merged
    assert merged.count == 2 and merged.rows == (3, 5)
    assert "merged" in report.summary()


def test_rows_without_any_outcome_are_dropped_and_listed(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date,edss\n1,2020-01-01,2.0\n1,2020-03-01,\n1,2020-06-01,NA\n")
    visits = read_visits(path)
    assert len(visits) == 1
    (dropped,) = visits.attrs["report"].dropped
    assert dropped.count == 2 and dropped.rows == (3, 4)
    assert "no value in 'edss'" in str(dropped)


def test_output_is_sorted_by_subject_then_date(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "id,date,edss\nB,2021-01-01,1.0\nA,2020-06-01,2.0\nB,2020-01-01,1.5\nA,2020-01-01,2.0\n",
    )
    visits = read_visits(path)
    assert visits["subject"].tolist() == ["A", "A", "B", "B"]
    assert visits["date"].is_monotonic_increasing is False
    assert visits.groupby("subject")["date"].apply(lambda d: d.is_monotonic_increasing).all()
    assert isinstance(visits.index, pd.RangeIndex)


# --- all or nothing ---------------------------------------------------------------------------


def test_all_problems_are_raised_together(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "id,date,edss,t25fw\n"
        "1,2020-01-01,0.5,5.0\n"
        "1,03/04/2020,2.0,-1\n"
        ",2020-01-01,2.0,5.0\n"
        "2,2020-01-01,2.0,5.0\n"
        "2,2020-01-01,2.5,5.0\n",
    )
    with pytest.raises(InputError) as err:
        read_visits(path, outcomes=("edss", "t25fw"))
    lines = problem_lines(err)
    assert [line.split(":")[0] for line in lines] == [
        "visits.csv, row 2, column 'edss'",
        "visits.csv, row 3, column 'date'",
        "visits.csv, row 3, column 't25fw'",
        "visits.csv, row 4, column 'id'",
        "visits.csv, row 5, column 'edss'",
        "visits.csv, row 6, column 'edss'",
    ]
    assert str(err.value).startswith("6 problems in the input; nothing was read:")


def test_long_lists_are_capped_per_column(tmp_path: Path) -> None:
    rows = "".join(f"{i},2020-01-01,0.5\n" for i in range(120))
    with pytest.raises(InputError) as err:
        read_visits(write_csv(tmp_path, "id,date,edss\n" + rows))
    assert len(err.value.problems) == 50
    assert (
        str(err.value).splitlines()[-1]
        == "visits.csv, column 'edss': and 70 more rows with problems"
    )
    assert str(err.value).startswith("120 problems")


# --- sources ----------------------------------------------------------------------------------


def good_visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["P2", "P1", "P1", "P2"],
            "date": pd.to_datetime(["2020-01-01", "2020-06-01", "2020-01-01", "2021-01-01"]),
            "edss": [3.0, 2.5, 2.0, 3.5],
            "t25fw": [6.0, np.nan, 5.1, 6.4],
        }
    )


EXPECTED = pd.DataFrame(
    {
        "subject": np.array(["P1", "P1", "P2", "P2"], dtype=object),
        "date": pd.to_datetime(["2020-01-01", "2020-06-01", "2020-01-01", "2021-01-01"]),
        "edss": [2.0, 2.5, 3.0, 3.5],
        "t25fw": [5.1, np.nan, 6.0, 6.4],
    }
)


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    good_visits().to_csv(path, index=False, date_format="%Y-%m-%d")
    pd.testing.assert_frame_equal(read_visits(path, outcomes=("edss", "t25fw")), EXPECTED)


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "visits.parquet"
    frame = good_visits()
    pl.DataFrame(
        {
            "id": frame["id"].tolist(),
            "date": frame["date"].dt.date.tolist(),
            "edss": frame["edss"].to_numpy(),
            "t25fw": pl.Series(frame["t25fw"].to_numpy()).fill_nan(None),
        }
    ).write_parquet(path)
    pd.testing.assert_frame_equal(read_visits(path, outcomes=("edss", "t25fw")), EXPECTED)


def test_excel_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "visits.xlsx"
    good_visits().to_excel(path, index=False)
    pd.testing.assert_frame_equal(read_visits(path, outcomes=("edss", "t25fw")), EXPECTED)


def test_excel_reports_spreadsheet_rows_for_text_dates(tmp_path: Path) -> None:
    path = tmp_path / "visits.xlsx"
    frame = good_visits().astype({"date": object})
    frame.loc[2, "date"] = "03/04/2020"  # typed as text next to real date cells
    frame.to_excel(path, index=False)
    with pytest.raises(InputError) as err:
        read_visits(path, outcomes=("edss", "t25fw"))
    (line,) = problem_lines(err)
    assert line.startswith("visits.xlsx, row 4, column 'date': got '03/04/2020'; expected an ISO")


def test_pandas_input_uses_index_labels(tmp_path: Path) -> None:
    frame = good_visits()
    pd.testing.assert_frame_equal(read_visits(frame, outcomes=("edss", "t25fw")), EXPECTED)
    frame.loc[1, "edss"] = 0.5
    with pytest.raises(InputError) as err:
        read_visits(frame)
    assert problem_lines(err) == [
        f"visits, row index 1, column 'edss': got '0.5'; {EDSS_EXPECTATION}"
    ]

    labelled = good_visits().set_axis(["a", "b", "c", "d"])
    labelled.loc["c", "edss"] = 12.0
    with pytest.raises(InputError) as err:
        read_visits(labelled, file_label="my table")
    assert problem_lines(err) == [
        f"my table, row index c, column 'edss': got '12.0'; {EDSS_EXPECTATION}"
    ]


def test_pandas_text_dates_are_checked_like_a_file() -> None:
    frame = good_visits().astype({"date": str})
    frame.loc[3, "date"] = "01/02/2021"
    with pytest.raises(InputError) as err:
        read_visits(frame)
    (line,) = problem_lines(err)
    assert line.startswith("visits, row index 3, column 'date': got '01/02/2021'")


def test_polars_input() -> None:
    frame = pl.DataFrame(
        {
            "id": ["P2", "P1", "P1", "P2"],
            "date": [
                dt.date(2020, 1, 1),
                dt.date(2020, 6, 1),
                dt.date(2020, 1, 1),
                dt.date(2021, 1, 1),
            ],
            "edss": [3.0, 2.5, 2.0, 3.5],
            "t25fw": [6.0, None, 5.1, 6.4],
        }
    )
    pd.testing.assert_frame_equal(read_visits(frame, outcomes=("edss", "t25fw")), EXPECTED)
    pd.testing.assert_frame_equal(read_visits(frame.lazy(), outcomes=("edss", "t25fw")), EXPECTED)
    bad = frame.with_columns(pl.Series("edss", [3.0, 0.5, 2.0, 3.5]))
    with pytest.raises(InputError) as err:
        read_visits(bad)
    assert problem_lines(err) == [
        f"visits, row index 1, column 'edss': got '0.5'; {EDSS_EXPECTATION}"
    ]


def test_unsupported_file_type(tmp_path: Path) -> None:
    path = tmp_path / "visits.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match="cannot read files ending in '.json'"):
        read_visits(path)


def test_report_survives_pandas_copies(tmp_path: Path) -> None:
    visits = read_visits(write_csv(tmp_path, "id,date,edss\n1,2020-01-01,2.0\n1,2020-02-01,\n"))
    report = visits.attrs["report"]
    assert copy.deepcopy(visits).attrs["report"] is report
    assert visits.copy().attrs["report"] is report
    assert pd.concat([visits, visits]).attrs["report"] is report


# --- relapses ---------------------------------------------------------------------------------


def test_relapses_are_read_sorted_and_repeats_kept_for_hygiene(tmp_path: Path) -> None:
    # repeated rows are folded by relapse hygiene, which lists them with the reason
    path = write_csv(
        tmp_path, "id,date\n2,2020-05-01\n1,2020-03-01\n2,2020-05-01\n", "relapses.csv"
    )
    relapses = read_relapses(path)
    assert relapses["subject"].tolist() == [1, 2, 2]
    assert relapses["date"].dtype == "datetime64[ns]"
    assert relapses["precision"].tolist() == ["day"] * 3
    assert relapses.attrs["report"].merged == ()


def test_relapse_problems_name_the_file_row_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "id,date\n1,2020-03-01\n1,2020-13-01\n,2020-01-01\n", "relapses.csv")
    with pytest.raises(InputError) as err:
        read_relapses(path)
    assert problem_lines(err) == [
        "relapses.csv, row 3, column 'date': got '2020-13-01'; "
        "expected a real calendar date in the form YYYY-MM-DD",
        "relapses.csv, row 4, column 'id': got an empty cell; expected a subject identifier",
    ]


def test_relapses_of_unknown_subjects_warn_but_are_kept(tmp_path: Path) -> None:
    visits = read_visits(write_csv(tmp_path, "id,date,edss\n1,2020-01-01,2.0\n"))
    path = write_csv(tmp_path, "id,date\n1,2020-03-01\n9,2020-03-01\n", "relapses.csv")
    with pytest.warns(
        NedaInputWarning, match=r"relapses.csv: 1 row of 1 subject not in visits.csv"
    ):
        relapses = read_relapses(path, visits=visits)
    assert relapses["subject"].tolist() == [1, 9]
    (note,) = relapses.attrs["report"].warnings
    assert "'9'" in note


def test_known_relapse_subjects_do_not_warn(tmp_path: Path) -> None:
    visits = read_visits(write_csv(tmp_path, "id,date,edss\nA1,2020-01-01,2.0\n"))
    path = write_csv(tmp_path, "id,date\nA1,2020-03-01\n", "relapses.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        relapses = read_relapses(path, visits=visits)
    assert relapses.attrs["report"].warnings == ()


def test_relapse_ids_follow_text_ids_of_visits(tmp_path: Path) -> None:
    visits = read_visits(
        write_csv(tmp_path, "id,date,edss\n007,2020-01-01,2.0\n12,2020-01-01,2.0\n")
    )
    path = write_csv(tmp_path, "id,date\n12,2020-03-01\n", "relapses.csv")
    relapses = read_relapses(path, visits=visits)
    assert relapses["subject"].tolist() == ["12"]
