"""analysis layers: stored clusters of exclusion and areal interpolations, per feature

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 04:16:07.810475
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the web models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analysis_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("marker_run_id", sa.Integer(), nullable=True),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("software_version", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('clusters', 'interpolation')", name=op.f("ck_analysis_layers_kind")
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_analysis_layers_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["level_id"],
            ["unit_levels.id"],
            name=op.f("fk_analysis_layers_level_id_unit_levels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["marker_run_id"],
            ["marker_runs.id"],
            name=op.f("fk_analysis_layers_marker_run_id_marker_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["periods.id"],
            name=op.f("fk_analysis_layers_period_id_periods"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_layers")),
        sa.UniqueConstraint(
            "city_id", "period_id", "name", name=op.f("uq_analysis_layers_city_id_period_id_name")
        ),
    )
    op.create_table(
        "analysis_features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("moran_i", sa.Float(), nullable=True),
        sa.Column("moran_p", sa.Float(), nullable=True),
        sa.Column("moran_class", sa.String(length=20), nullable=True),
        sa.Column("gi_z", sa.Float(), nullable=True),
        sa.Column("gi_p", sa.Float(), nullable=True),
        sa.Column("gi_class", sa.String(length=20), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "gi_p IS NULL OR (gi_p >= 0 AND gi_p <= 1)", name=op.f("ck_analysis_features_gi_p")
        ),
        sa.CheckConstraint(
            "moran_p IS NULL OR (moran_p >= 0 AND moran_p <= 1)",
            name=op.f("ck_analysis_features_moran_p"),
        ),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["analysis_layers.id"],
            name=op.f("fk_analysis_features_layer_id_analysis_layers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["spatial_units.id"],
            name=op.f("fk_analysis_features_unit_id_spatial_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_features")),
        sa.UniqueConstraint("layer_id", "code", name=op.f("uq_analysis_features_layer_id_code")),
    )
    with op.batch_alter_table("analysis_features", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_features_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analysis_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_features_unit_id"))

    op.drop_table("analysis_features")
    op.drop_table("analysis_layers")
