"""``/portal/``: a patient's own course in plain language, nobody else's, every statement
linked to its definition (``/me/`` sends there)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from typing import Any

from django.test import Client

from neda.web.clinic.course import course_for
from neda.web.clinic.models import PatientAccount, Treatment, Visit
from neda.web.portal import words

from .conftest import login
from .pages import inline_scripts


def _own(username: str) -> Any:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def _page(username: str) -> str:
    r = login(username).get("/portal/")
    assert r.status_code == 200 and inline_scripts(r.content.decode()) == []
    return htmllib.unescape(r.content.decode())


def test_a_patient_reads_their_own_course(db: Any) -> None:
    me, other = _own("patient1"), _own("patient2")
    page = _page("patient1")
    mine, theirs = course_for(me), course_for(other)
    assert mine["plain_language"] in page
    assert theirs["plain_language"] != mine["plain_language"]
    assert theirs["plain_language"] not in page
    ct = mine["current_therapy"]
    if ct:
        assert ct["drug"] in page
    else:
        assert "No current MS treatment is recorded" in page
    # the check-ups over time: every EDSS of the course's chart, no other patient's
    for v in mine["chart"]["visits"]:
        if v["edss"] is not None:
            assert f"<th scope=\"row\">{v['date']}</th><td>{v['edss']}</td>" in page
    # no clinic jargon left unexplained, no rule-set internals
    assert "NEDA-4" not in page and "digest" not in page


def test_every_definition_link_lands_on_a_definition(db: Any) -> None:
    page = _page("patient2")
    keys = set(re.findall(r'href="/portal/definitions/#(\w+)"', page))
    assert keys and keys <= set(words.DEFINITIONS)
    defs = htmllib.unescape(login("patient2").get("/portal/definitions/").content.decode())
    for d in words.DEFINITIONS.values():
        assert f'id="{d.key}"' in defs and d.lay in defs and d.clinical in defs
        assert f"§{d.section}" in defs


def test_the_home_page_sends_a_patient_to_the_portal(db: Any) -> None:
    r = login("patient2").get("/")
    assert r.status_code == 302 and r["Location"] == "/portal/"
    r = login("patient2").get("/me/")  # the page before the portal
    assert r.status_code == 302 and r["Location"] == "/portal/"


def test_only_patients_have_a_course_page(db: Any) -> None:
    for role in ("clinician", "nurse", "researcher", "admin"):
        assert login(role).get("/portal/").status_code == 403
        assert login(role).get("/me/").status_code == 403
    r = Client().get("/portal/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_the_lay_neda_card(db: Any) -> None:
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
    page = _page("patient1")
    assert words.neda_words(n["neda3"]) in page and ct["drug"] in page
    assert f'data-neda="{ {True: "yes", False: "no", None: "unknown"}[n["neda3"]] }"' in page
    for key, question, _ in words.NEDA_COMPONENTS:
        status = n["component_status"][key]
        value = {True: "none", False: "yes", None: "unknown"}[status]
        assert f'data-component="{key}" data-value="{value}"' in page
        assert question in page
        reason = n["components"][key]
        if status is not True and reason:
            assert f"(in your team's words: {reason})" in page
    # "unknown" is never worded as quiet
    assert words.neda_words(None) != words.neda_words(True)
    assert "not enough information" in words.component_words(None)


def test_relapse_recovery_in_lay_words(db: Any) -> None:
    me = _own("patient2")
    course = course_for(me)
    page = _page("patient2")
    assert course["relapses"], "the demo patient2 has relapses"
    for r in course["relapses"]:
        assert f"{r['onset_start']}</th><td>{words.recovery_words(r['recovery'])}</td>" in page \
            or f"between {r['onset_start']} and {r['onset_end']}</th><td>" \
               f"{words.recovery_words(r['recovery'])}</td>" in page
    assert "does not mean that the damage was repaired" in page


def test_the_edss_chart_draws_the_courses_values(db: Any) -> None:
    from neda.web.portal.views.my_course import edss_chart

    visits = course_for(_own("patient2"))["chart"]["visits"]
    chart = edss_chart(visits)
    assert chart is not None
    with_edss = [v for v in visits if v["edss"] is not None]
    assert len(chart["dots"]) == len(with_edss)
    assert chart["dots"][0]["x"] == 0 and chart["dots"][-1]["x"] == chart["width"]
    for dot, v in zip(chart["dots"], with_edss, strict=True):
        assert abs(dot["y"] - chart["height"] * (1 - v["edss"] / 10)) < 0.1
    assert edss_chart(with_edss[:1]) is None  # one value is no line
    page = _page("patient2")
    assert f'points="{chart["line"]}"' in page and "<title id=\"edss-chart-t\">" in page


def test_the_page_follows_a_change_of_the_records(db: Any) -> None:
    """The page's account of the course is rendered once per course (its data version, rule
    set and date) and reused: a new check-up shows on the next request all the same."""
    me = _own("patient1")
    client = login("patient1")
    before = htmllib.unescape(client.get("/portal/").content.decode())
    assert htmllib.unescape(client.get("/portal/").content.decode()).count("<tr") == \
        before.count("<tr")  # the kept account
    last = Visit.objects.filter(patient=me).order_by("-date").first()
    assert last is not None
    day = last.date + dt.timedelta(days=30)
    assert day.isoformat() not in before
    Visit.objects.create(patient=me, date=day, edss=9.0)
    after = htmllib.unescape(client.get("/portal/").content.decode())
    assert day.isoformat() in after and course_for(_own("patient1"))["plain_language"] in after
