"""Password reset by e-mail (Django's views, in the site's style): ``/password-reset/`` asks
for the address and answers alike whether or not it belongs to an account; the link of the
e-mail (single-use, ``settings.PASSWORD_RESET_TIMEOUT``) leads to choosing a new password."""

from __future__ import annotations

from django.contrib.auth import views as auth
from django.urls import reverse_lazy

from neda.web.clinic.access import public

T = "portal/accounts/"

reset_request = public(auth.PasswordResetView.as_view(
    template_name=T + "reset_request.html",
    email_template_name=T + "reset_email.txt",
    subject_template_name=T + "reset_subject.txt",
    success_url=reverse_lazy("password_reset_sent")))
reset_sent = public(auth.PasswordResetDoneView.as_view(template_name=T + "reset_sent.html"))
reset_confirm = public(auth.PasswordResetConfirmView.as_view(
    template_name=T + "reset_confirm.html", success_url=reverse_lazy("password_reset_done")))
reset_done = public(auth.PasswordResetCompleteView.as_view(template_name=T + "reset_done.html"))
