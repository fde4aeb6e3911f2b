"""``/portal/``, the portal's home: the patient's own course in plain language.

Everything shown is the patient's ``PatientCourse`` from the clinic's one cached bridge
(:func:`neda.web.clinic.course.course_for`, i.e. ``neda.course_summary``): this view only
picks the values and puts them in the portal's words (:mod:`..words`), each statement with a
link to the definition it rests on. It computes nothing and recommends nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from neda.web.clinic.access import account_of, patient_required
from neda.web.clinic.course import course_for
from neda.web.clinic.models import Relapse

from .. import words


def _neda_year(current: dict[str, Any] | None) -> dict[str, Any] | None:
    """The latest completed treatment year's NEDA, in lay words (None: no full year yet)."""
    if not current or not current.get("window_start"):
        return None
    status = current.get("component_status") or {}
    return {
        "start": current["window_start"], "end": current["window_end"],
        "neda3": current.get("neda3"), "words": words.neda_words(current.get("neda3")),
        "components": [{"key": key, "question": question, "definition": definition,
                        "value": status.get(key),
                        "words": words.component_words(status.get(key))}
                       for key, question, definition in words.NEDA_COMPONENTS],
    }


@patient_required
@require_safe
def my_course(request: HttpRequest) -> HttpResponse:
    account = account_of(request.user)
    assert account is not None  # patient_required
    patient = account.patient
    course = course_for(patient)
    therapy = course.get("current_therapy")
    monitoring = course.get("monitoring") or {}
    chart = course.get("chart") or {}
    relapses = [{"onset_start": r.get("onset_start"), "onset_end": r.get("onset_end"),
                 "precision": r.get("precision"),
                 "recovery": words.recovery_words(r.get("recovery"))}
                for r in course.get("relapses") or []]
    visits = [v for v in chart.get("visits") or []
              if v.get("edss") is not None or v.get("t25fw") is not None]
    scans = chart.get("scans") or []
    return render(request, "portal/my_course.html", {
        "patient": patient, "course": course, "therapy": therapy,
        "neda": _neda_year((therapy or {}).get("neda", {}).get("current_year")),
        "relapse_last_year": monitoring.get("relapse_last_year"),
        "relapse_last_year_words": words.component_words(
            None if monitoring.get("relapse_last_year") is None
            else not monitoring["relapse_last_year"]),
        "relapses": list(reversed(relapses)), "visits": list(reversed(visits)),
        "scans": list(reversed(scans)),
        "waiting": Relapse.objects.filter(patient=patient, status="reported").count(),
        "relapses_recorded": patient.relapses_recorded,
    })


@patient_required
@require_safe
def old_my_course(request: HttpRequest) -> HttpResponse:
    """``/me/``, the course page before the portal: kept so bookmarks still arrive."""
    return redirect("portal_home")
