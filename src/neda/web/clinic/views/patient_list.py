"""The patient list: search, sort, and status badges computed by the rules."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..access import patients_for_user, role_of, staff_required
from ..course import clinic_overview, rule_set_digest


@staff_required
def patient_list(request: HttpRequest) -> HttpResponse:
    patients = patients_for_user(request.user).select_related("clinic")
    query = request.GET.get("q", "").strip()
    if query:
        patients = patients.filter(subject__icontains=query) | patients.filter(
            name__icontains=query)
    researcher = role_of(request.user) == "researcher"
    staff = request.user.staff  # type: ignore[union-attr]
    overview = clinic_overview(staff.clinic).set_index("subject") if len(patients) else None
    rows = []
    for p in patients:
        status = (overview.loc[p.pk].to_dict() if overview is not None and p.pk in overview.index
                  else {})
        rows.append({"patient": p, "label": p.pseudonym() if researcher else p.subject,
                     "name": "" if researcher else p.name, "status": status})
    return render(request, "clinic/patient_list.html", {
        "rows": rows, "query": query, "digest": rule_set_digest()})
