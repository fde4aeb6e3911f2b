"""Load test of the clinic: 50 concurrent clients against a 2-worker gunicorn on a demo clinic;
then the patient portal under the same load.

    python bench/web.py                        # 5,000 patients, 50 clients, 30 s per phase
    python bench/web.py --patients 300 --seconds 10 --clients 20 --portal-clients 10

Builds (once, cached in ``build/bench-web-<N>``) a SQLite demo clinic of ``--patients`` patients,
serves it with ``gunicorn --workers 2`` exactly as ``make run`` does, logs every client in as the
demo clinician through the login form (CSRF, argon2, session cookie) and gives the API clients a
token from ``neda-admin issue_token``. Each client loops over a mix of requests:

* the patient overview of a random patient (the one-page screen, chart data included),
* a page of the patient list (random page, sort or search),
* the computed course of a random patient from the JSON API (``/api/patients/<id>/course``).

Two phases, reported separately:

``saturated``  every client sends its next request as soon as the last one is answered: the
               server's throughput at full load, and the latency 50 waiting clinicians would see.
``clinic``     every client waits a random 0.5-1.5 s before its first request and between
               requests (a clinician reads a page before opening the next): the latency of a
               busy clinic of 50 people (``--synchronized-start``: no pause before the first).

``portal``     the clinic phase again (the same clinicians, same pauses) and, at the same time,
               ``--portal-clients`` patients logged in to the portal (demo accounts made for the
               benchmark), each waiting 0.5-1.5 s between requests: 4 in 5 open the portal's
               home page (their course in plain words), 1 in 5 log a symptom diary entry. The
               issue's target: the portal home page's p95 under 150 ms. A diary entry is *one
               request*: one POST carrying the whole entry (stored, the course's data version
               unchanged), answered by a redirect; the diary page that the browser then loads
               (POST-redirect-GET) is counted apart, as ``diary page``. The report counts the
               requests of every entry and says if any entry took more than one POST.

Courses are cached per worker process (keyed by data version and rule-set digest), so a patient's
first overview in a worker computes the course and later ones do not; the report gives the first
requests of each worker (the list computes the whole clinic's table) apart from the rest.

The load generator runs on the same 2-core machine as the server and takes some of its CPU, so
the figures are a lower bound on what the server alone would do. Each phase prints the CPU the
server's processes (gunicorn's master and workers, read from ``/proc``) and this generator used,
per second and per request, and the load average: on a shared machine the server's share of
the cores, not its own cost, may be what the latencies measure. Timings are printed, never
asserted. There is no peer web application to measure against; the target of issue 9 is a p95
under 150 ms with no errors.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-0f3c9a"


def _bin(name: str) -> list[str]:
    """A console script of the environment running this benchmark (``neda-admin``,
    ``gunicorn``), or its module run by this interpreter (a source tree not installed)."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return [str(here)]
    module = {"neda-admin": "neda.web.manage", "gunicorn": "gunicorn"}[name]
    return [sys.executable, "-m", module]


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(NEDA_DATA_DIR=str(data_dir), NEDA_DEMO_PASSWORD=PASSWORD,
               PYTHONPATH=str(ROOT / "src"))
    return env


