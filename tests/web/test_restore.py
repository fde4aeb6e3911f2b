"""Soft delete and restore: a deleted record disappears from every screen and from the course;
an administrator of its clinic sees it on the restore screen and brings it back."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from neda.web.clinic.course import course_for
from neda.web.clinic.models import Clinic, Patient, Relapse, StaffMember, Visit

from .conftest import login


def latest_visit(patient: Patient) -> Visit:
    visit = Visit.objects.filter(patient=patient).order_by("date").last()
    assert visit is not None
    return visit


def delete_url(patient: Patient, table: str, pk: int) -> str:
    return reverse("record_delete", args=[patient.public_id, table, pk])


def restore_url(table: str, pk: int) -> str:
    return reverse("record_restore", args=[table, pk])


def version(patient: Patient) -> int:
    patient.refresh_from_db(fields=["data_version"])
    return patient.data_version


def test_a_deleted_visit_is_hidden_and_an_administrator_restores_it(
        nurse: Client, admin: Client, demo_patient: Patient) -> None:
    visit = latest_visit(demo_patient)
    course = course_for(demo_patient)
    assert course["edss"]["latest_date"] == visit.date.isoformat()
    v0 = version(demo_patient)

    # GET asks to confirm and deletes nothing
    r = nurse.get(delete_url(demo_patient, "visits", visit.pk))
    assert r.status_code == 200 and "Delete the visit of" in r.content.decode()
    assert Visit.objects.filter(pk=visit.pk).exists()

    r = nurse.post(delete_url(demo_patient, "visits", visit.pk))
    assert r.status_code == 302
    assert not Visit.objects.filter(pk=visit.pk).exists()
    assert Visit.all_objects.get(pk=visit.pk).deleted_at is not None
    assert version(demo_patient) == v0 + 1
    # gone from the list, the forms and the course
    listing = nurse.get(reverse("record_list", args=[demo_patient.public_id, "visits"]))
    assert reverse("record_edit", args=[demo_patient.public_id, "visits", visit.pk]) \
        not in listing.content.decode()
    assert nurse.get(reverse("record_edit", args=[demo_patient.public_id, "visits",
                                                  visit.pk])).status_code == 404
    assert course_for(demo_patient)["edss"]["latest_date"] != visit.date.isoformat()

    # the administrator's restore screen lists it, with who deleted it
    page = admin.get(reverse("deleted_records")).content.decode()
    assert f"of {visit.date}" in page and ">nurse<" in page
    assert restore_url("visits", visit.pk) in page
    r = admin.post(restore_url("visits", visit.pk), follow=True)
    assert "restored" in r.content.decode()
    assert Visit.objects.filter(pk=visit.pk).exists()
    assert version(demo_patient) == v0 + 2
    assert course_for(demo_patient)["edss"]["latest_date"] == visit.date.isoformat()
    assert restore_url("visits", visit.pk) not in admin.get(
        reverse("deleted_records")).content.decode()


@pytest.mark.parametrize("username", ["clinician", "nurse", "researcher", "patient1"])
def test_only_administrators_see_and_restore_deleted_records(username: str,
                                                            demo_patient: Patient) -> None:
    visit = latest_visit(demo_patient)
    visit.soft_delete()
    client = login(username)
    assert client.get(reverse("deleted_records")).status_code == 403
    assert client.post(restore_url("visits", visit.pk)).status_code == 403
    assert not Visit.objects.filter(pk=visit.pk).exists()


def test_researchers_and_patients_cannot_delete(demo_patient: Patient) -> None:
    visit = latest_visit(demo_patient)
    for username in ("researcher", "patient1"):
        r = login(username).post(delete_url(demo_patient, "visits", visit.pk))
        assert r.status_code == 403
    assert Visit.objects.filter(pk=visit.pk).exists()


def test_restore_needs_a_post(admin: Client, demo_patient: Patient) -> None:
    visit = latest_visit(demo_patient)
    visit.soft_delete()
    assert admin.get(restore_url("visits", visit.pk)).status_code == 405
    assert not Visit.objects.filter(pk=visit.pk).exists()


def test_another_clinics_administrator_cannot_restore(demo_patient: Patient) -> None:
    other_admin = get_user_model().objects.create(username="other-admin")
    StaffMember.objects.create(user=other_admin, role="admin",
                               clinic=Clinic.objects.get(name="Other clinic"))
    client = Client()
    client.force_login(other_admin)
    visit = latest_visit(demo_patient)
    visit.soft_delete()
    assert f"of {visit.date}" not in client.get(reverse("deleted_records")).content.decode()
    assert client.post(restore_url("visits", visit.pk)).status_code == 404
    assert client.get(reverse("deleted_history", args=["visits", visit.pk])).status_code == 404
    assert not Visit.objects.filter(pk=visit.pk).exists()


def test_a_live_record_or_an_unknown_table_is_not_restorable(admin: Client,
                                                             demo_patient: Patient) -> None:
    visit = latest_visit(demo_patient)
    assert admin.post(restore_url("visits", visit.pk)).status_code == 404
    assert admin.post(restore_url("secrets", visit.pk)).status_code == 404


def test_a_restore_the_readers_would_refuse_is_not_done(nurse: Client, admin: Client,
                                                         demo_patient: Patient) -> None:
    visit = latest_visit(demo_patient)
    assert visit.edss is not None and visit.edss != 6.0
    nurse.post(delete_url(demo_patient, "visits", visit.pk))
    # the same day entered again with another EDSS
    r = nurse.post(reverse("record_add", args=[demo_patient.public_id, "visits"]),
                   {"date": visit.date.isoformat(), "edss": "6.0"})
    assert r.status_code == 302
    r = admin.post(restore_url("visits", visit.pk), follow=True)
    page = r.content.decode()
    assert "was not restored" in page and "conflicts with the saved visit of" in page
    assert not Visit.objects.filter(pk=visit.pk).exists()


def test_a_restored_relapse_warns_with_the_hygiene_reason(admin: Client) -> None:
    patient = Patient.objects.get(subject="10")
    relapse = Relapse.objects.get(patient=patient, onset="2021-08-28")
    relapse.soft_delete()
    Relapse.objects.create(patient=patient, onset="2021-09-05", status="confirmed")
    r = admin.post(restore_url("relapses", relapse.pk), follow=True)
    page = r.content.decode()
    assert "restored" in page
    assert "will count the saved relapse of 2021-09-05 as part of this one" in page
    assert Relapse.objects.filter(pk=relapse.pk).exists()


def test_an_administrator_deletes_and_restores_a_patient(admin: Client, nurse: Client,
                                                         demo_patient: Patient) -> None:
    url = reverse("patient_delete", args=[demo_patient.public_id])
    assert nurse.post(url).status_code == 403  # administrators only
    assert admin.get(url).status_code == 200
    assert admin.post(url).status_code == 302
    assert not Patient.objects.filter(pk=demo_patient.pk).exists()
    overview = reverse("patient_overview", args=[demo_patient.public_id])
    assert nurse.get(overview).status_code == 404
    page = admin.get(reverse("deleted_records")).content.decode()
    assert restore_url("patients", demo_patient.pk) in page
    admin.post(restore_url("patients", demo_patient.pk))
    assert nurse.get(overview).status_code == 200


def test_a_record_restored_under_a_deleted_patient_says_so(admin: Client,
                                                           demo_patient: Patient) -> None:
    visit = latest_visit(demo_patient)
    visit.soft_delete()
    demo_patient.soft_delete()
    r = admin.post(restore_url("visits", visit.pk), follow=True)
    assert "their patient is deleted too" in r.content.decode()
    assert Visit.objects.filter(pk=visit.pk).exists()


def test_delete_without_the_csrf_token_is_refused(demo_patient: Patient) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="nurse"))
    visit = latest_visit(demo_patient)
    assert client.post(delete_url(demo_patient, "visits", visit.pk)).status_code == 403
    assert Visit.objects.filter(pk=visit.pk).exists()
    visit.soft_delete()
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(get_user_model().objects.get(username="admin"))
    assert admin.post(restore_url("visits", visit.pk)).status_code == 403
    assert not Visit.objects.filter(pk=visit.pk).exists()
