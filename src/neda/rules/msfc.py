"""Multiple Sclerosis Functional Composite (MSFC) z-scores (clinical rules §7.1).

The MSFC combines three performance measures into one score (Cutter et al., Brain 1999;
Fischer et al., Mult Scler 1999; scoring per the MSFC Administration and Scoring Manual,
Fischer et al., revised 2001):

* **Timed 25-Foot Walk (T25FW)** - mean of two trials, seconds (higher = worse);
* **9-Hole Peg Test (9HPT)** - two trials per hand; the 9HPT score is the mean of the
  reciprocals of both hands' trial means, ``(1/dominant + 1/non-dominant) / 2`` (1/s, higher =
  better);
* **PASAT-3** - correct answers out of 60 (higher = better), or the **SDMT** in its place
  (Drake et al., Mult Scler 2010; rules §7.1 variant).

Each component becomes a z-score against a reference population (:class:`MsfcReference`) and
the composite is ``(Z_9HPT - Z_T25FW + Z_cognitive) / 3`` (higher = better). ``Z_T25FW`` keeps
the manual's sign (higher = slower = worse) and is *subtracted*; it is computed on seconds, not
on the reciprocal, because the Task Force reference values and the T25FW incapacity value
(165.7948 s = 9.5353 + 13.7 x 11.4058) are in seconds (rules §7.1 formula; the independent EPIC
scoring code does the same). A reciprocal-T25FW variant is offered for user references
(``t25fw_scale="reciprocal"``).

Timed trials carry a reason code (rules §2.2, 7.1): ``completed``, ``unable_ms`` (cannot perform
because of MS: the trial takes the MSFC incapacity value - 9HPT 777 s, T25FW 165.7948 s, PASAT
0) or ``unable_other`` (the trial is missing). Variant ``timed_unable_rule="missing"`` makes
``unable_ms`` trials missing too.

Input columns of ``visits`` (spec data model; every one optional except ``subject``, ``date``):

* visit values: ``t25fw``, ``nhpt_dominant``, ``nhpt_nondominant`` (or a combined ``nhpt``),
  ``pasat``, ``sdmt``; each may have a visit-level reason column ``<name>_reason``;
* trials: ``t25fw_trial1``, ``t25fw_trial2``, ``nhpt_dominant_trial1`` ... and reasons
  ``t25fw_reason1``, ``t25fw_reason2``, ``nhpt_dominant_reason1`` ...; where a row has any
  trial value or trial reason, the trials decide that row's value, otherwise the visit value.

Reason codes: ``completed | unable_ms | unable_other``; blank means "not recorded" (a value is
then read as completed, except that a trial at or above the time limit - T25FW 180 s, 9HPT
300 s - counts as ``unable_ms``, rules §7.1 [C]).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from neda.options import Options, option
from neda.rules.common import bare, column, column_numpy, plain, provenance, provenance_frame

SOURCE = (
    "docs/rules.md §7.1 (and 2.2 for reason codes); Fischer JS et al., "
    "Mult Scler 1999;5:244-250; Cutter GR et al., Brain 1999;122:871-882; MSFC Administration "
    "and Scoring Manual (Fischer et al., revised 2001); Drake AS et al., Mult Scler 2010 (SDMT)"
)

REFERENCE_KINDS = ("taskforce_2001", "cohort_baseline", "custom")
COGNITIVE_COMPONENTS = ("pasat", "sdmt")
TIMED_UNABLE_RULES = ("incapacity_value", "missing")
REASON_CODES = ("completed", "unable_ms", "unable_other")
T25FW_SCALES = ("seconds", "reciprocal")
NHPT_COMBINED_RULES = ("as_both_hands", "ignore")
TESTS = ("t25fw", "nhpt", "pasat", "sdmt")

#: Components a reference table may hold, with their unit.
REFERENCE_COMPONENTS: dict[str, str] = {
    "nhpt": "9HPT score: mean of the reciprocals of both hands' trial means (1/s)",
    "t25fw": "T25FW trial mean (s)",
    "t25fw_reciprocal": "reciprocal of the T25FW trial mean (1/s); only for t25fw_scale=reciprocal",
    "pasat": "PASAT-3 correct answers (0-60)",
    "sdmt": "SDMT correct answers in 90 s (oral version by default)",
}

#: Plausible ranges of the correct-answer counts.
_COUNT_MAX = {"pasat": 60.0, "sdmt": 110.0}
_LABEL = {"t25fw": "T25FW", "nhpt": "9HPT", "pasat": "PASAT-3", "sdmt": "SDMT"}
_NO_REASON, _COMPLETED, _UNABLE_MS, _UNABLE_OTHER = -1, 0, 1, 2
_REASON_CODE = {"completed": _COMPLETED, "unable_ms": _UNABLE_MS, "unable_other": _UNABLE_OTHER}


@dataclass(frozen=True)
class MsfcOptions(Options):
    """Options of the MSFC scoring; every ``msfc.*`` key of rules §10, and the
    ``cdw.timed_unable_rule`` rule as it applies to MSFC trials.

    Parameters (default in brackets; spec section and source in parentheses):

    reference : ``"taskforce_2001"`` | ``"cohort_baseline"`` | ``"custom"`` [taskforce_2001]
        (7.1). Reference population of the z-scores: the NMSS Task Force pooled means/SDs
        (Fischer 1999 / MSFC manual 2001 [M]), the study's own baseline visits, or a user table.
        See :class:`MsfcReference`.
    cognitive_component : ``"pasat"`` | ``"sdmt"`` [pasat] (7.1; Drake et al. 2010). There are
        no Task Force SDMT values: ``sdmt`` with ``taskforce_2001`` is a configuration error.
    unable_9hpt_trial_s : float [777] (7.1; "MSFC manual rules" [M], open item 12.2). 9HPT
        trial value when the patient cannot perform it because of MS.
    unable_t25fw_trial_s : float [165.7948] (7.1 [M]) = 9.5353 + 13.7 x 11.4058, the worst
        T25FW z-score (13.7) in the Task Force database. Used whatever the reference.
    unable_pasat_score : float [0] (7.1 [M]).
    unable_sdmt_score : float or None [None] (no rule in the spec; by rules §7.8 an instrument
        without a rule stays missing). A number (e.g. 0, by analogy with the PASAT) substitutes
        it for an ``unable_ms`` SDMT. [C]
    timed_unable_rule : ``"incapacity_value"`` | ``"missing"`` [incapacity_value] (2.2, key
        ``cdw.timed_unable_rule`` [C]). ``missing``: ``unable_ms`` trials are missing too.
    cap_at_incapacity : bool [True] - a completed timed test slower than the incapacity value
        scores as the incapacity value (T25FW z at most 13.7: the MSFC manual's worst score,
        spec open item 12.2), so a slower performance never scores better than incapacity.
    t25fw_time_limit_s, nhpt_time_limit_s : float [180, 300] (7.1 administration facts [V]).
        A trial with no reason recorded and a time at or above the limit counts as
        ``unable_ms`` (7.1 [C]).
    t25fw_scale : ``"seconds"`` | ``"reciprocal"`` [seconds] (7.1 formula; MSFC manual).
        ``reciprocal`` scores ``1/T25FW`` against a reference's ``t25fw_reciprocal`` values
        (sign flipped so ``z_t25fw`` stays "higher = worse"); needs ``cohort_baseline`` or
        ``custom``. [C] (not in the spec; offered because the reciprocal is common in later
        analyses.)
    nhpt_combined_column : ``"as_both_hands"`` | ``"ignore"`` [as_both_hands] (data model:
        ``nhpt`` may replace the per-hand columns). ``as_both_hands`` reads a combined ``nhpt``
        value as the trial mean of each hand, so the 9HPT score is ``1/nhpt`` (flagged in the
        ``nhpt_combined`` output column); ``ignore`` leaves the 9HPT missing without per-hand
        values. [C]
    """

    reference: str = option("taskforce_2001", choices=REFERENCE_KINDS, key="msfc.reference")
    cognitive_component: str = option("pasat", choices=COGNITIVE_COMPONENTS,
                                      key="msfc.cognitive_component")
    unable_9hpt_trial_s: float = option(777.0, gt=0, key="msfc.unable_9hpt_trial_s")
    unable_t25fw_trial_s: float = option(165.7948, gt=0, key="msfc.unable_t25fw_trial_s")
    unable_pasat_score: float = option(0.0, ge=0, le=60, key="msfc.unable_pasat_score")
    unable_sdmt_score: float | None = option(None, ge=0, le=110, optional=True,
                                             key="")
    timed_unable_rule: str = option("incapacity_value", choices=TIMED_UNABLE_RULES,
                                    key="cdw.timed_unable_rule")
    cap_at_incapacity: bool = option(True)
    t25fw_time_limit_s: float = option(180.0, gt=0)
    nhpt_time_limit_s: float = option(300.0, gt=0)
    t25fw_scale: str = option("seconds", choices=T25FW_SCALES)
    nhpt_combined_column: str = option("as_both_hands", choices=NHPT_COMBINED_RULES,
                                       key="")

    def _check_together(self) -> list[str]:
        problems = []
        if self.cognitive_component == "sdmt" and self.reference == "taskforce_2001":
            problems.append(
                "msfc.cognitive_component='sdmt' needs msfc.reference='cohort_baseline' or "
                "'custom' with a user-supplied SDMT mean and SD: there are no Task Force SDMT "
                "reference values (rules §7.1)")
        if self.t25fw_scale == "reciprocal" and self.reference == "taskforce_2001":
            problems.append(
                "msfc.t25fw_scale='reciprocal' needs msfc.reference='cohort_baseline' or "
                "'custom': the Task Force T25FW values are in seconds (rules §7.1)")
        return problems

    @property
    def rule_set(self) -> str:
        """Name stored with every result, e.g. ``msfc/taskforce_2001/pasat/incapacity_value``."""
        name = f"msfc/{self.reference}/{self.cognitive_component}/{self.timed_unable_rule}"
        if self.t25fw_scale != "seconds":
            name += "/t25fw_reciprocal"
        return name

    def incapacity_value(self, test: str) -> float:
        """The value an ``unable_ms`` trial takes (NaN when it becomes missing)."""
        test = _test_name(test)
        if self.timed_unable_rule == "missing":
            return float("nan")
        value = {"t25fw": self.unable_t25fw_trial_s, "nhpt": self.unable_9hpt_trial_s,
                 "pasat": self.unable_pasat_score, "sdmt": self.unable_sdmt_score}[test]
        return float("nan") if value is None else float(value)


def _choice(key: str, value: Any, allowed: tuple[str, ...], section: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {key} {value!r}; choose one of {', '.join(allowed)} "
                         f"(spec {section})")


def _test_name(test: str) -> str:
    t = str(test).strip().lower().replace("-", "").replace("_", "")
    t = {"9hpt": "nhpt", "nhpt": "nhpt", "t25fw": "t25fw", "pasat": "pasat", "pasat3": "pasat",
         "sdmt": "sdmt"}.get(t, t)
    if t not in TESTS:
        raise ValueError(f"unknown test {test!r}; expected one of t25fw, 9hpt (nhpt), pasat, sdmt")
    return t


# ------------------------------------------------------------------------- reference tables
@dataclass(frozen=True)
class MsfcReference:
    """A named, replaceable reference table: mean and SD of each MSFC component.

    ``values`` maps a component of :data:`REFERENCE_COMPONENTS` to ``(mean, sd)``; ``n`` holds
    the number of baseline values for a ``cohort_baseline`` table. Build one with
    :meth:`taskforce_2001`, :meth:`cohort_baseline` or :meth:`custom`.
    """

    name: str
    kind: str
    values: Mapping[str, tuple[float, float]]
    source: str
    n: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _choice("msfc.reference", self.kind, REFERENCE_KINDS, "7.1")
        clean: dict[str, tuple[float, float]] = {}
        for comp, pair in self.values.items():
            if comp not in REFERENCE_COMPONENTS:
                raise ValueError(f"reference {self.name!r}: unknown component {comp!r}; "
                                 f"expected one of {', '.join(REFERENCE_COMPONENTS)}")
            try:
                mean, sd = (float(pair[0]), float(pair[1]))
            except (TypeError, ValueError, IndexError):
                raise ValueError(f"reference {self.name!r}, {comp}: expected (mean, sd), "
                                 f"got {pair!r}") from None
            if not (np.isfinite(mean) and np.isfinite(sd) and sd > 0):
                raise ValueError(f"reference {self.name!r}, {comp}: mean must be finite and SD "
                                 f"positive, got mean={mean!r}, sd={sd!r}")
            clean[comp] = (mean, sd)
        object.__setattr__(self, "values", clean)
        object.__setattr__(self, "n", dict(self.n))

    # -- constructors
    @classmethod
    def taskforce_2001(cls) -> MsfcReference:
        """NMSS Task Force pooled reference (rules §7.1 [M]; MSFC manual 2001; EPIC code).

        9HPT 0.0439 +- 0.0101 (1/s), T25FW 9.5353 +- 11.4058 s, PASAT-3 45.0311 +- 12.0771.
        No SDMT values exist.
        """
        return cls(
            name="taskforce_2001", kind="taskforce_2001",
            values={"nhpt": (0.0439, 0.0101), "t25fw": (9.5353, 11.4058),
                    "pasat": (45.0311, 12.0771)},
            source="NMSS Clinical Outcomes Assessment Task Force pooled database (Fischer 1999; "
                   "MSFC Administration and Scoring Manual, revised 2001) [M]")

    @classmethod
    def custom(cls, values: Mapping[str, tuple[float, float]], name: str = "custom",
               source: str = "user-supplied") -> MsfcReference:
        """A user-supplied table, e.g. ``{"sdmt": (52.0, 11.5), ...}`` (rules §7.1 ``custom``)."""
        return cls(name=name, kind="custom", values=dict(values), source=source)

    @classmethod
    def cohort_baseline(cls, visits: pd.DataFrame, options: MsfcOptions | None = None,
                        baseline: Any = None, name: str = "cohort_baseline") -> MsfcReference:
        """Mean and SD (n - 1) of each component over the cohort's baseline visits (rules §7.1).

        ``baseline`` is a boolean mask over ``visits`` rows; by default each subject's first
        visit (by date) with any MSFC component. Component values are computed exactly as in
        :func:`msfc_scores` (reason codes and incapacity values included, as in the EPIC
        scoring code). Components with fewer than two baseline values (or no spread) are left
        out; using them raises a ``ValueError``.
        """
        opts = options or MsfcOptions(reference="cohort_baseline")
        frame = _check_visits(visits)
        comp = _component_values(frame, opts)
        if baseline is None:
            any_value = np.zeros(len(frame), bool)
            for key in ("t25fw", "nhpt_score", "pasat", "sdmt"):
                any_value |= ~np.isnan(comp[key])
            dates = column_numpy(frame, "date")
            order = pd.DataFrame({"s": column_numpy(frame, "subject"), "d": dates,
                                  "ok": any_value, "pos": np.arange(len(frame))})
            order = order[order["ok"]].sort_values(["s", "d"], kind="stable")
            mask = np.zeros(len(frame), bool)
            mask[order.drop_duplicates("s")["pos"].to_numpy()] = True
        else:
            mask = np.asarray(baseline, dtype=bool)
            if mask.shape != (len(frame),):
                raise ValueError("baseline must be a boolean mask with one value per visit row")
        values: dict[str, tuple[float, float]] = {}
        counts: dict[str, int] = {}
        sources = {"nhpt": comp["nhpt_score"], "t25fw": comp["t25fw"],
                   "t25fw_reciprocal": 1.0 / comp["t25fw"], "pasat": comp["pasat"],
                   "sdmt": comp["sdmt"]}
        for key, arr in sources.items():
            x = arr[mask]
            x = x[~np.isnan(x)]
            counts[key] = int(x.size)
            if x.size >= 2 and float(np.std(x, ddof=1)) > 0:
                values[key] = (float(np.mean(x)), float(np.std(x, ddof=1)))
        return cls(name=name, kind="cohort_baseline", values=values, n=counts,
                   source=f"cohort baseline visits ({int(mask.sum())} visits)")

    # -- use
    def get(self, component: str) -> tuple[float, float]:
        """``(mean, sd)`` of a component, or a ``ValueError`` saying why it is absent."""
        if component in self.values:
            return self.values[component]
        extra = ""
        if self.kind == "cohort_baseline":
            extra = f" (fewer than 2 baseline values or no spread: n={self.n.get(component, 0)})"
        elif self.kind == "taskforce_2001" and component == "sdmt":
            extra = " (there are no Task Force SDMT values; use cohort_baseline or custom)"
        raise ValueError(f"reference {self.name!r} has no {component} mean/SD{extra} "
                         "(rules §7.1)")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "source": self.source,
                "values": {k: list(v) for k, v in self.values.items()}, "n": dict(self.n)}


# --------------------------------------------------------------------------------- trials
def _reason_codes(reasons: Any, n: int, where: Callable[[int], str]) -> np.ndarray:
    """int8 codes: -1 not recorded, 0 completed, 1 unable_ms, 2 unable_other."""
    if reasons is None:
        return np.full(n, _NO_REASON, np.int8)
    raw = np.broadcast_to(np.asarray(reasons, dtype=object), (n,))
    blank = _blank(raw)
    out = np.full(n, _NO_REASON, np.int8)
    for i in np.flatnonzero(~blank):
        code = _REASON_CODE.get(str(raw[i]).strip().lower())
        if code is None:
            raise ValueError(f"{where(i)}: unknown reason code {raw[i]!r}; expected one of "
                             f"{', '.join(REASON_CODES)} or blank (rules §2.2)")
        out[i] = code
    return out


def _blank(values: np.ndarray) -> np.ndarray:
    """True for NaN/None/NA and blank strings."""
    out = np.asarray(pd.isna(values), bool).copy()
    if values.dtype == object:
        for i in np.flatnonzero(~out):
            v = values[i]
            out[i] = isinstance(v, str) and not v.strip()
    return out


def _as_float(values: Any, n: int, where: Callable[[int], str], what: str) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu" and values.shape == (n,):
        # a numeric column (the validated tables' dtype): every value is a number or NaN
        return values.astype(float)
    arr = np.broadcast_to(np.asarray(values, dtype=object), (n,))
    num = pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce").to_numpy(float)
    bad = np.isnan(num)
    if bad.any():
        idx = np.flatnonzero(bad)
        bad[idx] = ~_blank(arr[idx])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{where(i)}: {what} {arr[i]!r} is not a number")
    return num


def _trials(trial1: Any, trial2: Any, reason1: Any, reason2: Any, test: str,
            opts: MsfcOptions, n: int, where: Callable[[int], str],
            what: str) -> tuple[np.ndarray, np.ndarray]:
    """Visit value (mean of available trials) and "an incapacity value was used" per row."""
    limit = {"t25fw": opts.t25fw_time_limit_s, "nhpt": opts.nhpt_time_limit_s}.get(test)
    sub = opts.incapacity_value(test)
    total = np.zeros(n)
    count = np.zeros(n)
    incap = np.zeros(n, bool)
    for k, (trial, reason) in enumerate(((trial1, reason1), (trial2, reason2)), start=1):
        if trial is None and reason is None:  # a trial not recorded adds nothing (all NaN)
            continue
        label = f"{what} trial {k}" if trial2 is not None or reason2 is not None else what
        v = _as_float(trial, n, where, label)

        def where_trial(i: int, lab: str = label) -> str:
            return f"{where(i)}, {lab}"

        code = _reason_codes(reason, n, where_trial)
        done = ~np.isnan(v) & (code != _UNABLE_MS) & (code != _UNABLE_OTHER)
        if test in ("t25fw", "nhpt"):
            bad = done & (v <= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{where(i)}: {label} = {v[i]!r} s; expected a positive time "
                                 "in seconds")
            if limit is not None:
                code = np.where((code == _NO_REASON) & done & (v >= limit), _UNABLE_MS, code)
        else:
            top = _COUNT_MAX[test]
            bad = done & ((v < 0) | (v > top) | (v != np.round(v)))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{where(i)}: {label} = {v[i]!r}; expected a whole number of "
                                 f"correct answers from 0 to {top:g}")
        v = np.where(code == _UNABLE_MS, sub, np.where(code == _UNABLE_OTHER, np.nan, v))
        incap |= (code == _UNABLE_MS) & ~np.isnan(v)
        ok = ~np.isnan(v)
        total += np.where(ok, v, 0.0)
        count += ok
    # (the totals are finite and the divisor at least 1: nothing for numpy to warn about)
    value = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return value, incap


def timed_test_value(trial1: Any, trial2: Any = None, reason1: Any = None, reason2: Any = None,
                     test: str = "t25fw", options: MsfcOptions | None = None) -> Any:
    """The visit value of a test from its trials and reason codes (rules §2.2, 7.1).

    Mean of the available trials (one trial if the other is missing; NaN if both are). A trial
    with reason ``unable_ms`` takes the incapacity value (T25FW 165.7948 s, 9HPT 777 s, PASAT
    0; SDMT per ``unable_sdmt_score``) - or is missing with ``timed_unable_rule="missing"``;
    ``unable_other`` makes it missing; a trial with no reason at or above the time limit (T25FW
    180 s, 9HPT 300 s) counts as ``unable_ms``. ``test``: ``t25fw``, ``9hpt``/``nhpt`` (one
    hand), ``pasat`` or ``sdmt`` (one score: leave ``trial2`` None). Scalars give a float;
    arrays (NumPy, pandas) give an array.
    """
    opts = options or MsfcOptions()
    t = _test_name(test)
    scalar = all(np.ndim(x) == 0 for x in (trial1, trial2, reason1, reason2))
    shape = np.broadcast_shapes(*(np.shape(x) for x in (trial1, trial2, reason1, reason2)
                                  if x is not None))
    n = int(np.prod(shape)) if shape else 1
    flat = [None if x is None else np.ravel(np.broadcast_to(np.asarray(x, dtype=object), shape))
            for x in (trial1, trial2, reason1, reason2)]
    value, _ = _trials(flat[0], flat[1], flat[2], flat[3], t, opts, n,
                       lambda i: "trial" if scalar else f"element {i}", _LABEL[t])
    return float(value[0]) if scalar else value.reshape(shape)


# ------------------------------------------------------------------------------ components
def _check_visits(visits: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(visits, pd.DataFrame):
        raise ValueError("visits must be a pandas DataFrame")
    missing = [c for c in ("subject", "date") if c not in visits.columns]
    if missing:
        raise ValueError(f"visits: missing column(s) {', '.join(missing)} (docs/data-model.md)")
    # columns are read by position, as stored (rules.common.column: pandas deep-copies a
    # frame's attrs, a reader's report, into every Series), so neither the index nor the
    # attrs matter; copied only when the dates need parsing (a validated table has
    # datetime64 dates)
    given = column(visits, "date")
    if given.dtype == "datetime64[ns]" and not pd.isna(given).any():
        return visits
    frame = bare(visits)
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)
    dates = pd.to_datetime(frame["date"], errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"visits row {i} (subject {plain(frame['subject'].iloc[i])!r}): date "
                         f"{frame['date'].iloc[i]!r} is not a date (ISO 8601 expected)")
    return frame.assign(date=dates)


def _visit_value(frame: pd.DataFrame, base: str, test: str, opts: MsfcOptions,
                 where: Callable[[int], str], names: Any = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One visit value from ``<base>`` (+ ``<base>_reason``) or ``<base>_trial1/2`` columns."""
    n = len(frame)
    names = frame.columns if names is None else names  # (a set of them, from the caller)

    def col(name: str) -> Any:
        return column_numpy(frame, name) if name in names else None

    value = np.full(n, np.nan)
    incap = np.zeros(n, bool)
    if base in names or f"{base}_reason" in names:
        value, incap = _trials(col(base), None, col(f"{base}_reason"), None, test, opts, n,
                               where, base)
    trial_cols = [f"{base}_trial1", f"{base}_trial2", f"{base}_reason1", f"{base}_reason2"]
    if test in ("t25fw", "nhpt") and any(c in names for c in trial_cols):
        t1, t2, r1, r2 = (col(c) for c in trial_cols)
        tv, ti = _trials(t1, t2 if t2 is not None else np.full(n, np.nan), r1,
                         r2, test, opts, n, where, base)
        info = np.zeros(n, bool)
        for c in trial_cols:
            if c in names:
                info |= ~_blank(column_numpy(frame, c))
        value = np.where(info, tv, value)
        incap = np.where(info, ti, incap)
    if opts.cap_at_incapacity and test in ("t25fw", "nhpt"):
        # a completed test slower than the incapacity value would score worse than being
        # unable to do it (T25FW: 166-180 s vs 165.79 s); the incapacity value is the worst
        worst = opts.unable_t25fw_trial_s if test == "t25fw" else opts.unable_9hpt_trial_s
        if test == "t25fw" and opts.t25fw_scale == "seconds" or test == "nhpt":
            value = np.where(np.isnan(value), value, np.minimum(value, worst))
    return value, incap


