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

__all__ = [
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
