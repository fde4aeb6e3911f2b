"""``neda-admin backup --clinic NAME -o FILE``: every row of one clinic in one JSON file.

What is in it (:func:`neda.web.clinic.exporting.backup_clinic`): the clinic, its patients
(their own data, names included), every record of every table - softly deleted ones with
their deletion time -, the patients' own portal entries (diary, exercise, adherence,
symptom medicines) and the clinic's exercise goals and questionnaire schedules (tables the
portal registers, :func:`neda.web.clinic.exporting.register_backup_table`; who reviewed or
set them by user name), the audit trail of all of them, and the clinic's staff and patient
accounts with their password hashes (never a password in clear) and their second factor's
TOTP devices, keys included (``--no-accounts`` leaves the accounts out, and with them every
credential). API tokens and login-throttling records are not kept: users make new tokens.
``FILE`` ending in ``.gz`` is gzip-compressed. The file holds personal health data and
credentials: it is written readable by its owner only.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from neda.web.clinic.exporting import backup_clinic
from neda.web.clinic.models import Clinic
from neda.web.clinic.schema_state import database_name, unapplied_migrations


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only, all at once (a temporary file
    renamed: a crash leaves the previous backup, never half a file)."""
    path = path.resolve()
    if not path.parent.is_dir():
        raise CommandError(f"{path.parent} is not a folder")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = ("Save every row of a clinic (patients, records with their deleted state, audit "
            "trail, accounts as password hashes) in a JSON file that 'restore' puts back.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True, help="the clinic's name")
        parser.add_argument("-o", "--output", required=True,
                            help="the backup file (.json, or .json.gz compressed)")
        parser.add_argument("--no-accounts", action="store_true",
                            help="leave out the staff and patient accounts")

    def handle(self, *args: Any, **opts: Any) -> None:
        if unapplied_migrations():
            raise CommandError(f"the database {database_name()} has no (or old) neda tables: "
                               "check NEDA_DATA_DIR / DATABASE_URL, or run 'neda-admin migrate'")
        try:
            clinic = Clinic.objects.get(name=opts["clinic"])
        except Clinic.DoesNotExist:
            names = ", ".join(f"'{c}'" for c in Clinic.objects.values_list("name", flat=True))
            raise CommandError(f"no clinic named '{opts['clinic']}' (clinics: "
                               f"{names or 'none'})") from None
        connection = transaction.get_connection()
        outermost = not connection.in_atomic_block
        with transaction.atomic():  # one consistent picture, even while the site runs
            if outermost and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            data = backup_clinic(clinic, accounts=not opts["no_accounts"])
        body = json.dumps(data, ensure_ascii=False, indent=1).encode()
        path = Path(opts["output"])
        write_private(path, gzip.compress(body) if path.suffix == ".gz" else body)
        rows = ", ".join(f"{n} {name}" for name, n in data["rows"].items())
        history = sum(len(v) for v in data["history"].values())
        accounts = (len(data["accounts"]["staff"]) + len(data["accounts"]["patients"])
                    if data["accounts"] else 0)
        self.stdout.write(f"Backed up '{clinic.name}' to {path}: {rows}; {history} audit "
                          f"entries; {accounts} accounts"
                          f"{' (left out)' if opts['no_accounts'] else ''}.")