def _component_values(frame: pd.DataFrame, opts: MsfcOptions) -> dict[str, np.ndarray]:
    subjects = column_numpy(frame, "subject")
    dates = column_numpy(frame, "date")

    def where(i: int) -> str:
        return f"visits row {i} (subject {plain(subjects[i])!r}, date {str(dates[i])[:10]})"

    names = set(frame.columns)  # (a set: about thirty look-ups of column names below)
    out: dict[str, np.ndarray] = {}
    out["t25fw"], out["t25fw_incap"] = _visit_value(frame, "t25fw", "t25fw", opts, where, names)
    dom, dom_i = _visit_value(frame, "nhpt_dominant", "nhpt", opts, where, names)
    non, non_i = _visit_value(frame, "nhpt_nondominant", "nhpt", opts, where, names)
    out["nhpt_dominant"], out["nhpt_nondominant"] = dom, non
    out["nhpt_incap"] = dom_i | non_i
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (1.0 / dom + 1.0 / non) / 2.0
    combined = np.zeros(len(frame), bool)
    if opts.nhpt_combined_column == "as_both_hands" and (
            "nhpt" in names or "nhpt_reason" in names):
        comb, comb_i = _visit_value(frame, "nhpt", "nhpt", opts, where, names)
        combined = np.isnan(score) & np.isnan(dom) & np.isnan(non) & ~np.isnan(comb)
        with np.errstate(divide="ignore"):
            score = np.where(combined, 1.0 / comb, score)
        out["nhpt_incap"] = out["nhpt_incap"] | (combined & comb_i)
    out["nhpt_score"] = score
    out["nhpt_combined"] = combined
    out["pasat"], out["pasat_incap"] = _visit_value(frame, "pasat", "pasat", opts, where, names)
    out["sdmt"], out["sdmt_incap"] = _visit_value(frame, "sdmt", "sdmt", opts, where, names)
    return out


