"""Time the clinic's screens through Django's test client (SQLite in a temporary folder).

    python bench/screens.py                   # the demo clinic (300 patients)
    python bench/screens.py --patients 5000   # a large clinic: the list's first and warm pages

For one patient with the median number of visits: the first (cold) request of the overview,
which reads the records and computes the course, and the warm request, best of 20, which
finds the course in the cache (keyed by data version, rule-set digest and date). For the
patient list: the first request, which computes the whole clinic's patients table, and the
warm request (best of 20), plus a sorted page and a search. Run with PYTHONPATH=src.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any


def _best(fn: Callable[[], Any], repeat: int = 20) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("NEDA_DATA_DIR", tempfile.mkdtemp(prefix="neda-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "neda.web.settings"
    os.environ.setdefault("NEDA_DEMO_PASSWORD", "bench-password-not-used")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from neda.web.clinic.models import Patient, Visit

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    call_command("demo_clinic", patients=args.patients, seed=args.seed, patient_accounts=1,
                 verbosity=0)
    print(f"demo clinic of {args.patients} patients loaded in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    client = Client()
    client.force_login(get_user_model().objects.get(username="clinician"))

    counts = sorted((Visit.objects.filter(patient=p).count(), p.pk)
                    for p in Patient.objects.all())
    n_visits, pk = counts[len(counts) // 2]
    patient = Patient.objects.get(pk=pk)
    url = f"/patients/{patient.public_id}/"
    others = [Patient.objects.get(pk=k) for _, k in counts[len(counts) // 2 + 1:][:5]]

    def get(path: str, **params: Any) -> None:
        r = client.get(path, params)
        assert r.status_code == 200, (path, r.status_code)

    t0 = time.perf_counter()
    get(url)
    cold = time.perf_counter() - t0
    warm, warm_median = _best(lambda: get(url))
    computed = []
    for other in others:  # a course not cached yet, in a warm process
        t0 = time.perf_counter()
        get(f"/patients/{other.public_id}/")
        computed.append(time.perf_counter() - t0)
    print(f"overview, one patient ({n_visits} visits): first request of the process "
          f"{cold * 1000:.0f} ms; warm best of 20 {warm * 1000:.1f} ms (median "
          f"{warm_median * 1000:.1f} ms); a course not yet cached, warm process: median "
          f"{statistics.median(computed) * 1000:.0f} ms of {len(computed)}")
    t0 = time.perf_counter()
    get(url + "print/")
    print(f"printable summary: {(time.perf_counter() - t0) * 1000:.1f} ms (course cached)")

    t0 = time.perf_counter()
    get("/patients/")
    cold = time.perf_counter() - t0
    warm, warm_median = _best(lambda: get("/patients/"))
    sorted_best, _ = _best(lambda: get("/patients/", sort="labs", page=3))
    search_best, _ = _best(lambda: get("/patients/", q=patient.subject))
    print(f"patient list ({args.patients} patients, 50 a page): first request {cold:.2f} s "
          f"(computes the clinic's table); warm best of 20 {warm * 1000:.1f} ms "
          f"(median {warm_median * 1000:.1f} ms); sorted by labs, page 3: "
          f"{sorted_best * 1000:.1f} ms; search: {search_best * 1000:.1f} ms")


if __name__ == "__main__":
    main()
