"""reports made by the job queue (issue #20)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 14:30:00.000000

PDF reports are rendered by a job (a job worker on PostgreSQL, the web process's job thread
on SQLite), not inside the request; ``report_files`` holds each report job's request and the
file it made, so any web worker can serve it (store/report_models.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.report_models  # noqa: F401

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_files",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(length=80), nullable=False),
        sa.Column("back_url", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_report_files_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_report_files")),
        sa.UniqueConstraint("key", name=op.f("uq_report_files_key")),
    )


def downgrade() -> None:
    op.drop_table("report_files")
