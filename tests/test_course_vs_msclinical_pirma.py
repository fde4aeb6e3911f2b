"""RAW / PIRA classification and the PIRMA overlay against the peer ``msclinical`` 0.1.0.

Ours: ``neda.course.confirmed_events(..., mri=...)`` (clinical spec 2.7.2 and 2.7.4; Kappos et
al., JAMA Neurol 2020; Müller et al., JAMA Neurol 2023). Peer: ``msclinical.pirma.attribute``
on ``msclinical.edssplus.events`` (MIT; read to understand it, no code copied): RAW when a
relapse began in [O - 90, c]; otherwise PIRA when relapse ascertainment starts on or before
O - 90 (else ``undetermined``); PIRMA when every read scan in [R, c] is free of activity.

What coincides: our RAW window is ``[O - relapse_assoc[0], O + relapse_assoc[1]]``, so
msclinical's [O - 90, c] cannot be one RAW window (c - O differs per event). Its relapse-free
requirement can: PIRA windows ``prec (0, 0), event (90, None), conf (None, 0)`` (the Cagol
2022 form) are exactly [O - 90, c]. With ``relapse_assoc = (90, 0)`` the two tools then agree
on every PIRA / PIRMA call, and msclinical's RAW splits into our RAW (relapse in [O - 90, O])
and our ``undefined`` (relapse only in (O, c]) - ``unknown`` when O - 90 precedes follow-up.
Each remaining difference has a one-patient test below and a row in docs/differences.md
("RAW/PIRA/PIRMA and EDSS-Plus: differences from msclinical").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from msclinical.edssplus import core as msc_edssplus
from msclinical.pirma import core as msc_pirma

from neda.course import CourseOptions, RelapseIndependence, confirmed_events
from neda.rules.relapses import RelapseOptions

D0 = pd.Timestamp("2016-01-01")  # generated courses end before the data cut-off

#: msclinical's relapse-free window [O - 90, c] as msprog relapse_indep (Cagol 2022 form)
ONSET90_TO_CONF = RelapseIndependence((0, 0), (90, None), (None, 0), "baseline")

#: Our options set to msclinical's conventions as far as our options reach: its events
#: (edssplus: relapses ignored, no roving after improvement, every attack its own relapse,
#: comparator dates not used for MRI counts) and its PIRA window.
PARITY = CourseOptions.from_preset(
    "mueller2023", baseline="roving_wors", relapse_to_bl=0, relapse_to_conf=0,
    relapse_assoc=(90, 0), relapse_indep=ONSET90_TO_CONF,
    mri_comparator_lead_days=100_000,
)
#: msclinical counts every attack as its own relapse: relapse hygiene's merge off.
NO_MERGE = RelapseOptions(merge_days=0)
MSC_RULES = msc_edssplus.Rules(reference="roving", rove_on_improvement=False)
PIRA_MRI_NAMES = {"PIRMA": "PIRMA", "PIRA_with_MRI_activity": "PIRA_MRI_active",
                  "MRI_unknown": "PIRA_MRI_unknown"}


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def days(ts: Any) -> int | None:
    return None if pd.isna(ts) else int((pd.Timestamp(ts) - D0).days)


def visits(edss: dict[int, float], subject: str = "P1") -> pd.DataFrame:
    return pd.DataFrame({"subject": subject, "date": [day(d) for d in edss],
                         "edss": list(edss.values())})


def relapses(*onsets: int | str, subject: str = "P1") -> pd.DataFrame:
    return pd.DataFrame({"subject": [subject] * len(onsets),
                         "date": [o if isinstance(o, str) else day(o).strftime("%Y-%m-%d")
                                  for o in onsets]})


def scans(*rows: tuple[int, int | None, bool, float, float], subject: str = "P1"
          ) -> pd.DataFrame:
    """(scan day, comparator day or None, contrast, gd, new_t2) per read scan."""
    return pd.DataFrame({
        "subject": subject,
        "date": [day(r[0]) for r in rows],
        "comparator_date": [pd.NaT if r[1] is None else day(r[1]) for r in rows],
        "contrast": [r[2] for r in rows],
        "gd": [r[3] for r in rows],
        "new_t2": [r[4] for r in rows],
        "enlarging_t2": [0.0] * len(rows),
    })


def ours(v: pd.DataFrame, rel: pd.DataFrame | None = None, options: CourseOptions | None = None,
         mri: pd.DataFrame | None = None, asc_end: int | None = None) -> pd.DataFrame:
    asc = None
    if asc_end is not None:
        asc = pd.DataFrame({"subject": ["P1"], "start": [v["date"].min()],
                            "end": [day(asc_end)]})
    if rel is None:  # relapses recorded, none occurred
        rel = pd.DataFrame({"subject": [], "date": []})
    res = confirmed_events(v, rel, options or CourseOptions(), ascertainment=asc, mri=mri)
    return res.events[res.events["event_type"] == "CDW"].reset_index(drop=True)


def msc(v: pd.DataFrame, rel: pd.DataFrame | None = None, mri: pd.DataFrame | None = None,
        rules: Any = None, mri_window: str = "reference") -> pd.DataFrame:
    """msclinical: edssplus events (EDSS), attributed by pirma, as the pirma CLI does."""
    mv = v.rename(columns={"subject": "patient"})
    ev = msc_edssplus.events(mv, rules or msc_edssplus.Rules(), components=("edss",))
    first = pd.to_datetime(mv["date"]).groupby(mv["patient"]).min()
    rel = rel if rel is not None else relapses()
    att = msc_pirma.attribute(
        ev, rel.rename(columns={"subject": "patient"}),
        None if mri is None else mri.rename(columns={"subject": "patient"}),
        w=msc_pirma.Windows(mri_window=mri_window), visits_first=first)
    for c in ("onset_date", "reference_date", "confirmation_date"):
        if c in att:
            att[c] = pd.to_datetime(att[c])
    return att


# ------------------------------------------------------------------ random cohorts
def cohort(seed: int, n: int = 200) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """EDSS visits, day-precise relapses (some before follow-up, some close together) and read
    scans with contrast and complete counts, each compared with the previous scan."""
    rng = np.random.default_rng(seed)
    vis, rel, mri = [], [], []
    for p in range(n):
        sid = f"P{p:03d}"
        vdays = np.sort(rng.choice(np.arange(0, 1800, 7), size=int(rng.integers(3, 12)),
                                   replace=False))
        e = float(rng.choice(np.arange(0, 7, 0.5)))
        for d in vdays:
            e = float(np.clip(e + rng.choice([-0.5, 0, 0, 0.5, 1, 1.5]), 0, 9.5))
            # EDSS has no 0.5 step (rules 1.1): the walk's 0.5 is recorded as 1.0
            vis.append({"subject": sid, "date": day(int(d)), "edss": 1.0 if e == 0.5 else e})
        for r in set(rng.integers(-200, 1800, size=int(rng.integers(0, 5))).tolist()):
            rel.append({"subject": sid, "date": day(int(r))})
        prev = -400
        for s in np.sort(rng.choice(np.arange(-100, 1800, 30), size=int(rng.integers(0, 6)),
                                    replace=False)):
            active = rng.random() < 0.25
            mri.append({"subject": sid, "date": day(int(s)), "comparator_date": day(prev),
                        "contrast": True, "gd": int(active and rng.random() < 0.5),
                        "new_t2": int(active and rng.random() < 0.7),
                        "enlarging_t2": int(active and rng.random() < 0.3)})
            prev = int(s)
    return pd.DataFrame(vis), pd.DataFrame(rel), pd.DataFrame(mri)


def expected_msclinical_class(cls: str, pira_mri: str, relapse_after_onset: bool) -> str:
    """msclinical's class predicted from ours (module docstring)."""
    if cls == "PIRA":
        return PIRA_MRI_NAMES[pira_mri]
    if cls in ("RAW", "undefined"):
        return "RAW"
    assert cls == "unknown"
    return "RAW" if relapse_after_onset else "undetermined"


