"""Template helpers that word values the core computed; they compute nothing."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

register = template.Library()

#: How a three-valued status reads, and its badge class.
_TRI = {True: ("yes", "yes"), False: ("no", "no"), None: ("unknown", "unknown")}


def _tri(value: Any) -> bool | None:
    return None if value is None or value == "" else bool(value)


@register.simple_tag
def tri_badge(value: Any, yes: str = "yes", no: str = "no", unknown: str = "unknown",
              good: str = "yes", title: str = "") -> str:
    """A yes / no / unknown badge. ``good`` says which answer is the reassuring one ("yes"
    for NEDA, "no" for "relapse in the last 12 months"), which decides the colour."""
    v = _tri(value)
    word = {True: yes, False: no, None: unknown}[v]
    if v is None:
        css = "unknown"
    else:
        css = "ok" if (v and good == "yes") or (not v and good == "no") else "alert"
    return format_html('<span class="badge {}"{}>{}</span>', css,
                       format_html(' title="{}"', title) if title else "", word)


#: Monitoring statuses of the core (rules §14.3, 14.4) in words, with their badge class.
STATUS_WORDS = {
    "overdue": ("overdue", "alert"), "up_to_date": ("up to date", "ok"),
    "not_on_dmt": ("not on a DMT", "neutral"), "unknown": ("unknown", "unknown"),
    "due": ("due", "alert"), "not_required": ("none required", "ok"),
    "no_schedule": ("no schedule known", "unknown"),
}


@register.simple_tag
def status_badge(status: Any, title: str = "", extra: str = "") -> str:
    word, css = STATUS_WORDS.get(str(status), (str(status or "unknown"), "unknown"))
    if extra:
        word = f"{word}: {extra}"
    return format_html('<span class="badge {}"{}>{}</span>', css,
                       format_html(' title="{}"', title) if title else "", word)


#: The relapse rules' reason codes (``neda.rules.relapses``, rules §3.2-3.3) in a nurse's words;
#: other codes read with their underscores as spaces.
_CODE_WORDS = {
    "no_pre_relapse_edss": "no EDSS before the relapse",
    "no_post_relapse_edss": "no EDSS after the relapse",
    "post_at_or_below_pre": "EDSS back to or below the value before the relapse",
    "no_edss_in_peak_window": "no EDSS in the weeks after onset",
    "no_edss_change": "no EDSS change",
    "hospitalised": "hospitalised",
    "plasma_exchange": "plasma exchange",
}


def _code_words(code: str) -> str:
    code = code.strip()
    if code in _CODE_WORDS:
        return _CODE_WORDS[code]
    if code.startswith("edss_change_"):
        return "EDSS change " + code.removeprefix("edss_change_")
    if code.startswith("residual_at_least_"):
        return ("EDSS still at least " + code.removeprefix("residual_at_least_")
                + " above the value before the relapse")
    return code.replace("_", " ")


@register.filter
def words(value: Any) -> str:
    """A code of the core in words (``not_assessable`` -> ``not assessable``; several codes
    joined by ``;`` -> one phrase each)."""
    if value is None:
        return ""
    return "; ".join(_code_words(c) for c in str(value).split(";"))


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` in a template (None when absent)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
