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

_DAY_KEY = 1 << 20  # composite sort key: patient * _DAY_KEY + (day + _DAY_SHIFT)
_DAY_SHIFT = 2_000  # relapses may precede the first visit by up to a year


def demo_cohort(
    patients: int, seed: int = 0, start: str = "2015-01-01", cutoff: str = "2026-06-30"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate ``(visits, relapses)`` for ``patients`` synthetic patients.

    ``visits`` has columns ``id`` (int64, 1..patients), ``date`` (datetime64[ns]), ``edss``,
    ``nhpt``, ``t25fw`` (seconds) and ``sdmt`` (correct answers), all float64 with NaN where a test
    was not done (EDSS is never missing). ``relapses`` has ``id`` and ``date`` (onset). Both are
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
    # Onsets less than 30 days apart are one relapse (clinical rules 3.1): keep the first.
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
        }
    ).write_csv(visits_path)
    pl.DataFrame(
        {
            "id": relapses["id"].to_numpy(),
            "date": relapses["date"].to_numpy().astype("datetime64[D]"),
        }
    ).write_csv(relapses_path)
    return visits_path, relapses_path
