"""Pages of published observations (``/api/cities/{city}/observations``) on the medium demo.

Three sides, alternated in each round, CPU time (user + system) of this process:

* **ours**: disclosure control applied before paging: the served ids (cached per data,
  publication and protection state) sliced, then one id-range read of the page;
* **before**: the implementation before this change (stored rows paged with ``OFFSET``, then
  withheld rows dropped: short pages) read from git, so both run on the same store;
* **floor**: the same page query with ``LIMIT``/``OFFSET`` and no disclosure control at all
  (what a page costs if nothing had to be withheld: a fair lower bound for "before").

and the audit's full read of every page (``every_published_observation``), ours against before.
Both sides are checked to serve the same rows where both are right (the full read).

    git show 14b5f3b:src/inclusive_cities/disclosure/served.py > /tmp/served_before.py
    INCLUSIVE_CITIES_DATA_DIR=DEMO/observatory-data .venv/bin/python \\
        benchmarks/bench_public_pages.py DEMO/observatory.db /tmp/served_before.py --repeat 3
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from inclusive_cities.cache import CACHE
from inclusive_cities.disclosure import served
from inclusive_cities.disclosure.publication import hidden_observation_ids
from inclusive_cities.store import connect, models, transaction

OFFSETS = (0, 100_000, 250_000)
LIMIT = 1000


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = _cpu()
    result = work()
    return _cpu() - start, result


def _module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("served_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["served_before"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _floor(session: Any, city_id: int, offset: int) -> list[Any]:
    query = served._published_rows_query(
        [
            models.Observation,
            models.Indicator.code,
            models.SpatialUnit.code,
            models.Period,
            models.Indicator.unit,
        ],
        city_id,
        None,
        None,
        None,
    )
    return session.execute(query.order_by(models.Observation.id).limit(LIMIT).offset(offset)).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("before", type=Path, help="served.py before the change (git show)")
    parser.add_argument("--city", default="DEMO")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    before = _module(options.before)
    engine = connect(f"sqlite:///{options.database}")
    times: dict[str, list[float]] = {}
    with transaction(engine) as session:
        city_id = session.scalar(select(models.City.id).where(models.City.code == options.city))
        assert city_id is not None
        hidden_observation_ids(session, city_id)  # the protection: shared by every side
        for _round in range(options.repeat):
            CACHE.clear()
            hidden_observation_ids(session, city_id)
            cost, ids = _timed(lambda: served.published_observation_ids(session, city_id))
            times.setdefault("ours: served ids (once per state)", []).append(cost)
            for offset in OFFSETS:
                for name, page in (
                    ("ours", lambda o: served.published_observations(session, city_id, offset=o)),
                    ("before", lambda o: before.published_observations(session, city_id, offset=o)),
                    ("floor", lambda o: _floor(session, city_id, o)),
                ):
                    cost, rows = _timed(lambda page=page, at=offset: page(at))  # type: ignore[misc]
                    times.setdefault(f"{name}: page at offset {offset:,}", []).append(cost)
                    if name == "ours":
                        assert len(rows) == min(LIMIT, max(0, len(ids) - offset))
            cost, ours = _timed(
                lambda: [r[0].id for r in served.every_published_observation(session, city_id)]
            )
            times.setdefault("ours: every page (audit)", []).append(cost)
            cost, old = _timed(
                lambda: [r[0].id for r in before.every_published_observation(session, city_id)]
            )
            times.setdefault("before: every page (audit)", []).append(cost)
            assert ours == old, "both must read the same rows over all pages"
            session.expunge_all()
    print(f"served rows: {len(ids):,}; medians of {options.repeat} rounds, CPU seconds")
    for name, values in times.items():
        print(f"{name:<40} {statistics.median(values):8.3f}")
    for offset in OFFSETS:
        ours = statistics.median(times[f"ours: page at offset {offset:,}"])
        old = statistics.median(times[f"before: page at offset {offset:,}"])
        floor = statistics.median(times[f"floor: page at offset {offset:,}"])
        print(
            f"offset {offset:>7,}: before/ours {old / ours:6.1f}x   floor/ours {floor / ours:6.1f}x"
        )
    ours = statistics.median(times["ours: every page (audit)"])
    old = statistics.median(times["before: every page (audit)"])
    print(f"every page: before/ours {old / ours:.2f}x")


if __name__ == "__main__":
    main()
