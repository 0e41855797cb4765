"""What a background job needs to run anywhere: its options, language and uploaded file.

The web process that accepts an upload and the job worker that imports it may be on
different machines (issue #20), so the file travels in the database, not in a temporary
folder; it is dropped once the job has ended (done or failed). Revision ``0013``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import inclusive_cities.store.web_models  # noqa: F401  (the jobs table this one refers to)
from inclusive_cities.store.base import Base, utcnow


class JobPayload(Base):
    """The input of one job in ``jobs``: kept until the job ends, so a retry can run it."""

    __tablename__ = "job_payloads"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    options: Mapped[dict] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8), default="es")
    file_name: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queue_job_id: Mapped[int | None] = mapped_column(Integer)
    """The Procrastinate job that runs it (PostgreSQL); None for the in-process runner."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


__all__ = ["JobPayload"]