@pytest.mark.parametrize("mri_window", ["reference", "onset"])
@pytest.mark.parametrize("seed", [1, 2])
def test_differential_msclinical_pirma(seed: int, mri_window: str) -> None:
    v, rel, mri = cohort(seed)
    opts = PARITY.replace(mri_window_start=mri_window)
    res = confirmed_events(v, rel, opts, mri=mri, relapse_options=NO_MERGE)
    mine = res.events[res.events["event_type"] == "CDW"]
    theirs = msc(v, rel, mri, MSC_RULES, mri_window)
    # the same events (msclinical's edssplus under the parity options)
    m = mine.merge(theirs, left_on=["subject", "onset_date"],
                   right_on=["patient", "onset_date"], how="outer", indicator=True,
                   suffixes=("", "_msc"))
    assert (m["_merge"] == "both").all()
    assert (m["reference_date"] == m["reference_date_msc"]).all()
    assert (m["confirmation_date"] == m["confirmation_date_msc"]).all()

    rel_days = rel.groupby("subject")["date"].apply(list)
    first = v.groupby("subject")["date"].min()
    want = []
    for s, o, c, cls, pmri, pconf in zip(m["subject"], m["onset_date"],
                                         m["confirmation_date"], m["cdw_class"],
                                         m["pira_mri"], m["pira_confirmation_date"],
                                         strict=True):
        r = rel_days.get(s, [])
        in_raw = any(o - pd.Timedelta(days=90) <= x <= o for x in r)
        after_onset = any(o < x <= c for x in r)
        early = first[s] > o - pd.Timedelta(days=90)
        # our classes, explained by the relapse timing
        if cls == "RAW":
            assert in_raw
        elif cls == "undefined":
            assert not in_raw and after_onset and not early
        elif cls == "unknown":
            assert not in_raw and early
        else:
            assert cls == "PIRA" and not (in_raw or after_onset or early)
            assert pconf == c  # with the window [O - 90, c] the PIRA confirmation is c1
        want.append(expected_msclinical_class(cls, pmri, after_onset))
    got = m["class"].to_numpy()
    bad = got != np.array(want)
    assert not bad.any(), m.loc[bad, ["subject", "onset_date", "cdw_class", "pira_mri",
                                      "class", "reason"]]
    # every case of the mapping occurs
    cases = set(zip(m["cdw_class"], m["class"], strict=True))
    assert {("RAW", "RAW"), ("undefined", "RAW"), ("unknown", "undetermined"),
            ("PIRA", "PIRMA"), ("PIRA", "PIRA_MRI_active"),
            ("PIRA", "PIRA_MRI_unknown")} <= cases


