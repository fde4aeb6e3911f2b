"""The course on Dask equals the in-memory course (neda.cohort.distributed).

A real LocalCluster (two single-threaded workers, in this process so that the compiled
kernels load once) runs generated registries written as Parquet datasets whose patients'
rows are spread over several files; every table is compared with the in-memory run on the
same rows, after ordering both by subject.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from neda import confirmed_events, course_summary  # noqa: E402
from neda.cohort import (  # noqa: E402
    confirmed_events_dask,
    course_summary_dask,
    neda_proportions,
)
from neda.cohort.distributed import SUMMARY_TABLES, subject_buckets  # noqa: E402
from neda.demo import demo_registry  # noqa: E402
from neda.io import InputError, read_tables  # noqa: E402
from neda.rules.arr import annualised_relapse_rate  # noqa: E402
from neda.rules.dmt import treatment_epochs  # noqa: E402
from neda.rules.relapses import relapse_hygiene  # noqa: E402

TABLES = ("visits", "relapses", "treatments", "mri", "labs", "pros")


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def _dataset(folder: Path, reg: dict[str, pd.DataFrame], files: int = 3, seed: int = 0
             ) -> dict[str, Path]:
    """Each table as a folder of ``files`` Parquet files, rows dealt at random (a patient's
    rows in several files)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, table in reg.items():
        (folder / name).mkdir(parents=True)
        k = rng.integers(0, files, len(table))
        for i in range(files):
            table[k == i].reset_index(drop=True).to_parquet(
                folder / name / f"part-{i}.parquet", index=False)
        out[name] = folder / name
    return out


def _by_subject(df: pd.DataFrame) -> pd.DataFrame:
    if "subject" in df.columns:
        df = df.iloc[np.argsort(df["subject"].to_numpy(), kind="stable")]
    return df.reset_index(drop=True)


def _same_summary(ref, got) -> None:
    for name in SUMMARY_TABLES:
        pd.testing.assert_frame_equal(_by_subject(getattr(ref, name)),
                                      _by_subject(getattr(got, name)), obj=name)
    assert ref.provenance == got.provenance
    for name in ("events", "summary", "unconfirmed", "dropped"):
        pd.testing.assert_frame_equal(_by_subject(getattr(ref.course_result, name)),
                                      _by_subject(getattr(got.course_result, name)), obj=name)
    assert ref.describe() == got.describe()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = demo_registry(150, seed=11)
    paths = _dataset(tmp_path_factory.mktemp("registry"), reg)
    # the in-memory run on the same rows: the files in name order, numbered from 0
    whole = {name: pd.read_parquet(path) for name, path in paths.items()}
    return paths, whole


def test_course_summary_from_a_parquet_dataset_equals_in_memory(client, registry):
    paths, whole = registry
    # subjects' rows really are spread over several input files
    spread = pd.concat([pd.read_parquet(f).assign(file=f.name)
                        for f in sorted(paths["visits"].glob("*.parquet"))])
    assert (spread.groupby("id")["file"].nunique() > 1).sum() > 100
    ref = course_summary(**whole)
    got = course_summary_dask(**paths, client=client, partitions=5, progress=False)
    assert got.partitions == 5
    _same_summary(ref, got)
    one = ref.patients["subject"].iloc[7]
    assert ref.patient(one).to_dict() == got.patient(one).to_dict()


def test_pooled_arr_is_a_reduce_of_the_partitions(client, registry):
    paths, whole = registry
    # neda.course_summary itself runs on Dask when given a client (or a dataset folder)
    got = course_summary(**paths, client=client)
    assert got.partitions > 1
    pd.testing.assert_frame_equal(_by_subject(course_summary(**whole).patients),
                                  _by_subject(got.patients))
    t = read_tables(**whole)
    hygiene = relapse_hygiene(t.relapses, visits=t.visits)
    first_last = t.visits.groupby("subject")["date"].agg(["min", "max"]).reset_index()
    first_last.columns = ["subject", "start", "end"]
    ref = annualised_relapse_rate(hygiene, first_last, treatment_epochs(t.treatments)).pooled
    pd.testing.assert_frame_equal(ref, got.pooled_arr, check_exact=False, rtol=1e-12)
    # the in-memory summary carries the same pooled rates (computed once, with the rates)
    pd.testing.assert_frame_equal(course_summary(**whole).pooled_arr, got.pooled_arr,
                                  check_exact=False, rtol=1e-12)
    # not the mean of the partitions' rates
    assert got.pooled_arr["subjects"].iloc[0] == len(got.patients)


