"""The patient overview: one page of the computed course, its chart data, access."""

from __future__ import annotations

import html as htmllib
import json
from typing import Any

import pytest
from django.test import Client

from neda.web.clinic.course import course_for
from neda.web.clinic.middleware import CSP
from neda.web.clinic.models import Patient, Relapse, SymptomTreatment, Visit

from .conftest import login
from .pages import inline_scripts, parse


@pytest.fixture
def treated(db: Any) -> Patient:
    """A demo patient with a current therapy, relapses and scans."""
    for p in Patient.objects.filter(clinic__name="Demo MS clinic").order_by("pk"):
        course = course_for(p)
        if course.get("current_therapy") and course.get("relapses") and course["chart"]["scans"]:
            return p
    raise AssertionError("the demo clinic has no treated patient with relapses and scans")


def _chart(html: str) -> dict[str, Any]:
    data = [s for s in parse(html).scripts if s["attrs"].get("id") == "chart-data"]
    assert len(data) == 1 and data[0]["attrs"].get("type") == "application/json"
    return json.loads(data[0]["text"])  # type: ignore[no-any-return]


def test_the_page_carries_the_chart_data_and_no_inline_script(clinician: Client,
                                                              treated: Patient) -> None:
    r = clinician.get(f"/patients/{treated.public_id}/")
    html = r.content.decode()
    assert r.status_code == 200 and r["Content-Security-Policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-eval" not in CSP
    assert inline_scripts(html) == []
    srcs = [s["attrs"]["src"] for s in parse(html).scripts if s["attrs"].get("src")]
    assert srcs == ["/static/vendor/plotly/plotly.min.js", "/static/clinic/overview-chart.js"]
    chart = _chart(html)
    course = course_for(treated)
    assert chart == course["chart"]
    assert {"visits", "events", "relapses", "scans", "epochs", "neda_years", "as_of"} <= set(chart)
    assert chart["as_of"] == course["as_of"]
    assert all({"severity", "recovery"} <= set(r) for r in chart["relapses"])
    assert all({"computed", "mismatch"} <= set(v) for v in chart["visits"])


def test_plotly_and_the_chart_script_are_served_by_the_site(clinician: Client) -> None:
    for path in ("/static/vendor/plotly/plotly.min.js", "/static/vendor/plotly/LICENSE.txt",
                 "/static/clinic/overview-chart.js"):
        r = clinician.get(path)
        assert r.status_code == 200, path
        body = b"".join(r.streaming_content) if r.streaming else r.content  # type: ignore[attr-defined]
        assert body
    assert b"MIT" in b"".join(clinician.get("/static/vendor/plotly/LICENSE.txt")
                              .streaming_content)  # type: ignore[attr-defined]


def test_the_neda_card_gives_a_reason_for_every_no_and_unknown(clinician: Client,
                                                               treated: Patient) -> None:
    html = clinician.get(f"/patients/{treated.public_id}/").content.decode()
    course = course_for(treated)
    ct = course["current_therapy"]
    assert ct["drug"] in html
    for window in ("current_year", "since_start"):
        n = ct["neda"][window]
        if not n["window_start"]:
            continue
        for component, status in n["component_status"].items():
            if status is not True and n["components"][component]:
                assert n["components"][component] in htmllib.unescape(html)
    assert course["rule_set_digest"] in html and course["rule_set"] in html
    assert course["plain_language"] in htmllib.unescape(html)


def test_a_relapse_added_changes_the_overview(clinician: Client, treated: Patient) -> None:
    before = course_for(treated)
    last_visit = Visit.objects.filter(patient=treated).order_by("-date").first()
    assert last_visit is not None
    onset = last_visit.date.isoformat()
    Relapse.objects.create(patient=treated, onset=onset, status="confirmed")
    treated.refresh_from_db()
    after = course_for(treated)
    assert after["data_version"] > before["data_version"]
    assert len(after["relapses"]) == len(before["relapses"]) + 1
    html = clinician.get(f"/patients/{treated.public_id}/").content.decode()
    assert onset in html
    assert any(r["onset_start"] == onset for r in _chart(html)["relapses"])
    # a relapse only reported by the patient waits for the clinic: no change
    Relapse.objects.create(patient=treated, onset="2026-01", status="reported")
    treated.refresh_from_db()
    assert len(course_for(treated)["relapses"]) == len(after["relapses"])


def test_symptom_treatments_beside_the_scores_they_target(clinician: Client,
                                                         treated: Patient) -> None:
    SymptomTreatment.objects.create(patient=treated, drug="baclofen", symptom="spasticity",
                                    dose="10 mg three times daily", start="2024-01-01")
    SymptomTreatment.objects.create(patient=treated, drug="amantadine", symptom="fatigue",
                                    start="2023-05-01")
    html = clinician.get(f"/patients/{treated.public_id}/").content.decode()
    assert "baclofen" in html and "amantadine" in html
    fatigue = html[html.index(">fatigue<"):]
    fatigue = fatigue[:fatigue.index("</tr>")]
    assert "amantadine" in fatigue and ("MFIS" in fatigue or "FSS" in fatigue)


def test_researchers_see_the_pseudonym_only(treated: Patient) -> None:
    Patient.objects.filter(pk=treated.pk).update(subject="MS-REG-77777", name="Ada Test-Name")
    treated.refresh_from_db()
    r = login("researcher").get(f"/patients/{treated.public_id}/")
    html = r.content.decode()
    assert r.status_code == 200 and treated.pseudonym() in html
    assert "MS-REG-77777" not in html and "Ada Test-Name" not in html
    assert "record_add" not in html and "/add/" not in html


def test_another_clinics_patient_is_404_and_patients_are_refused(db: Any) -> None:
    other = Patient.objects.get(subject="OTHER-1")
    assert login("clinician").get(f"/patients/{other.public_id}/").status_code == 404
    own = Patient.objects.filter(clinic__name="Demo MS clinic").first()
    assert own is not None
    assert login("patient1").get(f"/patients/{own.public_id}/").status_code == 403
    assert Client().get(f"/patients/{own.public_id}/").status_code == 302
    assert login("clinician").get("/patients/00000000-0000-0000-0000-000000000000/"
                                  ).status_code == 404


def test_a_record_that_does_not_read_is_shown_not_a_server_error(clinician: Client,
                                                                 treated: Patient) -> None:
    Relapse.objects.create(patient=treated, onset="not a date", status="confirmed")
    treated.refresh_from_db()
    r = clinician.get(f"/patients/{treated.public_id}/")
    assert r.status_code == 200 and "cannot be computed" in r.content.decode()


def test_read_only_pages_refuse_other_methods_after_the_access_check(clinician: Client,
                                                                    treated: Patient) -> None:
    other = Patient.objects.get(subject="OTHER-1")
    for suffix in ("", "print/"):
        assert clinician.post(f"/patients/{treated.public_id}/{suffix}").status_code == 405
        assert clinician.post(f"/patients/{other.public_id}/{suffix}").status_code == 404


def test_the_cards_follow_every_change_and_role(clinician: Client, treated: Patient) -> None:
    """The course's cards are rendered once per course key and role, and reused: a change of
    the records shows on the next request, and who may edit sees their links only."""
    url = f"/patients/{treated.public_id}/"
    first = clinician.get(url).content.decode()  # rendered and kept
    assert 'id="neda-card"' in first and "baclofen" not in first
    SymptomTreatment.objects.create(patient=treated, drug="baclofen", symptom="spasticity",
                                    start="2024-01-01")
    assert "baclofen" in clinician.get(url).content.decode()
    Relapse.objects.create(patient=treated, onset="2026-01", status="reported")
    html = clinician.get(url).content.decode()
    assert 'data-reported="1"' in html and "#review-relapses" in html
    html = login("researcher").get(url).content.decode()  # no editing: no review link
    assert 'data-reported="1"' in html and "#review-relapses" not in html
    assert "#review-relapses" in clinician.get(url).content.decode()
