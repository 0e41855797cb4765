"""The staff dashboard tells marker runs apart by their level and their uncertainty (trial #4
F4: three runs of one marker and period were listed alike, differing only in a level the table
did not show, next to the button that publishes one)."""

from __future__ import annotations

import lxml.html
from fastapi.testclient import TestClient

from inclusive_cities.store import connect, models, transaction
from tests.web.conftest import City
from tests.web.test_security import ADMIN, add_user, log_in


def test_each_run_shows_its_level(fresh_client: TestClient, fresh_city: City) -> None:
    with transaction(connect(fresh_city.url)) as session:
        run = session.get(models.MarkerRun, fresh_city.draft_run)
        assert run is not None
        run.parameters = {**(run.parameters or {}), "uncertainty": {"replicates": 256, "seed": 1}}
    add_user(fresh_city, *ADMIN, "admin")
    log_in(fresh_client, *ADMIN)
    page = lxml.html.fromstring(fresh_client.get("/admin", params={"lang": "es"}).text)
    table = page.get_element_by_id("runs")
    header = [cell.text_content() for cell in table.iter("th")]
    assert "Nivel" in header
    rows = {
        int(row[0].text_content()): row[header.index("Nivel")].text_content()
        for row in table.iter("tr")
        if row.find("td") is not None
    }
    assert rows[fresh_city.run_2024] == "Manzana"
    assert rows[fresh_city.draft_run] == "Manzana · incertidumbre: 256 réplicas"
