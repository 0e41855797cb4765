"""PDF reports made by a job and kept in the database (issue #20), revision ``0014``.

A report is rendered by a job worker (or the SQLite web process's job thread), not inside
the request that asked for it; its bytes live here so any web worker can serve a PDF that
any job worker made. ``key`` names the report (kind, inputs, language, who may see it and
the store's fingerprint): a repeat request finds the stored file, two clicks find the
same job. A failed job gives its key up, so asking again starts a new one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import inclusive_cities.store.web_models  # noqa: F401  (the jobs table this one refers to)
from inclusive_cities.store.base import Base, utcnow


class ReportFile(Base):
    """One report job's request and, once it has run, its file."""

    __tablename__ = "report_files"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of what makes the report; None once the job failed (a new request retries)."""
    kind: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8), default="es")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    """False: only a signed-in user may follow the job and download the file."""
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    file_name: Mapped[str] = mapped_column(Text, default="")
    media_type: Mapped[str] = mapped_column(String(80), default="application/pdf")
    back_url: Mapped[str] = mapped_column(Text, default="")
    """The page the report was asked from (the status page links back to it)."""
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


__all__ = ["ReportFile"]
