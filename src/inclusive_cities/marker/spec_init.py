"""``marker spec init``: a starting spec written from a city's own table.

A city's table rarely uses the indicator codes of ``uim-basic``. Rather than asking the user
to write a spec from nothing, this proposes one: every numeric column becomes an indicator
with its observed range (missing-value codes left out) as goalposts, its direction from the
indicator catalogue or the user's data dictionary, placed in the published 5-area UIM tree
when its code is known there, else under ``UNSORTED`` for the user to move. What cannot be
known is written so that it cannot be scored by accident: ``direction: unknown`` is refused
by the spec loader until the user sets it. The result is YAML text with comments, because
the comments are the instructions (docs/marker-specs.md walks through one).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.indicators.catalogue import Catalogue, load_catalogue
from inclusive_cities.ingest.dictionary import (
    ColumnMeta,
    column_meta,
    looks_like_code,
    read_dictionary,
)
from inclusive_cities.ingest.tables import IGNORED_NAMES, PERIOD_NAMES, UNIT_NAMES, normalise_code
from inclusive_cities.ingest.tabular import parse_number
from inclusive_cities.marker.errors import MarkerDataError, MarkerError
from inclusive_cities.marker.io import UnitTable, read_table
from inclusive_cities.marker.spec import Goalposts, MarkerSpec, Node, load_spec

UNSORTED = "UNSORTED"
"""Code of the node that holds the columns the tree has no place for."""
PUBLISHED_TREE = "uim-basic"
POPULATION_NAMES = ("population", "poblacion", "personas")
_CODE_PREFIXES = ("codigo_", "cod_", "code_")
MAX_TEXT_CODES = 3
"""Distinct text values a numeric column may hold and still be numeric (NS/NR, "..", "*")."""


@dataclass(frozen=True)
class Column:
    """One numeric column of the table, as the draft spec proposes it."""

    name: str
    meta: ColumnMeta
    values: int
    lower: float | None
    upper: float | None
    area: str = ""
    dimension: str = ""
    codes: tuple[float, ...] = ()
    """Undeclared 9…9 values left out of the range (read as missing)."""
    texts: tuple[str, ...] = ()
    """Text cells read as missing (NS/NR)."""

    @property
    def constant(self) -> bool:
        return self.lower is not None and self.lower == self.upper

    def implausible(self) -> float | None:
        """An end of the observed range that the column's unit or dictionary range rules out
        (a share of 999 %): most likely a missing-value code nobody declared."""
        low, high = self.meta.bounds()
        if self.upper is not None and high is not None and self.upper > high:
            return self.upper
        if self.lower is not None and low is not None and self.lower < low:
            return self.lower
        return None


@dataclass
class SpecDraft:
    """The proposed spec and what the user must still do to it."""

    text: str
    command: str = ""
    """The ``marker compute`` command that scores the data with the finished spec."""
    placed: list[str] = field(default_factory=list)
    unsorted: list[str] = field(default_factory=list)
    unknown_direction: list[str] = field(default_factory=list)
    implausible: list[str] = field(default_factory=list)
    """Columns whose observed range holds a value their unit rules out (an undeclared code)."""
    left_out: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    """Column left out -> why (printed, so that no column vanishes without a word)."""
    text_codes: dict[str, list[str]] = field(default_factory=dict)
    """Column -> its text cells read as missing (NS/NR)."""
    code_values: dict[str, list[float]] = field(default_factory=dict)
    """Column -> undeclared 9…9 values far outside its other values, kept out of the range."""


def init_spec(
    data: Path,
    *,
    dictionary: Path | None = None,
    missing: Sequence[float] = (),
    missing_text: Sequence[str] = (),
    id_column: str | None = None,
    code: str = "my-spec",
    spec_path: str = "my-spec.yaml",
    catalogue: Catalogue | None = None,
) -> SpecDraft:
    """Read ``data`` and propose a spec for its numeric columns (see the module docstring).

    ``spec_path`` is where the spec will be written, for the ``marker compute`` command the
    draft suggests."""
    table = read_table(data)
    header = [str(h) for h in table.frame.columns]
    identifier = _id_column(header, id_column, table.file)
    catalogue = catalogue if catalogue is not None else load_catalogue()
    declared = read_dictionary(dictionary) if dictionary is not None else {}
    tree = load_spec(PUBLISHED_TREE)
    places = _published_places(tree)
    columns: list[Column] = []
    left_out: list[tuple[str, str]] = []
    population: str | None = None
    text_codes: dict[str, list[str]] = {}
    code_values: dict[str, list[float]] = {}
    for name in header:
        reason = _skipped(name, identifier)
        if reason:
            left_out.append((name, reason))
            continue
        meta = column_meta(normalise_code(name), catalogue, declared, missing, missing_text)
        try:
            values = _numbers(table, name, meta.missing, meta.missing_text)
        except MarkerDataError:
            texts = _text_codes(table, name)
            if not texts:
                left_out.append((name, _("not numeric")))
                continue
            # a numeric column with a few NS/NR cells: those cells are missing, the column stays
            text_codes[name] = texts
            values = _numbers(table, name, meta.missing, (*meta.missing_text, *texts))
        observed = values[~np.isnan(values)]
        numbers = observed.tolist()
        codes = sorted({v for v in numbers if looks_like_code(v, numbers)})
        if codes:
            # an undeclared 999 would become a goalpost and push every real value to one end
            code_values[name] = codes
            observed = observed[~np.isin(observed, codes)]
        if observed.size == 0:
            left_out.append((name, _("no value besides missing-value codes")))
            continue
        if meta.direction == "neutral":
            left_out.append((name, _neutral_reason(name)))
            if population is None and normalise_code(name) in POPULATION_NAMES:
                population = name
            continue
        entry = catalogue.indicators.get(meta.code) if meta.origin == "catalogue" else None
        area, dimension = (entry.area, entry.dimension) if entry is not None else ("", "")
        if (area, dimension) not in places:
            area, dimension = "", ""
        columns.append(
            Column(
                name=name,
                meta=meta,
                values=int(observed.size),
                lower=float(observed.min()),
                upper=float(observed.max()),
                area=area,
                dimension=dimension,
                codes=tuple(code_values.get(name, ())),
                texts=tuple(text_codes.get(name, ())),
            )
        )
    if not columns:
        raise MarkerError(
            _(
                "{file}: no numeric column to make indicators of besides the id column "
                "'{column}' (left out: {left}); check the file and --missing."
            ).format(
                file=table.file,
                column=identifier,
                left=", ".join(f"{n} ({r})" for n, r in left_out) or "-",
            )
        )
    found = sorted({c for codes in code_values.values() for c in codes} - set(missing))
    texts = list(
        dict.fromkeys(t for ts in text_codes.values() for t in ts if t.lower() not in missing_text)
    )
    command = compute_command(
        spec_path,
        str(data),
        identifier,
        [*missing, *found],
        population,
        texts,
        str(dictionary) if dictionary is not None else None,
    )
    text = _render(
        table, tree, columns, left_out, identifier, code, [*missing, *found], declared, command
    )
    return SpecDraft(
        text=text,
        command=command,
        placed=[c.name for c in columns if c.dimension],
        unsorted=[c.name for c in columns if not c.dimension],
        unknown_direction=[c.name for c in columns if c.meta.direction == "unknown"],
        implausible=[c.name for c in columns if c.implausible() is not None],
        left_out=[name for name, _reason in left_out],
        reasons=dict(left_out),
        text_codes=text_codes,
        code_values=code_values,
    )


def _text_codes(table: UnitTable, column: str) -> list[str]:
    """The text cells of a column that is otherwise numbers (NS/NR, "..", "*"), or [] when
    the column is text (names, notes): at most a few distinct texts, fewer cells than numbers."""
    cells = [str(v).strip() for v in table.frame[column] if v is not None and str(v).strip()]
    texts = [c for c in cells if parse_number(c, table.decimal) is None]
    distinct = list(dict.fromkeys(texts))
    if not texts or len(distinct) > MAX_TEXT_CODES or 2 * len(texts) >= len(cells):
        return []
    return distinct


def compute_command(
    spec_path: str,
    data_path: str,
    identifier: str,
    missing: Sequence[float],
    population: str | None,
    texts: Sequence[str] = (),
    dictionary: str | None = None,
) -> str:
    """``inclusive-cities marker compute …`` with the options this table needs (files named
    as the user named them, quoted for a shell when they hold spaces)."""
    q = shlex.quote
    parts = [
        "inclusive-cities marker compute",
        f"--spec {q(spec_path)}",
        f"--data {q(data_path)}",
        *([f"--id-column {q(identifier)}"] if identifier != "unit_code" else []),
        *(f"--missing {q(_scalar(c))}" for c in missing),
        *(f"--missing {q(t)}" for t in texts),
        *([f"--population-column {q(population)}"] if population else []),
        *([f"--dictionary {q(dictionary)}"] if dictionary else []),
        "--out scores.csv",
    ]
    return " ".join(parts)


def _numbers(
    table: UnitTable, column: str, missing: Sequence[float], texts: Sequence[str] = ()
) -> np.ndarray:
    """One column as numbers, parsed as ``marker compute`` parses it (without copying the
    whole table once per column)."""
    alone = UnitTable(table.frame[[column]], table.file, table.row_numbers, table.decimal)
    metas = {column: ColumnMeta(code=column, missing_text=tuple(texts))} if texts else None
    return alone.numeric([column], missing=missing, metas=metas)[column].to_numpy(dtype=float)


def _id_column(header: list[str], wanted: str | None, file: str) -> str:
    """The unit id column: the one named, else the usual names (unit_code, codigo_…)."""
    lower = [h.lower() for h in header]
    if wanted is not None:
        if wanted.lower() not in lower:
            raise MarkerDataError(
                _("{file}: no column '{column}' (columns: {columns}); check --id-column.").format(
                    file=file, column=wanted, columns=", ".join(header)
                )
            )
        return header[lower.index(wanted.lower())]
    for name in UNIT_NAMES:
        if name in lower:
            return header[lower.index(name)]
    for index, name in enumerate(lower):
        if name.startswith(_CODE_PREFIXES):
            return header[index]
    raise MarkerDataError(
        _(
            "{file}: no unit id column (unit_code, codigo, codigo_…; columns: {columns}): name "
            "it with --id-column."
        ).format(file=file, columns=", ".join(header))
    )


def _skipped(name: str, identifier: str) -> str:
    """Why a column is not an indicator ('' when it may be one)."""
    lower = name.lower()
    if name == identifier:
        return _("the unit id")
    if lower in UNIT_NAMES or lower.startswith(_CODE_PREFIXES):
        return _("a code column")
    if lower in PERIOD_NAMES:
        return _("the period")
    if lower in IGNORED_NAMES:
        return _("unit names")
    return ""


def _neutral_reason(name: str) -> str:
    if normalise_code(name) in POPULATION_NAMES:
        return _("neutral: pass it to marker compute as --population-column {column}").format(
            column=name
        )
    return _("neutral: a descriptive figure with no better end, not a marker indicator")


def _published_places(tree: MarkerSpec) -> dict[tuple[str, str], tuple[Node, Node]]:
    """(area code, dimension code) -> the nodes of the published tree."""
    return {
        (area.code, dimension.code): (area, dimension)
        for area in tree.tree.children
        for dimension in area.children
    }


# -- writing the YAML ---------------------------------------------------------------------


def _scalar(value: object) -> str:
    """A YAML scalar: JSON's double-quoted strings and numbers are valid YAML."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(round(value, 6))
    return json.dumps(value, ensure_ascii=False)


