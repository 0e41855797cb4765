"""``spatial …``: segregation and clusters of a city from the store, as tables and layers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

console = Console(highlight=False)
spatial_app = typer.Typer(
    help="Segregation, clusters of exclusion and areal interpolation from the observatory.",
    no_args_is_help=True,
)


def segregation(
    city: str = typer.Option(None, "--city", help="City code (the observatory's census)."),
    period: str = typer.Option(None, "--period", help="Census period code."),
    level: str = typer.Option(None, "--level", help="Level of units (default: the smallest)."),
    data: Path = typer.Option(
        None,
        "--data",
        help="Your own counts instead of the observatory's: a table (.csv, .xlsx; unit code "
        "and one column per group) or a boundaries file (.gpkg, .geojson) with count columns.",
    ),
    group: str = typer.Option(
        None,
        "--group",
        help="Group for single-group indices: a nationality (default venezuelan), or with "
        "--data a column of counts.",
    ),
    total: str = typer.Option(
        None,
        "--total",
        help="With --data: column with each unit's population (default: the sum of --groups).",
    ),
    groups: list[str] = typer.Option(
        [], "--groups", help="With --data: a group column for multigroup indices (repeatable)."
    ),
    unit_column: str = typer.Option(
        None, "--unit-column", help="With --data: column with the unit codes (default: the first)."
    ),
    boundaries: Path = typer.Option(
        None,
        "--boundaries",
        help="With a --data table: the units' polygons (.gpkg, .geojson), matched by unit "
        "code, for the spatial indices.",
    ),
    boundaries_code: str = typer.Option(
        None,
        "--boundaries-code",
        help="Code column of --boundaries (default: the name of the table's code column).",
    ),
    layer: str = typer.Option(
        None, "--layer", help="Layer of a GeoPackage (--data or --boundaries)."
    ),
    sheet: str = typer.Option(None, "--sheet", help="Sheet of an XLSX --data file."),
    encoding: str = typer.Option(None, "--encoding", help="Text encoding (default: detected)."),
    decimal: str = typer.Option(".", "--decimal", help="Decimal mark of the numbers: . or ,"),
    missing: list[str] = typer.Option(
        [], "--missing", help="Missing-value code, e.g. 999 (repeatable): its units are left out."
    ),
    distance: float = typer.Option(
        None,
        "--distance",
        help="Distance band in metres: adds the spatial multigroup indices.",
    ),
    permutations: int = typer.Option(0, "--permutations", help="Permutations for p-values."),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutations."),
    out: Path = typer.Option(None, "--out", help="Also write the indices as .csv or .xlsx."),
) -> None:
    """Segregation of a group and multigroup indices over a city's units (with spatial
    dissimilarity when the units have polygons), from the observatory or your own file."""
    from inclusive_cities.spatial import SpatialError
    from inclusive_cities.spatial import segregation as measure

    _check_out(out, (".csv", ".xlsx"))
    if decimal not in (".", ","):
        raise SpatialError(_("--decimal must be . or , (not {value}).").format(value=decimal))
    if permutations < 0:
        raise SpatialError(
            _("--permutations must be 0 or more (not {value}).").format(value=permutations)
        )
    if data is not None:
        if city or period or level:
            raise SpatialError(
                _("Give either --data FILE or --city and --period (the observatory), not both.")
            )
        units, spatial, notes, single, total_column, multi = _segregation_file(
            data,
            group,
            total,
            groups,
            unit_column,
            layer,
            sheet,
            encoding,
            decimal,
            missing,
            (boundaries, boundaries_code),
        )
    else:
        file_only = {
            "--boundaries": boundaries,
            "--boundaries-code": boundaries_code,
            "--total": total,
            "--groups": groups,
            "--unit-column": unit_column,
            "--layer": layer,
            "--sheet": sheet,
            "--encoding": encoding,
            "--missing": missing,
        }
        given = [name for name, value in file_only.items() if value]
        if given:
            raise SpatialError(
                _("Options for your own counts need --data FILE: {options}.").format(
                    options=", ".join(given)
                )
            )
        if not city or not period:
            raise SpatialError(
                _("Give --city and --period (the observatory's census), or --data FILE.")
            )
        units, spatial, notes, single, total_column, multi = _segregation_store(
            city, period, level, group
        )
    if distance is not None and distance <= 0:
        raise SpatialError(
            _("--distance is in metres and must be more than 0 (not {value}).").format(
                value=distance
            )
        )
    with progress_bar(_("Segregation")) as progress:
        result = measure(
            units,
            group=single,
            total=total_column if single else None,
            groups=multi or None,
            spatial=spatial,
            distance_m=distance,
            permutations=permutations,
            seed=seed,
            progress=progress,
        )
    table = Table(_("Index"), _("Value"), _("p-value"), show_header=True)
    for row in result.to_dict("records"):
        p_value = row.get("p_value")
        table.add_row(
            str(row["index"]), f"{row['value']:.4f}", "" if p_value is None else f"{p_value:.3f}"
        )
    console.print(table)
    for note in notes:
        _say(note)
    if out is not None:
        if out.suffix.lower() == ".xlsx":
            result.to_excel(out, index=False)
        else:
            result.to_csv(out, index=False)
        _say(_("Wrote {count} indices to {path}.").format(count=len(result), path=out))


def _segregation_store(
    city: str, period: str, level: str | None, group: str | None
) -> tuple[gpd.GeoDataFrame, bool, list[str], str, str, list[str]]:
    """The observatory's census counts per unit: a nationality against the population."""
    from inclusive_cities import store
    from inclusive_cities.indicators.pipeline import NATIONALITIES, unit_layer
    from inclusive_cities.spatial import SpatialError

    layer = unit_layer(store.connect(state.database_url), city, period, level)
    if "population" not in layer.columns:
        raise SpatialError(
            _("City '{city}' has no census persons for period {period}: import them first.").format(
                city=city, period=period
            )
        )
    spatial = bool(len(layer)) and bool(layer.geom_type.isin(["Polygon", "MultiPolygon"]).all())
    return layer, spatial, [], group or "venezuelan", "population", list(NATIONALITIES)


