"""The indicator catalogue: declarative YAML entries, validated and with checked expressions.

The package ships ``catalogue.yaml`` (every ``uim-basic`` and ``uim-extended`` indicator);
users may pass more files, whose entries add to or replace the shipped ones by code, and whose
``survey_variables`` add to the known survey questions. Errors name the file, the line and
the field, because the person who must fix them is editing that file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from inclusive_cities.catalogue.errors import IndicatorError
from inclusive_cities.catalogue.expressions import Expression, parse
from inclusive_cities.i18n import gettext as _

RECORDS = ("household", "person", "facility", "layer", "table", "survey")
SURVEY_TABLES = ("households", "persons")
"""Survey tables: the form's main sheet (one row per household) and its member repeat."""
SURVEY_STATISTICS = ("share", "mean")
SURVEY_DISAGGREGATIONS = ("sex",)
SURVEY_VARIABLE_TYPES = ("integer", "decimal", "text", "select_one", "select_multiple", "date")
_NUMERIC_TYPES = ("integer", "decimal")
MICRODATA_AGGREGATIONS = (
    "share",
    "per_1000",
    "mean",
    "median",
    "ratio",
    "gap",
    "entropy",
    "per_km2",
    "count",
)
SPATIAL_METHODS = (
    "nearest_distance",
    "within",
    "reachable_count",
    "reachable_share",
    "public_space_fca",
    "population_in_zone",
    "intersection_density",
)
DISAGGREGATIONS = ("sex", "age_group", "nationality")
DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral")
"""``neutral``: a descriptive figure (population, share of Venezuelans) with no better end; it
is shown in a single-hue palette and cannot be a marker indicator."""
_LAYER_METHODS = ("public_space_fca", "population_in_zone", "intersection_density")
_UNIT_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "%": (0.0, 100.0),
    "0-1": (0.0, 1.0),
    "0-100": (0.0, 100.0),
}
_NON_NEGATIVE_UNITS = frozenset(
    {
        "m",
        "km",
        "count",
        "personas",
        "persons",
        "people",
        "hogares",
        "households",
        "viviendas",
        "dwellings",
        "1/km2",
        "m2/inhab",
        "per 100k",
        "per 1000",
        "por 1.000 hab.",
        "cop",
        "min",
        "minutes",
    }
)


def plausible_bounds(unit: str) -> tuple[float | None, float | None]:
    """The values a unit allows: 0-100 for a share in %, 0-1 for an index, never below 0 for
    a distance, a count, a density or a rate (None: no bound). Importers refuse values
    outside, since a share of 999 % is a missing-value code, not a figure."""
    key = unit.strip().lower()
    if key in _UNIT_BOUNDS:
        return _UNIT_BOUNDS[key]
    if key in _NON_NEGATIVE_UNITS:
        return 0.0, None
    return None, None


@dataclass(frozen=True)
class IndicatorSpec:
    """One catalogue entry, checked."""

    code: str
    record: str
    name_es: str
    name_en: str
    area: str = ""
    dimension: str = ""
    unit: str = ""
    direction: str = "higher_is_better"
    aggregation: str = ""
    method: str = ""
    numerator: Expression | None = None
    denominator: Expression | None = None
    value: Expression | None = None
    groups: tuple[tuple[str, Expression], ...] = ()
    condition: Expression | None = None
    facility_types: tuple[str, ...] = ()
    layer: str = ""
    threshold_m: float | None = None
    scale: float = 1.0
    min_denominator: float = 0.0
    disaggregations: tuple[str, ...] = ()
    source_file: str = ""
    survey_table: str = ""
    statistic: str = ""
    among: Expression | None = None

    @property
    def is_microdata(self) -> bool:
        return self.record in ("household", "person")

    @property
    def is_survey(self) -> bool:
        return self.record == "survey"

    @property
    def columns(self) -> frozenset[str]:
        """Canonical variables the entry reads."""
        used: set[str] = set()
        for expression in (self.numerator, self.denominator, self.value):
            if expression is not None:
                used |= expression.columns
        for _label, expression in self.groups:
            used |= expression.columns
        return frozenset(used)

    def formula(self) -> str:
        """A readable summary for the Indicator row."""
        if self.is_survey:
            what = self.condition if self.statistic == "share" else self.value
            among = self.among.text if self.among is not None else "all"
            parts = [
                f"design-based {self.statistic} of survey {self.survey_table}: "
                f"{what.text if what is not None else ''}",
                f"among: {among}",
            ]
            if self.disaggregations:
                parts.append("by " + ", ".join(self.disaggregations))
            return "; ".join(parts)
        if self.is_microdata:
            parts = [f"{self.aggregation} of {self.record}s"]
            for label, expression in (
                ("numerator", self.numerator),
                ("value", self.value),
                ("denominator", self.denominator),
            ):
                if expression is not None:
                    parts.append(f"{label}: {expression.text}")
            if self.groups:
                parts.append("groups: " + "; ".join(f"{k}: {e.text}" for k, e in self.groups))
            return "; ".join(parts)
        if self.record == "table":
            return "imported from an indicator table"
        parts = [self.method]
        if self.facility_types:
            parts.append("types: " + ", ".join(self.facility_types))
        if self.layer:
            parts.append(f"layer: {self.layer}")
        if self.condition is not None:
            parts.append(f"where {self.condition.text}")
        if self.threshold_m is not None:
            parts.append(f"threshold {self.threshold_m:g} m")
        return "; ".join(parts)


