"""The patient-reported lane of the clinician overview's time axis: diary symptom scores,
exercise minutes per week against the goal, and DMT doses taken or missed. The overview calls
:func:`patient_reported_lane` and draws what it returns (``overview-chart.js``); the same
values fill the table under the chart for readers without the chart."""

from __future__ import annotations

from typing import Any

from neda.web.clinic.models import Patient

from .diary import SYMPTOM_FIELDS, exercise_goal, unreviewed_count, weekly_minutes
from .models import DIARY_SYMPTOMS, AdherenceEntry, SymptomEntry


def patient_reported_lane(patient: Patient) -> dict[str, Any] | None:
    """The series of the lane (dates as ``YYYY-MM-DD``), or None when the patient has
    reported nothing: ``symptoms`` (per diary symptom its label and ``[date, score]`` pairs,
    scores 0-10, higher = worse), ``exercise`` (per week with a session its Monday, minutes
    and the goal), ``adherence`` (per entry its date, taken, and the drug) and
    ``unreviewed`` (entries the clinic has not reviewed)."""
    rows = list(SymptomEntry.objects.filter(patient=patient).order_by("date")
                .values_list("date", *SYMPTOM_FIELDS))
    symptoms = []
    for i, (code, label, *_) in enumerate(DIARY_SYMPTOMS, start=1):
        points = [[row[0].isoformat(), row[i]] for row in rows if row[i] is not None]
        if points:
            symptoms.append({"symptom": code, "label": label, "points": points})
    goal = exercise_goal(patient)
    exercise = [{"week": monday.isoformat(), "minutes": minutes, "goal": goal}
                for monday, minutes in weekly_minutes(patient).items()]
    adherence = [{"date": day.isoformat(), "taken": taken, "drug": drug or ""}
                 for day, taken, drug in AdherenceEntry.objects.filter(patient=patient)
                 .order_by("date", "pk").values_list("date", "taken", "treatment__drug")]
    if not (symptoms or exercise or adherence):
        return None
    return {"symptoms": symptoms, "exercise": exercise, "adherence": adherence, "goal": goal,
            "unreviewed": unreviewed_count(patient)}


def lane_table(lane: dict[str, Any] | None, last: int = 8) -> dict[str, Any]:
    """The latest values of the lane as the table under the chart shows them: per symptom its
    latest score and date, the latest ``last`` weeks of exercise, and the latest doses."""
    if lane is None:
        return {}
    return {
        "symptoms": [{"label": s["label"], "date": s["points"][-1][0],
                      "score": s["points"][-1][1], "entries": len(s["points"])}
                     for s in lane["symptoms"]],
        "exercise": lane["exercise"][-last:],
        "adherence": lane["adherence"][-last:],
        "missed": sum(1 for a in lane["adherence"] if not a["taken"]),
        "taken": sum(1 for a in lane["adherence"] if a["taken"]),
    }
