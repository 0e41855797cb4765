"""The schema version check reads what Alembic would, without importing Alembic (issue #21).

Every command and web process calls ``require_current`` first; Alembic's import alone cost
0.3-0.5 s of each one's start-up. These compare the store's own reading with Alembic's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from inclusive_cities.store import (
    connect,
    current_revision,
    downgrade,
    head_revision,
    init_database,
    upgrade,
)
from inclusive_cities.store.schema import alembic_config


def _alembic_current(engine) -> str | None:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_head_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_current_revision_agrees_with_alembic(db_url: str) -> None:
    engine = connect(db_url, create=True)
    assert current_revision(engine) is None is _alembic_current(engine)  # not initialised
    init_database(db_url)
    assert current_revision(engine) == _alembic_current(engine) == head_revision()
    downgrade(engine, "0012")
    assert current_revision(engine) == _alembic_current(engine) == "0012"
    upgrade(engine)
    with engine.begin() as connection:  # a stamped table emptied by hand reads as no version
        connection.execute(text("DELETE FROM alembic_version"))
    assert current_revision(engine) is None is _alembic_current(engine)


def test_checking_the_schema_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'observatory.db'}"
    init_database(url)
    probe = (
        "import json, sys\n"
        "from inclusive_cities.store import connect, require_current, summary\n"
        f"engine = connect({url!r})\n"
        "require_current(engine)\n"
        "print(json.dumps([summary(engine).revision, 'alembic' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == [head_revision(), False]
