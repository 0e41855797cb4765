"""``marker``: the Urban Inclusion Marker from the command line (files or the store)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _

if TYPE_CHECKING:
    from inclusive_cities.marker.spec import MarkerSpec

console = Console(highlight=False)
marker_app = typer.Typer(
    help="Urban Inclusion Marker: list and show specs, score units from files or the store.",
    no_args_is_help=True,
)


@marker_app.command("specs")
def specs() -> None:
    """List the built-in marker specs."""
    from inclusive_cities.marker import builtin_specs, load_spec

    language = current_language()
    table = Table(_("Spec"), _("Name"), _("Areas"), _("Nodes"), _("Indicators"))
    for name in sorted(builtin_specs()):
        spec = load_spec(name)
        table.add_row(
            name,
            spec.name.text(language),
            str(len(spec.tree.children)),
            str(len(spec.nodes())),
            str(len(spec.indicators())),
        )
    console.print(table)


@marker_app.command("show")
def show(
    spec_name: str = typer.Argument(..., metavar="SPEC", help="Built-in name or YAML file."),
    indicators: bool = typer.Option(
        True, "--indicators/--no-indicators", help="Show the indicators under each node."
    ),
) -> None:
    """Print the tree of a spec (areas, dimensions, indicators) in the chosen language."""
    from inclusive_cities.marker import Node, load_spec

    spec = load_spec(spec_name)
    language = current_language()
    depths = spec.depths()

    def describe(node: Node) -> str:
        rule = spec.aggregation_for(node, depths[node.code])
        text = _("[bold]{code}[/] {name}  (weight {weight:g}, {method})").format(
            code=node.code, name=node.name.text(language), weight=node.weight, method=rule.method
        )
        if node.weighting is not None and node.weighting.method != "fixed":
            text += _("; its parts weighted from the data ({weighting})").format(
                weighting=node.weighting.method
            )
        return text

    def grow(branch: Tree, node: Node) -> None:
        for child in node.children:
            grow(branch.add(describe(child)), child)
        if indicators:
            for item in node.indicators:
                method = spec.normalisation_for(item)
                arrow = "↑" if item.direction == "higher_is_better" else "↓"
                bounds = (
                    f" [{_goalposts_text(method.lower, method.upper, item.unit)}]"
                    if method.method == "goalposts"
                    else f" [{method.method}]"
                )
                branch.add(escape(f"{arrow} {item.code}: {item.name.text(language)}{bounds}"))

    root = Tree(describe(spec.tree))
    grow(root, spec.tree)
    console.print(f"[bold]{spec.name.text(language)}[/] ({spec.code})")
    console.print(root)


def _goalposts_text(lower: float, upper: float, unit: str) -> str:
    """``0–100 %``, ``500–3000 m``; a unit that only repeats the range (``0-1``) is left out,
    so the entropies read ``0–1``, not ``0–1 0-1``."""
    bounds = f"{lower:g}–{upper:g}"
    same = unit.replace("–", "-").replace(" ", "") == bounds.replace("–", "-")
    return bounds if same or not unit else f"{bounds} {unit}"


@marker_app.command("compute")
def compute_command(
    spec_name: str = typer.Option(..., "--spec", help="Built-in spec name or YAML file."),
    data: Path = typer.Option(..., "--data", help="Table of units × indicators (.csv, .xlsx)."),
    out: Path = typer.Option(..., "--out", help="Result file (.csv, .xlsx, or .gpkg)."),
    id_column: str = typer.Option("unit_code", "--id-column", help="Column with unit ids."),
    population_column: str = typer.Option(
        None, "--population-column", help="Column with population (weights the city figure)."
    ),
    units: Path = typer.Option(
        None, "--units", help="Unit boundaries (.gpkg) to join, needed for a .gpkg output."
    ),
    allow_missing: bool = typer.Option(
        False,
        "--allow-missing-indicators",
        help="Score with the indicators present (e.g. uim-extended without survey layers).",
    ),
    missing: list[str] = typer.Option(
        [],
        "--missing",
        help="A cell value that means 'no data' (e.g. 999, -999); repeat for several codes.",
    ),
    dictionary: Path = typer.Option(
        None,
        "--dictionary",
        help="Data dictionary (CSV or YAML: code, name_es, name_en, unit, direction, min, "
        "max, missing).",
    ),
) -> None:
    """Score every unit of a table on every node of a spec, without a database.

    Example: inclusive-cities marker compute --spec uim-basic --data blocks.csv --out uim.csv
    """
    from inclusive_cities.ingest.dictionary import read_dictionary, split_missing_codes
    from inclusive_cities.marker import compute, load_spec
    from inclusive_cities.marker.build import no_index_reason
    from inclusive_cities.marker.errors import MarkerDataError
    from inclusive_cities.marker.io import column_metas, localised_frame, read_table, write_table

    spec = load_spec(spec_name)
    _warn_unsorted(spec)
    table = read_table(data)
    needed = [
        *spec.indicator_codes,
        *(i.denominator.column for i in spec.indicators() if i.denominator),
        *([population_column] if population_column else []),
    ]
    codes, texts = split_missing_codes(missing, "--missing")
    metas = column_metas(
        spec, read_dictionary(dictionary) if dictionary else {}, population_column, texts
    )
    values = table.numeric(needed, missing=codes, metas=metas)
    # the checks import table makes: 999 in a % column is refused, not scored
    screened = table.screen(values, metas, id_column)
    result = compute(
        spec,
        values,
        id_column=id_column,
        population_column=population_column,
        missing_columns="ignore" if allow_missing else "error",
        source=table.file,
        first_row=table.first_row,
    )
    absent = list(result.provenance.parameters.get("absent_indicators") or [])
    if not result.score.notna().any():
        raise MarkerDataError(
            _(
                "{file}: no unit gets an index with {spec}, so nothing was written: {why}. Add "
                "those columns, or write a spec for the columns you have: inclusive-cities "
                "marker spec init --data {file} --out my-spec.yaml"
            ).format(file=data, spec=spec.code, why=no_index_reason(result, absent))
        )
    language = current_language()
    frame = result.to_frame(id_column)
    write_table(localised_frame(frame, spec, language), out, id_column, units)
    score = result.city_score
    # NaN when no unit has an index score; "52,4" in Spanish
    shown = "-" if score != score else format_number(score, 1)
    console.print(
        _("Scored {units} units on {spec}: city score {score}. Wrote {path}.").format(
            units=len(result.ids), spec=spec.code, score=shown, path=out
        )
    )
    for warning in screened:
        console.print(warning, style="yellow", markup=False, soft_wrap=True)
    scored = frame["coverage"].notna() & frame[spec.tree.code].notna()
    partial = frame[scored & (frame["coverage"] < 1)]
    if len(partial):
        area_names = {node.code: node.name.text(language) for node in spec.tree.children}
        console.print(
            _(
                "{count} of {total} units have a partial index (some areas without data: "
                "{areas}); their rank is among all units, so compare them with care (see the "
                "coverage column)."
            ).format(
                count=len(partial),
                total=int(scored.sum()),
                areas=", ".join(
                    sorted(
                        {
                            area_names.get(a, a)
                            for text in partial["missing_areas"]
                            for a in _areas(text)
                        }
                    )
                ),
            ),
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
    if absent:
        console.print(
            _("No column for: {codes}.").format(codes=", ".join(absent)),
            markup=False,
            soft_wrap=True,
        )
    for note in result.notes:
        console.print(f"[yellow]{note}[/]")


@marker_app.command("build")
def build(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    period: str = typer.Option(..., "--period", help="Period code."),
    spec_name: str = typer.Option("uim-basic", "--spec", help="Built-in spec name or YAML file."),
    level: str = typer.Option(None, "--level", help="Unit level code (default: the finest)."),
    population_indicator: str = typer.Option(
        "population", "--population-indicator", help="Indicator holding unit population."
    ),
    uncertainty: int = typer.Option(
        0,
        "--uncertainty",
        min=0,
        help="Monte Carlo base sample size for each unit's 5-95 % rank interval (0: none).",
    ),
    seed: int = typer.Option(1, "--seed", help="Random seed of the uncertainty analysis."),
) -> None:
    """Compute a marker run from the store's observations and save it with its scores."""
    from inclusive_cities import store
    from inclusive_cities.marker import load_spec
    from inclusive_cities.marker.build import build_run

    engine = store.connect(state.database_url)
    store.require_current(engine)
    spec = load_spec(spec_name)
    _warn_unsorted(spec)
    with progress_bar(_("Computing the marker")) as progress:
        summary = build_run(
            engine,
            city,
            period,
            spec,
            level=level,
            population_indicator=population_indicator,
            uncertainty_replicates=uncertainty,
            seed=seed,
            progress=progress,
        )
    shown = "-" if summary.city_score is None else format_number(summary.city_score, 1)
    console.print(
        _(
            "Stored marker run {run} for {city} {period}: {units} units, {rows} scores, city "
            "score {score}."
        ).format(
            run=summary.run_id,
            city=city,
            period=period,
            units=summary.units,
            rows=summary.scores_written,
            score=shown,
        )
    )
    for code, source_level in (summary.inherited or {}).items():
        console.print(
            _("{code}: no values at this level; each unit takes its {level}'s value.").format(
                code=code, level=source_level
            ),
            markup=False,
            soft_wrap=True,
        )
    for code, source_level in (summary.aggregated or {}).items():
        console.print(
            _(
                "{code}: no values at this level; each unit takes the population-weighted mean "
                "of its parts at level {level}."
            ).format(code=code, level=source_level),
            markup=False,
            soft_wrap=True,
        )
    if summary.absent_indicators:
        console.print(
            _("No observations for: {codes}.").format(codes=", ".join(summary.absent_indicators))
        )


