"""The demo city's migration-governance assessments and initiatives (SYNTHETIC DEMO DATA).

They go in the way a user's do: the shipped template is written, filled in and imported with
``governance import``; the initiatives are a CSV imported with ``governance import-initiatives``.
The city has two local assessments (2022 and 2024, so changes can be shown) and its country one
national assessment; the 2024 local score becomes the extended marker's governance indicator.
``scripts/build-demo.sh`` runs it (``inclusive-cities governance demo``) right after
``demo load``; it is not part of ``load_demo``, whose imports stay exactly the files'.
"""

from __future__ import annotations

import csv
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

FRAMEWORK = "mgi-demo"
EVIDENCE = "SYNTHETIC DEMO DATA"

# question -> (answer, evidence text); "" leaves the evidence empty
LOCAL_2024: dict[str, tuple[str, str]] = {
    "R01": ("yes", "Acuerdo municipal 045 de 2021: salud para toda persona"),
    "R02": ("yes", "Circular de la Secretaría de Educación 2020-12"),
    "R03": ("partly", "Punto de orientación en el Centro Integral al Migrante"),
    "R04": ("no", ""),
    "R05": ("2", "Línea 123 con atención en español; sin canales en otros idiomas"),
    "W01": ("yes", "Gerencia de Migración, Decreto 310 de 2020"),
    "W02": ("partly", "Plan de integración en borrador"),
    "W03": ("yes", ""),
    "W04": ("partly", ""),
    "W05": ("yes", ""),
    "P01": ("yes", ""),
    "P02": ("yes", ""),
    "P03": ("partly", ""),
    "P04": ("no", ""),
    "B01": ("no", ""),
    "B02": ("yes", "Programa Emprende Sin Fronteras"),
    "B03": ("partly", ""),
    "B04": ("not_applicable", ""),
    "B05": ("3", ""),
    "C01": ("no", ""),
    "C02": ("partly", ""),
    "C03": ("yes", ""),
    "C04": ("no", ""),
    "S01": ("yes", "Jornadas de registro con Migración Colombia"),
    "S02": ("yes", ""),
    "S03": ("yes", ""),
    "S04": ("partly", ""),
}
LOCAL_2022: dict[str, tuple[str, str]] = {
    **LOCAL_2024,
    "R01": ("partly", "Atención de urgencias solamente"),
    "W01": ("no", ""),
    "W02": ("no", ""),
    "P02": ("partly", ""),
    "B02": ("no", ""),
    "B05": ("1", ""),
    "C03": ("no", ""),
    "S02": ("partly", ""),
}
NATIONAL_2024: dict[str, tuple[str, str]] = {
    "R01": ("yes", "Ley 1751 de 2015 y Estatuto Temporal de Protección"),
    "R02": ("yes", "Circular conjunta MEN-Migración Colombia"),
    "R03": ("yes", "Estatuto Temporal de Protección para Migrantes Venezolanos"),
    "R04": ("partly", "Ley antidiscriminación 1482 de 2011"),
    "R05": ("3", "Defensoría del Pueblo"),
    "W01": ("yes", "Gerencia de Frontera"),
    "W02": ("yes", "CONPES 3950 de 2018"),
    "W03": ("yes", ""),
    "W04": ("yes", ""),
    "W05": ("yes", ""),
    "P01": ("partly", ""),
    "P02": ("yes", ""),
    "P03": ("not_applicable", ""),
    "P04": ("partly", ""),
    "B01": ("partly", ""),
    "B02": ("partly", "Servicio Público de Empleo"),
    "B03": ("no", ""),
    "B04": ("not_applicable", ""),
    "B05": ("2", ""),
    "C01": ("partly", "Plan Nacional de Gestión del Riesgo"),
    "C02": ("yes", ""),
    "C03": ("partly", ""),
    "C04": ("partly", ""),
    "S01": ("yes", "Permiso por Protección Temporal"),
    "S02": ("yes", ""),
    "S03": ("partly", ""),
    "S04": ("yes", ""),
}
INITIATIVES = [
    {
        "code": "DEMO-INI-01",
        "kind": "initiative",
        "name_es": "Centro Integral al Migrante",
        "name_en": "Migrant Integration Centre",
        "level": "local",
        "city": "DEMO",
        "country": "COL",
        "domain": "SAFE_ORDERLY",
        "status": "ongoing",
        "partners": "Alcaldía; ACNUR; OIM",
        "description_es": "Orientación, registro y remisión a servicios (dato sintético).",
        "description_en": "Guidance, registration and referral to services (synthetic data).",
        "year": "2021",
    },
    {
        "code": "DEMO-INI-02",
        "kind": "initiative",
        "name_es": "Plan local de integración",
        "name_en": "Local integration plan",
        "level": "local",
        "city": "DEMO",
        "country": "COL",
        "domain": "WHOLE_GOV",
        "status": "planned",
        "partners": "Secretaría de Gobierno",
        "description_es": "Plan intersectorial en preparación (dato sintético).",
        "description_en": "Cross-departmental plan in preparation (synthetic data).",
        "year": "2024",
    },
    {
        "code": "DEMO-GP-01",
        "kind": "good_practice",
        "name_es": "Salud sin barreras",
        "name_en": "Health without barriers",
        "level": "local",
        "city": "DEMO",
        "country": "COL",
        "domain": "RIGHTS",
        "status": "completed",
        "partners": "Secretaría de Salud; Cruz Roja",
        "description_es": "Afiliación al régimen subsidiado en jornadas barriales "
        "(dato sintético).",
        "description_en": "Enrolment in subsidised health care in neighbourhood days "
        "(synthetic data).",
        "year": "2022",
    },
    {
        "code": "DEMO-GP-02",
        "kind": "good_practice",
        "name_es": "Emprende sin fronteras",
        "name_en": "Enterprise without borders",
        "level": "local",
        "city": "DEMO",
        "country": "COL",
        "domain": "WELLBEING",
        "status": "ongoing",
        "partners": "Cámara de Comercio; PNUD",
        "description_es": "Capital semilla y mentoría para emprendimientos mixtos "
        "(dato sintético).",
        "description_en": "Seed capital and mentoring for mixed businesses (synthetic data).",
        "year": "2023",
    },
    {
        "code": "COL-GP-01",
        "kind": "good_practice",
        "name_es": "Permiso por Protección Temporal",
        "name_en": "Temporary Protection Permit",
        "level": "national",
        "city": "",
        "country": "COL",
        "domain": "SAFE_ORDERLY",
        "status": "ongoing",
        "partners": "Migración Colombia",
        "description_es": "Regularización masiva con registro biométrico "
        "(resumen de demostración).",
        "description_en": "Mass regularisation with biometric registration (demo summary).",
        "year": "2021",
    },
]