def build_clinic(patients: int, seed: int) -> Path:
    """The demo clinic's database, made once per size (its folder holds the SQLite file)."""
    data_dir = ROOT / "build" / f"bench-web-{patients}"
    stamp = data_dir / ".complete"
    if stamp.exists():
        return data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = _env(data_dir)
    admin = _bin("neda-admin")
    t0 = time.perf_counter()
    subprocess.run([*admin, "migrate", "--noinput", "-v0"], env=env, check=True)
    subprocess.run([*admin, "collectstatic", "--noinput", "-v0"], env=env, check=True)
    subprocess.run([*admin, "demo_clinic", "--patients", str(patients), "--seed", str(seed)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    stamp.touch()
    print(f"demo clinic of {patients} patients built in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return data_dir


def issue_token(data_dir: Path) -> str:
    out = subprocess.run([*_bin("neda-admin"), "issue_token", "--username", "clinician",
                          "--name", f"bench {time.time():.0f}"],
                         env=_env(data_dir), check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def portal_logins(data_dir: Path, n: int) -> list[str]:
    """``n`` patient logins (``bench-patient-<i>``, the benchmark's password) on the first
    patients without one; the database migrated first (a cached clinic may predate the portal)."""
    subprocess.run([*_bin("neda-admin"), "migrate", "--noinput", "-v0"], env=_env(data_dir),
                   check=True)
    code = f"""import django; django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from neda.web.clinic.models import Patient, PatientAccount
users = get_user_model()
password = make_password({PASSWORD!r})  # one hash for all: argon2 takes a while each
names = []
for i in range({n}):
    name = f"bench-patient-{{i + 1}}"
    user, made = users.objects.get_or_create(username=name)
    if made or not PatientAccount.objects.filter(user=user).exists():
        user.password = password
        user.save()
        patient = Patient.objects.filter(account__isnull=True).order_by("pk").first()
        PatientAccount.objects.create(user=user, patient=patient)
    names.append(name)
print(" ".join(names))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env={**_env(data_dir),
                                         "DJANGO_SETTINGS_MODULE": "neda.web.settings"})
    return out.stdout.split()


def patient_ids(data_dir: Path) -> list[str]:
    code = ("import django; django.setup();"
            "from neda.web.clinic.models import Patient;"
            "print('\\n'.join(str(p) for p in "
            "Patient.objects.values_list('public_id', flat=True)))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**_env(data_dir), "DJANGO_SETTINGS_MODULE": "neda.web.settings"})
    return out.stdout.split()


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn master ``pid`` and its workers
    (read from ``/proc``; 0 where there is none)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # a process that ended meanwhile
            continue
        # fields[1] is the parent's pid, fields[11:13] utime and stime (proc(5), from field 3)
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class Usage:
    """Where the CPU went during a phase: the server's processes and this load generator."""

    server: float = 0.0     # CPU seconds of gunicorn (master and workers)
    generator: float = 0.0  # CPU seconds of this process (every client thread)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)  # load average at the end

    @classmethod
    def measure(cls, pid: int, run: Any) -> tuple[Any, Usage]:
        server, mine = server_cpu(pid), time.process_time()
        out = run()
        return out, cls(server_cpu(pid) - server, time.process_time() - mine, os.getloadavg())


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [*_bin("gunicorn"), "neda.web.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "120", "--log-level", "warning"],
        env=_env(data_dir), start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, OSError):  # not up yet, or a worker still booting
            time.sleep(0.3)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


class Session:
    """One client: a cookie jar (logged in through the form) or an API token."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        # POSTs: one request each, their redirect not followed (counted apart)
        self.posting = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _Unfollowed())

    def login(self, username: str) -> None:
        with self.opener.open(f"{self.base}/login/", timeout=30) as r:
            page = r.read().decode()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if match is None:
            raise SystemExit("the login page has no CSRF token")
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1),
                                       "username": username, "password": PASSWORD}).encode()
        request = urllib.request.Request(f"{self.base}/login/", data=data,
                                         headers={"Referer": f"{self.base}/login/"})
        with self.opener.open(request, timeout=30) as r:
            r.read()
        if not any(c.name == "sessionid" for c in self.jar):
            raise SystemExit(f"logging in as {username} failed (wrong NEDA_DEMO_PASSWORD?)")

    def get(self, path: str) -> int:
        request = urllib.request.Request(self.base + path, headers=self.headers)
        try:
            with self.opener.open(request, timeout=60) as r:
                r.read()
                return int(r.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0

    def csrf(self, path: str) -> str:
        """The CSRF token of a page's form (read once; it stays valid for the session)."""
        with self.opener.open(f"{self.base}{path}", timeout=60) as r:
            page = r.read().decode()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if match is None:
            raise SystemExit(f"{path} has no form")
        return match.group(1)

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        """(status, Location) of one POST, its redirect not followed."""
        request = urllib.request.Request(
            self.base + path, data=urllib.parse.urlencode(fields).encode(),
            headers={"Referer": self.base + path})
        try:
            with self.posting.open(request, timeout=60) as r:
                r.read()
                return int(r.status), ""
        except urllib.error.HTTPError as error:  # a redirect too: it is not followed
            return int(error.code), error.headers.get("Location", "")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, ""


class _Unfollowed(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the redirect is answered to the caller, not followed


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)
    entries: int = 0      # diary entries logged
    entry_posts: int = 0  # the POSTs they took (one each: the entry is one request)

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if status != 200:
                self.errors[kind].append(status)


def _request(session: Session, api: Session, ids: list[str], rng: random.Random) -> tuple[str, int]:
    kind = rng.choices(["overview", "list", "api course"], weights=[5, 3, 2])[0]
    if kind == "overview":
        return kind, session.get(f"/patients/{rng.choice(ids)}/")
    if kind == "list":
        query = rng.choice([{"page": str(rng.randint(1, 20))},
                            {"sort": "last_visit", "dir": "desc"},
                            {"sort": "neda", "page": str(rng.randint(1, 5))},
                            {"q": f"{rng.randint(1, 999):03d}"}])
        return kind, session.get("/patients/?" + urllib.parse.urlencode(query))
    return kind, api.get(f"/api/patients/{rng.choice(ids)}/course")


#: Paced clients start after one pause drawn like the others (0.5-1.5 s), as people in a clinic
#: do not all click at the same instant; without it (``--synchronized-start``) every client's
#: first request arrives at once, a burst of 70 requests on two workers whose queue alone
#: (about 10 ms each) is 5 % of a 20 s phase's requests, so it sets the p95. The saturated
#: phase has no pauses and is not staggered.
STAGGER = True


def run_phase(base: str, sessions: list[Session], apis: list[Session], ids: list[str],
              seconds: float, think: tuple[float, float] | None) -> tuple[Results, float]:
    results = Results()
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        rng = random.Random(i)
        if think:  # a staggered start: see _STAGGER
            time.sleep(rng.uniform(*think) if STAGGER else 0.0)
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            kind, status = _request(sessions[i], apis[i], ids, rng)
            results.add(kind, time.perf_counter() - t0, status)
            if think:
                time.sleep(rng.uniform(*think))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - t0


SYMPTOMS = ("fatigue", "spasticity", "pain", "sleep", "mood", "bladder", "walking")


def _portal_request(session: Session, token: str, rng: random.Random, results: Results
                    ) -> None:
    """One patient's step: the portal home, or a diary entry (one POST; then the page)."""
    if rng.random() < 0.8:
        t0 = time.perf_counter()
        status = session.get("/portal/")
        results.add("portal home", time.perf_counter() - t0, status)
        return
    fields = {"csrfmiddlewaretoken": token, "date": time.strftime("%Y-%m-%d", time.gmtime()),
              **{s: str(rng.randint(0, 10)) for s in rng.sample(SYMPTOMS, 3)}}
    t0 = time.perf_counter()
    status, location = session.post("/portal/diary/", fields)
    results.add("diary entry", time.perf_counter() - t0, 200 if status == 302 else status)
    with results.lock:
        results.entries += 1
        results.entry_posts += 1
    if status == 302 and location:  # what the browser loads next: the diary page
        t0 = time.perf_counter()
        status = session.get(location)
        results.add("diary page", time.perf_counter() - t0, status)


def run_portal_phase(base: str, sessions: list[Session], apis: list[Session], ids: list[str],
                     patients: list[Session], tokens: list[str], seconds: float
                     ) -> tuple[Results, float]:
    """The clinic phase's clients and, at the same time, the portal's patients."""
    results = Results()
    stop = time.monotonic() + seconds
    think = (0.5, 1.5)

    def clinician(i: int) -> None:
        rng = random.Random(i)
        time.sleep(rng.uniform(*think) if STAGGER else 0.0)
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            kind, status = _request(sessions[i], apis[i], ids, rng)
            results.add(kind, time.perf_counter() - t0, status)
            time.sleep(rng.uniform(*think))

    def patient(i: int) -> None:
        rng = random.Random(10_000 + i)
        time.sleep(rng.uniform(*think) if STAGGER else 0.0)
        while time.monotonic() < stop:
            _portal_request(patients[i], tokens[i], rng, results)
            time.sleep(rng.uniform(*think))

    t0 = time.perf_counter()
    threads = ([threading.Thread(target=clinician, args=(i,)) for i in range(len(sessions))]
               + [threading.Thread(target=patient, args=(i,)) for i in range(len(patients))])
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - t0


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def report(name: str, results: Results, elapsed: float, usage: Usage | None = None) -> None:
    every = [t for ts in results.times.values() for t in ts]
    n_errors = sum(len(e) for e in results.errors.values())
    print(f"\n{name}: {len(every)} requests in {elapsed:.1f} s = {len(every) / elapsed:.1f} "
          f"requests/s, p50 {1000 * _p(every, 50):.0f} ms, p95 {1000 * _p(every, 95):.0f} ms, "
          f"errors {n_errors}")
    if usage is not None:
        print(f"  CPU: server {usage.server / elapsed:.2f} cores "
              f"({1000 * usage.server / max(len(every), 1):.1f} ms per request), load generator "
              f"{usage.generator / elapsed:.2f} cores; load average "
              + " ".join(f"{v:.1f}" for v in usage.load))
    print(f"  {'request':<12} {'n':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for kind, ts in sorted(results.times.items()):
        print(f"  {kind:<12} {len(ts):>6} {len(ts) / elapsed:>7.1f} {1000 * _p(ts, 50):>7.0f} "
              f"{1000 * _p(ts, 95):>7.0f} {1000 * max(ts):>7.0f}")
    for kind, codes in results.errors.items():
        print(f"  errors in {kind}: " + ", ".join(f"{c} x{codes.count(c)}" for c in set(codes)))


def portal_phase(base: str, sessions: list[Session], apis: list[Session], ids: list[str],
                 users: list[str], seconds: float, server_pid: int) -> None:
    patients = [Session(base) for _ in users]
    for session, name in zip(patients, users, strict=True):
        session.login(name)  # lands on the portal's home: each worker computes a course once
    tokens = [p.csrf("/portal/diary/") for p in patients]
    # the page alone first: one patient, one request at a time (each worker's course cached)
    alone = []
    for _ in range(30):
        t0 = time.perf_counter()
        patients[0].get("/portal/")
        alone.append(time.perf_counter() - t0)
    print(f"\nportal home, one client alone: p50 {1000 * _p(alone, 50):.0f} ms, "
          f"p95 {1000 * _p(alone, 95):.0f} ms (30 requests)")
    (results, elapsed), usage = Usage.measure(server_pid, lambda: run_portal_phase(
        base, sessions, apis, ids, patients, tokens, seconds))
    report(f"portal ({len(sessions)} clinic clients as above and {len(patients)} patients, "
           "0.5-1.5 s between requests)", results, elapsed, usage)
    home = results.times.get("portal home", [])
    if home:
        print(f"  portal home p95 {1000 * _p(home, 95):.0f} ms (target 150 ms)")
    print(f"  diary entries: {results.entries}, POSTs they took: {results.entry_posts} "
          f"({results.entry_posts / max(results.entries, 1):.2f} request per entry; the diary "
          "page after the redirect counted apart)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synchronized-start", action="store_true",
                        help="paced clients all send their first request at once (a burst)")
    parser.add_argument("--portal-clients", type=int, default=20,
                        help="patients using the portal during the last phase (0: no portal "
                        "phase)")
    args = parser.parse_args()
    global STAGGER
    STAGGER = not args.synchronized_start

    data_dir = build_clinic(args.patients, args.seed)
    portal_users = portal_logins(data_dir, args.portal_clients) if args.portal_clients else []
    ids = patient_ids(data_dir)
    token = issue_token(data_dir)
    base = f"http://127.0.0.1:{args.port}"
    server = start_server(data_dir, args.port, args.workers)
    try:
        sessions = [Session(base) for _ in range(args.clients)]
        logins = []
        for s in sessions:  # a login lands on the patient list
            t0 = time.perf_counter()
            s.login("clinician")
            logins.append(time.perf_counter() - t0)
        print("logins (each lands on the patient list; a worker's first computes the whole "
              "clinic): " + ", ".join(f"{t:.1f} s" for t in sorted(logins, reverse=True)[:4])
              + " (the slowest four)")
        apis = [Session(base, token) for _ in range(args.clients)]
        print(f"{len(ids)} patients, {args.clients} clients logged in, gunicorn with "
              f"{args.workers} workers; paced clients start "
              + ("all at once (--synchronized-start)" if args.synchronized_start
                 else "after one pause each (staggered)"), file=sys.stderr)

        # The list again: each worker has computed the clinic's table once by now.
        first = Results()
        for _ in range(2 * args.workers):
            t0 = time.perf_counter()
            status = sessions[0].get("/patients/")
            first.add("list", time.perf_counter() - t0, status)
        print("list requests after the logins: "
              + ", ".join(f"{1000 * t:.0f} ms" for t in first.times["list"])
              + (f"; not 200: {first.errors['list']}" if first.errors["list"] else ""))

        (results, elapsed), usage = Usage.measure(server.pid, lambda: run_phase(
            base, sessions, apis, ids, args.seconds, think=None))
        report(f"saturated ({args.clients} clients, no pause)", results, elapsed, usage)
        (results, elapsed), usage = Usage.measure(server.pid, lambda: run_phase(
            base, sessions, apis, ids, args.seconds, think=(0.5, 1.5)))
        report(f"clinic ({args.clients} clients, 0.5-1.5 s between requests)", results, elapsed,
               usage)
        if portal_users:
            portal_phase(base, sessions, apis, ids, portal_users, args.seconds, server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
