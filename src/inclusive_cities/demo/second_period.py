"""A second period for the demo city in which chosen neighbourhoods received projects with a
known effect, so impact estimators can be tested on truth (SYNTHETIC DEMO DATA).

From the base period's whole-population indicator values at one level, each new period is

    y(unit, t) = y(unit, base) + trend · (t - base) · sd + noise(0, 0.1 · sd) + effect · treated

where ``effect`` is half a standard deviation of the indicator across units, in the
indicator's better direction, for the chosen indicators only; the other indicators move
with the trend and the noise alone. Values that the indicator cannot take (below zero, a
percentage above 100) are clipped, and the *realised* average effect on the treated
(actual minus the same draw without the project) is recorded as the truth.

It writes, in the observatory's input formats:

- ``seguimiento.csv``: the new periods' indicator table (``import table``);
- ``proyectos_ejecutados.csv``: the executed projects, with their units and start date;
- ``verdad.json``: the truth (treated units, start periods, effects, untouched indicators).

    >>> from inclusive_cities.demo.second_period import generate_second_period  # doctest: +SKIP
    >>> follow_up = generate_second_period(engine, "demo-data/second-period")  # doctest: +SKIP
    >>> load_second_period(engine, follow_up.directory)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from inclusive_cities.demo.errors import DemoError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.store.engine import transaction

TABLE = "seguimiento.csv"
PROJECTS = "proyectos_ejecutados.csv"
TRUTH = "verdad.json"
PROJECT_PREFIX = "EJ-"
NOISE_SD = 0.1
TREND_SD = 0.05
EFFECT_SD = 0.5
PROJECT_TYPES = ("public_space", "services", "housing", "social_cohesion")
PROJECT_NAMES = (
    "Parque y alumbrado",
    "Centro de salud",
    "Mejoramiento de vivienda",
    "Casa de la cultura y convivencia",
)


@dataclass(frozen=True)
class SecondPeriod:
    """What was written: the folder, its files and the truth the estimators must recover."""

    directory: Path
    table: Path
    projects: Path
    truth: dict[str, Any]


def _year(code: str) -> int:
    match = re.match(r"^(\d{4})", code)
    if match is None:
        raise DemoError(
            _("Period '{period}' does not start with a year (e.g. 2025).").format(period=code)
        )
    return int(match.group(1))


def base_values(engine: Engine, city: str, period: str, level: str) -> pd.DataFrame:
    """The base period's whole-population values at ``level``: units × indicators, with
    the indicators' direction and unit in ``attrs``."""
    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        period_row = session.scalar(select(models.Period).where(models.Period.code == period))
        if city_row is None or period_row is None:
            raise DemoError(
                _(
                    "There is no city '{city}' with period '{period}' in the observatory: load "
                    "the demo city first ('inclusive-cities demo load')."
                ).format(city=city, period=period)
            )
        level_row = session.scalar(
            select(models.UnitLevel).where(
                models.UnitLevel.city_id == city_row.id, models.UnitLevel.code == level
            )
        )
        if level_row is None:
            raise DemoError(
                _("The city '{city}' has no level '{level}'.").format(city=city, level=level)
            )
        rows = session.execute(
            select(
                models.SpatialUnit.code,
                models.Indicator.code,
                models.Indicator.direction,
                models.Indicator.unit,
                models.Observation.value,
            )
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(
                models.SpatialUnit.level_id == level_row.id,
                models.Observation.period_id == period_row.id,
                models.Observation.sex == models.TOTAL,
                models.Observation.age_group == models.TOTAL,
                models.Observation.nationality == models.TOTAL,
                models.Observation.value.is_not(None),
            )
        ).all()
    if not rows:
        raise DemoError(
            _(
                "No indicator values for {city} in {period} at level '{level}': run "
                "'inclusive-cities indicators compute' first."
            ).format(city=city, period=period, level=level)
        )
    frame = pd.DataFrame(rows, columns=["unit", "indicator", "direction", "unit_of", "value"])
    wide = frame.pivot_table(index="unit", columns="indicator", values="value", aggfunc="mean")
    meta = frame.drop_duplicates("indicator").set_index("indicator")
    wide.attrs["direction"] = meta["direction"].to_dict()
    wide.attrs["unit"] = meta["unit_of"].to_dict()
    return wide


def _default_effects(base: pd.DataFrame, count: int) -> list[str]:
    """Indicators with a direction and a spread across units, the most complete first."""
    direction = base.attrs.get("direction", {})
    candidates = [
        code
        for code in base.columns
        if direction.get(code) in ("higher_is_better", "lower_is_better")
        and base[code].notna().mean() >= 0.9
        and float(base[code].std(ddof=1) or 0) > 0
    ]
    return sorted(candidates)[:count]


