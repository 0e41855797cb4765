"""Calibrate weights to census margins: post-stratification and raking.

When a survey only has base weights, its totals by age group × sex × nationality rarely
match the census. Calibration adjusts the weights so they do, and records each step in the
design so that variances are computed on calibration residuals (as R's ``postStratify``
and ``rake`` do), which is where calibration earns its precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from inclusive_cities.config import get_settings
from inclusive_cities.i18n import gettext as _
from inclusive_cities.surveys.design import Calibration, CalibrationStep, Design, check_design
from inclusive_cities.surveys.errors import SurveyError

Margin = Mapping[object, float]


def _cells(data: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    if len(columns) == 1:
        return data[columns[0]]
    return pd.Series(list(zip(*(data[c] for c in columns), strict=True)), index=data.index)


def _factors(cells: pd.Series, weights: np.ndarray, totals: Margin, what: str) -> np.ndarray:
    """Per-row factor that makes the weighted count of every cell equal its total."""
    current = pd.Series(weights, index=cells.index).groupby(cells.to_numpy()).sum()
    unknown = sorted(set(current.index) - set(totals), key=str)
    if unknown:
        raise SurveyError(
            _(
                "Calibration margin {margin} has no population total for the sample cells "
                "{cells}: add them to the census margins or recode the survey."
            ).format(margin=what, cells=", ".join(map(str, unknown[:10])))
        )
    empty = sorted((k for k, v in totals.items() if v > 0 and k not in current.index), key=str)
    if empty:
        raise SurveyError(
            _(
                "Calibration margin {margin} has population in cells with no respondents: "
                "{cells}. Collapse those cells with a neighbouring one."
            ).format(margin=what, cells=", ".join(map(str, empty[:10])))
        )
    ratio = {k: float(totals[k]) / v for k, v in current.items()}
    return cells.map(ratio).to_numpy(dtype=float)


def poststratify(
    data: pd.DataFrame,
    design: Design,
    columns: Sequence[str],
    totals: Margin,
    *,
    name: str = "_w_poststratified",
) -> tuple[pd.DataFrame, Design]:
    """Weights that reproduce the population count of every cell of ``columns``."""
    check_design(data, design)
    base_col = design.weight or "_w_base"
    out = data.copy()
    if design.weight is None:
        out[base_col] = 1.0
    base = out[base_col].to_numpy(dtype=float)
    cells = _cells(out, list(columns))
    out[name] = base * _factors(cells, base, totals, " × ".join(columns))
    calibration = Calibration(
        kind="poststratify",
        steps=[CalibrationStep(columns=list(columns), weights_column=name)],
        base_weights_column=base_col,
    )
    return out, design.model_copy(update={"weight": name, "calibration": calibration})


def rake(
    data: pd.DataFrame,
    design: Design,
    margins: Mapping[str | tuple[str, ...], Margin],
    *,
    max_iter: int = 100,
    epsilon: float = 1e-8,
    convergence: Literal["weights", "table"] = "weights",
    name: str = "_w_raked",
) -> tuple[pd.DataFrame, Design]:
    """Iterative proportional fitting of the weights to several margins.

    ``margins`` maps a column (or a tuple of columns for a crossed margin) to its
    population totals. By default stops when no weight moves more than ``epsilon`` in a
    full cycle. ``convergence="table"`` is R's rule: stop when no cell of the weighted
    cross-table of all margin variables moves more than ``epsilon`` (a fraction of the
    total weight if below 1); ``rake(..., max_iter=10, epsilon=1, convergence="table")``
    reproduces R's ``rake`` defaults exactly. Replicate weights are raked alongside.
    """
    check_design(data, design)
    base_col = design.weight or "_w_base"
    out = data.copy()
    if design.weight is None:
        out[base_col] = 1.0
    weights = out[base_col].to_numpy(dtype=float)
    keys = [(m,) if isinstance(m, str) else tuple(m) for m in margins]
    cells = [_cells(out, list(k)) for k in keys]
    step_weights: list[np.ndarray] = []
    iterations = 0
    crossed = _cells(out, list(dict.fromkeys(c for k in keys for c in k))).astype(str)
    tolerance = epsilon * weights.sum() if convergence == "table" and epsilon < 1 else epsilon

    def table(w: np.ndarray) -> pd.Series:
        return pd.Series(w).groupby(crossed.to_numpy()).sum()

    old_table = table(weights)
    for _iteration in range(max_iter):
        iterations += 1
        previous = weights.copy()
        step_weights = []
        for key, cell, totals in zip(keys, cells, margins.values(), strict=True):
            weights = weights * _factors(cell, weights, totals, " × ".join(key))
            step_weights.append(weights.copy())
        if convergence == "table":
            new_table = table(weights)
            done = float((old_table - new_table).abs().max()) < tolerance
            old_table = new_table
        else:
            done = float(np.max(np.abs(weights - previous))) < tolerance
        if done:
            break
    else:
        raise SurveyError(
            _(
                "Raking did not converge in {iterations} iterations: the margins may be "
                "inconsistent (different grand totals) or cells may be empty."
            ).format(iterations=max_iter)
        )
    steps = []
    for i, (key, w) in enumerate(zip(keys, step_weights, strict=True)):
        column = f"{name}_step{i}"
        out[column] = w
        steps.append(CalibrationStep(columns=list(key), weights_column=column))
    out[name] = weights
    calibration = Calibration(kind="rake", steps=steps, base_weights_column=base_col)
    update: dict[str, object] = {"weight": name, "calibration": calibration}
    if design.uses_replicates:
        update["replicate_weights"] = _rake_replicates(
            out, design.replicate_weights, cells, list(margins.values()), iterations, name
        )
    return out, design.model_copy(update=update)


def _rake_replicates(
    out: pd.DataFrame,
    columns: list[str],
    cells: list[pd.Series],
    margins: list[Margin],
    iterations: int,
    name: str,
) -> list[str]:
    """Rake every replicate weight to the same margins, as R does for replicate designs.

    The calibration then shows in the spread of the replicate estimates, so no residual
    correction is needed. A cell empty in a replicate (its PSUs deleted) stays empty.
    """
    codes = []
    for cell, totals in zip(cells, margins, strict=True):
        keys, index = np.unique(cell.astype(str).to_numpy(), return_inverse=True)
        lookup = {str(k): float(v) for k, v in totals.items()}
        codes.append((index, np.array([lookup[k] for k in keys]), len(keys)))
    names = []
    for column in columns:
        w = out[column].to_numpy(dtype=float)
        for _iteration in range(iterations):
            for index, population, size in codes:
                current = np.bincount(index, weights=w, minlength=size)
                factor = np.divide(population, current, out=np.ones(size), where=current > 0)
                w = w * factor[index]
        raked = f"{name}_{column}"
        out[raked] = w
        names.append(raked)
    return names


def census_margins(
    census: pd.DataFrame,
    value: str = "population",
    dimensions: Sequence[Sequence[str]] = (("age_group",), ("sex",), ("nationality",)),
) -> dict[str | tuple[str, ...], dict[object, float]]:
    """Margins for :func:`rake` from a census table (one row per cell with a count)."""
    margins: dict[str | tuple[str, ...], dict[object, float]] = {}
    for dims in dimensions:
        dims = list(dims)
        grouped = census.groupby(dims)[value].sum()
        key: str | tuple[str, ...] = dims[0] if len(dims) == 1 else tuple(dims)
        margins[key] = {k: float(v) for k, v in grouped.items()}
    return margins


AGE_BREAKS = (0, 15, 30, 45, 65, 200)
AGE_LABELS = ("0-14", "15-29", "30-44", "45-64", "65+")
CENSUS_SEX = {"female": "F", "male": "M"}
CENSUS_NATIONALITY = {"venezuelan": "VEN", "other_foreign": "OTR", "host": "COL"}


def age_group(age: pd.Series) -> pd.Series:
    """Five broad age groups shared by the census margins and the survey."""
    values = pd.to_numeric(age, errors="coerce")
    return pd.cut(values, AGE_BREAKS, right=False, labels=AGE_LABELS).astype("string")


def census_margins_from_store(
    city: str,
    period: str,
    *,
    data_dir: str | Path | None = None,
    nationalities: Sequence[str] = ("venezuelan", "other_foreign"),
    dimensions: Sequence[str] = ("age_group", "sex", "nationality"),
) -> dict[str | tuple[str, ...], dict[object, float]]:
    """Age-group, sex and nationality margins of the census persons of ``nationalities``.

    Reads the canonical census Parquet (``<data_dir>/microdata/<city>/<period>/persons``)
    and returns margins keyed ``age_group``, ``sex``, ``nationality`` in the survey's codes
    (F/M; VEN/OTR/COL), ready for :func:`rake`.
    """
    path = Path(data_dir or get_settings().data_dir) / "microdata" / city / period
    path = path / "persons.parquet"
    if not path.exists():
        raise SurveyError(
            _(
                "No census persons for city {city}, period {period} (looked for {path}): "
                "import the census first or calibrate to margins given by hand."
            ).format(city=city, period=period, path=path)
        )
    persons = pd.read_parquet(path, columns=["sex", "age", "nationality"])
    persons = persons[persons["nationality"].isin(list(nationalities))]
    table = pd.DataFrame(
        {
            "age_group": age_group(persons["age"]),
            "sex": persons["sex"].map(CENSUS_SEX),
            "nationality": persons["nationality"].map(CENSUS_NATIONALITY),
            "population": 1.0,
        }
    ).dropna()
    return census_margins(table, dimensions=[(d,) for d in dimensions])


def calibrate_persons(
    persons: pd.DataFrame,
    design: Design,
    margins: Mapping[str | tuple[str, ...], Margin],
) -> tuple[pd.DataFrame, Design]:
    """Rake a persons table to census margins using the design's ``census_columns``."""
    columns = design.census_columns
    wanted = {"age_group": "age", "sex": "sex", "nationality": "nationality"}
    used = [wanted[k] for k in margins if isinstance(k, str) and k in wanted]
    missing = [k for k in used if k not in columns]
    if missing:
        raise SurveyError(
            _(
                "Calibration needs census_columns in the design for {keys} (e.g. age: edad, "
                "sex: sexo, nationality: nacionalidad)."
            ).format(keys=", ".join(missing))
        )
    data = persons.copy()
    derived = {
        "age_group": lambda: age_group(data[columns["age"]]),
        "sex": lambda: data[columns["sex"]].astype("string"),
        "nationality": lambda: data[columns["nationality"]].astype("string"),
    }
    names = [k for k in margins if isinstance(k, str) and k in derived]
    for name in names:
        data[name] = derived[name]()
    keep = data[names].notna().all(axis=1)
    if not keep.all():
        raise SurveyError(
            _(
                "{count} persons lack age, sex or nationality and cannot be calibrated: "
                "fix those answers first."
            ).format(count=int((~keep).sum()))
        )
    return rake(data, design, margins)


