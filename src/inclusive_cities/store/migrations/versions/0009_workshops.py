"""workshops, problem trees, systematisation matrices (issue #17)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:15:00.000000

A co-creation workshop (date, place, thematic areas, facilitators), its participants counted by
sex × age group × nationality group × role, its problem tree (nodes with a parent) and its
systematisation matrix (rows per area and column, solutions with stable codes).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the web and workshop models keeps Base.metadata complete for schema
# comparisons.
import inclusive_cities.store.web_models
import inclusive_cities.store.workshop_models  # noqa: F401

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _child(
    table: str, *columns: sa.Column | sa.Constraint, checks: Sequence[sa.CheckConstraint] = ()
) -> None:
    """A table that belongs to one workshop (deleted with it)."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        *columns,
        *checks,
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            name=op.f(f"fk_{table}_workshop_id_workshops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_workshop_id"), table, ["workshop_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "workshops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("place_name", sa.Text(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("areas", sa.JSON(), nullable=True),
        sa.Column("facilitators", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(longitude IS NULL) = (latitude IS NULL)", name=op.f("ck_workshops_point")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batches.id"], name=op.f("fk_workshops_batch_id_import_batches")
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["cities.id"], name=op.f("fk_workshops_city_id_cities"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshops")),
        sa.UniqueConstraint("city_id", "code", name=op.f("uq_workshops_city_id_code")),
    )
    op.create_index(op.f("ix_workshops_batch_id"), "workshops", ["batch_id"], unique=False)
    op.create_index(op.f("ix_workshops_city_id"), "workshops", ["city_id"], unique=False)
    _child(
        "workshop_participants",
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("age_group", sa.String(length=16), nullable=False),
        sa.Column("nationality", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "workshop_id",
            "sex",
            "age_group",
            "nationality",
            "role",
            name=op.f("uq_workshop_participants_workshop_id_sex_age_group_nationality_role"),
        ),
        checks=[
            sa.CheckConstraint("count >= 0", name=op.f("ck_workshop_participants_count")),
            sa.CheckConstraint(
                "nationality IN ('host', 'refugee_migrant')",
                name=op.f("ck_workshop_participants_nationality"),
            ),
        ],
    )
    _child(
        "workshop_tree_nodes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=True),
        sa.Column("dimensions", sa.JSON(), nullable=True),
        sa.Column("indicators", sa.JSON(), nullable=True),
        sa.Column("units", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["workshop_tree_nodes.id"],
            name=op.f("fk_workshop_tree_nodes_parent_id_workshop_tree_nodes"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "workshop_id", "code", name=op.f("uq_workshop_tree_nodes_workshop_id_code")
        ),
        checks=[
            sa.CheckConstraint(
                "kind IN ('central', 'cause', 'effect')", name=op.f("ck_workshop_tree_nodes_kind")
            )
        ],
    )
    op.create_index(
        op.f("ix_workshop_tree_nodes_parent_id"), "workshop_tree_nodes", ["parent_id"], unique=False
    )
    _child(
        "workshop_matrix_rows",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=True),
        sa.Column("units", sa.JSON(), nullable=True),
        sa.Column("solutions", sa.JSON(), nullable=True),
        sa.UniqueConstraint(
            "workshop_id", "code", name=op.f("uq_workshop_matrix_rows_workshop_id_code")
        ),
        checks=[
            sa.CheckConstraint(
                "kind IN ('demand', 'cause', 'asset', 'differential', 'solution')",
                name=op.f("ck_workshop_matrix_rows_kind"),
            )
        ],
    )


def downgrade() -> None:
    op.drop_table("workshop_matrix_rows")
    op.drop_index(op.f("ix_workshop_tree_nodes_parent_id"), table_name="workshop_tree_nodes")
    op.drop_table("workshop_tree_nodes")
    op.drop_table("workshop_participants")
    op.drop_index(op.f("ix_workshops_city_id"), table_name="workshops")
    op.drop_index(op.f("ix_workshops_batch_id"), table_name="workshops")
    op.drop_table("workshops")
