"""web state and job queue on PostgreSQL for many workers (issue #20)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 11:15:00.000000

A job's input (options, language, the uploaded file) moves from the web process's temporary
folder into ``job_payloads``, so a job worker on another machine can run it and a retry after
a killed worker finds it again. Procrastinate's own tables are not managed here: ``worker``
and ``serve`` install them on PostgreSQL (see docs/deployment.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.scale_models
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_payloads",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queue_job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_job_payloads_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_payloads")),
    )


def downgrade() -> None:
    op.drop_table("job_payloads")
