"""The balance of existing initiatives and the library of good practices, by domain.

Both are rows of one table (``kind``: ``initiative`` or ``good_practice``) imported from a CSV
or XLSX file with Spanish or English headers, keyed by ``code`` (re-importing updates them).
A good practice is public in both languages, so it needs its name and description in es and en.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.governance.errors import GovernanceError
from inclusive_cities.governance.spec import Framework, Label, load_framework
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models, transaction

HEADERS = {
    "code": ("code", "código"),
    "kind": ("kind", "tipo"),
    "name_es": ("name_es", "nombre_es"),
    "name_en": ("name_en", "nombre_en"),
    "level": ("level", "nivel"),
    "city": ("city", "ciudad"),
    "country": ("country", "país"),
    "domain": ("domain", "dominio"),
    "status": ("status", "estado"),
    "partners": ("partners", "socios"),
    "description_es": ("description_es", "descripción_es"),
    "description_en": ("description_en", "descripción_en"),
    "link": ("link", "enlace"),
    "year": ("year", "año"),
}
WORDS = {
    "kind": {
        "initiative": "initiative",
        "iniciativa": "initiative",
        "good_practice": "good_practice",
        "good practice": "good_practice",
        "buena practica": "good_practice",
    },
    "level": {"local": "local", "national": "national", "nacional": "national"},
    "status": {
        "planned": "planned",
        "planificada": "planned",
        "ongoing": "ongoing",
        "en curso": "ongoing",
        "completed": "completed",
        "finalizada": "completed",
        "suspended": "suspended",
        "suspendida": "suspended",
    },
}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text).strip().lower())
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c)))


_HEADER_KEYS = {_plain(name): key for key, names in HEADERS.items() for name in names}


@dataclass(frozen=True)
class InitiativeRecord:
    id: int
    code: str
    kind: str
    """``initiative`` or ``good_practice``."""
    name: Label
    level: str
    city: str | None
    country: str
    domain: str
    status: str
    partners: str
    description: Label
    link: str
    year: int | None
    city_name: str = ""
    """The city's name (empty for a national record)."""


@dataclass(frozen=True)
class InitiativesImport:
    created: int
    updated: int


def status_label(status: str, lang: str = "en") -> str:
    """An initiative's status as readers see it."""
    return {
        "planned": _("planned", lang),
        "ongoing": _("ongoing", lang),
        "completed": _("completed", lang),
        "suspended": _("suspended", lang),
    }.get(status, status)


def kind_label(kind: str, lang: str = "en") -> str:
    """ "initiative" or "good practice" as readers see it."""
    return _("good practice", lang) if kind == "good_practice" else _("initiative", lang)


def _problem(file: str, row: int, column: str, value: str, what: str) -> GovernanceError:
    return GovernanceError(
        _("{file}, row {row}, column '{column}': '{value}' {what}").format(
            file=file, row=row, column=column, value=value, what=what
        )
    )


