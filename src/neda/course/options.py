"""Options of the disease-course engine, the literature presets, and the methods paragraph.

Every option mirrors an msprog option (Montobbio et al., Mult Scler J 2024) or a platform
rule of the clinical spec (``docs/rules.md`` sections 2.1-2.7). Defaults
are the rules' (section 10): preset ``mueller2023``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ..options import Options, option
from ..rules.common import plain_copy

INF = math.inf

#: EDSS worsening threshold tables (rules §2.1), as (reference_max_inclusive, delta) steps.
EDSS_THRESHOLDS: dict[str, list[tuple[float, float]]] = {
    # Kalincik 2015 (MSBase): +1.5 from 0, +1.0 up to 5.5, +0.5 from 6.0
    "three_strata": [(0.0, 1.5), (5.5, 1.0), (10.0, 0.5)],
    # pymsprog 1.0.7 compute_delta: +1.0 only up to 5.0
    "msprog": [(0.0, 1.5), (5.0, 1.0), (10.0, 0.5)],
    # OPERA I/II and ORATORIO: +1.0 up to 5.5, no special rule at 0
    "trial_le5.5": [(5.5, 1.0), (10.0, 0.5)],
    # EXPAND (siponimod): +1.0 up to 5.0, +0.5 from 5.5
    "expand": [(5.0, 1.0), (10.0, 0.5)],
}

#: EDSS improvement thresholds (rules §2.5); "same_as_worsening" reuses the table above.
CDI_THRESHOLDS: dict[str, list[tuple[float, float]]] = {
    # Kalincik 2015 / MSoutcomes CDI.R: -1.5 up to 1.5, -1.0 from 2.0 to 6.0, -0.5 from 6.5
    "kalincik2015": [(1.5, 1.5), (6.0, 1.0), (10.0, 0.5)],
}

OUTCOME_DIRECTION = {"edss": 1, "t25fw": 1, "nhpt": 1, "sdmt": -1}

Window = tuple[float | None, float | None]


@dataclass(frozen=True)
class RelapseIndependence:
    """Relapse-free windows for PIRA around three anchors (msprog ``relapse_indep``).

    Each pair is (days before, days after) the anchor; ``None`` leaves that end open so
    that two anchors join into one interval (rules §2.7.2).
    """

    prec: Window = (0, 0)
    event: Window = (90, 30)
    conf: Window = (90, 30)
    prec_type: str = "baseline"

    def as_msprog(self) -> dict[str, Any]:
        return {"prec": self.prec, "event": self.event, "conf": self.conf,
                "prec_type": self.prec_type}


@dataclass(frozen=True)
class CourseOptions(Options):
    """Every option of the course engine; defaults = preset ``mueller2023`` (rules §2.7.3).

    Parameters (defaults in brackets; spec section in parentheses):

    outcome : ``"edss"`` | ``"t25fw"`` | ``"nhpt"`` | ``"sdmt"`` | ``"custom"`` [edss]
        Measure; sets the direction of worsening and the threshold rule (2.1, 2.2).
    edss_thresholds : name in :data:`EDSS_THRESHOLDS` or list of (ref_max, delta)
        [three_strata; Kalincik 2015] (2.1).
    cdi_thresholds : ``"same_as_worsening"`` | ``"kalincik2015"`` [same_as_worsening;
        msprog] (2.5).
    timed_test_pct : float [20] - T25FW and 9HPT worsening in % of the reference
        (Cadavid 2017; Kaufman 2000) (2.2).
    sdmt_points, sdmt_pct, sdmt_combine : [4, 10, "or"] - SDMT worsening
        ``min(points, pct% of reference)`` for "or", ``max`` for "and" (Benedict 2017) (2.2).
    delta_fun, worsening : custom threshold function and direction (``"increase"`` /
        ``"decrease"``) when ``outcome="custom"``.
    baseline : ``"roving"`` | ``"roving_wors"`` | ``"roving_impr"`` | ``"fixed"`` [roving] (2.4).
    roving_after_improvement : ``"threshold"`` | ``"any_lower"`` [threshold] - any_lower moves
        the reference after any confirmed decrease (msprog ``sub_threshold_rebl``) (2.4).
    sub_threshold_rebl : ``"none"`` | ``"improvement"`` | ``"worsening"`` | ``"event"`` [none].
    proceed_from : ``"firstconf"`` | ``"event"`` [firstconf] (2.4).
    relapse_rebl, bl_geq : post-relapse re-baselining; reference never lowered [False, False]
        (2.4; Kappos 2020).
    skip_local_extrema : ``"none"`` | ``"strict"`` | ``"all"`` [none] (msprog).
    relapse_to_bl, relapse_to_event, relapse_to_conf : (days after last relapse, days before
        next) [(30, 0), (0, 0), (30, 0)] (2.3).
    relapse_assoc : (days before onset, days after) for RAW [(90, 0)] (2.7.2).
    relapse_indep : :class:`RelapseIndependence` [Müller 2023 windows] (2.7.2).
    conf_days : confirmation period(s) in days [(84,)] (2.3).
    conf_tol_days : (tolerance before, after) [(0, inf): confirmed at >= 84 days] (2.3).
    require_sust_days : [0] - keep an event only if sustained this long (inf: to the end).
    check_intermediate : [True] - every visit up to the confirmation must be worse.
    event : ``"multiple"`` | ``"firstCDW"`` | ``"firstCDI"`` | ``"first"`` | ``"firstPIRA"`` |
        ``"firstRAW"`` [multiple] (2.6).
    attribution : [True] - classify each CDW as RAW / PIRA / undefined / unknown (2.7.2).
    confirm_magnitude : ``"threshold_vs_reference"`` | ``"at_or_above_onset"``
        [threshold_vs_reference; Müller 2025 tested both] (2.3).
    death_confirms : [False] - an EDSS of 10 confirms itself (2.3).
    impute_last_visit : [0] - msprog's imputation of a worsening at the last visit: 0 never,
        1 always, N > 1 only within N days of follow-up (early discontinuation). Random
        imputation (0 < p < 1) is offered by the pymsprog drop-in only, since a native result
        must be reproducible from its options.
    require_ascertainment : [True] - PIRA and undefined need the windows inside the
        relapse-ascertainment interval; False = msprog (2.7.2).
    history_lookback_days : [0] - days before the first contact counted as ascertained.
    practice_effect_visits : [2] - SDMT/9HPT: the reference starts at the best of the first
        N administrations (msclinical cogworse convention) (2.2). Ignored for EDSS, T25FW.
    exclude_pseudo_relapse_visits : [True] - visits during a fever/infection pseudo-relapse
        episode are dropped (3.1). How relapses are cleaned (pseudo-relapses, the 30-day merge
        of attacks, the episode length) is set once, in
        :class:`neda.rules.relapses.RelapseOptions`, for every rule.
    threshold_tolerance : [1e-9] - comparisons tolerate floating rounding (2.1).
    mri_window_start : ``"reference"`` | ``"onset"`` [reference] - start of the MRI window
        [S0, PIRA confirmation] used to call a PIRA event PIRMA (2.7.4; msclinical pirma).
    mri_comparator_lead_days : [0] - a new/enlarging T2 lesion counts as activity in the window
        only if its comparator scan is dated at or after S0 minus this many days (2.7.4).
    """

    preset: str = "mueller2023"
    base_preset: str = "mueller2023"
    outcome: str = option("edss", choices=("edss", "t25fw", "nhpt", "sdmt", "custom"),
                          key="")
    edss_thresholds: str | tuple[tuple[float, float], ...] = "three_strata"
    cdi_thresholds: str = option("same_as_worsening",
                                 choices=("same_as_worsening", *CDI_THRESHOLDS),
                                 key="cdi.edss_thresholds")
    timed_test_pct: float = option(20.0, gt=0, key="cdw.timed_test_pct")
    sdmt_points: float = option(4.0, gt=0, key="cdw.sdmt_points")
    sdmt_pct: float = option(10.0, gt=0, key="cdw.sdmt_pct")
    sdmt_combine: str = option("or", choices=("or", "and", "points"), key="cdw.sdmt_combine")
    delta_fun: Callable[[float], float] | None = field(default=None, compare=False)
    worsening: str | None = None
    baseline: str = option("roving", choices=("fixed", "roving", "roving_impr", "roving_wors"),
                           key="cdw.baseline")
    roving_after_improvement: str = option("threshold", choices=("threshold", "any_lower"),
                                           key="cdw.roving_after_improvement")
    sub_threshold_rebl: str = option(
        "none", choices=("none", "improvement", "worsening", "event"), key="cdw.sub_threshold_rebl")
    proceed_from: str = option("firstconf", choices=("firstconf", "event"),
                               key="cdw.proceed_from")
    relapse_rebl: bool = option(False, key="cdw.relapse_rebl")
    bl_geq: bool = option(False, key="cdw.bl_geq")
    skip_local_extrema: str = option("none", choices=("none", "strict", "all"),
                                     key="cdw.skip_local_extrema")
    relapse_to_bl: tuple[float, float] = (30, 0)
    relapse_to_event: tuple[float, float] = (0, 0)
    relapse_to_conf: tuple[float, float] = (30, 0)
    relapse_assoc: tuple[float, float] = (90, 0)
    relapse_indep: RelapseIndependence = RelapseIndependence()
    conf_days: tuple[float, ...] = (84,)
    conf_tol_days: tuple[float, float] = (0, INF)
    require_sust_days: float = option(0, ge=0, key="cdw.require_sust_days")
    check_intermediate: bool = option(True, key="cdw.check_intermediate")
    event: str = option("multiple", choices=("multiple", "firstCDW", "firstCDI", "first",
                                             "firstPIRA", "firstRAW"), key="cdw.event_mode")
    attribution: bool = option(True)
    confirm_magnitude: str = option(
        "threshold_vs_reference", choices=("threshold_vs_reference", "at_or_above_onset"),
        key="cdw.confirm_magnitude")
    death_confirms: bool = option(False, key="cdw.death_confirms")
    impute_last_visit: float = 0
    require_ascertainment: bool = option(True, key="attribution.require_ascertainment")
    history_lookback_days: float = option(0, ge=0, key="relapse.history_lookback_days")
    practice_effect_visits: int = option(2, whole=True, ge=1,
                                         key="cog.practice_effect_visits")
    exclude_pseudo_relapse_visits: bool = option(True,
                                                 key="cdw.exclude_pseudo_relapse_visits")
    threshold_tolerance: float = option(1e-9, ge=0)
    mri_window_start: str = option("reference", choices=("reference", "onset"),
                                   key="pira.mri_window_start")
    mri_comparator_lead_days: float = option(0, ge=0, key="pira.mri_comparator_lead_days")

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_preset(cls, name: str = "mueller2023", **changes: Any) -> CourseOptions:
        """Options of a named definition, optionally edited.

        Any edit of an engine option renames the preset ``custom`` (rules §2.7.3), so results
        from different definitions are never mixed silently. ``outcome`` and the input-side
        options (thresholds of non-EDSS measures, hygiene) keep the preset name.
        """
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        base: CourseOptions = _preset(cast(Any, cls), name)
        if not changes:
            return base
        edited = dataclasses.replace(base, **_normalise(changes))
        engine_changed = any(
            getattr(edited, k) != getattr(base, k) for k in changes if k not in _NEUTRAL
        )
        if engine_changed:
            edited = dataclasses.replace(edited, preset="custom")
        return edited.validated()

    def replace(self, **changes: Any) -> CourseOptions:
        """A copy with some options changed (renamed ``custom`` if an engine option changed)."""
        edited = dataclasses.replace(self, **_normalise(changes))
        if any(getattr(edited, k) != getattr(self, k) for k in changes if k not in _NEUTRAL):
            edited = dataclasses.replace(edited, preset="custom")
        return edited.validated()

    def _check_together(self) -> list[str]:
        """Settings that contradict each other, with what to change."""
        problems = []
        if isinstance(self.edss_thresholds, str) and self.edss_thresholds not in EDSS_THRESHOLDS:
            problems.append(
                f"option edss_thresholds={self.edss_thresholds!r} is not valid; expected one of "
                + ", ".join(map(repr, EDSS_THRESHOLDS)) + " or a list of (reference_max, delta)")
        if self.relapse_indep.prec_type not in ("baseline", "last", "last_delta"):
            problems.append("relapse_indep.prec_type must be 'baseline', 'last' or "
                            "'last_delta'")
        if self.baseline == "fixed" and self.event == "multiple":
            problems.append(
                "baseline='fixed' with event='multiple' reports the same plateau again at each "
                "later confirmation (rules §2.4, scenario S29); use a first-event mode "
                "(event='firstCDW') or a roving reference")
        if self.outcome == "custom" and (self.delta_fun is None or self.worsening is None):
            problems.append("outcome='custom' needs delta_fun and worsening "
                            "('increase' or 'decrease')")
        if 0 < self.impute_last_visit < 1 or self.impute_last_visit < 0:
            problems.append(
                "impute_last_visit must be 0, 1 or a number of days > 1 (random imputation "
                "with 0 < p < 1 is available in neda.msprog.MSprog only)")
        if not self.conf_days:
            problems.append("conf_days needs at least one confirmation period")
        if self.base_preset not in PRESETS:
            problems.append(f"base_preset {self.base_preset!r}: one of {', '.join(PRESETS)}")
        return problems

    # ---------------------------------------------------------------- derived values
    @property
    def effective_sub_threshold_rebl(self) -> str:
        if self.roving_after_improvement == "any_lower" and self.sub_threshold_rebl == "none":
            return "improvement"
        return self.sub_threshold_rebl

    @property
    def worsening_sign(self) -> int:
        if self.outcome == "custom":
            return 1 if self.worsening == "increase" else -1
        return OUTCOME_DIRECTION[self.outcome]

    def worsening_delta(self, reference: np.ndarray) -> np.ndarray:
        """Minimum worsening from each reference value (vectorised)."""
        ref = np.asarray(reference, dtype=np.float64)
        if self.outcome == "edss":
            table = (EDSS_THRESHOLDS[self.edss_thresholds]
                     if isinstance(self.edss_thresholds, str) else list(self.edss_thresholds))
            return _step_table(ref, table)
        if self.outcome in ("t25fw", "nhpt"):
            return ref * (self.timed_test_pct / 100.0)
        if self.outcome == "sdmt":
            pct = ref * (self.sdmt_pct / 100.0)
            if self.sdmt_combine == "or":
                return np.minimum(self.sdmt_points, pct)
            if self.sdmt_combine == "and":
                return np.maximum(self.sdmt_points, pct)
            return np.full_like(ref, self.sdmt_points)
        assert self.delta_fun is not None
        fun = self.delta_fun
        uniq, inv = np.unique(ref, return_inverse=True)
        return np.array([float(fun(float(u))) for u in uniq])[inv.reshape(-1)]

    def improvement_delta(self, reference: np.ndarray) -> np.ndarray:
        if self.outcome == "edss" and self.cdi_thresholds in CDI_THRESHOLDS:
            return _step_table(np.asarray(reference, np.float64),
                               CDI_THRESHOLDS[self.cdi_thresholds])
        return self.worsening_delta(reference)

    # ---------------------------------------------------------------- provenance
    def as_dict(self) -> dict[str, Any]:
        """Every option value (JSON-friendly): the provenance stored with each result."""
        return plain_copy(self._values()[0])

    def _values(self) -> tuple[dict[str, Any], str]:
        """:meth:`as_dict` and its JSON text, made once per options object (kept in the
        object: a frozen dataclass never changes, and a course asks for them several times).
        Kept per object, not per equal options: ``1`` and ``1.0`` compare equal but are
        written differently."""
        cached = self.__dict__.get("_values_cache")
        if cached is None:
            values = self._as_dict()
            cached = (values, json.dumps(values, sort_keys=True, default=str))
            object.__setattr__(self, "_values_cache", cached)
        return cached  # type: ignore[no-any-return]

    def _as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "delta_fun":
                v = None if v is None else getattr(v, "__qualname__", repr(v))
            elif f.name == "relapse_indep":
                v = {k: list(x) if isinstance(x, tuple) else x
                     for k, x in dataclasses.asdict(v).items()}
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            if isinstance(v, float) and math.isinf(v):
                v = "inf"
            if isinstance(v, list):
                v = ["inf" if isinstance(x, float) and math.isinf(x) else x for x in v]
            out[f.name] = v
        return out

    def digest(self) -> str:
        """Short stable fingerprint of every option value."""
        return hashlib.sha256(self._values()[1].encode()).hexdigest()[:12]

    def describe(self, relapses: Any = None, relapse_data: str = "given") -> str:
        """The methods paragraph a paper needs, written from the option values.

        ``relapses``: the :class:`~neda.rules.relapses.RelapseOptions` of relapse hygiene;
        ``relapse_data``: ``"given"`` or ``"not given"`` (then every CDW is unknown)."""
        return _describe(self, relapses, relapse_data)

    def changed_options(self) -> dict[str, Any]:
        """Options that differ from the base preset (option: value)."""
        base = dataclasses.replace(CourseOptions(), **PRESETS[self.base_preset],
                                   preset=self.base_preset, base_preset=self.base_preset)
        mine, theirs = self.as_dict(), base.as_dict()
        return {k: v for k, v in mine.items()
                if k not in ("preset", "base_preset") and theirs.get(k) != v}



def _shown(value: Any) -> str:
    """An option value as a methods paragraph writes it: ``168`` for the one-value list
    ``[168.0]``, ``0, inf`` for a pair, ``prec=0, None`` for a relapse window."""
    if isinstance(value, dict):
        return "; ".join(f"{k}={_shown(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@functools.cache
def _preset(cls: Any, name: str) -> Any:
    """The options of a preset, made (and checked) once: options are frozen, so one object
    serves every caller."""
    return dataclasses.replace(cls(), **PRESETS[name], preset=name, base_preset=name)


def _normalise(changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(changes)
    for key in ("relapse_to_bl", "relapse_to_event", "relapse_to_conf", "relapse_assoc"):
        if key in out:
            v = out[key]
            if isinstance(v, int | float):
                out[key] = (v, 0)
            else:
                v = tuple(v)
                out[key] = (v[0], 0) if len(v) == 1 else (v[0], v[1])
    if "conf_days" in out:
        v = out["conf_days"]
        out["conf_days"] = (v,) if isinstance(v, int | float) else tuple(v)
    if "conf_tol_days" in out:
        v = out["conf_tol_days"]
        out["conf_tol_days"] = (v, v) if isinstance(v, int | float) else (
            (v[0], v[0]) if len(v) == 1 else (v[0], v[1]))
    if "relapse_indep" in out and isinstance(out["relapse_indep"], dict):
        d = out["relapse_indep"]
        out["relapse_indep"] = RelapseIndependence(
            prec=tuple(d["prec"]), event=tuple(d["event"]), conf=tuple(d["conf"]),
            prec_type=d.get("prec_type", "baseline"),
        )
    if "edss_thresholds" in out and not isinstance(out["edss_thresholds"], str):
        out["edss_thresholds"] = tuple((float(a), float(b)) for a, b in out["edss_thresholds"])
    return out


# Options that describe the measure or the input, not the definition of an event.
_NEUTRAL = {"outcome", "timed_test_pct", "sdmt_points", "sdmt_pct", "sdmt_combine",
            "delta_fun", "worsening", "practice_effect_visits", "preset", "base_preset"}


def _step_table(ref: np.ndarray, table: Sequence[tuple[float, float]]) -> np.ndarray:
    upper, deltas = _step_arrays(tuple(tuple(row) for row in table))
    idx = np.searchsorted(upper, ref, side="left")
    idx = np.minimum(idx, len(deltas) - 1)
    return deltas[idx]


@functools.lru_cache(maxsize=64)
def _step_arrays(table: tuple[tuple[float, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
    """A threshold table's upper bounds (+ 1e-9) and deltas as arrays, made once per table
    (read-only; a course looks thresholds up three times)."""
    bounds = np.array([b for b, _ in table], dtype=np.float64)
    deltas = np.array([d for _, d in table], dtype=np.float64)
    upper = bounds + 1e-9
    for a in (upper, deltas):
        a.flags.writeable = False
    return upper, deltas


_MUELLER2023_WINDOWS = RelapseIndependence((0, 0), (90, 30), (90, 30), "baseline")

#: The literature definitions as msprog option values (rules §2.7.3).
PRESETS: dict[str, dict[str, Any]] = {
    "msprog_defaults": dict(
        edss_thresholds="msprog", baseline="fixed", relapse_rebl=False, bl_geq=False,
        relapse_indep=_MUELLER2023_WINDOWS, conf_days=(84,), conf_tol_days=(7, 730.5),
        event="firstCDW", require_ascertainment=False,
    ),
    "mueller2023": dict(
        edss_thresholds="three_strata", baseline="roving", relapse_rebl=False, bl_geq=False,
        relapse_indep=_MUELLER2023_WINDOWS, conf_days=(84,), conf_tol_days=(0, INF),
        event="multiple",
    ),
    "mueller2023_strict": dict(
        edss_thresholds="three_strata", baseline="roving", relapse_rebl=False, bl_geq=False,
        relapse_indep=RelapseIndependence((0, None), (None, None), (None, 0), "baseline"),
        conf_days=(84,), conf_tol_days=(0, INF), event="multiple",
    ),
    "kappos2020": dict(
        edss_thresholds="trial_le5.5", baseline="fixed", relapse_rebl=True, bl_geq=True,
        relapse_indep=RelapseIndependence((0, None), (None, 30), (30, 30), "baseline"),
        conf_days=(84,), conf_tol_days=(0, INF), event="firstCDW",
    ),
    "cagol2022": dict(
        edss_thresholds="three_strata", baseline="roving", relapse_rebl=False, bl_geq=False,
        relapse_indep=RelapseIndependence((0, 0), (90, None), (None, 0), "baseline"),
        conf_days=(84,), conf_tol_days=(0, INF), event="multiple",
    ),
    "mueller2025": dict(
        edss_thresholds="three_strata", baseline="roving", relapse_rebl=True, bl_geq=False,
        relapse_indep=RelapseIndependence((0, None), (None, 0), (0, 0), "last"),
        conf_days=(183,), conf_tol_days=(0, INF), event="multiple",
    ),
    "portaccio2025": dict(
        edss_thresholds="three_strata", baseline="roving", relapse_rebl=False, bl_geq=False,
        relapse_indep=RelapseIndependence((0, 0), (90, 30), (0, 0), "baseline"),
        conf_days=(168,), conf_tol_days=(0, INF), event="multiple",
    ),
}

PRESET_SOURCES = {
    "msprog_defaults": "the defaults of msprog/pymsprog 1.0.7 "
    "(Montobbio et al., Mult Scler J 2024)",
    "mueller2023": "the harmonised PIRA definition of Müller et al. (JAMA Neurol 2023)",
    "mueller2023_strict": "the high-specificity variant of Müller et al. (JAMA Neurol 2023)",
    "kappos2020": "Kappos et al. (JAMA Neurol 2020; OPERA I/II)",
    "cagol2022": "Cagol et al. (JAMA Neurol 2022)",
    "mueller2025": "Müller et al. (MSBase, 2025)",
    "portaccio2025": "Portaccio et al. (2025; Italian MS Registry)",
    "custom": "a custom definition",
}

_MEASURE_NAMES = {"edss": "EDSS", "t25fw": "Timed 25-Foot Walk", "nhpt": "9-Hole Peg Test",
                  "sdmt": "Symbol Digit Modalities Test", "custom": "the outcome"}


def _days(x: float) -> str:
    return "unbounded" if math.isinf(x) else f"{x:g}"


def pira_windows_text(ind: RelapseIndependence, reference: str) -> str:
    """The relapse-free intervals msprog builds from ``relapse_indep``, in words.

    Going through the anchors in order, a left end opens an interval and a right end closes
    it; an interval that would be empty is skipped, and an open end joins two anchors.
    """
    def point(anchor: str, days: float, sign: int) -> str:
        if days == 0:
            return anchor
        return f"{days:g} days {'before' if sign < 0 else 'after'} {anchor}"

    out = []
    start: tuple[str, float] | None = None
    for anchor, (lo, hi) in ((reference, ind.prec), ("onset", ind.event),
                             ("the confirmation visit", ind.conf)):
        if lo is not None:
            start = (anchor, -float(lo))
        if hi is not None and start is not None:
            same = start[0] == anchor
            if not same or float(hi) > start[1]:
                a = point(start[0], abs(start[1]), -1 if start[1] < 0 else 1)
                b = point(anchor, float(hi), 1)
                out.append(f"from {a} to {b}")
    return "; ".join(out) if out else "no window"


def _describe(o: CourseOptions, relapses: Any = None, relapse_data: str = "given") -> str:
    m = _MEASURE_NAMES[o.outcome]
    if o.outcome == "edss":
        table = (EDSS_THRESHOLDS[o.edss_thresholds]
                 if isinstance(o.edss_thresholds, str) else list(o.edss_thresholds))
        steps = []
        lo = 0.0
        for bound, delta in table:
            rng = f"{bound:g}" if bound == lo else f"{lo:g}-{bound:g}"
            steps.append(f"≥{delta:g} from a reference of {rng}")
            lo = 1.0 if bound == 0 else bound + 0.5  # EDSS has no 0.5
        name = o.edss_thresholds if isinstance(o.edss_thresholds, str) else "custom"
        threshold = f"an EDSS increase of {'; '.join(steps)} (table '{name}')"
    elif o.outcome in ("t25fw", "nhpt"):
        threshold = f"an increase of ≥{o.timed_test_pct:g}% of the reference time in the {m}"
    elif o.outcome == "sdmt":
        comb = {"or": "the smaller of", "and": "the larger of", "points": ""}[o.sdmt_combine]
        threshold = (f"a decrease in the {m} of {comb} {o.sdmt_points:g} points"
                     + ("" if o.sdmt_combine == "points" else f" or {o.sdmt_pct:g}%"))
    else:
        threshold = "a change of at least the custom threshold"
    conf = " or ".join(f"{c:g}" for c in o.conf_days)
    tol = (f"at least {conf} days later" if o.conf_tol_days == (0, INF)
           else f"{conf} days later (window −{_days(o.conf_tol_days[0])}/+"
                f"{_days(o.conf_tol_days[1])} days)")
    interm = ("with every intermediate visit also meeting the threshold"
              if o.check_intermediate else "(intermediate visits not checked)")
    ref = {
        "fixed": "a fixed reference (the first eligible visit)",
        "roving": "a roving reference, reset after each confirmed worsening or improvement",
        "roving_wors": "a roving reference, reset after each confirmed worsening",
        "roving_impr": "a roving reference, reset after each confirmed improvement",
    }[o.baseline]
    if o.effective_sub_threshold_rebl != "none" and o.baseline != "fixed":
        ref += f" and after any confirmed sub-threshold {o.effective_sub_threshold_rebl}"
    ref += (" to the first confirmation visit" if o.proceed_from == "firstconf"
            else " to the onset visit")
    if o.relapse_rebl:
        ref += (f"; the reference was also re-set after each relapse (deferred while the onset "
                f"lay within {o.relapse_assoc[0]:g} days of it)")
        if o.bl_geq:
            ref += ", never to a lower value than the previous reference"
    text = [
        f"Confirmed disability worsening (CDW) was defined as {threshold}, confirmed at the "
        f"first eligible visit {tol}, {interm}. Changes were measured against {ref}.",
        f"A visit less than {o.relapse_to_bl[0]:g} days after a relapse onset could not serve as "
        f"reference, and less than {o.relapse_to_conf[0]:g} days after one could not confirm.",
    ]
    if o.attribution:
        ind = o.relapse_indep
        anchor = {"baseline": "the reference visit", "last": "the last visit before onset",
                  "last_delta": "the last visit before onset differing by the threshold"}[
            ind.prec_type]
        text.append(
            f"A CDW with a relapse onset from {o.relapse_assoc[0]:g} days before to "
            f"{o.relapse_assoc[1]:g} days after its onset was classified as relapse-associated "
            f"worsening (RAW); otherwise it was classified as progression independent of relapse "
            f"activity (PIRA) when no relapse occurred {pira_windows_text(ind, anchor)} "
            f"(closed intervals, for at least one confirmation visit), and as undefined when "
            f"relapses blocked every confirmation visit."
        )
        if o.require_ascertainment:
            text.append(
                "Classes were reported as unknown when a relapse with an imprecise date could "
                "fall in a window or when the windows were not covered by relapse "
                "ascertainment (first to last clinical contact"
                + (f", plus {o.history_lookback_days:g} days of history" if
                   o.history_lookback_days else "") + ")."
            )
    if relapse_data != "given":
        text.append("Relapse data were not given, so no worsening could be attributed: every "
                    "CDW is reported as unknown (never as PIRA).")
    elif relapses is not None:
        pseudo = ("fever/infection pseudo-relapses were excluded"
                  + (f" and visits during their episode (end date, else "
                     f"{relapses.pseudo_episode_days} days) were left out"
                     if o.exclude_pseudo_relapse_visits else "")
                  if relapses.exclude_fever_infection == "exclude"
                  else "fever/infection pseudo-relapses were kept but flagged")
        merge = (f"attacks with onsets less than {relapses.merge_days} days apart were counted "
                 "as one relapse (McDonald 2001)" if relapses.merge_days
                 else "attacks were not merged")
        text.append(
            f"Relapses were cleaned first (neda relapse hygiene, rules §3.1): {pseudo}; episodes "
            f"shorter than {relapses.min_duration_h:g} hours and single paroxysmal episodes "
            f"were not relapses; {merge}; onsets known only to the month or year were kept as "
            "intervals of possible days."
        )
    modes = {"multiple": "All confirmed events were counted", "firstCDW": "Only the first CDW "
             "was counted", "firstCDI": "Only the first confirmed improvement was counted",
             "first": "Only the first confirmed event was counted",
             "firstPIRA": "Only the first PIRA was counted",
             "firstRAW": "Only the first RAW was counted"}
    text.append(modes[o.event] + ".")
    if o.require_sust_days:
        text.append(f"Events had to be sustained for {_days(o.require_sust_days)} days.")
    changed = o.changed_options()
    if o.preset == "custom" or changed:
        was = _preset(CourseOptions, o.base_preset).as_dict()
        listed = "; ".join(f"{k} = {_shown(v)} ({o.base_preset}: {_shown(was.get(k))})"
                           for k, v in changed.items()) or "none"
        definition = (f"the definition '{o.base_preset}' ({PRESET_SOURCES[o.base_preset]}) "
                      f"with these options changed: {listed}")
    else:
        definition = f"the definition '{o.preset}' ({PRESET_SOURCES[o.preset]})"
    text.append(
        f"Events were computed with neda using {definition} (option digest {o.digest()}); "
        "its engine reproduces the msprog method (Montobbio et al., Mult Scler J 2024)."
    )
    return " ".join(text)
