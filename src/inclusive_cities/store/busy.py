"""Telling a busy store from a broken one.

SQLite lets one writer in at a time: while a long ``publish`` or import holds the write lock,
any other write waits a few seconds and then fails with "database is locked". That is not a
bug to report but a moment to wait, so the CLI and the web say so in the user's language.
Checked by name, not by class, so the CLI's start-up need not import SQLAlchemy.
"""

from __future__ import annotations

BUSY_SIGNS = (
    "database is locked",  # SQLite: another connection holds the write lock
    "database table is locked",
    "lock timeout",  # PostgreSQL: lock_timeout expired
)


def is_busy(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) is a write that waited for a lock in vain."""
    seen = 0
    while error is not None and seen < 8:
        if type(error).__name__ == "OperationalError" and any(
            sign in str(error).lower() for sign in BUSY_SIGNS
        ):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False
