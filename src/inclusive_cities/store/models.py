"""The observatory's tables: SQLAlchemy 2 declarative models.

One schema for SQLite and PostgreSQL: geometries are WKB in EPSG:4326 with
bounding-box columns (so both engines can filter by extent with plain indexes),
and spatial work happens in Shapely/GeoPandas. Every row an import creates points
at its :class:`ImportBatch`, so any figure can be traced to the file it came from.

Change these models only together with a new Alembic migration in
``store/migrations/versions`` (a test compares the two).
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
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from inclusive_cities.store.base import TOTAL, Base, utcnow

OBSERVATION_STATUSES = ("observed", "computed", "imputed", "estimated", "suppressed")
DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral", "unknown")
"""Which end of an indicator is good; ``neutral`` for descriptive figures (population, the share
of Venezuelans) that are neither better nor worse when higher; ``unknown`` for an imported
column nobody has declared yet (shown like ``neutral``, refused by a marker spec)."""
NEVER_JUDGED = ("neutral", "unknown")
"""Directions that are never judged good or bad: neutral colours, no performance levels."""


class ImportBatch(Base):
    """One file brought into the store: what it was, who brought it, how it went."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    imported_by: Mapped[str] = mapped_column(String(200), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="active")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    details: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'replaced')", name="status"),
        CheckConstraint(
            "rows_read >= 0 AND rows_accepted >= 0 AND rows_rejected >= 0", name="rows"
        ),
    )


class City(Base):
    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(3), default="")
    projected_crs: Mapped[str | None] = mapped_column(String(40))
    is_synthetic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UnitLevel(Base):
    """A tier of the city's geography (locality > neighbourhood > block, or a grid)."""

    __tablename__ = "unit_levels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name_es: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    depth: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("city_id", "code"),
        UniqueConstraint("city_id", "depth"),
        CheckConstraint("depth >= 0", name="depth"),
    )


class SpatialUnit(Base):
    __tablename__ = "spatial_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    level_id: Mapped[int] = mapped_column(ForeignKey("unit_levels.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("spatial_units.id", ondelete="CASCADE"), index=True
    )
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary)
    min_x: Mapped[float | None] = mapped_column(Float)
    min_y: Mapped[float | None] = mapped_column(Float)
    max_x: Mapped[float | None] = mapped_column(Float)
    max_y: Mapped[float | None] = mapped_column(Float)
    area_m2: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (
        UniqueConstraint("city_id", "level_id", "code"),
        Index("ix_spatial_units_bbox", "city_id", "min_x", "max_x", "min_y", "max_y"),
        CheckConstraint("area_m2 IS NULL OR area_m2 >= 0", name="area"),
    )


class Period(Base):
    """A census year, a survey round or any dated snapshot; every value belongs to one."""

    __tablename__ = "periods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR start_date <= end_date", name="dates"
        ),
    )


