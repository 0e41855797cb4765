"""City-wide segregation indices with PySAL ``segregation``, optionally with inference.

Single-group indices compare one group (e.g. Venezuelan residents) with the rest;
multigroup indices use every group's count. Spatial versions replace each unit by its
neighbourhood (queen contiguity by default, or a distance band in metres).
:func:`read_group_counts` reads the counts from a user's own table or boundaries file,
checking every cell, so that the command line needs no observatory.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.spatial._common import require_columns, require_crs
from inclusive_cities.spatial.errors import SpatialError

SINGLE_GROUP = {
    "dissimilarity": "Dissim",
    "isolation": "Isolation",
    "exposure": "Interaction",
    "theil_h": "Entropy",
    "gini": "Gini",
}
SPATIAL_SINGLE_GROUP = {"spatial_dissimilarity": "SpatialDissim"}
MULTIGROUP = {
    "multi_dissimilarity": "MultiDissim",
    "multi_theil_h": "MultiInfoTheory",
    "multi_normalised_exposure": "MultiNormExposure",
    "multi_gini": "MultiGini",
}


def gini_index(group: np.ndarray, total: np.ndarray) -> float:
    """Massey & Denton's Gini segregation index, Σᵢ Σⱼ tᵢ tⱼ |pᵢ − pⱼ| / (2 T² P (1 − P)).

    The same figure as PySAL's ``Gini`` (a unit without residents has pᵢ = 0), in
    O(n log n): sorted by pᵢ, the pairwise sum is Σⱼ tⱼ (pⱼ Cⱼ − Sⱼ) with Cⱼ and Sⱼ the
    running sums of tᵢ and tᵢpᵢ below j.
    """
    t = np.asarray(total, dtype=float)
    g = np.asarray(group, dtype=float)
    big_t = t.sum()
    share = g.sum() / big_t
    p = np.divide(g, t, out=np.zeros_like(t), where=t > 0)
    order = np.argsort(p, kind="stable")
    t, p = t[order], p[order]
    below_t = np.cumsum(t) - t
    below_tp = np.cumsum(t * p) - t * p
    pairs = 2.0 * float(np.sum(t * (p * below_t - below_tp)))
    return pairs / (2.0 * big_t**2 * share * (1.0 - share))


@functools.cache
def _gini_class() -> type:
    """PySAL's ``Gini`` with its statistic from :func:`gini_index`.

    PySAL computes it with a parallel numba kernel that is compiled again in every
    process, which costs the command line many seconds (a minute on a busy machine); the
    subclass keeps PySAL's interface, so its inference (permutations) works unchanged.
    """
    from segregation.singlegroup import Gini

    class NumpyGini(Gini):  # type: ignore[misc]
        data: pd.DataFrame
        statistic: float

        def __init__(self, data: pd.DataFrame, group_pop_var: str, total_pop_var: str, **_: Any):
            Gini.__mro__[1].__init__(self, data, group_pop_var, total_pop_var)
            columns = [group_pop_var, total_pop_var]
            if isinstance(self.data, gpd.GeoDataFrame):
                columns.append(self.data.geometry.name)
            self.data = self.data[columns]
            self.statistic = gini_index(
                self.data[group_pop_var].to_numpy(), self.data[total_pop_var].to_numpy()
            )

    return NumpyGini


@contextmanager
def _quiet_progress() -> Iterator[None]:
    """PySAL's inference draws tqdm bars on stderr; a library must not write to the terminal."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def _frame(units: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    require_columns(units, columns, "unit")
    values = units[list(columns)].apply(pd.to_numeric, errors="coerce")
    for column in columns:
        bad = values[column].isna() | (values[column] < 0)
        if bad.any():
            unit = values.index[bad.to_numpy()][0]
            raise SpatialError(
                _(
                    "Unit {unit}, column '{column}': '{value}' is not a count; group counts must "
                    "be numbers >= 0 with no gaps (write 0 where nobody of the group lives)."
                ).format(unit=unit, column=column, value=units[column][bad].iloc[0])
            )
    if values.to_numpy().sum() <= 0:
        raise SpatialError(_("The units have no population: segregation needs residents."))
    return values


