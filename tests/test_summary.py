"""`course_summary` and `neda course`: the whole course, per patient and per cohort."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from neda.cli import app
from neda.course import confirmed_events
from neda.demo import demo_registry, write_demo_registry
from neda.rules.dmt import treatment_epochs
from neda.summary import course_summary

runner = CliRunner()


@pytest.fixture(scope="module")
def registry() -> dict[str, pd.DataFrame]:
    return demo_registry(120, seed=4)


def test_cohort_tables_agree_with_the_rules(registry: dict[str, pd.DataFrame]) -> None:
    r = registry
    cs = course_summary(r["visits"], r["relapses"], r["mri"], r["treatments"], r["pros"])
    assert cs.patients["subject"].is_unique and len(cs.patients) == 120
    engine = confirmed_events(r["visits"], r["relapses"], mri=r["mri"])
    pd.testing.assert_frame_equal(cs.events.reset_index(drop=True),
                                  engine.events.reset_index(drop=True))
    epochs = treatment_epochs(r["treatments"])
    assert len(cs.epochs) == len(epochs)
    assert (cs.patients["CDW"] == cs.patients["RAW"] + cs.patients["PIRA"]
            + cs.patients["undefined"] + cs.patients["unknown"]).all()
    # current therapy is an epoch that has not ended before the last visit
    on = cs.patients.dropna(subset=["current_dmt"])
    assert len(on) > 0
    assert set(on["current_dmt"]) <= set(epochs["drug"])


def test_one_patient_reads_in_plain_language() -> None:
    d = pd.Timestamp("2020-01-01")
    days = [0, 90, 200, 290, 400, 500, 590, 700]
    edss = [2.0, 2.0, 4.0, 3.0, 3.0, 4.0, 4.0, 4.0]  # relapse at 180 leaves +1.0; later PIRA
    visits = pd.DataFrame({"subject": "A", "date": [d + pd.Timedelta(days=x) for x in days],
                           "edss": edss})
    relapses = pd.DataFrame({"subject": ["A"], "date": [d + pd.Timedelta(days=180)]})
    treatments = pd.DataFrame({"subject": ["A"], "drug": ["ocrelizumab"],
                               "start": [d + pd.Timedelta(days=250)], "stop": [pd.NaT]})
    one = course_summary(visits, relapses, treatments=treatments).patient()
    text = one.plain_language()
    assert "relapse" in text and "remission" in text
    assert "relapse-associated worsening" in text and "progression independent" in text
    assert "ocrelizumab" in text
    data = json.loads(one.to_json())
    assert data["current_therapy"]["drug"] == "ocrelizumab"
    assert [e["cdw_class"] for e in data["confirmed_events"]] == ["RAW", "PIRA"]
    md = one.to_markdown()
    assert "## Confirmed disability events" in md and "## In plain words" in md


def test_several_patients_need_a_name(registry: dict[str, pd.DataFrame]) -> None:
    cs = course_summary(registry["visits"])
    with pytest.raises(ValueError, match="name one"):
        cs.patient()
    with pytest.raises(ValueError, match="no patient"):
        cs.patient("nobody")


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="'edss'"):
        course_summary(pd.DataFrame({"subject": [1], "date": ["2020-01-01"]}))
    visits = pd.DataFrame({"subject": [1, 1], "date": ["2020-01-01", "2021-01-01"],
                           "edss": [1.0, 1.0]})
    bad = pd.DataFrame({"subject": [1], "drug": ["Ocrevuss"], "start": ["2020-02-01"],
                        "stop": [None]})
    with pytest.raises(ValueError, match="Ocrevus"):
        course_summary(visits, treatments=bad)


def test_course_command(tmp_path: Path) -> None:
    paths = write_demo_registry(tmp_path, 40, seed=9)
    args = ["course", str(paths["visits"]), "--relapses", str(paths["relapses"]),
            "--mri", str(paths["mri"]), "--treatments", str(paths["treatments"]),
            "--pros", str(paths["pros"])]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Cohort course overview" in result.output
    assert len(pd.read_csv(tmp_path / "out" / "patients.csv")) == 40
    result = runner.invoke(app, [*args, "--patient", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["subject"] == 3
    result = runner.invoke(app, [*args, "--patient", "999"])
    assert result.exit_code == 1


def test_current_therapy_is_the_ongoing_last_epoch() -> None:
    visits = pd.DataFrame({"subject": 1, "date": pd.to_datetime(["2015-01-01", "2020-01-01"]),
                           "edss": [2.0, 2.0]})
    treatments = pd.DataFrame({"subject": [1, 1], "drug": ["teriflunomide", "ofatumumab"],
                               "start": pd.to_datetime(["2015-02-01", "2016-03-01"]),
                               "stop": pd.to_datetime(["2016-02-28", None])})
    row = course_summary(visits, treatments=treatments).patients.iloc[0]
    assert row["current_dmt"] == "ofatumumab"
    assert row["current_dmt_since"] == pd.Timestamp("2016-03-01")


def test_neda_on_current_therapy() -> None:
    dates = pd.date_range("2019-10-01", "2022-06-01", freq="QS")
    visits = pd.DataFrame({"subject": "B", "date": dates, "edss": 2.0})
    treatments = pd.DataFrame({"subject": ["B"], "drug": ["ocrelizumab"],
                               "start": [pd.Timestamp("2020-01-01")], "stop": [pd.NaT]})
    scan_dates = pd.to_datetime(["2019-12-01", "2020-07-01", "2021-01-15", "2022-01-10"])
    mri = pd.DataFrame({"subject": "B", "date": scan_dates,
                        "comparator_date": [pd.NaT, *scan_dates[:-1]], "contrast": True,
                        "gd": 0, "new_t2": [None, 0, 0, 0]})
    relapses = pd.DataFrame({"subject": pd.Series([], dtype=object),
                             "date": pd.Series([], dtype="datetime64[ns]")})
    cs = course_summary(visits, relapses, mri, treatments)
    row = cs.patients.iloc[0]
    assert bool(row["neda3_current_year"])
    assert row["window_start_current_year"] == pd.Timestamp("2020-12-31")  # S + 365 days
    assert pd.isna(row["neda4_current_year"])  # no brain-volume pairs: NEDA-4 unknown
    text = cs.patient().plain_language()
    assert "no evidence of disease activity" in text
    # Lublin's year of activity is the one before the last visit, said with its date, so
    # records that ended long ago do not read as the last twelve months
    assert "In the 12 months before your latest check-up (2022-04-01) there was no sign" in text
    assert "12 months to the last visit (2022-04-01): activity" in cs.patient().to_markdown()
    # a new lesion in that year turns it into evidence of activity, with its reason
    mri.loc[3, "new_t2"] = 2
    row = course_summary(visits, relapses, mri, treatments).patients.iloc[0]
    assert not bool(row["neda3_current_year"])
    assert "MRI" in row["neda3_reason_current_year"]


def test_top_level_entry_point() -> None:
    import neda

    assert neda.course_summary is course_summary
    with pytest.raises(AttributeError):
        _ = neda.no_such_thing


def test_latest_windows_without_sorting_agree_with_the_sort(
        registry: dict[str, pd.DataFrame]) -> None:
    # the pick in neda_status' blocks and the sort of any other row order give the same rows
    import numpy as np

    from neda.summary import _latest_windows

    r = registry
    neda = course_summary(r["visits"], r["relapses"], r["mri"], r["treatments"]).neda
    perm = np.random.default_rng(1).permutation(len(neda))
    shuffled = neda.iloc[perm].reset_index(drop=True)
    contact = neda["window_end"].to_numpy() - np.timedelta64(200, "D")
    for window_type in ("per_year", "cumulative"):
        for last in (None, contact):
            in_blocks = _latest_windows(neda, window_type, last)
            sorted_ = _latest_windows(shuffled, window_type, None if last is None else last[perm])
            assert len(in_blocks) and sorted(perm[sorted_]) == sorted(in_blocks)


def test_row_order_of_the_visits_does_not_matter(registry: dict[str, pd.DataFrame]) -> None:
    r = registry
    ordered = course_summary(r["visits"], r["relapses"], r["mri"], r["treatments"])
    shuffled = r["visits"].sample(frac=1, random_state=2).reset_index(drop=True)
    other = course_summary(shuffled, r["relapses"], r["mri"], r["treatments"])
    pd.testing.assert_frame_equal(other.patients, ordered.patients, check_exact=True)
    pd.testing.assert_frame_equal(other.events, ordered.events, check_exact=True)


def test_first_and_last_row_of_each_code() -> None:
    # codes in runs (a table by subject) and in any order give the same first and last rows
    import numpy as np

    from neda.summary import _first_last

    runs = np.array([-1, 0, 0, 2, 2, 2, -1, 3])
    assert [a.tolist() for a in _first_last(runs, 5)] == [[1, -1, 3, 7, -1], [2, -1, 5, 7, -1]]
    mixed = np.array([2, 0, -1, 2, 0, 3])
    assert [a.tolist() for a in _first_last(mixed, 5)] == [[1, -1, 0, 5, -1], [4, -1, 3, 5, -1]]
    none = np.array([-1, -1])
    assert [a.tolist() for a in _first_last(none, 2)] == [[-1, -1], [-1, -1]]


def test_look_ups_of_one_patient_agree_with_pandas() -> None:
    # one patient's identifiers are compared, not hashed: the rows pandas' look-up finds, for
    # numbers, text, and numbers against text (never equal)
    import numpy as np

    # (the one-identifier look-up itself: tests/test_common_frames.py)
    from neda.summary import _pair_positions

    left_n = np.array([1, 2, 1, 1])
    text = np.array(["1", "1", "2"], dtype=object)
    for left_s, table_s in ((np.array([1, 1, 2, 3]), np.array([1, 1, 2])),
                            (np.array([1, 1, 2, 3]), text),
                            (np.array(["1", "1", "2", "3"], dtype=object), text)):
        table_n = np.array([2, 1, 1])
        expected = [next((j for j in range(3) if table_s[j] == left_s[i]
                          and table_n[j] == left_n[i]), -1) for i in range(4)]
        assert _pair_positions(left_s, left_n, table_s, table_n).tolist() == expected
        many = np.tile(table_s, 2000)  # a cohort's table: hashed, the same rows
        many_n = np.concatenate([table_n, np.arange(100, 100 + len(many) - 3)])
        assert _pair_positions(left_s, left_n, many, many_n).tolist() == expected


def test_dates_of_a_record_as_a_row_gives_them() -> None:
    # the dates of the patient's records are written by numpy at once: the text _num writes
    # of each cell (a Timestamp's strftime), None for a missing date
    import numpy as np

    from neda.summary import _cells, _num

    days = np.array(["1677-09-22", "NaT", "2020-02-29", "2262-04-11", "1999-12-31T23:59"],
                    dtype="datetime64[ns]")
    for values in (pd.array(days), np.array([1.5, np.nan]), days.astype("datetime64[s]"),
                   pd.array([True, None], dtype="boolean")):
        assert [_num(x) for x in _cells(values)] == [_num(x) for x in values.tolist()]
    assert _cells(pd.array(days))[:3] == ["1677-09-22", None, "2020-02-29"]


def test_assessments_and_monitoring_are_the_rules_tables(registry: dict[str, pd.DataFrame]
                                                         ) -> None:
    # the summary reads compute_edss', msfc_scores' and monitoring_status' columns without
    # building their tables: the same values, and the same provenance, as the tables'
    from neda.io import read_tables
    from neda.rules.edss import compute_edss
    from neda.rules.monitoring import monitoring_status
    from neda.rules.msfc import msfc_scores
    from neda.rules.relapses import relapse_hygiene

    r = registry
    tables = read_tables(**r)
    cs = course_summary(**r)
    vis = tables.visits
    edss, msfc = compute_edss(vis), msfc_scores(vis)
    a = cs.assessments
    for mine, theirs in (("computed_edss", "computed_edss"), ("edss_mismatch_reason",
                                                              "mismatch_reason"),
                         ("computed_edss_reason", "reason")):
        assert a[mine].tolist() == edss[theirs].tolist() or a[mine].equals(edss[theirs])
    assert a["edss_mismatch"].tolist() == edss["mismatch"].to_numpy().tolist()
    pd.testing.assert_series_equal(a["msfc"], msfc["msfc"], check_names=False)
    assert a["msfc_reason"].tolist() == msfc["reason"].tolist()
    assert a.attrs["provenance"] == {"edss": edss.attrs["provenance"],
                                     "msfc": msfc.attrs["provenance"]}
    hygiene = relapse_hygiene(tables.relapses, visits=vis, followup=tables.followup)
    epochs = treatment_epochs(tables.treatments)
    status = monitoring_status(vis, hygiene, cs.events, tables.mri, tables.labs, epochs,
                               followup=tables.followup)
    assert cs.provenance["monitoring"] == status.attrs["provenance"]
    joined = cs.patients.set_index("subject").loc[status["subject"]]
    for name in status.columns.drop(["subject", "rule_set"]):
        pd.testing.assert_series_equal(joined[name].reset_index(drop=True), status[name],
                                       check_names=False)


def test_num_of_numpy_scalars_as_the_general_steps_give_them() -> None:
    import numpy as np

    from neda.summary import _num

    for x, expected in ((np.float64(1.5), 1.5), (np.float64("nan"), None),
                        (np.float64("inf"), float("inf")), (np.int64(-3), -3),
                        (np.bool_(True), True), (np.bool_(False), False),
                        (np.float32(0.5), 0.5), (np.int32(2), 2)):
        got = _num(x)
        assert got == expected and type(got) is type(expected)


def test_take_is_the_arrays_own_take() -> None:
    import numpy as np

    from neda.summary import _take

    pos = np.array([2, 0, 2], np.int64)
    for values in (pd.array([1, None, 3], dtype="Int64"), pd.array([True, None, False],
                                                                   dtype="boolean"),
                   pd.array([1, 2, 3], dtype="Int32"), np.array([1.5, 2.5, np.nan]),
                   pd.array(np.array(["2020-01-01", "NaT", "2021-01-01"], "datetime64[ns]"))):
        got, expected = _take(values, pos), values.take(pos)
        assert type(got) is type(expected) and got.dtype == expected.dtype
        assert pd.Series(got).equals(pd.Series(expected))
        missing = _take(values, np.array([1, -1], np.int64))  # as a left join fills it
        assert pd.isna(missing[1]) and len(missing) == 2
