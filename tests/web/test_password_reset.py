"""Password reset by e-mail: the same answer whether or not the address has an account; the
link works once; the new password logs in; requests are limited per address and per client,
with the same answer beyond the limit whether or not the address has an account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client

NEW = "a-brand-new-password-77"


def _with_email(username: str, email: str) -> Any:
    user = get_user_model().objects.get(username=username)
    user.email = email
    user.save()
    return user


def test_the_answer_does_not_say_whether_an_address_exists(db: Any) -> None:
    _with_email("patient1", "p1@example.org")
    known = Client().post("/password-reset/", {"email": "p1@example.org"})
    unknown = Client().post("/password-reset/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/password-reset/sent/"
    sent = Client().get("/password-reset/sent/").content
    assert b"If the address belongs to an account" in sent
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["p1@example.org"]


def test_the_link_sets_a_new_password_once(db: Any) -> None:
    user = _with_email("patient2", "p2@example.org")
    Client().post("/password-reset/", {"email": "P2@example.org"})
    body = mail.outbox[0].body
    assert "patient2" in body
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", body)
    assert link, body
    client = Client()
    opened = client.get(link.group(1))
    assert opened.status_code == 302
    done = client.post(opened["Location"], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW)
    again = Client().get(link.group(1), follow=True)
    assert b"This link does not work" in again.content
    logged = Client().post("/login/", {"username": "patient2", "password": NEW})
    assert logged.status_code == 302


def test_the_login_page_links_the_reset(db: Any) -> None:
    assert b'href="/password-reset/"' in Client().get("/login/").content


@pytest.fixture
def fresh_limits() -> Iterator[None]:
    """The limits count in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


def _ask(email: str, client_address: str = "192.0.2.1") -> Any:
    return Client(REMOTE_ADDR=client_address).post("/password-reset/", {"email": email})


def test_reset_requests_are_limited_per_address_alike_for_unknown_ones(
        db: Any, fresh_limits: None) -> None:
    limits = settings.NEDA_PASSWORD_RESET_LIMITS
    _with_email("patient1", "p1@example.org")
    for n in range(limits["per_address"]):  # each from another client
        assert _ask("p1@example.org", f"192.0.2.{10 + n}").status_code == 302
        assert _ask("nobody@example.org", f"192.0.2.{10 + n}").status_code == 302
    assert len(mail.outbox) == limits["per_address"]
    known = _ask("P1@example.org ", "198.51.100.7")  # the same address, written otherwise
    unknown = _ask("nobody@example.org", "198.51.100.8")
    assert known.status_code == unknown.status_code == 429
    assert len(mail.outbox) == limits["per_address"]  # no more e-mail
    page = known.content.decode()
    assert "Too many requests for a password link: please wait an hour" in page

    def answer(response: Any) -> str:  # the page without its CSRF token and the address typed
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
        return re.sub(r'value="[^"]*@example.org\s*"', "", page)

    assert answer(known) == answer(unknown)  # nothing tells whether an account exists
    assert _ask("someone-else@example.org", "198.51.100.7").status_code == 302


def test_reset_requests_are_limited_per_client(db: Any, fresh_limits: None) -> None:
    limits = settings.NEDA_PASSWORD_RESET_LIMITS
    for n in range(limits["per_client"]):
        assert _ask(f"guess{n}@example.org").status_code == 302
    refused = _ask("one-more@example.org")
    assert refused.status_code == 429
    assert b"Too many requests for a password link" in refused.content
    assert _ask("one-more@example.org", "192.0.2.99").status_code == 302  # another client


def test_an_invalid_form_is_not_counted(db: Any, fresh_limits: None) -> None:
    limits = settings.NEDA_PASSWORD_RESET_LIMITS
    for _ in range(limits["per_client"] + 1):
        assert _ask("not an address").status_code == 200
    assert _ask("p@example.org").status_code == 302
