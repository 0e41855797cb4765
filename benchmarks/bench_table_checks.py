"""CPU cost of the real-table checks of ``import table`` (whole counts, groups within their
population, scale of % and metres columns, lost leading zeros, text missing codes).

A wide table with one row per block of the medium demo (4,867 manzanas): population,
venezuelan_population, a % column and a metres column, written as a Spanish office exports it
(``;``, decimal comma, thousands dots). ``import_table(..., dry_run=True)`` reads, parses,
checks and matches every unit without writing. Run it with this checkout's code and with an
older one (``--src``, e.g. a ``git archive`` of the commit before the checks), alternating:

    .venv/bin/python benchmarks/bench_table_checks.py --db /tmp/x/observatory.db --rounds 3
    .venv/bin/python benchmarks/bench_table_checks.py --db /tmp/x/observatory.db --src /tmp/old/src

Prints the user+sys CPU seconds of the first call (what one CLI run pays) and the median of
the later ones in the same process (the import of the package excluded).
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path


def write_table(db: Path, folder: Path) -> Path:
    with sqlite3.connect(db) as connection:
        codes = [
            row[0]
            for row in connection.execute(
                "select u.code from spatial_units u join unit_levels l on l.id = u.level_id "
                "join cities c on c.id = u.city_id where c.code = 'DEMO' and l.code = 'manzana' "
                "order by u.code"
            )
        ]
    lines = ["Código;Población total;Población venezolana;% hogares con internet;dist_health_m"]
    for i, code in enumerate(codes):
        people = 1000 + (i * 37) % 9000
        venezuelans = people // (3 + i % 5)
        lines.append(
            f"{code};{people // 1000}.{people % 1000:03d};{venezuelans:,}".replace(",", ".")
            + f";{(i * 13) % 1000 / 10:.1f}".replace(".", ",")
            + f";{200 + (i * 7) % 3000}"
        )
    path = folder / "manzanas.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True, help="copy of the medium demo store")
    parser.add_argument("--src", type=Path, help="another checkout's src folder to time")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, str(args.src))
    from inclusive_cities import store
    from inclusive_cities.ingest import import_table

    engine = store.connect(f"sqlite:///{args.db}")
    columns = {"Población total": "population", "Población venezolana": "venezuelan_population"}
    columns |= {"% hogares con internet": "internet", "dist_health_m": "dist_health_m"}
    with tempfile.TemporaryDirectory() as folder:
        path = write_table(args.db, Path(folder))
        times = []
        for _ in range(args.rounds):
            start = cpu()
            report = import_table(
                engine,
                path,
                city="DEMO",
                level="manzana",
                period="2030",
                unit_column="Código",
                locale="es",
                indicator_columns=columns,
                dry_run=True,
            )
            times.append(cpu() - start)
        assert report.rows_accepted == report.rows_read, report.problems[:3]
    import inclusive_cities

    print(
        f"{Path(inclusive_cities.__file__).parent}: rows {report.rows_read}, CPU first call "
        f"{times[0]:.3f} s (what one CLI run pays), later calls median "
        f"{statistics.median(times[1:] or times):.3f} s (a web/job worker importing again)"
    )


if __name__ == "__main__":
    main()
