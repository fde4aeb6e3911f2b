"""``/portal/definitions/``: every term the portal uses, in lay words beside the clinic's
definition and the section of docs/rules.md that decides it (:data:`..words.DEFINITIONS`,
one source for both). Every statement of the portal links here (``#<key>``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from neda.web.clinic.access import user_required

from ..words import DEFINITIONS


@user_required
@require_safe
def definitions(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/definitions.html",
                  {"definitions": list(DEFINITIONS.values())})
