"""The JSON API: every route for every role on every kind of patient, tokens, pseudonyms,
writes read by the core's readers, and the course after a write."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from neda.web.api import routes
from neda.web.api.validation import TABLES
from neda.web.clinic.models import (
    ApiToken,
    LabTest,
    MriScan,
    Patient,
    PatientRecord,
    ProAnswer,
    Relapse,
    SymptomTreatment,
    Treatment,
    Visit,
)

ROLES = ("anonymous", "bad_token", "admin", "clinician", "nurse", "researcher", "patient1")
EDITORS = ("admin", "clinician", "nurse")
STAFF = (*EDITORS, "researcher")
#: whose record: patient1's own (a patient of the demo clinic), another patient of the demo
#: clinic, a patient of another clinic
TARGETS = ("own_patient", "other_patient", "other_clinic")

#: A valid body per table (dates no demo record has), and a valid partial change.
BODIES: dict[str, dict[str, Any]] = {
    "visits": {"date": "2001-02-03", "edss": 3.5, "fs_pyramidal": "2x"},
    "relapses": {"onset": "2001-02", "steroids": True, "status": "confirmed"},
    "mri": {"date": "2001-02-03", "gd": 1, "new_t2": 2, "contrast": True},
    "treatments": {"drug": "Tysabri", "start": "1996-02-03", "stop": "1996-09-30"},
    "symptom_treatments": {"drug": "baclofen", "symptom": "spasticity", "start": "2001-02-03"},
    "pros": {"date": "2001-02-03", "instrument": "FSS", "item": "1", "response": "4"},
    "labs": {"date": "2001-02-03", "test": "cbc", "result": "normal"},
}
CHANGES: dict[str, dict[str, Any]] = {
    "visits": {"edss": 4.0}, "relapses": {"severity": "mild"}, "mri": {"gd": 0},
    "treatments": {"stop_reason": "pregnancy"}, "symptom_treatments": {"dose": "10 mg"},
    "pros": {"response": "5"}, "labs": {"result": "lymphocytes 0.9"},
}


def _record(model: type[PatientRecord], patient: Patient) -> PatientRecord:
    """A stored record of each table, for the routes that name one."""
    values: dict[type[PatientRecord], dict[str, Any]] = {
        Visit: {"date": "2002-03-04", "edss": 2.0},
        Relapse: {"onset": "2002-03-04"},
        MriScan: {"date": "2002-03-04", "gd": 0},
        Treatment: {"drug": "natalizumab", "start": "1995-03-04", "stop": "1995-06-04"},
        SymptomTreatment: {"drug": "baclofen", "symptom": "spasticity", "start": "2002-03-04"},
        ProAnswer: {"date": "2002-03-04", "instrument": "FSS", "item": "2", "response": "3"},
        LabTest: {"date": "2002-03-04", "test": "cbc", "result": "normal"},
    }
    record = model(patient=patient, **values[model])
    record.save()
    return record


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Courses are cached by data version, which a rolled-back test hands out again."""
    cache.clear()
    yield
    cache.clear()