def test_confirmed_events_from_parquet_and_dask_dataframes_equal_in_memory(client, registry):
    paths, whole = registry
    ref = confirmed_events(whole["visits"], whole["relapses"], mri=whole["mri"])
    got = confirmed_events_dask(paths["visits"], paths["relapses"], mri=paths["mri"],
                                client=client, partitions=3, progress=False)
    for name in ("events", "summary", "unconfirmed", "dropped"):
        pd.testing.assert_frame_equal(_by_subject(getattr(ref, name)),
                                      _by_subject(getattr(got, name)), obj=name)
    assert ref.provenance == got.provenance
    # a Dask DataFrame: its index labels are the row references, as in .compute()
    visits = dd.from_pandas(whole["visits"], npartitions=4)
    relapses = dd.from_pandas(whole["relapses"], npartitions=2)
    got = confirmed_events(visits, relapses, client=client)
    ref = confirmed_events(visits.compute(), relapses.compute())
    for name in ("events", "summary", "dropped"):
        pd.testing.assert_frame_equal(_by_subject(getattr(ref, name)),
                                      _by_subject(getattr(got, name)), obj=name)


def test_text_identifiers_and_pandas_input(client):
    reg = demo_registry(60, seed=4)
    # text identifiers in one table: every table's identifiers are compared as text
    reg["visits"]["id"] = reg["visits"]["id"].map(lambda i: f"P{i:03d}" if i % 7 else str(i))
    reg["relapses"]["id"] = reg["relapses"]["id"].map(
        lambda i: f"P{i:03d}" if i % 7 else str(i))
    tables = {k: reg[k] for k in ("visits", "relapses", "treatments", "mri")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = course_summary(**tables)
        got = course_summary_dask(**tables, client=client, partitions=4, progress=False)
    _same_summary(ref, got)


@pytest.mark.parametrize("pseudo, cut_off", [(True, "2026-06-30"), (False, "2026-09-01")])
def test_a_relapse_after_every_other_date_sets_the_cut_off_as_in_memory(client, pseudo,
                                                                          cut_off):
    """The monitoring cut-off is the cohort's latest date, counted relapses included: a
    pseudo-relapse that relapse hygiene removes does not move it, a counted one does."""
    reg = demo_registry(40, seed=5)
    assert reg["visits"]["date"].max() == pd.Timestamp("2026-06-30")
    late = pd.DataFrame({"id": [reg["visits"]["id"].iloc[0]], "date": ["2026-09-01"],
                         "pseudo": [pseudo], "objective": [True], "steroids": [False]})
    reg["relapses"] = pd.concat([reg["relapses"], late.astype(reg["relapses"].dtypes)],
                                ignore_index=True)
    tables = {k: reg[k] for k in ("visits", "relapses", "mri", "labs")}
    ref = course_summary(**tables)
    got = course_summary_dask(**tables, client=client, partitions=4, progress=False)
    assert set(ref.patients["as_of"]) == {pd.Timestamp(cut_off)}
    _same_summary(ref, got)


def test_a_bad_cell_names_the_file_and_its_row_in_that_file(client, tmp_path):
    reg = demo_registry(40, seed=2)
    paths = _dataset(tmp_path, {k: reg[k] for k in ("visits", "relapses")}, files=3)
    files = sorted(paths["visits"].glob("*.parquet"))
    second = pd.read_parquet(files[1])
    second["edss"] = second["edss"].map(str)  # a text column, as spreadsheets export
    second.loc[5, "edss"] = "eleven"
    second.to_parquet(files[1], index=False)
    with pytest.raises(InputError) as dask_error:
        course_summary_dask(**paths, client=client, partitions=3, progress=False)
    # the file read on its own in memory names the same row
    with pytest.raises(InputError) as memory_error:
        course_summary(files[1])
    assert [(p.row, p.column, p.value) for p in dask_error.value.problems] == \
        [(p.row, p.column, p.value) for p in memory_error.value.problems] == \
        [(5, "edss", "eleven")]
    assert dask_error.value.problems[0].file == "visits/part-1.parquet"
    assert str(dask_error.value).splitlines()[-1] == \
        "visits/part-1.parquet, row index 5, column 'edss': got 'eleven'; expected " + \
        str(memory_error.value).split("expected ", 1)[1]


def test_neda_proportions_are_a_reduce_of_the_partitions(client, registry):
    """Counts summed over partitions, then one proportion and interval: equal to
    neda_proportions on the in-memory summary (not a mean of the partitions' proportions)."""
    paths, whole = registry
    ref = course_summary(**whole)
    got = course_summary_dask(**paths, client=client, partitions=4, progress=False)
    assert set(got.neda_proportions["measure"]) == {"neda3", "neda4"}
    for measure in ("neda3", "neda4"):
        expected = neda_proportions(ref, measure=measure)
        mine = got.neda_proportions[got.neda_proportions["measure"] == measure].drop(
            columns="measure").reset_index(drop=True)
        expected.attrs = {}
        pd.testing.assert_frame_equal(expected, mine, check_exact=False, rtol=1e-12)
        assert mine["n_windows"].sum() == (ref.neda["window_type"] == "per_year").sum()


def test_output_as_a_partitioned_parquet_dataset(client, registry, tmp_path):
    paths, whole = registry
    ref = course_summary(**whole)
    folder = course_summary_dask(**paths, client=client, partitions=3, output=tmp_path / "out",
                                 progress=False)
    parts = sorted((folder / "patients").glob("part-*.parquet"))
    assert len(parts) == 3
    patients = _by_subject(pd.read_parquet(folder / "patients"))
    assert patients["subject"].tolist() == ref.patients["subject"].tolist()
    assert patients["CDW"].tolist() == ref.patients["CDW"].tolist()
    assert len(pd.read_parquet(folder / "events")) == len(ref.events)
    assert (folder / "pooled_arr.parquet").exists()
    written = pd.read_parquet(folder / "neda_proportions.parquet")
    assert written["n_neda"].sum() == sum(
        neda_proportions(ref, measure=m)["n_neda"].sum() for m in ("neda3", "neda4"))


def test_buckets_read_identifiers_as_the_readers_do():
    same = [pd.Series([12, 7]), pd.Series([12.0, 7.0]), pd.Series([" 12", "7 "])]
    buckets = [subject_buckets(s, 16).tolist() for s in same]
    assert buckets[0] == buckets[1] == buckets[2]
    # text identifiers with leading zeros are other patients (rules §0.3), spread over buckets
    many = subject_buckets(pd.Series([f"{i:05d}" for i in range(2000)]), 8)
    assert np.bincount(many, minlength=8).min() > 150


def test_an_address_nobody_answers_is_one_line():
    visits = pd.DataFrame({"subject": [1], "date": ["2020-01-01"], "edss": [1.0]})
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), \
            pytest.raises(ConnectionError, match="no Dask scheduler answers at tcp://127.0"):
        course_summary_dask(visits, client="tcp://127.0.0.1:9", progress=False)


