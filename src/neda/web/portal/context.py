"""Template context of the portal: the count of what waits for review, in the staff
navigation (editors only: they are the ones who review); and the questionnaires due (the
reminder banner of every portal page); each computed only when a page shows it, and once."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from neda.web.clinic.access import account_of, can_edit

from .questionnaires import Due, due_questionnaires
from .queue import waiting_count


def review_count(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not can_edit(user):
        return {}

    # counted when a template shows it, once per page: a part rendered apart with the request
    # (the overview's cards) runs the context processors too and shows no count
    @cache
    def count() -> int:
        return waiting_count(user)

    return {"review_count": count}


def reminders(request: HttpRequest) -> dict[str, Any]:
    account = account_of(getattr(request, "user", None))
    if account is None:
        return {}

    @cache
    def due() -> list[Due]:
        return due_questionnaires(account.patient)

    return {"portal_due": due}
