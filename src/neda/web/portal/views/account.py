"""``/account/``: the logged-in user's account (patients and staff alike): the username, the
second factor (on or off) and the change of password."""

from __future__ import annotations

from django.contrib.auth import views as auth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.http import require_safe

from neda.web.clinic.access import user_required

from ..accounts import second_factor_of


@user_required
@require_safe
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/accounts/account.html",
                  {"second_factor": second_factor_of(request.user)})


password_change = user_required(auth.PasswordChangeView.as_view(
    template_name="portal/accounts/password_change.html",
    success_url=reverse_lazy("account_password_changed")))
password_changed = user_required(auth.PasswordChangeDoneView.as_view(
    template_name="portal/accounts/password_changed.html"))
