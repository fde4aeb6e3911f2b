"""Treatment epochs and exposure windows (clinical rules §8.3 and 4.0).

``treatment_epochs(treatments, options)`` turns DMT courses (``docs/data-model.md``:
``subject``, ``drug``, ``start`` = first dose, ``stop`` = last dose or NaT while ongoing) into
non-overlapping epochs, one continuous period on one DMT each:

* **Same-drug merge** - a course of the same drug that restarts at most
  ``same_drug_merge_days`` (30) days after the last day covered by the previous course
  (last dose + dosing interval - 1) joins its epoch (rules §8.3, after peer msclinical
  ``epochs``: for daily drugs this is ``next start - last dose <= 30``). Measuring from the end
  of the dosing interval lets infusion-by-infusion records (ocrelizumab every 183 days) form one
  epoch.
* **Epoch end** (rules §8.3 table), inclusive:

  - continuous therapies: last dose + ``dosing_interval_days`` + ``carryover_days`` (90);
  - alemtuzumab: start of the last course + ``alemtuzumab_tail_days`` (730); a later course
    that starts on or before that day joins the epoch;
  - cladribine tablets: start of the first course + ``cladribine_epoch_days`` (1461, the end of
    year 4); courses starting on or before that day join the epoch;
  - AHSCT: open (the next DMT start or the end of follow-up);
  - a still-running continuous course: open (``end`` NaT, ``end_reason = "ongoing"``).

* **Overlap truncation** - when another DMT (or a restart of the same DMT after the merge gap)
  starts on or before the computed end, the epoch ends the day before that start: epochs never
  overlap and events from the new start on belong to the new DMT (rules §8.3).
* **Onset** - ``onset = start + onset_delay_days`` (183): the start of the per-epoch attribution
  window of relapses, CDW and MRI activity (rules §8.3). NEDA/MEDA windows start at ``start``
  (rules §4.0).

``end_reason``: ``stop`` (continuous therapy stopped; end = last dose + interval + carry-over),
``tail_end`` (alemtuzumab / cladribine effect window over), ``switch`` (another DMT started
after the last dose, during interval / carry-over / tail), ``overlap`` (another DMT started on
or before the last recorded dose, or while the course was recorded as ongoing - usually a
missing stop date), ``restart`` (the same DMT restarted after a gap longer than the merge gap
but before the computed end), ``ongoing`` (open-ended: a running course, or AHSCT with no
later DMT).

Every date difference is in whole calendar days (rules §0.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..options import Options, option
from .common import as_pandas as _to_pandas
from .common import column, frame_of, provenance, rule_set_name
from .common import subject_column as _subject_column
from .dmt_catalogue import CATALOGUE_SOURCE, CATALOGUE_VERSION, EFFICACY_MAPPINGS, Drug, lookup_drug

#: Columns of the treatment-epochs table (docs/data-model.md), in order.
EPOCH_COLUMNS = {
    "subject": "Subject identifier.",
    "epoch": "Epoch number within the subject (1, 2, ...; chronological).",
    "drug": "Generic name from the DMT catalogue (rules §8.1).",
    "route": "Route of administration (catalogue).",
    "drug_class": "Class / mechanism code (catalogue).",
    "efficacy": "Efficacy category under options.efficacy_mapping (rules §8.2); None = not mapped.",
    "start": "First dose (epoch start S of rules §4.0).",
    "onset": "start + onset_delay_days: start of per-epoch attribution windows (rules §8.3).",
    "end": "Last day of the epoch (inclusive); NaT = ongoing / open-ended.",
    "end_reason": "stop, tail_end, switch, overlap, restart or ongoing.",
}

#: Columns of :func:`exposure_windows`.
WINDOW_COLUMNS = {
    "subject": "Subject identifier.",
    "epoch": "Epoch number.",
    "drug": "Generic name.",
    "window_start": "First day of the attribution window (epoch onset, or follow-up start).",
    "window_end": "Last day of the window (epoch end, or follow-up end).",
    "days": "Days in the window, both ends included (0 = empty window).",
    "flags": "partial_window (cut by follow-up), ongoing (open epoch cut at follow-up end), "
             "no_followup, empty_window; ';'-separated.",
}

PULSED_TAILS = {"alemtuzumab": "last_course", "cladribine": "first_course"}
DMT_SOURCE = (f"docs/rules.md §4.0, 8.3 (exposure windows [C]); {CATALOGUE_SOURCE};"
              f" DMT catalogue {CATALOGUE_VERSION}")


@dataclass(frozen=True)
class DmtOptions(Options):
    """Options of the DMT epoch rules (rules §10 keys ``dmt.*``).

    efficacy_mapping : ``dmt.efficacy_mapping`` = ``"A"`` (platform / moderate-high / high,
        common clinical usage [C]); ``"B"`` ABN 2015 categories (Scolding et al., Pract Neurol
        2015) [V]; ``"C"`` He et al., Lancet Neurol 2020, higher vs lower [V]. Spec 8.2.
    onset_delay_days : ``dmt.onset_delay_days`` = 183 (6 months, rules §0.2 conversion; variant
        91). Start of per-epoch attribution windows (rules §8.3 [C]; peer msclinical ``epochs``
        uses 6 calendar months).
    carryover_days : ``dmt.carryover_days`` = 90, continuous therapies only (rules §8.3 [C]; peer
        msclinical ``epochs`` default 90).
    same_drug_merge_days : ``dmt.same_drug_merge_days`` = 30 (rules §8.3 [C]; peer msclinical
        ``gap_days`` 30).
    alemtuzumab_tail_days : ``dmt.alemtuzumab_tail_days`` = 730 after the start of the last
        course (rules §8.3 [C]).
    cladribine_epoch_days : ``dmt.cladribine_epoch_days`` = 1461 after the start of the first
        course: years 3-4 without dosing are part of the intended effect (rules §8.3 [C]; Mavenclad
        label: no treatment needed in years 3-4).
    name : rule-set name stored with results; default ``"spec_defaults"`` when every value is
        the spec default, else ``"custom"``.
    """

    efficacy_mapping: str = "A"
    onset_delay_days: int = option(183, whole=True, ge=0, key="dmt.onset_delay_days")
    carryover_days: int = option(90, whole=True, ge=0, key="dmt.carryover_days")
    same_drug_merge_days: int = option(30, whole=True, ge=0, key="dmt.same_drug_merge_days")
    alemtuzumab_tail_days: int = option(730, whole=True, ge=0, key="dmt.alemtuzumab_tail_days")
    cladribine_epoch_days: int = option(1461, whole=True, ge=0, key="dmt.cladribine_epoch_days")
    name: str | None = None

    @property
    def rule_set(self) -> str:
        return rule_set_name(self)

    def _check_together(self) -> list[str]:
        if str(self.efficacy_mapping).upper() not in EFFICACY_MAPPINGS:
            return [f"dmt.efficacy_mapping must be one of {sorted(EFFICACY_MAPPINGS)} (any "
                    f"case), got {self.efficacy_mapping!r}"]
        return []


# ---------------------------------------------------------------------------------------------
# helpers


_EPOCH0 = np.datetime64("1970-01-01", "D")
_FULL_DATE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")


def _day(value: Any) -> int | None:
    """Day number of a date-like value; None for NaT/NaN."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        if not _FULL_DATE.match(value):
            raise ValueError(f"{value!r} is not a full date (YYYY-MM-DD); treatment dates are "
                             "never imputed")
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    return int((np.datetime64(ts.date(), "D") - _EPOCH0).astype(np.int64))


