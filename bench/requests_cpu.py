"""The server's CPU per request, request by request, on a clinic built by ``bench/web.py``:
what the load test's requests cost in one process, without the queue.

    python bench/web.py                                      # builds build/bench-web-5000 once
    PYTHONPATH=src python bench/requests_cpu.py build/bench-web-5000
    PYTHONPATH=src python bench/requests_cpu.py build/bench-web-5000 --profile list

Through Django's test client, in this process (one worker's view): the first patient list
(it computes the whole clinic's course), then the load test's kinds of list page (a random
page, sorted by last visit descending, sorted by NEDA with a page, a search for three digits),
a patient's first overview (the course taken from the clinic's computation) and a repeated one,
the course from the JSON API (first and repeated) and the portal's home (a ``bench-patient-<i>``
of ``bench/web.py``, when there is one). Each figure is the mean CPU time (``process_time``)
per request and the median wall time. The database is copied to a temporary folder first (the
test client's logins write sessions). ``--profile KIND`` prints cProfile's top functions for
``list`` (the load test's mix of list pages) or ``overview`` (first views). Timings are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clinic", type=Path, help="a folder of bench/web.py (build/bench-web-N)")
    parser.add_argument("--repeat", type=int, default=40, help="requests per kind")
    parser.add_argument("--profile", choices=["list", "overview"], default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="neda-requests-"))
    for name in ("neda-clinic.sqlite3", "neda-clinic.sqlite3-wal", "secret_key"):
        if (args.clinic / name).exists():
            shutil.copy(args.clinic / name, folder / name)
    os.environ["NEDA_DATA_DIR"] = str(folder)
    os.environ["DJANGO_SETTINGS_MODULE"] = "neda.web.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from neda.web.clinic.models import Patient, PatientAccount

    users = get_user_model()
    clinician = Client()
    clinician.force_login(users.objects.get(username="clinician"))
    ids = [str(p) for p in Patient.objects.values_list("public_id", flat=True)]
    rng = random.Random(args.seed)
    rng.shuffle(ids)
    account = PatientAccount.objects.filter(user__username__startswith="bench-patient-").first()
    portal = None
    if account is not None:
        portal = Client()
        portal.force_login(account.user)

    def get(client: Client, path: str, params: dict[str, Any] | None = None) -> None:
        r = client.get(path, params or {})
        assert r.status_code == 200, (path, params, r.status_code)

    def measure(name: str, make: Callable[[int], Callable[[], None]], n: int) -> None:
        cpu, wall = [], []
        for i in range(n):
            fn = make(i)
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - t0)
        print(f"  {name:<34} n {n:>4}  CPU mean {1000 * statistics.mean(cpu):7.1f} ms  "
              f"wall median {1000 * statistics.median(wall):7.1f} ms  max "
              f"{1000 * max(wall):7.1f} ms")

    print(f"{len(ids)} patients ({args.clinic}); load average "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    c0, t0 = time.process_time(), time.perf_counter()
    get(clinician, "/patients/")
    print(f"  first list (computes the clinic)   CPU {time.process_time() - c0:.1f} s, wall "
          f"{time.perf_counter() - t0:.1f} s")

    lists = [{"page": str(rng.randint(1, 20))}, {"sort": "last_visit", "dir": "desc"},
             {"sort": "neda", "page": str(rng.randint(1, 5))},
             {"q": f"{rng.randint(1, 999):03d}"}]
    n = args.repeat
    if args.profile:
        profile = cProfile.Profile()
        if args.profile == "list":
            queries = [lists[i % 4] if i % 4 else {"page": str(rng.randint(1, 20))}
                       for i in range(n)]
            profile.runcall(lambda: [get(clinician, "/patients/", q) for q in queries])
        else:
            profile.runcall(lambda: [get(clinician, f"/patients/{ids[i]}/") for i in range(n)])
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(45)
        return
    for label, query in (("list, a page", lambda: {"page": str(rng.randint(1, 20))}),
                         ("list, last visit descending", lambda: lists[1]),
                         ("list, NEDA sort, a page", lambda: {
                             "sort": "neda", "page": str(rng.randint(1, 5))}),
                         ("list, search 3 digits", lambda: {"q": f"{rng.randint(1, 999):03d}"})):
        params = [query() for _ in range(n)]
        measure(label, lambda i, p=params: lambda: get(clinician, "/patients/", p[i]), n)
    measure("overview, first view", lambda i: lambda: get(clinician, f"/patients/{ids[i]}/"), n)
    measure("overview, repeated", lambda i: lambda: get(clinician, f"/patients/{ids[i]}/"), n)
    measure("API course, first", lambda i: lambda: get(
        clinician, f"/api/patients/{ids[n + i]}/course"), n)
    measure("API course, repeated", lambda i: lambda: get(
        clinician, f"/api/patients/{ids[n + i]}/course"), n)
    if portal is not None:
        measure("portal home", lambda i: lambda: get(portal, "/portal/"), n)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
