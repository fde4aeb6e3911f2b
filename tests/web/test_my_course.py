"""A patient's own page: their course in plain language, nobody else's."""

from __future__ import annotations

import html as htmllib
from typing import Any

from django.test import Client

from neda.web.clinic.course import course_for
from neda.web.clinic.models import PatientAccount

from .conftest import login
from .pages import inline_scripts


def _own(username: str) -> Any:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def test_a_patient_reads_their_own_course(db: Any) -> None:
    me, other = _own("patient1"), _own("patient2")
    r = login("patient1").get("/me/")
    page = htmllib.unescape(r.content.decode())
    assert r.status_code == 200 and inline_scripts(r.content.decode()) == []
    mine, theirs = course_for(me), course_for(other)
    assert mine["plain_language"] in page
    assert theirs["plain_language"] != mine["plain_language"]
    assert theirs["plain_language"] not in page
    ct = mine["current_therapy"]
    if ct:
        assert ct["drug"] in page
    else:
        assert "No current MS treatment is recorded" in page
    # no clinic jargon left unexplained, no rule-set internals
    assert "NEDA-4" not in page and "digest" not in page


def test_the_home_page_sends_a_patient_to_their_course(db: Any) -> None:
    r = login("patient2").get("/")
    assert r.status_code == 302 and r["Location"] == "/me/"


def test_only_patients_have_a_course_page(db: Any) -> None:
    for role in ("clinician", "nurse", "researcher", "admin"):
        assert login(role).get("/me/").status_code == 403
    r = Client().get("/me/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_the_lay_neda_card(db: Any) -> None:
    import datetime as dt

    from neda.web.clinic.models import Treatment, Visit

    me = _own("patient1")
    if not course_for(me).get("current_therapy"):  # put them on a therapy for two years
        last = Visit.objects.filter(patient=me).order_by("-date").first()
        assert last is not None
        Treatment.objects.create(patient=me, drug="ocrelizumab",
                                 start=last.date - dt.timedelta(days=800))
        me.refresh_from_db()
    course = course_for(me)
    ct = course["current_therapy"]
    assert ct is not None and ct["neda"]["current_year"]["window_start"]
    n = ct["neda"]["current_year"]
    page = htmllib.unescape(login("patient1").get("/me/").content.decode())
    words = {True: "no sign of MS activity", False: "there were signs of MS activity",
             None: "we cannot say yet"}
    assert words[n["neda3"]] in page and ct["drug"] in page
    assert "A relapse (an attack of new or returning symptoms)" in page
    for component in ("relapse", "disability", "mri"):
        reason = n["components"][component]
        if n["component_status"][component] is not True and reason:
            assert reason in page
