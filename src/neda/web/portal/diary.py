"""The diary's sums and look-ups, in one place: the portal's screens, the clinician overview's
lane (:mod:`.lane`) and the clinic's review queue all call these.

Nothing here judges a patient's course: the diary records what the person reports, and the
clinic reads it beside the course. The only sums are exercise minutes per week (what the
clinic's weekly goal is about) and counts of doses taken and missed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone

from neda.web.clinic.models import Patient, SymptomTreatment, Treatment

from .models import (
    DIARY_SYMPTOMS,
    ENTRY_MODELS,
    AdherenceEntry,
    ExerciseGoal,
    ExerciseSession,
    PortalEntry,
    SymptomEntry,
)

SYMPTOM_FIELDS = tuple(code for code, *_ in DIARY_SYMPTOMS)


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week holding ``day`` (weeks run Monday to Sunday)."""
    return day - dt.timedelta(days=day.weekday())


def exercise_goal(patient: Patient) -> int:
    """Minutes of exercise per week the clinic set for this patient, else the clinic's default
    (150 minutes unless changed: the usual aerobic activity advice for adults, which MS
    exercise guidance follows, e.g. Kalb et al., Mult Scler 2020)."""
    goal = ExerciseGoal.objects.filter(patient=patient).values_list("minutes_per_week",
                                                                    flat=True).first()
    if goal is not None:
        return int(goal)
    return int(patient.clinic.weekly_exercise_goal_minutes)


def weekly_minutes(patient: Patient, since: dt.date | None = None) -> dict[dt.date, int]:
    """Exercise minutes per week (Monday -> minutes), weeks without a session left out."""
    sessions = ExerciseSession.objects.filter(patient=patient)
    if since is not None:
        sessions = sessions.filter(date__gte=week_start(since))
    out: dict[dt.date, int] = {}
    for day, minutes in sessions.values_list("date", "minutes"):
        monday = week_start(day)
        out[monday] = out.get(monday, 0) + int(minutes)
    return dict(sorted(out.items()))


def this_week(patient: Patient, today: dt.date | None = None) -> dict[str, Any]:
    """This week's exercise against the goal: minutes, goal, minutes left, share of the goal
    (0-100, capped), and the week's Monday."""
    today = today or timezone.localdate()
    monday = week_start(today)
    minutes = ExerciseSession.objects.filter(
        patient=patient, date__gte=monday, date__lte=today).aggregate(n=Sum("minutes"))["n"] or 0
    goal = exercise_goal(patient)
    share = 100 if goal == 0 else min(100, round(100 * minutes / goal))
    return {"week_start": monday, "minutes": int(minutes), "goal": goal,
            "left": max(0, goal - int(minutes)), "percent": share}


def current_treatment(patient: Patient, today: dt.date | None = None) -> Treatment | None:
    """The disease-modifying therapy the clinic records as running today (the latest started),
    or None."""
    today = today or timezone.localdate()
    return (Treatment.objects.filter(patient=patient, start__lte=today)
            .exclude(stop__lt=today).order_by("-start", "-pk").first())


def current_symptom_treatments(patient: Patient,
                               today: dt.date | None = None) -> list[SymptomTreatment]:
    today = today or timezone.localdate()
    return list(SymptomTreatment.objects.filter(patient=patient, start__lte=today)
                .exclude(stop__lt=today).order_by("drug"))


@dataclass(frozen=True)
class Change:
    """One score of today's entry beside the one before it."""

    field: str
    label: str
    before: int | None
    now: int | None

    @property
    def words(self) -> str:
        if self.now is None:
            return "not given"
        if self.before is None:
            return f"{self.now} (first time recorded)"
        if self.now == self.before:
            return f"{self.now} (same as before)"
        way = "better" if self.now < self.before else "worse"
        return f"{self.now} (was {self.before}: {abs(self.now - self.before)} {way})"


def save_symptoms(patient: Patient, day: dt.date, scores: dict[str, Any],
                  note: str = "") -> tuple[SymptomEntry, list[Change]]:
    """Record the day's symptom scores (a second entry the same day replaces the first, and
    waits for the clinic's review again); returns the entry and each score beside the latest
    earlier entry."""
    with transaction.atomic():
        previous = (SymptomEntry.objects.filter(patient=patient, date__lt=day)
                    .order_by("-date").first())
        entry = SymptomEntry.objects.filter(patient=patient, date=day).first()
        if entry is None:
            entry = SymptomEntry(patient=patient, date=day)
        for field in SYMPTOM_FIELDS:
            setattr(entry, field, scores.get(field))
        entry.note = note
        entry.reviewed_at = None
        entry.reviewed_by = None
        entry.save()
    changes = [Change(code, label, getattr(previous, code) if previous else None,
                      getattr(entry, code)) for code, label, *_ in DIARY_SYMPTOMS]
    return entry, changes


