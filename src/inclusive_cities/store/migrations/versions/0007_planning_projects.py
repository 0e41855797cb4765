"""planning projects: candidate investments with their computed beneficiaries (issue #16)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:20:00.000000

``plan prioritise`` reads candidate projects from a GeoPackage or a workbook; they are kept here
(one row per project and city, replaced as a whole on re-import) so that the web planner and later
plans re-solve without the file.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the web models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "planning_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("locality", sa.String(length=64), nullable=False),
        sa.Column("funder", sa.Text(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=True),
        sa.Column("effect", sa.Float(), nullable=False),
        sa.Column("depends_on", sa.JSON(), nullable=True),
        sa.Column("excludes", sa.JSON(), nullable=True),
        sa.Column("unit_codes", sa.JSON(), nullable=True),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("catchment_m", sa.Float(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("beneficiaries_host", sa.Float(), nullable=True),
        sa.Column("beneficiaries_migrant", sa.Float(), nullable=True),
        sa.Column("beneficiary_units", sa.JSON(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "catchment_m IS NULL OR catchment_m >= 0", name=op.f("ck_planning_projects_catchment")
        ),
        sa.CheckConstraint("cost >= 0", name=op.f("ck_planning_projects_cost")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_planning_projects_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_planning_projects_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_projects")),
        sa.UniqueConstraint("city_id", "code", name=op.f("uq_planning_projects_city_id_code")),
    )
    with op.batch_alter_table("planning_projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_planning_projects_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("planning_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planning_projects_batch_id"))

    op.drop_table("planning_projects")