def _dates(days: list[int | None]) -> pd.Series:
    return pd.Series(_date_array(days))


def _date_array(days: list[int | None]) -> np.ndarray:
    # one array conversion, not a datetime64 per value (a registry has ~200,000 of them)
    nums = np.array([_NAT_DAY if d is None else int(d) for d in days], dtype=np.int64)
    return nums.astype("datetime64[D]").astype("datetime64[ns]")


def _objects(values: list[Any]) -> np.ndarray:
    """``pd.Series(values, dtype=object)``'s array: one cell per value, as given."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


_NAT_DAY = np.iinfo(np.int64).min  # NaT as a day number




@dataclass
class _Course:
    row: Any  # index label in the input table (for messages)
    drug: Drug
    start: int
    stop: int | None  # None = ongoing
    interval: int | None

    @property
    def last_covered(self) -> int | None:
        """Last day covered by the last dose (continuous therapies)."""
        if self.stop is None or self.interval is None:
            return None
        return self.stop + self.interval - 1


@dataclass
class _Epoch:
    drug: Drug
    courses: list[_Course]

    @property
    def start(self) -> int:
        return self.courses[0].start

    @property
    def last(self) -> _Course:
        return self.courses[-1]

    def natural_end(self, o: DmtOptions) -> int | None:
        """Computed end before truncation (inclusive); None = open."""
        d = self.drug
        if d.schedule == "pulsed":
            if PULSED_TAILS[d.name] == "last_course":
                return self.last.start + o.alemtuzumab_tail_days
            return self.start + o.cladribine_epoch_days
        if d.schedule == "procedure" or self.last.stop is None:
            return None
        assert self.last.interval is not None
        return self.last.stop + self.last.interval + o.carryover_days

    def joins(self, c: _Course, o: DmtOptions) -> bool:
        """Whether a later course of the same drug continues this epoch."""
        d = self.drug
        if d.schedule == "procedure":
            return True
        if d.schedule == "pulsed":
            end = self.natural_end(o)
            return end is not None and c.start <= end
        covered = self.last.last_covered
        return covered is not None and c.start - covered <= o.same_drug_merge_days


def _describe_row(row: Any, subject: Any, drug: Any) -> str:
    return f"treatments row {row!r} (subject {subject!r}, drug {drug!r})"


def _day_column(values: pd.Series) -> list[int | None] | None:
    """Day numbers of a whole datetime column at once (None: not a datetime column)."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        return None
    days = values.to_numpy().astype("datetime64[D]")
    ok = ~np.isnat(days)
    nums = (days - _EPOCH0).astype(np.int64)
    return [int(d) if k else None for d, k in zip(nums.tolist(), ok.tolist(), strict=True)]


