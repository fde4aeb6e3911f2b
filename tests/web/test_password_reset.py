"""Password reset by e-mail: the same answer whether or not the address has an account; the
link works once; the new password logs in."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core import mail
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
