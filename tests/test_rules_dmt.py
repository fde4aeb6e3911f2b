"""DMT catalogue and treatment epochs (clinical spec 8.1, 8.1b, 8.2, 8.3, 4.0).

Boundary days are those of spec 8.3: same-drug merge at 30/31 days after the last covered day,
carry-over end (last dose + interval + 90), truncation the day before the next DMT, the
alemtuzumab tail (730 days after the last course) and the cladribine epoch (1461 days).
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neda.rules.dmt import EPOCH_COLUMNS, DmtOptions, exposure_windows, treatment_epochs
from neda.rules.dmt_catalogue import (
    CATALOGUE_VERSION,
    STATUS_VALUES,
    catalogue,
    catalogue_frame,
    lookup_drug,
    normalise_name,
)

D0 = pd.Timestamp("2020-01-01")


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def courses(*rows: tuple) -> pd.DataFrame:
    """rows: (subject, drug, start_day, stop_day or None)."""
    return pd.DataFrame({
        "subject": [r[0] for r in rows],
        "drug": [r[1] for r in rows],
        "start": [day(r[2]) for r in rows],
        "stop": [pd.NaT if r[3] is None else day(r[3]) for r in rows],
    })


def ends(ep: pd.DataFrame) -> list:
    return [None if pd.isna(e) else (e - D0).days for e in ep["end"]]


# ---------------------------------------------------------------------------------------------
# catalogue (8.1, 8.1b, 8.2)

SPEC_81_GENERICS = [
    "interferon beta-1a IM", "interferon beta-1a SC", "peginterferon beta-1a",
    "interferon beta-1b", "glatiramer acetate", "teriflunomide", "dimethyl fumarate",
    "diroximel fumarate", "monomethyl fumarate", "fingolimod", "siponimod", "ozanimod",
    "ponesimod", "cladribine", "natalizumab", "ocrelizumab", "ofatumumab", "ublituximab",
    "alemtuzumab", "mitoxantrone", "rituximab", "tolebrutinib", "daclizumab", "AHSCT",
    "azathioprine", "cyclophosphamide",
]


def test_catalogue_has_every_drug_of_8_1():
    names = {d.name for d in catalogue()}
    assert set(SPEC_81_GENERICS) <= names


@pytest.mark.parametrize("name, generic", [
    ("Ocrevus", "ocrelizumab"), ("OCREVUS ZUNOVO", "ocrelizumab"), ("tysabri", "natalizumab"),
    ("Tyruko", "natalizumab"), ("Mavenclad", "cladribine"), ("cladribine tablets", "cladribine"),
    ("Lemtrada", "alemtuzumab"), ("Avonex", "interferon beta-1a IM"),
    ("Rebif", "interferon beta-1a SC"), ("Betaferon", "interferon beta-1b"),
    ("Extavia", "interferon beta-1b"), ("copaxone", "glatiramer acetate"),
    ("Glatopa", "glatiramer acetate"), ("DMF", "dimethyl fumarate"),
    ("Tecfidera®", "dimethyl fumarate"), ("Interferon β-1b", "interferon beta-1b"),
    ("interferon_beta 1a im", "interferon beta-1a IM"), ("  Kesimpta ", "ofatumumab"),
    ("Briumvi", "ublituximab"), ("Cenrifki", "tolebrutinib"), ("Zinbryta", "daclizumab"),
    ("hsct", "AHSCT"), ("Mayzent", "siponimod"), ("Zeposia", "ozanimod"),
    ("Ponvory", "ponesimod"), ("Gilenya", "fingolimod"), ("Aubagio", "teriflunomide"),
    ("Vumerity", "diroximel fumarate"), ("Bafiertam", "monomethyl fumarate"),
    ("Plegridy", "peginterferon beta-1a"),
])
def test_lookup_brand_and_generic(name, generic):
    assert lookup_drug(name).name == generic
    assert lookup_drug(generic).name == generic
    assert lookup_drug(generic.upper()).name == generic


def test_unknown_drug_lists_close_matches():
    with pytest.raises(ValueError) as err:
        lookup_drug("Ocrevuss")
    msg = str(err.value)
    assert "unknown drug 'Ocrevuss'" in msg and "did you mean" in msg and "ocrelizumab" in msg
    with pytest.raises(ValueError, match="fingolimod"):
        lookup_drug("fingolamod")
    with pytest.raises(ValueError, match="catalogue"):
        lookup_drug("aspirin")


def test_every_name_is_unique_and_normalised():
    seen: dict[str, str] = {}
    for d in catalogue():
        for n in d.names:
            key = normalise_name(n)
            assert seen.setdefault(key, d.name) == d.name, n
            assert lookup_drug(n) is d


def test_catalogue_fields():
    frame = catalogue_frame()
    assert len(frame) == len(catalogue())
    assert CATALOGUE_VERSION
    for d in catalogue():
        assert d.eu_status in STATUS_VALUES and d.us_status in STATUS_VALUES
        assert d.label_source and d.evidence in {"V", "M", "C"}
        if d.schedule == "continuous":
            assert d.dosing_interval_days is not None and d.dosing_interval_days >= 1
        else:
            assert d.dosing_interval_days is None


@pytest.mark.parametrize("name, interval", [
    ("fingolimod", 1), ("interferon beta-1b", 2), ("interferon beta-1a IM", 7),
    ("peginterferon beta-1a", 14), ("natalizumab", 28), ("ocrelizumab", 183),
    ("ublituximab", 168), ("ofatumumab", 28), ("rituximab", 183), ("glatiramer acetate", 1),
    ("alemtuzumab", None), ("cladribine", None), ("AHSCT", None),
])
def test_dosing_intervals_of_8_3(name, interval):
    assert lookup_drug(name).dosing_interval_days == interval


@pytest.mark.parametrize("name, a, b, c", [
    ("interferon beta-1a IM", "moderate", "category_1", "lower"),
    ("glatiramer acetate", "moderate", "category_1", "lower"),
    ("teriflunomide", "moderate", "category_1", "lower"),
    ("dimethyl fumarate", "moderate", "category_1", "lower"),
    ("diroximel fumarate", "moderate", None, "lower"),
    ("fingolimod", "moderate_high", "category_1", "lower"),
    ("siponimod", "moderate_high", None, "lower"),
    ("cladribine", "high", None, "lower"),
    ("natalizumab", "high", "category_2", "higher"),
    ("alemtuzumab", "high", "category_2", "higher"),
    ("ocrelizumab", "high", None, "higher"),
    ("rituximab", "high", None, "higher"),
    ("ofatumumab", "high", None, None),
    ("ublituximab", "high", None, None),
    ("mitoxantrone", "high", None, "higher"),
    ("tolebrutinib", None, None, None),
    ("daclizumab", None, None, None),
    ("AHSCT", None, None, None),
])
def test_efficacy_mappings_of_8_2(name, a, b, c):
    d = lookup_drug(name)
    assert (d.efficacy("A"), d.efficacy("b"), d.efficacy("C")) == (a, b, c)
    with pytest.raises(ValueError, match="mapping"):
        d.efficacy("D")


@pytest.mark.parametrize("name, eu, us", [
    ("daclizumab", "withdrawn", "withdrawn"),
    ("monomethyl fumarate", "not_approved", "approved"),
    ("tolebrutinib", "approved", "not_approved"),
    ("glatiramer acetate", "approved_nationally", "approved"),
    ("rituximab", "off_label", "off_label"),
    ("azathioprine", "approved_nationally", "off_label"),
    ("mitoxantrone", "approved_nationally", "approved"),
    ("AHSCT", "procedure", "procedure"),
    ("siponimod", "approved", "approved"),
])
def test_regulatory_status_of_8_1b(name, eu, us):
    d = lookup_drug(name)
    assert (d.eu_status, d.us_status) == (eu, us)


def test_siponimod_eu_us_indications_differ():
    d = lookup_drug("siponimod")
    assert "SPMS" in (d.eu_indication or "") and "Relapsing" in (d.us_indication or "")


# ---------------------------------------------------------------------------------------------
# epochs: output contract


def test_output_has_exactly_the_documented_columns():
    ep = treatment_epochs(courses((1, "Gilenya", 0, 100)))
    assert list(ep.columns) == list(EPOCH_COLUMNS)
    row = ep.iloc[0]
    assert (row.subject, row.epoch, row.drug, row.route, row.drug_class, row.efficacy) == (
        1, 1, "fingolimod", "oral", "s1p_modulator", "moderate_high")
    assert row.start == day(0) and row.onset == day(183) and row.end == day(100 + 1 + 90)
    assert row.end_reason == "stop"
    for col in ("start", "onset", "end"):
        assert pd.api.types.is_datetime64_any_dtype(ep[col])
    prov = ep.attrs["provenance"]
    assert prov["rule_set"] == "spec_defaults" and prov["options"]["carryover_days"] == 90
    assert prov["catalogue_version"] == CATALOGUE_VERSION


def test_empty_input():
    t = courses((1, "Gilenya", 0, 1)).iloc[:0]
    ep = treatment_epochs(t)
    assert list(ep.columns) == list(EPOCH_COLUMNS) and len(ep) == 0


def test_id_column_and_string_dates():
    t = pd.DataFrame({"id": [7], "drug": ["Tecfidera"], "start": ["2020-01-01"], "stop": [None]})
    ep = treatment_epochs(t)
    assert ep["subject"].tolist() == [7] and ep["end_reason"].tolist() == ["ongoing"]


def test_efficacy_mapping_option():
    t = courses((1, "Tysabri", 0, 300))
    assert treatment_epochs(t, DmtOptions(efficacy_mapping="B"))["efficacy"][0] == "category_2"
    assert treatment_epochs(t, DmtOptions(efficacy_mapping="C"))["efficacy"][0] == "higher"
    assert treatment_epochs(t, DmtOptions(efficacy_mapping="B")).attrs["provenance"][
        "rule_set"] == "custom"
    with pytest.raises(ValueError, match="efficacy_mapping"):
        treatment_epochs(t, DmtOptions(efficacy_mapping="Z"))


# ---------------------------------------------------------------------------------------------
# epochs: rules at their boundary days


@pytest.mark.parametrize("restart, n_epochs", [(130, 1), (131, 2)])
def test_same_drug_merge_boundary_daily_drug(restart, n_epochs):
    # daily drug, last dose day 100 covers day 100; restart 30 days later merges, 31 does not
    ep = treatment_epochs(courses((1, "fingolimod", 0, 100), (1, "Gilenya", restart, 400)))
    assert len(ep) == n_epochs
    if n_epochs == 1:
        assert ends(ep) == [400 + 1 + 90]
    else:
        assert ends(ep) == [restart - 1, 400 + 91]
        assert ep["end_reason"].tolist() == ["restart", "stop"]


@pytest.mark.parametrize("gap, n_epochs", [(212, 1), (213, 2)])
def test_same_drug_merge_counts_from_the_end_of_the_dosing_interval(gap, n_epochs):
    # infusion-by-infusion records of ocrelizumab (interval 183): last covered day = d + 182
    ep = treatment_epochs(courses((1, "Ocrevus", 0, 0), (1, "Ocrevus", gap, gap)))
    assert len(ep) == n_epochs


def test_per_record_dosing_interval_overrides():
    t = courses((1, "natalizumab", 0, 500))
    assert ends(treatment_epochs(t)) == [500 + 28 + 90]
    t["dosing_interval_days"] = [42]  # extended-interval dosing (spec 8.3)
    assert ends(treatment_epochs(t)) == [500 + 42 + 90]
    t["dosing_interval_days"] = [0.5]
    with pytest.raises(ValueError, match="dosing_interval_days"):
        treatment_epochs(t)


@pytest.mark.parametrize("next_start, end, reason", [
    (191, 190, "switch"),   # next DMT on the computed end day -> truncated
    (192, 191, "stop"),     # day after the computed end: carry-over complete
    (101, 100, "switch"),   # day after the last dose: switch
    (100, 99, "overlap"),   # on the last-dose day: overlapping courses
    (50, 49, "overlap"),    # during the course
])
def test_carry_over_and_truncation_boundaries(next_start, end, reason):
    ep = treatment_epochs(courses((1, "teriflunomide", 0, 100), (1, "ocrelizumab", next_start,
                                                                 None)))
    assert ends(ep) == [end, None]
    assert ep["end_reason"].tolist() == [reason, "ongoing"]
    assert ep["start"].tolist() == [day(0), day(next_start)]


def test_carry_over_option():
    ep = treatment_epochs(courses((1, "teriflunomide", 0, 100)), DmtOptions(carryover_days=0))
    assert ends(ep) == [101]


def test_onset_delay_default_and_variant():
    t = courses((1, "ocrelizumab", 0, None))
    assert treatment_epochs(t)["onset"][0] == day(183)
    assert treatment_epochs(t, DmtOptions(onset_delay_days=91))["onset"][0] == day(91)


def test_ongoing_then_switch_is_overlap():
    ep = treatment_epochs(courses((1, "Copaxone", 0, None), (1, "Mavenclad", 400, 404)))
    assert ep["end_reason"].tolist() == ["overlap", "tail_end"]
    assert ends(ep) == [399, 400 + 1461]


def test_switches_several_drugs_and_subjects():
    t = courses((1, "Avonex", 0, 300), (1, "Tecfidera", 350, 700), (1, "Ocrevus", 720, None),
                (2, "Kesimpta", 10, None))
    ep = treatment_epochs(t)
    assert ep["subject"].tolist() == [1, 1, 1, 2]
    assert ep["epoch"].tolist() == [1, 2, 3, 1]
    assert ep["drug"].tolist() == ["interferon beta-1a IM", "dimethyl fumarate", "ocrelizumab",
                                   "ofatumumab"]
    assert ends(ep) == [349, 719, None, None]
    assert ep["end_reason"].tolist() == ["switch", "switch", "ongoing", "ongoing"]


def test_nested_course_later_drug_takes_over():
    # the earlier drug is not resumed after the nested course (documented difference)
    ep = treatment_epochs(courses((1, "fingolimod", 0, 1000), (1, "natalizumab", 100, 200)))
    assert ends(ep) == [99, 200 + 28 + 90]
    assert ep["end_reason"].tolist() == ["overlap", "stop"]


@pytest.mark.parametrize("third, n_epochs", [(365 + 730, 1), (365 + 731, 2)])
def test_alemtuzumab_tail(third, n_epochs):
    t = courses((1, "Lemtrada", 0, 4), (1, "alemtuzumab", 365, 367),
                (1, "alemtuzumab", third, third + 2))
    ep = treatment_epochs(t)
    assert len(ep) == n_epochs
    if n_epochs == 1:
        assert ends(ep) == [third + 730]
    else:
        assert ends(ep) == [365 + 730, third + 730]
    assert set(ep["end_reason"]) == {"tail_end"}


def test_alemtuzumab_then_ocrelizumab_switch():
    ep = treatment_epochs(courses((1, "Lemtrada", 0, 4), (1, "Lemtrada", 365, 367),
                                  (1, "Ocrevus", 900, None)))
    assert ends(ep) == [899, None] and ep["end_reason"].tolist() == ["switch", "ongoing"]


@pytest.mark.parametrize("next_start, end, reason", [
    (1461, 1460, "switch"), (1462, 1461, "tail_end")])
def test_cladribine_epoch(next_start, end, reason):
    # two yearly courses of two treatment weeks each; epoch = first course start + 1461 days
    t = courses((1, "Mavenclad", 0, 4), (1, "Mavenclad", 30, 34), (1, "cladribine", 365, 369),
                (1, "cladribine", 395, 399), (1, "ocrelizumab", next_start, None))
    ep = treatment_epochs(t)
    assert len(ep) == 2 and ends(ep)[0] == end and ep["end_reason"][0] == reason


def test_ahsct_is_open_ended():
    ep = treatment_epochs(courses((1, "AHSCT", 0, 20)))
    assert ends(ep) == [None] and ep["end_reason"].tolist() == ["ongoing"]
    ep = treatment_epochs(courses((1, "AHSCT", 0, 20), (1, "rituximab", 900, 900)))
    assert ends(ep) == [899, 900 + 183 + 90]
    assert ep["end_reason"].tolist() == ["switch", "stop"]


# ---------------------------------------------------------------------------------------------
# bad input: clear errors naming the row


def test_unknown_drug_error_names_the_row():
    t = courses((1, "Gilenya", 0, 100), (5, "Tysabry", 200, None))
    with pytest.raises(ValueError) as err:
        treatment_epochs(t)
    msg = str(err.value)
    assert "treatments row 1" in msg and "subject 5" in msg and "natalizumab" in msg


def test_stop_before_start_error():
    with pytest.raises(ValueError, match=r"row 0 .*stop 2019-12-31 is before start 2020-01-01"):
        treatment_epochs(courses((3, "Gilenya", 0, -1)))


def test_missing_start_error():
    t = courses((3, "Gilenya", 0, 10))
    t.loc[0, "start"] = pd.NaT
    with pytest.raises(ValueError, match="missing start"):
        treatment_epochs(t)


@pytest.mark.parametrize("second_start", [50, 99])
def test_overlapping_courses_of_the_same_drug(second_start):
    t = courses((2, "Tecfidera", 0, 100), (2, "dimethyl fumarate", second_start, 300))
    with pytest.raises(ValueError, match=r"rows 0 and 1 \(subject 2\): overlapping courses of "
                                         "dimethyl fumarate"):
        treatment_epochs(t)


def test_same_drug_touching_courses_merge():
    ep = treatment_epochs(courses((2, "Tecfidera", 0, 100), (2, "Tecfidera", 100, 300)))
    assert len(ep) == 1 and ends(ep) == [391]


def test_ongoing_course_then_same_drug_is_an_overlap_error():
    with pytest.raises(ValueError, match="overlapping"):
        treatment_epochs(courses((2, "Tecfidera", 0, None), (2, "Tecfidera", 500, 600)))


def test_two_drugs_same_start_day_error():
    with pytest.raises(ValueError, match="start on the same day"):
        treatment_epochs(courses((2, "Tecfidera", 0, 50), (2, "Gilenya", 0, 60)))


# ---------------------------------------------------------------------------------------------
# exposure windows (8.3)


def test_exposure_windows_cut_to_followup():
    ep = treatment_epochs(courses((1, "Copaxone", 0, 400), (1, "Ocrevus", 450, None),
                                  (2, "Gilenya", 0, None)))
    fu = pd.DataFrame({"subject": [1], "start": [day(-100)], "end": [day(1000)]})
    w = exposure_windows(ep, fu)
    assert w["window_start"].tolist() == [day(183), day(450 + 183), day(183)]
    assert w["window_end"].tolist()[:2] == [day(449), day(1000)]
    assert w["days"].tolist()[:2] == [449 - 183 + 1, 1000 - 633 + 1]
    assert w["flags"].tolist() == ["", "ongoing", "ongoing;no_followup"]
    w2 = exposure_windows(ep)
    assert pd.isna(w2["days"][1]) and w2["window_end"][0] == day(449)


# ---------------------------------------------------------------------------------------------
# properties

DRUGS = ["fingolimod", "Tecfidera", "ocrelizumab", "natalizumab", "Lemtrada", "Mavenclad",
         "AHSCT", "Avonex"]


@st.composite
def treatment_tables(draw):
    rows = []
    for sid in range(draw(st.integers(1, 4))):
        t = draw(st.integers(0, 50))
        for _ in range(draw(st.integers(1, 6))):
            drug = draw(st.sampled_from(DRUGS))
            dur = draw(st.integers(0, 900))
            stop = None if draw(st.integers(0, 5)) == 0 else t + dur
            rows.append([sid, drug, t, stop])
            t += draw(st.integers(1, 500))
    # no overlapping courses of one drug: cut an earlier course at the next start
    for i, r in enumerate(rows):
        for later in rows[i + 1:]:
            if later[0] == r[0] and lookup_drug(later[1]) is lookup_drug(r[1]):
                if r[3] is None or r[3] > later[2]:
                    r[3] = later[2]
                break
    return courses(*[tuple(r) for r in rows])


@given(treatment_tables(), st.integers(0, 200), st.integers(0, 60))
def test_epochs_never_overlap_and_every_row_is_accounted_for(t, carry, merge):
    opts = DmtOptions(carryover_days=carry, same_drug_merge_days=merge)
    ep = treatment_epochs(t, opts)
    assert len(ep) <= len(t)
    for sid, g in ep.groupby("subject"):
        g = g.sort_values("epoch")
        assert g["epoch"].tolist() == list(range(1, len(g) + 1))
        assert g["start"].is_monotonic_increasing
        starts = g["start"].tolist()
        end_list = g["end"].tolist()
        for k in range(len(g)):
            if pd.notna(end_list[k]):
                assert end_list[k] >= starts[k]
            if k + 1 < len(g):
                assert pd.notna(end_list[k]) and end_list[k] < starts[k + 1]
        # every course lies in an epoch of its drug that starts on or before it
        for r in t[t["subject"] == sid].itertuples():
            name = lookup_drug(r.drug).name
            hit = g[(g["drug"] == name) & (g["start"] <= r.start)
                    & (g["end"].isna() | (g["end"] >= r.start))]
            assert len(hit) == 1, (r, g)
    assert set(ep["end_reason"]) <= {"stop", "tail_end", "switch", "overlap", "restart",
                                     "ongoing"}
    assert (ep["end"].isna() == (ep["end_reason"] == "ongoing")).all()


# ---------------------------------------------------------------------------------------------
# differential: msclinical 0.1.0 `epochs` (MIT)


def _random_sequential_courses(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    drugs = ["fingolimod", "teriflunomide", "dimethyl fumarate", "glatiramer acetate"]
    t_rows, f_rows = [], []
    base = pd.Timestamp("2015-01-01")
    for pid in range(1, n + 1):
        fs = base + pd.Timedelta(days=int(rng.integers(0, 300)))
        t = fs + pd.Timedelta(days=int(rng.integers(0, 200)))
        for _ in range(int(rng.integers(1, 4))):
            stop = t + pd.Timedelta(days=int(rng.integers(20, 900)))
            t_rows.append((pid, drugs[int(rng.integers(0, 4))], t, stop))
            t = stop + pd.Timedelta(days=int(rng.integers(1, 200)))
        f_rows.append((pid, fs, t + pd.Timedelta(days=int(rng.integers(0, 400)))))
    return (pd.DataFrame(t_rows, columns=["patient", "drug", "start", "stop"]),
            pd.DataFrame(f_rows, columns=["patient", "start", "end"]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_differential_msclinical_epochs(seed):
    """Daily drugs, sequential courses inside follow-up: same epochs and windows.

    Parity mapping (docs/differences.md, DMT): msclinical windows are [ws, we) with the
    carry-over counted from the last-dose day and the drug segment ending at the stop day;
    ours are closed [onset, end] with end = last dose + interval (1) + carry-over. So our
    carry-over 88 reproduces its 90, onset delay 0 its rebaseline_months 0, and its
    follow-up end is exclusive.
    """
    mc = importlib.import_module("msclinical.epochs.core")
    tr, fu = _random_sequential_courses(seed)
    peer = mc.epochs(tr, fu, mc.Rules(gap_days=30, rebaseline_months=0, carryover_days=90,
                                      min_window_days=0))
    peer = peer[peer["drug"] != "none"].reset_index(drop=True)
    ours = treatment_epochs(tr.rename(columns={"patient": "subject"}),
                            DmtOptions(onset_delay_days=0, carryover_days=88))
    fu_closed = fu.rename(columns={"patient": "subject"}).assign(
        end=lambda d: d["end"] - pd.Timedelta(days=1))
    win = exposure_windows(ours, fu_closed)
    assert len(peer) == len(ours)
    assert peer["patient"].tolist() == ours["subject"].tolist()
    assert peer["drug"].tolist() == ours["drug"].tolist()
    assert pd.to_datetime(peer["start"]).tolist() == ours["start"].tolist()
    assert pd.to_datetime(peer["window_start"]).tolist() == win["window_start"].tolist()
    peer_last_day = pd.to_datetime(peer["window_end"]) - pd.Timedelta(days=1)
    assert peer_last_day.tolist() == win["window_end"].tolist()
    assert peer["window_days"].tolist() == win["days"].tolist()


def test_differential_msclinical_intended_differences():
    """Documented differences: calendar-month onset vs 183 days; nested courses resume."""
    mc = importlib.import_module("msclinical.epochs.core")
    fu = pd.DataFrame({"patient": [1], "start": ["2021-01-01"], "end": ["2024-01-01"]})
    tr = pd.DataFrame({"patient": [1], "drug": ["fingolimod"], "start": ["2021-01-31"],
                       "stop": ["2022-06-30"]})
    peer = mc.epochs(tr, fu, mc.Rules())
    peer = peer[peer["drug"] == "fingolimod"].reset_index(drop=True)
    ours = treatment_epochs(tr.rename(columns={"patient": "subject"}))
    # 6 calendar months after 31 Jan is 31 Jul (181 days); spec 0.2 fixes 6 months = 183 days
    assert str(peer["window_start"][0]) == "2021-07-31"
    assert ours["onset"][0] == pd.Timestamp("2021-08-02")
    # nested course: msclinical resumes the outer drug, we let the later drug take over
    tr2 = pd.DataFrame({"patient": [1, 1], "drug": ["fingolimod", "natalizumab"],
                        "start": ["2021-01-01", "2021-06-01"], "stop": ["2023-06-01",
                                                                        "2021-09-01"]})
    peer2 = mc.epochs(tr2, fu, mc.Rules())
    assert peer2["drug"].tolist()[:3] == ["fingolimod", "natalizumab", "fingolimod"]
    ours2 = treatment_epochs(tr2.rename(columns={"patient": "subject"}))
    assert ours2["drug"].tolist() == ["fingolimod", "natalizumab"]
    assert ours2["end_reason"].tolist() == ["overlap", "stop"]


def test_differential_msclinical_pulsed_and_per_infusion_records():
    """Documented differences 5 and 8: per-infusion ocrelizumab records and alemtuzumab courses
    leave msclinical with empty analysis windows; neda makes one epoch with the 8.3 end."""
    mc = importlib.import_module("msclinical.epochs.core")
    fu = pd.DataFrame({"patient": [1], "start": ["2020-01-01"], "end": ["2023-01-01"]})
    ocr = pd.DataFrame({"patient": [1, 1, 1], "drug": ["ocrelizumab"] * 3,
                        "start": ["2020-01-10", "2020-07-10", "2021-01-10"],
                        "stop": ["2020-01-24", "2020-07-10", "2021-01-10"]})
    peer = mc.epochs(ocr, fu, mc.Rules())
    assert peer.loc[peer["drug"] == "ocrelizumab", "window_days"].sum() == 0
    ours = treatment_epochs(ocr.rename(columns={"patient": "subject"}))
    assert len(ours) == 1 and ours["end"][0] == pd.Timestamp("2021-01-10") + pd.Timedelta(
        days=183 + 90)
    alem = pd.DataFrame({"patient": [1, 1], "drug": ["alemtuzumab"] * 2,
                         "start": ["2020-01-10", "2021-01-10"],
                         "stop": ["2020-01-14", "2021-01-12"]})
    peer = mc.epochs(alem, fu, mc.Rules())
    assert (peer["drug"] == "alemtuzumab").sum() == 2
    assert peer.loc[peer["drug"] == "alemtuzumab", "window_days"].sum() == 0
    ours = treatment_epochs(alem.rename(columns={"patient": "subject"}))
    assert len(ours) == 1 and ours["end"][0] == pd.Timestamp("2021-01-10") + pd.Timedelta(
        days=730)


def test_partial_treatment_dates_are_rejected():
    t = pd.DataFrame({"subject": [1], "drug": ["Gilenya"], "start": ["2020-05"], "stop": [""]})
    with pytest.raises(ValueError, match=r"row 0 .*not a full date"):
        treatment_epochs(t)
    t["start"] = ["2020-05-01"]
    assert treatment_epochs(t)["end_reason"].tolist() == ["ongoing"]
