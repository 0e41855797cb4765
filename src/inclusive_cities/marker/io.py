"""Reading unit tables and writing marker results as CSV, XLSX or GeoPackage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.errors import MarkerDataError

TABLE_SUFFIXES = (".csv", ".xlsx")
OUTPUT_SUFFIXES = (".csv", ".xlsx", ".gpkg")


def read_table(path: Path, id_column: str) -> pd.DataFrame:
    """A CSV (UTF-8 or Latin-1) or XLSX table; ids stay text so leading zeros survive."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise MarkerDataError(_("There is no data file {path}; check --data.").format(path=path))
    if suffix not in TABLE_SUFFIXES:
        raise MarkerDataError(_("{path}: data must be a .csv or .xlsx file.").format(path=path))
    try:
        if suffix == ".xlsx":
            return pd.read_excel(path, dtype={id_column: str})
        for encoding in ("utf-8-sig", "latin-1"):
            try:
                return pd.read_csv(path, dtype={id_column: str}, encoding=encoding)
            except UnicodeDecodeError:
                continue
    except (ValueError, OSError) as error:
        raise MarkerDataError(
            _("Cannot read {path} ({reason}); check that it is a valid table.").format(
                path=path, reason=str(error).splitlines()[0] if str(error) else type(error).__name__
            )
        ) from error
    raise MarkerDataError(_("Cannot read {path}: unknown text encoding.").format(path=path))


def write_table(frame: pd.DataFrame, path: Path, id_column: str, units: Path | None = None) -> None:
    """Write by extension; ``.gpkg`` joins the scores to the ``units`` boundaries by id."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise MarkerDataError(
            _("{path}: the output must end in .csv, .xlsx or .gpkg.").format(path=path)
        )
    try:
        if suffix == ".csv":
            frame.to_csv(path, index=False)
        elif suffix == ".xlsx":
            frame.to_excel(path, index=False)
        else:
            _write_geopackage(frame, path, id_column, units)
    except OSError as error:
        raise MarkerDataError(
            _("Cannot write {path} ({reason}); choose another --out.").format(
                path=path, reason=error.strerror or error
            )
        ) from error


def _write_geopackage(frame: pd.DataFrame, path: Path, id_column: str, units: Path | None) -> None:
    import geopandas as gpd

    if units is None:
        raise MarkerDataError(
            _("Writing {path} needs the unit boundaries: add --units BOUNDARIES.gpkg.").format(
                path=path
            )
        )
    if not units.is_file():
        raise MarkerDataError(_("There is no boundaries file {path}.").format(path=units))
    shapes = gpd.read_file(units)
    if id_column not in shapes.columns:
        raise MarkerDataError(
            _("{path} has no column '{column}' to join the scores on.").format(
                path=units, column=id_column
            )
        )
    shapes[id_column] = shapes[id_column].astype(str)
    scores = frame.assign(**{id_column: frame[id_column].astype(str)})
    joined = shapes[[id_column, "geometry"]].merge(scores, on=id_column, how="inner")
    if joined.empty:
        raise MarkerDataError(
            _("No unit of {path} matches an id of the data in column '{column}'.").format(
                path=units, column=id_column
            )
        )
    gpd.GeoDataFrame(joined, geometry="geometry", crs=shapes.crs).to_file(
        path, driver="GPKG", layer="marker"
    )
