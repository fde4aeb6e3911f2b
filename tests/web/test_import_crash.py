"""Crash safety: the server killed (SIGKILL) in the middle of an import's commit leaves
nothing of the import behind, and the database is consistent and usable.

For real, not simulated: a gunicorn server on a free port serves a database of its own (a
SQLite file; with DATABASE_URL set to PostgreSQL, a new PostgreSQL database), a user logs in
and uploads a file over HTTP, and the commit's POST reaches the server while the test-only
hook ``NEDA_TEST_IMPORT_PAUSE`` holds the commit's transaction open after every row has been
written (``neda.web.clinic.importing._test_pause``). The server's process group is then
killed with SIGKILL; the database is inspected from another process; and the same file is
imported again, completely, by a server started afresh.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from .live_server import FreshDatabase, Server, fresh_database

PASSWORD = "crash-test-password-1"
PATIENTS = 150
VISITS_EACH = 12


def _visits_file() -> bytes:
    lines = ["subject,date,edss,t25fw"]
    for p in range(PATIENTS):
        for v in range(VISITS_EACH):
            lines.append(f"CRASH-{p:04d},{2010 + v}-03-{1 + p % 28:02d},{1 + (v % 4) * 0.5},"
                         f"{6 + v / 10:.1f}")
    return ("\n".join(lines) + "\n").encode()


class Browser:
    """Just enough of a browser: cookies, the CSRF token, forms, multipart uploads."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=60) as r:
            return r.geturl(), r.read().decode()

    def post(self, path: str, fields: dict[str, str],
             files: dict[str, tuple[str, bytes]] | None = None, timeout: float = 60
             ) -> tuple[str, str]:
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for k, v in fields.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"'
                             f"\r\n\r\n{v}\r\n".encode())
            for k, (name, content) in files.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; '
                             f'filename="{name}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                             + content + b"\r\n")
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            kind = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields).encode()
            kind = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=body,
                                         headers={"Content-Type": kind,
                                                  "Referer": self.base + path})
        with self.opener.open(request, timeout=timeout) as r:
            return r.geturl(), r.read().decode()

    @staticmethod
    def csrf(html: str) -> str:
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert found, html[:2000]
        return found.group(1)


def _upload(server: Server, data: bytes) -> tuple[Browser, str, str]:
    """Log in, upload the visits file; the preview's URL and its CSRF token."""
    browser = Browser(server.base)
    _, page = browser.get("/login/")
    browser.post("/login/", {"username": "crash-nurse", "password": PASSWORD,
                             "csrfmiddlewaretoken": Browser.csrf(page)})
    _, page = browser.get("/import/")
    url, preview = browser.post("/import/", {"csrfmiddlewaretoken": Browser.csrf(page),
                                             "decimal": "auto", "encoding": "auto",
                                             "date_format": "", "separator": ""},
                                files={"file_visits": ("visits.csv", data)})
    assert "/import/" in url and 'value="commit"' in preview, preview[:3000]
    assert f"Visits: {PATIENTS * VISITS_EACH} rows" in preview
    return browser, urllib.parse.urlsplit(url).path, Browser.csrf(preview)


def _open_transaction(fresh: FreshDatabase) -> bool:
    """Whether the database holds an import's uncommitted writes: SQLite's rollback journal
    (or write-ahead log) beside the file, or a PostgreSQL session idle in a transaction."""
    if fresh.url.startswith("sqlite"):
        db = fresh.url.removeprefix("sqlite:///")
        return any(Path(db + suffix).is_file() and Path(db + suffix).stat().st_size > 0
                   for suffix in ("-journal", "-wal"))
    import psycopg

    name = urllib.parse.urlsplit(fresh.url).path.lstrip("/")
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                           "state = 'idle in transaction'", (name,)).fetchone()
    return bool(row and row[0] >= 1)


COUNTS = """
from neda.web.clinic.models import Clinic, Patient, Visit
c = Clinic.objects.get(name="Crash clinic")
print(Patient.all_objects.filter(clinic=c).count(),
      Visit.all_objects.filter(patient__clinic=c).count(),
      Patient.history.filter(clinic_id=c.pk).count(),
      Visit.history.filter(patient__clinic=c).count(),
      Clinic.objects.get(pk=c.pk).data_version)
"""


def _counts(fresh: FreshDatabase) -> tuple[int, ...]:
    return tuple(int(x) for x in fresh.script(COUNTS).stdout.split())


def test_a_server_killed_during_an_import_leaves_nothing_half_imported(tmp_path: Path
                                                                       ) -> None:
    data = _visits_file()
    with fresh_database(tmp_path) as fresh:
        fresh.script(
            "from django.contrib.auth import get_user_model\n"
            "from neda.web.clinic.models import Clinic, Patient, StaffMember, Visit\n"
            "import datetime as dt\n"
            "c = Clinic.objects.create(name='Crash clinic')\n"
            f"u = get_user_model().objects.create_user('crash-nurse', password='{PASSWORD}')\n"
            "StaffMember.objects.create(user=u, clinic=c, role='nurse')\n"
            "p = Patient.objects.create(clinic=c, subject='KEEP-1')\n"
            "Visit.objects.create(patient=p, date=dt.date(2020, 1, 1), edss=2.0)\n")
        before = _counts(fresh)
        assert before[:4] == (1, 1, 1, 1)

        marker = tmp_path / "in-transaction"
        server = Server(fresh, tmp_path, NEDA_TEST_IMPORT_PAUSE="120",
                        NEDA_TEST_IMPORT_MARKER=str(marker))
        try:
            browser, preview, token = _upload(server, data)
            outcome: dict[str, Any] = {}

            def commit() -> None:
                try:
                    outcome["page"] = browser.post(preview, {"csrfmiddlewaretoken": token,
                                                             "action": "commit"}, timeout=300)
                except Exception as exc:  # the server dies under the request
                    outcome["error"] = exc

            thread = threading.Thread(target=commit, daemon=True)
            thread.start()
            deadline = time.time() + 120
            while not marker.exists():
                assert time.time() < deadline, f"the commit never paused: {server.log_text()}"
                assert thread.is_alive(), f"the commit ended: {outcome}"
                time.sleep(0.1)
            # every row is written inside the open transaction now: kill the server
            assert _open_transaction(fresh), "no transaction in progress"
            server.kill()
            thread.join(timeout=60)
            assert "error" in outcome and "page" not in outcome
        finally:
            server.stop()

        # nothing of the import: no patient, no visit, no audit entry, same data version
        assert _counts(fresh) == before
        if fresh.url.startswith("sqlite"):
            db = fresh.url.removeprefix("sqlite:///")
            import sqlite3

            with sqlite3.connect(db) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # the database takes writes, and the same import, run again, stores everything
        server = Server(fresh, tmp_path)
        try:
            browser, preview, token = _upload(server, data)
            url, _ = browser.post(preview, {"csrfmiddlewaretoken": token, "action": "commit"})
            assert urllib.parse.urlsplit(url).path == "/patients/"
        finally:
            server.stop()
        after = _counts(fresh)
        assert after[0] == 1 + PATIENTS and after[1] == 1 + PATIENTS * VISITS_EACH
        assert after[3] == 1 + PATIENTS * VISITS_EACH  # one audit entry per stored row