def token_client(username: str, **kwargs: Any) -> Client:
    user = get_user_model().objects.get(username=username)
    _, key = ApiToken.issue(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", **kwargs)


def client_for(role: str) -> Client:
    if role == "anonymous":
        return Client()
    if role == "bad_token":
        return Client(HTTP_AUTHORIZATION="Bearer not-a-token")
    return token_client(role)


@dataclass
class World:
    patients: dict[str, Patient]
    records: dict[tuple[str, str], int]  # (target, table) -> record id


@pytest.fixture
def world(db: Any) -> World:
    own = get_user_model().objects.get(username="patient1").patient_account.patient
    other = (Patient.objects.filter(clinic=own.clinic).exclude(pk=own.pk).order_by("pk")
             .first())
    foreign = Patient.objects.get(subject="OTHER-1")
    assert other is not None and foreign.clinic_id != own.clinic_id
    patients = {"own_patient": own, "other_patient": other, "other_clinic": foreign}
    records = {(target, name): _record(table.model, p).pk
               for target, p in patients.items() for name, table in TABLES.items()}
    return World(patients, records)


@pytest.fixture
def no_course_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The access matrix is about who may do what: the course check after a write (tested on
    its own below) is left out so that hundreds of writes stay fast."""
    monkeypatch.setattr(routes, "check_course", lambda table, patient: None)


# ------------------------------------------------------------------------ the access matrix
def _routes(world: World, target: str) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(kind, method, path, body) of every operation on the target's patient."""
    pid = world.patients[target].public_id
    out: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("read", "get", f"/api/patients/{pid}", None),
        ("read", "get", f"/api/patients/{pid}/course", None),
    ]
    for name in TABLES:
        rid = world.records[(target, name)]
        base = f"/api/patients/{pid}/{name}"
        out += [
            ("read", "get", base, None),
            ("create", "post", base, BODIES[name]),
            ("read", "get", f"{base}/{rid}", None),
            ("write", "put", f"{base}/{rid}", {**BODIES[name], **CHANGES[name]}),
            ("write", "patch", f"{base}/{rid}", CHANGES[name]),
            ("delete", "delete", f"{base}/{rid}", None),
        ]
    return out


def expected_status(role: str, target: str, kind: str) -> int:
    if role in ("anonymous", "bad_token"):
        return 401
    if kind != "read" and role not in EDITORS:
        return 403  # whatever the patient: the answer tells nothing about who exists
    sees = target != "other_clinic" and (role in STAFF or target == "own_patient")
    if not sees:
        return 404
    return {"read": 200, "create": 201, "write": 200, "delete": 204}[kind]


def test_every_route_is_in_the_matrix(world: World) -> None:
    """The matrix below covers every operation of the schema (a new route cannot escape)."""
    schema = Client().get("/api/openapi.json").json()
    documented = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    pid = world.patients["own_patient"].public_id
    covered = {("get", "/api/patients")}
    for _kind, method, path, _body in _routes(world, "own_patient"):
        parts = path.replace(str(pid), "{public_id}").split("/")
        if parts[-1].isdigit():
            parts[-1] = "{record_id}"
        covered.add((method, "/".join(parts)))
    assert documented == covered


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", TARGETS)
def test_access_matrix(role: str, target: str, world: World, no_course_check: None) -> None:
    client = client_for(role)
    for kind, method, path, body in _routes(world, target):
        kwargs: dict[str, Any] = ({"data": body, "content_type": "application/json"}
                                  if body is not None else {})
        r = getattr(client, method)(path, **kwargs)
        want = expected_status(role, target, kind)
        assert r.status_code == want, (role, target, method, path, r.content[:300])
        if want == 404:  # the same answer whether the patient or record exists or not
            assert r.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("role", ROLES)
def test_patient_list(role: str, world: World) -> None:
    r = client_for(role).get("/api/patients")
    if role in ("anonymous", "bad_token"):
        assert r.status_code == 401
        return
    assert r.status_code == 200
    ids = {item["id"] for item in r.json()["items"]}
    own_clinic = world.patients["own_patient"].clinic
    if role == "patient1":
        assert ids == {str(world.patients["own_patient"].public_id)}
    else:
        assert ids == {str(p.public_id) for p in Patient.objects.filter(clinic=own_clinic)}
        assert r.json()["count"] == len(ids)


def test_patient_list_pages(world: World) -> None:
    client = token_client("clinician")
    first = client.get("/api/patients?limit=5").json()
    rest = client.get("/api/patients?limit=5&offset=5").json()
    assert len(first["items"]) == 5 and first["count"] == rest["count"]
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in rest["items"]}
    assert client.get("/api/patients?limit=0").status_code == 422


