"""Load a generated demo city through the same importers a user would call.

Nothing here writes to the store directly: if the demo loads, the importers work on files
shaped like real ones.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest import (
    ImportReport,
    LevelSpec,
    ProgressCallback,
    import_boundaries,
    import_census,
    import_facilities,
    import_layers,
    import_table,
)
from inclusive_cities.ingest.common import IngestError, quiet_progress

CITY_CODE = "DEMO"
CITY_NAME = "Ciudad Demo (sintética)"
COUNTRY = "COL"
PROJECTED_CRS = "EPSG:32618"
PERIOD = "2024"
LEVELS = (
    ("localidad", "localidad", "locality"),
    ("barrio", "barrio", "neighbourhood"),
    ("manzana", "manzana", "block"),
)


def load_demo(
    directory: Path | str,
    engine: Engine,
    progress: ProgressCallback | None = None,
    *,
    data_dir: Path | str | None = None,
) -> list[ImportReport]:
    """Import a demo city written by ``generate_city`` (boundaries, parks and facilities,
    census households and persons, the neighbourhood indicator table)."""
    folder = Path(directory)
    progress = progress or quiet_progress
    if not (folder / "boundaries.gpkg").exists():
        raise IngestError(
            _(
                "{folder} does not hold a generated demo city (no boundaries.gpkg): run "
                "'inclusive-cities demo generate --out {folder}' first."
            ).format(folder=folder)
        )
    reports = [
        import_boundaries(
            engine,
            folder / "boundaries.gpkg",
            [
                LevelSpec(
                    code,
                    layer=code,
                    code_column="codigo",
                    name_column="nombre",
                    parent_column="codigo_padre",
                    name_es=es,
                    name_en=en,
                )
                for code, es, en in LEVELS
            ],
            city=CITY_CODE,
            city_name=CITY_NAME,
            country=COUNTRY,
            projected_crs=PROJECTED_CRS,
            synthetic=True,
            progress=progress,
        )
    ]
    environment = folder / "environment.gpkg"
    if environment.exists():
        reports.append(import_layers(engine, environment, city=CITY_CODE, data_dir=data_dir))
        reports.append(
            import_facilities(
                engine,
                environment,
                city=CITY_CODE,
                layer="espacio_publico",
                code_column="codigo",
                type_column="tipo",
                name_column="nombre",
                progress=progress,
            )
        )
    reports.append(
        import_facilities(engine, folder / "facilities.csv", city=CITY_CODE, progress=progress)
    )
    for record in ("households", "persons"):
        reports.append(
            import_census(
                engine,
                folder / f"census_{record}.csv",
                record=record,
                city=CITY_CODE,
                period=PERIOD,
                profile="demo",
                data_dir=data_dir,
                progress=progress,
            )
        )
    reports.append(
        import_table(
            engine,
            folder / "indicators_neighbourhood.csv",
            city=CITY_CODE,
            level="barrio",
            decimal=",",
            source=_("synthetic demo data"),
            progress=progress,
        )
    )
    return reports
