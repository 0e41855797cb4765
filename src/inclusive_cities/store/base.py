"""What every table module shares: the declarative ``Base`` and its naming convention.

The core tables (:mod:`inclusive_cities.store.models`) and the tables of later domains
(plans, workshops, programme monitoring, web jobs …) all derive from this ``Base``, so
``Base.metadata`` is one schema; they import it from here, not from ``models``, so that
``models`` can pull them in to complete the metadata without an import cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TOTAL = "_T"
"""Disaggregation key meaning "all" (the SDMX convention), so that unique constraints hold."""


def utcnow() -> datetime:
    """Naive UTC now: both SQLite and PostgreSQL columns store UTC without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
