"""Target cities, staff access, and baseline/target/actual values of the results framework.

A typed actual for a computed indicator is refused where the store knows the answer: the
query is the figure. Values are keyed by indicator, city, period, kind and disaggregation
cell, so typing or importing the same cell again replaces it.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.monitoring.framework import DEFAULT_PROGRAMME
from inclusive_cities.monitoring.periods import normalise_period
from inclusive_cities.monitoring.protect import is_people
from inclusive_cities.monitoring.registry import computed_indicator, is_registered
from inclusive_cities.store import models
from inclusive_cities.store.models import TOTAL, utcnow
from inclusive_cities.store.monitoring_models import (
    VALUE_KINDS,
    IndicatorValue,
    Programme,
    ProgrammeIndicator,
    TargetCity,
    UserCity,
)
from inclusive_cities.store.web_models import User

SEXES = ("female", "male", "other")
NATIONALITIES = ("host", "refugee_migrant")


def get_programme(session: Session, code: str = DEFAULT_PROGRAMME) -> Programme:
    programme = session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise MonitoringError(
            _(
                "There is no programme {code} in the store: run 'inclusive-cities programme "
                "install' first."
            ).format(code=code)
        )
    return programme


def get_indicator(session: Session, programme: Programme, code: str) -> ProgrammeIndicator:
    indicator = session.scalar(
        select(ProgrammeIndicator).where(
            ProgrammeIndicator.programme_id == programme.id, ProgrammeIndicator.code == code
        )
    )
    if indicator is None:
        raise MonitoringError(
            _("Indicator {code} is not in the results framework of {programme}.").format(
                code=code, programme=programme.code
            )
        )
    return indicator


def find_target_city(
    session: Session, programme: Programme, code_or_name: str, mapping_hint: bool = False
) -> TargetCity:
    """A target city by its code or its name (case and accents as typed). ``mapping_hint``:
    the refusal says how to map a name the file writes differently (a 5W's municipality)."""
    wanted = str(code_or_name).strip()
    cities = session.scalars(
        select(TargetCity).where(TargetCity.programme_id == programme.id)
    ).all()
    for city in cities:
        if city.code == wanted or city.code.lower() == wanted.lower():
            return city
    for city in cities:
        if city.name.strip().lower() == wanted.lower():
            return city
    known = ", ".join(c.code for c in cities) or "-"
    if mapping_hint and cities:
        # the example maps to the city whose name holds the file's word ("Cúcuta" in "San
        # José de Cúcuta"), else to the first one
        folded = _folded(wanted)
        likely = next((c for c in cities if folded and folded in _folded(c.name)), cities[0])
        raise MonitoringError(
            _(
                "{city} is not a target city of {programme}: known ones are {known}. If the file "
                'names one of them so, map it: --map "{city}={code}".'
            ).format(city=wanted, programme=programme.code, known=known, code=likely.code)
        )
    raise MonitoringError(
        _("{city} is not a target city of {programme}: known ones are {known}.").format(
            city=wanted, programme=programme.code, known=known
        )
    )


def _named(indicator: ProgrammeIndicator) -> str:
    """An indicator as a refusal names it: its name in the reader's language, then its code
    (a Spanish sentence naming only people_reached_campaigns read as a typo, trial #5 T14)."""
    from inclusive_cities.i18n import current_language

    name = indicator.name_es if current_language() == "es" else indicator.name_en
    return f"«{name}» ({indicator.code})" if name else indicator.code


def _shown(value: object) -> str:
    """A typed number as the reader writes it (1.250,5 in Spanish, not 1250.5)."""
    from inclusive_cities.i18n import format_number

    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(value)
    text = f"{number:.6f}".rstrip("0").rstrip(".")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return format_number(number, decimals)


def _folded(text: str) -> str:
    """Lower case without accents, to compare place names as people type them."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def add_target_city(
    session: Session,
    programme: Programme,
    code: str,
    name: str,
    country: str,
    *,
    store_city: str | None = None,
    longitude: float | None = None,
    latitude: float | None = None,
    adm1: str = "",
) -> TargetCity:
    """Add or update a target city; ``store_city`` links it to a city of the observatory."""
    country = str(country).strip().upper()
    if len(country) != 3 or not country.isalpha():
        raise MonitoringError(
            _(
                "Country {value} of target city {city} is not an ISO 3166 alpha-3 code (COL, PER)."
            ).format(value=country, city=name)
        )
    city_id = None
    if store_city:
        city_id = session.scalar(select(models.City.id).where(models.City.code == store_city))
        if city_id is None:
            raise MonitoringError(
                _(
                    "There is no city {code} in the observatory to link target city {city} to."
                ).format(code=store_city, city=name)
            )
    target = session.scalar(
        select(TargetCity).where(TargetCity.programme_id == programme.id, TargetCity.code == code)
    )
    if target is None:
        target = TargetCity(programme_id=programme.id, code=code)
        session.add(target)
    target.name, target.country, target.city_id, target.adm1 = name, country, city_id, adm1
    target.longitude, target.latitude = longitude, latitude
    session.flush()
    return target


def category(dimension: str, value: object) -> str:
    """A disaggregation category from a cell (empty = ``_T``, Spanish aliases accepted)."""
    text = "" if value is None else str(value).strip()
    if text in ("", "_T", "total", "Total", "todos", "Todos"):
        return TOTAL
    if dimension == "sex":
        aliases = {"f": "female", "mujer": "female", "m": "male", "hombre": "male", "otro": "other"}
        text = aliases.get(text.lower(), text.lower())
        if text not in SEXES:
            raise MonitoringError(
                _(
                    "Sex {value} is not understood: use female, male, other or leave it empty."
                ).format(value=value)
            )
    if dimension == "nationality":
        aliases = {
            "acogida": "host",
            "comunidad de acogida": "host",
            "refugiada_migrante": "refugee_migrant",
            "refugiado_migrante": "refugee_migrant",
            "migrante": "refugee_migrant",
            "refugee": "refugee_migrant",
            "migrant": "refugee_migrant",
        }
        text = aliases.get(text.lower(), text.lower())
        if text not in NATIONALITIES:
            raise MonitoringError(
                _(
                    "Nationality group {value} is not understood: use host, refugee_migrant "
                    "or leave it empty."
                ).format(value=value)
            )
    return text


def typed_actual_allowed(indicator: ProgrammeIndicator, city: TargetCity) -> bool:
    """Whether staff may type the actual: not when the store answers it for this city."""
    if not indicator.computed:
        return True
    if not is_registered(indicator.computed):
        return city.city_id is None
    if computed_indicator(indicator.computed).needs_store_city:
        return city.city_id is None
    return False


def set_value(
    session: Session,
    programme: Programme | str,
    indicator: ProgrammeIndicator | str,
    city: TargetCity | str,
    period: object,
    kind: str,
    value: float,
    *,
    sex: object = TOTAL,
    age_group: object = TOTAL,
    nationality: object = TOTAL,
    topic: object = TOTAL,
    comment: str = "",
    source: str = "",
    user: str = "",
    batch_id: int | None = None,
) -> IndicatorValue:
    """Write one baseline, target or actual (replacing the same cell)."""
    if isinstance(programme, str):
        programme = get_programme(session, programme)
    if isinstance(indicator, str):
        indicator = get_indicator(session, programme, indicator)
    if isinstance(city, str):
        city = find_target_city(session, programme, city)
    if kind not in VALUE_KINDS:
        raise MonitoringError(
            _("Value kind {value} is not known: use baseline, target or actual.").format(value=kind)
        )
    if isinstance(value, str) or value is None or not math.isfinite(float(value)):
        raise MonitoringError(
            _("The value {value} of {indicator} for {city} is not a number.").format(
                value=_shown(value), indicator=_named(indicator), city=city.name
            )
        )
    if float(value) < 0 or (indicator.measure == "percentage" and float(value) > 100):
        raise MonitoringError(
            _("The value {value} of {indicator} for {city} is out of range.").format(
                value=_shown(value), indicator=_named(indicator), city=city.name
            )
        )
    if indicator.aggregation == "count_cities" and float(value) not in (0.0, 1.0):
        raise MonitoringError(
            _(
                "The value {value} of {indicator} for {city} must be 1 (yes) or 0 (no): the "
                "indicator counts cities, one per city."
            ).format(value=_shown(value), indicator=_named(indicator), city=city.name)
        )
    if is_people(indicator.unit) and not float(value).is_integer():
        raise MonitoringError(
            _(
                "The value {value} of {indicator} for {city} must be a whole number of people."
            ).format(value=_shown(value), indicator=_named(indicator), city=city.name)
        )
    if kind == "actual" and not typed_actual_allowed(indicator, city):
        raise MonitoringError(
            _(
                "{indicator} is computed from the observatory for {city}: its actual cannot be "
                "typed; leave the cell empty."
            ).format(indicator=_named(indicator), city=city.name)
        )
    code = normalise_period(period)
    cell = {
        "sex": category("sex", sex),
        "age_group": category("age_group", age_group),
        "nationality": category("nationality", nationality),
        "topic": category("topic", topic),
    }
    row = session.scalar(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id == indicator.id,
            IndicatorValue.target_city_id == city.id,
            IndicatorValue.period == code,
            IndicatorValue.kind == kind,
            *(getattr(IndicatorValue, k) == v for k, v in cell.items()),
        )
    )
    if row is None:
        row = IndicatorValue(
            indicator_id=indicator.id, target_city_id=city.id, period=code, kind=kind, **cell
        )
        session.add(row)
    row.value = float(value)
    row.comment, row.source, row.updated_by = comment, source, user
    row.updated_at, row.batch_id = utcnow(), batch_id
    session.flush()
    return row


def assign_cities(session: Session, user: User, codes: Iterable[str]) -> list[str]:
    """Link a ``programme`` account to the target cities it may edit (others: refused)."""
    wanted = sorted({c.strip() for c in codes if c and c.strip()})
    if wanted and user.role != "programme":
        raise MonitoringError(
            _("--city is only for programme accounts; {email} has role {role}.").format(
                email=user.email, role=user.role
            )
        )
    if user.role == "programme" and not wanted:
        raise MonitoringError(_("A programme account needs at least one --city it may edit."))
    known = set(session.scalars(select(TargetCity.code)))
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise MonitoringError(
            _("{city} is not a target city of any programme: known ones are {known}.").format(
                city=", ".join(unknown), known=", ".join(sorted(known)) or "-"
            )
        )
    for code in wanted:
        if session.get(UserCity, (user.id, code)) is None:
            session.add(UserCity(user_id=user.id, city_code=code))
    session.flush()
    return wanted


def editable_cities(session: Session, user_id: int) -> list[str]:
    """Target city codes a programme account may edit."""
    return sorted(session.scalars(select(UserCity.city_code).where(UserCity.user_id == user_id)))
