"""``/account/verify/``: the second step of a log-in with a second factor - the code of the
authenticator app. Until it is given, :class:`..middleware.SecondFactorMiddleware` sends every
page here."""

from __future__ import annotations

import django_otp
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from neda.web.clinic.access import user_required

from ..accounts import second_factor_of
from .two_factor import CodeForm, check_code


@user_required
def verify(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()},
                                           require_https=request.is_secure()):
        target = ""
    device = second_factor_of(request.user)
    if device is None or request.user.is_verified():  # type: ignore[union-attr]
        return redirect(target or "home")
    form = CodeForm(request.POST or None)
    verified = check_code(request.user, device, form) if request.method == "POST" else None
    if verified is not None:
        django_otp.login(request, verified)
        return redirect(target or "home")
    return render(request, "portal/accounts/verify.html", {"form": form, "next": target},
                  status=400 if request.method == "POST" else 200)