@dataclass
class Catalogue:
    """Indicator entries by code, the age groups used for disaggregation and the known survey
    questions by survey table (name -> XLSForm type)."""

    indicators: dict[str, IndicatorSpec] = field(default_factory=dict)
    age_groups: dict[str, tuple[int, int]] = field(default_factory=dict)
    survey_variables: dict[str, dict[str, str]] = field(default_factory=dict)

    def __iter__(self) -> Any:
        return iter(self.indicators.values())

    def __getitem__(self, code: str) -> IndicatorSpec:
        return self.indicators[code]

    def __contains__(self, code: object) -> bool:
        return code in self.indicators

    def select(self, codes: Iterable[str] | None) -> Catalogue:
        """A catalogue with only ``codes`` (all when None); unknown codes are an error."""
        if codes is None:
            return self
        wanted = list(codes)
        missing = [code for code in wanted if code not in self.indicators]
        if missing:
            raise IndicatorError(
                _("The catalogue has no indicator '{code}': the known codes are {known}.").format(
                    code=missing[0], known=", ".join(sorted(self.indicators))
                )
            )
        return Catalogue(
            {c: self.indicators[c] for c in wanted},
            dict(self.age_groups),
            {table: dict(names) for table, names in self.survey_variables.items()},
        )

    def of_record(self, record: str) -> list[IndicatorSpec]:
        """The entries of one record type, in catalogue order."""
        return [spec for spec in self.indicators.values() if spec.record == record]


# libyaml's safe loader when PyYAML has it: the same values and lines, parsed in C (the
# shipped catalogue: 0.15 s of CPU in pure Python, 0.01 s in C, on every command reading it)
_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def canonical_columns() -> dict[str, dict[str, Any]]:
    """Canonical census variables by record type (from ingest/canonical_variables.yaml).

    Read as a file of the top package: ``files("inclusive_cities.ingest")`` imported the whole
    ingest package (GeoPandas, pyogrio, the table checks), 1.2 s of CPU on the main thread of
    every command that reads the catalogue without importing anything."""
    text = (
        resources.files("inclusive_cities")
        .joinpath("ingest", "canonical_variables.yaml")
        .read_text(encoding="utf-8")
    )
    data = yaml.load(text, Loader=_YAML)
    return {record: dict(columns) for record, columns in data.items()}


