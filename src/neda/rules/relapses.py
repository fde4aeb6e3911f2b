"""Relapses: hygiene, severity and recovery (remission) - clinical rules §3.

* :func:`relapse_hygiene` turns raw relapse records into the relapses that count (rules §3.1):
  episodes shorter than 24 h, single paroxysmal episodes and fever/infection pseudo-relapses
  are not relapses; attacks whose onsets are less than 30 days apart are one relapse (McDonald
  2001); duplicate entries are folded; with a follow-up table, relapses outside follow-up are
  left out. Every input row is either a counted relapse or listed in ``removed`` with its
  reason - nothing disappears silently. Onsets may be imprecise (``YYYY-MM``, ``YYYY`` or an
  explicit range): each relapse carries its onset interval ``[a, b]`` (rules §2.7.2).
* :func:`relapse_severity` - the EDSS change at the relapse and its category (rules §3.2).
* :func:`relapse_recovery` - pre-, peak- and post-relapse EDSS, residual deficit, complete /
  incomplete recovery and the recovery fraction (rules §3.3; Lublin 2003, Hirst 2008).

Sources: McDonald 2017 (Thompson et al., Lancet Neurol 2018) attack definition (>=24 h, no
fever or infection, single paroxysmal episodes excluded); McDonald 2001 (McDonald et al., Ann
Neurol 2001) 30 days between the onsets of two attacks; Lublin et al., Neurology 2003 and Hirst
et al., J Neurol 2008 (residual deficit after a relapse); Lublin et al., MSARD 2014 (AFFIRM:
EDSS change at relapse, confirmed recovery); pymsprog 1.0.7 reference eligibility (rules §2.3).
Conventions [C] are the platform's own (clinical spec draft 2, tagged [C]).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..io import (
    PRECISIONS,
    InputError,
    InputProblem,
    Problems,
    ReadOptions,
    ensure_table,
    is_validated,
    load_table,
    parse_onsets,
)
from ..options import Options, option
from .common import (
    bare,
    column,
    column_numpy,
    cummax_by_code,
    day_dates,
    day_numbers,
    factorized,
    frame_of,
    index_positions,
    provenance,
    provenance_frame,
    rule_set_name,
    texts_by_key,
)
from .edss import FS_SYSTEMS, parse_fs_grade

SOURCE = ("docs/rules.md §3.1 (relapse definition and hygiene), 3.2 (severity), "
          "3.3 (recovery), 2.7.2 (onset intervals), 2.3 (reference eligibility), 0.2 (days)")

PSEUDO_MODES = ("exclude", "flag_only")
SEVERITY_SCHEMES = ("edss_delta", "clinician")
PEAK_SOURCES = ("max_in_window", "designated_relapse_visit")
POST_RULES = ("closest_to_target", "first_after_min")
CLINICIAN_SEVERITY = ("mild", "moderate", "severe")

#: FS used by the objective-confirmation rule (rules §3.1: bowel/bladder and cerebral excluded).
OBJECTIVE_FS: tuple[str, ...] = ("pyramidal", "cerebellar", "brainstem", "sensory", "visual")

#: Removal reasons of :attr:`RelapseHygiene.removed`, in the order they are tested (the first
#: that applies is reported). ``shorter_than_24h`` is named after ``min_duration_h``.
REMOVAL_REASONS = {
    "pseudo_relapse_fever_infection": "fever or infection recorded: a pseudo-relapse (rules §3.1; "
                                      "McDonald 2017). Not removed with exclude_fever_infection "
                                      "= flag_only.",
    "shorter_than_24h": "symptoms lasted less than min_duration_h hours (rules §3.1; McDonald "
                        "2017); the name follows the option, e.g. shorter_than_48h.",
    "single_paroxysmal_episode": "a single paroxysmal episode is not a relapse (rules §3.1).",
    "subject_not_in_follow_up": "a follow-up table was given and the subject is not in it.",
    "outside_follow_up": "the whole onset interval lies before the follow-up start or after its "
                         "end.",
    "duplicate": "same subject and same onset interval as an earlier row; folded into the "
                 "relapse named by merged_into_row.",
    "merged_within_30_days": "onset less than merge_days (30) days after the first onset of the "
                             "relapse named by merged_into_row (rules §3.1; McDonald 2001).",
}

#: Columns of :attr:`RelapseHygiene.relapses` (then every other input column, unchanged).
CLEAN_COLUMNS = {
    "subject": "Subject identifier (the input's subject column, name kept).",
    "relapse_n": "Relapse number within the subject, chronological by onset (1, 2, ...).",
    "onset_start": "Earliest possible onset day a (rules §2.7.2).",
    "onset_end": "Latest possible onset day b (= onset_start for a day-precise onset).",
    "precision": "day, month, year or range (explicit date_end).",
    "merged_from": "Input rows making up this relapse (1 = not merged; merged attacks and "
                   "duplicates included).",
    "merged_rows": "Source rows (spreadsheet row, or DataFrame index label) of the rows "
                   "folded in, ';'-separated.",
    "merge_uncertain": "Imprecise onsets: the relapse may or may not be the same attack as a "
                       "neighbouring one (rules §3.1: a2 - b1 < 30 <= b2 - a1); kept separate.",
    "resolved_date": "End of the episode: the latest of the merged rows (rules §3.1).",
    "last_onset_end": "Latest possible onset of any attack merged into the relapse (= "
                      "onset_end when nothing was merged): the relapse activity lasts from "
                      "onset_start to here (used by 'days since the last relapse', rules §6.2).",
    "pseudo": "Fever/infection flagged (only True with exclude_fever_infection = flag_only).",
    "objective": "Objectively confirmed (rules §3.1): True / False / <NA> unknown.",
    "objective_source": "clinician (the input's objective column), examination (computed from "
                        "visits) or none.",
    "in_follow_up": "Onset interval inside the follow-up (follow-up table, else first visit - "
                    "history_lookback_days to last visit): True / False / <NA> (partly, or "
                    "unknown).",
    "flags": "';'-separated: merge_uncertain, partly_outside_follow_up, pseudo_relapse_flagged, "
             "duration_unknown.",
    "input_row": "Source row (spreadsheet row, or DataFrame index label) of the first onset "
                 "of the relapse.",
    "rule_set": "Name of the options that produced the table.",
}

#: Columns of :attr:`RelapseHygiene.removed`.
REMOVED_COLUMNS = {
    "row": "Source row (spreadsheet row, or DataFrame index label).",
    "subject": "Subject identifier.",
    "date": "Onset (earliest possible day).",
    "onset_start": "Earliest possible onset day.",
    "onset_end": "Latest possible onset day.",
    "precision": "day, month, year or range.",
    "reason": "One of REMOVAL_REASONS.",
    "merged_into_row": "For duplicate / merged_within_30_days: input row of the counted relapse "
                       "it was folded into (<NA> otherwise).",
    "detail": "Human-readable explanation.",
    "rule_set": "Name of the options.",
}

#: Columns of :attr:`RelapseHygiene.pseudo_episodes`.
PSEUDO_EPISODE_COLUMNS = {
    "row": "Input row number of the pseudo-relapse.",
    "subject": "Subject identifier.",
    "episode_start": "Onset (earliest possible day).",
    "episode_end": "resolved_date, or latest possible onset + pseudo_episode_days - 1 when no "
                   "end date is recorded (rules §3.1).",
    "end_source": "resolved_date or default_days.",
}

_PRECISION_INDEX = pd.Index(PRECISIONS)  # (a constant: built once, not per table)
_PRECISION_CODE = {p: i for i, p in enumerate(PRECISIONS)}


def _precision_codes(values: np.ndarray) -> np.ndarray:
    """Position of each precision text in PRECISIONS (-1 = none): a few rows (one patient's
    relapses) looked up one by one, more through pandas' hash table (20 µs to build)."""
    if len(values) <= 64:
        return np.array([_PRECISION_CODE.get(p, -1) for p in values.tolist()], dtype=np.int8)
    return np.asarray(_PRECISION_INDEX.get_indexer(pd.Index(values)).astype(np.int8))

_ID_COLUMNS = ("subject", "relapse_n", "onset_start", "onset_end", "precision")

#: Columns of :func:`relapse_severity`.
SEVERITY_COLUMNS = {
    **{c: CLEAN_COLUMNS[c] for c in _ID_COLUMNS},
    "edss_pre": "Pre-relapse EDSS E_pre (rules §3.3 default).",
    "edss_pre_date": "Date of E_pre.",
    "edss_peak": "Peak EDSS E_peak (rules §3.3 default).",
    "edss_peak_date": "Date of E_peak.",
    "edss_change": "E_peak - E_pre (rules §3.2 'Delta EDSS at relapse').",
    **{f"fs_change_{s}": f"{s} FS grade (raw, as rated) at the E_peak visit minus at the E_pre "
                         "visit (rules §3.2)." for s in FS_SYSTEMS},
    "severity_clinician": "Clinician label as entered (mild / moderate / severe), else None.",
    "hospitalised": "Hospitalised for the relapse (<NA> unknown).",
    "plex": "Treated with plasma exchange (<NA> unknown).",
    "steroids": "Treated with high-dose steroids (<NA> unknown).",
    "treatment_proxy": "Steroids, PLEX or hospitalisation (rules §3.2 treatment-based proxy).",
    "severity": "no_edss_change, mild, moderate, severe or unknown.",
    "severity_reason": "Why the label was given.",
    "severity_scheme": "edss_delta or clinician (relapse.severity_scheme).",
    "rule_set": "Name of the options.",
}

