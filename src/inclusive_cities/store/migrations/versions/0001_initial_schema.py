"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 01:32:35.393516
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("projected_crs", sa.String(length=40), nullable=True),
        sa.Column("is_synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cities")),
        sa.UniqueConstraint("code", name=op.f("uq_cities_code")),
    )
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_es", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("dimension", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("formula", sa.Text(), nullable=False),
        sa.Column("benchmark_lower", sa.Float(), nullable=True),
        sa.Column("benchmark_upper", sa.Float(), nullable=True),
        sa.Column("benchmark_source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "direction IN ('higher_is_better', 'lower_is_better')",
            name=op.f("ck_indicators_direction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
        sa.UniqueConstraint("code", name=op.f("uq_indicators_code")),
    )
    op.create_table(
        "periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR start_date <= end_date",
            name=op.f("ck_periods_dates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periods")),
        sa.UniqueConstraint("code", name=op.f("uq_periods_code")),
    )
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("period_id", sa.Integer(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'replaced')", name=op.f("ck_import_batches_status")
        ),
        sa.CheckConstraint(
            "rows_read >= 0 AND rows_accepted >= 0 AND rows_rejected >= 0",
            name=op.f("ck_import_batches_rows"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_import_batches_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_import_batches_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["import_batches.id"],
            name=op.f("fk_import_batches_replaces_id_import_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_batches_sha256"), ["sha256"], unique=False)

    op.create_table(
        "unit_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_es", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.CheckConstraint("depth >= 0", name=op.f("ck_unit_levels_depth")),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_unit_levels_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_levels")),
        sa.UniqueConstraint("city_id", "code", name=op.f("uq_unit_levels_city_id_code")),
        sa.UniqueConstraint("city_id", "depth", name=op.f("uq_unit_levels_city_id_depth")),
    )
    op.create_table(
        "facilities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.Column("capacity", sa.Float(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity >= 0", name=op.f("ck_facilities_capacity")
        ),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_facilities_latitude")),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name=op.f("ck_facilities_longitude")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batches.id"], name=op.f("fk_facilities_batch_id_import_batches")
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_facilities_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities")),
        sa.UniqueConstraint("city_id", "code", name=op.f("uq_facilities_city_id_code")),
    )
    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_facilities_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_facilities_city_type", ["city_id", "type"], unique=False)

    op.create_table(
        "marker_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=True),
        sa.Column("spec_code", sa.String(length=64), nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("software_version", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("city_score", sa.Float(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_marker_runs_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["level_id"],
            ["unit_levels.id"],
            name=op.f("fk_marker_runs_level_id_unit_levels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["periods.id"],
            name=op.f("fk_marker_runs_period_id_periods"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marker_runs")),
    )
    op.create_table(
        "spatial_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.Column("min_x", sa.Float(), nullable=True),
        sa.Column("min_y", sa.Float(), nullable=True),
        sa.Column("max_x", sa.Float(), nullable=True),
        sa.Column("max_y", sa.Float(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("area_m2 IS NULL OR area_m2 >= 0", name=op.f("ck_spatial_units_area")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_spatial_units_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_spatial_units_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["level_id"],
            ["unit_levels.id"],
            name=op.f("fk_spatial_units_level_id_unit_levels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["spatial_units.id"],
            name=op.f("fk_spatial_units_parent_id_spatial_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spatial_units")),
        sa.UniqueConstraint(
            "city_id", "level_id", "code", name=op.f("uq_spatial_units_city_id_level_id_code")
        ),
    )
    with op.batch_alter_table("spatial_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spatial_units_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_spatial_units_bbox", ["city_id", "min_x", "max_x", "min_y", "max_y"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_spatial_units_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "marker_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("node_code", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("imputed", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "coverage IS NULL OR (coverage >= 0 AND coverage <= 1)",
            name=op.f("ck_marker_scores_coverage"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["marker_runs.id"],
            name=op.f("fk_marker_scores_run_id_marker_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["spatial_units.id"],
            name=op.f("fk_marker_scores_unit_id_spatial_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marker_scores")),
        sa.UniqueConstraint(
            "run_id", "unit_id", "node_code", name=op.f("uq_marker_scores_run_id_unit_id_node_code")
        ),
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("age_group", sa.String(length=16), nullable=False),
        sa.Column("nationality", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("standard_error", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status = 'suppressed' OR value IS NOT NULL", name=op.f("ck_observations_value_present")
        ),
        sa.CheckConstraint(
            "status IN ('observed', 'computed', 'imputed', 'estimated', 'suppressed')",
            name=op.f("ck_observations_status"),
        ),
        sa.CheckConstraint("n IS NULL OR n >= 0", name=op.f("ck_observations_n")),
        sa.CheckConstraint(
            "standard_error IS NULL OR standard_error >= 0", name=op.f("ck_observations_se")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_observations_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicators.id"],
            name=op.f("fk_observations_indicator_id_indicators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["periods.id"],
            name=op.f("fk_observations_period_id_periods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["spatial_units.id"],
            name=op.f("fk_observations_unit_id_spatial_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint(
            "indicator_id",
            "unit_id",
            "period_id",
            "sex",
            "age_group",
            "nationality",
            name=op.f("uq_observations_indicator_id_unit_id_period_id_sex_age_group_nationality"),
        ),
    )
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observations_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_observations_period_indicator", ["period_id", "indicator_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_observations_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observations_unit_id"))
        batch_op.drop_index("ix_observations_period_indicator")
        batch_op.drop_index(batch_op.f("ix_observations_batch_id"))

    op.drop_table("observations")
    op.drop_table("marker_scores")
    with op.batch_alter_table("spatial_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spatial_units_parent_id"))
        batch_op.drop_index("ix_spatial_units_bbox")
        batch_op.drop_index(batch_op.f("ix_spatial_units_batch_id"))

    op.drop_table("spatial_units")
    op.drop_table("marker_runs")
    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.drop_index("ix_facilities_city_type")
        batch_op.drop_index(batch_op.f("ix_facilities_batch_id"))

    op.drop_table("facilities")
    op.drop_table("unit_levels")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batches_sha256"))

    op.drop_table("import_batches")
    op.drop_table("periods")
    op.drop_table("indicators")
    op.drop_table("cities")
