"""EDSS from functional systems: clinical spec section 1 (1.2-1.8) and the ``edss.*`` keys (10).

* every test vector of 1.8 (named after its FS pattern), with the two documented variants;
* every pitfall of 1.7 as a named test;
* bad input: messages name the system / column, the value and the allowed range;
* exhaustive monotonicity over the full grid of raw FS grades x ambulation scores
  (8,816,472 inputs per option set; 518,616 x 14 for the 0-13 coding), plus the pure-Python
  step function over every multiset of converted grades (the step depends on the multiset only);
* the vectorised table function equals the scalar function: exhaustively for the FS step,
  and row by row on random tables (hypothesis).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neda.rules.edss import (
    AMBULATION_STEP,
    BOWEL_BLADDER_CONVERSION,
    EDSS_VALUES,
    FS_RAW_MAX,
    FS_SYSTEMS,
    METHODS,
    VISUAL_CONVERSION,
    EdssOptions,
    UnsupportedEdssMethod,
    _edss_core,
    _fs_step_array,
    compute_edss,
    convert_fs,
    edss_from_functional_systems,
    fs_step,
    parse_ambulation,
    parse_fs_grade,
    validate_edss,
)

STRICT = EdssOptions(fs4_companion_rule="strict_others_le1")
CER1_COUNTS = EdssOptions(cerebral1_as_zero=False)
OPTION_SETS = [EdssOptions(), STRICT, CER1_COUNTS,
               EdssOptions(cerebral1_as_zero=False, fs4_companion_rule="strict_others_le1")]


def edss(v: Any, bs: Any, p: Any, cbll: Any, s: Any, bb: Any, cer: Any, amb: Any,
         options: EdssOptions | None = None, rated: Any = None) -> Any:
    """Spec 1.8 column order (V, BS, P, Cbll, S, BB, Cer, Amb) -> the function's order."""
    return edss_from_functional_systems(p, cbll, bs, s, bb, v, cer, amb, rated_edss=rated,
                                        options=options)


