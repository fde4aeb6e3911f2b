"""The patient portal in Debian's Chromium at a phone's size (390 x 844, touch), against a
gunicorn server of the module's own (a SQLite demo clinic of 12 synthetic patients, two with
portal logins), as a patient would use it:

1. the clinic invites a patient; the patient opens the link on their phone, chooses a password
   and is in the portal; the link then works no more;
2. a patient turns on two-step log-in; the next log-in asks for the code of the app (computed
   here from the key the page shows, as an authenticator app does);
3. every page a patient reaches from the portal, and the public pages (log in, password reset,
   a link that does not work), passes axe-core with no serious or critical violation and has
   tap targets of at least 44 px.

Screenshots go to ``build/test-output/browser/`` (and ``$NEDA_SCREENSHOTS_DIR``). Skipped without
Chromium or Playwright, failing instead with ``NEDA_REQUIRE_BROWSER=1``; nothing here touches
Django's ORM in the test process.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from .browsing import (
    OUTPUT,
    LiveClinic,
    accessibility_problems,
    chromium,
    screenshot,
    served_clinic,
    small_tap_targets,
    unavailable,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

PASSWORD = "portal-browser-password-1"
NEW_PASSWORD = "my-own-portal-password-9"
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                         "has_touch": True, "device_scale_factor": 2}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1400, "height": 900}}
PATIENTS = 12


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed (pip install -e '.[test]')")
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # the first course of a worker takes a few seconds
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def clinic(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClinic]:
    with served_clinic(tmp_path_factory.mktemp("portal-browser"), PASSWORD, PATIENTS,
                       patient_accounts=2) as served:
        yield served


class Tabs:
    """Browser contexts (each its own cookies) of one test; their pages' errors fail it."""

    def __init__(self, browser: Browser, clinic: LiveClinic) -> None:
        self.browser, self.clinic = browser, clinic
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def open(self, device: dict[str, Any]) -> Page:
        context = self.browser.new_context(base_url=self.clinic.base, **device)
        context.set_default_timeout(30_000)
        self.contexts.append(context)
        tab = context.new_page()
        tab.on("console", lambda m: self.errors.append(f"console: {m.text}")
               if m.type == "error" else None)
        tab.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        return tab


@pytest.fixture
def tabs(browser: Browser, clinic: LiveClinic, request: pytest.FixtureRequest
         ) -> Iterator[Tabs]:
    opened = Tabs(browser, clinic)
    failed_before = request.session.testsfailed
    try:
        yield opened
        assert not opened.errors, opened.errors
    finally:
        for i, context in enumerate(opened.contexts):
            if request.session.testsfailed > failed_before and context.pages:
                OUTPUT.mkdir(parents=True, exist_ok=True)
                context.pages[0].screenshot(
                    path=OUTPUT / f"failed-{request.node.name}-{i}.png", full_page=True)
            context.close()


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    from playwright.sync_api import expect

    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def check_accessibility(page: Page, phone: bool = True) -> None:
    """No serious or critical axe-core violation and, on a phone, tap targets of at least
    44 px."""
    problems = accessibility_problems(page) + (small_tap_targets(page) if phone else [])
    assert problems == [], "\n".join(problems)


def totp_code(secret: str, drift: int = 0) -> str:
    """The code an authenticator app shows for this key (RFC 6238: 30 s steps, 6 digits)."""
    from django_otp.oath import totp  # a pure function of the key and the clock

    return f"{totp(base64.b32decode(secret.replace(' ', '')), 30, 0, 6, drift):06d}"


# ------------------------------------------------------------------------------ tests
def test_a_patient_accepts_the_clinics_invitation_on_a_phone(tabs: Tabs,
                                                              clinic: LiveClinic) -> None:
    from playwright.sync_api import expect

    public_id = clinic.value("str(Patient.objects.filter(account__isnull=True, "
                             "clinic__name='Demo MS clinic').order_by('-pk')[0].public_id)")
    desk = tabs.open(DESKTOP)
    log_in(desk, "nurse")
    desk.goto(f"/patients/{public_id}/")
    desk.get_by_role("navigation", name="patient").get_by_role("link",
                                                              name="Patient portal").click()
    expect(desk.locator("#portal-state")).to_have_text("No portal account yet.")
    desk.get_by_label("The patient's e-mail address").fill("new.patient@example.org")
    desk.get_by_role("button", name="Invite to the portal").click()
    link = desk.locator("#invitation-link").inner_text().strip()
    assert link.startswith(clinic.base + "/portal/welcome/"), link
    check_accessibility(desk, phone=False)
    # "sent": the console e-mail backend printed it to the server's log
    assert clinic.server is not None and link in clinic.server.log_text()

    phone = tabs.open(PHONE)
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Welcome to your patient portal")
    expect(phone).to_have_url(re.compile(r"/set-password/$"))  # the token left the address
    expect(phone.get_by_label("Your username")).to_have_value("new.patient@example.org")
    check_accessibility(phone)
    screenshot(phone, "portal-welcome.png")
    phone.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    phone.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    phone.get_by_role("button", name="Save my password and open the portal").click()
    expect(phone).not_to_have_url(re.compile(r"/welcome/"))
    expect(phone.locator("header .who")).to_contain_text("new.patient@example.org · patient")
    check_accessibility(phone)

    again = tabs.open(PHONE)
    again.goto(link)
    expect(again.get_by_role("heading", level=1)).to_have_text(
        "This invitation was used already")
    check_accessibility(again)
    log_in(again, "new.patient@example.org", NEW_PASSWORD)
    expect(again.locator("header .who")).to_contain_text("new.patient@example.org")


