"""The centres network over OGC API Features, read by GDAL's OAPIF driver from a live server.

Three centres come in from a CSV with Spanish headers; GDAL must list the ``centres``
collection, page through it, and give back each point and the principles self-assessment as
they were typed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from inclusive_cities.monitoring.centres import import_centres
from tests.monitoring.test_deliveries import build, write
from tests.web.live import free_port

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
    with threaded_server(url) as base:
        yield base


@contextmanager
def threaded_server(url: str) -> Iterator[str]:
    """The web app under uvicorn in a thread of this process: GDAL talks HTTP to it as to any
    server, without the seconds a fresh interpreter takes to import the app."""
    import uvicorn

    from inclusive_cities.web import create_app
    from tests.web.conftest import specs

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(url, specs=specs), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


GDAL_READ = """
import json, sys
import pyogrio
source = "OAPIF:" + sys.argv[1] + "/ogc"
layers = [name for name, _kind in pyogrio.list_layers(source)]
frame = pyogrio.read_dataframe(source, layer="centres", PAGE_SIZE=2)
rows = {
    str(row["code"]): {
        **{k: (None if v != v else v) for k, v in row.drop("geometry").items()},
        "x": row.geometry.x,
        "y": row.geometry.y,
    }
    for _i, row in frame.iterrows()
}
print(json.dumps({"layers": layers, "rows": rows}, default=str))
"""


def gdal_read(server: str) -> dict[str, Any]:
    """GDAL's OAPIF driver in another process (GDAL's HTTP calls hold this one's GIL, which
    the server thread needs), returning what it read."""
    done = subprocess.run(
        [sys.executable, "-c", GDAL_READ, server], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_gdal_reads_the_centres_collection(server: str) -> None:
    read = gdal_read(server)
    assert "centres" in read["layers"]
    rows = read["rows"]
    assert sorted(rows) == sorted(CENTRES)
    for code, (name, lon, lat, first, second) in CENTRES.items():
        assert rows[code]["name"] == name
        assert (rows[code]["x"], rows[code]["y"]) == (
            pytest.approx(lon, abs=1e-9),
            pytest.approx(lat, abs=1e-9),
        )
        assert rows[code]["no_one_left_behind"] == first
        mean = (first + second) / 2 if second is not None else first
        assert rows[code]["self_assessment"] == pytest.approx(mean)
    assert rows["CIS-1"]["country"] == "COL" and rows["CIS-3"]["city"] == "Boa Vista"


def test_the_collection_is_described_in_both_languages(server: str) -> None:
    spanish = httpx.get(f"{server}/ogc/collections/centres", params={"lang": "es"}).json()
    english = httpx.get(f"{server}/ogc/collections/centres", params={"lang": "en"}).json()
    assert spanish["title"] == "Centros de Integración Social y Co-creación del Hábitat"
    assert english["title"] == "Social Integration and Habitat Co-creation Centres"
    items = httpx.get(
        f"{server}/ogc/collections/centres/items", params={"bbox": "-80,-15,-70,10"}
    ).json()
    assert sorted(f["id"] for f in items["features"]) == ["CIS-1", "CIS-2"]
