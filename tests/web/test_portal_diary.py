"""``/portal/diary/``: today's symptoms in one request, what changed shown back, the history;
a patient's entries are theirs only, and saving one leaves the course's data version alone."""

from __future__ import annotations

import datetime as dt
import html as htmllib
from typing import Any

import pytest
from django.utils import timezone

from neda.web.clinic.models import Patient, PatientAccount
from neda.web.portal.models import SymptomEntry

from .conftest import login
from .pages import inline_scripts

pytestmark = pytest.mark.usefixtures("empty_portal")


def _own(username: str) -> Patient:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def _post(client: Any, day: dt.date, **scores: Any) -> Any:
    return client.post("/portal/diary/", {"date": day.isoformat(), **scores})


def test_one_request_saves_the_day_and_shows_what_changed(db: Any) -> None:
    me = _own("patient1")
    client = login("patient1")
    today = timezone.localdate()
    form = client.get("/portal/diary/")
    page = form.content.decode()
    assert form.status_code == 200 and inline_scripts(page) == []
    assert "Tiredness (fatigue)" in page and "Save today's symptoms" in page
    r = _post(client, today - dt.timedelta(days=1), fatigue=6, pain=2)
    assert r.status_code == 302 and r["Location"] == "/portal/diary/"
    r = _post(client, today, fatigue=4, pain=2, walking=3)
    assert r.status_code == 302
    entry = SymptomEntry.objects.get(patient=me, date=today)
    assert (entry.fatigue, entry.pain, entry.walking, entry.mood) == (4, 2, 3, None)
    assert entry.reviewed_at is None
    page = htmllib.unescape(client.get("/portal/diary/").content.decode())
    assert "Tiredness (fatigue): 4 (was 6: 2 better)" in page
    assert "Pain: 2 (same as before)" in page
    assert "Walking difficulty: 3 (first time recorded)" in page


def test_a_second_entry_the_same_day_changes_it(db: Any) -> None:
    me = _own("patient1")
    client = login("patient1")
    today = timezone.localdate()
    _post(client, today, fatigue=4)
    _post(client, today, fatigue=7, mood=1)
    rows = SymptomEntry.objects.filter(patient=me, date=today)
    assert rows.count() == 1 and (rows[0].fatigue, rows[0].mood) == (7, 1)
    # the form opens on today's entry
    page = client.get("/portal/diary/").content.decode()
    assert 'value="7" class="scale" id="id_fatigue_7" checked' in page or \
        'id="id_fatigue_7" checked' in page


def test_bad_entries_are_refused_with_a_reason(db: Any) -> None:
    client = login("patient1")
    today = timezone.localdate()
    r = _post(client, today)
    assert r.status_code == 200 and "at least one symptom" in r.content.decode()
    r = _post(client, today + dt.timedelta(days=1), fatigue=3)
    assert r.status_code == 200 and "in the future" in r.content.decode()
    r = _post(client, today, fatigue=11)
    assert r.status_code == 200 and not SymptomEntry.objects.exists()


def test_entries_are_the_patients_own_and_do_not_touch_the_course(db: Any) -> None:
    me, other = _own("patient1"), _own("patient2")
    version = me.data_version
    today = timezone.localdate()
    SymptomEntry.objects.create(patient=other, date=today, fatigue=9, note="other's note")
    client = login("patient1")
    _post(client, today, fatigue=2)
    me.refresh_from_db()
    assert me.data_version == version  # the diary feeds no rule: the course stays cached
    page = client.get("/portal/diary/").content.decode()
    assert "other&#x27;s note" not in page and "other's note" not in page
    assert SymptomEntry.objects.get(patient=me).fatigue == 2


def test_staff_cannot_use_the_patient_diary(clinician: Any) -> None:
    assert clinician.get("/portal/diary/").status_code == 403