def test_record_of_another_patient_is_not_found(world: World) -> None:
    """A record number of patient B under patient A's path is 404, even for A's clinic."""
    client = token_client("clinician")
    a = world.patients["own_patient"].public_id
    b_visit = world.records[("other_patient", "visits")]
    assert client.get(f"/api/patients/{a}/visits/{b_visit}").status_code == 404
    assert client.delete(f"/api/patients/{a}/visits/{b_visit}").status_code == 404
    assert Visit.objects.filter(pk=b_visit).exists()


def test_unknown_ids_are_not_found(world: World) -> None:
    client = token_client("clinician")
    pid = world.patients["own_patient"].public_id
    for path in ("/api/patients/00000000-0000-0000-0000-000000000000",
                 "/api/patients/not-a-uuid", f"/api/patients/{pid}/visits/999999999",
                 f"/api/patients/{pid}/visits/abc", f"/api/patients/{pid}/nothing",
                 f"/api/patients/{world.patients['own_patient'].pk}"):
        assert client.get(path).status_code == 404, path


def test_deleted_records_and_patients_are_not_found(world: World) -> None:
    client = token_client("clinician")
    patient = world.patients["other_patient"]
    rid = world.records[("other_patient", "mri")]
    assert client.delete(f"/api/patients/{patient.public_id}/mri/{rid}").status_code == 204
    assert MriScan.all_objects.get(pk=rid).deleted_at is not None  # soft: restorable
    assert client.get(f"/api/patients/{patient.public_id}/mri/{rid}").status_code == 404
    listed = client.get(f"/api/patients/{patient.public_id}/mri").json()
    assert rid not in [r["id"] for r in listed]
    patient.soft_delete()
    assert client.get(f"/api/patients/{patient.public_id}").status_code == 404


# ----------------------------------------------------------------------------- tokens
def test_token_of_one_clinic_cannot_read_another(world: World) -> None:
    """A token of a user of clinic B reads clinic B only, and nothing of clinic A."""
    foreign = world.patients["other_clinic"]
    user = get_user_model().objects.create_user("other-clinician")
    from neda.web.clinic.models import StaffMember

    StaffMember.objects.create(user=user, clinic=foreign.clinic, role="clinician")
    client = token_client("other-clinician")
    items = client.get("/api/patients").json()["items"]
    assert [i["id"] for i in items] == [str(foreign.public_id)]
    assert client.get(f"/api/patients/{foreign.public_id}/visits").status_code == 200
    own = world.patients["own_patient"]
    visit = world.records[("own_patient", "visits")]
    for path in (f"/api/patients/{own.public_id}", f"/api/patients/{own.public_id}/course",
                 f"/api/patients/{own.public_id}/visits",
                 f"/api/patients/{own.public_id}/visits/{visit}"):
        assert client.get(path).status_code == 404, path
    r = client.post(f"/api/patients/{own.public_id}/visits", BODIES["visits"],
                    content_type="application/json")
    assert r.status_code == 404


def test_tokens_are_stored_hashed_and_can_be_revoked(world: World) -> None:
    user = get_user_model().objects.get(username="nurse")
    token, key = ApiToken.issue(user, "laptop")
    assert key not in token.key_hash and ApiToken.objects.filter(key_hash=key).count() == 0
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/patients").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    # when it was last used, to the minute: a read within the minute writes nothing
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/patients").status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - dt.timedelta(seconds=61))
    assert client.get("/api/patients").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None and \
        timezone.now() - token.last_used_at < dt.timedelta(seconds=10)
    token.delete()
    assert client.get("/api/patients").status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer x y", "bearer nope",
                                    "Basic Y2xpbmljaWFuOng=", "Token abc"])
def test_bad_authorization_headers_are_401(header: str, world: World) -> None:
    assert Client(HTTP_AUTHORIZATION=header).get("/api/patients").status_code == 401


def test_inactive_user_token_is_refused(world: World) -> None:
    client = token_client("clinician")
    get_user_model().objects.filter(username="clinician").update(is_active=False)
    assert client.get("/api/patients").status_code == 401


