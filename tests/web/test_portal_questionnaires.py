"""``/portal/questionnaires/``: the MFIS filled in the portal is stored as the clinic's PRO
rows, scored at once by neda.rules.pro (the same score the course bridge and the scorer called
directly give), shown back with what it means; a reminder when the clinic's schedule says
one is due."""

from __future__ import annotations

import datetime as dt
import html as htmllib
from typing import Any

import pandas as pd
import pytest
from django.utils import timezone

from neda.rules import pro
from neda.web.clinic.course import OPTIONS, course_for, tables_for
from neda.web.clinic.models import Patient, PatientAccount, ProAnswer
from neda.web.portal.models import QuestionnaireSchedule
from neda.web.portal.questionnaires import MFIS_ITEMS, due_questionnaires, history

from .conftest import login

pytestmark = pytest.mark.usefixtures("empty_portal")

ANSWERS = {n: (n * 7) % 5 for n in range(1, 22)}  # every option used


def _own(username: str) -> Patient:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def _fill(client: Any, answers: dict[int, int], code: str = "MFIS") -> Any:
    return client.post(f"/portal/questionnaires/{code}/",
                       {f"item_{n}": str(v) for n, v in answers.items()})


def test_mfis_is_scored_at_once_by_the_clinics_scorer(db: Any) -> None:
    me = _own("patient1")
    ProAnswer.objects.filter(patient=me).delete()
    client = login("patient1")
    page = client.get("/portal/questionnaires/MFIS/").content.decode()
    assert len(MFIS_ITEMS) == 21 and all(htmllib.escape(t) in page for t in MFIS_ITEMS)
    assert "Send answers and see my score" in page
    r = _fill(client, ANSWERS)
    assert r.status_code == 302
    today = timezone.localdate()
    assert r["Location"] == f"/portal/questionnaires/MFIS/?scored={today}#result"
    rows = ProAnswer.objects.filter(patient=me, instrument="MFIS", date=today)
    assert sorted((int(a.item), int(a.response)) for a in rows) == sorted(ANSWERS.items())
    # the same score: the scorer called directly, and the course bridge's table scored
    direct = pro.score_response_set("MFIS", ANSWERS, OPTIONS.pro)
    bridged = pro.mfis(tables_for([me]).pros, OPTIONS.pro)
    bridged = bridged[bridged["date"] == pd.Timestamp(today)].iloc[0]
    assert direct["mfis_total"] == bridged["mfis_total"] == sum(ANSWERS.values())
    mine = history(me, "MFIS")[-1]  # the page's history: the whole-table scorer
    assert mine["date"] == today
    for key in pro.INSTRUMENT_COLUMNS["MFIS"]:
        assert mine[key] == direct[key] == bridged[key]
    page = htmllib.unescape(client.get(r["Location"]).content.decode())
    total = f"{direct['mfis_total']:g}"
    assert f"Your score: {total}" in page and "0 to 84" in page
    for label, key in (("Physical", "mfis_physical"), ("Thinking", "mfis_cognitive"),
                       ("Social", "mfis_psychosocial")):
        assert f"{label}: <strong>{direct[key]:g}</strong>" in page
    # the clinic's course reads the same answers (one pipeline)
    assert course_for(me).get("input_error") is None


def test_a_threshold_is_worded_and_the_previous_score_shown(db: Any) -> None:
    me = _own("patient1")
    ProAnswer.objects.filter(patient=me).delete()
    earlier = timezone.localdate() - dt.timedelta(days=90)
    for n in range(1, 22):
        ProAnswer.objects.create(patient=me, date=earlier, instrument="MFIS", item=str(n),
                                 response="1")
    client = login("patient1")
    r = _fill(client, {n: 2 for n in range(1, 22)})
    page = htmllib.unescape(client.get(r["Location"]).content.decode())
    assert "Your score: 42" in page and "38 or more" in page
    assert "Last time" in page and ": 21. 21 points higher than last time" in page


def test_unanswered_items_are_named_and_nothing_is_stored(db: Any) -> None:
    me = _own("patient1")
    before = ProAnswer.objects.filter(patient=me).count()
    answers = dict(ANSWERS)
    del answers[5]
    r = _fill(login("patient1"), answers)
    assert r.status_code == 200 and "Some questions are not answered yet" in r.content.decode()
    assert ProAnswer.objects.filter(patient=me).count() == before