def _label(es: str, en: str) -> str:
    return f"{{es: {_scalar(es)}, en: {_scalar(en)}}}"


def _comment(text: str, indent: str) -> str:
    return f"{indent}# {text}"


def _render(
    table: UnitTable,
    tree: MarkerSpec,
    columns: list[Column],
    left_out: list[tuple[str, str]],
    identifier: str,
    code: str,
    missing: Sequence[float],
    declared: Mapping[str, ColumnMeta],
    command: str,
) -> str:
    file = Path(table.file).name
    lines = [
        _comment(
            _("Marker spec proposed by 'inclusive-cities marker spec init' from {file}.").format(
                file=file
            ),
            "",
        ),
        _comment(_("How to finish it, step by step: docs/marker-specs.md."), ""),
        _comment(
            _(
                "1. Set every 'direction: unknown' to higher_is_better or lower_is_better: the "
                "spec is refused until you do."
            ),
            "",
        ),
        _comment(
            _(
                "2. Move each indicator under {unsorted} into the dimension where it belongs "
                "(uncomment a dimension to use it), then delete {unsorted}."
            ).format(unsorted=UNSORTED),
            "",
        ),
        _comment(
            _(
                "3. Goalposts are the observed range (lower = minimum, upper = maximum): replace "
                "them with benchmarks (targets, norms) and name their source."
            ),
            "",
        ),
        _comment(
            _(
                "Unit id column: {column}. Missing-value codes left out of the ranges: {codes}."
            ).format(column=identifier, codes=", ".join(_scalar(c) for c in missing) or "-"),
            "",
        ),
    ]
    lines.append(_comment(_("Score it with: {command}").format(command=command), ""))
    for name, reason in left_out:
        lines.append(
            _comment(
                _("Column {column} is not an indicator: {reason}.").format(
                    column=name, reason=reason
                ),
                "",
            )
        )
    stem = Path(table.file).stem
    lines += [
        f"code: {_scalar(code)}",
        "name: "
        + _label(
            f"Marcador de inclusión urbana: {stem}",
            f"Urban inclusion marker: {stem}",
        ),
        "version: '1'",
        "tree:",
        f"  code: {tree.tree.code}",
        f"  name: {_label(tree.tree.name.es, tree.tree.name.en)}",
        "  children:",
    ]
    by_place: dict[tuple[str, str], list[Column]] = {}
    for column in columns:
        by_place.setdefault((column.area, column.dimension), []).append(column)
    for area in tree.tree.children:
        lines += _area_lines(area, by_place, tree, file, declared)
    unsorted = by_place.get(("", ""), [])
    if unsorted:
        lines += [
            _comment(
                _(
                    "{unsorted}: columns the published tree has no place for. Move each one into "
                    "a dimension above, then delete this node."
                ).format(unsorted=UNSORTED),
                "  ",
            ),
            f"  - code: {UNSORTED}",
            "    name: "
            + _label(
                "Sin clasificar: mueva estos indicadores a su dimensión",
                "Unsorted: move these indicators to their dimension",
            ),
            "    indicators:",
        ]
        for column in unsorted:
            lines += _indicator_lines(column, "    ", tree, file, declared)
    return "\n".join(lines) + "\n"


