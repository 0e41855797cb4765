"""What the staff pages' forms share: the file a form uploads, checked the same way everywhere,
and the audit line of what a form changed.

Workshops, territorial plans, the programme's results and governance assessments each take a
filled-in file; each used to read, check and save it, and write its audit entry, in its own
copy of the same lines.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, UploadFile

from inclusive_cities.web import auth
from inclusive_cities.web.errors import WebError
from inclusive_cities.web.site import client_address, context


@dataclass(frozen=True)
class Upload:
    """A file a staff form sent: its name without folders, and at most ``limit + 1`` bytes
    (one more than allowed, so a file over the limit is told apart without reading it all)."""

    name: str
    content: bytes
    limit: int

    @classmethod
    async def read(cls, file: UploadFile, limit: int) -> Upload:
        content = await file.read(limit + 1)
        return cls(Path(file.filename or "").name, content, limit)

    def check(
        self, suffixes: tuple[str, ...], wrong_kind: str, too_large: str, **values: Any
    ) -> None:
        """Raise the form's one-line error when the file is not of its kind (``wrong_kind``,
        formatted with the file's ``name`` and ``values``) or larger than the limit."""
        if not self.name.lower().endswith(suffixes):
            raise WebError(wrong_kind.format(name=self.name[:100] or "?", **values))
        if len(self.content) > self.limit:
            raise WebError(too_large)

    @contextmanager
    def saved(self, prefix: str) -> Iterator[Path]:
        """The file on disk under its own name (importers read suffixes and name errors after
        the file), removed with its folder afterwards."""
        with tempfile.TemporaryDirectory(prefix=prefix) as folder:
            path = Path(folder) / (self.name or "upload")
            path.write_bytes(self.content)
            yield path


def audit(request: Request, who: auth.Identity, action: str, target: str, **details: Any) -> None:
    """Record who changed what from which address, in its own transaction."""
    with context(request).session() as session:
        auth.audit(
            session,
            action,
            user=who.email,
            target=target,
            client=client_address(request),
            details=details,
        )
        session.commit()