def test_bad_token_never_falls_back_to_the_session(world: World) -> None:
    from .conftest import login

    client = login("clinician")
    assert client.get("/api/patients").status_code == 200
    client.defaults["HTTP_AUTHORIZATION"] = "Bearer wrong"
    assert client.get("/api/patients").status_code == 401


def test_issue_token_command(world: World) -> None:
    out, err = StringIO(), StringIO()
    call_command("issue_token", username="researcher", name="analysis", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert len(key) > 30 and "\n" not in key and key not in err.getvalue()
    assert "cannot be shown again" in err.getvalue()
    token = ApiToken.objects.get(key_hash=ApiToken.hash(key))
    assert token.name == "analysis" and token.user.username == "researcher"
    r = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/patients")
    assert r.status_code == 200
    with pytest.raises(CommandError, match="no user"):
        call_command("issue_token", username="nobody", name="x", stdout=out, stderr=err)
    get_user_model().objects.create_user("roleless")
    with pytest.raises(CommandError, match="neither staff"):
        call_command("issue_token", username="roleless", name="x", stdout=out, stderr=err)


# ----------------------------------------------------------------------------- session
def test_session_reads_and_needs_csrf_to_write(world: World) -> None:
    user = get_user_model().objects.get(username="clinician")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    pid = world.patients["own_patient"].public_id
    assert client.get(f"/api/patients/{pid}/visits").status_code == 200
    r = client.post(f"/api/patients/{pid}/symptom_treatments", BODIES["symptom_treatments"],
                    content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    client.get("/api/docs")  # any page that renders a form sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    r = client.post(f"/api/patients/{pid}/symptom_treatments", BODIES["symptom_treatments"],
                    content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert r.status_code == 201


def test_without_credentials_a_write_is_401_not_a_csrf_answer(world: World) -> None:
    pid = world.patients["own_patient"].public_id
    r = Client(enforce_csrf_checks=True).post(f"/api/patients/{pid}/visits", BODIES["visits"],
                                              content_type="application/json")
    assert r.status_code == 401


def test_token_writes_need_no_csrf(world: World) -> None:
    client = token_client("nurse", enforce_csrf_checks=True)
    pid = world.patients["own_patient"].public_id
    r = client.post(f"/api/patients/{pid}/symptom_treatments", BODIES["symptom_treatments"],
                    content_type="application/json")
    assert r.status_code == 201


# ------------------------------------------------------------------------ pseudonyms
def test_researcher_gets_pseudonyms_only(world: World) -> None:
    client = token_client("researcher")
    patient = world.patients["own_patient"]
    patient.name = "Jane Example"
    patient.birth_date = "1980-05-06"
    patient.save()
    items = client.get("/api/patients").json()["items"]
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)  # not by registry id
    mine = next(i for i in items if i["id"] == str(patient.public_id))
    assert mine["label"] == patient.pseudonym() and mine["label"].startswith("P-")
    assert mine["subject"] is None and mine["name"] is None and mine["birth_date"] is None
    subjects = set(Patient.objects.filter(clinic=patient.clinic).values_list("subject",
                                                                              flat=True))
    for path in ("/api/patients", f"/api/patients/{patient.public_id}",
                 f"/api/patients/{patient.public_id}/course"):
        text = client.get(path).content.decode()
        assert "Jane Example" not in text and "1980-05-06" not in text, path
        shown = json.loads(text)
        labels = ([i["label"] for i in shown["items"]] if "items" in shown
                  else [shown.get("label", shown.get("subject"))])
        assert not set(labels) & subjects, path
    course = client.get(f"/api/patients/{patient.public_id}/course").json()
    assert course["subject"] == patient.pseudonym()
    # staff other than researchers see the registry identifier and the name
    seen = token_client("clinician").get(f"/api/patients/{patient.public_id}").json()
    assert seen["label"] == seen["subject"] == patient.subject
    assert seen["name"] == "Jane Example"


# ------------------------------------------------------------------- writes and course
def test_write_then_course_shows_the_change(world: World) -> None:
    client = token_client("clinician")
    pid = world.patients["own_patient"].public_id
    before = client.get(f"/api/patients/{pid}/course").json()
    latest = before["edss"]["latest_date"]
    assert latest is not None
    day = min(dt.date.fromisoformat(latest) + dt.timedelta(days=90), dt.date.today())
    assert day > dt.date.fromisoformat(latest)
    later = day.isoformat()
    r = client.post(f"/api/patients/{pid}/visits", {"date": later, "edss": 9.5},
                    content_type="application/json")
    assert r.status_code == 201, r.content
    after = client.get(f"/api/patients/{pid}/course").json()
    assert after["edss"]["latest"] == 9.5 and after["edss"]["latest_date"] == later
    assert after["data_version"] > before["data_version"]
    assert after["rule_set"] == before["rule_set"] and after["rule_set_digest"]
    assert {"visits": after["follow_up"]["visits"]} == {
        "visits": before["follow_up"]["visits"] + 1}
    # change it, then delete it: the course follows
    vid = r.json()["id"]
    r = client.patch(f"/api/patients/{pid}/visits/{vid}", {"edss": 8.0},
                     content_type="application/json")
    assert r.status_code == 200 and r.json()["edss"] == 8.0
    assert client.get(f"/api/patients/{pid}/course").json()["edss"]["latest"] == 8.0
    assert client.delete(f"/api/patients/{pid}/visits/{vid}").status_code == 204
    again = client.get(f"/api/patients/{pid}/course").json()
    assert again["edss"]["latest_date"] == latest
    assert again["follow_up"]["visits"] == before["follow_up"]["visits"]


def test_course_has_the_patient_course_dict(world: World) -> None:
    course = token_client("nurse").get(
        f"/api/patients/{world.patients['own_patient'].public_id}/course").json()
    for key in ("follow_up", "edss", "current_therapy", "treatment_history", "relapses",
                "confirmed_events", "phenotype", "plain_language", "rule_set",
                "rule_set_digest", "data_version", "chart", "patient_id"):
        assert key in course, key


def test_course_of_a_patient_without_visits(world: World) -> None:
    foreign = world.patients["other_clinic"]
    Visit.objects.filter(patient=foreign).delete()
    user = get_user_model().objects.create_user("other-nurse")
    from neda.web.clinic.models import StaffMember

    StaffMember.objects.create(user=user, clinic=foreign.clinic, role="nurse")
    r = token_client("other-nurse").get(f"/api/patients/{foreign.public_id}/course")
    assert r.status_code == 200 and r.json()["no_visits"] is True


def test_written_values_are_what_the_reader_read(world: World) -> None:
    client = token_client("clinician")
    pid = world.patients["own_patient"].public_id
    r = client.post(f"/api/patients/{pid}/visits",
                    {"date": "2001-02-03", "edss": 3.5, "fs_pyramidal": "2x",
                     "edss_method": "Neurostatus_16"}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["fs_pyramidal"] == "2X" and r.json()["edss_method"] == "neurostatus_16"
    r = client.post(f"/api/patients/{pid}/relapses", {"onset": "2001-02"},
                    content_type="application/json")
    assert r.status_code == 201 and r.json()["onset"] == "2001-02"
    assert r.json()["status"] == "confirmed"  # the model's default
    stored = Relapse.objects.get(pk=r.json()["id"])
    assert stored.onset == "2001-02" and stored.patient.public_id == pid


@pytest.mark.parametrize(("table", "body", "field", "words"), [
    ("visits", {"date": "2001-02-03", "edss": 0.5}, "edss", "EDSS value on the scale"),
    ("visits", {"date": "2001-02-30", "edss": 2.0}, "date", "real calendar date"),
    ("visits", {"date": "1850-01-01", "edss": 2.0}, "date", "1900"),
    ("visits", {"date": "2100-01-01", "edss": 2.0}, "date", "cut-off"),
    ("visits", {"date": "2001-02-03", "edss": 2.0, "ambulation": 17}, "ambulation", "0 to 16"),
    ("visits", {"date": "2001-02-03", "edss": 2.0, "fs_visual": "9Z"}, "fs_visual", "grade 0-6"),
    ("visits", {"date": "2001-02-03", "edss": 2.0, "sdmt": 111}, "sdmt", "110"),
    ("relapses", {"onset": "March 2020"}, "onset", "YYYY-MM"),
    ("relapses", {"onset": "2020-03", "severity": "awful"}, "severity", "mild"),
    ("relapses", {"onset": "2020-03", "status": "maybe"}, "status", "not a valid choice"),
    ("mri", {"date": "2001-02-03", "pbvc": -300.0}, "pbvc", "-100"),
    ("mri", {"date": "2001-02-03", "gd": -1}, "gd", "0 or more"),
    ("treatments", {"drug": "aspirin", "start": "2001-02-03"}, "drug", "DMT catalogue"),
    ("treatments", {"drug": "natalizumab", "start": "2001-02-03", "stop_reason": "bored"},
     "stop_reason", "inefficacy"),
    ("symptom_treatments", {"drug": "baclofen", "symptom": "itch", "start": "2001-02-03"},
     "symptom", "spasticity"),
    ("pros", {"date": "2001-02-03", "instrument": "XYZ", "item": "1", "response": "1"},
     "instrument", "MFIS"),
])
def test_bad_input_is_422_with_the_readers_message(table: str, body: dict[str, Any],
                                                   field: str, words: str,
                                                   world: World) -> None:
    client = token_client("clinician")
    pid = world.patients["own_patient"].public_id
    count = TABLES[table].model.objects.count()
    r = client.post(f"/api/patients/{pid}/{table}", body, content_type="application/json")
    assert r.status_code == 422, r.content
    problems = r.json()["detail"]
    assert any(p["loc"] == ["body", field] and words in p["msg"] for p in problems), problems
    assert TABLES[table].model.objects.count() == count  # nothing stored


def test_bad_input_message_is_the_readers_own(world: World) -> None:
    pid = world.patients["own_patient"].public_id
    r = token_client("clinician").post(f"/api/patients/{pid}/visits",
                                       {"date": "2001-02-03", "edss": 0.5},
                                       content_type="application/json")
    assert r.json()["detail"] == [{
        "type": "value_error", "loc": ["body", "edss"],
        "msg": "visits record, column 'edss': got '0.5'; expected an EDSS value on the scale "
               "0, 1.0, 1.5, ..., 9.5, 10"}]


def test_type_errors_and_unknown_fields_are_422(world: World) -> None:
    client = token_client("clinician")
    pid = world.patients["own_patient"].public_id
    for body in ({"date": "2001-02-03", "edss": "high"}, {"date": "2001-02-03", "edds": 2.0},
                 {"edss": 2.0}, [], "x"):
        r = client.post(f"/api/patients/{pid}/visits", body, content_type="application/json")
        assert r.status_code in (400, 422), (body, r.content)
    r = client.post(f"/api/patients/{pid}/visits", "{not json", content_type="application/json")
    assert r.status_code in (400, 422)


def test_a_visit_without_any_measurement_is_refused(world: World) -> None:
    pid = world.patients["own_patient"].public_id
    r = token_client("clinician").post(f"/api/patients/{pid}/visits", {"date": "2001-02-03"},
                                       content_type="application/json")
    assert r.status_code == 422 and "no value in" in r.json()["detail"][0]["msg"]


def test_records_that_would_not_read_together_are_refused(world: World) -> None:
    """The whole patient is read again after a change (same-date visits that disagree, a
    treatment stopping before it starts, an item the instrument does not have)."""
    client = token_client("clinician")
    patient = world.patients["own_patient"]
    pid = patient.public_id
    existing = Visit.objects.filter(patient=patient).exclude(edss=None).first()
    assert existing is not None and existing.edss is not None
    other_edss = 9.5 if existing.edss != 9.5 else 9.0
    version = Patient.objects.get(pk=patient.pk).data_version
    r = client.post(f"/api/patients/{pid}/visits",
                    {"date": str(existing.date), "edss": other_edss},
                    content_type="application/json")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "edss"]
    assert "one value per subject and date" in r.json()["detail"][0]["msg"]
    r = client.post(f"/api/patients/{pid}/treatments",
                    {"drug": "natalizumab", "start": "2010-01-01", "stop": "2009-01-01"},
                    content_type="application/json")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "stop"]
    r = client.post(f"/api/patients/{pid}/pros",
                    {"date": "2001-02-03", "instrument": "MFIS", "item": "99", "response": "1"},
                    content_type="application/json")
    assert r.status_code == 422
    assert "got '99'; expected an item number 1-21 of MFIS" in r.json()["detail"][0]["msg"]
    # nothing was stored, and the course is still computed
    assert Patient.objects.get(pk=patient.pk).data_version == version
    assert client.get(f"/api/patients/{pid}/course").status_code == 200
    # the refused change left no course under the data version the next change gets
    r = client.post(f"/api/patients/{pid}/pros",
                    {"date": "2001-02-03", "instrument": "MFIS", "item": "3", "response": "1"},
                    content_type="application/json")
    assert r.status_code == 201, r.content
    assert "input_error" not in client.get(f"/api/patients/{pid}/course").json()


