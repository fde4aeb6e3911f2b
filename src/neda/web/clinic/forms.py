"""The forms of every record type and of the patient's own data.

Every field that is a column of neda's data model is plain text here: Django only strips it.
What it means - a date, an EDSS step, an FS grade, a yes/no answer, a drug of the catalogue -
is decided by neda.io's reader of the table (:mod:`neda.web.clinic.checking`), whose problems
land on the fields. Dates are text inputs (``YYYY-MM-DD``), never browser date pickers: a
half-typed date in a picker is sent as blank, which would silently mean "unknown".
Only what is not part of the data model (a relapse's review status, the patient's name, a
symptomatic drug's name) is checked by Django itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms

from neda.rules.dmt_catalogue import catalogue
from neda.rules.edss import FS_RAW_MAX, FS_SYSTEMS, EdssResult
from neda.rules.pro import INSTRUMENTS

from .checking import (
    NON_FIELD,
    SPECS,
    Checked,
    calculate_edss,
    check_patient,
    check_record,
    record_cells,
)
from .models import LAB_TESTS, RELAPSE_STATUS, SYMPTOMS, Patient, PatientRecord

DATE_HINT = "YYYY-MM-DD, e.g. 2024-03-05"
FLAG_CHOICES = (("", "unknown"), ("yes", "yes"), ("no", "no"))
FS_LABELS = {"pyramidal": "Pyramidal", "cerebellar": "Cerebellar", "brainstem": "Brainstem",
             "sensory": "Sensory", "bowel_bladder": "Bowel/bladder", "visual": "Visual",
             "cerebral": "Cerebral"}
EDSS_METHODS = (("", "not recorded (Neurostatus 0-16)"),
                ("neurostatus_16", "Neurostatus (0-16 ambulation)"),
                ("neurostatus_12", "Neurostatus (0-13 ambulation, older sheets)"),
                ("kurtzke_1983", "Kurtzke 1983 (not computed)"), ("unknown", "unknown"))

def text(label: str, *, placeholder: str = "", help_text: str = "", numeric: bool = False,
         datalist: str = "", size: int | None = None) -> forms.CharField:
    """A plain text field: the reader decides what the text means."""
    attrs: dict[str, Any] = {"autocomplete": "off"}
    if placeholder:
        attrs["placeholder"] = placeholder
    if numeric:
        attrs["inputmode"] = "decimal"
    if datalist:
        attrs["list"] = datalist
    if size:
        attrs["size"] = size
    return forms.CharField(label=label, required=False, help_text=help_text,
                           widget=forms.TextInput(attrs=attrs))


def date_field(label: str, help_text: str = "") -> forms.CharField:
    return text(label, placeholder=DATE_HINT, help_text=help_text, size=12)


def choice(label: str, choices: Any, help_text: str = "") -> forms.CharField:
    """A select whose value the reader checks (the choices are a convenience, not a check)."""
    return forms.CharField(label=label, required=False, help_text=help_text,
                           widget=forms.Select(choices=choices))


def flag(label: str, help_text: str = "") -> forms.CharField:
    return choice(label, FLAG_CHOICES, help_text)


def fs_grade(system: str) -> forms.CharField:
    return text(f"FS {FS_LABELS[system].lower()}", size=4, placeholder=f"0-{FS_RAW_MAX[system]}")


class FunctionalSystemGrades(forms.Form):
    """The seven FS grades (``fs_<system>``, the systems of ``neda.rules.edss.FS_SYSTEMS``),
    declared once for the visit form and the EDSS calculator, which both read them as a visit
    row."""

    fs_pyramidal = fs_grade("pyramidal")
    fs_cerebellar = fs_grade("cerebellar")
    fs_brainstem = fs_grade("brainstem")
    fs_sensory = fs_grade("sensory")
    fs_bowel_bladder = fs_grade("bowel_bladder")
    fs_visual = fs_grade("visual")
    fs_cerebral = fs_grade("cerebral")


class CheckedForm(forms.Form):
    """A form whose data-model fields are read by neda.io (``check``): errors on the fields,
    the rules' warnings and notes in :attr:`checked`."""

    table: ClassVar[str]
    #: (legend, field names) of the fieldsets, in order
    fieldsets: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]]
    #: fields the list of records shows
    list_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checked = Checked()

    @property
    def labels(self) -> dict[str, str]:
        return {name: str(f.label) for name, f in self.fields.items()}

    def cells(self) -> dict[str, str]:
        data = getattr(self, "cleaned_data", {})
        return {name: str(data.get(name) or "") for name in SPECS[self.table].columns}

    def check(self) -> Checked:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.checked = self.check()
        for name, messages in self.checked.errors.items():
            for message in messages:
                self.add_error(None if name == NON_FIELD or name not in self.fields else name,
                               message)
        return cleaned

    def iter_fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[n] for n in names]) for legend, names in self.fieldsets]


