"""programme deliveries: entrepreneurs, trainings, policies, centres, commitments (issue #18)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 11:15:00.000000

What the programme delivers in its target cities (``programme_target_cities``, revision 0011):
training sessions with their anonymous participants and pre/post scores, entrepreneurs with their
follow-up, policies and local instruments by stage, the centres network with its principles
self-assessment, and the commitments of multilevel dialogue spaces.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.delivery_models
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_centres",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("target_city_id", sa.Integer(), nullable=True),
        sa.Column("city", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=True),
        sa.Column("opening_hours", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("principles", sa.JSON(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'in_preparation', 'closed')",
            name=op.f("ck_delivery_centres_status"),
        ),
        sa.CheckConstraint(
            "lon >= -180 AND lon <= 180 AND lat >= -90 AND lat <= 90",
            name=op.f("ck_delivery_centres_lonlat"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_delivery_centres_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["target_city_id"],
            ["programme_target_cities.id"],
            name=op.f("fk_delivery_centres_target_city_id_programme_target_cities"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_centres")),
        sa.UniqueConstraint("code", name=op.f("uq_delivery_centres_code")),
    )
    op.create_index(
        op.f("ix_delivery_centres_batch_id"), "delivery_centres", ["batch_id"], unique=False
    )
    op.create_index(
        op.f("ix_delivery_centres_target_city_id"),
        "delivery_centres",
        ["target_city_id"],
        unique=False,
    )
    op.create_table(
        "delivery_commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("target_city_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("who", sa.Text(), nullable=False),
        sa.Column("dialogue_space", sa.Text(), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('agreed', 'in_progress', 'fulfilled', 'dropped')",
            name=op.f("ck_delivery_commitments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_delivery_commitments_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["target_city_id"],
            ["programme_target_cities.id"],
            name=op.f("fk_delivery_commitments_target_city_id_programme_target_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_commitments")),
        sa.UniqueConstraint("code", name=op.f("uq_delivery_commitments_code")),
    )
    op.create_index(
        op.f("ix_delivery_commitments_batch_id"), "delivery_commitments", ["batch_id"], unique=False
    )
    op.create_index(
        op.f("ix_delivery_commitments_target_city_id"),
        "delivery_commitments",
        ["target_city_id"],
        unique=False,
    )
    op.create_table(
        "delivery_entrepreneurs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("age_group", sa.String(length=16), nullable=False),
        sa.Column("nationality", sa.String(length=20), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.Column("plan_activity", sa.String(length=64), nullable=False),
        sa.Column("supported_on", sa.Date(), nullable=True),
        sa.Column("trainings", sa.JSON(), nullable=True),
        sa.Column("open_6m", sa.Boolean(), nullable=True),
        sa.Column("open_12m", sa.Boolean(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "nationality IN ('host', 'refugee_migrant', 'unknown')",
            name=op.f("ck_delivery_entrepreneurs_nationality"),
        ),
        sa.CheckConstraint(
            "sex IN ('female', 'male', 'other', 'unknown')",
            name=op.f("ck_delivery_entrepreneurs_sex"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_delivery_entrepreneurs_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["target_city_id"],
            ["programme_target_cities.id"],
            name=op.f("fk_delivery_entrepreneurs_target_city_id_programme_target_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_entrepreneurs")),
        sa.UniqueConstraint(
            "target_city_id", "code", name=op.f("uq_delivery_entrepreneurs_target_city_id_code")
        ),
    )
    op.create_index(
        op.f("ix_delivery_entrepreneurs_batch_id"),
        "delivery_entrepreneurs",
        ["batch_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_delivery_entrepreneurs_target_city_id"),
        "delivery_entrepreneurs",
        ["target_city_id"],
        unique=False,
    )
    op.create_table(
        "delivery_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("target_city_id", sa.Integer(), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=True),
        sa.Column("drafted_on", sa.Date(), nullable=True),
        sa.Column("adopted_on", sa.Date(), nullable=True),
        sa.Column("documents", sa.JSON(), nullable=True),
        sa.Column("marker_areas", sa.JSON(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('development_plan', 'ordinance', 'public_policy', 'programme')",
            name=op.f("ck_delivery_policies_kind"),
        ),
        sa.CheckConstraint(
            "level IN ('municipal', 'provincial', 'national')",
            name=op.f("ck_delivery_policies_level"),
        ),
        sa.CheckConstraint(
            "stage <> 'adopted' OR adopted_on IS NOT NULL",
            name=op.f("ck_delivery_policies_adopted_date"),
        ),
        sa.CheckConstraint(
            "stage IN ('proposed', 'drafted', 'adopted')", name=op.f("ck_delivery_policies_stage")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_delivery_policies_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["target_city_id"],
            ["programme_target_cities.id"],
            name=op.f("fk_delivery_policies_target_city_id_programme_target_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_policies")),
        sa.UniqueConstraint("code", name=op.f("uq_delivery_policies_code")),
    )
    op.create_index(
        op.f("ix_delivery_policies_batch_id"), "delivery_policies", ["batch_id"], unique=False
    )
    op.create_index(
        op.f("ix_delivery_policies_target_city_id"),
        "delivery_policies",
        ["target_city_id"],
        unique=False,
    )
    op.create_table(
        "delivery_trainings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("target_city_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "audience IN ('public_servants', 'community')",
            name=op.f("ck_delivery_trainings_audience"),
        ),
        sa.CheckConstraint(
            "topic IN ('human_mobility', 'mgi', 'protection', 'inclusive_planning', "
            "'socioeconomic_integration', 'entrepreneurship', 'conflict_resolution', "
            "'gender_based_violence', 'leadership', 'self_construction', 'other')",
            name=op.f("ck_delivery_trainings_topic"),
        ),
        sa.CheckConstraint("hours IS NULL OR hours > 0", name=op.f("ck_delivery_trainings_hours")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_delivery_trainings_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["target_city_id"],
            ["programme_target_cities.id"],
            name=op.f("fk_delivery_trainings_target_city_id_programme_target_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_trainings")),
        sa.UniqueConstraint("code", name=op.f("uq_delivery_trainings_code")),
    )
    op.create_index(
        op.f("ix_delivery_trainings_batch_id"), "delivery_trainings", ["batch_id"], unique=False
    )
    op.create_index(
        op.f("ix_delivery_trainings_target_city_id"),
        "delivery_trainings",
        ["target_city_id"],
        unique=False,
    )
    op.create_table(
        "delivery_training_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("participant", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("age_group", sa.String(length=16), nullable=False),
        sa.Column("nationality", sa.String(length=20), nullable=False),
        sa.Column("pre_score", sa.Float(), nullable=True),
        sa.Column("post_score", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "nationality IN ('host', 'refugee_migrant', 'unknown')",
            name=op.f("ck_delivery_training_participants_nationality"),
        ),
        sa.CheckConstraint(
            "sex IN ('female', 'male', 'other', 'unknown')",
            name=op.f("ck_delivery_training_participants_sex"),
        ),
        sa.CheckConstraint(
            "post_score IS NULL OR (post_score >= 0 AND post_score <= 100)",
            name=op.f("ck_delivery_training_participants_post"),
        ),
        sa.CheckConstraint(
            "pre_score IS NULL OR (pre_score >= 0 AND pre_score <= 100)",
            name=op.f("ck_delivery_training_participants_pre"),
        ),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["delivery_trainings.id"],
            name=op.f("fk_delivery_training_participants_training_id_delivery_trainings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_training_participants")),
        sa.UniqueConstraint(
            "training_id",
            "participant",
            name=op.f("uq_delivery_training_participants_training_id_participant"),
        ),
    )
    op.create_index(
        op.f("ix_delivery_training_participants_training_id"),
        "delivery_training_participants",
        ["training_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_delivery_training_participants_training_id"),
        table_name="delivery_training_participants",
    )
    op.drop_table("delivery_training_participants")
    op.drop_index(op.f("ix_delivery_trainings_target_city_id"), table_name="delivery_trainings")
    op.drop_index(op.f("ix_delivery_trainings_batch_id"), table_name="delivery_trainings")
    op.drop_table("delivery_trainings")
    op.drop_index(op.f("ix_delivery_policies_target_city_id"), table_name="delivery_policies")
    op.drop_index(op.f("ix_delivery_policies_batch_id"), table_name="delivery_policies")
    op.drop_table("delivery_policies")
    op.drop_index(
        op.f("ix_delivery_entrepreneurs_target_city_id"), table_name="delivery_entrepreneurs"
    )
    op.drop_index(op.f("ix_delivery_entrepreneurs_batch_id"), table_name="delivery_entrepreneurs")
    op.drop_table("delivery_entrepreneurs")
    op.drop_index(op.f("ix_delivery_commitments_target_city_id"), table_name="delivery_commitments")
    op.drop_index(op.f("ix_delivery_commitments_batch_id"), table_name="delivery_commitments")
    op.drop_table("delivery_commitments")
    op.drop_index(op.f("ix_delivery_centres_target_city_id"), table_name="delivery_centres")
    op.drop_index(op.f("ix_delivery_centres_batch_id"), table_name="delivery_centres")
    op.drop_table("delivery_centres")
