"""``neda-admin createadmin``: the first administrator of a clinic (and the clinic)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from neda.web.clinic.models import Clinic, StaffMember


class Command(BaseCommand):
    help = "Create a clinic's administrator (and the clinic, if it does not exist)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--clinic", required=True, help="clinic name")
        parser.add_argument("--password-env", default=None,
                            help="name of an environment variable holding the password "
                                 "(else it is asked for)")

    def handle(self, *args: Any, **opts: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username=opts["username"]).exists():
            raise CommandError(f"user {opts['username']!r} exists already")
        if opts["password_env"]:
            password = os.environ.get(opts["password_env"], "")
            if not password:
                raise CommandError(f"environment variable {opts['password_env']} is empty")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the passwords differ")
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        with transaction.atomic():
            clinic, _ = Clinic.objects.get_or_create(name=opts["clinic"])
            user = user_model.objects.create_user(opts["username"], password=password)
            StaffMember.objects.create(user=user, clinic=clinic, role="admin")
        self.stdout.write(f"Administrator {opts['username']} of {clinic.name} created.")
