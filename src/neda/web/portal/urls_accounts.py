"""Accounts (issue 10, safety and privacy): invitations to the portal, password reset by e-mail,
the account page with the optional second factor and the code asked at log-in. Site-wide
routes (staff use them too), included at the root by ``neda.web.urls``."""

from __future__ import annotations

from django.urls import path

from .views import account, invitation, password_reset, two_factor, verify, welcome

urlpatterns = [
    # the clinic invites a patient; the patient opens the link and chooses a password
    path("patients/<uuid:public_id>/portal-invitation/", invitation.portal_invitation,
         name="portal_invitation"),
    path("portal/welcome/<uidb64>/<token>/", welcome.welcome, name="portal_welcome"),
    # password reset by e-mail
    path("password-reset/", password_reset.reset_request, name="password_reset"),
    path("password-reset/sent/", password_reset.reset_sent, name="password_reset_sent"),
    path("password-reset/<uidb64>/<token>/", password_reset.reset_confirm,
         name="password_reset_confirm"),
    path("password-reset/done/", password_reset.reset_done, name="password_reset_done"),
    # the account page: second factor (TOTP), change of password; the code at log-in
    path("account/", account.account, name="account"),
    path("account/password/", account.password_change, name="account_password"),
    path("account/password/changed/", account.password_changed,
         name="account_password_changed"),
    path("account/two-factor/", two_factor.two_factor_setup, name="two_factor_setup"),
    path("account/two-factor/off/", two_factor.two_factor_off, name="two_factor_off"),
    path("account/verify/", verify.verify, name="account_verify"),
]
