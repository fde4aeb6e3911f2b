"""Form input reaches the core the way a file does: as a one-row table read by ``neda.io``.

A form never parses a date, a number, a grade or a flag itself. The text a user typed is put
in a one-row table (index label :data:`FORM_ROW`) and read by the table's reader - the same
reader every file, the import and the command line go through - so an EDSS off its scale, an
impossible date, a date after the data cut-off, an FS grade out of range, a decimal comma or a
month-only relapse onset mean here exactly what they mean everywhere. What the reader
returns is what is stored; each of its problems is shown on the field it names, in words a
nurse understands (:func:`nurse_message`: the reader's own expectation text, with the
command-line hints taken out - never a second check).

Then the rules speak, as warnings the user may confirm:

* a visit's FS grades and ambulation score are turned into an EDSS by ``neda.rules.edss``
  and compared with the rated EDSS (rules §1.5);
* a relapse is cleaned by ``neda.rules.relapses.relapse_hygiene`` together with the
  patient's other relapses: merged within 30 days, a duplicate, a pseudo-relapse, too short
  (rules §3.1) - each with the hygiene's own reason;
* a record of a table keyed by date (visits, MRI scans, treatments, PRO answers) is read
  again together with the patient's other rows of that table: the reader merges agreeing
  same-day rows (a warning) and refuses conflicting ones (an error) - which would otherwise
  stop the patient's course from being computed at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from django.db import models

from neda.io import READERS, InputError, InputProblem, read_table, resolve_contrast
from neda.io.schema import SCHEMAS, Column, TableSchema
from neda.rules.edss import (
    FS_SYSTEMS,
    EdssOptions,
    EdssResult,
    UnsupportedEdssMethod,
    edss_from_functional_systems,
)
from neda.rules.pro import score_pros
from neda.rules.relapses import relapse_hygiene

from .course import OPTIONS
from .importing import cell_value, onset_text
from .models import (
    COUNTED_RELAPSE_STATUSES,
    SYMPTOMS,
    LabTest,
    MriScan,
    Patient,
    PatientRecord,
    ProAnswer,
    Relapse,
    SymptomTreatment,
    Treatment,
    Visit,
)

#: Index label of the form's row in every table read here: the reader names its problems by
#: this label, so they are told apart from problems of the patient's saved rows.
FORM_ROW = "form"
#: Subject of the rows the EDSS calculator reads (no patient).
CALCULATOR_SUBJECT = "calculator"

NON_FIELD = "__all__"

#: Symptomatic therapies are the clinic's own table (not part of neda's data model): read by
#: the same reader with this schema (the forms and the API alike), so their dates follow
#: rules §0.3 like every other date.
SYMPTOM_TREATMENTS = TableSchema(
    "symptom_treatments", "symptom_treatments (one row per symptomatic therapy)",
    "A symptomatic therapy (e.g. baclofen for spasticity), shown beside the scores of the "
    "symptom it targets; no rule reads it.",
    (
        SCHEMAS["treatments"].column("subject"),
        Column("drug", "text", "drug name (any symptomatic drug)", required=True),
        Column("symptom", "choice", "the symptom it treats", required=True,
               allowed=tuple(value for value, _ in SYMPTOMS)),
        Column("dose", "text", "dose as prescribed"),
        Column("start", "date", "first dose", required=True),
        Column("stop", "date", "last dose (blank: ongoing)"),
    ),
    key=None,
)


@dataclass(frozen=True)
class TableSpec:
    """How one record type meets its reader: the model, the table read, and which reader
    column each form field is (the same name unless said otherwise)."""

    table: str
    model: type[models.Model]
    schema: TableSchema
    columns: Mapping[str, str]
    noun: str

    def field_of(self, column: str | None) -> str:
        for name, col in self.columns.items():
            if col == column:
                return name
        return NON_FIELD


def _same(*names: str) -> dict[str, str]:
    return {n: n for n in names}


VISIT_FIELDS = ("date", "edss", "edss_method", *(f"fs_{s}" for s in FS_SYSTEMS), "ambulation",
                "t25fw", "nhpt", "nhpt_dominant", "nhpt_nondominant", "sdmt", "pasat")
RELAPSE_FIELDS = ("onset", "onset_end", "resolved_date", "duration_hours", "fever", "infection",
                  "paroxysmal", "objective", "severity", "steroids", "plex", "hospitalised",
                  "symptoms", "fs_affected")
MRI_FIELDS = ("date", "comparator_date", "contrast", "gd", "new_t2", "enlarging_t2",
              "spinal_cord", "pbvc", "same_protocol")
TREATMENT_FIELDS = ("drug", "start", "stop", "stop_reason", "dosing_interval_days")
SYMPTOM_FIELDS = ("drug", "symptom", "dose", "start", "stop")
PRO_FIELDS = ("date", "instrument", "item", "response")
PATIENT_FIELDS = ("subject", "birth_date", "sex", "onset_date", "diagnosis_date",
                  "phenotype_at_diagnosis", "course")

SPECS: dict[str, TableSpec] = {
    "visits": TableSpec("visits", Visit, SCHEMAS["visits"], _same(*VISIT_FIELDS), "visit"),
    "relapses": TableSpec("relapses", Relapse, SCHEMAS["relapses"], {
        **_same(*RELAPSE_FIELDS), "onset": "date", "onset_end": "date_end"}, "relapse"),
    "mri": TableSpec("mri", MriScan, SCHEMAS["mri"], _same(*MRI_FIELDS), "MRI scan"),
    "treatments": TableSpec("treatments", Treatment, SCHEMAS["treatments"],
                            _same(*TREATMENT_FIELDS), "treatment"),
    "symptom_treatments": TableSpec("symptom_treatments", SymptomTreatment, SYMPTOM_TREATMENTS,
                                    _same(*SYMPTOM_FIELDS), "symptom treatment"),
    "pros": TableSpec("pros", ProAnswer, SCHEMAS["pros"], _same(*PRO_FIELDS), "answer"),
    "labs": TableSpec("labs", LabTest, SCHEMAS["labs"], _same("date", "test", "result"),
                      "laboratory test"),
    "patients": TableSpec("patients", Patient, SCHEMAS["patients"], _same(*PATIENT_FIELDS),
                          "patient"),
}

#: Tables whose rows are identified by a key with the date (rules §0.3, same-day repeats):
#: a new row is read together with the patient's saved rows.
KEYED = ("visits", "mri", "treatments", "pros", "labs")


@dataclass
class Checked:
    """What the readers and rules made of a form's input.

    ``values``: model field -> value as read (what is stored). ``errors``: form field (or
    :data:`NON_FIELD`) -> messages; any error blocks saving. ``warnings``: the rules'
    plausibility checks; saving needs the user's confirmation (:meth:`digest`). ``notes``:
    how the input was read (e.g. a month-only onset as an interval). ``edss``: the EDSS
    computed from a visit's FS grades and ambulation, with its explanation.
    """

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    edss: EdssResult | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, []).append(message)

    def digest(self) -> str:
        """A fingerprint of the warnings shown: "save anyway" saves only what was seen."""
        return hashlib.sha256("\n".join(self.warnings).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- messages
#: The reader's expectation texts, in a nurse's words: command-line and file hints out, the
#: expectation itself kept (the reader decided; this only rewords).
_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r" with a decimal point; fields are separated by .*$",
     " written with a decimal point (2.5, not 2,5)"),
    (r"a date on or before the data cut-off (\S+) \(a later date is a typing error[^)]*\)",
     r"a date on or before today (\1): a later date is a typing error"),
    (r"an ISO 8601 date YYYY-MM-DD; day and month order is ambiguous here[^)]*\)",
     "a date written year-month-day, YYYY-MM-DD (for example 2024-03-05): in this date day "
     "and month cannot be told apart"),
    (r"an ISO 8601 date YYYY-MM-DD; this looks like [^,]+, so pass date_format=.*?\)(?=;|$)",
     "a date written year-month-day, YYYY-MM-DD (for example 2024-03-05)"),
    (r"an ISO 8601 date YYYY-MM-DD \(other formats need an explicit date_format[^)]*\)",
     "a date written year-month-day, YYYY-MM-DD (for example 2024-03-05)"),
    (r"a date \(YYYY-MM-DD\); whole numbers are read as day numbers only with .*$",
     "a date (YYYY-MM-DD), not a number"),
    (r"a drug of the DMT catalogue \(unknown drug .*? \(not a generic name, brand or alias in "
     r"the DMT catalogue (\S+)\)(.*)\)$",
     r"a disease-modifying drug of the catalogue \1, by its generic or brand name\2"),
    (r"; see neda\.rules\.dmt_catalogue\.catalogue\(\) for the known drugs",
     "; the list offered by the field holds the known names"),
    (r" \(subject [^,()]+, [^()]*\)$", ""),
    (r" \(rules §[\d.a-z]+\)$", ""),
))

_CONFLICT = re.compile(r"^one value per (?P<key>.+?), but subject \S+(?: on (?P<on>.+?))? "
                       r"also has (?P<others>.+)$")
_ROW_REF = re.compile(r" in row index \S+")


def plain_expectation(expected: str) -> str:
    """The reader's expectation in a nurse's words (hints for files and commands out)."""
    for pattern, repl in _PLAIN:
        expected = pattern.sub(repl, expected)
    return expected


def nurse_message(label: str, problem: InputProblem, noun: str = "record") -> str:
    """One reader problem as a sentence naming the field and saying what to enter."""
    conflict = _CONFLICT.match(problem.expected)
    if conflict is not None:
        key = conflict["key"].removeprefix("subject and ")
        others = _ROW_REF.sub("", conflict["others"])
        on = f" of {conflict['on']}" if conflict["on"] else ""
        return (f"{label}: '{problem.value}' conflicts with the saved {noun}{on}, which has "
                f"{others}; a patient has one value per {key}: correct it here, or edit the "
                f"saved {noun}")
    expected = plain_expectation(problem.expected)
    if problem.value is None:
        return f"{label} is missing: enter {expected}"
    return f"{label}: '{problem.value}' is not accepted; enter {expected}"


#: The rules' messages about one cell (the EDSS rules' ambulation coding, the scoring rules'
#: items and answers), reworded the same way: the value, then what to enter.
_PLAIN_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"^ambulation score '?([^' ]+?)'? is out of range; allowed whole numbers (\d+)-(\d+) "
     r"\((\w+) coding, rules §1\.3\)$",
     r"'\1' is not accepted; enter a whole number from \2 to \3 (the \4 coding of the EDSS "
     "method chosen)"),
    (r"^unknown item None for (\S+); expected (.+)$", r"nothing entered; enter \2 of \1"),
    (r"^unknown item (.+?) for (\S+); expected (.+)$", r"\1 is not an item of \2; enter \3"),
    (r"^(\S+) item answered (.+?); expected (.+)$", r"\2 is not an answer of \1; enter \3"),
    (r"^Modified Ashworth answered (.+?); expected (.+)$", r"\1 is not accepted; enter \2"),
    (r"^Modified Ashworth needs the muscle group \(and side\) in `item`$",
     "enter the muscle group (and side) rated on the Modified Ashworth scale"),
))


def _rule_message(text: str) -> str:
    """A rule's ``ValueError`` about one cell without the row it names (the form is the row),
    in the words of :func:`nurse_message`."""
    text = re.sub(r"^pros row \S+ \([^)]*\): ", "", text)
    text = re.sub(r"^visits row \S+, column '[^']+': ", "", text)
    for pattern, repl in _PLAIN_RULES:
        text = pattern.sub(repl, text)
    return text


# ----------------------------------------------------------------------------- cells
def cell_text(value: Any) -> str:
    """A stored value as the text a user would type (what the forms show and the readers
    read back): ISO dates, numbers without a spurious ``.0``, yes/no, blank for unknown."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _frame(rows: Iterable[tuple[Any, Mapping[str, str]]], columns: Iterable[str]
           ) -> pd.DataFrame:
    """A table of text cells, one row per (index label, cells), every column present."""
    rows = list(rows)
    cols = list(columns)
    data = {c: [r.get(c, "") for _, r in rows] for c in cols}
    return pd.DataFrame(data, index=pd.Index([label for label, _ in rows], dtype=object),
                        dtype=object)


