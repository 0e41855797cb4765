"""Tables of co-creation workshops (issue #17 §1): the workshop, who took part, its problem
tree and its systematisation matrix.

Kept in their own module (revision ``0009``) so that the planning work of several people can
change the schema without touching :mod:`inclusive_cities.store.models`; they share its
``Base``. Links to marker areas, dimensions, indicators and units are JSON lists of codes, so a
workshop survives a re-import of the geography or the catalogue that it only points at.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from inclusive_cities.store.base import Base, utcnow

NODE_KINDS = ("central", "cause", "effect")
"""A problem tree: one central problem, causes (and sub-causes) below, effects above."""
MATRIX_KINDS = ("demand", "cause", "asset", "differential", "solution")
"""Columns of the systematisation matrix, per thematic area."""
PARTICIPANT_NATIONALITIES = ("host", "refugee_migrant")
"""Nationality groups in which workshop participants are counted."""


class Workshop(Base):
    """A co-creation workshop held in a city: when, where, on which marker areas, by whom."""

    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    held_on: Mapped[date | None] = mapped_column(Date)
    unit_code: Mapped[str] = mapped_column(String(64), default="")
    place_name: Mapped[str] = mapped_column(Text, default="")
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    areas: Mapped[list | None] = mapped_column(JSON)
    facilitators: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    source_file: Mapped[str] = mapped_column(Text, default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("city_id", "code"),
        CheckConstraint("(longitude IS NULL) = (latitude IS NULL)", name="point"),
    )


class WorkshopParticipants(Base):
    """How many people took part, by sex × age group × nationality group × role (long table)."""

    __tablename__ = "workshop_participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    sex: Mapped[str] = mapped_column(String(16))
    age_group: Mapped[str] = mapped_column(String(16))
    nationality: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("workshop_id", "sex", "age_group", "nationality", "role"),
        CheckConstraint("count >= 0", name="count"),
        CheckConstraint("nationality IN ('host', 'refugee_migrant')", name="nationality"),
    )


class WorkshopTreeNode(Base):
    """A node of a workshop's problem tree; ``parent_id`` is empty only for the central problem."""

    __tablename__ = "workshop_tree_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshop_tree_nodes.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    areas: Mapped[list | None] = mapped_column(JSON)
    dimensions: Mapped[list | None] = mapped_column(JSON)
    indicators: Mapped[list | None] = mapped_column(JSON)
    units: Mapped[list | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("workshop_id", "code"),
        CheckConstraint("kind IN ('central', 'cause', 'effect')", name="kind"),
    )


class WorkshopMatrixRow(Base):
    """A row of the systematisation matrix; solutions keep stable codes (``S-01``) that plan
    projects point at, and demands/causes list the solution codes they propose."""

    __tablename__ = "workshop_matrix_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    area: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    indicators: Mapped[list | None] = mapped_column(JSON)
    units: Mapped[list | None] = mapped_column(JSON)
    solutions: Mapped[list | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("workshop_id", "code"),
        CheckConstraint(
            "kind IN ('demand', 'cause', 'asset', 'differential', 'solution')", name="kind"
        ),
    )
