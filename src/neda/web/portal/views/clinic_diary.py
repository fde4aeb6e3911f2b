"""The clinic's side of the diary: a patient's reported entries with "mark reviewed", the
weekly exercise goal, and the questionnaire schedule (the clinic's and a patient's own)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from neda.web.clinic.access import (
    editor_required,
    get_patient_for_user,
    role_of,
    staff_of,
    staff_required,
)

from ..diary import exercise_goal, mark_reviewed
from ..forms import ExerciseGoalForm, ScheduleForm
from ..models import ENTRY_MODELS, ExerciseGoal, QuestionnaireSchedule

#: Entries of each kind the page lists (newest first).
SHOWN = 30


@staff_required
def patient_entries(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    researcher = role_of(request.user) == "researcher"
    kinds = []
    for kind, model in ENTRY_MODELS.items():
        rows = list(model.objects.filter(patient=patient).order_by("-date", "-pk")[:SHOWN])
        kinds.append({"kind": kind, "title": kind.replace("_", " ").capitalize(),
                      "rows": rows, "new": sum(1 for r in rows if r.reviewed_at is None)})
    return render(request, "portal/diary/clinic_entries.html", {
        "patient": patient, "label": patient.pseudonym() if researcher else patient.subject,
        "kinds": kinds, "goal": exercise_goal(patient)})


@editor_required
def entries_reviewed(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    kind = request.POST.get("kind")
    n = mark_reviewed(patient, request.user, [kind] if kind in ENTRY_MODELS else None)
    messages.success(request, f"{n} entr{'y' if n == 1 else 'ies'} marked reviewed.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts=None):  # this site only
        return redirect(back)
    return redirect("portal_patient_entries", public_id=patient.public_id)


@editor_required
def exercise_goal_edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    goal = ExerciseGoal.objects.filter(patient=patient).first() or ExerciseGoal(
        patient=patient, minutes_per_week=exercise_goal(patient))
    form = ExerciseGoalForm(request.POST or None, instance=goal)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.set_by = request.user
        saved.save()
        messages.success(request, f"Weekly exercise goal set to {saved.minutes_per_week} "
                         "minutes.")
        return redirect("portal_patient_entries", public_id=patient.public_id)
    return render(request, "portal/diary/clinic_form.html", {
        "patient": patient, "form": form, "title": f"Weekly exercise goal of {patient}",
        "button": "Save goal"})


@editor_required
def patient_schedule(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    current = dict(QuestionnaireSchedule.objects.filter(patient=patient)
                   .values_list("instrument", "every_weeks"))
    form = ScheduleForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        form.save(patient.clinic, patient)
        messages.success(request, "Questionnaire schedule of this patient saved.")
        return redirect("portal_patient_entries", public_id=patient.public_id)
    return render(request, "portal/diary/clinic_form.html", {
        "patient": patient, "form": form, "button": "Save schedule",
        "title": f"Questionnaire schedule of {patient}",
        "help": "Blank: the clinic's schedule applies. A number here overrides it."})


@editor_required
def clinic_schedule(request: HttpRequest) -> HttpResponse:
    staff = staff_of(request.user)
    assert staff is not None  # editor_required
    current = dict(QuestionnaireSchedule.objects.filter(clinic=staff.clinic,
                                                        patient__isnull=True)
                   .values_list("instrument", "every_weeks"))
    form = ScheduleForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        form.save(staff.clinic)
        messages.success(request, "The clinic's questionnaire schedule saved.")
        return redirect("portal_clinic_schedule")
    return render(request, "portal/diary/clinic_form.html", {
        "patient": None, "form": form, "button": "Save schedule",
        "title": "Questionnaire schedule of the clinic",
        "help": "Blank: the questionnaire is not asked for. Patients see a reminder when one "
                "is due."})
