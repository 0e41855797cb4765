"""Time the Human Mobility Profile (PDF) of a medium-size city, section by section.

By default the script writes a medium city straight into a fresh SQLite store (15 localidades,
150 barrios, 4,500 blocks as squares; indicators by nationality on every block; a marker run
with the index and 5 areas on every block) plus the three synthetic survey rounds, then builds
the profile in Spanish as PDF. ``--database URL --city C --period P`` times an existing store
instead (e.g. the loaded demo city). The baseline printed beside it is the same document as HTML
only, so the ratio shows what the page layout (WeasyPrint) costs.

    .venv/bin/python benchmarks/bench_report.py --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from inclusive_cities import reports
from inclusive_cities.mobility import generate_rounds, harmonise, load_mapping, write_rounds
from inclusive_cities.store import init_database, models, transaction

AREAS = ("VIV", "SAL", "EDU", "EPUB", "OPO")
LEVELS = [
    (80, "very_solid"),
    (70, "solid"),
    (60, "moderately_solid"),
    (50, "moderately_weak"),
    (40, "weak"),
    (0, "very_weak"),
]


def _level(score: float) -> str:
    return next(code for minimum, code in LEVELS if score >= minimum)


def build_medium_city(url: str, seed: int = 0) -> None:
    """A 4,500-block city written with the store's models (what importers would leave)."""
    rng = np.random.default_rng(seed)
    engine = init_database(url)
    size = 0.002  # degrees per block side (≈220 m)
    with transaction(engine) as session:
        city = models.City(
            code="DEMO", name="Ciudad Demo (sintética)", country="COL", is_synthetic=True
        )
        session.add(city)
        session.flush()
        levels = [
            models.UnitLevel(city_id=city.id, code=c, name_es=es, name_en=en, depth=d)
            for d, (c, es, en) in enumerate(
                [
                    ("localidad", "Localidad", "Locality"),
                    ("barrio", "Barrio", "Neighbourhood"),
                    ("manzana", "Manzana", "Block"),
                ]
            )
        ]
        period = models.Period(code="2024", label="2024")
        session.add_all([*levels, period])
        session.flush()
        localidades, barrios, blocks = {}, {}, []
        for loc in range(15):  # 5 x 3 localidades of 2 x 5 barrios of 5 x 6 blocks
            lx, ly = loc % 5, loc // 5
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=levels[0].id,
                code=f"L{loc + 1:02d}",
                name=f"Localidad {loc + 1}",
                geometry=shapely.to_wkb(
                    shapely.box(
                        -74.2 + lx * 10 * size,
                        4.5 + ly * 24 * size,
                        -74.2 + (lx + 1) * 10 * size,
                        4.5 + (ly + 1) * 24 * size,
                    )
                ),
            )
            session.add(unit)
            localidades[loc] = unit
        session.flush()
        for b in range(150):
            loc = b // 10
            lx, ly = loc % 5, loc // 5
            bx, by = (b % 10) % 2, (b % 10) // 2
            x0 = -74.2 + lx * 10 * size + bx * 5 * size
            y0 = 4.5 + ly * 24 * size + by * 6 * size * 0.8
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=levels[1].id,
                code=f"B{b + 1:03d}",
                name=f"Barrio {b + 1}",
                parent_id=localidades[loc].id,
                geometry=shapely.to_wkb(shapely.box(x0, y0, x0 + 5 * size, y0 + 4.8 * size)),
            )
            session.add(unit)
            barrios[b] = (unit, x0, y0)
        session.flush()
        for b, (parent, x0, y0) in barrios.items():
            for k in range(30):
                x, y = x0 + (k % 5) * size, y0 + (k // 5) * size * 0.8
                blocks.append(
                    models.SpatialUnit(
                        city_id=city.id,
                        level_id=levels[2].id,
                        code=f"M{b + 1:03d}{k + 1:02d}",
                        name=f"Manzana {b + 1}-{k + 1}",
                        parent_id=parent.id,
                        geometry=shapely.to_wkb(shapely.box(x, y, x + size, y + 0.8 * size)),
                    )
                )
        session.add_all(blocks)
        session.flush()
        indicators = [
            models.Indicator(
                code="health_insurance",
                name_es="Personas afiliadas a salud",
                name_en="Persons with health insurance",
                unit="%",
                direction="higher_is_better",
            ),
            models.Indicator(
                code="employment_rate",
                name_es="Tasa de ocupación",
                name_en="Employment rate",
                unit="%",
                direction="higher_is_better",
            ),
            models.Indicator(
                code="school_attendance_5_16",
                name_es="Asistencia escolar",
                name_en="School attendance",
                unit="%",
                direction="higher_is_better",
            ),
        ]
        session.add_all(indicators)
        session.flush()
        rows = []
        for indicator in indicators:
            for block in blocks:
                for nationality, base in (("host", 85.0), ("venezuelan", 62.0), ("_T", 80.0)):
                    rows.append(
                        {
                            "indicator_id": indicator.id,
                            "unit_id": block.id,
                            "period_id": period.id,
                            "nationality": nationality,
                            "value": float(np.clip(base + rng.normal(0, 8), 0, 100)),
                            "n": int(rng.integers(10, 120)),
                            "source": "Censo sintético",
                        }
                    )
        session.execute(models.Observation.__table__.insert(), rows)
        run = models.MarkerRun(
            city_id=city.id,
            period_id=period.id,
            level_id=levels[2].id,
            spec_code="uim-basic",
            spec_hash="0" * 64,
            input_hash="0" * 64,
            software_version="bench",
            seed=seed,
            city_score=None,
        )
        session.add(run)
        session.flush()
        score = np.clip(55 + rng.normal(0, 12, len(blocks)), 5, 95)
        order = np.argsort(-score)
        ranks = np.empty(len(blocks), int)
        ranks[order] = np.arange(1, len(blocks) + 1)
        scores = []
        for i, block in enumerate(blocks):
            scores.append(
                {
                    "run_id": run.id,
                    "unit_id": block.id,
                    "node_code": "UIM",
                    "score": float(score[i]),
                    "level": _level(score[i]),
                    "rank": int(ranks[i]),
                    "coverage": 1.0,
                    "imputed": False,
                }
            )
            for area in AREAS:
                value = float(np.clip(score[i] + rng.normal(0, 6), 0, 100))
                scores.append(
                    {
                        "run_id": run.id,
                        "unit_id": block.id,
                        "node_code": area,
                        "score": value,
                        "level": _level(value),
                        "rank": None,
                        "coverage": 1.0,
                        "imputed": False,
                    }
                )
        session.execute(models.MarkerScore.__table__.insert(), scores)
        run.city_score = float(score.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="Existing store to use instead of building one.")
    parser.add_argument("--city", default="DEMO")
    parser.add_argument("--period", default="2024")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lang", default="es")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))
    url = args.database
    if url is None:
        url = f"sqlite:///{work / 'observatory.db'}"
        started = time.perf_counter()
        build_medium_city(url)
        print(f"built the medium synthetic store in {time.perf_counter() - started:.1f} s")
    engine = init_database(url)
    mapping = load_mapping(write_rounds(work / "hfs", seed=0, fmt="csv"))
    frames = {
        code: frame.replace({"city": {"DEMO": args.city}, "destination": {"DEMO": args.city}})
        for code, frame in generate_rounds(0).items()
    }
    hfs = harmonise(mapping, frames=frames)
    totals, html_totals, per_section, pages = [], [], [], 0
    for attempt in range(args.repeat):
        started = time.perf_counter()
        reports.render_profile_html(engine, args.city, args.period, language=args.lang, hfs=hfs)
        html_totals.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = reports.profile(
            engine,
            args.city,
            args.period,
            work / f"profile{attempt}.pdf",
            language=args.lang,
            hfs=hfs,
        )
        totals.append(time.perf_counter() - started)
        per_section.append(result.timings)
        pages = result.pages or 0
    print(f"profile PDF: {pages} pages, {args.repeat} runs")
    for name in per_section[0]:
        values = [t.get(name, 0.0) for t in per_section]
        print(f"  {name:<16} median {statistics.median(values):6.2f} s")
    pdf, html = statistics.median(totals), statistics.median(html_totals)
    print(f"total PDF+annex median {pdf:.1f} s (target < 60 s: {'met' if pdf < 60 else 'MISSED'})")
    print(f"baseline HTML only median {html:.1f} s; PDF / HTML = {pdf / html:.1f}x")


if __name__ == "__main__":
    main()
