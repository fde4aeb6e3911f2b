"""Relapse rates and rate ratios: crude rates by hand, statsmodels called directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from cohort_cases import demo_summary
from scipy.stats import chi2

from neda.cohort import relapse_rates


def _epochs(s: object) -> pd.DataFrame:
    ep = s.epochs  # type: ignore[attr-defined]
    d = pd.DataFrame({"subject": ep["subject"], "group": ep["efficacy"].astype(str),
                      "y": ep["relapses_on_treatment"].astype(float),
                      "py": ep["person_years"].astype(float)})
    return d[d["py"] > 0].reset_index(drop=True)


def test_crude_rates_by_hand() -> None:
    s = demo_summary()
    r = relapse_rates(s, by="efficacy")
    d = _epochs(s)
    for row in r.rates.itertuples():
        mine = d[d["group"] == row.group]
        assert row.relapses == mine["y"].sum()
        assert row.person_years == pytest.approx(mine["py"].sum())
        assert row.arr == pytest.approx(mine["y"].sum() / mine["py"].sum())
        k = mine["y"].sum()
        # Garwood's exact interval
        assert row.ci_high == pytest.approx(chi2.ppf(0.975, 2 * k + 2) / 2 / mine["py"].sum())
        assert row.epochs == len(mine) and row.patients == mine["subject"].nunique()
    assert r.reference == r.rates.loc[r.rates["person_years"].idxmax(), "group"]


def test_poisson_rate_ratio_is_the_ratio_of_crude_rates() -> None:
    # with one categorical covariate and an offset, the Poisson MLE reproduces the crude rates
    s = demo_summary()
    r = relapse_rates(s, by="efficacy", model="poisson", cluster=False)
    rates = r.rates.set_index("group")["arr"]
    for row in r.ratios[~r.ratios["reference"] & r.ratios["rate_ratio"].notna()].itertuples():
        assert row.rate_ratio == pytest.approx(rates[row.group] / rates[r.reference],
                                               rel=1e-6)
    assert r.alpha is None


# statsmodels' own Newton steps on the direct fit warn on their way to the optimum
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_negative_binomial_agrees_with_statsmodels_called_directly() -> None:
    s = demo_summary()
    r = relapse_rates(s, by="efficacy", reference="moderate", cluster=False)
    d = _epochs(s)
    fit = smf.negativebinomial("y ~ C(group, Treatment('moderate'))", data=d,
                               offset=np.log(d["py"])).fit(disp=0, maxiter=500)
    ratios = r.ratios.set_index("group")
    for name, value in fit.params.items():
        if not name.startswith("C(group"):
            continue
        group = name.split("T.")[1].rstrip("]")
        assert ratios.loc[group, "rate_ratio"] == pytest.approx(np.exp(value), rel=1e-3)
        assert ratios.loc[group, "p_value"] == pytest.approx(fit.pvalues[name], rel=1e-2)
    assert r.alpha == pytest.approx(fit.params["alpha"], rel=1e-3)
    # the GLM with alpha fixed at that estimate (IRLS, another code path): same coefficients
    glm = smf.glm("y ~ C(group, Treatment('moderate'))", data=d, offset=np.log(d["py"]),
                  family=sm.families.NegativeBinomial(alpha=r.alpha)).fit()
    for name, value in glm.params.items():
        if name.startswith("C(group"):
            group = name.split("T.")[1].rstrip("]")
            assert ratios.loc[group, "rate_ratio"] == pytest.approx(np.exp(value), rel=1e-3)


def test_clustered_errors_change_the_interval_not_the_estimate() -> None:
    s = demo_summary()
    a = relapse_rates(s, by="efficacy", cluster=True).ratios.set_index("group")
    b = relapse_rates(s, by="efficacy", cluster=False).ratios.set_index("group")
    assert a["rate_ratio"].to_numpy() == pytest.approx(b["rate_ratio"].to_numpy(), rel=1e-4)
    assert not np.allclose(a["ci_low"].dropna(), b["ci_low"].dropna())


def test_a_group_without_relapses_is_not_modelled() -> None:
    s = demo_summary()
    r = relapse_rates(s, by="drug")
    zero = r.rates[r.rates["relapses"] == 0]["group"].tolist()
    for g in zero:
        row = r.ratios.set_index("group").loc[g]
        assert np.isnan(row["rate_ratio"]) and "no relapse" in row["note"]
    with pytest.raises(ValueError, match="not a group"):
        relapse_rates(s, reference="aspirin")
