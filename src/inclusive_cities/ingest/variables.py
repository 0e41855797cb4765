"""The canonical census variables and the column-mapping profiles that point at them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import IngestError

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it: the same safe constructors, parsing the
canonical variables and a profile in ≈ a tenth of the pure-Python parser's CPU (issue #21)."""

VARIABLES_FILE = Path(__file__).with_name("canonical_variables.yaml")
PROFILES_DIR = Path(__file__).with_name("profiles")
RECORDS = {"households": "household", "persons": "person"}
"""Record name used in files and batches -> key in canonical_variables.yaml."""


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    required: bool = False
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()
    description: str = ""


@cache
def canonical_variables() -> dict[str, dict[str, Variable]]:
    """record ("households"/"persons") -> variable name -> definition."""
    data = yaml.load(VARIABLES_FILE.read_text(encoding="utf-8"), Loader=SafeLoader)
    result: dict[str, dict[str, Variable]] = {}
    for record, key in RECORDS.items():
        result[record] = {}
        for name, spec in data[key].items():
            bounds = spec.get("range") or [None, None]
            result[record][name] = Variable(
                name=name,
                type=spec["type"],
                required=bool(spec.get("required", False)),
                low=None if bounds[0] is None else float(bounds[0]),
                high=None if bounds[1] is None else float(bounds[1]),
                values=tuple(str(v) for v in spec.get("values", [])),
                description=spec.get("description", ""),
            )
    return result


def normalise_record(record: str) -> str:
    value = record.strip().lower()
    for name, singular in RECORDS.items():
        if value in (name, singular):
            return name
    raise IngestError(
        _("Unknown census record '{record}': use households or persons.").format(record=record)
    )


@dataclass
class Mapping:
    """How one source column becomes one canonical variable."""

    source: str
    variable: Variable
    codes: dict[str, Any] = field(default_factory=dict)
    """Source code (as text) -> canonical value (True/False, a category, or None = missing)."""
    missing: tuple[str, ...] = ()
    """Values meaning "no answer" in this column only (added to the file-wide ones)."""
    compose: tuple[str, ...] = ()
    """Source columns joined into the value; ``source`` is then the name the profile gives
    the built column (it need not exist in the file)."""
    pad: tuple[int | None, ...] = ()
    """Width each composed part is zero-padded to on the left (None: kept as it is)."""
    separator: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """The source columns this mapping reads."""
        return self.compose or (self.source,)


@dataclass
class Profile:
    name: str
    record: str
    mappings: list[Mapping]
    file: str = ""
    """Name of the profile's YAML file (for messages)."""
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str = "."
    missing: tuple[str, ...] = ("",)


