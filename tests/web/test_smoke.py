"""The skeleton works end to end: login, list, overview, health."""

from __future__ import annotations

from typing import Any

from django.test import Client

from neda.web.clinic.models import Patient


def test_healthz(client: Client, db: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_list_and_overview(clinician: Client, demo_patient: Patient) -> None:
    r = clinician.get("/patients/")
    assert r.status_code == 200 and demo_patient.subject in r.content.decode()
    r = clinician.get(f"/patients/{demo_patient.public_id}/")
    assert r.status_code == 200
    assert "In plain words" in r.content.decode()