# ------------------------------------------------------------------ 1.8 test vectors
# (id, V, BS, P, Cbll, S, BB, Cer, Amb, reference, JS calculator (A))
VECTORS: list[tuple[str, Any, Any, Any, Any, Any, Any, Any, int, float, float]] = [
    ("all_zero", 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0),
    ("cer1_only", 0, 0, 0, 0, 0, 0, 1, 0, 0.0, 1.0),
    ("p1", 0, 0, 1, 0, 0, 0, 0, 0, 1.0, 1.0),
    ("p1_cer1", 0, 0, 1, 0, 0, 0, 1, 0, 1.0, 1.5),
    ("p1_s1_cer1", 0, 0, 1, 0, 1, 0, 1, 0, 1.5, 1.5),
    ("p2_s1_bb1", 0, 0, 2, 0, 1, 1, 0, 0, 2.0, 2.0),
    ("p2_cbll2", 0, 0, 2, 2, 0, 0, 0, 0, 2.5, 2.5),
    ("p2_cbll2x_marker", 0, 0, 2, "2X", 0, 0, 0, 0, 2.5, 2.5),
    ("p3_s1_bb1_cer1", 0, 0, 3, 0, 1, 1, 1, 0, 3.0, 3.0),
    ("v2_bs2_p2", 2, 2, 2, 0, 0, 0, 0, 0, 3.0, 3.0),
    ("raw_v4", 4, 0, 0, 0, 0, 0, 0, 0, 3.0, 3.0),
    ("raw_v5", 5, 0, 0, 0, 0, 0, 0, 0, 3.0, 3.0),
    ("raw_bb3", 0, 0, 0, 0, 0, 3, 0, 0, 3.0, 3.0),
    ("raw_bb4", 0, 0, 0, 0, 0, 4, 0, 0, 3.0, 3.0),
    ("p3_cbll2", 0, 0, 3, 2, 0, 0, 0, 0, 3.5, 3.5),
    ("p3_cbll3", 0, 0, 3, 3, 0, 0, 0, 0, 3.5, 3.5),
    ("five_fs2", 2, 2, 2, 2, 2, 0, 0, 0, 3.5, 3.5),
    ("v3_six_fs2", 3, 2, 2, 2, 2, 2, 2, 0, 4.0, 4.0),
    ("p3_three_fs2", 0, 0, 3, 2, 2, 2, 0, 0, 4.0, 4.0),
    ("p3_cbll3_s2", 0, 0, 3, 3, 2, 0, 0, 0, 4.0, 4.0),
    ("p4_s1", 0, 0, 4, 0, 1, 0, 0, 0, 4.0, 4.0),
    ("five_fs3", 0, 3, 3, 3, 3, 3, 0, 0, 4.5, 4.5),
    ("p4_cbll2", 0, 0, 4, 2, 0, 0, 0, 0, 4.5, 4.5),
    ("p4_cbll3", 0, 0, 4, 3, 0, 0, 0, 0, 4.5, 4.5),
    ("p4_cbll3_s3", 0, 0, 4, 3, 3, 0, 0, 0, 4.5, 4.5),
    ("p4_cbll3_s3_bb3", 0, 0, 4, 3, 3, 3, 0, 0, 5.0, 5.0),
    ("p4_cbll4", 0, 0, 4, 4, 0, 0, 0, 0, 5.0, 5.0),
    ("p4_cbll4_amb2", 0, 0, 4, 4, 0, 0, 0, 2, 5.0, 5.0),
    ("p5", 0, 0, 5, 0, 0, 0, 0, 0, 5.0, 5.0),
    ("raw_v6", 6, 0, 0, 0, 0, 0, 0, 0, 4.0, 4.0),
    ("raw_bb6", 0, 0, 0, 0, 0, 6, 0, 0, 5.0, 5.0),
    ("raw_bb5", 0, 0, 0, 0, 0, 5, 0, 0, 4.0, 4.0),
    ("amb1", 0, 0, 0, 0, 0, 0, 0, 1, 2.0, 2.0),
    ("p2_amb2", 0, 0, 2, 0, 0, 0, 0, 2, 4.5, 4.5),
    ("p1_amb3", 0, 0, 1, 0, 0, 0, 0, 3, 5.0, 5.0),
    ("p2_amb4", 0, 0, 2, 0, 0, 0, 0, 4, 5.5, 5.5),
    ("p3_amb5", 0, 0, 3, 0, 0, 0, 0, 5, 6.0, 6.0),
    ("p2_amb6", 0, 0, 2, 0, 0, 0, 0, 6, 6.0, 6.0),
    ("p3_amb7", 0, 0, 3, 0, 0, 0, 0, 7, 6.0, 6.0),
    ("p3_amb8", 0, 0, 3, 0, 0, 0, 0, 8, 6.5, 6.5),
    ("p2_amb9", 0, 0, 2, 0, 0, 0, 0, 9, 6.5, 6.5),
    ("p4_amb10", 0, 0, 4, 0, 0, 0, 0, 10, 7.0, 7.0),
    ("p2_amb11", 0, 0, 2, 0, 0, 0, 0, 11, 7.5, 7.5),
    ("p5_amb12", 0, 0, 5, 0, 0, 0, 0, 12, 8.0, 8.0),
    ("p2_amb13", 0, 0, 2, 0, 0, 0, 0, 13, 8.5, 8.5),
    ("p2_amb14", 0, 0, 2, 0, 0, 0, 0, 14, 9.0, 9.0),
    ("p6_amb15", 0, 0, 6, 0, 0, 0, 0, 15, 9.5, 9.5),
    ("p6_amb16", 0, 0, 6, 0, 0, 0, 0, 16, 10.0, 10.0),
    ("five_fs3_cer4", 3, 3, 3, 3, 3, 0, 4, 0, 5.0, 5.0),
    ("bb5_cer4_amb1", 0, 0, 0, 0, 0, 5, 4, 1, 5.0, 5.0),
    ("six_fs3", 0, 3, 3, 3, 3, 3, 3, 0, 5.0, 5.0),
]
# Under strict_others_le1 exactly these rows change (spec 1.8, last paragraph).
STRICT_CHANGES = {"p4_cbll2": 4.0, "p4_cbll3_s3_bb3": 4.5, "five_fs3_cer4": 4.5}


