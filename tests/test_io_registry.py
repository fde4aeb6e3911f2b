"""Registry exports as they arrive: each works, or stops with one line naming what to do.

The European export test writes the same demo registry twice - clean ISO CSV, and as a
spreadsheet in a decimal-comma locale saves it (';', dd/mm/yyyy, decimal comma, BOM, CRLF,
"MS-0001" ids, extra columns, Windows-1252) - and checks that the Python readers and both
commands give the same events from either.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neda.cli import app
from neda.course import confirmed_events
from neda.demo import demo_registry
from neda.io import (
    InputError,
    ReadOptions,
    data_model_markdown,
    read_mri,
    read_relapses,
    read_table,
    read_tables,
    read_treatments,
    read_visits,
)

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs"


def one_line(err: pytest.ExceptionInfo[InputError]) -> str:
    lines = str(err.value).splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --------------------------------------------------------------------- the data model
def test_data_model_doc_is_generated_from_the_schemas() -> None:
    assert (DOCS / "data-model.md").read_text(encoding="utf-8") == data_model_markdown(), (
        "docs/data-model.md is out of date: neda data-model > docs/data-model.md")


# ------------------------------------------------------------- whole-file problems
def test_a_relapses_file_without_rows_says_how_to_state_none(tmp_path: Path) -> None:
    path = tmp_path / "relapses.csv"
    path.write_text("subject,date\n")
    with pytest.raises(InputError) as err:
        read_relapses(path)
    assert one_line(err) == ("relapses.csv has a header line but no data rows; if no relapse "
                             "was recorded, leave the file out (on the command line say so "
                             "with --no-relapses)")


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "visits.csv is empty; expected a header line and data rows"),
    (b"  \r\n\r\n", "visits.csv is empty"),
    # only a byte-order mark (an editor's or Excel's empty file): empty, not a traceback
    (b"\xef\xbb\xbf", "visits.csv is empty"),
    (b"\xef\xbb\xbf\r\n", "visits.csv is empty"),
    (b"\xff\xfe", "visits.csv is empty"),
    (b"id,date,edss\r\n", "visits.csv has a header line but no data rows"),
    (b"id;date;edss\n;;\n", "visits.csv has a header line but no data rows"),
    (b"PK\x03\x04\x14\x00\x00\x00rest", "is a zip archive or an Excel workbook, not a CSV"),
    (b"\x00\x01\x02binary\x00", "is a binary file, not CSV text"),
    (b"\x1f\x8b\x08\x00gz", "is gzip-compressed"),
])
def test_unusable_files_get_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "visits.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert expected in one_line(err)


def test_a_real_zip_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("visits.csv", "id,date,edss\n1,2020-01-01,2.0\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert one_line(err).startswith("export.csv is a zip archive")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_visits(tmp_path / "nope.csv")
    assert "does not exist" in one_line(err) or "no such file" in one_line(err)


# ------------------------------------------------------------------ encodings
def test_windows_1252_is_read_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_bytes("id;date;edss;comment\r\nMüller-1;2020-01-01;2,5;Überweisung\r\n"
                     .encode("cp1252"))
    visits = read_visits(path)
    assert visits["subject"].tolist() == ["Müller-1"] and visits["edss"].tolist() == [2.5]
    (note, unused) = visits.attrs["report"].warnings
    assert "Windows-1252" in note and "CSV UTF-8" in note
    assert "'comment'" in unused


def test_bytes_that_are_no_known_encoding_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_bytes(b"id,date,edss\n1,2020-01-01,2.0\x81\x8d\n")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert "is not UTF-8 text" in one_line(err) and "CSV UTF-8" in one_line(err)


def test_utf16_from_excel_unicode_text(tmp_path: Path) -> None:
    path = tmp_path / "visits.txt"
    path.write_bytes("id\tdate\tedss\r\n1\t2020-01-01\t2,0\r\n".encode("utf-16"))
    assert read_visits(path)["edss"].tolist() == [2.0]


# ------------------------------------------------------------- cells and headers
def test_headers_match_ignoring_case_spaces_and_underscores(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("Patient ID;Visit Date;EDSS;T25FW;Fs Pyramidal\n"
                    "A;2020-01-01;2,0;6,1;2X\n", encoding="utf-8")
    v = read_visits(path)
    assert list(v.columns) == ["subject", "date", "edss", "fs_pyramidal", "t25fw"]
    assert v.iloc[0].tolist() == ["A", pd.Timestamp("2020-01-01"), 2.0, "2X", 6.1]


def test_configurable_column_names(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("Kennung,Untersuchung,Punkte\nX1,2020-01-01,3.5\n", encoding="utf-8")
    v = read_visits(path, options=ReadOptions(columns={
        "subject": "Kennung", "date": "Untersuchung", "edss": "Punkte"}))
    assert v["edss"].tolist() == [3.5]
    with pytest.raises(ValueError, match="has no column 'edds'"):
        read_visits(path, options=ReadOptions(columns={"edds": "Punkte"}))


def test_blank_rows_are_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("id;date;edss\n1;2020-01-01;2,0\n;;\n\n1;2021-01-01;2,5\n",
                    encoding="utf-8")
    v = read_visits(path)
    assert len(v) == 2
    (blank,) = v.attrs["report"].dropped
    assert blank.rows == (3, 4) and "blank row" in blank.reason
    # a later bad cell is still named by its spreadsheet row
    path.write_text("id;date;edss\n1;2020-01-01;2,0\n;;\n1;2021-01-01;0,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 4, column 'edss': got '0,5'"):
        read_visits(path)


@pytest.mark.parametrize(("cell", "value"), [("yes", True), ("No", False), ("Y", True),
                                             ("n", False), ("TRUE", True), ("false", False),
                                             ("1", True), ("0", False), ("", None),
                                             ("unknown", None), ("NA", None)])
def test_one_reading_of_yes_no_cells(tmp_path: Path, cell: str, value: bool | None) -> None:
    path = tmp_path / "relapses.csv"
    path.write_text(f"id,date,pseudo\n1,2020-01-01,{cell}\n", encoding="utf-8")
    got = read_relapses(path)["pseudo"].iloc[0]
    assert (got is pd.NA) if value is None else (bool(got) is value)


def test_a_flag_that_is_no_flag(tmp_path: Path) -> None:
    path = tmp_path / "relapses.csv"
    path.write_text("id,date,pseudo\n1,2020-01-01,perhaps\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 2, column 'pseudo': got 'perhaps'; expected yes"):
        read_relapses(path)


def test_month_only_onsets_in_iso_and_in_the_given_format(tmp_path: Path) -> None:
    path = tmp_path / "relapses.csv"
    path.write_text("id;date\n1;03/2024\n1;2023\n1;20/02/2024\n", encoding="utf-8")
    r = read_relapses(path, date_format="%d/%m/%Y")
    assert r["precision"].tolist() == ["year", "day", "month"]
    assert r["date"].tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp("2024-02-20"),
                                  pd.Timestamp("2024-03-01")]
    assert r["date_end"].tolist()[-1] == pd.Timestamp("2024-03-31")


@pytest.mark.parametrize(("cell", "expected"), [
    ("1850-03-02", "expected a date from 1900-01-01 on"),
    ("2091-05-01", "expected a date on or before the data cut-off"),
])
def test_implausible_dates(tmp_path: Path, cell: str, expected: str) -> None:
    path = tmp_path / "visits.csv"
    path.write_text(f"id,date,edss\n1,{cell},2.0\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert f"row 2, column 'date': got '{cell}'; {expected}" in str(err.value)


def test_cutoff_can_be_moved(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("id,date,edss\n1,2019-05-01,2.0\n1,2020-05-01,2.0\n", encoding="utf-8")
    with pytest.raises(InputError, match="data cut-off 2020-01-01"):
        read_visits(path, cutoff="2020-01-01")
    assert len(read_visits(path, cutoff=False)) == 2


def test_integer_dates_in_a_dataframe_are_refused_not_read_as_nanoseconds() -> None:
    # the bug: day numbers in a pandas column became nanoseconds since 1970, every visit
    # the same day, silently merged as duplicates
    frame = pd.DataFrame({"subject": 1, "date": [0, 180, 365], "edss": [2.0, 3.0, 3.0]})
    with pytest.raises(InputError, match="whole numbers are read as day numbers only with"):
        read_visits(frame)
    with pytest.raises(InputError, match="date_unit='day'"):
        confirmed_events(frame, pd.DataFrame({"subject": [], "date": []}))
    read = read_visits(frame, date_unit="day", date_origin="2015-01-01")
    assert read["date"].tolist() == [pd.Timestamp("2015-01-01"), pd.Timestamp("2015-06-30"),
                                     pd.Timestamp("2016-01-01")]


def test_unknown_drug_names_the_cell_and_suggests(tmp_path: Path) -> None:
    path = tmp_path / "treatments.csv"
    path.write_text("id,drug,start\n1,Ocrevuss,2020-01-01\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_treatments(path)
    assert "row 2, column 'drug': got 'Ocrevuss'" in str(err.value)
    assert "Ocrevus" in str(err.value)


def test_contrast_rule_in_one_place(tmp_path: Path) -> None:
    path = tmp_path / "mri.csv"
    path.write_text("id,date,contrast,gd\n1,2020-01-01,,0\n1,2020-06-01,,\n"
                    "1,2021-01-01,no,0\n1,2021-06-01,yes,2\n", encoding="utf-8")
    m = read_mri(path)
    # blank + count -> given; blank, no count -> unknown; no -> the count is unknown
    assert m["contrast"].tolist() == [True, pd.NA, False, True]
    assert m["gd"].isna().tolist() == [False, True, True, False]


# ------------------------------------------------------------------------ Excel
def test_excel_sheets_by_name_and_a_wrong_sheet(tmp_path: Path) -> None:
    path = tmp_path / "registry.xlsx"
    with pd.ExcelWriter(path) as w:
        pd.DataFrame({"id": [1, 1], "date": ["2020-01-01", "2021-01-01"],
                      "edss": [2.0, 2.5]}).to_excel(w, sheet_name="Visits", index=False)
        pd.DataFrame({"id": [1], "date": ["2020-06-01"]}).to_excel(
            w, sheet_name="Relapses", index=False)
        pd.DataFrame({"note": ["x"]}).to_excel(w, sheet_name="Notes", index=False)
    assert len(read_visits(path)) == 2          # the sheet named like the table
    assert len(read_relapses(path)) == 1
    # the bug: relapses read from the first sheet of a workbook - a visits sheet, 0 events
    with pytest.raises(InputError) as err:
        read_relapses(path, sheet="Visits")
    assert "looks like a visits table (it has 'edss')" in one_line(err)
    with pytest.raises(InputError) as err:
        read_table(path, "mri")
    assert "has 3 sheets ('Visits', 'Relapses', 'Notes') and none is named 'mri'" in \
        one_line(err)
    with pytest.raises(InputError, match="no sheet named 'Attacks'"):
        read_relapses(path, sheet="Attacks")


def test_excel_rows_are_the_sheet_rows(tmp_path: Path) -> None:
    path = tmp_path / "visits.xlsx"
    frame = pd.DataFrame({"id": [1, None, 1], "date": ["2020-01-01", None, "2021-01-01"],
                          "edss": [2.0, None, 0.5]})
    frame.to_excel(path, index=False)
    with pytest.raises(InputError, match="visits.xlsx, row 4, column 'edss': got '0.5'"):
        read_visits(path)


# ----------------------------------------------------------------- across tables
def test_ids_that_never_match_stop_with_an_example_of_each_side(tmp_path: Path) -> None:
    visits = tmp_path / "visits.csv"
    visits.write_text("id,date,edss\n0001,2020-01-01,2.0\n0002,2020-01-01,2.0\n",
                      encoding="utf-8")
    relapses = tmp_path / "relapses.csv"
    relapses.write_text("id,date\n1,2020-03-01\n2,2020-03-01\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_tables(visits=visits, relapses=relapses)
    line = one_line(err)
    assert "relapses.csv shares no subject with visits.csv" in line
    assert "relapses use '1', '2'" in line and "visits use '0001', '0002'" in line
    result = runner.invoke(app, ["progression", str(visits), "--relapses", str(relapses)])
    assert result.exit_code == 1 and "shares no subject" in result.output


def test_partial_id_mismatch_is_reported_not_fatal(tmp_path: Path) -> None:
    visits = tmp_path / "visits.csv"
    visits.write_text("id,date,edss\nA,2020-01-01,2.0\n", encoding="utf-8")
    relapses = tmp_path / "relapses.csv"
    relapses.write_text("id,date\nA,2020-03-01\nZ,2020-03-01\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="1 row of 1 subject not in visits.csv"):
        tables = read_tables(visits=visits, relapses=relapses)
    assert tables.relapses is not None and len(tables.relapses) == 2


def test_problems_of_every_file_are_listed_together(tmp_path: Path) -> None:
    visits = tmp_path / "visits.csv"
    visits.write_text("id,date,edss\n1,2020-01-01,0.5\n", encoding="utf-8")
    relapses = tmp_path / "relapses.csv"
    relapses.write_text("id,date\n1,2020-13-01\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_tables(visits=visits, relapses=relapses)
    text = str(err.value)
    assert "visits.csv, row 2, column 'edss'" in text
    assert "relapses.csv, row 2, column 'date'" in text


# ------------------------------------------------------------ a European export
def _european(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
    """Write the tables as a decimal-comma spreadsheet saves them."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, frame in tables.items():
        f = frame.copy()
        f["id"] = f["id"].map(lambda i: f"MS-{int(i):04d}")
        f["Site"] = "Basel"  # an extra column
        for col in f.columns:
            if pd.api.types.is_datetime64_any_dtype(f[col]):
                f[col] = f[col].dt.strftime("%d/%m/%Y").where(f[col].notna(), "")
        f = f.rename(columns={"id": "Patient ID", "date": "Date"})
        text = f.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
        path = folder / f"{name}.csv"
        # Windows-1252 with a BOM-less header and one accented value
        text = text.replace("Basel", "Zürich")
        path.write_bytes(text.encode("cp1252"))
        out[name] = path
    return out


