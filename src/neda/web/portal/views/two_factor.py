"""``/account/two-factor/``: turn the optional second factor on (an authenticator app reads the
QR code, drawn here as inline SVG: the secret never leaves the page for a QR service) and
confirm it with a code; ``/account/two-factor/off/`` turns it off with a current code.

A code is checked by django-otp (one device, in a transaction, throttled after failures, a code
used once is not accepted again)."""

from __future__ import annotations

import base64

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django_otp.plugins.otp_totp.models import TOTPDevice

from neda.web.clinic.access import user_required

from ..accounts import second_factor_of


class CodeForm(forms.Form):
    code = forms.CharField(label="Code from your authenticator app", min_length=6,
                           max_length=8, widget=forms.TextInput(attrs={
                               "inputmode": "numeric", "autocomplete": "one-time-code",
                               "pattern": "[0-9]*"}))


def check_code(user: object, device: TOTPDevice, form: CodeForm) -> TOTPDevice | None:
    """``device`` as it is after accepting the form's code (its last used time step recorded,
    so the code is not accepted again), or None with an error on the form. Save only the
    returned instance: ``device`` itself is stale."""
    if not form.is_valid():
        return None
    code = form.cleaned_data["code"].replace(" ", "")
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is None:
        form.add_error("code", "That code is not right (or too old, or used already). Wait for "
                       "the next code and try again.")
        return None
    return verified  # type: ignore[no-any-return]


def qr_svg(data: str) -> str:
    """A QR code as inline SVG markup (qrcode's path factory; no image request, no network)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    markup: str = image.to_string(encoding="unicode")
    return markup


@user_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    if second_factor_of(request.user) is not None:
        messages.info(request, "Two-step log-in is already on.")
        return redirect("account")
    # the device waits unconfirmed until a code proves the app has its key
    device = (TOTPDevice.objects.devices_for_user(request.user, confirmed=False).first()
              or TOTPDevice.objects.create(user=request.user, name="authenticator app",
                                           confirmed=False))
    form = CodeForm(request.POST or None)
    verified = check_code(request.user, device, form) if request.method == "POST" else None
    if verified is not None:
        verified.confirmed = True
        verified.save(update_fields=["confirmed"])
        django_otp.login(request, verified)  # this session has given the code
        messages.success(request, "Two-step log-in is on: each log-in now asks for a code.")
        return redirect("account")
    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "portal/accounts/two_factor_setup.html", {
        "form": form, "qr": mark_safe(qr_svg(device.config_url)),  # markup made here
        "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))},
        status=400 if request.method == "POST" else 200)


@user_required
def two_factor_off(request: HttpRequest) -> HttpResponse:
    device = second_factor_of(request.user)
    if device is None:
        return redirect("account")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and check_code(request.user, device, form) is not None:
        device.delete()
        messages.success(request, "Two-step log-in is off.")
        return redirect("account")
    return render(request, "portal/accounts/two_factor_off.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


