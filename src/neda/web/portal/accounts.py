"""Patients' portal accounts: invitations by the clinic, and the second factor of any login.

No table of its own. An invitation creates the patient's user with an *unusable* password and
their :class:`~neda.web.clinic.models.PatientAccount`; its link carries a token of Django's
password-reset kind (:class:`InvitationTokens`, a salt of its own so that a reset link is not an
invitation and back), bound to the password's hash. The link is therefore single-use (choosing
a password changes the hash), expires after ``settings.PASSWORD_RESET_TIMEOUT``, and re-issuing
one voids the earlier link (a fresh unusable hash). Every step is recorded in the account's
audit trail (django-simple-history, with a change reason) and logged without PHI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from neda.web.clinic.models import Patient, PatientAccount

log = logging.getLogger("neda.web.portal")


class InvitationTokens(PasswordResetTokenGenerator):
    """Tokens of invitation links: Django's reset tokens (hash of the user's id, password hash,
    last login, e-mail and time, signed with the secret key) under a salt of their own."""

    key_salt = "neda.web.portal.accounts.InvitationTokens"


invitation_tokens = InvitationTokens()


class InvitationRefused(ValueError):
    """Why no invitation can be issued (shown to the clinician as it is)."""


@dataclass(frozen=True)
class Invitation:
    account: PatientAccount
    path: str       # the link's path; the view makes it absolute with the request's host
    reissued: bool  # an earlier, unused invitation existed (its link no longer works)


def portal_state(patient: Patient) -> str:
    """``none`` (no account), ``invited`` (a link not yet used) or ``active``."""
    try:
        account = patient.account
    except PatientAccount.DoesNotExist:
        return "none"
    return "active" if account.user.has_usable_password() else "invited"


def _audit(account: PatientAccount, reason: str, by: Any) -> None:
    """A row in the account's audit trail (who, when, why) and a log line without PHI."""
    account._change_reason = reason  # type: ignore[attr-defined]
    account.save()
    log.info("portal account %s: %s (user %s)", account.pk, reason,
             getattr(by, "pk", None))


def invite(patient: Patient, email: str, by: Any) -> Invitation:
    """Create (or re-issue) the portal invitation of ``patient``; raise
    :class:`InvitationRefused` when they already have an account in use or the address belongs
    to another user. The username is the e-mail address (what the patient knows)."""
    email = email.strip().lower()
    users = get_user_model()
    with transaction.atomic():
        try:
            account = PatientAccount.objects.select_related("user").get(patient=patient)
        except PatientAccount.DoesNotExist:
            account = None
        if account is not None and account.user.has_usable_password():
            raise InvitationRefused(
                "This patient already uses the portal. If they lost their password, they can "
                "reset it from the log-in page.")
        taken = users.objects.filter(username__iexact=email)
        if account is not None:
            taken = taken.exclude(pk=account.user_id)
        if taken.exists():
            raise InvitationRefused("This e-mail address already belongs to another account.")
        reissued = account is not None
        if account is None:
            user = users.objects.create_user(username=email, email=email)  # unusable password
            account = PatientAccount(user=user, patient=patient)
        else:
            user = account.user
            user.username = user.email = email
            user.set_unusable_password()  # a new random hash: the earlier link stops working
            user.save()
        _audit(account, "invitation re-issued" if reissued else "invitation issued", by)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("portal_welcome", kwargs={"uidb64": uid,
                                             "token": invitation_tokens.make_token(user)})
    return Invitation(account, path, reissued)


def send_invitation(invitation: Invitation, link: str, clinic_name: str) -> None:
    """The invitation by e-mail (``settings.EMAIL_BACKEND``: the console in development)."""
    user = invitation.account.user
    send_mail(
        subject=f"Your invitation to the {clinic_name} patient portal",
        message=(f"Hello,\n\n{clinic_name} invites you to its patient portal, where you can "
                 "report a relapse, keep a symptom diary and fill in questionnaires.\n\n"
                 f"Your username: {user.get_username()}\n"
                 f"Choose your password here (the link works once, for 3 days):\n{link}\n\n"
                 "If you did not expect this message, ignore it.\n"),
        from_email=None, recipient_list=[user.email])


def accepted(user: Any, by: Any) -> None:
    """Record that a patient chose their password through an invitation link."""
    account = PatientAccount.objects.filter(user=user).first()
    if account is not None:
        _audit(account, "invitation accepted: password chosen", by)


# ------------------------------------------------------------------ the second factor (TOTP)
def second_factor_of(user: Any) -> TOTPDevice | None:
    """The user's confirmed authenticator (TOTP) device, or None."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def needs_second_factor(user: Any) -> bool:
    """A logged-in user who has a second factor but has not given its code in this session."""
    return bool(user.is_authenticated and not user.is_verified()
                and user_has_device(user, confirmed=True))