# ------------------------------------------------------------------------- the command line
def test_cli_course_and_progression_with_dask_equal_without(client, tmp_path):
    from typer.testing import CliRunner

    from neda.cli import app

    reg = demo_registry(80, seed=6)
    files = {}
    for name in ("visits", "relapses", "treatments", "mri"):
        files[name] = tmp_path / f"{name}.parquet"
        reg[name].to_parquet(files[name], index=False)
    address = client.scheduler.address
    runner = CliRunner()
    common = [str(files["visits"]), "--relapses", str(files["relapses"]), "--mri",
              str(files["mri"]), "--treatments", str(files["treatments"])]
    plain = runner.invoke(app, ["course", *common, "-o", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    on_dask = runner.invoke(app, ["course", *common, "-o", str(tmp_path / "dask"),
                                  "--dask", address])
    assert on_dask.exit_code == 0, on_dask.output
    for table in ("patients", "epochs", "relapses", "events", "scores", "neda"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "plain" / f"{table}.csv"),
                                      pd.read_csv(tmp_path / "dask" / f"{table}.csv"))
    # the engine alone, its tables written
    outs = {}
    for label, extra in (("plain", []), ("dask", ["--dask", address])):
        r = runner.invoke(app, ["progression", str(files["visits"]), "--relapses",
                                str(files["relapses"]), "-o", str(tmp_path / f"{label}.csv"),
                                "--dropped-out", str(tmp_path / f"{label}-dropped.csv"),
                                *extra])
        assert r.exit_code == 0, r.output
        # on Dask the workers read as they compute: one time, not a read time of 0.00 s
        assert ("Time (read and compute, on Dask)" in r.output) == (label == "dask")
        outs[label] = (pd.read_csv(tmp_path / f"{label}.csv"),
                       pd.read_csv(tmp_path / f"{label}-dropped.csv"))
    pd.testing.assert_frame_equal(_by_subject(outs["plain"][0]), _by_subject(outs["dask"][0]))
    pd.testing.assert_frame_equal(outs["plain"][1], outs["dask"][1])
    # a partitioned Parquet dataset written by the workers
    r = runner.invoke(app, ["course", *common, "--dask", address, "--parquet-out",
                            str(tmp_path / "parts")])
    assert r.exit_code == 0, r.output
    written = pd.read_parquet(tmp_path / "parts" / "patients")
    assert sorted(written["subject"]) == sorted(pd.read_csv(tmp_path / "plain" /
                                                           "patients.csv")["subject"])


def test_cli_dask_without_an_address_and_an_unreachable_one(tmp_path):
    from typer.testing import CliRunner

    from neda.cli import app, dask_arguments

    assert dask_arguments(["course", "v.parquet", "--dask"]) == \
        ["course", "v.parquet", "--dask", "local"]
    assert dask_arguments(["course", "--dask", "v.parquet"]) == \
        ["course", "--dask", "local", "v.parquet"]
    assert dask_arguments(["course", "--dask", "tcp://10.0.0.1:8786", "v.parquet"]) == \
        ["course", "--dask", "tcp://10.0.0.1:8786", "v.parquet"]
    assert dask_arguments(["course", "--dask", "scheduler:8786"])[-1] == "scheduler:8786"
    visits = tmp_path / "visits.parquet"
    pd.DataFrame({"subject": [1, 1], "date": ["2020-01-01", "2021-01-01"],
                  "edss": [1.0, 2.0]}).to_parquet(visits)
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        r = CliRunner().invoke(app, ["course", str(visits), "--dask", "tcp://127.0.0.1:9"])
    assert r.exit_code == 1
    assert "no Dask scheduler answers at tcp://127.0.0.1:9" in r.output
    assert "Traceback" not in r.output
    # without a configured timeout: a few seconds, not Dask's 30 s
    r = CliRunner().invoke(app, ["course", str(visits), "--dask", "tcp://127.0.0.1:9"])
    assert r.exit_code == 1
    assert "after 5 s" in r.output and "no Dask scheduler answers" in r.output


def test_a_missing_column_is_said_once(client, tmp_path):
    reg = demo_registry(30, seed=3)
    visits = reg["visits"].drop(columns=["edss"])
    with pytest.raises(InputError) as dask_error:
        course_summary_dask(visits, client=client, partitions=4, progress=False)
    with pytest.raises(InputError) as memory_error:
        course_summary(visits)
    assert str(dask_error.value) == str(memory_error.value)
