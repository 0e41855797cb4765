"""web state and job queue on PostgreSQL for many workers (issue #20)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 11:15:00.000000

Placeholder reserved by the lead so the revision chain stays linear while several people work;
the owner replaces the body (and renames the file) with the real tables.
"""

from collections.abc import Sequence

# See 0002: importing the web models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
