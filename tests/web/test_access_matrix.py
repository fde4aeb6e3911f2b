"""The access matrix: every route of the site x every role x own / other record.

Routes are enumerated from the URL resolver, so a new route cannot escape: a view without an
access policy (one of the decorators of ``neda.web.clinic.access``) fails here, and so does
any route that lets a role reach what it may not see. Expected outcomes:

* anonymous: a public route answers; every other route sends to the log-in page;
* a role outside the view's policy: 403;
* a role inside the policy but another clinic's patient, or (for a patient) another patient's
  record: 404 - existence is never disclosed;
* otherwise: the page answers (no 401/403/404, never 5xx).

API routes (``/api/``) are enumerated by the same resolver and checked with each role's token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from neda.web.clinic.access import POLICIES
from neda.web.clinic.models import RECORD_MODELS, ApiToken, Patient, PatientAccount, Relapse

ROLES = ("anonymous", "clinician", "nurse", "researcher", "admin", "patient")


@dataclass(frozen=True)
class Route:
    pattern: str
    callback: Any
    name: str | None


def _routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[Route]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Route(prefix + str(entry.pattern), entry.callback, entry.name)


def _is_api(route: Route) -> bool:
    return route.pattern.startswith("api/")


def _policy(route: Route) -> str:
    policy = getattr(route.callback, "neda_access", None)
    view_class = getattr(route.callback, "view_class", None)
    if policy is None and view_class is not None:
        policy = getattr(view_class, "neda_access", None)
    return str(policy) if policy is not None else ""


def test_every_route_has_an_access_policy() -> None:
    untagged = [r.pattern for r in _routes() if not _is_api(r) and _policy(r) not in POLICIES]
    assert untagged == [], f"routes without an access policy: {untagged}"


def test_every_route_is_reached() -> None:
    """No route drops out of the matrix for want of a value of one of its parameters."""
    known = {"public_id", "table", "pk", *KWARGS}
    missing = {(r.pattern, p) for r in _routes() if not _is_api(r)
               for p in re.findall(r"<(?:\w+:)?(\w+)>", r.pattern) if p not in known}
    assert missing == set(), f"add values for these URL parameters to KWARGS: {missing}"


def test_every_portal_route_is_filled_in() -> None:
    """No portal route escapes the matrix for want of a value of a URL parameter (a route
    with a parameter the matrix cannot fill is skipped by it)."""
    world = World(*(Patient(),) * 3, records={}, reported={None: 1})  # unsaved: pk None
    unfilled = [r.pattern for r in _routes() if r.pattern.startswith("portal/")
                and not list(_targets(r, world, "clinician"))]
    assert unfilled == [], f"portal routes the matrix cannot fill: {unfilled}"


def _fill(pattern: str, values: dict[str, Any]) -> str | None:
    """A concrete URL from a route pattern, or None when a parameter has no value."""
    url = pattern.replace("^", "").replace("$", "")

    def sub(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in values:
            raise KeyError(name)
        return str(values[name])

    try:
        url = re.sub(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>", sub, url)
    except KeyError:
        return None
    return "/" + url


@dataclass
class World:
    own: Patient          # a patient of the demo clinic, with an account (patient1)
    sibling: Patient      # another patient of the demo clinic (not patient1's)
    foreign: Patient      # a patient of another clinic
    records: dict[tuple[int, str], int]  # (patient pk, table) -> a record pk
    reported: dict[int, int]  # patient pk -> a relapse reported in the portal, not reviewed


@pytest.fixture
def world(db: Any) -> World:
    account = PatientAccount.objects.select_related("patient").get(user__username="patient1")
    own = account.patient
    sibling = Patient.objects.filter(clinic=own.clinic).exclude(pk=own.pk).order_by("pk")[0]
    foreign = Patient.objects.exclude(clinic=own.clinic).order_by("pk")[0]
    records: dict[tuple[int, str], int] = {}
    for p in (own, sibling, foreign):
        for table, model in RECORD_MODELS.items():
            first = model.objects.filter(patient=p).order_by("pk").first()
            if first is None:
                first = _make_record(model, p)
            records[(p.pk, table)] = first.pk
    reported = {p.pk: Relapse.objects.create(patient=p, onset="2020-01", status="reported").pk
                for p in (own, sibling, foreign)}
    return World(own, sibling, foreign, records, reported)


def _make_record(model: Any, patient: Patient) -> Any:
    import datetime as dt

    fields: dict[str, Any] = {"patient": patient}
    names = {f.name for f in model._meta.get_fields()}
    for name, value in (("date", dt.date(2020, 1, 1)), ("start", dt.date(2020, 1, 1)),
                        ("onset", "2020-01-01"), ("drug", "ocrelizumab"),
                        ("symptom", "spasticity"), ("instrument", "FSS"), ("item", "1")):
        if name in names:
            fields[name] = value
    return model.objects.create(**fields)


def _client(role: str) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    username = "patient1" if role == "patient" else role
    client.force_login(get_user_model().objects.get(username=username))
    return client


#: Values of URL parameters that name no patient (the matrix fills ``public_id``, ``table`` and
#: ``pk`` itself): a link's user id and token (invitations, password resets) - an invalid
#: token, so that the pages answer "this link does not work" - and names of things that are
#: not records.
KWARGS: dict[str, Any] = {"uidb64": "MQ", "token": "0-invalid",
                          # the portal's questionnaire code
                          "instrument": "MFIS"}


def _targets(route: Route, world: World, role: str) -> Iterator[tuple[str, str, bool]]:
    """(label, url, reachable): the route filled with each kind of target."""
    params = set(re.findall(r"<(?:\w+:)?(\w+)>", route.pattern))
    if "public_id" not in params:
        url = _fill(route.pattern, dict(KWARGS))
        if url is not None:  # a made-up token is nobody's: 404 (an import's upload)
            yield "no object", url, "token" not in params
        return
    tables = list(RECORD_MODELS) if "table" in params else [None]
    kinds = (("own clinic", world.sibling if role != "patient" else world.own, True),
             ("other clinic", world.foreign, False),
             ("another patient", world.sibling, role != "patient"))
    for label, patient, reachable in kinds:
        for table in tables:
            values: dict[str, Any] = {**KWARGS, "public_id": patient.public_id,
                                      **_route_values(route, world, patient)}
            if table is not None:
                values["table"] = table
                values["pk"] = world.records[(patient.pk, table)]
            url = _fill(route.pattern, values)
            if url is not None:
                yield f"{label}{f' {table}' if table else ''}", url, reachable


def _route_values(route: Route, world: World, patient: Patient) -> dict[str, Any]:
    """Parameters of routes whose record is not one of a table's (``<table>/<pk>``)."""
    if route.name == "review_relapse":  # a reported relapse of that patient
        return {"pk": world.reported[patient.pk]}
    return {}


