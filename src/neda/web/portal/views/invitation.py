"""``/patients/<id>/portal-invitation/``: the clinic invites a patient to the portal. The link
is shown once, on the answer to the POST, and sent by e-mail (the console in development)."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from neda.web.clinic.access import editor_required, get_patient_for_user

from ..accounts import InvitationRefused, invite, portal_state, send_invitation


class InvitationForm(forms.Form):
    email = forms.EmailField(label="The patient's e-mail address", max_length=150,
                             help_text="It becomes their username; the link is sent there.")


@editor_required
def portal_invitation(request: HttpRequest, public_id: UUID) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    form = InvitationForm(request.POST or None)
    context = {"patient": patient, "form": form, "link": None, "refused": None}
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invite(patient, form.cleaned_data["email"], request.user)
        except InvitationRefused as refused:
            context["refused"] = str(refused)
        else:
            link = request.build_absolute_uri(invitation.path)
            send_invitation(invitation, link, patient.clinic.name)
            context.update(link=link, invitation=invitation)
    context["state"] = portal_state(patient)
    status = 400 if request.method == "POST" and context["link"] is None else 200
    return render(request, "portal/accounts/invitation.html", context, status=status)
