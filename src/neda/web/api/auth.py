"""Who is calling: an API token (``Authorization: Bearer <key>``) or the browser's session.

Either way the caller acts as a Django user, and every object-level check is left to
:mod:`neda.web.clinic.access` (the same rules as the screens). Here only two questions are
answered, before the request body is even read:

* is there a user? No credentials, or a bad, unknown or revoked token: 401;
* may this user's role do this kind of operation at all? Writes need a role that may change
  records (:func:`~neda.web.clinic.access.can_edit`), else 403 - whatever the patient, so that
  the answer tells nothing about which patients exist.

A token is looked up by its hash (:meth:`ApiToken.hash`; the key itself is never stored). A
request carrying a bearer token never falls back to the session. A session request that changes
something must carry the CSRF token (Django's own check); a token request needs none, as no
browser sends the header by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from neda.web.clinic.access import can_edit
from neda.web.clinic.models import ApiToken
from neda.web.clinic.sessions import REFRESH_SECONDS

#: What a role must be allowed to reach an operation: any authenticated user (the object checks
#: of the access module then decide what they see), or a user who may change records.
Policy = Callable[[Any], bool]


def any_user(user: Any) -> bool:
    return True


def _admit(user: Any, policy: Policy) -> Any:
    if not policy(user):
        raise AuthorizationError(403, "your role cannot do this")
    return user


class BearerToken(HttpBearer):
    """``Authorization: Bearer <key>``: the user of that token, if it is known and active."""

    def __init__(self, policy: Policy = any_user) -> None:
        self.policy = policy
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        key = token.strip()
        found = (ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(key))
                 .first() if key else None)
        if found is None or not found.user.is_active:
            # a bad token is refused outright: never a fall-back to a session cookie
            raise AuthenticationError()
        now = timezone.now()
        # when it was last used, to the minute: a read does not write on every request
        # (a write takes SQLite's one write lock; see neda.web.clinic.sessions)
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() >= \
                REFRESH_SECONDS:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        # the rest of the request (audit trail, security headers) sees the token's user
        request.user = found.user
        return _admit(found.user, self.policy)


class SessionCookie(APIKeyCookie):
    """The browser's logged-in session; changes need Django's CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, policy: Policy = any_user) -> None:
        self.policy = policy
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None  # no session: 401 (never a CSRF answer to a stranger)
        if check_csrf(request) is not None:  # passes for GET, HEAD, OPTIONS
            raise HttpError(403, "CSRF check failed")
        return _admit(user, self.policy)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        raise NotImplementedError  # __call__ does it all


#: Reading: any user (staff of a clinic, or a patient; the access module decides what).
READ = [BearerToken(), SessionCookie()]
#: Changing records: clinicians, nurses and administrators only.
WRITE = [BearerToken(can_edit), SessionCookie(can_edit)]
