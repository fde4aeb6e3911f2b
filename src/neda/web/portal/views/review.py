"""``/portal/review/``: the clinic's review queue of what patients entered in the portal;
``/portal/review/relapses/<patient>/<pk>/``: a decision on one reported relapse.

The queue is a list of sections (:mod:`neda.web.portal.queue`): reported relapses first, then
whatever other parts of the portal register (new diary entries, questionnaires). It shows the
user's clinic's patients only (through :func:`neda.web.clinic.access.patients_for_user`),
oldest report first. Editors (clinician, nurse, administrator) decide: a relapse is
confirmed (it counts from now on), judged a pseudo-relapse (relapse hygiene removes it, with
its reason), or rejected (it never counts). The decision is a change of the relapse's status,
audited like every record (django-simple-history), and bumps the patient's data version, so
the course on both the clinician's overview and the patient's portal is computed again.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from neda.web.clinic.access import editor_required, get_patient_for_user, get_record_for_user
from neda.web.clinic.models import Relapse

from ..queue import sections_for

#: The decisions on a reported relapse: POST value -> (new status, message).
DECISIONS = {
    "confirmed": ("confirmed", "Relapse of {onset} confirmed: it now counts in the course."),
    "pseudo": ("pseudo", "Relapse of {onset} judged a pseudo-relapse: relapse hygiene "
                         "leaves it out of the counts."),
    "rejected": ("rejected", "Relapse of {onset} rejected: it does not count."),
}


@editor_required
@require_safe
def review_queue(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/review.html", {"sections": sections_for(request.user)})


@editor_required
def review_relapse(request: HttpRequest, public_id: UUID, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    relapse = get_record_for_user(request.user, Relapse, patient, pk)
    if request.method != "POST":  # after the checks: another clinic's relapse is 404 first
        return HttpResponseNotAllowed(["POST"])
    if relapse.status != "reported":
        raise Http404("this relapse waits for no review")
    decision = DECISIONS.get(request.POST.get("decision", ""))
    if decision is None:
        messages.error(request, "Choose confirm, pseudo-relapse or reject.")
        return redirect("review_queue")
    status, message = decision
    relapse.status = status
    relapse.save()  # audited; bumps the patient's data version (the course is recomputed)
    messages.success(request, message.format(onset=relapse.onset))
    return redirect("review_queue")