def _code_key(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def profile_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    shipped = PROFILES_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    raise IngestError(
        _("Census profile '{profile}' not found: give a YAML file path or one of: {names}.").format(
            profile=name_or_path,
            names=", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))),
        )
    )


def load_profile(name_or_path: str | Path, record: str) -> Profile:
    """Read and check a profile's section for one record (households or persons)."""
    record = normalise_record(record)
    path = profile_path(name_or_path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader) or {}
    except yaml.YAMLError as error:
        raise IngestError(
            _("Census profile {file} is not valid YAML: {reason}").format(
                file=path.name, reason=str(error).splitlines()[0]
            )
        ) from error
    section = data.get(record)
    if not isinstance(section, dict) or not section.get("columns"):
        raise IngestError(
            _("Census profile {file} has no '{record}: columns:' section.").format(
                file=path.name, record=record
            )
        )
    known = canonical_variables()[record]
    mappings: list[Mapping] = []
    for source, spec in section["columns"].items():
        spec = {"variable": spec} if isinstance(spec, str) else dict(spec or {})
        where = {"file": path.name, "column": source}
        _check_keys(spec, where)
        name = spec.get("variable")
        if name is None:
            raise IngestError(
                _(
                    "Census profile {file}, column {column}: no 'variable:' says which canonical "
                    "variable it feeds ({names})."
                ).format(**where, names=", ".join(known))
            )
        if name not in known:
            raise IngestError(
                _(
                    "Census profile {file}, column {column}: '{variable}' is not a canonical "
                    "{record} variable (see canonical_variables.yaml: {names})."
                ).format(
                    file=path.name,
                    column=source,
                    variable=name,
                    record=record,
                    names=", ".join(known),
                )
            )
        variable = known[name]
        codes = {_code_key(k): v for k, v in (spec.get("codes") or {}).items()}
        for code, target in codes.items():
            allowed = (
                target is None
                or (variable.type == "boolean" and isinstance(target, bool))
                or (variable.type == "category" and str(target) in variable.values)
                or (
                    variable.type in ("integer", "number")
                    and isinstance(target, (int, float))
                    and not isinstance(target, bool)
                    and (variable.low is None or target >= variable.low)
                    and (variable.high is None or target <= variable.high)
                )
            )
            if not allowed:
                raise IngestError(
                    _(
                        "Census profile {file}, column {column}: code {code} maps to '{target}', "
                        "which is not allowed for {variable} ({allowed})."
                    ).format(
                        file=path.name,
                        column=source,
                        code=code,
                        target=target,
                        variable=name,
                        allowed=", ".join(variable.values)
                        if variable.values
                        else "true/false/null",
                    )
                )
        mapping = Mapping(str(source), variable, codes, missing=_missing_list(spec, where))
        if "compose" in spec:
            _add_compose(mapping, spec, where)
        mappings.append(mapping)
    mapped = {m.variable.name for m in mappings}
    missing = [v.name for v in known.values() if v.required and v.name not in mapped]
    if missing:
        raise IngestError(
            _("Census profile {file}: required {record} variables not mapped: {names}.").format(
                file=path.name, record=record, names=", ".join(missing)
            )
        )
    options = data.get("file") or {}
    return Profile(
        name=str(data.get("name", path.stem)),
        record=record,
        mappings=mappings,
        file=path.name,
        delimiter=options.get("delimiter"),
        encoding=options.get("encoding"),
        decimal=str(options.get("decimal", ".")),
        missing=tuple(_code_key(v) for v in options.get("missing", [""])),
    )


PLAIN_KEYS = ("variable", "codes", "missing")
COMPOSE_KEYS = ("variable", "compose", "pad", "separator", "missing")


def _check_keys(spec: dict[str, Any], where: dict[str, object]) -> None:
    """A misspelt key (``pads:``) would otherwise be ignored without a word."""
    allowed = COMPOSE_KEYS if "compose" in spec else PLAIN_KEYS
    for key in spec:
        if key not in allowed:
            raise IngestError(
                _(
                    "Census profile {file}, column {column}: unknown key '{key}' (allowed here: "
                    "{allowed})."
                ).format(**where, key=key, allowed=", ".join(allowed))
            )


def _missing_list(spec: dict[str, Any], where: dict[str, object]) -> tuple[str, ...]:
    value = spec.get("missing", [])
    if not isinstance(value, list):
        raise IngestError(
            _(
                "Census profile {file}, column {column}: 'missing' must be a list of source "
                'values, e.g. missing: ["99"].'
            ).format(**where)
        )
    return tuple(_code_key(v) for v in value)


def _add_compose(mapping: Mapping, spec: dict[str, Any], where: dict[str, object]) -> None:
    """Check a ``compose`` entry and record its parts, widths and separator on the mapping."""
    variable = mapping.variable
    if variable.type != "string":
        raise IngestError(
            _(
                "Census profile {file}, column {column}: compose builds text, so it can only feed "
                "identifiers and unit codes, not {variable} ({type}): map {variable} from one "
                "column instead."
            ).format(**where, variable=variable.name, type=variable.type)
        )
    parts = spec["compose"]
    if (
        not isinstance(parts, list)
        or not parts
        or not all(isinstance(p, (str, int)) and not isinstance(p, bool) for p in parts)
    ):
        raise IngestError(
            _(
                "Census profile {file}, column {column}: compose must be a list of source column "
                "names, e.g. compose: [U_DPTO, U_MPIO]."
            ).format(**where)
        )
    pad = spec.get("pad", [None] * len(parts))
    if (
        not isinstance(pad, list)
        or len(pad) != len(parts)
        or not all(
            w is None or (isinstance(w, int) and not isinstance(w, bool) and w >= 1) for w in pad
        )
    ):
        raise IngestError(
            _(
                "Census profile {file}, column {column}: pad must give one width per compose "
                "column ({count} here): a whole number from 1, or null for no padding."
            ).format(**where, count=len(parts))
        )
    separator = spec.get("separator", "")
    if not isinstance(separator, str):
        raise IngestError(
            _(
                "Census profile {file}, column {column}: separator must be text in quotes, "
                'e.g. separator: "-".'
            ).format(**where)
        )
    mapping.compose = tuple(str(p) for p in parts)
    mapping.pad = tuple(pad)
    mapping.separator = separator
