"""``/portal/questionnaires/``: which questionnaires are due by the clinic's schedule and the
scores of earlier ones; ``/portal/questionnaires/<instrument>/``: the form with every item,
scored the moment it is sent (:func:`..questionnaires.save_answers`, the clinic's scorer) and
shown back with what the score means."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from neda.io import InputError
from neda.web.clinic.access import patient_required
from neda.web.clinic.models import Patient

from ..forms import QuestionnaireForm
from ..questionnaires import (
    LEFT_OUT,
    QUESTIONNAIRES,
    due_questionnaires,
    headline,
    history,
    meaning,
    save_answers,
    score_answers,
    stored_answers,
)
from ._own import own_patient


def _history(patient: Patient, code: str) -> tuple[list[dict[str, Any]], str]:
    """The scored history, or none and the scorer's message when a stored answer (e.g. one
    the clinic entered) does not read: said on the page, never hidden."""
    try:
        return history(patient, code), ""
    except (InputError, ValueError) as exc:
        return [], str(exc)


def _result(patient: Patient, code: str, scored: str) -> dict[str, Any] | None:
    """The response set of that day scored and worded, beside the one before it (the page
    after sending a questionnaire)."""
    try:
        day = dt.date.fromisoformat(scored)
    except ValueError:
        return None
    answers = stored_answers(patient, code, day)
    if not answers:
        return None
    try:
        scores = score_answers(code, answers)
    except (InputError, ValueError):  # changed since by the clinic: said by _history's note
        return None
    key = headline(code)
    past = [h for h in _history(patient, code)[0] if h["date"] < day]
    now, before = scores.get(key), past[-1].get(key) if past else None
    change = ""
    if now is not None and before is not None:
        diff = round(now - before, 1)
        change = ("The same as last time." if diff == 0 else
                  f"{abs(diff):g} points {'higher' if diff > 0 else 'lower'} than last time "
                  f"({'more' if diff > 0 else 'less'} effect of fatigue).")
    return {"scores": scores, "readings": meaning(code, scores), "date": day,
            "score": now, "previous": past[-1] if past else None, "previous_score": before,
            "change": change}


@patient_required
def questionnaire_list(request: HttpRequest) -> HttpResponse:
    patient = own_patient(request)
    done = []
    problems = []
    for code, q in QUESTIONNAIRES.items():
        past, problem = _history(patient, code)
        if problem:
            problems.append(problem)
        if past:
            done.append({"questionnaire": q, "latest": past[-1],
                         "score": past[-1].get(headline(code)), "count": len(past)})
    return render(request, "portal/diary/questionnaires.html", {
        "due": due_questionnaires(patient), "questionnaires": QUESTIONNAIRES.values(),
        "done": done, "left_out": LEFT_OUT, "problems": problems})


@patient_required
def questionnaire(request: HttpRequest, instrument: str) -> HttpResponse:
    q = QUESTIONNAIRES.get(instrument)
    if q is None:
        # /portal/questionnaires/mfis/ typed by hand: the instrument's own page
        known = {code.upper(): code for code in QUESTIONNAIRES}
        if instrument.upper() in known:
            return redirect("portal_questionnaire", known[instrument.upper()])
        raise Http404("no such questionnaire")
    patient = own_patient(request)
    if request.method == "POST":
        form = QuestionnaireForm(q, request.POST)
        if form.is_valid():
            day = timezone.localdate()
            save_answers(patient, q.code, day, form.answers())
            return redirect(f"{reverse('portal_questionnaire', args=[q.code])}"
                            f"?scored={day.isoformat()}#result")
    else:
        form = QuestionnaireForm(q)
    result = _result(patient, q.code, request.GET.get("scored", ""))
    past, problem = _history(patient, q.code)
    key = headline(q.code)
    chart = {"kind": "lines", "title": f"{q.code} over time", "y_max": None,
             "series": [{"name": q.code, "x": [h["date"].isoformat() for h in past
                                               if h.get(key) == h.get(key)],
                         "y": [h.get(key) for h in past if h.get(key) == h.get(key)]}]}
    return render(request, "portal/diary/questionnaire.html", {
        "q": q, "form": form, "result": result, "past": past[::-1], "key": key,
        "problem": problem,
        "chart": chart})
