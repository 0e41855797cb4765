"""Checks of imported figures against what they mean: impossible values and context figures.

A share of 999 % or a negative distance is refused (it is almost always a missing-value code
the user did not declare); a column that repeats one large count on many units, or a
population the units' areas cannot hold, is imported but flagged, since real tables do
carry community totals on every block.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from babel.numbers import format_decimal

from inclusive_cities.i18n import current_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.units import unit_label
from inclusive_cities.ingest.common import Problem, number
from inclusive_cities.ingest.dictionary import ColumnMeta, is_code_like, looks_like_code

MIN_SHARED = 5
"""Units that must share one value before it can be a repeated total."""
MIN_SHARED_FRACTION = 0.2
"""Share of a column's units held by repeated totals before the column is flagged."""
MAX_DENSITY_PER_KM2 = 100_000.0
"""People per km² above which a city's total is implausible (the densest districts on earth
hold about 100,000)."""
COUNT_UNITS = frozenset(
    {
        "count",
        "personas",
        "persons",
        "people",
        "hogares",
        "households",
        "viviendas",
        "dwellings",
        "habitantes",
        "inhabitants",
    }
)
POPULATION_UNITS = frozenset({"personas", "persons", "people", "habitantes", "inhabitants"})
_COUNT_NAME = re.compile(
    r"(^|_)(pob|poblacion|population|pop|personas|persons|people|hogares|households|"
    r"viviendas|dwellings|habitantes|inhabitants|hab|total|tot|count|n|num)(_|$)"
)
_POPULATION_NAME = re.compile(
    r"(^|_)(pob|poblacion|population|pop|personas|persons|people|habitantes|inhabitants)(_|$)"
)


@dataclass(frozen=True)
class Value:
    """One parsed cell: where it is, which column, which unit and period, its value."""

    row: int
    column: str
    code: str
    unit_code: str
    period: str
    value: float
    text: str = ""
    """The cell as written (how a count with a thousands dot is quoted back)."""


MIN_SCALE_VALUES = 3
"""Values a column needs before its scale (0-1 for %, km for m) is judged."""
SUBPOPULATIONS = {
    "venezuelan_population": "population",
    "population_refugees": "population_total",
    "population_migrants": "population_total",
    "population_idps": "population_total",
}
"""Catalogue and HXL counts of a group -> the count of everyone they are part of."""
TOTAL_POPULATION_CODES = frozenset(
    {
        "population",
        "population_total",
        "total_population",
        "poblacion",
        "poblacion_total",
        "pob_total",
    }
)
_GROUP_NAME = re.compile(
    r"venezol|venezuel|migra|refug|extranjer|foreign|desplazad|idp|asyl|asil|hombres|mujeres|"
    r"(^|_)(men|women|male|female)(_|$)"
)
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")


def _shown(value: float) -> str:
    return f"{value:g}"


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return _("between {low} and {high}").format(low=_shown(low), high=_shown(high))
    if low is not None:
        return _("at least {low}").format(low=_shown(low))
    return _("at most {high}").format(high=_shown(high or 0.0))


def _by_column(
    values: Sequence[Value], metas: Mapping[str, ColumnMeta]
) -> Iterator[tuple[str, ColumnMeta, list[Value]]]:
    """Each column's values with its description, columns in the order they first appear:
    the per-column checks all judge a column as a whole."""
    by_code: dict[str, list[Value]] = defaultdict(list)
    for item in values:
        by_code[item.code].append(item)
    for code, items in by_code.items():
        yield code, metas[code], items


