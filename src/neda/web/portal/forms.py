"""The diary's forms (patient side) and the clinic's settings of it (goal, schedule). Labels
are the lay words of :data:`.models.DIARY_SYMPTOMS`; end-to-end tests find fields by them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from neda.web.clinic.models import SymptomTreatment

from .models import (
    DIARY_SYMPTOMS,
    ExerciseGoal,
    ExerciseSession,
    QuestionnaireSchedule,
)
from .questionnaires import QUESTIONNAIRES, Questionnaire

SCALE = [(i, str(i)) for i in range(11)]
EFFORT = [("", "-")] + [(i, f"{i} - {w}" if w else str(i)) for i, w in (
    (0, "rest"), (1, "very easy"), (2, "easy"), (3, "moderate"), (4, ""), (5, "hard"), (6, ""),
    (7, "very hard"), (8, ""), (9, ""), (10, "the hardest you can"))]
#: How far back a patient may date an entry (a diary is kept close to the day).
MAX_DAYS_BACK = 60


def _chosen(field: forms.BoundField) -> str:
    value = field.value()
    return "" if value is None else str(value)


class _Dated(forms.Form):
    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))

    def clean_date(self) -> dt.date:
        day: dt.date = self.cleaned_data["date"]
        today = timezone.localdate()
        if day > today:
            raise forms.ValidationError("The date is in the future: give today or an earlier day.")
        if day < today - dt.timedelta(days=MAX_DAYS_BACK):
            raise forms.ValidationError(
                f"The date is more than {MAX_DAYS_BACK} days ago: tell your MS team at your "
                "next visit instead.")
        return day


class SymptomForm(_Dated):
    """Today's symptoms: each a row of 0-10 buttons, all optional (skip what you like)."""

    note = forms.CharField(label="Anything else (optional)", required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, label, low, high in DIARY_SYMPTOMS:
            self.fields[code] = forms.TypedChoiceField(
                label=label, choices=SCALE, coerce=int, required=False, empty_value=None,
                widget=forms.RadioSelect(attrs={"class": "scale"}),
                help_text=f"0 = {low}, 10 = {high}")
        self.order_fields(["date", *(c for c, *_ in DIARY_SYMPTOMS), "note"])

    def symptom_rows(self) -> list[dict[str, Any]]:
        """Each symptom's field with its chosen value as text: the template writes the eleven
        buttons itself (77 radio widgets rendered one by one took most of the page's time)."""
        return [{"field": self[code], "chosen": _chosen(self[code]),
                 "choices": [str(i) for i in range(11)]} for code, *_ in DIARY_SYMPTOMS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(code) is not None for code, *_ in DIARY_SYMPTOMS):
            raise forms.ValidationError("Choose a number for at least one symptom.")
        return data


class ExerciseForm(forms.ModelForm):
    class Meta:
        model = ExerciseSession
        fields = ["date", "kind", "minutes", "effort"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}),
                   "minutes": forms.NumberInput(attrs={"inputmode": "numeric", "min": 1,
                                                       "max": 600})}
        labels = {"date": "Date"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["minutes"].widget.attrs["min"] = 1  # the model's field says 0
        self.fields["effort"] = forms.TypedChoiceField(
            label=self.fields["effort"].label, choices=EFFORT, coerce=int, required=False,
            empty_value=None, help_text="Borg CR10 scale")

    clean_date = _Dated.clean_date


class AdherenceForm(_Dated):
    taken = forms.TypedChoiceField(
        label="Did you take your dose?", coerce=lambda v: v == "yes",
        choices=[("yes", "Yes, I took it"), ("no", "No, I missed it")],
        widget=forms.RadioSelect)
    reason = forms.CharField(label="Why was it missed? (optional)", required=False,
                             max_length=200)


class _MedicineChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.drug} ({obj.get_symptom_display()})"


class SymptomMedicationForm(_Dated):
    symptom_treatment = _MedicineChoice(
        label="Medicine", queryset=SymptomTreatment.objects.none(), required=False,
        empty_label="- other (name it below) -")
    name = forms.CharField(label="Medicine (if not in the list)", required=False, max_length=100)

    def __init__(self, *args: Any, treatments: list[SymptomTreatment] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = [t.pk for t in treatments or []]
        field = self.fields["symptom_treatment"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = SymptomTreatment.objects.filter(pk__in=ids)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("symptom_treatment") is None and not (data.get("name") or "").strip():
            raise forms.ValidationError("Choose the medicine from the list or write its name.")
        return data


class QuestionnaireForm(forms.Form):
    """Every item of one questionnaire, each a required choice (``item_1``, ``item_2`` ...)."""

    def __init__(self, questionnaire: Questionnaire, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        for n, text in enumerate(questionnaire.items, start=1):
            self.fields[f"item_{n}"] = forms.TypedChoiceField(
                label=f"{n}. {text}", choices=questionnaire.options, coerce=int,
                widget=forms.RadioSelect, error_messages={
                    "required": "Answer this question (choose the nearest answer)."})

    def item_rows(self) -> list[dict[str, Any]]:
        """Each item's field, its chosen answer as text and the options (value, words); the
        template writes the radio buttons itself (see :meth:`SymptomForm.symptom_rows`)."""
        options = [(str(v), words) for v, words in self.questionnaire.options]
        return [{"field": self[f"item_{n}"], "chosen": _chosen(self[f"item_{n}"]),
                 "options": options} for n in range(1, len(self.questionnaire.items) + 1)]

    def answers(self) -> dict[int, int]:
        return {n: self.cleaned_data[f"item_{n}"]
                for n in range(1, len(self.questionnaire.items) + 1)}


class ExerciseGoalForm(forms.ModelForm):
    class Meta:
        model = ExerciseGoal
        fields = ["minutes_per_week"]


class ScheduleForm(forms.Form):
    """Every how many weeks each portal questionnaire is due (blank = not scheduled)."""

    def __init__(self, *args: Any, current: dict[str, int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, q in QUESTIONNAIRES.items():
            self.fields[code] = forms.IntegerField(
                label=f"{q.title}: every how many weeks", required=False, min_value=1,
                max_value=520, initial=(current or {}).get(code))

    def save(self, clinic: Any, patient: Any = None) -> None:
        for code in QUESTIONNAIRES:
            weeks = self.cleaned_data.get(code)
            rows = QuestionnaireSchedule.objects.filter(clinic=clinic, patient=patient,
                                                        instrument=code)
            if weeks is None:
                for row in rows:
                    row.delete()
            else:
                QuestionnaireSchedule.objects.update_or_create(
                    clinic=clinic, patient=patient, instrument=code,
                    defaults={"every_weeks": weeks})
