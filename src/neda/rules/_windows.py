"""Options shared by several rule modules: declared once, used as a field of each (rules §10).

A configuration key has exactly one default (rules section 10). Where one key serves several
rules, the options live here as one frozen dataclass, and each rule's options hold it as a
field, so the default cannot drift between modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..options import Options, option

__all__ = ["ScanWindows"]


@dataclass(frozen=True)
class ScanWindows(Options):
    """The scans that MEDA, the MAGNIMS score and the Rio scores compare (rules §4.5, 5; keys
    ``scores.baseline_scan_*``, ``scores.year1_scan_*``, ``scores.year2_scan_*``). Days count
    from the treatment start S (first dose); defaults in brackets.

    baseline_scan_min_days, baseline_scan_max_days : ``scores.baseline_scan_min_days`` /
        ``..._max_days`` [-183, 30] - the pre-treatment reference scan is the **latest** scan
        dated in ``[S - 183, S + 30]`` (rules §4.5 [C]).
    year1_scan_target_days, year1_scan_min_days, year1_scan_max_days :
        ``scores.year1_scan_*`` [365, 274, 457] - the year-1 scan is the scan **closest** to
        S + 365 among scans dated in ``[S + 274, S + 457]``, the earlier on a tie (rules §4.5
        [C]; Río 2022: MRI before the start and at 12 months [V]). Variant
        ``year1_scan_min_days = 183``: the 6-15 months accepted by Hyun 2015.
    year2_scan_target_days, year2_scan_min_days, year2_scan_max_days :
        ``scores.year2_scan_*`` [730, 639, 822] - the year-2 scan, closest to S + 730 in
        ``[S + 639, S + 822]`` (MEDA after year 2, rules §4.5 [C]).

    Every window needs ``min <= target <= max`` (the baseline window ``min <= max``);
    the message says which one is wrong.
    """

    baseline_scan_min_days: int = option(-183, whole=True, key="scores.baseline_scan_min_days")
    baseline_scan_max_days: int = option(30, whole=True, key="scores.baseline_scan_max_days")
    year1_scan_target_days: int = option(365, whole=True, key="scores.year1_scan_target_days")
    year1_scan_min_days: int = option(274, whole=True, key="scores.year1_scan_min_days")
    year1_scan_max_days: int = option(457, whole=True, key="scores.year1_scan_max_days")
    year2_scan_target_days: int = option(730, whole=True, key="scores.year2_scan_target_days")
    year2_scan_min_days: int = option(639, whole=True, key="scores.year2_scan_min_days")
    year2_scan_max_days: int = option(822, whole=True, key="scores.year2_scan_max_days")

    def _check_together(self) -> list[str]:
        problems = []
        if self.baseline_scan_min_days > self.baseline_scan_max_days:
            problems.append("scores.baseline_scan_min_days must not exceed "
                            f"baseline_scan_max_days (got {self.baseline_scan_min_days} > "
                            f"{self.baseline_scan_max_days})")
        for y in ("year1", "year2"):
            lo, t, hi = (getattr(self, f"{y}_scan_{p}_days") for p in ("min", "target", "max"))
            if not lo <= t <= hi:
                problems.append(f"scores.{y}_scan_min_days <= {y}_scan_target_days <= "
                                f"{y}_scan_max_days is required (got {lo}, {t}, {hi})")
        return problems