def _margin_table(
    path: str | Path, encoding: str | None, sheet: str | None
) -> tuple[str, list[str], list[list[str]], list[int], bool]:
    from inclusive_cities.ingest.tabular import read_text_table

    table = read_text_table(path, encoding=encoding, sheet=sheet)
    for number, count in table.short_rows[:1]:
        raise SurveyError(
            _(
                "{file}, row {row}: {count} fields where the header has {width}; the file may "
                "be truncated or use another delimiter."
            ).format(file=table.file, row=number, count=count, width=len(table.header))
        )
    return table.file, table.header, table.rows, table.row_numbers, table.encoding == "xlsx"


def _population(
    text: str, file: str, row: int, column: str, decimal: str, excel: bool = False
) -> float:
    from inclusive_cities.surveys.design import parse_cell

    value = parse_cell(text, decimal, excel)
    if value is None or value < 0:
        raise SurveyError(
            _(
                "{file}, row {row}, column '{column}': '{value}' is not a population total; "
                "write a number 0 or more{hint}."
            ).format(
                file=file,
                row=row,
                column=column,
                value=text,
                hint=_(" (for a decimal comma add --decimal ,)")
                if decimal == "." and "," in text
                else "",
            )
        )
    return value


def _require_calibration_columns(
    data: pd.DataFrame, columns: Sequence[str], file: str, row: int
) -> None:
    """The survey must have every calibration variable, with a value in every row."""
    source = str(data.attrs.get("file", "the survey"))
    rows = data.attrs.get("rows") or [i + 2 for i in range(len(data))]
    for column in columns:
        if column not in data.columns:
            raise SurveyError(
                _(
                    "{file}, row {row}: the survey {source} has no column '{column}' (columns: "
                    "{known}): name the variable as the survey's header writes it."
                ).format(
                    file=file,
                    row=row,
                    source=source,
                    column=column,
                    known=", ".join(map(str, list(data.columns)[:30])),
                )
            )
        empty = data[column].isna().to_numpy()
        if empty.any():
            position = int(np.flatnonzero(empty)[0])
            raise SurveyError(
                _(
                    "{source}, row {row}, column '{column}' is empty: every respondent needs a "
                    "value of a calibration variable; fill it or leave the row out."
                ).format(source=source, row=rows[position], column=column)
            )


