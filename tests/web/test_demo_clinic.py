"""``neda-admin demo_clinic`` as someone trying the demo runs it (no date given): the clinic's
records end a week before today - the synthetic registry moved by whole days, the same course
otherwise - so that they meet the portal's entries of the last six weeks and patient1's report
of four days ago, instead of stopping months or years before them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from neda.demo import DEMO_CUTOFF, demo_registry

from .live_server import fresh_database

PATIENTS, SEED = 12, 3


def test_the_demo_records_end_where_the_portal_entries_are(tmp_path: Path) -> None:
    with fresh_database(tmp_path, sqlite=True) as fresh:
        fresh.env["NEDA_DEMO_PASSWORD"] = "demo-clinic-test-password-1"
        done = fresh.manage("demo_clinic", "--patients", str(PATIENTS), "--seed", str(SEED),
                            "--patient-accounts", "2")
        facts = json.loads(fresh.script("""
import json
from django.db.models import Max, Min
from django.utils import timezone
from neda.web.clinic.models import *
from neda.web.portal.models import SymptomEntry
p1 = PatientAccount.objects.get(user__username="patient1").patient
print(json.dumps({
    "today": timezone.localdate().isoformat(),
    "last_visit": Visit.objects.aggregate(d=Max("date"))["d"].isoformat(),
    "last_scan": MriScan.objects.aggregate(d=Max("date"))["d"].isoformat(),
    "last_pro": ProAnswer.objects.aggregate(d=Max("date"))["d"].isoformat(),
    "last_onset": max(Relapse.objects.exclude(status="reported")
                      .values_list("onset", flat=True)),
    "patient1": {"subject": p1.subject, "visits": [v.isoformat() for v in Visit.objects
                 .filter(patient=p1).order_by("date").values_list("date", flat=True)],
                 "reported": list(Relapse.objects.filter(patient=p1, status="reported")
                                  .values_list("onset", flat=True)),
                 "diary": [d.isoformat() for d in SymptomEntry.objects.filter(patient=p1)
                           .aggregate(a=Min("date"), b=Max("date")).values()]},
}))
""").stdout.strip().splitlines()[-1])
    today = dt.date.fromisoformat(facts["today"])
    until = today - dt.timedelta(days=7)
    assert f"records until {until.isoformat()}" in done.stdout
    # the records end a week ago (patients followed to the registry's cut-off end there)
    assert facts["last_visit"] == until.isoformat()
    assert max(facts["last_scan"], facts["last_pro"], facts["last_onset"][:10]) <= str(until)
    # patient1: the clinic's visits lead up to the diary's weeks and the report after them
    one = facts["patient1"]
    first_diary, last_diary = (dt.date.fromisoformat(d) for d in one["diary"])
    last_visit = dt.date.fromisoformat(one["visits"][-1])
    assert first_diary <= last_visit + dt.timedelta(days=42), (last_visit, first_diary)
    assert today - last_diary < dt.timedelta(days=7)  # entries of the last weeks
    assert len(one["reported"]) == 1 and one["visits"][-1] < one["reported"][0] <= str(today)
    # the registry itself, every date moved by the same whole number of days
    registry = demo_registry(PATIENTS, seed=SEED)["visits"]
    shift = (until - dt.date.fromisoformat(DEMO_CUTOFF)).days
    expected = registry.loc[registry["id"] == int(one["subject"]), "date"] + dt.timedelta(
        days=shift)
    assert one["visits"] == [d.date().isoformat() for d in expected]