def _allowed(policy: str, role: str) -> bool:
    if role == "anonymous":
        return policy == "public"
    user = get_user_model().objects.get(username="patient1" if role == "patient" else role)
    return POLICIES[policy](user)


@pytest.mark.parametrize("role", ROLES)
def test_screens_access_matrix(role: str, world: World) -> None:
    failures = []
    for route in _routes():
        if _is_api(route):
            continue
        client = _client(role)  # afresh: a route may log the client out
        policy = _policy(route)
        for label, url, reachable in _targets(route, world, role):
            for method in ("get", "post"):
                with transaction.atomic():  # each request sees the same data (a POST may
                    status = getattr(client, method)(url).status_code  # delete a record)
                    transaction.set_rollback(True)
                if status >= 500:
                    failures.append(f"{method.upper()} {route.pattern} ({label}): {status}")
                    continue
                if policy == "public":
                    continue
                if role == "anonymous":
                    ok = status == 302
                elif not _allowed(policy, role):
                    ok = status == 403
                elif not reachable:
                    ok = status == 404
                else:
                    ok = status not in (401, 403, 404)
                if not ok:
                    failures.append(f"{method.upper()} {route.pattern} ({label}) as {role}: "
                                    f"{status} (policy {policy})")
    assert failures == []


@pytest.mark.parametrize("role", ROLES)
def test_api_access_matrix(role: str, world: World) -> None:
    """Every API route with each role's token: never another clinic's or patient's data."""
    client = Client()
    headers = {}
    if role != "anonymous":
        username = "patient1" if role == "patient" else role
        _, key = ApiToken.issue(get_user_model().objects.get(username=username), "matrix")
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    failures = []
    for route in _routes():
        if not _is_api(route) or _policy(route) == "public":  # the schema, its docs, the root
            continue
        for label, url, reachable in _targets(route, world, role):
            status = client.get(url, **headers).status_code
            if status >= 500:
                failures.append(f"GET {route.pattern} ({label}) as {role}: {status}")
            elif role == "anonymous" and status != 401:
                failures.append(f"GET {route.pattern} ({label}) anonymous: {status}")
            elif role != "anonymous" and not reachable and status not in (403, 404):
                failures.append(f"GET {route.pattern} ({label}) as {role}: {status} "
                                "(another clinic's or patient's data reached)")
    assert failures == []


def test_a_patient_never_sees_another_patients_identifiers(world: World) -> None:
    """Every page a patient may open (every route, own record and others') is free of the
    other patients' opaque ids, registry identifiers and names: patient A never reaches B's
    data, whatever the page (portal, review queue, exports) or the way it is asked for."""
    client = _client("patient")
    others = [world.sibling, world.foreign]
    for n, other in enumerate(others):  # identifiers that cannot occur by chance in a page
        other.subject, other.name = f"LEAK-CHECK-{n}", f"Zebedee Quartermaine {n}"
        other.save()
    leaks = []
    opened = 0
    for route in _routes():
        if _is_api(route):
            continue
        for label, url, _reachable in _targets(route, world, "patient"):
            response = client.get(url)
            if response.status_code != 200 or not hasattr(response, "content"):
                continue
            opened += 1
            page = response.content.decode(errors="replace")
            for other in others:
                for value in (str(other.public_id), other.subject, other.name):
                    if value in page:
                        leaks.append(f"{url} ({label}) shows {value!r}")
    assert opened > 10  # the portal's pages were read, not only refused
    assert leaks == []
