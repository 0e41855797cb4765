"""Tiny frameworks, cities and filled-in templates built in code for the governance tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from inclusive_cities.governance import Framework, parse_framework, write_template
from inclusive_cities.governance.templates import SHEETS
from inclusive_cities.store import models, transaction

# Two domains; weights at every level, a scale, a not-applicable and a required evidence.
TEST_FRAMEWORK = """\
code: test-fw
version: "2"
name: {es: Marco de prueba, en: Test framework}
scoring:
  values: {"yes": 1, "partly": 0.5, "no": 0}
  strength: 75
  gap: 50
domains:
  - code: A
    name: {es: Derechos, en: Rights}
    weight: 2
    links: {areas: [SAL], indicators: [mig_documentation]}
    subdomains:
      - code: A1
        name: {es: Acceso, en: Access}
        questions:
          - code: Q1
            text: {es: "¿Salud para todos?", en: "Health for all?"}
            weight: 2
          - code: Q2
            text: {es: "¿Escuela para todos?", en: "School for all?"}
            evidence_required: true
      - code: A2
        name: {es: Trato, en: Treatment}
        weight: 3
        questions:
          - code: Q3
            text: {es: "¿Canales de denuncia?", en: "Complaint channels?"}
            answer: scale
            scale: {min: 1, max: 5}
          - code: Q4
            text: {es: "¿Cursos de idioma?", en: "Language courses?"}
  - code: B
    name: {es: Crisis, en: Crises}
    subdomains:
      - code: B1
        name: {es: Preparación, en: Preparedness}
        questions:
          - code: Q5
            text: {es: "¿Plan de riesgo?", en: "Risk plan?"}
          - code: Q6
            text: {es: "¿Plan de contingencia?", en: "Contingency plan?"}
"""


def framework() -> Framework:
    return parse_framework(TEST_FRAMEWORK, "test-fw.yaml")


def add_city(
    engine: Engine, code: str = "DEMO", country: str = "COL", *, observed: str | None = None
) -> None:
    """A city; with ``observed`` (a period code), one unit with one observation in it, so the
    marker rule has a period to write for."""
    with transaction(engine) as session:
        city = models.City(code=code, name=f"Ciudad {code}", country=country)
        session.add(city)
        if observed is None:
            return
        period = models.Period(code=observed)
        indicator = models.Indicator(code="population", name_es="Población", name_en="Population")
        session.add_all([period, indicator])
        session.flush()
        level = models.UnitLevel(city_id=city.id, code="barrio", depth=0)
        session.add(level)
        session.flush()
        unit = models.SpatialUnit(city_id=city.id, level_id=level.id, code="0101")
        session.add(unit)
        session.flush()
        session.add(
            models.Observation(
                indicator_id=indicator.id, unit_id=unit.id, period_id=period.id, value=1520.0
            )
        )


def filled(
    path: Path,
    fw: Framework,
    answers: dict[str, object],
    *,
    when: str = "2024-06-30",
    lang: str = "en",
    evidence: dict[str, str] | None = None,
) -> Path:
    """The template of ``fw`` in ``lang`` with ``answers`` (written as given) in column G."""
    from openpyxl import load_workbook

    write_template(fw, lang, path)
    book = load_workbook(path)
    meta = book[SHEETS["meta"][lang]]
    meta["B3"] = when
    meta["B4"] = "Oficina de Migración"
    sheet = book[SHEETS["answers"][lang]]
    for row in sheet.iter_rows(min_row=2):
        code = str(row[0].value)
        if code in answers:
            row[6].value = answers[code]
        if evidence and code in evidence:
            row[7].value = evidence[code]
    book.save(path)
    return path


LOCAL = {"Q1": "yes", "Q2": "partly", "Q3": 4, "Q4": "not applicable", "Q5": "no", "Q6": "partly"}
NATIONAL = {"Q1": "yes", "Q2": "yes", "Q3": 2, "Q4": "yes", "Q5": "no", "Q6": "not applicable"}
EVIDENCE = {"Q2": "Circular 12 de 2020"}


def when(text: str) -> date:
    return date.fromisoformat(text)
