"""Seeded, adversarial cohort generators for the MSprog differential tests.

Every generator returns plain pandas frames in the input shape of
``pymsprog.MSprog``:

* visits: ``id``, ``date``, ``edss``, ``nhpt``, ``t25fw``, ``sdmt`` and, on
  request, ``validconf`` (bool or 0/1 int) and ``edss_delta`` (a column for
  ``valuedelta_col``, always >= ``edss``);
* relapses: ``id``, ``date`` (or custom column names, to exercise
  ``rsubj_col``/``rdate_col``).

The cohorts are built to hit the places where a re-implementation usually
drifts from pymsprog: visit gaps exactly on confirmation-window edges
(76/77/83/84/90/91/814/815 days ...), relapses exactly 0/29/30/31/89/90/91
days from a visit (on both sides), relapses before the first visit and not
sorted by date, same-day duplicate visits, missing values, one-visit
subjects, rows not in chronological order, string or int ids, real dates
(datetime64, ISO strings, '%d/%m/%Y' strings) or numeric days (negative
too).  Everything is driven by ``numpy.random.default_rng(seed)``, so a
(seed, parameters) pair always yields the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Gaps (days) between consecutive visits that sit on tolerance boundaries of
# the default/preset confirmation windows: 84 - 7 = 77, 84 + 730.5 = 814.5,
# 168, 183, 365, require_sust_days edges etc.
BOUNDARY_GAPS = [
    76,
    77,
    78,
    83,
    84,
    85,
    90,
    91,
    161,
    167,
    168,
    169,
    182,
    183,
    184,
    200,
    207,
    364,
    365,
    366,
    814,
    815,
    30,
    29,
    31,
    7,
    1,
]
# Distances (days) between a relapse and a visit.
RELAPSE_OFFSETS = [0, 29, 30, 31, 89, 90, 91, 1, 60, 120]

DATE_MODES = ("datetime", "iso", "dmy", "day")
EPOCH = np.datetime64("2012-03-01")


@dataclass(frozen=True)
class CohortSpec:
    """Parameters of a random cohort (all hashable so they can key a cache)."""

    seed: int = 0
    n_subjects: int = 60
    id_kind: str = "str"  # 'str' | 'int'
    date_mode: str = "datetime"  # one of DATE_MODES
    max_visits: int = 14
    max_relapses: int = 5
    validconf: str | None = None  # None | 'bool' | 'int'
    valuedelta: bool = False  # add 'edss_delta'
    shuffle_rows: bool = True  # rows not in chronological order
    missing: float = 0.04  # probability of a missing value per row
    duplicates: float = 0.05  # probability of a same-day duplicate per visit
    extreme: bool = False  # NHPT > 300 / T25FW > 180 values (warnings)
    relapse_cols: tuple[str, str] = ("id", "date")


def _subject_ids(rng: np.random.Generator, n: int, id_kind: str) -> list:
    if id_kind == "int":
        # non-contiguous, not sorted
        ids = rng.choice(np.arange(1, 20 * n + 1), size=n, replace=False)
        return [int(i) for i in ids]
    if id_kind == "str":
        ids = rng.choice(np.arange(1, 20 * n + 1), size=n, replace=False)
        return [f"P{int(i):04d}" for i in ids]
    raise ValueError(id_kind)


def _gaps(rng: np.random.Generator, k: int) -> np.ndarray:
    out = np.empty(k, dtype=np.int64)
    for j in range(k):
        u = rng.random()
        if u < 0.55:
            out[j] = rng.choice(BOUNDARY_GAPS)
        elif u < 0.9:
            out[j] = rng.integers(20, 260)
        else:
            out[j] = rng.integers(260, 900)
    return out


def _edss_path(rng: np.random.Generator, n: int) -> np.ndarray:
    """Half-step EDSS random walk with plateaus, relapse-like bumps and recoveries."""
    start = rng.choice(
        [0.0, 0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 8.0]
    )
    steps = rng.choice([0.0, 0.0, 0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.0, 0.5, 1.0], size=n)
    steps[0] = 0.0
    vals = np.clip(start + np.cumsum(steps), 0.0, 10.0)
    # occasional transient spike (undefined / unconfirmed changes)
    if n > 3 and rng.random() < 0.3:
        i = rng.integers(1, n - 1)
        vals[i] = min(10.0, vals[i] + rng.choice([0.5, 1.0, 1.5]))
    return vals


def _ratio_path(
    rng: np.random.Generator, n: int, start: float, lo: float, hi: float, extreme_val: float | None
) -> np.ndarray:
    """Multiplicative walk for timed tests (NHPT, T25FW): jumps around the 20 % threshold."""
    factors = rng.choice([1.0, 1.0, 1.1, 0.9, 1.2, 0.8, 1.25, 0.75, 1.35, 1 / 1.2, 1.5], size=n)
    factors[0] = 1.0
    vals = np.clip(start * np.cumprod(factors), lo, hi)
    vals = np.round(vals, 1)
    if extreme_val is not None and rng.random() < 0.15:
        vals[rng.integers(0, n)] = extreme_val
    return vals


def _sdmt_path(rng: np.random.Generator, n: int) -> np.ndarray:
    start = rng.integers(20, 75)
    steps = rng.choice([0, 0, 1, -1, 3, -3, 4, -4, 5, -5, 8, -8, 12], size=n)
    steps[0] = 0
    return np.clip(start + np.cumsum(steps), 0, 110).astype(float)


def make_cohort(spec: CohortSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build (visits, relapses) for ``spec``."""
    rng = np.random.default_rng(spec.seed)
    ids = _subject_ids(rng, spec.n_subjects, spec.id_kind)
    vrows: list[dict] = []
    rrows: list[tuple] = []
    for sid in ids:
        u = rng.random()
        if u < 0.07:
            nvis = 1
        elif u < 0.14:
            nvis = 2
        else:
            nvis = int(rng.integers(3, spec.max_visits + 1))
        if spec.date_mode == "day":
            start = int(rng.integers(-400, 400))
        else:
            start = int(rng.integers(0, 3000))
        days = start + np.concatenate([[0], np.cumsum(_gaps(rng, nvis - 1))]).astype(np.int64)
        edss = _edss_path(rng, nvis)
        nhpt = _ratio_path(
            rng,
            nvis,
            float(rng.uniform(16, 60)),
            8.0,
            299.0,
            float(rng.choice([305.0, 777.0])) if spec.extreme else None,
        )
        t25 = _ratio_path(
            rng,
            nvis,
            float(rng.uniform(3.5, 20)),
            2.0,
            179.0,
            float(rng.choice([181.0, 165.8, 250.0])) if spec.extreme else None,
        )
        sdmt = _sdmt_path(rng, nvis)
        for j in range(nvis):
            row = {
                "id": sid,
                "day": int(days[j]),
                "edss": float(edss[j]),
                "nhpt": float(nhpt[j]),
                "t25fw": float(t25[j]),
                "sdmt": float(sdmt[j]),
            }
            if spec.validconf is not None:
                row["validconf"] = bool(rng.random() > 0.2)
            if spec.valuedelta:
                row["edss_delta"] = float(
                    min(10.0, edss[j] + rng.choice([0.0, 0.0, 0.5, 1.0, 2.0]))
                )
            vrows.append(row)
            if rng.random() < spec.duplicates:
                dup = dict(row)
                # same day, different values (pymsprog keeps the last row of a date)
                dup["edss"] = float(np.clip(edss[j] + rng.choice([-1.0, -0.5, 0.5, 1.0]), 0, 10))
                dup["sdmt"] = float(np.clip(sdmt[j] + rng.choice([-5, 5]), 0, 110))
                dup["nhpt"] = float(round(nhpt[j] * 1.3, 1)) if nhpt[j] * 1.3 < 299 else nhpt[j]
                dup["t25fw"] = float(round(t25[j] * 1.3, 1)) if t25[j] * 1.3 < 179 else t25[j]
                if spec.valuedelta:
                    dup["edss_delta"] = float(max(dup["edss"], row["edss_delta"]))
                vrows.append(dup)
        # relapses: 0-5, anchored on visits at boundary distances, some before
        # the first visit, deliberately left unsorted
        nrel = int(rng.choice([0, 0, 0, 1, 1, 2, 2, 3, 4, 5][: spec.max_relapses * 2 + 1]))
        for _ in range(nrel):
            u = rng.random()
            if u < 0.15:
                rday = int(days[0] - rng.choice([1, 10, 29, 30, 31, 60, 89, 90, 91, 400]))
            elif u < 0.85:
                anchor = int(days[rng.integers(0, nvis)])
                off = int(rng.choice(RELAPSE_OFFSETS))
                rday = anchor - off if rng.random() < 0.6 else anchor + off
            else:
                rday = int(rng.integers(days[0], days[-1] + 200))
            rrows.append((sid, rday))
        if nrel >= 2 and rng.random() < 0.1:
            rrows.append((sid, rrows[-1][1]))  # same-day duplicate relapse

    visits = pd.DataFrame(vrows)
    relapses = (
        pd.DataFrame(rrows, columns=["id", "day"])
        if rrows
        else pd.DataFrame(
            {
                "id": pd.Series([], dtype=object if spec.id_kind == "str" else np.int64),
                "day": pd.Series([], dtype=np.int64),
            }
        )
    )
    # a relapse row of a subject without visits
    if len(relapses):
        extra = pd.DataFrame(
            {
                "id": ["ZZ_orphan" if spec.id_kind == "str" else 999_999],
                "day": [int(visits["day"].median())],
            }
        )
        relapses = pd.concat([relapses, extra], ignore_index=True)

    # missing values (any of the analysed columns, or the date)
    if spec.missing > 0 and len(visits):
        mask = rng.random(len(visits)) < spec.missing
        cols = ["edss", "nhpt", "t25fw", "sdmt", "day"]
        if spec.valuedelta:
            cols.append("edss_delta")
        for i in np.flatnonzero(mask):
            c = cols[int(rng.integers(0, len(cols)))]
            visits[c] = visits[c].astype(float)
            visits.loc[visits.index[i], c] = np.nan

    if spec.shuffle_rows and len(visits):
        # partial shuffle: keep subject blocks mostly together but break
        # chronological order inside some of them
        perm = rng.permutation(len(visits))
        keep = rng.random(len(visits)) < 0.6
        order = np.where(keep, np.arange(len(visits)), perm)
        _, first = np.unique(order, return_index=True)
        order = order[np.sort(first)]
        rest = np.setdiff1d(np.arange(len(visits)), order)
        visits = visits.iloc[np.concatenate([order, rest])].reset_index(drop=True)
    relapses = (
        relapses.sample(frac=1.0, random_state=int(rng.integers(0, 2**31))).reset_index(drop=True)
        if len(relapses)
        else relapses
    )

    if spec.validconf == "int" and "validconf" in visits:
        visits["validconf"] = visits["validconf"].astype(np.int64)

    visits = _encode_dates(visits, "day", spec.date_mode)
    relapses = _encode_dates(relapses, "day", spec.date_mode)
    visits = visits.rename(columns={"day": "date"})
    relapses = relapses.rename(columns={"day": "date"})
    cols = ["id", "date", "edss", "nhpt", "t25fw", "sdmt"]
    cols += [c for c in ("validconf", "edss_delta") if c in visits.columns]
    visits = visits[cols]
    relapses = relapses[["id", "date"]]
    if spec.relapse_cols != ("id", "date"):
        relapses.columns = list(spec.relapse_cols)
    return visits, relapses


