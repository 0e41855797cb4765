"""An interval that leaves out the rank shown beside it is not shown, and the page says why.

The web test city TST (tests/web/conftest.py) ranks barrio 01003 4th of 6 in 2024, with no
unit withheld. A stored interval 5–6 beside "4" would say the rank is not where the page
puts it; 2–5 contains it and is shown.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web.data import CACHE
from tests.web.conftest import City


def test_an_interval_without_the_rank_is_left_out(
    fresh_city: City, fresh_client: TestClient
) -> None:
    with transaction(connect(fresh_city.url)) as session:
        run = session.get(models.MarkerRun, fresh_city.run_2024)
        assert run is not None
        run.parameters = {
            **(run.parameters or {}),
            "rank_intervals": {"01003": [5, 6], "01002": [1, 6]},
        }
    CACHE.clear()
    profile = fresh_client.get("/cities/TST/units/01003", params={"lang": "en"}).text
    table = fresh_client.get("/cities/TST/rankings", params={"lang": "es"}).text
    assert "Rank 4 of 6 units" in profile
    assert "rank between 5 and 6" not in profile
    assert "No rank interval: this unit&#39;s rank lies outside the range of 90 %" in profile
    assert "(5–6)" not in table and "(1–6)" in table
    assert "Unidades sin intervalo de posición: 1 (su posición queda fuera" in table
