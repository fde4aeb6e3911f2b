"""Time the whole patient course: a registry-sized cohort stage by stage, and one patient.

    python bench/course.py                  # 60,000 patients (~1,000,000 visits)
    python bench/course.py --patients 5000
    python bench/course.py --one-patient    # only the clinic's path: one patient, warm

The cohort run reads the tables once through ``neda.io.read_tables`` (timed), then runs
``course_summary``'s stages on the validated tables, each timed, then the whole
``course_summary``. The one-patient run times ``course_summary(...).patient(id)`` on one
patient's validated tables, after a warm-up call, best of many; that is what a clinic screen
calls.

No open peer computes the whole course (pymsprog covers the worsening engine, compared in
bench/engine.py; msclinical's NEDA, epochs and relapse hygiene are compared for agreement in
the tests), so this benchmark reports throughput and latency, not a ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from neda.course import confirmed_events
from neda.demo import demo_registry
from neda.io import read_tables
from neda.rules.arr import annualised_relapse_rate
from neda.rules.dmt import treatment_epochs
from neda.rules.neda import neda_status
from neda.rules.phenotype import lublin_descriptors, objective_spms
from neda.rules.pro import score_pros
from neda.rules.relapses import relapse_hygiene, relapse_recovery
from neda.summary import course_summary


def one_patient(tables: Any, repeat: int = 50) -> dict[str, float]:
    """Warm latency of one patient's whole course (the clinic screen's call)."""
    vis = tables.visits
    counts = vis["subject"].value_counts()
    # a typical patient: median number of visits, with relapses, scans and therapy
    subject = counts.index[len(counts) // 2]
    one = {k: (None if getattr(tables, k) is None else
               getattr(tables, k)[getattr(tables, k)["subject"] == subject])
           for k in ("visits", "relapses", "mri", "treatments", "pros")}
    course_summary(**one).patient(subject)  # warm-up: imports, compiled kernels
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        course_summary(**one).patient(subject).to_dict()
        times.append(time.perf_counter() - t0)
    return {"subject_visits": float(len(one["visits"])), "best_ms": 1000 * min(times),
            "median_ms": 1000 * statistics.median(times)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--patients", type=int, default=60_000)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--one-patient", action="store_true",
                   help="only time one patient's course (registry of 200 patients)")
    a = p.parse_args()
    t = time.perf_counter()
    reg = demo_registry(200 if a.one_patient else a.patients, seed=a.seed)
    print(f"synthetic registry: {200 if a.one_patient else a.patients:,} patients, "
          + ", ".join(f"{len(v):,} {k}" for k, v in reg.items())
          + f" (generated in {time.perf_counter() - t:.1f} s)")
    stages: dict[str, float] = {}

    def stage(name: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        out = fn()
        stages[name] = time.perf_counter() - t0
        print(f"  {name:46s} {stages[name]:6.2f} s", flush=True)
        return out

    tables = stage("read and validate every table (neda.io)", lambda: read_tables(**reg))
    if a.one_patient:
        r = one_patient(tables)
        print(f"one patient ({r['subject_visits']:.0f} visits), course_summary(...).patient(id)"
              f": best {r['best_ms']:.1f} ms, median {r['median_ms']:.1f} ms (warm)")
        return
    vis, rel, mri, tr, pros = (tables.visits, tables.relapses, tables.mri, tables.treatments,
                               tables.pros)
    hyg = stage("relapse hygiene", lambda: relapse_hygiene(rel, visits=vis))
    stage("relapse recovery", lambda: relapse_recovery(hyg, vis))
    stage("confirmed worsening (engine, with PIRMA)",
          lambda: confirmed_events(vis, hyg, mri=mri))
    epochs = stage("treatment epochs", lambda: treatment_epochs(tr))
    first = vis.groupby("subject")["date"].agg(["min", "max"]).reset_index()
    first.columns = ["subject", "start", "end"]
    stage("annualised relapse rates", lambda: annualised_relapse_rate(hyg, first, epochs))
    stage("NEDA-3/4 per epoch and year", lambda: neda_status(vis, hyg, mri, epochs))
    stage("Lublin descriptors", lambda: lublin_descriptors(vis, hyg, mri))
    stage("objective SPMS", lambda: objective_spms(vis, hyg))
    stage("PRO scores", lambda: score_pros(pros))
    name = "course_summary on the validated tables"
    total = stage(name, lambda: course_summary(vis, rel, mri, tr, pros))
    print(f"course_summary: {len(total.patients):,} patients in {stages[name]:.1f} s "
          f"(+ {stages['read and validate every table (neda.io)']:.1f} s reading the tables)")
    r = one_patient(tables, repeat=30)
    print(f"one patient ({r['subject_visits']:.0f} visits), course_summary(...).patient(id): "
          f"best {r['best_ms']:.1f} ms, median {r['median_ms']:.1f} ms (warm)")


if __name__ == "__main__":
    main()
