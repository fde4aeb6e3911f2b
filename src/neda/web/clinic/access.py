"""Every object access goes through here (healthchecks' ``_get_check_for_user`` pattern).

Staff see their own clinic's patients only; a patient sees only their own record; a
researcher reads pseudonymised data and changes nothing. A record the user may not see is
answered with 404 (not 403), so that guessing identifiers tells nothing. Views never filter
patients themselves: they call these helpers, and the access-matrix test enumerates every
route to hold them to it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase

from .models import (
    EDITING_ROLES,
    Patient,
    PatientAccount,
    PatientRecord,
    SoftDeleteModel,
    StaffMember,
)

R = TypeVar("R", bound=PatientRecord)
S = TypeVar("S", bound=SoftDeleteModel)
View = Callable[..., HttpResponseBase]


def staff_of(user: Any) -> StaffMember | None:
    """The user's staff membership, or None (patients, anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff  # type: ignore[no-any-return]
    except StaffMember.DoesNotExist:
        return None


def account_of(user: Any) -> PatientAccount | None:
    """The user's patient account, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.patient_account  # type: ignore[no-any-return]
    except PatientAccount.DoesNotExist:
        return None


def role_of(user: Any) -> str | None:
    """``clinician``, ``nurse``, ``researcher``, ``admin``, ``patient`` or None."""
    staff = staff_of(user)
    if staff is not None:
        return staff.role
    return "patient" if account_of(user) is not None else None


def patients_for_user(user: Any) -> QuerySet[Patient]:
    """The patients this user may see (none for anyone else)."""
    staff = staff_of(user)
    if staff is not None:
        return Patient.objects.filter(clinic_id=staff.clinic_id)
    account = account_of(user)
    if account is not None:
        return Patient.objects.filter(pk=account.patient_id)
    return Patient.objects.none()


def get_patient_for_user(user: Any, public_id: UUID | str) -> Patient:
    """The patient behind an opaque id, if this user may see them; else 404."""
    try:
        return patients_for_user(user).select_related("clinic").get(public_id=public_id)
    except (Patient.DoesNotExist, ValueError) as exc:
        raise Http404("no such patient") from exc


def get_record_for_user(user: Any, model: type[R], patient: Patient, pk: int) -> R:
    """One record of a patient the user may see (the patient already checked); else 404."""
    try:
        return model.objects.get(pk=pk, patient=patient)
    except model.DoesNotExist as exc:
        raise Http404("no such record") from exc


def can_edit(user: Any) -> bool:
    staff = staff_of(user)
    return staff is not None and staff.role in EDITING_ROLES


def is_admin(user: Any) -> bool:
    staff = staff_of(user)
    return staff is not None and staff.role == "admin"


#: Who may call a view, by policy name. Every view of the site carries one (set by the
#: decorators below, read by the access-matrix test, which fails on an untagged route).
POLICIES: dict[str, Callable[[Any], bool]] = {
    "public": lambda user: True,
    "any_user": lambda user: bool(getattr(user, "is_authenticated", False)),
    "staff": lambda user: staff_of(user) is not None,
    "editor": can_edit,
    "admin": is_admin,
    "patient": lambda user: account_of(user) is not None,
}


def _guarded(policy: str, message: str) -> Callable[[View], View]:
    allowed = POLICIES[policy]

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not allowed(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        wrapper.neda_access = policy  # type: ignore[attr-defined]
        return wrapper

    return decorate


#: Any staff role (clinician, nurse, researcher, administrator).
staff_required = _guarded("staff", "staff only")
#: Staff who may change records (clinician, nurse, administrator).
editor_required = _guarded("editor", "your role cannot change records")
#: A clinic's administrators (restore deleted records, manage accounts).
admin_required = _guarded("admin", "administrators only")
#: A patient's own pages.
patient_required = _guarded("patient", "patients only")
#: Any logged-in user (e.g. the home page, which sends each role to its start).
user_required = _guarded("any_user", "log in first")


def public(view: View) -> View:
    """A page anyone may open (log-in, health check): tagged so the matrix knows."""
    view.neda_access = "public"  # type: ignore[attr-defined]
    return view


# ------------------------------------------------------------------ deleted records (restore)
def deleted_for_user(user: Any, model: type[SoftDeleteModel]) -> QuerySet[Any]:
    """Softly deleted patients (``model`` = :class:`Patient`) or records of the user's clinic,
    for its administrators only (the restore screen); none for anyone else."""
    staff = staff_of(user)
    if staff is None or staff.role != "admin":
        return model.all_objects.none()
    deleted: QuerySet[Any] = model.all_objects.filter(deleted_at__isnull=False)
    if model is Patient:
        return deleted.filter(clinic_id=staff.clinic_id)
    return deleted.filter(patient__clinic_id=staff.clinic_id)


def get_deleted_for_user(user: Any, model: type[S], pk: int) -> S:
    """One softly deleted patient or record of the administrator's clinic; else 404."""
    try:
        return deleted_for_user(user, model).get(pk=pk)  # type: ignore[no-any-return]
    except model.DoesNotExist as exc:
        raise Http404("no such deleted record") from exc