def _read_courses(t: pd.DataFrame, subj: str) -> dict[Any, list[_Course]]:
    for col in ("drug", "start"):
        if col not in t.columns:
            raise ValueError(f"treatments table has no column {col!r} (columns: {list(t.columns)})")
    has_stop = "stop" in t.columns
    has_interval = "dosing_interval_days" in t.columns
    n = len(t)
    # whole-column conversions where the dtype allows; per value (with messages) otherwise
    # (columns read as stored, without building Series: rules.common.column)
    starts = _day_column(column(t, "start"))
    stops = _day_column(column(t, "stop")) if has_stop else [None] * n
    intervals = column(t, "dosing_interval_days").tolist() if has_interval else [None] * n
    drugs: dict[Any, Drug] = {}
    out: dict[Any, list[_Course]] = {}
    for i, (label, sid, raw) in enumerate(zip(t.index.tolist(), column(t, subj).tolist(),
                                              column(t, "drug").tolist(), strict=True)):
        # the row's description is written only for a message (a registry has ~100,000 rows)
        key = raw if isinstance(raw, str) else repr(raw)
        drug = drugs.get(key)
        if drug is None:
            try:
                drug = lookup_drug(raw)
            except ValueError as err:
                raise ValueError(f"{_describe_row(label, sid, raw)}: {err}") from None
            drugs[key] = drug
        try:
            start = starts[i] if starts is not None else _day(t["start"].iat[i])
            stop = (stops[i] if stops is not None else _day(t["stop"].iat[i])) if has_stop \
                else None
        except (ValueError, TypeError) as err:
            raise ValueError(f"{_describe_row(label, sid, raw)}: unreadable date ({err})") from None
        if start is None:
            raise ValueError(f"{_describe_row(label, sid, raw)}: missing start date (first dose)")
        if stop is not None and stop < start:
            raise ValueError(f"{_describe_row(label, sid, raw)}: stop "
                             f"{_dates([stop])[0].date()} is before start "
                             f"{_dates([start])[0].date()}")
        interval = drug.dosing_interval_days
        raw_interval = intervals[i]
        if has_interval and drug.schedule == "continuous" and pd.notna(raw_interval):
            value = float(raw_interval)
            if value < 1 or value != int(value):
                raise ValueError(f"{_describe_row(label, sid, raw)}: dosing_interval_days "
                                 f"must be a whole number >= 1, got {raw_interval!r}")
            interval = int(value)
        out.setdefault(sid, []).append(_Course(label, drug, start, stop, interval))
    return out


def _check_same_drug_overlaps(sid: Any, courses: list[_Course]) -> None:
    by_drug: dict[str, list[_Course]] = {}
    for c in courses:
        by_drug.setdefault(c.drug.name, []).append(c)
    for name, cs in by_drug.items():
        cs = sorted(cs, key=lambda c: (c.start, c.stop if c.stop is not None else np.inf))
        for prev, nxt in zip(cs, cs[1:], strict=False):
            if prev.stop is None or nxt.start < prev.stop:
                prev_stop = "ongoing" if prev.stop is None else str(_dates([prev.stop])[0].date())
                raise ValueError(
                    f"treatments rows {prev.row!r} and {nxt.row!r} (subject {sid!r}): "
                    f"overlapping courses of {name} ({_dates([prev.start])[0].date()} to "
                    f"{prev_stop}, and from {_dates([nxt.start])[0].date()}); merge them into "
                    "one course or correct the dates")


