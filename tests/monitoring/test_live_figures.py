"""«En vivo» means computed (trial F3): a figure is marked live only when the store computed it.

The store (tests/monitoring/test_results.build) holds one store city, TST, with a published marker
run of 2024 and a published human-mobility map layer; MED and QTO are results-only cities that
typed "has a marker" as 1 and 0 for 2025. So the programme's "cities with a marker" in 2025 is
2 (TST computed + MED typed) of 3, from 1 computed and 2 typed city figures: not «en vivo» but
"1 en vivo + 2 reportadas". A map layer is not a Human Mobility Profile: TST has one only once
a profile report was written for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, delete

from inclusive_cities import monitoring
from inclusive_cities.monitoring.computed_store import PROFILE_ACTION, record_profile
from inclusive_cities.reports import programme_report as pr
from inclusive_cities.store import transaction
from inclusive_cities.store.web_models import AuditEntry
from tests.monitoring.test_results import build

MARKER = "cities_with_marker"
PROFILE = "cities_with_mobility_profile"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = build(f"sqlite:///{tmp_path_factory.mktemp('live')}/p.db")
    with transaction(engine) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.action == PROFILE_ACTION))
        for city, value in (("MED", 1), ("QTO", 0)):
            monitoring.set_value(session, "inclusive_cities", MARKER, city, "2025", "actual", value)
            monitoring.set_value(session, "inclusive_cities", PROFILE, city, "2025", "actual", 1)
    return engine


def test_live_is_said_of_computed_figures_and_the_split_otherwise(engine: Engine) -> None:
    report = monitoring.results(engine, period="2025", lang="es")
    tst, med = (report.row(MARKER, city=c, country="COL") for c in ("TST", "MED"))
    assert (tst.actual, tst.computed, tst.live, tst.reported) == (1.0, True, 1, 0)
    assert (med.actual, med.computed, med.live, med.reported) == (1.0, False, 0, 1)
    head = report.row(MARKER)
    assert (head.actual, head.computed, head.live, head.reported) == (2.0, False, 1, 2)
    country = report.row(MARKER, country="COL")
    assert (country.actual, country.computed, country.live, country.reported) == (2, False, 1, 1)
    for lang, split in (("es", "1 en vivo + 2 reportadas"), ("en", "1 live + 2 reported")):
        view = pr.programme_view(engine, lang)
        row = next(r for r in view.headline if r.code == MARKER)
        assert (row.computed, row.live_text) == (False, split)
        tst_row = next(
            r for c in view.cities if c.key == "TST" for r in c.results if r.code == MARKER
        )
        assert tst_row.live_text == ("en vivo" if lang == "es" else "live")


def test_a_map_layer_is_not_a_profile_a_written_profile_is(engine: Engine, tmp_path: Path) -> None:
    """TST publishes a human-mobility layer but no profile was written: 0, then 1 once the
    profile of 2024 is recorded; a profile of 2026 does not count for 2025."""
    row = monitoring.results(engine, period="2025").row(PROFILE, city="TST", country="COL")
    assert (row.actual, row.computed) == (0.0, True)
    with transaction(engine) as session:
        session.add(
            AuditEntry(action=PROFILE_ACTION, target="city:TST", details={"period": "2026"})
        )
    row = monitoring.results(engine, period="2025").row(PROFILE, city="TST", country="COL")
    assert row.actual == 0.0
    record_profile(engine, "TST", "2024", "es", str(tmp_path / "perfil.pdf"))
    report = monitoring.results(engine, period="2025", lang="en")
    assert report.row(PROFILE, city="TST", country="COL").actual == 1.0
    assert "Target cities with a published human mobility profile: 3 of 3" in report.lines
