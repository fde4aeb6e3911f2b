"""Backup and restore of a clinic: every row of every table (deleted ones with their deleted
state, the audit trail, accounts as password hashes) comes back identical - into an empty
database (same ids, URLs and pseudonyms), or as a copy beside the original."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from typer.testing import CliRunner

from neda.web.clinic.exporting import BACKUP_MODELS, backup_clinic, clinic_rows
from neda.web.clinic.models import (
    Clinic,
    Patient,
    PatientAccount,
    Relapse,
    StaffMember,
    SymptomTreatment,
    Treatment,
    Visit,
)
from neda.web.portal.models import (
    AdherenceEntry,
    ExerciseGoal,
    ExerciseSession,
    QuestionnaireSchedule,
    SymptomEntry,
    SymptomMedicationEntry,
)

from .conftest import PASSWORD
from .live_server import fresh_database

DEMO = "Demo MS clinic"


# ------------------------------------------------------------------ the clinic's content
@pytest.fixture
def lived_in(db: Any) -> Clinic:
    """The demo clinic after some life: a name entered, a record edited by a user, a visit
    and a patient deleted, a relapse reviewed, a symptomatic therapy."""
    clinic = Clinic.objects.get(name=DEMO)
    nurse = get_user_model().objects.get(username="nurse")
    p = Patient.objects.get(clinic=clinic, subject="5")
    p.name = "Jean Dupont"
    p.birth_date = dt.date(1979, 7, 1)
    p._history_user = nurse  # type: ignore[attr-defined]
    p.save()
    visit = Visit.objects.filter(patient=p).order_by("pk")[1]
    visit.edss = 4.5
    visit._history_user = nurse  # type: ignore[attr-defined]
    visit.save()
    Visit.objects.filter(patient=p).order_by("pk")[2].soft_delete()
    Patient.objects.get(clinic=clinic, subject="6").soft_delete()
    relapse = Relapse.objects.filter(patient__clinic=clinic).first()
    assert relapse is not None
    relapse.status = "rejected"
    relapse.save()
    baclofen = SymptomTreatment.objects.create(patient=p, drug="baclofen", symptom="spasticity",
                                               dose="10 mg tid", start=dt.date(2022, 1, 3))
    # the patient's own portal entries: reviewed, edited, deleted, a goal and schedules
    clinician = get_user_model().objects.get(username="clinician")
    treatment = Treatment.objects.filter(patient=p).order_by("pk").first()
    assert treatment is not None
    SymptomEntry.objects.create(patient=p, date=dt.date(2026, 3, 2), fatigue=6, pain=2,
                                note="tired after work", reviewed_by=clinician,
                                reviewed_at=dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC))
    walk = ExerciseSession.objects.create(patient=p, date=dt.date(2026, 3, 2),
                                          kind="walking", minutes=30, effort=4)
    walk.minutes = 40
    walk._history_user = nurse  # type: ignore[attr-defined]
    walk.save()
    ExerciseSession.objects.create(patient=p, date=dt.date(2026, 3, 4), kind="cycling",
                                   minutes=20).soft_delete()
    AdherenceEntry.objects.create(patient=p, date=dt.date(2026, 3, 2), treatment=treatment,
                                  taken=False, reason="ran out of pens", reviewed_by=clinician,
                                  reviewed_at=dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC))
    SymptomMedicationEntry.objects.create(patient=p, date=dt.date(2026, 3, 2),
                                          symptom_treatment=baclofen)
    ExerciseGoal.objects.create(patient=p, minutes_per_week=120, set_by=clinician)
    QuestionnaireSchedule.objects.create(clinic=clinic, patient=p, instrument="msis29",
                                         every_weeks=4)
    return clinic


def comparable(backup: dict[str, Any], *, same_ids: bool) -> dict[str, Any]:
    """A backup without what a restore changes on purpose: when the rows got new ids, every
    id becomes the row's position (references follow) and the URL ids go; the clinic's
    name and the cache counters (data versions) go in any case."""
    b = copy.deepcopy(backup)
    for key in ("created_at", "rows"):
        b.pop(key)
    b["clinic"].pop("name")
    b["clinic"].pop("data_version")
    pos = {t: {r["id"]: i for i, r in enumerate(rows)} for t, rows in b["tables"].items()}
    # the references between backed-up tables (patient_id, treatment_id, ...)
    table_of = {model: table for table, model in BACKUP_MODELS.items()}
    refs = {table: {f.attname: table_of[f.related_model]
                    for f in model._meta.concrete_fields if f.related_model in table_of}
            for table, model in BACKUP_MODELS.items()}

    def follow(table: str, r: dict[str, Any]) -> None:
        r.pop("clinic_id", None)
        r.pop("public_id", None)
        for name, other in refs[table].items():
            if r.get(name) is not None:
                r[name] = pos[other][r[name]]

    for table, rows in b["tables"].items():
        for r in rows:
            r.pop("data_version", None)
            if not same_ids:
                r["id"] = pos[table][r["id"]]
                follow(table, r)
    for table, entries in b["history"].items():
        for i, h in enumerate(entries):
            if not same_ids:
                h["history_id"] = i
                h["id"] = pos[table][h["id"]]
                follow(table, h)
    if not same_ids:
        b["clinic"].pop("id")
        for account in (b["accounts"] or {}).get("patients", []):
            account["patient_id"] = pos["patients"][account["patient_id"]]
    return b


def test_a_backup_holds_every_row_deleted_ones_the_trail_and_account_hashes(
        lived_in: Clinic, tmp_path: Path) -> None:
    path = tmp_path / "clinic.json"
    call_command("backup", clinic=DEMO, output=str(path), verbosity=0)
    assert (path.stat().st_mode & 0o777) == 0o600
    data = json.loads(path.read_text())
    assert data["format"] == "neda-clinic-backup"
    for table in BACKUP_MODELS:
        assert len(data["tables"][table]) == data["rows"][table] == clinic_rows(
            table, lived_in).count() > 0, table
    # the patients' own portal entries are in it, with their clinic's review by user name
    assert {"portal_symptoms", "portal_exercise", "portal_adherence",
            "portal_symptom_medication", "portal_exercise_goals",
            "portal_questionnaire_schedules"} <= set(data["rows"])
    assert any(r["reviewed_by"] == "clinician" and r["note"] == "tired after work"
               for r in data["tables"]["portal_symptoms"])
    assert [r["set_by"] for r in data["tables"]["portal_exercise_goals"]] == ["clinician"]
    assert any(r["deleted_at"] for r in data["tables"]["portal_exercise"])
    assert any(h["history_user"] == "nurse" for h in data["history"]["portal_exercise"])
    treatments = {r["id"] for r in data["tables"]["treatments"]}
    assert any(r["treatment_id"] in treatments for r in data["tables"]["portal_adherence"])
    deleted = [r for r in data["tables"]["visits"] if r["deleted_at"]]
    assert len(deleted) == 1
    assert any(r["deleted_at"] for r in data["tables"]["patients"])
    assert any(r["name"] == "Jean Dupont" for r in data["tables"]["patients"])
    assert any(h["history_user"] == "nurse" for h in data["history"]["visits"])
    assert any(h["history_change_reason"] == "import" for h in data["history"]["pros"])
    users = [a["user"] for a in (*data["accounts"]["staff"], *data["accounts"]["patients"])]
    assert {u["username"] for u in users} == {"admin", "clinician", "nurse", "researcher",
                                              "patient1", "patient2"}
    text = path.read_text()
    assert all(u["password"].startswith(("argon2", "pbkdf2")) for u in users)
    assert PASSWORD not in text
    assert "OTHER-1" not in text
    # without accounts, and compressed
    call_command("backup", clinic=DEMO, output=str(tmp_path / "b.json.gz"), no_accounts=True,
                 verbosity=0)
    small = json.loads(gzip.decompress((tmp_path / "b.json.gz").read_bytes()))
    assert small["accounts"] is None and small["tables"] == data["tables"]


def test_restore_as_a_copy_beside_the_original_is_identical(lived_in: Clinic,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "clinic.json"
    call_command("backup", clinic=DEMO, output=str(path), verbosity=0)
    original = json.loads(path.read_text())
    # the accounts' user names are taken here: refused, nothing restored
    with pytest.raises(CommandError, match="user names taken"):
        call_command("restore", str(path), clinic="Copy", verbosity=0)
    with pytest.raises(CommandError, match="exists"):
        call_command("restore", str(path), no_accounts=True, verbosity=0)
    assert not Clinic.objects.filter(name="Copy").exists()

    call_command("restore", str(path), clinic="Copy", no_accounts=True, verbosity=0)
    copy_ = Clinic.objects.get(name="Copy")
    again = backup_clinic(copy_, accounts=False)
    original["accounts"] = None
    assert comparable(again, same_ids=False) == comparable(original, same_ids=False)
    # the original is untouched, the copy is a clinic of its own
    assert comparable(backup_clinic(lived_in, accounts=False), same_ids=True) == comparable(
        original, same_ids=True)
    assert Patient.objects.filter(clinic=copy_).count() == Patient.objects.filter(
        clinic=lived_in).count()
    assert not StaffMember.objects.filter(clinic=copy_).exists()
    # the copy's portal entries point at the copy's own records
    entry = AdherenceEntry.all_objects.get(patient__clinic=copy_, reason="ran out of pens")
    assert entry.treatment is not None and entry.treatment.patient == entry.patient
    assert entry.reviewed_by is not None and entry.reviewed_by.get_username() == "clinician"
    medicine = SymptomMedicationEntry.all_objects.get(patient__clinic=copy_)
    assert medicine.symptom_treatment is not None
    assert medicine.symptom_treatment.patient == medicine.patient
    schedule = QuestionnaireSchedule.objects.get(clinic=copy_, instrument="msis29")
    assert schedule.patient is not None and schedule.patient.clinic == copy_


def _wipe(clinic: Clinic) -> None:
    """Remove the clinic and everything of it, hard (an empty database for this clinic)."""
    user_model = get_user_model()
    users = list(user_model.objects.filter(staff__clinic=clinic)) + list(
        user_model.objects.filter(patient_account__patient__clinic=clinic))
    PatientAccount.objects.filter(patient__clinic=clinic).delete()
    StaffMember.objects.filter(clinic=clinic).delete()
    for table, model in reversed(BACKUP_MODELS.items()):  # children first
        rows = clinic_rows(table, clinic)
        ids = list(rows.values_list("pk", flat=True))
        rows.delete()  # (the audit trail records the deletion: removed below)
        model.history.model.objects.filter(id__in=ids).delete()  # type: ignore[attr-defined]
    clinic.delete()
    for u in users:
        u.delete()


def test_restore_into_an_emptied_database_gives_the_same_rows_ids_and_pseudonyms(
        lived_in: Clinic, tmp_path: Path) -> None:
    path = tmp_path / "clinic.json"
    call_command("backup", clinic=DEMO, output=str(path), verbosity=0)
    original = json.loads(path.read_text())
    pseudonyms = {p.public_id: p.pseudonym() for p in Patient.all_objects.filter(
        clinic=lived_in)}
    _wipe(lived_in)
    assert not Clinic.objects.filter(name=DEMO).exists()

    call_command("restore", str(path), verbosity=0)
    restored = Clinic.objects.get(name=DEMO)
    assert comparable(backup_clinic(restored), same_ids=True) == comparable(original,
                                                                            same_ids=True)
    assert {p.public_id: p.pseudonym() for p in Patient.all_objects.filter(
        clinic=restored)} == pseudonyms
    nurse = get_user_model().objects.get(username="nurse")
    assert nurse.check_password(PASSWORD) and nurse.staff.clinic == restored
    account = PatientAccount.objects.get(user__username="patient1")
    assert account.patient.clinic == restored
    # new rows get new ids after the restored ones
    v = Visit.objects.create(patient=Patient.objects.filter(clinic=restored).first(),
                             date=dt.date(2026, 10, 1), edss=2.0)
    assert v.pk > max(r["id"] for r in original["tables"]["visits"])
    diary = SymptomEntry.objects.create(patient=v.patient, date=dt.date(2026, 10, 2), pain=1)
    assert diary.pk > max(r["id"] for r in original["tables"]["portal_symptoms"])
    # the portal entries are the patient's again, with the clinic's review
    goal = ExerciseGoal.objects.get(patient__clinic=restored)
    assert goal.minutes_per_week == 120 and goal.set_by is not None
    assert goal.set_by.get_username() == "clinician"


def test_restore_into_an_empty_database_of_its_own(lived_in: Clinic, tmp_path: Path) -> None:
    """The commands as an administrator runs them: backup here, restore into a new database
    (another process), back up from there: the same file, row for row."""
    path = tmp_path / "clinic.json"
    call_command("backup", clinic=DEMO, output=str(path), verbosity=0)
    with fresh_database(tmp_path) as fresh:
        done = fresh.manage("restore", str(path))
        assert "Restored 'Demo MS clinic'" in done.stdout and "Checked" in done.stdout
        again = tmp_path / "again.json"
        fresh.manage("backup", "--clinic", DEMO, "-o", str(again))
        assert comparable(json.loads(again.read_text()), same_ids=True) == comparable(
            json.loads(path.read_text()), same_ids=True)
        # a second restore of the same backup into that database is refused, nothing changes
        done = fresh.manage("restore", str(path), check=False)
        assert done.returncode != 0 and "exists" in done.stderr
        # the restored patients' courses compute, and the restored staff can log in
        fresh.script(
            "from neda.web.clinic.models import Patient\n"
            "from neda.web.clinic.course import course_for\n"
            "from django.contrib.auth import get_user_model\n"
            "p = Patient.objects.filter(visit__isnull=False).first()\n"
            "assert course_for(p)['follow_up']['visits'] > 0\n"
            "nurse = get_user_model().objects.get(username='nurse')\n"
            f"assert nurse.check_password('{PASSWORD}') and nurse.staff.role == 'nurse'\n")


def test_a_damaged_backup_restores_nothing(lived_in: Clinic, tmp_path: Path) -> None:
    data = backup_clinic(lived_in, accounts=False)
    data["tables"]["visits"][-1]["date"] = "2020-13-45"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    before = (Clinic.objects.count(), Patient.all_objects.count(), Visit.all_objects.count())
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(path), clinic="Broken", verbosity=0)
    assert (Clinic.objects.count(), Patient.all_objects.count(),
            Visit.all_objects.count()) == before
    # a portal entry naming a treatment the backup does not hold: nothing restored either
    data = backup_clinic(lived_in, accounts=False)
    next(r for r in data["tables"]["portal_adherence"] if r["treatment_id"])[
        "treatment_id"] = 10**9
    path.write_text(json.dumps(data))
    entries = SymptomEntry.all_objects.count()
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(path), clinic="Broken", verbosity=0)
    assert (Clinic.objects.count(), Patient.all_objects.count(),
            SymptomEntry.all_objects.count()) == (before[0], before[1], entries)
    (tmp_path / "not.json").write_text("hello")
    with pytest.raises(CommandError, match="not a neda backup"):
        call_command("restore", str(tmp_path / "not.json"), verbosity=0)
    (tmp_path / "other.json").write_text(json.dumps({"format": "something"}))
    with pytest.raises(CommandError, match="not a neda clinic backup"):
        call_command("restore", str(tmp_path / "other.json"), verbosity=0)


def test_a_version_1_backup_without_the_portal_tables_is_restored(lived_in: Clinic,
                                                                  tmp_path: Path) -> None:
    """A backup made before the portal (format version 1: the clinic's tables only, no user
    references but the audit trail's) restores, with no portal rows; an unknown version is
    refused in one line."""
    data = backup_clinic(lived_in, accounts=False)
    clinic_tables = ("patients", "visits", "relapses", "mri", "treatments",
                     "symptom_treatments", "pros", "labs")
    old = {**data, "version": 1,
           **{key: {t: data[key][t] for t in clinic_tables}
              for key in ("tables", "history", "rows")}}
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(old))
    call_command("restore", str(path), clinic="From v1", verbosity=0)
    restored = Clinic.objects.get(name="From v1")
    again = backup_clinic(restored, accounts=False)
    assert all(again["rows"][t] == 0 for t in again["rows"] if t not in clinic_tables)
    again = {**again, **{key: {t: again[key][t] for t in clinic_tables}
                         for key in ("tables", "history")}}
    assert comparable({**again, "version": 1}, same_ids=False) == comparable(old,
                                                                             same_ids=False)
    path.write_text(json.dumps({**data, "version": 99}))
    with pytest.raises(CommandError, match="backup version 99 is not read by this neda"):
        call_command("restore", str(path), clinic="From v99", verbosity=0)
    assert not Clinic.objects.filter(name="From v99").exists()


def test_neda_backup_and_neda_restore(lived_in: Clinic, tmp_path: Path) -> None:
    from neda.cli import app

    runner = CliRunner()
    path = tmp_path / "clinic.json.gz"
    result = runner.invoke(app, ["backup", "--clinic", DEMO, "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert "Backed up 'Demo MS clinic'" in result.output
    result = runner.invoke(app, ["restore", str(path), "--clinic", "Copy", "--no-accounts"])
    assert result.exit_code == 0, result.output
    assert Patient.all_objects.filter(clinic__name="Copy").count() == (
        Patient.all_objects.filter(clinic=lived_in).count())
    result = runner.invoke(app, ["backup", "--clinic", "No such", "-o", str(path)])
    assert result.exit_code == 1 and "no clinic named 'No such'" in result.output


def test_restore_into_a_new_data_folder_makes_its_tables(lived_in: Clinic, tmp_path: Path
                                                        ) -> None:
    """A new data folder has no tables: backup says so in one line, restore makes them."""
    from neda.cli import app

    path = tmp_path / "clinic.json.gz"
    assert CliRunner().invoke(app, ["backup", "--clinic", DEMO, "-o", str(path)]).exit_code == 0
    with fresh_database(tmp_path, migrate=False) as fresh:
        done = fresh.manage("backup", "--clinic", DEMO, "-o", str(tmp_path / "x.json"),
                            check=False)
        assert done.returncode == 1
        assert "has no (or old) neda tables" in done.stderr and "Traceback" not in done.stderr
        done = fresh.manage("restore", str(path))
        assert "migrations applied (neda's tables made)" in done.stdout
        assert f"Restored '{DEMO}'" in done.stdout


def test_the_second_factor_comes_back_with_its_account(lived_in: Clinic,
                                                       tmp_path: Path) -> None:
    """A user's TOTP device is kept with their account (its key too, as the password's hash
    is): restored into an emptied database, two-step log-in is still on and the code of the
    app the user set up still opens it. Without the accounts, no key is in the file."""
    from django_otp import user_has_device
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    users = get_user_model().objects
    phone = TOTPDevice.objects.create(user=users.get(username="patient1"), name="phone",
                                      confirmed=True)
    TOTPDevice.objects.create(user=users.get(username="clinician"), name="half set up",
                              confirmed=False)
    path = tmp_path / "clinic.json"
    call_command("backup", clinic=DEMO, output=str(path), verbosity=0)
    data = json.loads(path.read_text())
    own = {a["user"]["username"]: a["own"]["totp_devices"]
           for a in (*data["accounts"]["staff"], *data["accounts"]["patients"])}
    assert [d["key"] for d in own["patient1"]] == [phone.key]
    assert [d["confirmed"] for d in own["clinician"]] == [False] and own["nurse"] == []
    call_command("backup", clinic=DEMO, output=str(tmp_path / "no-accounts.json"),
                 no_accounts=True, verbosity=0)
    assert phone.key not in (tmp_path / "no-accounts.json").read_text()

    _wipe(lived_in)
    assert not TOTPDevice.objects.filter(user__username="patient1").exists()
    out = StringIO()
    call_command("restore", str(path), stdout=out)
    assert "6 accounts, 2 totp_devices." in out.getvalue()
    restored = Clinic.objects.get(name=DEMO)
    assert comparable(backup_clinic(restored), same_ids=True) == comparable(data, same_ids=True)
    patient1 = users.get(username="patient1")
    assert user_has_device(patient1, confirmed=True)
    device = TOTPDevice.objects.get(user=patient1)
    assert (device.name, device.key, device.created_at) == ("phone", phone.key,
                                                           phone.created_at)
    assert device.verify_token(f"{totp(device.bin_key, 30, 0, 6):06d}")
    assert not user_has_device(users.get(username="clinician"), confirmed=True)

    # a version 2 backup (before the accounts' own rows) restores them without a device
    _wipe(restored)
    old = json.loads(path.read_text())
    old["version"] = 2
    for account in (*old["accounts"]["staff"], *old["accounts"]["patients"]):
        del account["own"]
    path.write_text(json.dumps(old))
    call_command("restore", str(path), verbosity=0)
    assert users.get(username="patient1").check_password(PASSWORD)
    assert not TOTPDevice.objects.exists()
