"""The clinic in a real browser: Debian's Chromium driven by Playwright, against a gunicorn
server of the module's own (a SQLite database in a temporary folder, migrated, static files
collected, a demo clinic of 20 synthetic patients), as a user would use it:

1. a clinician logs in through the login form, opens a patient, and the chart is drawn;
2. a relapse entered through the relapse form turns the NEDA card from yes to no, with the
   relapse as the reason;
3. an import whose file has one bad row names the row and the column in its preview, and
   stores nothing - not even when a commit is forced.

Screenshots (full page, 1400x900 viewport) go to ``build/test-output/browser/``: the patient
list, a patient overview and the import preview; with ``NEDA_SCREENSHOTS_DIR`` set (``make
screenshots``: ``docs/screenshots``) they are copied there too. A failed test leaves a
screenshot of its page there as well.

Without Chromium (``$NEDA_CHROMIUM``, else ``/usr/bin/chromium``, else ``chromium`` on the
PATH) or Playwright the tests are skipped - and fail instead when ``NEDA_REQUIRE_BROWSER=1``
(CI). They need no test database of pytest-django: the server and its database live in other
processes, and nothing here touches Django's ORM in the test process (Playwright's sync API
runs an event loop, in which the ORM would refuse to work).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .browsing import DESKTOP, LiveClinic, Tabs, screenshot, served_clinic

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "browser-test-password-1"
PATIENTS = 20
DATE = r"(\d{4}-\d\d-\d\d)"


# ---------------------------------------------------------------------- server and tab
@pytest.fixture(scope="module")
def clinic(browser: Browser, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[LiveClinic]:
    """The demo clinic served by gunicorn on SQLite. One worker: every request meets the same
    process's cache of computed courses, so a cache that a change fails to invalidate shows
    (with two, the other worker's empty cache could hide it)."""
    folder = tmp_path_factory.mktemp("browser")
    with served_clinic(folder, PASSWORD, PATIENTS, patient_accounts=0) as served:
        yield served


@pytest.fixture
def page(tabs: Tabs) -> Page:
    """A tab of a fresh browser context (no cookies) on the live clinic, at a desk's size."""
    return tabs.open(DESKTOP)


@pytest.fixture
def page_errors(tabs: Tabs) -> list[str]:
    """What went wrong in the test's page: the test fails unless it takes them out."""
    return tabs.errors


def log_in(page: Page) -> None:
    """Log in as the demo clinician through the login form."""
    from playwright.sync_api import expect

    page.goto("/login/")
    page.get_by_label("Username").fill("clinician")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # staff land on the patient list
    expect(page).to_have_url(re.compile(r"/patients/$"))
    expect(page.locator("header .who")).to_have_text("clinician · clinician")


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# ------------------------------------------------------------------------------ tests
def test_a_clinician_logs_in_and_the_chart_of_a_patient_is_drawn(page: Page,
                                                                 clinic: LiveClinic) -> None:
    from playwright.sync_api import expect

    log_in(page)
    rows = page.locator("table.list tbody tr[data-patient]")
    expect(rows).to_have_count(PATIENTS)
    expect(page.locator("#list-note")).to_contain_text(f"{PATIENTS} patients.")
    screenshot(page, "list.png")

    first = rows.first
    public_id = first.get_attribute("data-patient")
    first.locator("th a").click()
    expect(page).to_have_url(re.compile(rf"/patients/{public_id}/$"))
    chart = page.locator("#course-chart")
    # overview-chart.js marks the chart once Plotly.newPlot has resolved
    expect(chart).to_have_attribute("data-drawn", "true")
    expect(chart.locator(".chart-fallback")).to_have_count(0)
    assert chart.locator("svg.main-svg").count() >= 1
    expect(chart.locator(".legend")).to_contain_text("EDSS rated")
    # every rated EDSS of the page's data is a marker of the drawn line
    data = json.loads(page.locator("#chart-data").text_content() or "null")
    rated = [v for v in data["visits"] if v["edss"] is not None]
    assert len(rated) > 5
    drawn = page.evaluate("""() => {
        const gd = document.getElementById("course-chart");
        const trace = gd._fullData.find(t => t.name === "EDSS rated");
        const group = trace && gd.querySelector(".scatterlayer .trace" + trace.uid);
        return group ? group.querySelectorAll(".points path.point").length : -1;
    }""")
    assert drawn == len(rated)
    box = chart.locator("svg.main-svg").first.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 400
    screenshot(page, "overview.png")


def test_a_relapse_entered_in_the_form_turns_neda_from_yes_to_no(page: Page,
                                                                  clinic: LiveClinic) -> None:
    from playwright.sync_api import expect

    log_in(page)
    # a patient whose NEDA-3 in the latest completed year of the current therapy is "yes"
    page.goto("/patients/?sort=neda&dir=desc")
    yes = page.locator('table.list tbody tr[data-patient]:has(td[data-col="neda"]'
                       '[data-value="yes"])')
    assert yes.count() >= 1, "the demo clinic has no patient with NEDA-3 yes"
    row = yes.first
    public_id = row.get_attribute("data-patient")
    row.locator("th a").click()
    expect(page).to_have_url(re.compile(rf"/patients/{public_id}/$"))

    card = page.locator("#neda-card")
    window = card.locator('[data-window="current_year"]')
    expect(window.locator('[data-measure="neda3"] .badge')).to_have_text("yes")
    found = re.search(rf"\({DATE} to {DATE}\)", window.locator("h3").inner_text())
    assert found, window.inner_text()
    start, end = _day(found.group(1)), _day(found.group(2))
    since = re.search(rf"since {DATE}", card.locator("p").first.inner_text())
    assert since, card.inner_text()
    # a relapse in the middle of the window, after the therapy's start: it counts
    onset = start + dt.timedelta(days=(end - start).days // 2)
    assert _day(since.group(1)) <= start < onset < end
    relapses = (f"Relapse.objects.filter(patient__public_id='{public_id}', "
                f"onset='{onset.isoformat()}', status='confirmed').count()")
    assert clinic.value(relapses) == 0

    # the Records section's "add" link for relapses, and the relapse form
    records = page.locator("section.records li", has_text="relapses")
    records.get_by_role("link", name="add").click()
    expect(page).to_have_url(re.compile(rf"/patients/{public_id}/relapses/add/$"))
    page.get_by_label("Status").select_option("confirmed")
    page.get_by_label("Onset", exact=True).fill(onset.isoformat())
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/patients/{public_id}/relapses/$"))
    expect(page.locator("ul.messages")).to_contain_text(f"Relapse of {onset.isoformat()} added.")
    assert clinic.value(relapses) == 1

    page.goto(f"/patients/{public_id}/")
    window = page.locator('#neda-card [data-window="current_year"]')
    expect(window.locator("h3")).to_contain_text(f"({start} to {end})")
    expect(window.locator('[data-measure="neda3"] .badge')).to_have_text("no")
    expect(window.locator('[data-measure="neda3"] .reason')).to_contain_text("relapse")
    component = window.locator('tr[data-component="relapse"]')
    expect(component.locator(".badge")).to_have_text("no")
    expect(component.locator(".reason")).to_have_text(f"relapse on {onset.isoformat()}")
    # and the patient list says so too (its statuses are cached per data version)
    page.goto("/patients/?sort=neda&dir=desc")
    expect(page.locator(f'tr[data-patient="{public_id}"] td[data-col="neda"]')
           ).to_have_attribute("data-value", "no")


BAD_VISITS = b"""subject,date,edss,t25fw
BROWSER-NEW-1,2020-01-10,2.0,6.1
BROWSER-NEW-1,2021-01-12,0.5,
BROWSER-NEW-1,2022-02-01,3.0,7.0
"""


def test_an_import_with_one_bad_row_names_it_and_stores_nothing(
        page: Page, clinic: LiveClinic, page_errors: list[str]) -> None:
    from playwright.sync_api import expect

    counts = ("[Patient.all_objects.count(), Visit.all_objects.count(), "
              "Visit.history.count(), Clinic.objects.get(name='Demo MS clinic').data_version]")
    before = clinic.value(counts)
    log_in(page)
    page.get_by_role("navigation", name="main").get_by_role("link", name="Import").click()
    expect(page).to_have_url(re.compile(r"/import/$"))
    page.get_by_label("Visits file").set_input_files(
        files=[{"name": "visits.csv", "mimeType": "text/csv", "buffer": BAD_VISITS}])
    page.get_by_role("button", name="Read the files (stores nothing)").click()
    expect(page).to_have_url(re.compile(r"/import/[^/]+/$"))
    expect(page.locator("#problems")).to_contain_text("1 problem in the files")
    problems = page.get_by_role("table", name="problems").locator("tbody tr")
    expect(problems).to_have_count(1)
    cells = problems.first.locator("td")
    expect(cells).to_have_text(["visits.csv", "", "3", "edss", "0.5",
                                re.compile(r"EDSS value")])
    expect(page.get_by_role("button", name=re.compile("Import every row"))).to_have_count(0)
    screenshot(page, "import-preview.png")
    assert clinic.value(counts) == before

    # a commit forced anyway (a stale tab, a hand-made request) is refused: the problem again
    page.locator("form.rec-actions").evaluate("""form => {
        const b = document.createElement("button");
        b.type = "submit"; b.name = "action"; b.value = "commit"; b.id = "forced-commit";
        b.textContent = "forced commit"; form.appendChild(b);
    }""")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#forced-commit").click()
    assert answer.value.status == 400
    # Chromium logs the 400 of that POST as a failed resource: expected here, and only here
    expect(page.get_by_role("table", name="problems")).to_be_visible()
    assert page_errors == ["console: Failed to load resource: the server responded with a "
                           "status of 400 (Bad Request)"], page_errors
    page_errors.clear()
    expect(page.get_by_role("table", name="problems").locator("tbody tr td").nth(2)
           ).to_have_text("3")
    assert clinic.value(counts) == before

    page.get_by_role("button", name="Cancel and remove the files").click()
    expect(page).to_have_url(re.compile(r"/import/$"))
    expect(page.locator("ul.messages")).to_contain_text("nothing was stored")
    page.goto("/patients/?q=BROWSER")
    expect(page.locator("table.list tbody")).to_contain_text("No patients match")
    assert clinic.value(counts) == before
