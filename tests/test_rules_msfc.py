"""MSFC z-scores (clinical spec 7.1, reason codes 2.2): hand-computed examples and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neda.rules.msfc import (
    RESULT_COLUMNS,
    MsfcOptions,
    MsfcReference,
    msfc_scores,
    timed_test_value,
)

# Task Force reference (spec 7.1): 9HPT 0.0439 +- 0.0101, T25FW 9.5353 +- 11.4058, PASAT
# 45.0311 +- 12.0771.
M9, S9, MT, ST, MP, SP = 0.0439, 0.0101, 9.5353, 11.4058, 45.0311, 12.0771


def visit(**values: object) -> pd.DataFrame:
    row = {"subject": 1, "date": "2020-01-01"}
    row.update(values)
    return pd.DataFrame([row])


def full_visit(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "t25fw_trial1": 6.0, "t25fw_trial2": 8.0,
        "nhpt_dominant_trial1": 19.0, "nhpt_dominant_trial2": 21.0,
        "nhpt_nondominant_trial1": 25.0, "nhpt_nondominant_trial2": 25.0,
        "pasat": 50.0,
    }
    row.update(over)
    return row


# ------------------------------------------------------------------------- trial values
def test_timed_value_mean_of_trials():
    assert timed_test_value(6.0, 8.0) == 7.0  # (6 + 8) / 2
    assert timed_test_value(6.0, None) == 6.0  # one trial if the other is missing
    assert math.isnan(timed_test_value(None, float("nan")))


def test_incapacity_values_per_reason_code():
    # T25FW unable because of MS -> 165.7948 s per trial (= 9.5353 + 13.7 x 11.4058)
    assert timed_test_value(None, None, "unable_ms", "unable_ms") == pytest.approx(165.7948)
    # the spec's value is that sum rounded to 4 decimals (165.79476 -> 165.7948)
    assert abs((9.5353 + 13.7 * 11.4058) - 165.7948) < 5e-5
    # one completed trial 10 s and one unable_ms: (10 + 165.7948) / 2 = 87.8974
    assert timed_test_value(10.0, None, "completed", "unable_ms") == pytest.approx(87.8974)
    # 9HPT unable_ms -> 777 s per trial; a value recorded with unable_ms is replaced
    assert timed_test_value(200.0, 250.0, "unable_ms", "UNABLE_MS", "9hpt") == 777.0
    # unable_other -> that trial is missing, the other one stands
    assert timed_test_value(30.0, 24.0, "unable_other", "completed", "9hpt") == 24.0
    assert math.isnan(timed_test_value(30.0, 24.0, "unable_other", "unable_other", "nhpt"))
    # PASAT: 0 when unable because of MS, missing otherwise
    assert timed_test_value(None, None, "unable_ms", None, "pasat") == 0.0
    assert math.isnan(timed_test_value(None, None, "unable_other", None, "pasat"))
    # SDMT: no spec rule -> missing by default, a number when configured
    assert math.isnan(timed_test_value(None, None, "unable_ms", None, "sdmt"))
    opts = MsfcOptions(reference="custom", cognitive_component="sdmt", unable_sdmt_score=0)
    assert timed_test_value(None, None, "unable_ms", None, "sdmt", opts) == 0.0


def test_time_limit_counts_as_unable_ms_unless_a_reason_is_recorded():
    # T25FW stopped at 180 s, no reason -> unable_ms -> 165.7948 (not 180: spec 7.1)
    assert timed_test_value(180.0, 181.0) == pytest.approx(165.7948)
    # 179.9 s is below the limit: kept
    assert timed_test_value(179.9, None) == pytest.approx(179.9)
    # the rater recorded "completed": the time stands
    assert timed_test_value(180.0, None, "completed") == 180.0
    # 9HPT limit 300 s
    assert timed_test_value(300.0, 20.0, None, None, "9hpt") == (777.0 + 20.0) / 2


def test_missing_variant_makes_unable_ms_trials_missing():
    opts = MsfcOptions(timed_unable_rule="missing")
    assert timed_test_value(10.0, None, "completed", "unable_ms", "t25fw", opts) == 10.0
    assert math.isnan(timed_test_value(None, None, "unable_ms", "unable_ms", "t25fw", opts))
    assert math.isnan(timed_test_value(None, None, "unable_ms", None, "pasat", opts))


def test_timed_value_vectorised_matches_scalars():
    t1 = np.array([6.0, np.nan, 30.0, 200.0])
    t2 = np.array([8.0, 5.0, np.nan, np.nan])
    r1 = np.array([None, "unable_other", "unable_ms", None], dtype=object)
    r2 = np.array([None, None, None, "unable_other"], dtype=object)
    got = timed_test_value(t1, t2, r1, r2, "t25fw")
    want = [timed_test_value(a, b, c, d, "t25fw") for a, b, c, d in zip(t1, t2, r1, r2,
                                                                        strict=True)]
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(got, [7.0, 5.0, 165.7948, 165.7948])


def test_bad_trial_input_is_named():
    with pytest.raises(ValueError, match="unknown reason code 'refused'"):
        timed_test_value(5.0, None, "refused")
    with pytest.raises(ValueError, match="positive time"):
        timed_test_value(0.0, 5.0)
    with pytest.raises(ValueError, match="0 to 60"):
        timed_test_value(61, None, None, None, "pasat")
    with pytest.raises(ValueError, match="unknown test"):
        timed_test_value(5.0, test="6mw")
    frame = visit(**full_visit(t25fw_reason1="fell"))
    with pytest.raises(ValueError, match=r"subject 1, date 2020-01-01.*'fell'"):
        msfc_scores(frame)


# ---------------------------------------------------------------------------- z-scores
def test_taskforce_composite_hand_computed():
    out = msfc_scores(visit(**full_visit()))
    row = out.iloc[0]
    # T25FW = (6 + 8) / 2 = 7 s; z = (7 - 9.5353) / 11.4058 = -0.2222816...
    assert row["t25fw"] == 7.0
    assert row["z_t25fw"] == pytest.approx((7.0 - MT) / ST)
    assert row["z_t25fw"] == pytest.approx(-0.2222816, abs=1e-7)
    # 9HPT: dominant (19 + 21) / 2 = 20 s, non-dominant 25 s;
    # score = (1/20 + 1/25) / 2 = (0.05 + 0.04) / 2 = 0.045; z = (0.045 - 0.0439) / 0.0101
    assert row["nhpt_score"] == pytest.approx(0.045)
    assert row["z_9hpt"] == pytest.approx(0.0011 / 0.0101)  # 0.1089109
    # PASAT 50: z = (50 - 45.0311) / 12.0771 = 0.4114316
    assert row["z_pasat"] == pytest.approx(4.9689 / 12.0771)
    # MSFC = (0.1089109 - (-0.2222816) + 0.4114316) / 3 = 0.2475414
    assert row["msfc"] == pytest.approx((0.0011 / 0.0101 + 2.5353 / 11.4058 + 4.9689 / 12.0771)
                                        / 3)
    assert row["msfc"] == pytest.approx(0.2475414, abs=1e-7)
    assert row["components"] == 3 and row["reason"] is None and row["incapacity"] == ""
    assert list(out.columns) == list(RESULT_COLUMNS)
    assert out.attrs["provenance"]["rule_set"] == "msfc/taskforce_2001/pasat/incapacity_value"
    assert out.attrs["provenance"]["reference"]["values"]["pasat"] == [MP, SP]


def test_incapacity_composite_hand_computed():
    row = msfc_scores(visit(
        t25fw_reason1="unable_ms", t25fw_reason2="unable_ms",
        nhpt_dominant_reason1="unable_ms", nhpt_dominant_reason2="unable_ms",
        nhpt_nondominant_trial1=25.0, nhpt_nondominant_trial2=25.0,
        pasat_reason="unable_ms")).iloc[0]
    # T25FW 165.7948 s: z = (165.7948 - 9.5353) / 11.4058 = 13.700004 (worst Task Force z
    # 13.7; the substitute value is rounded to 4 decimals)
    zt = (165.7948 - MT) / ST
    assert row["z_t25fw"] == pytest.approx(zt) and zt == pytest.approx(13.7, abs=1e-5)
    # 9HPT: (1/777 + 1/25) / 2 = (0.0012870 + 0.04) / 2 = 0.0206435
    assert row["nhpt_score"] == pytest.approx((1 / 777 + 1 / 25) / 2)
    z9 = ((1 / 777 + 1 / 25) / 2 - M9) / S9  # -2.3085...
    # PASAT 0: z = -45.0311 / 12.0771 = -3.7286...
    zp = -MP / SP
    assert row["msfc"] == pytest.approx((z9 - zt + zp) / 3)
    assert row["incapacity"] == "t25fw,9hpt,pasat"


def test_composite_missing_when_a_component_is_missing():
    row = msfc_scores(visit(**full_visit(nhpt_nondominant_trial1=None,
                                         nhpt_nondominant_trial2=None))).iloc[0]
    assert math.isnan(row["msfc"]) and math.isnan(row["z_9hpt"])
    assert row["components"] == 2
    assert row["reason"] == "missing component: 9HPT (non-dominant hand)"
    row = msfc_scores(visit(**full_visit(pasat=None, pasat_reason="unable_other"))).iloc[0]
    assert row["reason"] == "missing component: PASAT-3"


def test_visit_values_and_trials_combine():
    # visit-level columns (data model) work without trials; trials win where present
    frame = pd.DataFrame({
        "subject": [1, 1], "date": ["2020-01-01", "2021-01-01"],
        "t25fw": [7.0, 99.0], "t25fw_trial1": [np.nan, 6.0], "t25fw_trial2": [np.nan, 8.0],
        "nhpt_dominant": [20.0, 20.0], "nhpt_nondominant": [25.0, 25.0], "pasat": [50, 50]})
    out = msfc_scores(frame)
    assert out["t25fw"].tolist() == [7.0, 7.0]
    assert out["msfc"].iloc[0] == pytest.approx(0.2475414, abs=1e-7)


def test_combined_nhpt_column():
    row = msfc_scores(visit(t25fw=7.0, nhpt=20.0, pasat=50)).iloc[0]
    # score = 1/20 = 0.05; z = (0.05 - 0.0439) / 0.0101 = 0.6039604
    assert row["nhpt_combined"] and row["nhpt_score"] == pytest.approx(0.05)
    assert row["z_9hpt"] == pytest.approx(0.0061 / 0.0101)
    ignore = msfc_scores(visit(t25fw=7.0, nhpt=20.0, pasat=50),
                         MsfcOptions(nhpt_combined_column="ignore")).iloc[0]
    assert math.isnan(ignore["msfc"])


# --------------------------------------------------------------------------- references
def test_sdmt_with_taskforce_is_a_configuration_error():
    with pytest.raises(ValueError, match="no Task Force SDMT"):
        MsfcOptions(cognitive_component="sdmt")
    with pytest.raises(ValueError, match="no sdmt mean/SD"):
        MsfcReference.taskforce_2001().get("sdmt")


def test_sdmt_needs_a_user_table():
    opts = MsfcOptions(reference="custom", cognitive_component="sdmt")
    with pytest.raises(ValueError, match="needs reference=MsfcReference.custom"):
        msfc_scores(visit(**full_visit(sdmt=55)), opts)
    partial = MsfcReference.custom({"nhpt": (M9, S9), "t25fw": (MT, ST)})
    with pytest.raises(ValueError, match="no sdmt mean/SD"):
        msfc_scores(visit(**full_visit(sdmt=55)), opts, partial)
    ref = MsfcReference.custom({"nhpt": (M9, S9), "t25fw": (MT, ST), "sdmt": (50.0, 10.0)},
                               name="my_clinic_2024")
    row = msfc_scores(visit(**full_visit(sdmt=55)), opts, ref).iloc[0]
    # z_sdmt = (55 - 50) / 10 = 0.5; MSFC = (0.1089109 + 0.2222816 + 0.5) / 3 = 0.2770642
    assert row["z_sdmt"] == 0.5
    assert row["msfc"] == pytest.approx((0.0011 / 0.0101 + 2.5353 / 11.4058 + 0.5) / 3)
    assert row["reference"] == "my_clinic_2024"
    assert "z_pasat" not in row.index


def test_reference_kind_must_match_options():
    ref = MsfcReference.custom({"nhpt": (M9, S9), "t25fw": (MT, ST), "pasat": (MP, SP)})
    with pytest.raises(ValueError, match="set them alike"):
        msfc_scores(visit(**full_visit()), MsfcOptions(), ref)
    with pytest.raises(ValueError, match="SD positive"):
        MsfcReference.custom({"pasat": (45.0, 0.0)})
    with pytest.raises(ValueError, match="unknown component"):
        MsfcReference.custom({"lcla": (30.0, 5.0)})


def test_cohort_baseline_hand_computed():
    frame = pd.DataFrame({
        "subject": [1, 1, 2, 2],
        "date": ["2020-01-01", "2021-01-01", "2020-03-01", "2021-03-01"],
        "t25fw": [6.0, 7.0, 10.0, 12.0],
        "nhpt_dominant": [20.0, 20.0, 25.0, 25.0],
        "nhpt_nondominant": [20.0, 20.0, 25.0, 25.0],
        "pasat": [40, 45, 50, 50]})
    opts = MsfcOptions(reference="cohort_baseline")
    ref = MsfcReference.cohort_baseline(frame, opts)
    # baseline = first visit of each subject: T25FW 6 and 10 -> mean 8, SD sqrt(8) = 2.8284
    assert ref.values["t25fw"] == pytest.approx((8.0, math.sqrt(8.0)))
    # 9HPT scores 0.05 and 0.04 -> mean 0.045, SD sqrt(2 x 0.005^2) = 0.0070711
    assert ref.values["nhpt"] == pytest.approx((0.045, math.sqrt(2) * 0.005))
    # PASAT 40 and 50 -> mean 45, SD sqrt(50) = 7.0711
    assert ref.values["pasat"] == pytest.approx((45.0, math.sqrt(50.0)))
    assert ref.n["pasat"] == 2
    out = msfc_scores(frame, opts)
    # subject 1 year 1: z_t25fw = (7 - 8) / 2.8284 = -0.35355; z_9hpt = (0.05 - 0.045) /
    # 0.0070711 = 0.70711; z_pasat = 0 -> MSFC = (0.70711 + 0.35355 + 0) / 3 = 0.35355
    assert out["msfc"].iloc[1] == pytest.approx((0.5**0.5 + 1 / 8**0.5) / 3)
    # baseline z-scores average 0
    assert out["msfc"].iloc[[0, 2]].mean() == pytest.approx(0.0, abs=1e-12)
    too_few = frame.iloc[[0]]
    with pytest.raises(ValueError, match=r"fewer than 2 baseline values or no spread: n=1"):
        msfc_scores(too_few, opts)


def test_reciprocal_t25fw_variant_needs_a_user_table():
    with pytest.raises(ValueError, match="reciprocal"):
        MsfcOptions(t25fw_scale="reciprocal")
    ref = MsfcReference.custom({"nhpt": (M9, S9), "t25fw_reciprocal": (0.15, 0.05),
                                "pasat": (MP, SP)})
    row = msfc_scores(visit(**full_visit()), MsfcOptions(reference="custom",
                                                         t25fw_scale="reciprocal"), ref).iloc[0]
    # 1/7 = 0.142857; z = -((0.142857 - 0.15) / 0.05) = 0.142857 (higher = worse kept)
    assert row["z_t25fw"] == pytest.approx(-((1 / 7 - 0.15) / 0.05))


def test_unknown_option_values():
    with pytest.raises(ValueError, match="msfc.reference"):
        MsfcOptions(reference="who_1990")
    with pytest.raises(ValueError, match="timed_unable_rule"):
        MsfcOptions(timed_unable_rule="drop")
    with pytest.raises(ValueError, match="missing column"):
        msfc_scores(pd.DataFrame({"subject": [1]}))


# ------------------------------------------------------------------------------ properties
times = st.floats(min_value=2.0, max_value=170.0, allow_nan=False)
pegs = st.floats(min_value=10.0, max_value=290.0, allow_nan=False)


@given(t=times, extra=st.floats(min_value=0.0, max_value=100.0), h1=pegs, h2=pegs,
       p=st.integers(0, 60), reason=st.sampled_from([None, "completed", "unable_ms"]))
def test_slower_walk_never_gives_a_better_composite(t, extra, h1, h2, p, reason):
    base = full_visit(t25fw_trial1=t, t25fw_trial2=t, nhpt_dominant_trial1=h1,
                      nhpt_dominant_trial2=h1, nhpt_nondominant_trial1=h2,
                      nhpt_nondominant_trial2=h2, pasat=p)
    worse = dict(base, t25fw_trial2=t + extra, t25fw_reason2=reason)
    out = msfc_scores(pd.DataFrame([dict(base, subject=1, date="2020-01-01"),
                                    dict(worse, subject=1, date="2021-01-01")]))
    assert out["msfc"].iloc[1] <= out["msfc"].iloc[0] + 1e-12


@given(h=pegs, extra=st.floats(min_value=0.0, max_value=500.0), p=st.integers(0, 59),
       dp=st.integers(1, 60))
def test_slower_pegs_or_fewer_pasat_answers_never_help(h, extra, p, dp):
    rows = [full_visit(nhpt_dominant_trial1=h, nhpt_dominant_trial2=h, pasat=min(p + dp, 60)),
            full_visit(nhpt_dominant_trial1=h + extra, nhpt_dominant_trial2=h, pasat=p)]
    frame = pd.DataFrame(rows).assign(subject=1, date=["2020-01-01", "2021-01-01"])
    out = msfc_scores(frame)
    assert out["msfc"].iloc[1] < out["msfc"].iloc[0]
    # every z is bounded by the incapacity values: T25FW at most 13.7
    assert (out["z_t25fw"] <= 13.7 + 1e-5).all()


def test_bad_date_is_named():
    with pytest.raises(ValueError, match=r"visits row 0 \(subject 1\): date 'soon' is not a date"):
        msfc_scores(visit(**full_visit(date="soon")))


def test_completed_walk_slower_than_incapacity_scores_as_incapacity() -> None:
    # 166 s completed vs a walk stopped at the 180 s limit (incapacity, 165.7948 s): the
    # slower performance must not score better (found by the monotonicity property).
    visits = pd.DataFrame({"subject": [1, 2], "date": ["2020-01-01", "2020-01-01"],
                           "t25fw": [166.0, 180.0], "nhpt": [20.0, 20.0], "pasat": [40, 40]})
    z = msfc_scores(visits)["z_t25fw"].to_numpy()
    assert z[0] == z[1] == pytest.approx(13.7, abs=1e-4)
    uncapped = msfc_scores(visits, MsfcOptions(cap_at_incapacity=False))["z_t25fw"].to_numpy()
    assert uncapped[0] > uncapped[1]
