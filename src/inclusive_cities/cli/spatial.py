"""``spatial …``: segregation and clusters of a city from the store, as tables and layers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities import store
from inclusive_cities.cli.app import state
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)
spatial_app = typer.Typer(
    help="Segregation indices and clusters of exclusion from the observatory.",
    no_args_is_help=True,
)


def segregation(
    city: str = typer.Option(..., "--city", help="City code."),
    period: str = typer.Option(..., "--period", help="Census period code."),
    level: str = typer.Option(None, "--level", help="Level of units (default: the smallest)."),
    group: str = typer.Option(
        "venezuelan", "--group", help="Nationality group for single-group indices."
    ),
    permutations: int = typer.Option(0, "--permutations", help="Permutations for p-values."),
) -> None:
    """Segregation of a nationality group and multigroup indices over the city's units."""
    from inclusive_cities.indicators.pipeline import NATIONALITIES, unit_layer
    from inclusive_cities.spatial import segregation as measure

    layer = unit_layer(store.connect(state.database_url), city, period, level)
    if "population" not in layer.columns:
        from inclusive_cities.spatial import SpatialError

        raise SpatialError(
            _("City '{city}' has no census persons for period {period}: import them first.").format(
                city=city, period=period
            )
        )
    result = measure(
        layer,
        group=group,
        total="population",
        groups=list(NATIONALITIES),
        permutations=permutations,
    )
    table = Table(_("Index"), _("Value"), _("p-value"), show_header=True)
    for row in result.to_dict("records"):
        p_value = row.get("p_value")
        table.add_row(
            str(row["index"]), f"{row['value']:.4f}", "" if p_value is None else f"{p_value:.3f}"
        )
    console.print(table)


def clusters(
    city: str = typer.Option(..., "--city", help="City code."),
    period: str = typer.Option(..., "--period", help="Period code."),
    indicator: str = typer.Option(..., "--indicator", help="Indicator code (stored values)."),
    level: str = typer.Option(None, "--level", help="Level of units (default: the smallest)."),
    permutations: int = typer.Option(999, "--permutations", help="Permutations for p-values."),
    out: Path = typer.Option(None, "--out", help="Write the classes as a GeoPackage layer."),
) -> None:
    """Local Moran's I and Gi* hot and cold spots of a stored indicator (FDR-adjusted)."""
    from inclusive_cities.indicators.pipeline import unit_layer
    from inclusive_cities.spatial import SpatialError
    from inclusive_cities.spatial import clusters as find

    layer = unit_layer(store.connect(state.database_url), city, period, level, [indicator])
    layer = layer[layer[indicator].notna()]
    if layer.empty:
        raise SpatialError(
            _(
                "Indicator '{indicator}' has no values for {city}, period {period}: run "
                "'inclusive-cities indicators compute' first."
            ).format(indicator=indicator, city=city, period=period)
        )
    found = find(layer.to_crs(layer.estimate_utm_crs()), indicator, permutations=permutations, k=6)
    result = layer[[indicator, "geometry"]].join(found)
    counts = Table(_("Class"), _("Local Moran units"), _("Gi* units"), show_header=True)
    for name in ("high_high", "low_low", "high_low", "low_high", "hot", "cold", "not_significant"):
        moran = int((result["moran_class"] == name).sum())
        gi = int((result["gi_class"] == name).sum())
        if moran or gi:
            counts.add_row(name, f"{moran:,}", f"{gi:,}")
    console.print(counts)
    if out is not None:
        result.reset_index().to_file(out, layer=f"clusters_{indicator}", driver="GPKG")
        console.print(
            _("Wrote layer clusters_{indicator} to {path}.").format(indicator=indicator, path=out),
            markup=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    spatial_app.command("segregation")(segregation)
    spatial_app.command("clusters")(clusters)
    app.add_typer(spatial_app, name="spatial")
