"""``survey …``: import KoBo/ODK surveys, estimate, compute survey layers, make the demo."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd

    from inclusive_cities.surveys import Design

console = Console(highlight=False)
survey_app = typer.Typer(
    help="Refugee and migrant surveys: import, design-based estimates, survey layers.",
    no_args_is_help=True,
)


def _engine():
    from inclusive_cities import store

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
    missing: list[str] = typer.Option(
        [], "--missing", help="Missing-value code of the answers, e.g. 999 (repeatable)."
    ),
) -> None:
    """Import a survey: check it against its form, locate respondents, store it privately."""
    import geopandas as gpd

    from inclusive_cities.ingest.identifiers import validate_identifier
    from inclusive_cities.surveys import Design, load_design
    from inclusive_cities.surveys.kobo import locate, read_kobo
    from inclusive_cities.surveys.storage import store_survey

    validate_identifier("city", city)
    validate_identifier("period", period)
    if survey is not None:
        validate_identifier("survey", survey)
    design = load_design(design_file) if design_file else Design()
    result = read_kobo(form, data, language=language, missing=missing)
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
    city: str = typer.Option(None, "--city", help="City code of an imported survey."),
    period: str = typer.Option(None, "--period", help="Period of an imported survey."),
    survey: str = typer.Option(None, "--survey", help="Survey name as imported."),
    data: Path = typer.Option(
        None,
        "--data",
        help="A plain table of responses (.csv, .xlsx; one respondent a row) instead of an "
        "imported survey; needs --design.",
    ),
    design_file: Path = typer.Option(
        None, "--design", help="Survey design YAML of --data (weight, strata, psu, min_n...)."
    ),
    sheet: str = typer.Option(None, "--sheet", help="Sheet of an XLSX --data file."),
    encoding: str = typer.Option(None, "--encoding", help="Text encoding (default: detected)."),
    decimal: str = typer.Option(".", "--decimal", help="Decimal mark of the numbers: . or ,"),
    missing: list[str] = typer.Option(
        [], "--missing", help="Missing-value code of --data, e.g. 999 (repeatable)."
    ),
    rake_files: list[Path] = typer.Option(
        [],
        "--rake",
        help="Rake the weights first to the margins of this table (columns variable, "
        "category, total; or a crossed margin: one column per survey variable and total). "
        "Repeatable.",
    ),
    poststratify_file: Path = typer.Option(
        None,
        "--poststratify",
        help="Post-stratify the weights first to the cells of this table (one column per "
        "survey variable, and total).",
    ),
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
    output: Path = typer.Option(None, "--out", "--output", "-o", help="Write the table as CSV."),
    data_dir: Path = typer.Option(None, "--data-dir"),
) -> None:
    """Design-based estimate with SE, 95% CI, CV, deff and n; small cells suppressed."""
    from inclusive_cities.surveys import SurveyError, estimate
    from inclusive_cities.surveys.disclosure import publishable

    if decimal not in (".", ","):
        raise SurveyError(_("--decimal must be . or , (not {value}).").format(value=decimal))
    if min_n is not None and min_n < 1:
        raise SurveyError(
            _(
                "--min-n must be 1 or more (not {value}): it is the smallest number of "
                "respondents a published cell may have."
            ).format(value=min_n)
        )
    if rake_files and poststratify_file is not None:
        raise SurveyError(_("Give --rake or --poststratify, not both."))
    if output is not None and output.suffix.lower() != ".csv":
        raise SurveyError(_("Cannot write {path}: give a file ending in .csv.").format(path=output))
    by_list = list(by or [])
    if data is not None:
        frame, design = _responses(
            data,
            design_file,
            variable,
            statistic,
            denominator,
            by_list,
            (city, period, survey, level),
            sheet,
            encoding,
            decimal,
            missing,
        )
    else:
        file_only = {
            "--design": design_file,
            "--sheet": sheet,
            "--encoding": encoding,
            "--missing": missing,
        }
        given = [name for name, value in file_only.items() if value]
        if given:
            raise SurveyError(
                _(
                    "Options for a plain table of responses need --data FILE: {options} (an "
                    "imported survey keeps the design given at import)."
                ).format(options=", ".join(given))
            )
        if not (city and period and survey):
            raise SurveyError(
                _(
                    "Give --city, --period and --survey (an imported survey), or --data FILE "
                    "--design design.yaml (a plain table of responses)."
                )
            )
        frame, design = _imported(city, period, survey, table, level, data_dir)
    if rake_files or poststratify_file is not None:
        frame, design = _calibrate(frame, design, rake_files, poststratify_file, decimal)
    result = estimate(
        frame,
        design,
        variable,
        statistic,  # type: ignore[arg-type]
        by=by_list or None,
        denominator=denominator,
        quantile=quantile,
    )
    result = publishable(result, min_n=design.min_n if min_n is None else min_n)
    if output:
        result.to_csv(output, index=False)
        console.print(_("Wrote {path}.").format(path=output), markup=False)
        return
    console.print(_shown(result, by_list))


def _shown(result: pd.DataFrame, by: list[str]) -> Table:
    """The estimates as a reader needs them on a terminal; the CSV (--out) has every column
    (deff, flags, suppression reason)."""
    import pandas as pd

    from inclusive_cities.i18n import format_number

    keys = [c for c in [*by, "category"] if c in result.columns]
    values = ["estimate", "se", "ci_low", "ci_high", "cv"]
    table = Table(*keys, *values, "n", _("status"))
    for row in result.to_dict("records"):
        cells = [str(row[c]) for c in keys]
        for column in values:
            value = row[column]
            number = not pd.isna(value)
            digits = 3 if column == "cv" or abs(float(value)) < 10 else 2
            cells.append(format_number(float(value), digits) if number else "")
        count = row["n"]
        cells.append("" if pd.isna(count) else str(count))
        if row["status"] == "suppressed":
            status = _("suppressed")
        elif row.get("unreliable"):
            status = _("CV > 30%")
        else:
            status = _("estimated")
        cells.append(status)
        table.add_row(*cells)
    return table


def _imported(
    city: str, period: str, survey: str, table: str, level: str | None, data_dir: Path | None
) -> tuple[pd.DataFrame, Design]:
    """One table of an imported survey, with the respondents' units at ``level``."""
    from inclusive_cities.surveys import SurveyError
    from inclusive_cities.surveys.layers import analysis_tables
    from inclusive_cities.surveys.storage import load_survey

    tables, design = load_survey(city, period, survey, data_dir, engine=_engine())
    frames = analysis_tables(tables, design)
    if level:
        from inclusive_cities.surveys.layers import unit_mapping

        unit_of = unit_mapping(_engine(), city, level)
        for frame in frames.values():
            frame[level] = frame["unit_code"].astype("string").map(unit_of)
    if table not in frames:
        raise SurveyError(
            _("No table '{table}' in this survey (tables: {tables}).").format(
                table=table, tables=", ".join(frames)
            )
        )
    return frames[table], design


