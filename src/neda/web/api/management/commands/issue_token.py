"""``neda-admin issue_token --username X --name Y``: an API token acting as that user.

The key is printed once, alone on standard output (``KEY=$(neda-admin issue_token ...)``); only
its hash is stored, so it cannot be shown again - a lost key is replaced by issuing a new one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from neda.web.clinic.access import role_of
from neda.web.clinic.models import ApiToken


class Command(BaseCommand):
    help = ("Issue a JSON API token for a user (same access as the user has on the screens); "
            "the key is printed once.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True, help="the user the token acts as")
        parser.add_argument("--name", required=True,
                            help="what the token is for, e.g. 'registry export script'")

    def handle(self, *args: Any, **opts: Any) -> None:
        name = opts["name"].strip()
        if not name:
            raise CommandError("--name must not be empty")
        if len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
            raise CommandError("--name is too long (100 characters at most)")
        try:
            user = get_user_model().objects.get(username=opts["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {opts['username']!r}") from None
        if not user.is_active:
            raise CommandError(f"user {user.username!r} is not active")
        role = role_of(user)
        if role is None:
            raise CommandError(f"user {user.username!r} is neither staff of a clinic nor a "
                               "patient: a token would see nothing")
        token, key = ApiToken.issue(user, name)
        self.stderr.write(f"Token {token.name!r} for {user.username} ({role}) issued. Keep "
                          "the key now: it is not stored and cannot be shown again. Use it as "
                          "'Authorization: Bearer <key>'.")
        self.stdout.write(key)