spec_app = typer.Typer(help="Write your own marker spec.", no_args_is_help=True)
marker_app.add_typer(spec_app, name="spec")


@spec_app.command("init")
def spec_init(
    data: Path = typer.Option(..., "--data", help="Table of units × columns (.csv, .xlsx)."),
    out: Path = typer.Option(..., "--out", help="The spec to write (.yaml)."),
    dictionary: Path = typer.Option(
        None,
        "--dictionary",
        help="Data dictionary (CSV or YAML: code, name_es, name_en, unit, direction, min, "
        "max, missing).",
    ),
    missing: list[str] = typer.Option(
        [],
        "--missing",
        help="A cell value that means 'no data' (e.g. 999, -999); repeat for several codes.",
    ),
    id_column: str = typer.Option(
        None, "--id-column", help="Column with unit ids (default: unit_code, codigo, codigo_…)."
    ),
    code: str = typer.Option(None, "--code", help="Code of the new spec (default: --out's name)."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
) -> None:
    """Write a starting spec from a table: every numeric column with its observed range as
    goalposts, directions from the catalogue or the dictionary, in the published 5-area tree.

    Example: inclusive-cities marker spec init --data blocks.csv --dictionary dict.csv
    --missing 999 --out my-spec.yaml
    """
    from inclusive_cities.ingest.dictionary import split_missing_codes
    from inclusive_cities.marker.errors import MarkerError
    from inclusive_cities.marker.spec_init import UNSORTED, init_spec

    codes, texts = split_missing_codes(missing, "--missing")

    if out.exists() and not force:
        raise MarkerError(
            _("{path} exists: choose another --out, or add --force to overwrite it.").format(
                path=out
            )
        )
    draft = init_spec(
        data,
        dictionary=dictionary,
        missing=codes,
        missing_text=texts,
        id_column=id_column,
        code=code or out.stem,
        spec_path=str(out),
    )
    try:
        out.write_text(draft.text, encoding="utf-8")
    except OSError as error:
        raise MarkerError(
            _("Cannot write {path} ({reason}); choose another --out.").format(
                path=out, reason=error.strerror or error
            )
        ) from error
    console.print(
        _(
            "Wrote {path}: {n} indicators, {placed} placed in the published tree, {unsorted} "
            "under {node}."
        ).format(
            path=out,
            n=len(draft.placed) + len(draft.unsorted),
            placed=len(draft.placed),
            unsorted=len(draft.unsorted),
            node=UNSORTED,
        ),
        markup=False,
        soft_wrap=True,
    )
    for name, reason in draft.reasons.items():
        console.print(
            _("Left out: {column} ({reason}).").format(column=name, reason=reason),
            markup=False,
            soft_wrap=True,
        )
    for name, found in draft.text_codes.items():
        console.print(
            _("{column}: text cells {values} read as missing; the column is kept.").format(
                column=name, values=", ".join(f"'{t}'" for t in found)
            ),
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
    for name, values in draft.code_values.items():
        console.print(
            _(
                "{column}: {values} is far outside the other values: read as missing, not as a "
                "goalpost (the score command below passes --missing)."
            ).format(column=name, values=", ".join(f"{v:g}" for v in values)),
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
    if draft.unknown_direction:
        console.print(
            _(
                "Set the direction of {codes} (higher_is_better or lower_is_better): the spec is "
                "refused until you do."
            ).format(codes=", ".join(draft.unknown_direction)),
            markup=False,
            soft_wrap=True,
        )
    if draft.implausible:
        console.print(
            _(
                "Check {codes}: their ranges hold values the unit rules out (a share above "
                "100, a negative distance), most likely missing-value codes: add --missing."
            ).format(codes=", ".join(draft.implausible)),
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
    if draft.unsorted:
        console.print(
            _("Move {codes} out of {node} into the dimensions where they belong.").format(
                codes=", ".join(draft.unsorted), node=UNSORTED
            ),
            markup=False,
            soft_wrap=True,
        )
    console.print(
        _("How to finish the spec: docs/marker-specs.md. Then score with: {command}").format(
            command=draft.command
        ),
        markup=False,
        soft_wrap=True,
    )


def _areas(text: object) -> list[str]:
    """Area codes of a missing_areas cell ("SAL;EDU" or empty)."""
    return [a.strip() for a in str(text or "").replace(",", ";").split(";") if a.strip()]


def _warn_unsorted(spec: MarkerSpec) -> None:
    """A draft's UNSORTED node still in the tree scores as an area of its own: say so."""
    from inclusive_cities.marker.spec_init import UNSORTED

    if UNSORTED in spec.node_codes:
        console.print(
            _(
                "Warning: {spec} still has the {node} node written by 'marker spec init'; it is "
                "scored as an area of its own until you move its indicators into their "
                "dimensions."
            ).format(spec=spec.code, node=UNSORTED),
            style="yellow",
            markup=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(marker_app, name="marker")
