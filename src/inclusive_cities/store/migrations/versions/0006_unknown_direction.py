"""unknown direction: an imported column whose better end nobody has declared

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 05:30:00.000000

``import table`` used to store every column that is not in the catalogue as
``higher_is_better``, so a distance to the health centre in metres was mapped with the nearest
blocks in red. A column without a data dictionary now gets ``unknown``: it is mapped in neutral
colours, never judged good or bad, and a marker spec refuses it until its direction is declared.
The downgrade writes such rows back as ``higher_is_better``, the value they had before this
revision, so that the old constraint holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# See 0002: importing the web models keeps Base.metadata complete for schema comparisons.
import inclusive_cities.store.web_models  # noqa: F401

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_indicators_direction"
_WITH_UNKNOWN = "direction IN ('higher_is_better', 'lower_is_better', 'neutral', 'unknown')"
_WITHOUT_UNKNOWN = "direction IN ('higher_is_better', 'lower_is_better', 'neutral')"


def _replace_check(condition: str) -> None:
    # batch mode: SQLite cannot alter a constraint, so the table is copied with the new one
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_NAME), type_="check")
        batch_op.create_check_constraint(op.f(_NAME), sa.text(condition))


def upgrade() -> None:
    _replace_check(_WITH_UNKNOWN)


def downgrade() -> None:
    op.execute("UPDATE indicators SET direction = 'higher_is_better' WHERE direction = 'unknown'")
    _replace_check(_WITHOUT_UNKNOWN)
