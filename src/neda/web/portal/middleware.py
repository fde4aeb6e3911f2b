"""A logged-in user with a second factor (TOTP) reaches nothing but the code's page until they
have given the code in this session (django-otp's ``user.is_verified()``)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .accounts import needs_second_factor


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._exempt(request.path) and needs_second_factor(request.user):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('account_verify')}?{query}")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        """The code's page and logging out; static files and the health check; the API (its
        token is the credential, it has no session)."""
        return (path in (reverse("account_verify"), reverse("logout"), reverse("healthz"))
                or path.startswith(("/" + settings.STATIC_URL.lstrip("/"), "/api/")))
