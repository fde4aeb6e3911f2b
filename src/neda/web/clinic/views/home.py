"""``/``: staff go to the patient list, patients to their portal."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from ..access import account_of, staff_of, user_required


@user_required
def home(request: HttpRequest) -> HttpResponse:
    if staff_of(request.user) is not None:
        return redirect("patient_list")
    if account_of(request.user) is not None:
        return redirect("portal_home")
    return redirect("logout")
