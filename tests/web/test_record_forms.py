"""The record forms: input read by neda.io's readers (errors on their fields, nothing saved),
the rules' warnings confirmed before saving, the data version bumped by every save, and
only editing roles of the patient's clinic let in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from neda.web.clinic.course import course_for
from neda.web.clinic.models import (
    MriScan,
    Patient,
    ProAnswer,
    Relapse,
    SymptomTreatment,
    Treatment,
    Visit,
)

from .conftest import login


@pytest.fixture
def relapsing(db: Any) -> Patient:
    """A demo patient with relapses (the latest on 2021-08-28)."""
    return Patient.objects.get(clinic__name="Demo MS clinic", subject="10")


def add_url(patient: Patient, table: str) -> str:
    return reverse("record_add", args=[patient.public_id, table])


def edit_url(patient: Patient, table: str, pk: int) -> str:
    return reverse("record_edit", args=[patient.public_id, table, pk])


def version(patient: Patient) -> int:
    patient.refresh_from_db(fields=["data_version"])
    return patient.data_version


def errors_of(response: Any) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in response.context["form"].errors.items()}


VISIT = {"date": "2026-07-15", "edss": "3.5", "edss_method": "", "t25fw": "7.5"}


# --------------------------------------------------------------------------- saving
def test_a_visit_is_saved_as_read_and_the_course_changes(nurse: Client,
                                                         demo_patient: Patient) -> None:
    before = course_for(demo_patient)
    v0 = version(demo_patient)
    r = nurse.post(add_url(demo_patient, "visits"), {**VISIT, "fs_visual": "2x"})
    assert r.status_code == 302, errors_of(r)
    visit = Visit.objects.get(patient=demo_patient, date="2026-07-15")
    assert visit.edss == 3.5 and visit.t25fw == 7.5
    assert visit.fs_visual == "2X"  # the reader's reading of the grade, marker kept
    assert version(demo_patient) == v0 + 1
    after = course_for(demo_patient)
    assert after["data_version"] == v0 + 1
    assert before["edss"]["latest_date"] != "2026-07-15"
    assert after["edss"]["latest"] == 3.5 and after["edss"]["latest_date"] == "2026-07-15"


def test_the_list_shows_the_saved_visit_and_links_to_its_forms(nurse: Client,
                                                               demo_patient: Patient) -> None:
    nurse.post(add_url(demo_patient, "visits"), VISIT)
    visit = Visit.objects.get(patient=demo_patient, date="2026-07-15")
    r = nurse.get(reverse("record_list", args=[demo_patient.public_id, "visits"]))
    page = r.content.decode()
    assert r.status_code == 200 and "2026-07-15" in page
    assert edit_url(demo_patient, "visits", visit.pk) in page


def test_editing_a_visit_shows_its_values_and_saves_the_change(nurse: Client,
                                                              demo_patient: Patient) -> None:
    visit = Visit.objects.filter(patient=demo_patient).last()
    assert visit is not None
    url = edit_url(demo_patient, "visits", visit.pk)
    r = nurse.get(url)
    assert r.status_code == 200
    assert r.context["form"]["date"].value() == visit.date.isoformat()
    assert r.context["form"]["edss"].value() == "2"  # 2.0 shown as typed
    v0 = version(demo_patient)
    data = {k: v for k, v in r.context["form"].initial.items()}
    data["edss"] = "2.5"
    r = nurse.post(url, data)
    assert r.status_code == 302, errors_of(r)
    visit.refresh_from_db()
    assert visit.edss == 2.5 and version(demo_patient) == v0 + 1


# ------------------------------------------------------------------ errors of neda.io
@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"edss": "0.5"}, "edss", "EDSS: '0.5' is not accepted; enter an EDSS value on the scale "
                              "0, 1.0, 1.5, ..., 9.5, 10"),
    ({"edss": "3.2"}, "edss", "EDSS: '3.2' is not accepted"),
    ({"date": "2021-02-30"}, "date", "Visit date: '2021-02-30' is not accepted; enter a real "
                                     "calendar date in the form YYYY-MM-DD"),
    ({"date": "2099-01-01"}, "date", "Visit date: '2099-01-01' is not accepted; enter a date "
                                     "on or before today"),
    ({"date": "05/01/2020"}, "date", "enter a date written year-month-day, YYYY-MM-DD"),
    ({"date": ""}, "date", "Visit date is missing: enter a date (YYYY-MM-DD)"),
    ({"fs_pyramidal": "7"}, "fs_pyramidal", "FS pyramidal: '7' is not accepted; enter a grade "
                                            "0-6"),
    ({"fs_cerebellar": "2Y"}, "fs_cerebellar", "FS cerebellar: '2Y' is not accepted"),
    ({"edss": "2,5"}, "edss", "written with a decimal point (2.5, not 2,5)"),
    ({"t25fw": "0"}, "t25fw", "T25FW (s): '0' is not accepted; enter a time in seconds "
                              "greater than 0"),
    ({"sdmt": "111"}, "sdmt", "the number of correct answers, from 0 to 110"),
    ({"ambulation": "17"}, "ambulation", "Ambulation score: '17' is not accepted; enter a "
                                         "whole number from 0 to 16"),
    ({"ambulation": "14", "edss_method": "neurostatus_12"}, "ambulation",
     "Ambulation score: '14' is not accepted; enter a whole number from 0 to 13 (the "
     "neurostatus_12 coding"),
    ({"fs_visual": "not done"}, "fs_visual", "FS visual: 'not done' is too long to store; "
                                             "enter at most 4 characters"),
    ({"edss_method": "guess"}, "edss_method", "EDSS method: 'guess' is not accepted; enter "
                                              "one of neurostatus_16"),
])
def test_a_visit_the_reader_refuses_shows_its_message_and_saves_nothing(
        nurse: Client, demo_patient: Patient, changes: dict[str, str], field: str,
        message: str) -> None:
    n0, v0 = Visit.all_objects.count(), version(demo_patient)
    r = nurse.post(add_url(demo_patient, "visits"), {**VISIT, **changes})
    assert r.status_code == 200
    assert any(message in m for m in errors_of(r)[field]), errors_of(r)
    assert message.split(":")[0] in r.content.decode()
    assert "Nothing was saved" in r.content.decode()
    assert Visit.all_objects.count() == n0 and version(demo_patient) == v0


def test_a_visit_without_a_measurement_is_not_saved(nurse: Client,
                                                    demo_patient: Patient) -> None:
    n0 = Visit.all_objects.count()
    r = nurse.post(add_url(demo_patient, "visits"), {"date": "2026-07-15"})
    assert "Nothing to save: enter at least one measurement" in errors_of(r)["__all__"][0]
    assert Visit.all_objects.count() == n0


def test_a_conflicting_same_day_visit_is_refused(nurse: Client, demo_patient: Patient) -> None:
    saved = Visit.objects.filter(patient=demo_patient, edss__isnull=False).last()
    assert saved is not None and saved.edss != 6.0
    n0 = Visit.all_objects.count()
    r = nurse.post(add_url(demo_patient, "visits"), {"date": saved.date.isoformat(),
                                                     "edss": "6.0"})
    message = errors_of(r)["edss"][0]
    assert "EDSS: '6.0' conflicts with the saved visit of" in message
    assert "one value per date" in message
    assert Visit.all_objects.count() == n0


def test_a_complementary_same_day_visit_is_a_warning(nurse: Client,
                                                      demo_patient: Patient) -> None:
    saved = Visit.objects.filter(patient=demo_patient).last()
    assert saved is not None
    data = {"date": saved.date.isoformat(), "pasat": "40"}
    r = nurse.post(add_url(demo_patient, "visits"), data)
    assert r.status_code == 200
    assert "already has a visit with the same date" in " ".join(r.context["checked"].warnings)
    r = nurse.post(add_url(demo_patient, "visits"),
                   {**data, "confirm": r.context["checked"].digest()})
    assert r.status_code == 302
    assert Visit.objects.filter(patient=demo_patient, date=saved.date).count() == 2


# ------------------------------------------------------------ EDSS check (rules §1.5)
FS_35 = {"fs_pyramidal": "3", "fs_cerebellar": "2", "fs_brainstem": "0", "fs_sensory": "1",
         "fs_bowel_bladder": "0", "fs_visual": "0", "fs_cerebral": "1", "ambulation": "0"}


def test_fs_grades_that_do_not_give_the_rated_edss_warn_and_can_be_confirmed(
        nurse: Client, demo_patient: Patient) -> None:
    data = {**VISIT, "edss": "3.0", **FS_35}
    n0, v0 = Visit.all_objects.count(), version(demo_patient)
    r = nurse.post(add_url(demo_patient, "visits"), data)
    assert r.status_code == 200
    warnings = r.context["checked"].warnings
    assert len(warnings) == 1
    assert "rated EDSS 3.0 is below the computed EDSS 3.5" in warnings[0]
    assert "one FS grade 3 with one or two FS grade 2" in warnings[0]
    page = r.content.decode()
    assert "Save anyway" in page and "Not saved yet" in page
    assert Visit.all_objects.count() == n0 and version(demo_patient) == v0
    # a confirmation of other warnings (the data changed since) does not save
    r2 = nurse.post(add_url(demo_patient, "visits"), {**data, "confirm": "0123456789abcdef"})
    assert r2.status_code == 200 and Visit.all_objects.count() == n0
    r3 = nurse.post(add_url(demo_patient, "visits"),
                    {**data, "confirm": r.context["checked"].digest()})
    assert r3.status_code == 302
    visit = Visit.objects.get(patient=demo_patient, date="2026-07-15")
    assert visit.edss == 3.0 and visit.fs_pyramidal == "3"  # the rated EDSS is kept
    assert version(demo_patient) == v0 + 1


def test_fs_grades_that_give_the_rated_edss_save_at_once(nurse: Client,
                                                        demo_patient: Patient) -> None:
    r = nurse.post(add_url(demo_patient, "visits"), {**VISIT, "edss": "3.5", **FS_35},
                   follow=True)
    assert r.redirect_chain, errors_of(r)
    assert "rated EDSS 3.5 equals the computed EDSS" in r.content.decode()


# ------------------------------------------------------------------------ relapses
RELAPSE = {"status": "confirmed", "onset": "2026-05-02", "objective": "yes",
           "severity": "moderate", "steroids": "yes"}


def test_a_relapse_is_saved_with_its_flags(nurse: Client, relapsing: Patient) -> None:
    v0 = version(relapsing)
    r = nurse.post(add_url(relapsing, "relapses"), {**RELAPSE, "fever": "no", "plex": ""})
    assert r.status_code == 302, errors_of(r)
    relapse = Relapse.objects.get(patient=relapsing, onset="2026-05-02")
    assert relapse.objective is True and relapse.steroids is True and relapse.fever is False
    assert relapse.plex is None  # blank = unknown, never no
    assert relapse.severity == "moderate" and relapse.status == "confirmed"
    assert version(relapsing) == v0 + 1
    onsets = [x["onset_start"] for x in course_for(relapsing)["relapses"]]
    assert "2026-05-02" in onsets


def test_a_month_only_onset_is_kept_as_an_interval(nurse: Client, relapsing: Patient) -> None:
    r = nurse.post(add_url(relapsing, "relapses"), {**RELAPSE, "onset": "2024-03"},
                   follow=True)
    assert r.redirect_chain, errors_of(r)
    relapse = Relapse.objects.get(patient=relapsing, onset="2024-03")
    assert relapse.onset_end is None
    assert "Onset known to the month: kept as every possible day from 2024-03-01 to " \
           "2024-03-31" in r.content.decode()
    course = course_for(relapsing)
    month = [x for x in course["relapses"] if x["onset_start"] == "2024-03-01"]
    assert month and month[0]["precision"] == "month" and month[0]["onset_end"] == "2024-03-31"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"onset": "2024-02-30"}, "onset", "Onset: '2024-02-30' is not accepted; enter a real "
                                       "calendar date"),
    ({"onset": "March 2024"}, "onset", "an onset known only to the month or year may be "
                                       "written YYYY-MM or YYYY"),
    ({"onset": ""}, "onset", "Onset is missing: enter an onset date (YYYY-MM-DD, YYYY-MM or "
                             "YYYY)"),
    ({"onset": "2099-05"}, "onset", "on or before today"),
    ({"resolved_date": "2026-04-01"}, "resolved_date",
     "Resolved on: '2026-04-01' is not accepted; enter a resolution date on or after the "
     "onset"),
    ({"duration_hours": "-3"}, "duration_hours", "Duration (hours): '-3' is not accepted"),
    ({"steroids": "maybe"}, "steroids", "High-dose steroids: 'maybe' is not accepted; enter "
                                        "yes or no"),
    ({"severity": "awful"}, "severity", "enter one of mild, moderate, severe"),
])
def test_a_relapse_the_reader_refuses_saves_nothing(nurse: Client, relapsing: Patient,
                                                    changes: dict[str, str], field: str,
                                                    message: str) -> None:
    n0, v0 = Relapse.all_objects.count(), version(relapsing)
    r = nurse.post(add_url(relapsing, "relapses"), {**RELAPSE, **changes})
    assert r.status_code == 200
    assert any(message in m for m in errors_of(r)[field]), errors_of(r)
    assert Relapse.all_objects.count() == n0 and version(relapsing) == v0


def test_a_relapse_within_30_days_of_another_warns_with_the_hygiene_reason(
        nurse: Client, relapsing: Patient) -> None:
    data = {**RELAPSE, "onset": "2021-09-07"}
    n0 = Relapse.all_objects.count()
    r = nurse.post(add_url(relapsing, "relapses"), data)
    assert r.status_code == 200
    warnings = r.context["checked"].warnings
    assert warnings == ["Relapse hygiene (rules §3.1) will not count this as a relapse of its "
                        "own: onset 10 days after the first onset of the relapse of "
                        "2021-08-28 (< 30 days)."]
    assert Relapse.all_objects.count() == n0
    r = nurse.post(add_url(relapsing, "relapses"),
                   {**data, "confirm": r.context["checked"].digest()})
    assert r.status_code == 302
    assert Relapse.objects.filter(patient=relapsing, onset="2021-09-07").exists()


def test_an_earlier_relapse_that_absorbs_a_saved_one_warns(nurse: Client,
                                                           relapsing: Patient) -> None:
    r = nurse.post(add_url(relapsing, "relapses"), {**RELAPSE, "onset": "2021-08-20"})
    warning = r.context["checked"].warnings[0]
    assert "will count the saved relapse of 2021-08-28 as part of this one" in warning
    # in a clinician's words: the form's row is "this relapse", never "row form"
    assert "after the first onset of this relapse" in warning and "row form" not in warning


def test_fever_recorded_on_a_confirmed_relapse_warns(nurse: Client,
                                                     relapsing: Patient) -> None:
    r = nurse.post(add_url(relapsing, "relapses"), {**RELAPSE, "fever": "yes"})
    assert "fever or infection recorded (pseudo-relapse)" in r.context["checked"].warnings[0]
    # recorded as a pseudo-relapse, it is what the clinician meant: no warning
    r = nurse.post(add_url(relapsing, "relapses"), {**RELAPSE, "fever": "yes",
                                                     "status": "pseudo"})
    assert r.status_code == 302
    assert Relapse.objects.get(patient=relapsing, onset="2026-05-02").status == "pseudo"


def test_a_rejected_report_is_not_checked_by_hygiene(nurse: Client,
                                                     relapsing: Patient) -> None:
    r = nurse.post(add_url(relapsing, "relapses"), {**RELAPSE, "onset": "2021-09-07",
                                                     "status": "rejected"})
    assert r.status_code == 302


# ---------------------------------------------------------------- other record types
def test_a_treatment_off_the_catalogue_suggests_the_drug(nurse: Client,
                                                         demo_patient: Patient) -> None:
    n0 = Treatment.all_objects.count()
    r = nurse.post(add_url(demo_patient, "treatments"), {"drug": "ocrelizumb",
                                                         "start": "2026-07-01"})
    message = errors_of(r)["drug"][0]
    assert message.startswith("Drug: 'ocrelizumb' is not accepted; enter a disease-modifying "
                              "drug of the catalogue")
    assert "did you mean ocrelizumab (Ocrevus" in message
    assert Treatment.all_objects.count() == n0
    assert '<datalist id="dmt-names">' in r.content.decode()
    r = nurse.post(add_url(demo_patient, "treatments"), {"drug": "Ocrevus",
                                                         "start": "2026-07-01"})
    assert r.status_code == 302
    assert Treatment.objects.get(patient=demo_patient, start="2026-07-01").drug == "Ocrevus"


def test_a_treatment_stopping_before_it_starts_is_refused(nurse: Client,
                                                          demo_patient: Patient) -> None:
    r = nurse.post(add_url(demo_patient, "treatments"), {
        "drug": "natalizumab", "start": "2026-07-01", "stop": "2026-06-01",
        "stop_reason": "side effects"})
    assert errors_of(r)["stop"] == ["Last dose: '2026-06-01' is not accepted; enter a stop "
                                    "date on or after the start 2026-07-01"]


def test_a_treatment_stop_reason_is_read_with_its_synonyms(nurse: Client,
                                                           demo_patient: Patient) -> None:
    r = nurse.post(add_url(demo_patient, "treatments"), {
        "drug": "natalizumab", "start": "2026-07-01", "stop": "2026-08-01",
        "stop_reason": "side effects", "dosing_interval_days": "42"})
    assert r.status_code == 302, errors_of(r)
    t = Treatment.objects.get(patient=demo_patient, start="2026-07-01")
    assert t.stop_reason == "adverse_event" and t.dosing_interval_days == 42.0


def test_an_mri_scan_is_read_by_the_mri_reader(nurse: Client, demo_patient: Patient) -> None:
    r = nurse.post(add_url(demo_patient, "mri"), {"date": "2026-07-01", "gd": "-1"})
    assert errors_of(r)["gd"] == ["Gd-enhancing lesions: '-1' is not accepted; enter a whole "
                                  "number, 0 or more"]
    r = nurse.post(add_url(demo_patient, "mri"), {
        "date": "2026-07-01", "comparator_date": "2026-01-10", "contrast": "no", "gd": "0",
        "new_t2": "1", "pbvc": "-0.4"}, follow=True)
    assert r.redirect_chain, errors_of(r)
    assert "the Gd count is read as unknown, never 0" in r.content.decode()
    scan = MriScan.objects.get(patient=demo_patient, date="2026-07-01")
    assert scan.contrast is False and scan.gd == 0 and scan.new_t2 == 1 and scan.pbvc == -0.4


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"item": "30", "response": "2"}, "item", "Item: '30' is not accepted; enter an item "
                                              "number 1-21 of MFIS"),
    ({"item": "3", "response": "7"}, "response", "Answer: '7' is not accepted; enter a whole "
                                                 "number from 0 to 4 (MFIS item 3)"),
    ({"item": "", "response": "2"}, "item",
     "Item is missing: enter an item number 1-21 of MFIS"),
    ({"instrument": "ashworth", "item": "", "response": "2"}, "item",
     "Item is missing: enter the muscle group (and side) rated on the Modified Ashworth scale"),
    ({"instrument": "ashworth", "item": "elbow flexors left", "response": "1.5"}, "response",
     "Answer: '1.5' is not accepted; enter a Modified Ashworth category 0, 1, 1+, 2, 3 or 4 "
     "(muscle 'elbow flexors left'); '1+' is a category, not 1.5"),
    ({"instrument": "questionnaire", "item": "3", "response": "2"}, "instrument",
     "Questionnaire: 'questionnaire' is not accepted; enter one of MFIS"),
])
def test_a_pro_answer_is_checked_against_its_instrument(
        nurse: Client, demo_patient: Patient, data: dict[str, str], field: str,
        message: str) -> None:
    n0 = ProAnswer.all_objects.count()
    r = nurse.post(add_url(demo_patient, "pros"), {"date": "2026-07-01", "instrument": "MFIS",
                                                   **data})
    assert any(message in m for m in errors_of(r)[field]), errors_of(r)
    assert ProAnswer.all_objects.count() == n0


def test_a_pro_answer_is_saved(nurse: Client, demo_patient: Patient) -> None:
    r = nurse.post(add_url(demo_patient, "pros"), {"date": "2026-07-01", "instrument": "mfis",
                                                   "item": "3", "response": "2"})
    assert r.status_code == 302, errors_of(r)
    answer = ProAnswer.objects.get(patient=demo_patient, date="2026-07-01")
    assert (answer.instrument, answer.item, answer.response) == ("MFIS", "3", "2")


def test_a_symptom_treatment_reads_its_dates_like_every_table(nurse: Client,
                                                             demo_patient: Patient) -> None:
    url = add_url(demo_patient, "symptom_treatments")
    r = nurse.post(url, {"drug": "baclofen", "symptom": "spasticity", "start": "2026-02-30"})
    assert "First dose: '2026-02-30' is not accepted; enter a real calendar date" in \
        errors_of(r)["start"][0]
    r = nurse.post(url, {"drug": "", "symptom": "spasticity", "start": "2026-02-01"})
    assert errors_of(r)["drug"] == ["Drug is missing: enter the drug's name (e.g. baclofen)"]
    r = nurse.post(url, {"drug": "baclofen", "symptom": "spasticity", "start": "2026-02-01",
                         "stop": "2026-01-01"})
    assert "enter a stop date on or after the start 2026-02-01" in errors_of(r)["stop"][0]
    r = nurse.post(url, {"drug": "baclofen", "symptom": "Spasticity", "dose": "10 mg tid",
                         "start": "2026-02-01"})
    assert r.status_code == 302, errors_of(r)
    s = SymptomTreatment.objects.get(patient=demo_patient, drug="baclofen")
    assert s.symptom == "spasticity" and s.dose == "10 mg tid"


# ------------------------------------------------------------------------- patients
def test_a_new_patient_is_read_by_the_patients_reader(nurse: Client) -> None:
    url = reverse("patient_add")
    r = nurse.post(url, {"subject": "NEW-7", "sex": "F", "birth_date": "1980-02-30",
                         "phenotype_at_diagnosis": "rr", "relapses_recorded": "on"})
    assert errors_of(r)["birth_date"][0].startswith("Birth date: '1980-02-30' is not accepted")
    assert not Patient.all_objects.filter(subject="NEW-7").exists()
    r = nurse.post(url, {"subject": "NEW-7", "name": "Ada", "sex": "F",
                         "birth_date": "1980-02-03", "onset_date": "2010-05",
                         "phenotype_at_diagnosis": "rr"})
    assert errors_of(r)["onset_date"][0].startswith("MS onset: '2010-05' is not accepted")
    r = nurse.post(url, {"subject": "NEW-7", "name": "Ada", "sex": "F",
                         "birth_date": "1980-02-03", "onset_date": "2010-05-01",
                         "phenotype_at_diagnosis": "rr", "course": "SPMS"})
    assert r.status_code == 302, errors_of(r)
    p = Patient.objects.get(subject="NEW-7")
    assert (p.sex, p.phenotype_at_diagnosis, p.course, p.name) == ("female", "RRMS", "SPMS",
                                                                   "Ada")
    assert p.relapses_recorded is False  # the box was not ticked
    assert r["Location"] == reverse("patient_overview", args=[p.public_id])
    clinician = login("clinician")
    assert clinician.get(r["Location"]).status_code == 200


def test_a_registry_identifier_is_used_once_per_clinic(nurse: Client,
                                                      demo_patient: Patient) -> None:
    r = nurse.post(reverse("patient_add"), {"subject": demo_patient.subject})
    assert "is already used in this clinic" in errors_of(r)["subject"][0]
    r = nurse.post(reverse("patient_add"), {"subject": "", "sex": "female"})
    assert errors_of(r)["subject"] == ["Registry identifier is missing: enter a subject "
                                       "identifier"]
    r = nurse.post(reverse("patient_add"), {"subject": ""})
    assert "Nothing to save: the form is empty" in errors_of(r)["__all__"][0]
    # another clinic's identifier is free
    r = nurse.post(reverse("patient_add"), {"subject": "OTHER-1"})
    assert r.status_code == 302


def test_editing_the_patient_bumps_the_data_version(nurse: Client,
                                                    demo_patient: Patient) -> None:
    url = reverse("patient_edit", args=[demo_patient.public_id])
    r = nurse.get(url)
    data = dict(r.context["form"].initial)
    data["course"] = "SPMS"
    data["relapses_recorded"] = "on"
    v0 = version(demo_patient)
    r = nurse.post(url, data)
    assert r.status_code == 302, errors_of(r)
    demo_patient.refresh_from_db()
    assert demo_patient.course == "SPMS" and demo_patient.data_version == v0 + 1


# --------------------------------------------------------------------------- access
@pytest.mark.parametrize("username", ["researcher", "patient1"])
def test_researchers_and_patients_cannot_open_or_post_a_form(username: str,
                                                             demo_patient: Patient) -> None:
    client = login(username)
    n0 = Visit.all_objects.count()
    for url in (add_url(demo_patient, "visits"), reverse("patient_add"),
                reverse("patient_edit", args=[demo_patient.public_id])):
        assert client.get(url).status_code == 403
        assert client.post(url, VISIT).status_code == 403
    visit = Visit.objects.filter(patient=demo_patient).first()
    assert visit is not None
    assert client.post(edit_url(demo_patient, "visits", visit.pk), VISIT).status_code == 403
    assert Visit.all_objects.count() == n0


@pytest.mark.parametrize("username", ["clinician", "nurse", "admin"])
def test_every_editing_role_can_add(username: str, demo_patient: Patient) -> None:
    r = login(username).post(add_url(demo_patient, "visits"), VISIT)
    assert r.status_code == 302


def test_another_clinics_patient_and_unknown_tables_are_not_found(nurse: Client,
                                                                  demo_patient: Patient
                                                                  ) -> None:
    other = Patient.objects.get(subject="OTHER-1")
    assert nurse.get(add_url(other, "visits")).status_code == 404
    assert nurse.post(add_url(other, "visits"), VISIT).status_code == 404
    assert nurse.get(reverse("patient_edit", args=[other.public_id])).status_code == 404
    assert nurse.get(add_url(demo_patient, "secrets")).status_code == 404
    assert nurse.get(edit_url(demo_patient, "visits", 10**9)).status_code == 404
    foreign = Visit.objects.exclude(patient=demo_patient).first()
    assert foreign is not None  # a record of another patient, under this patient's id
    assert nurse.get(edit_url(demo_patient, "visits", foreign.pk)).status_code == 404


def test_anonymous_users_are_sent_to_the_login(client: Client, demo_patient: Patient) -> None:
    r = client.get(add_url(demo_patient, "visits"))
    assert r.status_code == 302 and r["Location"].startswith(reverse("login"))


def test_a_post_without_the_csrf_token_is_refused(demo_patient: Patient) -> None:
    from django.contrib.auth import get_user_model

    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="nurse"))
    n0 = Visit.all_objects.count()
    r = client.post(add_url(demo_patient, "visits"), VISIT)
    assert r.status_code == 403
    assert Visit.all_objects.count() == n0
    # with the token from the form it goes through
    page = client.get(add_url(demo_patient, "visits"))
    token = page.cookies["csrftoken"].value
    r = client.post(add_url(demo_patient, "visits"), {**VISIT, "csrfmiddlewaretoken": token})
    assert r.status_code == 302


def test_the_form_page_has_no_inline_script(nurse: Client, demo_patient: Patient) -> None:
    page = nurse.get(add_url(demo_patient, "visits")).content.decode()
    assert "<script" not in page and " on" + "click=" not in page
    assert 'name="csrfmiddlewaretoken"' in page