class Indicator(Base):
    """A catalogue entry: what an indicator means, where it comes from, its benchmarks."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_es: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    area: Mapped[str] = mapped_column(String(32), default="")
    dimension: Mapped[str] = mapped_column(String(32), default="")
    unit: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[str] = mapped_column(String(20), default="higher_is_better")
    source: Mapped[str] = mapped_column(Text, default="")
    formula: Mapped[str] = mapped_column(Text, default="")
    benchmark_lower: Mapped[float | None] = mapped_column(Float)
    benchmark_upper: Mapped[float | None] = mapped_column(Float)
    benchmark_source: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint(
            "direction IN ('higher_is_better', 'lower_is_better', 'neutral', 'unknown')",
            name="direction",
        ),
    )


class Observation(Base):
    """One value of one indicator for one unit and period, optionally for one group."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("spatial_units.id", ondelete="CASCADE"), index=True
    )
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"))
    sex: Mapped[str] = mapped_column(String(16), default=TOTAL)
    age_group: Mapped[str] = mapped_column(String(16), default=TOTAL)
    nationality: Mapped[str] = mapped_column(String(16), default=TOTAL)
    value: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int | None] = mapped_column(Integer)
    standard_error: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), default="observed")
    source: Mapped[str] = mapped_column(Text, default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (
        UniqueConstraint("indicator_id", "unit_id", "period_id", "sex", "age_group", "nationality"),
        CheckConstraint(
            "status IN ('observed', 'computed', 'imputed', 'estimated', 'suppressed')",
            name="status",
        ),
        CheckConstraint("status = 'suppressed' OR value IS NOT NULL", name="value_present"),
        CheckConstraint("n IS NULL OR n >= 0", name="n"),
        CheckConstraint("standard_error IS NULL OR standard_error >= 0", name="se"),
        Index("ix_observations_period_indicator", "period_id", "indicator_id"),
    )


class Facility(Base):
    """A point where a service is offered (health centre, school, park, integration centre…)."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text, default="")
    longitude: Mapped[float] = mapped_column(Float)
    latitude: Mapped[float] = mapped_column(Float)
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary)
    capacity: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (
        UniqueConstraint("city_id", "code"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
        Index("ix_facilities_city_type", "city_id", "type"),
    )


class MarkerRun(Base):
    """A marker recipe applied to a data snapshot; re-running it reproduces its scores."""

    __tablename__ = "marker_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"))
    level_id: Mapped[int | None] = mapped_column(ForeignKey("unit_levels.id", ondelete="CASCADE"))
    spec_code: Mapped[str] = mapped_column(String(64))
    spec_hash: Mapped[str] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(64))
    software_version: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int | None] = mapped_column(Integer)
    parameters: Mapped[dict | None] = mapped_column(JSON)
    city_score: Mapped[float | None] = mapped_column(Float)
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MarkerScore(Base):
    """The score of one node of the marker tree for one unit in one run."""

    __tablename__ = "marker_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("marker_runs.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("spatial_units.id", ondelete="CASCADE"))
    node_code: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(32))
    rank: Mapped[int | None] = mapped_column(Integer)
    coverage: Mapped[float | None] = mapped_column(Float)
    imputed: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        UniqueConstraint("run_id", "unit_id", "node_code"),
        CheckConstraint("coverage IS NULL OR (coverage >= 0 AND coverage <= 1)", name="coverage"),
    )


ANALYSIS_KINDS = ("clusters", "interpolation")


class AnalysisLayer(Base):
    """A stored result of a spatial analysis (clusters of exclusion, an interpolation):
    what was analysed, with which parameters, so the layer can be listed, exported,
    published and re-run. Re-running the same analysis replaces the layer."""

    __tablename__ = "analysis_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"))
    level_id: Mapped[int | None] = mapped_column(ForeignKey("unit_levels.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(Text, default="")
    parameters: Mapped[dict | None] = mapped_column(JSON)
    marker_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("marker_runs.id", ondelete="CASCADE")
    )
    input_hash: Mapped[str] = mapped_column(String(64), default="")
    software_version: Mapped[str] = mapped_column(String(40), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        UniqueConstraint("city_id", "period_id", "name"),
        CheckConstraint("kind IN ('clusters', 'interpolation')", name="kind"),
    )


class AnalysisFeature(Base):
    """One feature of an analysis layer: a stored unit (clusters) or a target polygon
    (interpolation, whose geometry is kept here as WKB in EPSG:4326)."""

    __tablename__ = "analysis_features"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("analysis_layers.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("spatial_units.id", ondelete="CASCADE"), index=True
    )
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[float | None] = mapped_column(Float)
    moran_i: Mapped[float | None] = mapped_column(Float)
    moran_p: Mapped[float | None] = mapped_column(Float)
    moran_class: Mapped[str | None] = mapped_column(String(20))
    gi_z: Mapped[float | None] = mapped_column(Float)
    gi_p: Mapped[float | None] = mapped_column(Float)
    gi_class: Mapped[str | None] = mapped_column(String(20))
    attributes: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("layer_id", "code"),
        CheckConstraint("moran_p IS NULL OR (moran_p >= 0 AND moran_p <= 1)", name="moran_p"),
        CheckConstraint("gi_p IS NULL OR (gi_p >= 0 AND gi_p <= 1)", name="gi_p"),
    )


class PlanningProject(Base):
    """A candidate investment (issue #16): where it is, what it costs and targets, and the
    beneficiaries computed from its catchment, so selections and plans can be re-solved."""

    __tablename__ = "planning_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(40))
    cost: Mapped[float] = mapped_column(Float)
    locality: Mapped[str] = mapped_column(String(64), default="")
    funder: Mapped[str] = mapped_column(Text, default="")
    targets: Mapped[list | None] = mapped_column(JSON)
    effect: Mapped[float] = mapped_column(Float, default=0.0)
    depends_on: Mapped[list | None] = mapped_column(JSON)
    excludes: Mapped[list | None] = mapped_column(JSON)
    unit_codes: Mapped[list | None] = mapped_column(JSON)
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    catchment_m: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date | None] = mapped_column(Date)
    beneficiaries_host: Mapped[float | None] = mapped_column(Float)
    beneficiaries_migrant: Mapped[float | None] = mapped_column(Float)
    beneficiary_units: Mapped[dict | None] = mapped_column(JSON)
    attributes: Mapped[dict | None] = mapped_column(JSON)
    source_file: Mapped[str] = mapped_column(Text, default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (
        UniqueConstraint("city_id", "code"),
        CheckConstraint("cost >= 0", name="cost"),
        CheckConstraint("catchment_m IS NULL OR catchment_m >= 0", name="catchment"),
    )


GOVERNANCE_LEVELS = ("local", "national")
GOVERNANCE_ANSWERS = ("yes", "partly", "no", "not_applicable", "scale")
INITIATIVE_KINDS = ("initiative", "good_practice")
INITIATIVE_STATUSES = ("planned", "ongoing", "completed", "suspended")


class GovernanceFramework(Base):
    """A version of a governance framework (issue #19) as it was when an assessment used it,
    so old assessments keep being scored with the questions they answered."""

    __tablename__ = "governance_frameworks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(20))
    name_es: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict] = mapped_column(JSON)
    spec_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("code", "version"),)


class GovernanceAssessment(Base):
    """One migration-governance assessment of a city (local) or a country (national) on a date;
    ``place`` is the city or country code, so re-importing the same place and date replaces it."""

    __tablename__ = "governance_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("governance_frameworks.id", ondelete="CASCADE")
    )
    level: Mapped[str] = mapped_column(String(10))
    place: Mapped[str] = mapped_column(String(64))
    city_id: Mapped[int | None] = mapped_column(
        ForeignKey("cities.id", ondelete="CASCADE"), index=True
    )
    country: Mapped[str] = mapped_column(String(3), default="")
    assessed_on: Mapped[date] = mapped_column(Date)
    respondent: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    overall_score: Mapped[float | None] = mapped_column(Float)
    source_file: Mapped[str] = mapped_column(Text, default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("level", "place", "assessed_on"),
        CheckConstraint("level IN ('local', 'national')", name="level"),
        CheckConstraint(
            "(level = 'local' AND city_id IS NOT NULL) OR (level = 'national' AND city_id IS NULL)",
            name="place",
        ),
        CheckConstraint(
            "overall_score IS NULL OR (overall_score >= 0 AND overall_score <= 100)", name="score"
        ),
    )


class GovernanceAnswer(Base):
    """The answer to one question of an assessment, with its evidence."""

    __tablename__ = "governance_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("governance_assessments.id", ondelete="CASCADE")
    )
    question_code: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    evidence_text: Mapped[str] = mapped_column(Text, default="")
    evidence_document: Mapped[str] = mapped_column(Text, default="")
    evidence_link: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("assessment_id", "question_code"),
        CheckConstraint(
            "answer IN ('yes', 'partly', 'no', 'not_applicable', 'scale')", name="answer"
        ),
        CheckConstraint("answer != 'scale' OR value IS NOT NULL", name="scale_value"),
    )


class GovernanceInitiative(Base):
    """An existing initiative (the "balance of initiatives") or a good practice, by domain."""

    __tablename__ = "governance_initiatives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name_es: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(10))
    city_id: Mapped[int | None] = mapped_column(
        ForeignKey("cities.id", ondelete="CASCADE"), index=True
    )
    country: Mapped[str] = mapped_column(String(3), default="")
    domain: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(20), default="ongoing")
    partners: Mapped[str] = mapped_column(Text, default="")
    description_es: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)

    __table_args__ = (
        CheckConstraint("kind IN ('initiative', 'good_practice')", name="kind"),
        CheckConstraint("level IN ('local', 'national')", name="level"),
        CheckConstraint(
            "status IN ('planned', 'ongoing', 'completed', 'suspended')", name="status"
        ),
    )


# The plan and programme-delivery tables join the metadata (their modules import Base from
# store.base, so this is not a cycle).
from inclusive_cities.store import delivery_models, plan_models  # noqa: E402,F401
