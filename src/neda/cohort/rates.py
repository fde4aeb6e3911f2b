"""Annualised relapse rate per therapy and negative-binomial rate ratios (statsmodels).

``relapse_rates(summary)`` reads the on-treatment relapse counts and person-years of every DMT
epoch that :func:`neda.course_summary` computed (``summary.epochs``: ``relapses_on_treatment``
and ``person_years`` from :func:`neda.rules.arr.annualised_relapse_rate`, window from the
epoch onset to its end, relapses after relapse hygiene; rules §4.6, 8.3). No relapse is
counted again here.

* ``rates``: per group, epochs, patients, relapses, person-years and the pooled ARR = relapses
  / person-years, with an exact Poisson interval on the count (Garwood 1936).
* ``ratios``: rate ratios against a reference group from a negative-binomial regression of
  the relapse count of each epoch on the group, with ``log(person-years)`` as offset
  (``statsmodels.discrete.discrete_model.NegativeBinomial``, NB2: variance mu + alpha mu^2).
  The dispersion alpha is estimated by maximum likelihood together with the coefficients and
  reported with its interval. Standard errors are clustered by patient by default (a patient
  with several epochs contributes correlated rows); ``cluster=False`` gives the model-based
  ones. ``model="poisson"`` fits a Poisson regression instead (alpha = 0). When the
  estimate of alpha is at its boundary 0 (no overdispersion; the NB Hessian is then singular
  and gives no standard errors), the Poisson model, the NB model's limit, gives the ratios
  and the result says so (``attrs["dispersion"]``, the methods paragraph).
* Epochs with no person-time (``empty_window``) are left out; epochs shorter than the
  per-patient minimum (``insufficient_followup``) keep their person-time, as the pooled ARR of
  :mod:`neda.rules.arr` does.

The reference group is ``reference`` when given, else the group with the most person-years.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..rules.common import bare
from ._common import epoch_groups, group_order, summary_provenance

Model = Literal["negative_binomial", "poisson"]


@dataclass
class RelapseRates:
    """Output of :func:`relapse_rates`: ``rates`` (per group), ``ratios`` (rate ratios vs
    ``reference``), ``data`` (the epoch rows modelled), ``alpha`` (NB dispersion, with
    ``alpha_ci``), ``attrs`` (options, exclusions, provenance)."""

    rates: pd.DataFrame
    ratios: pd.DataFrame
    data: pd.DataFrame = field(repr=False)
    reference: str
    alpha: float | None
    alpha_ci: tuple[float, float] | None
    attrs: dict[str, Any] = field(default_factory=dict)

    def methods(self) -> str:
        """The methods paragraph of this analysis."""
        a = self.attrs
        model = ("a negative-binomial (NB2) regression" if a["model"] == "negative_binomial"
                 else "a Poisson regression")
        se = ("standard errors clustered by patient" if a["cluster"]
              else "model-based standard errors")
        excluded = "; ".join(f"{v} left out: {k}" for k, v in a.get("excluded", {}).items())
        return (
            "Annualised relapse rates (ARR) per "
            f"{a['by'] or 'cohort'} were computed as relapses on treatment (after relapse "
            "hygiene, rules §3.1) divided by person-years on treatment (from the epoch onset "
            "to its end, rules §4.6), pooled over the epochs of each group, with exact Poisson "
            f"intervals. Rate ratios against {self.reference} come from {model} of the relapse "
            "count of each epoch on the group with log(person-years) as offset "
            f"(statsmodels), {se}; {a['dispersion']}."
            + (f" {excluded}." if excluded else ""))


def relapse_rates(summary: Any, *, by: str | None = "drug", reference: str | None = None,
                  model: Model = "negative_binomial", cluster: bool = True,
                  confidence: float = 0.95) -> RelapseRates:
    """ARR per group and rate ratios (module docstring).

    ``by``: an epochs column (default ``drug``; ``efficacy``, ``drug_class``, ...) or a
    patient-level group. ``reference``: the reference group of the ratios (default: the one
    with the most person-years). ``model``: ``negative_binomial`` (default) or ``poisson``.
    ``cluster``: standard errors clustered by patient (default True). ``confidence``: 0.95.
    """
    from scipy.stats import chi2

    if model not in ("negative_binomial", "poisson"):
        raise ValueError(f"model {model!r}: negative_binomial or poisson")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence}: a level between 0 and 1, e.g. 0.95")
    ep = bare(summary.epochs)
    if not len(ep):
        raise ValueError("relapse rates per therapy need treatment epochs: give a treatments "
                         "table")
    if ep["relapses_on_treatment"].isna().all():
        raise ValueError("relapse rates need the relapses table (relapses were not given: "
                         "give --relapses, or --no-relapses if none occurred)")
    data = pd.DataFrame({
        "subject": ep["subject"].to_numpy(), "epoch": ep["epoch"].to_numpy(),
        "group": epoch_groups(summary, by).to_numpy(),
        "relapses": pd.to_numeric(ep["relapses_on_treatment"]).to_numpy(dtype=float),
        "person_years": pd.to_numeric(ep["person_years"]).to_numpy(dtype=float)})
    excluded: dict[str, int] = {}
    no_time = ~(data["person_years"] > 0)
    if no_time.any():
        excluded["no person-time on treatment (empty window)"] = int(no_time.sum())
    no_count = data["relapses"].isna() & ~no_time
    if no_count.any():
        excluded["relapse count unknown"] = int(no_count.sum())
    data = data[~no_time & ~no_count].reset_index(drop=True)
    if not len(data):
        raise ValueError("no epoch with person-time on treatment: no rate to compute")
    groups = group_order(data["group"])
    pooled = data.groupby("group").agg(
        epochs=("epoch", "size"), patients=("subject", "nunique"),
        relapses=("relapses", "sum"), person_years=("person_years", "sum")).reindex(groups)
    a = 1 - confidence
    k = pooled["relapses"].to_numpy()
    low = np.where(k > 0, chi2.ppf(a / 2, 2 * k) / 2, 0.0)
    high = chi2.ppf(1 - a / 2, 2 * (k + 1)) / 2
    py = pooled["person_years"].to_numpy()
    rates = pd.DataFrame({
        "group": groups, "epochs": pooled["epochs"].to_numpy(dtype=int),
        "patients": pooled["patients"].to_numpy(dtype=int),
        "relapses": k.astype(int), "person_years": py, "arr": k / py,
        "ci_low": low / py, "ci_high": high / py})
    if reference is None:
        reference = str(rates["group"].iloc[int(np.argmax(py))])
    elif reference not in groups:
        raise ValueError(f"reference {reference!r} is not a group: one of {', '.join(groups)}")
    if rates.loc[rates["group"] == reference, "relapses"].iloc[0] == 0:
        raise ValueError(f"the reference group {reference!r} has no relapse: choose another "
                         "reference")
    # a group without a relapse has its rate ratio on the boundary (0, no finite maximum
    # likelihood estimate): it stays in the rates table and is left out of the regression
    none = [g for g, n in zip(groups, k, strict=True) if n == 0 and g != reference]
    if none:
        excluded["epochs of groups with no relapse (rate ratio not estimable)"] = int(
            data["group"].isin(none).sum())
    fitted = [g for g in groups if g not in none]
    try:
        ratios, alpha, alpha_ci, dispersion = _fit(
            data[data["group"].isin(fitted)].reset_index(drop=True), fitted, reference, model,
            cluster, confidence)
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"the rate-ratio model cannot be fitted on these groups ({exc}): "
                         "group more coarsely (e.g. by efficacy)") from exc
    # a clustered (sandwich) variance from one or a few patients is not to be trusted
    few = rates.set_index("group")["patients"]
    for i, g in enumerate(ratios["group"]):
        if not ratios.loc[i, "reference"] and few.get(g, 0) < 5:
            ratios.loc[i, "note"] = f"only {few[g]} patient(s): the interval is unreliable"
    if none:
        ratios = pd.concat([ratios, pd.DataFrame({
            "group": none, "rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan,
            "p_value": np.nan, "reference": False,
            "note": "not estimable: no relapse in the group"})], ignore_index=True)
    return RelapseRates(
        rates=rates, ratios=ratios, data=data, reference=reference, alpha=alpha,
        alpha_ci=alpha_ci,
        attrs={"by": by, "model": model, "cluster": cluster, "confidence": confidence,
               "excluded": excluded, "dispersion": dispersion,
               "provenance": summary_provenance(summary)})


def design(data: pd.DataFrame, groups: list[str], reference: str
           ) -> tuple[np.ndarray, list[str]]:
    """Intercept and one indicator per non-reference group (the columns' names)."""
    others = [g for g in groups if g != reference]
    x = np.column_stack([np.ones(len(data))] +
                        [(data["group"] == g).to_numpy(dtype=float) for g in others])
    return x, ["intercept", *others]


def _fit(data: pd.DataFrame, groups: list[str], reference: str, model: Model, cluster: bool,
         confidence: float
         ) -> tuple[pd.DataFrame, float | None, tuple[float, float] | None, str]:
    """Rate ratios, alpha and its interval (NB only), and what was done about dispersion."""
    x, names = design(data, groups, reference)
    y = data["relapses"].to_numpy()
    offset = np.log(data["person_years"].to_numpy())
    note = ""
    if model == "negative_binomial":
        result, ok = _regression(x, y, offset, data["subject"], cluster, negative_binomial=True)
        alpha = float(np.asarray(result.params)[-1])
        if ok and alpha > 1e-6:
            note = (f"dispersion alpha = {alpha:.3g} estimated by maximum likelihood "
                    "(NB2: variance mu + alpha mu^2)")
        else:
            # alpha at its boundary 0: no overdispersion, the NB model is the Poisson model
            # (and its Hessian is singular there, so it gives no standard errors)
            note = ("dispersion alpha estimated at 0 (no overdispersion beyond Poisson): the "
                    "rate ratios are those of the Poisson model, its limit")
            result, ok = _regression(x, y, offset, data["subject"], cluster,
                                     negative_binomial=False)
            model = "poisson"
    else:
        result, ok = _regression(x, y, offset, data["subject"], cluster,
                                 negative_binomial=False)
        note = "Poisson model (no dispersion parameter)"
    if not ok:
        note += "; the model did not converge: read the ratios with care"
    params = np.asarray(result.params)
    ci = np.asarray(result.conf_int(alpha=1 - confidence))
    pvalues = np.asarray(result.pvalues)
    rows = [{"group": reference, "rate_ratio": 1.0, "ci_low": np.nan, "ci_high": np.nan,
             "p_value": np.nan, "reference": True, "note": "reference"}]
    for i, name in enumerate(names[1:], start=1):
        rows.append({"group": name, "rate_ratio": float(np.exp(params[i])),
                     "ci_low": float(np.exp(ci[i, 0])), "ci_high": float(np.exp(ci[i, 1])),
                     "p_value": float(pvalues[i]), "reference": False, "note": ""})
    ratios = pd.DataFrame(rows)
    if model != "negative_binomial":
        return ratios, None, None, note
    return ratios, float(params[-1]), (float(ci[-1, 0]), float(ci[-1, 1])), note


def _regression(x: np.ndarray, y: np.ndarray, offset: np.ndarray, subject: pd.Series,
                cluster: bool, *, negative_binomial: bool) -> tuple[Any, bool]:
    """The fitted statsmodels model and whether it converged with finite standard errors."""
    import warnings

    from statsmodels.discrete.discrete_model import NegativeBinomial, Poisson

    fit_kw: dict[str, Any] = {"disp": 0, "maxiter": 500}
    if cluster:
        fit_kw.update(cov_type="cluster", cov_kwds={"groups": pd.factorize(subject)[0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if negative_binomial:
            result = NegativeBinomial(y, x, offset=offset, loglike_method="nb2").fit(
                method="bfgs", **fit_kw)
        else:
            result = Poisson(y, x, offset=offset).fit(method="newton", **fit_kw)
    trouble = any("Hessian" in type(w.message).__name__ or "Convergence" in
                  type(w.message).__name__ for w in caught)
    converged = bool(result.mle_retvals.get("converged", True))
    finite = bool(np.all(np.isfinite(np.asarray(result.bse))))
    return result, converged and finite and not trouble
