"""``neda-admin``: Django's management commands for the clinic (``neda-admin migrate``,
``neda-admin createadmin``, ``neda-admin demo_clinic``, ``neda-admin runserver`` ...)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neda.web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
