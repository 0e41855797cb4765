"""Tables of territorial intervention plans, neighbourhood proposals and participatory designs
of public spaces (issue #17 §2).

A plan item keeps its own copy of the project's name, type, cost and site (and the code of the
candidate in ``planning_projects`` it came from, if any): candidates are replaced as a whole each
time ``plan import-projects`` runs, while a commitment in a plan must outlive those re-imports.
They share :mod:`inclusive_cities.store.models`' ``Base`` (revision ``0010``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from inclusive_cities.store.base import Base, utcnow

ITEM_STATUSES = ("proposed", "approved", "under_way", "done")
"""Where a project of a plan stands; ``done`` is what programme results count."""
PROPOSAL_OUTCOMES = ("adopted", "not_adopted", "pending")
PHOTO_STAGES = ("before", "after")
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTO_BYTES = 5 * 1024 * 1024
"""Photos are kept in the store (a blob) so a backup of the database is the whole record."""


class TerritorialPlan(Base):
    """A city's territorial intervention plan for a period (e.g. 2026-2029)."""

    __tablename__ = "territorial_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text, default="")
    period: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("city_id", "code"),)


class TerritorialPlanItem(Base):
    """One project of a plan: what, where, how much, who pays, when and how far along."""

    __tablename__ = "territorial_plan_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("territorial_plans.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    project_code: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    funding_source: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    unit_codes: Mapped[list | None] = mapped_column(JSON)
    targets: Mapped[list | None] = mapped_column(JSON)
    solution_codes: Mapped[list | None] = mapped_column(JSON)
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary)
    attributes: Mapped[dict | None] = mapped_column(JSON)
    source_file: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        CheckConstraint("cost >= 0", name="cost"),
        CheckConstraint("status IN ('proposed', 'approved', 'under_way', 'done')", name="status"),
        CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR end_date >= start_date", name="dates"
        ),
    )


class NeighbourhoodProposal(Base):
    """A community's proposal and what became of it (adopted into the plan or not, and why)."""

    __tablename__ = "neighbourhood_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[str] = mapped_column(Text, default="")
    submitted_on: Mapped[date | None] = mapped_column(Date)
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    plan_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("territorial_plan_items.id", ondelete="SET NULL"), index=True
    )
    source_file: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("city_id", "code"),
        CheckConstraint("supporters >= 0", name="supporters"),
        CheckConstraint("outcome IN ('adopted', 'not_adopted', 'pending')", name="outcome"),
    )


class PublicSpaceDesign(Base):
    """Participatory design of a public space: the space, the workshops held, the options."""

    __tablename__ = "public_space_designs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text, default="")
    plan_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("territorial_plan_items.id", ondelete="SET NULL"), index=True
    )
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary)
    workshop_codes: Mapped[list | None] = mapped_column(JSON)
    options: Mapped[list | None] = mapped_column(JSON)
    chosen_option: Mapped[str] = mapped_column(String(64), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("city_id", "code"),)


class PublicSpacePhoto(Base):
    """A before or after photo of a designed space, kept as a checked blob (≤ 5 MB)."""

    __tablename__ = "public_space_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    design_id: Mapped[int] = mapped_column(
        ForeignKey("public_space_designs.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    caption: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("design_id", "sha256"),
        CheckConstraint("stage IN ('before', 'after')", name="stage"),
        CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')", name="content_type"
        ),
        CheckConstraint("size_bytes > 0 AND size_bytes <= 5242880", name="size"),
    )