def _segregation_file(
    data: Path,
    group: str | None,
    total: str | None,
    groups: list[str],
    unit_column: str | None,
    layer: str | None,
    sheet: str | None,
    encoding: str | None,
    decimal: str,
    missing: list[str],
    polygons: tuple[Path | None, str | None] = (None, None),
) -> tuple[pd.DataFrame, bool, list[str], str | None, str | None, list[str]]:
    """A user's own counts, checked cell by cell; the total defaults to the groups' sum."""
    from inclusive_cities.spatial import SpatialError
    from inclusive_cities.spatial.segregation import (
        TABLE_SUFFIXES,
        attach_polygons,
        read_group_counts,
    )

    boundaries, boundaries_code = polygons
    if boundaries is not None and data.suffix.lower() not in TABLE_SUFFIXES:
        raise SpatialError(
            _("{file} has its own polygons: --boundaries goes with a table (.csv, .xlsx).").format(
                file=data.name
            )
        )

    if group is None and not groups:
        raise SpatialError(
            _(
                "Say which columns of {file} to measure: --group COLUMN with --total COLUMN, "
                "and/or --groups COLUMN for each group."
            ).format(file=data.name)
        )
    if group is not None and total is None and not groups:
        raise SpatialError(
            _(
                "--group {group} needs the units' population: give --total COLUMN, or every "
                "group with --groups so that the total is their sum."
            ).format(group=group)
        )
    columns = [c for c in (group, total, *groups) if c]
    parts = [(group, total)] if group and total else []
    counts = read_group_counts(
        data,
        columns,
        unit_column=unit_column,
        sheet=sheet,
        encoding=encoding,
        decimal=decimal,
        layer=None if boundaries is not None else layer,
        missing=missing,
        parts=parts,
    )
    if boundaries is not None:
        counts = attach_polygons(counts, boundaries, layer=layer, code=boundaries_code)
    units = counts.units
    total_column = total
    if total is None:
        total_column = "_total"
        units[total_column] = units[list(dict.fromkeys(groups))].sum(axis=1)
        if group is not None and group not in groups:
            raise SpatialError(
                _(
                    "--group {group} is not one of --groups, so their sum is not its total: add "
                    "it to --groups or give --total COLUMN."
                ).format(group=group)
            )
    notes = [
        _("Read {count} units from {file}.").format(
            count=format_number(len(units)), file=counts.file
        )
    ]
    if counts.left_out:
        shown = ", ".join(counts.left_out[:10])
        more = len(counts.left_out) - 10
        notes.append(
            _("Left out {count} units with a missing-value code: {codes}{more}.").format(
                count=len(counts.left_out),
                codes=shown,
                more=_(" (and {count} more)").format(count=more) if more > 0 else "",
            )
        )
    if not counts.has_polygons:
        notes.append(
            _(
                "No spatial dissimilarity: it needs the units' polygons (a GeoPackage or GeoJSON "
                "of polygons as --data, or --boundaries with a table)."
            )
        )
    return units, counts.has_polygons, notes, group, total_column, list(dict.fromkeys(groups))


