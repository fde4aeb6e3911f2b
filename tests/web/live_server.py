"""A database and a real server of their own, in other processes: for the tests of what only a
real deployment shows (backup and restore by the commands, a server killed mid-import, the
screens in a real browser).

* :func:`fresh_database` - an empty, migrated database (a SQLite file; with DATABASE_URL set
  to PostgreSQL, a new PostgreSQL database dropped afterwards), with ``neda-admin`` commands
  and Django scripts run against it in other processes;
* :class:`Server` - gunicorn serving the clinic on that database, on a free port, in a
  process group of its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass
class FreshDatabase:
    """An empty, migrated database of its own (a SQLite file; with DATABASE_URL set to
    PostgreSQL, a new PostgreSQL database), for commands run in other processes."""

    url: str
    env: dict[str, str]

    def manage(self, *args: str, check: bool = True, **kwargs: Any
               ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "neda.web.manage", *args], env=self.env,
                              capture_output=True, text=True, timeout=600, **kwargs)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def script(self, code: str) -> subprocess.CompletedProcess[str]:
        """A Python script run with Django set up on this database."""
        done = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code],
                              env=self.env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return done


@contextlib.contextmanager
def fresh_database(folder: Path, *, sqlite: bool = False, migrate: bool = True
                   ) -> Iterator[FreshDatabase]:
    """``sqlite=True``: a SQLite file even when DATABASE_URL names a PostgreSQL server;
    ``migrate=False``: without neda's tables (a new data folder)."""
    base = "" if sqlite else os.environ.get("DATABASE_URL", "")
    name = None
    if base.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"neda_io_{secrets.token_hex(4)}"
        parts = urlsplit(base)
        url = urlunsplit(parts._replace(path=f"/{name}"))
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    else:
        url = f"sqlite:///{folder / 'fresh.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "NEDA_DATA_DIR": str(folder / "data"),
           "PYTHONPATH": str(SRC), "DJANGO_SETTINGS_MODULE": "neda.web.settings",
           "NEDA_SECRET_KEY": "fresh-database-tests"}
    fresh = FreshDatabase(url, env)
    try:
        if migrate:
            fresh.manage("migrate", "-v0")
        yield fresh
    finally:
        if name is not None:
            _drop_database(base, name)


def _drop_database(base: str, name: str) -> None:
    """Drop a test database. FORCE ends our own sessions in it; an autovacuum worker (run as
    the server's superuser, which the test role may not end) leaves within seconds: wait."""
    import psycopg

    for attempt in range(40):
        try:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == 39:
                raise
            time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn serving the clinic on a free port, in a process group of its own; ready (its
    /healthz answers) when the constructor returns."""

    def __init__(self, fresh: FreshDatabase, folder: Path, *, workers: int = 1, **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(folder / f"gunicorn-{self.port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "neda.web.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(workers), "--timeout", "300"],
            env={**fresh.env, **env}, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                raise AssertionError(f"gunicorn did not start: {self.log_text()}")
            time.sleep(0.2)

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def kill(self) -> None:
        """SIGKILL to the server's process group (the master and its worker): no handler,
        no clean-up, as a power cut or the OOM killer would do it."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()