def read_margins(
    path: str | Path,
    data: pd.DataFrame,
    *,
    decimal: str = ".",
    encoding: str | None = None,
    sheet: str | None = None,
) -> dict[str | tuple[str, ...], dict[object, float]]:
    """Raking margins, in the survey's codes, ready for :func:`rake`: a table with columns
    ``variable, category, total`` (one row per category of each survey variable), or a
    crossed margin (e.g. age group × sex, as census tables come) with one column per survey
    variable and ``total``, read as :func:`read_totals` does."""
    file, header, rows, numbers, excel = _margin_table(path, encoding, sheet)
    wanted = ("variable", "category", "total")
    if "total" in header and not {"variable", "category"} <= set(header):
        columns, totals = read_totals(path, data, decimal=decimal, encoding=encoding, sheet=sheet)
        return {columns[0] if len(columns) == 1 else tuple(columns): totals}
    absent = [c for c in wanted if c not in header]
    if absent:
        raise SurveyError(
            _(
                "{file} has no column '{column}' (columns: {known}): raking margins are a table "
                "with columns variable, category, total, or a crossed margin with one column "
                "per survey variable and total."
            ).format(file=file, column=absent[0], known=", ".join(header))
        )
    at = {c: header.index(c) for c in wanted}
    margins: dict[str | tuple[str, ...], dict[object, float]] = {}
    seen: dict[tuple[str, str], int] = {}
    for cells, row in zip(rows, numbers, strict=True):
        variable, category = cells[at["variable"]], cells[at["category"]]
        for column in ("variable", "category"):
            if not cells[at[column]]:
                raise SurveyError(
                    _(
                        "{file}, row {row}, column '{column}' is empty: give the survey "
                        "variable and its category on every row."
                    ).format(file=file, row=row, column=column)
                )
        if (variable, category) in seen:
            raise SurveyError(
                _(
                    "{file}, row {row}: category {value} of {variable} repeats row {first}; give "
                    "each category one total."
                ).format(
                    file=file,
                    row=row,
                    value=category,
                    variable=variable,
                    first=seen[(variable, category)],
                )
            )
        seen[(variable, category)] = row
        if variable not in margins:
            _require_calibration_columns(data, [variable], file, row)
        margins.setdefault(variable, {})[category] = _population(
            cells[at["total"]], file, row, "total", decimal, excel
        )
    if not margins:
        raise SurveyError(
            _("{file} has no margins: add rows variable, category, total.").format(file=file)
        )
    return margins


