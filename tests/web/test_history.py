"""The audit trail: who changed what and when, each field before and after (simple_history),
for records and patients, including deletion and restoration."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from neda.web.clinic.models import Patient, Visit

from .conftest import login


def history_url(patient: Patient, table: str, pk: int) -> str:
    return reverse("record_history", args=[patient.public_id, table, pk])


def test_the_trail_records_who_created_and_who_changed_what(demo_patient: Patient) -> None:
    clinician, nurse = login("clinician"), login("nurse")
    add = reverse("record_add", args=[demo_patient.public_id, "visits"])
    assert clinician.post(add, {"date": "2026-07-15", "edss": "3.5"}).status_code == 302
    visit = Visit.objects.get(patient=demo_patient, date="2026-07-15")
    edit = reverse("record_edit", args=[demo_patient.public_id, "visits", visit.pk])
    assert nurse.post(edit, {"date": "2026-07-15", "edss": "4.0", "t25fw": "8.2"}
                      ).status_code == 302

    r = nurse.get(history_url(demo_patient, "visits", visit.pk))
    assert r.status_code == 200
    changed, created = r.context["entries"]  # newest first
    assert (created["kind"], created["who"]) == ("created", "clinician")
    assert ("EDSS", "", "3.5") in created["changes"]
    assert (changed["kind"], changed["who"]) == ("changed", "nurse")
    assert sorted(changed["changes"]) == [("EDSS", "3.5", "4"), ("T25FW (s)", "—", "8.2")]
    page = r.content.decode()
    assert "Changed by <span class=\"rec-who\">nurse</span>" in page
    assert "Created by <span class=\"rec-who\">clinician</span>" in page


def test_deletion_and_restoration_are_in_the_trail(nurse: Client,
                                                   demo_patient: Patient) -> None:
    visit = Visit.objects.filter(patient=demo_patient).last()
    assert visit is not None
    nurse.post(reverse("record_delete", args=[demo_patient.public_id, "visits", visit.pk]))
    admin = login("admin")
    # a deleted record's trail, from the restore screen
    r = admin.get(reverse("deleted_history", args=["visits", visit.pk]))
    assert r.status_code == 200
    deleted = r.context["entries"][0]
    assert (deleted["kind"], deleted["who"]) == ("deleted", "nurse")
    admin.post(reverse("record_restore", args=["visits", visit.pk]))
    r = nurse.get(history_url(demo_patient, "visits", visit.pk))
    kinds = [(e["kind"], e["who"]) for e in r.context["entries"]]
    assert kinds == [("restored", "admin"), ("deleted", "nurse"), ("imported", "import")]


def test_an_imported_record_starts_its_trail_at_the_import(nurse: Client,
                                                           demo_patient: Patient) -> None:
    visit = Visit.objects.filter(patient=demo_patient).last()
    assert visit is not None
    url = history_url(demo_patient, "visits", visit.pk)
    (imported,) = nurse.get(url).context["entries"]
    assert (imported["kind"], imported["who"]) == ("imported", "import")
    edit = reverse("record_edit", args=[demo_patient.public_id, "visits", visit.pk])
    data = dict(nurse.get(edit).context["form"].initial)
    data["sdmt"] = "50"
    assert nurse.post(edit, data).status_code == 302
    entry, _ = nurse.get(url).context["entries"]
    assert (entry["kind"], entry["who"]) == ("changed", "nurse")
    assert any(label == "SDMT" and after == "50" for label, _, after in entry["changes"])


def test_a_patient_change_is_in_the_patients_trail(nurse: Client,
                                                   demo_patient: Patient) -> None:
    url = reverse("patient_edit", args=[demo_patient.public_id])
    data = dict(nurse.get(url).context["form"].initial)
    data.update(course="SPMS", relapses_recorded="on")
    assert nurse.post(url, data).status_code == 302
    r = nurse.get(reverse("patient_history", args=[demo_patient.public_id]))
    latest = r.context["entries"][0]
    assert latest["who"] == "nurse"
    assert any(label.startswith("Current course") and after == "SPMS"
               for label, _, after in latest["changes"])


def test_researchers_patients_and_other_clinics_see_no_trail(demo_patient: Patient) -> None:
    visit = Visit.objects.filter(patient=demo_patient).last()
    assert visit is not None
    url = history_url(demo_patient, "visits", visit.pk)
    for username in ("researcher", "patient1"):
        assert login(username).get(url).status_code == 403
    other = Patient.objects.get(subject="OTHER-1")
    nurse = login("nurse")
    assert nurse.get(reverse("patient_history", args=[other.public_id])).status_code == 404
    assert nurse.get(history_url(other, "visits", visit.pk)).status_code == 404
    assert nurse.get(history_url(demo_patient, "secrets", visit.pk)).status_code == 404
    # the trail of a deleted record is the administrators'
    assert nurse.get(reverse("deleted_history", args=["visits", visit.pk])).status_code == 403
