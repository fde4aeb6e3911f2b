"""The definition multiverse (neda.cohort.multiverse): every cell equals a separate run of
confirmed_events, the shared stages run once, bad grids fail before anything is read."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neda.cohort.multiverse import (
    COUNT_COLUMNS,
    DEFAULT_GRID,
    grid_definitions,
    multiverse,
)
from neda.course import CourseOptions, confirmed_events
from neda.demo import demo_cohort
from neda.rules.relapses import RelapseOptions

D0 = pd.Timestamp("2001-01-01")
GAPS = [14, 29, 30, 60, 84, 85, 90, 120, 168, 183, 365, 700]
EDSS = [0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5]

# values a grid may take, two or three per option (no combination among them is invalid)
POOL: dict[str, list[Any]] = {
    "preset": ["mueller2023", "mueller2023_strict", "cagol2022", "mueller2025",
               "portaccio2025", "kappos2020", "msprog_defaults"],
    "conf_days": [84, 168, [84, 168]],
    "baseline": ["roving", "roving_wors", "roving_impr"],
    "relapse_assoc": [[30, 0], [90, 0], [90, 30]],
    "relapse_indep": [{"prec": [0, 0], "event": [90, 30], "conf": [90, 30]},
                      {"prec": [0, None], "event": [None, None], "conf": [None, 0]}],
    "require_ascertainment": [True, False],
    "exclude_pseudo_relapse_visits": [True, False],
    "relapse_to_bl": [[30, 0], [0, 0]],
    "history_lookback_days": [0, 365],
    "edss_thresholds": ["three_strata", "msprog", "expand"],
    "event": ["firstCDW", "firstPIRA"],
    "relapse_rebl": [True, False],
    "bl_geq": [True, False],  # the kernel moves references in place: definitions share arrays
    "confirm_magnitude": ["threshold_vs_reference", "at_or_above_onset"],
    "relapse.merge_days": [0, 30],
    "relapse.exclude_fever_infection": ["exclude", "flag_only"],
}


@st.composite
def cohort(draw: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A few patients: EDSS courses with steps up and down, relapses with full, month-only
    and pseudo onsets (hygiene, unknown class and visit exclusion all take part)."""
    visits, relapses = [], []
    for p in range(draw(st.integers(1, 6))):
        n = draw(st.integers(2, 9))
        days = np.cumsum([0] + draw(st.lists(st.sampled_from(GAPS), min_size=n - 1,
                                             max_size=n - 1))).tolist()
        value = draw(st.sampled_from(EDSS[:8]))
        for d in days:
            visits.append((f"P{p}", D0 + pd.Timedelta(days=d), value))
            value = float(min(9.5, max(1.0, value + draw(st.sampled_from(
                [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])))))
        for _ in range(draw(st.integers(0, 3))):
            day = D0 + pd.Timedelta(days=draw(st.integers(-60, int(days[-1]) + 30)))
            kind = draw(st.sampled_from(["day", "day", "month", "pseudo"]))
            text = day.strftime("%Y-%m") if kind == "month" else day.strftime("%Y-%m-%d")
            relapses.append((f"P{p}", text, "yes" if kind == "pseudo" else "no"))
    v = pd.DataFrame(visits, columns=["subject", "date", "edss"])
    r = pd.DataFrame(relapses, columns=["subject", "date", "pseudo"])
    return v, r


@st.composite
def small_grid(draw: Any) -> dict[str, list[Any]]:
    keys = draw(st.lists(st.sampled_from(sorted(POOL)), min_size=1, max_size=3, unique=True))
    return {k: draw(st.lists(st.sampled_from(POOL[k]), min_size=1, max_size=2,
                             unique_by=repr)) for k in keys}


def separate_run(visits: Any, relapses: Any, definition: Any) -> dict[str, Any]:
    """What one full confirmed_events run of a definition gives, in the table's terms."""
    res = confirmed_events(visits, relapses, definition.options,
                           relapse_options=definition.relapse_options)
    s = res.summary
    out: dict[str, Any] = {k: int(s[k].sum()) for k in
                           ("CDW", "RAW", "PIRA", "undefined", "unknown", "CDI")}
    out["not_classified"] = int((res.events.cdw_class == "not_classified").sum())
    out["subjects"] = len(s)
    for k in ("CDW", "RAW", "PIRA"):
        out[f"subjects_with_{k}"] = int((s[k] > 0).sum())
    out["options_digest"] = res.provenance["options_digest"]
    out["rule_set"] = res.options.preset
    return out


