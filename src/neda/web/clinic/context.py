"""Template context: the user's role, so templates show only what it may do."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .access import can_edit, role_of


def user_role(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"role": role_of(user), "can_edit": can_edit(user)}
