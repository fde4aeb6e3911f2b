"""`SubjectIndex`: one patient out of a cohort's summary through an index made once, equal to
`CourseSummary.patient` and to a comparison over the whole subject column."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from neda.demo import demo_registry
from neda.summary import CourseSummary, PatientCourse, SubjectIndex, course_summary

TABLES = ["patients", "events", "relapses", "epochs", "scores", "_visits", "neda", "dropped",
          "removed_relapses", "assessments", "scans", "trends"]


@pytest.fixture(scope="module")
def summary() -> CourseSummary:
    r = demo_registry(80, seed=11)
    return course_summary(r["visits"], r["relapses"], r["mri"], r["treatments"], r["pros"],
                          labs=r["labs"])


def _same(a: PatientCourse, b: PatientCourse) -> None:
    pd.testing.assert_series_equal(a.row, b.row)
    for name in ("events", "relapses", "epochs", "scores", "visits", "trends", "assessments"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
        assert getattr(a, name).attrs == getattr(b, name).attrs, name
    assert a.provenance is b.provenance
    assert json.dumps(a.to_dict(), default=str) == json.dumps(b.to_dict(), default=str)
    assert a.plain_language() == b.plain_language()


def test_every_patient_equals_the_summarys_own(summary: CourseSummary) -> None:
    index = SubjectIndex(summary)
    subjects = summary.patients["subject"].tolist()
    assert len(subjects) == 80
    for s in subjects:
        _same(index.patient(s), summary.patient(s))
    # matched as text, like CourseSummary.patient
    _same(index.patient(str(subjects[3])), summary.patient(str(subjects[3])))
    with pytest.raises(ValueError, match="no patient 'nobody' in the data"):
        index.patient("nobody")


def test_rows_equal_a_mask_over_the_whole_table(summary: CourseSummary) -> None:
    index = SubjectIndex(summary)
    for name in TABLES:
        frame = getattr(summary, name)
        if not len(frame) or "subject" not in frame.columns:
            continue
        for s in [*summary.patients["subject"].tolist()[:25], "nobody"]:
            rows = index.rows(name, s)
            pd.testing.assert_frame_equal(rows, frame[frame["subject"] == s], obj=f"{name} {s}")
            assert rows.attrs == {}  # to read, not to pass on


def test_integer_subjects_as_the_clinic_uses(summary: CourseSummary) -> None:
    """The clinic's subjects are database ids (integers), some patients without any event."""
    r = demo_registry(30, seed=5)
    for frame in r.values():
        frame["id"] = frame["id"].map(lambda s: 1000 + int(str(s).lstrip("P") or 0))
    cs = course_summary(r["visits"], r["relapses"], r["mri"], r["treatments"], r["pros"],
                        labs=r["labs"])
    index = SubjectIndex(cs)
    for s in cs.patients["subject"].tolist():
        _same(index.patient(s), cs.patient(s))
        pd.testing.assert_frame_equal(index.rows("events", s),
                                      cs.events[cs.events["subject"] == s])