def assert_cells_equal_separate_runs(result: Any, visits: Any, relapses: Any) -> None:
    for row, d in zip(result.table.to_dict("records"), result.definitions, strict=True):
        expected = separate_run(visits, relapses, d)
        got = {k: row[k] for k in expected}
        assert got == expected, d.label
        for k in ("RAW", "PIRA", "undefined", "unknown"):
            share = row[f"{k}_share"]
            if row["CDW"]:
                assert share == pytest.approx(row[k] / row["CDW"])
            else:
                assert math.isnan(share)


@settings(max_examples=int(os.environ.get("NEDA_MULTIVERSE_EXAMPLES", 60)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cohort(), small_grid(), st.sampled_from(["given", "empty", "not given"]))
def test_every_cell_equals_a_separate_run(data: Any, grid: dict[str, list[Any]],
                                          relapse_data: str) -> None:
    visits, relapses = data
    rel = {"given": relapses, "empty": relapses.iloc[:0], "not given": None}[relapse_data]
    result = multiverse(visits, rel, grid)
    assert len(result.table) == math.prod(len(v) for v in grid.values())
    assert_cells_equal_separate_runs(result, visits, rel)


def test_default_grid_on_a_demo_cohort_equals_separate_runs_and_shares_the_preparation(
) -> None:
    visits, relapses = demo_cohort(120, seed=5)
    result = multiverse(visits, relapses, subject="id")
    assert len(result.table) == 32
    assert list(result.table.columns[-len(COUNT_COLUMNS):]) == list(COUNT_COLUMNS)
    assert result.varied == list(DEFAULT_GRID)
    # one read of the tables, one hygiene run and one sorted preparation for 32 scans
    assert result.shared == {"definitions": 32, "readings": 1, "preparations": 1,
                             "relapse_distances": 1, "scans": 32}
    v = visits.rename(columns={"id": "subject"})
    r = relapses.rename(columns={"id": "subject"})
    assert_cells_equal_separate_runs(result, v, r)
    # definitions disagree: the multiverse is not one number repeated
    assert result.table["PIRA_share"].nunique() > 1


def test_stages_run_once_per_option_set_they_depend_on() -> None:
    visits, relapses = demo_cohort(40, seed=2)
    grid = {"relapse.merge_days": [0, 30], "exclude_pseudo_relapse_visits": [True, False],
            "conf_days": [84, 168], "relapse_to_bl": [[30, 0], [0, 0]]}
    result = multiverse(visits, relapses, grid, subject="id")
    assert result.shared == {"definitions": 16, "readings": 2, "preparations": 4,
                             "relapse_distances": 8, "scans": 16}
    # per subject across preparations (aligned on the subjects): the columns add up
    for kind in ("CDW", "PIRA", "CDI"):
        wide = result.per_subject(kind)
        assert list(wide.columns) == list(range(1, 17))
        assert wide.sum().tolist() == result.table[kind].tolist()
    v = visits.rename(columns={"id": "subject"})
    r = relapses.rename(columns={"id": "subject"})
    assert_cells_equal_separate_runs(result, v, r)


def test_relapses_not_given_leave_every_worsening_unknown() -> None:
    visits, _ = demo_cohort(60, seed=1)
    result = multiverse(visits, None, {"conf_days": [84, 168]}, subject="id")
    t = result.table
    assert (t["unknown"] == t["CDW"]).all() and (t["CDW"] > 0).all()
    assert (t["PIRA"] == 0).all() and (t["unknown_share"] == 1.0).all()
    assert result.relapse_data == "not given"
    assert "Relapse data were not given" in result.describe(1)


def test_a_list_of_options_is_a_grid_too() -> None:
    visits, relapses = demo_cohort(50, seed=4)
    defs = [CourseOptions.from_preset("kappos2020"), CourseOptions.from_preset("mueller2025"),
            {"preset": "cagol2022", "conf_days": 168}]
    result = multiverse(visits, relapses, defs, subject="id")
    assert list(result.table["rule_set"]) == ["kappos2020", "mueller2025", "custom"]
    v = visits.rename(columns={"id": "subject"})
    r = relapses.rename(columns={"id": "subject"})
    assert_cells_equal_separate_runs(result, v, r)


@pytest.mark.parametrize(("grid", "message"), [
    ({"conf_day": [84]}, "grid key 'conf_day' is not an option (did you mean 'conf_days'?)"),
    ({"baseline": ["rovin"]}, "grid definition 1 (baseline=rovin): cdw.baseline"),
    ({"baseline": ["roving", "fixed"]}, "grid definition 2 (baseline=fixed): baseline='fixed' "
                                        "with event='multiple'"),
    ({"preset": ["mueller2024"]}, "unknown preset 'mueller2024'"),
    ({"relapse.merge_days": [-1]}, "relapse.merge_days (RelapseOptions.merge_days) must be"),
    ({"relapse.merge": [1]}, "grid key 'relapse.merge' is not an option"),
    ({"conf_days": 84}, "grid key 'conf_days': give a non-empty list of values"),
    ({}, "the grid is empty"),
])
def test_a_bad_grid_fails_in_one_line_before_reading(grid: Any, message: str,
                                                     tmp_path: Path) -> None:
    missing = tmp_path / "no-such-visits.csv"  # never read: the grid fails first
    with pytest.raises(ValueError) as info:
        multiverse(missing, None, grid)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_influence_is_the_mean_change_between_definitions_differing_in_one_choice() -> None:
    visits, relapses = demo_cohort(80, seed=6)
    grid = {"preset": ["mueller2023", "mueller2023_strict"], "conf_days": [84, 168, 336]}
    result = multiverse(visits, relapses, grid, subject="id")
    t = result.table.set_index(["preset", "conf_days"])["PIRA_share"]
    by_preset = [abs(t["mueller2023", c] - t["mueller2023_strict", c]) for c in (84, 168, 336)]
    by_conf = [abs(t[p, a] - t[p, b]) for p in grid["preset"]
               for a, b in itertools.combinations((84, 168, 336), 2)]
    inf = result.influence().set_index("choice")
    assert inf.loc["preset", "mean_abs_change"] == pytest.approx(np.mean(by_preset))
    assert inf.loc["preset", "pairs"] == 3
    assert inf.loc["conf_days", "mean_abs_change"] == pytest.approx(np.mean(by_conf))
    assert inf.loc["conf_days", "max_abs_change"] == pytest.approx(max(by_conf))
    assert inf.loc["conf_days", "pairs"] == 6


def test_per_subject_counts_match_the_summary_of_a_separate_run() -> None:
    visits, relapses = demo_cohort(70, seed=8)
    result = multiverse(visits, relapses, {"conf_days": [84, 168]}, subject="id")
    d = result.definitions[1]
    v = visits.rename(columns={"id": "subject"})
    r = relapses.rename(columns={"id": "subject"})
    summary = confirmed_events(v, r, d.options).summary.set_index("subject")
    pira = result.per_subject("PIRA")[2]
    assert pira.to_dict() == summary["PIRA"].to_dict()
    with pytest.raises(ValueError, match="count 'PIRMA'"):
        result.per_subject("PIRMA")


def test_plot_writes_png_and_svg(tmp_path: Path) -> None:
    visits, relapses = demo_cohort(40, seed=3)
    result = multiverse(visits, relapses, {"preset": ["mueller2023", "cagol2022"],
                                           "conf_days": [84, 168]}, subject="id")
    for name in ("multiverse.png", "multiverse.svg"):
        result.plot(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000
    assert (tmp_path / "multiverse.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "multiverse.svg").read_text()[:500]
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        result.plot(tmp_path / "multiverse.gif")


def test_relapse_options_outside_the_grid_apply_to_every_definition() -> None:
    visits, relapses = demo_cohort(50, seed=9)
    ropts = RelapseOptions(merge_days=0)
    defs = grid_definitions({"conf_days": [84, 168]}, relapse_options=ropts)
    assert all(d.relapse_options == ropts for d in defs)
    result = multiverse(visits, relapses, {"conf_days": [84, 168]}, subject="id",
                        relapse_options=ropts)
    v = visits.rename(columns={"id": "subject"})
    r = relapses.rename(columns={"id": "subject"})
    assert_cells_equal_separate_runs(result, v, r)


# ------------------------------------------------------------------ `neda cohort multiverse`
def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from neda.cli import app

    return CliRunner().invoke(app, ["cohort", "multiverse", *args])


def test_cli_writes_the_table_and_the_figure_the_library_computes(tmp_path: Path) -> None:
    from neda.demo import write_demo_cohort
    from neda.io import read_relapses, read_visits

    visits, relapses = write_demo_cohort(tmp_path, 80, seed=11)
    out, fig = tmp_path / "out" / "multiverse.csv", tmp_path / "out" / "multiverse.png"
    result = _cli(str(visits), "--relapses", str(relapses), "--vary",
                  "preset=mueller2023,cagol2022", "--vary", "relapse_assoc=[30,0],[90,0]",
                  "-o", str(out), "--plot", str(fig))
    assert result.exit_code == 0, result.output
    assert "Definition multiverse: 4 definitions, 80 subjects" in result.output
    written = pd.read_csv(out)
    vis = read_visits(visits)
    lib = multiverse(vis, read_relapses(relapses, visits=vis),
                     {"preset": ["mueller2023", "cagol2022"],
                      "relapse_assoc": [[30, 0], [90, 0]]}).table
    assert list(written.columns) == list(lib.columns)
    for c in ("options_digest", "label", *COUNT_COLUMNS):
        assert written[c].tolist() == pytest.approx(lib[c].tolist(), nan_ok=True) \
            if c.endswith("share") else written[c].tolist() == lib[c].tolist(), c
    assert fig.read_bytes()[:4] == b"\x89PNG"


def test_cli_reads_a_toml_grid_and_a_json_list_of_definitions(tmp_path: Path) -> None:
    from neda.demo import write_demo_cohort

    visits, relapses = write_demo_cohort(tmp_path, 40, seed=12)
    toml = tmp_path / "grid.toml"
    toml.write_text('base = "cagol2022"\n[grid]\nconf_days = [84, 168]\n'
                    '"relapse.merge_days" = [0, 30]\n')
    out = tmp_path / "toml.parquet"
    result = _cli(str(visits), "--relapses", str(relapses), "--grid", str(toml), "-o", str(out))
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert table["relapse.merge_days"].tolist() == [0, 30, 0, 30]
    assert table["conf_days"].tolist() == [84, 84, 168, 168]
    assert table["rule_set"].tolist()[1] == "cagol2022"  # the base preset's own values
    js = tmp_path / "defs.json"
    js.write_text('{"definitions": [{"preset": "kappos2020"}, '
                  '{"preset": "mueller2023", "relapse_indep": '
                  '{"prec": [0, null], "event": [null, null], "conf": [null, 0]}}]}')
    out2 = tmp_path / "defs.csv"
    result = _cli(str(visits), "--no-relapses", "--grid", str(js), "-o", str(out2))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out2)
    assert table["rule_set"].tolist() == ["kappos2020", "custom"]
    assert table["relapse_indep"][1] == '{"prec":[0,null],"event":[null,null],"conf":[null,0]}'
    assert (table["RAW"] == 0).all() and table["PIRA"].sum() > 0  # none occurred: no RAW


def test_cli_refuses_a_bad_grid_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    from neda.demo import write_demo_cohort

    visits, relapses = write_demo_cohort(tmp_path, 10, seed=13)
    out = tmp_path / "t.csv"
    result = _cli(str(visits), "--relapses", str(relapses), "--vary", "conf_dys=84,168",
                  "-o", str(out))
    assert result.exit_code == 2
    assert "Invalid grid: grid key 'conf_dys' is not an option (did you mean 'conf_days'?)" \
        in " ".join(result.output.split())
    assert not out.exists()


def test_outcomes_ascertainment_and_subjects_pass_through_as_in_separate_runs() -> None:
    visits, relapses = demo_cohort(60, seed=14)
    v = visits.rename(columns={"id": "subject"})
    r = relapses.rename(columns={"id": "subject"})
    first = v.groupby("subject")["date"].min()
    followup = pd.DataFrame({"subject": first.index, "start": first.to_numpy()
                             - pd.Timedelta(days=400), "end": pd.NaT})
    chosen = sorted(v["subject"].unique())[:40]
    grid = {"outcome": ["edss", "sdmt", "t25fw"], "conf_days": [84, 168]}
    result = multiverse(v, r, grid, ascertainment=followup, subjects=chosen)
    # one reading and one preparation per outcome (SDMT's practice effect drops visits)
    assert result.shared["readings"] == 3 and result.shared["preparations"] == 3
    for row, d in zip(result.table.to_dict("records"), result.definitions, strict=True):
        res = confirmed_events(v, r, d.options, ascertainment=followup, subjects=chosen)
        s = res.summary
        assert row["subjects"] == len(s) <= 40
        for k in ("CDW", "RAW", "PIRA", "undefined", "unknown", "CDI"):
            assert row[k] == int(s[k].sum()), (d.label, k)
    assert result.table["CDW"].groupby(result.table["outcome"]).sum().min() > 0
    # the follow-up table counts: without it, windows past the last visit are unknown
    without = multiverse(v, r, grid, subjects=chosen).table
    assert without["unknown"].sum() > result.table["unknown"].sum()
