"""What waits for the clinic's review: the one query behind the review queue, the patient
list's badge and the count in the staff navigation.

A section of the review queue is a :class:`Section`: a title, what its rows are, and the rows
of the user's clinic (already checked through :func:`neda.web.clinic.access.patients_for_user`).
:data:`SECTIONS` lists the functions that build them, in the order the queue shows them; the
diary and questionnaires append theirs ("new entries") with :func:`register`, and the queue
view (:mod:`neda.web.portal.views.review`) renders every section without knowing its kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from neda.web.clinic.access import patients_for_user
from neda.web.clinic.checking import check_record, record_cells
from neda.web.clinic.models import Relapse


def reported_relapses(user: Any) -> QuerySet[Relapse]:
    """Relapses reported by patients of the user's clinic (or the patient's own) that no one
    has reviewed yet, oldest report first."""
    return (Relapse.objects.filter(patient__in=patients_for_user(user), status="reported")
            .select_related("patient").order_by("created_at", "pk"))


def patients_with_reported_relapse(user: Any, patient_ids: list[int]) -> set[int]:
    """Which of these patients (database ids) have a reported relapse not yet reviewed."""
    return set(reported_relapses(user).filter(patient_id__in=patient_ids)
               .values_list("patient_id", flat=True))


@dataclass
class Section:
    """One section of the review queue. ``template`` renders ``rows`` (each row carries its
    patient as ``row.patient``); ``key`` is the section's anchor."""

    key: str
    title: str
    template: str
    rows: list[Any] = field(default_factory=list)
    empty: str = "Nothing waits for review."


#: The builders of the queue's sections, in order: each takes the request's user.
SECTIONS: list[Callable[[Any], Section]] = []


def register(builder: Callable[[Any], Section]) -> Callable[[Any], Section]:
    """Add a section to the review queue (a decorator)."""
    SECTIONS.append(builder)
    return builder


def if_confirmed(relapse: Relapse) -> list[str]:
    """What relapse hygiene (rules §3.1) would make of this report once confirmed, with the
    patient's counted relapses and their other reports waiting for review (as if confirmed
    too, and named so): the same check as the relapse form's
    (:func:`neda.web.clinic.checking.check_record`), e.g. within 30 days of a counted or
    another reported relapse, a pseudo-relapse by fever, shorter than 24 hours."""
    checked = check_record("relapses", relapse.patient, record_cells(relapse, "relapses"), {},
                           instance_pk=relapse.pk, status="confirmed", with_reported=True)
    found = [*checked.warnings, *(m for ms in checked.errors.values() for m in ms)]
    if not relapse.patient.relapses_recorded:  # the course reads no relapse of theirs
        found.insert(0, "Relapses are not recorded for this patient (the patient's data): "
                        "a confirmed relapse reaches no rule until they are.")
    return found


@dataclass
class ReportedRelapse:
    """A row of the relapse section: the report, what confirming it would mean, and the
    patient's other reports waiting for review (which that preview read as if confirmed)."""

    relapse: Relapse
    if_confirmed: list[str]
    also_waiting: list[Relapse] = field(default_factory=list)

    @property
    def patient(self) -> Any:
        return self.relapse.patient


@register
def relapse_section(user: Any) -> Section:
    reports = list(reported_relapses(user))
    rows = [ReportedRelapse(r, if_confirmed(r),
                            sorted((o for o in reports if o.patient_id == r.patient_id
                                    and o.pk != r.pk), key=lambda o: (o.onset, o.pk)))
            for r in reports]
    return Section("relapses", "Relapses reported by patients", "portal/review/_relapses.html",
                   rows, "No reported relapse waits for review.")


def sections_for(user: Any) -> list[Section]:
    return [build(user) for build in SECTIONS]


def waiting_count(user: Any) -> int:
    """How many items wait for the user's review (the navigation's count)."""
    return reported_relapses(user).count()
