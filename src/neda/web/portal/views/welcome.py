"""``/portal/welcome/<uidb64>/<token>/``: a patient opens the clinic's invitation link and
chooses a password (Django's validators); they are then logged in to the portal.

Django's password-reset confirmation with the invitation's tokens: the token leaves the URL
for the session at once (no token in a Referer), and a used or expired link says so."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import HttpResponse
from django.urls import reverse_lazy

from neda.web.clinic.access import public

from ..accounts import accepted, invitation_tokens


class Welcome(PasswordResetConfirmView):
    template_name = "portal/accounts/welcome.html"
    token_generator = invitation_tokens
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("home")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:  # type: ignore[type-arg]
        response = super().form_valid(form)
        accepted(form.user, form.user)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = getattr(self, "user", None)
        # an invalid link of an account whose password is set: the link was used already
        context["used"] = user is not None and user.has_usable_password()
        context["invited_user"] = user
        return context


welcome = public(Welcome.as_view())
