"""The observatory store: the only code that writes SQL for application state.

>>> from inclusive_cities.store import init_database, summary
>>> engine = init_database("sqlite:///:memory:")
>>> summary(engine).counts["cities"]
0
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from inclusive_cities.errors import StoreError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models, workshop_models  # noqa: F401  (workshop tables)
from inclusive_cities.store.engine import make_engine, normalise_url, transaction

# Alembic (≈0.3-0.5 s to import) is loaded only to migrate. Every command and web process
# checks the schema version first (``require_current``): that reads the one stamped row and
# the migration files' own ``revision``/``down_revision`` lines (issue #21: CLI start-up).
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*['\"]?(\w+)", re.M)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction (Alembic)."""
    from inclusive_cities.store.schema import upgrade as alembic_upgrade

    alembic_upgrade(engine, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema down to ``revision`` (Alembic; can delete data)."""
    from inclusive_cities.store.schema import downgrade as alembic_downgrade

    alembic_downgrade(engine, revision)


@cache
def head_revision() -> str:
    """The newest migration: the one revision no other migration names as its parent."""
    versions = Path(__file__).with_name("migrations") / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("[0-9]*.py"):
        for kind, name in _REVISION_LINE.findall(path.read_text("utf-8")):
            (revisions if kind == "revision" else parents).add(name)
    heads = revisions - parents
    if len(heads) == 1:
        return heads.pop()
    from inclusive_cities.store.schema import head_revision as alembic_head  # let Alembic say

    return alembic_head()


def current_revision(engine: Engine) -> str | None:
    """The schema version stamped in the database (``None`` before ``init``)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    if len(rows) > 1:  # branches: never made by this project, Alembic explains
        from inclusive_cities.store.schema import current_revision as alembic_current

        return alembic_current(engine)
    return str(rows[0][0]) if rows else None


def describe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:
        return url


def _reason(error: DBAPIError) -> str:
    text = str(error.orig).strip().splitlines()
    return text[0] if text else type(error.orig).__name__


def _missing_sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database or ""
    if engine.url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:") or Path(database).exists():
        return None
    return database


def connect(url: str, create: bool = False) -> Engine:
    """An engine for a reachable database (raises StoreError otherwise).

    A missing SQLite file is created only when ``create`` is true, so that a typo in
    a path is reported instead of silently giving an empty observatory.
    """
    engine = make_engine(url)
    missing = _missing_sqlite_file(engine)
    if missing and not create:
        raise StoreError(
            _(
                "There is no observatory database at {path}: run 'inclusive-cities init' to "
                "create it, or check --database."
            ).format(path=missing)
        )
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        raise StoreError(
            _(
                "Cannot open the database {url}: {reason}. Check the URL, that the server is "
                "running and that you may write there."
            ).format(url=describe_url(url), reason=_reason(error))
        ) from error
    return engine


def init_database(url: str) -> Engine:
    """Create the observatory schema, or upgrade it to the newest version."""
    engine = connect(url, create=True)
    try:
        upgrade(engine)
    except OperationalError as error:
        raise StoreError(
            _("Cannot create the observatory in {url}: {reason}.").format(
                url=describe_url(url), reason=_reason(error)
            )
        ) from error
    return engine


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that is not an up-to-date observatory."""
    revision = current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    if revision is None:
        raise StoreError(
            _(
                "{url} is not an observatory database yet: run 'inclusive-cities init' first."
            ).format(url=url)
        )
    if revision != head_revision():
        raise StoreError(
            _(
                "The observatory database {url} is at version {current} but this software needs "
                "{head}: run 'inclusive-cities db upgrade'."
            ).format(url=url, current=revision, head=head_revision())
        )


@dataclass
class StoreSummary:
    """What an observatory holds, for ``inclusive-cities info`` and the web."""

    url: str
    revision: str | None
    counts: dict[str, int]
    cities: list[dict[str, object]] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)


COUNTED_TABLES: dict[str, type[models.Base]] = {
    "cities": models.City,
    "unit_levels": models.UnitLevel,
    "spatial_units": models.SpatialUnit,
    "periods": models.Period,
    "indicators": models.Indicator,
    "observations": models.Observation,
    "facilities": models.Facility,
    "marker_runs": models.MarkerRun,
    "analysis_layers": models.AnalysisLayer,
    "import_batches": models.ImportBatch,
}


def summary(engine: Engine) -> StoreSummary:
    require_current(engine)
    with transaction(engine) as session:
        counts = {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in COUNTED_TABLES.items()
        }
        cities = []
        for city in session.scalars(select(models.City).order_by(models.City.code)):
            levels = session.execute(
                select(models.UnitLevel.code, func.count(models.SpatialUnit.id))
                .outerjoin(models.SpatialUnit, models.SpatialUnit.level_id == models.UnitLevel.id)
                .where(models.UnitLevel.city_id == city.id)
                .group_by(models.UnitLevel.code, models.UnitLevel.depth)
                .order_by(models.UnitLevel.depth)
            ).all()
            cities.append(
                {
                    "code": city.code,
                    "name": city.name,
                    "synthetic": city.is_synthetic,
                    "levels": {code: count for code, count in levels},
                }
            )
        periods = list(session.scalars(select(models.Period.code).order_by(models.Period.code)))
    return StoreSummary(
        url=engine.url.render_as_string(hide_password=True),
        revision=current_revision(engine),
        counts=counts,
        cities=cities,
        periods=periods,
    )


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


__all__ = [
    "StoreSummary",
    "connect",
    "current_revision",
    "downgrade",
    "head_revision",
    "init_database",
    "make_engine",
    "models",
    "require_current",
    "summary",
    "table_names",
    "transaction",
    "upgrade",
]