def _text(entry: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if value is None or not isinstance(value, str | int | float):
        raise IndicatorError(
            _("{where}: '{key}' is missing or not text: add it.").format(where=where, key=key)
        )
    return str(value)


def _choice(value: str, allowed: Iterable[str], where: str, key: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise IndicatorError(
            _("{where}: {key} '{value}' is not one of {allowed}.").format(
                where=where, key=key, value=value, allowed=", ".join(allowed)
            )
        )
    return value


def _number(entry: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    value = entry.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise IndicatorError(
            _("{where}: '{key}' must be a number >= 0, not '{value}'.").format(
                where=where, key=key, value=value
            )
        )
    return float(value)


Lines = Callable[[str | None], int | None]
"""The line (1-based) of an entry's field, or of the entry itself for None."""


def _entry(
    code: str,
    entry: Any,
    file: str,
    columns: dict[str, dict[str, Any]],
    line_of: Lines | None = None,
    survey_variables: Mapping[str, Mapping[str, str]] | None = None,
) -> IndicatorSpec:
    lines: Lines = line_of or (lambda _key: None)

    def at(key: str | None = None) -> str:
        """'file, indicator 'code', line N' for messages (the field's line when known)."""
        line = lines(key) or lines(None)
        text = f"{file}, indicator '{code}'"
        return f"{text}, line {line}" if line else text

    where = at()
    if not isinstance(entry, Mapping):
        raise IndicatorError(
            _("{where}: the entry must be a mapping of keys to values.").format(where=where)
        )
    record = _choice(_text(entry, "record", where), RECORDS, at("record"), "record")
    name = entry.get("name") or {}
    if not isinstance(name, Mapping) or not name.get("es") or not name.get("en"):
        raise IndicatorError(
            _("{where}: 'name' needs both 'es' and 'en' texts.").format(where=at("name"))
        )
    others = sorted(str(key) for key in name if key not in ("es", "en"))
    if others:
        # YAML reads {en: Crimes per 100,000} as two keys: the text ends at the comma
        raise IndicatorError(
            _(
                "{where}: 'name' has a key '{key}' besides 'es' and 'en': put a text that "
                "contains a comma in quotes."
            ).format(where=at("name"), key=others[0])
        )
    common: dict[str, Any] = {
        "code": code,
        "record": record,
        "name_es": str(name["es"]),
        "name_en": str(name["en"]),
        "area": str(entry.get("area", "")),
        "dimension": str(entry.get("dimension", "")),
        "unit": str(entry.get("unit", "")),
        "direction": _choice(
            str(entry.get("direction", "higher_is_better")),
            DIRECTIONS,
            at("direction"),
            "direction",
        ),
        "min_denominator": _number(entry, "min_denominator", at("min_denominator"), 0.0) or 0.0,
        "threshold_m": _number(entry, "threshold_m", at("threshold_m"), None),
        "source_file": file,
    }
    if record == "table":
        return IndicatorSpec(**common)
    if record == "survey":
        return _survey_entry(entry, common, at, survey_variables or {})
    if record in ("facility", "layer"):
        method = _choice(_text(entry, "method", where), SPATIAL_METHODS, at("method"), "method")
        types = entry.get("facility_types") or []
        if record == "facility" and (not isinstance(types, list) or not types):
            raise IndicatorError(
                _("{where}: 'facility_types' must list at least one facility type.").format(
                    where=at("facility_types")
                )
            )
        if (
            method in ("within", "reachable_count", "reachable_share")
            and common["threshold_m"] is None
        ):
            raise IndicatorError(
                _("{where}: method {method} needs 'threshold_m'.").format(
                    where=at("method"), method=method
                )
            )
        if record == "layer" and method not in _LAYER_METHODS:
            raise IndicatorError(
                _("{where}: method {method} needs record 'facility', not 'layer'.").format(
                    where=at("method"), method=method
                )
            )
        condition = entry.get("condition")
        parsed = None
        if condition is not None:
            # layer attributes are only known when the layer is read: checked again then
            names = _names_in(str(condition), where)
            parsed = parse(str(condition), names, at("condition"))
        return IndicatorSpec(
            **common,
            method=method,
            facility_types=tuple(str(t) for t in types),
            layer=str(entry.get("layer", "")),
            condition=parsed,
        )
    known = set(columns[record])
    aggregation = _choice(
        _text(entry, "aggregation", where), MICRODATA_AGGREGATIONS, at("aggregation"), "aggregation"
    )

    def expr(key: str, required: bool) -> Expression | None:
        text = entry.get(key)
        if text is None:
            if required:
                raise IndicatorError(
                    _("{where}: aggregation {aggregation} needs '{key}'.").format(
                        where=at("aggregation"), aggregation=aggregation, key=key
                    )
                )
            return None
        return parse(str(text), known, f"{at(key)}, {key}")

    numerator = expr("numerator", aggregation in ("share", "per_1000", "ratio", "per_km2"))
    value = expr("value", aggregation in ("mean", "median", "gap"))
    denominator = expr("denominator", aggregation in ("ratio",))
    groups: list[tuple[str, Expression]] = []
    if aggregation in ("gap", "entropy"):
        raw = entry.get("groups")
        if not isinstance(raw, Mapping) or len(raw) < 2:
            raise IndicatorError(
                _(
                    "{where}: aggregation {aggregation} needs 'groups' with at least two "
                    "label: condition pairs."
                ).format(where=at("groups"), aggregation=aggregation)
            )
        if aggregation == "gap" and set(map(str, raw)) != {"a", "b"}:
            raise IndicatorError(
                _("{where}: a gap needs exactly the groups 'a' and 'b'.").format(where=at("groups"))
            )
        groups = [
            (str(k), parse(str(v), known, f"{at('groups')}, group {k}")) for k, v in raw.items()
        ]
    disaggregations = entry.get("disaggregations") or []
    if disaggregations and record != "person":
        raise IndicatorError(
            _("{where}: disaggregations are only available for person records.").format(
                where=at("disaggregations")
            )
        )
    for item in disaggregations:
        _choice(str(item), DISAGGREGATIONS, at("disaggregations"), "disaggregation")
    return IndicatorSpec(
        **common,
        aggregation=aggregation,
        numerator=numerator,
        denominator=denominator,
        value=value,
        groups=tuple(groups),
        scale=_number(entry, "scale", at("scale"), 1.0) or 1.0,
        disaggregations=tuple(str(d) for d in disaggregations),
    )


_SURVEY_KEYS = frozenset(
    {
        "record",
        "name",
        "area",
        "dimension",
        "unit",
        "direction",
        "min_denominator",
        "table",
        "statistic",
        "condition",
        "value",
        "among",
        "disaggregations",
        "description",
        "source",
    }
)


def _survey_entry(
    entry: Mapping[str, Any],
    common: dict[str, Any],
    at: Callable[[str | None], str],
    survey_variables: Mapping[str, Mapping[str, str]],
) -> IndicatorSpec:
    """A survey layer: a design-based share or mean among a population of one survey table."""
    unknown_keys = sorted(set(map(str, entry)) - _SURVEY_KEYS)
    if unknown_keys:
        raise IndicatorError(
            _("{where}: '{key}' is not a field of a survey entry (fields: {allowed}).").format(
                where=at(unknown_keys[0]),
                key=unknown_keys[0],
                allowed=", ".join(sorted(_SURVEY_KEYS)),
            )
        )
    table = _choice(_text(entry, "table", at("table")), SURVEY_TABLES, at("table"), "table")
    statistic = _choice(
        _text(entry, "statistic", at("statistic"), "share"),
        SURVEY_STATISTICS,
        at("statistic"),
        "statistic",
    )
    known = dict(survey_variables.get(table, {}))
    if not known:
        raise IndicatorError(
            _(
                "{where}: no survey variables are declared for the {table} table: list the "
                "form's questions under 'survey_variables: {table}:' (see the shipped "
                "catalogue.yaml)."
            ).format(where=at("table"), table=table)
        )
    needed, unused = ("condition", "value") if statistic == "share" else ("value", "condition")
    if entry.get(needed) is None:
        raise IndicatorError(
            _("{where}: statistic {statistic} needs '{key}'.").format(
                where=at("statistic"), statistic=statistic, key=needed
            )
        )
    if entry.get(unused) is not None:
        raise IndicatorError(
            _("{where}: statistic {statistic} takes '{key}', not '{other}'.").format(
                where=at(unused), statistic=statistic, key=needed, other=unused
            )
        )

    def expr(key: str) -> Expression | None:
        text = entry.get(key)
        return None if text is None else parse(str(text), known, f"{at(key)}, {key}")

    measured = expr(needed)
    if statistic == "mean" and measured is not None:
        text_columns = sorted(c for c in measured.columns if known[c] not in _NUMERIC_TYPES)
        if text_columns:
            raise IndicatorError(
                _(
                    "{where}: statistic mean needs a number, but '{column}' is a {kind} "
                    "question: use statistic share with a condition."
                ).format(where=at("value"), column=text_columns[0], kind=known[text_columns[0]])
            )
    disaggregations = entry.get("disaggregations") or []
    if not isinstance(disaggregations, list):
        raise IndicatorError(
            _("{where}: 'disaggregations' must be a list, e.g. [sex].").format(
                where=at("disaggregations")
            )
        )
    for item in disaggregations:
        _choice(str(item), SURVEY_DISAGGREGATIONS, at("disaggregations"), "disaggregation")
    if disaggregations and table != "persons":
        raise IndicatorError(
            _("{where}: disaggregation by sex needs the persons table.").format(
                where=at("disaggregations")
            )
        )
    return IndicatorSpec(
        **common,
        survey_table=table,
        statistic=statistic,
        condition=measured if statistic == "share" else None,
        value=measured if statistic == "mean" else None,
        among=expr("among"),
        disaggregations=tuple(str(d) for d in disaggregations),
    )


def _names_in(text: str, where: str) -> set[str]:
    import ast

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _entry_lines(text: str) -> dict[tuple[str, str | None], int]:
    """1-based lines of every ``indicators`` entry (key None) and of each of its fields."""
    try:
        root = yaml.compose(text, Loader=_YAML)
    except yaml.YAMLError:
        return {}
    found: dict[tuple[str, str | None], int] = {}
    if not isinstance(root, yaml.MappingNode):
        return found
    for key, value in root.value:
        if key.value != "indicators" or not isinstance(value, yaml.MappingNode):
            continue
        for code_node, entry_node in value.value:
            code = str(code_node.value)
            found[(code, None)] = code_node.start_mark.line + 1
            if isinstance(entry_node, yaml.MappingNode):
                for field_node, _value in entry_node.value:
                    found[(code, str(field_node.value))] = field_node.start_mark.line + 1
    return found


def _survey_variables(raw: Any, file: str, catalogue: Catalogue) -> None:
    """Add a file's ``survey_variables`` (table -> question -> XLSForm type)."""
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise IndicatorError(
            _(
                "{file}: 'survey_variables' must map a survey table ({tables}) to its "
                "questions and their types."
            ).format(file=file, tables=", ".join(SURVEY_TABLES))
        )
    for table, questions in raw.items():
        _choice(str(table), SURVEY_TABLES, f"{file}, survey_variables", "table")
        if not isinstance(questions, Mapping):
            raise IndicatorError(
                _(
                    "{file}: survey_variables {table} must map each question to its type ({types})."
                ).format(file=file, table=table, types=", ".join(SURVEY_VARIABLE_TYPES))
            )
        known = catalogue.survey_variables.setdefault(str(table), {})
        for question, kind in questions.items():
            _choice(
                str(kind).split()[0] if kind else "",
                SURVEY_VARIABLE_TYPES,
                f"{file}, survey_variables {table}.{question}",
                "type",
            )
            known[str(question)] = str(kind).split()[0]


def _load_file(
    text: str, file: str, catalogue: Catalogue, columns: dict[str, dict[str, Any]]
) -> None:
    try:
        data = yaml.load(text, Loader=_YAML)
    except yaml.YAMLError as error:
        raise IndicatorError(
            _("{file} is not valid YAML ({reason}): fix it.").format(
                file=file, reason=" ".join(str(error).split())
            )
        ) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("indicators"), Mapping):
        raise IndicatorError(
            _("{file} has no 'indicators' mapping: see the shipped catalogue.yaml.").format(
                file=file
            )
        )
    for label, bounds in (data.get("age_groups") or {}).items():
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise IndicatorError(
                _("{file}: age group '{label}' must be [lowest age, highest age].").format(
                    file=file, label=label
                )
            )
        catalogue.age_groups[str(label)] = (int(bounds[0]), int(bounds[1]))
    _survey_variables(data.get("survey_variables"), file, catalogue)
    lines = _entry_lines(text)
    for code, entry in data["indicators"].items():
        catalogue.indicators[str(code)] = _entry(
            str(code),
            entry,
            file,
            columns,
            _line_finder(lines, str(code)),
            catalogue.survey_variables,
        )


def _line_finder(lines: dict[tuple[str, str | None], int], code: str) -> Lines:
    def line_of(key: str | None) -> int | None:
        return lines.get((code, key))

    return line_of


def load_catalogue(extra: Iterable[Path | str] = (), shipped: bool = True) -> Catalogue:
    """The shipped catalogue plus ``extra`` files (later entries replace earlier codes)."""
    columns = canonical_columns()
    catalogue = Catalogue()
    if shipped:
        text = resources.files(__package__).joinpath("catalogue.yaml").read_text(encoding="utf-8")
        _load_file(text, "catalogue.yaml", catalogue, columns)
    for path in extra:
        path = Path(path)
        if not path.is_file():
            raise IndicatorError(
                _("The catalogue file {path} does not exist: check the path.").format(path=path)
            )
        _load_file(path.read_text(encoding="utf-8"), path.name, catalogue, columns)
    return catalogue


def catalogue_from_text(text: str, file: str = "<text>", shipped: bool = False) -> Catalogue:
    """A catalogue from YAML text (for tests and for the web's editor)."""
    catalogue = load_catalogue(shipped=shipped)
    _load_file(text, file, catalogue, canonical_columns())
    return catalogue
