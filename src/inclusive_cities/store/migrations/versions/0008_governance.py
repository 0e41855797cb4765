"""governance: framework versions, assessments with their answers, initiatives (issue #19)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:40:00.000000

A migration-governance assessment of a city (local) or a country (national) is data: the
framework version it answered (kept whole, so old assessments keep their questions), one row per
answer with its evidence, and the initiatives and good practices recorded by domain.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the web models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "governance_frameworks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("name_es", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_frameworks")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_governance_frameworks_code_version")),
    )
    op.create_table(
        "governance_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("place", sa.String(length=64), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("respondent", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("overall_score", sa.Float(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(level = 'local' AND city_id IS NOT NULL) OR (level = 'national' AND city_id IS NULL)",
            name=op.f("ck_governance_assessments_place"),
        ),
        sa.CheckConstraint(
            "level IN ('local', 'national')", name=op.f("ck_governance_assessments_level")
        ),
        sa.CheckConstraint(
            "overall_score IS NULL OR (overall_score >= 0 AND overall_score <= 100)",
            name=op.f("ck_governance_assessments_score"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_governance_assessments_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_governance_assessments_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["governance_frameworks.id"],
            name=op.f("fk_governance_assessments_framework_id_governance_frameworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_assessments")),
        sa.UniqueConstraint(
            "level",
            "place",
            "assessed_on",
            name=op.f("uq_governance_assessments_level_place_assessed_on"),
        ),
    )
    with op.batch_alter_table("governance_assessments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_governance_assessments_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_governance_assessments_city_id"), ["city_id"], unique=False
        )

    op.create_table(
        "governance_initiatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name_es", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("domain", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("partners", sa.Text(), nullable=False),
        sa.Column("description_es", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('initiative', 'good_practice')", name=op.f("ck_governance_initiatives_kind")
        ),
        sa.CheckConstraint(
            "level IN ('local', 'national')", name=op.f("ck_governance_initiatives_level")
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'ongoing', 'completed', 'suspended')",
            name=op.f("ck_governance_initiatives_status"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_governance_initiatives_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_governance_initiatives_city_id_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_initiatives")),
        sa.UniqueConstraint("code", name=op.f("uq_governance_initiatives_code")),
    )
    with op.batch_alter_table("governance_initiatives", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_governance_initiatives_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_governance_initiatives_city_id"), ["city_id"], unique=False
        )

    op.create_table(
        "governance_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("question_code", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("evidence_text", sa.Text(), nullable=False),
        sa.Column("evidence_document", sa.Text(), nullable=False),
        sa.Column("evidence_link", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "answer != 'scale' OR value IS NOT NULL", name=op.f("ck_governance_answers_scale_value")
        ),
        sa.CheckConstraint(
            "answer IN ('yes', 'partly', 'no', 'not_applicable', 'scale')",
            name=op.f("ck_governance_answers_answer"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["governance_assessments.id"],
            name=op.f("fk_governance_answers_assessment_id_governance_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_answers")),
        sa.UniqueConstraint(
            "assessment_id",
            "question_code",
            name=op.f("uq_governance_answers_assessment_id_question_code"),
        ),
    )


def downgrade() -> None:
    op.drop_table("governance_answers")
    with op.batch_alter_table("governance_initiatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_initiatives_city_id"))
        batch_op.drop_index(batch_op.f("ix_governance_initiatives_batch_id"))

    op.drop_table("governance_initiatives")
    with op.batch_alter_table("governance_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_assessments_city_id"))
        batch_op.drop_index(batch_op.f("ix_governance_assessments_batch_id"))

    op.drop_table("governance_assessments")
    op.drop_table("governance_frameworks")