def _read(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's reader: the named reader of the data model (treatments also check the
    order of their dates), cell-level reading where the named reader would change what was
    typed (MRI contrast is applied when read for the rules, PRO answers stay text)."""
    if spec.table in ("mri", "pros", "symptom_treatments"):
        return read_table(frame, spec.schema)
    return READERS[spec.schema.name](frame)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    found = model._meta.get_field(name)
    assert isinstance(found, models.Field)
    return found


def model_value(model_field: models.Field[Any, Any], value: Any) -> Any:
    """A value read by neda.io as the model stores it."""
    value = cell_value(value)
    if value is None:
        return None if model_field.null else ""
    if isinstance(model_field, models.BooleanField):
        return bool(value)
    if isinstance(model_field, models.IntegerField):
        return int(value)
    if isinstance(model_field, models.FloatField):
        return float(value)
    if isinstance(model_field, models.DateField):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _problems(spec: TableSpec, error: InputError, labels: Mapping[str, str], checked: Checked,
              *, saved: Mapping[Any, str] | None = None) -> None:
    """Each reader problem of the form's row on its field; problems of saved rows (read with
    it) as warnings naming the saved record."""
    for problem in error.problems:
        name = spec.field_of(problem.column)
        label = labels.get(name, problem.column or spec.noun)
        if problem.row is None or problem.row == FORM_ROW:
            checked.error(name, nurse_message(label, problem, spec.noun))
        else:
            which = (saved or {}).get(problem.row, "")
            checked.warnings.append(f"The saved {spec.noun} {which} has a problem: "
                                    f"{nurse_message(label, problem, spec.noun)}")


def _storage_limits(spec: TableSpec, labels: Mapping[str, str], checked: Checked) -> None:
    for name, value in checked.values.items():
        model_field = spec.model._meta.get_field(name)
        limit = getattr(model_field, "max_length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            checked.error(name, f"{labels.get(name, name)}: '{value}' is too long to store; "
                                f"enter at most {limit} characters")


# ------------------------------------------------------------------------------ records
def check_record(table: str, patient: Patient, cells: Mapping[str, str],
                 labels: Mapping[str, str], *, instance_pk: int | None = None,
                 status: str = "confirmed", with_reported: bool = False) -> Checked:
    """Read one record's form input through neda.io and the rules (see the module text).

    ``cells``: form field -> text as typed; ``instance_pk``: the record being edited (left
    out of the patient's saved rows); ``status``: a relapse's status; ``with_reported``: relapse
    hygiene reads the patient's other reported relapses waiting for review as if confirmed
    too (the review queue: confirming one report after another, merges and duplicates among
    them show before the first is confirmed), named as waiting for review.
    """
    spec = SPECS[table]
    checked = Checked()
    row = {spec.columns[name]: cells.get(name, "") or "" for name in spec.columns}
    row["subject"] = str(patient.pk)
    if table == "relapses":
        row["pseudo"] = "yes" if status == "pseudo" else "no"
    frame = _frame([(FORM_ROW, row)], [*row])
    try:
        read = _read(spec, frame)
    except InputError as exc:
        _problems(spec, exc, labels, checked)
        return checked
    if not len(read):
        # the reader left the row out (a visit without any measurement), with its reason
        report = read.attrs["report"]
        reasons = "; ".join(c.reason for c in report.dropped) or "nothing to read"
        checked.error(NON_FIELD, f"Nothing to save: enter at least one measurement "
                                 f"(the {spec.noun} was left out: {reasons})")
        return checked
    first = read.iloc[0]
    if table == "relapses":
        onset, onset_end = onset_text({str(k): v for k, v in first.items()})
        checked.values = {"onset": onset, "onset_end": onset_end}
        checked.values.update({name: model_value(_field(spec.model, name),
                                                 first.get(col))
                               for name, col in spec.columns.items()
                               if name not in ("onset", "onset_end")})
        _onset_note(first, checked)
    else:
        checked.values = {name: model_value(_field(spec.model, name), first.get(col))
                          for name, col in spec.columns.items()}
    _storage_limits(spec, labels, checked)
    if table == "visits":
        errors, checked.edss, note = edss_check(first)
        for name, msgs in errors.items():
            for m in msgs:
                checked.error(name, f"{labels.get(name, name)}: {m}")
        _edss_warning(checked, note)
    elif table == "pros":
        _score_check(read, labels, checked)
    elif table == "mri":
        _contrast_note(read, checked)
    elif table == "symptom_treatments":
        start, stop = checked.values.get("start"), checked.values.get("stop")
        if start is not None and stop is not None and stop < start:
            checked.error("stop", f"{labels.get('stop', 'Stop')}: '{stop.isoformat()}' is not "
                                  f"accepted; enter a stop date on or after the start "
                                  f"{start.isoformat()}")
    if not checked.ok:
        return checked
    if table in KEYED:
        _with_saved_rows(spec, patient, row, labels, instance_pk, checked)
    if table == "relapses" and status != "rejected":
        _hygiene_warnings(patient, row, instance_pk, status, checked, with_reported)
    return checked


def _saved_rows(spec: TableSpec, patient: Patient, instance_pk: int | None
                ) -> list[tuple[Any, dict[str, str]]]:
    """The patient's saved rows of this table as text cells, labelled by primary key."""
    saved = spec.model.objects.filter(patient=patient)  # type: ignore[attr-defined]
    if instance_pk is not None:
        saved = saved.exclude(pk=instance_pk)
    out = []
    for record in saved:
        cells = {col: cell_text(getattr(record, name)) for name, col in spec.columns.items()}
        cells["subject"] = str(patient.pk)
        out.append((record.pk, cells))
    return out


def describe(record: Any) -> str:
    """A saved record in a few words (for messages and lists): its date and main value."""
    if isinstance(record, Visit):
        return f"of {record.date}" + (f" (EDSS {cell_text(record.edss)})"
                                      if record.edss is not None else "")
    if isinstance(record, Relapse):
        return f"of {record.onset}"
    if isinstance(record, MriScan):
        return f"of {record.date}"
    if isinstance(record, Treatment | SymptomTreatment):
        return f"{record.drug} from {record.start}"
    if isinstance(record, ProAnswer):
        return f"{record.instrument} item {record.item} of {record.date}"
    if isinstance(record, Patient):
        return record.subject
    return f"#{record.pk}"


def _with_saved_rows(spec: TableSpec, patient: Patient, row: Mapping[str, str],
                     labels: Mapping[str, str], instance_pk: int | None,
                     checked: Checked) -> None:
    """Read the form's row with the patient's saved rows: same-day repeats are merged or
    refused by the reader (rules §0.3), exactly as when the course is computed."""
    saved = _saved_rows(spec, patient, instance_pk)
    if not saved:
        return
    names = {pk: describe(r) for pk, r in (
        (r.pk, r) for r in spec.model.objects.filter(  # type: ignore[attr-defined]
            pk__in=[pk for pk, _ in saved]))}
    frame = _frame([*saved, (FORM_ROW, row)], [*row])
    try:
        read = read_table(frame, spec.schema)
    except InputError as exc:
        _problems(spec, exc, labels, checked, saved=names)
        return
    for change in read.attrs["report"].merged:
        if FORM_ROW in change.rows:
            checked.warnings.append(
                f"This patient already has a {spec.noun} with the same "
                f"{_key_words(spec)}: neda reads the two as one {spec.noun} (their values "
                f"agree or complete each other). Edit the saved {spec.noun} instead, unless "
                "this is what you meant.")


def _key_words(spec: TableSpec) -> str:
    key = [k for k in (spec.schema.key or ()) if k != "subject"]
    return " and ".join(key)


def _onset_note(first: pd.Series, checked: Checked) -> None:
    precision = first.get("precision")
    if precision in ("month", "year", "range"):
        a = pd.Timestamp(first["date"]).date().isoformat()
        b = pd.Timestamp(first["date_end"]).date().isoformat()
        what = {"month": "known to the month", "year": "known to the year",
                "range": "known as a range of days"}[str(precision)]
        checked.notes.append(f"Onset {what}: kept as every possible day from {a} to {b} "
                             "(never moved to one day; rules §2.7.2).")


def _contrast_note(read: pd.DataFrame, checked: Checked) -> None:
    """How the rules will read the contrast cell (``neda.io.resolve_contrast``)."""
    resolved = resolve_contrast(read).iloc[0]
    given = read.iloc[0]
    if pd.notna(given.get("gd")) and pd.isna(resolved.get("gd")):
        checked.notes.append("Gadolinium not given: the Gd count is read as unknown, never 0 "
                             "(rules §0.3).")
    elif pd.isna(given.get("contrast")) and pd.notna(resolved.get("contrast")):
        checked.notes.append("Gadolinium not recorded but a Gd count is: read as given "
                             "(rules §0.3).")


def _score_check(read: pd.DataFrame, labels: Mapping[str, str], checked: Checked) -> None:
    """An answer checked against its instrument's form by the scoring rules (rules §7.8)."""
    try:
        score_pros(read)
    except InputError as exc:
        for problem in exc.problems:
            name = "response" if problem.column == "response" else "item"
            # the form is this patient's answer of this day: the subject and date go
            expected = _FORM_CONTEXT.sub(lambda m: f" ({m[1]})" if m[1] else "",
                                         problem.expected)
            checked.error(name, nurse_message(labels.get(name, name),
                                              replace(problem, expected=expected), "answer"))


#: "(subject 1 on 2026-07-01)", "(MFIS item 1; subject 1 on 2026-07-01)" in a rule's message
_FORM_CONTEXT = re.compile(r" \(([^()]*?)(?:; )?subject [^()]*? on [0-9-]+\)")


# --------------------------------------------------------------------------------- EDSS
def edss_check(row: Mapping[str, Any] | pd.Series
               ) -> tuple[dict[str, list[str]], EdssResult | None, str | None]:
    """The EDSS computed from a visit row read by neda.io (rules §1.5): (errors per field,
    result, note). Nothing is computed without any FS grade or ambulation score."""
    grades = {s: cell_value(row.get(f"fs_{s}")) for s in FS_SYSTEMS}
    ambulation = cell_value(row.get("ambulation"))
    if ambulation is not None and float(ambulation).is_integer():
        ambulation = int(ambulation)
    if all(g is None for g in grades.values()) and ambulation is None:
        return {}, None, None
    method = cell_value(row.get("edss_method")) or EdssOptions().method
    try:
        result = edss_from_functional_systems(
            pyramidal=grades["pyramidal"], cerebellar=grades["cerebellar"],
            brainstem=grades["brainstem"], sensory=grades["sensory"],
            bowel_bladder=grades["bowel_bladder"], visual=grades["visual"],
            cerebral=grades["cerebral"], ambulation=ambulation,
            rated_edss=cell_value(row.get("edss")), options=EdssOptions(method=method))
    except UnsupportedEdssMethod as exc:
        return {}, None, str(exc)
    except ValueError as exc:
        text = str(exc)
        name = "ambulation" if text.startswith("ambulation") else NON_FIELD
        for s in FS_SYSTEMS:
            if text.startswith(f"FS {s}:"):
                name = f"fs_{s}"
        return {name: [_rule_message(text)]}, None, None
    return {}, result, None


def _edss_warning(checked: Checked, note: str | None) -> None:
    result = checked.edss
    if note:
        checked.notes.append(f"EDSS check: {note}")
    if result is None:
        return
    if result.mismatch is True:
        checked.warnings.append(f"EDSS check: {result.mismatch_reason}. "
                                f"Computed from the FS grades and ambulation: "
                                f"{result.step_rule}.")
    elif result.mismatch is False:
        checked.notes.append(f"EDSS check: {result.mismatch_reason} ({result.step_rule}).")
    elif result.edss is not None:
        checked.notes.append(f"EDSS computed from the FS grades and ambulation: "
                             f"{result.edss:.1f} ({result.step_rule}).")
    else:
        checked.notes.append(f"EDSS check: {result.mismatch_reason}.")


def calculate_edss(cells: Mapping[str, str], labels: Mapping[str, str]
                   ) -> tuple[dict[str, list[str]], EdssResult | None, str | None]:
    """The EDSS calculator: FS grades, ambulation (and optionally a rated EDSS and the
    method) read as a visit row by neda.io, then computed by ``neda.rules.edss``."""
    row = {"subject": CALCULATOR_SUBJECT, "date": dt.date.today().isoformat(),
           **{k: v or "" for k, v in cells.items()}}
    spec = SPECS["visits"]
    checked = Checked()
    try:
        read = read_table(_frame([(FORM_ROW, row)], [*row]), "visits")
    except InputError as exc:
        _problems(spec, exc, labels, checked)
        return checked.errors, None, None
    if not len(read):
        return {NON_FIELD: ["Enter the FS grades and the ambulation score."]}, None, None
    errors, result, note = edss_check(read.iloc[0])
    return ({k: [f"{labels.get(k, k)}: {m}" for m in v] for k, v in errors.items()},
            result, note)


# ----------------------------------------------------------------------------- relapses
#: How a reported relapse waiting for review is named in relapse hygiene's reasons.
WAITING = "{onset} (also reported by the patient, waiting for review)"


def _hygiene_warnings(patient: Patient, row: Mapping[str, str], instance_pk: int | None,
                      status: str, checked: Checked, with_reported: bool = False) -> None:
    """Relapse hygiene (rules §3.1) on the patient's counted relapses plus this one (and, with
    ``with_reported``, their other reports waiting for review, as if confirmed): every reason
    it gives for not counting this relapse (or for folding another one into it)."""
    spec = SPECS["relapses"]
    statuses = (*COUNTED_RELAPSE_STATUSES, *(("reported",) if with_reported else ()))
    saved = Relapse.objects.filter(patient=patient, status__in=statuses)
    if instance_pk is not None:
        saved = saved.exclude(pk=instance_pk)
    rows: list[tuple[Any, Mapping[str, str]]] = []
    onsets: dict[Any, str] = {}
    waiting: set[Any] = set()
    for relapse in saved:
        cells = {col: cell_text(getattr(relapse, name)) for name, col in spec.columns.items()}
        cells.update(subject=str(patient.pk),
                     pseudo="yes" if relapse.status == "pseudo" else "no")
        rows.append((relapse.pk, cells))
        onsets[relapse.pk] = relapse.onset
        if relapse.status == "reported":
            onsets[relapse.pk] = WAITING.format(onset=relapse.onset)
            waiting.add(relapse.pk)
    rows.append((FORM_ROW, row))
    try:
        clean = relapse_hygiene(READERS["relapses"](_frame(rows, [*row])),
                                options=OPTIONS.relapse)
    except InputError as exc:  # a saved relapse the reader refuses
        _problems(spec, exc, {}, checked, saved={k: f"of {v}" for k, v in onsets.items()})
        return

    def named(text: str) -> str:
        text = text.replace(f"row {FORM_ROW}", "this relapse")
        return re.sub(r"\brow (\d+)\b", lambda m: f"the relapse of "
                      f"{onsets.get(int(m.group(1)), 'row ' + m.group(1))}", text)

    for r in clean.removed.itertuples(index=False):
        if r.row == FORM_ROW:
            if r.reason == "pseudo_relapse_fever_infection" and status == "pseudo":
                continue
            checked.warnings.append(f"Relapse hygiene (rules §3.1) will not count this as a "
                                    f"relapse of its own: {named(str(r.detail))}.")
        elif r.merged_into_row == FORM_ROW:
            saved_one = "" if r.row in waiting else "saved "
            checked.warnings.append(f"Relapse hygiene (rules §3.1) will count the {saved_one}"
                                    f"relapse of {onsets.get(r.row, r.row)} as part of this "
                                    f"one: {named(str(r.detail))}.")
    mine = clean.relapses[clean.relapses["input_row"] == FORM_ROW]
    if len(mine) and bool(mine["merge_uncertain"].iloc[0]):
        checked.warnings.append("Relapse hygiene (rules §3.1): with these imprecise onsets "
                                "this may be the same attack as a neighbouring relapse; both "
                                "are kept and flagged 'merge uncertain' (a full onset date "
                                "decides).")


# ----------------------------------------------------------------------------- patients
def check_patient(clinic_id: int, cells: Mapping[str, str], labels: Mapping[str, str], *,
                  instance_pk: int | None = None) -> Checked:
    """A patient's own data read by the patients reader; the registry identifier must be
    new in the clinic (deleted patients included: an administrator restores them)."""
    spec = SPECS["patients"]
    checked = Checked()
    row = {name: cells.get(name, "") or "" for name in spec.columns}
    try:
        read = READERS["patients"](_frame([(FORM_ROW, row)], spec.schema.names))
    except InputError as exc:
        _problems(spec, exc, labels, checked)
        return checked
    if not len(read):  # a wholly blank row is skipped by the reader
        checked.error(NON_FIELD, "Nothing to save: the form is empty (enter at least the "
                                 "registry identifier)")
        return checked
    first = read.iloc[0]
    checked.values = {name: model_value(_field(Patient, name), first.get(name))
                      for name in spec.columns}
    checked.values["subject"] = str(row["subject"]).strip()
    _storage_limits(spec, labels, checked)
    taken = Patient.all_objects.filter(clinic_id=clinic_id, subject=checked.values["subject"])
    if instance_pk is not None:
        taken = taken.exclude(pk=instance_pk)
    existing = taken.first()
    if existing is not None:
        where = (" (a deleted patient: an administrator can restore them)"
                 if existing.deleted_at is not None else "")
        checked.error("subject", f"{labels.get('subject', 'Registry identifier')}: "
                                 f"'{checked.values['subject']}' is already used in this "
                                 f"clinic{where}; enter another identifier")
    return checked


def record_cells(record: PatientRecord | Patient, table: str) -> dict[str, str]:
    """A saved record as the text its form shows (and the readers read back)."""
    spec = SPECS[table]
    return {name: cell_text(getattr(record, name)) for name in spec.columns}
