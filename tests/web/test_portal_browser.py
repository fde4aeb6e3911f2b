"""The patient portal in Debian's Chromium at a phone's size (390 x 844, touch), against a
gunicorn server of the module's own (a SQLite demo clinic of 12 synthetic patients, two with
portal logins), as a patient would use it:

1. the issue's whole flow: a patient on their phone reports a relapse, fills in the MFIS and
   sees its score, logs an exercise session (one request); a clinician finds the report in the
   review queue and confirms it; the NEDA relapse component changes in the portal and on the
   clinician's overview;
2. the clinic invites a patient; the patient opens the link on their phone, chooses a password
   and is in the portal; the link then works no more;
3. a patient turns on two-step log-in; the next log-in asks for the code of the app (computed
   here from the key the page shows, as an authenticator app does);
4. every page a patient reaches from the portal, and the public pages (log in, password reset,
   a link that does not work), passes axe-core with no serious or critical violation and has
   tap targets of at least 44 px.

Screenshots go to ``build/test-output/browser/`` (and ``$NEDA_SCREENSHOTS_DIR``). Skipped without
Chromium or Playwright, failing instead with ``NEDA_REQUIRE_BROWSER=1``; nothing here touches
Django's ORM in the test process.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from .browsing import (
    DESKTOP,
    PHONE,
    LiveClinic,
    Tabs,
    accessibility_problems,
    screenshot,
    served_clinic,
    small_tap_targets,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "portal-browser-password-1"
NEW_PASSWORD = "my-own-portal-password-9"
PATIENTS = 12
#: patient1 and patient2 as in the web tests' demo clinic (patient2: no relapse in the latest
#: year of their therapy); patient3 turns on two-step log-in.
PATIENT_ACCOUNTS = 3


@pytest.fixture(scope="module")
def clinic(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClinic]:
    with served_clinic(tmp_path_factory.mktemp("portal-browser"), PASSWORD, PATIENTS,
                       patient_accounts=PATIENT_ACCOUNTS) as served:
        yield served


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


def next_time_step() -> None:
    """Wait for the next 30 s step: its code is fresh (the server accepts a step once) and
    within the server's window whatever drift it learnt from the last code."""
    time.sleep(30.2 - time.time() % 30)


def totp_code(secret: str, drift: int = 0) -> str:
    """The code an authenticator app shows for this key (RFC 6238: 30 s steps, 6 digits)."""
    from django_otp.oath import totp  # a pure function of the key and the clock

    return f"{totp(base64.b32decode(secret.replace(' ', '')), 30, 0, 6, drift):06d}"


# ------------------------------------------------------------------------------ tests
def _relapse_component(page: Page) -> str:
    """The portal's answer for "a relapse in the latest year": none, yes or unknown."""
    return page.locator('tr[data-component="relapse"]').get_attribute("data-value") or ""


