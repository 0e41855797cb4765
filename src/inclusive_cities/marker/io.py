"""Reading unit tables and writing marker results as CSV, XLSX or GeoPackage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.errors import MarkerDataError

if TYPE_CHECKING:
    from inclusive_cities.ingest.dictionary import ColumnMeta
    from inclusive_cities.marker.spec import MarkerSpec

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

    def numeric(
        self,
        columns: list[str],
        missing: Sequence[float] = (),
        metas: Mapping[str, ColumnMeta] | None = None,
    ) -> pd.DataFrame:
        """The frame with ``columns`` parsed as numbers (decimal comma or dot, as the file
        writes them); a cell that is not a number is reported with its file row. Cells equal
        to a ``missing`` code (999, -999), to a column's own codes in ``metas`` (a data
        dictionary's numbers and texts such as NS/NR) and every kind of NaN become one NaN.

        Each column is parsed once, from the text as read, so a column that two indicators
        divide by is not parsed again from its own numbers."""
        frame = self.frame.copy()
        for column in dict.fromkeys(columns):
            if column not in frame.columns:
                continue
            meta = (metas or {}).get(column)
            values = self._parse(column, meta.missing_text if meta else ())
            codes = np.asarray(sorted({*missing, *(meta.missing if meta else ())}), dtype=float)
            if codes.size:
                values = values.mask(values.isin(codes))
            frame[column] = quiet_nan(values.to_numpy(dtype=float, na_value=np.nan))
        return frame

    def screen(
        self, frame: pd.DataFrame, metas: Mapping[str, ColumnMeta], id_column: str
    ) -> list[str]:
        """Check parsed columns as ``import table`` does: a value outside what the column's
        unit or dictionary allows (999 in a % column) is refused with its row; in a column
        with no range, a 9…9 far outside the other values (an undeclared missing-value code)
        becomes missing, and the returned warning names its rows and value."""
        from inclusive_cities.ingest.checks import Value, implausible_values
        from inclusive_cities.ingest.dictionary import looks_like_code

        warnings: list[str] = []
        for column, meta in metas.items():
            if column not in frame.columns:
                continue
            values = frame[column].to_numpy(dtype=float)
            present = np.flatnonzero(~np.isnan(values))
            cells = [
                Value(
                    self.row_numbers[i],
                    column,
                    column,
                    str(frame[id_column].iloc[i]) if id_column in frame.columns else "",
                    "",
                    float(values[i]),
                )
                for i in present
            ]
            problems, _notes = implausible_values(cells, {column: meta}, self.file)
            if problems:
                more = (
                    _(" ({count} more cells of the table are outside their range.)").format(
                        count=len(problems) - 1
                    )
                    if len(problems) > 1
                    else ""
                )
                raise MarkerDataError(str(problems[0]) + more)
            numbers = [c.value for c in cells]
            flagged = [
                (int(i), c)
                for i, c in zip(present, cells, strict=True)
                if looks_like_code(c.value, numbers)
            ]
            if not flagged:
                continue
            frame.loc[frame.index[[i for i, _c in flagged]], column] = np.nan
            rest = [v for v in numbers if v not in {c.value for _i, c in flagged}]
            for value in dict.fromkeys(c.value for _i, c in flagged):
                rows = [c.row for _i, c in flagged if c.value == value]
                warnings.append(
                    _(
                        "{file}, rows {rows}, column '{column}': {value} is far outside the "
                        "column's other values ({low} to {high}), so it was scored as missing; "
                        "declare it with --missing {value}, or fix the cells if it is a real "
                        "value."
                    ).format(
                        file=self.file,
                        rows=", ".join(str(r) for r in rows[:5]) + (" …" if len(rows) > 5 else ""),
                        column=column,
                        value=f"{value:g}",
                        low=f"{min(rest):g}" if rest else "-",
                        high=f"{max(rest):g}" if rest else "-",
                    )
                )
        return warnings

    def _parse(self, column: str, texts: Sequence[str] = ()) -> pd.Series:
        original = self.frame[column]
        if pd.api.types.is_numeric_dtype(original.dtype):
            return original.astype(float)
        blank = original.isna()
        text = original.where(~blank, "").astype(str).str.strip()
        text = text.str.replace("\u00a0", "", regex=False).str.removesuffix("%").str.strip()
        if self.decimal == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        empty = blank | text.eq("") | text.str.upper().isin(["NA", "N/A", "NAN", "NULL"])
        if texts:
            empty |= text.str.lower().isin([t.lower() for t in texts])
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


def localised_frame(frame: pd.DataFrame, spec: MarkerSpec, language: str) -> pd.DataFrame:
    """The result table in the user's language: the columns the engine names (rank, level,
    coverage, missing_areas) and the level and area values; node and id columns keep their
    codes, which other files and specs refer to. English output is left as it was."""
    if language == "en":
        return frame
    areas = {node.code: node.name.text(language) for node in spec.tree.children}
    levels = {level.code: level.label.text(language) for level in spec.levels}
    out = frame.copy()
    out["level"] = [levels.get(v, v) if isinstance(v, str) else v for v in out["level"]]
    out["missing_areas"] = [
        "; ".join(areas.get(a, a) for a in str(v).split(";") if a) if isinstance(v, str) else v
        for v in out["missing_areas"]
    ]
    return out.rename(
        columns={
            "rank": _("rank"),
            "level": _("level"),
            "coverage": _("coverage (share of areas with data)"),
            "missing_areas": _("areas without data"),
        }
    )


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
            frame.to_excel(path, index=False, sheet_name=_("marker"))
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


def column_metas(
    spec: MarkerSpec,
    dictionary: Mapping[str, ColumnMeta],
    population_column: str | None = None,
    texts: Sequence[str] = (),
) -> dict[str, ColumnMeta]:
    """What each column a spec reads may hold: its unit (from the spec: % is 0-100, metres
    never negative), and a data dictionary's range and missing-value codes, matched by the
    column's name as ``import table`` matches it ("Hacinamiento (%)" -> hacinamiento).
    ``texts`` are text cells meaning "no data" in every column (--missing NS/NR)."""
    from dataclasses import replace

    from inclusive_cities.ingest.dictionary import ColumnMeta, canonical_unit, normalise_code

    def declared(column: str) -> ColumnMeta | None:
        found = dictionary.get(column) or dictionary.get(normalise_code(column))
        if found is None or not texts:
            return found
        return replace(found, missing_text=(*found.missing_text, *texts))

    metas: dict[str, ColumnMeta] = {}
    for item in spec.indicators():
        # a count divided by a denominator is a count, whatever unit its rate has
        unit = "" if item.denominator else canonical_unit(item.unit)
        found = declared(item.code)
        metas[item.code] = (
            replace(found, code=item.code, unit=found.unit or unit)
            if found
            else ColumnMeta(code=item.code, unit=unit, missing_text=tuple(texts))
        )
        if item.denominator and item.denominator.column not in metas:
            column = item.denominator.column
            metas[column] = declared(column) or ColumnMeta(
                code=column, unit="count", missing_text=tuple(texts)
            )
    if population_column:
        metas[population_column] = declared(population_column) or ColumnMeta(
            code=population_column, unit="personas", missing_text=tuple(texts)
        )
    return metas
