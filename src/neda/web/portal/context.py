"""Template context of the portal: the questionnaires due (the reminder banner of every
portal page), computed only when a page shows it and once per request."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from neda.web.clinic.access import account_of

from .questionnaires import Due, due_questionnaires


def reminders(request: HttpRequest) -> dict[str, Any]:
    account = account_of(getattr(request, "user", None))
    if account is None:
        return {}

    @cache
    def due() -> list[Due]:
        return due_questionnaires(account.patient)

    return {"portal_due": due}
