"""The questionnaires a patient fills in the portal, what their scores mean, and when one is
due.

Answers are stored as the clinic's :class:`~neda.web.clinic.models.ProAnswer` rows - the table
the course bridge hands to :mod:`neda.rules.pro` - and scored at once by the same scorer with
the clinic's options (:data:`neda.web.clinic.course.OPTIONS`): there is no second scorer.

Only instruments whose licence lets a free, open-source tool show their items are offered
(``docs/portal.md``, "Questionnaires and their licences"):

* **MFIS** (and its 5-item short form MFIS-5): part of the MS Quality of Life Inventory
  (MSQLI, Fisk 1994; Ritvo 1997), which the US National MS Society publishes for free use.
* **FSS**: copyright of its author (Krupp 1989); free for clinicians and non-profit research,
  charged for commercial use - not an open licence, so its items are not included.
* **MSIS-29**, **MSWS-12**: copyright of the Neurological Outcome Measures Unit (Hobart 2001,
  2003); permission must be obtained for each use (NINDS CDE notice of copyright) - not
  included. A clinic holding a licence records them on the clinic's PRO form; they are
  scored by the same :mod:`neda.rules.pro`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from neda.rules import pro
from neda.web.clinic.course import OPTIONS
from neda.web.clinic.models import Patient, ProAnswer

from .models import QuestionnaireSchedule

MFIS_OPTIONS = ((0, "Never"), (1, "Rarely"), (2, "Sometimes"), (3, "Often"),
                (4, "Almost always"))

#: The 21 statements of the MFIS in form order (MSQLI manual), each after "Because of my
#: fatigue during the past 4 weeks ...".
MFIS_ITEMS = (
    "I have been less alert.",
    "I have had difficulty paying attention for long periods of time.",
    "I have been unable to think clearly.",
    "I have been clumsy and uncoordinated.",
    "I have been forgetful.",
    "I have had to pace myself in my physical activities.",
    "I have been less motivated to do anything that requires physical effort.",
    "I have been less motivated to participate in social activities.",
    "I have been limited in my ability to do things away from home.",
    "I have trouble maintaining physical effort for long periods.",
    "I have had difficulty making decisions.",
    "I have been less motivated to do anything that requires thinking.",
    "My muscles have felt weak.",
    "I have been physically uncomfortable.",
    "I have had trouble finishing tasks that require thinking.",
    "I have had difficulty organizing my thoughts when doing things at home or at work.",
    "I have been less able to complete tasks that require physical effort.",
    "My thinking has been slowed down.",
    "I have had trouble concentrating.",
    "I have limited my physical activities.",
    "I have needed to rest more often or for longer periods.",
)


@dataclass(frozen=True)
class Questionnaire:
    """One instrument as the portal shows it."""

    code: str  # the canonical name of neda.rules.pro (stored in ProAnswer.instrument)
    title: str
    lead: str  # the sentence before every item
    items: tuple[str, ...]
    options: tuple[tuple[int, str], ...]
    minutes: int  # about how long it takes
    licence: str


QUESTIONNAIRES: dict[str, Questionnaire] = {
    "MFIS": Questionnaire(
        "MFIS", "Fatigue: how it affects your daily life (MFIS)",
        "Because of my fatigue during the past 4 weeks ...", MFIS_ITEMS, MFIS_OPTIONS, 8,
        "MSQLI (US National MS Society), free to use"),
    "MFIS-5": Questionnaire(
        "MFIS-5", "Fatigue, short form (MFIS-5)",
        "Because of my fatigue during the past 4 weeks ...",
        tuple(MFIS_ITEMS[i - 1] for i in pro.MFIS5_ITEMS), MFIS_OPTIONS, 2,
        "MSQLI (US National MS Society), free to use"),
}

#: Instruments scored by neda.rules.pro whose items the portal does not show, and why.
LEFT_OUT = {
    "FSS": "copyright of its author (Krupp 1989): free for clinicians and non-profit research, "
           "charged for commercial use",
    "MSIS-29": "copyright of the Neurological Outcome Measures Unit (Hobart 2001): permission "
               "must be obtained for use",
    "MSWS-12": "copyright of the Neurological Outcome Measures Unit (Hobart 2003): permission "
               "must be sought from the author",
}


def score_answers(code: str, answers: Mapping[int, int]) -> dict[str, Any]:
    """The scores of one response set, by :func:`neda.rules.pro.score_response_set` with the
    clinic's PRO options - the same scorer and options as the clinic's course."""
    scores = pro.score_response_set(code, answers, OPTIONS.pro)
    # a score that could not be computed is NaN in the scorer's table: None here
    return {k: None if isinstance(v, float) and v != v else v for k, v in scores.items()}


def save_answers(patient: Patient, code: str, day: dt.date,
                 answers: Mapping[int, int]) -> dict[str, Any]:
    """Store a response set as the clinic's PRO rows (replacing one of the same instrument
    and day) and return its scores."""
    with transaction.atomic():
        for old in ProAnswer.objects.filter(patient=patient, instrument=code, date=day):
            old.soft_delete()
        for item, response in sorted(answers.items()):
            ProAnswer(patient=patient, date=day, instrument=code, item=str(item),
                      response=str(response)).save()
    return score_answers(code, answers)


def stored_answers(patient: Patient, code: str, day: dt.date) -> dict[int, int]:
    """The answers stored for one instrument and day (item -> response)."""
    out = {}
    for item, response in ProAnswer.objects.filter(patient=patient, instrument=code,
                                                   date=day).values_list("item", "response"):
        if item.isdigit() and response.strip().lstrip("-").isdigit():
            out[int(item)] = int(response)
    return out


def history(patient: Patient, code: str) -> list[dict[str, Any]]:
    """Every response set of this instrument, oldest first, scored in one call of
    :func:`neda.rules.pro.score_pros` (the scorer of the whole table, same options)."""
    rows = list(ProAnswer.objects.filter(patient=patient, instrument=code)
                .values_list("date", "item", "response"))
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["date", "item", "response"])
    frame.insert(0, "subject", 0)
    frame.insert(2, "instrument", code)
    frame["date"] = pd.to_datetime(frame["date"])
    scored = pro.score_pros(frame, OPTIONS.pro)
    columns = ["instrument", "n_items", "items_answered", "scored", "reason",
               *pro.INSTRUMENT_COLUMNS[code]]
    out: list[dict[str, Any]] = []
    for record in scored[["date", *columns]].to_dict("records"):
        item = {str(k): None if isinstance(v, float) and v != v else v
                for k, v in record.items()}
        item["date"] = record["date"].date()
        out.append(item)
    return out


# --------------------------------------------------------------------------- what a score means
@dataclass(frozen=True)
class Reading:
    """A score worded for the person who gave it."""

    label: str
    value: float | None
    range: str
    note: str


def meaning(code: str, scores: Mapping[str, Any]) -> list[Reading]:
    """Each score with its range, its direction and the published threshold, if any
    (docs/rules.md §7.2)."""
    def val(key: str) -> float | None:
        v = scores.get(key)
        return None if v is None else round(float(v), 1)

    if code == "MFIS":
        total = val("mfis_total")
        if total is None:
            total_note = "Not enough questions were answered to add up a total."
        elif total >= 38:
            total_note = ("A total of 38 or more is often read as fatigue that matters in "
                          "daily life (Flachenecker 2002). Your MS team will look at it with you.")
        else:
            total_note = ("Below 38, the level from which fatigue is often read as mattering in "
                          "daily life (Flachenecker 2002).")
        return [
            Reading("Total", total, "0 to 84", "Higher means fatigue affects your life more. "
                    + total_note + " A change of about 16 points or more between two fillings "
                    "is more than the usual ups and downs."),
            Reading("Physical", val("mfis_physical"), "0 to 36",
                    "How fatigue affects what you do with your body."),
            Reading("Thinking", val("mfis_cognitive"), "0 to 40",
                    "How fatigue affects attention, memory and thinking."),
            Reading("Social", val("mfis_psychosocial"), "0 to 8",
                    "How fatigue affects going out and seeing people."),
        ]
    if code == "MFIS-5":
        return [Reading("Total", val("mfis5"), "0 to 20",
                        "Higher means fatigue affects your life more. There is no agreed "
                        "threshold for this short form: what matters is how it changes over "
                        "time.")]
    raise ValueError(f"no wording for questionnaire {code!r}")


def headline(code: str) -> str:
    """The score column shown as the questionnaire's one number (charts, reminders)."""
    return {"MFIS": "mfis_total", "MFIS-5": "mfis5"}[code]


