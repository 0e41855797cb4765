"""A write while another process holds SQLite's one write lock (a long ``publish``): the web
answers 503 in the page's language with Retry-After, and the CLI says to wait, instead of
"Internal Server Error" or "Unexpected error … report it" (found by a newcomer trial)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from inclusive_cities.cli import main
from inclusive_cities.store import connect, transaction
from inclusive_cities.store.busy import is_busy
from inclusive_cities.web import auth, create_app
from tests.web.conftest import City, specs

EMAIL = "analista@example.org"
PASSWORD = "clave-de-analista-2026"


@contextmanager
def write_lock(url: str) -> Iterator[None]:
    """Hold the write lock the way a running publish does: an open write transaction."""
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0.1)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def test_a_login_while_the_store_is_locked_is_a_503_in_spanish(fresh_city: City) -> None:
    with transaction(connect(fresh_city.url)) as session:
        auth.create_user(session, EMAIL, "analyst", PASSWORD)
    with TestClient(create_app(fresh_city.url, specs=specs)) as client:
        assert client.get("/?lang=es").status_code == 200  # reads go on (WAL)
        with write_lock(fresh_city.url):
            answer = client.post(
                "/admin/login?lang=es",
                data={"email": EMAIL, "password": PASSWORD},
                follow_redirects=False,
            )
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "60"
        assert "El observatorio se está actualizando" in answer.text
        # once the lock is gone the same login goes through
        again = client.post(
            "/admin/login", data={"email": EMAIL, "password": PASSWORD}, follow_redirects=False
        )
        assert again.status_code == 303


def test_a_command_while_the_store_is_locked_says_to_wait(
    fresh_city: City, capsys: pytest.CaptureFixture[str]
) -> None:
    with write_lock(fresh_city.url), pytest.raises(SystemExit) as stop:
        main(
            [
                "-d",
                fresh_city.url,
                "--lang",
                "en",
                *("users", "add", "--role", "admin", "--email", "b@example.org"),
                *("--password", "another-long-password"),
            ]
        )
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "The database is busy with another operation" in err
    assert "report it" not in err


def test_only_lock_waits_count_as_busy() -> None:
    from sqlalchemy.exc import OperationalError

    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert is_busy(locked)
    assert not is_busy(OperationalError("SELECT", {}, sqlite3.OperationalError("no such table")))
    assert not is_busy(ValueError("database is locked"))  # not a driver's error
    wrapped = RuntimeError("job failed")
    wrapped.__cause__ = locked
    assert is_busy(wrapped)
