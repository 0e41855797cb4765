"""neutral direction: descriptive indicators (population, share of Venezuelans) are not ranked

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 05:45:00.000000

A context figure such as the share of persons of Venezuelan origin has no better end: colouring
it red-to-green would be a value judgement about refugees and migrants. ``neutral`` lets the
catalogue say so. The downgrade writes such rows back as ``higher_is_better``, the value they
had before this revision, so that the old constraint holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the web models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_indicators_direction"
_WITH_NEUTRAL = "direction IN ('higher_is_better', 'lower_is_better', 'neutral')"
_WITHOUT_NEUTRAL = "direction IN ('higher_is_better', 'lower_is_better')"


def _replace_check(condition: str) -> None:
    # batch mode: SQLite cannot alter a constraint, so the table is copied with the new one
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_NAME), type_="check")
        batch_op.create_check_constraint(op.f(_NAME), sa.text(condition))


def upgrade() -> None:
    _replace_check(_WITH_NEUTRAL)


def downgrade() -> None:
    op.execute("UPDATE indicators SET direction = 'higher_is_better' WHERE direction = 'neutral'")
    _replace_check(_WITHOUT_NEUTRAL)
