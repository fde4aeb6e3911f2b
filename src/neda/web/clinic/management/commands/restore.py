"""``neda-admin restore FILE [--clinic NEW_NAME]``: put back a clinic saved by ``backup``.

All or nothing, in one transaction (:func:`neda.web.clinic.importing.restore_clinic`):
every patient and record with its deleted state, the portal's entries, goals and schedules
(a backup made before the portal, format version 1, has none), the audit trail, and the
accounts with their second factor (``--no-accounts`` leaves them out; a user name already
taken stops the restore). Into an
empty database the rows keep their ids, so URLs and researchers' pseudonyms stay the same;
beside an existing clinic (``--clinic NEW_NAME``) the copy gets new ids.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from neda.io import InputError
from neda.web.clinic.importing import RestoreError, restore_clinic
from neda.web.clinic.schema_state import database_name, unapplied_migrations


def read_backup(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return json.loads(raw)
    except (OSError, EOFError, ValueError) as exc:
        raise CommandError(f"{path} is not a neda backup (not JSON: {exc})") from None


class Command(BaseCommand):
    help = "Put back a clinic saved by 'backup' (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the backup file")
        parser.add_argument("--clinic", default=None,
                            help="restore under this name (default: the name in the backup)")
        parser.add_argument("--no-accounts", action="store_true",
                            help="leave out the staff and patient accounts of the backup")

    def handle(self, *args: Any, **opts: Any) -> None:
        data = read_backup(Path(opts["file"]))
        pending = unapplied_migrations()
        if pending:  # a new data folder: its tables are made first
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write(f"Database {database_name()}: {len(pending)} migrations applied "
                              "(neda's tables made).")
        try:
            result = restore_clinic(data, name=opts["clinic"],
                                    accounts=not opts["no_accounts"])
        except RestoreError as exc:
            raise CommandError(f"nothing restored: {exc}") from None
        rows = ", ".join(f"{n} {name}" for name, n in result.rows.items())
        own = "".join(f", {n} {name}" for name, n in result.account_rows.items() if n)
        self.stdout.write(f"Restored '{result.clinic.name}': {rows}; {result.history} audit "
                          f"entries; {result.accounts} accounts{own}.")
        for note in result.notes:
            self.stdout.write(f"Note: {note}.")
        self._check(result.clinic)

    def _check(self, clinic: Any) -> None:
        """Read the restored patients through neda.io, as their courses will be."""
        from neda.web.clinic.course import tables_for
        from neda.web.clinic.models import Patient

        patients = list(Patient.objects.filter(clinic=clinic))
        try:
            tables_for(patients)
        except InputError as exc:
            self.stderr.write(f"Warning: the restored records do not all read as neda's "
                              f"tables (as in the backup):\n{exc}")
        else:
            self.stdout.write(f"Checked: the records of {len(patients)} patients read as "
                              "neda's tables.")
