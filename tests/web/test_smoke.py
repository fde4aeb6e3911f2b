"""The skeleton works end to end: login, list, overview, health."""

from __future__ import annotations

from typing import Any

from django.test import Client

from neda.web.clinic.models import Patient


def test_healthz(client: Client, db: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_list_and_overview(clinician: Client, demo_patient: Patient) -> None:
    r = clinician.get("/patients/")
    assert r.status_code == 200 and demo_patient.subject in r.content.decode()
    r = clinician.get(f"/patients/{demo_patient.public_id}/")
    assert r.status_code == 200
    assert "In plain words" in r.content.decode()


def _links(html: str, nav: str) -> list[str]:
    """The hrefs of the <nav aria-label="..."> of a page."""
    import re

    found = re.search(rf'<nav[^>]*aria-label="{nav}"[^>]*>(.*?)</nav>', html, re.S)
    assert found, html[:2000]
    return re.findall(r'href="([^"]+)"', found.group(1))


def test_every_screen_of_a_role_is_linked_and_every_link_opens(demo_patient: Patient) -> None:
    """The main menu and the overview's actions link each role's screens (import, export, new
    patient, deleted records were reachable only by typing their address), and every link
    opens for that role."""
    from .conftest import login

    expected = {
        "clinician": {"/patients/", "/patients/new/", "/import/", "/export/", "/edss/",
                      "/portal/review/", "/account/"},
        "nurse": {"/patients/", "/patients/new/", "/import/", "/export/", "/edss/",
                  "/portal/review/", "/account/"},
        "researcher": {"/patients/", "/export/", "/edss/", "/account/"},
        "admin": {"/patients/", "/patients/new/", "/import/", "/export/", "/edss/",
                  "/deleted/", "/portal/review/", "/account/"},
    }
    overview = f"/patients/{demo_patient.public_id}/"
    for role, screens in expected.items():
        client = login(role)
        menu = _links(client.get("/patients/").content.decode(), "main")
        assert set(menu) == screens, role
        actions = _links(client.get(overview).content.decode(), "patient")
        assert f"/export{overview}" in actions
        for href in menu + actions:
            assert client.get(href).status_code == 200, (role, href)
    patient = login("patient1")  # the portal's menu
    menu = _links(patient.get("/portal/").content.decode(), "main")
    assert set(menu) >= {"/portal/", "/portal/relapses/new/", "/portal/relapses/"}
    for href in menu:
        assert patient.get(href).status_code == 200, ("patient", href)
    admin = login("admin")
    edit = admin.get(f"{overview}edit/").content.decode()
    assert f'href="{overview}delete/"' in edit
    assert f'href="{overview}delete/"' not in login("clinician").get(
        f"{overview}edit/").content.decode()


def test_not_found_and_not_allowed_pages_lead_back(clinician: Any) -> None:
    r = clinician.get("/patients/00000000-0000-0000-0000-000000000000/")
    assert r.status_code == 404 and b"Back to the start page" in r.content
    other = Patient.objects.get(subject="OTHER-1")
    assert clinician.get(f"/patients/{other.public_id}/").status_code == 404
    r = clinician.get("/deleted/")  # administrators only
    assert r.status_code == 403 and b"Not allowed" in r.content
