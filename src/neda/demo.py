"""A synthetic MS cohort that looks like routine clinic data, for demos, tests and benchmarks.

Nothing here is fitted to real patients; the shapes are chosen so that the course engine meets the
situations it must handle: EDSS on its 20-step scale with most patients at 0-4, irregular visits
with follow-up gaps, relapses with a temporary EDSS rise and partial recovery (residual deficit),
slow relapse-independent progression in a subset (PIRA-like steps), occasional rater noise of one
half step, and timed tests / SDMT with missing values. Everything is vectorised with numpy, so a
registry-sized cohort (60,000 patients, ~1,000,000 visits) is generated in a few seconds, and a
seed gives the same cohort on every machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

#: Share of patients at each baseline EDSS (0, 1.0, 1.5, ... 6.5): most between 0 and 4.
_BASELINE_EDSS = np.array([0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5])
_BASELINE_SHARE = np.array(
    [0.08, 0.12, 0.14, 0.16, 0.11, 0.10, 0.08, 0.06, 0.04, 0.03, 0.03, 0.03, 0.02]
)
#: EDSS rise at a relapse (0 happens: a relapse without EDSS change is still a relapse).
_RELAPSE_RISE = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
_RELAPSE_RISE_SHARE = np.array([0.14, 0.22, 0.26, 0.16, 0.11, 0.07, 0.04])

#: The synthetic registry's data cut-off (its extract date): no record is dated later.
DEMO_CUTOFF = "2026-06-30"

_DAY_KEY = 1 << 20  # composite sort key: patient * _DAY_KEY + (day + _DAY_SHIFT)
_DAY_SHIFT = 2_000  # relapses may precede the first visit by up to a year


def demo_cohort(
    patients: int, seed: int = 0, start: str = "2015-01-01", cutoff: str = DEMO_CUTOFF
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate ``(visits, relapses)`` for ``patients`` synthetic patients.

    ``visits`` has columns ``id`` (int64, 1..patients), ``date`` (datetime64[ns]), ``edss``,
    ``nhpt``, ``t25fw`` (seconds), ``sdmt`` (correct answers) and ``fs_pyramidal`` (pyramidal
    functional-system grade), all float64 with NaN where a test was not done (EDSS is never
    missing). ``relapses`` has ``id`` and ``date`` (onset). Both are
    sorted by id and date. First visits fall in the three years after ``start``, unless that
    would put a visit after ``cutoff`` (the extract date): such a patient's whole course is
    moved earlier.
    """
    if patients < 1:
        raise ValueError("patients must be at least 1")
    rng = np.random.default_rng(seed)
    n = patients

    # --- Visit schedule: each patient has a usual spacing of 3-12 months, jittered. ---
    n_visits = np.clip(np.round(rng.lognormal(np.log(14.0), 0.55, n)), 3, 30).astype(np.int64)
    usual_gap = rng.uniform(91, 365, n)
    first_day = rng.integers(0, 3 * 365, n)
    pid = np.repeat(np.arange(n), n_visits)
    first_row = np.concatenate([[0], np.cumsum(n_visits)[:-1]])
    gaps = np.maximum(rng.gamma(8.0, usual_gap[pid] / 8.0), 28.0)
    lost = rng.random(pid.size) < 0.03  # a follow-up gap of one to three years
    gaps = gaps + lost * rng.uniform(365, 1095, pid.size)
    gaps[first_row] = 0.0
    elapsed = np.cumsum(gaps)
    day = np.round(elapsed - elapsed[first_row][pid]).astype(np.int64) + first_day[pid]
    last_day = day[first_row + n_visits - 1]

    # --- Relapses: Poisson, mean 0.3 a year, some patients far more active than others. ---
    rate = 0.3 * rng.gamma(1.2, 1 / 1.2, n) / 365.25
    window_start = first_day - 365
    counts = rng.poisson(rate * (last_day - window_start))
    rpid = np.repeat(np.arange(n), counts)
    rday = np.round(
        window_start[rpid] + rng.random(rpid.size) * (last_day - window_start)[rpid]
    ).astype(np.int64)
    order = np.lexsort((rday, rpid))
    rpid, rday = rpid[order], rday[order]
    # Onsets less than 30 days apart are one relapse (clinical rules §3.1): keep the first.
    separate = np.ones(rpid.size, dtype=bool)
    separate[1:] = (rpid[1:] != rpid[:-1]) | (rday[1:] - rday[:-1] >= 30)
    rpid, rday = rpid[separate], rday[separate]
    rise = rng.choice(_RELAPSE_RISE, rpid.size, p=_RELAPSE_RISE_SHARE)
    # Residual deficit: about 4 in 10 relapses leave at least half a step behind.
    residual = np.floor(rise * rng.beta(0.7, 2.2, rpid.size) * 2 + 0.25) / 2
    transient = rise - residual
    recovery_days = rng.uniform(30, 100, rpid.size)

    # Unscheduled visits shortly after about 60 % of relapses that fall in follow-up.
    seen = (rng.random(rpid.size) < 0.6) & (rday >= first_day[rpid]) & (rday <= last_day[rpid])
    # ...but no patient gets more than 30 visits in all.
    seen_rank = np.cumsum(seen) - 1
    first_seen = np.searchsorted(rpid, np.arange(n), side="left")
    before_patient = np.where(first_seen > 0, np.cumsum(seen)[np.maximum(first_seen - 1, 0)], 0)
    seen &= seen_rank - before_patient[rpid] < 30 - n_visits[rpid]
    extra_pid = rpid[seen]
    extra_day = rday[seen] + rng.integers(3, 35, extra_pid.size)
    vpid = np.concatenate([pid, extra_pid])
    vday = np.concatenate([day, extra_day])
    unscheduled = np.concatenate([np.zeros(pid.size, bool), np.ones(extra_pid.size, bool)])
    order = np.lexsort((vday, vpid))
    vpid, vday, unscheduled = vpid[order], vday[order], unscheduled[order]
    distinct = np.ones(vpid.size, dtype=bool)
    distinct[1:] = (vpid[1:] != vpid[:-1]) | (vday[1:] != vday[:-1])
    vpid, vday, unscheduled = vpid[distinct], vday[distinct], unscheduled[distinct]
    vkey = vpid * _DAY_KEY + vday + _DAY_SHIFT
    patient_key = vpid * _DAY_KEY

    # --- Disability: baseline + PIRA-like steps + relapse residuals + recovering relapse rise. ---
    baseline = rng.choice(_BASELINE_EDSS, n, p=_BASELINE_SHARE)
    progressing = rng.random(n) < np.where(baseline >= 4.0, 0.45, 0.2)
    step_counts = rng.poisson(progressing * 0.2 * (last_day - first_day) / 365.25)
    spid = np.repeat(np.arange(n), step_counts)
    sday = np.round(first_day[spid] + rng.random(spid.size) * (last_day - first_day)[spid]).astype(
        np.int64
    )
    ssize = np.where(rng.random(spid.size) < 0.7, 0.5, 1.0)
    steps = _sum_up_to(spid * _DAY_KEY + sday + _DAY_SHIFT, ssize, vkey, patient_key)
    rkey = rpid * _DAY_KEY + rday + _DAY_SHIFT
    residuals = _sum_up_to(rkey, residual, vkey, patient_key)

    acute = np.zeros(vpid.size)
    if rkey.size:  # the rise of the latest relapse, fading with that relapse's recovery time
        latest = np.searchsorted(rkey, vkey, side="right") - 1
        has_relapse = latest >= np.searchsorted(rkey, patient_key, side="left")
        latest = np.where(has_relapse, latest, 0)
        since = vday - rday[latest]
        acute = np.where(
            has_relapse, transient[latest] * np.exp(-since / recovery_days[latest]), 0.0
        )

    level = np.minimum(baseline[vpid] + steps + residuals, 9.5)  # multiples of 0.5
    disability = np.minimum(level + np.round(acute * 2) / 2, 9.5)
    noise = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], vpid.size, p=[0.01, 0.07, 0.84, 0.07, 0.01])
    edss = np.clip(disability + noise, 0.0, 9.5)
    # 0.5 is not an EDSS step: a rater either finds no sign (0) or a minimal one (1.0).
    half = edss == 0.5
    edss[half] = np.where(rng.random(half.sum()) < 0.5, 0.0, 1.0)
    latent = disability + rng.normal(0, 0.25, vpid.size)

    # --- Timed tests and SDMT, worse with disability, each with its own gaps. ---
    years = (vday - first_day[vpid]) / 365.25
    walk = (
        rng.lognormal(np.log(4.8), 0.15, n)[vpid]
        * np.exp(0.06 * latent + 0.08 * np.maximum(latent - 4.0, 0.0) ** 2)
        * rng.lognormal(0.0, 0.08, vpid.size)
    )
    hand = (
        rng.lognormal(np.log(19.5), 0.12, n)[vpid]
        * np.exp(0.045 * latent)
        * rng.lognormal(0.0, 0.07, vpid.size)
    )
    declining = rng.random(n) < 0.3
    sdmt = (
        rng.normal(55.0, 9.0, n)[vpid]
        - np.where(declining[vpid], 0.9, 0.15) * years
        - 1.2 * np.maximum(latent - baseline[vpid], 0.0)
        + rng.normal(0.0, 3.0, vpid.size)
    )
    skip = np.where(unscheduled, 0.5, 0.0)
    walk = np.where((rng.random(vpid.size) < 0.12 + skip) | (disability >= 7.0), np.nan, walk)
    hand = np.where(rng.random(vpid.size) < 0.15 + skip, np.nan, hand)
    no_sdmt = rng.random(n) < 0.1
    sdmt = np.where((rng.random(vpid.size) < 0.25 + skip) | no_sdmt[vpid], np.nan, sdmt)

    # Pyramidal functional system grade (0-6), in step with the EDSS; rated at ~70 % of visits.
    pyramidal = np.digitize(edss, [1.5, 2.5, 4.0, 6.0, 7.5, 9.0]).astype(float)
    pyramidal = np.clip(pyramidal + rng.choice([-1, 0, 0, 0, 1], vpid.size), 0, 6)
    pyramidal[edss == 0] = 0
    pyramidal[rng.random(vpid.size) < 0.3] = np.nan

    origin = np.datetime64(start, "D")
    # A registry extract ends at its data cut-off: a patient followed past it is moved earlier.
    last_seen = np.zeros(n, np.int64)
    np.maximum.at(last_seen, vpid, vday)
    overrun = np.maximum(last_seen - (np.datetime64(cutoff, "D") - origin).astype(np.int64), 0)
    vday = vday - overrun[vpid]
    rday = rday - overrun[rpid]
    visits = pd.DataFrame(
        {
            "id": (vpid + 1).astype(np.int64),
            "date": (origin + vday).astype("datetime64[ns]"),
            "edss": edss,
            "nhpt": np.round(hand, 1),
            "t25fw": np.round(walk, 1),
            "sdmt": np.clip(np.round(sdmt), 0, 110),
            "fs_pyramidal": pyramidal,
        }
    )
    relapses = pd.DataFrame(
        {
            "id": (rpid + 1).astype(np.int64),
            "date": (origin + rday).astype("datetime64[ns]"),
        }
    )
    return visits, relapses


