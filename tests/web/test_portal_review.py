"""``/portal/review/``: the clinic's queue of reported relapses; a decision on one. Confirming
a report makes it count: the patient's NEDA relapse component changes on the clinician's
overview and in the patient's portal alike."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from typing import Any

from django.contrib.messages import get_messages
from django.utils import timezone

from neda.web.clinic.course import course_for
from neda.web.clinic.models import Clinic, Patient, PatientAccount, Relapse
from neda.web.portal.views.review import DECISIONS

from .conftest import login
from .pages import inline_scripts


def _own(username: str) -> Patient:
    return PatientAccount.objects.select_related("patient").get(
        user__username=username).patient


def _report(username: str, onset: str) -> Relapse:
    r = login(username).post("/portal/relapses/new/", {
        "onset_known": "exact", "onset_day": onset, "systems": ["pyramidal"],
        "duration": "3_6_days", "fever": "no", "infection": "no", "steroids": "yes"})
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    return Relapse.objects.filter(patient=_own(username)).latest("pk")


def _decide(role: str, relapse: Relapse, decision: str) -> Any:
    return login(role).post(
        f"/portal/review/relapses/{relapse.patient.public_id}/{relapse.pk}/",
        {"decision": decision})


def test_the_queue_lists_the_clinics_reports_oldest_first(db: Any) -> None:
    first = _report("patient2", (timezone.localdate() - dt.timedelta(days=9)).isoformat())
    second = _report("patient1", (timezone.localdate() - dt.timedelta(days=1)).isoformat())
    other_clinic = Patient.objects.exclude(clinic__name="Demo MS clinic").first()
    assert other_clinic is not None
    foreign = Relapse.objects.create(patient=other_clinic, onset="2024-01", status="reported")
    r = login("nurse").get("/portal/review/")
    page = r.content.decode()
    assert r.status_code == 200 and inline_scripts(page) == []
    order = [int(pk) for pk in re.findall(r'<tr data-relapse="(\d+)"', page)]
    assert order.index(first.pk) < order.index(second.pk)
    assert foreign.pk not in order
    expected = list(Relapse.objects.filter(patient__clinic__name="Demo MS clinic",
                                           status="reported")
                    .order_by("created_at", "pk").values_list("pk", flat=True))
    assert order == expected  # the demo's own waiting report (patient1's) included
    assert f'data-patient="{first.patient.public_id}"' in page


def test_researchers_and_patients_do_not_review(db: Any) -> None:
    relapse = _report("patient2", timezone.localdate().isoformat())
    for role in ("researcher", "patient1", "patient2"):
        assert login(role).get("/portal/review/").status_code == 403
        assert _decide(role, relapse, "confirmed").status_code == 403
    relapse.refresh_from_db()
    assert relapse.status == "reported"


def test_each_decision_is_stored_and_audited(db: Any) -> None:
    for decision, (status, message) in DECISIONS.items():
        relapse = _report("patient2", (timezone.localdate() - dt.timedelta(
            days=40 * (1 + list(DECISIONS).index(decision)))).isoformat())
        r = _decide("clinician", relapse, decision)
        assert r.status_code == 302 and r["Location"] == "/portal/review/"
        relapse.refresh_from_db()
        assert relapse.status == status
        last = relapse.history.latest()  # type: ignore[attr-defined]
        assert last.status == status and last.history_user.username == "clinician"
        assert [str(m) for m in get_messages(r.wsgi_request)] == [
            message.format(onset=relapse.onset)]
        page = htmllib.unescape(login("clinician").get("/portal/review/").content.decode())
        assert f'data-relapse="{relapse.pk}"' not in page  # out of the queue
        mine = htmllib.unescape(login("patient2").get("/portal/relapses/").content.decode())
        assert f'data-relapse="{relapse.pk}" data-status="{status}"' in mine
        # decided once: a second decision finds nothing to review
        assert _decide("clinician", relapse, "confirmed").status_code == 404


def test_an_unknown_decision_changes_nothing(db: Any) -> None:
    relapse = _report("patient2", timezone.localdate().isoformat())
    r = _decide("nurse", relapse, "maybe")
    assert r.status_code == 302
    relapse.refresh_from_db()
    assert relapse.status == "reported"
    assert login("nurse").get(
        f"/portal/review/relapses/{relapse.patient.public_id}/{relapse.pk}/").status_code == 405


def _overview_relapse_badge(public_id: Any) -> str:
    page = login("clinician").get(f"/patients/{public_id}/").content.decode()
    window = page[page.index('data-window="current_year"'):]
    window = window[:window.index("</table>")]
    row = window[window.index('data-component="relapse"'):]
    badge = re.search(r'<span class="badge (\w+)"[^>]*>(\w+)</span>', row)
    assert badge is not None
    return badge.group(2)


def _portal_relapse_value(username: str) -> str:
    page = login(username).get("/portal/").content.decode()
    found = re.search(r'data-component="relapse" data-value="(\w+)"', page)
    assert found is not None
    return found.group(1)


def test_confirming_a_report_changes_neda_on_both_screens(db: Any) -> None:
    me = _own("patient2")
    year = course_for(me)["current_therapy"]["neda"]["current_year"]
    assert year["component_status"]["relapse"] is True, "demo patient2: no relapse that year"
    start = dt.date.fromisoformat(year["window_start"])
    end = dt.date.fromisoformat(year["window_end"])
    onset = start + (end - start) / 2

    relapse = _report("patient2", onset.isoformat())
    me.refresh_from_db()
    # reported: counted nowhere - the component is unchanged on both screens
    assert course_for(me)["current_therapy"]["neda"]["current_year"][
        "component_status"]["relapse"] is True
    assert _overview_relapse_badge(me.public_id) == "yes"  # "no activity?" yes
    overview = login("clinician").get(f"/patients/{me.public_id}/").content.decode()
    assert 'data-reported="1"' in overview and onset.isoformat() in overview
    assert _portal_relapse_value("patient2") == "none"
    listing = login("clinician").get("/patients/").content.decode()
    row = listing[listing.index(f'data-patient="{me.public_id}"'):]
    assert "relapse reported, not yet reviewed" in row[:row.index("</tr>")]

    assert _decide("clinician", relapse, "confirmed").status_code == 302
    me.refresh_from_db()
    year = course_for(me)["current_therapy"]["neda"]["current_year"]
    assert year["component_status"]["relapse"] is False and year["neda3"] is False
    assert onset.isoformat() in year["components"]["relapse"]
    assert _overview_relapse_badge(me.public_id) == "no"
    overview = login("clinician").get(f"/patients/{me.public_id}/").content.decode()
    assert "data-reported=" not in overview
    assert _portal_relapse_value("patient2") == "yes"
    portal = login("patient2").get("/portal/").content.decode()
    assert 'data-neda="no"' in portal
    listing = login("clinician").get("/patients/").content.decode()
    row = listing[listing.index(f'data-patient="{me.public_id}"'):]
    assert "relapse reported, not yet reviewed" not in row[:row.index("</tr>")]


def test_a_pseudo_relapse_does_not_count(db: Any) -> None:
    me = _own("patient2")
    year = course_for(me)["current_therapy"]["neda"]["current_year"]
    start = dt.date.fromisoformat(year["window_start"])
    relapse = _report("patient2", (start + dt.timedelta(days=100)).isoformat())
    assert _decide("nurse", relapse, "pseudo").status_code == 302
    me.refresh_from_db()
    assert course_for(me)["current_therapy"]["neda"]["current_year"][
        "component_status"]["relapse"] is True
    assert _portal_relapse_value("patient2") == "none"


def test_the_navigation_counts_what_waits(db: Any) -> None:
    clinic = Clinic.objects.get(name="Demo MS clinic")
    waiting = Relapse.objects.filter(patient__clinic=clinic, status="reported").count()
    page = login("nurse").get("/patients/").content.decode()
    assert f'data-review-count="{waiting}"' in page
    _report("patient2", timezone.localdate().isoformat())
    page = login("nurse").get("/patients/").content.decode()
    assert f'data-review-count="{waiting + 1}"' in page
    assert "data-review-count" not in login("researcher").get("/patients/").content.decode()


def test_the_count_is_one_query_per_page(db: Any) -> None:
    """The count is made when the page shows it, once: the overview's cards, rendered apart
    with the request, run the context processors too and show no count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _report("patient2", timezone.localdate().isoformat())
    me = _own("patient2")
    nurse = login("nurse")
    with CaptureQueriesContext(connection) as queries:
        page = nurse.get(f"/patients/{me.public_id}/").content.decode()
    assert "data-review-count" in page
    counts = [q["sql"] for q in queries.captured_queries
              if all(w in q["sql"].upper() for w in ("COUNT(", "CLINIC_RELAPSE", "REPORTED"))]
    assert len(counts) == 1, counts


