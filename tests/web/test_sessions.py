"""Sessions: a page view writes nothing to the database; a session in use is written (its
expiry moved on) once its last write is a minute old; an expired session logs the user out;
the SQLite database runs with write-ahead logging."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from neda.web.clinic.sessions import REFRESH_SECONDS, REFRESHED_KEY

from .conftest import login


def _row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def _session_writes(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return sum('"django_session"' in q["sql"] and q["sql"].lstrip().upper().startswith(
        ("UPDATE", "INSERT")) for q in queries.captured_queries)


def test_a_page_view_writes_the_session_once_a_minute_at_most(demo_patient: Any) -> None:
    client = login("clinician")
    assert _session_writes(client, "/patients/") == 1  # never refreshed yet: written
    assert _session_writes(client, "/patients/") == 0  # written a moment ago: not again
    assert _session_writes(client, f"/patients/{demo_patient.public_id}/") == 0


def test_a_session_in_use_is_kept_alive(db: Any) -> None:
    client = login("nurse")
    client.get("/patients/")
    # the last write a minute ago, its expiry near: the next page moves the expiry on
    store = client.session
    store[REFRESHED_KEY] = int(time.time()) - REFRESH_SECONDS
    store.save()
    soon = timezone.now() + dt.timedelta(minutes=2)
    Session.objects.filter(session_key=store.session_key).update(expire_date=soon)
    assert _session_writes(client, "/patients/") == 1
    row = _row(client)
    assert row.expire_date >= timezone.now() + dt.timedelta(
        seconds=settings.SESSION_COOKIE_AGE - 60)
    assert row.get_decoded()[REFRESHED_KEY] >= int(time.time()) - 5


def test_an_expired_session_is_logged_out(db: Any) -> None:
    client = login("clinician")
    client.get("/patients/")
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/patients/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_logout_leaves_no_session(db: Any) -> None:
    client = login("clinician")
    client.get("/patients/")
    key = client.session.session_key
    client.post("/logout/")
    assert not Session.objects.filter(session_key=key).exists()


def test_sqlite_runs_with_write_ahead_logging(db: Any, tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        return  # PostgreSQL: nothing of SQLite's to check
    wrapper = type(connections["default"])(
        {**connection.settings_dict, "NAME": str(tmp_path / "x.db")}, alias="wal-check")
    try:
        with wrapper.cursor() as cursor:
            assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        wrapper.close()
