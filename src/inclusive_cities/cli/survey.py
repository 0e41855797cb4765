"""``survey …``: import KoBo/ODK surveys, estimate, compute survey layers, make the demo."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities import store
from inclusive_cities.cli.app import state
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)
survey_app = typer.Typer(
    help="Refugee and migrant surveys: import, design-based estimates, survey layers.",
    no_args_is_help=True,
)


def _engine():
    engine = store.connect(state.database_url)
    store.require_current(engine)
    return engine


@survey_app.command("import")
def import_survey(
    form: Path = typer.Argument(..., help="XLSForm (.xlsx with survey/choices/settings)."),
    data: Path = typer.Argument(..., help="KoBo/ODK export: XLSX or a folder of CSV files."),
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    period: str = typer.Option(..., "--period", help="Period (survey round) code."),
    design_file: Path = typer.Option(None, "--design", help="Survey design YAML."),
    survey: str = typer.Option(None, "--survey", help="Survey name (default: the form id)."),
    language: str = typer.Option("es", "--form-language", help="Label language of the form."),
    boundaries: Path = typer.Option(None, "--boundaries", help="GeoPackage to place geopoints."),
    layer: str = typer.Option(
        None,
        "--layer",
        help="Layer of --boundaries (default manzana), or level of the "
        "city's units in the store (default: the finest) to place geopoints in.",
    ),
    tolerance: float = typer.Option(25.0, "--tolerance", help="Metres around units."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Where microdata are stored."),
) -> None:
    """Import a survey: check it against its form, locate respondents, store it privately."""
    import geopandas as gpd

    from inclusive_cities.surveys import Design, load_design
    from inclusive_cities.surveys.kobo import locate, read_kobo
    from inclusive_cities.surveys.storage import store_survey

    design = load_design(design_file) if design_file else Design()
    result = read_kobo(form, data, language=language)
    if design.unit_column:
        result = locate(result, unit_column=design.unit_column)
    elif design.geopoint:
        if boundaries:
            units = gpd.read_file(boundaries, layer=layer or "manzana")
        else:
            from inclusive_cities.surveys.layers import unit_polygons

            units = unit_polygons(_engine(), city, layer)
        result = locate(result, units, geopoint=design.geopoint, tolerance_m=tolerance)
    stored = store_survey(
        _engine(),
        result,
        design,
        city=city,
        period=period,
        sources=[form, data],
        survey=survey,
        data_dir=data_dir,
        imported_by=getpass.getuser(),
    )
    if not stored.created:
        console.print(
            _("Already imported (batch {batch}): nothing changed.").format(batch=stored.batch_id)
        )
        return
    console.print(
        _("Imported survey into {path} (batch {batch}): {rows} rows, {issues} issues.").format(
            path=stored.directory, batch=stored.batch_id, rows=stored.rows, issues=stored.issues
        ),
        markup=False,
    )
    if len(result.issues):
        table = Table(*(_(c) for c in ("file", "sheet", "row", "column", "value", "problem")))
        for issue in result.issues.head(20).itertuples(index=False):
            table.add_row(*(str(v) for v in issue[:6]))
        console.print(table)
        console.print(
            _("The full list is in {path}.").format(path=stored.directory / "issues.csv"),
            markup=False,
        )


@survey_app.command("estimate")
def estimate_command(
    variable: str = typer.Argument(..., help="Variable (question name)."),
    city: str = typer.Option(..., "--city"),
    period: str = typer.Option(..., "--period"),
    survey: str = typer.Option(..., "--survey", help="Survey name as imported."),
    statistic: str = typer.Option(
        "mean", "--statistic", help="mean, total, proportion, ratio or quantile."
    ),
    by: list[str] = typer.Option(None, "--by", help="Domain variable(s), repeatable."),
    table: str = typer.Option("households", "--table", help="households or persons."),
    denominator: str = typer.Option(None, "--denominator", help="Denominator of a ratio."),
    quantile: float = typer.Option(0.5, "--quantile"),
    min_n: int = typer.Option(None, "--min-n", help="Minimum unweighted cell size."),
    level: str = typer.Option(
        None,
        "--level",
        help="Add the respondents' unit at this level (e.g. barrio) as a "
        "domain column of that name, usable in --by.",
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Write the table as CSV."),
    data_dir: Path = typer.Option(None, "--data-dir"),
) -> None:
    """Design-based estimate with SE, 95% CI, CV, deff and n; small cells suppressed."""
    from inclusive_cities.surveys import estimate
    from inclusive_cities.surveys.disclosure import publishable
    from inclusive_cities.surveys.layers import analysis_tables
    from inclusive_cities.surveys.storage import load_survey

    tables, design = load_survey(city, period, survey, data_dir)
    frames = analysis_tables(tables, design)
    if level:
        from inclusive_cities.surveys.layers import unit_mapping

        unit_of = unit_mapping(_engine(), city, level)
        for frame in frames.values():
            frame[level] = frame["unit_code"].astype("string").map(unit_of)
    if table not in frames:
        from inclusive_cities.surveys import SurveyError

        raise SurveyError(
            _("No table '{table}' in this survey (tables: {tables}).").format(
                table=table, tables=", ".join(frames)
            )
        )
    result = estimate(
        frames[table],
        design,
        variable,
        statistic,  # type: ignore[arg-type]
        by=by or None,
        denominator=denominator,
        quantile=quantile,
    )
    result = publishable(result, min_n=design.min_n if min_n is None else min_n)
    if output:
        result.to_csv(output, index=False)
        console.print(_("Wrote {path}.").format(path=output), markup=False)
        return
    shown = Table(*[str(c) for c in result.columns])
    for row in result.itertuples(index=False):
        shown.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    console.print(shown)


@survey_app.command("layers")
def layers_command(
    city: str = typer.Option(..., "--city"),
    period: str = typer.Option(..., "--period"),
    survey: str = typer.Option(..., "--survey"),
    level: str = typer.Option("barrio", "--level", help="Spatial-unit level to estimate for."),
    min_n: int = typer.Option(None, "--min-n", help="Minimum unweighted cell size."),
    sae: str = typer.Option(
        None,
        "--sae",
        help="Census indicator codes (comma-separated) used as Fay-Herriot "
        "covariates for units whose direct estimate is unreliable.",
    ),
    calibrate: str = typer.Option(
        None,
        "--calibrate-census",
        help="Census period: rake person weights to its age "
        "group, sex and nationality margins (refugees and migrants) before estimating.",
    ),
    calibrate_by: str = typer.Option(
        "age_group,sex,nationality", "--calibrate-by", help="Census margins to rake to."
    ),
    catalogue: list[Path] = typer.Option(
        [],
        "--catalogue",
        "-c",
        help="Extra catalogue YAML file(s) with survey entries (record: survey) and their "
        "survey_variables; they add to or replace the shipped entries.",
    ),
    only: list[str] = typer.Option(
        [], "--only", help="Estimate only these survey indicator codes (repeatable)."
    ),
    data_dir: Path = typer.Option(None, "--data-dir"),
) -> None:
    """Estimate the catalogue's survey indicators for all units of a level (observations)."""
    from inclusive_cities.surveys.layers import survey_indicators, write_layers
    from inclusive_cities.surveys.storage import load_survey

    indicators = survey_indicators(codes=only or None, extra=catalogue)
    tables, design = load_survey(city, period, survey, data_dir)
    margins = None
    if calibrate:
        from inclusive_cities.surveys.calibration import census_margins_from_store

        margins = census_margins_from_store(
            city,
            calibrate,
            data_dir=data_dir,
            dimensions=[d.strip() for d in calibrate_by.split(",")],
        )
    summary = write_layers(
        _engine(),
        tables,
        design,
        city=city,
        period=period,
        level=level,
        indicators=indicators,
        min_n=min_n,
        source=f"survey:{survey}",
        sae_covariates=[c.strip() for c in sae.split(",")] if sae else None,
        census_margins=margins,
    )
    counts = summary.groupby(["indicator", "status"]).size().unstack(fill_value=0)
    shown = Table(_("Indicator"), *[str(c) for c in counts.columns])
    for indicator, row in counts.iterrows():
        shown.add_row(str(indicator), *[str(v) for v in row])
    console.print(shown)
    for code, reason in summary.attrs.get("skipped", {}).items():
        console.print(
            _("Not estimated: {code} ({reason}).").format(code=code, reason=reason), markup=False
        )


@survey_app.command("demo")
def demo_command(
    boundaries: Path = typer.Argument(..., help="The demo city's boundaries.gpkg."),
    out: Path = typer.Option(..., "--out", help="Folder for form.xlsx, data.xlsx, design.yaml."),
    households: int = typer.Option(3000, "--households"),
    seed: int = typer.Option(2024, "--seed"),
) -> None:
    """Write the synthetic refugee & migrant survey (SYNTHETIC DATA) for a demo city."""
    from inclusive_cities.surveys.demo_survey import generate_demo_survey

    result = generate_demo_survey(boundaries, out, households=households, seed=seed)
    console.print(
        _("Synthetic survey written to {path}: {households} households, {members} persons.").format(
            path=out, households=result.households, members=result.members
        ),
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(survey_app, name="survey")