def test_put_replaces_and_patch_changes(world: World) -> None:
    client = token_client("admin")
    pid = world.patients["own_patient"].public_id
    rid = world.records[("own_patient", "relapses")]
    r = client.put(f"/api/patients/{pid}/relapses/{rid}",
                   {"onset": "2002-03", "objective": True}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["onset"] == "2002-03" and r.json()["objective"] is True
    r = client.patch(f"/api/patients/{pid}/relapses/{rid}", {"severity": "severe"},
                     content_type="application/json")
    assert r.json()["onset"] == "2002-03" and r.json()["severity"] == "severe"
    r = client.patch(f"/api/patients/{pid}/relapses/{rid}", {"onset": None},
                     content_type="application/json")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "onset"]
    r = client.put(f"/api/patients/{pid}/relapses/{rid}", {"objective": True},
                   content_type="application/json")
    assert r.status_code == 422  # the onset is required


def test_writes_are_audited_as_the_tokens_user(world: World) -> None:
    client = token_client("nurse")
    pid = world.patients["own_patient"].public_id
    r = client.post(f"/api/patients/{pid}/symptom_treatments", BODIES["symptom_treatments"],
                    content_type="application/json")
    record = SymptomTreatment.objects.get(pk=r.json()["id"])
    assert record.history.first().history_user.username == "nurse"  # type: ignore[attr-defined]


def test_api_answers_are_not_cached(world: World) -> None:
    r = token_client("clinician").get("/api/patients")
    assert r["Cache-Control"] == "no-store"


def test_schema_and_docs_work_offline() -> None:
    """The docs page loads Swagger UI from the site itself (CSP script-src 'self')."""
    client = Client()
    assert client.get("/api/openapi.json").status_code == 200
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert "script-src 'self'" in r["Content-Security-Policy"]
    assert "cdn" not in html.lower() and "http://" not in html and "https://" not in html
    scripts = [line for line in html.splitlines() if "<script src=" in line]
    assert scripts and all('src="/static/' in s for s in scripts)
    for src in ("/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui-init.js",
                "/static/ninja/swagger-ui.css"):
        assert client.get(src).status_code == 200, src