def _encode_dates(df: pd.DataFrame, col: str, mode: str) -> pd.DataFrame:
    df = df.copy()
    day = df[col].astype(float)
    if mode == "day":
        # ints where possible (float when a value is missing)
        df[col] = day if day.isna().any() else day.astype(np.int64)
        return df
    dt = pd.Series(EPOCH + pd.to_timedelta(day.fillna(0), unit="D"), index=df.index).astype(
        "datetime64[ns]"
    )
    dt[day.isna()] = pd.NaT
    if mode == "datetime":
        df[col] = dt
    elif mode == "iso":
        df[col] = [None if pd.isna(x) else x.strftime("%Y-%m-%d") for x in dt]
    elif mode == "dmy":
        df[col] = [None if pd.isna(x) else x.strftime("%d/%m/%Y") for x in dt]
    else:
        raise ValueError(mode)
    return df


def date_format_for(mode: str) -> str | None:
    """The ``date_format`` argument that matches a date mode."""
    return {"datetime": None, "iso": None, "dmy": "%d/%m/%Y", "day": "day"}[mode]


# ---------------------------------------------------------------------------
# Hand-written single-subject trajectories (clinical spec 2.8 scenarios)


def scenario(
    edss_by_day: list[tuple[int, float]], relapse_days: list[int] = (), sid: str = "S"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One subject, numeric days (use with ``date_format='day'``)."""
    v = pd.DataFrame(
        {"id": sid, "date": [d for d, _ in edss_by_day], "edss": [x for _, x in edss_by_day]}
    )
    r = pd.DataFrame({"id": [sid] * len(relapse_days), "date": list(relapse_days)})
    return v, r


# EDSS trajectories of clinical-rules.md 2.8 (S1-S33 subset that is pure msprog input)
SPEC_SCENARIOS = {
    "S1": ([(0, 0), (90, 1.0), (180, 1.0)], []),
    "S2": ([(0, 0), (90, 1.5), (180, 1.5)], []),
    "S3": ([(0, 2.0), (90, 3.0), (135, 2.5), (180, 3.0)], []),
    "S4": ([(0, 5.5), (90, 6.0), (180, 6.0)], []),
    "S6": ([(0, 2.0), (100, 3.0), (183, 3.0), (184, 3.0)], []),
    "S7": ([(0, 2.0), (100, 3.0), (177, 3.0)], []),
    "S8": ([(0, 2.0), (100, 3.0), (176, 3.0)], []),
    "S9": ([(0, 2.0), (100, 3.0), (189, 3.0)], [160]),
    "S10": ([(0, 2.0), (100, 3.0), (190, 3.0)], [160]),
    "S11": ([(0, 2.0), (100, 3.0), (190, 3.0)], [-30]),
    "S12": ([(0, 2.0), (100, 3.0), (190, 3.0)], [-29]),
    "S13": ([(0, 2.0), (100, 3.0), (190, 3.0)], [100]),
    "S14": ([(0, 2.0), (100, 3.0), (190, 3.0)], [10]),
    "S15": ([(0, 2.0), (100, 3.0), (190, 3.0)], [9]),
    "S16": ([(0, 2.0), (100, 3.0), (195, 3.0), (230, 3.0)], [185]),
    "S17": ([(0, 2.0), (100, 3.0), (190, 3.0), (300, 3.0)], [170]),
    "S18": ([(0, 2.0), (80, 3.0), (170, 3.0)], [60]),
    "S19": ([(0, 2.0), (200, 3.0), (290, 3.0)], [100]),
    "S21": ([(0, 2.0), (150, 2.0), (250, 3.0), (340, 3.0)], [100]),
    "S22": ([(0, 2.0), (90, 3.0)], []),
    "S25": ([(0, 2.0), (100, 3.0), (190, 3.0)], [20, 5]),
    "S26": ([(0, 3.0), (90, 2.5), (180, 2.5), (270, 3.5), (360, 3.5)], []),
    "S27": ([(0, 4.0), (90, 3.0), (180, 3.0), (270, 4.0), (360, 4.0)], []),
    "S28": ([(0, 6.0), (90, 5.5), (180, 5.5), (270, 6.0), (360, 6.0), (450, 6.5), (540, 6.5)], []),
    "S29": ([(0, 2.0), (90, 3.0), (180, 3.0), (270, 3.0), (360, 3.0)], []),
    "S31": ([(0, 6.5), (200, 10.0)], []),
    "S33": ([(0, 2.0), (100, 3.0), (190, 3.0), (300, 3.0)], [200]),
}


def spec_scenarios_cohort() -> tuple[pd.DataFrame, pd.DataFrame]:
    """All SPEC_SCENARIOS stacked into one cohort (subject id = scenario name)."""
    vs, rs = [], []
    for name, (traj, rels) in SPEC_SCENARIOS.items():
        v, r = scenario(traj, rels, sid=name)
        vs.append(v)
        rs.append(r)
    return pd.concat(vs, ignore_index=True), pd.concat(rs, ignore_index=True)
