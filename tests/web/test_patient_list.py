"""The patient list: badges are the core's values, search, sort, paging, pseudonyms for
researchers, one clinic only."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
from django.test import Client

from neda.summary import summarise
from neda.web.clinic.course import options_today, tables_for
from neda.web.clinic.models import Patient, Visit
from neda.web.clinic.views import patient_list as view

from .conftest import login
from .pages import inline_scripts, parse


def _yes_no(value: Any) -> str:
    return "unknown" if value is None or value is pd.NA or pd.isna(value) else (
        "yes" if bool(value) else "no")


@pytest.fixture
def demo(db: Any) -> list[Patient]:
    return list(Patient.objects.filter(clinic__name="Demo MS clinic").order_by("pk"))


def test_badges_are_the_cores_values(clinician: Client, demo: list[Patient]) -> None:
    html = clinician.get("/patients/").content.decode()
    rows = parse(html).rows
    assert len(rows) == len(demo)
    seen = set(Visit.objects.values_list("patient_id", flat=True))
    # the core on the same tables, as of today, with the clinic's rule set (rules §14)
    core = summarise(tables_for([p for p in demo if p.pk in seen]),
                     options=options_today()).patients.set_index("subject")
    checked = 0
    for p in demo:
        row = rows[str(p.public_id)]
        if p.pk not in core.index:
            continue
        c = core.loc[p.pk]
        assert row["neda"] == _yes_no(c["neda3_current_year"]), p.subject
        assert row["worsening"] == (f"{c['cdw_last_year']}/{c['raw_last_year']}/"
                                    f"{c['pira_last_year']}/{c['unclassified_last_year']}")
        assert row["relapse"].split("/")[0] == _yes_no(c["relapse_last_year"])
        assert row["edss"] == _yes_no(c["edss_overdue"])
        assert row["mri"] == c["mri_status"] and row["labs"] == c["labs_status"]
        assert row["therapy"] == (c["current_dmt"] if isinstance(c["current_dmt"], str) else "")
        checked += 1
    assert checked >= 10
    # the demo clinic exercises the statuses the list shows
    assert {r["labs"] for r in rows.values()} >= {"due", "not_on_dmt"}
    assert {r["mri"] for r in rows.values()} >= {"overdue", "not_on_dmt"}
    assert inline_scripts(html) == []


def test_only_the_users_clinic(clinician: Client) -> None:
    html = clinician.get("/patients/").content.decode()
    assert "OTHER-1" not in html


def test_search_by_registry_identifier_and_name(clinician: Client, demo: list[Patient]) -> None:
    target = demo[3]
    Patient.objects.filter(pk=target.pk).update(name="Ada Lovelace-Test")
    rows = parse(clinician.get("/patients/", {"q": target.subject}).content.decode()).rows
    assert str(target.public_id) in rows
    rows = parse(clinician.get("/patients/", {"q": "lovelace"}).content.decode()).rows
    assert list(rows) == [str(target.public_id)]
    html = clinician.get("/patients/", {"q": "no-such-patient"}).content.decode()
    assert parse(html).rows == {} and "No patients" in html


def test_researchers_see_pseudonyms_only(demo: list[Patient]) -> None:
    Patient.objects.filter(pk=demo[0].pk).update(name="Grace Hopper-Test")
    for p in demo:  # registry identifiers that cannot occur by chance in the page
        Patient.objects.filter(pk=p.pk).update(subject=f"MS-REG-{p.pk:05d}")
    demo = [Patient.objects.get(pk=p.pk) for p in demo]
    client = login("researcher")
    html = client.get("/patients/").content.decode()
    assert "Grace Hopper-Test" not in html and "MS-REG-" not in html
    for p in demo:
        assert p.pseudonym() in html
    # searching by registry identifier or name tells a researcher nothing
    assert parse(client.get("/patients/", {"q": demo[0].subject}).content.decode()).rows == {}
    assert parse(client.get("/patients/", {"q": "Hopper"}).content.decode()).rows == {}
    found = parse(client.get("/patients/", {"q": demo[0].pseudonym()}).content.decode()).rows
    assert list(found) == [str(demo[0].public_id)]


def test_sort_by_a_status_column(clinician: Client, demo: list[Patient]) -> None:
    order = {"due": 0, "unknown": 1, "no_schedule": 2, "up_to_date": 3, "not_required": 4,
             "not_on_dmt": 5}
    page = parse(clinician.get("/patients/", {"sort": "labs"}).content.decode())
    ranks = [order[page.rows[k]["labs"]] for k in page.order]
    assert ranks == sorted(ranks)
    page = parse(clinician.get("/patients/", {"sort": "labs", "dir": "desc"}).content.decode())
    ranks = [order[page.rows[k]["labs"]] for k in page.order]
    assert ranks == sorted(ranks, reverse=True)
    html = clinician.get("/patients/", {"sort": "labs"}).content.decode()
    assert 'aria-sort="ascending"' in html
    # an unknown column sorts by patient
    page = parse(clinician.get("/patients/", {"sort": "nope"}).content.decode())
    by_id = {str(p.public_id): p.subject for p in demo}
    labels = [by_id[k] for k in page.order]
    assert labels == sorted(labels, key=lambda s: [int(t) if t.isdigit() else t for t in
                                                    re.split(r"(\d+)", s.lower())])


def test_paging(clinician: Client, demo: list[Patient], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(view, "PAGE_SIZE", 5)
    seen: list[str] = []
    for number in (1, 2, 3):
        html = clinician.get("/patients/", {"page": number}).content.decode()
        assert f"Page {number} of 3" in html
        seen += parse(html).order
    assert sorted(seen) == sorted(str(p.public_id) for p in demo)
    html = clinician.get("/patients/", {"page": 2, "sort": "mri"}).content.decode()
    assert "page=1" in html and "page=3" in html and "sort=mri" in html


def test_patients_and_anonymous_cannot_list(db: Any) -> None:
    assert login("patient1").get("/patients/").status_code == 403
    assert Client().get("/patients/").status_code == 302


def test_rows_follow_every_change(clinician: Client, demo: list[Patient]) -> None:
    """Rows are rendered once per computed table and reused: a change of a patient's records
    or of the patient shows on the next page all the same."""
    import datetime as dt

    from neda.web.clinic.models import Relapse

    seen = set(Visit.objects.values_list("patient_id", flat=True))
    patient = next(p for p in demo if p.pk in seen and p.relapses_recorded)
    html = clinician.get("/patients/").content.decode()  # every row rendered and kept
    assert parse(clinician.get("/patients/").content.decode()).rows == parse(html).rows
    before = parse(html).rows[str(patient.public_id)]["relapse"]

    Relapse.objects.create(patient=patient, onset=(dt.date.today() - dt.timedelta(days=20))
                           .isoformat(), status="confirmed")
    after = parse(clinician.get("/patients/").content.decode()).rows[str(patient.public_id)]
    assert after["relapse"].startswith("yes/") and after["relapse"] != before

    patient.name = "Renamed Person"
    patient.save()
    assert "Renamed Person" in clinician.get("/patients/").content.decode()

    Relapse.objects.create(patient=patient, onset=dt.date.today().isoformat(),
                           status="reported")
    html = clinician.get("/patients/").content.decode()
    row = html[html.index(f'data-patient="{patient.public_id}"'):]
    assert 'data-reported="yes"' in row[:row.index("</tr>")]

    # a researcher's rows are their own (pseudonyms, no names), after the clinician's
    html = login("researcher").get("/patients/").content.decode()
    row = html[html.index(f'data-patient="{patient.public_id}"'):]
    row = row[:row.index("</tr>")]
    assert "Renamed Person" not in html and f">{patient.pseudonym()}</a>" in row


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") else value


def _plain_sort(patients: list[Patient], labels: dict[int, str], sort: str, descending: bool
                ) -> list[int]:
    """The list's order worked out here with Python's sort, from the core's table: the key of
    each column (answers that need attention first), ties by label, missing values last."""
    seen = set(Visit.objects.values_list("patient_id", flat=True))
    core = summarise(tables_for([p for p in patients if p.pk in seen]),
                     options=options_today()).patients.set_index("subject")

    def value(p: Patient, col: str) -> Any:
        return _plain(core.loc[p.pk, col]) if p.pk in core.index and col in core else None

    yes_first = {True: 0, None: 1, False: 2}
    keys = {
        "patient": lambda p: [int(t) if t.isdigit() else t
                              for t in re.split(r"(\d+)", labels[p.pk].lower())],
        "therapy": lambda p: "~" if value(p, "current_dmt") is None else
        str(value(p, "current_dmt")).lower(),
        "neda": lambda p: {False: 0, None: 1, True: 2}[value(p, "neda3_current_year")],
        "worsening": lambda p: -(value(p, "cdw_last_year") if value(p, "cdw_last_year")
                                 is not None else -1),
        "relapse": lambda p: yes_first[value(p, "relapse_last_year")],
        "edss": lambda p: yes_first[value(p, "edss_overdue")],
        "mri": lambda p: {"overdue": 0, "unknown": 1, "up_to_date": 2, "not_on_dmt": 3}.get(
            value(p, "mri_status"), 9),
        "labs": lambda p: {"due": 0, "unknown": 1, "no_schedule": 2, "up_to_date": 3,
                           "not_required": 4, "not_on_dmt": 5}.get(value(p, "labs_status"), 9),
        "last_visit": lambda p: value(p, "last_visit"),
    }
    key = keys[sort]
    by_label = sorted(patients, key=lambda p: labels[p.pk])
    known = [p for p in by_label if key(p) is not None]
    missing = [p for p in by_label if key(p) is None]
    # Python's sort is stable, reversed too: ties stay in label order
    return [p.pk for p in sorted(known, key=key, reverse=descending) + missing]


def _every_page(client: Client, params: dict[str, str]) -> list[str]:
    seen: list[str] = []
    for number in range(1, 20):
        html = client.get("/patients/", {**params, "page": str(number)}).content.decode()
        seen += parse(html).order
        if f'page={number + 1}' not in html:
            return seen
    raise AssertionError("more pages than patients")


@pytest.mark.parametrize("researcher", [False, True])
def test_every_sort_direction_search_and_page_is_the_plain_sort(
        demo: list[Patient], monkeypatch: pytest.MonkeyPatch, researcher: bool) -> None:
    """The orders kept per computed table give, on every page, the rows that sorting the
    whole table for the request would give: every sort, both directions, with and without a
    search, page after page."""
    monkeypatch.setattr(view, "PAGE_SIZE", 5)
    Patient.objects.filter(pk=demo[2].pk).update(name="Ada Lovelace-Test")
    demo = [Patient.objects.get(pk=p.pk) for p in demo]
    client = login("researcher" if researcher else "clinician")
    labels = {p.pk: p.pseudonym() if researcher else p.subject for p in demo}
    public = {p.pk: str(p.public_id) for p in demo}
    fragment = labels[demo[4].pk][-3:-1].upper()
    searches = {"": lambda p: True,
                fragment: lambda p: fragment.lower() in labels[p.pk].lower()}
    if not researcher:
        searches["lOVELACE"] = lambda p: "lovelace" in p.name.lower()
    checked = 0
    for sort in view.SORTS:
        for descending in (False, True):
            expected = _plain_sort(demo, labels, sort, descending)
            for query, found in searches.items():
                got = _every_page(client, {"sort": sort, "dir": "desc" if descending else "asc",
                                           **({"q": query} if query else {})})
                assert got == [public[pk] for pk in expected
                               if found(next(p for p in demo if p.pk == pk))], (sort, query)
                checked += len(got)
    assert checked > 2 * len(view.SORTS) * len(demo)


def test_kept_orders_follow_a_change(clinician: Client, demo: list[Patient]) -> None:
    """A new record gives a new data version, a new computed table and new orders: the
    patient with the newest visit comes first by last visit at once; a new patient and a
    renamed one take their place in the order of identifiers."""
    import datetime as dt

    def order(**params: str) -> list[str]:
        return _every_page(clinician, params)

    by_visit = order(sort="last_visit", dir="desc")
    assert order(sort="last_visit", dir="desc") == by_visit  # the kept order, read again
    last = next(p for p in demo if str(p.public_id) == by_visit[-1])
    Visit.objects.create(patient=last, date=dt.date.today(), edss=2.0)
    assert order(sort="last_visit", dir="desc")[0] == str(last.public_id)

    clinic = demo[0].clinic
    new = Patient.objects.create(clinic=clinic, subject="0-first", name="New Patient")
    by_id = order()
    assert by_id[0] == str(new.public_id) and len(by_id) == len(demo) + 1
    new.subject = "zzz-last"
    new.save()
    assert order()[-1] == str(new.public_id)
    assert order(q="ZZZ-L") == [str(new.public_id)]
