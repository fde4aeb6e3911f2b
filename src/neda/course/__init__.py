"""The disease-course engine: confirmed worsening / improvement, RAW and PIRA.

``confirmed_events(visits, relapses, options)`` is the native API (clinical spec defaults,
preset ``mueller2023``); ``neda.msprog.MSprog`` is the pymsprog-compatible API on the same
compiled engine.
"""

from .composite import EDSS_PLUS_COLUMNS, EDSS_PLUS_COMPONENTS, edss_plus
from .engine import EVENT_COLUMNS, CourseResult, confirmed_events
from .options import (
    CDI_THRESHOLDS,
    EDSS_THRESHOLDS,
    PRESETS,
    CourseOptions,
    RelapseIndependence,
)


def kernel_is_compiled() -> bool:
    """Whether numba's cache holds the compiled course engine (the first run compiles it, which
    takes about a minute; callers announce it)."""
    import os
    from pathlib import Path

    here = Path(__file__).resolve().parent
    places = [here / "__pycache__"]
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    if cache_dir:
        places.append(Path(cache_dir))
    return any(any(p.rglob("_kernel.scan_all*.nbi")) for p in places if p.exists())


__all__ = [
    "kernel_is_compiled",
    "CDI_THRESHOLDS",
    "EDSS_PLUS_COLUMNS",
    "EDSS_PLUS_COMPONENTS",
    "EDSS_THRESHOLDS",
    "EVENT_COLUMNS",
    "PRESETS",
    "CourseOptions",
    "CourseResult",
    "RelapseIndependence",
    "confirmed_events",
    "edss_plus",
]
