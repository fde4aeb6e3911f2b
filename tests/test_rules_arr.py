"""Annualised relapse rate (clinical spec 4.6, counting rule of 3.1, windows of 8.3)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neda.rules.arr import (
    POOLED_COLUMNS,
    RATE_COLUMNS,
    ArrOptions,
    annualised_relapse_rate,
    pooled_arr,
)
from neda.rules.dmt import DmtOptions, treatment_epochs
from neda.rules.relapses import RelapseOptions

D0 = pd.Timestamp("2020-01-01")
Y = 365.25


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def fu(*rows: tuple) -> pd.DataFrame:
    """rows: (subject, first_day, last_day)."""
    return pd.DataFrame({"subject": [r[0] for r in rows], "start": [day(r[1]) for r in rows],
                         "end": [day(r[2]) for r in rows]})


def rel(*rows: tuple, **cols) -> pd.DataFrame:
    """rows: (subject, day or partial-date string)."""
    out = pd.DataFrame({"subject": [r[0] for r in rows],
                        "date": [day(r[1]).strftime("%Y-%m-%d") if isinstance(r[1], int)
                                 else r[1] for r in rows]})
    for k, v in cols.items():
        out[k] = v
    return out


def one(result, **where) -> pd.Series:
    r = result.rates
    for k, v in where.items():
        r = r[r[k] == v]
    assert len(r) == 1, r
    return r.iloc[0]


# ---------------------------------------------------------------------------------------------
# per patient


def test_per_patient_rate_and_columns():
    res = annualised_relapse_rate(rel((1, 10), (1, 400), (2, 5)), fu((1, 0, 729), (2, 0, 364)))
    assert list(res.rates.columns) == list(RATE_COLUMNS)
    assert list(res.pooled.columns) == list(POOLED_COLUMNS)
    p1 = one(res, subject=1)
    assert p1.days == 730 and p1.relapses == 2
    assert p1.person_years == pytest.approx(730 / Y)
    assert p1.arr == pytest.approx(2 / (730 / Y))
    assert p1.status == "reported" and p1.window == "followup" and pd.isna(p1.epoch)
    assert pd.isna(p1.relapses_objective) and np.isnan(p1.arr_objective)
    assert res.rates.attrs["provenance"]["options"]["min_followup_days"] == 183
    assert (res.rates["rule_set"] == "spec_defaults").all()
    assert len(res.per_patient) == 2


@pytest.mark.parametrize("last_day, status", [(181, "insufficient_followup"), (182, "reported")])
def test_min_followup_boundary(last_day, status):
    # [0, 181] has 182 days (< 183): not reported; [0, 182] has 183 days
    res = annualised_relapse_rate(rel((1, 3)), fu((1, 0, last_day)))
    r = one(res, subject=1)
    assert r.status == status and r.days == last_day + 1
    assert np.isnan(r.arr) == (status != "reported")
    # the pooled rate still uses the short window's person-time (spec 4.6)
    assert res.pooled["person_years"][0] == pytest.approx((last_day + 1) / Y)
    assert res.pooled["arr"][0] == pytest.approx(1 / ((last_day + 1) / Y))


@pytest.mark.parametrize("d, counted", [(-1, 0), (0, 1), (364, 1), (365, 0)])
def test_followup_window_includes_both_ends(d, counted):
    res = annualised_relapse_rate(rel((1, d)), fu((1, 0, 364)))
    assert one(res, subject=1).relapses == counted


@pytest.mark.parametrize("d, counted", [(0, 0), (1, 1), (364, 1)])
def test_left_open_followup_parity_option(d, counted):
    res = annualised_relapse_rate(rel((1, d)), fu((1, 0, 364)),
                                  options=ArrOptions(followup_interval="left_open"))
    r = one(res, subject=1)
    assert r.relapses == counted and r.days == 364


def test_pooled_is_not_the_mean_of_patient_rates():
    # A: 1 relapse over 200 days; B: 0 relapses over 2000 days
    res = annualised_relapse_rate(rel((1, 50)), fu((1, 0, 199), (2, 0, 1999)))
    per = res.per_patient
    mean_rate = per["arr"].mean()
    pooled = res.pooled.iloc[0]
    assert pooled["arr"] == pytest.approx(1 / (2200 / Y))
    assert mean_rate == pytest.approx((1 / (200 / Y) + 0) / 2)
    assert mean_rate > 5 * pooled["arr"]
    assert pooled["subjects"] == 2 and pooled["relapses"] == 1


def test_pooled_arr_by_group():
    res = annualised_relapse_rate(rel((1, 1), (2, 1), (2, 200), (3, 3)),
                                  fu((1, 0, 364), (2, 0, 729), (3, 0, 99)))
    per = res.per_patient.assign(arm=["a", "b", "b"])
    p = pooled_arr(per, by="arm").set_index("arm")
    assert p.loc["a", "arr"] == pytest.approx(1 / (365 / Y))
    assert p.loc["b", "arr"] == pytest.approx(3 / (830 / Y))
    assert p.loc["b", "subjects"] == 2


def test_subject_without_relapses_and_relapse_of_unknown_subject():
    res = annualised_relapse_rate(rel((9, 10)), fu((1, 0, 400)))
    r = one(res, subject=1)
    assert r.relapses == 0 and r.arr == 0
    assert set(res.rates["subject"]) == {1}


def test_empty_relapses_table():
    empty = pd.DataFrame({"subject": pd.Series([], dtype=int), "date": pd.Series([], dtype=str)})
    res = annualised_relapse_rate(empty, fu((1, 0, 400)))
    assert one(res, subject=1).relapses == 0


# ---------------------------------------------------------------------------------------------
# confirmed vs all, pseudo-relapses


def test_objective_counts():
    r = rel((1, 10), (1, 60), (1, 110), (1, 160), objective=["yes", "no", None, True])
    res = annualised_relapse_rate(r, fu((1, 0, 364)))
    row = one(res, subject=1)
    assert row.relapses == 4 and row.relapses_objective == 2
    assert row.arr_objective == pytest.approx(2 / (365 / Y))
    assert res.pooled["relapses_objective"][0] == 2


def test_pseudo_relapses_are_left_out_by_default():
    r = rel((1, 10), (1, 60), pseudo=[False, True])
    assert one(annualised_relapse_rate(r, fu((1, 0, 364))), subject=1).relapses == 1
    flag_only = RelapseOptions(exclude_fever_infection="flag_only")
    res = annualised_relapse_rate(r, fu((1, 0, 364)), relapse_options=flag_only)
    assert one(res, subject=1).relapses == 2
    # a text "no" is no pseudo-relapse (rules 0.3): both count
    r_text = rel((1, 10), (1, 60), pseudo=["no", "No"])
    assert one(annualised_relapse_rate(r_text, fu((1, 0, 364))), subject=1).relapses == 2


def test_attacks_under_30_days_apart_are_one_relapse_and_none_means_unknown():
    r = rel((1, 10), (1, 20))
    assert one(annualised_relapse_rate(r, fu((1, 0, 364))), subject=1).relapses == 1
    row = one(annualised_relapse_rate(None, fu((1, 0, 364))), subject=1)
    assert row.status == "no_relapse_data" and pd.isna(row.relapses) and np.isnan(row.arr)


# ---------------------------------------------------------------------------------------------
# imprecise onsets (3.1 counting rule)


def test_month_onset_inside_outside_and_partly_inside():
    # follow-up 2020-01-01 .. 2020-12-31
    f = pd.DataFrame({"subject": [1], "start": ["2020-01-01"], "end": ["2020-12-31"]})
    res = annualised_relapse_rate(rel((1, "2020-05"), (1, "2019-11"), (1, "2021-02")), f)
    row = one(res, subject=1)
    assert row.relapses == 1 and row.relapses_midpoint == 0 and row["flags"] == ""
    # 2020 follow-up from 2020-01-20: January 2020 is partly inside; midpoint (Jan 16) outside
    f2 = pd.DataFrame({"subject": [1], "start": ["2020-01-20"], "end": ["2020-12-31"]})
    row = one(annualised_relapse_rate(rel((1, "2020-01")), f2), subject=1)
    assert row.relapses == 0
    # from 2020-01-10: the midpoint is inside -> counted and flagged
    f3 = pd.DataFrame({"subject": [1], "start": ["2020-01-10"], "end": ["2020-12-31"]})
    row = one(annualised_relapse_rate(rel((1, "2020-01")), f3), subject=1)
    assert row.relapses == 1 and row.relapses_midpoint == 1 and "imprecise_midpoint" in row["flags"]


def test_year_onset_and_explicit_range():
    f = pd.DataFrame({"subject": [1], "start": ["2019-07-01"], "end": ["2021-06-30"]})
    r = pd.DataFrame({"subject": [1, 1], "date": ["2020", "2021-06-20"],
                      "date_end": [pd.NaT, pd.Timestamp("2021-07-20")]})
    row = one(annualised_relapse_rate(r, f), subject=1)
    # "2020" lies inside; the range 20 Jun - 20 Jul 2021 has its midpoint (5 Jul) outside
    assert row.relapses == 1


def test_imprecise_onset_is_never_counted_in_two_adjacent_windows():
    # two epochs meeting on 2020-07-01; a relapse dated "2020-06-20/2020-07-11" (midpoint 30 Jun)
    t = pd.DataFrame({"subject": [1, 1], "drug": ["Gilenya", "Ocrevus"],
                      "start": pd.to_datetime(["2020-01-01", "2020-07-01"]),
                      "stop": pd.to_datetime(["2020-07-01", None])})
    ep = treatment_epochs(t, DmtOptions(onset_delay_days=0))
    f = pd.DataFrame({"subject": [1], "start": ["2020-01-01"], "end": ["2021-12-31"]})
    r = pd.DataFrame({"subject": [1, 1], "date": ["2020-06-20", "2020-06-21"],
                      "date_end": pd.to_datetime(["2020-07-11", "2020-07-12"])})
    # two rows counted as they are (their 30-day merge is relapse hygiene's question)
    res = annualised_relapse_rate(r, f, ep, relapse_options=RelapseOptions(merge_days=0))
    on = res.per_epoch.set_index("drug")
    # midpoints: 30 Jun (fingolimod) and 1 Jul 12:00 (ocrelizumab)
    assert on.loc["fingolimod", "relapses"] == 1 and on.loc["ocrelizumab", "relapses"] == 1
    assert on["relapses"].sum() == one(res, window="followup").relapses == 2


# ---------------------------------------------------------------------------------------------
# per epoch and pre-treatment


def _epochs():
    t = pd.DataFrame({"subject": [1, 1], "drug": ["Copaxone", "Ocrevus"],
                      "start": [day(400), day(1000)], "stop": [day(950), pd.NaT]})
    return treatment_epochs(t)


@pytest.mark.parametrize("d, drug_counted", [
    (400 + 182, None), (400 + 183, "glatiramer acetate"), (999, "glatiramer acetate"),
    (1000, None), (1000 + 182, None), (1000 + 183, "ocrelizumab")])
def test_on_treatment_window_from_onset_to_epoch_end(d, drug_counted):
    res = annualised_relapse_rate(rel((1, d)), fu((1, 0, 2000)), _epochs())
    on = res.per_epoch.set_index("drug")["relapses"]
    expected = {"glatiramer acetate": 0, "ocrelizumab": 0}
    if drug_counted:
        expected[drug_counted] = 1
    assert on.to_dict() == expected


def test_on_treatment_window_lengths_and_flags():
    res = annualised_relapse_rate(rel((1, 10)), fu((1, 0, 2000)), _epochs())
    ga = one(res, window="on_treatment", epoch=1)
    oc = one(res, window="on_treatment", epoch=2)
    assert ga.window_start == day(583) and ga.window_end == day(999)
    assert ga.days == 999 - 583 + 1 and ga["flags"] == ""
    assert oc.window_start == day(1183) and oc.window_end == day(2000)
    assert oc["flags"] == "ongoing" and oc.drug == "ocrelizumab"


@pytest.mark.parametrize("d, counted", [(400 - 366, 0), (400 - 365, 1), (399, 1), (400, 0)])
def test_pre_treatment_window_boundaries(d, counted):
    res = annualised_relapse_rate(rel((1, d)), fu((1, 0, 2000)), _epochs())
    pre = one(res, window="pre_treatment", epoch=1)
    assert pre.window_start == day(35) and pre.window_end == day(399) and pre.days == 365
    assert pre.relapses == counted


def test_pre_treatment_variant_and_partial_window():
    res = annualised_relapse_rate(rel((1, 10)), fu((1, 0, 2000)), _epochs(),
                                  ArrOptions(pre_treatment_days=730))
    pre = one(res, window="pre_treatment", epoch=1)
    # 730 days before day 400 starts before follow-up: cut to day 0, flagged
    assert pre.window_start == day(0) and pre.days == 400 and "partial_window" in pre["flags"]
    assert pre.relapses == 1
    later = one(res, window="pre_treatment", epoch=2)
    assert "previous_dmt" in later["flags"]


def test_pooled_by_drug_and_first_epoch_pre_treatment():
    res = annualised_relapse_rate(rel((1, 100), (1, 700), (1, 950), (1, 1500)),
                                  fu((1, 0, 2000)), _epochs())
    p = res.pooled.set_index(["window", "drug"])
    assert p.loc[("on_treatment", "glatiramer acetate"), "relapses"] == 2  # days 700, 950
    assert p.loc[("on_treatment", "ocrelizumab"), "relapses"] == 1
    assert p.loc[("on_treatment", "all"), "relapses"] == 3
    assert p.loc[("on_treatment", "all"), "person_years"] == pytest.approx(
        ((999 - 583 + 1) + (2000 - 1183 + 1)) / Y)
    # pre-treatment "all": first epoch only (days 35..399: one relapse)
    assert p.loc[("pre_treatment", "all"), "relapses"] == 1
    assert p.loc[("pre_treatment", "ocrelizumab"), "relapses"] == 2  # days 700, 950


def test_epoch_without_followup_and_empty_window():
    t = pd.DataFrame({"subject": [1, 2, 2], "drug": ["Gilenya", "Gilenya", "Tysabri"],
                      "start": [day(0), day(0), day(100)], "stop": [pd.NaT, day(50), pd.NaT]})
    res = annualised_relapse_rate(rel((1, 5)), fu((2, 0, 1000)), treatment_epochs(t))
    assert set(res.rates.loc[res.rates["subject"] == 1, "status"]) == {"no_followup"}
    short = one(res, subject=2, window="on_treatment", epoch=1)
    assert short.status == "empty_window" and short.days == 0  # ended before its onset


# ---------------------------------------------------------------------------------------------
# bad input


def test_bad_followup_and_relapses():
    with pytest.raises(ValueError, match="one row per subject"):
        annualised_relapse_rate(rel((1, 1)), fu((1, 0, 10), (1, 20, 30)))
    with pytest.raises(ValueError, match="ends before it starts"):
        annualised_relapse_rate(rel((1, 1)), fu((1, 10, 0)))
    with pytest.raises(ValueError, match="got an empty cell; expected an onset date"):
        annualised_relapse_rate(pd.DataFrame({"subject": [1], "date": [None]}), fu((1, 0, 10)))
    with pytest.raises(ValueError, match="column 'date': got 'soon'"):
        annualised_relapse_rate(pd.DataFrame({"subject": [1], "date": ["soon"]}), fu((1, 0, 10)))
    with pytest.raises(ValueError, match="windows table lacks"):
        annualised_relapse_rate(rel((1, 1)), fu((1, 0, 10)), pd.DataFrame({"subject": [1]}))
    with pytest.raises(ValueError, match="followup_interval"):
        annualised_relapse_rate(rel((1, 1)), fu((1, 0, 10)),
                                options=ArrOptions(followup_interval="open"))


# ---------------------------------------------------------------------------------------------
# properties


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 6))
    f_rows, r_rows, t_rows = [], [], []
    drugs = ["Gilenya", "Ocrevus", "Tecfidera"]
    for sid in range(n):
        length = draw(st.integers(0, 1500))
        f_rows.append((sid, 0, length))
        # switches that partition [0, length] into epochs (stop = next start: overlap cut)
        cuts = sorted(set(draw(st.lists(st.integers(1, max(length, 1)), max_size=4))))
        starts = [0, *[c for c in cuts if c <= length]]
        for k, s in enumerate(starts):
            stop = starts[k + 1] if k + 1 < len(starts) else None
            t_rows.append((sid, drugs[k % 3], s, stop))
        for _ in range(draw(st.integers(0, 8))):
            d = draw(st.integers(-100, length + 100))
            if draw(st.booleans()):
                r_rows.append((sid, day(d).strftime("%Y-%m-%d")))
            else:
                r_rows.append((sid, day(d).strftime("%Y-%m")))
    t = pd.DataFrame({"subject": [r[0] for r in t_rows], "drug": [r[1] for r in t_rows],
                      "start": [day(r[2]) for r in t_rows],
                      "stop": [pd.NaT if r[3] is None else day(r[3]) for r in t_rows]})
    return fu(*f_rows), rel(*r_rows) if r_rows else rel((0, 0)).iloc[:0], t


@given(cohorts())
def test_partition_counts_add_up_and_pooled_is_sum_over_sum(data):
    f, r, t = data
    ep = treatment_epochs(t, DmtOptions(onset_delay_days=0))
    res = annualised_relapse_rate(r, f, ep)
    per = res.per_patient.set_index("subject")
    on = res.per_epoch.groupby("subject")["relapses"].sum()
    days_on = res.per_epoch.groupby("subject")["days"].sum()
    for sid in per.index:
        # epochs partition follow-up, so every relapse is counted exactly once
        assert on[sid] == per.loc[sid, "relapses"]
        assert days_on[sid] == per.loc[sid, "days"]
    pooled = res.pooled.set_index(["window", "drug"])
    tot = per["relapses"].sum() / (per["days"].sum() / Y)
    assert pooled.loc[("followup", "all"), "arr"] == pytest.approx(tot)
    assert pooled.loc[("on_treatment", "all"), "arr"] == pytest.approx(tot)
    rep = res.rates[res.rates["status"] == "reported"]
    assert (rep["days"] >= 183).all() and rep["arr"].notna().all()
    assert res.rates.loc[res.rates["status"] != "reported", "arr"].isna().all()


# ---------------------------------------------------------------------------------------------
# differential: msclinical 0.1.0 (epochs.arr_by_drug, table1) and mstrial 0.1.0 (endpoints)


def _cohort(seed: int, n: int = 50):
    rng = np.random.default_rng(seed)
    drugs = ["fingolimod", "teriflunomide", "dimethyl fumarate", "glatiramer acetate"]
    t_rows, f_rows, r_rows = [], [], []
    base = pd.Timestamp("2015-01-01")
    for pid in range(1, n + 1):
        fs = base + pd.Timedelta(days=int(rng.integers(0, 300)))
        t = fs + pd.Timedelta(days=int(rng.integers(0, 200)))
        for _ in range(int(rng.integers(1, 4))):
            stop = t + pd.Timedelta(days=int(rng.integers(20, 900)))
            t_rows.append((pid, drugs[int(rng.integers(0, 4))], t, stop))
            t = stop + pd.Timedelta(days=int(rng.integers(1, 200)))
        fe = t + pd.Timedelta(days=int(rng.integers(0, 400)))
        f_rows.append((pid, fs, fe, "A" if pid % 2 else "B"))
        span = (fe - fs).days
        for _ in range(int(rng.integers(0, 6))):
            r_rows.append((pid, fs + pd.Timedelta(days=int(rng.integers(0, span + 1)))))
        if rng.random() < 0.3:  # a relapse on the first day of follow-up
            r_rows.append((pid, fs))
    return (pd.DataFrame(t_rows, columns=["patient", "drug", "start", "stop"]),
            pd.DataFrame(f_rows, columns=["patient", "start", "end", "arm"]),
            pd.DataFrame(r_rows, columns=["patient", "date"]))


#: msclinical and mstrial count every row as a relapse: relapse hygiene's 30-day merge off
PEER_COUNTING = RelapseOptions(merge_days=0)


def _ours(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={"patient": "subject"})


@pytest.mark.parametrize("seed", [11, 12])
def test_differential_msclinical_arr_by_drug(seed):
    """Per-drug pooled on-treatment ARR equals msclinical's with the parity mapping of
    test_rules_dmt.test_differential_msclinical_epochs."""
    mc = importlib.import_module("msclinical.epochs.core")
    tr, f, r = _cohort(seed)
    peer_ep = mc.epochs(tr, f[["patient", "start", "end"]],
                        mc.Rules(gap_days=30, rebaseline_months=0, carryover_days=90,
                                 min_window_days=0))
    peer = mc.arr_by_drug(r, peer_ep).drop(index="none")
    ep = treatment_epochs(_ours(tr), DmtOptions(onset_delay_days=0, carryover_days=88))
    f_closed = _ours(f).assign(end=lambda d: d["end"] - pd.Timedelta(days=1))
    res = annualised_relapse_rate(_ours(r), f_closed, ep, relapse_options=PEER_COUNTING)
    ours = res.pooled[(res.pooled["window"] == "on_treatment") & (res.pooled["drug"] != "all")]
    ours = ours.set_index("drug")
    assert sorted(ours.index) == sorted(peer.index)
    for drug in peer.index:
        assert ours.loc[drug, "relapses"] == peer.loc[drug, "relapses"]
        assert round(ours.loc[drug, "person_years"], 2) == peer.loc[drug, "patient_years"]
        assert round(ours.loc[drug, "arr"], 3) == peer.loc[drug, "arr"]


def _table1_numbers(cell: str) -> tuple[int, float]:
    # "77 / 117 patient-years = 0.66"
    n, rest = cell.split(" / ")
    return int(n), float(rest.split("= ")[1])


@pytest.mark.parametrize("seed", [21, 22])
def test_differential_msclinical_table1_pooled_arr(seed):
    t1 = importlib.import_module("msclinical.table1.core")
    _, f, r = _cohort(seed)
    cells = t1.table1({"patients": f, "relapses": r}, group="arm").loc["Relapses on study, ARR"]
    parity = annualised_relapse_rate(_ours(r), _ours(f),
                                     options=ArrOptions(followup_interval="left_open"),
                                     relapse_options=PEER_COUNTING)
    default = annualised_relapse_rate(_ours(r), _ours(f), relapse_options=PEER_COUNTING)
    arms = _ours(f)[["subject", "arm"]]
    p_par = pooled_arr(parity.per_patient.merge(arms, on="subject"), by="arm").set_index("arm")
    p_def = pooled_arr(default.per_patient.merge(arms, on="subject"), by="arm").set_index("arm")
    rs = _ours(r).merge(_ours(f), on="subject")
    for arm in ("A", "B"):
        n, arr = _table1_numbers(cells[arm])
        assert p_par.loc[arm, "relapses"] == n
        assert round(p_par.loc[arm, "arr"], 2) == arr
        # intended difference: closed follow-up counts relapses on the first day and one
        # more day per patient
        on_first_day = ((rs["arm"] == arm) & (rs["date"] == rs["start"])).sum()
        assert p_def.loc[arm, "relapses"] == n + on_first_day
        n_pat = (f["arm"] == arm).sum()
        assert p_def.loc[arm, "person_years"] == pytest.approx(
            p_par.loc[arm, "person_years"] + n_pat / Y)


def test_differential_mstrial_endpoints_arr():
    ms = importlib.import_module("mstrial.endpoints.core")
    _, f, r = _cohort(31, n=40)
    visits = pd.DataFrame([(p, s + pd.Timedelta(days=90 * k), 2.0)
                           for p, s in zip(f["patient"], f["start"], strict=True)
                           for k in range(3)], columns=["patient", "date", "edss"])
    out = ms.endpoints(f, visits, r, composite=False)
    res = annualised_relapse_rate(_ours(r), _ours(f),
                                  options=ArrOptions(followup_interval="left_open"),
                                  relapse_options=PEER_COUNTING)
    p = pooled_arr(res.per_patient.merge(_ours(f)[["subject", "arm"]], on="subject"),
                   by="arm").set_index("arm")
    for arm in ("A", "B"):
        assert p.loc[arm, "arr"] == pytest.approx(out["arr"][arm], rel=1e-12)
        assert p.loc[arm, "person_years"] == pytest.approx(out["patient_years"][arm], rel=1e-12)
