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
from ..course import clinic_overview, kept_with_clinic, rule_set_digest
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


class _Table:
    """The list of one clinic for one kind of reader (researchers read pseudonyms, others
    registry identifiers and names), derived from one computed clinic table and kept with it
    (:func:`..course.kept_with_clinic`: clinic, data version, rule-set digest, date; every
    change of a patient or their records bumps the clinic's data version): every patient's
    row of the table in the clinic's order, their search texts in lower case, the order of
    the rows per sort and direction (made at its first use), and each row's HTML (rendered at
    its first showing). A page is then a slice of an order and the rendering of only its rows
    not shown before; a search filters an order with the search texts."""

    def __init__(self, patients: Any, clinic: Any, overview: pd.DataFrame,
                 researcher: bool) -> None:
        # plain rows, not model instances: a clinic has thousands of patients
        people = list(patients.values_list("pk", "subject", "name", "public_id"))
        self.pks = [p[0] for p in people]
        self.public_ids = [p[3] for p in people]
        if researcher:  # the one pseudonym rule of the model, without loading each patient
            self.labels = [Patient(pk=pk, clinic=clinic).pseudonym() for pk in self.pks]
            self.names = [""] * len(people)
            # researchers search by pseudonym only (never by identifier or name)
            self.search = [[label.lower()] for label in self.labels]
        else:
            self.labels = [p[1] for p in people]
            self.names = [p[2] for p in people]
            self.search = [[p[1].lower(), p[2].lower()] for p in people]
        frame = pd.DataFrame({"pk": pd.Series(self.pks, dtype="int64"),
                              "label": pd.Series(self.labels, dtype=object)})
        have = [c for c in _STATUS if c in overview.columns]
        frame = frame.merge(overview[["subject", *have]], left_on="pk", right_on="subject",
                            how="left")
        for c in _STATUS:
            if c not in frame.columns:
                frame[c] = None
        self.frame = frame.reset_index(drop=True)  # row i is patient i
        self.orders: dict[tuple[str, bool], np.ndarray] = {}
        self.rows: dict[tuple[Any, ...], str] = {}

    def order(self, sort: str, descending: bool) -> np.ndarray:
        """The positions of every row in the order of ``sort`` (the answers that need
        attention first, ascending), ties by label; missing values last either way."""
        found = self.orders.get((sort, descending))
        if found is None:
            frame = self.frame.assign(_key=_sort_key(self.frame, sort).to_numpy())
            found = self.orders[(sort, descending)] = frame.sort_values(
                ["_key", "label"], ascending=[not descending, True], kind="stable",
                na_position="last").index.to_numpy()
        return found

    def matching(self, query: str) -> np.ndarray:
        """Which rows a search finds: the text in a search column, case ignored (as a
        database's case-insensitive ``contains`` would)."""
        text = query.lower()
        return np.fromiter((any(text in s for s in texts) for texts in self.search),
                           dtype=bool, count=len(self.search))


def _table_for(request: HttpRequest, clinic: Any, overview: pd.DataFrame,
               researcher: bool) -> _Table:
    found: _Table = kept_with_clinic(
        overview, clinic, f"patient-list:{'researcher' if researcher else 'staff'}",
        lambda: _Table(patients_for_user(request.user), clinic, overview, researcher))
    return found


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

    overview = clinic_overview(staff.clinic)
    table = _table_for(request, staff.clinic, overview, researcher)
    order = table.order(sort, descending)
    if query:  # a search keeps the rows it finds in the order of the sort
        order = order[table.matching(query)[order]]

    paginator = Paginator(range(len(order)), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    shown = order[page.object_list.start:page.object_list.stop].tolist()  # type: ignore[attr-defined]
    # a patient's report waits for the clinic: it is in no status above until reviewed
    reported = patients_with_reported_relapse(request.user, [table.pks[i] for i in shown])
    rows = []
    for i in shown:
        pk = table.pks[i]
        row = {"public_id": table.public_ids[i], "label": table.labels[i],
               "name": table.names[i], "reported": pk in reported}
        row_key = (pk, *row.values())
        html = table.rows.get(row_key)
        if html is None:
            record = table.frame.iloc[i]
            row["status"] = {c: _plain(record.get(c)) for c in _STATUS}
            html = table.rows[row_key] = render_to_string("clinic/_patient_row.html",
                                                          {"r": row})
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
        "page": page, "total": len(order),
        "previous_url": link(page=page.previous_page_number()) if page.has_previous() else "",
        "next_url": link(page=page.next_page_number()) if page.has_next() else "",
        "as_of": overview.attrs.get("as_of"), "input_error": overview.attrs.get("input_error"),
        "digest": rule_set_digest()})