def adherence_summary(patient: Patient, days: int = 28,
                      today: dt.date | None = None) -> dict[str, Any]:
    """Doses recorded taken and missed over the last ``days`` days (counts only: how many
    doses were due is the therapy's schedule, which the diary does not know)."""
    today = today or timezone.localdate()
    rows = AdherenceEntry.objects.filter(patient=patient,
                                         date__gt=today - dt.timedelta(days=days),
                                         date__lte=today)
    taken = rows.filter(taken=True).count()
    missed = rows.filter(taken=False).count()
    return {"days": days, "taken": taken, "missed": missed}


# --------------------------------------------------------------------------- the review queue
#: How the review queue names a count of each kind of entry (one, several).
KIND_WORDS = {"symptoms": ("symptom diary day", "symptom diary days"),
              "exercise": ("exercise session", "exercise sessions"),
              "adherence": ("DMT dose", "DMT doses"),
              "symptom_medication": ("symptom medicine", "symptom medicines")}

@dataclass(frozen=True)
class Unreviewed:
    """A patient's entries the clinic has not reviewed yet, per kind."""

    patient: Patient
    counts: dict[str, int]
    latest: dt.date

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def summary(self) -> str:
        """E.g. "2 symptom diary days, 3 exercise sessions, 1 DMT dose"."""
        return ", ".join(f"{n} {KIND_WORDS[k][n != 1]}" for k, n in self.counts.items())


def unreviewed_entries(patients: QuerySet[Patient]) -> list[Unreviewed]:
    """The patients (of ``patients``, already limited to those the user may see) with entries
    not yet reviewed, newest first: one query per kind of entry."""
    found: dict[int, dict[str, Any]] = {}
    ids = patients.values("pk")
    for kind, model in ENTRY_MODELS.items():
        rows = (model.objects.filter(patient_id__in=ids, reviewed_at__isnull=True)
                .values("patient_id").annotate(latest=Max("date"), n=Count("pk"))
                .order_by())
        for row in rows:
            slot = found.setdefault(row["patient_id"], {"counts": {}, "latest": row["latest"]})
            slot["counts"][kind] = row["n"]
            slot["latest"] = max(slot["latest"], row["latest"])
    by_pk = {p.pk: p for p in Patient.objects.filter(pk__in=found)}
    out = [Unreviewed(by_pk[pk], slot["counts"], slot["latest"]) for pk, slot in found.items()
           if pk in by_pk]
    return sorted(out, key=lambda u: (u.latest, u.patient.pk), reverse=True)


def unreviewed_count(patient: Patient) -> int:
    """How many of this patient's entries wait for the clinic's review."""
    return sum(model.objects.filter(patient=patient, reviewed_at__isnull=True).count()
               for model in ENTRY_MODELS.values())


def mark_reviewed(patient: Patient, user: Any,
                  kinds: Iterable[str] | None = None) -> int:
    """Mark this patient's unreviewed entries (of ``kinds``, default all) reviewed by
    ``user``, now; returns how many. Saved one by one so the audit trail records each."""
    now = timezone.now()
    done = 0
    with transaction.atomic():
        for kind in kinds if kinds is not None else ENTRY_MODELS:
            model: type[PortalEntry] = ENTRY_MODELS[kind]
            for entry in model.objects.filter(patient=patient, reviewed_at__isnull=True):
                entry.reviewed_at = now
                entry.reviewed_by = user
                entry.save(update_fields=["reviewed_at", "reviewed_by"])
                done += 1
    return done


def review_section(user: Any) -> Any:
    """The review queue's "new entries" section (:mod:`.queue`): the patients of the user's
    clinic with entries not yet reviewed, newest first."""
    from neda.web.clinic.access import patients_for_user

    from .queue import Section

    return Section("entries", "New diary entries", "portal/review/_entries.html",
                   unreviewed_entries(patients_for_user(user)),
                   "No new diary, exercise or medicine entry waits for review.")
