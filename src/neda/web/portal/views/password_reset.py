"""Password reset by e-mail (Django's views, in the site's style): ``/password-reset/`` asks
for the address and answers alike whether or not it belongs to an account; the link of the
e-mail (single-use, ``settings.PASSWORD_RESET_TIMEOUT``) leads to choosing a new password.

Requests are limited (``settings.NEDA_PASSWORD_RESET_LIMITS``): so many per e-mail address and
so many per client address in a window. An address is counted whether or not it belongs to an
account, so the answer beyond the limit (429, :data:`LIMITED`) is the same for both and tells
nothing about accounts; it bounds the e-mails one address receives, and the addresses one
client can try.
"""

from __future__ import annotations

import hashlib
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import views as auth
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy

from neda.web.clinic.access import public

T = "portal/accounts/"

#: The answer beyond a limit, whatever the address.
LIMITED = ("Too many requests for a password link: please wait an hour and try again. If you "
           "asked already, the e-mail may take a few minutes to arrive (look in the spam "
           "folder too).")


def _count(key: str, window: int) -> int:
    """This request's number in the key's window (the window starts at its first request)."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def over_reset_limit(request: HttpRequest, email: str) -> bool:
    """Count one reset request for this address and this client; True beyond either limit."""
    limits = settings.NEDA_PASSWORD_RESET_LIMITS
    window = int(limits["window_seconds"])
    # hashed: no address in a cache key (memcached refuses some characters, and a key is seen)
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    client = get_client_ip_address(request) or "unknown"
    by_address = _count(f"neda:reset:address:{address}", window)
    by_client = _count(f"neda:reset:client:{client}", window)
    return by_address > limits["per_address"] or by_client > limits["per_client"]


class LimitedPasswordResetView(auth.PasswordResetView):
    """Django's reset request, counted; beyond a limit the form again with :data:`LIMITED`
    (429) and no e-mail."""

    def form_valid(self, form: Any) -> HttpResponse:
        if over_reset_limit(self.request, form.cleaned_data["email"]):
            form.add_error(None, LIMITED)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


reset_request = public(LimitedPasswordResetView.as_view(
    template_name=T + "reset_request.html",
    email_template_name=T + "reset_email.txt",
    subject_template_name=T + "reset_subject.txt",
    success_url=reverse_lazy("password_reset_sent")))
reset_sent = public(auth.PasswordResetDoneView.as_view(template_name=T + "reset_sent.html"))
reset_confirm = public(auth.PasswordResetConfirmView.as_view(
    template_name=T + "reset_confirm.html", success_url=reverse_lazy("password_reset_done")))
reset_done = public(auth.PasswordResetCompleteView.as_view(template_name=T + "reset_done.html"))
