"""What the browser tests share: Debian's Chromium (skipped without it, failing instead when
``NEDA_REQUIRE_BROWSER=1``) and its fixtures (``browser``, ``tabs``: imported by the web tests'
conftest), a demo clinic served by gunicorn in other processes, screenshots, and the
accessibility check (axe-core from ``tests/web/axe/node_modules``, never a CDN).

A module of browser tests defines only its ``clinic`` fixture (a :func:`served_clinic` with its
own patients and password); ``tabs`` opens browser contexts on it, at :data:`DESKTOP` or
:data:`PHONE` size."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .live_server import FreshDatabase, Server, fresh_database

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "build" / "test-output" / "browser"
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def unavailable(reason: str) -> None:
    if os.environ.get("NEDA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and NEDA_REQUIRE_BROWSER=1 requires the browser tests")
    pytest.skip(reason)


#: A clinic's desk, and a phone (the portal's patients; touch, 390 x 844 CSS pixels).
DESKTOP: dict[str, Any] = {"viewport": {"width": 1400, "height": 900}}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                         "has_touch": True}


def chromium() -> str:
    """$NEDA_CHROMIUM, else Debian's /usr/bin/chromium, else chromium on the PATH."""
    given = os.environ.get("NEDA_CHROMIUM")
    if given:
        found = given if os.access(given, os.X_OK) else None
    else:
        path = "/usr/bin/chromium"
        found = path if os.access(path, os.X_OK) else shutil.which("chromium")
    if not found:
        where = f"NEDA_CHROMIUM={given}" if given else "/usr/bin/chromium, chromium on the PATH"
        unavailable(f"Chromium is not installed ({where})")
    return str(found)


@contextlib.contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Chromium (:func:`chromium`) launched by Playwright; skipped (or failing) without
    either."""
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
def browser() -> Iterator[Browser]:
    """One Chromium for a module of browser tests."""
    with launched_chromium() as launched:
        yield launched


class Tabs:
    """Browser contexts (each its own cookies) of one test on the live clinic; what goes wrong
    in their pages (a script that throws, a resource the content security policy blocks, a
    failed request) is collected in :attr:`errors`, which fail the test unless it takes them
    out."""

    def __init__(self, browser: Browser, clinic: LiveClinic) -> None:
        self.browser, self.clinic = browser, clinic
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def open(self, device: dict[str, Any]) -> Page:
        """A tab of a fresh context (no cookies) at this device's size (:data:`DESKTOP`,
        :data:`PHONE`)."""
        context = self.browser.new_context(base_url=self.clinic.base, **device)
        context.set_default_timeout(30_000)
        self.contexts.append(context)
        tab = context.new_page()
        tab.on("console", lambda m: self.errors.append(f"console: {m.text}")
               if m.type == "error" else None)
        tab.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        return tab


@contextlib.contextmanager
def opened_tabs(browser: Browser, clinic: LiveClinic, request: pytest.FixtureRequest
                ) -> Iterator[Tabs]:
    """:class:`Tabs` of a test: its pages' errors fail it, a failed test leaves screenshots of
    its tabs in the test output, and every context is closed."""
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


@pytest.fixture
def tabs(browser: Browser, clinic: LiveClinic, request: pytest.FixtureRequest
         ) -> Iterator[Tabs]:
    """Tabs on the module's ``clinic``."""
    with opened_tabs(browser, clinic, request) as opened:
        yield opened


@dataclass
class LiveClinic:
    """The served clinic: its address, and its database for scripts in other processes."""

    base: str
    fresh: FreshDatabase
    server: Server | None = None

    def value(self, expression: str) -> Any:
        """A value computed by Django in another process, on the server's database."""
        done = self.fresh.script(
            "import json\nfrom neda.web.clinic.models import *\n"
            f"print(json.dumps({expression}))\n")
        return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def served_clinic(folder: Path, password: str, patients: int, patient_accounts: int
                  ) -> Iterator[LiveClinic]:
    """The demo clinic served by gunicorn (one worker) on a SQLite database of its own."""
    with fresh_database(folder, sqlite=True) as fresh:
        fresh.env["NEDA_DEMO_PASSWORD"] = password
        fresh.manage("collectstatic", "--noinput", "-v0")
        # records until a week ago, as the demo a user runs (and its screenshots) has them:
        # the registry's distance to today's portal entries is then the same every day
        fresh.manage("demo_clinic", "--patients", str(patients), "--seed", "3",
                     "--patient-accounts", str(patient_accounts))
        server = Server(fresh, folder, workers=1)
        try:
            yield LiveClinic(server.base, fresh, server)
        finally:
            server.stop()


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot into the test output, copied to $NEDA_SCREENSHOTS_DIR if set."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / name
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000, f"{path} looks empty"
    docs = os.environ.get("NEDA_SCREENSHOTS_DIR")
    if docs:
        folder = Path(docs) if Path(docs).is_absolute() else ROOT / docs
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / name)
    return path


#: Impacts that fail the check (axe also reports "moderate" and "minor" ones).
BLOCKING = ("serious", "critical")


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is, one line each (rule,
    impact, the elements' selectors). axe-core comes from node_modules (``npm ci --prefix
    tests/web/axe``); it is evaluated through the DevTools protocol, which the page's content
    security policy (scripts from the site only) does not govern - an injected <script> tag
    would be refused by it, rightly."""
    if not AXE.exists():
        unavailable(f"axe-core is not installed ({AXE}): npm ci --prefix tests/web/axe")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [f"{page.url}: {v['id']} ({v['impact']}): {v['help']} - {', '.join(v['nodes'][:5])}"
            for v in result if v["impact"] in BLOCKING]


def small_tap_targets(page: Page, minimum: float = 44) -> list[str]:
    """Buttons, fields and the menu's links smaller than ``minimum`` CSS pixels high (WCAG
    2.5.5's 44 px; links inside running text are exempt)."""
    found: list[str] = page.evaluate("""minimum => {
        const small = [];
        const targets = document.querySelectorAll(
            "button, input:not([type=hidden]), select, textarea, header nav a, .button");
        for (const el of targets) {
            const box = el.getBoundingClientRect();
            if (box.width === 0 && box.height === 0) continue;  // not shown
            if (el.type === "checkbox" || el.type === "radio") {
                // the label around or beside it is the target
                const label = el.closest("label")
                    || document.querySelector(`label[for="${el.id}"]`);
                const lb = label ? label.getBoundingClientRect() : box;
                if (Math.max(lb.height, box.height) >= minimum) continue;
            } else if (box.height >= minimum - 0.5) continue;
            small.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}` +
                       ` "${(el.innerText || el.value || el.name || "").trim().slice(0, 30)}"` +
                       ` ${Math.round(box.width)}x${Math.round(box.height)}`);
        }
        return small;
    }""", minimum)
    return [f"{page.url}: {s}" for s in found]