class RecordForm(CheckedForm):
    """A record of one patient (``patient``; ``instance`` when editing)."""

    #: fields outside the data model, stored as Django cleaned them
    own_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, patient: Patient, instance: PatientRecord | None = None,
                 **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs and not args:
            initial: dict[str, Any] = record_cells(instance, self.table)
            initial.update({n: getattr(instance, n) for n in self.own_fields})
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.instance = instance

    def check(self) -> Checked:
        return check_record(self.table, self.patient, self.cells(), self.labels,
                            instance_pk=self.instance.pk if self.instance else None,
                            **self.check_options())

    def check_options(self) -> dict[str, Any]:
        return {}

    def save(self) -> PatientRecord:
        """Store what the reader read (and the form's own fields); bumps the data version."""
        model = SPECS[self.table].model
        record = self.instance or model(patient=self.patient)  # type: ignore[call-arg]
        for name, value in self.checked.values.items():
            setattr(record, name, value)
        for name in self.own_fields:
            setattr(record, name, self.cleaned_data[name])
        record.save()
        return record  # type: ignore[return-value]


class VisitForm(FunctionalSystemGrades, RecordForm):
    table = "visits"
    fieldsets = (
        ("Visit", ("date", "edss", "edss_method")),
        ("Functional systems (grades as rated; X marker allowed, e.g. 2X; X alone = not "
         "assessed)", tuple(f"fs_{s}" for s in FS_SYSTEMS) + ("ambulation",)),
        ("Timed tests and cognition", ("t25fw", "nhpt", "nhpt_dominant", "nhpt_nondominant",
                                       "sdmt", "pasat")),
    )
    list_fields = ("date", "edss", "t25fw", "sdmt")

    date = date_field("Visit date")
    edss = text("EDSS", placeholder="0, 1.0, 1.5 ... 10", numeric=True, size=6,
                help_text="as rated; 0.5 does not exist")
    edss_method = choice("EDSS method", EDSS_METHODS)
    # (the FS grades: FunctionalSystemGrades)
    ambulation = text("Ambulation score", numeric=True, size=4, placeholder="0-16",
                      help_text="Neurostatus code of the best walking performance")
    t25fw = text("T25FW (s)", numeric=True, size=6, help_text="timed 25-foot walk, mean of "
                 "two trials")
    nhpt = text("9HPT, both hands (s)", numeric=True, size=6)
    nhpt_dominant = text("9HPT dominant hand (s)", numeric=True, size=6)
    nhpt_nondominant = text("9HPT non-dominant hand (s)", numeric=True, size=6)
    sdmt = text("SDMT", numeric=True, size=6, help_text="correct answers, 0-110")
    pasat = text("PASAT-3", numeric=True, size=6, help_text="correct answers, 0-60")

    field_order = [name for _legend, names in fieldsets for name in names]


