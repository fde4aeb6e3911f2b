"""``/portal/adherence/``: a DMT dose taken or missed (on the clinic's current treatment) and
a symptom medicine taken, each in one request, with the last 28 days' counts shown back."""

from __future__ import annotations

import datetime as dt
import html as htmllib
from typing import Any

import pytest
from django.utils import timezone

from neda.web.clinic.models import Patient, PatientAccount, SymptomTreatment, Treatment
from neda.web.portal.diary import current_treatment
from neda.web.portal.models import AdherenceEntry, SymptomMedicationEntry

from .conftest import login

pytestmark = pytest.mark.usefixtures("empty_portal")


def _own(username: str) -> Patient:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def test_a_missed_dose_is_linked_to_the_current_treatment(db: Any) -> None:
    me = _own("patient1")
    today = timezone.localdate()
    Treatment.objects.filter(patient=me).delete()
    running = Treatment.objects.create(patient=me, drug="ocrelizumab",
                                       start=today - dt.timedelta(days=400))
    Treatment.objects.create(patient=me, drug="interferon beta-1a",
                             start=today - dt.timedelta(days=900),
                             stop=today - dt.timedelta(days=401))
    assert current_treatment(me, today) == running
    client = login("patient1")
    assert "Your MS treatment: ocrelizumab" in client.get("/portal/adherence/").content.decode()
    r = client.post("/portal/adherence/", {"form": "dose", "dose-date": today.isoformat(),
                                           "dose-taken": "no", "dose-reason": "travelling"})
    assert r.status_code == 302
    e = AdherenceEntry.objects.get(patient=me)
    assert (e.taken, e.reason, e.treatment_id) == (False, "travelling", running.pk)
    client.post("/portal/adherence/", {"form": "dose", "dose-date": today.isoformat(),
                                       "dose-taken": "yes"})
    page = htmllib.unescape(client.get("/portal/adherence/").content.decode())
    assert "Last 28 days: 1 taken (was 0), 1 missed (was 1)." in page


def test_a_symptom_medicine_from_the_list_or_named(db: Any) -> None:
    me = _own("patient1")
    today = timezone.localdate()
    baclofen = SymptomTreatment.objects.create(patient=me, drug="baclofen",
                                               symptom="spasticity", start=today)
    client = login("patient1")
    page = client.get("/portal/adherence/").content.decode()
    assert "baclofen (spasticity)" in page and "Save medicine" in page
    client.post("/portal/adherence/", {"form": "medicine", "medicine-date": today.isoformat(),
                                       "medicine-symptom_treatment": str(baclofen.pk)})
    client.post("/portal/adherence/", {"form": "medicine", "medicine-date": today.isoformat(),
                                       "medicine-name": "paracetamol"})
    r = client.post("/portal/adherence/", {"form": "medicine",
                                           "medicine-date": today.isoformat()})
    assert r.status_code == 200 and "Choose the medicine" in r.content.decode()
    got = [(e.symptom_treatment_id, e.name)
           for e in SymptomMedicationEntry.objects.filter(patient=me).order_by("pk")]
    assert got == [(baclofen.pk, ""), (None, "paracetamol")]


def test_another_patients_medicine_cannot_be_chosen(db: Any) -> None:
    other = _own("patient2")
    theirs = SymptomTreatment.objects.create(patient=other, drug="gabapentin", symptom="pain",
                                             start=timezone.localdate())
    client = login("patient1")
    r = client.post("/portal/adherence/", {
        "form": "medicine", "medicine-date": timezone.localdate().isoformat(),
        "medicine-symptom_treatment": str(theirs.pk)})
    assert r.status_code == 200 and not SymptomMedicationEntry.objects.exists()
