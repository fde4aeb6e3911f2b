"""The access matrix: every route of the site x every role x own / other record.

Routes are enumerated from the URL resolver, so a new route cannot escape: a view without an
access policy (one of the decorators of ``neda.web.clinic.access``) fails here, and so does
any route that lets a role reach what it may not see. Expected outcomes:

* anonymous: a public route answers; every other route sends to the log-in page;
* a role outside the view's policy: 403;
* a role inside the policy but another clinic's patient, or (for a patient) another patient's
  record: 404 - existence is never disclosed;
* otherwise: the page answers (no 401/403/404, never 5xx).

Every parameter of every route is filled in: a patient's opaque id, a record's number (of that
patient, and of another patient of the same clinic or of another clinic - a record is reached
only through its own patient), a deleted record's number (of the administrator's clinic or
another's), tokens and codes. A route the matrix cannot fill fails
:func:`test_every_route_is_reached`, instead of dropping out unseen.

API routes (``/api/``) are enumerated by the same resolver and checked with each role's token,
each operation with its own method (reads and writes; a write with a valid body, so that the
object checks, not the body's validation, answer).
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

    @property
    def params(self) -> set[str]:
        return set(re.findall(r"<(?:\w+:)?(\w+)>", self.pattern))


def _routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[Route]:
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Route(prefix + str(entry.pattern), entry.callback, entry.name)


def _api_methods() -> dict[str, str]:
    """The HTTP method of each API operation, by its URL name (django-ninja names a route
    after its operation; several operations share a path, each a route of its own)."""
    from neda.web.api.routes import api

    schema = api.get_openapi_schema()
    return {op["operationId"]: method.upper() for ops in schema["paths"].values()
            for method, op in ops.items()}


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


def test_every_route_is_reached(world: World) -> None:
    """No route, of the screens or the API, drops out of the matrix for want of a value of
    one of its parameters; a route naming a patient or a record is tried on others' too."""
    methods = _api_methods()
    unfilled, unchallenged = [], []
    for route in _routes():
        if _is_api(route) and _policy(route) != "public" and route.name not in methods:
            unfilled.append(f"{route.pattern} (no method for {route.name})")
        for role in ROLES:
            targets = list(_targets(route, world, role))
            if not targets:
                unfilled.append(f"{route.pattern} as {role}")
            elif route.params & OBJECT_PARAMS and all(reachable for _, _, reachable in targets):
                unchallenged.append(f"{route.pattern} as {role}")
    assert unfilled == [], f"routes the matrix cannot fill (add values to KWARGS): {unfilled}"
    assert unchallenged == [], f"routes never tried on another's data: {unchallenged}"


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
    #: (patient pk, table) -> a softly deleted record of the sibling's or the foreign
    #: patient's ("patients": a deleted patient of that clinic), for the restore screens
    deleted: dict[tuple[int, str], int]


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
    deleted: dict[tuple[int, str], int] = {}
    for p in (sibling, foreign):
        gone = Patient.objects.create(clinic=p.clinic, subject=f"DELETED-{p.pk}")
        gone.soft_delete()
        deleted[(p.pk, "patients")] = gone.pk
        for table, model in RECORD_MODELS.items():
            record = _make_record(model, p)
            record.soft_delete()
            deleted[(p.pk, table)] = record.pk
    return World(own, sibling, foreign, records, reported, deleted)


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


#: Parameters that name a patient or a record: the matrix tries them on others' data too.
OBJECT_PARAMS = {"public_id", "pk", "record_id"}


def _tables(route: Route) -> list[str | None]:
    """The record tables a route is tried with: every one for a ``<table>`` parameter (and
    deleted patients on the restore screens), else the table its path names (the API's
    ``patients/<id>/visits/<record_id>``), else none."""
    if "table" in route.params:
        return ["patients", *RECORD_MODELS] if "public_id" not in route.params else [
            *RECORD_MODELS]
    named = re.search(r"<(?:\w+:)?public_id>/(\w+)", route.pattern)
    if named and named.group(1) in RECORD_MODELS and route.params & {"pk", "record_id"}:
        return [named.group(1)]
    return [None]


