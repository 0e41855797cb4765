"""Reading unit tables and writing marker results as CSV, XLSX or GeoPackage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.errors import MarkerDataError

TABLE_SUFFIXES = (".csv", ".xlsx")
OUTPUT_SUFFIXES = (".csv", ".xlsx", ".gpkg")


@dataclass
class UnitTable:
    """A unit table read as text: cells stay text until a column is needed as numbers."""

    frame: pd.DataFrame
    file: str
    row_numbers: list[int]
    decimal: str

    @property
    def first_row(self) -> int:
        return self.row_numbers[0] if self.row_numbers else 2

    def numeric(self, columns: list[str], missing: Sequence[float] = ()) -> pd.DataFrame:
        """The frame with ``columns`` parsed as numbers (decimal comma or dot, as the file
        writes them); a cell that is not a number is reported with its file row. Cells equal
        to a ``missing`` code (999, -999) and every kind of NaN become one plain NaN.

        Each column is parsed once, from the text as read, so a column that two indicators
        divide by is not parsed again from its own numbers."""
        frame = self.frame.copy()
        codes = np.asarray(sorted(set(missing)), dtype=float)
        for column in dict.fromkeys(columns):
            if column not in frame.columns:
                continue
            values = self._parse(column)
            if codes.size:
                values = values.mask(values.isin(codes))
            frame[column] = quiet_nan(values.to_numpy(dtype=float, na_value=np.nan))
        return frame

    def _parse(self, column: str) -> pd.Series:
        original = self.frame[column]
        if pd.api.types.is_numeric_dtype(original.dtype):
            return original.astype(float)
        blank = original.isna()
        text = original.where(~blank, "").astype(str).str.strip()
        text = text.str.replace("\u00a0", "", regex=False).str.removesuffix("%").str.strip()
        if self.decimal == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        empty = blank | text.eq("") | text.str.upper().isin(["NA", "N/A", "NAN", "NULL"])
        values = pd.to_numeric(text.mask(empty), errors="coerce")
        bad = values.isna() & ~empty
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise MarkerDataError(
                _(
                    "{file}, row {row}, column '{column}': '{value}' is not a number; leave "
                    "missing values empty."
                ).format(
                    file=self.file,
                    row=self.row_numbers[position],
                    column=column,
                    value=original.iloc[position],
                )
            )
        return values.astype(float)


def quiet_nan(values: np.ndarray) -> np.ndarray:
    """Every NaN as the one plain NaN. R's NA_real_ is a signalling NaN with a payload
    (1954): ``np.nanmin`` and ``np.fmin`` do not skip it, so min-max goalposts come out
    wrong and a column looks constant."""
    values = np.array(values, dtype=float)
    values[np.isnan(values)] = np.nan
    return values


def read_table(path: Path) -> UnitTable:
    """A CSV (any of , ; tab |, UTF-8 or Latin-1, decimal dot or comma) or XLSX table.

    Ids and every other cell stay text (leading zeros survive). When the file has an HXL
    row, columns tagged ``#indicator+CODE`` are named ``CODE``, so a table exported with
    local column names still matches the spec's indicator codes.
    """
    from inclusive_cities.ingest.tabular import looks_like_decimal_comma, read_text_table

    suffix = path.suffix.lower()
    if not path.is_file():
        raise MarkerDataError(_("There is no data file {path}; check --data.").format(path=path))
    if suffix not in TABLE_SUFFIXES:
        raise MarkerDataError(_("{path}: data must be a .csv or .xlsx file.").format(path=path))
    table = read_text_table(path)
    header = list(table.header)
    if table.hxl:
        for index, tag in enumerate(table.hxl):
            if tag.lower().startswith("#indicator+"):
                code = tag.split("+", 1)[1].strip()
                if code and code not in header:
                    header[index] = code
    frame = pd.DataFrame(table.rows, columns=header, dtype=object)
    sample = [cell for row in table.rows[:200] for cell in row if cell]
    decimal = "," if any(looks_like_decimal_comma(cell) for cell in sample) else "."
    return UnitTable(frame, table.file, table.row_numbers, decimal)


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