def generate_second_period(
    engine: Engine,
    out_dir: Path | str,
    *,
    city: str = "DEMO",
    base_period: str = "2024",
    periods: Sequence[str] = ("2025",),
    level: str = "barrio",
    treated: Mapping[str, str] | None = None,
    treated_share: float = 0.3,
    effects: Sequence[str] | None = None,
    seed: int = 0,
) -> SecondPeriod:
    """Write the new periods' indicator table, the executed projects and the truth.

    ``treated``: unit code -> first period with the project (default: ``treated_share`` of
    the units, drawn with ``seed``, starting in the first new period); ``effects``: the
    indicator codes the projects improve (default: three of the base period's)."""
    base = base_values(engine, city, base_period, level)
    rng = np.random.default_rng([seed, 2])
    units = list(base.index)
    targets = list(effects) if effects is not None else _default_effects(base, 3)
    direction = base.attrs.get("direction", {})
    if treated is None:
        # projects go where they are most needed: drawn from the worse-off half on the
        # first improved indicator (so matching has something to correct)
        count = max(2, round(treated_share * len(units)))
        need = base[targets[0]] if targets else pd.Series(0.0, index=base.index)
        if direction.get(targets[0] if targets else "") != "lower_is_better":
            need = -need
        worse = list(need.sort_values(ascending=False).index[: max(count, len(units) // 2)])
        chosen = sorted(rng.choice(worse, size=min(count, len(units) - 2), replace=False))
        treated = {str(u): str(periods[0]) for u in chosen}
    unknown = sorted(set(treated) - set(units))
    if unknown:
        raise DemoError(
            _("Units {units} have no values at level '{level}' in {period}.").format(
                units=", ".join(unknown), level=level, period=base_period
            )
        )
    measure = base.attrs.get("unit", {})
    spread = base.std(ddof=1).fillna(0.0)
    base_year = _year(base_period)
    new_rows: list[dict[str, Any]] = []
    realised: dict[str, list[float]] = {code: [] for code in targets}
    effect_size = {
        code: EFFECT_SD
        * float(spread[code])
        * (-1.0 if direction.get(code) == "lower_is_better" else 1.0)
        for code in targets
    }
    for period in periods:
        years = _year(period) - base_year
        noise = rng.normal(0.0, 1.0, size=base.shape) * NOISE_SD * spread.to_numpy()
        without = base.to_numpy() + TREND_SD * years * spread.to_numpy() + noise
        frame = pd.DataFrame(without, index=base.index, columns=base.columns)
        with_project = frame.copy()
        for unit, start in treated.items():
            if _year(period) >= _year(start):
                for code in targets:
                    with_project.loc[unit, code] += effect_size[code]
        for code in base.columns:
            if measure.get(code) == "%":
                frame[code] = frame[code].clip(0.0, 100.0)
                with_project[code] = with_project[code].clip(0.0, 100.0)
            elif base[code].min() >= 0:
                frame[code] = frame[code].clip(lower=0.0)
                with_project[code] = with_project[code].clip(lower=0.0)
        for unit, start in treated.items():
            if _year(period) >= _year(start):
                for code in targets:
                    realised[code].append(
                        float(with_project.loc[unit, code] - frame.loc[unit, code])
                    )
        with_project = with_project.where(base.notna())
        for unit, values in with_project.iterrows():
            row: dict[str, Any] = {"codigo": unit, "periodo": period}
            row.update({code: _cell(values[code]) for code in base.columns})
            new_rows.append(row)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / TABLE
    pd.DataFrame(new_rows).to_csv(table_path, index=False, sep=";", lineterminator="\n")
    projects_path = out / PROJECTS
    projects = []
    for number, (unit, start) in enumerate(sorted(treated.items()), start=1):
        kind = number % len(PROJECT_TYPES)
        projects.append(
            {
                "codigo": f"{PROJECT_PREFIX}{number:03d}",
                "nombre": f"{PROJECT_NAMES[kind]} ({unit})",
                "tipo": PROJECT_TYPES[kind],
                "costo": 150_000 + 50_000 * kind,
                "efecto": EFFECT_SD,
                "objetivos": ";".join(targets),
                "unidades": unit,
                "fecha_inicio": date(_year(start), 1, 1).isoformat(),
                "financiador": "Demo",
            }
        )
    pd.DataFrame(projects).to_csv(projects_path, index=False, lineterminator="\n")
    truth = {
        "city": city,
        "level": level,
        "base_period": base_period,
        "periods": list(periods),
        "treated": dict(sorted(treated.items())),
        "effects": {
            code: float(np.mean(values)) if values else 0.0 for code, values in realised.items()
        },
        "planned_effects": effect_size,
        "untouched": sorted(c for c in base.columns if c not in set(targets)),
        "synthetic": True,
    }
    (out / TRUTH).write_text(json.dumps(truth, indent=2, ensure_ascii=False), encoding="utf-8")
    return SecondPeriod(out, table_path, projects_path, truth)


def _cell(value: float) -> float | str:
    return "" if pd.isna(value) else round(float(value), 6)


def load_second_period(engine: Engine, directory: Path | str) -> dict[str, Any]:
    """Import the new periods' table and store the executed projects (codes ``EJ-…``,
    replacing earlier ones of that prefix, keeping every other project) in one go each.
    Returns the truth."""
    from inclusive_cities.ingest import import_table
    from inclusive_cities.planning.projects import read_projects

    folder = Path(directory)
    if not (folder / TRUTH).exists():
        raise DemoError(
            _(
                "{folder} holds no demo second period ({truth} is missing): run "
                "generate_second_period first."
            ).format(folder=folder, truth=TRUTH)
        )
    truth = json.loads((folder / TRUTH).read_text(encoding="utf-8"))
    import_table(
        engine,
        folder / TABLE,
        city=truth["city"],
        level=truth["level"],
        unit_column="codigo",
        period_column="periodo",
        source=_("synthetic demo data"),
    )
    projects = read_projects(folder / PROJECTS)
    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == truth["city"]))
        assert city_row is not None
        session.execute(
            delete(models.PlanningProject).where(
                models.PlanningProject.city_id == city_row.id,
                models.PlanningProject.code.like(f"{PROJECT_PREFIX}%"),
            )
        )
        for row in projects.to_dict("records"):
            session.add(
                models.PlanningProject(
                    city_id=city_row.id,
                    code=row["code"],
                    name=row["name"],
                    type=row["type"],
                    cost=row["cost"],
                    effect=row["effect"],
                    targets=row["targets"],
                    funder=row["funder"],
                    unit_codes=row["unit_codes"],
                    start_date=row["start_date"],
                    attributes={"level": truth["level"], "executed": True},
                    source_file=PROJECTS,
                )
            )
    return truth