def test_differential_agrees_without_relapses_after_onset() -> None:
    """Where no relapse falls in (O, c] the classes coincide one to one (one patient each)."""
    v = visits({0: 2.0, 100: 3.0, 190: 3.0, 300: 3.0})
    for rel, ours_cls, msc_cls in ((relapses(10), "RAW", "RAW"),     # O - 90: both include
                                   (relapses(9), "PIRA", "PIRA_MRI_unknown"),
                                   (relapses(250), "PIRA", "PIRA_MRI_unknown")):
        mine, theirs = ours(v, rel, PARITY), msc(v, rel, rules=MSC_RULES)
        assert (mine.loc[0, "cdw_class"], theirs.loc[0, "class"]) == (ours_cls, msc_cls)
    # onset less than 90 days after the first visit: relapse follow-up cannot cover O - 90
    v = visits({0: 2.0, 60: 3.0, 150: 3.0})
    assert ours(v, relapses(), PARITY).loc[0, "cdw_class"] == "unknown"
    assert msc(v, relapses(), rules=MSC_RULES).loc[0, "class"] == "undetermined"


# ------------------------------------------------ intended differences, one patient each
def test_difference_relapse_between_onset_and_confirmation() -> None:
    """Difference P1 (spec 2.7.1-2.7.2, scenario S10): a relapse after the onset and before the
    confirmation makes msclinical's event RAW; in msprog and the spec the onset came first,
    so it is not RAW, and the event is not relapse-free either: `undefined`."""
    v = visits({0: 2.0, 100: 3.0, 190: 3.0})
    rel = relapses(160)
    assert ours(v, rel).loc[0, "cdw_class"] == "undefined"
    assert ours(v, rel, PARITY).loc[0, "cdw_class"] == "undefined"
    assert msc(v, rel).loc[0, "class"] == "RAW"
    # relapse_assoc = (90, k) cannot express [O - 90, c]: k = 90 makes this event RAW, but
    # also calls RAW an event whose relapse comes after c (d200), which msclinical calls PIRA
    wide = PARITY.replace(relapse_assoc=(90, 120))
    assert ours(v, rel, wide).loc[0, "cdw_class"] == "RAW"
    v2 = visits({0: 2.0, 100: 3.0, 190: 3.0, 300: 3.0})
    assert ours(v2, relapses(200), wide).loc[0, "cdw_class"] == "RAW"
    assert msc(v2, relapses(200)).loc[0, "class"] == "PIRA_MRI_unknown"