def test_vector_table_is_complete() -> None:
    assert len(VECTORS) == 51  # every row of the spec 1.8 table
    assert len({v[0] for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("row", VECTORS, ids=[v[0] for v in VECTORS])
def test_vector_reference(row: tuple) -> None:
    name, *fs, amb, expected, _ = row
    result = edss(*fs, amb)
    assert result.edss == expected, result.step_rule
    assert result.reason is None and result.step_rule


@pytest.mark.parametrize("row", VECTORS, ids=[v[0] for v in VECTORS])
def test_vector_strict_others_le1(row: tuple) -> None:
    name, *fs, amb, expected, _ = row
    assert edss(*fs, amb, options=STRICT).edss == STRICT_CHANGES.get(name, expected)


@pytest.mark.parametrize("row", VECTORS, ids=[v[0] for v in VECTORS])
def test_vector_cerebral1_counts_reproduces_js_calculator(row: tuple) -> None:
    """Column A: the JS calculator differs from the reference only by cerebral grade 1."""
    name, *fs, amb, _, js = row
    assert edss(*fs, amb, options=CER1_COUNTS).edss == js


def test_vector_p1_cer1_is_1_5_when_cerebral1_counts() -> None:
    assert edss(0, 0, 1, 0, 0, 0, 1, 0).edss == 1.0
    assert edss(0, 0, 1, 0, 0, 0, 1, 0, options=CER1_COUNTS).edss == 1.5


def test_vector_2x_marker_is_stored() -> None:
    result = edss(0, 0, 2, "2X", 0, 0, 0, 0)
    assert result.edss == 2.5
    assert result.markers == ("cerebellar",)
    assert result.converted["cerebellar"] == 2


def test_vectors_through_the_table_function() -> None:
    frame = pd.DataFrame(
        [dict(zip(["fs_visual", "fs_brainstem", "fs_pyramidal", "fs_cerebellar", "fs_sensory",
                   "fs_bowel_bladder", "fs_cerebral", "ambulation"], v[1:9], strict=True))
         for v in VECTORS])
    frame.insert(0, "subject", 1)
    out = compute_edss(frame)
    assert out["computed_edss"].tolist() == [v[9] for v in VECTORS]
    assert out["fs_markers"].tolist() == ["cerebellar" if v[0] == "p2_cbll2x_marker" else ""
                                          for v in VECTORS]


# ------------------------------------------------------------------------ 1.7 pitfalls
def test_pitfall_1_convert_visual_and_bowel_bladder_before_counting() -> None:
    assert edss(6, 0, 0, 0, 0, 0, 0, 0).edss == 4.0
    assert edss(0, 0, 0, 0, 0, 6, 0, 0).edss == 5.0
    assert edss(0, 0, 0, 0, 0, 5, 0, 0).edss == 4.0
    assert [convert_fs(g, "visual") for g in range(7)] == [0, 1, 2, 2, 3, 3, 4]
    assert [convert_fs(g, "bowel_bladder") for g in range(7)] == [0, 1, 2, 3, 3, 4, 5]
    # raw grades are never overwritten: the input table is unchanged
    frame = pd.DataFrame({"subject": [1], "fs_visual": [6], "fs_bowel_bladder": [5],
                          **{f"fs_{s}": [0] for s in ("pyramidal", "cerebellar", "brainstem",
                                                       "sensory", "cerebral")},
                          "ambulation": [0]})
    before = frame.copy()
    assert compute_edss(frame)["computed_edss"].iloc[0] == 5.0  # BB5 -> 4, V6 -> 4: two 4s
    pd.testing.assert_frame_equal(frame, before)


def test_pitfall_2_cerebral_grade_1_never_raises_0_or_1() -> None:
    assert edss(0, 0, 0, 0, 0, 0, 1, 0).edss == 0.0
    assert edss(0, 1, 0, 0, 0, 0, 1, 0).edss == 1.0
    result = edss(0, 1, 0, 0, 0, 0, 1, 0)
    assert "cerebral grade 1 counted as 0" in result.step_rule
    assert result.converted["cerebral"] == 0


def test_pitfall_3_edss_0_5_does_not_exist() -> None:
    assert 0.5 not in EDSS_VALUES and EDSS_VALUES[1] == 1.0 and len(EDSS_VALUES) == 20
    with pytest.raises(ValueError, match=r"0\.5 does not exist"):
        validate_edss(0.5)
    with pytest.raises(ValueError, match="not an EDSS value"):
        edss(0, 0, 1, 0, 0, 0, 0, 0, rated=0.5)
    grid = full_grid_edss(EdssOptions())
    assert set(np.unique(grid)) <= set(EDSS_VALUES)


def test_pitfall_4_ambulation_floors() -> None:
    grid = full_grid_edss(EdssOptions())  # FS axes ..., ambulation last
    assert grid[..., 1].min() == 2.0 and grid[..., 1].max() == 5.0
    assert grid[..., 2].min() == 4.5 and grid[..., 2].max() == 5.0
    for amb in range(3, 17):  # walking alone sets the step: FS neither raise nor lower it
        assert (grid[..., amb] == AMBULATION_STEP["neurostatus_16"][amb]).all()
    # with amb >= 3 no FS grade is needed: missing FS still give the walking step
    assert edss(None, None, None, None, None, None, None, 3).edss == 5.0
    assert edss(0, 0, None, 0, 0, 0, 0, 2).edss is None  # pyramidal 5 would give 5.0


def test_pitfall_5_fs_grade_5_gives_5_with_unrestricted_walking() -> None:
    for system in FS_SYSTEMS:
        if system == "visual":
            continue  # visual converts to at most 4
        top = FS_RAW_MAX[system]
        raw = [top if s == system else 0 for s in FS_SYSTEMS]
        assert edss_from_functional_systems(*raw, ambulation=0).edss == 5.0
    assert edss(0, 5, 0, 0, 0, 0, 0, 0).edss == 5.0


def test_pitfall_6_ambulation_codings_and_methods_never_mixed_silently() -> None:
    # the same code means a different step in the two codings (spec 1.3)
    assert edss(0, 0, 0, 0, 0, 0, 0, 6).edss == 6.0
    assert edss(0, 0, 0, 0, 0, 0, 0, 6, options=EdssOptions(method="neurostatus_12")).edss == 6.5
    with pytest.raises(ValueError, match=r"0-13 \(neurostatus_12 coding"):
        edss(0, 0, 0, 0, 0, 0, 0, 14, options=EdssOptions(method="neurostatus_12"))
    # a subject whose series mixes codings is flagged on every visit; others are not
    frame = pd.DataFrame({
        "subject": [1, 1, 2, 2], "ambulation": [6, 6, 6, 6],
        "edss_method": ["neurostatus_16", "neurostatus_12", "neurostatus_16", None],
        **{f"fs_{s}": 0 for s in FS_SYSTEMS}})
    out = compute_edss(frame)
    assert out["method_mixed"].tolist() == [True, True, False, False]
    assert out["computed_edss"].tolist() == [6.0, 6.5, 6.0, 6.0]
    # a row rated with Kurtzke 1983 is stored, not computed; the rule set names the method
    frame.loc[3, "edss_method"] = "kurtzke_1983"
    out = compute_edss(frame)
    assert math.isnan(out["computed_edss"].iloc[3]) and "kurtzke_1983" in out["reason"].iloc[3]
    assert out["method_mixed"].tolist() == [True, True, True, True]
    assert out.attrs["provenance"]["options"]["method"] == "neurostatus_16"
    assert EdssOptions(method="neurostatus_12").rule_set != EdssOptions().rule_set


def test_pitfall_7_edss_during_relapse_is_not_a_confirmation() -> None:
    """The rule lives in the course engine (spec 2.3: ``cdw.relapse_to_conf`` = 30 days)."""
    from neda.course import CourseOptions, confirmed_events

    d0 = pd.Timestamp("2024-01-01")
    visits = pd.DataFrame({"subject": "P1", "edss": [2.0, 3.5, 3.5],
                           "date": [d0 + pd.Timedelta(days=d) for d in (0, 100, 200)]})

    def cdw(relapse_days: list[int]) -> int:
        relapses = pd.DataFrame({"subject": ["P1"] * len(relapse_days),
                                 "date": [d0 + pd.Timedelta(days=d) for d in relapse_days]})
        events = confirmed_events(visits, relapses, CourseOptions()).events
        return int((events["event_type"] == "CDW").sum())

    assert cdw([]) == 1
    assert cdw([190]) == 0  # the only confirmation visit is 10 days after a relapse


def test_pitfall_8_markers_keep_the_grade_bare_x_is_missing() -> None:
    assert parse_fs_grade("2X", "cerebellar").grade == 2
    assert parse_fs_grade("2X", "cerebellar").marker_x
    assert parse_fs_grade("4x", "visual").marker_x  # temporal pallor (Kurtzke 1983)
    for code in ("X", "9", "-1", "NA", "", " x ", "not assessable", "Not done", 9, -1,
                 None, float("nan"), pd.NA):
        assert parse_fs_grade(code, "pyramidal").grade is None, code
    result = edss(0, 0, 2, "X", 0, 0, 0, 0)
    assert result.edss is None and "cerebellar" in result.reason
    # registry-specific list (edss.fs_missing_codes)
    assert parse_fs_grade("99", "sensory", missing_codes=["99"]).grade is None
    with pytest.raises(ValueError, match="out of range"):
        parse_fs_grade("9", "sensory", missing_codes=["99"])


# ---------------------------------------------------------------- missing data, mismatch
def test_missing_ambulation_makes_the_edss_unknown() -> None:
    result = edss(0, 0, 2, 0, 0, 0, 0, None, rated=2.0)
    assert result.edss is None and result.reason == "ambulation score missing"
    assert result.mismatch is None and "cannot be checked" in result.mismatch_reason


def test_missing_fs_is_not_needed_when_no_grade_could_change_the_result() -> None:
    # amb 2 floors at 4.5; an unknown visual grade converts to at most 4 -> at most 4.0 here
    assert edss(None, 0, 0, 0, 0, 0, 0, 2).edss == 4.5
    result = edss(None, 0, 0, 0, 0, 0, 0, 2)
    assert "missing visual" in result.step_rule
    # but an unknown pyramidal grade could be 5 or 6 -> 5.0 > 4.5
    assert edss(0, 0, None, 0, 0, 0, 0, 2).edss is None


def test_mismatch_is_three_valued() -> None:
    assert edss(0, 0, 3, 0, 0, 0, 0, 0, rated=3.0).mismatch is False
    hit = edss(0, 0, 3, 0, 0, 0, 0, 0, rated=3.5)
    assert hit.mismatch is True and "above the computed EDSS 3.0" in hit.mismatch_reason
    assert edss(0, 0, 3, 0, 0, 0, 0, 0).mismatch is None
    unknown = edss(0, 0, 3, 0, 0, 0, 0, 0, rated=3.0, options=EdssOptions(method="unknown"))
    assert unknown.edss is None and unknown.mismatch is None
    assert "method unknown" in unknown.reason


def test_step_rule_names_the_deciding_rule() -> None:
    assert edss(0, 0, 4, 2, 0, 0, 0, 0).step_rule.startswith(
        "FS (converted grades): one FS grade 4 with FS grade 2")
    assert edss(0, 0, 2, 0, 0, 0, 0, 5).step_rule.startswith("walking: ambulation score 5")
    assert "both give 5.0" in edss(0, 0, 5, 0, 0, 0, 0, 3).step_rule


def test_provenance_lists_every_option() -> None:
    prov = edss(0, 0, 0, 0, 0, 0, 0, 0).provenance
    assert set(prov["options"]) == {"method", "cerebral1_as_zero", "fs4_companion_rule",
                                    "fs_missing_codes"}
    assert prov["rule_set"] == "edss/neurostatus_16/neurostatus_table/cer1=0"
    assert prov["options"]["fs_missing_codes"] == ["X", "9", "-1", "NA", ""]
    out = compute_edss(pd.DataFrame({"ambulation": [0]}))
    assert out["rule_set"].iloc[0] == prov["rule_set"]
    assert out.attrs["provenance"]["options_digest"] == prov["options_digest"]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("system", "value", "pattern"), [
    ("visual", 7, r"FS visual: grade 7 in 7 is out of range; allowed 0-6"),
    ("brainstem", "6", r"FS brainstem: grade 6 in '6' is out of range; allowed 0-5"),
    ("cerebral", 6, r"FS cerebral: grade 6 .* allowed 0-5"),
    ("bowel_bladder", -2, r"FS bowel_bladder: grade -2 .* allowed 0-6"),
    ("pyramidal", 2.5, r"FS pyramidal: 2.5 is not a whole grade; allowed 0-6"),
    ("sensory", "abc", r"FS sensory: 'abc' is not a grade; allowed 0-6"),
    ("cerebellar", True, r"FS cerebellar: True is not a grade"),
])
def test_fs_grade_out_of_range_or_not_a_grade(system: str, value: Any, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        parse_fs_grade(value, system)


def test_unknown_marker() -> None:
    with pytest.raises(ValueError, match=r"FS cerebellar: unknown marker 'Y' in '2Y'; the only "
                                         r"FS marker is 'X'.*allowed 0-5"):
        parse_fs_grade("2Y", "cerebellar")


def test_unknown_system() -> None:
    with pytest.raises(ValueError, match="unknown functional system 'mental'"):
        parse_fs_grade(1, "mental")


@pytest.mark.parametrize(("value", "method", "pattern"), [
    (17, "neurostatus_16", r"ambulation score 17 is out of range; allowed whole numbers 0-16"),
    (-1, "neurostatus_16", r"ambulation score -1 is out of range"),
    (14, "neurostatus_12", r"ambulation score 14 is out of range; allowed whole numbers 0-13"),
    (2.5, "neurostatus_16", r"ambulation score 2.5 is not a whole number"),
    ("walks", "neurostatus_16", r"ambulation score 'walks' is not a number"),
])
def test_ambulation_out_of_range(value: Any, method: str, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        parse_ambulation(value, method)


def test_table_errors_name_row_column_value_and_range() -> None:
    frame = pd.DataFrame({f"fs_{s}": [0, 0, 0] for s in FS_SYSTEMS} | {"ambulation": [0, 0, 0]},
                         index=["a", "b", "c"])
    bad = frame.copy()
    bad["fs_visual"] = [0, 7, 0]
    with pytest.raises(ValueError, match=r"visits row 'b', column 'fs_visual': FS visual: grade "
                                         r"7 .*allowed 0-6"):
        compute_edss(bad)
    bad = frame.copy()
    bad["fs_cerebellar"] = ["0", "1", "3Z"]
    with pytest.raises(ValueError, match=r"row 'c', column 'fs_cerebellar': .*unknown marker"):
        compute_edss(bad)
    bad = frame.copy()
    bad["ambulation"] = [0, 17, 0]
    with pytest.raises(ValueError, match=r"row 'b', column 'ambulation'.* 0-16"):
        compute_edss(bad)
    bad = frame.copy()
    bad["ambulation"] = [0, 14, 0]
    bad["edss_method"] = ["neurostatus_16", "neurostatus_16", "neurostatus_12"]
    compute_edss(bad)  # 14 is valid in the 0-16 coding of row b
    bad["edss_method"] = ["neurostatus_16", "neurostatus_12", "neurostatus_12"]
    with pytest.raises(ValueError, match=r"row 'b', column 'ambulation'.* 0-13"):
        compute_edss(bad)
    bad = frame.copy()
    bad["edss"] = [1.0, 0.5, 2.0]
    with pytest.raises(ValueError, match=r"row 'b', column 'edss': EDSS 0.5 is not an EDSS"):
        compute_edss(bad)
    bad = frame.copy()
    bad["edss_method"] = ["neurostatus_16", "NS16", None]
    with pytest.raises(ValueError, match=r"row 'b', column 'edss_method': unknown EDSS method"):
        compute_edss(bad)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="edss.method .* must be one of .*got 'neurostatus'"):
        EdssOptions(method="neurostatus")
    with pytest.raises(ValueError, match="edss.fs4_companion_rule .* must be one of"):
        EdssOptions(fs4_companion_rule="motyl")
    with pytest.raises(ValueError, match="fs_missing_codes must be a list of strings"):
        EdssOptions(fs_missing_codes=(9,))  # type: ignore[arg-type]
    assert EdssOptions(fs_missing_codes=["9"]).fs_missing_codes == ("9",)  # type: ignore[arg-type]


def test_kurtzke_1983_is_declared_unsupported() -> None:
    kurtzke = EdssOptions(method="kurtzke_1983")  # can be recorded, not computed
    for call in (lambda: edss(0, 0, 0, 0, 0, 0, 0, 0, options=kurtzke),
                 lambda: compute_edss(pd.DataFrame({"ambulation": [0]}), kurtzke)):
        with pytest.raises(UnsupportedEdssMethod, match="no coded ambulation score") as info:
            call()
        assert isinstance(info.value, ValueError) and isinstance(info.value, NotImplementedError)


# ---------------------------------------------------------------- exhaustive properties
AXES = (*FS_SYSTEMS, "ambulation")


def full_grid_raw() -> np.ndarray:
    """Every raw FS combination, (518,616, 7) in the order FS_SYSTEMS, C order."""
    ranges = [np.arange(FS_RAW_MAX[s] + 1, dtype=np.int8) for s in FS_SYSTEMS]
    mesh = np.meshgrid(*ranges, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


_GRID_CACHE: dict[tuple[EdssOptions, str], np.ndarray] = {}


def full_grid_edss(options: EdssOptions, method: str = "neurostatus_16") -> np.ndarray:
    """EDSS over the full grid, shape (7, 6, 5+1, ..., n_amb), via the table function's core."""
    key = (options, method)
    if key not in _GRID_CACHE:
        raw = full_grid_raw()
        n_amb = len(AMBULATION_STEP[method])
        codes = np.full(len(raw), METHODS.index(method), np.int8)
        cols = [_edss_core(raw, np.full(len(raw), a, np.int8), codes, options)["edss"]
                for a in range(n_amb)]
        shape = tuple(FS_RAW_MAX[s] + 1 for s in FS_SYSTEMS) + (n_amb,)
        _GRID_CACHE[key] = np.stack(cols, axis=1).reshape(shape)
    return _GRID_CACHE[key]


@pytest.mark.parametrize("method", ["neurostatus_16", "neurostatus_12"])
@pytest.mark.parametrize("options", OPTION_SETS, ids=[o.rule_set for o in OPTION_SETS])
def test_monotone_over_the_full_grid(options: EdssOptions, method: str) -> None:
    """Worsening any single input by one grade (or one ambulation code) never lowers the EDSS.

    Exhaustive: all 518,616 raw FS combinations x every ambulation code (8,816,472 inputs for
    the 0-16 coding). The ambulation codes are ordered by worsening in both codings.
    """
    grid = full_grid_edss(options, method)
    assert not np.isnan(grid).any()
    assert grid.size == 518_616 * len(AMBULATION_STEP[method])
    for axis, name in enumerate(AXES):
        steps = np.diff(grid, axis=axis)
        assert steps.min() >= 0, f"EDSS decreases when {name} worsens ({options.rule_set})"


def test_fs_step_monotone_over_every_multiset() -> None:
    """The pure-Python step (used by the scalar function) depends on the multiset of converted
    grades only; over every multiset of seven grades 0-6 (1,716, a superset of the realisable
    ones), raising one grade by one never lowers the step."""
    for rule in ("neurostatus_table", "strict_others_le1"):
        multisets = list(itertools.combinations_with_replacement(range(7), 7))
        assert len(multisets) == 1716
        for grades in multisets:
            base = fs_step(grades, rule)[0]
            for i in range(7):
                if grades[i] < 6:
                    raised = (*grades[:i], grades[i] + 1, *grades[i + 1:])
                    assert fs_step(raised, rule)[0] >= base, (grades, i, rule)
            assert fs_step(grades, rule)[0] == fs_step(grades[::-1], rule)[0]


@pytest.mark.parametrize("options", OPTION_SETS, ids=[o.rule_set for o in OPTION_SETS])
def test_vectorised_step_equals_pure_python_step_exhaustively(options: EdssOptions) -> None:
    raw = full_grid_raw()
    conv = np.stack([np.array([convert_fs(g, s, options) for g in range(FS_RAW_MAX[s] + 1)],
                              np.int8)[raw[:, j]] for j, s in enumerate(FS_SYSTEMS)], axis=1)
    vector_rules = _fs_step_array(conv, options.fs4_companion_rule)
    # the step depends on the multiset only: check each distinct multiset with the scalar step
    multisets, inverse = np.unique(np.sort(conv, axis=1), axis=0, return_inverse=True)
    scalar_rules = np.array([int(fs_step(m.tolist(), options.fs4_companion_rule)[1])
                             for m in multisets])
    np.testing.assert_array_equal(vector_rules, scalar_rules[inverse.reshape(-1)])


def test_conversion_tables() -> None:
    assert VISUAL_CONVERSION == (0, 1, 2, 2, 3, 3, 4)
    assert BOWEL_BLADDER_CONVERSION == (0, 1, 2, 3, 3, 4, 5)
    assert convert_fs(1, "cerebral") == 0
    assert convert_fs(1, "cerebral", CER1_COUNTS) == 1
    assert convert_fs(None, "visual") is None
    assert [convert_fs(g, "pyramidal") for g in range(7)] == list(range(7))


# ---------------------------------------------------- table == scalar, row by row
def fs_cell(system: str) -> st.SearchStrategy[Any]:
    top = FS_RAW_MAX[system]
    return st.one_of(
        st.integers(0, top),
        st.integers(0, top).map(float),
        st.integers(0, top).map(str),
        st.integers(0, top).map(lambda g: f"{g}X"),
        st.sampled_from([None, float("nan"), "X", "9", 9, -1, "NA", "", "not done"]),
    )


@st.composite
def visit_rows(draw: Any, method: str) -> dict[str, Any]:
    row: dict[str, Any] = {f"fs_{s}": draw(fs_cell(s)) for s in FS_SYSTEMS}
    top = len(AMBULATION_STEP.get(method, AMBULATION_STEP["neurostatus_16"])) - 1
    # mostly low codes, where the FS matter
    row["ambulation"] = draw(st.one_of(st.integers(0, 3), st.integers(0, top), st.none()))
    row["edss"] = draw(st.one_of(st.none(), st.sampled_from(EDSS_VALUES)))
    return row


@st.composite
def tables(draw: Any) -> tuple[EdssOptions, list[dict[str, Any]]]:
    options = EdssOptions(
        method=draw(st.sampled_from(["neurostatus_16", "neurostatus_12", "unknown"])),
        cerebral1_as_zero=draw(st.booleans()),
        fs4_companion_rule=draw(st.sampled_from(["neurostatus_table", "strict_others_le1"])))
    rows = draw(st.lists(visit_rows(options.method), min_size=1, max_size=40))
    return options, rows


@settings(max_examples=150, deadline=None)
@given(tables())
def test_table_equals_scalar_row_by_row(case: tuple[EdssOptions, list[dict[str, Any]]]) -> None:
    options, rows = case
    frame = pd.DataFrame(rows, dtype=object)
    frame.insert(0, "subject", [i % 3 for i in range(len(rows))])
    out = compute_edss(frame, options)
    assert list(out.index) == list(frame.index)
    for i, row in enumerate(rows):
        one = edss_from_functional_systems(
            *(row[f"fs_{s}"] for s in FS_SYSTEMS), ambulation=row["ambulation"],
            rated_edss=row["edss"], options=options)
        got = out.iloc[i]
        if one.edss is None:
            assert math.isnan(got["computed_edss"])
        else:
            assert got["computed_edss"] == one.edss
        assert got["step_rule"] == one.step_rule
        assert got["reason"] == one.reason
        assert (None if pd.isna(got["mismatch"]) else bool(got["mismatch"])) == one.mismatch
        assert got["mismatch_reason"] == one.mismatch_reason
        assert got["fs_markers"] == ",".join(one.markers)
        assert got["rule_set"] == one.provenance["rule_set"]


def test_empty_table() -> None:
    out = compute_edss(pd.DataFrame({"subject": [], "ambulation": []}))
    assert len(out) == 0 and "computed_edss" in out.columns


def test_a_million_rows() -> None:
    """A million rows at once (the speed is measured in bench/, never asserted here), equal to
    the one-row calculator on a sample."""
    rng = np.random.default_rng(1)
    n = 1_000_000
    frame = pd.DataFrame({"subject": rng.integers(0, 20_000, n),
                          **{f"fs_{s}": rng.integers(0, FS_RAW_MAX[s] + 1, n)
                             for s in FS_SYSTEMS},
                          "ambulation": rng.integers(0, 17, n),
                          "edss": rng.choice(np.array(EDSS_VALUES), n)})
    out = compute_edss(frame)
    sample = frame.sample(20, random_state=0)
    for label, row in sample.iterrows():
        one = edss_from_functional_systems(*(row[f"fs_{s}"] for s in FS_SYSTEMS),
                                           ambulation=row["ambulation"],
                                           rated_edss=row["edss"])
        assert out.loc[label, "computed_edss"] == one.edss
        assert out.loc[label, "step_rule"] == one.step_rule
