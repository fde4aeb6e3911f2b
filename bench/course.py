"""Time the whole patient course: a registry-sized cohort stage by stage, and one patient.

    python bench/course.py                  # 60,000 patients (~1,000,000 visits)
    python bench/course.py --patients 5000
    python bench/course.py --one-patient    # only the clinic's path: one patient, warm
    python bench/course.py --one-patient --subject 71

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


def one_patient(tables: Any, repeat: int = 50, subject: Any = None) -> dict[str, Any]:
    """Warm latency of one patient's whole course (the clinic screen's call): wall and CPU
    time, best and median of ``repeat`` calls. ``subject`` [:func:`plain_patient`]."""
    if subject is None:
        subject = plain_patient(tables)
    one = {k: (None if getattr(tables, k) is None else
               getattr(tables, k)[getattr(tables, k)["subject"] == subject])
           for k in ("visits", "relapses", "mri", "treatments", "pros")}
    if not len(one["visits"]):
        raise SystemExit(f"no patient {subject!r} in the synthetic registry")
    course_summary(**one).patient(subject)  # warm-up: imports, compiled kernels
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        course_summary(**one).patient(subject).to_dict()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"subject": subject, "rows": ", ".join(f"{len(v)} {k}" for k, v in one.items()
                                                  if v is not None),
            "best_ms": 1000 * min(times), "median_ms": 1000 * statistics.median(times),
            "cpu_best_ms": 1000 * min(cpu), "cpu_median_ms": 1000 * statistics.median(cpu)}


def plain_patient(tables: Any) -> Any:
    """A patient with the median number of visits and neither relapse nor DMT records (the
    smallest identifier among them; 106 at seed 3). Chosen by count and identifier, not by
    the order pandas' value_counts leaves ties in, which differs between pandas versions."""
    counts = tables.visits["subject"].value_counts()
    median = int(sorted(counts.to_numpy())[len(counts) // 2])
    others = set(tables.relapses["subject"]) | set(tables.treatments["subject"])
    plain = sorted(s for s, n in counts.items() if n == median and s not in others)
    return plain[0] if plain else min(s for s, n in counts.items() if n == median)


def clinic_patient(tables: Any) -> Any:
    """A typical clinic patient with relapses and therapy: of the patients with at least two
    relapse records and a DMT record, the one with the median number of visits (ties by
    identifier)."""
    rel = tables.relapses["subject"].value_counts()
    treated = set(tables.treatments["subject"])
    visits = tables.visits["subject"].value_counts()
    pick = sorted((int(visits[s]), s) for s in rel.index[rel.to_numpy() >= 2]
                  if s in treated and s in visits.index)
    return pick[len(pick) // 2][1]


def _report(label: str, r: dict[str, Any]) -> None:
    print(f"{label} {r['subject']!r} ({r['rows']}), course_summary(...).patient(id).to_dict()"
          f": best {r['best_ms']:.1f} ms, median {r['median_ms']:.1f} ms wall; CPU best "
          f"{r['cpu_best_ms']:.1f} ms, median {r['cpu_median_ms']:.1f} ms (warm)", flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--patients", type=int, default=60_000)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--one-patient", action="store_true",
                   help="only time one patient's course (registry of 200 patients): a "
                        "median-visits patient without relapses or DMT, and a typical patient "
                        "with relapses and a DMT")
    p.add_argument("--subject", type=int, default=None,
                   help="with --one-patient: time this patient instead")
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
        if a.subject is not None:
            _report("patient", one_patient(tables, subject=a.subject))
            return
        _report("one patient (median visits, no relapse or DMT)", one_patient(tables))
        _report("clinic patient with relapses and a DMT",
                one_patient(tables, subject=clinic_patient(tables)))
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
    _report("one patient (median visits, no relapse or DMT)", one_patient(tables, repeat=30))


if __name__ == "__main__":
    main()
