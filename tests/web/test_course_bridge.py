"""The bridge to the core (``neda.web.clinic.course``): one answer whichever way a patient's
course is computed. The list computes the whole clinic at once; a patient's overview then
takes its course from that computation while the clinic's data are unchanged, and computes
the patient alone otherwise. Both must give the same course."""

from __future__ import annotations

import re
from typing import Any

from django.core.cache import cache

from neda.web.clinic import course as bridge
from neda.web.clinic.models import Clinic, Patient, Relapse


def _courses(patients: list[Patient]) -> dict[int, dict[str, Any]]:
    cache.clear()  # the patients' cached courses; the clinic's course is kept
    return {p.pk: bridge.course_for(p) for p in patients}


def test_a_course_from_the_clinic_equals_the_course_computed_alone(db: Any) -> None:
    clinic = Clinic.objects.get(name="Demo MS clinic")
    patients = list(Patient.objects.filter(clinic=clinic).order_by("pk"))
    alone = _courses(patients)
    cache.clear()
    overview = bridge.clinic_overview(clinic)
    assert len(overview) and overview.attrs["input_error"] is None
    assert bridge._CLINIC_SUMMARIES[clinic.pk].groups  # the clinic's computation is kept
    for p in patients:
        with_visits = not alone[p.pk].get("no_visits")
        assert (bridge._clinic_summary_with(p, bridge.options_today()) is not None) == \
            with_visits, p.pk
    from_clinic = _courses(patients)
    for pk, course in alone.items():
        assert _differences(from_clinic[pk], course) == [], pk
    assert from_clinic == alone  # the same types too


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in _differences(a.get(k, "<missing>"), b.get(k, "<missing>"),
                                      f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_after_a_change_the_patient_is_computed_alone(db: Any) -> None:
    clinic = Clinic.objects.get(name="Demo MS clinic")
    cache.clear()
    bridge.clinic_overview(clinic)
    patient = Relapse.objects.filter(patient__clinic=clinic).first().patient  # type: ignore[union-attr]
    before = bridge.course_for(patient)
    assert bridge._clinic_summary_with(patient, bridge.options_today()) is not None
    Relapse.objects.filter(patient=patient).update(status="rejected")
    patient.touch()
    patient.refresh_from_db()
    assert bridge._clinic_summary_with(patient, bridge.options_today()) is None
    after = bridge.course_for(patient)
    assert after["data_version"] == before["data_version"] + 1
    assert after != before


def test_only_confirmed_and_pseudo_relapses_reach_the_rules(db: Any) -> None:
    """A patient's report (``reported``) and a rejected one reach no rule; a pseudo-relapse
    reaches relapse hygiene flagged as such. The statuses are named in one place."""
    import pathlib

    from neda.web.clinic.models import COUNTED_RELAPSE_STATUSES, RELAPSE_STATUS

    assert set(COUNTED_RELAPSE_STATUSES) == {"confirmed", "pseudo"}
    patient = Patient.objects.filter(clinic__name="Demo MS clinic",
                                     relapses_recorded=True).order_by("pk")[0]
    Relapse.objects.filter(patient=patient).delete()
    onsets = {}
    for i, (status, _) in enumerate(RELAPSE_STATUS):
        onset = f"201{i}-06-15"
        Relapse.objects.create(patient=patient, onset=onset, status=status)
        onsets[onset] = status
    rel = bridge.tables_for([patient]).relapses
    assert rel is not None
    read = {d.strftime("%Y-%m-%d"): bool(p) for d, p in zip(rel["date"], rel["pseudo"],
                                                             strict=True)}
    assert read == {o: s == "pseudo" for o, s in onsets.items()
                    if s in COUNTED_RELAPSE_STATUSES}
    # one place: no other module of the site names the counted statuses itself
    web = pathlib.Path(bridge.__file__).parents[1]
    for path in web.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"status__in=\(\s*\"confirmed\"", text), path
        assert '("confirmed", "pseudo")' not in text or path.name == "models.py", path
