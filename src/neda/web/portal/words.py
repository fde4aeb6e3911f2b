"""The portal's words: one place for what a person with MS reads about their course.

Every lay statement of the portal is keyed to a :data:`DEFINITIONS` entry, and every entry
names the section of ``docs/rules.md`` whose rule computed the value, with the clinician's
definition beside the lay one; the portal's definitions page renders this table and every
statement links to its entry (``/portal/definitions/#<key>``). These words explain what the
rules found; they never recommend anything. They word values the core computed and compute
nothing themselves (the clinic's words for its staff are in
:mod:`neda.web.clinic.templatetags.clinic_tags`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neda.io.schema import FS_SYSTEMS

#: The systems in the order the report form lists them (the reader's codes, checked by a test).
SYSTEMS = FS_SYSTEMS


@dataclass(frozen=True)
class Definition:
    """One term: the clinician's word, its definition for the clinic, the lay explanation,
    and the section of docs/rules.md that decides it."""

    key: str
    term: str
    clinical: str
    lay: str
    section: str


DEFINITIONS: dict[str, Definition] = {d.key: d for d in (
    Definition(
        "therapy", "Disease-modifying therapy (DMT) and treatment epoch",
        "A DMT of the catalogue from its start to its stop; each therapy opens a treatment "
        "epoch whose NEDA is judged per treatment year from its start.",
        "A medicine taken to make MS attacks and new damage less likely. Your summary is "
        "worked out separately for each medicine, from the day you started it.",
        "4.0"),
    Definition(
        "neda", "NEDA-3 (no evidence of disease activity)",
        "No protocol-defined relapse, no confirmed disability worsening and no MRI activity "
        "(new or enlarging T2 or Gd-enhancing lesions) in the window; judged per completed "
        "treatment year. Three-valued: yes, no, or unknown when a component lacks the data "
        "to decide.",
        "Doctors call a year 'quiet' (NEDA) when there was no relapse, no lasting worsening "
        "and no new or active spots on the MRI. It is judged for each full year on the "
        "same medicine.",
        "4.1"),
    Definition(
        "unknown", "Unknown (missing data)",
        "A component without the data to decide (e.g. no MRI with comparator in the window, "
        "no EDSS to confirm a worsening) is unknown, never 'no activity'; a composite with an "
        "unknown component and no activity is unknown.",
        "'Not known' means there was not enough information (for example no MRI scan in that "
        "year) to say. It does not mean that the MS was quiet, and it does not mean that it "
        "was active.",
        "4.4"),
    Definition(
        "relapse", "Relapse",
        "New or returning neurological symptoms lasting at least 24 hours, in the absence of "
        "fever or infection, at least 30 days after the onset of the previous relapse; "
        "attacks with onsets under 30 days apart are one relapse.",
        "An attack of new or returning MS symptoms that lasts at least a day, without a fever "
        "or an infection to explain it.",
        "3.1"),
    Definition(
        "pseudo_relapse", "Pseudo-relapse",
        "A worsening of symptoms explained by fever, infection or another trigger (heat, "
        "stress); removed by relapse hygiene and never counted as a relapse.",
        "Old symptoms can come back for a while during a fever or an infection, or in heat. "
        "This is called a pseudo-relapse: it is not new MS activity and is not counted as a "
        "relapse.",
        "3.1"),
    Definition(
        "reported_relapse", "Patient-reported relapse (review status)",
        "A relapse the patient reported through the portal is stored with status 'reported' "
        "and reaches no rule until the clinic confirms it (it then counts) or judges it a "
        "pseudo-relapse (relapse hygiene removes it); a rejected report never counts.",
        "A possible relapse you report waits for your clinic to look at it. Until then it is "
        "not part of your summary. Your clinic confirms it, judges it a pseudo-relapse, or "
        "decides it was not a relapse.",
        "3.1"),
    Definition(
        "recovery", "Recovery after a relapse (remission)",
        "Complete recovery (full remission) when the EDSS after the relapse is back to or "
        "below the value before it; a residual deficit otherwise; not assessable without an "
        "EDSS before and after. Recovery is of function as measured, not repair of tissue.",
        "How far you recovered is judged by how well you function afterwards compared with "
        "before the relapse (your EDSS). Full recovery of function does not mean that the "
        "damage in the nervous system was repaired.",
        "3.3"),
    Definition(
        "edss", "EDSS (Expanded Disability Status Scale)",
        "Kurtzke's scale from 0 (normal neurological examination) to 10 (death due to MS) in "
        "half steps, rated from the functional systems and ambulation.",
        "The score neurologists use to describe disability from MS, from 0 (a normal "
        "examination) to 10. Up to about 4 it mostly reflects the examination; above that it "
        "mostly reflects how far you can walk.",
        "1"),
    Definition(
        "t25fw", "Timed 25-foot walk (T25FW)",
        "Mean time of two trials walking 25 feet (7.6 m) as fast as safely possible; a "
        "worsening of at least 20 % confirmed later is a timed-test worsening.",
        "The time in seconds you take to walk 25 feet (about 7.6 metres) as quickly as you "
        "safely can. A longer time means slower walking.",
        "2.2"),
    Definition(
        "disability_worsening", "Confirmed disability worsening (CDW)",
        "An EDSS increase over the reference (1.5 from 0, 1.0 up to 5.5, 0.5 above) "
        "confirmed at a later visit at least the confirmation interval apart.",
        "A worsening counts as lasting only when it is still there at a later check-up, "
        "months apart. A single worse day or visit is not enough.",
        "2.3"),
    Definition(
        "mri_activity", "MRI activity",
        "New or enlarging T2 lesions against a comparator scan, or Gd-enhancing lesions; "
        "unknown without a comparator (T2) or without contrast (Gd).",
        "New or growing spots (lesions) on the MRI compared with an earlier scan, or spots "
        "that light up with contrast dye, show that MS has been active.",
        "4.1"),
    Definition(
        "relapse_last_year", "Relapse in the last 12 months",
        "At least one counted relapse with onset in the 365 days up to today, relapses being "
        "recorded continuously by the clinic.",
        "Whether your clinic has recorded a relapse in the past 12 months.",
        "14.2"),
)}


# ----------------------------------------------------------------------------- NEDA
#: NEDA-3 of a treatment year, three-valued, in lay words (None = not enough data).
NEDA_WORDS = {
    True: "quiet: no sign of MS activity",
    False: "there were signs of MS activity",
    None: "not known: not enough information to say",
}

#: The components of NEDA-3, as questions a lay reader understands, with their definitions.
NEDA_COMPONENTS = (
    ("relapse", "A relapse (an attack of new or returning symptoms)", "relapse"),
    ("disability", "A lasting worsening of disability", "disability_worsening"),
    ("mri", "New or active spots (lesions) on the MRI", "mri_activity"),
)

#: A component's status (True = no activity) in lay words.
COMPONENT_WORDS = {True: "none found", False: "yes", None: "not known (not enough information)"}


def neda_words(value: Any) -> str:
    return NEDA_WORDS[None if value is None else bool(value)]


def component_words(value: Any) -> str:
    return COMPONENT_WORDS[None if value is None else bool(value)]


# ------------------------------------------------------------------------- relapses
#: How a relapse recovered (``neda.rules.relapses`` recovery codes), in lay words.
RECOVERY_WORDS = {
    "complete": "function came back to where it was before",
    "incomplete": "some lasting effect remained",
}
RECOVERY_UNKNOWN = "not known yet (not enough check-ups around it)"


def recovery_words(code: Any) -> str:
    return RECOVERY_WORDS.get(str(code or ""), RECOVERY_UNKNOWN)


#: The review status of a relapse, as the patient reads it (every status of
#: ``clinic.models.RELAPSE_STATUS``).
RELAPSE_STATUS_WORDS = {
    "reported": "waiting for your clinic's review",
    "confirmed": "confirmed",
    "pseudo": "judged a pseudo-relapse",
    "rejected": "not a relapse",
}

#: The functional systems (``neda.io.schema.FS_SYSTEMS``, the codes of ``fs_affected``) as a
#: person notices them.
SYMPTOM_WORDS = {
    "visual": "Eyesight: blurred, dim or lost vision, pain on moving an eye",
    "brainstem": "Double vision, dizziness, slurred speech or trouble swallowing",
    "pyramidal": "Weakness or stiffness in an arm or leg",
    "cerebellar": "Balance, clumsiness or shaking (tremor)",
    "sensory": "Numbness, tingling, burning or pain",
    "bowel_bladder": "Bladder or bowel: urgency, leaking or retention",
    "cerebral": "Thinking, memory, concentration or mood",
}

#: How long the symptoms have lasted so far: (choice value, words, shortest duration in
#: hours stored as ``duration_hours``; None for under a day, whose duration is not known).
DURATION_CHOICES = (
    ("under_1_day", "Less than a day", None),
    ("1_day", "1 day", 24),
    ("2_days", "2 days", 48),
    ("3_6_days", "3 to 6 days", 72),
    ("1_week", "1 to 2 weeks", 168),
    ("2_weeks", "More than 2 weeks", 336),
)