# the Task Force table, made (and checked) once: read only (``get``, ``name``, ``as_dict``
# copies), it is the same table every time
_TASKFORCE_2001 = MsfcReference.taskforce_2001()

#: Output columns of :func:`msfc_scores` (``pasat``/``z_pasat`` become ``sdmt``/``z_sdmt``
#: with ``cognitive_component="sdmt"``).
RESULT_COLUMNS: dict[str, str] = {
    "subject": "subject identifier as given",
    "date": "visit date (datetime64)",
    "t25fw": "T25FW visit value: mean of the available trials after reason codes (s)",
    "nhpt_dominant": "9HPT dominant-hand trial mean (s)",
    "nhpt_nondominant": "9HPT non-dominant-hand trial mean (s)",
    "nhpt_score": "(1/dominant + 1/non-dominant) / 2 (1/s; higher = better)",
    "nhpt_combined": "9HPT score taken from a combined `nhpt` column (1/nhpt)",
    "pasat": "PASAT-3 correct answers (or `sdmt`)",
    "incapacity": "components that used an incapacity value, comma-separated ('' if none)",
    "z_9hpt": "(nhpt_score - mean) / sd; higher = better",
    "z_t25fw": "(t25fw - mean) / sd; higher = slower = worse (subtracted in the composite)",
    "z_pasat": "(pasat - mean) / sd; higher = better (or `z_sdmt`)",
    "msfc": "(z_9hpt - z_t25fw + z_pasat) / 3; NaN unless all three components are present",
    "components": "number of components with a z-score (0-3)",
    "reason": "why msfc is missing (None when computed)",
    "reference": "name of the reference table",
    "rule_set": "name of the options that produced the row",
}


