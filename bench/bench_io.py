"""Time the demo generator and the visit reader on a registry-sized cohort.

Run: python bench/bench_io.py [patients]   (60,000 patients give about 1,000,000 visits)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from neda.demo import demo_cohort, write_demo_cohort
from neda.io import read_relapses, read_visits


def main(patients: int = 60_000) -> None:
    start = time.perf_counter()
    visits, _ = demo_cohort(patients, seed=1)
    print(f"demo_cohort: {len(visits):,} visits in {time.perf_counter() - start:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        visits_path, relapses_path = write_demo_cohort(Path(tmp), patients, seed=1)
        for outcomes in (("edss",), ("edss", "nhpt", "t25fw", "sdmt")):
            start = time.perf_counter()
            table = read_visits(visits_path, outcomes=outcomes)
            took = time.perf_counter() - start
            print(f"read_visits {outcomes}: {len(table):,} rows in {took:.2f} s")
        start = time.perf_counter()
        relapses = read_relapses(relapses_path, visits=table)
        print(f"read_relapses: {len(relapses):,} rows in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60_000)