def _area_lines(
    area: Node,
    by_place: Mapping[tuple[str, str], list[Column]],
    tree: MarkerSpec,
    file: str,
    declared: Mapping[str, ColumnMeta],
) -> list[str]:
    """An area of the published tree: its dimensions with columns, the others commented out
    (a node without indicators is refused, so an empty one is a place to uncomment)."""
    used = [d for d in area.children if by_place.get((area.code, d.code))]
    if not used:
        block = [
            f"- code: {area.code}",
            f"  name: {_label(area.name.es, area.name.en)}",
            "  children:",
            *(f"  {line}" for d in area.children for line in _dimension_head(d)),
        ]
        return [
            _comment(
                _(
                    "Area {code}: no column of the data yet. To use it, uncomment it with a "
                    "dimension and move indicators there."
                ).format(code=area.code),
                "  ",
            ),
            *(_comment(line, "  ") for line in block),
        ]
    lines = [
        f"  - code: {area.code}",
        f"    name: {_label(area.name.es, area.name.en)}",
        "    children:",
    ]
    for dimension in area.children:
        columns = by_place.get((area.code, dimension.code))
        if not columns:
            lines += [
                _comment(
                    _(
                        "Dimension {code}: no column yet; uncomment it to move indicators here."
                    ).format(code=dimension.code),
                    "    ",
                ),
                *(_comment(line, "    ") for line in _dimension_head(dimension)),
            ]
            continue
        lines += [f"    {line}" for line in _dimension_head(dimension)]
        for column in columns:
            lines += _indicator_lines(column, "      ", tree, file, declared)
    return lines


