"""``/portal/exercise/``: log an exercise session (type, minutes, how hard); this week's
minutes against the goal the clinic set, and the minutes of every week over time."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from neda.web.clinic.access import patient_required

from ..diary import exercise_goal, this_week, weekly_minutes
from ..forms import ExerciseForm
from ..models import ExerciseSession
from ._own import own_patient

HISTORY_WEEKS = 12


@patient_required
def exercise(request: HttpRequest) -> HttpResponse:
    patient = own_patient(request)
    today = timezone.localdate()
    if request.method == "POST":
        before = this_week(patient, today)
        form = ExerciseForm(request.POST, instance=ExerciseSession(patient=patient))
        if form.is_valid():
            session = form.save()
            week = this_week(patient, today)
            messages.success(request, f"Saved: {session.minutes} minutes of "
                             f"{session.get_kind_display().lower()} on {session.date:%d %B %Y}.")
            if week["minutes"] != before["minutes"]:
                messages.info(request, f"This week: {week['minutes']} of {week['goal']} minutes "
                              f"(was {before['minutes']}). " + (
                                  "Goal reached - well done." if week["left"] == 0 else
                                  f"{week['left']} minutes to go."))
            return redirect("portal_exercise")
    else:
        form = ExerciseForm(initial={"date": today})
    since = today - dt.timedelta(weeks=HISTORY_WEEKS - 1)
    weeks = weekly_minutes(patient, since)
    goal = exercise_goal(patient)
    monday = since - dt.timedelta(days=since.weekday())
    all_weeks = [monday + dt.timedelta(weeks=i) for i in range(HISTORY_WEEKS)]
    table = [{"week": w, "minutes": weeks.get(w, 0), "met": weeks.get(w, 0) >= goal}
             for w in all_weeks][::-1]
    chart = {"kind": "bars", "title": "Your exercise week by week", "goal": goal,
             "series": [{"name": "minutes", "x": [w.isoformat() for w in all_weeks],
                         "y": [weeks.get(w, 0) for w in all_weeks]}]}
    sessions = ExerciseSession.objects.filter(patient=patient).order_by("-date", "-pk")[:10]
    return render(request, "portal/diary/exercise.html", {
        "form": form, "week": this_week(patient, today), "weeks": table, "chart": chart,
        "sessions": sessions})