def _sum_up_to(
    event_key: np.ndarray, size: np.ndarray, visit_key: np.ndarray, patient_key: np.ndarray
) -> np.ndarray:
    """Per visit, the sum of its patient's event sizes dated on or before the visit.

    Keys are patient * _DAY_KEY + shifted day, so one sorted search handles all patients at once.
    """
    order = np.argsort(event_key, kind="stable")
    event_key, size = event_key[order], size[order]
    total = np.concatenate([[0.0], np.cumsum(size)])
    upto = np.searchsorted(event_key, visit_key, side="right")
    before_patient = np.searchsorted(event_key, patient_key, side="left")
    return np.asarray(total[upto] - total[before_patient], dtype=np.float64)


def write_demo_cohort(
    out_dir: str | os.PathLike[str], patients: int, seed: int = 0, start: str = "2015-01-01"
) -> tuple[Path, Path]:
    """Write ``visits.csv`` and ``relapses.csv`` (ISO dates, empty cells for tests not done) into
    ``out_dir``, creating it if needed, and return their paths."""
    visits, relapses = demo_cohort(patients, seed=seed, start=start)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    visits_path, relapses_path = out / "visits.csv", out / "relapses.csv"
    pl.DataFrame(
        {
            "id": visits["id"].to_numpy(),
            "date": visits["date"].to_numpy().astype("datetime64[D]"),
            "edss": visits["edss"].to_numpy(),
            "nhpt": pl.Series(visits["nhpt"].to_numpy()).fill_nan(None),
            "t25fw": pl.Series(visits["t25fw"].to_numpy()).fill_nan(None),
            "sdmt": pl.Series(visits["sdmt"].to_numpy()).fill_nan(None).cast(pl.Int64),
            "fs_pyramidal": pl.Series(visits["fs_pyramidal"].to_numpy()).fill_nan(None)
            .cast(pl.Int64),
        }
    ).write_csv(visits_path)
    pl.DataFrame(
        {
            "id": relapses["id"].to_numpy(),
            "date": relapses["date"].to_numpy().astype("datetime64[D]"),
        }
    ).write_csv(relapses_path)
    return visits_path, relapses_path


