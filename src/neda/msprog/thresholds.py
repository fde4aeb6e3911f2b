"""pymsprog's minimum clinically meaningful change: ``compute_delta`` and ``is_event``
(pymsprog 1.0.7), and the same thresholds for many reference values at once."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

__all__ = ["compute_delta", "is_event"]


def compute_delta(baseline: float, outcome: str = "edss") -> float:
    """Minimum clinically meaningful change from a reference value (pymsprog's thresholds).

    - EDSS: 1.5 if the reference is 0; 1.0 if 0 < reference <= 5.0; 0.5 if 5.0 < reference <= 10.
    - NHPT and T25FW: 20 % of the reference.
    - SDMT: ``min(reference / 5, 4)`` - what pymsprog 1.0.7 computes; its docstring says
      "3 points or 10 %" (clinical rules §2.2 and 11). The native API uses Benedict 2017.
    """
    if outcome == "edss":
        if baseline == 0:
            return 1.5
        if 0 < baseline <= 5:
            return 1.0
        if 5 < baseline <= 10:
            return 0.5
        raise ValueError("invalid EDSS score")
    if outcome in ("nhpt", "t25fw"):
        if baseline < 0:
            raise ValueError(f"negative {outcome.upper()} score")
        if outcome == "nhpt" and baseline > 300:
            warnings.warn("NHPT score >300", stacklevel=2)
        if outcome == "t25fw" and baseline > 180:
            warnings.warn("T25FW score >180", stacklevel=2)
        return baseline / 5
    if outcome == "sdmt":
        if baseline < 0 or baseline > 110:
            raise ValueError("invalid SDMT score")
        return min(baseline / 5, 4)
    raise Exception("outcome must be one of: 'edss','nhpt','t25fw','sdmt'")


def is_event(
    x: float,
    baseline: float,
    type: str,
    outcome: str,
    worsening: str | None = None,
    sub_threshold: bool = False,
    delta_fun: Callable[..., float] | None = None,
    baseline_delta: float | None = None,
) -> bool:
    """Whether ``x`` is a worsening (``'wors'``), improvement (``'impr'``) or any meaningful
    ``'change'`` from ``baseline`` (pymsprog's ``is_event``)."""
    if baseline_delta is None:
        baseline_delta = baseline
    if outcome in ("edss", "nhpt", "t25fw"):
        worsening = "increase"
    elif outcome == "sdmt":
        worsening = "decrease"
    elif worsening is None:
        raise ValueError("If using outcome='custom', you must specify worsening direction")
    improvement = "increase" if worsening == "decrease" else "decrease"
    if sub_threshold:
        sign = {"increase": x > baseline, "decrease": x < baseline, "change": x != baseline}
    else:
        if delta_fun is None and outcome == "custom":
            raise ValueError("If using outcome='custom', you must specify a custom `delta_fun`")
        d = _call_delta(delta_fun, baseline_delta, outcome)
        sign = {
            "increase": x - baseline >= d,
            "decrease": x - baseline <= -d,
            "change": abs(x - baseline) >= d,
        }
    by_type = {"wors": sign[worsening], "impr": sign[improvement], "change": sign["change"]}
    return bool(by_type[type])


def _call_delta(delta_fun: Callable[..., float] | None, ref: float, outcome: str) -> float:
    if delta_fun is None:
        return compute_delta(ref, outcome)
    try:
        return delta_fun(ref, outcome)
    except TypeError:
        return delta_fun(ref)



def _deltas(ref: np.ndarray, outcome: str, delta_fun: Callable[..., float] | None,
            warning_msgs: list[str]) -> np.ndarray:
    """Threshold at each visit, were it the reference (vectorised pymsprog thresholds)."""
    if delta_fun is None:
        if outcome == "edss":
            return np.where(ref == 0, 1.5, np.where(ref <= 5, 1.0, 0.5))
        if outcome in ("nhpt", "t25fw"):
            limit = 300 if outcome == "nhpt" else 180
            if (ref > limit).any():
                warning_msgs.append(f"{outcome.upper()} score >{limit}")
            return ref / 5
        if outcome == "sdmt":
            return np.minimum(ref / 5, 4.0)
    uniq, inv = np.unique(ref, return_inverse=True)
    out = np.empty(len(uniq))
    for i, u in enumerate(uniq):
        try:
            out[i] = float(_call_delta(delta_fun, float(u), outcome))
        except Exception:  # pymsprog would only fail if this value became a reference
            out[i] = np.nan
    return out[inv.reshape(-1)]