def test_the_queue_says_what_relapse_hygiene_makes_of_a_confirmed_report(db: Any) -> None:
    me = _own("patient2")
    counted = Relapse.objects.filter(patient=me, status="confirmed").order_by("-onset")[0]
    near = dt.date.fromisoformat(counted.onset[:10]) + dt.timedelta(days=10)
    merged = _report("patient2", near.isoformat())
    alone = _report("patient2", timezone.localdate().isoformat())
    page = htmllib.unescape(login("clinician").get("/portal/review/").content.decode())

    def row(relapse: Relapse) -> str:
        start = page.index(f'<tr data-relapse="{relapse.pk}"')
        return page[start:page.index("</tr>", start)]

    assert "Relapse hygiene (rules §3.1) will not count this as a relapse of its own" in row(
        merged) and counted.onset in row(merged)
    assert "counts as a relapse of its own" in row(alone)


def test_the_queue_says_when_relapses_are_not_recorded(db: Any) -> None:
    relapse = _report("patient2", timezone.localdate().isoformat())
    Patient.objects.filter(pk=relapse.patient_id).update(relapses_recorded=False)
    page = htmllib.unescape(login("nurse").get("/portal/review/").content.decode())
    start = page.index(f'<tr data-relapse="{relapse.pk}"')
    assert "Relapses are not recorded for this patient" in page[start:page.index("</tr>",
                                                                                   start)]


