"""PRO and spasticity scores (rules §7.2-7.8): hand-computed examples, missing-item rules at
their limits, bad-input messages (the pros reader's for subjects, dates, instruments and repeated
rows; score_pros' for items and answers, naming the user's row), properties and speed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neda.io import InputError, read_pros
from neda.rules.pro import (
    RESULT_COLUMNS,
    ProOptions,
    ashworth,
    fss,
    mfis,
    msis29,
    msws12,
    score_pros,
    score_response_set,
)


def long(instrument: str, answers: dict, subject: object = 1, date: str = "2020-01-01"
         ) -> pd.DataFrame:
    return pd.DataFrame({"subject": subject, "date": date, "instrument": instrument,
                         "item": list(answers), "response": pd.Series(list(answers.values()),
                                                                      dtype=object)})


def drop(answers: dict, *items: int) -> dict:
    return {k: v for k, v in answers.items() if k not in items}


def problems(call) -> list[str]:
    """The lines of the InputError that ``call()`` raises, one per bad cell."""
    with pytest.raises(InputError) as info:
        call()
    return [str(p) for p in info.value.problems]


# item i answered i mod 5 (0-4)
MFIS_ANSWERS = {i: i % 5 for i in range(1, 22)}


# ---------------------------------------------------------------------------------- MFIS
def test_mfis_hand_computed():
    r = score_response_set("MFIS", MFIS_ANSWERS)
    # answers: 1:1 2:2 3:3 4:4 5:0 6:1 7:2 8:3 9:4 10:0 11:1 12:2 13:3 14:4 15:0 16:1 17:2
    #          18:3 19:4 20:0 21:1
    # physical 4,6,7,10,13,14,17,20,21 = 4+1+2+0+3+4+2+0+1 = 17
    # cognitive 1,2,3,5,11,12,15,16,18,19 = 1+2+3+0+1+2+0+1+3+4 = 17
    # psychosocial 8,9 = 3+4 = 7; total = 17+17+7 = 41
    # MFIS-5 items 1,9,10,17,19 = 1+4+0+2+4 = 11
    assert (r["mfis_physical"], r["mfis_cognitive"], r["mfis_psychosocial"]) == (17, 17, 7)
    assert r["mfis_total"] == 41 and r["mfis5"] == 11
    assert r["scored"] and r["reason"] is None and r["items_answered"] == 21


def test_mfis_missing_items_exactly_at_the_limit():
    # physical: 4 of 9 missing (4,6,7,10) is allowed: answered 13,14,17,20,21 = 3+4+2+0+1 = 10,
    # mean 2 -> 2 x 9 = 18
    r = score_response_set("MFIS", drop(MFIS_ANSWERS, 4, 6, 7, 10))
    assert r["mfis_physical"] == 18.0 and r["scored"]
    # total = 18 + 17 + 7 = 42
    assert r["mfis_total"] == 42.0
    # 5 of 9 missing (also 13): physical and total missing, with the reason
    r = score_response_set("MFIS", drop(MFIS_ANSWERS, 4, 6, 7, 10, 13))
    assert math.isnan(r["mfis_physical"]) and math.isnan(r["mfis_total"]) and not r["scored"]
    assert r["reason"] == ("physical subscale: 5 of 9 items missing (at most 4 allowed, "
                           "pro.mfis_max_missing_fraction); total: needs all three subscales")
    assert r["mfis_cognitive"] == 17  # the other subscales are still reported
    # cognitive: 5 of 10 missing (1,2,3,5,11): answered 12,15,16,18,19 = 2+0+1+3+4 = 10,
    # mean 2 -> 20; 6 missing (also 12) -> missing
    assert score_response_set("MFIS", drop(MFIS_ANSWERS, 2, 3, 5, 11, 1))["mfis_cognitive"] == 20
    assert math.isnan(score_response_set("MFIS", drop(MFIS_ANSWERS, 1, 2, 3, 5, 11, 12))[
        "mfis_cognitive"])
    # psychosocial: 1 of 2 missing (8): item 9 = 4 -> 4 x 2 = 8; both missing -> missing
    assert score_response_set("MFIS", drop(MFIS_ANSWERS, 8))["mfis_psychosocial"] == 8
    assert math.isnan(score_response_set("MFIS", drop(MFIS_ANSWERS, 8, 9))["mfis_psychosocial"])


def test_mfis5_missing_limit_and_unrounded_imputation():
    # MFIS-5 within the MFIS: 2 of 5 missing (1, 9) allowed: 10,17,19 = 0+2+4 = 6, mean 2 -> 10
    r = score_response_set("MFIS", drop(MFIS_ANSWERS, 1, 9))
    assert r["mfis5"] == 10.0
    # 3 of 5 missing (also 10) -> missing; the total is still scored (scored refers to it)
    r = score_response_set("MFIS", drop(MFIS_ANSWERS, 1, 9, 10))
    assert math.isnan(r["mfis5"]) and r["scored"]
    assert "MFIS-5 items: 3 of 5 items missing" in r["reason"]
    # stand-alone MFIS-5, form numbering 1-5: answers 0,1,2,3,4 -> 10; item 5 missing ->
    # 0+1+2+3 = 6, mean 1.5 -> 7.5 (unrounded)
    assert score_response_set("MFIS-5", {1: 0, 2: 1, 3: 2, 4: 3, 5: 4})["mfis5"] == 10
    assert score_response_set("MFIS-5", {1: 0, 2: 1, 3: 2, 4: 3})["mfis5"] == 7.5


def test_mfis5_item_numbering_option():
    # every item off the form at once, each named by its item (the row index of the set)
    assert problems(lambda: score_response_set("MFIS-5", {1: 0, 9: 1, 10: 2, 17: 3, 19: 4})) == [
        f"MFIS-5 responses, row index {i}, column 'item': got '{i}'; expected an item number "
        "1-5 of MFIS-5 (see pro.mfis5_item_numbering)" for i in (9, 10, 17, 19)]
    opts = ProOptions(mfis5_item_numbering="mfis21")
    assert score_response_set("MFIS-5", {1: 0, 9: 1, 10: 2, 17: 3, 19: 4}, opts)["mfis5"] == 10


# ----------------------------------------------------------------------------------- FSS
def test_fss_hand_computed_and_min_answered():
    answers = dict(enumerate([4, 5, 6, 3, 4, 5, 6, 7, 2], start=1))
    r = score_response_set("FSS", answers)
    # sum = 4+5+6+3+4+5+6+7+2 = 42; mean = 42 / 9 = 4.6667
    assert r["fss"] == pytest.approx(42 / 9) and r["fss_sum"] == pytest.approx(42)
    # 7 of 9 answered (limit): 4+5+6+3+4+5+6 = 33, mean 33/7 = 4.7143, sum 9 x 4.7143 = 42.43
    r = score_response_set("FSS", drop(answers, 8, 9))
    assert r["fss"] == pytest.approx(33 / 7) and r["fss_sum"] == pytest.approx(9 * 33 / 7)
    # 6 answered -> not scored
    r = score_response_set("FSS", drop(answers, 7, 8, 9))
    assert math.isnan(r["fss"]) and not r["scored"]
    assert r["reason"] == ("FSS: 6 of 9 items answered (at least 7 needed, "
                           "pro.fss_min_answered)")
    assert score_response_set("FSS", drop(answers, 7, 8, 9),
                              ProOptions(fss_min_answered=6))["fss"] == pytest.approx(27 / 6)


# ------------------------------------------------------------------------------- MSIS-29
def test_msis29_v1_and_v2_hand_computed():
    answers = {i: (3 if i <= 20 else 2) for i in range(1, 30)}
    r = score_response_set("MSIS-29v1", answers)
    # v1 physical raw 20 x 3 = 60 -> (60-20)/80 x 100 = 50; psychological raw 9 x 2 = 18 ->
    # (18-9)/36 x 100 = 25
    assert (r["msis29_physical_raw"], r["msis29_physical"]) == (60, 50)
    assert (r["msis29_psychological_raw"], r["msis29_psychological"]) == (18, 25)
    # v2 (options 1-4): physical (60-20)/60 x 100 = 66.667; psychological (18-9)/27 x 100 = 33.3
    r = score_response_set("MSIS-29 v2", answers)
    assert r["msis29_physical"] == pytest.approx(200 / 3)
    assert r["msis29_psychological"] == pytest.approx(100 / 3)
    assert problems(lambda: score_response_set("MSIS-29v2", {1: 5})) == [
        "MSIS-29v2 responses, row index 1, column 'response': got '5'; expected a whole number "
        "from 1 to 4 (MSIS-29v2 item 1)"]


def test_msis29_missing_items_at_the_limit():
    answers = {i: (4 if i <= 10 else 1) for i in range(1, 21)} | {i: 3 for i in range(21, 30)}
    # physical: items 11-20 missing (10 of 20, the limit): mean of items 1-10 = 4 -> raw 80 ->
    # (80-20)/80 x 100 = 75
    r = score_response_set("MSIS-29v1", drop(answers, *range(11, 21)))
    assert r["msis29_physical"] == 75 and r["msis29_physical_raw"] == 80
    # 11 missing -> physical missing, scored false
    r = score_response_set("MSIS-29v1", drop(answers, *range(10, 21)))
    assert math.isnan(r["msis29_physical"]) and not r["scored"]
    # psychological: 4 of 9 missing allowed (mean 3 -> raw 27 -> 50), 5 not
    assert score_response_set("MSIS-29v1", drop(answers, 21, 22, 23, 24))[
        "msis29_psychological"] == 50
    assert math.isnan(score_response_set("MSIS-29v1", drop(answers, 21, 22, 23, 24, 25))[
        "msis29_psychological"])


# ------------------------------------------------------------------------------- MSWS-12
def test_msws12_v1_hand_computed_and_limit():
    answers = dict(enumerate([1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2], start=1))
    # raw = 33 -> (33 - 12) / 48 x 100 = 43.75
    r = score_response_set("MSWS-12v1", answers)
    assert (r["msws12_raw"], r["msws12"]) == (33, 43.75)
    # 6 of 12 missing (7-12): 1+2+3+4+5+1 = 16, mean 2.667 -> raw 32 -> (32-12)/48 x 100 = 41.67
    r = score_response_set("MSWS-12v1", drop(answers, *range(7, 13)))
    assert r["msws12_raw"] == pytest.approx(32) and r["msws12"] == pytest.approx(125 / 3)
    # 7 missing -> not scored
    r = score_response_set("MSWS-12v1", drop(answers, *range(6, 13)))
    assert math.isnan(r["msws12"]) and not r["scored"]
    assert r["reason"].startswith("MSWS-12: 7 of 12 items missing (at most 6 allowed")


def test_msws12_v2_not_scored_without_item_metadata():
    answers = {i: 2 for i in range(1, 13)}
    r = score_response_set("MSWS-12v2", answers)
    assert not r["scored"] and math.isnan(r["msws12"])
    assert r["reason"].startswith("not_scored: MSWS-12 v2")
    with pytest.raises(ValueError, match="needs msws12_v2_items"):
        ProOptions(msws12_score_v2=True)
    # with metadata (hypothetical form: items 1-4 answered 1-3, items 5-12 answered 1-5):
    # min 12, max 4 x 3 + 8 x 5 = 52; raw 24 -> (24 - 12) / 40 x 100 = 30
    meta = tuple((i, 1, 3 if i <= 4 else 5) for i in range(1, 13))
    opts = ProOptions(msws12_score_v2=True, msws12_v2_items=meta)
    r = score_response_set("MSWS-12v2", answers, opts)
    assert r["msws12"] == pytest.approx(30) and r["msws12_raw"] == pytest.approx(24)
    # item 1 missing: answered minima 11, maxima 49, sum 22 -> 100 x 11 / 38 = 28.947
    r = score_response_set("MSWS-12v2", drop(answers, 1), opts)
    assert r["msws12"] == pytest.approx(1100 / 38)
    with pytest.raises(ValueError, match="expected a whole number from 1 to 3"):
        score_response_set("MSWS-12v2", {1: 4}, opts)


# ---------------------------------------------------------------------------- spasticity
def test_spasticity_nrs_and_pdds():
    assert score_response_set("spasticity NRS", {1: 7})["spasticity_nrs"] == 7
    r = score_response_set("spasticity_nrs", {1: None})
    assert not r["scored"] and r["reason"] == "spasticity NRS: not answered"
    with pytest.raises(ValueError, match="expected a whole number from 0 to 10"):
        score_response_set("spasticity_nrs", {1: 11})
    assert score_response_set("PDDS", {1: 4})["pdds"] == 4


def test_modified_ashworth_keeps_1_plus_as_a_category():
    frame = long("ashworth", {"elbow flexors L": "1+", "elbow flexors R": 2, "knee ext L": "0",
                              "knee ext R": None})
    out = ashworth(frame)
    assert out["muscle"].tolist() == ["elbow flexors L", "elbow flexors R", "knee ext L",
                                      "knee ext R"]
    assert out["ashworth"].astype(object).tolist()[:3] == ["1+", "2", "0"]
    assert out["ashworth_code"].tolist()[:3] == [2, 3, 0]  # 0,1,1+,2,3,4 -> 0..5
    assert out["ashworth"].cat.ordered and out["ashworth"].max() == "2"
    assert out["scored"].tolist() == [True, True, True, False]
    assert problems(lambda: ashworth(long("ashworth", {"elbow": "1.5", "knee": "1+"}))) == [
        "pros, row index 0, column 'response': got '1.5'; expected a Modified Ashworth category "
        "0, 1, 1+, 2, 3 or 4 (muscle 'elbow'; subject 1 on 2020-01-01); '1+' is a category, "
        "not 1.5 (rules §7.6)"]
    with pytest.raises(InputError, match=r"got '5'; expected a Modified Ashworth category 0, 1, "
                                         r"1\+, 2, 3 or 4 \(muscle 'elbow'"):
        ashworth(long("ashworth", {"elbow": 5}))


# ----------------------------------------------------------------------------- bad input
def reader_problems(frame: pd.DataFrame) -> list[tuple]:
    """(file, row, column, value) of each problem score_pros raises; the reader raises the
    same error."""
    with pytest.raises(InputError) as scored:
        score_pros(frame)
    with pytest.raises(InputError) as read:
        read_pros(frame)
    assert str(scored.value) == str(read.value)
    return [(p.file, p.row, p.column, p.value) for p in scored.value.problems]


def test_bad_subjects_dates_instruments_and_repeats_are_the_readers_errors():
    assert reader_problems(long("MFIS-X", {1: 1})) == [("pros", 0, "instrument", "MFIS-X")]
    assert reader_problems(long("MSIS-29", {1: 1})) == [("pros", 0, "instrument", "MSIS-29")]
    assert reader_problems(long("MFIS", {1: 1}, date="31/31/2020")) == [
        ("pros", 0, "date", "31/31/2020")]
    assert reader_problems(long("MFIS", {1: 1, 2: 1}, subject=None)) == [
        ("pros", 0, "subject", None), ("pros", 1, "subject", None)]
    assert reader_problems(long("MFIS", {1: 1}, date=None)) == [("pros", 0, "date", None)]
    # the same item answered twice, two answers: both rows, each naming the other
    dup = pd.concat([long("FSS", {1: 3, 2: 4}), long("FSS", {2: 5})], ignore_index=True)
    assert reader_problems(dup) == [("pros", 1, "response", "4"), ("pros", 2, "response", "5")]
    with pytest.raises(InputError, match=r"row index 1, column 'response': got '4'; expected "
                                         r"one value per .* also has '5' in row index 2"):
        score_pros(dup)
    assert reader_problems(pd.DataFrame({"subject": [1], "item": [1]})) == [
        ("pros", None, "date", None), ("pros", None, "instrument", None),
        ("pros", None, "response", None)]
    # the same answer twice is one answer (merged by the reader, listed in its report)
    same = pd.concat([long("FSS", {i: 4 for i in range(1, 10)}), long("FSS", {2: 4})],
                     ignore_index=True)
    assert score_pros(same)["fss"].tolist() == [4.0]


def test_bad_items_and_answers_name_the_users_row_subject_date_instrument_and_item():
    frame = long("MFIS", {1: 1, 3: 5}, subject=7, date="2021-03-04")
    assert problems(lambda: score_pros(frame)) == [
        "pros, row index 1, column 'response': got '5'; expected a whole number from 0 to 4 "
        "(MFIS item 3; subject 7 on 2021-03-04)"]
    # the row is the DataFrame's index label, whatever order the reader puts the rows in
    moved = frame.iloc[::-1].set_axis(["first", "second"])
    assert problems(lambda: score_pros(moved)) == [
        "pros, row index first, column 'response': got '5'; expected a whole number from 0 to 4 "
        "(MFIS item 3; subject 7 on 2021-03-04)"]
    assert problems(lambda: score_pros(long("MFIS", {1: 1, 22: 1}))) == [
        "pros, row index 1, column 'item': got '22'; expected an item number 1-21 of MFIS "
        "(subject 1 on 2020-01-01)"]
    assert problems(lambda: score_pros(long("MFIS", {1: 2.5, 2: "often", 3: float("inf")}))) == [
        f"pros, row index {i}, column 'response': got '{v}'; expected a whole number from 0 to 4 "
        f"(MFIS item {i + 1}; subject 1 on 2020-01-01)" for i, v in enumerate(("2.5", "often",
                                                                               "inf"))]
    assert problems(lambda: score_pros(long("MSWS-12v2", {1: 2.5, 13: 1}))) == [
        "pros, row index 0, column 'response': got '2.5'; expected a whole number (MSWS-12v2 "
        "item 1; subject 1 on 2020-01-01)",
        "pros, row index 1, column 'item': got '13'; expected an item number 1-12 of MSWS-12v2 "
        "(subject 1 on 2020-01-01)"]
    # an item written twice in two ways gets past the reader: named here, both rows
    assert problems(lambda: score_pros(long("FSS", {"2": 3, "02": 4}))) == [
        "pros, row index 0, column 'item': got '2'; expected one answer per item, but FSS item 2 "
        "of subject 1 on 2020-01-01 is also answered in row index 1 ('4')",
        "pros, row index 1, column 'item': got '2'; expected one answer per item, but FSS item 2 "
        "of subject 1 on 2020-01-01 is also answered in row index 0 ('3')"]
    ash = pd.concat([long("ashworth", {" ": 1, "elbow": 2}), long("ashworth", {"elbow ": 3})],
                    ignore_index=True)
    assert problems(lambda: score_pros(ash.assign(item=["", "elbow", "elbow 1"]))) == [
        "pros, row index 0, column 'item': got an empty cell; expected the muscle group (and "
        "side) rated on the Modified Ashworth scale (subject 1 on 2020-01-01)"]


def test_bad_cells_of_a_file_all_at_once_in_the_files_rows_and_headers(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("Patient ID,Date,Questionnaire,Item,Answer\n"
                    "3,2020-01-01,MFIS,10,5\n"      # row 2: out of range
                    "3,2020-01-01,MFIS,1,3\n"
                    "3,2020-01-01,mfis,22,1\n"      # row 4: no item 22
                    "4,2020-02-01,FSS,2,often\n"    # row 5: not a number
                    "4,2020-02-01,ashworth,elbow,1.5\n")  # row 6: no category
    with pytest.raises(InputError) as info:
        score_pros(path)
    assert str(info.value).splitlines() == [
        "4 problems in the input; nothing was read:",
        "answers.csv, row 2, column 'Answer': got '5'; expected a whole number from 0 to 4 "
        "(MFIS item 10; subject 3 on 2020-01-01)",
        "answers.csv, row 4, column 'Item': got '22'; expected an item number 1-21 of MFIS "
        "(subject 3 on 2020-01-01)",
        "answers.csv, row 5, column 'Answer': got 'often'; expected a whole number from 1 to 7 "
        "(FSS item 2; subject 4 on 2020-02-01)",
        "answers.csv, row 6, column 'Answer': got '1.5'; expected a Modified Ashworth category "
        "0, 1, 1+, 2, 3 or 4 (muscle 'elbow'; subject 4 on 2020-02-01); '1+' is a category, "
        "not 1.5 (rules §7.6)"]
    # the validated table scores the same, and names the same rows
    with pytest.raises(InputError) as again:
        score_pros(read_pros(path))
    assert str(again.value) == str(info.value)


def test_a_wholly_wrong_column_lists_the_first_rows_and_counts_the_rest():
    frame = pd.concat([long("FSS", {i: 9 for i in range(1, 10)}, subject=s) for s in range(8)],
                      ignore_index=True)  # 72 answers of 9 on a 1-7 scale
    lines = str(pytest.raises(InputError, score_pros, frame).value).splitlines()
    assert lines[0] == "72 problems in the input; nothing was read:"
    assert lines[1].startswith("pros, row index 0, column 'response': got '9'; expected a whole "
                               "number from 1 to 7 (FSS item 1; subject 0 on 2020-01-01)")
    assert len(lines) == 1 + 50 + 1
    assert lines[50].startswith("pros, row index 49, ")
    assert lines[-1] == "pros, column 'response': and 22 more rows with problems"


def test_output_schema_sorting_and_provenance():
    frame = pd.concat([long("FSS", {i: 4 for i in range(1, 10)}, subject=2),
                       long("mfis", MFIS_ANSWERS, subject=1, date="2021-01-01"),
                       long("MFIS", MFIS_ANSWERS, subject=1, date="2020-01-01")],
                      ignore_index=True)
    frame.loc[0, "response"] = ""  # a blank answer is an unanswered item
    out = score_pros(frame)
    assert list(out.columns) == list(RESULT_COLUMNS)
    assert out[["subject", "instrument"]].values.tolist() == [[1, "MFIS"], [1, "MFIS"],
                                                              [2, "FSS"]]
    assert out["date"].dtype == "datetime64[ns]"
    assert out["items_answered"].tolist() == [21, 21, 8]
    assert out["rule_set"].iloc[0] == "pro/mfis0.5/fss7/msis0.5/msws0.5/v2off"
    assert out.attrs["provenance"]["options"]["fss_min_answered"] == 7
    assert score_pros(frame.iloc[0:0]).columns.tolist() == list(RESULT_COLUMNS)


def test_per_instrument_functions():
    frame = long("MFIS", MFIS_ANSWERS).drop(columns="instrument")
    out = mfis(frame)
    assert out["mfis_total"].tolist() == [41]
    assert "fss" not in out.columns and "muscle" not in out.columns
    both = pd.concat([long("MSIS-29v1", {i: 3 for i in range(1, 30)}),
                      long("MSIS-29v2", {i: 3 for i in range(1, 30)}, date="2021-01-01"),
                      long("FSS", {i: 1 for i in range(1, 10)})], ignore_index=True)
    assert len(msis29(both)) == 2
    v2 = msis29(both, version=2)
    assert v2["instrument"].tolist() == ["MSIS-29v2"]
    assert v2["msis29_physical"].iloc[0] == pytest.approx(200 / 3)  # (60-20)/60 x 100
    assert fss(both)["fss"].tolist() == [1.0]
    with pytest.raises(ValueError, match="version="):
        msws12(long("MSWS-12v1", {1: 1}).drop(columns="instrument"))
    no_inst = long("MSWS-12v1", {i: 5 for i in range(1, 13)}).drop(columns="instrument")
    assert msws12(no_inst, version="v1")["msws12"].tolist() == [100.0]
    # every row is read and checked, only the chosen instrument's items and answers are scored
    other = pd.concat([both, long("PDDS", {1: 99})], ignore_index=True)
    assert fss(other)["fss"].tolist() == [1.0]
    assert reader_problems(pd.concat([both, long("MFIS-X", {1: 1})], ignore_index=True)) == [
        ("pros", 67, "instrument", "MFIS-X")]
    with pytest.raises(InputError, match="row index 67, column 'instrument': got 'MFIS-X'"):
        fss(pd.concat([both, long("MFIS-X", {1: 1})], ignore_index=True))
    assert fss(read_pros(other))["fss"].tolist() == [1.0]  # a validated table as it is


def test_demo_registry_scores():
    from neda.demo import demo_registry

    pros = demo_registry(40, seed=3)["pros"]
    out = score_pros(pros, subject="id")
    assert set(out["instrument"]) == {"MFIS", "FSS", "MSWS-12v1", "MSIS-29v1"}
    assert out["scored"].mean() > 0.95


# ------------------------------------------------------------------------------ properties
RANGES = {"MFIS": (21, 0, 4, ["mfis_physical", "mfis_cognitive", "mfis_psychosocial",
                              "mfis_total", "mfis5"]),
          "FSS": (9, 1, 7, ["fss", "fss_sum"]),
          "MSIS-29v1": (29, 1, 5, ["msis29_physical", "msis29_psychological"]),
          "MSIS-29v2": (29, 1, 4, ["msis29_physical", "msis29_psychological"]),
          "MSWS-12v1": (12, 1, 5, ["msws12"])}
BOUNDS = {"mfis_physical": (0, 36), "mfis_cognitive": (0, 40), "mfis_psychosocial": (0, 8),
          "mfis_total": (0, 84), "mfis5": (0, 20), "fss": (1, 7), "fss_sum": (9, 63),
          "msis29_physical": (0, 100), "msis29_psychological": (0, 100), "msws12": (0, 100)}


@st.composite
def response_set(draw):
    name = draw(st.sampled_from(sorted(RANGES)))
    n, lo, hi, _ = RANGES[name]
    answers = draw(st.lists(st.one_of(st.none(), st.integers(lo, hi)), min_size=n, max_size=n))
    item = draw(st.integers(1, n))
    return name, answers, item


@given(response_set())
def test_a_worse_answer_never_gives_a_better_score(case):
    name, answers, item = case
    _, lo, hi, cols = RANGES[name]
    before = dict(enumerate(answers, start=1))
    if before[item] is None:
        before[item] = lo  # keep the missing pattern: both sets answer this item
    after = dict(before)
    after[item] = min(before[item] + 1, hi)
    frame = pd.concat([long(name, before), long(name, after, date="2021-01-01")],
                      ignore_index=True)
    out = score_pros(frame)
    for c in cols:
        a, b = out[c].iloc[0], out[c].iloc[1]
        assert math.isnan(a) == math.isnan(b)
        if not math.isnan(a):
            assert b >= a - 1e-9  # higher = worse on every one of these scales


@given(response_set())
def test_scores_stay_within_the_instrument_range(case):
    name, answers, _ = case
    out = score_pros(long(name, dict(enumerate(answers, start=1))))
    for c in RANGES[name][3]:
        v = out[c].iloc[0]
        lo, hi = BOUNDS[c]
        assert math.isnan(v) or lo - 1e-9 <= v <= hi + 1e-9


# ----------------------------------------------------------------------------------- speed
def test_a_million_item_rows():
    """Scoring a million item answers at once (the speed is measured in bench/, never asserted
    here): one score per set, equal to the one-set path."""
    rng = np.random.default_rng(0)
    n_sets = 1_000_000 // 21 + 1
    pros = pd.DataFrame({
        "subject": np.repeat(np.arange(n_sets) // 4, 21),
        "date": np.repeat(np.datetime64("2010-01-01") + (np.arange(n_sets) % 4) * 400, 21),
        "instrument": "MFIS",
        "item": np.tile(np.arange(1, 22), n_sets),
        "response": rng.integers(0, 5, n_sets * 21).astype(float),
    })
    pros.loc[rng.random(len(pros)) < 0.05, "response"] = np.nan
    out = score_pros(pros)
    assert len(pros) >= 1_000_000 and len(out) == n_sets
    # spot-check one set against the scalar path
    first = pros[(pros["subject"] == 0) & (pros["date"] == pd.Timestamp("2010-01-01"))]
    r = score_response_set("MFIS", dict(zip(first["item"], first["response"], strict=True)))
    assert out["mfis_total"].iloc[0] == pytest.approx(r["mfis_total"], nan_ok=True)
