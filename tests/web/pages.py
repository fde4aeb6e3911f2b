"""Reading the clinic's HTML in tests: rows and cells of the patient list, the scripts of a
page (no inline script may run under the CSP)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.order: list[str] = []
        self.scripts: list[dict[str, Any]] = []
        self._row: str | None = None
        self._script: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-patient"):
            self._row = str(a["data-patient"])
            self.rows[self._row] = {}
            self.order.append(self._row)
        elif tag == "td" and self._row is not None and a.get("data-col"):
            self.rows[self._row][str(a["data-col"])] = str(a.get("data-value") or "")
        elif tag == "script":
            self._script = {"attrs": a, "text": ""}
            self.scripts.append(self._script)

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        elif tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script["text"] += data


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def inline_scripts(html: str) -> list[dict[str, Any]]:
    """Scripts a browser would run that are not files of the site: no ``src`` and not a data
    block (``type="application/json"``)."""
    return [s for s in parse(html).scripts
            if not s["attrs"].get("src") and s["attrs"].get("type") != "application/json"]
