"""The portal's own records (diary, exercise, adherence). Relapses a patient reports and the
questionnaires' answers are the clinic's own tables (``clinic.Relapse`` with
``status="reported"``, ``clinic.ProAnswer``), so the rules read them through one pipeline.

The diary, exercise and adherence entries feed no rule of the course, so saving one does not
bump the patient's data version (:class:`neda.web.clinic.models.PatientRecord` does): a
patient logging a walk must not make the clinic's whole course be computed again. They are
audited (django-simple-history) and deleted softly like every clinic record.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from neda.web.clinic.models import (
    Clinic,
    Patient,
    SoftDeleteModel,
    SymptomTreatment,
    Treatment,
)

#: The diary's symptoms: field, lay label, and what 0 and 10 mean. Every scale runs the same
#: way (0 = no trouble, 10 = the worst you can imagine), so a rising line is always worse;
#: the 0-10 numeric rating scale is the form of the spasticity NRS (Farrar 2008, rules §7.6).
DIARY_SYMPTOMS: tuple[tuple[str, str, str, str], ...] = (
    ("fatigue", "Tiredness (fatigue)", "no tiredness", "worst tiredness imaginable"),
    ("spasticity", "Stiffness or spasms (spasticity)", "none", "worst imaginable"),
    ("pain", "Pain", "no pain", "worst pain imaginable"),
    ("sleep", "Sleep problems last night", "slept well", "could not sleep at all"),
    ("mood", "Low mood", "good mood", "very low mood"),
    ("bladder", "Bladder trouble", "none", "worst imaginable"),
    ("walking", "Walking difficulty", "walked normally", "could not walk"),
)

EXERCISE_TYPES = (("walking", "Walking"), ("cycling", "Cycling"), ("swimming", "Swimming"),
                  ("aerobic", "Other aerobic (dance, running, rowing)"),
                  ("strength", "Strength training"), ("balance", "Balance, yoga or stretching"),
                  ("physiotherapy", "Physiotherapy exercises"), ("other", "Other"))


def _score(label: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)])


class PortalEntry(SoftDeleteModel):
    """An entry a patient makes between visits; the clinic marks it reviewed."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT)
    date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, editable=False, related_name="+")

    class Meta:
        abstract = True
        ordering = ["date", "pk"]


class SymptomEntry(PortalEntry):
    """One day of the symptom diary (at most one per day: a second entry that day changes it)."""

    fatigue = _score("Tiredness (fatigue)")
    spasticity = _score("Stiffness or spasms (spasticity)")
    pain = _score("Pain")
    sleep = _score("Sleep problems last night")
    mood = _score("Low mood")
    bladder = _score("Bladder trouble")
    walking = _score("Walking difficulty")
    note = models.CharField("Anything else (optional)", max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta(PortalEntry.Meta):
        constraints = [models.UniqueConstraint(
            fields=["patient", "date"], condition=models.Q(deleted_at__isnull=True),
            name="one_diary_day")]


class ExerciseSession(PortalEntry):
    """One exercise session; perceived effort on Borg's CR10 scale (0 rest - 10 maximal)."""

    kind = models.CharField("Type", max_length=20, choices=EXERCISE_TYPES)
    minutes = models.PositiveSmallIntegerField(
        "Minutes", validators=[MinValueValidator(1), MaxValueValidator(600)])
    effort = models.PositiveSmallIntegerField(
        "How hard was it? (0 = rest, 10 = the hardest you can)", null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)])
    history = HistoricalRecords()


class AdherenceEntry(PortalEntry):
    """A dose of the disease-modifying therapy taken or missed (on the clinic's current
    treatment when there is one)."""

    treatment = models.ForeignKey(Treatment, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    taken = models.BooleanField("Dose taken")
    reason = models.CharField("Why was it missed? (optional)", max_length=200, blank=True)
    history = HistoricalRecords()


class SymptomMedicationEntry(PortalEntry):
    """A symptom medicine taken (one of the clinic's symptom treatments, or named freely)."""

    symptom_treatment = models.ForeignKey(SymptomTreatment, null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    name = models.CharField("Medicine (if not in the list)", max_length=100, blank=True)
    history = HistoricalRecords()


class ExerciseGoal(models.Model):
    """The weekly exercise goal the clinic set for one patient (without one, the clinic's
    default, :attr:`Clinic.weekly_exercise_goal_minutes`)."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE,
                                   related_name="exercise_goal")
    minutes_per_week = models.PositiveSmallIntegerField(
        "Minutes of exercise per week", validators=[MinValueValidator(0),
                                                     MaxValueValidator(2000)])
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               editable=False, related_name="+")
    set_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()


class QuestionnaireSchedule(models.Model):
    """How often a questionnaire is due: for the whole clinic (``patient`` empty) or for one
    patient (which then overrides the clinic's for that instrument)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE,
                               related_name="questionnaire_schedules")
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="questionnaire_schedules")
    instrument = models.CharField("Questionnaire", max_length=20)
    every_weeks = models.PositiveSmallIntegerField(
        "Every how many weeks", validators=[MinValueValidator(1), MaxValueValidator(520)])
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "instrument"],
                                    condition=models.Q(patient__isnull=True),
                                    name="one_clinic_schedule_per_instrument"),
            models.UniqueConstraint(fields=["patient", "instrument"],
                                    condition=models.Q(patient__isnull=False),
                                    name="one_patient_schedule_per_instrument")]

    def __str__(self) -> str:
        return f"{self.instrument} every {self.every_weeks} weeks"


#: The entry models the clinic reviews, by the name the review queue shows.
ENTRY_MODELS: dict[str, type[PortalEntry]] = {
    "symptoms": SymptomEntry, "exercise": ExerciseSession, "adherence": AdherenceEntry,
    "symptom_medication": SymptomMedicationEntry,
}
