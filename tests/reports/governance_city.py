"""Governance assessments of the web tests' city TST (country COL), imported from filled-in
templates through the real importer.

A three-domain framework (``gov-tiny``): RIGHTS (R1 yes/partly/no with evidence required,
R2 a 0-4 scale; linked to the marker's SAL area and the piped_water indicator), WHOLE_GOV
(W1 weight 1, W2 weight 3; linked to VIV), PARTNERS (P1, P2; no links). One sub-domain each,
so a domain's score is the weighted mean of its answers times 100.

Expected scores, by hand (yes 1, partly 0.5, no 0, scale x/4):

======== ================================ ====================== =================
assess.  RIGHTS                           WHOLE_GOV              PARTNERS
======== ================================ ====================== =================
TST 2022 R1 no, R2 1 -> (0+.25)/2 = 12.5  W1 no, W2 no -> 0      P1 yes, P2 n/a -> 100
TST 2024 R1 yes, R2 3 -> (1+.75)/2 = 87.5 W1 yes, W2 partly      P1 yes, P2 no -> 50
                                          -> (1+3*.5)/4 = 62.5
COL 2024 R1 partly, R2 2 -> 50            W1 yes, W2 yes -> 100  P1 no, P2 no -> 0
======== ================================ ====================== =================

Overall (equal domain weights): 2022 (12.5+0+100)/3 = 37.5; 2024 (87.5+62.5+50)/3 = 66.667;
COL (50+100+0)/3 = 50. TST 2024 against COL: RIGHTS ahead, WHOLE_GOV behind, PARTNERS ahead;
questions R1 ahead (1 > .5), R2 ahead, W1 same, W2 behind, P1 ahead, P2 same (0 = 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

FRAMEWORK = """\
code: gov-tiny
version: "1"
name: {es: Marco de prueba, en: Test framework}
evidence_spec: uim-extended
scoring:
  values: {"yes": 1.0, "partly": 0.5, "no": 0.0}
  aggregation: arithmetic
  strength: 75
  gap: 50