def test_two_step_log_in_on_a_phone(tabs: Tabs) -> None:
    from playwright.sync_api import expect

    phone = tabs.open(PHONE)
    log_in(phone, "patient2")
    phone.goto("/account/")
    expect(phone.locator("#two-factor-state")).to_have_text("off")
    phone.get_by_role("link", name=re.compile("Turn on two-step log-in")).click()
    expect(phone.get_by_role("img", name="QR code of your authenticator key")
           .locator("svg")).to_be_visible()
    check_accessibility(phone)
    screenshot(phone, "portal-two-factor.png")
    secret = phone.locator("#totp-secret").inner_text()
    phone.get_by_label("Code from your authenticator app").fill(totp_code(secret))
    phone.get_by_role("button", name="Turn on").click()
    expect(phone.locator("#two-factor-state")).to_have_text("on (authenticator app)")
    check_accessibility(phone)

    later = tabs.open(PHONE)
    log_in(later, "patient2")
    expect(later).to_have_url(re.compile(r"/account/verify/"))
    expect(later.get_by_role("heading", level=1)).to_have_text("Enter your code")
    check_accessibility(later)
    screenshot(later, "portal-code.png")
    later.goto("/portal/")  # nothing opens before the code
    expect(later).to_have_url(re.compile(r"/account/verify/\?next="))
    # the next time step's code (the one that turned it on is not accepted twice)
    later.get_by_label("Code from your authenticator app").fill(totp_code(secret, drift=1))
    later.get_by_role("button", name="Continue").click()
    expect(later).to_have_url(re.compile(r"/portal/$"))
    expect(later.locator("header .who")).to_contain_text("patient2 · patient")


SKIP = re.compile(r"/logout/|\.(zip|json|csv|pdf)$|/static/")


def _crawl(page: Page, start: str, limit: int = 40) -> list[str]:
    """The site's pages reachable by links from ``start`` (GET only), each checked once."""
    seen: list[str] = []
    queue = [start]
    base = urlsplit(page.url or "http://x").netloc
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.append(path)
        page.goto(path)
        check_accessibility(page)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
            parts = urlsplit(href)
            if parts.netloc != base or SKIP.search(parts.path) or parts.fragment:
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen and target not in queue:
                queue.append(target)
    return seen


def test_every_portal_page_passes_the_accessibility_check_on_a_phone(tabs: Tabs) -> None:
    phone = tabs.open(PHONE)
    log_in(phone, "patient1")
    visited = _crawl(phone, "/")
    assert {"/", "/account/", "/account/password/", "/account/two-factor/"} <= set(visited)
    assert not [p for p in visited if p.startswith("/patients/")], visited
    phone.goto("/")
    screenshot(phone, "portal-home.png")

    public = tabs.open(PHONE)
    for path in ("/login/", "/password-reset/", "/password-reset/sent/",
                 "/password-reset/MQ/0-invalid/", "/portal/welcome/MQ/0-invalid/"):
        public.goto(path)
        check_accessibility(public)
    public.goto("/login/")
    screenshot(public, "portal-login.png")


def test_the_checks_find_what_they_look_for(tabs: Tabs) -> None:
    """The accessibility check can fail: an unlabelled field, an image without text and a
    small button are reported."""
    phone = tabs.open(PHONE)
    phone.goto("/login/")
    phone.set_content('<!doctype html><html lang="en"><body><main><h1>x</h1>'
                      '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text">'
                      '<button style="all: unset; font-size: 10px">go</button></main></body>'
                      '</html>')
    problems = "\n".join(accessibility_problems(phone))
    assert "image-alt (critical)" in problems and "label (critical)" in problems, problems
    assert any('button "go"' in s for s in small_tap_targets(phone))
