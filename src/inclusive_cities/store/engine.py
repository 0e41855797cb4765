"""Opening the observatory database: one function for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from inclusive_cities.errors import StoreError
from inclusive_cities.i18n import gettext as _


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the web app) work while an import writes; SQLite leaves
    # foreign keys off unless asked, and our ON DELETE CASCADE relies on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite the parent folder must exist and be writable."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(
            _(
                "Database URL {url!r} is not valid: use sqlite:///PATH or postgresql://USER@HOST/DB."
            ).format(url=url)
        ) from error
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise StoreError(
                    _(
                        "Cannot create the database {path}: folder {folder} does not exist. "
                        "Create it or choose another --database path."
                    ).format(path=database, folder=folder)
                )
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        # as many connections as a web worker has request threads (anyio's 40), so a busy
        # worker queues requests for threads instead of failing them on a 30 s pool timeout
        return create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=30, pool_timeout=120
        )
    raise StoreError(
        _(
            "Database {backend!r} is not supported: use sqlite:///PATH or postgresql://USER@HOST/DB."
        ).format(backend=backend)
    )


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed as a whole, or not at all."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