def _responses(
    data: Path,
    design_file: Path | None,
    variable: str,
    statistic: str,
    denominator: str | None,
    by: list[str],
    store_options: tuple[str | None, ...],
    sheet: str | None,
    encoding: str | None,
    decimal: str,
    missing: list[str],
) -> tuple[pd.DataFrame, Design]:
    """A plain table of responses and its design: numbers parsed only where a number is
    needed, so that domain and stratum codes keep their leading zeros."""
    from inclusive_cities.surveys import SurveyError, load_design
    from inclusive_cities.surveys.design import read_responses

    if any(store_options):
        raise SurveyError(
            _(
                "--data reads a plain table: leave out --city, --period, --survey and --level "
                "(they are for imported surveys)."
            )
        )
    if design_file is None:
        raise SurveyError(
            _(
                "--data needs --design design.yaml: the weights, strata and PSUs of the sample "
                "(a file with just 'min_n: 10' for a simple random sample)."
            )
        )
    design = load_design(design_file)
    numeric = [] if statistic == "proportion" else [variable]
    if denominator:
        numeric.append(denominator)
    needed = [variable, *by]
    frame = read_responses(
        data,
        design,
        numeric=numeric,
        needed=needed,
        design_source=design_file.name,
        sheet=sheet,
        encoding=encoding,
        decimal=decimal,
        missing=missing,
    )
    return frame, design


def _calibrate(
    frame: pd.DataFrame,
    design: Design,
    rake_files: list[Path],
    poststratify_file: Path | None,
    decimal: str,
) -> tuple[pd.DataFrame, Design]:
    """Weights calibrated to population figures, remembered in the design for the SEs."""
    from inclusive_cities.surveys import SurveyError
    from inclusive_cities.surveys.calibration import (
        poststratify,
        rake,
        read_margins,
        read_totals,
    )

    if rake_files:
        margins: dict[str | tuple[str, ...], dict[object, float]] = {}
        source: dict[str, Path] = {}
        for path in rake_files:
            for key, totals in read_margins(path, frame, decimal=decimal).items():
                for variable in (key,) if isinstance(key, str) else key:
                    if variable in source:
                        raise SurveyError(
                            _(
                                "{file}: {variable} already has margins in {other}; rake each "
                                "survey variable to one margin."
                            ).format(file=path.name, variable=variable, other=source[variable].name)
                        )
                    source[variable] = path
                margins[key] = totals
        return rake(frame, design, margins)
    assert poststratify_file is not None
    if design.uses_replicates:
        raise SurveyError(
            _(
                "--poststratify keeps replicate weights as they are: with replicate weights "
                "use --rake (a single crossed margin is post-stratification)."
            )
        )
    columns, totals = read_totals(poststratify_file, frame, decimal=decimal)
    return poststratify(frame, design, columns, totals)


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
    tables, design = load_survey(city, period, survey, data_dir, engine=_engine())
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
