"""The printable one-page summary."""

from __future__ import annotations

import html as htmllib
from typing import Any

from django.test import Client

from neda.web.clinic.course import course_for
from neda.web.clinic.models import Patient

from .conftest import login
from .pages import inline_scripts, parse


def test_print_page_shows_the_computed_summary(clinician: Client,
                                               demo_patient: Patient) -> None:
    r = clinician.get(f"/patients/{demo_patient.public_id}/print/")
    page = r.content.decode()
    assert r.status_code == 200
    assert '/static/clinic/print.css' in page and "@page" not in page  # the stylesheet's job
    assert parse(page).scripts == [] and inline_scripts(page) == []
    course = course_for(demo_patient)
    text = htmllib.unescape(page)
    assert course["plain_language"] in text
    assert course["rule_set_digest"] in text and course["as_of"] in text
    assert demo_patient.subject in text
    for section in ("Current therapy and NEDA", "Relapses and recovery", "Treatment history",
                    "Confirmed disability events", "Latest scores"):
        assert section in text
    # the print stylesheet lays the page out for one A4 sheet
    css = b"".join(clinician.get("/static/clinic/print.css").streaming_content)  # type: ignore[attr-defined]
    assert b"size: A4" in css and b"@media print" in css


def test_print_page_access(demo_patient: Patient) -> None:
    other = Patient.objects.get(subject="OTHER-1")
    assert login("clinician").get(f"/patients/{other.public_id}/print/").status_code == 404
    assert login("patient1").get(f"/patients/{demo_patient.public_id}/print/"
                                 ).status_code == 403
    Patient.objects.filter(pk=demo_patient.pk).update(subject="MS-REG-55555", name="Print Name")
    demo_patient.refresh_from_db()
    page = login("researcher").get(f"/patients/{demo_patient.public_id}/print/").content.decode()
    assert demo_patient.pseudonym() in page
    assert "MS-REG-55555" not in page and "Print Name" not in page


def test_print_page_of_a_patient_without_visits(clinician: Client, db: Any) -> None:
    from neda.web.clinic.models import Clinic

    clinic = Clinic.objects.get(name="Demo MS clinic")
    new = Patient.objects.create(clinic=clinic, subject="NEW-1")
    r = clinician.get(f"/patients/{new.public_id}/print/")
    assert r.status_code == 200 and "No visits recorded yet" in r.content.decode()
    assert "No visits recorded yet" in clinician.get(f"/patients/{new.public_id}/"
                                                     ).content.decode()
