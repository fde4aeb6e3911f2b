"""Time the whole course of a registry on a Dask cluster, read from a Parquet dataset.

    python bench/cohort.py                      # 5,000,000 visits, 2-worker LocalCluster
    python bench/cohort.py --visits 200000      # a smaller registry
    python bench/cohort.py --generate-only      # only write the Parquet dataset (cached)
    python bench/cohort.py --pros               # with the PRO item answers (~15 per visit)

The synthetic registry (``neda.demo.demo_registry``, generated in chunks of 25,000 patients
with their own seeds and identifiers, until the visits reach ``--visits``) is written once
under ``build/registry-<visits>/``: one folder per table, each chunk's rows split at random
between two files, so that most patients' rows arrive in two input files (the partitioning
must bring them together). Later runs reuse it.

Then ``neda.cohort.course_summary_dask`` runs on a ``LocalCluster`` (2 worker processes,
1 thread each, 4 GiB memory limit each): read and validate every table through neda.io,
partition patients by a hash of their identifier, run ``course_summary`` per partition; the
workers write the cohort tables as a partitioned Parquet dataset (``build/registry-*/course``;
``--gather`` gathers them into this process instead). The time is wall time from the paths
to the written (or gathered) result, with the workers' CPU seconds beside it (the machine
is shared); the peak memory of each worker process (resident set size, its own and its
children's) is sampled every 0.2 s with psutil. No peer runs a course on a cluster; the
in-memory ``course_summary`` on the same data can run after it (``--in-memory``) where it
fits in this machine's memory.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CHUNK = 25_000
TABLES = ("visits", "relapses", "treatments", "mri", "labs", "pros")


def generate(folder: Path, visits: int, seed: int = 3) -> dict[str, int]:
    """Write the registry as a Parquet dataset (one folder per table); row counts."""
    from neda.demo import demo_registry

    done = folder / "_complete"
    if done.exists():
        return {k: int(v) for k, v in (line.split() for line in done.read_text().split("\n")
                                      if line)}
    counts = dict.fromkeys(TABLES, 0)
    counts["patients"] = 0
    chunk = 0
    t0 = time.perf_counter()
    while counts["visits"] < visits:
        reg = demo_registry(CHUNK, seed=seed + chunk)
        rng = np.random.default_rng(seed + 7919 * (chunk + 1))
        for name in TABLES:
            table = reg[name].copy()
            table["id"] = table["id"] + chunk * CHUNK  # identifiers unique across chunks
            half = rng.random(len(table)) < 0.5
            (folder / name).mkdir(parents=True, exist_ok=True)
            for part, rows in enumerate((half, ~half)):
                table[rows].reset_index(drop=True).to_parquet(
                    folder / name / f"part-{chunk:03d}-{part}.parquet", index=False)
            counts[name] += len(table)
        counts["patients"] += CHUNK
        chunk += 1
        print(f"  chunk {chunk}: {counts['patients']:,} patients, {counts['visits']:,} visits "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    done.write_text("".join(f"{k} {v}\n" for k, v in counts.items()))
    return counts


class PeakMemory:
    """Peak resident memory of each worker process (with its children), sampled."""

    def __init__(self, pids: dict[str, int], every: float = 0.2) -> None:
        import psutil

        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = dict.fromkeys(pids, 0)
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self, proc: Any) -> int:
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            # a child that ended between the listing and the reading
            with contextlib.suppress(Exception):
                total += child.memory_info().rss
        return int(total)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, proc in self.procs.items():
                with contextlib.suppress(Exception):  # a worker restarted: keep what was seen
                    self.peak[name] = max(self.peak[name], self._rss(proc))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--visits", type=int, default=5_000_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="4GiB")
    p.add_argument("--partitions", type=int, default=None)
    p.add_argument("--pros", action="store_true", help="include the PRO item answers")
    p.add_argument("--generate-only", action="store_true")
    p.add_argument("--gather", action="store_true",
                   help="gather the summary into this process instead of writing it")
    p.add_argument("--in-memory", action="store_true",
                   help="also run the in-memory course_summary and compare")
    a = p.parse_args()
    folder = Path("build") / f"registry-{a.visits}"
    t = time.perf_counter()
    counts = generate(folder, a.visits)
    print(f"registry in {folder}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
          + f" ({time.perf_counter() - t:.0f} s to generate or find)")
    if a.generate_only:
        return

    from distributed import Client, LocalCluster

    from neda.cohort import course_summary_dask

    tables = {k: folder / k for k in TABLES if k != "pros" or a.pros}
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                      memory_limit=a.memory_limit, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        pids = {str(k): v for k, v in client.run(os.getpid).items()}
        # compile (or load from numba's cache) the kernels in each worker before timing
        client.run(_warm_up)
        out = folder / "course"
        if out.exists():
            shutil.rmtree(out)
        cpu0 = sum(client.run(_cpu_seconds).values())
        with PeakMemory(pids) as peak:
            t0 = time.perf_counter()
            result = course_summary_dask(**tables, client=client, partitions=a.partitions,
                                         output=None if a.gather else out, progress=False)
            elapsed = time.perf_counter() - t0
        cpu = sum(client.run(_cpu_seconds).values()) - cpu0
        restarted = {str(k): v for k, v in client.run(os.getpid).items()} != pids
    gib = {k: v / 1024**3 for k, v in peak.peak.items()}
    if isinstance(result, Path):
        patients = pd.read_parquet(result / "patients", columns=["subject"])
        events = len(pd.read_parquet(result / "events", columns=["subject"]))
        what = f"{len(patients):,} patients, {events:,} events written to {result}"
    else:
        what = f"{len(result.patients):,} patients, {len(result.events):,} events gathered"
    print(f"course_summary on Dask ({a.workers} workers, {a.partitions or 4 * a.workers} "
          f"partitions): {what} in {elapsed:.1f} s wall, {cpu:.0f} s CPU in the workers; "
          "peak memory per worker: " + ", ".join(f"{v:.2f} GiB" for v in gib.values())
          + (" (a worker was restarted)" if restarted else ""), flush=True)
    if a.in_memory:
        from neda import course_summary

        t0 = time.perf_counter()
        ref = course_summary(**{k: str(v) for k, v in tables.items()})
        t_ref = time.perf_counter() - t0
        got = (pd.read_parquet(result / "patients") if isinstance(result, Path)
               else result.patients)
        got = got.sort_values("subject", kind="stable").reset_index(drop=True)
        assert got["subject"].tolist() == ref.patients["subject"].tolist()
        print(f"in-memory course_summary: {t_ref:.1f} s (results identical); "
              f"ratio {t_ref / elapsed:.2f}")


def _cpu_seconds() -> float:
    import psutil

    t = psutil.Process().cpu_times()
    return float(t.user + t.system)


def _warm_up() -> None:
    from neda import course_summary
    from neda.demo import demo_registry

    reg = demo_registry(20, seed=1)
    course_summary(reg["visits"].rename(columns={"id": "subject"}))


if __name__ == "__main__":
    main()
