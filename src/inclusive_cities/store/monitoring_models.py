"""Tables of programme monitoring (issue #18 §1): programmes, their target cities, the
results framework (outcomes, outputs, indicators) and baseline, target and actual values.

Kept apart from :mod:`inclusive_cities.store.models` like the web tables; they share its
``Base`` (one metadata, one migration history: revision ``0011``).

A target city *may* be a store city (``city_id`` set: the observatory has its data and the
computed indicators are queries) or only a name, a country and a point (results only).
Values are per target city and period; a country's figure is the sum or count over its
target cities, so it is never typed twice. Disaggregation keys use ``_T`` for "all".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from inclusive_cities.store.base import TOTAL, Base, utcnow

RESULT_LEVELS = ("outcome", "output")
VALUE_KINDS = ("baseline", "target", "actual")
AGGREGATIONS = ("sum", "count_cities", "mean", "max")
ACCUMULATIONS = ("", "per_period", "cumulative")
"""How an indicator's figures add up over time: ``per_period`` (each period counts what happened
in it: a semester is the sum of its months), ``cumulative`` (each figure is the running total at
the period's end: a semester is its last month), or "" (not declared: nothing is rolled up,
since summing cumulative months would count people several times)."""
"""How a country's or the programme's figure comes from its cities' figures."""


class Programme(Base):
    """A programme that reports results across target cities."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_es: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    framework: Mapped[str] = mapped_column(String(64), default="")
    reporting_org: Mapped[str] = mapped_column(Text, default="")
    reporting_org_ref: Mapped[str] = mapped_column(String(64), default="")
    iati_identifier: Mapped[str] = mapped_column(String(120), default="")
    start_date: Mapped[str] = mapped_column(String(10), default="")
    end_date: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TargetCity(Base):
    """A city the programme works in: a store city, or a name, country and point only."""

    __tablename__ = "programme_target_cities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(3))
    adm1: Mapped[str] = mapped_column(Text, default="")
    city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.id", ondelete="SET NULL"))
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("programme_id", "code"),)


class ResultNode(Base):
    """An outcome or an output of the results framework."""

    __tablename__ = "programme_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str] = mapped_column(String(64), default="")
    name_es: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("programme_id", "code"),
        CheckConstraint("level IN ('outcome', 'output')", name="level"),
    )


class ProgrammeIndicator(Base):
    """An indicator of a result: typed by staff, or computed from the store (``computed``)."""

    __tablename__ = "programme_indicators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    result_id: Mapped[int] = mapped_column(ForeignKey("programme_results.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name_es: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(40), default="")
    measure: Mapped[str] = mapped_column(String(16), default="unit")
    aggregation: Mapped[str] = mapped_column(String(16), default="sum")
    accumulation: Mapped[str] = mapped_column(String(16), default="", server_default="")
    disaggregations: Mapped[list | None] = mapped_column(JSON)
    verification_es: Mapped[str] = mapped_column(Text, default="")
    verification_en: Mapped[str] = mapped_column(Text, default="")
    computed: Mapped[str] = mapped_column(String(64), default="")
    sector: Mapped[str] = mapped_column(String(64), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("programme_id", "code"),
        CheckConstraint("measure IN ('unit', 'percentage')", name="measure"),
        CheckConstraint(
            "aggregation IN ('sum', 'count_cities', 'mean', 'max')", name="aggregation"
        ),
    )


class IndicatorValue(Base):
    """A baseline, target or actual of one indicator for one target city and period, for
    one disaggregation cell (``_T`` = all). Re-importing the same cell replaces it."""

    __tablename__ = "programme_values"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("programme_indicators.id", ondelete="CASCADE"), index=True
    )
    target_city_id: Mapped[int] = mapped_column(
        ForeignKey("programme_target_cities.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(10))
    sex: Mapped[str] = mapped_column(String(16), default=TOTAL)
    age_group: Mapped[str] = mapped_column(String(16), default=TOTAL)
    nationality: Mapped[str] = mapped_column(String(24), default=TOTAL)
    topic: Mapped[str] = mapped_column(String(40), default=TOTAL)
    value: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (
        UniqueConstraint(
            "indicator_id",
            "target_city_id",
            "period",
            "kind",
            "sex",
            "age_group",
            "nationality",
            "topic",
            name="uq_programme_values_cell",
        ),
        CheckConstraint("kind IN ('baseline', 'target', 'actual')", name="kind"),
    )


class UserCity(Base):
    """Which target cities a ``programme`` staff member may edit."""

    __tablename__ = "programme_user_cities"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    city_code: Mapped[str] = mapped_column(String(64), primary_key=True)


__all__ = [
    "ACCUMULATIONS",
    "AGGREGATIONS",
    "RESULT_LEVELS",
    "VALUE_KINDS",
    "IndicatorValue",
    "Programme",
    "ProgrammeIndicator",
    "ResultNode",
    "TargetCity",
    "UserCity",
]