def test_the_queue_reads_a_report_with_the_patients_other_reports(db: Any) -> None:
    """Two reports of one attack, both waiting: each row's preview reads the other as if
    confirmed (the later one is folded into the earlier), says that it is waiting for review,
    and lists the patient's other waiting reports - before either is confirmed."""
    today = timezone.localdate()
    first = _report("patient2", (today - dt.timedelta(days=15)).isoformat())
    second = _report("patient2", (today - dt.timedelta(days=5)).isoformat())
    page = htmllib.unescape(login("clinician").get("/portal/review/").content.decode())

    def row(relapse: Relapse) -> str:
        start = page.index(f'<tr data-relapse="{relapse.pk}"')
        return page[start:page.index("</tr>", start)]

    waiting = "(also reported by the patient, waiting for review)"
    assert ("Relapse hygiene (rules §3.1) will not count this as a relapse of its own" in
            row(second) and f"{first.onset} {waiting}" in row(second))
    assert (f"will count the relapse of {second.onset} {waiting} as part of this one"
            in row(first))
    for one, other in ((first, second), (second, first)):
        assert re.search(r"Read together with this patient's other reports? waiting for "
                         rf"review, as if confirmed: [^<]*{other.onset}", row(one))
    # the relapse form (a clinician's own relapse) still reads counted relapses only
    from neda.web.clinic.checking import check_record, record_cells

    alone = check_record("relapses", first.patient, record_cells(first, "relapses"), {},
                         instance_pk=first.pk)
    assert not any(second.onset in w for w in alone.warnings)
