"""territorial intervention plans, neighbourhood proposals, participatory designs (issue #17)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 11:15:00.000000

A plan per city and period made of projects (status, dates, cost and funding, site, targets and
the workshop solutions they answer), the communities' proposals and what became of them, and the
participatory design of public spaces with their before and after photos (blobs of at most 5 MB).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the web and plan models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.plan_models
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "territorial_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_territorial_plans_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territorial_plans")),
        sa.UniqueConstraint("city_id", "code", name=op.f("uq_territorial_plans_city_id_code")),
    )
    op.create_table(
        "territorial_plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("funding_source", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("unit_codes", sa.JSON(), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=True),
        sa.Column("solution_codes", sa.JSON(), nullable=True),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.CheckConstraint("cost >= 0", name=op.f("ck_territorial_plan_items_cost")),
        sa.CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_territorial_plan_items_dates"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'under_way', 'done')",
            name=op.f("ck_territorial_plan_items_status"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["territorial_plans.id"],
            name=op.f("fk_territorial_plan_items_plan_id_territorial_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territorial_plan_items")),
        sa.UniqueConstraint("plan_id", "code", name=op.f("uq_territorial_plan_items_plan_id_code")),
    )
    with op.batch_alter_table("territorial_plan_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_territorial_plan_items_plan_id"), ["plan_id"], unique=False
        )
    op.create_table(
        "neighbourhood_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.Text(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("supporters", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('adopted', 'not_adopted', 'pending')",
            name=op.f("ck_neighbourhood_proposals_outcome"),
        ),
        sa.CheckConstraint("supporters >= 0", name=op.f("ck_neighbourhood_proposals_supporters")),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_neighbourhood_proposals_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["territorial_plan_items.id"],
            name=op.f("fk_neighbourhood_proposals_plan_item_id_territorial_plan_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_neighbourhood_proposals")),
        sa.UniqueConstraint(
            "city_id", "code", name=op.f("uq_neighbourhood_proposals_city_id_code")
        ),
    )
    with op.batch_alter_table("neighbourhood_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_neighbourhood_proposals_plan_item_id"), ["plan_item_id"], unique=False
        )
    op.create_table(
        "public_space_designs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=True),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.Column("workshop_codes", sa.JSON(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("chosen_option", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_public_space_designs_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["territorial_plan_items.id"],
            name=op.f("fk_public_space_designs_plan_item_id_territorial_plan_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_space_designs")),
        sa.UniqueConstraint("city_id", "code", name=op.f("uq_public_space_designs_city_id_code")),
    )
    with op.batch_alter_table("public_space_designs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_public_space_designs_plan_item_id"), ["plan_item_id"], unique=False
        )
    op.create_table(
        "public_space_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("design_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')",
            name=op.f("ck_public_space_photos_content_type"),
        ),
        sa.CheckConstraint(
            "size_bytes > 0 AND size_bytes <= 5242880", name=op.f("ck_public_space_photos_size")
        ),
        sa.CheckConstraint(
            "stage IN ('before', 'after')", name=op.f("ck_public_space_photos_stage")
        ),
        sa.ForeignKeyConstraint(
            ["design_id"],
            ["public_space_designs.id"],
            name=op.f("fk_public_space_photos_design_id_public_space_designs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_space_photos")),
        sa.UniqueConstraint(
            "design_id", "sha256", name=op.f("uq_public_space_photos_design_id_sha256")
        ),
    )
    with op.batch_alter_table("public_space_photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_public_space_photos_design_id"), ["design_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("public_space_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_space_photos_design_id"))
    op.drop_table("public_space_photos")
    with op.batch_alter_table("public_space_designs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_space_designs_plan_item_id"))
    op.drop_table("public_space_designs")
    with op.batch_alter_table("neighbourhood_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_neighbourhood_proposals_plan_item_id"))
    op.drop_table("neighbourhood_proposals")
    with op.batch_alter_table("territorial_plan_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territorial_plan_items_plan_id"))
    op.drop_table("territorial_plan_items")
    op.drop_table("territorial_plans")