def test_mfis5_uses_the_mfis_items_of_the_short_form(db: Any) -> None:
    me = _own("patient1")
    client = login("patient1")
    r = _fill(client, {1: 4, 2: 3, 3: 2, 4: 1, 5: 0}, "MFIS-5")
    assert r.status_code == 302
    page = htmllib.unescape(client.get(r["Location"]).content.decode())
    assert "Your score: 10" in page and MFIS_ITEMS[16] in page  # item 17 of the MFIS
    assert ProAnswer.objects.filter(patient=me, instrument="MFIS-5").count() == 5


def test_an_instrument_typed_in_lower_case_leads_to_its_page(db: Any) -> None:
    response = login("patient1").get("/portal/questionnaires/mfis/")
    assert response.status_code == 302 and response["Location"] == "/portal/questionnaires/MFIS/"


@pytest.mark.parametrize("code", ["FSS", "MSIS-29v1", "MSWS-12v1"])
def test_licensed_instruments_are_not_offered_in_any_case(db: Any, code: str) -> None:
    assert login("patient1").get(f"/portal/questionnaires/{code.lower()}/").status_code == 404


@pytest.mark.parametrize("code", ["FSS", "MSIS-29v1", "MSWS-12v1", "nonsense"])
def test_licensed_instruments_are_not_offered(db: Any, code: str) -> None:
    assert login("patient1").get(f"/portal/questionnaires/{code}/").status_code == 404


def test_a_reminder_when_the_schedule_says_one_is_due(db: Any, clinician: Any) -> None:
    me = _own("patient1")
    ProAnswer.objects.filter(patient=me).delete()
    QuestionnaireSchedule.objects.all().delete()
    client = login("patient1")
    assert "questionnaire is due" not in client.get("/portal/diary/").content.decode()
    r = clinician.post("/portal/clinic/questionnaire-schedule/", {"MFIS": "12"})
    assert r.status_code == 302
    due = due_questionnaires(me)
    assert [(d.code, d.last, d.every_weeks) for d in due] == [("MFIS", None, 12)]
    page = client.get("/portal/diary/").content.decode()
    assert "A questionnaire is due" in page and "/portal/questionnaires/MFIS/" in page
    # filled today: not due for 12 weeks
    _fill(client, ANSWERS)
    today = timezone.localdate()
    assert due_questionnaires(me, today) == []
    assert due_questionnaires(me, today + dt.timedelta(weeks=12))[0].last == today
    # the patient's own schedule overrides the clinic's
    clinician.post(f"/portal/clinic/{me.public_id}/questionnaire-schedule/", {"MFIS": "2"})
    assert [d.code for d in due_questionnaires(me, today + dt.timedelta(weeks=2))] == ["MFIS"]
    other = _own("patient2")
    assert [d.every_weeks for d in due_questionnaires(other)] == [12]


def test_a_bad_schedule_is_refused(db: Any, clinician: Any) -> None:
    QuestionnaireSchedule.objects.all().delete()
    for bad in ("0", "-3", "abc", "9999"):
        r = clinician.post("/portal/clinic/questionnaire-schedule/", {"MFIS": bad})
        assert r.status_code == 200
    assert not QuestionnaireSchedule.objects.exists()
    # blank removes a schedule
    clinician.post("/portal/clinic/questionnaire-schedule/", {"MFIS": "8"})
    assert QuestionnaireSchedule.objects.get().every_weeks == 8
    clinician.post("/portal/clinic/questionnaire-schedule/", {"MFIS": ""})
    assert not QuestionnaireSchedule.objects.exists()
    assert login("researcher").post("/portal/clinic/questionnaire-schedule/",
                                    {"MFIS": "4"}).status_code == 403


def test_a_stored_answer_that_does_not_read_is_said(db: Any) -> None:
    me = _own("patient1")
    ProAnswer.objects.filter(patient=me).delete()
    ProAnswer.objects.create(patient=me, date=dt.date(2026, 1, 5), instrument="MFIS",
                             item="1", response="9")  # e.g. entered by hand at the clinic
    client = login("patient1")
    for url in ("/portal/questionnaires/", "/portal/questionnaires/MFIS/",
                "/portal/questionnaires/MFIS/?scored=2026-01-05"):
        r = client.get(url)
        assert r.status_code == 200 and "Earlier answers cannot be scored" in \
            r.content.decode(), url
