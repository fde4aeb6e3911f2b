"""Storage of the clinic: the tables of neda's data model (``docs/data-model.md``), per clinic.

The records hold data, never results: the course is computed from them by
:mod:`neda.web.clinic.course` on every change. Every record is audited (django-simple-history:
who, when, before/after) and deleted softly (``deleted_at``; an administrator restores it).
Every change of a patient's records bumps :attr:`Patient.data_version`, which keys the cached
course together with the rule-set digest.

Identifiers in URLs are opaque (:attr:`Patient.public_id`), never the registry identifier or a
name: no PHI in URLs or logs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from simple_history.models import HistoricalRecords

from neda.io.schema import LAB_TESTS

ROLES = (("clinician", "Clinician"), ("nurse", "Nurse"), ("researcher", "Researcher"),
         ("admin", "Administrator"))
#: Roles that may add and change records (researchers read pseudonymised data only).
EDITING_ROLES = ("clinician", "nurse", "admin")


def _salt() -> str:
    return secrets.token_hex(16)


class Clinic(models.Model):
    """An MS clinic: its staff see its patients only."""

    name = models.CharField(max_length=200, unique=True)
    pseudonym_salt = models.CharField(max_length=64, default=_salt, editable=False)
    weekly_exercise_goal_minutes = models.PositiveIntegerField(default=150)
    data_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class StaffMember(models.Model):
    """A user's place in a clinic: one clinic and one role per staff user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="staff")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(max_length=20, choices=ROLES)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.user} ({self.role}, {self.clinic})"

    @property
    def can_edit(self) -> bool:
        return self.role in EDITING_ROLES


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=True)


class AliveManager(models.Manager):
    """The default manager: deleted records are invisible everywhere but in the restore
    screen (``Model.all_objects``)."""

    def get_queryset(self) -> SoftDeleteQuerySet:
        return SoftDeleteQuerySet(self.model, using=self._db).filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AliveManager()
    all_objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        abstract = True

    def soft_delete(self) -> None:
        self.deleted_at = timezone.now()
        self.save(update_fields=["deleted_at"])

    def restore(self) -> None:
        self.deleted_at = None
        self.save(update_fields=["deleted_at"])


class Patient(SoftDeleteModel):
    """A person with MS, cared for by one clinic (``docs/data-model.md``: patients)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject = models.CharField("registry identifier", max_length=64)
    name = models.CharField(max_length=200, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, blank=True,
                           choices=(("female", "female"), ("male", "male"), ("other", "other")))
    onset_date = models.DateField("MS onset", null=True, blank=True)
    diagnosis_date = models.DateField(null=True, blank=True)
    phenotype_at_diagnosis = models.CharField(max_length=8, blank=True, choices=(
        ("RIS", "RIS"), ("CIS", "CIS"), ("RRMS", "RRMS"), ("SPMS", "SPMS"), ("PPMS", "PPMS")))
    course = models.CharField("current course (clinician)", max_length=8, blank=True, choices=(
        ("RIS", "RIS"), ("CIS", "CIS"), ("RRMS", "RRMS"), ("SPMS", "SPMS"), ("PPMS", "PPMS")))
    relapses_recorded = models.BooleanField(
        default=True, help_text="Relapses are recorded for this patient (an empty relapse "
        "list then means none occurred; unticked, relapse activity is unknown).")
    data_version = models.PositiveIntegerField(default=0, editable=False)
    history = HistoricalRecords(excluded_fields=["data_version"])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "subject"],
                                               name="one_subject_per_clinic")]
        ordering = ["subject"]

    def __str__(self) -> str:
        return self.subject

    def pseudonym(self) -> str:
        """A stable pseudonymised identifier for researchers: keyed by the clinic's secret
        salt, so it cannot be turned back into the registry identifier."""
        digest = hmac.new(self.clinic.pseudonym_salt.encode(), str(self.pk).encode(),
                          hashlib.sha256).hexdigest()
        return f"P-{digest[:10]}"

    def touch(self) -> None:
        """Record that this patient's data changed: their course, and the clinic's list, must
        be recomputed (the caches are keyed by these versions)."""
        Patient.all_objects.filter(pk=self.pk).update(data_version=F("data_version") + 1)
        Clinic.objects.filter(pk=self.clinic_id).update(data_version=F("data_version") + 1)

    def save(self, *args: Any, **kwargs: Any) -> None:
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.touch()


class PatientRecord(SoftDeleteModel):
    """A record belonging to one patient; any change bumps the patient's data version."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.patient.touch()