def msfc_scores(visits: pd.DataFrame, options: MsfcOptions | None = None,
                reference: MsfcReference | None = None) -> pd.DataFrame:
    """MSFC component z-scores and composite for every visit row (rules §7.1), vectorised.

    ``reference`` defaults to the table named by ``options.reference``: the Task Force values,
    or the cohort baseline of these ``visits`` (:meth:`MsfcReference.cohort_baseline`);
    ``custom`` needs ``reference=MsfcReference.custom(...)``. A reference passed in must be of
    the kind ``options.reference`` names. The composite is reported only when all three
    components are present (rules §7.1: "if a component is missing, the composite is missing").

    Returns one row per input row, in input order, with :data:`RESULT_COLUMNS` and
    ``attrs["provenance"]`` (options, reference values, source).
    """
    columns, record = msfc_columns(visits, options, reference)
    return provenance_frame(columns, record)


def msfc_columns(visits: pd.DataFrame, options: MsfcOptions | None = None,
                  reference: MsfcReference | None = None
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`msfc_scores`' columns (its table without ``rule_set``) and provenance record,
    before the table is built: for callers that read a column or two (the course summary's
    assessments), which would otherwise pay for a table of 17 columns."""
    opts = options or MsfcOptions()
    frame = _check_visits(visits)
    if reference is None:
        if opts.reference == "taskforce_2001":
            reference = _TASKFORCE_2001
        elif opts.reference == "cohort_baseline":
            reference = MsfcReference.cohort_baseline(frame, opts)
        else:
            raise ValueError("msfc.reference='custom' needs reference=MsfcReference.custom("
                             "{...}) with a mean and SD for each component (rules §7.1)")
    elif reference.kind != opts.reference:
        raise ValueError(f"reference {reference.name!r} is a {reference.kind} table but "
                         f"msfc.reference is {opts.reference!r}; set them alike so the "
                         "provenance is right")
    cog = opts.cognitive_component
    m9, s9 = reference.get("nhpt")
    if opts.t25fw_scale == "seconds":
        mt, st = reference.get("t25fw")
    else:
        mt, st = reference.get("t25fw_reciprocal")
    mc, sc = reference.get(cog)

    comp = _component_values(frame, opts)
    z9 = (comp["nhpt_score"] - m9) / s9
    with np.errstate(divide="ignore"):
        zt = ((comp["t25fw"] - mt) / st if opts.t25fw_scale == "seconds"
              else -((1.0 / comp["t25fw"] - mt) / st))
    zc = (comp[cog] - mc) / sc
    zs = np.column_stack([z9, zt, zc])
    have = ~np.isnan(zs)
    n_comp = have.sum(axis=1)
    composite = np.where(n_comp == 3, (z9 - zt + zc) / 3.0, np.nan)

    labels = np.array(["9HPT", "T25FW", _LABEL[cog]], dtype=object)
    reason = np.full(len(frame), None, dtype=object)
    dom_missing = np.isnan(comp["nhpt_dominant"])
    non_missing = np.isnan(comp["nhpt_nondominant"])
    # each distinct pattern of missing components (and hands) is worded once
    one_hand = dom_missing != non_missing
    pattern = ((~have).astype(np.int64) @ np.array([1, 2, 4])
               + 8 * one_hand + 16 * non_missing)
    short = np.flatnonzero(n_comp < 3)
    # distinct patterns by hashing, not sorting (a registry has a million visits)
    codes, keys = pd.factorize(pattern[short])
    texts = np.empty(len(keys), dtype=object)
    for j, key in enumerate(keys.tolist()):
        parts = []
        for k in range(3):
            if key >> k & 1:
                text = str(labels[k])
                if k == 0 and key >> 3 & 1:
                    text += " (non-dominant hand)" if key >> 4 & 1 else " (dominant hand)"
                parts.append(text)
        texts[j] = "missing component: " + ", ".join(parts)
    reason[short] = texts[codes]

    incap_names = [("t25fw", comp["t25fw_incap"]), ("9hpt", comp["nhpt_incap"]),
                   (cog, comp[f"{cog}_incap"])]
    incap = np.full(len(frame), "", dtype=object)
    if any(flags.any() for _, flags in incap_names):
        for i in np.flatnonzero(np.any([f for _, f in incap_names], axis=0)):
            incap[i] = ",".join(name for name, f in incap_names if f[i])

    record = provenance(opts.rule_set, opts, SOURCE)
    record["reference"] = reference.as_dict()
    # the table is built once, rule_set included (with_provenance would copy it to add one)
    return {
        "subject": column_numpy(frame, "subject"),
        "date": column_numpy(frame, "date"),
        "t25fw": comp["t25fw"],
        "nhpt_dominant": comp["nhpt_dominant"],
        "nhpt_nondominant": comp["nhpt_nondominant"],
        "nhpt_score": comp["nhpt_score"],
        "nhpt_combined": comp["nhpt_combined"],
        cog: comp[cog],
        "incapacity": incap,
        "z_9hpt": z9,
        "z_t25fw": zt,
        f"z_{cog}": zc,
        "msfc": composite,
        "components": n_comp.astype(np.int64),
        "reason": reason,  # (texts and None: a table keeps them as they are)
        "reference": reference.name,
    }, record
