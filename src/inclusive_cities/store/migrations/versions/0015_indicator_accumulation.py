"""how a programme indicator adds up over time (trial #3 F11)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 02:30:00.000000

``programme_indicators.accumulation``: ``per_period`` (a semester is the sum of its months),
``cumulative`` (a semester is its last month) or "" (not declared: nothing is rolled up). The
results framework declares it; a monthly 5W export then answers for its quarters, semesters
and years.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.monitoring_models  # noqa: F401

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programme_indicators") as batch:
        batch.add_column(
            sa.Column("accumulation", sa.String(length=16), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("programme_indicators") as batch:
        batch.drop_column("accumulation")
