"""``neda-admin demo_clinic``: a demo clinic of synthetic patients (``neda.demo``), and demo
logins for every role, and one relapse reported through the portal by patient1 waiting in the
review queue (made again when none waits). Passwords: ``$NEDA_DEMO_PASSWORD`` when set, else
a random one printed once.

The clinic's records end on ``--records-until`` (default: a week before today): the synthetic
registry (cut off on ``neda.demo.DEMO_CUTOFF``) is moved by whole days to end there. The
portal's demo entries are of the last six weeks and patient1's report of four days ago, so a
clinician trying the demo meets one story - the latest clinic visits, then the patients' diary
and report since - not records that stopped months or years before the diary begins. Tests
give a fixed date, so that the demo's records are the same every day.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from neda.demo import DEMO_CUTOFF, demo_registry, moved_registry
from neda.io import read_tables
from neda.web.clinic.course import clinic_overview
from neda.web.clinic.importing import commit
from neda.web.clinic.models import Clinic, Patient, PatientAccount, Relapse, StaffMember
from neda.web.portal.demo import add_demo_entries

DEMO_CLINIC = "Demo MS clinic"
STAFF = (("admin", "admin"), ("clinician", "clinician"), ("nurse", "nurse"),
         ("researcher", "researcher"))


class Command(BaseCommand):
    help = "Load a demo clinic of synthetic patients and create the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=300,
                            help="how many synthetic patients the clinic has (default 300; "
                                 "not used when the demo clinic already has patients)")
        parser.add_argument("--seed", type=int, default=1,
                            help="seed of the synthetic registry: the same seed and number "
                                 "of patients give the same records (default 1)")
        parser.add_argument("--patient-accounts", type=int, default=3,
                            help="patient logins patient1, patient2, ...")
        parser.add_argument("--records-until", type=dt.date.fromisoformat, default=None,
                            help="the day the clinic's records end, YYYY-MM-DD (default: a "
                                 "week before today, before the portal's demo entries end)")

    def handle(self, *args: Any, **opts: Any) -> None:
        password = os.environ.get("NEDA_DEMO_PASSWORD") or secrets.token_urlsafe(12)
        clinic, created = Clinic.objects.get_or_create(name=DEMO_CLINIC)
        if created or not Patient.objects.filter(clinic=clinic).exists():
            until = opts["records_until"] or timezone.localdate() - dt.timedelta(days=7)
            days = (until - dt.date.fromisoformat(DEMO_CUTOFF)).days
            reg = moved_registry(demo_registry(opts["patients"], seed=opts["seed"]), days)
            tables = read_tables(None, **reg)
            result = commit(clinic, tables)
            self.stdout.write(f"Demo clinic loaded: {result.summary()}; records until "
                              f"{until.isoformat()}.")
        user_model = get_user_model()
        with transaction.atomic():
            for username, role in STAFF:
                user, _ = user_model.objects.get_or_create(username=username)
                user.set_password(password)
                user.save()
                StaffMember.objects.update_or_create(user=user, defaults={
                    "clinic": clinic, "role": role})
            patients = list(Patient.objects.filter(clinic=clinic).order_by("pk"))
            for i, patient in enumerate(patients[: opts["patient_accounts"]], start=1):
                user, _ = user_model.objects.get_or_create(username=f"patient{i}")
                user.set_password(password)
                user.save()
                PatientAccount.objects.update_or_create(user=user, defaults={
                    "patient": patient})
            if patients and opts["patient_accounts"]:
                self._reported_relapse(patients[0])
        # the portal: six weeks of diary for the patients with a login and a few more
        made = add_demo_entries(clinic, patients[: max(opts["patient_accounts"], 10)],
                                user_model.objects.get(username="clinician"), opts["seed"])
        if made:
            self.stdout.write(f"Portal demo entries: {made}.")
        names = ", ".join([s for s, _ in STAFF]
                          + [f"patient{i}" for i in range(1, opts["patient_accounts"] + 1)])
        shown = ("$NEDA_DEMO_PASSWORD" if os.environ.get("NEDA_DEMO_PASSWORD") else password)
        # The clinic's course once now: the engine's kernels are compiled and cached on disk
        # here (a first compile inside a request can outlast the server's worker timeout) and
        # the demo records are read through the readers once more.
        t0 = time.perf_counter()
        overview = clinic_overview(clinic)
        if overview.attrs.get("input_error"):
            raise CommandError(f"the demo clinic does not read: {overview.attrs['input_error']}")
        self.stdout.write(f"Course of the clinic's {len(overview)} patients computed in "
                          f"{time.perf_counter() - t0:.0f} s.")
        self.stdout.write(f"Demo logins: {names}; password: {shown}")

    def _reported_relapse(self, patient: Patient) -> None:
        """patient1 reports a possible relapse through the portal's own form (so the review
        queue is not empty), unless a report of the clinic already waits."""
        from neda.web.portal.views.report_relapse import RelapseReportForm

        if Relapse.objects.filter(patient__clinic=patient.clinic, status="reported").exists():
            return
        onset = timezone.localdate() - dt.timedelta(days=4)
        form = RelapseReportForm({
            "onset_known": "exact", "onset_day": onset.isoformat(), "systems": ["sensory"],
            "duration": "3_6_days", "fever": "no", "infection": "no", "steroids": "no"},
            patient=patient)
        if not form.is_valid():
            raise CommandError(f"the demo relapse report does not read: {form.errors}")
        form.save()
        self.stdout.write("patient1 reported a possible relapse (waiting for review).")
