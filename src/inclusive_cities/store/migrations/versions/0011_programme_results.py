"""programme results framework: programmes, target cities, indicators, values, programme role

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 11:15:00.000000

Issue #18 §1. The ``programme`` staff role edits only the target cities linked to the account
(``programme_user_cities``); the downgrade turns such accounts into analysts so that the old
role constraint holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.monitoring_models
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLE = "ck_users_role"
_WITH_PROGRAMME = "role IN ('analyst', 'admin', 'programme')"
_WITHOUT_PROGRAMME = "role IN ('analyst', 'admin')"


def _replace_role_check(condition: str) -> None:
    # batch mode: SQLite cannot alter a constraint, so the table is copied with the new one
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_ROLE), type_="check")
        batch_op.create_check_constraint(op.f(_ROLE), sa.text(condition))


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_es", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column("reporting_org", sa.Text(), nullable=False),
        sa.Column("reporting_org_ref", sa.String(length=64), nullable=False),
        sa.Column("iati_identifier", sa.String(length=120), nullable=False),
        sa.Column("start_date", sa.String(length=10), nullable=False),
        sa.Column("end_date", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("code", name=op.f("uq_programmes_code")),
    )
    op.create_table(
        "programme_target_cities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("adm1", sa.Text(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["cities.id"],
            name=op.f("fk_programme_target_cities_city_id_cities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_programme_target_cities_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_target_cities")),
        sa.UniqueConstraint(
            "programme_id", "code", name=op.f("uq_programme_target_cities_programme_id_code")
        ),
    )
    with op.batch_alter_table("programme_target_cities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programme_target_cities_programme_id"), ["programme_id"], unique=False
        )
    op.create_table(
        "programme_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=False),
        sa.Column("name_es", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "level IN ('outcome', 'output')", name=op.f("ck_programme_results_level")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_programme_results_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_results")),
        sa.UniqueConstraint(
            "programme_id", "code", name=op.f("uq_programme_results_programme_id_code")
        ),
    )
    with op.batch_alter_table("programme_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programme_results_programme_id"), ["programme_id"], unique=False
        )
    op.create_table(
        "programme_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_es", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("aggregation", sa.String(length=16), nullable=False),
        sa.Column("disaggregations", sa.JSON(), nullable=True),
        sa.Column("verification_es", sa.Text(), nullable=False),
        sa.Column("verification_en", sa.Text(), nullable=False),
        sa.Column("computed", sa.String(length=64), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "aggregation IN ('sum', 'count_cities', 'mean', 'max')",
            name=op.f("ck_programme_indicators_aggregation"),
        ),
        sa.CheckConstraint(
            "measure IN ('unit', 'percentage')", name=op.f("ck_programme_indicators_measure")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_programme_indicators_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["programme_results.id"],
            name=op.f("fk_programme_indicators_result_id_programme_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_indicators")),
        sa.UniqueConstraint(
            "programme_id", "code", name=op.f("uq_programme_indicators_programme_id_code")
        ),
    )
    with op.batch_alter_table("programme_indicators", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programme_indicators_programme_id"), ["programme_id"], unique=False
        )
    op.create_table(
        "programme_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("target_city_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("age_group", sa.String(length=16), nullable=False),
        sa.Column("nationality", sa.String(length=24), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('baseline', 'target', 'actual')", name=op.f("ck_programme_values_kind")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_programme_values_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["programme_indicators.id"],
            name=op.f("fk_programme_values_indicator_id_programme_indicators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_city_id"],
            ["programme_target_cities.id"],
            name=op.f("fk_programme_values_target_city_id_programme_target_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_values")),
        sa.UniqueConstraint(
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
    )
    with op.batch_alter_table("programme_values", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programme_values_batch_id"), ["batch_id"])
        batch_op.create_index(batch_op.f("ix_programme_values_indicator_id"), ["indicator_id"])
        batch_op.create_index(batch_op.f("ix_programme_values_target_city_id"), ["target_city_id"])
    op.create_table(
        "programme_user_cities",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("city_code", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_programme_user_cities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "city_code", name=op.f("pk_programme_user_cities")),
    )
    _replace_role_check(_WITH_PROGRAMME)


def downgrade() -> None:
    op.execute("UPDATE users SET role = 'analyst' WHERE role = 'programme'")
    _replace_role_check(_WITHOUT_PROGRAMME)
    op.drop_table("programme_user_cities")
    with op.batch_alter_table("programme_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_values_target_city_id"))
        batch_op.drop_index(batch_op.f("ix_programme_values_indicator_id"))
        batch_op.drop_index(batch_op.f("ix_programme_values_batch_id"))
    op.drop_table("programme_values")
    with op.batch_alter_table("programme_indicators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_indicators_programme_id"))
    op.drop_table("programme_indicators")
    with op.batch_alter_table("programme_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_results_programme_id"))
    op.drop_table("programme_results")
    with op.batch_alter_table("programme_target_cities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_target_cities_programme_id"))
    op.drop_table("programme_target_cities")
    op.drop_table("programmes")
