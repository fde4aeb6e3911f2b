"""Demo entries of the portal (``neda-admin demo_clinic``): six weeks of diary, exercise and
doses for the first patients of the demo clinic, older entries already reviewed, and the
clinic's MFIS schedule (every 12 weeks) so a questionnaire is due. Synthetic, seeded."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from neda.web.clinic.models import Clinic, Patient

from .diary import SYMPTOM_FIELDS, current_treatment
from .models import (
    AdherenceEntry,
    ExerciseSession,
    PortalEntry,
    QuestionnaireSchedule,
    SymptomEntry,
)

DAYS = 42


def add_demo_entries(clinic: Clinic, patients: list[Patient], reviewer: Any,
                     seed: int = 1) -> int:
    """Entries for these patients (none added when the clinic already has some); returns how
    many were made."""
    QuestionnaireSchedule.objects.get_or_create(clinic=clinic, patient=None, instrument="MFIS",
                                                defaults={"every_weeks": 12})
    if SymptomEntry.all_objects.filter(patient__clinic=clinic).exists():
        return 0
    rng = random.Random(seed)
    today = timezone.localdate()
    now = timezone.now()
    symptoms: list[PortalEntry] = []
    sessions: list[PortalEntry] = []
    doses: list[PortalEntry] = []
    for patient in patients:
        level = {f: rng.randint(1, 6) for f in SYMPTOM_FIELDS}
        treatment = current_treatment(patient, today)
        for back in range(DAYS, -1, -1):
            day = today - dt.timedelta(days=back)
            seen = {"reviewed_at": now, "reviewed_by": reviewer} if back > 7 else {}
            if rng.random() < 0.7:
                for f in SYMPTOM_FIELDS:  # a slow random walk within 0-10
                    level[f] = min(10, max(0, level[f] + rng.choice((-1, 0, 0, 1))))
                symptoms.append(SymptomEntry(patient=patient, date=day, **level, **seen))
            if rng.random() < 0.4:
                sessions.append(ExerciseSession(
                    patient=patient, date=day, kind=rng.choice(("walking", "cycling",
                                                                "swimming", "physiotherapy")),
                    minutes=rng.choice((15, 20, 30, 45, 60)), effort=rng.randint(2, 7), **seen))
            # doses only for a patient on a therapy today (the portal asks about no other)
            if day.weekday() == 0 and treatment is not None:
                taken = rng.random() > 0.1
                doses.append(AdherenceEntry(patient=patient, date=day, taken=taken,
                                            treatment=treatment,
                                            reason="" if taken else "forgot", **seen))
    with transaction.atomic():
        for model, rows in ((SymptomEntry, symptoms), (ExerciseSession, sessions),
                            (AdherenceEntry, doses)):
            bulk_create_with_history(rows, model)
    return len(symptoms) + len(sessions) + len(doses)
