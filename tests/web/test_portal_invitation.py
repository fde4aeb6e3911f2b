"""Invitations to the portal: the clinic issues a single-use link (shown once, sent by e-mail);
the patient chooses a password through it and lands in the portal, logged in."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from neda.web.clinic.models import Patient, PatientAccount

from .conftest import login

PASSWORD = "a-long-portal-password-42"


def _uninvited(db: Any) -> Patient:
    return (Patient.objects.filter(clinic__name="Demo MS clinic", account__isnull=True)
            .order_by("pk").first())  # type: ignore[return-value]


def _invite(client: Client, patient: Patient, email: str) -> Any:
    return client.post(f"/patients/{patient.public_id}/portal-invitation/", {"email": email})


def _link(response: Any) -> str:
    found = re.search(r'id="invitation-link">(http[^<]+)<', response.content.decode())
    assert found, response.content.decode()
    return found.group(1).replace("http://testserver", "")


def _accept(link: str, password: str = PASSWORD) -> tuple[Client, Any]:
    patient = Client()
    opened = patient.get(link)  # the token leaves the URL for the session
    assert opened.status_code == 302 and opened["Location"].endswith("/set-password/")
    form = patient.get(opened["Location"])
    assert form.status_code == 200 and b"Choose a password" in form.content
    done = patient.post(opened["Location"], {"new_password1": password,
                                             "new_password2": password})
    return patient, done


def test_an_invitation_makes_an_account_and_its_link_logs_the_patient_in(db: Any) -> None:
    patient = _uninvited(db)
    r = _invite(login("nurse"), patient, "Someone@Example.org")
    assert r.status_code == 200
    link = _link(r)
    account = PatientAccount.objects.get(patient=patient)
    user = account.user
    assert user.username == user.email == "someone@example.org"
    assert not user.has_usable_password()
    # sent by e-mail too (the console backend in development; pytest collects them)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["someone@example.org"]
    assert link in mail.outbox[0].body and "someone@example.org" in mail.outbox[0].body
    # audited: who issued it
    entry = account.history.latest()
    assert entry.history_change_reason == "invitation issued"
    assert entry.history_user.username == "nurse"

    client, done = _accept(link)
    assert done.status_code == 302 and done["Location"] == "/"
    home = client.get("/", follow=True)
    assert home.status_code == 200 and home.context["user"] == user
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert account.history.latest().history_change_reason == "invitation accepted: password chosen"
    # and the patient logs in with it later (through the form: django-axes watches it)
    later = Client().post("/login/", {"username": "someone@example.org", "password": PASSWORD})
    assert later.status_code == 302 and later["Location"] == "/"


def test_a_used_link_says_so_and_works_no_more(db: Any) -> None:
    patient = _uninvited(db)
    link = _link(_invite(login("clinician"), patient, "used@example.org"))
    _accept(link)
    again = Client().get(link, follow=True)
    assert again.status_code == 200
    assert b"This invitation was used already" in again.content
    assert b"<form" not in again.content.split(b"<main")[1]


def test_a_reissued_invitation_voids_the_earlier_link(db: Any) -> None:
    patient = _uninvited(db)
    clinician = login("clinician")
    first = _link(_invite(clinician, patient, "twice@example.org"))
    page = clinician.get(f"/patients/{patient.public_id}/portal-invitation/")
    assert b"Invited (username" in page.content
    second_r = _invite(clinician, patient, "twice@example.org")
    assert b"The earlier link no longer works" in second_r.content
    second = _link(second_r)
    assert first != second
    stale = Client().get(first, follow=True)
    assert b"This invitation link does not work" in stale.content
    _, done = _accept(second)
    assert done.status_code == 302
    assert PatientAccount.objects.get(patient=patient).history.count() == 3


def test_an_expired_link_says_so(db: Any, settings: Any) -> None:
    patient = _uninvited(db)
    link = _link(_invite(login("clinician"), patient, "late@example.org"))
    settings.PASSWORD_RESET_TIMEOUT = -1  # every token is older than that
    r = Client().get(link, follow=True)
    assert b"This invitation link does not work" in r.content
    assert b"has expired" in r.content


def test_a_weak_password_is_refused_by_the_validators(db: Any) -> None:
    patient = _uninvited(db)
    link = _link(_invite(login("clinician"), patient, "weak@example.org"))
    client = Client()
    url = client.get(link)["Location"]
    r = client.post(url, {"new_password1": "password", "new_password2": "password"})
    assert r.status_code == 200 and b"too short" in r.content and b"too common" in r.content
    assert not get_user_model().objects.get(username="weak@example.org").has_usable_password()


def test_no_second_account_and_no_address_twice(db: Any) -> None:
    clinician = login("clinician")
    has_account = PatientAccount.objects.get(user__username="patient1").patient
    r = _invite(clinician, has_account, "new@example.org")
    assert r.status_code == 400 and b"already uses the portal" in r.content
    assert mail.outbox == []
    patient = _uninvited(db)
    r = _invite(clinician, patient, "patient2")
    assert r.status_code == 400  # not an e-mail address
    _invite(clinician, patient, "taken@example.org")
    other = Patient.objects.filter(clinic=patient.clinic, account__isnull=True).exclude(
        pk=patient.pk).first()
    assert other is not None
    r = _invite(clinician, other, "TAKEN@example.org")
    assert r.status_code == 400 and b"already belongs to another account" in r.content


def test_only_editors_of_the_patients_clinic_invite(db: Any) -> None:
    patient = _uninvited(db)
    url = f"/patients/{patient.public_id}/portal-invitation/"
    assert login("researcher").post(url, {"email": "r@example.org"}).status_code == 403
    assert login("patient1").post(url, {"email": "p@example.org"}).status_code == 403
    foreign = Patient.objects.get(subject="OTHER-1")
    r = login("clinician").post(f"/patients/{foreign.public_id}/portal-invitation/",
                                {"email": "f@example.org"})
    assert r.status_code == 404
    assert not PatientAccount.objects.filter(patient__in=[patient, foreign]).exists()
    # the overview links the invitation for editors only
    overview = f"/patients/{patient.public_id}/"
    assert url.encode() in login("nurse").get(overview).content
    assert url.encode() not in login("researcher").get(overview).content