# --------------------------------------------------------------------------------------------
# The rest of a registry record: DMT courses, MRI scans and patient-reported outcomes.

#: First-line choices (platform and moderate efficacy) and escalation choices (high efficacy).
_FIRST_LINE = np.array(["interferon beta-1a", "glatiramer acetate", "dimethyl fumarate",
                        "teriflunomide", "ocrelizumab", "natalizumab", "ofatumumab"])
_FIRST_LINE_SHARE = np.array([0.18, 0.17, 0.2, 0.12, 0.15, 0.08, 0.1])
_ESCALATION = np.array(["ocrelizumab", "natalizumab", "ofatumumab", "cladribine",
                        "alemtuzumab", "fingolimod"])
_ESCALATION_SHARE = np.array([0.3, 0.2, 0.2, 0.12, 0.06, 0.12])
_HIGH_EFFICACY = {"ocrelizumab", "natalizumab", "ofatumumab", "cladribine", "alemtuzumab"}
#: Items per instrument and the answer range (rules §7.2-7.5).
_PRO_ITEMS = {"MFIS": (21, 0, 4), "FSS": (9, 1, 7), "MSWS-12v1": (12, 1, 5),
              "MSIS-29v1": (29, 1, 5)}


def demo_registry(
    patients: int, seed: int = 0, start: str = "2015-01-01", cutoff: str = DEMO_CUTOFF
) -> dict[str, pd.DataFrame]:
    """A whole synthetic registry: ``visits``, ``relapses``, ``treatments``, ``mri``, ``pros``,
    ``labs``.

    ``visits`` and ``relapses`` are :func:`demo_cohort`'s; the other tables follow
    ``docs/data-model.md``. Most patients start a DMT within the first year; a relapse on a
    first-line drug often leads to escalation to a high-efficacy drug. Scans come about once a
    year (a re-baseline scan about six months after each start), with new T2 and enhancing
    lesions more likely around relapses and off high-efficacy treatment; PROs (MFIS, FSS,
    MSWS-12, MSIS-29) are answered at about a third of visits and track disability. The
    simulated relapse rate does not depend on treatment: treatment effects are not modelled.
    Safety labs follow the catalogue's schedule of each drug (rules §14.4) with some delay, and
    some patients stop having them, so that labs fall due.
    """
    visits, relapses = demo_cohort(patients, seed=seed, start=start, cutoff=cutoff)
    rng = np.random.default_rng(seed + 1_000_003)
    first = visits.groupby("id")["date"].min()
    last = visits.groupby("id")["date"].max()
    ids = first.index.to_numpy()
    cut = np.datetime64(cutoff, "D")

    # relapses become richer records: a few pseudo-relapses and objective confirmation
    relapses = relapses.copy()
    relapses["pseudo"] = rng.random(len(relapses)) < 0.05
    relapses["objective"] = rng.random(len(relapses)) < 0.8
    relapses["steroids"] = rng.random(len(relapses)) < 0.5

    # ---- DMT courses ----
    rows = []
    rel_by_id = relapses[~relapses.pseudo].groupby("id")["date"].apply(list).to_dict()
    for pid, f, lv in zip(ids, first.to_numpy(), last.to_numpy(), strict=True):
        if rng.random() > 0.85:
            continue  # never treated
        s = f + np.timedelta64(int(rng.integers(0, 400)), "D")
        if s >= lv:
            continue
        drug = str(rng.choice(_FIRST_LINE, p=_FIRST_LINE_SHARE))
        for _ in range(3):
            later = [r for r in rel_by_id.get(pid, []) if r > s + np.timedelta64(180, "D")]
            switch = None
            if later and drug not in _HIGH_EFFICACY and rng.random() < 0.6:
                switch = later[0] + np.timedelta64(int(rng.integers(30, 120)), "D")
            if switch is None or switch >= lv:
                stop = pd.NaT if rng.random() < 0.8 else lv
                rows.append((pid, drug, s, stop, "" if pd.isna(stop) else "patient_choice"))
                break
            rows.append((pid, drug, s, switch - np.timedelta64(1, "D"), "inefficacy"))
            s, drug = switch, str(rng.choice(_ESCALATION, p=_ESCALATION_SHARE))
    treatments = pd.DataFrame(rows, columns=["id", "drug", "start", "stop", "stop_reason"])
    if len(treatments):
        treatments["start"] = pd.to_datetime(treatments["start"])
        treatments["stop"] = pd.to_datetime(treatments["stop"])

    # ---- MRI: yearly scans, a scan before and a re-baseline scan ~6 months after each start ----
    fu_days = ((last - first) / np.timedelta64(1, "D")).to_numpy().astype(np.int64)
    gap = rng.integers(300, 430, len(ids))
    n_scans = fu_days // gap + 1
    sid = np.repeat(ids, n_scans)
    within = np.arange(n_scans.sum()) - np.repeat(np.cumsum(n_scans) - n_scans, n_scans)
    sday = np.repeat(first.to_numpy(), n_scans) + (within * np.repeat(gap, n_scans)).astype(
        "timedelta64[D]")
    if len(treatments):
        t_id = treatments["id"].to_numpy()
        t_start = treatments["start"].to_numpy()
        rebase = t_start + rng.integers(120, 240, len(t_id)).astype("timedelta64[D]")
        before = t_start - rng.integers(10, 60, len(t_id)).astype("timedelta64[D]")
        sid = np.concatenate([sid, t_id, t_id])
        sday = np.concatenate([sday, rebase, before])
    scans = pd.DataFrame({"id": sid, "date": pd.to_datetime(sday).normalize()})
    scans = scans.merge(pd.DataFrame({"id": ids, "_first": first.to_numpy()}), on="id")
    scans = scans[(scans["date"] >= scans["_first"]) & (scans["date"] <= pd.Timestamp(cut))]
    scans = scans.drop_duplicates(["id", "date"]).sort_values(["id", "date"], kind="stable")
    scans = scans.drop(columns="_first").reset_index(drop=True)
    # on a high-efficacy drug at the scan? (the latest course started on or before the scan)
    on_high = np.zeros(len(scans), bool)
    if len(treatments):
        courses = treatments.sort_values("start")[["id", "start", "stop", "drug"]]
        hit = pd.merge_asof(scans.sort_values("date"), courses, left_on="date",
                            right_on="start", by="id", direction="backward")
        hit = hit.set_index(["id", "date"]).reindex(pd.MultiIndex.from_frame(scans[["id",
                                                                              "date"]]))
        running = hit["start"].notna() & (hit["stop"].isna() | (hit["stop"] >= hit.index
                                                                .get_level_values("date")))
        on_high = (running & hit["drug"].isin(list(_HIGH_EFFICACY))).to_numpy()
    # a relapse from 200 days before to 60 days after the scan makes activity likely
    recent = np.zeros(len(scans), bool)
    real = relapses[~relapses.pseudo][["id", "date"]].rename(columns={"date": "_rel"})
    if len(real):
        probe = scans.assign(_probe=scans["date"] + pd.Timedelta(days=60)).sort_values("_probe")
        near = pd.merge_asof(probe, real.sort_values("_rel"), left_on="_probe", right_on="_rel",
                             by="id", direction="backward").sort_index()
        recent = (near["_rel"].notna() & (near["_rel"] >= near["date"] - pd.Timedelta(days=200))
                  ).to_numpy()
    prev = scans.groupby("id")["date"].shift(1)
    has_prev = prev.notna().to_numpy()
    years = np.where(has_prev, (scans["date"] - prev).dt.days.fillna(365).to_numpy() / 365.0, 1.0)
    rate = np.where(on_high, 0.15, 0.8) * years + np.where(recent, 1.5, 0.0)
    contrast = rng.random(len(scans)) < 0.85
    new = np.where(has_prev, rng.poisson(rate), np.nan)
    enl = np.where(has_prev, rng.poisson(rate * 0.2), np.nan)
    gd_rate = np.where(recent, 0.8, np.where(on_high, 0.05, 0.2))
    gd = np.where(contrast, rng.poisson(gd_rate), np.nan)
    pbvc = np.where(has_prev, np.round(rng.normal(-0.3 * years, 0.25), 2), np.nan)
    mri = pd.DataFrame({
        "id": scans["id"].to_numpy(), "date": scans["date"].to_numpy(),
        "comparator_date": prev.to_numpy(), "contrast": contrast, "gd": gd, "new_t2": new,
        "enlarging_t2": enl, "spinal_cord": rng.random(len(scans)) < 0.3, "pbvc": pbvc,
    })

    # ---- PROs at about a third of visits, worse with EDSS ----
    at = visits[rng.random(len(visits)) < 0.33][["id", "date", "edss"]]
    parts = []
    for instrument, (n_items, lo, hi) in _PRO_ITEMS.items():
        sub = at[rng.random(len(at)) < 0.8]
        level = np.clip(sub["edss"].to_numpy() / 8.0 + rng.normal(0, 0.15, len(sub)), 0, 1)
        answers = np.clip(np.round(lo + level[:, None] * (hi - lo)
                                   + rng.normal(0, 0.8, (len(sub), n_items))), lo, hi)
        missing = rng.random(answers.shape) < 0.02
        frame = pd.DataFrame({
            "id": np.repeat(sub["id"].to_numpy(), n_items),
            "date": np.repeat(sub["date"].to_numpy(), n_items),
            "instrument": instrument,
            "item": np.tile(np.arange(1, n_items + 1), len(sub)),
            "response": np.where(missing, np.nan, answers).ravel(),
        })
        parts.append(frame.dropna(subset=["response"]))
    pros = pd.concat(parts, ignore_index=True).sort_values(["id", "date", "instrument", "item"],
                                                           kind="stable")
    pros["response"] = pros["response"].astype(int)
    labs = _demo_labs(treatments, last, seed)
    return {"visits": visits, "relapses": relapses, "treatments": treatments, "mri": mri,
            "pros": pros.reset_index(drop=True), "labs": labs}


