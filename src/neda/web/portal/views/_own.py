"""The logged-in patient of a portal request (the views are ``patient_required``)."""

from __future__ import annotations

from django.http import HttpRequest

from neda.web.clinic.access import account_of
from neda.web.clinic.models import Patient


def own_patient(request: HttpRequest) -> Patient:
    account = account_of(request.user)
    assert account is not None  # patient_required let only patients in
    return account.patient
