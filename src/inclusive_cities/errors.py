"""The one error type users see: a message written for the person who must fix the input.

Each domain subclasses :class:`InclusiveCitiesError`; the CLI and the web print
``str(error)`` as one line and never a traceback (unless ``--verbose``).
"""

from __future__ import annotations


class InclusiveCitiesError(Exception):
    """A failure the user can act on; ``str()`` is a complete, translated sentence."""

    exit_code = 1


class UsageError(InclusiveCitiesError):
    """The command was called wrongly (maps to exit status 2)."""

    exit_code = 2


class StoreError(InclusiveCitiesError):
    """The observatory database cannot be opened, created or upgraded."""