_LAB_RESULTS = {"cbc": ("lymphocytes {:.1f} x10^9/L", 0.6, 2.8),
                "liver": ("ALT {:.0f} U/L", 12, 70), "creatinine": ("{:.0f} umol/L", 55, 105),
                "thyroid": ("TSH {:.1f} mU/L", 0.5, 4.5)}


def _demo_labs(treatments: pd.DataFrame, last: pd.Series, seed: int) -> pd.DataFrame:
    """Safety labs along each DMT course: a baseline test before the start, then tests at the
    schedule's interval stretched by 0-40 %; a quarter of the courses stop being tested part
    way (their own random stream, so the other tables do not change)."""
    from neda.rules.dmt_catalogue import lookup_drug

    rng = np.random.default_rng(seed + 2_000_003)
    rows: list[tuple[int, pd.Timestamp, str, str]] = []
    for pid, drug, start, stop in treatments[["id", "drug", "start", "stop"]].itertuples(
            index=False):
        intervals = lookup_drug(drug).lab_intervals
        if not intervals:
            continue
        end = min(pd.Timestamp(last[pid]), pd.Timestamp(stop) if pd.notna(stop)
                  else pd.Timestamp(last[pid]))
        if rng.random() < 0.25:
            end = pd.Timestamp(start) + (end - pd.Timestamp(start)) * rng.uniform(0.2, 0.8)
        for interval in intervals:
            day = max(interval.from_day, 0) - (int(rng.integers(5, 40))
                                              if interval.from_day == 0 else 0)
            while True:
                when = pd.Timestamp(start) + pd.Timedelta(days=int(day))
                if when > end or (interval.to_day is not None and day >= interval.to_day):
                    break
                rows.append((int(pid), when.normalize(), interval.test,
                             _lab_result(interval.test, rng)))
                day += int(round(interval.days * rng.uniform(0.8, 1.4)))
    labs = pd.DataFrame(rows, columns=["id", "date", "test", "result"])
    labs = labs.drop_duplicates(["id", "date", "test"]).sort_values(["id", "date", "test"])
    return labs.reset_index(drop=True)