def _subject_epochs(sid: Any, courses: list[_Course], o: DmtOptions) -> list[_Epoch]:
    if len(courses) == 1:  # most patients of a registry: nothing to order or merge
        return [_Epoch(courses[0].drug, [courses[0]])]
    _check_same_drug_overlaps(sid, courses)
    courses = sorted(courses, key=lambda c: (c.start, c.stop if c.stop is not None else np.inf))
    epochs: list[_Epoch] = []
    for c in courses:
        if epochs:
            cur = epochs[-1]
            if cur.drug is c.drug and cur.joins(c, o):
                cur.courses.append(c)
                continue
            if cur.drug is not c.drug and cur.start == c.start:
                raise ValueError(
                    f"treatments rows {cur.last.row!r} and {c.row!r} (subject {sid!r}): "
                    f"{cur.drug.name} and {c.drug.name} start on the same day "
                    f"({_dates([c.start])[0].date()}); epochs cannot be ordered")
        epochs.append(_Epoch(c.drug, [c]))
    return epochs


def _in_order(subjects: list[Any]) -> bool:
    """True when the subjects are already in sorted order (one patient's table always is:
    the sort is then the identity, and costs about a millisecond)."""
    try:
        return all(a <= b for a, b in zip(subjects, subjects[1:], strict=False))
    except TypeError:  # identifiers of several types: pandas' sort decides
        return False


def treatment_epochs(treatments: Any, options: DmtOptions | None = None, *,
                     subject: str | None = None) -> pd.DataFrame:
    """DMT epochs per subject (rules §8.3; table contract in ``docs/data-model.md``).

    Parameters
    ----------
    treatments : pandas or polars DataFrame, one row per course: ``subject`` (or ``id``),
        ``drug`` (generic or brand name, case-insensitive; rules §8.1), ``start`` (first dose),
        ``stop`` (last dose; NaT/absent = ongoing); optional ``dosing_interval_days`` (the
        record's actual interval, overriding the catalogue's; e.g. 42 for extended-interval
        natalizumab). Pulsed courses (alemtuzumab, cladribine) are one row per course (or per
        treatment week).
    options : :class:`DmtOptions` (spec defaults).

    Returns
    -------
    DataFrame with exactly the columns of :data:`EPOCH_COLUMNS`, one row per epoch, sorted by
    subject and start; ``attrs["provenance"]`` holds the options and catalogue version.

    Raises
    ------
    ValueError naming the offending row(s) for an unknown drug, a missing start, a stop before
    the start, overlapping courses of the same drug, or two different DMTs starting the same day.
    """
    o = (options or DmtOptions()).validated()
    t = _to_pandas(treatments)
    subj = _subject_column(t, subject, "treatments")
    mapping = o.efficacy_mapping.upper()
    rows: dict[str, list[Any]] = {k: [] for k in EPOCH_COLUMNS}
    starts: list[int | None] = []
    onsets: list[int | None] = []
    ends: list[int | None] = []
    drug_facts: dict[str, tuple[Any, Any, Any, Any]] = {}
    for sid, courses in _read_courses(t, subj).items():
        eps = _subject_epochs(sid, courses, o)
        for i, ep in enumerate(eps):
            end = ep.natural_end(o)
            last = ep.last
            if end is None:
                reason = "ongoing"
            else:
                reason = "tail_end" if ep.drug.schedule == "pulsed" else "stop"
            if i + 1 < len(eps):
                nxt = eps[i + 1].start
                if end is None or end >= nxt:
                    end = nxt - 1
                    if last.stop is None or last.stop >= nxt:
                        reason = "overlap"
                    elif eps[i + 1].drug is ep.drug:
                        reason = "restart"
                    else:
                        reason = "switch"
            facts = drug_facts.get(ep.drug.name)
            if facts is None:  # each drug's catalogue facts read once
                facts = drug_facts[ep.drug.name] = (ep.drug.name, ep.drug.route,
                                                    ep.drug.drug_class, ep.drug.efficacy(mapping))
            rows["subject"].append(sid)
            rows["epoch"].append(i + 1)
            rows["drug"].append(facts[0])
            rows["route"].append(facts[1])
            rows["drug_class"].append(facts[2])
            rows["efficacy"].append(facts[3])
            rows["end_reason"].append(reason)
            starts.append(ep.start)
            onsets.append(ep.start + o.onset_delay_days)
            ends.append(end)
    subject_dtype = column(t, subj).dtype if len(t) else np.dtype(object)
    # the table pd.DataFrame makes of these columns as Series (one block per type), built
    # from arrays without its per-column checks (about 0.5 ms on one patient's epochs)
    out = frame_of({
        "subject": (_objects(rows["subject"]) if subject_dtype == np.dtype(object) else
                    np.array(rows["subject"], dtype=subject_dtype)
                    if isinstance(subject_dtype, np.dtype)
                    else pd.array(rows["subject"], dtype=subject_dtype)),
        "epoch": np.array(rows["epoch"], dtype=np.int64),
        "drug": _objects(rows["drug"]),
        "route": _objects(rows["route"]),
        "drug_class": _objects(rows["drug_class"]),
        "efficacy": _objects(rows["efficacy"]),
        "start": _date_array(starts),
        "onset": _date_array(onsets),
        "end": _date_array(ends),
        "end_reason": _objects(rows["end_reason"]),
    }, consolidate=True, infer_dates=False)
    if not _in_order(rows["subject"]):  # epochs are made in order within a subject
        out = out.sort_values(["subject", "epoch"], kind="stable").reset_index(drop=True)
    record = provenance(o.rule_set, o, DMT_SOURCE)
    record["catalogue_version"] = CATALOGUE_VERSION
    out.attrs["provenance"] = record
    return out