def implausible_values(
    values: Sequence[Value], metas: Mapping[str, ColumnMeta], file: str
) -> tuple[list[Problem], list[Problem]]:
    """Problems for values outside what their column allows (declared min/max, or the unit's
    range: 0-100 for %, never below 0 for a distance or a count), and warnings for columns
    nobody declared that hold a 9…9 code far outside their other values."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for code, meta, items in _by_column(values, metas):
        numbers = [i.value for i in items]
        low, high = meta.bounds()
        if low is None and high is None:
            warning = _code_warning(items, numbers, file)
            if warning is not None:
                warnings.append(warning)
            continue
        for item in items:
            if (low is None or item.value >= low) and (high is None or item.value <= high):
                continue
            named = f"({meta.unit})" in code or f"({meta.unit})" in item.column
            shown = unit_label(meta.unit)
            unit = _(" ({unit})").format(unit=shown) if meta.unit and not named else ""
            reason = _(
                "{code}{unit} must be {range}; fix the value or leave the cell empty."
            ).format(code=code, unit=unit, range=_range_text(low, high))
            if looks_like_code(item.value, numbers):
                reason += " " + _(
                    "It looks like a missing-value code: declare it with --missing {value} (or "
                    "in the data dictionary's 'missing' field)."
                ).format(value=_shown(item.value))
            problems.append(Problem(file, item.row, item.column, _shown(item.value), reason))
    return problems, warnings


def _code_warning(items: Sequence[Value], numbers: list[float], file: str) -> Problem | None:
    codes = Counter(v for v in numbers if looks_like_code(v, numbers))
    if not codes:
        return None
    value, count = codes.most_common(1)[0]
    rest = [v for v in numbers if not is_code_like(v)]
    first = next(i for i in items if i.value == value)
    return Problem(
        file,
        None,
        first.column,
        _shown(value),
        _(
            "{count} cells hold {value}, far outside the column's other values ({low} to "
            "{high}); they were imported as values. If {value} means 'no data', import again "
            "with --missing {value}."
        ).format(
            count=number(count),
            value=_shown(value),
            low=_shown(min(rest)) if rest else "-",
            high=_shown(max(rest)) if rest else "-",
        ),
    )


def is_count_column(meta: ColumnMeta, column: str, numbers: Sequence[float]) -> bool:
    """Whole non-negative numbers in a column whose unit or name says it counts people,
    households or dwellings (a share with many equal values is not a repeated total)."""
    named = meta.unit.strip().lower() in COUNT_UNITS or bool(
        _COUNT_NAME.search(column.lower()) or _COUNT_NAME.search(meta.code)
    )
    return named and all(v >= 0 and float(v).is_integer() for v in numbers)


def is_population_column(meta: ColumnMeta, column: str) -> bool:
    return meta.unit.strip().lower() in POPULATION_UNITS or bool(
        _POPULATION_NAME.search(column.lower()) or _POPULATION_NAME.search(meta.code)
    )


def repeated_totals(numbers: Sequence[float]) -> list[tuple[float, int]]:
    """Values shared by many units far more often than their neighbourhood of values
    explains: a total of a larger area written on each of its units. Genuine block counts
    tie too, but then the nearby values are about as frequent."""
    counts = Counter(numbers)
    ordered = np.sort(np.asarray(numbers, dtype=float))
    spikes = []
    for value, count in counts.items():
        if value < 10 or count < MIN_SHARED:
            continue
        half = max(2.0, round(0.05 * value))
        near = int(
            np.searchsorted(ordered, value + half, side="right")
            - np.searchsorted(ordered, value - half, side="left")
        )
        per_value = (near - count) / (2 * half)
        if count > 3 * per_value + 2:
            spikes.append((float(value), count))
    return sorted(spikes, key=lambda s: (-s[1], s[0]))


def context_warnings(
    values: Sequence[Value],
    metas: Mapping[str, ColumnMeta],
    areas_m2: Mapping[str, float | None],
    file: str,
) -> list[Problem]:
    """Warnings for count columns that repeat one value on many units, and for population
    totals the units' areas cannot hold (``areas_m2``: unit code -> area)."""
    warnings: list[Problem] = []
    groups: dict[tuple[str, str], list[Value]] = defaultdict(list)
    for item in values:
        groups[(item.code, item.period)].append(item)
    for (code, period), items in groups.items():
        meta = metas[code]
        column = items[0].column
        numbers = [i.value for i in items]
        if not is_count_column(meta, column, numbers):
            continue
        spikes = repeated_totals(numbers)
        shared = sum(count for _value, count in spikes)
        if spikes and shared >= max(MIN_SHARED, MIN_SHARED_FRACTION * len(numbers)):
            value, count = spikes[0]
            others = (
                _("; {values} other values are each repeated on {least} or more units").format(
                    values=number(len(spikes) - 1), least=MIN_SHARED
                )
                if len(spikes) > 1
                else ""
            )
            warnings.append(
                Problem(
                    file,
                    None,
                    column,
                    _shown(value),
                    _(
                        "{count} of {units} units (period {period}) share the value {value}"
                        "{others}: the column may repeat a larger area's total on every unit; "
                        "import each unit's own count, or leave the column out."
                    ).format(
                        count=number(count),
                        units=number(len(numbers)),
                        period=period,
                        value=_shown(value),
                        others=others,
                    ),
                )
            )
        if is_population_column(meta, column):
            warning = _density_warning(items, areas_m2, file, period)
            if warning is not None:
                warnings.append(warning)
    return warnings


