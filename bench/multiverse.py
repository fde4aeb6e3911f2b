"""Benchmark the definition multiverse against one full run per definition, in the same run.

    python bench/multiverse.py                    # 10,000 patients, the 32-definition grid
    python bench/multiverse.py --subjects 2000    # a smaller cohort
    python bench/multiverse.py --threads 1        # the compiled kernels on one thread

Peers, each measured here on the same cohort and grid:

* ``separate, tables``: ``confirmed_events(visits, relapses, options)`` once per definition on
  tables already read and validated (``neda.io.read_visits`` / ``read_relapses`` once): every
  run still cleans the relapses, sorts the visits and builds the event table and summary;
* ``separate, frames``: the same on plain DataFrames, so every run also validates them.

Every definition's counts from the multiverse are checked equal to its separate run before
any time is reported. The first call compiles (or loads) the kernel; it is not counted.
Multiverse times are the best of --repeat calls; the separate runs are timed once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--subjects", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3, help="multiverse calls (best of)")
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()

    import numba

    if a.threads is not None:
        numba.set_num_threads(a.threads)

    from neda.cohort.multiverse import DEFAULT_GRID, multiverse
    from neda.course import confirmed_events
    from neda.demo import demo_cohort
    from neda.io import read_relapses, read_visits

    print(f"kernel threads: {numba.get_num_threads()} (cores: {os.cpu_count()}); "
          f"load average at start: {os.getloadavg()[0]:.1f}")
    visits, relapses = demo_cohort(a.subjects, seed=a.seed)
    visits = visits.rename(columns={"id": "subject"})[["subject", "date", "edss"]]
    relapses = relapses.rename(columns={"id": "subject"})
    print(f"cohort: {a.subjects:,} subjects, {len(visits):,} visits, {len(relapses):,} "
          f"relapses; grid: {' x '.join(f'{k} ({len(v)})' for k, v in DEFAULT_GRID.items())}")
    t = time.perf_counter()
    head = visits.head(50)
    multiverse(head, relapses[relapses.subject.isin(head.subject)], {"conf_days": [84]})
    print(f"first call (kernel compile or cache load): {time.perf_counter() - t:.2f} s\n")

    best = float("inf")
    for _ in range(a.repeat):
        t = time.perf_counter()
        result = multiverse(visits, relapses)
        best = min(best, time.perf_counter() - t)
    n_def = len(result.definitions)
    print(f"multiverse ({result.shared}): {best:.2f} s, {best / n_def * 1000:.0f} ms per "
          "definition")

    t = time.perf_counter()
    vis = read_visits(visits)
    rel = read_relapses(relapses, visits=vis)
    t_read = time.perf_counter() - t
    peers = {}
    for name, (v, r) in {"separate, tables": (vis, rel),
                         "separate, frames": (visits, relapses)}.items():
        t = time.perf_counter()
        runs = [confirmed_events(v, r, d.options, relapse_options=d.relapse_options)
                for d in result.definitions]
        elapsed = time.perf_counter() - t + (t_read if name == "separate, tables" else 0.0)
        peers[name] = elapsed
        for row, run in zip(result.table.to_dict("records"), runs, strict=True):
            s = run.summary
            for k in ("CDW", "RAW", "PIRA", "undefined", "unknown", "CDI"):
                assert int(s[k].sum()) == row[k], (name, row["label"], k)
            assert run.provenance["options_digest"] == row["options_digest"]
        print(f"{name:18s}: {elapsed:.2f} s, {elapsed / n_def * 1000:.0f} ms per definition "
              f"(counts identical)" + (f"; reading {t_read:.2f} s once" if "tables" in name
                                       else ""))
    print("\nratio per definition (separate run / multiverse), same run, same cohort:")
    for name, elapsed in peers.items():
        print(f"  {name:18s} {elapsed / n_def * 1000:7.0f} ms / {best / n_def * 1000:5.0f} ms "
              f"= x{elapsed / best:.1f}")
    pira = result.table["PIRA_share"]
    print(f"\nPIRA share across the {n_def} definitions: {pira.min():.2f} to {pira.max():.2f}")


if __name__ == "__main__":
    main()
