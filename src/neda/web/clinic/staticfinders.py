"""plotly.js served from the installed plotly package, never from a CDN.

The Python package ``plotly`` ships the plotly.js bundle (``plotly/package_data/
plotly.min.js``, MIT licence in its header) and its licence file. This finder makes both
static files of the site - ``vendor/plotly/plotly.min.js`` and ``vendor/plotly/LICENSE.txt``
- so that ``collectstatic`` copies them (and WhiteNoise serves them) like any other static
file, and the version is the one the environment pins.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PREFIX = "vendor/plotly"


def _files() -> dict[str, Path]:
    """Static path -> file of the installed package (bundle and licence)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return {}
    bundle = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    out = {f"{PREFIX}/plotly.min.js": bundle}
    dist = importlib.metadata.distribution("plotly")
    for f in dist.files or ():
        if f.name in ("LICENSE.txt", "LICENSE"):
            out[f"{PREFIX}/LICENSE.txt"] = Path(str(dist.locate_file(f)))
            break
    return {k: v for k, v in out.items() if v.is_file()}


class PlotlyFinder(BaseFinder):
    """Finds ``vendor/plotly/plotly.min.js`` and ``vendor/plotly/LICENSE.txt``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.files = _files()

    def check(self, **kwargs: Any) -> list[Any]:
        from django.core.checks import Error

        if f"{PREFIX}/plotly.min.js" in self.files:
            return []
        return [Error("plotly.min.js not found in the installed plotly package",
                      hint="pip install plotly (the chart of the patient overview needs it)",
                      id="neda.E001")]

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        found = self.files.get(path.replace("\\", "/"))
        if found is None:
            return [] if (find_all or kwargs.get("all")) else None
        return [str(found)] if (find_all or kwargs.get("all")) else str(found)

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for path in self.files.values():
            storage = FileSystemStorage(location=str(path.parent))
            storage.prefix = PREFIX  # type: ignore[attr-defined]
            yield path.name, storage