def _density_warning(
    items: Sequence[Value], areas_m2: Mapping[str, float | None], file: str, period: str
) -> Problem | None:
    with_area = [i for i in items if areas_m2.get(i.unit_code)]
    area_km2 = sum(float(areas_m2[i.unit_code] or 0.0) for i in with_area) / 1e6
    if not with_area or area_km2 <= 0:
        return None
    total = sum(i.value for i in with_area)
    density = total / area_km2
    if density <= MAX_DENSITY_PER_KM2:
        return None
    return Problem(
        file,
        None,
        items[0].column,
        str(round(total)),
        _(
            "the {units} units add up to {total} people (period {period}) on {area} km², "
            "{density} per km², more than the {limit} of the densest districts on earth: the "
            "column may repeat a larger area's total on every unit; check it before using it "
            "as population."
        ).format(
            units=number(len(with_area)),
            total=number(round(total)),
            period=period,
            area=format_decimal(round(area_km2, 2), locale=current_language()),
            density=number(round(density)),
            limit=number(round(MAX_DENSITY_PER_KM2)),
        ),
    )


def is_count_unit(meta: ColumnMeta) -> bool:
    """A unit that counts people, households or dwellings (whole numbers, unless estimated)."""
    return meta.unit.strip().lower() in COUNT_UNITS - {"count"}


