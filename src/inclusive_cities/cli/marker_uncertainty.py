"""``marker sensitivity`` and ``marker compare``: uncertainty of a marker and change over time.

Both work on files, like ``marker compute``: a spec, tables of units × indicators and,
optionally, tables of standard errors with the same id column and indicator columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.errors import UsageError
from inclusive_cities.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd

    from inclusive_cities.marker.spec import MarkerSpec

console = Console(highlight=False)


def _method(text: str) -> str | dict[str, object]:
    """``power_mean:0.5`` and ``group_mean:nbhd`` carry their parameter after a colon."""
    name, _sep, argument = text.partition(":")
    if not argument:
        return name
    if name == "power_mean":
        try:
            return {"method": name, "p": float(argument)}
        except ValueError:
            raise UsageError(
                _(
                    "'{text}': the exponent after power_mean: must be a number, e.g. "
                    "power_mean:0.5."
                ).format(text=text)
            ) from None
    return {"method": name, "group_column": argument}


def _methods(value: str | None) -> tuple[str | dict[str, object], ...] | None:
    """``"arithmetic,power_mean:0.5"`` -> alternatives; empty -> not uncertain."""
    if value is None:
        return None
    methods = tuple(_method(part.strip()) for part in value.split(",") if part.strip())
    return methods or None


@contextmanager
def _progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """The shared progress bar, fed by the library's ``progress(done, total)`` callback."""
    with progress_bar(description) as progress:

        def update(done: int, total: int) -> None:
            progress(description, done, total)

        yield update


def _numeric_columns(spec: MarkerSpec) -> list[str]:
    """The columns a spec reads as numbers: its indicators and their denominators."""
    return [
        *spec.indicator_codes,
        *(item.denominator.column for item in spec.indicators() if item.denominator),
    ]


def _read(path: Path, spec: MarkerSpec) -> tuple[pd.DataFrame, str, int]:
    """(table with the spec's columns as numbers, file name, file row of the first unit)."""
    from inclusive_cities.marker.io import read_table

    table = read_table(path)
    return table.numeric(_numeric_columns(spec)), table.file, table.first_row


def _read_optional(path: Path | None, spec: MarkerSpec) -> pd.DataFrame | None:
    return None if path is None else _read(path, spec)[0]


def sensitivity_command(
    spec_name: str = typer.Option(..., "--spec", help="Built-in spec name or YAML file."),
    data: Path = typer.Option(..., "--data", help="Table of units × indicators (.csv, .xlsx)."),
    out: Path = typer.Option(..., "--out", help="Per-unit result (.csv or .xlsx)."),
    se_data: Path = typer.Option(
        None, "--se-data", help="Standard errors: id column + one column per indicator code."
    ),
    replicates: int = typer.Option(1000, "--replicates", help="Base sample size N of the design."),
    seed: int = typer.Option(1, "--seed", help="Seed: the same seed gives the same numbers."),
    id_column: str = typer.Option("unit_code", "--id-column", help="Column with unit ids."),
    node: str = typer.Option(None, "--node", help="Node to analyse (default: the index)."),
    weights: float = typer.Option(
        0.25, "--weights", help="Weight perturbation: ±share, e.g. 0.25; 0 keeps weights fixed."
    ),
    normalisation: str = typer.Option(
        None, "--normalisation", help="Alternative normalisations, e.g. goalposts,minmax."
    ),
    aggregation: str = typer.Option(
        "arithmetic,geometric",
        "--aggregation",
        help="Alternative aggregations, e.g. arithmetic,power_mean:0.5 ('' for none).",
    ),
    imputation: str = typer.Option(
        None,
        "--imputation",
        help="Alternative imputations, e.g. none,mean,group_median:neighbourhood.",
    ),
    drop: bool = typer.Option(
        True, "--drop-indicator/--no-drop-indicator", help="Leave one indicator out, or none."
    ),
    error_draws: int = typer.Option(
        32, "--error-draws", help="Pre-drawn measurement-error realisations (with --se-data)."
    ),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for intervals."),
    indices_out: Path = typer.Option(
        None, "--indices-out", help="Sobol indices table (default: OUT with '_indices')."
    ),
    unit_indices_out: Path = typer.Option(
        None, "--unit-indices-out", help="Sobol indices of each unit's rank (S1_*, ST_* columns)."
    ),
    workers: int = typer.Option(None, "--workers", help="Processes (default: one per core)."),
) -> None:
    """Monte Carlo uncertainty and Sobol sensitivity of a marker's scores and ranks.

    Example: inclusive-cities marker sensitivity --spec uim-basic --data blocks.csv
    --out uncertainty.csv --replicates 1000 --seed 1 --se-data blocks_se.csv
    """
    from inclusive_cities.marker.io import write_table
    from inclusive_cities.marker.sensitivity import sensitivity
    from inclusive_cities.marker.spec import load_spec

    spec = load_spec(spec_name)
    table, source, first_row = _read(data, spec)
    errors = _read_optional(se_data, spec)
    with _progress_bar(_("Marker runs")) as progress:
        result = sensitivity(
            spec,
            table,
            id_column=id_column,
            node=node,
            weights=weights or None,
            normalisation=_methods(normalisation),
            aggregation=_methods(aggregation),
            imputation=_methods(imputation),
            drop_indicator=drop,
            standard_errors=errors,
            error_draws=error_draws,
            replicates=replicates,
            seed=seed,
            n_bootstrap=bootstrap,
            progress=progress,
            workers=workers,
            unit_intervals=unit_indices_out is not None,
            source=source,
            first_row=first_row,
        )
    frame = result.units.reset_index()
    frame = frame.rename(columns={frame.columns[0]: id_column})
    write_table(frame, out, id_column)
    indices_path = indices_out or out.with_name(f"{out.stem}_indices{out.suffix}")
    write_table(result.indices.frame.reset_index(), indices_path, "factor")
    if unit_indices_out is not None:
        parts = [result.unit_first_order.add_prefix("S1_"), result.unit_total.add_prefix("ST_")]
        for key, table in (result.unit_intervals or {}).items():
            statistic, bound = key.split("_")  # "S1_low" -> S1_<factor>_low
            parts.append(table.add_prefix(f"{statistic}_").add_suffix(f"_{bound}"))
        import pandas as pd

        per_unit = pd.concat(parts, axis=1)
        per_unit.index.name = id_column
        write_table(per_unit.reset_index(), unit_indices_out, id_column)
    table_view = Table(_("Choice"), "S1", _("90% interval"), "ST", _("90% interval"))
    for factor, row in result.indices.frame.iterrows():
        table_view.add_row(
            str(factor),
            f"{row['S1']:.3f}",
            f"{row['S1_low']:.3f} – {row['S1_high']:.3f}",
            f"{row['ST']:.3f}",
            f"{row['ST_low']:.3f} – {row['ST_high']:.3f}",
        )
    console.print(table_view)
    console.print(
        _(
            "{runs} runs of {spec} ({replicates} replicates, seed {seed}): median shift of "
            "{shift:.1f} ranks per unit. Wrote {path} and {indices}."
        ).format(
            runs=len(result.runs),
            spec=spec.code,
            replicates=replicates,
            seed=seed,
            shift=float(result.units["mean_abs_rank_shift"].median()),
            path=out,
            indices=indices_path,
        )
    )


