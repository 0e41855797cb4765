"""Ranks and withheld scores on the public pages (H5 findings 20 and 25).

The small city DSC (tests/disclosure/conftest.py) scores three blocks by their employment
rate: B1 40, B2 50, B3 70, so by the index B3 is 1st, B2 2nd, B1 3rd. B2's rate rests on 6
people and is withheld, and its index with it. Ranked among all three, B1 would stay 3rd and
the gap would say a withheld block lies between B3 and B1; ranked among the published ones
it is 2nd. And B2 is not "without data": its score is withheld for confidentiality.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from inclusive_cities.disclosure.served import run_scores
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE
from tests.disclosure.conftest import SmallCity

STORED_RANKS = {"B3": 1, "B2": 2, "B1": 3}


def with_ranks(small: SmallCity) -> None:
    with transaction(connect(small.url)) as s:
        for unit, rank in STORED_RANKS.items():
            s.execute(
                update(models.MarkerScore)
                .where(
                    models.MarkerScore.run_id == small.run,
                    models.MarkerScore.unit_id == small.units[unit],
                )
                .values(rank=rank)
            )
    CACHE.clear()


def test_ranks_are_among_published_units_and_withheld_is_said(small: SmallCity) -> None:
    with_ranks(small)
    with transaction(connect(small.url)) as s:
        scores = run_scores(s, small.run)
        row = {int(u): i for i, u in enumerate(scores.unit_ids)}
        ranks = {u: scores.ranks["UIM"][row[small.units[u]]] for u in STORED_RANKS}
        withheld = scores.is_withheld("UIM")
        assert ranks == {"B3": 1, "B2": None, "B1": 2}
        assert withheld[row[small.units["B2"]]]
        assert not withheld[row[small.units["B1"]]]
    with TestClient(create_app(small.url), base_url="http://localhost") as client:
        spanish = client.get("/cities/DSC/rankings?period=2024&lang=es")
        english = client.get("/cities/DSC/rankings?period=2024&lang=en")
        csv = client.get("/cities/DSC/rankings?period=2024&format=csv&lang=en").text
        unit = client.get("/cities/DSC/units/B2?period=2024&lang=es").text
    assert spanish.status_code == 200
    assert "Reservado por confidencialidad" in spanish.text
    assert "Withheld for confidentiality" in english.text
    assert "Sin datos" not in spanish.text
    lines = {line.split(",")[1]: line.split(",")[0] for line in csv.splitlines()[1:]}
    assert lines == {"B3": "1", "B1": "2", "B2": ""}
    assert "Reservado por confidencialidad" in unit
