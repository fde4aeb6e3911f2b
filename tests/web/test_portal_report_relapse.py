"""``/portal/relapses/new/`` and ``/portal/relapses/``: a patient reports a possible relapse
in a few taps; it reaches the clinic as *reported*, counts in nothing until reviewed, and the
patient sees its status."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from typing import Any

from django.contrib.messages import get_messages
from django.utils import timezone

from neda.io.schema import FS_SYSTEMS
from neda.web.clinic.course import course_for, tables_for
from neda.web.clinic.models import RELAPSE_STATUS, PatientAccount, Relapse
from neda.web.portal import words
from neda.web.portal.views.report_relapse import SAVED, SAVED_FEVER

from .conftest import login
from .pages import inline_scripts

URL = "/portal/relapses/new/"


def _own(username: str) -> Any:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def _answers(**changes: Any) -> dict[str, Any]:
    answers = {"onset_known": "exact",
               "onset_day": (timezone.localdate() - dt.timedelta(days=2)).isoformat(),
               "onset_month": "", "systems": ["visual", "sensory"], "other_symptoms": "",
               "duration": "2_days", "fever": "no", "infection": "no", "steroids": "no"}
    answers.update(changes)
    return answers


def test_the_form_labels_every_input_and_defaults_to_today(db: Any) -> None:
    r = login("patient1").get(URL)
    page = r.content.decode()
    assert r.status_code == 200 and inline_scripts(page) == []
    inputs = re.findall(r'<input type="(?:text|radio|checkbox)"[^>]*\bid="([^"]+)"', page)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
    assert inputs and set(inputs) <= labelled
    assert f'value="{timezone.localdate().isoformat()}"' in page
    for words_ in words.SYMPTOM_WORDS.values():
        assert htmllib.escape(words_) in page or words_ in htmllib.unescape(page)


def test_symptoms_are_the_functional_systems_of_the_data_model() -> None:
    assert set(words.SYMPTOM_WORDS) == set(FS_SYSTEMS) == set(words.SYSTEMS)
    assert set(words.RELAPSE_STATUS_WORDS) == {s for s, _ in RELAPSE_STATUS}


def test_a_report_is_stored_as_reported_and_shown_with_its_status(db: Any) -> None:
    me = _own("patient2")
    client = login("patient2")
    r = client.post(URL, _answers())
    assert r.status_code == 302 and r["Location"] == "/portal/relapses/"
    assert [str(m) for m in get_messages(r.wsgi_request)] == [SAVED]
    relapse = Relapse.objects.filter(patient=me).latest("pk")
    assert relapse.status == "reported"
    assert relapse.onset == (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    assert relapse.fs_affected == "visual;sensory"
    assert words.SYMPTOM_WORDS["visual"] in relapse.symptoms
    assert relapse.duration_hours == 48
    assert (relapse.fever, relapse.infection, relapse.steroids) == (False, False, False)
    page = htmllib.unescape(client.get("/portal/relapses/").content.decode())
    assert f'data-relapse="{relapse.pk}" data-status="reported"' in page
    assert "waiting for your clinic's review" in page
    # it counts in nothing: the rules' relapse table leaves it out
    tables = tables_for([me])
    assert tables.relapses is not None
    assert len(tables.relapses) == Relapse.objects.filter(
        patient=me, status__in=("confirmed", "pseudo")).count()
    # and nobody else sees it in their list
    other = htmllib.unescape(login("patient1").get("/portal/relapses/").content.decode())
    assert f'data-relapse="{relapse.pk}"' not in other


def test_an_onset_known_to_the_month(db: Any) -> None:
    me = _own("patient2")
    month = timezone.localdate().strftime("%Y-%m")
    r = login("patient2").post(URL, _answers(onset_known="around", onset_month=month,
                                             onset_day=""))
    assert r.status_code == 302
    relapse = Relapse.objects.filter(patient=me).latest("pk")
    assert relapse.onset == month and relapse.status == "reported"
    page = htmllib.unescape(login("patient2").get("/portal/relapses/").content.decode())
    assert f"Started around {month}" in page


def test_fever_flags_a_possible_pseudo_relapse(db: Any) -> None:
    client = login("patient2")
    r = client.post(URL, _answers(fever="yes", infection="unknown", steroids="yes"))
    assert [str(m) for m in get_messages(r.wsgi_request)] == [SAVED + SAVED_FEVER]
    relapse = Relapse.objects.filter(patient=_own("patient2")).latest("pk")
    assert (relapse.fever, relapse.infection, relapse.steroids) == (True, None, True)
    queue = htmllib.unescape(login("nurse").get("/portal/review/").content.decode())
    row = queue[queue.index(f'data-relapse="{relapse.pk}"'):]
    assert "possible pseudo-relapse" in row[:row.index("</tr>")]


def test_bad_answers_are_refused_on_their_field(db: Any) -> None:
    client = login("patient2")
    before = Relapse.objects.count()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    for answers, field in (
            (_answers(onset_day=tomorrow), "onset_day"),       # the reader: after today
            (_answers(onset_day="5 March"), "onset_day"),      # the reader: not a date
            (_answers(onset_day="2026-03"), "onset_day"),      # a month given as the day
            (_answers(onset_known="around", onset_month="2026-03-05"), "onset_month"),
            (_answers(onset_day=""), "onset_day"),
            (_answers(systems=[]), "systems"),
            (_answers(duration=""), "duration")):
        r = client.post(URL, answers)
        assert r.status_code == 200, answers
        assert field in r.context["form"].errors, (answers, r.context["form"].errors)
    assert Relapse.objects.count() == before


def test_staff_cannot_report_for_a_patient(db: Any) -> None:
    for role in ("clinician", "nurse", "researcher", "admin"):
        assert login(role).get(URL).status_code == 403
        assert login(role).get("/portal/relapses/").status_code == 403


def test_a_report_leaves_the_course_unchanged(db: Any) -> None:
    me = _own("patient2")
    before = course_for(me)
    assert login("patient2").post(URL, _answers()).status_code == 302
    me.refresh_from_db()
    after = course_for(me)
    assert after["data_version"] != before["data_version"]  # computed again ...
    assert after["relapses"] == before["relapses"]          # ... and it counts in nothing
    assert after["monitoring"] == before["monitoring"]


def test_the_same_report_twice_is_refused(db: Any) -> None:
    client = login("patient2")
    assert client.post(URL, _answers()).status_code == 302
    before = Relapse.objects.count()
    r = client.post(URL, _answers())
    assert r.status_code == 200 and Relapse.objects.count() == before
    assert "You already reported a possible relapse" in r.context["form"].errors["onset_day"][0]