def compare_command(
    spec_name: str = typer.Option(..., "--spec", help="Built-in spec name or YAML file."),
    data_a: Path = typer.Option(..., "--a", help="Earlier period: units × indicators table."),
    data_b: Path = typer.Option(..., "--b", help="Later period: units × indicators table."),
    out: Path = typer.Option(..., "--out", help="Change per unit and node (.csv or .xlsx)."),
    spec_b: str = typer.Option(None, "--spec-b", help="Spec of the later period, if another."),
    se_a: Path = typer.Option(None, "--se-a", help="Standard errors of the earlier period."),
    se_b: Path = typer.Option(None, "--se-b", help="Standard errors of the later period."),
    replicates: int = typer.Option(200, "--replicates", help="Monte Carlo size per period."),
    seed: int = typer.Option(1, "--seed", help="Seed: the same seed gives the same numbers."),
    tolerance: float = typer.Option(
        0.0, "--tolerance", help="Points of change that count where no interval is known."
    ),
    allow_different_specs: bool = typer.Option(
        False, "--allow-different-specs", help="Compare even if trees or benchmarks differ."
    ),
    id_column: str = typer.Option("unit_code", "--id-column", help="Column with unit ids."),
    workers: int = typer.Option(None, "--workers", help="Processes (default: one per core)."),
) -> None:
    """Change of every unit and node between two periods: improved, worsened or no change.

    A change counts only when it exceeds the two periods' 90% intervals combined
    (from the standard errors) or, without them, the tolerance.

    Example: inclusive-cities marker compare --spec uim-basic --a 2023.csv --b 2025.csv
    --se-a 2023_se.csv --se-b 2025_se.csv --out change.csv
    """
    from inclusive_cities.marker.io import write_table
    from inclusive_cities.marker.monitoring import VERDICTS, compare_periods, verdict_label
    from inclusive_cities.marker.spec import load_spec

    spec = load_spec(spec_name)
    later = spec if spec_b is None else load_spec(spec_b)
    with _progress_bar(_("Marker runs")) as progress:
        comparison = compare_periods(
            spec,
            _read(data_a, spec)[0],
            _read(data_b, later)[0],
            spec_b=later,
            id_column=id_column,
            standard_errors_a=_read_optional(se_a, spec),
            standard_errors_b=_read_optional(se_b, later),
            replicates=replicates,
            seed=seed,
            tolerance=tolerance,
            allow_different_specs=allow_different_specs,
            progress=progress,
            workers=workers,
        )
    frame = comparison.to_frame()
    frame = frame.rename(columns={frame.columns[0]: id_column})
    frame["verdict_label"] = [verdict_label(v) for v in frame["verdict"]]
    write_table(frame, out, id_column)
    view = Table(_("Node"), *[verdict_label(v) for v in VERDICTS])
    for node, row in comparison.summary.iterrows():
        view.add_row(str(node), *[str(int(row[v])) for v in VERDICTS])
    console.print(view)
    if comparison.specs_differ:
        console.print(
            "[yellow]"
            + _("The two periods use different specs: part of the change is a change of method.")
            + "[/]"
        )
    console.print(_("Wrote {path}.").format(path=out))


def register(app: typer.Typer) -> None:
    """Add ``sensitivity`` and ``compare`` to the ``marker`` sub-app (registered by marker.py)."""
    from inclusive_cities.cli.marker import marker_app

    present = {command.name for command in marker_app.registered_commands}
    if "sensitivity" not in present:
        marker_app.command("sensitivity")(sensitivity_command)
    if "compare" not in present:
        marker_app.command("compare")(compare_command)