def exposure_windows(epochs: pd.DataFrame, followup: Any = None, *,
                     subject: str | None = None) -> pd.DataFrame:
    """Per-epoch attribution windows ``[onset, end]`` (rules §8.3), cut to follow-up.

    ``epochs`` is the output of :func:`treatment_epochs`. ``followup`` (optional): one row per
    subject with ``subject``, ``start``, ``end`` (both days included) - the period in which
    relapses / events were ascertained; an open epoch (``end`` NaT) then ends at the follow-up
    end. Without follow-up an open epoch keeps ``window_end`` NaT and ``days`` <NA>.

    Returns the columns of :data:`WINDOW_COLUMNS` (one row per epoch, same order).
    """
    ep = epochs
    fu_start: dict[Any, int | None] = {}
    fu_end: dict[Any, int | None] = {}
    if followup is not None:
        fu = _to_pandas(followup)
        fsubj = _subject_column(fu, subject, "followup")
        for _, frow in fu.iterrows():
            fu_start[frow[fsubj]] = _day(frow["start"])
            fu_end[frow[fsubj]] = _day(frow["end"])
    w0s: list[int | None] = []
    w1s: list[int | None] = []
    days: list[Any] = []
    flags: list[str] = []
    for rec in ep.itertuples(index=False):
        f: list[str] = []
        w0 = _day(rec.onset)
        w1 = _day(rec.end)
        if w1 is None:
            f.append("ongoing")
        if followup is not None:
            sid = rec.subject
            if sid not in fu_start or fu_start[sid] is None or fu_end[sid] is None:
                f.append("no_followup")
                w0s.append(w0)
                w1s.append(w1)
                days.append(pd.NA)
                flags.append(";".join(f))
                continue
            a, b = fu_start[sid], fu_end[sid]
            assert a is not None and b is not None and w0 is not None
            if w0 < a or (w1 is not None and w1 > b):
                f.append("partial_window")
            w0 = max(w0, a)
            w1 = b if w1 is None else min(w1, b)
        assert w0 is not None
        n: Any = pd.NA if w1 is None else max(w1 - w0 + 1, 0)
        if n is not pd.NA and n == 0:
            f.append("empty_window")
        w0s.append(w0)
        w1s.append(w1)
        days.append(n)
        flags.append(";".join(f))
    return pd.DataFrame({
        "subject": ep["subject"].to_numpy(),
        "epoch": ep["epoch"].to_numpy(),
        "drug": ep["drug"].to_numpy(),
        "window_start": _dates(w0s),
        "window_end": _dates(w1s),
        "days": pd.Series(days, dtype="Int64"),
        "flags": pd.Series(flags, dtype=object),
    })