def _iso(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, date_format="%Y-%m-%d")
        out[name] = path
    return out


def _events_key(events: pd.DataFrame) -> list[tuple]:
    ids = events["subject"].map(lambda s: int(str(s).split("-")[-1]))
    return sorted(zip(ids, events["event_type"], events["cdw_class"].fillna(""),
                      events["onset_date"], events["confirmation_date"], strict=True))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    reg = demo_registry(60, seed=11)
    tables = {"visits": reg["visits"], "relapses": reg["relapses"]}
    # a BOM on the visits file too (Excel's "CSV UTF-8" writes one)
    root = tmp_path_factory.mktemp("exports")
    iso = _iso(tables, root / "iso")
    eu = _european(tables, root / "eu")
    return iso, eu


def test_european_export_gives_the_same_events_in_python(exports: tuple[dict, dict]) -> None:
    iso, eu = exports
    v_iso = read_visits(iso["visits"])
    r_iso = read_relapses(iso["relapses"], visits=v_iso)
    opts = ReadOptions(date_format="%d/%m/%Y")
    v_eu = read_visits(eu["visits"], options=opts)
    r_eu = read_relapses(eu["relapses"], visits=v_eu, options=opts)
    assert len(v_eu) == len(v_iso) and v_eu["subject"].iloc[0].startswith("MS-")
    np.testing.assert_allclose(v_eu["edss"].to_numpy(), v_iso["edss"].to_numpy())
    a = confirmed_events(v_iso, r_iso).events
    b = confirmed_events(v_eu, r_eu).events
    assert len(a) > 10
    assert _events_key(a) == _events_key(b)


