"""``/portal/``, the portal's home: the patient's own course in plain language.

Everything shown is the patient's ``PatientCourse`` from the clinic's one cached bridge
(:func:`neda.web.clinic.course.course_for`, i.e. ``neda.course_summary``): this view only
picks the values and puts them in the portal's words (:mod:`..words`), each statement with a
link to the definition it rests on. It computes nothing and recommends nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from neda.web.clinic.access import account_of, patient_required
from neda.web.clinic.course import cached_for_course, course_for
from neda.web.clinic.models import Patient, Relapse

from .. import words


def _neda_year(current: dict[str, Any] | None) -> dict[str, Any] | None:
    """The latest completed treatment year's NEDA, in lay words (None: no full year yet)."""
    if not current or not current.get("window_start"):
        return None
    status = current.get("component_status") or {}
    reasons = current.get("components") or {}
    return {
        "start": current["window_start"], "end": current["window_end"],
        "neda3": current.get("neda3"), "words": words.neda_words(current.get("neda3")),
        "components": [{"key": key, "question": question, "definition": definition,
                        "value": status.get(key),
                        "words": words.component_words(status.get(key)),
                        # the rules' own reason, as the clinic reads it, for a "yes" or
                        # "not known" (the patient may show it to their team)
                        "reason": reasons.get(key) if status.get(key) is not True else None}
                       for key, question, definition in words.NEDA_COMPONENTS],
    }


#: The EDSS chart's drawing box (SVG user units) and how many rows the tables show unfolded.
_W, _H, _SHOWN = 320, 120, 5


def edss_chart(visits: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Where the EDSS of each check-up is drawn: the course's values placed on a box (x by
    date, y on the scale 0-10), nothing computed from them; None with fewer than two."""
    points = [(dt.date.fromisoformat(v["date"]), float(v["edss"])) for v in visits
              if v.get("edss") is not None]
    if len(points) < 2:
        return None
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)
    xy = [(round((d - first).days / span * _W, 1), round(_H - e / 10 * _H, 1))
          for d, e in points]
    return {"width": _W, "height": _H, "first": first.isoformat(), "last": last.isoformat(),
            "line": " ".join(f"{x},{y}" for x, y in xy),
            "dots": [{"x": x, "y": y} for x, y in xy],
            "grid": [{"y": round(_H - g / 10 * _H, 1), "label": g} for g in (0, 2, 4, 6, 8, 10)]}


def course_body(patient: Patient) -> str:
    """The page's account of the course (all of it but the reports waiting for review), a
    function of the course alone: rendered once per course key (data version, rule-set digest,
    date; :func:`neda.web.clinic.course.cached_for_course`)."""
    return cached_for_course(patient, "portal-home", lambda: _render_course_body(patient))


def _render_course_body(patient: Patient) -> str:
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
    scans = list(reversed(chart.get("scans") or []))
    return render_to_string("portal/_my_course_body.html", {
        "course": course, "therapy": therapy,
        "neda": _neda_year((therapy or {}).get("neda", {}).get("current_year")),
        "relapse_last_year": monitoring.get("relapse_last_year"),
        "relapse_last_year_words": words.component_words(
            None if monitoring.get("relapse_last_year") is None
            else not monitoring["relapse_last_year"]),
        "relapses": list(reversed(relapses)), "edss_chart": edss_chart(visits),
        "visits": list(reversed(visits))[:_SHOWN], "older_visits": list(reversed(visits))[_SHOWN:],
        "scans": scans[:_SHOWN], "older_scans": scans[_SHOWN:],
        "relapses_recorded": patient.relapses_recorded,  # a change bumps the data version
    })


@patient_required
@require_safe
def my_course(request: HttpRequest) -> HttpResponse:
    account = account_of(request.user)
    assert account is not None  # patient_required
    patient = account.patient
    return render(request, "portal/my_course.html", {
        "patient": patient, "body": course_body(patient),
        "waiting": Relapse.objects.filter(patient=patient, status="reported").count(),
    })


@patient_required
@require_safe
def old_my_course(request: HttpRequest) -> HttpResponse:
    """``/me/``, the course page before the portal: kept so bookmarks still arrive."""
    return redirect("portal_home")
