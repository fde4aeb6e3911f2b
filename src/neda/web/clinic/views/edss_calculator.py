"""The EDSS calculator: the EDSS computed from the FS grades and the ambulation score by
``neda.rules.edss`` (rules §1), with how its step was found. The input is read as a visit row
by neda.io, so a grade or score is accepted here exactly when a visit form or a file would
accept it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from neda.rules.edss import AMBULATION_LABELS_16, AMBULATION_STEP, FS_SYSTEMS

from ..access import staff_required
from ..forms import FS_LABELS, EdssCalculatorForm


@staff_required
def edss_calculator(request: HttpRequest) -> HttpResponse:
    form = EdssCalculatorForm(request.GET or None)
    computed = form.is_valid() if form.is_bound else False
    result = form.result if computed else None
    grades = []
    if result is not None:
        grades = [{"system": FS_LABELS[s], "raw": form.cleaned_data.get(f"fs_{s}") or "",
                   "converted": result.converted[s]} for s in FS_SYSTEMS]
    walking = [{"code": i, "text": text, "step": AMBULATION_STEP["neurostatus_16"][i]}
               for i, text in enumerate(AMBULATION_LABELS_16)]
    return render(request, "clinic/records/edss_calculator.html", {
        "form": form, "result": result, "note": form.note if form.is_bound else None,
        "grades": grades, "walking": walking})