def segregation(
    units: gpd.GeoDataFrame | pd.DataFrame,
    group: str | None = None,
    total: str | None = None,
    groups: Sequence[str] | None = None,
    spatial: bool = False,
    distance_m: float | None = None,
    permutations: int = 0,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Segregation indices, one row each: ``index``, ``value`` and, with ``permutations``,
    ``p_value`` (PySAL's SingleValueTest under systematic or evenness randomisation).

    Give ``group`` and ``total`` for single-group indices (dissimilarity, isolation,
    exposure — the interaction of the group with the rest —, Theil's H, Gini) and/or
    ``groups`` for multigroup ones. ``spatial`` adds the spatial versions, which need
    a GeoDataFrame: spatial dissimilarity (queen contiguity) and, with ``distance_m``,
    the multigroup indices over distance-band neighbourhoods. ``progress(step, done, total)``
    hears of each index (its permutations are the slow part).
    """
    from segregation import multigroup, singlegroup
    from segregation.inference import SingleValueTest

    rows: list[dict[str, object]] = []
    data = units.copy()
    if spatial and not isinstance(units, gpd.GeoDataFrame):
        raise SpatialError(
            _("Spatial indices need the units' polygons: give a GeoPackage or GeoJSON file.")
        )
    if spatial and distance_m:
        # contiguity needs no CRS; a distance band in metres does
        require_crs(units, "unit")  # type: ignore[arg-type]
        if units.crs.is_geographic:  # type: ignore[union-attr]
            data = units.to_crs(units.estimate_utm_crs())  # type: ignore[union-attr]

    single = group is not None or total is not None
    planned = (len(SINGLE_GROUP) + int(spatial)) * single + (
        (len(MULTIGROUP) + 2 * int(bool(spatial and distance_m))) if groups is not None else 0
    )
    report = progress or quiet_progress

    def run(name: str, index: Any) -> None:
        report(_("Segregation index {index}").format(index=name), len(rows), planned)
        row: dict[str, object] = {"index": name, "value": float(index.statistic)}
        if permutations:
            np.random.seed(seed)
            with warnings.catch_warnings(), _quiet_progress():
                warnings.simplefilter("ignore")
                test = SingleValueTest(
                    index,
                    iterations_under_null=permutations,
                    null_approach="systematic",
                    n_jobs=1,
                )
            row["p_value"] = float(test.p_value)
        rows.append(row)

    if group is not None or total is not None:
        if group is None or total is None:
            raise SpatialError(_("Single-group indices need both group= and total=."))
        values = _frame(data, [group, total])
        over = (values[group] > values[total]).to_numpy()
        if over.any():
            raise SpatialError(
                _(
                    "Column '{group}' exceeds '{total}' in unit {unit} ({value} > {limit}): the "
                    "group must be part of the total."
                ).format(
                    group=group,
                    total=total,
                    unit=values.index[over][0],
                    value=values[group][over].iloc[0],
                    limit=values[total][over].iloc[0],
                )
            )
        data[[group, total]] = values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, cls in SINGLE_GROUP.items():
                index = _gini_class() if cls == "Gini" else getattr(singlegroup, cls)
                run(name, index(data, group_pop_var=group, total_pop_var=total))
            if spatial:
                from libpysal.weights import Queen

                w = Queen.from_dataframe(data, use_index=False, silence_warnings=True)
                run(
                    "spatial_dissimilarity",
                    singlegroup.SpatialDissim(data, group_pop_var=group, total_pop_var=total, w=w),
                )
    if groups is not None:
        values = _frame(data, list(groups))
        data[list(groups)] = values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, cls in MULTIGROUP.items():
                run(name, getattr(multigroup, cls)(data, groups=list(groups)))
            if spatial and distance_m:
                for name, cls in (
                    ("spatial_multi_dissimilarity", "MultiDissim"),
                    ("spatial_multi_theil_h", "MultiInfoTheory"),
                ):
                    run(
                        name,
                        getattr(multigroup, cls)(
                            data, groups=list(groups), distance=float(distance_m)
                        ),
                    )
    if not rows:
        raise SpatialError(_("Say which groups to measure: group= and total=, or groups=."))
    report(_("Segregation indices computed"), len(rows), len(rows))
    return pd.DataFrame(rows)


TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
GEO_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")


@dataclass
class GroupCounts:
    """Counts per unit read from a user's file, ready for :func:`segregation`."""

    units: pd.DataFrame
    """Indexed by unit code (text, leading zeros kept); a GeoDataFrame for boundaries files."""
    file: str
    left_out: list[str] = field(default_factory=list)
    """Units left out because a count holds a declared missing-value code."""

    @property
    def has_polygons(self) -> bool:
        units = self.units
        return (
            isinstance(units, gpd.GeoDataFrame)
            and len(units) > 0
            and bool(units.geom_type.isin(["Polygon", "MultiPolygon"]).all())
        )


def read_group_counts(
    path: Path | str,
    columns: Sequence[str],
    *,
    unit_column: str | None = None,
    layer: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    decimal: str = ".",
    missing: Sequence[str] = (),
    parts: Sequence[tuple[str, str]] = (),
) -> GroupCounts:
    """Read group counts from a CSV/XLSX table or a GeoPackage/GeoJSON, one unit a row.

    Every cell of ``columns`` must be a count >= 0 written with ``decimal``; a cell holding
    one of the ``missing`` codes leaves its unit out (named in ``left_out``), because a
    census that hides small counts behind 999 must not be read as 999 residents. ``parts``
    pairs (group, total) whose group may not exceed its total. Errors name the file, the row
    as a spreadsheet shows it, the column and the value.
    """
    from inclusive_cities.ingest.common import require_file

    path = require_file(path)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        from inclusive_cities.ingest.tabular import read_text_table

        table = read_text_table(path, encoding=encoding, sheet=sheet)
        for number, count in table.short_rows[:1]:
            raise SpatialError(
                _(
                    "{file}, row {row}: {count} fields where the header has {width}; the file may "
                    "be truncated or use another delimiter."
                ).format(file=table.file, row=number, count=count, width=len(table.header))
            )
        header, file = table.header, table.file
        cells = pd.DataFrame(table.rows, columns=header, dtype=object)
        excel = table.encoding == "xlsx"
        rows = list(table.row_numbers)
        geometry = None
    elif suffix in GEO_SUFFIXES:
        frame = _read_geo(path, layer)
        geometry = frame.geometry
        cells = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        header, file = [str(c) for c in cells.columns], path.name
        rows = list(range(2, len(cells) + 2))  # as the attribute table with its header row
        excel = False
    else:
        raise SpatialError(
            _(
                "Cannot read {file}: give a table (.csv, .xlsx) or a boundaries file (.gpkg, "
                ".geojson, .shp)."
            ).format(file=path.name)
        )
    code = unit_column or (header[0] if header else "")
    for column in [code, *columns]:
        if column not in header:
            raise SpatialError(
                _(
                    "{file} has no column '{column}': the columns are {known}. Name an existing "
                    "column (group counts with --group/--groups/--total, codes with --unit-column)."
                ).format(file=file, column=column, known=", ".join(header))
            )
    codes = _unit_codes(cells[code], rows, file, code)
    codes_missing = {str(m).strip() for m in missing}
    numbers_missing = {v for v in (_number(m, m, decimal) for m in codes_missing) if v is not None}
    values = pd.DataFrame(index=pd.Index(codes, name=code))
    out: list[bool] = [False] * len(cells)
    for column in dict.fromkeys(columns):
        parsed = []
        for position, raw in enumerate(cells[column].tolist()):
            text = _text(raw)
            value = _number(raw, text, decimal, excel)
            if text in codes_missing or (value is not None and value in numbers_missing):
                out[position] = True
                parsed.append(math.nan)
                continue
            where = {"file": file, "row": rows[position], "column": column, "value": text}
            if not text:
                raise SpatialError(
                    _(
                        "{file}, row {row}, column '{column}': the count is empty; write 0 where "
                        "nobody of the group lives, or declare the file's missing-value code "
                        "with --missing."
                    ).format(**where)
                )
            if value is None:
                hint = (
                    _(" It looks like a decimal comma: add --decimal ,.")
                    if decimal == "." and "," in text
                    else ""
                )
                raise SpatialError(
                    _("{file}, row {row}, column '{column}': '{value}' is not a number.").format(
                        **where
                    )
                    + hint
                )
            if value < 0:
                raise SpatialError(
                    _(
                        "{file}, row {row}, column '{column}': {value} is a negative count; a "
                        "count is 0 or more (if {value} marks a missing value, declare it with "
                        "--missing {value})."
                    ).format(**where)
                )
            parsed.append(value)
        values[column] = parsed
    keep = ~np.array(out, dtype=bool)
    for group, total in parts:
        over = keep & (values[group] > values[total]).to_numpy()
        if over.any():
            position = int(np.flatnonzero(over)[0])
            raise SpatialError(
                _(
                    "{file}, row {row}, column '{column}': {value} exceeds the total {limit} of "
                    "column '{total}'; the group must be part of the total: check --group and "
                    "--total{hint}."
                ).format(
                    file=file,
                    row=rows[position],
                    column=group,
                    value=_text(values[group].iloc[position]),
                    limit=_text(values[total].iloc[position]),
                    total=total,
                    hint=_(", or declare a missing-value code with --missing")
                    if _looks_like_code(values[group].iloc[position])
                    else "",
                )
            )
    left_out = [c for c, gone in zip(codes, out, strict=True) if gone]
    values = values[keep]
    if geometry is not None:
        units: pd.DataFrame = gpd.GeoDataFrame(
            values, geometry=list(geometry[keep]), crs=geometry.crs
        )
    else:
        units = values
    if len(units) < 2:
        raise SpatialError(
            _(
                "{file} has {count} unit(s) with counts: segregation compares at least 2 units."
            ).format(file=file, count=len(units))
        )
    units.attrs["rows"] = dict(zip(codes, rows, strict=True))
    return GroupCounts(units, file, left_out)


def _read_geo(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as error:  # any driver failure is the same problem for the user
        raise SpatialError(
            _("{file} cannot be opened as a boundaries file ({reason}): export it again.").format(
                file=path.name, reason=str(error).splitlines()[0] if str(error) else "?"
            )
        ) from error
    if layer is not None and layer not in names:
        raise SpatialError(
            _("{file} has no layer '{layer}' (layers: {layers}): choose one with --layer.").format(
                file=path.name, layer=layer, layers=", ".join(names)
            )
        )
    if layer is None and len(names) > 1:
        raise SpatialError(
            _("{file} has several layers ({layers}): choose one with --layer.").format(
                file=path.name, layers=", ".join(names)
            )
        )
    return gpd.read_file(path, layer=layer or names[0])


def _text(raw: object) -> str:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def _number(raw: object, text: str, decimal: str, excel: bool = False) -> float | None:
    """A cell as a number: stored numbers as they are (a GeoPackage's reals, a workbook's
    numeric cells), text by ``decimal``, so that "1.234" is 1234 with --decimal , and
    1.234 with the default."""
    from inclusive_cities.ingest.tabular import parse_number

    if isinstance(raw, int | float | np.integer | np.floating) and not isinstance(raw, bool):
        return float(raw)
    if not text:
        return None
    if excel:
        value = parse_number(text, ".")
        if value is not None or decimal == ".":
            return value
    return parse_number(text, decimal)


def _looks_like_code(value: float) -> bool:
    """99, 999, 9999…: the usual missing-value codes of census exports."""
    return value >= 99 and float(value).is_integer() and set(str(int(value))) == {"9"}


def _unit_codes(column: pd.Series, rows: list[int], file: str, name: str) -> list[str]:
    """Unit codes as text, leading zeros kept; empty or repeated codes are refused."""
    codes = [_text(v) for v in column.tolist()]
    seen: dict[str, int] = {}
    for position, code in enumerate(codes):
        if not code:
            raise SpatialError(
                _(
                    "{file}, row {row}, column '{column}': the unit code is empty; give every "
                    "unit its code (or name the code column with --unit-column)."
                ).format(file=file, row=rows[position], column=name)
            )
        if code in seen:
            raise SpatialError(
                _(
                    "{file}, row {row}, column '{column}': unit code {value} repeats row {first}; "
                    "give each unit one row."
                ).format(file=file, row=rows[position], column=name, value=code, first=seen[code])
            )
        seen[code] = rows[position]
    return codes


def attach_polygons(
    counts: GroupCounts, path: Path | str, *, layer: str | None = None, code: str | None = None
) -> GroupCounts:
    """The counts of a table placed on the polygons of a boundaries file, matched by code.

    Census counts usually come as a table and the blocks as a GeoPackage; spatial indices
    need both. Every unit of the table must have a polygon (a code that lost its leading
    zeros in one of the files is named as such); polygons without counts are ignored.
    """
    from inclusive_cities.ingest.common import require_file

    path = require_file(path)
    if path.suffix.lower() not in GEO_SUFFIXES:
        raise SpatialError(
            _("Cannot read {file} as boundaries: give a .gpkg, .geojson or .shp file.").format(
                file=path.name
            )
        )
    frame = _read_geo(path, layer)
    name = code or str(counts.units.index.name)
    if name not in frame.columns:
        raise SpatialError(
            _(
                "{file} has no code column '{column}' (columns: {known}): name the column with "
                "the unit codes with --boundaries-code."
            ).format(
                file=path.name,
                column=name,
                known=", ".join(str(c) for c in frame.columns if c != frame.geometry.name),
            )
        )
    from inclusive_cities.ingest.tabular import lost_leading_zeros

    codes = _unit_codes(frame[name], list(range(2, len(frame) + 2)), path.name, name)
    lookup = dict(zip(codes, frame.geometry, strict=True))
    rows = counts.units.attrs.get("rows", {})
    for unit in counts.units.index:
        if unit in lookup:
            continue
        similar = lost_leading_zeros(str(unit), codes)
        hint = (
            _(" It has {similar}: one of the files lost the codes' leading zeros.").format(
                similar=similar
            )
            if similar
            else ""
        )
        raise SpatialError(
            _(
                "{file}, row {row}: unit {code} has no polygon in {boundaries} (column "
                "'{column}'); check the codes and the layer.{hint}"
            ).format(
                file=counts.file,
                row=rows.get(unit, "?"),
                code=unit,
                boundaries=path.name,
                column=name,
                hint=hint,
            )
        )
    units = gpd.GeoDataFrame(
        counts.units.copy(), geometry=[lookup[c] for c in counts.units.index], crs=frame.crs
    )
    units.attrs = dict(counts.units.attrs)
    return GroupCounts(units, counts.file, counts.left_out)
