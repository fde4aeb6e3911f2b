"""The optional second factor (TOTP): turned on with a code from the app, then every log-in
asks for a current code before any page opens; codes are computed here from the device's key
as an authenticator app computes them (RFC 6238, django_otp.oath.totp)."""

from __future__ import annotations

import re
import time
from typing import Any

from django.test import Client
from django_otp.oath import hotp, totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from .conftest import PASSWORD


def _code(device: TOTPDevice, drift: int = 0) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):06d}"


def _next_code(device: TOTPDevice) -> str:
    """A code the device accepts now and has not seen: the time step after the last one used,
    within the window it accepts (its clock's step, corrected by the drift it learnt when a
    code crossed a step boundary, +-1)."""
    device.refresh_from_db()
    now = (int(time.time()) - device.t0) // device.step + device.drift
    step = max(device.last_t + 1, now - 1)
    assert step <= now + 1, "no fresh code in the window yet"
    return f"{hotp(device.bin_key, step, device.digits):06d}"


def _login(username: str) -> Client:
    client = Client()
    r = client.post("/login/", {"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.content
    return client


def _wait_out_the_back_off() -> None:
    """After a wrong code django-otp refuses every code for 1 s x 2^(failures - 1)."""
    time.sleep(1.1)


def _turn_on(client: Client, username: str) -> TOTPDevice:
    """Two-step log-in turned on through the account page (the code used for it is kept in
    ``device.used_code``)."""
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<svg" in text and 'role="img"' in text  # the QR code, inline
    device = TOTPDevice.objects.get(user__username=username, confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', text)
    assert secret is not None
    import base64

    assert base64.b32decode(secret.group(1).replace(" ", "")) == device.bin_key
    wrong = f"{(int(_code(device)) + 1) % 10**6:06d}"
    r = client.post("/account/two-factor/", {"code": wrong})
    assert r.status_code == 400 and b"That code is not right" in r.content
    _wait_out_the_back_off()
    used = _code(device)
    r = client.post("/account/two-factor/", {"code": used})
    assert r.status_code == 302 and r["Location"] == "/account/"
    device.refresh_from_db()
    assert device.confirmed and device.last_t >= 0 and device.throttling_failure_count == 0
    device.used_code = used  # type: ignore[attr-defined]
    return device


def test_a_patient_turns_it_on_and_the_next_login_asks_for_the_code(db: Any) -> None:
    client = _login("patient1")
    device = _turn_on(client, "patient1")
    assert b"on (authenticator app)" in client.get("/account/").content
    # the session that turned it on is verified already
    assert client.get("/portal/").status_code == 200

    fresh = _login("patient1")
    r = fresh.get("/portal/")
    assert r.status_code == 302 and r["Location"] == "/account/verify/?next=%2Fportal%2F"
    # nothing else opens either, the account page included; logging out does
    for path in ("/", "/account/", "/account/two-factor/off/"):
        assert fresh.get(path)["Location"].startswith("/account/verify/"), path
    page = fresh.get("/account/verify/?next=/portal/")
    assert page.status_code == 200 and b"Enter your code" in page.content
    bad = fresh.post("/account/verify/", {"code": "000000", "next": "/portal/"})
    assert bad.status_code == 400
    _wait_out_the_back_off()
    # the code of the next time step: the one used to turn it on is not accepted twice
    ok = fresh.post("/account/verify/", {"code": _next_code(device), "next": "/portal/"})
    assert ok.status_code == 302 and ok["Location"] == "/portal/"
    assert fresh.get("/portal/").status_code == 200


def test_a_code_is_not_accepted_twice_and_failures_are_throttled(db: Any) -> None:
    client = _login("clinician")
    device = _turn_on(client, "clinician")
    fresh = _login("clinician")
    # the code that turned it on, again: refused (replay)
    r = fresh.post("/account/verify/", {"code": device.used_code})  # type: ignore[attr-defined]
    assert r.status_code == 400
    # after a failure, even the right code waits out the back-off (django-otp's throttle)
    r = fresh.post("/account/verify/", {"code": _next_code(device)})
    assert r.status_code == 400
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1


def test_next_never_leaves_the_site(db: Any) -> None:
    client = _login("nurse")
    device = _turn_on(client, "nurse")
    fresh = _login("nurse")
    r = fresh.post("/account/verify/", {"code": _next_code(device),
                                        "next": "https://elsewhere.example/"})
    assert r.status_code == 302 and r["Location"] == "/"


def test_turning_it_off_needs_a_current_code(db: Any) -> None:
    client = _login("patient2")
    device = _turn_on(client, "patient2")
    r = client.post("/account/two-factor/off/", {"code": "123"})
    assert r.status_code == 400
    r = client.post("/account/two-factor/off/", {"code": _next_code(device)})
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user__username="patient2").exists()
    assert _login("patient2").get("/portal/").status_code == 200


def test_the_api_is_not_asked_for_the_code(db: Any) -> None:
    """API clients authenticate with a token (no session, no second step)."""
    from django.contrib.auth import get_user_model

    from neda.web.clinic.models import ApiToken

    client = _login("admin")
    _turn_on(client, "admin")
    _, key = ApiToken.issue(get_user_model().objects.get(username="admin"), "t")
    r = Client().get("/api/patients", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.status_code == 200
