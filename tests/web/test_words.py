"""The relapse rules' reason codes as a nurse reads them on the overview."""

from __future__ import annotations

import pytest

from neda.web.clinic.templatetags.clinic_tags import words


@pytest.mark.parametrize(("code", "text"), [
    ("no_pre_relapse_edss;no_post_relapse_edss",
     "no EDSS before the relapse; no EDSS after the relapse"),
    ("residual_at_least_0.5", "EDSS still at least 0.5 above the value before the relapse"),
    ("edss_change_+1.0", "EDSS change +1.0"),
    ("not_assessable", "not assessable"),
    (None, ""),
])
def test_reason_codes_in_words(code: str | None, text: str) -> None:
    assert words(code) == text