domains:
  - code: RIGHTS
    name: {es: Derechos de las personas migrantes, en: Migrants' rights}
    links: {areas: [SAL], indicators: [piped_water]}
    subdomains:
      - code: R_ACC
        name: {es: Acceso, en: Access}
        questions:
          - code: R1
            text:
              es: "¿Atienden los centros de salud a toda persona migrante?"
              en: "Do health centres serve every migrant?"
            evidence_required: true
          - code: R2
            text:
              es: "¿Qué tan accesibles son los canales de denuncia?"
              en: "How accessible are the reporting channels?"
            answer: scale
            scale: {min: 0, max: 4}
  - code: WHOLE_GOV
    name: {es: Enfoque de gobierno integral, en: Whole-of-government approach}
    links: {areas: [VIV]}
    subdomains:
      - code: W_INS
        name: {es: Institucionalidad, en: Institutions}
        questions:
          - code: W1
            text:
              es: "¿Hay una oficina de asuntos migratorios?"
              en: "Is there a migration affairs office?"
          - code: W2
            text:
              es: "¿Hay un plan migratorio aprobado?"
              en: "Is there an approved migration plan?"
            weight: 3
  - code: PARTNERS
    name: {es: Alianzas, en: Partnerships}
    subdomains:
      - code: P_LOC
        name: {es: Alianzas locales, en: Local partnerships}
        questions:
          - code: P1
            text:
              es: "¿Hay una mesa con organizaciones de migrantes?"
              en: "Is there a round table with migrant organisations?"
          - code: P2
            text:
              es: "¿Hay convenios con universidades?"
              en: "Are there agreements with universities?"
"""

ANSWERS = {
    "TST-2022": {
        "R1": ("no", ""),
        "R2": ("1", ""),
        "W1": ("no", ""),
        "W2": ("no", ""),
        "P1": ("sí", ""),
        "P2": ("no aplica", ""),
    },
    "TST-2024": {
        "R1": ("sí", "Decreto 123 de 2023"),
        "R2": ("3", ""),
        "W1": ("sí", ""),
        "W2": ("parcialmente", ""),
        "P1": ("sí", ""),
        "P2": ("no", ""),
    },
    "COL-2024": {
        "R1": ("parcialmente", "Ley 2136 de 2021"),
        "R2": ("2", ""),
        "W1": ("sí", ""),
        "W2": ("sí", ""),
        "P1": ("no", ""),
        "P2": ("no", ""),
    },
}
EXPECTED = {
    "TST-2022": {"RIGHTS": 12.5, "WHOLE_GOV": 0.0, "PARTNERS": 100.0, "overall": 37.5},
    "TST-2024": {"RIGHTS": 87.5, "WHOLE_GOV": 62.5, "PARTNERS": 50.0, "overall": 200 / 3},
    "COL-2024": {"RIGHTS": 50.0, "WHOLE_GOV": 100.0, "PARTNERS": 0.0, "overall": 50.0},
}
LEVELS = {"R1": "ahead", "R2": "ahead", "W1": "same", "W2": "behind", "P1": "ahead", "P2": "same"}
# Beside the evidence, from the web fixture's published 2024 run (tests/web/conftest.py):
# block i = 0..5 has population 100 (i + 1); SAL scores 33 + 10 i, VIV 31 + 10 i,
# piped_water 20 + 10 i. Population-weighted means (weights 1..6, sum 21):
# SAL 1393 / 21 = 66.333, VIV 1351 / 21 = 64.333, piped_water 1120 / 21 = 53.333.
EVIDENCE = {"SAL": 1393 / 21, "VIV": 1351 / 21, "piped_water": 1120 / 21}

INITIATIVE_ROWS = [
    "code,kind,name_es,name_en,level,city,country,domain,status,partners,description_es,"
    "description_en,link,year",
    "GP1,good_practice,Ventanilla única de atención,One-stop service desk,local,TST,COL,RIGHTS,"
    "ongoing,ACNUR,Una ventanilla para trámites de salud y educación,"
    "A desk for health and education procedures,https://example.org/ventanilla,2023",
    "GP2,good_practice,Mesa migrante nacional,National migrant round table,national,,COL,PARTNERS,"
    "completed,OIM,Diálogo entre ministerios,Dialogue between ministries,,2021",
    "IN1,initiative,Plan de vivienda,Housing plan,local,TST,COL,WHOLE_GOV,planned,Alcaldía,"
    "Plan de vivienda para familias migrantes,Housing plan for migrant families,,2024",
]


@dataclass
class Governance:
    framework: Path
    ids: dict[str, int]


def fill_template(framework: object, lang: str, path: Path, date: str, answers: dict) -> Path:
    """Write the shipped template for ``framework`` and fill it in as a person would."""
    from openpyxl import load_workbook

    from inclusive_cities.governance import write_template

    write_template(framework, lang, path)  # type: ignore[arg-type]
    book = load_workbook(path)
    meta = book.worksheets[0]
    meta["B3"] = date
    meta["B4"] = "Secretaría de Gobierno"
    sheet = book.worksheets[1]
    for row in sheet.iter_rows(min_row=2):
        code = row[0].value
        if code in answers:
            answer, evidence = answers[code]
            row[6].value = answer
            row[7].value = evidence or None
    book.save(path)
    return path


def add_governance(engine: Engine, folder: Path) -> Governance:
    """Import the three assessments and the initiatives of the table above."""
    from inclusive_cities.governance import import_assessment, import_initiatives, load_framework

    framework_path = folder / "gov-tiny.yaml"
    framework_path.write_text(FRAMEWORK, encoding="utf-8")
    framework = load_framework(framework_path)
    ids = {}
    for key, date in (
        ("TST-2022", "2022-06-30"),
        ("TST-2024", "2024-03-15"),
        ("COL-2024", "2024-02-01"),
    ):
        path = fill_template(framework, "es", folder / f"{key}.xlsx", date, ANSWERS[key])
        place = {"city": "TST"} if key.startswith("TST") else {"country": "COL"}
        summary = import_assessment(engine, path, framework=framework, **place)
        ids[key] = summary.assessment_ids[0]
    table = folder / "initiatives.csv"
    table.write_text("\n".join(INITIATIVE_ROWS) + "\n", encoding="utf-8")
    import_initiatives(engine, table, framework=framework)
    return Governance(framework_path, ids)
