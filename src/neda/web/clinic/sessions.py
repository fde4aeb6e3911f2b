"""Sessions expire after a time without use, and a page view does not write to the database.

Django's ``SESSION_SAVE_EVERY_REQUEST`` keeps a session alive by writing it on every request:
on SQLite that is a write transaction (the database's one write lock, a commit) behind every
page a clinician or patient opens, and under the load test (``bench/web.py``) the workers
queued on that lock. :class:`SessionRefreshMiddleware` writes a session in use at most once
per :data:`REFRESH_SECONDS`: its expiry (``NEDA_SESSION_MINUTES`` after the write) then moves
on at most a minute late, so a session ends between ``NEDA_SESSION_MINUTES`` - 1 and
``NEDA_SESSION_MINUTES`` minutes after its last request, and it still ends when the browser
closes. A session changed by the request (a login, a form's message) is written as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

#: How often, at most, a session in use is written to move its expiry on (seconds).
REFRESH_SECONDS = 60
#: Where the session keeps the time of its last write (seconds since the epoch).
REFRESHED_KEY = "_neda_refreshed"


class SessionRefreshMiddleware:
    """Placed after ``SessionMiddleware``: marks a non-empty session modified (so that
    ``SessionMiddleware`` saves it, moving its expiry on) when its last write is
    :data:`REFRESH_SECONDS` old or more."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.session_key is None:
            return response  # no session cookie: nothing to keep alive
        refreshed = session.get(REFRESHED_KEY, 0)  # loads it (the auth middleware did)
        if session.is_empty():  # unknown, expired or flushed (a logout): nothing to keep
            return response
        now = int(time.time())
        if not isinstance(refreshed, int) or now - refreshed >= REFRESH_SECONDS:
            session[REFRESHED_KEY] = now  # modified: SessionMiddleware saves it
        return response