# --------------------------------------------------------------------------------- reminders
@dataclass(frozen=True)
class Due:
    code: str
    title: str
    every_weeks: int
    last: dt.date | None
    due_on: dt.date


def schedules_for(patient: Patient) -> dict[str, int]:
    """Instrument -> every how many weeks, the patient's own schedule over the clinic's."""
    rows = QuestionnaireSchedule.objects.filter(
        Q(patient=patient) | Q(clinic_id=patient.clinic_id, patient__isnull=True)
    ).values_list("instrument", "every_weeks", "patient_id")
    out: dict[str, int] = {}
    own: set[str] = set()
    for instrument, weeks, patient_id in rows:
        if patient_id is not None:
            own.add(instrument)
            out[instrument] = weeks
        elif instrument not in own:
            out[instrument] = weeks
    return {k: v for k, v in out.items() if k in QUESTIONNAIRES}


def due_questionnaires(patient: Patient, today: dt.date | None = None) -> list[Due]:
    """The questionnaires due today by the clinic's schedule: never filled, or last filled
    at least the schedule's weeks ago. Two queries; the portal's banner calls this."""
    today = today or timezone.localdate()
    schedule = schedules_for(patient)
    if not schedule:
        return []
    last = dict(ProAnswer.objects.filter(patient=patient, instrument__in=list(schedule))
                .values("instrument").annotate(last=Max("date")).order_by()
                .values_list("instrument", "last"))
    out = []
    for code, weeks in sorted(schedule.items()):
        before = last.get(code)
        due_on = today if before is None else before + dt.timedelta(weeks=weeks)
        if due_on <= today:
            out.append(Due(code, QUESTIONNAIRES[code].title, weeks, before, due_on))
    return out