def _lab_result(test: str, rng: np.random.Generator) -> str:
    if test == "jcv_antibody":
        return "negative" if rng.random() < 0.6 else f"positive, index {rng.uniform(0.2, 3):.1f}"
    if test == "urinalysis":
        return "normal" if rng.random() < 0.9 else "microscopic haematuria"
    text, lo, hi = _LAB_RESULTS.get(test, ("{:.1f}", 0, 1))
    return text.format(rng.uniform(lo, hi))


def moved_registry(tables: dict[str, pd.DataFrame], days: int) -> dict[str, pd.DataFrame]:
    """The registry's tables with every date moved by ``days`` (whole days; the same course
    in every other respect: intervals, values and so every rule's result relative to the
    dates). The demo clinic moves its registry so that its records end shortly before the
    day it is made, where the portal's entries of the last weeks are."""
    moved = {}
    for name, frame in tables.items():
        frame = frame.copy()
        for c in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[c]):
                frame[c] = frame[c] + pd.Timedelta(days=days)
        moved[name] = frame
    return moved


def write_demo_registry(out_dir: str | os.PathLike[str], patients: int, seed: int = 0
                        ) -> dict[str, Path]:
    """Write every table of :func:`demo_registry` as CSV (ISO dates) into ``out_dir``."""
    out = Path(out_dir)
    paths = dict(zip(("visits", "relapses"), write_demo_cohort(out, patients, seed=seed),
                     strict=True))
    tables = demo_registry(patients, seed=seed)
    for name in ("treatments", "mri", "pros", "labs"):
        frame = tables[name].copy()
        for c in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[c]):
                frame[c] = frame[c].dt.strftime("%Y-%m-%d")
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        paths[name] = path
    rel = tables["relapses"].copy()
    rel["date"] = rel["date"].dt.strftime("%Y-%m-%d")
    rel.to_csv(paths["relapses"], index=False)
    return paths
