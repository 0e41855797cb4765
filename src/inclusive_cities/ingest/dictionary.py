"""What an imported column means: names, unit, direction, plausible range and missing codes.

A column whose code is in the indicator catalogue takes the catalogue's meaning. Any other
column takes it from a data dictionary (CSV or YAML) written by the person who knows the
data; without one its direction is ``unknown`` (mapped in neutral colours, never judged).
The same metadata says which values are impossible (a share of 999 %) and which cell values
are missing-value codes rather than values.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from inclusive_cities.catalogue import Catalogue, plausible_bounds
from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import IngestError, require_file
from inclusive_cities.ingest.tabular import parse_number, read_text_table

DICTIONARY_FIELDS = ("code", "name_es", "name_en", "unit", "direction", "min", "max", "missing")
DICTIONARY_DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral", "unknown")
_SPLIT = re.compile(r"[|;\s]+")
_UNIT_SYNONYMS = {
    "%": ("porcentaje", "porcentajes", "por ciento", "percent", "percentage", "pct"),
    "m": ("metros", "metro", "metres", "meters", "metre", "meter", "mts", "mt"),
    "km": ("kilómetros", "kilometros", "kilometres", "kilometers", "kms"),
    "personas": ("persona", "person", "habitante"),
    "hogares": ("hogar", "household"),
    "viviendas": ("vivienda", "dwelling"),
    "years": ("años", "anos", "año", "year", "yrs"),
    "min": ("minutos", "minuto", "mins"),
    "0-1": ("0 a 1", "0–1", "índice 0-1", "indice 0-1"),
}
_SPANISH_DIRECTIONS = {
    "mayor es mejor": "higher_is_better",
    "menor es mejor": "lower_is_better",
    "neutro": "neutral",
    "desconocido": "unknown",
    "desconocida": "unknown",
}
_UNIT_CANONICAL = {name: unit for unit, names in _UNIT_SYNONYMS.items() for name in names}
DICTIONARY_ALIASES = {
    "column": "code",
    "columna": "code",
    "variable": "code",
    "label": "name_es",
    "etiqueta": "name_es",
    "nombre": "name_es",
    "unidad": "unit",
    "direccion": "direction",
    "sentido": "direction",
    "minimo": "min",
    "maximo": "max",
    "faltantes": "missing",
}
"""Headers analysts write in a dictionary exported from Excel or KoBo (``column``, ``label``,
``unidad``, ``Dirección``), read as the dictionary's fields."""


@dataclass(frozen=True)
class ColumnMeta:
    """The meaning of one imported column (an indicator code)."""

    code: str
    name_es: str = ""
    name_en: str = ""
    unit: str = ""
    direction: str = "unknown"
    minimum: float | None = None
    maximum: float | None = None
    missing: tuple[float, ...] = ()
    origin: str = ""
    """Where the meaning comes from: "catalogue", "dictionary" or "" (nowhere: unknown)."""
    missing_text: tuple[str, ...] = ()
    """Text cells meaning "no data" (NS/NR, "..", "*"), compared without case."""

    def bounds(self) -> tuple[float | None, float | None]:
        """Plausible range: the declared min/max, else what the unit allows (0-100 for %)."""
        low, high = plausible_bounds(self.unit)
        return (
            self.minimum if self.minimum is not None else low,
            self.maximum if self.maximum is not None else high,
        )


def canonical_unit(text: str) -> str:
    """The catalogue's spelling of a unit written in Spanish or in full ("porcentaje", "metros",
    "años"), so that the same range checks apply whatever language the dictionary uses."""
    key = " ".join(text.strip().lower().split())
    return _UNIT_CANONICAL.get(key, text.strip())


