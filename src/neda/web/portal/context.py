"""Template context of the portal: the count of what waits for review, in the staff
navigation (editors only: they are the ones who review)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from neda.web.clinic.access import can_edit

from .queue import waiting_count


def review_count(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not can_edit(user):
        return {}
    return {"review_count": waiting_count(user)}