def test_difference_relapse_shortly_after_confirmation() -> None:
    """Difference P2 (spec 2.7.3, Müller 2023 default): the relapse-free windows reach 30 days
    after the onset and after each confirmation visit; msclinical stops at c."""
    v = visits({0: 2.0, 100: 3.0, 190: 3.0})
    rel = relapses(200)
    assert ours(v, rel, asc_end=400).loc[0, "cdw_class"] == "undefined"
    assert msc(v, rel).loc[0, "class"] == "PIRA_MRI_unknown"
    assert ours(v, rel, PARITY, asc_end=400).loc[0, "cdw_class"] == "PIRA"


def test_difference_ascertainment_must_cover_the_windows() -> None:
    """Difference P3 (spec 2.7.2 step 3, scenario S20): PIRA needs relapse follow-up over every
    window, also at its end; msclinical checks only the start. Confirmed at the last visit,
    the Müller window [c - 90, c + 30] is not covered without follow-up after the visit."""
    v = visits({0: 2.0, 200: 3.0, 290: 3.0})
    rel = relapses(100)
    assert ours(v, rel).loc[0, "cdw_class"] == "unknown"
    assert ours(v, rel, asc_end=320).loc[0, "cdw_class"] == "PIRA"
    assert msc(v, rel).loc[0, "class"] == "PIRA_MRI_unknown"


def test_difference_no_reference_or_confirmation_right_after_a_relapse() -> None:
    """Difference P4 (spec 2.3, scenarios S9, S12): a visit < 30 days after a relapse onset is
    neither a reference nor a confirmation; msclinical's events ignore relapses."""
    v = visits({0: 2.0, 100: 3.0, 189: 3.0})  # d189 is 29 days after the relapse
    assert ours(v, relapses(160)).empty
    assert msc(v, relapses(160)).loc[0, "class"] == "RAW"
    v = visits({0: 2.0, 100: 3.0, 190: 3.0})  # d0 is 29 days after the relapse
    assert ours(v, relapses(-29)).empty
    t = msc(v, relapses(-29))
    assert (days(t.loc[0, "reference_date"]), t.loc[0, "class"]) == (0, "PIRA_MRI_unknown")


def test_difference_attacks_within_30_days_are_one_relapse() -> None:
    """Difference P5 (spec 3.1, scenario S25; McDonald 2001): attacks at d5 and d20 are one
    relapse with onset d5, 95 days before the onset: PIRA. msclinical sees d20: RAW."""
    v = visits({0: 2.0, 100: 3.0, 190: 3.0, 300: 3.0})
    rel = relapses(5, 20)
    assert ours(v, rel).loc[0, "cdw_class"] == "PIRA"
    assert msc(v, rel).loc[0, "class"] == "RAW"


def test_difference_imprecise_relapse_onset() -> None:
    """Difference P6 (spec 2.7.2, scenario S23): "2024-03" is the interval 1-31 March, which
    straddles the RAW window start (12 March): unknown. msclinical reads 1 March: PIRA."""
    v = pd.DataFrame({"subject": "P1", "edss": [2.0, 3.0, 3.0],
                      "date": pd.to_datetime(["2024-01-02", "2024-06-10", "2024-09-10"])})
    rel = relapses("2024-03")
    assert ours(v, rel, asc_end=int((pd.Timestamp("2024-11-09") - D0).days)
                ).loc[0, "cdw_class"] == "unknown"
    assert msc(v, rel).loc[0, "class"] == "PIRA_MRI_unknown"


