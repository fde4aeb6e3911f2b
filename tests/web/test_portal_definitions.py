"""``/portal/definitions/``: each term in lay words beside the clinic's definition, keyed to
a section of docs/rules.md that exists."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from typing import Any

from django.test import Client

from neda.web.portal import words

from .conftest import login

RULES = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_every_definition_names_a_section_of_the_rules() -> None:
    headings = set(re.findall(r"^#{2,4} (\d+(?:\.\d+)*[a-z]?) ", RULES.read_text(), re.M))
    for d in words.DEFINITIONS.values():
        assert d.section in headings, (d.key, d.section)
        assert d.lay and d.clinical and d.term


def test_the_page_renders_every_definition_for_every_user(db: Any) -> None:
    for user in ("patient1", "clinician", "researcher"):
        r = login(user).get("/portal/definitions/")
        page = htmllib.unescape(r.content.decode())
        assert r.status_code == 200
        for d in words.DEFINITIONS.values():
            assert f'<dt id="{d.key}">{d.term}</dt>' in page
            assert d.lay in page and d.clinical in page and f"§{d.section})" in page
    r = Client().get("/portal/definitions/")
    assert r.status_code == 302 and "/login/" in r["Location"]

