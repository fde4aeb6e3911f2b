"""Property-based run of the JSON API against its own OpenAPI schema (schemathesis): bodies,
query and path parameters generated from ``/api/openapi.json`` and sent through the WSGI
application with a clinician's token. No answer may be a server error, and every answer must
be one the schema documents, in the documented shape.

Patient and record identifiers are set to real ones of the demo clinic (random ones would only
ever meet 404, which the access matrix of ``test_api.py`` covers), so that generated records
reach the readers, the model checks and the course computation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from neda.web.api.validation import TABLES
from neda.web.clinic.models import ApiToken, Patient, SymptomTreatment
from neda.web.wsgi import application

#: Generated cases per operation (39 operations). Every accepted write recomputes the patient's
#: course (about a second on a busy machine), so the count is small and the coverage phase
#: (hundreds of boundary cases per operation) is off: the run takes well under a minute. A deep
#: run: ``NEDA_FUZZ_EXAMPLES=25 NEDA_FUZZ_COVERAGE=1`` (tens of minutes).
EXAMPLES = int(os.environ.get("NEDA_FUZZ_EXAMPLES", "4"))
COVERAGE = os.environ.get("NEDA_FUZZ_COVERAGE", "") == "1"

schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json", application,
    config=schemathesis.Config.from_dict({
        "phases": {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}},
        "generation": {"max-examples": EXAMPLES},
    }))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def target(db: Any) -> Iterator[dict[str, Any]]:
    """A clinician's token, a patient of their clinic, and one record of every table."""
    cache.clear()
    # the WSGI application closes the database connection after each request; inside the
    # test's transaction it must stay open (as Django's test client arranges)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    user = get_user_model().objects.get(username="clinician")
    _, key = ApiToken.issue(user, "schemathesis")
    patient = (Patient.objects.filter(clinic=user.staff.clinic, relapse__isnull=False,
                                      treatment__isnull=False).order_by("pk").first())
    assert patient is not None
    SymptomTreatment.objects.create(patient=patient, drug="baclofen", symptom="spasticity",
                                    start="2020-01-01")  # not in the demo registry
    records = {name: table.model.objects.filter(patient=patient).first().pk  # type: ignore[union-attr]
               for name, table in TABLES.items()}
    try:
        yield {"key": key, "public_id": str(patient.public_id), "records": records}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        cache.clear()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_has_no_server_errors(case: schemathesis.Case, target: dict[str, Any]) -> None:
    params = case.path_parameters
    if params and "public_id" in params:
        params["public_id"] = target["public_id"]
    if params and "record_id" in params:
        table = case.operation.path.split("/")[-2]
        params["record_id"] = target["records"][table]
    case.call_and_validate(headers={"Authorization": f"Bearer {target['key']}"},
                           checks=CHECKS)
