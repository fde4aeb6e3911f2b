"""neda: multiple sclerosis disease-course analytics.

The main entry points are loaded on first use, so ``import neda`` (and the CLI's start-up)
stays light: ``neda.course_summary`` (the whole course of each patient), ``neda.course``
(confirmed worsening, RAW/PIRA), ``neda.rules`` (clinical rules), ``neda.msprog`` (pymsprog
drop-in), ``neda.io`` (validated readers).
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["course_summary", "confirmed_events", "CourseOptions", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "course_summary":
        from .summary import course_summary

        return course_summary
    if name in ("confirmed_events", "CourseOptions"):
        from . import course

        return getattr(course, name)
    raise AttributeError(f"module 'neda' has no attribute {name!r}")