def test_a_reported_relapse_counts_once_the_clinic_confirms_it(tabs: Tabs,
                                                                 clinic: LiveClinic) -> None:
    from playwright.sync_api import expect

    public_id = clinic.value("str(PatientAccount.objects.get(user__username='patient2')"
                             ".patient.public_id)")
    phone = tabs.open(PHONE)
    log_in(phone, "patient2")
    expect(phone).to_have_url(re.compile(r"/portal/$"))
    year = phone.locator("p[data-neda]").inner_text()
    found = re.search(r"\((\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)\)", year)
    assert found, year
    start, end = (dt.date.fromisoformat(found.group(i)) for i in (1, 2))
    assert _relapse_component(phone) == "none"  # no relapse in that year, yet
    check_accessibility(phone)
    screenshot(phone, "portal-home.png")

    # 1. a possible relapse, in the middle of that year, reported from the menu
    onset = start + (end - start) / 2
    phone.get_by_role("navigation", name="main").get_by_role(
        "link", name="Report a relapse").click()
    phone.get_by_label("Day it started (year-month-day)").fill(onset.isoformat())
    phone.get_by_label("Weakness or stiffness in an arm or leg").check()
    phone.get_by_label("3 to 6 days").check()
    for question in ("Have you had a fever", "Have you had an infection"):
        phone.get_by_role("group", name=re.compile(question)).get_by_label(
            "No", exact=True).check()
    check_accessibility(phone)
    screenshot(phone, "portal-report-relapse.png")
    phone.get_by_role("button", name="Send to my clinic").click()
    expect(phone.locator("ul.messages")).to_contain_text("Your report was sent to your clinic")
    check_accessibility(phone)
    phone.goto("/portal/")
    assert _relapse_component(phone) == "none"  # reported: counted nowhere until reviewed

    # 2. the MFIS, scored at once (21 items of 0-4: "2" everywhere is 42 of 84)
    phone.goto("/portal/questionnaires/MFIS/")
    items = phone.locator("fieldset.item")
    expect(items).to_have_count(21)
    for i in range(21):
        items.nth(i).locator('input[value="2"]').check()
    phone.get_by_role("button", name="Send answers and see my score").click()
    expect(phone.locator("#result h2")).to_have_text("Your score: 42")
    check_accessibility(phone)
    screenshot(phone, "portal-mfis-score.png")

    # 3. an exercise session: one request (the POST; the page after its redirect apart)
    phone.goto("/portal/exercise/")
    phone.get_by_label("Type").select_option("walking")
    phone.get_by_label("Minutes").fill("30")
    posts: list[str] = []
    phone.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    phone.get_by_role("button", name="Save session").click()
    expect(phone.locator("ul.messages")).to_contain_text("Saved: 30 minutes of walking")
    assert posts == [f"{clinic.base}/portal/exercise/"], posts
    check_accessibility(phone)
    screenshot(phone, "portal-exercise.png")

    # 4. the clinic: the report in the review queue, confirmed
    desk = tabs.open(DESKTOP)
    log_in(desk, "clinician")
    desk.get_by_role("navigation", name="main").get_by_role(
        "link", name=re.compile(r"^Review")).click()
    row = desk.locator(f'#review-relapses tr[data-patient="{public_id}"]',
                       has_text=onset.isoformat())
    expect(row).to_have_count(1)
    check_accessibility(desk, phone=False)
    screenshot(desk, "review-queue.png")
    row.get_by_role("button", name="Confirm relapse").click()
    expect(desk.locator(f'#review-relapses tr[data-patient="{public_id}"]',
                        has_text=onset.isoformat())).to_have_count(0)
    desk.goto(f"/patients/{public_id}/")
    component = desk.locator('#neda-card [data-window="current_year"] '
                             'tr[data-component="relapse"]')
    expect(component.locator(".badge")).to_have_text("no")
    expect(component.locator(".reason")).to_contain_text(onset.isoformat())

    # 5. and the patient's portal says so too
    phone.goto("/portal/")
    assert _relapse_component(phone) == "yes"
    expect(phone.locator("p[data-neda]")).to_have_attribute("data-neda", "no")
    screenshot(phone, "portal-home-after-review.png")


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
    log_in(phone, "patient3")
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
    log_in(later, "patient3")
    expect(later).to_have_url(re.compile(r"/account/verify/"))
    expect(later.get_by_role("heading", level=1)).to_have_text("Enter your code")
    check_accessibility(later)
    screenshot(later, "portal-code.png")
    later.goto("/portal/")  # nothing opens before the code
    expect(later).to_have_url(re.compile(r"/account/verify/\?next="))
    # the next time step's code (the one that turned it on is not accepted twice)
    next_time_step()
    later.get_by_label("Code from your authenticator app").fill(totp_code(secret))
    later.get_by_role("button", name="Continue").click()
    expect(later).to_have_url(re.compile(r"/portal/$"))
    expect(later.locator("header .who")).to_contain_text("patient3 · patient")


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


def _tab_to(page: Page, selector: str, presses: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (it must be reachable by the keyboard), and
    check that the focus is visible (an outline or a box shadow)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            shown = page.evaluate("""() => {
                const s = getComputedStyle(document.activeElement);
                return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0)
                    || s.boxShadow !== "none";
            }""")
            assert shown, f"{selector} has the focus but does not show it"
            return
    raise AssertionError(f"{selector} is not reached by the Tab key on {page.url}")


def test_a_patient_logs_in_and_logs_exercise_by_keyboard_alone(tabs: Tabs) -> None:
    from playwright.sync_api import expect

    page = tabs.open(DESKTOP)
    page.goto("/login/")
    _tab_to(page, "#id_username")
    page.keyboard.type("patient1")
    _tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    page.goto("/portal/exercise/")
    _tab_to(page, "#id_kind")
    page.keyboard.press("ArrowDown")  # the first type of exercise
    _tab_to(page, "#id_minutes")
    page.keyboard.type("20")
    page.keyboard.press("Enter")
    expect(page.locator("ul.messages")).to_contain_text("Saved: 20 minutes of")