def count_problems(
    values: Sequence[Value], metas: Mapping[str, ColumnMeta], file: str, decimal: str
) -> tuple[list[Problem], list[Problem]]:
    """Problems for counts of people or households whose every decimal value has exactly
    three digits after the dot (24.251 people is 24,251 written with a thousands dot; an
    estimate such as 1861.138455 is not refused), and for a group larger than the population
    it belongs to; a warning for an undeclared count-like column of such values."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for code, meta, items in _by_column(values, metas):
        dotted = [i for i in items if not float(i.value).is_integer()]
        if decimal != "." or not dotted or not all(_THOUSANDS_DOT.match(i.text) for i in dotted):
            continue
        if is_count_unit(meta):
            problems.extend(
                Problem(
                    file,
                    item.row,
                    item.column,
                    item.text,
                    _(
                        "{code} counts {unit} and every decimal value of the column has exactly "
                        "3 digits after the dot: this looks like a thousands separator: run "
                        "again with --locale es (or --decimal ,)."
                    ).format(code=code, unit=meta.unit),
                )
                for item in dotted
            )
        elif not meta.unit and _COUNT_NAME.search(code):
            warnings.append(
                Problem(
                    file,
                    None,
                    dotted[0].column,
                    dotted[0].text,
                    _(
                        "{count} values of this count-like column (e.g. {value}) have exactly "
                        "3 digits after the dot: if they are thousands, run again with "
                        "--locale es; they were read as {read}."
                    ).format(
                        count=number(len(dotted)),
                        value=dotted[0].text,
                        read=_shown(dotted[0].value),
                    ),
                )
            )
    problems.extend(_group_above_total(values, file))
    return problems, warnings


def _is_group(code: str) -> bool:
    return code in SUBPOPULATIONS or bool(
        _POPULATION_NAME.search(code) and _GROUP_NAME.search(code)
    )


def _group_above_total(values: Sequence[Value], file: str) -> list[Problem]:
    """A count of Venezuelans (or refugees, or women) above the unit's population in the same
    row of the same file is impossible: one of the two columns is misread."""
    problems: list[Problem] = []
    codes = {item.code for item in values}
    groups = {code for code in codes if _is_group(code)}
    wanted = groups | (codes & TOTAL_POPULATION_CODES)
    if not groups or wanted == groups:
        return problems
    cells: dict[tuple[str, str], dict[str, Value]] = defaultdict(dict)
    for item in values:
        if item.code in wanted:
            cells[(item.unit_code, item.period)][item.code] = item
    for by_code in cells.values():
        totals = [v for c, v in by_code.items() if c in TOTAL_POPULATION_CODES]
        for code, item in by_code.items():
            if code not in groups:
                continue
            parent = SUBPOPULATIONS.get(code)
            total = by_code.get(parent) if parent else None
            total = total or next(iter(totals), None)
            if total is None or item.value <= total.value:
                continue
            problems.append(
                Problem(
                    file,
                    item.row,
                    item.column,
                    item.text or _shown(item.value),
                    _(
                        "{code} ({value}) is above {total_code} ({total}) of unit {unit}: a group "
                        "cannot outnumber the population it belongs to; check both columns (a "
                        "thousands separator read as a decimal mark?)."
                    ).format(
                        code=code,
                        value=item.text or _shown(item.value),
                        total_code=total.code,
                        total=total.text or _shown(total.value),
                        unit=item.unit_code,
                    ),
                )
            )
    return problems


def scale_problems(
    values: Sequence[Value], metas: Mapping[str, ColumnMeta], file: str, decimal: str = "."
) -> list[Problem]:
    """A problem for each column on the wrong scale for its unit: a % column whose values are
    all 0-1 (shares, not percentages), a metres column whose values are all a few units with
    decimals (kilometres). Stored as they are, they would be scored 100 or 1000 times off, so
    the importer refuses them unless told the values are right (trial #4 F17). Each names the
    row holding the column's highest value; numbers are written with the file's ``decimal``
    mark (in a file of 0,256 the example "0.256" reads as 256)."""

    def written(number: float) -> str:
        return _shown(number).replace(".", decimal)

    problems: list[Problem] = []
    for code, meta, items in _by_column(values, metas):
        unit = meta.unit.strip().lower()
        numbers = [i.value for i in items]
        if len(numbers) < MIN_SCALE_VALUES:
            continue
        fractional = sum(1 for v in numbers if not float(v).is_integer())
        highest = max(items, key=lambda i: i.value)
        high = highest.value
        if unit == "%" and min(numbers) >= 0 and high <= 1 and fractional:
            reason = _(
                "every value of {code} is between 0 and 1 (highest {high}) although its unit is "
                "%: they are probably shares; multiply them by 100 in the file ({share} -> "
                "{percent}) and import it again."
            ).format(code=code, high=written(high), share=written(0.256), percent=written(25.6))
        elif unit == "m" and min(numbers) >= 0 and high <= 50 and 2 * fractional >= len(numbers):
            reason = _(
                "every value of {code} is at most {high} with decimals although its unit is "
                "metres: they are probably kilometres; multiply them by 1000 in the file ({km} -> "
                "{m}) and import it again."
            ).format(code=code, high=written(high), km=written(1.65), m=written(1650))
        else:
            continue
        problems.append(
            Problem(
                file,
                highest.row,
                highest.column,
                highest.text or written(high),
                reason,
            )
        )
    return problems
