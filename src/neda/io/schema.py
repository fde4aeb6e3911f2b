"""The data model as code: one schema per tidy table.

Every table neda reads (patients, visits, relapses, MRI scans, treatments, PRO answers, safety
laboratory tests, and the optional follow-up table) is described here once: its columns, their
types, the values they allow, whether they are required, and what they mean. The readers in
:mod:`neda.io.readers` validate against these schemas, the rules read the validated tables,
and ``docs/data-model.md`` is generated from them (``neda data-model > docs/data-model.md``; a
test checks the file is current).

Section numbers (``rules §3.1``) refer to ``docs/rules.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal[
    "subject",     # identifier, compared as text across tables
    "date",        # a calendar date
    "onset",       # a date, or year-month / year for an imprecise relapse onset
    "edss",        # 0, 1.0, 1.5, ..., 10 (rules §1.1)
    "fs",          # a functional-system grade as rated, e.g. 3 or "2X" (rules §1.2)
    "integer",     # whole number in [lo, hi]
    "number",      # decimal number in [lo, hi]
    "flag",        # yes / no / unknown
    "choice",      # one of ``allowed`` (case-insensitive)
    "drug",        # a drug of the DMT catalogue (rules §8.1), generic or brand name
    "instrument",  # a PRO instrument (rules §7)
    "text",        # free text, kept as entered
]

#: What each kind accepts, in words (used in messages and in the generated documentation).
KIND_TEXT: dict[str, str] = {
    "subject": "identifier (text or number; compared as text: `0001` and `1` differ)",
    "date": "date",
    "onset": "date, `YYYY-MM` or `YYYY`",
    "edss": "EDSS 0, 1.0, 1.5, ..., 9.5, 10",
    "fs": "FS grade (e.g. `3`, `2X`; `X`, `9`, `-1` = not assessed)",
    "integer": "whole number",
    "number": "number",
    "flag": "yes / no (blank = unknown)",
    "choice": "one of the listed values",
    "drug": "DMT name (generic or brand)",
    "instrument": "instrument name",
    "text": "text",
}


@dataclass(frozen=True)
class Column:
    """One column of a tidy table.

    ``aliases``: other header names read as this column (matched ignoring case, spaces,
    hyphens and underscores, like the column name itself). ``lo``/``hi``: inclusive range of
    numbers (``lo_open``: the lower bound itself is not allowed, e.g. seconds > 0).
    ``measure``: a visit measurement (a visits row needs at least one).
    """

    name: str
    kind: Kind
    description: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    unit: str = ""
    measure: bool = False
    section: str = ""

    def type_text(self) -> str:
        text = KIND_TEXT[self.kind]
        if self.kind == "choice":
            text = ", ".join(f"`{a}`" for a in self.allowed)
        elif self.kind in ("integer", "number") and (self.lo is not None or self.hi is not None):
            lo = "" if self.lo is None else f"{self.lo:g}"
            hi = "" if self.hi is None else f"{self.hi:g}"
            op = ">" if self.lo_open else ">="
            if self.hi is None:
                text = f"{text} {op} {lo}"
            elif self.lo is None:
                text = f"{text} <= {hi}"
            else:
                text = f"{text} {lo}-{hi}" if not self.lo_open else f"{text} > {lo}, <= {hi}"
        if self.unit:
            text += f" ({self.unit})"
        return text


@dataclass(frozen=True)
class TableSchema:
    """A tidy table: its columns and how rows are identified.

    ``key``: columns identifying a row; rows repeating a key are merged when their values
    agree or complement each other and are an error when they conflict (``None``: repeats are
    allowed, e.g. relapse rows, which relapse hygiene folds, rules §3.1).
    ``signature``: columns that only this table has, used to tell a wrong file or sheet
    ("this looks like a visits table") before reading it as something else.
    """

    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] | None = None
    signature: tuple[str, ...] = ()
    derived: tuple[tuple[str, str], ...] = field(default=())

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.measure)


_SUBJECT = Column("subject", "subject", "patient identifier, the same in every table",
                  required=True, aliases=("id", "patient", "patient_id", "subject_id"))

FS_SYSTEMS: tuple[str, ...] = ("pyramidal", "cerebellar", "brainstem", "sensory",
                               "bowel_bladder", "visual", "cerebral")
_FS_RANGE = {"pyramidal": 6, "cerebellar": 5, "brainstem": 5, "sensory": 6,
             "bowel_bladder": 6, "visual": 6, "cerebral": 5}

PATIENTS = TableSchema(
    "patients", "patients (one row per patient)",
    "Facts about the person that do not change from visit to visit. Needed by the clinic and "
    "by age- and duration-based scores.",
    (
        _SUBJECT,
        Column("birth_date", "date", "date of birth (a year-only registry can use 1 July)",
               aliases=("dob", "date_of_birth", "birthdate")),
        Column("sex", "choice", "sex recorded at birth", allowed=("female", "male", "other"),
               aliases=("gender",)),
        Column("onset_date", "date", "date of the first MS symptoms (disease onset)",
               aliases=("ms_onset", "ms_onset_date", "symptom_onset")),
        Column("diagnosis_date", "date", "date of the MS diagnosis",
               aliases=("dx_date", "date_of_diagnosis")),
        Column("phenotype_at_diagnosis", "choice",
               "clinical course at diagnosis (Lublin 2014; rules §6.1)",
               allowed=("RIS", "CIS", "RRMS", "SPMS", "PPMS"),
               aliases=("phenotype", "course_at_diagnosis")),
        Column("course", "choice", "the clinician's current course (Lublin 2014); computed "
               "descriptors never replace it (rules §6.1)",
               allowed=("RIS", "CIS", "RRMS", "SPMS", "PPMS"), aliases=("current_course",)),
    ),
    key=("subject",),
    signature=("birth_date", "sex", "diagnosis_date", "phenotype_at_diagnosis"),
)

VISITS = TableSchema(
    "visits", "visits (clinical assessments, one row per patient and date)",
    "One row per clinical assessment. A row needs at least one measurement; repeated rows of "
    "a patient and date are merged when their values agree or complement each other and are "
    "an error when they conflict.",
    (
        _SUBJECT,
        Column("date", "date", "date of the assessment", required=True,
               aliases=("visit_date", "assessment_date")),
        Column("edss", "edss", "EDSS as rated (0.5 does not exist; values are never rounded)",
               measure=True, section="1.1"),
        Column("edss_method", "choice", "how the EDSS was rated (stored, not recomputed)",
               allowed=("neurostatus_16", "neurostatus_12", "kurtzke_1983", "unknown"),
               section="1.3"),
        *(Column(f"fs_{s}", "fs", f"{s.replace('_', '/')} functional-system grade as rated "
                 f"(0-{_FS_RANGE[s]}; marker `X` allowed)", measure=True, section="1.2",
                 hi=_FS_RANGE[s])
          for s in FS_SYSTEMS),
        Column("ambulation", "integer", "Neurostatus ambulation score", lo=0, hi=16,
               measure=True, section="1.3"),
        Column("t25fw", "number", "timed 25-foot walk, mean of two trials", lo=0, lo_open=True,
               unit="seconds", measure=True, section="2.2", aliases=("t25w", "t25fwt")),
        Column("nhpt", "number", "9-hole peg test, mean of both hands", lo=0, lo_open=True,
               unit="seconds", measure=True, section="2.2", aliases=("9hpt",)),
        Column("nhpt_dominant", "number", "9-hole peg test, dominant hand", lo=0,
               lo_open=True, unit="seconds", measure=True, section="2.2",
               aliases=("9hpt_dominant", "nhpt_d")),
        Column("nhpt_nondominant", "number", "9-hole peg test, non-dominant hand", lo=0,
               lo_open=True, unit="seconds", measure=True, section="2.2",
               aliases=("9hpt_nondominant", "nhpt_nd")),
        Column("sdmt", "integer", "Symbol Digit Modalities Test, correct answers", lo=0,
               hi=110, measure=True, section="2.2"),
        Column("pasat", "integer", "PASAT-3, correct answers", lo=0, hi=60, measure=True,
               section="7.1", aliases=("pasat3",)),
    ),
    key=("subject", "date"),
    signature=("edss", "fs_pyramidal", "ambulation", "t25fw", "sdmt", "nhpt", "pasat"),
)

RELAPSES = TableSchema(
    "relapses", "relapses (one row per reported attack)",
    "One row per attack as reported. Relapse hygiene (rules §3.1) decides which rows count: "
    "pseudo-relapses, episodes under 24 h and single paroxysmal episodes are removed and "
    "attacks with onsets under 30 days apart are merged, every removed row with its reason.",
    (
        _SUBJECT,
        Column("date", "onset", "onset: a full date, or `YYYY-MM` / `YYYY` when only the "
               "month or year is known (an interval of possible days, rules §2.7.2)",
               required=True, aliases=("onset", "onset_date", "relapse_date", "onset_start"),
               section="2.7.2"),
        Column("date_end", "date", "latest possible onset day of an explicit range",
               aliases=("onset_end",), section="2.7.2"),
        Column("resolved_date", "date", "end of the episode, if recorded", section="3.1",
               aliases=("end_date", "resolution_date")),
        Column("duration_hours", "number", "how long the symptoms lasted", lo=0,
               unit="hours", section="3.1"),
        Column("pseudo", "flag", "pseudo-relapse: symptoms explained by fever or infection",
               section="3.1", aliases=("pseudo_relapse",)),
        Column("fever", "flag", "fever at onset (a pseudo-relapse)", section="3.1"),
        Column("infection", "flag", "infection at onset (a pseudo-relapse)", section="3.1"),
        Column("paroxysmal", "flag", "a single paroxysmal episode (not a relapse)",
               section="3.1"),
        Column("objective", "flag", "confirmed on examination by a clinician", section="3.1"),
        Column("severity", "choice", "clinician's severity label",
               allowed=("mild", "moderate", "severe"), section="3.2"),
        Column("steroids", "flag", "treated with high-dose steroids", section="3.2"),
        Column("plex", "flag", "treated with plasma exchange", section="3.2"),
        Column("hospitalised", "flag", "admitted to hospital for the relapse", section="3.2",
               aliases=("hospitalized",)),
        Column("symptoms", "text", "symptoms, `;`-separated", section="3.1"),
        Column("fs_affected", "text", "functional systems affected, `;`-separated",
               section="3.2"),
        Column("relapse_visit_date", "date", "date of the visit that rated the relapse "
               "(used with `recovery.peak_source = designated_relapse_visit`)", section="3.3"),
    ),
    key=None,
    signature=("date_end", "pseudo", "fever", "infection", "paroxysmal", "objective",
               "severity", "steroids", "plex", "hospitalised", "duration_hours",
               "resolved_date"),
    derived=(
        ("date", "earliest possible onset day (a full date: that day)"),
        ("date_end", "latest possible onset day (= `date` for a full date)"),
        ("precision", "`day`, `month`, `year` or `range` (explicit `date_end`)"),
        ("source_row", "the row in the source (spreadsheet row, or the DataFrame's index "
                       "label), so that relapse hygiene names removed rows in the user's "
                       "numbering"),
    ),
)

MRI = TableSchema(
    "mri", "mri (one row per read scan)",
    "One row per read scan; counts compare the scan with its comparator scan. A blank count "
    "is unknown, never zero.",
    (
        _SUBJECT,
        Column("date", "date", "scan date", required=True, aliases=("scan_date",)),
        Column("comparator_date", "date", "date of the scan the counts compare with (blank: "
               "no comparator, so new/enlarging counts are unknown)", section="9",
               aliases=("reference_scan_date", "comparator")),
        Column("contrast", "flag", "gadolinium given. Blank: given when a `gd` count is "
               "recorded, else unknown; no: the `gd` count is unknown, never 0 (rules §0.3)",
               section="9", aliases=("gadolinium", "contrast_given")),
        Column("gd", "integer", "Gd-enhancing (contrast-enhancing) lesions", lo=0,
               section="9", aliases=("gd_lesions", "cel")),
        Column("new_t2", "integer", "new T2 lesions vs the comparator (without an "
               "`enlarging_t2` column: new or enlarging)", lo=0, section="9"),
        Column("enlarging_t2", "integer", "unequivocally enlarging T2 lesions vs the "
               "comparator", lo=0, section="9"),
        Column("gd_brain", "integer", "Gd-enhancing lesions in the brain only (with "
               "`count_spinal_cord = false`)", lo=0, section="9"),
        Column("new_t2_brain", "integer", "new T2 lesions in the brain only", lo=0,
               section="9"),
        Column("enlarging_t2_brain", "integer", "enlarging T2 lesions in the brain only", lo=0,
               section="9"),
        Column("combined_unique_active", "integer", "combined unique active lesions", lo=0,
               section="5.2"),
        Column("spinal_cord", "flag", "the scan covers the spinal cord (its lesions are in "
               "the counts)", section="9"),
        Column("pbvc", "number", "percentage brain volume change vs the comparator "
               "(negative = loss)", unit="%", lo=-100, hi=100, section="4.2"),
        Column("same_protocol", "flag", "no: scanner or protocol changed since the "
               "comparator", section="4.2"),
    ),
    key=("subject", "date"),
    signature=("comparator_date", "contrast", "gd", "new_t2", "enlarging_t2", "pbvc"),
)

TREATMENTS = TableSchema(
    "treatments", "treatments (one row per disease-modifying therapy course)",
    "One row per DMT course; treatment epochs (rules §8.3) are derived from them.",
    (
        _SUBJECT,
        Column("drug", "drug", "drug name from the catalogue, generic or brand, any case",
               required=True, aliases=("dmt", "treatment", "medication"), section="8.1"),
        Column("start", "date", "first dose", required=True,
               aliases=("start_date", "date_start"), section="8.3"),
        Column("stop", "date", "last dose (blank: ongoing)",
               aliases=("stop_date", "end", "end_date", "date_stop"), section="8.3"),
        Column("stop_reason", "choice", "why the course stopped",
               allowed=("inefficacy", "adverse_event", "patient_choice", "pregnancy",
                        "other"), aliases=("reason", "discontinuation_reason"), section="8.3"),
        Column("dosing_interval_days", "number", "overrides the catalogue's dosing interval "
               "for this course (e.g. 42 for extended-interval natalizumab)", lo=0,
               lo_open=True, unit="days", section="8.3"),
    ),
    key=("subject", "drug", "start"),
    signature=("drug", "start", "stop", "stop_reason"),
)

PROS = TableSchema(
    "pros", "pros (patient-reported outcomes, one row per item answer)",
    "One row per answered item; scores are computed by the rules (rules §7).",
    (
        _SUBJECT,
        Column("date", "date", "date answered", required=True),
        Column("instrument", "instrument", "`MFIS`, `MFIS-5`, `FSS`, `MSIS-29v1`, "
               "`MSIS-29v2`, `MSWS-12v1`, `MSWS-12v2`, `spasticity_nrs`, `ashworth`",
               required=True, aliases=("questionnaire",), section="7"),
        Column("item", "text", "item number (1-based) or a named item (e.g. the muscle group "
               "for Ashworth)", required=True, section="7"),
        Column("response", "text", "the answer as given (a number, or `1+` for Modified "
               "Ashworth)", required=True, aliases=("answer", "value"), section="7.8"),
    ),
    key=("subject", "date", "instrument", "item"),
    signature=("instrument", "item", "response"),
    derived=(
        ("item", "a whole number when every item is one, else text"),
        ("response", "a number when every answer is one, else text (e.g. `1+`)"),
        ("source_row", "the row in the source, so that scoring errors name it"),
    ),
)

#: Safety laboratory tests the DMT catalogue schedules (rules §14.4), with the spellings
#: registries use for them (matched ignoring case, spaces and punctuation).
LAB_TESTS: dict[str, str] = {
    "cbc": "complete (full) blood count with differential, including the lymphocyte count",
    "liver": "liver tests: transaminases (ALT, AST) and bilirubin",
    "creatinine": "serum creatinine",
    "urinalysis": "urinalysis with cell counts",
    "thyroid": "thyroid function (TSH)",
    "jcv_antibody": "anti-JC virus antibody (and index)",
    "immunoglobulins": "serum immunoglobulins (IgG, IgM, IgA)",
    "hbv": "hepatitis B serology",
    "vzv_antibody": "varicella zoster virus antibodies",
    "other": "any other test (never matches a schedule)",
}
LAB_TEST_SYNONYMS: dict[str, str] = {
    "fbc": "cbc", "full blood count": "cbc", "complete blood count": "cbc",
    "blood count": "cbc", "differential": "cbc", "lymphocytes": "cbc",
    "lymphocyte count": "cbc", "alc": "cbc",
    "alt": "liver", "ast": "liver", "lft": "liver", "lfts": "liver", "liver enzymes": "liver",
    "liver function tests": "liver", "transaminases": "liver", "bilirubin": "liver",
    "serum creatinine": "creatinine",
    "urine": "urinalysis", "urine test": "urinalysis",
    "tsh": "thyroid", "thyroid function": "thyroid", "tft": "thyroid",
    "jcv": "jcv_antibody", "anti jcv": "jcv_antibody", "jcv index": "jcv_antibody",
    "igg": "immunoglobulins", "serum immunoglobulins": "immunoglobulins",
    "hepatitis b": "hbv", "hbsag": "hbv",
    "vzv": "vzv_antibody", "varicella": "vzv_antibody",
}

LABS = TableSchema(
    "labs", "labs (safety laboratory tests, one row per test and date)",
    "One row per laboratory test done. The DMT catalogue's lab schedule (rules §14.4) says "
    "which tests a drug needs and how often; a lab is due when the drug's interval since the "
    "last test of that kind has passed. Spellings such as `ALT`, `FBC` or `TSH` are read as "
    "the test they belong to.",
    (
        _SUBJECT,
        Column("date", "date", "date the sample was taken", required=True,
               aliases=("lab_date", "sample_date"), section="14.4"),
        Column("test", "choice", "which test: " + "; ".join(
            f"`{k}` = {v}" for k, v in LAB_TESTS.items()), required=True,
               allowed=tuple(LAB_TESTS), aliases=("lab", "lab_test", "analyte"),
               section="14.4"),
        Column("result", "text", "the result as reported (value and unit, or words such as "
               "`negative`); kept as entered, not interpreted", aliases=("lab_result",),
               section="14.4"),
    ),
    key=("subject", "date", "test"),
    signature=("test",),
)

FOLLOWUP = TableSchema(
    "followup", "followup (optional: periods in which relapses were recorded)",
    "Relapse ascertainment (rules §2.7.2): a relapse can only be known to be absent inside "
    "these periods. Default: first to last clinical visit.",
    (
        _SUBJECT,
        Column("start", "date", "start of the period", required=True),
        Column("end", "date", "end of the period (blank: ongoing)"),
    ),
    key=None,
    signature=(),
)

SCHEMAS: dict[str, TableSchema] = {
    s.name: s for s in (PATIENTS, VISITS, RELAPSES, MRI, TREATMENTS, PROS, LABS, FOLLOWUP)
}


def data_model_markdown() -> str:
    """``docs/data-model.md``, written from the schemas."""
    out = [
        "# neda's tidy tables (the contract between readers, rules and screens)",
        "",
        "Generated from `neda.io.schema` (`neda data-model > docs/data-model.md`); a "
        "test keeps this file in step with the code. Every entry point (the Python functions, "
        "the `neda` commands, the web import) reads tables through the same validated readers "
        "in `neda.io`, so a table means the same thing everywhere.",
        "",
        "How cells are read (rules §0.3):",
        "",
        "- Header names match ignoring case, spaces, hyphens and underscores; the aliases "
        "listed are read as the column. Other columns are kept as they are and never used by "
        "a rule.",
        "- A blank cell (or `NA`, `N/A`, `NaN`, `null`, `none`) is *unknown*: never zero, "
        "never no.",
        "- Dates are ISO 8601 (`2024-03-05`) unless a date format is given (`%d/%m/%Y`); day "
        "and month are never guessed. Dates before 1900 or after the data cut-off (default: "
        "today) are errors. Whole numbers in a date column are refused unless a date unit and "
        "origin are given.",
        "- Numbers accept a decimal comma in `;`- or tab-separated files (or with "
        "`decimal=','`).",
        "- Yes/no flags accept `yes`/`no`, `y`/`n`, `true`/`false`, `1`/`0` in any case.",
        "- Subject identifiers are compared as text across tables: `0001` and `1` are "
        "different patients; when no identifier matches the run stops with an example of "
        "each side.",
        "- Files: CSV (separator and encoding detected; UTF-8 with or without BOM, "
        "Windows-1252), Excel (`sheet=`), Parquet, or pandas / polars DataFrames. Fully blank "
        "rows are skipped; every other problem stops the read with file, sheet, row, column, "
        "value and what was expected, all problems at once.",
        "",
    ]
    for schema in SCHEMAS.values():
        out += [f"## {schema.title}", "", schema.description, ""]
        if schema.key:
            out += [f"Rows are identified by {', '.join(f'`{k}`' for k in schema.key)}.", ""]
        out += ["| column | required | type | meaning | also read from |",
                "|---|---|---|---|---|"]
        for c in schema.columns:
            see = f" (rules §{c.section})" if c.section else ""
            aliases = ", ".join(f"`{a}`" for a in c.aliases)
            out.append(f"| `{c.name}` | {'yes' if c.required else ''} | {c.type_text()} | "
                       f"{c.description}{see} | {aliases} |")
        if schema.derived:
            out += ["", "After reading, the table has these columns in place of the raw onset:",
                    "", "| column | meaning |", "|---|---|"]
            out += [f"| `{name}` | {text} |" for name, text in schema.derived]
        out.append("")
    out += [
        "## treatment epochs (computed by `neda.rules.dmt.treatment_epochs`)",
        "",
        "| column | meaning |",
        "|---|---|",
        "| `subject`, `epoch` (1, 2, ...), `drug`, `route`, `drug_class`, `efficacy` | |",
        "| `start` | first dose (epoch start S, rules §4.0) |",
        "| `onset` | start + onset delay (rules §8.3) |",
        "| `end` | last day of the epoch (inclusive): stop + dosing interval + carry-over, or "
        "the day before the next epoch's start, whichever is first; blank = ongoing |",
        "| `end_reason` | `switch`, `stop`, `ongoing`, ... |",
        "",
    ]
    return "\n".join(out)
