"""Benchmark the course engine against pymsprog 1.0.7, measured in the same run.

    python bench/engine.py                   # 1,000 and 10,000 subjects, three option sets,
                                             #   ratio vs pymsprog (pymsprog: ~2 min in all)
    python bench/engine.py --subjects 1000   # one cohort size (several: --subjects 1000 3000)
    python bench/engine.py --threads 1       # neda's kernels on one thread (busy machines)
    python bench/engine.py --registry        # + 1,000,000 visits through the native API, CSV
                                             #   read included, with peak memory (own process)

Every neda result is checked equal to pymsprog's before its time is reported. The first neda
call compiles (or loads from cache) the kernel; it is timed separately and not counted. neda's
time is the best of --repeat calls (pymsprog runs once: it takes seconds, neda milliseconds).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

OPTION_SETS = {
    "multiple / roving / RAW_PIRA": dict(event="multiple", baseline="roving", RAW_PIRA=True),
    "pymsprog defaults (firstCDW / fixed)": dict(),
    "kappos2020-like (relapse_rebl, bl_geq)": dict(
        event="multiple", baseline="roving", RAW_PIRA=True, relapse_rebl=True, bl_geq=True,
        relapse_indep={"prec": (0, None), "event": (None, 30), "conf": (30, 30)},
    ),
}


def _best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def compare(subjects: int, seed: int, repeat: int) -> list[dict[str, float | str]]:
    import pymsprog

    from neda import msprog as neda_msprog
    from neda.demo import demo_cohort

    visits, relapses = demo_cohort(subjects, seed=seed)
    print(f"cohort: {subjects:,} subjects, {len(visits):,} visits, {len(relapses):,} relapses")
    t = time.perf_counter()
    neda_msprog.MSprog(visits.head(50), "id", "edss", "date", "edss", relapse=relapses,
                       verbose=0)
    print(f"neda first call (kernel compile or cache load): {time.perf_counter() - t:.2f} s\n")
    rows = []
    for name, kw in OPTION_SETS.items():
        args = dict(subj_col="id", value_col="edss", date_col="date", outcome="edss",
                    relapse=relapses, verbose=0, include_dates=True, include_value=True, **kw)
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            ref = pymsprog.MSprog(visits, **args)
        t_ref = time.perf_counter() - t
        ours = neda_msprog.MSprog(visits, **args)
        for a, b in zip(ref, ours, strict=True):
            pd.testing.assert_frame_equal(a, b)
        t_neda = _best_of(lambda args=args: neda_msprog.MSprog(visits, **args), repeat)
        rows.append({"subjects": subjects, "options": name, "pymsprog_s": t_ref,
                     "neda_s": t_neda, "pymsprog_subj_per_s": subjects / t_ref,
                     "neda_subj_per_s": subjects / t_neda, "ratio": t_ref / t_neda})
        print(f"{name:40s} pymsprog {t_ref:8.2f} s ({subjects / t_ref:8.0f} subj/s)   "
              f"neda {t_neda:7.4f} s ({subjects / t_neda:9.0f} subj/s)   "
              f"x{t_ref / t_neda:7.0f}   (results identical)")
    print()
    return rows


def print_ratios(rows: list[dict[str, float | str]]) -> None:
    print("ratio pymsprog / neda (same run, same cohort, results identical):")
    for r in rows:
        print(f"  {r['subjects']:>7,} subjects  {r['options']:40s} "
              f"{r['pymsprog_s']:8.2f} s / {r['neda_s']:.4f} s = x{r['ratio']:.0f}")


def registry_child(patients: int, workdir: str) -> None:
    """Runs in a fresh process so peak memory is the pipeline's own."""
    import resource

    from neda.course import confirmed_events
    from neda.io import read_relapses, read_visits

    vpath = Path(workdir) / "visits.csv"
    rpath = Path(workdir) / "relapses.csv"
    # warm the compiled kernel on a tiny input so compile/cache time is not counted
    confirmed_events(read_visits(vpath).head(100), None)
    t = time.perf_counter()
    vis = read_visits(vpath)
    rel = read_relapses(rpath, visits=vis)
    t_read = time.perf_counter() - t
    res = confirmed_events(vis, rel, subject="subject", date="date")
    t_total = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    print(json.dumps({"visits": len(vis), "subjects": int(vis.subject.nunique()),
                      "relapses": len(rel), "events": len(res.events),
                      "read_s": t_read, "total_s": t_total, "peak_gib": peak}))


def registry(patients: int) -> dict[str, float]:
    from neda.demo import write_demo_cohort

    with tempfile.TemporaryDirectory() as tmp:
        write_demo_cohort(Path(tmp), patients, seed=7)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(patients), tmp],
            check=True, capture_output=True, text=True, env=dict(os.environ),
        ).stdout.strip().splitlines()[-1]
    r = json.loads(out)
    print(f"\nregistry: {r['visits']:,} visits, {r['subjects']:,} subjects, "
          f"{r['relapses']:,} relapses -> {r['events']:,} events (native API, mueller2023)")
    print(f"  CSV read + validation {r['read_s']:.2f} s; total {r['total_s']:.2f} s; "
          f"peak memory {r['peak_gib']:.2f} GiB")
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--subjects", type=int, nargs="+", default=[1000, 10_000],
                   help="cohort sizes to compare (default: 1000 10000)")
    p.add_argument("--repeat", type=int, default=7, help="neda calls per timing (best of)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads of neda's compiled kernels (default: numba's, one per core)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--registry", action="store_true", help="also the 1M-visit native run")
    p.add_argument("--registry-patients", type=int, default=60_000)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        registry_child(int(a.child[0]), a.child[1])
        return
    import numba

    if a.threads is not None:
        numba.set_num_threads(a.threads)
    print(f"neda kernel threads: {numba.get_num_threads()} (cores: {os.cpu_count()}); "
          f"load average at start: {os.getloadavg()[0]:.1f}")
    rows = [row for n in a.subjects for row in compare(n, a.seed, a.repeat)]
    print_ratios(rows)
    if a.registry:
        registry(a.registry_patients)


if __name__ == "__main__":
    main()