class Visit(PatientRecord):
    """A clinical assessment (``docs/data-model.md``: visits)."""

    date = models.DateField()
    edss = models.FloatField("EDSS", null=True, blank=True)
    edss_method = models.CharField(max_length=20, blank=True, choices=(
        ("neurostatus_16", "Neurostatus (0-16 ambulation)"),
        ("neurostatus_12", "Neurostatus (0-13 ambulation, older sheets)"),
        ("kurtzke_1983", "Kurtzke 1983"), ("unknown", "unknown")))
    fs_pyramidal = models.CharField(max_length=4, blank=True)
    fs_cerebellar = models.CharField(max_length=4, blank=True)
    fs_brainstem = models.CharField(max_length=4, blank=True)
    fs_sensory = models.CharField(max_length=4, blank=True)
    fs_bowel_bladder = models.CharField("FS bowel/bladder", max_length=4, blank=True)
    fs_visual = models.CharField(max_length=4, blank=True)
    fs_cerebral = models.CharField(max_length=4, blank=True)
    ambulation = models.PositiveSmallIntegerField(null=True, blank=True)
    t25fw = models.FloatField("T25FW (s)", null=True, blank=True)
    nhpt = models.FloatField("9HPT, both hands (s)", null=True, blank=True)
    nhpt_dominant = models.FloatField("9HPT dominant hand (s)", null=True, blank=True)
    nhpt_nondominant = models.FloatField("9HPT non-dominant hand (s)", null=True, blank=True)
    sdmt = models.FloatField("SDMT", null=True, blank=True)
    pasat = models.FloatField("PASAT-3", null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]


RELAPSE_STATUS = (("confirmed", "confirmed by the clinic"),
                  ("reported", "reported by the patient, not yet reviewed"),
                  ("pseudo", "pseudo-relapse (fever or infection)"),
                  ("rejected", "not a relapse"))
#: The statuses whose relapses reach the rules (the course and relapse hygiene read only
#: these): a patient's report counts once the clinic confirms it or judges it a pseudo-relapse
#: (which hygiene then removes with its reason); a rejected report never counts.
COUNTED_RELAPSE_STATUSES = ("confirmed", "pseudo")


class Relapse(PatientRecord):
    """A reported attack (``docs/data-model.md``: relapses). Only ``confirmed`` and
    ``pseudo`` relapses reach the rules; a patient's report waits for the clinic."""

    onset = models.CharField("onset (YYYY-MM-DD, or YYYY-MM if only the month is known)",
                             max_length=10)
    onset_end = models.DateField("latest possible onset", null=True, blank=True)
    resolved_date = models.DateField(null=True, blank=True)
    duration_hours = models.FloatField(null=True, blank=True)
    fever = models.BooleanField(null=True, blank=True)
    infection = models.BooleanField(null=True, blank=True)
    paroxysmal = models.BooleanField("single paroxysmal episode", null=True, blank=True)
    objective = models.BooleanField("confirmed on examination", null=True, blank=True)
    severity = models.CharField(max_length=10, blank=True, choices=(
        ("mild", "mild"), ("moderate", "moderate"), ("severe", "severe")))
    steroids = models.BooleanField(null=True, blank=True)
    plex = models.BooleanField("plasma exchange", null=True, blank=True)
    hospitalised = models.BooleanField(null=True, blank=True)
    symptoms = models.CharField(max_length=500, blank=True)
    fs_affected = models.CharField("functional systems affected", max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=RELAPSE_STATUS, default="confirmed")
    history = HistoricalRecords()

    class Meta:
        ordering = ["onset"]
        # what waits for review (the staff navigation's count on every page) is found by
        # status: without an index that count reads every relapse of the clinic
        indexes = [models.Index(fields=["status"], name="clinic_relapse_status")]


