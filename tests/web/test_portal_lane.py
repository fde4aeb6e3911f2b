"""The clinic's side of the diary: the patient-reported lane of the overview (its series equal
the entries), the entries page with "mark reviewed", and the review queue's function."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.utils import timezone

from neda.web.clinic.models import Patient, PatientAccount, Visit
from neda.web.portal.diary import mark_reviewed, unreviewed_count, unreviewed_entries
from neda.web.portal.lane import patient_reported_lane
from neda.web.portal.models import (
    AdherenceEntry,
    ExerciseGoal,
    ExerciseSession,
    SymptomEntry,
)

from .conftest import login

pytestmark = pytest.mark.usefixtures("empty_portal")


def _own(username: str) -> Patient:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def _lane_json(page: str) -> Any:
    m = re.search(r'<script id="portal-lane-data" type="application/json">(.*?)</script>',
                  page, re.S)
    return None if m is None else json.loads(m.group(1))


def _report(p: Patient) -> dt.date:
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    SymptomEntry.objects.create(patient=p, date=today - dt.timedelta(days=8), fatigue=6, pain=1)
    SymptomEntry.objects.create(patient=p, date=today, fatigue=3)
    ExerciseSession.objects.create(patient=p, date=monday, kind="walking", minutes=30)
    ExerciseSession.objects.create(patient=p, date=monday, kind="cycling", minutes=45)
    ExerciseSession.objects.create(patient=p, date=monday - dt.timedelta(days=7),
                                   kind="swimming", minutes=200)
    AdherenceEntry.objects.create(patient=p, date=today, taken=False, reason="ill")
    return monday


def test_the_lane_holds_what_the_patient_reported(db: Any, clinician: Any) -> None:
    me = _own("patient1")
    assert patient_reported_lane(me) is None
    page = clinician.get(f"/patients/{me.public_id}/").content.decode()
    assert _lane_json(page) is None and "Reported by the patient" not in page
    monday = _report(me)
    ExerciseGoal.objects.create(patient=me, minutes_per_week=120)
    today = timezone.localdate()
    lane = patient_reported_lane(me)
    assert lane is not None
    fatigue = next(s for s in lane["symptoms"] if s["symptom"] == "fatigue")
    assert fatigue["points"] == [[(today - dt.timedelta(days=8)).isoformat(), 6],
                                 [today.isoformat(), 3]]
    assert [s["symptom"] for s in lane["symptoms"]] == ["fatigue", "pain"]
    assert lane["exercise"] == [
        {"week": (monday - dt.timedelta(days=7)).isoformat(), "minutes": 200, "goal": 120},
        {"week": monday.isoformat(), "minutes": 75, "goal": 120}]
    assert lane["adherence"] == [{"date": today.isoformat(), "taken": False, "drug": ""}]
    assert lane["unreviewed"] == 6
    assert Visit.objects.filter(patient=me).exists()  # the overview draws the course
    page = clinician.get(f"/patients/{me.public_id}/").content.decode()
    assert _lane_json(page) == lane
    assert "Reported by the patient" in page and "6 not yet reviewed" in page


def test_marking_reviewed_empties_the_queue(db: Any, nurse: Any) -> None:
    me, other = _own("patient1"), _own("patient2")
    _report(me)
    SymptomEntry.objects.create(patient=other, date=timezone.localdate(), mood=5)
    queue = unreviewed_entries(Patient.objects.filter(clinic=me.clinic))
    assert [(u.patient.pk, u.total) for u in queue] in (
        [(me.pk, 6), (other.pk, 1)], [(other.pk, 1), (me.pk, 6)])
    mine = next(u for u in queue if u.patient.pk == me.pk)
    assert mine.counts == {"symptoms": 2, "exercise": 3, "adherence": 1}
    # another clinic's queue does not hold them
    assert unreviewed_entries(Patient.objects.exclude(clinic=me.clinic)) == []
    page = nurse.get(f"/portal/clinic/{me.public_id}/entries/").content.decode()
    assert "Mark all reviewed" in page and "dose missed (ill)" in page
    r = nurse.post(f"/portal/clinic/{me.public_id}/entries/reviewed/")
    assert r.status_code == 302
    assert unreviewed_count(me) == 0 and unreviewed_count(other) == 1
    entry = SymptomEntry.objects.filter(patient=me).first()
    assert entry is not None and entry.reviewed_by is not None
    assert entry.history.count() == 2  # the review is in the audit trail


def test_a_changed_entry_waits_for_review_again(db: Any) -> None:
    me = _own("patient1")
    client = login("patient1")
    today = timezone.localdate()
    client.post("/portal/diary/", {"date": today.isoformat(), "fatigue": "2"})
    assert mark_reviewed(me, None) == 1
    client.post("/portal/diary/", {"date": today.isoformat(), "fatigue": "8"})
    assert unreviewed_count(me) == 1


def test_researchers_read_but_do_not_review(db: Any) -> None:
    me = _own("patient1")
    _report(me)
    researcher = login("researcher")
    page = researcher.get(f"/portal/clinic/{me.public_id}/entries/").content.decode()
    assert f"Reported by patient {me.subject}<" not in page
    assert f"Reported by patient {me.pseudonym()}<" in page
    assert "Mark all reviewed" not in page
    assert researcher.post(
        f"/portal/clinic/{me.public_id}/entries/reviewed/").status_code == 403
    assert unreviewed_count(me) == 6


def test_the_review_queue_lists_new_entries(db: Any, nurse: Any) -> None:
    me = _own("patient1")
    _report(me)
    page = nurse.get("/portal/review/").content.decode()
    assert "New diary entries" in page
    assert f'data-entries-patient="{me.public_id}"' in page
    assert "2 symptom diary days, 3 exercise sessions, 1 DMT dose" in page
    r = nurse.post(f"/portal/clinic/{me.public_id}/entries/reviewed/",
                   {"next": "/portal/review/#review-entries"})
    assert r.status_code == 302 and r["Location"] == "/portal/review/#review-entries"
    page = nurse.get("/portal/review/").content.decode()
    assert f'data-entries-patient="{me.public_id}"' not in page
    assert "No new diary, exercise or medicine entry waits for review." in page
    # an address elsewhere is not followed
    ExerciseSession.objects.create(patient=me, date=timezone.localdate(), kind="other",
                                   minutes=5)
    r = nurse.post(f"/portal/clinic/{me.public_id}/entries/reviewed/",
                   {"next": "https://example.org/"})
    assert r["Location"] == f"/portal/clinic/{me.public_id}/entries/"
