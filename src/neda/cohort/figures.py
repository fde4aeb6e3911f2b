"""Figures of the cohort analyses (matplotlib, Agg backend: no display needed).

``km_figure`` (Kaplan-Meier curves with their confidence bands and the numbers at risk under
the axis), ``neda_figure`` (NEDA proportion per treatment year with Wilson intervals),
``rate_ratio_figure`` (forest plot of the rate ratios). ``save_figure`` writes PNG and/or SVG;
``svg_text`` gives the SVG markup the HTML report embeds.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: never a window, works on a server
    import matplotlib.pyplot as plt

    return plt


def km_figure(km: Any, *, title: str | None = None) -> Any:
    """Kaplan-Meier curves of a :class:`neda.cohort.survival.KaplanMeier`, one per group,
    with the numbers at risk under the axis (lifelines ``add_at_risk_counts``)."""
    from lifelines.plotting import add_at_risk_counts

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    fitters = list(km.fitters.values())
    for kmf in fitters:
        kmf.plot_survival_function(ax=ax, ci_show=True, show_censors=True,
                                   censor_styles={"ms": 4, "marker": "|"})
    a = km.attrs
    ax.set_xlabel("years from " + ("the first visit" if a.get("origin") == "first_visit"
                                   else "the start of the epoch"))
    ax.set_ylabel(f"free of {a.get('event_label', 'the event')}")
    ax.set_ylim(0, 1.02)
    ax.set_title(title or f"Time to first {a.get('event_label', 'event')}"
                 + (f" by {a['by']}" if a.get("by") else ""))
    ax.grid(alpha=0.3)
    at = [float(c) for c in km.at_risk.columns if c != "group"]
    if len(fitters) <= 6:  # a longer table would not fit under the axis
        add_at_risk_counts(*fitters, ax=ax, xticks=at, rows_to_show=["At risk"])
    fig.tight_layout()
    return fig


def neda_figure(table: pd.DataFrame, *, title: str | None = None) -> Any:
    """NEDA proportion per treatment year and group, with Wilson intervals (a
    :func:`neda.cohort.proportions.neda_proportions` table)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    groups = list(dict.fromkeys(table["group"]))
    width = 0.8 / max(len(groups), 1)
    for i, g in enumerate(groups):
        rows = table[(table["group"] == g) & table["proportion"].notna()]
        x = rows["year"].to_numpy(dtype=float) + (i - (len(groups) - 1) / 2) * width
        y = rows["proportion"].to_numpy(dtype=float)
        # clipped at 0: rounding can put the interval a hair inside the estimate
        err = np.clip(np.vstack([y - rows["ci_low"].to_numpy(dtype=float),
                                 rows["ci_high"].to_numpy(dtype=float) - y]), 0, None)
        ax.errorbar(x, y, yerr=err, fmt="o", capsize=3, label=str(g))
    what = "NEDA-3" if table.attrs.get("measure", "neda3") == "neda3" else "NEDA-4"
    window = table.attrs.get("window", "per_year")
    ax.set_xlabel("treatment year" if window == "per_year" else "through treatment year")
    ax.set_ylabel(f"proportion with {what} (known status)")
    ax.set_ylim(0, 1)
    years = sorted(set(table["year"]))
    ax.set_xticks(years)
    ax.set_title(title or f"{what} per treatment year")
    ax.grid(alpha=0.3)
    if len(groups) > 1:
        ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def rate_ratio_figure(rates: Any, *, title: str | None = None) -> Any:
    """Forest plot of the relapse rate ratios of a :class:`neda.cohort.rates.RelapseRates`
    (log scale; the reference at 1)."""
    plt = _pyplot()
    r = rates.ratios[rates.ratios["rate_ratio"].notna()].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(r) + 1.5))
    y = np.arange(len(r))[::-1]
    rr = r["rate_ratio"].to_numpy(dtype=float)
    lo = np.where(r["reference"], rr, r["ci_low"].to_numpy(dtype=float))
    hi = np.where(r["reference"], rr, r["ci_high"].to_numpy(dtype=float))
    ax.errorbar(rr, y, xerr=np.clip(np.vstack([rr - lo, hi - rr]), 0, None), fmt="s",
                capsize=3)
    ax.axvline(1, color="grey", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{g} (reference)" if ref else str(g)
                        for g, ref in zip(r["group"], r["reference"], strict=True)])
    ax.set_xlabel("relapse rate ratio (log scale)")
    ax.set_title(title or "Relapse rate ratios")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def save_figure(fig: Any, path: str | Path, formats: tuple[str, ...] = ("png", "svg")
                ) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix of ``formats`` (PNG at 150 dpi); closes
    it. Returns the files written."""
    plt = _pyplot()
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        if fmt not in ("png", "svg"):
            raise ValueError(f"figure format {fmt!r}: png or svg")
        target = base.with_suffix("." + fmt)
        # no date in the SVG metadata: the same data give the same file
        fig.savefig(target, dpi=150, format=fmt,
                    metadata={"Date": None} if fmt == "svg" else None)
        out.append(target)
    plt.close(fig)
    return out


def svg_text(fig: Any) -> str:
    """The figure as SVG markup (without the XML prologue), for inline HTML; closes it."""
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]
