"""``/portal/exercise/``: a session logged in one request; this week's minutes against the goal
the clinic set (the clinic's default without one)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
from typing import Any

import pytest
from django.utils import timezone

from neda.web.clinic.models import Patient, PatientAccount
from neda.web.portal.diary import this_week, week_start, weekly_minutes
from neda.web.portal.models import ExerciseGoal, ExerciseSession

from .conftest import login

pytestmark = pytest.mark.usefixtures("empty_portal")


def _own(username: str) -> Patient:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def test_a_session_counts_towards_this_weeks_goal(db: Any) -> None:
    me = _own("patient1")
    client = login("patient1")
    today = timezone.localdate()
    page = client.get("/portal/exercise/").content.decode()
    assert "0</strong> of <strong>150</strong> minutes" in page  # the clinic's default
    assert "Save session" in page and "Minutes" in page
    r = client.post("/portal/exercise/", {"date": today.isoformat(), "kind": "walking",
                                          "minutes": "40", "effort": "3"})
    assert r.status_code == 302 and r["Location"] == "/portal/exercise/"
    s = ExerciseSession.objects.get(patient=me)
    assert (s.kind, s.minutes, s.effort, s.date) == ("walking", 40, 3, today)
    page = htmllib.unescape(client.get("/portal/exercise/").content.decode())
    assert "Saved: 40 minutes of walking" in page
    assert "This week: 40 of 150 minutes (was 0). 110 minutes to go." in page


def test_the_goal_the_clinic_sets_is_the_patients(db: Any, nurse: Any) -> None:
    me = _own("patient1")
    r = nurse.post(f"/portal/clinic/{me.public_id}/exercise-goal/", {"minutes_per_week": "90"})
    assert r.status_code == 302
    goal = ExerciseGoal.objects.get(patient=me)
    assert goal.minutes_per_week == 90 and goal.set_by is not None
    today = timezone.localdate()
    ExerciseSession.objects.create(patient=me, date=today, kind="cycling", minutes=100)
    week = this_week(me, today)
    assert (week["minutes"], week["goal"], week["left"], week["percent"]) == (100, 90, 0, 100)
    assert "Goal reached" in login("patient1").get("/portal/exercise/").content.decode()


def test_weeks_run_monday_to_sunday(db: Any) -> None:
    me = _own("patient1")
    sunday = dt.date(2026, 11, 29)
    monday = dt.date(2026, 11, 30)
    assert week_start(sunday) == dt.date(2026, 11, 23) and week_start(monday) == monday
    for day, minutes in ((sunday, 30), (monday, 20), (monday, 25)):
        ExerciseSession.objects.create(patient=me, date=day, kind="walking", minutes=minutes)
    assert weekly_minutes(me) == {dt.date(2026, 11, 23): 30, monday: 45}


def test_a_bad_session_is_refused(db: Any) -> None:
    client = login("patient1")
    today = timezone.localdate().isoformat()
    for bad in ({"minutes": "0"}, {"minutes": "abc"}, {"kind": "flying"}, {"effort": "11"}):
        data = {"date": today, "kind": "walking", "minutes": "30", **bad}
        assert client.post("/portal/exercise/", data).status_code == 200
    assert not ExerciseSession.objects.exists()


def test_only_editors_set_the_goal(db: Any) -> None:
    me = _own("patient1")
    researcher = login("researcher")
    assert researcher.post(f"/portal/clinic/{me.public_id}/exercise-goal/",
                           {"minutes_per_week": "10"}).status_code == 403
    assert login("patient1").post(f"/portal/clinic/{me.public_id}/exercise-goal/",
                                  {"minutes_per_week": "10"}).status_code == 403
    assert not ExerciseGoal.objects.exists()
