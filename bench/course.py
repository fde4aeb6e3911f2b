"""Time the whole patient course on a registry-sized synthetic cohort, stage by stage.

    python bench/course.py                  # 60,000 patients (~1,000,000 visits)
    python bench/course.py --patients 5000

No open peer computes the whole course (pymsprog covers the worsening engine, compared in
bench/engine.py; msclinical's NEDA, epochs and relapse hygiene are compared for agreement in the
tests), so this benchmark reports throughput, not a ratio.
"""

from __future__ import annotations

import argparse
import time

from neda.course import confirmed_events
from neda.demo import demo_registry
from neda.rules.arr import annualised_relapse_rate
from neda.rules.dmt import treatment_epochs
from neda.rules.neda import neda_status
from neda.rules.phenotype import lublin_descriptors, objective_spms
from neda.rules.pro import score_pros
from neda.rules.relapses import relapse_hygiene
from neda.summary import course_summary


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--patients", type=int, default=60_000)
    p.add_argument("--seed", type=int, default=3)
    a = p.parse_args()
    t = time.perf_counter()
    reg = demo_registry(a.patients, seed=a.seed)
    print(f"synthetic registry: {a.patients:,} patients, "
          + ", ".join(f"{len(v):,} {k}" for k, v in reg.items())
          + f" (generated in {time.perf_counter() - t:.1f} s)")
    vis, rel, mri, tr, pros = (reg[k].rename(columns={"id": "subject"})
                               for k in ("visits", "relapses", "mri", "treatments", "pros"))
    stages = {}

    def stage(name, fn):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = fn()
        stages[name] = time.perf_counter() - t0
        print(f"  {name:42s} {stages[name]:6.2f} s")
        return out

    hyg = stage("relapse hygiene", lambda: relapse_hygiene(rel, visits=vis))
    clean = hyg.relapses[["subject", "onset_start", "onset_end"]].rename(
        columns={"onset_start": "date", "onset_end": "date_end"})
    stage("confirmed worsening (engine, with PIRMA)", lambda: confirmed_events(vis, clean,
                                                                               mri=mri))
    epochs = stage("treatment epochs", lambda: treatment_epochs(tr))
    first = vis.groupby("subject")["date"].agg(["min", "max"]).reset_index()
    first.columns = ["subject", "start", "end"]
    stage("annualised relapse rates", lambda: annualised_relapse_rate(clean, first, epochs))
    stage("NEDA-3/4 per epoch and year", lambda: neda_status(vis, clean, mri, epochs))
    stage("Lublin descriptors", lambda: lublin_descriptors(vis, rel, mri))
    stage("objective SPMS", lambda: objective_spms(vis, rel))
    stage("PRO scores", lambda: score_pros(pros))
    total = stage("course_summary (all of the above, joined)",
                  lambda: course_summary(vis, rel, mri, tr, pros))
    print(f"course_summary: {len(total.patients):,} patients in "
          f"{stages['course_summary (all of the above, joined)']:.1f} s")


if __name__ == "__main__":
    main()