def fill_template(
    path: Path, answers: dict[str, tuple[str, str]], when: date, respondent: str, lang: str
) -> Path:
    """Write the framework's template in ``lang`` and fill it in as a user would."""
    from openpyxl import load_workbook

    from inclusive_cities.governance import load_framework, write_template
    from inclusive_cities.governance.templates import ANSWER_WORDS, SHEETS

    write_template(load_framework(FRAMEWORK), lang, path)
    book = load_workbook(path)
    meta = book[SHEETS["meta"][lang]]
    meta["B3"] = when.isoformat()
    meta["B4"] = respondent
    meta["B5"] = EVIDENCE
    sheet = book[SHEETS["answers"][lang]]
    for row in sheet.iter_rows(min_row=2):
        code = str(row[0].value)
        if code not in answers:
            continue
        answer, evidence = answers[code]
        row[6].value = ANSWER_WORDS[answer][lang] if answer in ANSWER_WORDS else int(answer)
        row[7].value = evidence or None
    book.save(path)
    return path


def load_governance_demo(engine: Engine, city: str = "DEMO", country: str = "COL") -> list[int]:
    """Import the demo assessments and initiatives; returns the assessment ids."""
    from inclusive_cities.governance import import_assessment, import_initiatives

    ids: list[int] = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        local_old = fill_template(
            base / "gobernanza_local_2022.xlsx", LOCAL_2022, date(2022, 11, 30), "Alcaldía", "es"
        )
        local = fill_template(
            base / "gobernanza_local_2024.xlsx", LOCAL_2024, date(2024, 6, 30), "Alcaldía", "es"
        )
        national = fill_template(
            base / "governance_national_2024.xlsx",
            NATIONAL_2024,
            date(2024, 3, 15),
            "Ministry of Foreign Affairs",
            "en",
        )
        for path in (local_old, local):
            ids.extend(import_assessment(engine, path, city=city).assessment_ids)
        ids.extend(import_assessment(engine, national, country=country).assessment_ids)
        table = base / "iniciativas.csv"
        with table.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(INITIATIVES[0]))
            writer.writeheader()
            writer.writerows(INITIATIVES)
        import_initiatives(engine, table)
    return ids
