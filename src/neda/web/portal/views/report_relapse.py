"""``/portal/relapses/new/``: a patient reports a possible relapse; ``/portal/relapses/``: the
relapses they reported, each with the clinic's review status.

A report is a ``clinic.Relapse`` with ``status="reported"``: it reaches no rule until the
clinic confirms it or judges it a pseudo-relapse (:data:`..models.COUNTED_RELAPSE_STATUSES`,
read in one place, :func:`neda.web.clinic.course.tables_for`). The answers are read like every
other relapse entry: as a one-row relapses table through neda.io
(:func:`neda.web.clinic.checking.check_record`), so a month-only onset or a date in the future
mean here what they mean in a file. The form is for a phone and under a minute: five
questions, the onset defaulting to today, symptoms as tick boxes in lay words (stored as the
functional-system codes of ``fs_affected``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from neda.web.clinic.access import account_of, patient_required
from neda.web.clinic.checking import NON_FIELD, check_record
from neda.web.clinic.models import Patient, Relapse

from ..words import DURATION_CHOICES, RELAPSE_STATUS_WORDS, SYMPTOM_WORDS, SYSTEMS

YES_NO = (("yes", "Yes"), ("no", "No"), ("unknown", "Not sure"))
#: The message shown once a report is saved (the browser test reads it).
SAVED = "Thank you. Your report was sent to your clinic. It waits for their review."
SAVED_FEVER = (" You mentioned a fever or an infection: your clinic will check whether it may "
               "be a pseudo-relapse.")


class RelapseReportForm(forms.Form):
    onset_known = forms.ChoiceField(
        label="Do you know the day it started?", widget=forms.RadioSelect, initial="exact",
        choices=(("exact", "Yes, the exact day"), ("around", "Only roughly (the month)")))
    onset_day = forms.CharField(
        label="Day it started (year-month-day)", required=False,
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM-DD", "autocomplete": "off",
                                      "inputmode": "numeric"}))
    onset_month = forms.CharField(
        label="Month it started (year-month)", required=False,
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM", "autocomplete": "off",
                                      "inputmode": "numeric"}))
    systems = forms.MultipleChoiceField(
        label="What have you noticed? Tick all that apply", widget=forms.CheckboxSelectMultiple,
        choices=[(s, SYMPTOM_WORDS[s]) for s in SYSTEMS])
    other_symptoms = forms.CharField(label="Anything else (optional)", required=False,
                                     max_length=200)
    duration = forms.ChoiceField(
        label="How long has it lasted so far?", widget=forms.RadioSelect,
        choices=[(v, words) for v, words, _ in DURATION_CHOICES])
    fever = forms.ChoiceField(label="Have you had a fever (38 °C or more) in the last few days?",
                              widget=forms.RadioSelect, choices=YES_NO)
    infection = forms.ChoiceField(
        label="Have you had an infection (for example a bladder infection, flu or a cold)?",
        widget=forms.RadioSelect, choices=YES_NO)
    steroids = forms.ChoiceField(
        label="Have you been given steroids for it (for example methylprednisolone)?",
        widget=forms.RadioSelect, choices=YES_NO, initial="no")

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        today = timezone.localdate()
        kwargs.setdefault("initial", {"onset_day": today.isoformat(),
                                      "onset_month": today.strftime("%Y-%m")})
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.values: dict[str, Any] = {}

    def cells(self) -> dict[str, str]:
        """The answers as the relapses table's cells (read by neda.io, not here)."""
        data = self.cleaned_data
        around = data.get("onset_known") == "around"
        hours = {v: h for v, _, h in DURATION_CHOICES}.get(data.get("duration", ""))
        systems = data.get("systems") or []
        symptoms = [SYMPTOM_WORDS[s] for s in systems]
        if data.get("other_symptoms"):
            symptoms.append(data["other_symptoms"].replace(";", ","))
        if data.get("duration") == "under_1_day":  # no duration stored: say so in words
            symptoms.append("lasted less than a day so far")

        def flag(name: str) -> str:
            return {"yes": "yes", "no": "no"}.get(data.get(name, ""), "")

        return {"onset": (data.get("onset_month") if around else data.get("onset_day")) or "",
                "duration_hours": "" if hours is None else str(hours),
                "fever": flag("fever"), "infection": flag("infection"),
                "steroids": flag("steroids"), "symptoms": "; ".join(symptoms),
                "fs_affected": ";".join(systems)}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        around = cleaned.get("onset_known") == "around"
        onset_field = "onset_month" if around else "onset_day"
        if not (cleaned.get(onset_field) or "").strip():
            self.add_error(onset_field, "Please enter when it started.")
            return cleaned
        labels = {"onset": str(self.fields[onset_field].label),
                  "duration_hours": str(self.fields["duration"].label)}
        checked = check_record("relapses", self.patient, self.cells(), labels,
                               status="reported")
        for name, problems in checked.errors.items():
            target = onset_field if name in ("onset", "onset_end") else None
            for problem in problems:
                self.add_error(target if name != NON_FIELD else None, problem)
        if checked.ok:
            onset = checked.values["onset"]
            if around and len(onset) != 7:  # the reader read a day or a year: not a month
                self.add_error("onset_month", "Please enter the month as year-month, for "
                                              "example 2026-03.")
            elif not around and len(onset) != 10:
                self.add_error("onset_day", "Please enter the day as year-month-day, for "
                                            "example 2026-03-05, or choose 'Only roughly'.")
            elif Relapse.objects.filter(patient=self.patient, status="reported",
                                        onset=onset).exists():  # sent twice (a double tap)
                self.add_error(onset_field, f"You already reported a possible relapse that "
                                            f"started {onset}; it waits for your clinic's "
                                            "review.")
            self.values = checked.values
        return cleaned

    def save(self) -> Relapse:
        relapse = Relapse(patient=self.patient, status="reported")
        for name, value in self.values.items():
            setattr(relapse, name, value)
        relapse.save()
        return relapse


def _patient(request: HttpRequest) -> Patient:
    account = account_of(request.user)
    assert account is not None  # patient_required
    return account.patient


@patient_required
@require_http_methods(["GET", "POST"])
def report_relapse(request: HttpRequest) -> HttpResponse:
    patient = _patient(request)
    form = RelapseReportForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        relapse = form.save()
        message = SAVED + (SAVED_FEVER if relapse.fever or relapse.infection else "")
        messages.success(request, message)
        return redirect("portal_relapses")
    return render(request, "portal/report_relapse.html", {
        "form": form, "questions": [form[n] for n in ("duration", "fever", "infection",
                                                        "steroids")]})


def reports_of(patient: Patient) -> list[Relapse]:
    """The patient's relapses that were ever reported for review (by them), newest first."""
    ever = (Relapse.history.filter(patient_id=patient.pk, status="reported")  # the audit
            .values_list("id", flat=True))
    return list(Relapse.objects.filter(patient=patient, pk__in=ever)
                .order_by("-created_at", "-pk"))


@patient_required
@require_safe
def my_relapses(request: HttpRequest) -> HttpResponse:
    patient = _patient(request)
    rows = [{"relapse": r, "status": RELAPSE_STATUS_WORDS[r.status],
             "symptoms": [s.strip() for s in r.symptoms.split(";") if s.strip()]}
            for r in reports_of(patient)]
    return render(request, "portal/my_relapses.html", {"rows": rows})