#: Columns of :func:`relapse_recovery`.
RECOVERY_COLUMNS = {
    **{c: CLEAN_COLUMNS[c] for c in _ID_COLUMNS},
    "edss_pre": "E_pre: the latest eligible EDSS in [O - 365, O - 1] (rules §3.3).",
    "edss_pre_date": "Date of E_pre.",
    "edss_pre_lag_days": "E_pre date - onset_start (negative: before the onset).",
    "edss_peak": "E_peak: the highest EDSS in [O, O + 30] before the next relapse.",
    "edss_peak_date": "Date of E_peak (the earliest visit with the highest value).",
    "edss_peak_lag_days": "E_peak date - onset_start.",
    "edss_post": "E_post: the EDSS in [O + 60, O + 270] closest to O + 183, before the next "
                 "relapse and outside pseudo-relapse episodes.",
    "edss_post_date": "Date of E_post.",
    "edss_post_lag_days": "E_post date - onset_start.",
    "next_relapse_start": "Earliest possible onset of the subject's next counted relapse.",
    "residual_deficit": "R = E_post - E_pre (Lublin 2003; Hirst 2008).",
    "recovery": "complete (E_post <= E_pre), incomplete (R >= incomplete_residual), "
                "not_assessable; 'partial' only when incomplete_residual > 0.5 and 0 < R < it.",
    "reason": "Code explaining the recovery value.",
    "complete_confirmed": "Confirmed complete recovery (rules §3.3): True / False / <NA>.",
    "complete_confirmed_date": "Date of the visit that confirmed it.",
    "recovery_fraction": "(E_peak - E_post) / (E_peak - E_pre), clipped to [0, 1].",
    "recovery_fraction_raw": "The value before clipping.",
    "fraction_clipped": "True when the raw fraction was outside [0, 1] (<NA> when no fraction).",
    "flags": "';'-separated: imprecise_onset, merge_uncertain, no_edss_increase, "
             "post_below_pre, post_above_peak, post_window_cut_by_next_relapse.",
    "rule_set": "Name of the options.",
}


@dataclass(frozen=True)
class RelapseOptions(Options):
    """Options of the relapse rules: every ``relapse.*`` and ``recovery.*`` key of rules §10.

    Parameters (default in brackets; spec section and source in parentheses):

    min_duration_h : ``relapse.min_duration_h`` [24] (3.1; McDonald 2017, Thompson et al.:
        an attack lasts at least 24 hours). Variant 48 (some trial protocols [M]). An episode
        with ``duration_hours < min_duration_h`` is not a relapse; exactly 24 h is.
    merge_days : ``relapse.merge_days`` [30] (3.1; McDonald 2001: 30 days between the onsets
        of two attacks). Separate when ``onset_2 - onset_1 >= 30``, else merged into the first.
        Imprecise onsets: merged when ``b2 - a1 < 30``, separate when ``a2 - b1 >= 30``,
        otherwise separate and flagged ``merge_uncertain`` [C]. 0 disables merging.
    exclude_fever_infection : ``relapse.exclude_fever_infection`` [``"exclude"``] (3.1; McDonald
        2017 "in the absence of fever or infection"): pseudo-relapses are removed and their
        episodes listed. ``"flag_only"``: counted and used, but flagged [C].
    pseudo_episode_days : ``relapse.pseudo_episode_days`` [30] (3.1 [C]): a pseudo-relapse
        without an end date lasts ``[onset, onset + 29]``.
    objective_exam_max_days : ``relapse.objective_exam_max_days`` [30] (3.1 [C]; the FREEDOMS /
        OPERA protocol pattern [M]): examinations in ``[onset, onset + 30]`` can confirm.
    severity_scheme : ``relapse.severity_scheme`` [``"edss_delta"``] (3.2 [C]; Lublin 2014
        thresholds 0.5 / 1.0, Hirst 2012 severe > 2.0). ``"clinician"``: the entered label.
    history_lookback_days : ``relapse.history_lookback_days`` [0] (2.7.2 [C]): days before
        the first visit counted as relapse follow-up (``in_follow_up`` when no follow-up table
        is given).
    pre_window_days : ``recovery.pre_window_days`` [365] (3.3 [C]); variant 180.
    pre_relapse_gap_days : [30] E_pre must be a valid reference under rules §2.3 (``cdw.
        relapse_to_bl`` = 30, pymsprog 1.0.7): not 0-29 days after an earlier relapse onset.
    peak_window_days : ``recovery.peak_window_days`` [30] (3.3 [C]).
    peak_source : ``recovery.peak_source`` [``"max_in_window"``] (3.3 [C]);
        ``"designated_relapse_visit"``: the visit whose date the relapses table gives in
        ``relapse_visit_date``.
    post_rule : ``recovery.post_rule`` [``"closest_to_target"``] (3.3 [C]; Hirst 2008 mean 127
        days); ``"first_after_min"``: the first EDSS at >= O + 60 (Lublin 2003, ~64 days).
    post_min_days, post_max_days, post_target_days : ``recovery.post_*`` [60, 270, 183] (3.3
        [C]; 183 = 6 months, rules §0.2).
    incomplete_residual : ``recovery.incomplete_residual`` [0.5] (3.3; Lublin 2003: 42 % had
        residual >= 0.5; Hirst 2008: 49.4 %); secondary cut 1.0.
    confirm_days : ``recovery.confirm_days`` [84] (3.3; Lublin 2014 MSARD, AFFIRM 12 weeks);
        variant 168 (24 weeks).
    name : rule-set name stored with results; default ``"spec_defaults"`` or ``"custom"``.
    """

    min_duration_h: float = option(24, ge=0, key="relapse.min_duration_h")
    merge_days: int = option(30, whole=True, ge=0, key="relapse.merge_days")
    exclude_fever_infection: str = option("exclude", choices=PSEUDO_MODES,
                                          key="relapse.exclude_fever_infection")
    pseudo_episode_days: int = option(30, whole=True, ge=1, key="relapse.pseudo_episode_days")
    objective_exam_max_days: int = option(30, whole=True, ge=0,
                                          key="relapse.objective_exam_max_days")
    severity_scheme: str = option("edss_delta", choices=SEVERITY_SCHEMES,
                                  key="relapse.severity_scheme")
    history_lookback_days: int = option(0, whole=True, ge=0,
                                        key="relapse.history_lookback_days")
    pre_window_days: int = option(365, whole=True, ge=0, key="recovery.pre_window_days")
    pre_relapse_gap_days: int = option(30, whole=True, ge=0)
    peak_window_days: int = option(30, whole=True, ge=0, key="recovery.peak_window_days")
    peak_source: str = option("max_in_window", choices=PEAK_SOURCES, key="recovery.peak_source")
    post_rule: str = option("closest_to_target", choices=POST_RULES, key="recovery.post_rule")
    post_min_days: int = option(60, whole=True, ge=0, key="recovery.post_min_days")
    post_max_days: int = option(270, whole=True, ge=0, key="recovery.post_max_days")
    post_target_days: int = option(183, whole=True, ge=0, key="recovery.post_target_days")
    incomplete_residual: float = option(0.5, ge=0, key="recovery.incomplete_residual")
    confirm_days: int = option(84, whole=True, ge=0, key="recovery.confirm_days")
    name: str | None = None

    def _check_together(self) -> list[str]:
        if not self.post_min_days <= self.post_target_days <= self.post_max_days:
            return ["recovery windows need post_min_days <= post_target_days <= "
                    f"post_max_days, got {self.post_min_days}, {self.post_target_days}, "
                    f"{self.post_max_days}"]
        return []

    @property
    def rule_set(self) -> str:
        return rule_set_name(self)

    @property
    def short_reason(self) -> str:
        """Removal reason for short episodes, e.g. ``shorter_than_24h``."""
        return f"shorter_than_{self.min_duration_h:g}h"


