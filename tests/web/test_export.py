"""Export: the clinic's or a patient's tables as CSV (zip) and JSON, a patient's course as
JSON; only the user's clinic, researchers pseudonymised, files that neda reads back."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from neda.io import read_tables
from neda.web.clinic.course import course_for
from neda.web.clinic.models import Clinic, Patient, ProAnswer, Relapse, Visit

from .conftest import login

DEMO = "Demo MS clinic"
TABLES = {"patients", "visits", "relapses", "mri", "treatments", "pros", "labs",
          "symptom_treatments"}



def unzip(response: Any) -> dict[str, list[dict[str, str]]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    out = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            text = archive.read(name).decode("utf-8")
            out[name.removesuffix(".csv")] = list(csv.DictReader(io.StringIO(text)))
    out["export.json"] = json.loads(archive.read("export.json"))  # type: ignore[assignment]
    return out


def subjects(tables: dict[str, Any]) -> set[str]:
    return {str(r["subject"]) for name, rows in tables.items() if name in TABLES
            for r in rows}


@pytest.fixture
def named(db: Any) -> Patient:
    """A demo patient with a name and a birth date (what researchers must not get)."""
    p = Patient.objects.get(clinic__name=DEMO, subject="3")
    p.name = "Erika Mustermann"
    p.birth_date = "1980-02-03"  # type: ignore[assignment]
    p.save()
    return p


def test_the_clinic_as_csv_tables_and_json(db: Any, named: Patient) -> None:
    client = login("clinician")
    tables = unzip(client.get(reverse("export_clinic_csv")))
    assert set(tables) == TABLES | {"export.json"}
    demo = set(Patient.objects.filter(clinic__name=DEMO).values_list("subject", flat=True))
    assert subjects(tables) == demo and "OTHER-1" not in subjects(tables)
    assert len(tables["visits"]) == Visit.objects.filter(patient__clinic__name=DEMO).count()
    assert len(tables["pros"]) == ProAnswer.objects.filter(patient__clinic__name=DEMO).count()
    row = next(r for r in tables["patients"] if r["subject"] == "3")
    assert row["name"] == "Erika Mustermann" and row["birth_date"] == "1980-02-03"
    about = tables["export.json"]
    assert about["format"] == "neda-export" and about["pseudonymised"] is False  # type: ignore[call-overload]
    # JSON: the same tables, typed
    r = client.get(reverse("export_clinic_json"))
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    body = json.loads(r.content)
    assert set(body["tables"]) == TABLES
    assert len(body["tables"]["visits"]) == len(tables["visits"])
    visit = body["tables"]["visits"][0]
    assert isinstance(visit["date"], str) and (visit["edss"] is None
                                               or isinstance(visit["edss"], float))
    assert {str(r["subject"]) for r in body["tables"]["patients"]} == demo


def test_exports_of_one_clinic_never_hold_another_clinics_patients(db: Any) -> None:
    other = Clinic.objects.get(name="Other clinic")
    Visit.objects.create(patient=Patient.objects.get(clinic=other, subject="OTHER-1"),
                         date="2020-01-01", edss=2.0)
    for username in ("clinician", "nurse", "admin", "researcher"):
        client = login(username)
        for name in ("export_clinic_csv", "export_clinic_json"):
            body = client.get(reverse(name)).content
            assert b"OTHER-1" not in body
        # another clinic's patient: 404 (existence not disclosed)
        foreign = Patient.objects.get(clinic=other, subject="OTHER-1")
        for name in ("export_patient", "export_patient_csv", "export_patient_json",
                     "export_course"):
            assert client.get(reverse(name, args=[foreign.public_id])).status_code == 404


def test_patients_and_anonymous_users_cannot_export(db: Any, demo_patient: Patient) -> None:
    patient = login("patient1")
    anonymous = Client()
    for name, args in (("export", []), ("export_clinic_csv", []), ("export_clinic_json", []),
                       ("export_patient_csv", [demo_patient.public_id]),
                       ("export_course", [demo_patient.public_id])):
        assert patient.get(reverse(name, args=args)).status_code == 403
        assert anonymous.get(reverse(name, args=args)).status_code == 302


def test_researchers_get_pseudonyms_and_no_names(db: Any, named: Patient) -> None:
    client = login("researcher")
    tables = unzip(client.get(reverse("export_clinic_csv")))
    demo = list(Patient.objects.filter(clinic__name=DEMO))
    assert subjects(tables) == {p.pseudonym() for p in demo}
    assert all(s.startswith("P-") for s in subjects(tables))
    assert "name" not in tables["patients"][0]
    raw = client.get(reverse("export_clinic_json")).content.decode()
    assert "Erika" not in raw and "Mustermann" not in raw
    assert json.loads(raw)["pseudonymised"] is True
    assert not ({r["subject"] for r in json.loads(raw)["tables"]["patients"]}
                & {p.subject for p in demo})
    # one patient, and their course
    one = unzip(client.get(reverse("export_patient_csv", args=[named.public_id])))
    assert subjects(one) == {named.pseudonym()}
    course = json.loads(client.get(reverse("export_course", args=[named.public_id])).content)
    assert course["subject"] == named.pseudonym() == course["course"]["subject"]
    text = json.dumps(course)
    assert "Erika" not in text and f'"subject": {named.pk}' not in text


def test_a_patient_tables_and_course(db: Any, demo_patient: Patient) -> None:
    client = login("nurse")
    page = client.get(reverse("export_patient", args=[demo_patient.public_id]))
    assert page.status_code == 200
    tables = unzip(client.get(reverse("export_patient_csv", args=[demo_patient.public_id])))
    assert subjects(tables) == {demo_patient.subject}
    assert len(tables["visits"]) == Visit.objects.filter(patient=demo_patient).count()
    body = json.loads(client.get(reverse("export_patient_json",
                                         args=[demo_patient.public_id])).content)
    assert body["scope"] == "patient" and len(body["tables"]["patients"]) == 1
    r = client.get(reverse("export_course", args=[demo_patient.public_id]))
    assert r["Content-Type"] == "application/json"
    assert r["Content-Disposition"].startswith(
        f'attachment; filename="neda-course-{str(demo_patient.public_id)[:8]}-')
    course = json.loads(r.content)
    expected = course_for(demo_patient)
    assert course["subject"] == demo_patient.subject
    assert course["course"]["follow_up"] == json.loads(json.dumps(expected["follow_up"]))
    assert course["rule_set_digest"] == expected["rule_set_digest"]


def test_deleted_patients_and_records_are_not_exported(db: Any) -> None:
    gone = Patient.objects.get(clinic__name=DEMO, subject="4")
    gone.soft_delete()
    visit = Visit.objects.filter(patient__clinic__name=DEMO).exclude(patient=gone).first()
    assert visit is not None
    visit.soft_delete()
    tables = unzip(login("clinician").get(reverse("export_clinic_csv")))
    assert "4" not in subjects(tables)
    alive = Visit.objects.filter(patient__clinic__name=DEMO, patient__deleted_at__isnull=True)
    assert len(tables["visits"]) == alive.count()


def test_exported_tables_read_back_through_neda_and_import_again(db: Any, tmp_path: Path
                                                                 ) -> None:
    """The CSV export is what neda reads: the readers take it as is, and importing it into
    another clinic gives the same records (the relapses' review status included)."""
    relapse = Relapse.objects.filter(patient__clinic__name=DEMO).first()
    assert relapse is not None
    relapse.status = "rejected"
    relapse.save()
    response = login("clinician").get(reverse("export_clinic_csv"))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    archive.extractall(tmp_path)
    names = ("patients", "visits", "relapses", "mri", "treatments", "pros", "labs")
    tables = read_tables(**{n: tmp_path / f"{n}.csv" for n in names})
    assert len(tables.visits) == Visit.objects.filter(  # type: ignore[arg-type]
        patient__clinic__name=DEMO).count()

    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from neda.web.clinic.models import StaffMember

    other = Clinic.objects.get(name="Other clinic")
    user = get_user_model().objects.create_user("other-clinician", password="x" * 20)
    StaffMember.objects.create(user=user, clinic=other, role="clinician")
    client = login("other-clinician")
    files = {f"file_{n}": SimpleUploadedFile(f"{n}.csv", (tmp_path / f"{n}.csv").read_bytes())
             for n in names}
    r = client.post(reverse("import_upload"), {"decimal": "auto", "encoding": "auto", **files})
    assert r.status_code == 302
    page = client.get(r["Location"])
    assert page.context["checked"].ok, page.context["problems"]
    assert client.post(r["Location"], {"action": "commit"}).status_code == 302
    for model in (Visit, Relapse, ProAnswer):
        mine = model.objects.filter(patient__clinic__name=DEMO)  # type: ignore[attr-defined]
        theirs = model.objects.filter(patient__clinic=other)  # type: ignore[attr-defined]
        assert mine.count() == theirs.count()
    statuses = sorted(Relapse.objects.filter(patient__clinic=other).values_list("status",
                                                                                flat=True))
    assert statuses == sorted(Relapse.objects.filter(patient__clinic__name=DEMO)
                              .values_list("status", flat=True))
    assert "rejected" in statuses
