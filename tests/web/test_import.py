"""Import: files read by neda.io's readers with the options of the form, a preview of what
would be stored (or every problem at once), a commit of all rows or none, the uploaded files
kept on the server between the two and bound to their user and clinic."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from neda.web.clinic import importing
from neda.web.clinic.course import course_for
from neda.web.clinic.models import Clinic, Patient, Relapse, StaffMember, Visit

from .conftest import login

DEMO = "Demo MS clinic"




def upload(client: Client, files: dict[str, tuple[str, bytes]], **options: str) -> Any:
    """POST the upload form: ``files`` maps a table (or "workbook") to (name, content)."""
    data: dict[str, Any] = {"decimal": "auto", "encoding": "auto", "date_format": "",
                            "separator": ""}
    data.update(options)
    for key, (name, content) in files.items():
        field = "workbook" if key == "workbook" else f"file_{key}"
        data[field] = SimpleUploadedFile(name, content)
    return client.post(reverse("import_upload"), data)


def preview_of(client: Client, files: dict[str, tuple[str, bytes]], **options: str) -> Any:
    r = upload(client, files, **options)
    assert r.status_code == 302, r.content.decode()[:2000]
    return client.get(r["Location"]), r["Location"]


def counts(clinic: str = DEMO) -> tuple[int, int, int]:
    return (Patient.all_objects.filter(clinic__name=clinic).count(),
            Visit.all_objects.filter(patient__clinic__name=clinic).count(),
            Relapse.all_objects.filter(patient__clinic__name=clinic).count())


def stored_uploads() -> list[Path]:
    return sorted(importing.upload_root().iterdir())


VISITS = b"""subject,date,edss,t25fw
NEW-1,2020-01-10,2.0,6.1
NEW-1,2021-01-12,2.5,
NEW-1,2022-02-01,3.0,7.0
1,2026-09-01,6.0,
"""
PATIENTS = b"""subject,sex,birth_date,onset_date
NEW-1,female,1985-04-02,2019-06-01
"""
RELAPSES = b"""subject,date,steroids
NEW-1,2020-11,yes
"""


# ---------------------------------------------------------------------------- bad files
def test_one_bad_row_is_named_in_the_preview_and_nothing_is_committed(nurse: Client) -> None:
    before = counts()
    bad = VISITS.replace(b"NEW-1,2021-01-12,2.5,", b"NEW-1,2021-01-12,0.5,")
    page, url = preview_of(nurse, {"visits": ("visits.csv", bad)})
    assert page.status_code == 200
    problems = page.context["problems"]
    assert problems == [{"file": "visits.csv", "sheet": "", "row": "3", "column": "edss",
                         "value": "0.5", "expected": problems[0]["expected"]}]
    assert "EDSS" in problems[0]["expected"]
    html = page.content.decode()
    assert "Nothing can be imported yet" in html and 'value="commit"' not in html
    # a commit posted anyway reads the file again and stores nothing
    r = nurse.post(url, {"action": "commit"})
    assert r.status_code == 400
    assert r.context["problems"][0]["row"] == "3"
    assert counts() == before
    assert not Patient.all_objects.filter(subject="NEW-1").exists()


def test_every_problem_of_every_table_at_once(nurse: Client) -> None:
    visits = b"subject,date,edss\nA,2020-13-01,2.0\nA,2020-01-02,11\n"
    relapses = b"subject,date,steroids\nA,2020-01-01,perhaps\n"
    page, _ = preview_of(nurse, {"visits": ("v.csv", visits), "relapses": ("r.csv", relapses)})
    where = {(p["file"], p["row"], p["column"]) for p in page.context["problems"]}
    assert where == {("v.csv", "2", "date"), ("v.csv", "3", "edss"),
                     ("r.csv", "2", "steroids")}
    assert page.context["problem_count"] == 3


# --------------------------------------------------------------------------- good files
def test_a_good_import_stores_rows_creates_patients_and_changes_the_course(
        nurse: Client) -> None:
    one = Patient.objects.get(clinic__name=DEMO, subject="1")
    before = course_for(one)
    n_patients, n_visits, n_relapses = counts()
    page, url = preview_of(nurse, {"visits": ("visits.csv", VISITS),
                                   "patients": ("patients.csv", PATIENTS),
                                   "relapses": ("relapses.csv", RELAPSES)})
    checked = page.context["checked"]
    assert page.context["problems"] is None and checked.ok
    assert checked.rows == {"patients": 1, "visits": 4, "relapses": 1}
    assert checked.new_patients == ["NEW-1"]
    assert checked.patients_with_records == 1
    html = page.content.decode()
    assert 'value="commit"' in html and "visits.csv" in html
    assert len(stored_uploads()) >= 1

    r = nurse.post(url, {"action": "commit"})
    assert r.status_code == 302 and r["Location"] == reverse("patient_list")
    assert counts() == (n_patients + 1, n_visits + 4, n_relapses + 1)
    new = Patient.objects.get(clinic__name=DEMO, subject="NEW-1")
    assert new.sex == "female" and str(new.birth_date) == "1985-04-02"
    assert list(Visit.objects.filter(patient=new).values_list("edss", flat=True)) == [
        2.0, 2.5, 3.0]
    assert Relapse.objects.get(patient=new).onset == "2020-11"
    # audited: who imported, and why
    entry = Visit.history.filter(patient_id=new.pk).first()
    assert entry.history_change_reason == "import"
    assert entry.history_user.username == "nurse"
    assert new.history.first().history_change_reason == "import"
    # the course of the patient who got a visit is computed again
    one.refresh_from_db()
    after = course_for(one)
    assert after["data_version"] > before["data_version"]
    assert after["edss"]["latest"] == 6.0 != before["edss"]["latest"]
    assert course_for(new)["follow_up"]["visits"] == 3
    # the files are gone, and the same upload cannot be committed twice
    assert not any(p.name.startswith(url.rstrip("/").rsplit("/", 1)[1])
                   for p in stored_uploads())
    assert nurse.post(url, {"action": "commit"}).status_code == 404
    assert counts() == (n_patients + 1, n_visits + 4, n_relapses + 1)


def test_a_windows_1252_semicolon_file_with_day_month_dates(nurse: Client) -> None:
    text = ("Patient ID;Visit Date;EDSS;T25FW\r\n"
            "MS-0001;05/03/2024;2,5;7,1\r\n"
            "MS-0001;17/09/2024;3,0;\r\n")
    relapses = ("subject;onset;symptoms\r\nMS-0001;02/2024;névrite optique\r\n")
    files = {"visits": ("visits.csv", text.encode("cp1252")),
             "relapses": ("relapses.csv", relapses.encode("cp1252"))}
    # without the date format: every date named, with what to choose in the form
    page, _ = preview_of(nurse, files)
    problems = page.context["problems"]
    assert [(p["row"], p["column"]) for p in problems if p["file"] == "visits.csv"] == [
        ("2", "Visit Date"), ("3", "Visit Date")]
    assert "choose how the file writes dates under 'Dates are written'" in problems[0][
        "expected"]
    assert "looks like day/month/year: choose it under 'Dates are written'" in problems[1][
        "expected"]
    assert "--date-format" not in page.content.decode()
    # with it: read, and the encoding is noted in the report
    page, url = preview_of(nurse, files, date_format="%d/%m/%Y")
    checked = page.context["checked"]
    assert checked.ok, checked.errors
    notes = " ".join(w for r in checked.reports for w in r.warnings)
    assert "Windows-1252" in notes
    assert nurse.post(url, {"action": "commit"}).status_code == 302
    p = Patient.objects.get(clinic__name=DEMO, subject="MS-0001")
    assert [(str(v.date), v.edss, v.t25fw) for v in Visit.objects.filter(patient=p)] == [
        ("2024-03-05", 2.5, 7.1), ("2024-09-17", 3.0, None)]
    relapse = Relapse.objects.get(patient=p)
    assert relapse.onset == "2024-02" and relapse.symptoms == "névrite optique"


def _workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_with_a_sheet_per_table_and_a_sheet_chosen_in_the_form(
        nurse: Client) -> None:
    import datetime as dt

    book = _workbook({
        "Visits": [["Patient", "Date", "EDSS"], ["WB-1", dt.date(2021, 5, 1), 1.5],
                   ["WB-1", dt.date(2022, 5, 3), 2.0]],
        "Attacks": [["subject", "onset"], ["WB-1", "2021-11"]],
        "Notes": [["anything"], ["not a table"]],
    })
    page, url = preview_of(nurse, {"workbook": ("registry.xlsx", book)},
                           sheet_relapses="Attacks")
    checked = page.context["checked"]
    assert checked.ok and checked.rows == {"visits": 2, "relapses": 1}
    assert page.context["sheets_not_read"] == ["Notes"]
    assert {(r["table"], r["sheet"]) for r in page.context["read_from"]} == {
        ("Visits", "Visits"), ("Relapses", "Attacks")}
    assert nurse.post(url, {"action": "commit"}).status_code == 302
    wb = Patient.objects.get(clinic__name=DEMO, subject="WB-1")
    assert Visit.objects.filter(patient=wb).count() == 2


def test_a_bad_cell_in_a_workbook_names_its_sheet(nurse: Client) -> None:
    book = _workbook({"Visits": [["subject", "date", "edss"], ["WB-2", "2021-02-30", 1.5]]})
    page, _ = preview_of(nurse, {"workbook": ("registry.xlsx", book)})
    assert [(p["file"], p["sheet"], p["row"], p["column"]) for p in page.context["problems"]
            ] == [("registry.xlsx", "Visits", "2", "date")]


def test_a_parquet_file(nurse: Client, tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "mri.parquet"
    pd.DataFrame({"subject": ["1", "1"], "date": pd.to_datetime(["2026-08-01", "2026-09-01"]),
                  "gd": [0, 2]}).to_parquet(path)
    page, url = preview_of(nurse, {"mri": ("mri.parquet", path.read_bytes())})
    assert page.context["checked"].rows == {"mri": 2}
    assert nurse.post(url, {"action": "commit"}).status_code == 302


def test_a_relapse_review_status_column_is_kept(nurse: Client) -> None:
    relapses = (b"subject,date,status\nST-1,2020-01-05,reported\nST-1,2021-06-01,rejected\n"
                b"ST-1,2022-03-01,\n")
    visits = b"subject,date,edss\nST-1,2020-01-01,1.0\n"
    page, url = preview_of(nurse, {"relapses": ("r.csv", relapses), "visits": ("v.csv", visits)})
    assert page.context["checked"].ok
    assert nurse.post(url, {"action": "commit"}).status_code == 302
    assert list(Relapse.objects.filter(patient__subject="ST-1").values_list(
        "status", flat=True)) == ["reported", "rejected", "confirmed"]
    bad = relapses.replace(b"rejected", b"maybe")
    page, _ = preview_of(nurse, {"relapses": ("r.csv", bad), "visits": ("v.csv", visits)})
    assert [(p["row"], p["column"], p["value"]) for p in page.context["problems"]] == [
        ("3", "status", "maybe")]


# --------------------------------------------------------------- against the saved data
def test_a_value_conflicting_with_a_saved_visit_blocks_the_import(nurse: Client) -> None:
    one = Patient.objects.get(clinic__name=DEMO, subject="1")
    saved = Visit.objects.filter(patient=one, edss__isnull=False).first()
    assert saved is not None
    other = "9.5" if saved.edss != 9.5 else "9.0"
    visits = f"subject,date,edss\n1,{saved.date},{other}\n".encode()
    before = counts()
    page, url = preview_of(nurse, {"visits": ("v.csv", visits)})
    checked = page.context["checked"]
    assert not checked.ok
    assert f"patient 1 on {saved.date}" in checked.errors[0]
    assert "'edss'" in checked.errors[0] and other in checked.errors[0]
    assert 'value="commit"' not in page.content.decode()
    assert nurse.post(url, {"action": "commit"}).status_code == 400
    assert counts() == before
    # the same values again: a warning (a file imported twice?), not an error
    same = f"subject,date,edss\n1,{saved.date},{saved.edss}\n".encode()
    page, _ = preview_of(nurse, {"visits": ("v.csv", same)})
    assert page.context["checked"].ok
    assert "imported before" in page.context["checked"].warnings[0]


def test_rows_of_a_deleted_patient_are_refused(nurse: Client) -> None:
    two = Patient.objects.get(clinic__name=DEMO, subject="2")
    two.soft_delete()
    page, url = preview_of(nurse, {"visits": ("v.csv", b"subject,date,edss\n2,2026-08-01,3.0\n")})
    assert "Patient 2 is deleted" in page.context["checked"].errors[0]
    before = counts()
    assert nurse.post(url, {"action": "commit"}).status_code == 400
    assert counts() == before


# ------------------------------------------------------------------------------- uploads
def test_the_form_refuses_no_file_and_other_kinds_of_file(nurse: Client) -> None:
    r = nurse.post(reverse("import_upload"), {"decimal": "auto", "encoding": "auto"})
    assert r.status_code == 200 and "Choose a file" in r.content.decode()
    r = upload(nurse, {"visits": ("visits.xls", b"\xd0\xcf\x11\xe0")})
    assert r.status_code == 200 and "save an .xls workbook as .xlsx" in r.content.decode()


def test_uploads_are_limited_in_size(nurse: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "MAX_UPLOAD_BYTES", 100)
    from neda.web.clinic.views import import_data

    monkeypatch.setattr(import_data, "MAX_UPLOAD_BYTES", 100)
    r = upload(nurse, {"visits": ("v.csv", VISITS * 5)})
    assert r.status_code == 200 and "imports are limited" in r.content.decode()
    # the storage checks it too, while writing
    with pytest.raises(importing.UploadTooLarge):
        importing.store_upload(1, 1, {"visits": SimpleUploadedFile("v.csv", VISITS * 5)},
                               {}, {})


def test_cancel_removes_the_files(nurse: Client) -> None:
    _, url = preview_of(nurse, {"visits": ("v.csv", VISITS)})
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert (importing.upload_root() / token).is_dir()
    r = nurse.post(url, {"action": "cancel"})
    assert r.status_code == 302
    assert not (importing.upload_root() / token).exists()
    assert nurse.get(url).status_code == 404


def test_an_upload_is_stored_for_the_server_only_and_expires(nurse: Client) -> None:
    _, url = preview_of(nurse, {"visits": ("my visits.csv", VISITS)})
    token = url.rstrip("/").rsplit("/", 1)[1]
    folder = importing.upload_root() / token
    assert (folder.stat().st_mode & 0o777) == 0o700
    stored = folder / "visits" / "my visits.csv"
    assert (stored.stat().st_mode & 0o777) == 0o600 and stored.read_bytes() == VISITS
    # a file changed on the server after the preview is not committed
    stored.write_bytes(VISITS.replace(b"6.0", b"6.5"))
    assert nurse.get(url).status_code == 404
    assert nurse.post(url, {"action": "commit"}).status_code == 404
    # uploads are removed when they expire
    import time

    _, url = preview_of(nurse, {"visits": ("my visits.csv", VISITS)})
    folder = importing.upload_root() / url.rstrip("/").rsplit("/", 1)[1]

    assert importing.purge_expired(time.time() + importing.UPLOAD_LIFETIME + 1) >= 1
    assert not folder.exists()
    assert nurse.get(url).status_code == 404


def test_a_file_name_cannot_leave_the_upload_folder(nurse: Client) -> None:
    _, url = preview_of(nurse, {"visits": ("../../etc/visits.csv", VISITS)})
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert (importing.upload_root() / token / "visits" / "visits.csv").is_file()


# -------------------------------------------------------------------------------- access
def test_researchers_and_patients_cannot_import(db: Any) -> None:
    for username in ("researcher", "patient1"):
        client = login(username)
        assert client.get(reverse("import_upload")).status_code == 403
        r = upload(client, {"visits": ("v.csv", VISITS)})
        assert r.status_code == 403
    assert counts()[0] == Patient.all_objects.filter(clinic__name=DEMO).count()
    assert not Patient.all_objects.filter(subject="NEW-1").exists()


def test_an_upload_belongs_to_its_user_and_clinic(nurse: Client) -> None:
    _, url = preview_of(nurse, {"visits": ("v.csv", VISITS)})
    before = counts()
    # another editor of the same clinic, and an editor of another clinic: 404
    other_clinic = Clinic.objects.get(name="Other clinic")
    user = get_user_model().objects.create_user("other-nurse", password="x" * 20)
    StaffMember.objects.create(user=user, clinic=other_clinic, role="nurse")
    for client in (login("clinician"), login("other-nurse")):
        assert client.get(url).status_code == 404
        assert client.post(url, {"action": "commit"}).status_code == 404
    # even with the token in their session
    stranger = login("other-nurse")
    session = stranger.session
    session["neda_imports"] = [url.rstrip("/").rsplit("/", 1)[1]]
    session.save()
    assert stranger.post(url, {"action": "commit"}).status_code == 404
    assert counts() == before
    # an editor of the other clinic imports into their own clinic only
    page, url2 = preview_of(stranger, {"visits": ("v.csv", VISITS)})
    assert page.context["checked"].new_patients == ["1", "NEW-1"]
    assert stranger.post(url2, {"action": "commit"}).status_code == 302
    assert counts() == before
    assert Patient.objects.filter(clinic=other_clinic, subject="NEW-1").exists()


def test_an_upload_being_committed_cannot_be_committed_again(nurse: Client) -> None:
    """A double click or a second tab: the first commit takes the upload (an atomic rename),
    the second finds nothing; an upload given back after a failed commit can be retried."""
    _, url = preview_of(nurse, {"visits": ("v.csv", VISITS)})
    token = url.rstrip("/").rsplit("/", 1)[1]
    staff = StaffMember.objects.get(user__username="nurse")
    upload_ = importing.load_upload(token, staff.user_id, staff.clinic_id)
    claimed = importing.claim_upload(upload_)
    before = counts()
    assert nurse.post(url, {"action": "commit"}).status_code == 404
    assert counts() == before
    with pytest.raises(importing.UploadNotFound):
        importing.claim_upload(upload_)
    importing.release_upload(claimed)
    session = nurse.session
    session["neda_imports"] = [token]
    session.save()
    assert nurse.post(url, {"action": "commit"}).status_code == 302
    assert counts()[1] == before[1] + 4