def _targets(route: Route, world: World, role: str) -> Iterator[tuple[str, str, bool]]:
    """(label, url, reachable): the route filled with each kind of target."""
    params = route.params
    record_param = "record_id" if "record_id" in params else "pk" if "pk" in params else None
    if "public_id" not in params:
        if record_param is None:
            url = _fill(route.pattern, dict(KWARGS))
            if url is not None:  # a made-up token is nobody's: 404 (an import's upload)
                yield "no object", url, "token" not in params
            return
        # a deleted record, named by table and number alone (the administrators' restore)
        for label, patient, reachable in (("own clinic", world.sibling, True),
                                          ("other clinic", world.foreign, False)):
            for table in _tables(route):
                values = {**KWARGS, "table": table,
                          record_param: world.deleted[(patient.pk, str(table))]}
                url = _fill(route.pattern, values)
                if url is not None:
                    yield f"{label} deleted {table}", url, reachable
        return
    mine = world.sibling if role != "patient" else world.own  # a patient the role may see
    # (label, the patient in the URL, whose record, reachable if the role may see the patient)
    kinds = [("own clinic", mine, mine, True),
             ("other clinic", world.foreign, world.foreign, False),
             ("another patient", world.sibling, world.sibling, role != "patient")]
    if record_param is not None:  # a record reached through a patient who is not its own
        other = world.own if role != "patient" else world.sibling
        kinds += [("another patient's record", mine, other, False),
                  ("another clinic's record", mine, world.foreign, False)]
    for label, patient, owner, reachable in kinds:
        for table in _tables(route):
            values: dict[str, Any] = {**KWARGS, "public_id": patient.public_id}
            if table is not None:
                values["table"] = table
                values[str(record_param)] = world.records[(owner.pk, table)]
            values.update(_route_values(route, world, owner))
            url = _fill(route.pattern, values)
            if url is not None:
                yield f"{label}{f' {table}' if table else ''}", url, reachable


def _route_values(route: Route, world: World, owner: Patient) -> dict[str, Any]:
    """Parameters of routes whose record is not one of a table's (``<table>/<pk>``)."""
    if route.name == "review_relapse":  # a reported relapse of that patient
        return {"pk": world.reported[owner.pk]}
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
            statuses = {}
            for method in ("get", "post"):
                with transaction.atomic():  # each request sees the same data (a POST may
                    status = getattr(client, method)(url).status_code  # delete a record)
                    transaction.set_rollback(True)
                statuses[method] = status
                if status >= 500:
                    failures.append(f"{method.upper()} {route.pattern} ({label}): {status}")
                    continue
                if policy == "public":
                    continue
                if role == "anonymous":
                    ok = status == 302
                elif not _allowed(policy, role):
                    ok = status == 403
                elif not reachable:  # 405: the method is refused, whatever the object
                    ok = status in (404, 405)
                else:
                    ok = status not in (401, 403, 404)
                if not ok:
                    failures.append(f"{method.upper()} {route.pattern} ({label}) as {role}: "
                                    f"{status} (policy {policy})")
            if set(statuses.values()) == {405}:
                failures.append(f"{route.pattern} ({label}): neither GET nor POST tried")
    assert failures == []


def _api_body(route: Route, method: str) -> dict[str, Any] | None:
    """A valid body for a write (the API's own tests' bodies), so that the object checks answer
    and not the validation of the body; none for reads and deletes."""
    from .test_api import BODIES, CHANGES

    table = re.search(r"<(?:\w+:)?public_id>/(\w+)", route.pattern)
    if method in ("GET", "DELETE") or table is None:
        return None
    name = table.group(1)
    return {"POST": BODIES[name], "PUT": {**BODIES[name], **CHANGES[name]},
            "PATCH": CHANGES[name]}[method]


@pytest.mark.parametrize("role", ROLES)
def test_api_access_matrix(role: str, world: World) -> None:
    """Every API operation, with its own method, with each role's token: reads need a user,
    writes a role that may change records (403 otherwise, whatever the patient), and nobody
    reaches another clinic's or patient's data, or a record through a patient not its own (404
    - the same as for a record that does not exist)."""
    client = Client()
    headers = {}
    if role != "anonymous":
        username = "patient1" if role == "patient" else role
        _, key = ApiToken.issue(get_user_model().objects.get(username=username), "matrix")
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    methods = _api_methods()
    failures = []
    tried = 0
    for route in _routes():
        if not _is_api(route) or _policy(route) == "public":  # the schema, its docs, the root
            continue
        method = methods[str(route.name)]
        policy = "any_user" if method == "GET" else "editor"
        body = _api_body(route, method)
        data = {"data": body, "content_type": "application/json"} if body is not None else {}
        for label, url, reachable in _targets(route, world, role):
            with transaction.atomic():  # each request sees the same data
                status = getattr(client, method.lower())(url, **data, **headers).status_code
                transaction.set_rollback(True)
            tried += 1
            where = f"{method} {route.pattern} ({label}) as {role}: {status}"
            if status >= 500:
                failures.append(where)
            elif role == "anonymous":
                if status != 401:
                    failures.append(f"{where}, not 401")
            elif not _allowed(policy, role):
                if status != 403:
                    failures.append(f"{where}, not 403 (a role that may not do this)")
            elif not reachable:
                if status != 404:
                    failures.append(f"{where}, not 404 (another clinic's or patient's data)")
            elif status in (401, 403, 404, 405):
                failures.append(f"{where} (its own patient's data refused)")
    assert tried > 100
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
