"""``/portal/adherence/``: a dose of the disease-modifying therapy taken or missed, and a
symptom medicine taken; the last 28 days' doses and every entry over time."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from neda.web.clinic.access import patient_required

from ..diary import adherence_summary, current_symptom_treatments, current_treatment
from ..forms import AdherenceForm, SymptomMedicationForm
from ..models import AdherenceEntry, SymptomMedicationEntry
from ._own import own_patient


@patient_required
def adherence(request: HttpRequest) -> HttpResponse:
    patient = own_patient(request)
    today = timezone.localdate()
    treatment = current_treatment(patient, today)
    medicines = current_symptom_treatments(patient, today)
    dose_form = AdherenceForm(initial={"date": today}, prefix="dose")
    med_form = SymptomMedicationForm(initial={"date": today}, treatments=medicines,
                                     prefix="medicine")
    if request.method == "POST":
        before = adherence_summary(patient, today=today)
        if request.POST.get("form") == "medicine":
            med_form = SymptomMedicationForm(request.POST, treatments=medicines,
                                             prefix="medicine")
            if med_form.is_valid():
                d = med_form.cleaned_data
                entry = SymptomMedicationEntry.objects.create(
                    patient=patient, date=d["date"], symptom_treatment=d["symptom_treatment"],
                    name="" if d["symptom_treatment"] else d["name"].strip())
                what = entry.symptom_treatment.drug if entry.symptom_treatment else entry.name
                messages.success(request, f"Saved: {what} taken on {entry.date:%d %B %Y}.")
                return redirect("portal_adherence")
        else:
            dose_form = AdherenceForm(request.POST, prefix="dose")
            if dose_form.is_valid():
                d = dose_form.cleaned_data
                AdherenceEntry.objects.create(patient=patient, date=d["date"], taken=d["taken"],
                                              reason="" if d["taken"] else d["reason"],
                                              treatment=treatment)
                after = adherence_summary(patient, today=today)
                messages.success(request, f"Saved: dose {'taken' if d['taken'] else 'missed'} "
                                 f"on {d['date']:%d %B %Y}.")
                messages.info(request, f"Last {after['days']} days: {after['taken']} taken "
                              f"(was {before['taken']}), {after['missed']} missed "
                              f"(was {before['missed']}).")
                return redirect("portal_adherence")
    entries = list(AdherenceEntry.objects.filter(patient=patient).select_related("treatment")
                   .order_by("-date", "-pk")[:30])
    chart = {"kind": "doses", "title": "Doses taken and missed",
             "series": [{"name": name, "x": [e.date.isoformat() for e in entries
                                             if e.taken is taken],
                         "y": [name for e in entries if e.taken is taken]}
                        for name, taken in (("taken", True), ("missed", False))]}
    return render(request, "portal/diary/adherence.html", {
        "dose_form": dose_form, "med_form": med_form, "treatment": treatment,
        "medicines": medicines, "summary": adherence_summary(patient, today=today),
        "entries": entries, "chart": chart,
        "medicine_entries": SymptomMedicationEntry.objects.filter(patient=patient)
        .select_related("symptom_treatment").order_by("-date", "-pk")[:10]})
