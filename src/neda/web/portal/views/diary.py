"""``/portal/diary/``: today's symptoms in one quick form (a row of 0-10 buttons per
symptom), what changed since the last entry, and every symptom over time (chart and table)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from neda.web.clinic.access import patient_required

from ..diary import SYMPTOM_FIELDS, save_symptoms
from ..forms import SymptomForm
from ..models import DIARY_SYMPTOMS, SymptomEntry
from ._own import own_patient

#: Days of history the page shows (the clinic's overview shows all of it).
HISTORY_DAYS = 90


@patient_required
def diary(request: HttpRequest) -> HttpResponse:
    patient = own_patient(request)
    today = timezone.localdate()
    if request.method == "POST":
        form = SymptomForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            _, changes = save_symptoms(patient, data["date"], data, data.get("note", ""))
            messages.success(request, f"Saved your symptoms for {data['date']:%d %B %Y}.")
            for c in changes:
                if c.now is not None:
                    messages.info(request, f"{c.label}: {c.words}")
            return redirect("portal_diary")
    else:
        entry = SymptomEntry.objects.filter(patient=patient, date=today).first()
        initial: dict[str, Any] = {"date": today}
        if entry is not None:  # today's entry again: change it rather than start over
            initial.update({f: getattr(entry, f) for f in SYMPTOM_FIELDS}, note=entry.note)
        form = SymptomForm(initial=initial)
    rows = list(SymptomEntry.objects.filter(
        patient=patient, date__gt=today - dt.timedelta(days=HISTORY_DAYS)).order_by("date"))
    chart = {"kind": "lines", "title": "Symptoms (0 = none, 10 = worst)", "y_max": 10,
             "series": [{"name": label, "x": [r.date.isoformat() for r in rows
                                              if getattr(r, code) is not None],
                         "y": [getattr(r, code) for r in rows if getattr(r, code) is not None]}
                        for code, label, *_ in DIARY_SYMPTOMS]}
    return render(request, "portal/diary/diary.html", {
        "form": form, "rows": rows[::-1], "symptoms": DIARY_SYMPTOMS, "chart": chart,
        "history_days": HISTORY_DAYS, "today": today})