class RelapseForm(RecordForm):
    table = "relapses"
    own_fields = ("status",)
    fieldsets = (
        ("Relapse", ("status", "onset", "onset_end", "resolved_date", "duration_hours")),
        ("Pseudo-relapse and paroxysmal episodes", ("fever", "infection", "paroxysmal")),
        ("Examination, severity and treatment", ("objective", "severity", "steroids", "plex",
                                                 "hospitalised")),
        ("Symptoms", ("symptoms", "fs_affected")),
    )
    list_fields = ("onset", "status", "severity", "steroids")

    status = forms.ChoiceField(label="Status", choices=RELAPSE_STATUS, initial="confirmed",
                               help_text="only confirmed relapses and pseudo-relapses reach "
                               "the rules")
    onset = text("Onset", placeholder="YYYY-MM-DD, or YYYY-MM", size=12,
                 help_text="a full date; YYYY-MM (or YYYY) when only the month (or year) is "
                 "known")
    onset_end = date_field("Latest possible onset", "only for an onset known as a range of days")
    resolved_date = date_field("Resolved on", "end of the episode, if recorded")
    duration_hours = text("Duration (hours)", numeric=True, size=6,
                          help_text="how long the symptoms lasted")
    fever = flag("Fever at onset")
    infection = flag("Infection at onset")
    paroxysmal = flag("Single paroxysmal episode")
    objective = flag("Confirmed on examination")
    severity = choice("Severity (clinician)", (("", "not recorded"), ("mild", "mild"),
                                               ("moderate", "moderate"),
                                               ("severe", "severe")))
    steroids = flag("High-dose steroids")
    plex = flag("Plasma exchange")
    hospitalised = flag("Hospitalised")
    symptoms = text("Symptoms", placeholder="separated by ;")
    fs_affected = text("Functional systems affected", placeholder="separated by ;")

    def check_options(self) -> dict[str, Any]:
        return {"status": self.cleaned_data.get("status") or "confirmed"}


class MriForm(RecordForm):
    table = "mri"
    fieldsets = (
        ("Scan", ("date", "comparator_date", "contrast", "spinal_cord", "same_protocol")),
        ("Lesions and volume", ("gd", "new_t2", "enlarging_t2", "pbvc")),
    )
    list_fields = ("date", "gd", "new_t2", "enlarging_t2")

    date = date_field("Scan date")
    comparator_date = date_field("Compared with the scan of",
                           "blank: no comparator, so new/enlarging counts are unknown")
    contrast = flag("Gadolinium given", "no: the Gd count is unknown, never 0")
    spinal_cord = flag("Spinal cord included")
    same_protocol = flag("Same scanner and protocol as the comparator")
    gd = text("Gd-enhancing lesions", numeric=True, size=4)
    new_t2 = text("New T2 lesions", numeric=True, size=4)
    enlarging_t2 = text("Enlarging T2 lesions", numeric=True, size=4)
    pbvc = text("Brain volume change (%)", numeric=True, size=6,
                help_text="negative = loss")


DMT_LIST = "dmt-names"


def dmt_names() -> list[str]:
    """Generic and brand names of the DMT catalogue, offered by the drug field."""
    return sorted({n for drug in catalogue() for n in (drug.name, *drug.brands)},
                  key=str.casefold)


class TreatmentForm(RecordForm):
    table = "treatments"
    fieldsets = (("Disease-modifying therapy", ("drug", "start", "stop", "stop_reason",
                                                "dosing_interval_days")),)
    list_fields = ("drug", "start", "stop", "stop_reason")

    drug = text("Drug", datalist=DMT_LIST, help_text="generic or brand name from the DMT "
                "catalogue")
    start = date_field("First dose")
    stop = date_field("Last dose", "blank: ongoing")
    stop_reason = choice("Why it stopped", (("", "not recorded / ongoing"),
                                            ("inefficacy", "inefficacy"),
                                            ("adverse_event", "adverse event"),
                                            ("patient_choice", "patient choice"),
                                            ("pregnancy", "pregnancy"), ("other", "other")))
    dosing_interval_days = text("Dosing interval (days)", numeric=True, size=6,
                                help_text="only to override the catalogue's interval (e.g. "
                                "42 for extended-interval natalizumab)")


class SymptomTreatmentForm(RecordForm):
    table = "symptom_treatments"
    own_fields = ()
    fieldsets = (("Symptomatic therapy", ("drug", "symptom", "dose", "start", "stop")),)
    list_fields = ("drug", "symptom", "start", "stop")

    drug = forms.CharField(label="Drug", max_length=100, error_messages={
        "required": "Drug is missing: enter the drug's name (e.g. baclofen)"})
    symptom = choice("Symptom treated", (("", "choose"), *SYMPTOMS))
    dose = text("Dose")
    start = date_field("First dose")
    stop = date_field("Last dose", "blank: ongoing")


class ProAnswerForm(RecordForm):
    table = "pros"
    fieldsets = (("Questionnaire answer", ("date", "instrument", "item", "response")),)
    list_fields = ("date", "instrument", "item", "response")

    date = date_field("Date answered")
    instrument = choice("Questionnaire", (("", "choose"), *((i, i) for i in INSTRUMENTS)))
    item = text("Item", size=10, help_text="item number (1, 2, ...); the muscle group for "
                "the Modified Ashworth scale")
    response = text("Answer", size=6, help_text="as given (a number; 1+ on the Modified "
                    "Ashworth scale)")


