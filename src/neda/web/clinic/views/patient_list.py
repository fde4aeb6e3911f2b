"""The patient list: search, sort, paging, and status badges computed by the rules.

Every badge is a column of the clinic's computed patients table (:func:`..course.
clinic_overview`, i.e. ``neda.course_summary`` as of today): NEDA-3 in the latest completed
year on the current therapy, confirmed worsening and relapses in the last 12 months, and what
is overdue (EDSS, MRI on a DMT, safety labs; rules §14). The view only filters, orders and
pages rows; it computes no clinical value. A patient with a relapse reported in the portal and
not yet reviewed carries the badge "relapse reported, not yet reviewed" (the report counts in
no status until the clinic confirms it; :mod:`neda.web.portal.queue`).

Researchers see pseudonyms only: they search by pseudonym, never by registry identifier or
name (a search by identifier would tell them who is in the clinic).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from neda.web.portal.queue import patients_with_reported_relapse

from ..access import patients_for_user, role_of, staff_of, staff_required
from ..course import clinic_overview, rule_set_digest
from ..models import Patient

PAGE_SIZE = 50

#: The overview columns the list shows (computed by the core).
_STATUS = ["current_dmt", "current_dmt_since", "neda3_current_year",
           "neda3_reason_current_year", "window_start_current_year",
           "window_end_current_year", "cdw_last_year", "raw_last_year", "pira_last_year",
           "pirma_last_year", "unclassified_last_year", "relapses_last_year",
           "relapse_last_year", "relapse_last_year_reason", "edss_overdue", "edss_reason",
           "mri_status", "mri_reason", "labs_status", "labs_due_tests", "labs_reason",
           "last_visit", "edss_latest"]

#: Sortable columns: query value -> (heading, how rows are ordered). Status columns sort the
#: answers that need attention first (NEDA "no", then unknown, then "yes").
_ORDER_NEDA = {False: 0, None: 1, True: 2}
_ORDER_YES_FIRST = {True: 0, None: 1, False: 2}
_ORDER_MRI = {"overdue": 0, "unknown": 1, "up_to_date": 2, "not_on_dmt": 3}
_ORDER_LABS = {"due": 0, "unknown": 1, "no_schedule": 2, "up_to_date": 3, "not_required": 4,
               "not_on_dmt": 5}
SORTS: dict[str, str] = {
    "patient": "Patient", "therapy": "Current therapy", "neda": "NEDA-3, latest year",
    "worsening": "Confirmed worsening, 12 months", "relapse": "Relapse, 12 months",
    "edss": "EDSS in 12 months", "mri": "MRI in 12 months", "labs": "Safety labs",
    "last_visit": "Last visit",
}


def _plain(value: Any) -> Any:
    """A cell of the computed table as a template value (missing -> None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def _natural(label: Any) -> str:
    """Registry identifiers in natural order (``2`` before ``10``, ``MS-9`` before
    ``MS-10``)."""
    return _DIGITS.sub(lambda m: m.group().zfill(12), str(label).lower())


_DIGITS = re.compile(r"\d+")


def _sort_key(frame: pd.DataFrame, sort: str) -> pd.Series:
    def tri(col: str, order: dict[Any, int]) -> pd.Series:
        return frame[col].map(lambda v: order[_plain(v)]) if col in frame else \
            pd.Series(1, index=frame.index)

    if sort == "therapy":
        return frame["current_dmt"].map(lambda v: "~" if _plain(v) is None else str(v).lower())
    if sort == "neda":
        return tri("neda3_current_year", _ORDER_NEDA)
    if sort == "worsening":
        return -frame["cdw_last_year"].fillna(-1)
    if sort == "relapse":
        return tri("relapse_last_year", _ORDER_YES_FIRST)
    if sort == "edss":
        return tri("edss_overdue", _ORDER_YES_FIRST)
    if sort == "mri":
        return frame["mri_status"].map(lambda v: _ORDER_MRI.get(v, 9))
    if sort == "labs":
        return frame["labs_status"].map(lambda v: _ORDER_LABS.get(v, 9))
    if sort == "last_visit":
        return frame["last_visit"]
    return frame["label"].map(_natural)


#: The list's rendered rows per clinic: the key of the computed table they show
#: (``attrs["key"]`` of :func:`..course.clinic_overview`: clinic, data version, rule-set
#: digest, date) and per row its HTML, under the row's own values (patient, URL id, label,
#: name, reported relapse). A row is a function of these alone, so it is rendered once and
#: reused by every page, sort and search showing it; a new table drops the clinic's rows.
_ROWS: dict[int, tuple[Any, dict[tuple[Any, ...], str]]] = {}


@staff_required
@require_safe
def patient_list(request: HttpRequest) -> HttpResponse:
    researcher = role_of(request.user) == "researcher"
    staff = staff_of(request.user)
    assert staff is not None
    query = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", "patient")
    sort = sort if sort in SORTS else "patient"
    descending = request.GET.get("dir") == "desc"

    patients = patients_for_user(request.user)
    if query and not researcher:
        patients = patients.filter(subject__icontains=query) | patients.filter(
            name__icontains=query)
    # plain rows, not model instances: a clinic has thousands of patients
    people = list(patients.values_list("pk", "subject", "name"))
    if researcher:  # the one pseudonym rule of the model, without loading each patient
        labels = [Patient(pk=pk, clinic=staff.clinic).pseudonym() for pk, *_ in people]
    else:
        labels = [subject for _, subject, _ in people]
    frame = pd.DataFrame({"pk": pd.Series([p[0] for p in people], dtype="int64"),
                          "label": pd.Series(labels, dtype=object),
                          "index": pd.Series(range(len(people)), dtype="int64")})
    if query and researcher:
        frame = frame[frame["label"].str.contains(query, case=False, regex=False)]

    overview = clinic_overview(staff.clinic)
    have = [c for c in _STATUS if c in overview.columns]
    frame = frame.merge(overview[["subject", *have]], left_on="pk", right_on="subject",
                        how="left")
    for c in _STATUS:
        if c not in frame.columns:
            frame[c] = None
    key = _sort_key(frame, sort)
    frame = frame.assign(_key=key.to_numpy()).sort_values(
        ["_key", "label"], ascending=[not descending, True], kind="stable",
        na_position="last")

    paginator = Paginator(range(len(frame)), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    shown = frame.iloc[page.object_list.start:page.object_list.stop]  # type: ignore[attr-defined]
    public_ids = dict(patients.filter(pk__in=shown["pk"].tolist()).values_list("pk",
                                                                              "public_id"))
    # a patient's report waits for the clinic: it is in no status above until reviewed
    reported = patients_with_reported_relapse(request.user, shown["pk"].tolist())
    kept = _ROWS.get(staff.clinic.pk)
    if kept is None or kept[0] != overview.attrs.get("key"):
        kept = _ROWS[staff.clinic.pk] = (overview.attrs.get("key"), {})
    rows = []
    for position, (index, label) in enumerate(zip(shown["index"].tolist(),
                                                  shown["label"].tolist(), strict=True)):
        pk, _, name = people[index]
        row = {"public_id": public_ids[pk], "label": label, "name": "" if researcher else name,
               "reported": pk in reported}
        row_key = (researcher, pk, *row.values())
        html = kept[1].get(row_key) if kept[0] is not None else None
        if html is None:
            record = shown.iloc[position]
            row["status"] = {c: _plain(record.get(c)) for c in _STATUS}
            html = render_to_string("clinic/_patient_row.html", {"r": row})
            if kept[0] is not None:
                kept[1][row_key] = html
        rows.append(html)

    def link(**changes: Any) -> str:
        params = {"q": query, "sort": sort, "dir": "desc" if descending else "asc"}
        params.update(changes)
        return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    headings = []
    for name, title in SORTS.items():
        active = name == sort
        headings.append({
            "name": name, "title": title, "active": active,
            "aria": ("descending" if descending else "ascending") if active else None,
            "url": link(sort=name, dir="asc" if not active or descending else "desc",
                        page=None)})
    return render(request, "clinic/patient_list.html", {
        "rows": rows, "query": query, "researcher": researcher, "headings": headings,
        "page": page, "total": len(frame),
        "previous_url": link(page=page.previous_page_number()) if page.has_previous() else "",
        "next_url": link(page=page.next_page_number()) if page.has_next() else "",
        "as_of": overview.attrs.get("as_of"), "input_error": overview.attrs.get("input_error"),
        "digest": rule_set_digest()})