def read_totals(
    path: str | Path,
    data: pd.DataFrame,
    *,
    decimal: str = ".",
    encoding: str | None = None,
    sheet: str | None = None,
) -> tuple[list[str], dict[object, float]]:
    """Post-stratification totals from a table with one column per cell variable (named as
    in the survey) and ``total``: the cells and their population, for :func:`poststratify`."""
    file, header, rows, numbers, excel = _margin_table(path, encoding, sheet)
    if "total" not in header:
        raise SurveyError(
            _(
                "{file} has no column 'total' (columns: {known}): post-stratification totals are "
                "a table with one column per survey variable and a column total."
            ).format(file=file, known=", ".join(header))
        )
    columns = [c for c in header if c != "total"]
    if not columns:
        raise SurveyError(
            _("{file} has only a total: add a column per survey variable of the cells.").format(
                file=file
            )
        )
    _require_calibration_columns(data, columns, file, numbers[0] if numbers else 1)
    totals: dict[object, float] = {}
    first: dict[object, int] = {}
    for cells, row in zip(rows, numbers, strict=True):
        values = dict(zip(header, cells, strict=True))
        key: object = values[columns[0]] if len(columns) == 1 else tuple(values[c] for c in columns)
        if key in first:
            raise SurveyError(
                _(
                    "{file}, row {row}: cell {value} repeats row {first}; give each cell one total."
                ).format(file=file, row=row, value=key, first=first[key])
            )
        first[key] = row
        totals[key] = _population(values["total"], file, row, "total", decimal, excel)
    return columns, totals
