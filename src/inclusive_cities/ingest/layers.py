"""Environment layers (risk zones, public space, streets) kept beside the store.

Indicators such as the population in non-mitigable risk zones or intersection density are
measured against these layers every time they are computed. The file is checked (a vector
file whose layers have a CRS and features), copied into ``<data_dir>/layers/<city>/`` and
registered as an import batch, so that ``indicators compute`` (from the CLI or a web job)
finds it without being told where it is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyogrio
from pyproj import CRS
from sqlalchemy import Engine, select

from inclusive_cities import store
from inclusive_cities.config import get_settings
from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import (
    ImportReport,
    IngestError,
    Timer,
    find_city,
    open_batch,
    overlapping_batches,
    same_file_batch,
    sha256_file,
)
from inclusive_cities.ingest.identifiers import validate_identifier
from inclusive_cities.ingest.tabular import require_data_file
from inclusive_cities.ingest.vector import check_coordinates
from inclusive_cities.store import models

KIND = "environment"


def _check_layers(path: Path, suggest: str | None = None) -> list[str]:
    """Layer names, once every layer has a CRS and coordinates that CRS can hold.

    The file is kept as it is, so a wrong CRS cannot be fixed here with --crs: the message
    asks for the file to be saved with its true CRS.
    """
    try:
        listed = pyogrio.list_layers(path)
    except Exception as error:
        raise IngestError(
            _(
                "{file} is not a vector file GDAL can read ({reason}): export it as GeoPackage."
            ).format(file=path.name, reason=str(error).splitlines()[0][:120])
        ) from error
    names = [str(name) for name, _geometry in listed]
    _require_features(path, listed)
    for name in names:
        info = pyogrio.read_info(path, layer=name)
        if not info.get("crs"):
            raise IngestError(
                _(
                    "{file}, layer {layer}: it has no coordinate reference system: save it with "
                    "its CRS (e.g. EPSG:32618)."
                ).format(file=path.name, layer=name)
            )
        _fids, bounds = pyogrio.read_bounds(path, layer=name)
        check_coordinates(
            bounds.T,
            CRS.from_user_input(info["crs"]),
            f"{path.name}:{name}",
            declared=True,
            suggest=suggest,
            option=False,
        )
    if not names:
        raise IngestError(_("{file} has no layers.").format(file=path.name))
    return names


def _require_features(path: Path, listed: object) -> None:
    """A file with no vector layer, or only empty ones, would replace the city's layers
    with nothing: refuse it."""
    spatial = [str(name) for name, geometry in listed if geometry]  # type: ignore[attr-defined]
    counts = [pyogrio.read_info(path, layer=name).get("features", 0) for name in spatial]
    if not spatial or not any(count for count in counts):
        raise IngestError(
            _(
                "{file} has no features in any vector layer ({layers}): nothing would replace "
                "the city's environment layers; give the GeoPackage with the risk zones, public "
                "space and streets."
            ).format(file=path.name, layers=", ".join(spatial) or _("no layers"))
        )


def import_layers(
    engine: Engine,
    source: Path | str,
    *,
    city: str,
    data_dir: Path | str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Keep an environment vector file for ``city``; a new file replaces the previous one."""
    timer = Timer()
    city = validate_identifier("city", city)
    path = require_data_file(source)
    with store.transaction(engine) as session:
        suggest = session.scalars(
            select(models.City.projected_crs).where(models.City.code == city)
        ).first()
    layers = _check_layers(path, suggest)
    report = ImportReport(kind=KIND, file=path.name, sha256=sha256_file(path))
    report.rows_read = report.rows_accepted = len(layers)
    report.details = {"layers": layers}
    if dry_run:
        report.status = "dry_run"
        report.seconds = timer.seconds()
        return report
    folder = Path(data_dir or get_settings().data_dir) / "layers" / city
    target = folder / f"{report.sha256[:16]}{path.suffix.lower()}"
    with store.transaction(engine) as session:
        city_row = find_city(session, city, path.name)
        previous = same_file_batch(session, KIND, city_row.id, report.sha256)
        if previous is not None:
            report.status, report.batch_id = "unchanged", previous.id
            report.seconds = timer.seconds()
            return report
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{target.name}.partial"
        shutil.copyfile(path, partial)
        os.replace(partial, target)  # atomic: a crash leaves no half-copied file in use
        open_batch(
            session,
            report,
            city_id=city_row.id,
            period_id=None,
            scope=["environment"],
            replaced=overlapping_batches(session, KIND, city_row.id, ["environment"]),
            details={"path": str(target.resolve()), "layers": layers},
        )
    report.seconds = timer.seconds()
    return report