class LabTestForm(RecordForm):
    table = "labs"
    fieldsets = (("Safety laboratory test", ("date", "test", "result")),)
    list_fields = ("date", "test", "result")

    date = date_field("Date of the sample")
    test = choice("Test", (("", "choose"), *LAB_TESTS.items()))
    result = text("Result", help_text="as reported (kept as text)")


class PatientForm(CheckedForm):
    """The patient's own data (``clinic_id``; ``instance`` when editing)."""

    table = "patients"
    fieldsets = (
        ("Patient", ("subject", "name", "birth_date", "sex")),
        ("Multiple sclerosis", ("onset_date", "diagnosis_date", "phenotype_at_diagnosis",
                                "course", "relapses_recorded")),
    )
    own_fields = ("name", "relapses_recorded")
    courses = (("", "not recorded"), ("RIS", "RIS"), ("CIS", "CIS"), ("RRMS", "RRMS"),
               ("SPMS", "SPMS"), ("PPMS", "PPMS"))

    subject = text("Registry identifier", help_text="compared as text: 0001 and 1 differ")
    name = forms.CharField(label="Name", max_length=200, required=False)
    birth_date = date_field("Birth date")
    sex = choice("Sex", (("", "not recorded"), ("female", "female"), ("male", "male"),
                         ("other", "other")))
    onset_date = date_field("MS onset", "first MS symptoms")
    diagnosis_date = date_field("Diagnosis date")
    phenotype_at_diagnosis = choice("Course at diagnosis", courses)
    course = choice("Current course (clinician)", courses,
                    "computed descriptors never replace it")
    relapses_recorded = forms.BooleanField(
        label="Relapses are recorded for this patient", required=False, initial=True,
        help_text="unticked, relapse activity is unknown (an empty list does not mean none)")

    def __init__(self, *args: Any, clinic_id: int, instance: Patient | None = None,
                 **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs and not args:
            initial: dict[str, Any] = record_cells(instance, "patients")
            initial.update({n: getattr(instance, n) for n in self.own_fields})
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.clinic_id = clinic_id
        self.instance = instance

    def check(self) -> Checked:
        return check_patient(self.clinic_id, self.cells(), self.labels,
                             instance_pk=self.instance.pk if self.instance else None)

    def save(self) -> Patient:
        patient = self.instance or Patient(clinic_id=self.clinic_id)
        for name, value in self.checked.values.items():
            setattr(patient, name, value)
        for name in self.own_fields:
            setattr(patient, name, self.cleaned_data[name])
        patient.save()
        return patient


RECORD_FORMS: dict[str, type[RecordForm]] = {
    "visits": VisitForm, "relapses": RelapseForm, "mri": MriForm, "treatments": TreatmentForm,
    "symptom_treatments": SymptomTreatmentForm, "pros": ProAnswerForm, "labs": LabTestForm,
}


class EdssCalculatorForm(FunctionalSystemGrades):
    """FS grades (:class:`FunctionalSystemGrades`, shown first), ambulation, and optionally
    the rated EDSS and the method: read as a visit by neda.io and computed by
    ``neda.rules.edss``."""

    ambulation = text("Ambulation score", numeric=True, size=4, placeholder="0-16",
                      help_text="Neurostatus code of the best walking performance (below)")
    edss_method = choice("EDSS method", EDSS_METHODS)
    edss = text("Rated EDSS (optional)", numeric=True, size=6,
                help_text="to check it against the computed value")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.result: EdssResult | None = None
        self.note: str | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cells = {n: str(cleaned.get(n) or "") for n in self.fields}
        labels = {n: str(f.label) for n, f in self.fields.items()}
        errors, self.result, self.note = calculate_edss(cells, labels)
        for name, messages in errors.items():
            for message in messages:
                self.add_error(None if name == NON_FIELD or name not in self.fields else name,
                               message)
        return cleaned


def field_labels(table: str) -> dict[str, str]:
    """Labels of a table's fields, as its form shows them."""
    form_class: type[forms.Form] = PatientForm if table == "patients" else RECORD_FORMS[table]
    return {n: str(f.label) for n, f in form_class.base_fields.items()}