def _dimension_head(dimension: Node) -> list[str]:
    return [
        f"- code: {dimension.code}",
        f"  name: {_label(dimension.name.es, dimension.name.en)}",
        "  indicators:",
    ]


def _indicator_lines(
    column: Column,
    indent: str,
    tree: MarkerSpec,
    file: str,
    declared: Mapping[str, ColumnMeta],
) -> list[str]:
    meta = column.meta
    lines: list[str] = []
    if normalise_code(column.name) != column.name:
        lines.append(
            _comment(
                _(
                    "'import table' stores this column as {code}: rename the column to it to "
                    "use this spec on the observatory's store too."
                ).format(code=normalise_code(column.name)),
                indent,
            )
        )
    lines += [
        f"{indent}- code: {_scalar(column.name)}",
        f"{indent}  name: {_label(meta.name_es or column.name, meta.name_en or column.name)}",
    ]
    if meta.direction == "unknown":
        lines.append(
            f"{indent}  direction: unknown  # "
            + _(
                "SET THIS: higher_is_better or lower_is_better (no catalogue or dictionary "
                "entry says which end is good)"
            )
        )
    else:
        origin = (
            _("from the indicator catalogue")
            if meta.origin == "catalogue"
            else _("from the data dictionary")
        )
        lines.append(f"{indent}  direction: {meta.direction}  # {origin}")
        said = declared.get(meta.code)
        if meta.origin == "catalogue" and said is not None and said.direction != meta.direction:
            lines.append(
                _comment(
                    _(
                        "the dictionary says {said}; the catalogue's direction is kept, as "
                        "'import table' does"
                    ).format(said=said.direction),
                    f"{indent}  ",
                )
            )
    if meta.unit:
        lines.append(f"{indent}  unit: {_scalar(meta.unit)}")
    lower, upper = column.lower, column.upper
    assert lower is not None and upper is not None
    note = ""
    if column.constant:
        # equal goalposts are refused: widen by one so the draft loads, and say so
        note = _comment(
            _("every value is {value}: these goalposts are a placeholder; set real ones").format(
                value=_scalar(lower)
            ),
            f"{indent}    ",
        )
        upper = lower + 1
    source = _("observed range in {file} ({n} values): replace with a benchmark").format(
        file=file, n=format_number(column.values)
    )
    lines += [
        f"{indent}  normalisation:",
        f"{indent}    method: goalposts",
        f"{indent}    lower: {_scalar(lower)}",
        f"{indent}    upper: {_scalar(upper)}",
        f"{indent}    source: {_scalar(source)}",
    ]
    if note:
        lines.append(note)
    if column.codes or column.texts:
        lines.append(
            _comment(
                _(
                    "read as missing, not as values: {values} (undeclared codes; the score "
                    "command passes them with --missing)"
                ).format(values=", ".join([*(_scalar(c) for c in column.codes), *column.texts])),
                f"{indent}    ",
            )
        )
    implausible = column.implausible()
    if implausible is not None:
        lines.append(
            _comment(
                _(
                    "{value} is outside what this column can hold ({bounds}): if it means "
                    "'no data', run spec init again with --missing {value}"
                ).format(value=_scalar(implausible), bounds=_bounds_text(meta)),
                f"{indent}    ",
            )
        )
    published = _published_goalposts(tree, column.name)
    if published is not None:
        lines.append(
            _comment(
                _(
                    "{spec} uses {lower}–{upper} ({source}); use the same to compare with "
                    "other cities"
                ).format(
                    spec=tree.code,
                    lower=_scalar(published.lower),
                    upper=_scalar(published.upper),
                    source=published.source,
                ),
                f"{indent}    ",
            )
        )
    return lines


def _bounds_text(meta: ColumnMeta) -> str:
    return "–".join("…" if end is None else _scalar(end) for end in meta.bounds())


def _published_goalposts(tree: MarkerSpec, code: str) -> Goalposts | None:
    for indicator in tree.indicators():
        if indicator.code == code:
            method = tree.normalisation_for(indicator)
            return method if isinstance(method, Goalposts) else None
    return None


__all__ = ["UNSORTED", "Column", "SpecDraft", "init_spec"]
