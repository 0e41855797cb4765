"""The centres network over OGC API Features, read by GDAL's OAPIF driver from a live server.

Three centres come in from a CSV with Spanish headers; GDAL must list the ``centres``
collection, page through it, and give back each point and the principles self-assessment as
they were typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pyogrio
import pytest

from inclusive_cities.monitoring.centres import import_centres
from tests.monitoring.test_deliveries import build, write
from tests.web.live import live_server

CENTRES = {
    "CIS-1": ("Centro La Esperanza", -72.4967, 7.8939, 4, 2),
    "CIS-2": ("Casa de Integración Los Olivos", -77.0428, -12.0464, 3, 3),
    "CIS-3": ("Punto de Encuentro Boa Vista", -60.6733, 2.8235, 1, None),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("centres-ogc")
    url = f"sqlite:///{folder / 'observatory.db'}"
    engine = build(url)
    lines = ["código,nombre,ciudad_objetivo,ciudad,país,longitud,latitud,nadie_atrás,nexo_acción"]
    for code, (name, lon, lat, first, second) in CENTRES.items():
        city = {"CIS-1": "CUC", "CIS-2": "LIM"}.get(code, "")
        place = "Boa Vista,BRA" if not city else ","
        lines.append(f"{code},{name},{city},{place},{lon},{lat},{first},{second or 999}")
    import_centres(engine, write(folder / "centros.csv", "\n".join(lines)))
    engine.dispose()
    with live_server(url) as base:
        yield base


def test_gdal_reads_the_centres_collection(server: str) -> None:
    layers = {name for name, _kind in pyogrio.list_layers(f"OAPIF:{server}/ogc")}
    assert "centres" in layers
    frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="centres", PAGE_SIZE=2)
    assert sorted(frame["code"]) == sorted(CENTRES)
    frame = frame.set_index("code")
    for code, (name, lon, lat, first, second) in CENTRES.items():
        assert frame.loc[code, "name"] == name
        point = frame.geometry[code]
        assert (point.x, point.y) == (pytest.approx(lon, abs=1e-9), pytest.approx(lat, abs=1e-9))
        assert frame.loc[code, "no_one_left_behind"] == first
        mean = (first + second) / 2 if second is not None else first
        assert frame.loc[code, "self_assessment"] == pytest.approx(mean)
    assert frame.loc["CIS-1", "country"] == "COL" and frame.loc["CIS-3", "city"] == "Boa Vista"


def test_the_collection_is_described_in_both_languages(server: str) -> None:
    spanish = httpx.get(f"{server}/ogc/collections/centres", params={"lang": "es"}).json()
    english = httpx.get(f"{server}/ogc/collections/centres", params={"lang": "en"}).json()
    assert spanish["title"] == "Centros de Integración Social y Co-creación del Hábitat"
    assert english["title"] == "Social Integration and Habitat Co-creation Centres"
    items = httpx.get(
        f"{server}/ogc/collections/centres/items", params={"bbox": "-80,-15,-70,10"}
    ).json()
    assert sorted(f["id"] for f in items["features"]) == ["CIS-1", "CIS-2"]