def split_missing_codes(
    values: Iterable[object], where: str
) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Missing-value codes as numbers (999, -999) and as text (NS/NR, "..", "*"): statistical
    offices write both, and a text code left undeclared rejects every row holding it."""
    codes: list[float] = []
    texts: list[str] = []
    for value in values:
        for part in _SPLIT.split(str(value).strip()):
            if not part:
                continue
            number = parse_number(part, ".")
            if number is None:
                texts.append(part)
            else:
                codes.append(number)
    return tuple(dict.fromkeys(codes)), tuple(dict.fromkeys(t.lower() for t in texts))


def parse_missing_codes(values: Iterable[object], where: str) -> tuple[float, ...]:
    """Missing-value codes as numbers ("999", "-999", "999|9999"); text that is not a number
    is refused, since such a code would never match a number."""
    codes: list[float] = []
    for value in values:
        for part in _SPLIT.split(str(value).strip()):
            if not part:
                continue
            number = parse_number(part, ".")
            if number is None:
                raise IngestError(
                    _(
                        "{where}: missing-value code '{value}' is not a number: write codes such "
                        "as 999 or -999 (empty cells are always missing)."
                    ).format(where=where, value=part)
                )
            codes.append(number)
    return tuple(dict.fromkeys(codes))


def _number(value: object, where: str, key: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    number = parse_number(str(value), ".")
    if number is None:
        raise IngestError(
            _("{where}: '{key}' must be a number, not '{value}'.").format(
                where=where, key=key, value=value
            )
        )
    return number


def normalise_code(text: str) -> str:
    """An indicator code from a column name: lower case, accents dropped ("Población" ->
    "poblacion", not "poblaci_n"), runs of other characters as ``_``."""
    plain = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z_]+", "_", plain).strip("_")


def _entry(raw: Mapping[str, Any], where: str) -> ColumnMeta:
    unknown = sorted(str(k) for k in raw if str(k) not in DICTIONARY_FIELDS)
    if unknown:
        raise IngestError(
            _("{where}: '{key}' is not a dictionary field (fields: {fields}).").format(
                where=where, key=unknown[0], fields=", ".join(DICTIONARY_FIELDS)
            )
        )
    code = normalise_code(str(raw.get("code") or ""))
    if not code:
        raise IngestError(
            _(
                "{where}: the entry has no 'code': write the column's name or indicator code."
            ).format(where=where)
        )
    direction = str(raw.get("direction") or "unknown").strip().lower()
    direction = _SPANISH_DIRECTIONS.get(" ".join(direction.split()), direction)
    if direction not in DICTIONARY_DIRECTIONS:
        raise IngestError(
            _("{where}, code {code}: direction '{value}' is not one of {allowed}.").format(
                where=where, code=code, value=direction, allowed=", ".join(DICTIONARY_DIRECTIONS)
            )
        )
    missing = raw.get("missing")
    codes = missing if isinstance(missing, list) else [] if missing is None else [missing]
    numbers, texts = split_missing_codes(codes, where)
    meta = ColumnMeta(
        code=code,
        name_es=str(raw.get("name_es") or "").strip(),
        name_en=str(raw.get("name_en") or "").strip(),
        unit=canonical_unit(str(raw.get("unit") or "")),
        direction=direction,
        minimum=_number(raw.get("min"), where, "min"),
        maximum=_number(raw.get("max"), where, "max"),
        missing=numbers,
        origin="dictionary",
        missing_text=texts,
    )
    if meta.minimum is not None and meta.maximum is not None and meta.minimum > meta.maximum:
        raise IngestError(
            _("{where}, code {code}: min {low} is above max {high}: swap them.").format(
                where=where, code=code, low=meta.minimum, high=meta.maximum
            )
        )
    return meta


def read_dictionary(path: Path | str) -> dict[str, ColumnMeta]:
    """A data dictionary: CSV/XLSX with a header row of fields, or YAML (a list of entries,
    or code -> fields). Keys are indicator codes as ``import table`` makes them."""
    path = require_file(path)
    entries: list[tuple[str, Mapping[str, Any]]] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            line = getattr(getattr(error, "problem_mark", None), "line", -1) + 1
            raise IngestError(
                _("{file}, line {line}: not valid YAML: fix the indentation or quoting.").format(
                    file=path.name, line=line
                )
            ) from error
        if isinstance(data, Mapping) and "indicators" in data:
            data = data["indicators"]
        if isinstance(data, Mapping):
            data = [{"code": code, **(fields or {})} for code, fields in data.items()]
        if not isinstance(data, list) or not all(isinstance(e, Mapping) for e in data):
            raise IngestError(
                _(
                    "{file}: a dictionary is a list of entries (code, name_es, name_en, unit, "
                    "direction, min, max, missing), or a mapping of code to those fields."
                ).format(file=path.name)
            )
        entries = [
            (_("{file}, entry {n}").format(file=path.name, n=i), e)
            for i, e in enumerate(data, start=1)
        ]
    else:
        table = read_text_table(path)
        header = [
            DICTIONARY_ALIASES.get(normalise_code(h), h.strip().lower()) for h in table.header
        ]
        if "code" not in header:
            raise IngestError(
                _("{file}: the dictionary has no 'code' column (columns: {columns}).").format(
                    file=table.file, columns=", ".join(table.header)
                )
            )
        entries = [
            (
                _("{file}, row {n}").format(file=table.file, n=n),
                dict(zip(header, cells, strict=True)),
            )
            for n, cells in zip(table.row_numbers, table.rows, strict=True)
        ]
    return dictionary_from_entries(entries)


def dictionary_from_entries(
    entries: Sequence[tuple[str, Mapping[str, Any]]],
) -> dict[str, ColumnMeta]:
    """Column meanings from entries given as data, each with where it was written (a file's
    row, a web form's column): the same checks as a dictionary file's."""
    found: dict[str, ColumnMeta] = {}
    for where, raw in entries:
        meta = _entry(raw, where)
        if meta.code in found:
            raise IngestError(
                _("{where}: code {code} is described twice: keep one entry.").format(
                    where=where, code=meta.code
                )
            )
        found[meta.code] = meta
    return found


def meta_entry(meta: ColumnMeta) -> dict[str, str]:
    """A column's meaning as a dictionary entry (text fields), to pass it on as data."""
    missing = [*(repr(m) for m in meta.missing), *meta.missing_text]
    return {
        "code": meta.code,
        "name_es": meta.name_es,
        "name_en": meta.name_en,
        "unit": meta.unit,
        "direction": meta.direction,
        "min": "" if meta.minimum is None else repr(meta.minimum),
        "max": "" if meta.maximum is None else repr(meta.maximum),
        "missing": "|".join(missing),
    }


def column_meta(
    code: str,
    catalogue: Catalogue,
    dictionary: Mapping[str, ColumnMeta],
    missing: Sequence[float],
    missing_text: Sequence[str] = (),
) -> ColumnMeta:
    """The meaning of one column: the catalogue's names, unit and direction for its codes,
    the dictionary's for the others (and its range and codes for both), else unknown."""
    declared = dictionary.get(code)
    codes = tuple(dict.fromkeys([*missing, *(declared.missing if declared else ())]))
    texts = tuple(
        dict.fromkeys(
            [*(t.lower() for t in missing_text), *(declared.missing_text if declared else ())]
        )
    )
    if code in catalogue:
        spec = catalogue[code]
        return ColumnMeta(
            code=code,
            name_es=spec.name_es,
            name_en=spec.name_en,
            unit=spec.unit,
            direction=spec.direction,
            minimum=declared.minimum if declared else None,
            maximum=declared.maximum if declared else None,
            missing=codes,
            origin="catalogue",
            missing_text=texts,
        )
    if declared is not None:
        return replace(declared, missing=codes, missing_text=texts)
    return ColumnMeta(code=code, missing=codes, missing_text=texts)


def is_code_like(value: float) -> bool:
    """A round 99, 999, 9999 … (or its negative): how surveys write "no data"."""
    if not math.isfinite(value) or not float(value).is_integer():
        return False
    digits = str(abs(int(value)))
    return len(digits) >= 2 and set(digits) == {"9"}


def looks_like_code(value: float, others: Sequence[float]) -> bool:
    """A 9…9 value far outside the column's other values (e.g. 999 among shares of 0-35)."""
    if not is_code_like(value):
        return False
    rest = [v for v in others if v != value and not is_code_like(v)]
    if not rest:
        return True
    low, high = min(rest), max(rest)
    span = max(high - low, abs(high), abs(low), 1.0)
    return value > high + span if value > 0 else value < low - span
