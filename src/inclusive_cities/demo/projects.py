"""Candidate projects for the demo city: a planner's GeoPackage of about forty investments.

Sites are points inside the demo's neighbourhoods (housing projects name their barrio's code
instead), with plausible Spanish names, types, costs in US dollars, targeted marker areas,
expected effects, funders, a few follow-up projects that depend on another and a few pairs of
alternative sites that exclude each other. The same boundaries and seed give the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from inclusive_cities.demo.errors import DemoError
from inclusive_cities.i18n import gettext as _

# type -> (name patterns, cost range in USD, targeted marker areas, catchment in metres)
_KINDS: dict[str, tuple[tuple[str, ...], tuple[int, int], str, float | None]] = {
    "public_space": (
        ("Parque de bolsillo {b}", "Recuperación de la plaza de {b}", "Sendero peatonal {b}"),
        (80_000, 400_000),
        "EPUB",
        400.0,
    ),
    "housing": (
        (
            "Mejoramiento de vivienda en {b}",
            "Titulación de predios en {b}",
            "Conexión de acueducto y alcantarillado en {b}",
        ),
        (150_000, 600_000),
        "VIV",
        None,
    ),
    "services": (
        ("Centro de salud {b}", "Ampliación del colegio de {b}", "Biblioteca comunitaria {b}"),
        (300_000, 900_000),
        "SAL;EDU",
        800.0,
    ),
    "centre": (
        (
            "Centro de integración para personas refugiadas y migrantes en {b}",
            "Punto de orientación y acompañamiento en {b}",
        ),
        (250_000, 700_000),
        "OPO;EDU",
        1500.0,
    ),
    "economic": (
        ("Plaza de mercado de {b}", "Programa de empleo y emprendimiento en {b}"),
        (100_000, 450_000),
        "OPO",
        1000.0,
    ),
    "social_cohesion": (
        ("Casa de la cultura de {b}", "Escuela de convivencia en {b}"),
        (50_000, 200_000),
        "EPUB;EDU",
        700.0,
    ),
}
_FUNDERS = (
    "Alcaldía",
    "Gobierno nacional",
    "ACNUR",
    "OIM",
    "BID",
    "Unión Europea",
    "Cooperación española",
)


def demo_projects(boundaries: Path | str, count: int = 40, seed: int = 16) -> Any:
    """About ``count`` candidate projects in the demo city's barrios, as a GeoDataFrame in the
    boundaries' projected CRS with the columns ``plan import-projects`` reads."""
    import geopandas as gpd
    import pyogrio

    path = Path(boundaries)
    if not path.is_file():
        raise DemoError(
            _("The demo boundaries {file} do not exist: run 'demo generate' first.").format(
                file=str(path)
            )
        )
    layers = {str(name) for name, _kind in pyogrio.list_layers(path)}
    if not {"barrio", "localidad"} <= layers:
        raise DemoError(
            _("{file} has no 'barrio' and 'localidad' layers: give the demo's boundaries.").format(
                file=path.name
            )
        )
    barrios = gpd.read_file(path, layer="barrio").sort_values("codigo").reset_index(drop=True)
    localities = gpd.read_file(path, layer="localidad").set_index("codigo")["nombre"]
    rng = np.random.default_rng(seed)
    kinds = list(_KINDS)
    base = max(count - 6, 1)  # six follow-ups and alternatives are added below
    # a small city gets several projects in one barrio
    picked = np.sort(rng.choice(len(barrios), size=base, replace=base > len(barrios)))
    rows: list[dict[str, Any]] = []
    for n, position in enumerate(picked):
        barrio = barrios.iloc[int(position)]
        kind = kinds[n % len(kinds)]
        names, (low, high), targets, catchment = _KINDS[kind]
        point = barrio.geometry.representative_point()
        rows.append(
            {
                "codigo": f"P{len(rows) + 1:02d}",
                "nombre": names[int(rng.integers(len(names)))].format(b=barrio["nombre"]),
                "tipo": kind,
                "costo": int(round(rng.uniform(low, high), -3)),
                "localidad": str(localities.get(barrio["codigo_padre"], "")),
                "financiador": _FUNDERS[int(rng.integers(len(_FUNDERS)))],
                "objetivos": targets,
                "efecto": round(float(rng.uniform(0.05, 0.25)), 2),
                "depende_de": "",
                "excluye": "",
                "unidades": str(barrio["codigo"]) if catchment is None else "",
                "radio_m": catchment,
                "geometry": point,
            }
        )
    centres = [row for row in rows if row["tipo"] == "centre"][:3]
    for centre in centres:  # staffing follows the building
        rows.append(
            {
                **centre,
                "codigo": f"P{len(rows) + 1:02d}",
                "nombre": "Dotación y personal: " + centre["nombre"],
                "costo": int(round(centre["costo"] * 0.4, -3)),
                "efecto": round(centre["efecto"] / 2, 2),
                "depende_de": centre["codigo"],
            }
        )
    services = [row for row in rows if row["tipo"] == "services"][:3]
    for service in services:  # the same service at another site: one or the other
        moved = service["geometry"].buffer(350).exterior.interpolate(0.25, normalized=True)
        rows.append(
            {
                **service,
                "codigo": f"P{len(rows) + 1:02d}",
                "nombre": service["nombre"] + " (sede alternativa)",
                "costo": int(round(service["costo"] * 0.85, -3)),
                "excluye": service["codigo"],
                "geometry": moved,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=barrios.crs)


def write_demo_projects(
    boundaries: Path | str, out: Path | str, count: int = 40, seed: int = 16
) -> Path:
    """Write :func:`demo_projects` to a GeoPackage (layer ``proyectos``) and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    demo_projects(boundaries, count, seed).to_file(out, layer="proyectos", driver="GPKG")
    return out