def test_difference_pira_confirmation_visit_sets_the_mri_window() -> None:
    """Difference P7 (spec 2.7.2, 2.7.4, scenario S33): PIRA needs one relapse-free
    confirmation visit; here d190 is blocked by the relapse at d200 and d300 is clean, so
    the MRI window is [R, d300] and the active scan at d250 counts. msclinical's window
    ends at c1 (d190), where the only scan is clean: PIRMA."""
    v = visits({0: 2.0, 100: 3.0, 190: 3.0, 300: 3.0})
    mri = scans((150, 0, True, 0, 0), (250, 150, True, 1, 1))
    e = ours(v, relapses(200), mri=mri, asc_end=400).loc[0]
    assert (e.cdw_class, days(e.pira_confirmation_date)) == ("PIRA", 300)
    assert e.pira_mri == "PIRA_with_MRI_activity"
    assert msc(v, relapses(200), mri).loc[0, "class"] == "PIRMA"


@pytest.mark.parametrize("scan_rows, mine, theirs", [
    # P8: new T2 lesion against a comparator before the window start (d-200): its timing
    # cannot be placed in the window -> unknown; msclinical counts it as activity
    ([(150, -200, True, 0, 1)], "MRI_unknown", "PIRA_MRI_active"),
    # P9: zero counts without a comparator are not known zeros; msclinical: PIRMA
    ([(150, None, True, 0, 0)], "MRI_unknown", "PIRMA"),
    # P10: no contrast: a recorded Gd count of 0 is not a known 0 (spec 9); msclinical: PIRMA
    ([(150, 0, False, 0, 0)], "MRI_unknown", "PIRMA"),
    # P11: no contrast (Gd missing) but 2 new T2 lesions: activity all the same; msclinical
    # drops the scan because one count is missing -> no scan
    ([(150, 0, False, np.nan, 2)], "PIRA_with_MRI_activity", "PIRA_MRI_unknown"),
    # P12: a scan with a missing count next to a clean scan: the window is not known to be
    # free of activity; msclinical drops the incomplete scan and keeps the clean one: PIRMA
    ([(100, 0, True, 0, 0), (250, 100, True, np.nan, 0)], "MRI_unknown", "PIRMA"),
    # agreement: complete clean scans, comparators in the window
    ([(100, 0, True, 0, 0), (250, 100, True, 0, 0)], "PIRMA", "PIRMA"),
    ([(250, 100, True, 1, 0)], "PIRA_with_MRI_activity", "PIRA_MRI_active"),
])
def test_difference_pirma_scan_rules(scan_rows: list[tuple], mine: str, theirs: str) -> None:
    """Differences P8-P12 (spec 2.7.4, 9; scenario S32 and its variants): S19 plus MRI."""
    v = visits({0: 2.0, 200: 3.0, 290: 3.0})
    mri = scans(*scan_rows)
    e = ours(v, relapses(100), mri=mri, asc_end=320).loc[0]
    assert (e.cdw_class, e.pira_mri) == ("PIRA", mine)
    assert msc(v, relapses(100), mri).loc[0, "class"] == theirs


def test_difference_names_and_no_mri_table() -> None:
    """Difference P13: names. Without an MRI table we say `not_assessed` (the overlay was not
    requested); msclinical says PIRA_MRI_unknown. Our PIRA class stays in `cdw_class` and the
    overlay in `pira_mri`; msclinical has one `class` column."""
    v = visits({0: 2.0, 200: 3.0, 290: 3.0})
    e = ours(v, relapses(100), asc_end=320).loc[0]
    assert (e.cdw_class, e.pira_mri) == ("PIRA", "not_assessed")
    assert msc(v, relapses(100)).loc[0, "class"] == "PIRA_MRI_unknown"
