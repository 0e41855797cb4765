"""Tables of what the programme delivers: trainings, entrepreneurs, policies, centres, commitments.

Kept apart from :mod:`inclusive_cities.store.models` (one ``Base``, migration ``0012``) so the
observatory's data model does not change when the programme's records do. Every record hangs on
a programme target city (``programme_target_cities``, revision ``0011``), a store city or not;
people are anonymous ids only, and nothing here is published except through aggregates.
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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

import inclusive_cities.store.monitoring_models  # noqa: F401  (programme_target_cities joins the metadata)
from inclusive_cities.store.base import Base, utcnow

TOPICS = (
    "human_mobility",
    "mgi",
    "protection",
    "inclusive_planning",
    "socioeconomic_integration",
    "entrepreneurship",
    "conflict_resolution",
    "gender_based_violence",
    "leadership",
    "self_construction",
    "other",
)
AUDIENCES = ("public_servants", "community")
SEXES = ("female", "male", "other", "unknown")
NATIONALITIES = ("host", "refugee_migrant", "unknown")
POLICY_TYPES = ("development_plan", "ordinance", "public_policy", "programme")
POLICY_LEVELS = ("municipal", "provincial", "national")
POLICY_STAGES = ("proposed", "drafted", "adopted")
CENTRE_STATUSES = ("active", "in_preparation", "closed")
COMMITMENT_STATUSES = ("agreed", "in_progress", "fulfilled", "dropped")
PRINCIPLES = (
    "inclusion_diversity",
    "inclusive_governance",
    "intercultural_dialogue",
    "no_one_left_behind",
    "civic_solidarity",
    "empowerment_equity",
    "action_nexus",
)
"""The principles declaration of the centres network, in its order; a self-assessment scores
each from 1 (not started) to 4 (consolidated)."""


def _in(column: str, words: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{word}'" for word in words)
    return f"{column} IN ({quoted})"


class DeliveryTraining(Base):
    """A training session in a target city: its topic, audience and date."""

    __tablename__ = "delivery_trainings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    target_city_id: Mapped[int] = mapped_column(
        ForeignKey("programme_target_cities.id", ondelete="CASCADE"), index=True
    )
    topic: Mapped[str] = mapped_column(String(40))
    audience: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text, default="")
    held_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("topic", TOPICS), name="topic"),
        CheckConstraint(_in("audience", AUDIENCES), name="audience"),
        CheckConstraint("hours IS NULL OR hours > 0", name="hours"),
    )


class DeliveryParticipant(Base):
    """One anonymous participant of a session, with the pre/post assessment scores (0-100)."""

    __tablename__ = "delivery_training_participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_trainings.id", ondelete="CASCADE"), index=True
    )
    participant: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    age_group: Mapped[str] = mapped_column(String(16), default="")
    nationality: Mapped[str] = mapped_column(String(20), default="unknown")
    pre_score: Mapped[float | None] = mapped_column(Float)
    post_score: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("training_id", "participant"),
        CheckConstraint(_in("sex", SEXES), name="sex"),
        CheckConstraint(_in("nationality", NATIONALITIES), name="nationality"),
        CheckConstraint("pre_score IS NULL OR (pre_score >= 0 AND pre_score <= 100)", name="pre"),
        CheckConstraint(
            "post_score IS NULL OR (post_score >= 0 AND post_score <= 100)", name="post"
        ),
    )


class DeliveryEntrepreneur(Base):
    """A person supported with a business (anonymous id), one activity of the integration plan."""

    __tablename__ = "delivery_entrepreneurs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_city_id: Mapped[int] = mapped_column(
        ForeignKey("programme_target_cities.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    age_group: Mapped[str] = mapped_column(String(16), default="")
    nationality: Mapped[str] = mapped_column(String(20), default="unknown")
    sector: Mapped[str] = mapped_column(String(64), default="")
    plan_activity: Mapped[str] = mapped_column(String(64), default="")
    supported_on: Mapped[date | None] = mapped_column(Date)
    trainings: Mapped[list | None] = mapped_column(JSON)
    open_6m: Mapped[bool | None] = mapped_column(Boolean)
    open_12m: Mapped[bool | None] = mapped_column(Boolean)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (
        UniqueConstraint("target_city_id", "code"),
        CheckConstraint(_in("sex", SEXES), name="sex"),
        CheckConstraint(_in("nationality", NATIONALITIES), name="nationality"),
    )


class DeliveryPolicy(Base):
    """A policy or local instrument the programme supported, and how far it went."""

    __tablename__ = "delivery_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(12))
    target_city_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme_target_cities.id", ondelete="CASCADE"), index=True
    )
    country: Mapped[str] = mapped_column(String(3), default="")
    stage: Mapped[str] = mapped_column(String(10))
    proposed_on: Mapped[date | None] = mapped_column(Date)
    drafted_on: Mapped[date | None] = mapped_column(Date)
    adopted_on: Mapped[date | None] = mapped_column(Date)
    documents: Mapped[list | None] = mapped_column(JSON)
    marker_areas: Mapped[list | None] = mapped_column(JSON)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (
        CheckConstraint(_in("kind", POLICY_TYPES), name="kind"),
        CheckConstraint(_in("level", POLICY_LEVELS), name="level"),
        CheckConstraint(_in("stage", POLICY_STAGES), name="stage"),
        CheckConstraint("stage <> 'adopted' OR adopted_on IS NOT NULL", name="adopted_date"),
    )


class DeliveryCentre(Base):
    """A Social Integration and Habitat Co-creation Centre of the network (a point in WGS 84)."""

    __tablename__ = "delivery_centres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    target_city_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme_target_cities.id", ondelete="SET NULL"), index=True
    )
    city: Mapped[str] = mapped_column(Text, default="")
    country: Mapped[str] = mapped_column(String(3), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    services: Mapped[list | None] = mapped_column(JSON)
    opening_hours: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    principles: Mapped[dict | None] = mapped_column(JSON)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("status", CENTRE_STATUSES), name="status"),
        CheckConstraint("lon >= -180 AND lon <= 180 AND lat >= -90 AND lat <= 90", name="lonlat"),
    )


class DeliveryCommitment(Base):
    """A commitment a city agreed in a multilevel dialogue space: what, who, when, evidence."""

    __tablename__ = "delivery_commitments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    target_city_id: Mapped[int] = mapped_column(
        ForeignKey("programme_target_cities.id", ondelete="CASCADE"), index=True
    )
    what: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(Text, default="")
    dialogue_space: Mapped[str] = mapped_column(Text, default="")
    agreed_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="agreed")
    evidence: Mapped[str] = mapped_column(Text, default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (CheckConstraint(_in("status", COMMITMENT_STATUSES), name="status"),)