@dataclass
class RelapseHygiene:
    """Output of :func:`relapse_hygiene`.

    ``relapses``: one row per counted relapse (:data:`CLEAN_COLUMNS`, then the other input
    columns); ``removed``: every input row that is not a counted relapse, with its reason
    (:data:`REMOVED_COLUMNS`); ``pseudo_episodes``: periods of removed pseudo-relapses
    (:data:`PSEUDO_EPISODE_COLUMNS`), whose assessments recovery (and the course engine) leave
    out; ``options``; ``provenance``. ``len(relapses) + len(removed)`` = input rows, counting
    each relapse once plus its folded rows (``merged_from - 1`` each) in ``removed``.
    """

    relapses: pd.DataFrame
    removed: pd.DataFrame
    pseudo_episodes: pd.DataFrame
    options: RelapseOptions
    provenance: dict[str, Any] = field(default_factory=dict)
    # day-number arrays derived from the tables, computed once: every rule reads them
    _derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False,
                                     compare=False)
    # the visits as this hygiene (or its first recovery / severity) prepared them, read again
    # by severity and recovery of the same visits table (see _PreparedVisits); not pickled
    _prepared: _PreparedVisits | None = field(default=None, init=False, repr=False,
                                              compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # the prepared visits are bound to a visits object of this process (held weakly)
        state = dict(self.__dict__)
        state["_prepared"] = None
        return state

    def counts(self) -> dict[str, int]:
        """Input, kept and removed rows, and removed rows per reason."""
        out = {"input": len(self.relapses) + len(self.removed), "kept": len(self.relapses),
               "removed": len(self.removed)}
        out.update({str(k): int(v) for k, v in self.removed["reason"].value_counts().items()})
        return out

    def onset_days(self) -> pd.DataFrame:
        """The counted relapses as day numbers, the form every rule reads (rules §2.7.2):
        ``subject``, ``a`` / ``b`` (earliest / latest possible onset day), ``last_b`` (latest
        possible onset of any attack merged in), ``objective`` (1 / 0 / -1 unknown),
        ``label`` (the onset at its precision, for messages), sorted by subject and ``a``."""
        return pd.DataFrame(self.onset_arrays())

    def onset_arrays(self) -> dict[str, np.ndarray]:
        """:meth:`onset_days` as arrays, computed once per table (not to be edited)."""
        c = self.relapses
        cached = self._derived.get("onsets")
        if cached is None or cached[0] is not c:  # a table replaced since: derive again
            # columns read as arrays (no Series per column)
            arrays = {
                "subject": column_numpy(c, "subject"),
                "a": _day_of(column_numpy(c, "onset_start")),
                "b": _day_of(column_numpy(c, "onset_end")),
                "last_b": _day_of(column_numpy(c, "last_onset_end" if "last_onset_end"
                                               in c.columns else "onset_end")),
                "objective": _flag_codes(c, "objective"),
                "label": onset_labels(c),
            }
            cached = (self.relapses, arrays)
            self._derived["onsets"] = cached
        return dict(cached[1])

    def episode_days(self) -> pd.DataFrame:
        """Pseudo-relapse episodes as day numbers (``subject``, ``e0``, ``e1``, inclusive):
        assessments inside them are left out by the rules that use visits (rules §3.1)."""
        return pd.DataFrame(self.episode_arrays())

    def episode_arrays(self) -> dict[str, np.ndarray]:
        """:meth:`episode_days` as arrays, computed once per table (not to be edited)."""
        e = self.pseudo_episodes
        cached = self._derived.get("episodes")
        if cached is None or cached[0] is not e:
            arrays = {"subject": column_numpy(e, "subject"),
                      "e0": _day_of(column_numpy(e, "episode_start")),
                      "e1": _day_of(column_numpy(e, "episode_end"))}
            cached = (e, arrays)
            self._derived["episodes"] = cached
        return dict(cached[1])


def as_hygiene(relapses: Any, visits: Any = None, options: RelapseOptions | None = None, *,
               read_options: ReadOptions | None = None) -> RelapseHygiene | None:
    """The one relapse table of every rule (rules §3.1).

    ``relapses``: a :class:`RelapseHygiene` (returned as is), a relapses table (cleaned here by
    :func:`relapse_hygiene`, with ``options``), or ``None`` - relapses were not recorded, which
    rules must treat as *unknown* relapse activity, never as "no relapse" (rules §0.3).
    """
    if relapses is None:
        return None
    if isinstance(relapses, RelapseHygiene):
        if options is not None and options != relapses.options:
            raise ValueError("relapse options differ from those of the RelapseHygiene given; "
                             "pass one or the other")
        return relapses
    return relapse_hygiene(relapses, visits, options=options, read_options=read_options)


# ------------------------------------------------------------------------------ input


def relapse_onset_intervals(onset: pd.Series, onset_end: pd.Series | None = None
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Onset interval [a, b] in day numbers for each relapse (rules §2.7.2).

    A full date gives a = b; ``"2024-03"`` the whole month; ``"2024"`` the whole year; an
    ``onset_end`` column widens b to it. The cells are read by the same parser as every
    relapses table (:func:`neda.io.read_relapses`); a cell it cannot read raises
    :class:`~neda.io.InputError` naming the row.
    """
    table = load_table(pd.DataFrame({"date": onset.reset_index(drop=True)}),
                       file_label="relapses", default_label="relapses")
    problems = Problems(table)
    start, end, _, _ = parse_onsets("date", table.frame["date"], problems, date_format=None)
    problems.raise_if_any()
    a = _day_of(pd.Series(start))
    b = _day_of(pd.Series(end))
    if onset_end is not None:
        extra = _day_of(pd.to_datetime(onset_end.reset_index(drop=True)))
        has = ~np.isnan(extra)
        b = np.where(has, np.maximum(b, np.where(has, extra, b)), b)
    return a, b


def onset_labels(clean: pd.DataFrame) -> np.ndarray:
    """Each relapse's onset in words, at its precision: ``2024-03-05``, ``2024-03``, ``2024``
    or ``between 2024-03-05 and 2024-03-20`` (a hygiene table: onset_start, onset_end,
    precision)."""
    return _labels_of(column_numpy(clean, "onset_start"), column_numpy(clean, "onset_end"),
                      column_numpy(clean, "precision"))


def _labels_of(onset_start: np.ndarray, onset_end: np.ndarray, precision: np.ndarray
               ) -> np.ndarray:
    """:func:`onset_labels` of the columns (dates, precision texts)."""
    start = onset_start.astype("datetime64[D]")
    end = onset_end.astype("datetime64[D]")
    prec = np.asarray(precision, dtype=object)
    day = np.datetime_as_string(start, unit="D").astype(object)
    out = day.copy()
    month = prec == "month"
    out[month] = [d[:7] for d in day[month]]
    year = prec == "year"
    out[year] = [d[:4] for d in day[year]]
    ranged = prec == "range"
    if ranged.any():
        ends = np.datetime_as_string(end[ranged], unit="D").astype(object)
        out[ranged] = "between " + day[ranged] + " and " + ends
    return out


def tri_codes(values: Any, n: int) -> np.ndarray:
    """A validated yes/no column (pandas ``boolean``; a Series or its array) as int8: 1 yes,
    0 no, -1 unknown."""
    if values is None:
        return np.full(n, -1, np.int8)
    arr = values.array if isinstance(values, pd.Series) else values
    if isinstance(arr, np.ndarray) and arr.ndim == 1:
        # the columns of the tables made here (_tri_values): numpy flags, or True / False /
        # <NA> objects, read directly (pandas' boolean array of them costs about 50 µs a
        # column even on a few rows); any other object goes through pandas below
        if arr.dtype == bool:
            return arr.astype(np.int8)
        if arr.dtype == object:
            na = pd.NA
            codes = [1 if x is True else 0 if x is False else -1 if x is na or x is None
                     else 2 for x in arr.tolist()]
            if 2 not in codes:
                return np.array(codes, dtype=np.int8)
    if isinstance(arr, pd.arrays.BooleanArray):  # a validated column: its flags and mask
        # (pandas' to_numpy and isna cost about 15 µs a column on a few rows)
        data, mask = getattr(arr, "_data"), getattr(arr, "_mask")  # noqa: B009 (private)
        if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray):
            return np.asarray(np.where(mask, -1, np.where(data, 1, 0)).astype(np.int8))
    if not isinstance(arr, pd.arrays.BooleanArray):  # (a validated column already is one:
        # not rebuilt from Python objects)
        arr = pd.array(np.asarray(arr, dtype=object), dtype="boolean")
    yes = arr.to_numpy(dtype=bool, na_value=False)  # numpy flags (np.where on the pandas
    # array would go through Python objects)
    out = np.where(np.asarray(arr.isna()), -1, np.where(yes, 1, 0)).astype(np.int8)
    return np.asarray(out)


def _flag_codes(frame: pd.DataFrame, name: str) -> np.ndarray:
    # the column's array, not a Series of it (pandas would copy the table's attrs into it)
    return tri_codes(column(frame, name) if name in frame.columns else None, len(frame))


def _tri_values(codes: np.ndarray) -> np.ndarray:
    """Three-valued codes as the column values these tables have always had: bools, or
    objects True / False / <NA> when one is unknown (what a pandas ``boolean`` array of them
    gives with ``to_numpy()``)."""
    known = codes == 1
    if not (codes < 0).any():
        return known
    out = known.astype(object)
    out[codes < 0] = pd.NA
    return out


def _join(parts: list[np.ndarray], names: list[str]) -> np.ndarray:
    """';'-join the names whose boolean masks are true, row by row."""
    n = len(parts[0]) if parts else 0
    out = np.full(n, "", dtype=object)
    for mask, name in zip(parts, names, strict=True):
        idx = np.flatnonzero(mask)
        if idx.size:
            cur = out[idx]
            out[idx] = np.where(cur == "", name, cur + ";" + name)
    return out


# ------------------------------------------------------------------------------ the visits
_OFF = 1 << 31


@dataclass
class _Visits:
    code: np.ndarray  # subject code (index into the relapse subjects)
    day: np.ndarray  # int64 day numbers
    key: np.ndarray  # code << 32 | day + offset, sorted
    edss: np.ndarray  # float, NaN = not rated
    fs: dict[str, np.ndarray]  # raw grades, float NaN = not known
    n_subjects: int


def _key(code: np.ndarray, day: np.ndarray) -> np.ndarray:
    # (np.minimum / np.maximum: np.clip's wrapper costs several µs a call)
    d = np.minimum(np.maximum(day, -_OFF + 1), _OFF - 1).astype(np.int64)
    return (code.astype(np.int64) << 32) | (d + _OFF)


def _prepare_visits(visits: Any, subjects: pd.Index, subject: str | None, need_edss: bool,
                    read_options: ReadOptions | None = None) -> _Visits:
    """Visits (validated by :func:`neda.io.read_visits`) as sorted day-number arrays."""
    validated = is_validated(visits, "visits")
    # columns are read as arrays below, so the table keeps its attrs (no bare view needed)
    vis = ensure_table(visits, "visits", _subject_option(read_options, subject),
                       required=["edss"] if need_edss else [])
    if not len(subjects) and validated:  # no relapse subject: no visit is kept (its cells
        # were parsed by the reader; any other table is still read through, for its errors)
        none, grades = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return _Visits(code=none, day=none, key=none, edss=grades,
                       fs={s: grades for s in FS_SYSTEMS}, n_subjects=0)
    # columns read as arrays (a Series of each would cost more than the rule on one patient)
    day = _day_of(column_numpy(vis, "date"))
    code = index_positions(subjects, column_numpy(vis, "subject"))
    edss = (_floats(vis, "edss") if "edss" in vis.columns else np.full(len(vis), np.nan))
    fs: dict[str, np.ndarray] = {}
    for system in FS_SYSTEMS:
        fs[system] = _fs_grades(vis, f"fs_{system}", system)
    keep = code >= 0
    order = np.flatnonzero(keep)
    c, d = code[order], day[order]
    if not bool(np.all((c[1:] > c[:-1]) | ((c[1:] == c[:-1]) & (d[1:] >= d[:-1])))):
        # not already by subject and date (the readers' order when subjects are in the same
        # order as the relapse table's): a stable sort
        order = np.lexsort((np.arange(len(vis)), day, code))
        order = order[keep[order]]
    code, day_i = code[order].astype(np.int64), day[order].astype(np.int64)
    # one row per subject and date: the reader merged repeats (rules §0.3)
    return _Visits(code=code, day=day_i, key=_key(code, day_i), edss=edss[order],
                   fs={s: g[order] for s, g in fs.items()}, n_subjects=len(subjects))


def _floats(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``frame[name].to_numpy(np.float64)`` without building the Series."""
    values = column(frame, name)
    if isinstance(values, np.ndarray):
        return np.asarray(values, dtype=np.float64)
    return np.asarray(values.to_numpy(np.float64))


def _fs_grades(vis: pd.DataFrame, name: str, system: str) -> np.ndarray:
    """Raw FS grades (float, NaN = not known) of a validated FS column (rules §1.2)."""
    if name not in vis.columns:
        return np.full(len(vis), np.nan)
    values = column_numpy(vis, name)
    if len(values) <= 64 and values.dtype == object:
        # one patient's visits: each distinct cell parsed once, found again by a dict
        # (pandas' factorize below costs about 25 µs a column on them)
        cells = values.tolist()
        if all(type(v) is str or v is None for v in cells):
            grade = {v: _fs_grade(v, system) for v in dict.fromkeys(cells)}
            return np.array([grade[v] for v in cells], dtype=np.float64)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lut = np.full(len(uniques) + 1, np.nan)
    for i, v in enumerate(uniques):
        lut[i] = _fs_grade(v, system)
    return lut[codes]


def _fs_grade(raw: Any, system: str) -> float:
    """One FS cell's raw grade (rules §1.2), NaN when not known."""
    g = parse_fs_grade(raw, system).grade
    return np.nan if g is None else float(g)


def _subject_option(read_options: ReadOptions | None, subject: str | None) -> ReadOptions:
    """Reading options with ``subject`` naming the subject column, if given."""
    from dataclasses import replace

    opts = read_options or ReadOptions()
    if subject and subject != "subject":
        opts = replace(opts, columns={**opts.columns, "subject": subject})
    return opts


def _pairs(vis: _Visits, code: np.ndarray, lo: np.ndarray, hi: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """(relapse index, visit index) for every visit of the same subject dated in [lo, hi]."""
    lo = np.where(np.isnan(lo), 0, lo)
    hi = np.where(np.isnan(hi), -1, hi)  # (no next relapse, inf: _key bounds it)
    start = np.searchsorted(vis.key, _key(code, lo), side="left")
    stop = np.searchsorted(vis.key, _key(code, hi), side="right")
    count = np.where(hi >= lo, np.maximum(stop - start, 0), 0)
    total = int(count.sum())
    rel_idx = np.repeat(np.arange(len(code)), count)
    first = np.cumsum(count) - count
    vis_idx = start[rel_idx] + (np.arange(total) - first[rel_idx])
    return rel_idx, vis_idx


def _pairs_in_windows(vis: _Visits, code: np.ndarray,
                      windows: list[tuple[np.ndarray, np.ndarray]]
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`_pairs` of several windows ``(lo, hi)`` per relapse, window by window (the same
    pairs), in one search: each search costs more than its work on one patient's visits."""
    n = len(code)
    lo = np.concatenate([w[0] for w in windows])  # (day arrays, one value a relapse)
    hi = np.concatenate([w[1] for w in windows])
    ri, vi = _pairs(vis, np.concatenate([code] * len(windows)), lo, hi)
    cuts = np.searchsorted(ri, np.arange(len(windows) + 1) * n).tolist()
    return [(ri[cuts[w]:cuts[w + 1]] - w * n, vi[cuts[w]:cuts[w + 1]])
            for w in range(len(windows))]


def _pick(rel_idx: np.ndarray, vis_idx: np.ndarray, primary: np.ndarray, secondary: np.ndarray,
          n: int) -> np.ndarray:
    """Per relapse, the visit with the smallest (primary, secondary); -1 when none."""
    out = np.full(n, -1, np.int64)
    if rel_idx.size == 0:
        return out
    order = np.lexsort((secondary, primary, rel_idx))
    r = rel_idx[order]
    first = np.ones(len(r), bool)
    first[1:] = r[1:] != r[:-1]
    out[r[first]] = vis_idx[order][first]
    return out


def _covered(vis: _Visits, code: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """For each visit: inside some interval [start, end] of its subject."""
    if len(code) == 0 or len(vis.day) == 0:
        return np.zeros(len(vis.day), bool)
    order = np.lexsort((start, code))
    c, s, e = code[order], start[order], end[order]
    run_max = cummax_by_code(c, e)
    idx = np.searchsorted(_key(c, s), vis.key, side="right") - 1
    ok = idx >= 0
    hit = np.zeros(len(vis.day), bool)
    hit[ok] = (c[idx[ok]] == vis.code[ok]) & (run_max[idx[ok]] >= vis.day[ok])
    return hit


@dataclass
class _Anchors:
    """Visit indices (-1 = none) of E_pre, E_peak, E_post for each counted relapse."""

    pre: np.ndarray
    peak: np.ndarray
    post: np.ndarray
    peak_reason: np.ndarray  # object: "" or why E_peak is unknown
    # (relapse, visit) pairs of [O + post_min_days, next relapse - 1], the window of confirmed
    # recovery, found in the same search as the anchors' windows
    after: tuple[np.ndarray, np.ndarray]


def _reference_masks(vis: _Visits, code: np.ndarray, a: np.ndarray, b: np.ndarray,
                     episodes: tuple[np.ndarray, np.ndarray, np.ndarray], opts: RelapseOptions
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(eligible as E_pre, outside pseudo-relapse episodes) per visit.

    Eligible as a reference (rules §2.3, ``relapse_to_bl`` = 30): not 0-29 days after a
    relapse onset; an imprecise onset ``[a, b]`` blocks ``[a, b + 29]`` (rules §2.7.2: a visit
    inside the interval has distance 0)."""
    in_pseudo = _covered(vis, *episodes)
    gap = opts.pre_relapse_gap_days
    blocked = (_covered(vis, code, a, b + gap - 1) if gap > 0
               else np.zeros(len(vis.day), bool))
    return ~blocked & ~in_pseudo, ~in_pseudo


def _anchors(vis: _Visits, code: np.ndarray, a: np.ndarray, b: np.ndarray, nxt: np.ndarray,
             episodes: tuple[np.ndarray, np.ndarray, np.ndarray], opts: RelapseOptions,
             designated: np.ndarray | None) -> _Anchors:
    """E_pre, E_peak and E_post (rules §3.3); O = a opens a window, O = b closes it."""
    n = len(code)
    eligible, clean = _reference_masks(vis, code, a, b, episodes, opts)
    rated = ~np.isnan(vis.edss)
    by_peak = opts.peak_source == "max_in_window"
    windows = _pairs_in_windows(vis, code, [
        (a - opts.pre_window_days, b - 1),  # E_pre
        (a + opts.post_min_days, np.minimum(b + opts.post_max_days, nxt - 1)),  # E_post
        (a + opts.post_min_days, nxt - 1),  # confirmed recovery
        *([(a, np.minimum(b + opts.peak_window_days, nxt - 1))] if by_peak else [])])  # E_peak
    # E_pre: the latest eligible EDSS in [O - pre_window, O - 1]
    ri, vi = windows[0]
    m = rated[vi] & eligible[vi]
    pre = _pick(ri[m], vi[m], -vis.day[vi[m]], np.zeros(int(m.sum())), n)
    # E_peak
    peak_reason = np.full(n, "", dtype=object)
    if by_peak:
        ri, vi = windows[3]
        m = rated[vi]
        peak = _pick(ri[m], vi[m], -vis.edss[vi[m]], vis.day[vi[m]], n)
        peak_reason[peak < 0] = "no_edss_in_peak_window"
    else:
        peak = np.full(n, -1, np.int64)
        d = designated if designated is not None else np.full(n, np.nan)
        has = ~np.isnan(d)
        ri, vi = _pairs(vis, code[has], d[has], d[has])
        hit = np.flatnonzero(has)[ri]
        ok = rated[vi]
        peak[hit[ok]] = vi[ok]
        peak_reason[~has] = "no_designated_relapse_visit"
        peak_reason[has & (peak < 0)] = "designated_visit_has_no_edss"
    # E_post: [O + post_min, O + post_max], before the next relapse, outside pseudo episodes
    ri, vi = windows[1]
    m = rated[vi] & clean[vi]
    ri, vi = ri[m], vi[m]
    if opts.post_rule == "closest_to_target":
        target = (a + b) / 2 + opts.post_target_days
        post = _pick(ri, vi, np.abs(vis.day[vi] - target[ri]), vis.day[vi], n)
    else:
        post = _pick(ri, vi, vis.day[vi], np.zeros(len(vi)), n)
    return _Anchors(pre=pre, peak=peak, post=post, peak_reason=peak_reason, after=windows[2])


def _with_nan_last(values: np.ndarray) -> np.ndarray:
    """The values as floats with a NaN appended: indexed by visit positions, -1 (no visit)
    reads NaN."""
    out = np.empty(len(values) + 1)
    out[:-1] = values
    out[-1] = np.nan
    return out


def _objective_from_exams(vis: _Visits, code: np.ndarray, a: np.ndarray, b: np.ndarray,
                          nxt: np.ndarray, pre: np.ndarray, opts: RelapseOptions) -> np.ndarray:
    """Objective confirmation per relapse (rules §3.1): 1 yes, 0 no, -1 unknown.

    An examination in ``[O, O + objective_exam_max_days]`` (before the next relapse) confirms
    when, against the E_pre visit, EDSS rose by >= 0.5, one FS by >= 2 or two FS by >= 1
    (bowel/bladder and cerebral excluded; raw grades as rated). "No" needs an examination with
    an EDSS comparable to E_pre and no criterion met; no such examination -> unknown."""
    n = len(code)
    out = np.full(n, -1, np.int8)
    ri, vi = _pairs(vis, code, a, np.minimum(b + opts.objective_exam_max_days, nxt - 1))
    keep = pre[ri] >= 0
    ri, vi = ri[keep], vi[keep]
    if ri.size == 0:
        return out
    pv = pre[ri]
    d_edss = vis.edss[vi] - vis.edss[pv]
    rises = np.stack([vis.fs[s][vi] - vis.fs[s][pv] for s in OBJECTIVE_FS])
    with np.errstate(invalid="ignore"):
        yes = (d_edss >= 0.5) | (rises >= 2).any(axis=0) | ((rises >= 1).sum(axis=0) >= 2)
    known_no = ~yes & ~np.isnan(d_edss)
    any_yes = np.bincount(ri, weights=yes, minlength=n) > 0
    any_no = np.bincount(ri, weights=known_no, minlength=n) > 0
    out[any_no] = 0
    out[any_yes] = 1
    return out


# ------------------------------------------------------------------------------ hygiene
def relapse_hygiene(relapses: Any, visits: Any = None, followup: Any = None,
                    options: RelapseOptions | None = None, *, subject: str | None = None,
                    read_options: ReadOptions | None = None) -> RelapseHygiene:
    """The relapses that count, and every removed row with its reason (rules §3.1).

    This is the one relapse cleaner of neda: the course engine, NEDA, the relapse rates, the
    response scores, the phenotype descriptors and objective SPMS all read its output.

    Parameters
    ----------
    relapses : a relapses table (``docs/data-model.md``; read here with
        :func:`neda.io.read_relapses` unless it already was): ``subject``, ``date`` (onset:
        ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``); optional ``date_end`` (latest possible onset
        of an explicit range), ``resolved_date``, ``duration_hours``, ``pseudo`` / ``fever`` /
        ``infection``, ``paroxysmal`` (a single paroxysmal episode), ``objective`` (clinician
        entry: yes / no / unknown), ``severity``, ``steroids``, ``plex``, ``hospitalised``,
        ``symptoms`` and ``fs_affected`` (';'-separated lists, united on merging).
    visits : optional visits table (``subject``, ``date``, ``edss``, ``fs_*``): used for the
        objective confirmation and, without ``followup``, for ``in_follow_up``.
    followup : optional table (``subject``, ``start``, ``end``; several rows per subject span
        the earliest start to the latest end; ``end`` missing = ongoing). Relapses whose onset
        interval lies wholly outside are removed (``outside_follow_up``), as are subjects
        absent from it.
    options : :class:`RelapseOptions` [rules §3 defaults].
    subject, read_options : how to read raw tables (:class:`neda.io.ReadOptions`).

    Rules, tested in this order (the first that applies is the reason): fever/infection
    pseudo-relapse (``exclude``), ``duration_hours < min_duration_h``, single paroxysmal
    episode, outside follow-up; then, per subject in onset order, duplicates (same onset
    interval) and the 30-day merge against the first onset of the current relapse.

    Bad cells raise :class:`neda.io.InputError` naming the file, row and column. Rows in the
    result (``row``, ``input_row``, ``merged_rows``, ``merged_into_row``) are named as the
    user numbers them: the spreadsheet row of a file, or the DataFrame's index label.
    """
    opts = options or RelapseOptions()
    rel = bare(ensure_table(relapses, "relapses", _subject_option(read_options, subject)))
    subj = "subject"
    n = len(rel)
    # rows are named in the user's numbering (spreadsheet row or DataFrame index label)
    # columns read as arrays, not Series (each Series costs more than its use here)
    src = (column_numpy(rel, "source_row") if "source_row" in rel.columns
           else np.arange(n, dtype=np.int64))
    a = _day_of(column_numpy(rel, "date"))
    b = _day_of(column_numpy(rel, "date_end"))
    prec = _precision_codes(column_numpy(rel, "precision"))
    resolved = (_day_of(column_numpy(rel, "resolved_date")) if "resolved_date" in rel.columns
                else np.full(n, np.nan))
    duration = (_floats(rel, "duration_hours") if "duration_hours" in rel.columns
                else np.full(n, np.nan))
    pseudo_codes = np.maximum.reduce([_flag_codes(rel, c) for c in ("pseudo", "fever",
                                                                    "infection")])
    is_pseudo = pseudo_codes == 1
    parox = _flag_codes(rel, "paroxysmal") == 1
    objective_in = _flag_codes(rel, "objective")

    code, uniques = factorized(column_numpy(rel, subj))
    subjects = pd.Index(uniques)

    # ---- per-row rules (first reason wins) ----
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    if opts.exclude_fever_infection == "exclude":
        reason[is_pseudo] = "pseudo_relapse_fever_infection"
        detail[is_pseudo] = "fever or infection recorded (pseudo-relapse)"
    with np.errstate(invalid="ignore"):
        short = (duration < opts.min_duration_h) & (reason == "")
    reason[short] = opts.short_reason
    for i in np.flatnonzero(short):
        detail[i] = f"symptoms lasted {duration[i]:g} h (< {opts.min_duration_h:g} h)"
    px = parox & (reason == "")
    reason[px] = "single_paroxysmal_episode"
    detail[px] = "single paroxysmal episode"

    fu_start = fu_end = None
    if followup is not None:
        fu_start, fu_end, listed = _followup(followup, subjects, subject, read_options)
        absent = ~listed[code] & (reason == "")
        reason[absent] = "subject_not_in_follow_up"
        detail[absent] = "subject not in the follow-up table"
        s, e = fu_start[code], fu_end[code]
        outside = ((b < s) | (a > e)) & (reason == "")
        reason[outside] = "outside_follow_up"
        detail[outside] = "onset outside the follow-up period"

    # ---- duplicates and the 30-day merge (per subject, onset order) ----
    alive = reason == ""
    order = np.lexsort((np.arange(n), b, a, code))
    surv = order[alive[order]]
    anchor_of, dup, uncertain = _merge_chain(code[surv], a[surv], b[surv], opts.merge_days)
    anchor_row = surv[anchor_of]  # input position of the relapse each survivor belongs to
    folded = anchor_row != surv
    reason[surv[folded & dup]] = "duplicate"
    reason[surv[folded & ~dup]] = "merged_within_30_days"
    merged_into = np.full(n, -1, np.int64)
    merged_into[surv[folded]] = anchor_row[folded]
    for i in surv[folded]:
        j = merged_into[i]
        detail[i] = (f"same onset as row {src[j]}" if reason[i] == "duplicate" else
                     f"onset {_span(a[i], b[i], a[j])} after the first onset of row {src[j]} "
                     f"(< {opts.merge_days} days)")
    unc_rows = np.zeros(n, bool)
    unc_rows[surv[uncertain]] = True

    kept = surv[~folded]  # input positions of counted relapses, in (subject, onset) order
    front, rest, obj = _clean_table(rel, subj, kept, surv, anchor_row, a, b, prec, resolved,
                                    is_pseudo, objective_in, unc_rows, opts, src, code)

    # ---- pseudo-relapse episodes (removed ones only) ----
    pe = np.flatnonzero(reason == "pseudo_relapse_fever_infection")
    no_end = np.isnan(resolved[pe])
    ep_end = np.where(no_end, b[pe] + opts.pseudo_episode_days - 1, resolved[pe])
    episodes = frame_of({
        "row": src[pe], subj: column_numpy(rel, subj)[pe],
        "episode_start": day_dates(a[pe]), "episode_end": day_dates(ep_end),
        "end_source": np.where(no_end, "default_days", "resolved_date").astype(object),
    }, consolidate=True)

    # ---- follow-up membership and objective confirmation ----
    kc, ka, kb = code[kept], a[kept], b[kept]
    # no relapse counted: nothing to place in follow-up or confirm (a validated visits table
    # needs no reading; any other is still read, for its errors)
    vis = (_prepare_visits(visits, subjects, subject, need_edss=False,
                           read_options=read_options) if visits is not None
           and (len(kept) or not is_validated(visits, "visits")) else None)
    if fu_start is None and vis is not None:
        fu_start, fu_end, _ = _followup_from_visits(vis, opts)
    in_fu = np.full(len(kept), -1, np.int8)
    partly = np.zeros(len(kept), bool)
    if fu_start is not None and fu_end is not None:
        s, e = fu_start[kc], fu_end[kc]
        with np.errstate(invalid="ignore"):
            inside = (ka >= s) & (kb <= e)
            out = (kb < s) | (ka > e)
        in_fu = np.where(inside, 1, np.where(out, 0, -1)).astype(np.int8)
        partly = ~inside & ~out & ~np.isnan(s)
    source = np.where(obj >= 0, "clinician", "none").astype(object)
    anchors = None
    nxt = _next_start(kc, ka)
    if vis is not None and (obj < 0).any():
        anchors = _anchors(vis, kc, ka, kb, nxt, (code[pe], a[pe], ep_end), opts, None)
        computed = _objective_from_exams(vis, kc, ka, kb, nxt, anchors.pre, opts)
        use = (obj < 0) & (computed >= 0)
        obj = np.where(use, computed, obj).astype(np.int8)
        source[use] = "examination"
    dur_unknown = (np.isnan(duration[kept]) if "duration_hours" in rel.columns
                   else np.zeros(len(kept), bool))
    derived = {
        "objective": _tri_values(obj),
        "objective_source": source,
        "in_follow_up": _tri_values(in_fu),
        "flags": _join([front["merge_uncertain"], partly, front["pseudo"], dur_unknown],
                       ["merge_uncertain", "partly_outside_follow_up",
                        "pseudo_relapse_flagged", "duration_unknown"]),
        "input_row": src[kept],
    }

    removed_pos = np.flatnonzero(reason != "")
    removed = {
        "row": src[removed_pos], subj: column_numpy(rel, subj)[removed_pos],
        "date": column_numpy(rel, "date")[removed_pos],
        "onset_start": day_dates(a[removed_pos]),
        "onset_end": day_dates(b[removed_pos]),
        "precision": np.array(PRECISIONS, dtype=object)[prec[removed_pos]],
        "reason": reason[removed_pos],
        "merged_into_row": _row_labels(src, merged_into[removed_pos]),
        "detail": detail[removed_pos],
    }
    record = provenance(opts.rule_set, opts, SOURCE)
    result = RelapseHygiene(relapses=provenance_frame({**front, **derived, **rest}, record),
                            removed=provenance_frame(removed, record),
                            pseudo_episodes=episodes, options=opts, provenance=record)
    # the day-number arrays every rule reads (onset_arrays, episode_arrays), from the arrays
    # the tables were made of rather than read back from them (the same values)
    result._derived["onsets"] = (result.relapses, {
        "subject": column_numpy(result.relapses, subj), "a": ka, "b": kb,
        "last_b": _day_of(front["last_onset_end"]), "objective": obj,
        "label": _labels_of(front["onset_start"], front["onset_end"], front["precision"])})
    result._derived["episodes"] = (episodes, {"subject": column_numpy(episodes, subj),
                                              "e0": a[pe], "e1": ep_end})
    if vis is not None and is_validated(visits, "visits"):
        # handed on to severity and recovery of these visits (codes: those of the visits)
        _keep_prepared(result, visits, subject, kc, ka, kb, nxt, vis, (code[pe], a[pe], ep_end),
                       anchors)
    return result


def _row_labels(src: np.ndarray, positions: np.ndarray) -> Any:
    """Source row labels at ``positions`` (-1 = none: <NA>), Int64 when the labels are
    integers."""
    has = positions >= 0
    if src.dtype == np.int64:  # as below, the Int64 array made directly
        return pd.arrays.IntegerArray(np.where(has, src[np.where(has, positions, 0)], 0),
                                      ~has)
    if src.dtype.kind in "iu":
        out = pd.array(np.where(has, src[np.where(has, positions, 0)], 0), dtype="Int64")
        out[~has] = pd.NA
        return out
    out = src[np.where(has, positions, 0)].astype(object)
    out[~has] = None
    return out


def _span(a: float, b: float, anchor: float) -> str:
    lo, hi = int(a - anchor), int(b - anchor)
    if lo == hi:
        return "1 day" if lo == 1 else f"{lo} days"
    return f"{lo}-{hi} days"


def _merge_chain(code: np.ndarray, a: np.ndarray, b: np.ndarray, merge_days: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anchor (position in these arrays) of each row, duplicate and merge_uncertain flags.

    Rows are sorted by subject and onset. A row identical (same [a, b]) to the previous row is
    a duplicate of that row's relapse. Otherwise, against the first onset [a1, b1] of the
    current relapse (McDonald 2001, rules §3.1): ``b - a1 < merge_days`` -> merged;
    ``a - b1 >= merge_days`` -> a new relapse; else a new relapse flagged merge_uncertain
    (with the previous one). Sequential by nature (each decision moves the anchor)."""
    m = len(code)
    anchor = np.arange(m)
    dup = np.zeros(m, bool)
    uncertain = np.zeros(m, bool)
    if m == 0:
        return anchor, dup, uncertain
    cl, al, bl = code.tolist(), a.tolist(), b.tolist()
    anc = anchor.tolist()
    cur = 0
    for k in range(1, m):
        if cl[k] != cl[k - 1]:
            cur = k
            continue
        if al[k] == al[k - 1] and bl[k] == bl[k - 1]:
            anc[k] = anc[k - 1]
            dup[k] = True
            continue
        if merge_days > 0 and bl[k] - al[cur] < merge_days:
            anc[k] = cur
            continue
        if merge_days > 0 and al[k] - bl[cur] < merge_days:
            uncertain[k] = True
            uncertain[cur] = True
        cur = k
    return np.asarray(anc, dtype=np.int64), dup, uncertain


def _next_start(code: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Earliest possible onset of the subject's next relapse (inf if none); rows in order."""
    nxt = np.full(len(code), np.inf)
    if len(code) > 1:
        same = code[1:] == code[:-1]
        nxt[:-1] = np.where(same, a[1:], np.inf)
    return nxt


def _followup(followup: Any, subjects: pd.Index, subject: str | None,
              read_options: ReadOptions | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fu = ensure_table(followup, "followup", _subject_option(read_options, subject))
    s = _day_of(fu["start"])
    e = _day_of(fu["end"]) if "end" in fu.columns else np.full(len(fu), np.nan)
    with np.errstate(invalid="ignore"):
        bad = e < s
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError([InputProblem(
            fu.attrs["report"].file, None, "end", str(fu["end"].iloc[pos].date()),
            f"a follow-up end on or after its start {fu['start'].iloc[pos].date()} "
            f"(subject {fu['subject'].iloc[pos]})")])
    e = np.where(np.isnan(e), np.inf, e)
    idx = subjects.get_indexer(pd.Index(fu["subject"]))
    ok = idx >= 0
    start = np.full(len(subjects), np.inf)
    end = np.full(len(subjects), -np.inf)
    np.minimum.at(start, idx[ok], s[ok])
    np.maximum.at(end, idx[ok], e[ok])
    listed = np.isfinite(start)
    start[~listed] = np.nan
    end[~listed] = np.nan
    return start, end, listed


def _followup_from_visits(vis: _Visits, opts: RelapseOptions
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relapse follow-up [first visit - history_lookback_days, last visit] (rules §2.7.2)."""
    start = np.full(vis.n_subjects, np.nan)
    end = np.full(vis.n_subjects, np.nan)
    if len(vis.code):
        first = np.ones(len(vis.code), bool)
        first[1:] = vis.code[1:] != vis.code[:-1]
        last = np.ones(len(vis.code), bool)
        last[:-1] = vis.code[1:] != vis.code[:-1]
        start[vis.code[first]] = vis.day[first] - opts.history_lookback_days
        end[vis.code[last]] = vis.day[last]
    return start, end, ~np.isnan(start)


def _clinician_severity(rel: pd.DataFrame) -> np.ndarray:
    """Clinician labels (validated by the reader: mild / moderate / severe) or None."""
    if "severity" not in rel.columns:
        return np.full(len(rel), None, dtype=object)
    return np.asarray(column_numpy(rel, "severity"), dtype=object)


def _clean_table(rel: pd.DataFrame, subj: str, kept: np.ndarray, surv: np.ndarray,
                 anchor_row: np.ndarray, a: np.ndarray, b: np.ndarray, prec: np.ndarray,
                 resolved: np.ndarray, is_pseudo: np.ndarray, objective_in: np.ndarray,
                 uncertain: np.ndarray, opts: RelapseOptions, src: np.ndarray,
                 code: np.ndarray) -> tuple[dict[str, Any], dict[str, Any], np.ndarray]:
    """One row per counted relapse: its first onset's row, with the union of the merged rows
    (latest end date, any treatment, worst clinician severity, united symptoms / FS; spec
    3.1). Returns the columns of :data:`CLEAN_COLUMNS` up to ``pseudo``, the other input
    columns, and the clinician objective."""
    n_kept = len(kept)
    slot = np.full(len(rel), -1, np.int64)
    slot[kept] = np.arange(n_kept)
    grp = slot[anchor_row]  # relapse (position in ``kept``) of every survivor
    merged_from = np.bincount(grp, minlength=n_kept)
    # survivors come in relapse order, each relapse's rows together (the merge chain only
    # folds a row into the current relapse): a maximum per run of rows (np.maximum.at, the
    # general way, takes several times longer); nothing merged: each row is its relapse
    single = len(surv) == n_kept
    runs = (np.flatnonzero(_starts_of_runs(grp))
            if n_kept and not single and bool(np.all(grp[1:] >= grp[:-1])) else None)

    def group_max(values: np.ndarray) -> np.ndarray:
        v = values[surv].astype(float)
        if single:  # (grp = 0, 1, ...): the rows' own values
            return np.where(np.isneginf(v), np.nan, v)
        v = np.where(np.isnan(v), -np.inf, v)
        if runs is not None:
            out = np.maximum.reduceat(v, runs)
        else:
            out = np.full(n_kept, -np.inf)
            np.maximum.at(out, grp, v)
        return np.where(np.isneginf(out), np.nan, out)

    # the other input columns, at the first row of each relapse
    rest = {c: _column_rows(rel, c, kept) for c in rel.columns
            if c not in (subj, "subject", "date", "date_end", "source_row")
            and c not in CLEAN_COLUMNS}
    def group_any(codes: np.ndarray) -> np.ndarray:
        """Three-valued OR over the merged rows (1 yes, 0 no, -1 unknown)."""
        if single:  # one row a relapse: its own code
            return codes[surv].astype(np.int8)
        yes = group_max((codes == 1).astype(float)) > 0
        unknown = group_max((codes < 0).astype(float)) > 0
        return np.where(yes, 1, np.where(unknown, -1, 0)).astype(np.int8)

    for col in ("steroids", "plex", "hospitalised"):
        if col in rest:
            rest[col] = _tri_values(group_any(_flag_codes(rel, col)))
    if "severity" in rest:
        rank: dict[str | None, int] = {None: -1}
        rank.update({s: i for i, s in enumerate(CLINICIAN_SEVERITY)})
        worst = group_max(np.array([rank[s] for s in _clinician_severity(rel)], dtype=float))
        rest["severity"] = [None if w < 0 else CLINICIAN_SEVERITY[int(w)] for w in worst]
    multi = merged_from > 1
    for col in ("symptoms", "fs_affected"):
        if col in rest and multi.any():
            texts = rel[col].to_numpy(object)
            members: dict[int, list[str]] = {}
            for g, row in zip(grp.tolist(), surv.tolist(), strict=True):
                if multi[g] and isinstance(texts[row], str):
                    members.setdefault(g, []).extend(
                        t.strip() for t in texts[row].split(";") if t.strip())
            col_values = np.asarray(rest[col], dtype=object).copy()
            for g, items in members.items():
                col_values[g] = ";".join(dict.fromkeys(items))
            rest[col] = col_values
    rows_text = np.full(n_kept, "", dtype=object)
    order = np.lexsort((surv, grp))
    for g, row in zip(grp[order].tolist(), surv[order].tolist(), strict=True):
        rows_text[g] = f"{rows_text[g]};{src[row]}" if rows_text[g] else str(src[row])
    kcode = code[kept]  # the subject codes (pd.factorize of the subject column)
    flagged = group_max(is_pseudo) > 0
    front = {
        subj: column_numpy(rel, subj)[kept],
        "relapse_n": _numbers_within(kcode),
        "onset_start": day_dates(a[kept]),
        "onset_end": day_dates(b[kept]),
        "precision": np.array(PRECISIONS, dtype=object)[prec[kept]],
        "merged_from": merged_from.astype(np.int64),
        "merged_rows": rows_text,
        "merge_uncertain": uncertain[kept],
        "resolved_date": day_dates(group_max(resolved)),
        "last_onset_end": day_dates(group_max(b)),
        "pseudo": flagged if opts.exclude_fever_infection == "flag_only" else np.zeros(n_kept,
                                                                                      bool),
    }
    return front, rest, group_any(objective_in)


def _column_rows(frame: pd.DataFrame, name: str, rows: np.ndarray) -> Any:
    """``_rows_of(frame[name], rows)`` without building the Series."""
    values = column(frame, name)
    return values[rows] if isinstance(values, np.ndarray) else values.take(rows)


def _rows_of(column: pd.Series, rows: np.ndarray) -> Any:
    """A column's values at ``rows``, in its own dtype (extension arrays stay so)."""
    values = column.array
    if isinstance(values, pd.arrays.NumpyExtensionArray):
        return values.to_numpy()[rows]
    return values.take(rows)


def _starts_of_runs(values: np.ndarray) -> np.ndarray:
    """True where a run of equal values starts (``np.r_[True, v[1:] != v[:-1]]`` without
    np.r_'s parsing, about 10 µs a call)."""
    out = np.ones(len(values), bool)
    out[1:] = values[1:] != values[:-1]
    return out


def _numbers_within(code: np.ndarray) -> np.ndarray:
    """1, 2, ... within each run of equal codes (rows sorted by code)."""
    n = len(code)
    new = np.ones(n, bool)
    new[1:] = code[1:] != code[:-1]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return (np.arange(n) - start + 1).astype(np.int64)


# ------------------------------------------------------------------------------ severity / recovery
@dataclass
class _Context:
    hygiene: RelapseHygiene
    options: RelapseOptions
    clean: pd.DataFrame
    subject: str
    vis: _Visits
    code: np.ndarray
    a: np.ndarray
    b: np.ndarray
    nxt: np.ndarray
    episodes: tuple[np.ndarray, np.ndarray, np.ndarray]
    anchors: _Anchors


def _episode_arrays(episodes: pd.DataFrame, subj: str, subjects: pd.Index
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    code = index_positions(subjects, column_numpy(episodes, subj))
    ok = code >= 0
    return (code[ok], _day_of(column_numpy(episodes, "episode_start"))[ok],
            _day_of(column_numpy(episodes, "episode_end"))[ok])


# What severity and recovery read of a visits table, prepared once per hygiene and visits table:
# relapse hygiene prepares the visits (for objective confirmation and follow-up) and hands them
# on with its result, so recovery and severity of the same hygiene and visits read the same
# arrays (about a third of a one-patient recovery call), and severity the anchors recovery
# found (a registry's anchors cost about a second to find). Held on the RelapseHygiene, never
# in the module: a visits table other than the one prepared (another object, or the hygiene's
# table replaced) is prepared again.
@dataclass
class _PreparedVisits:
    visits: Any  # weak reference to the visits table prepared (the hygiene does not keep it)
    relapses: pd.DataFrame  # the hygiene table whose counted relapses code/a/b/nxt describe
    subject: str | None  # subject column option it was read with (a raw table's reading)
    code: np.ndarray  # per counted relapse: subject code (index into the visits' subjects)
    a: np.ndarray
    b: np.ndarray
    nxt: np.ndarray
    vis: _Visits
    episodes: tuple[np.ndarray, np.ndarray, np.ndarray]
    # (options, anchors found with them; no designated visit): one tuple, replaced whole, so
    # that two threads sharing a hygiene never pair one call's anchors with another's options
    anchored: tuple[RelapseOptions, _Anchors] | None = None

    def serves(self, hyg: RelapseHygiene, visits: Any, subject: str | None) -> bool:
        """Whether these are ``visits`` as prepared for ``hyg``'s counted relapses: the same
        visits object and hygiene table (a validated visits table reads the same whatever the
        subject option). Visits without an ``edss`` column are not (preparing them again
        raises the error that names it)."""
        return (self.visits() is visits and self.relapses is hyg.relapses
                and isinstance(visits, pd.DataFrame) and "edss" in visits.columns
                and (self.subject == subject or is_validated(visits, "visits")))


def _keep_prepared(hyg: RelapseHygiene, visits: Any, subject: str | None, code: np.ndarray,
                   a: np.ndarray, b: np.ndarray, nxt: np.ndarray, vis: _Visits,
                   episodes: tuple[np.ndarray, np.ndarray, np.ndarray],
                   anchors: _Anchors | None = None) -> _PreparedVisits | None:
    """Hand the prepared visits on with ``hyg`` (None, and nothing kept, for visits that
    cannot be referred to weakly, e.g. a file name)."""
    try:
        ref = weakref.ref(visits)
    except TypeError:
        hyg._prepared = None
        return None
    prep = _PreparedVisits(ref, hyg.relapses, subject, code, a, b, nxt, vis, episodes,
                           (hyg.options, anchors) if anchors is not None else None)
    hyg._prepared = prep
    return prep


def _context(relapses: Any, visits: Any, options: RelapseOptions | None, subject: str | None
             ) -> _Context:
    if visits is None:
        raise ValueError("a visits table (subject, date, edss) is required")
    if isinstance(relapses, RelapseHygiene):
        hyg = relapses
        opts = options or hyg.options
    else:
        opts = options or RelapseOptions()
        hyg = relapse_hygiene(relapses, visits, options=opts, subject=subject)
    clean = hyg.relapses  # read by column (never a Series, which would copy its attrs)
    subj = str(clean.columns[0])
    designated = None
    if opts.peak_source == "designated_relapse_visit" and "relapse_visit_date" in clean.columns:
        designated = _day_of(column_numpy(clean, "relapse_visit_date"))
    prep = hyg._prepared
    if prep is None or not prep.serves(hyg, visits, subject):
        # codes in order of first appearance (as pd.unique, then the position of each)
        codes, uniques = pd.factorize(column_numpy(clean, subj))
        subjects = pd.Index(uniques)
        code = codes.astype(np.int64)
        onsets = hyg.onset_arrays() if subj == "subject" else None
        a = onsets["a"] if onsets is not None else _day_of(column_numpy(clean, "onset_start"))
        b = onsets["b"] if onsets is not None else _day_of(column_numpy(clean, "onset_end"))
        nxt = _next_start(code, a)
        vis = _prepare_visits(visits, subjects, subject, need_edss=True)
        episodes = _episode_arrays(hyg.pseudo_episodes, subj, subjects)
        prep = _keep_prepared(hyg, visits, subject, code, a, b, nxt, vis, episodes)
        if prep is None:  # not kept: this call's own
            prep = _PreparedVisits(None, clean, subject, code, a, b, nxt, vis, episodes)
    anchored = prep.anchored  # (read once: another thread may replace it)
    if anchored is not None and designated is None and anchored[0] == opts:
        anchors = anchored[1]
    else:
        anchors = _anchors(prep.vis, prep.code, prep.a, prep.b, prep.nxt, prep.episodes, opts,
                           designated)
        if designated is None:  # the next call with these options reads them
            prep.anchored = (opts, anchors)
    return _Context(hyg, opts, clean, subj, prep.vis, prep.code, prep.a, prep.b, prep.nxt,
                    prep.episodes, anchors)


def _day_of(values: pd.Series) -> np.ndarray:
    return day_numbers(values)


def _id_columns(ctx: _Context) -> dict[str, Any]:
    """The identifying columns of each counted relapse, as arrays."""
    rows = np.arange(len(ctx.clean))
    return {c: _column_rows(ctx.clean, c, rows)
            for c in (ctx.subject, "relapse_n", "onset_start", "onset_end", "precision")}


def relapse_severity(relapses: Any, visits: Any, options: RelapseOptions | None = None, *,
                     subject: str | None = None) -> pd.DataFrame:
    """Severity of each counted relapse (rules §3.2); columns :data:`SEVERITY_COLUMNS`.

    ``relapses``: a raw relapses table (cleaned here with :func:`relapse_hygiene` and these
    ``visits``) or a :class:`RelapseHygiene`. ``visits``: ``subject``, ``date``, ``edss``,
    optional ``fs_*`` grades. Relapse columns ``hospitalised``, ``plex``, ``steroids`` and
    ``severity`` (clinician label) are optional.

    ``edss_delta`` (default; configurable, not a validated standard [C]): change = E_peak -
    E_pre (rules §3.3 defaults; Lublin 2014 thresholds 0.5 / 1.0): ``no_edss_change`` <= 0 (still
    a relapse; 14.4 % in Hirst 2008), ``mild`` 0.5-1.0, ``moderate`` 1.5-2.0, ``severe`` >= 2.5
    (Hirst 2012: > 2.0) - or hospitalised or PLEX, whatever the EDSS; ``unknown`` when E_pre or
    E_peak is unknown. ``clinician``: the entered label; ``unknown`` when missing.
    """
    ctx = _context(relapses, visits, options, subject)
    opts, vis, anc, clean = ctx.options, ctx.vis, ctx.anchors, ctx.clean
    # columns gathered, the table built once (a column insert costs about 0.3 ms)
    out = _id_columns(ctx)
    edss, vday = _with_nan_last(vis.edss), _with_nan_last(vis.day)
    e_pre, e_peak = edss[anc.pre], edss[anc.peak]  # (index -1, no visit: NaN)
    out["edss_pre"] = e_pre
    out["edss_pre_date"] = day_dates(vday[anc.pre])
    out["edss_peak"] = e_peak
    out["edss_peak_date"] = day_dates(vday[anc.peak])
    delta = e_peak - e_pre
    out["edss_change"] = delta
    # every FS at once: the grades with a column of NaN last, which index -1 (no visit) reads
    grades = np.full((len(FS_SYSTEMS), len(vis.day) + 1), np.nan)
    for i, s in enumerate(FS_SYSTEMS):
        grades[i, :-1] = vis.fs[s]
    change = grades[:, anc.peak] - grades[:, anc.pre]
    for i, s in enumerate(FS_SYSTEMS):
        out[f"fs_change_{s}"] = change[i]
    clin = (_clinician_severity(clean) if "severity" in clean.columns
            else np.full(len(clean), None, dtype=object))
    out["severity_clinician"] = clin
    tri = {}
    for col in ("hospitalised", "plex", "steroids"):
        tri[col] = _flag_codes(clean, col)
        out[col] = _tri_values(tri[col])
    stack = np.stack([tri["hospitalised"], tri["plex"], tri["steroids"]])
    proxy = np.where((stack == 1).any(axis=0), 1, np.where((stack == 0).all(axis=0), 0, -1))
    out["treatment_proxy"] = _tri_values(proxy.astype(np.int8))
    label = np.full(len(clean), "unknown", dtype=object)
    why = np.full(len(clean), "", dtype=object)
    if opts.severity_scheme == "edss_delta":
        known = ~np.isnan(delta)
        with np.errstate(invalid="ignore"):
            label[known & (delta <= 0)] = "no_edss_change"
            label[known & (delta > 0) & (delta < 1.5)] = "mild"
            label[known & (delta >= 1.5) & (delta < 2.5)] = "moderate"
            label[known & (delta >= 2.5)] = "severe"
        why[known] = texts_by_key(delta[known], lambda d: f"edss_change_{d:+.1f}")
        hosp = (tri["hospitalised"] == 1) | (tri["plex"] == 1)
        label[hosp] = "severe"
        why[hosp] = np.where(tri["hospitalised"][hosp] == 1, "hospitalised", "plasma_exchange")
        unknown = label == "unknown"
        why[unknown & np.isnan(e_pre)] = "no_pre_relapse_edss"
        no_peak = unknown & ~np.isnan(e_pre)
        why[no_peak] = anc.peak_reason[no_peak]
    else:
        has = np.array([c is not None for c in clin], dtype=bool)
        label[has] = clin[has]
        why[has] = "clinician_rating"
        why[~has] = "no_clinician_rating"
    out["severity"] = label
    out["severity_reason"] = why
    out["severity_scheme"] = np.full(len(clean), opts.severity_scheme, dtype=object)
    return provenance_frame(out, provenance(opts.rule_set, opts, SOURCE))


def relapse_recovery(relapses: Any, visits: Any, options: RelapseOptions | None = None, *,
                     subject: str | None = None) -> pd.DataFrame:
    """Recovery (remission) of each counted relapse (rules §3.3); columns
    :data:`RECOVERY_COLUMNS`.

    ``relapses``: a raw relapses table (cleaned here) or a :class:`RelapseHygiene`;
    ``visits``: ``subject``, ``date``, ``edss``. O is the (first) onset; for an imprecise
    onset ``[a, b]`` windows open at ``a`` and close at ``b`` (the widest window, rules §3.3);
    lags are days from ``a``. With a :class:`RelapseHygiene` of the same ``visits`` object,
    the visits hygiene prepared are reused: pass a new table, not the same one edited in
    place, when the visits changed in between.

    * E_pre: the latest EDSS in ``[O - 365, O - 1]`` eligible as a reference (not 0-29 days
      after a relapse onset, rules §2.3; a visit inside an imprecise onset interval never is)
      and outside pseudo-relapse episodes.
    * E_peak: the highest EDSS in ``[O, O + 30]`` before the next relapse (tie -> the earlier),
      or the visit dated ``relapse_visit_date`` (``peak_source = designated_relapse_visit``).
    * E_post: the EDSS in ``[O + 60, O + 270]`` closest to ``O + 183`` (tie -> the earlier;
      target from the middle of an imprecise interval), before the next relapse's earliest
      possible onset, outside pseudo-relapse episodes; ``first_after_min``: the first one.
    * Residual R = E_post - E_pre (Lublin 2003; Hirst 2008): ``complete`` when R <= 0,
      ``incomplete`` when R >= ``incomplete_residual`` (0.5); ``not_assessable`` without
      E_pre or E_post. (``partial``, 0 < R < cut, can only occur with a cut above 0.5.)
    * Confirmed complete recovery (Lublin 2014 MSARD): an EDSS X1 >= O + 60 with value <=
      E_pre and one at >= X1 + 84 days <= E_pre, every EDSS between <= E_pre, all before the
      next relapse and outside pseudo-relapse episodes. <NA> when undecidable (no E_pre, no
      such EDSS, or recovered at the last visit but not yet for 84 days).
    * Recovery fraction f = (E_peak - E_post) / (E_peak - E_pre), only when E_peak > E_pre
      (else <NA>, flag ``no_edss_increase``); clipped to [0, 1] with ``fraction_clipped`` and
      flag ``post_below_pre`` (raw > 1) or ``post_above_peak`` (raw < 0).
    """
    ctx = _context(relapses, visits, options, subject)
    opts, vis, anc, a, b, nxt = ctx.options, ctx.vis, ctx.anchors, ctx.a, ctx.b, ctx.nxt
    # the columns are built as arrays and the table once (a column at a time into a frame
    # cost more than the rule itself on one patient's relapses)
    out = _id_columns(ctx)
    edss, vday = _with_nan_last(vis.edss), _with_nan_last(vis.day)
    values = {}
    for name, idx in (("pre", anc.pre), ("peak", anc.peak), ("post", anc.post)):
        values[name] = edss[idx]  # (index -1, no visit: NaN)
        d = vday[idx]
        # as pd.array(..., dtype="Int64") with <NA> set where no visit, made directly
        lag = pd.arrays.IntegerArray(np.where(np.isnan(d), 0, d - a).astype(np.int64),
                                     np.isnan(d))
        out[f"edss_{name}"] = values[name]
        out[f"edss_{name}_date"] = day_dates(d)
        out[f"edss_{name}_lag_days"] = lag
    out["next_relapse_start"] = day_dates(np.where(np.isinf(nxt), np.nan, nxt))
    e_pre, e_peak, e_post = values["pre"], values["peak"], values["post"]
    resid = e_post - e_pre
    out["residual_deficit"] = resid
    known = ~np.isnan(resid)
    rec = np.full(len(a), "not_assessable", dtype=object)
    why = np.full(len(a), "", dtype=object)
    with np.errstate(invalid="ignore"):
        complete = known & (resid <= 0)
        incomplete = known & ~complete & (resid >= opts.incomplete_residual)
    partial = known & ~complete & ~incomplete
    rec[complete] = "complete"
    why[complete] = "post_at_or_below_pre"
    rec[incomplete] = "incomplete"
    why[incomplete] = f"residual_at_least_{opts.incomplete_residual:g}"
    rec[partial] = "partial"
    why[partial] = f"residual_below_{opts.incomplete_residual:g}"
    no_pre, no_post = np.isnan(e_pre), np.isnan(e_post)
    why[no_pre] = "no_pre_relapse_edss"
    why[~no_pre & no_post] = "no_post_relapse_edss"
    why[no_pre & no_post] = "no_pre_relapse_edss;no_post_relapse_edss"
    out["recovery"] = rec
    out["reason"] = why
    conf, conf_day = _confirmed_recovery(ctx, e_pre)
    out["complete_confirmed"] = _tri_values(conf)
    out["complete_confirmed_date"] = day_dates(conf_day)
    with np.errstate(invalid="ignore", divide="ignore"):
        rise = e_peak - e_pre
        defined = (rise > 0) & ~no_post
        raw = np.where(defined, (e_peak - e_post) / np.where(rise > 0, rise, 1.0), np.nan)
        above = defined & (raw > 1)
        below = defined & (raw < 0)
        no_rise = ~np.isnan(rise) & (rise <= 0)
    cut = np.isfinite(nxt) & (nxt - 1 < b + opts.post_max_days)
    out["recovery_fraction"] = np.clip(raw, 0.0, 1.0)
    out["recovery_fraction_raw"] = raw
    clipped = np.where(defined, (above | below).astype(np.int8), -1).astype(np.int8)
    out["fraction_clipped"] = _tri_values(clipped)
    out["flags"] = _join([a != b, np.asarray(column_numpy(ctx.clean, "merge_uncertain"), bool),
                          no_rise, above, below, cut],
                         ["imprecise_onset", "merge_uncertain", "no_edss_increase",
                          "post_below_pre", "post_above_peak", "post_window_cut_by_next_relapse"])
    return provenance_frame(out, provenance(opts.rule_set, opts, SOURCE))


def _confirmed_recovery(ctx: _Context, e_pre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Confirmed complete recovery (rules §3.3) per relapse: (1/0/-1, confirming visit day).

    Rated visits from O + post_min_days to the day before the next relapse, outside pseudo
    episodes. A run of consecutive visits with EDSS <= E_pre spanning >= confirm_days days
    confirms; the confirming visit is the first one >= X1 + confirm_days. Undecided (-1): no
    E_pre, no such visit, or no next relapse and the last visit ends an unconfirmed run."""
    vis, nxt, opts = ctx.vis, ctx.nxt, ctx.options
    n = len(ctx.code)
    conf = np.full(n, -1, np.int8)
    conf_day = np.full(n, np.nan)
    clean_v = ~_covered(vis, *ctx.episodes)
    ri, vi = ctx.anchors.after  # [O + post_min_days, next relapse - 1]
    m = ~np.isnan(vis.edss[vi]) & clean_v[vi] & ~np.isnan(e_pre[ri])
    ri, vi = ri[m], vi[m]
    if ri.size == 0:
        return conf, conf_day
    conf[np.bincount(ri, minlength=n) > 0] = 0
    day = vis.day[vi].astype(float)
    good = vis.edss[vi] <= e_pre[ri]
    new_rel = np.ones(len(ri), bool)
    new_rel[1:] = ri[1:] != ri[:-1]
    run = np.cumsum(~good | new_rel)  # 1, 2, ...: rows of a run are consecutive
    starts = np.flatnonzero(_starts_of_runs(run))
    run_start = np.minimum.reduceat(np.where(good, day, np.inf), starts)[run - 1]
    hit = good & (day - run_start >= opts.confirm_days)
    first = _pick(ri[hit], np.flatnonzero(hit), day[hit], np.zeros(int(hit.sum())), n)
    yes = first >= 0
    conf[yes] = 1
    conf_day[yes] = day[first[yes]]
    last_row = np.ones(len(ri), bool)
    last_row[:-1] = ri[1:] != ri[:-1]
    open_end = ri[last_row & good & np.isinf(nxt[ri])]
    conf[open_end[conf[open_end] == 0]] = -1
    return conf, conf_day