def clusters(
    city: str = typer.Option(None, "--city", help="City code."),
    period: str = typer.Option(None, "--period", help="Period code."),
    indicator: str = typer.Option(None, "--indicator", help="Indicator code (stored values)."),
    marker: str = typer.Option(
        None, "--marker", help="Marker spec: clusters of its newest run's scores."
    ),
    run: int = typer.Option(None, "--run", help="Marker run id: find clusters of its scores."),
    score: str = typer.Option(
        None, "--score", help="Node of the marker run (default: the index; or an area code)."
    ),
    level: str = typer.Option(None, "--level", help="Level of units (default: the smallest)."),
    permutations: int = typer.Option(999, "--permutations", help="Permutations for p-values."),
    k: int = typer.Option(6, "--k", help="Nearest neighbours of each unit."),
    seed: int = typer.Option(12345, "--seed", help="Seed of the permutations."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level after FDR."),
    keep: bool = typer.Option(
        True, "--store/--no-store", help="Keep the result as a layer of the observatory."
    ),
    publish: bool = typer.Option(
        False, "--publish", help="Publish the stored layer (OGC API and the map)."
    ),
    out: Path = typer.Option(None, "--out", help="Write the classes as a GeoPackage layer."),
) -> None:
    """Local Moran's I and Gi* hot and cold spots of a stored indicator or marker score
    (FDR-adjusted), stored as a layer."""
    from inclusive_cities import store
    from inclusive_cities.analyses import cluster_layer

    _check_out(out, (".gpkg",))
    with progress_bar(_("Clusters")) as progress:
        result = cluster_layer(
            store.connect(state.database_url),
            city=city,
            period=period,
            indicator=indicator,
            run=run,
            marker=marker,
            score=score,
            level=level,
            permutations=permutations,
            k=k,
            seed=seed,
            alpha=alpha,
            keep=keep,
            publish=publish,
            created_by=_user(),
            progress=progress,
        )
    frame = result.frame
    counts = Table(_("Class"), _("Local Moran units"), _("Gi* units"), show_header=True)
    labels = {
        "high_high": _("High-high: hot spot"),
        "low_low": _("Low-low: cold spot"),
        "high_low": _("High-low: outlier"),
        "low_high": _("Low-high: outlier"),
        "hot": _("Hot spot"),
        "cold": _("Cold spot"),
        "not_significant": _("Not significant"),
    }
    for name, label in labels.items():
        moran = int((frame["moran_class"] == name).sum())
        gi = int((frame["gi_class"] == name).sum())
        if moran or gi:
            counts.add_row(label, format_number(moran), format_number(gi))
    console.print(counts)
    if result.layer_id is not None:
        _say(
            _("Stored layer {name} (id {id}){published}.").format(
                name=result.name,
                id=result.layer_id,
                published=_(", published") if publish else "",
            )
        )
    if out is not None:
        frame.reset_index().to_file(out, layer=result.name, driver="GPKG")
        _say(_("Wrote layer {layer} to {path}.").format(layer=result.name, path=out))


def _say(text: str) -> None:
    console.print(text, markup=False, soft_wrap=True)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return ""


def _check_out(path: Path | None, suffixes: tuple[str, ...]) -> None:
    from inclusive_cities.spatial import SpatialError

    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise SpatialError(
            _("Cannot write {path}: give a file ending in {suffixes}.").format(
                path=path, suffixes=", ".join(suffixes)
            )
        )
    if not path.parent.is_dir():
        raise SpatialError(
            _("Cannot write {path}: folder {folder} does not exist.").format(
                path=path, folder=path.parent
            )
        )


def layers(
    city: str = typer.Option(None, "--city", help="City code (default: every city)."),
) -> None:
    """Stored analysis layers (clusters, interpolations) with their parameters."""
    from inclusive_cities import store
    from inclusive_cities.spatial.layers import list_layers

    found = list_layers(store.connect(state.database_url), city)
    if not found:
        _say(_("No analysis layers are stored yet: run 'inclusive-cities spatial clusters'."))
        return
    for layer in found:
        _say(f"{layer.id:>4}  {layer.name}")
        facts = [
            f"{layer.city} {layer.period}",
            layer.level,
            _("{count} features").format(count=format_number(layer.features)),
            _("published") if layer.published else _("not published"),
            layer.created_at.strftime("%Y-%m-%d %H:%M"),
        ]
        _say("      " + " · ".join(f for f in facts if f))
        shown = {k: v for k, v in layer.parameters.items() if v is not None and k != "units"}
        _say("      " + ", ".join(f"{k}={_shown(v)}" for k, v in shown.items()))


def _shown(value: object) -> str:
    """A parameter as a reader wants it: a name in the user's language, lists joined."""
    if isinstance(value, dict) and {"es", "en"} <= set(value):
        return str(value.get(current_language(), value["en"]))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def export(
    layer: str = typer.Argument(..., help="Layer id or name ('spatial layers' lists them)."),
    out: Path = typer.Option(..., "--out", help="GeoPackage (.gpkg) or table (.csv) to write."),
    city: str = typer.Option(None, "--city", help="City code, when names repeat."),
) -> None:
    """Write one stored layer to a GeoPackage or CSV file."""
    from inclusive_cities import store
    from inclusive_cities.spatial.layers import read_layer

    _check_out(out, (".gpkg", ".csv"))
    info, frame = read_layer(store.connect(state.database_url), layer, city)
    _write(frame, out, info.name)
    _say(
        _("Wrote layer {layer} ({count} features) to {path}.").format(
            layer=info.name, count=len(frame), path=out
        )
    )


def _write(frame: gpd.GeoDataFrame, out: Path, name: str) -> None:
    if out.suffix.lower() == ".csv":
        frame.drop(columns="geometry").to_csv(out, index=False)
    else:
        frame.to_file(out, layer=name, driver="GPKG")


def publish(
    layer: str = typer.Argument(..., help="Layer id or name."),
    withdraw: bool = typer.Option(False, "--withdraw", help="Stop publishing it."),
    city: str = typer.Option(None, "--city", help="City code, when names repeat."),
) -> None:
    """Publish a stored layer through the OGC API (or withdraw it)."""
    from inclusive_cities import store
    from inclusive_cities.spatial.layers import publish_layer

    name = publish_layer(store.connect(state.database_url), layer, not withdraw, city)
    if withdraw:
        _say(_("Layer {layer} is no longer published.").format(layer=name))
    else:
        _say(_("Layer {layer} is published.").format(layer=name))


def interpolate(
    city: str = typer.Option(..., "--city", help="City code."),
    period: str = typer.Option(..., "--period", help="Period code."),
    indicator: list[str] = typer.Option(..., "--indicator", help="Indicator code (repeatable)."),
    from_level: str = typer.Option(
        None, "--from-level", help="Level the values come from (default: the smallest)."
    ),
    h3: int = typer.Option(None, "--h3", help="Move to an H3 grid of this resolution (0-15)."),
    to: Path = typer.Option(None, "--to", help="Move to the polygons of this file."),
    to_layer: str = typer.Option(None, "--to-layer", help="Layer of the --to file."),
    to_code: str = typer.Option(None, "--to-code", help="Code column of the --to layer."),
    weight: str = typer.Option("area", "--weight", help="Weight of rates: area or population."),
    extensive: list[str] = typer.Option(
        [], "--extensive", help="Treat this indicator as a count (summed)."
    ),
    intensive: list[str] = typer.Option(
        [], "--intensive", help="Treat this indicator as a rate (averaged)."
    ),
    catalogue: list[Path] = typer.Option(
        [], "--catalogue", "-c", help="Extra catalogue YAML file(s) (add or replace entries)."
    ),
    out: Path = typer.Option(..., "--out", help="Result file: .gpkg or .csv."),
    keep: bool = typer.Option(
        False, "--store/--no-store", help="Also keep the result as a layer of the observatory."
    ),
    publish: bool = typer.Option(False, "--publish", help="Publish the stored layer."),
) -> None:
    """Move indicators to an H3 grid or another geography, keeping totals."""
    from inclusive_cities import store
    from inclusive_cities.analyses import interpolate_layer, read_target
    from inclusive_cities.spatial import SpatialError

    _check_out(out, (".gpkg", ".csv"))
    if (h3 is None) == (to is None):
        raise SpatialError(_("Give either --h3 RESOLUTION or --to FILE, not both."))
    if to is None and (to_layer or to_code):
        raise SpatialError(_("--to-layer and --to-code need --to FILE."))
    target = read_target(to, to_layer, to_code) if to is not None else None
    label = ""
    if to is not None:
        label = to.stem + (f"-{to_layer}" if to_layer else "")
    with progress_bar(_("Interpolation")) as progress:
        result = interpolate_layer(
            store.connect(state.database_url),
            city=city,
            period=period,
            indicators=indicator,
            from_level=from_level,
            h3=h3,
            target=target,
            target_label=label,
            weight=weight,
            extensive=extensive,
            intensive=intensive,
            catalogue_files=catalogue,
            keep=keep or publish,
            publish=publish,
            created_by=_user(),
            progress=progress,
        )
    table = Table(
        _("Indicator"), _("Moved as"), _("City before"), _("City after"), show_header=True
    )
    for code, how, before, after in result.totals:
        table.add_row(code, how, format_number(before, 4), format_number(after, 4))
    console.print(table)
    kept = all(
        abs(after - before) <= 1e-6 * max(1.0, abs(before))
        for _code, _how, before, after in result.totals
    )
    if kept:
        _say(_("Totals are kept: every city figure is the same before and after."))
    else:
        _say(
            _(
                "Some city figures changed: some source units touch no target polygon, so "
                "their values were not moved."
            )
        )
    _write(result.frame.reset_index(), out, result.name)
    _say(
        _("Wrote {count} features of {layer} to {path}.").format(
            count=len(result.frame), layer=result.name, path=out
        )
    )
    if result.layer_id is not None:
        _say(_("Stored layer {name} (id {id}).").format(name=result.name, id=result.layer_id))


def register(app: typer.Typer) -> None:
    spatial_app.command("segregation")(segregation)
    spatial_app.command("clusters")(clusters)
    spatial_app.command("layers")(layers)
    spatial_app.command("export")(export)
    spatial_app.command("publish")(publish)
    spatial_app.command("interpolate")(interpolate)
    app.add_typer(spatial_app, name="spatial")