def test_european_export_through_both_commands(exports: tuple[dict, dict],
                                                tmp_path: Path) -> None:
    iso, eu = exports
    outs = {}
    for label, files, extra in (("iso", iso, []), ("eu", eu, ["--date-format", "%d/%m/%Y"])):
        prog = tmp_path / f"{label}-progression.csv"
        result = runner.invoke(app, ["progression", str(files["visits"]), "--relapses",
                                     str(files["relapses"]), "-o", str(prog), *extra])
        assert result.exit_code == 0, result.output
        course = tmp_path / f"{label}-course"
        result = runner.invoke(app, ["course", str(files["visits"]), "--relapses",
                                     str(files["relapses"]), "-o", str(course), *extra])
        assert result.exit_code == 0, result.output
        outs[label] = (pd.read_csv(prog, parse_dates=["onset_date", "confirmation_date"]),
                       pd.read_csv(course / "events.csv",
                                   parse_dates=["onset_date", "confirmation_date"]))
    keys = [_events_key(frame) for pair in outs.values() for frame in pair]
    assert len(keys[0]) > 10
    assert all(k == keys[0] for k in keys)  # one answer from every file and command


def test_dates_in_another_order_say_which_format_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("id;date;edss\n1;23/04/2020;2,0\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_visits(path)
    assert "this looks like %d/%m/%Y, so pass date_format='%d/%m/%Y'" in str(err.value)


def test_read_options_are_checked() -> None:
    with pytest.raises(ValueError, match="decimal must be"):
        ReadOptions(decimal=";")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cutoff must be a date"):
        ReadOptions(cutoff="soon")
    assert ReadOptions(cutoff="2020-01-01").cutoff_date == dt.date(2020, 1, 1)