def import_initiatives(
    engine: Engine, path: Path | str, *, framework: Framework | str = "mgi-demo"
) -> InitiativesImport:
    """Import initiatives and good practices (CSV or XLSX) in one transaction."""
    from inclusive_cities.ingest.tabular import read_text_table

    chosen = load_framework(framework)
    domains = {d.code for d in chosen.domains}
    table = read_text_table(path)
    keys = [_HEADER_KEYS.get(_plain(h), "") for h in table.header]
    header_of = {key: table.header[i] for i, key in enumerate(keys) if key}
    for needed in ("code", "kind", "level", "domain"):
        if needed not in header_of:
            raise GovernanceError(
                _(
                    "{file}: there is no column '{en}' (or '{es}'); the columns are {columns}."
                ).format(
                    file=table.file,
                    en=HEADERS[needed][0],
                    es=HEADERS[needed][1],
                    columns=", ".join(name for names in HEADERS.values() for name in names[:1]),
                )
            )
    records: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for number, cells in zip(table.row_numbers, table.rows, strict=True):
        row = {key: value.strip() for key, value in zip(keys, cells, strict=False) if key}
        if not any(row.values()):
            continue

        def fail(key: str, what: str, row: dict[str, str] = row, number: int = number) -> NoReturn:
            raise _problem(table.file, number, header_of.get(key, key), row.get(key, ""), what)

        code = row.get("code", "")
        if not code:
            fail("code", _("is empty: give every initiative its own code."))
        if code in seen:
            fail("code", _("is used twice (also row {other}); keep one.").format(other=seen[code]))
        seen[code] = number
        record: dict[str, object] = {"code": code}
        for key in ("kind", "level", "status"):
            raw = row.get(key, "") or ("ongoing" if key == "status" else "")
            value = WORDS[key].get(_plain(raw))
            if value is None:
                fail(
                    key,
                    _("is not allowed here: use one of {words}.").format(
                        words=", ".join(sorted(set(WORDS[key].values())))
                    ),
                )
            record[key] = value
        if row.get("domain", "") not in domains:
            fail(
                "domain",
                _("is not a domain of framework {framework}: use one of {codes}.").format(
                    framework=chosen.label, codes=", ".join(sorted(domains))
                ),
            )
        record["domain"] = row["domain"]
        for key in ("name_es", "name_en", "partners", "description_es", "description_en", "link"):
            record[key] = row.get(key, "")
        if not (record["name_es"] or record["name_en"]):
            fail("name_es", _("is empty: give a name in Spanish or English."))
        if record["kind"] == "good_practice":
            for key in ("name_es", "name_en", "description_es", "description_en"):
                if not record[key]:
                    fail(key, _("is empty: a good practice is published in Spanish and English."))
        if record["link"] and not re.fullmatch(r"https?://\S+", str(record["link"])):
            fail("link", _("is not a web link: write it whole, starting with https://."))
        year = row.get("year", "")
        if year and not re.fullmatch(r"(19|20)\d\d", year):
            fail("year", _("is not a year (such as 2024)."))
        record["year"] = int(year) if year else None
        record["city"] = row.get("city", "")
        record["country"] = row.get("country", "").upper()
        if record["level"] == "national" and not re.fullmatch(r"[A-Z]{3}", str(record["country"])):
            fail("country", _("is not an ISO 3166 alpha-3 code: a national record needs one."))
        if record["level"] == "local" and not record["city"]:
            fail("city", _("is empty: a local record needs the city code."))
        record["row"] = number
        records.append(record)
    if not records:
        raise GovernanceError(_("{file} has no initiatives.").format(file=table.file))
    created = updated = 0
    with transaction(engine) as session:
        cities = {c.code: c for c in session.scalars(select(models.City))}
        batch = models.ImportBatch(
            kind="governance_initiatives",
            file_name=Path(path).name,
            sha256=_sha256(Path(path)),
            rows_read=len(table.rows),
            rows_accepted=len(records),
        )
        session.add(batch)
        session.flush()
        for record in records:
            city = cities.get(str(record["city"])) if record["city"] else None
            if record["city"] and city is None:
                raise _problem(
                    table.file,
                    int(str(record["row"])),
                    header_of.get("city", "city"),
                    str(record["city"]),
                    _("is not a city of the observatory: import its boundaries or fix the code."),
                )
            stored = session.scalar(
                select(models.GovernanceInitiative).where(
                    models.GovernanceInitiative.code == record["code"]
                )
            )
            if stored is None:
                stored = models.GovernanceInitiative(code=record["code"])
                session.add(stored)
                created += 1
            else:
                updated += 1
            stored.kind = str(record["kind"])
            stored.level = str(record["level"])
            stored.status = str(record["status"])
            stored.domain = str(record["domain"])
            stored.city_id = city.id if city else None
            stored.country = str(record["country"]) or (city.country if city else "")
            for key in ("name_es", "name_en", "partners", "description_es", "description_en"):
                setattr(stored, key, str(record[key]))
            stored.link = str(record["link"])
            stored.year = record["year"]  # type: ignore[assignment]
            stored.batch_id = batch.id
    return InitiativesImport(created, updated)


def _sha256(path: Path) -> str:
    from inclusive_cities.ingest.common import sha256_file

    return sha256_file(path)


def search_initiatives(
    engine: Engine,
    text: str | None = None,
    *,
    kind: str | None = None,
    domain: str | None = None,
    city: str | None = None,
    country: str | None = None,
    level: str | None = None,
    status: str | None = None,
) -> list[InitiativeRecord]:
    """Initiatives and good practices matching every filter given; ``text`` is looked for,
    ignoring case and accents, in the code, names, descriptions and partners."""
    query = select(models.GovernanceInitiative, models.City.code, models.City.name).outerjoin(
        models.City, models.City.id == models.GovernanceInitiative.city_id
    )
    filters = {
        models.GovernanceInitiative.kind: kind,
        models.GovernanceInitiative.domain: domain,
        models.City.code: city,
        models.GovernanceInitiative.country: country.upper() if country else None,
        models.GovernanceInitiative.level: level,
        models.GovernanceInitiative.status: status,
    }
    for column, value in filters.items():
        if value:
            query = query.where(column == value)
    query = query.order_by(models.GovernanceInitiative.domain, models.GovernanceInitiative.code)
    wanted = _plain(text) if text else ""
    found: list[InitiativeRecord] = []
    with Session(engine) as session:
        for row, city_code, city_name in session.execute(query).all():
            haystack = _plain(
                " ".join(
                    [
                        row.code,
                        row.name_es,
                        row.name_en,
                        row.description_es,
                        row.description_en,
                        row.partners,
                    ]
                )
            )
            if wanted and wanted not in haystack:
                continue
            found.append(
                InitiativeRecord(
                    id=row.id,
                    code=row.code,
                    kind=row.kind,
                    name=Label(es=row.name_es or row.name_en, en=row.name_en or row.name_es),
                    level=row.level,
                    city=city_code,
                    country=row.country,
                    domain=row.domain,
                    status=row.status,
                    partners=row.partners,
                    description=Label(
                        es=row.description_es or row.description_en,
                        en=row.description_en or row.description_es,
                    ),
                    link=row.link,
                    year=row.year,
                    city_name=city_name or "",
                )
            )
    return found
