"""Fixtures of the web tests: a demo clinic (real database: SQLite, or PostgreSQL when
DATABASE_URL says so) and logged-in clients for every role."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from neda.demo import DEMO_CUTOFF
from neda.web.clinic.models import Clinic, Patient

from .browsing import browser, tabs  # noqa: F401 (the browser tests' fixtures)

PASSWORD = "demo-password-for-tests"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    """One small demo clinic for the whole session (tests that change data roll back)."""
    import os

    os.environ["NEDA_DEMO_PASSWORD"] = PASSWORD
    with django_db_blocker.unblock():
        # records until the registry's own cut-off: the same demo records every day
        call_command("demo_clinic", patients=12, seed=3, patient_accounts=2,
                     records_until=dt.date.fromisoformat(DEMO_CUTOFF), verbosity=0)
        other = Clinic.objects.create(name="Other clinic")
        Patient.objects.create(clinic=other, subject="OTHER-1")


@pytest.fixture(autouse=True)
def _fresh_courses() -> None:
    """Each test starts without computed courses: tests roll their changes back, so a data
    version comes back with other data (a server never goes back to a version)."""
    from neda.web.clinic.course import forget_computed

    forget_computed()


def login(username: str) -> Client:
    """A client logged in as this demo user (the login form itself is tested on its own)."""
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def clinician(db: Any) -> Client:
    return login("clinician")


@pytest.fixture
def nurse(db: Any) -> Client:
    return login("nurse")


@pytest.fixture
def admin(db: Any) -> Client:
    return login("admin")


@pytest.fixture
def demo_patient(db: Any) -> Patient:
    return Patient.objects.filter(clinic__name="Demo MS clinic").order_by("pk").first()  # type: ignore[return-value]


@pytest.fixture
def empty_portal(db: Any) -> None:
    """No portal entries, goals or questionnaire schedules (the demo clinic has some): tests
    of the diary start from a blank page (rolled back after the test)."""
    from neda.web.portal.models import ENTRY_MODELS, ExerciseGoal, QuestionnaireSchedule

    for model in ENTRY_MODELS.values():
        model.all_objects.all().delete()
    ExerciseGoal.objects.all().delete()
    QuestionnaireSchedule.objects.all().delete()