class MriScan(PatientRecord):
    """A read MRI scan (``docs/data-model.md``: mri)."""

    date = models.DateField()
    comparator_date = models.DateField(null=True, blank=True)
    contrast = models.BooleanField("gadolinium given", null=True, blank=True)
    gd = models.PositiveIntegerField("Gd-enhancing lesions", null=True, blank=True)
    new_t2 = models.PositiveIntegerField("new T2 lesions", null=True, blank=True)
    enlarging_t2 = models.PositiveIntegerField("enlarging T2 lesions", null=True, blank=True)
    spinal_cord = models.BooleanField("spinal cord included", null=True, blank=True)
    pbvc = models.FloatField("brain volume change (%)", null=True, blank=True)
    same_protocol = models.BooleanField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]


class Treatment(PatientRecord):
    """A disease-modifying therapy course (``docs/data-model.md``: treatments)."""

    drug = models.CharField(max_length=100)
    start = models.DateField()
    stop = models.DateField(null=True, blank=True)
    stop_reason = models.CharField(max_length=20, blank=True, choices=(
        ("inefficacy", "inefficacy"), ("adverse_event", "adverse event"),
        ("patient_choice", "patient choice"), ("pregnancy", "pregnancy"),
        ("other", "other")))
    dosing_interval_days = models.FloatField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["start"]


SYMPTOMS = (("spasticity", "spasticity"), ("fatigue", "fatigue"), ("pain", "pain"),
            ("bladder", "bladder"), ("sleep", "sleep"), ("mood", "mood"),
            ("walking", "walking"), ("cognition", "cognition"), ("other", "other"))


class SymptomTreatment(PatientRecord):
    """A symptomatic therapy (e.g. baclofen or gabapentin for spasticity), shown beside the
    scores of the symptom it targets."""

    drug = models.CharField(max_length=100)
    symptom = models.CharField(max_length=20, choices=SYMPTOMS)
    dose = models.CharField(max_length=100, blank=True)
    start = models.DateField()
    stop = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["start"]


class ProAnswer(PatientRecord):
    """One answered item of a patient-reported outcome (``docs/data-model.md``: pros)."""

    date = models.DateField()
    instrument = models.CharField(max_length=20)
    item = models.CharField(max_length=40)
    response = models.CharField(max_length=20, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "instrument", "item"]


class LabTest(PatientRecord):
    """A safety laboratory test (``docs/data-model.md``: labs). The DMT catalogue's schedule
    says when the next one of its kind is due (rules §14.4); the result is kept as reported."""

    date = models.DateField("date of the sample")
    test = models.CharField(max_length=20, choices=tuple(LAB_TESTS.items()))
    result = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "test"]


class PatientAccount(models.Model):
    """A patient's own login: they see their own record only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="patient_account")
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="account")
    history = HistoricalRecords()


class ApiToken(models.Model):
    """A token for the JSON API, acting as its user (same access rules as the screens). Only
    its hash is stored; the token itself is shown once when made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user: Any, name: str) -> tuple[ApiToken, str]:
        key = secrets.token_urlsafe(32)
        return cls.objects.create(user=user, name=name, key_hash=cls.hash(key)), key


#: The record models of one patient, by the name of their table in the data model.
RECORD_MODELS: dict[str, type[PatientRecord]] = {
    "visits": Visit, "relapses": Relapse, "mri": MriScan, "treatments": Treatment,
    "symptom_treatments": SymptomTreatment, "pros": ProAnswer, "labs": LabTest,
}
