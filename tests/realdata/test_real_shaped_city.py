"""Issue 14's acceptance test: a small real-shaped city through the CLI, as a user runs it.

``tests/realdata/city.py`` writes what a city's published block data looks like (one level,
its own column names, missing values coded 999 / -999 / 9999, distances in metres, a column
repeating each community's total, a block with no housing data). Every step is a CLI call; the
spec is proposed by ``marker spec init`` and edited the way a user does (indicators moved out of
UNSORTED into dimensions of four areas).

Expected scores are computed by hand: every indicator of block i is a linear function of
g = i / 39 that runs from the best observed value (block 0001) to the worst (block 0040), and
goalposts are the observed range, so every indicator of block i scores 100 (1 - g) up to the
rounding of the file's values (0.1 on a range of 40: ±0.13 points), and so does every node.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from inclusive_cities.cli import main
from tests.realdata.city import PARTIAL_BLOCK, RealShapedCity, build

CITY = "RSC"
MISSING = ["--missing", "999", "--missing", "-999", "--missing", "9999"]
TREE = {
    "VIV": {
        "V_CAL": ["hacinamiento", "tenencia_propia", "nbi_vivienda"],
        "V_SER": ["internet", "nbi_servicios"],
    },
    "SAL": {"S_PRO": ["dist_health_m"]},
    "EDU": {"E_PRO": ["dist_escuela_m"], "E_BIE": ["nbi_escolar", "computador"]},
    "OPO": {
        "O_PRO": ["dist_servicios_m"],
        "O_BIE": ["desempleo", "ocupacion", "nbi_dependencia", "nbi_hacinamiento"],
    },
}


def run(*args: str) -> None:
    """One CLI call in-process; a non-zero exit fails the test with the command shown."""
    try:
        main(list(args))
    except SystemExit as stop:
        assert stop.code in (0, None), f"exit {stop.code}: {' '.join(args)}"


def expected_score(code: str) -> float:
    return 100 * (1 - (int(code) - 1) / 39)


def edit_spec(path: Path) -> None:
    """What the user does by hand: move every indicator into its dimension, drop UNSORTED."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_code = {}

    def collect(node: dict) -> None:
        for indicator in node.get("indicators", []) or []:
            by_code[indicator["code"]] = indicator
        for child in node.get("children", []) or []:
            collect(child)

    collect(spec["tree"])
    published = {area["code"]: area for area in spec["tree"]["children"]}
    areas = []
    for area_code, dimensions in TREE.items():
        area = published.get(
            area_code, {"code": area_code, "name": {"es": area_code, "en": area_code}}
        )
        area = {"code": area_code, "name": area["name"], "children": []}
        for dimension, indicators in dimensions.items():
            area["children"].append(
                {
                    "code": dimension,
                    "name": {"es": dimension, "en": dimension},
                    "indicators": [by_code[c] for c in indicators],
                }
            )
        areas.append(area)
    spec["tree"]["children"] = areas
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[RealShapedCity, str, Path]:
    folder = tmp_path_factory.mktemp("real")
    built = build(folder)
    url = f"sqlite:///{folder / 'observatory.db'}"
    return built, url, folder


def test_a_real_shaped_city_end_to_end(
    city: tuple[RealShapedCity, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    built, url, folder = city
    db = ["--database", url, "--lang", "en"]
    run(*db, "init")
    run(
        *db,
        "import",
        "boundaries",
        str(built.boundaries),
        "--city",
        CITY,
        "--city-name",
        "Villa Real",
        "--level",
        "manzana",
        "--code-column",
        "cod_manzana",
    )
    capsys.readouterr()
    run(
        *db,
        "import",
        "table",
        str(built.table),
        "--city",
        CITY,
        "--level",
        "manzana",
        "--period",
        "2024",
        "--unit-column",
        "cod_manzana",
        "--dictionary",
        str(built.dictionary),
        *MISSING,
    )
    said = capsys.readouterr()
    # the community total repeated on every block is pointed out
    assert "pob_comuna" in said.out + said.err

    spec = folder / "my-spec.yaml"
    run(
        *db,
        "marker",
        "spec",
        "init",
        "--data",
        str(built.table),
        "--dictionary",
        str(built.dictionary),
        *MISSING,
        "--out",
        str(spec),
    )
    assert "UNSORTED" in spec.read_text(encoding="utf-8")
    edit_spec(spec)

    scores = folder / "scores.csv"
    run(
        *db,
        "marker",
        "compute",
        "--spec",
        str(spec),
        "--data",
        str(built.table),
        "--id-column",
        "cod_manzana",
        "--population-column",
        "poblacion",
        *MISSING,
        "--out",
        str(scores),
    )
    frame = pd.read_csv(scores, dtype={"cod_manzana": str})
    frame = frame.set_index("cod_manzana")
    text = scores.read_text(encoding="utf-8")
    assert ",999" not in text and ",-999" not in text and ",9999" not in text
    index_column = next(c for c in frame.columns if c in ("UIM", "score_UIM"))
    for code in built.codes:
        assert frame.loc[code, index_column] == pytest.approx(expected_score(code), abs=0.3)
    coverage_column = next(c for c in frame.columns if "coverage" in c)
    missing_column = next(c for c in frame.columns if "missing" in c)
    assert frame.loc[PARTIAL_BLOCK, coverage_column] < frame.loc["0001", coverage_column]
    assert "VIV" in str(frame.loc[PARTIAL_BLOCK, missing_column])

    run(
        *db,
        "marker",
        "build",
        "--city",
        CITY,
        "--period",
        "2024",
        "--spec",
        str(spec),
        "--level",
        "manzana",
    )
    run(*db, "publish", "--city", CITY, "--layers")

    database = url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        stored = dict(
            connection.execute(
                "select i.code, i.direction from indicators i where i.code in "
                "('dist_health_m','desempleo','ocupacion','dist_escuela_m','pob_comuna')"
            ).fetchall()
        )
        largest = connection.execute(
            "select max(o.value) from observations o join indicators i on i.id = o.indicator_id "
            "where i.unit = '%'"
        ).fetchone()[0]
        index = dict(
            connection.execute(
                "select u.code, s.score from marker_scores s join spatial_units u "
                "on u.id = s.unit_id where s.node_code = 'UIM'"
            ).fetchall()
        )
    assert stored == {
        "dist_health_m": "lower_is_better",  # the catalogue's meaning
        "desempleo": "lower_is_better",  # the dictionary's
        "ocupacion": "higher_is_better",
        "dist_escuela_m": "lower_is_better",
        "pob_comuna": "neutral",
    }
    assert largest <= 100  # no 999 stored as a share
    for code in built.codes:
        assert index[code] == pytest.approx(expected_score(code), abs=0.3)


def test_what_the_public_sees(city: tuple[RealShapedCity, str, Path]) -> None:
    """After the CLI run above: the map draws every block and the partial block says so."""
    import httpx
    from playwright.sync_api import sync_playwright

    from tests.web.live import live_server
    from tests.web.test_browser import ARGS, CHROMIUM

    built, url, _folder = city
    with live_server(url, factory="tests.realdata.server_app:app") as base:
        # no missing-value code on any public page or download, and no community total
        # summed into a population of the city
        for path in (
            f"/cities/{CITY}?lang=es",
            f"/cities/{CITY}/rankings?lang=es",
            f"/cities/{CITY}/units/{PARTIAL_BLOCK}?lang=es",
            f"/api/cities/{CITY}/units?limit=100",
        ):
            response = httpx.get(base + path, timeout=30)
            assert response.status_code == 200, path
            for code in ("999", "-999", "9999", "999,0", "999.0"):
                assert f">{code}<" not in response.text and f":{code}," not in response.text
        rankings = httpx.get(base + f"/cities/{CITY}/rankings?lang=es", timeout=30).text
        assert "Localidad" not in rankings  # one level only: no parent column
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("https://**/*.png", lambda route, request: route.abort())
            page.goto(base + f"/cities/{CITY}/map?lang=es")
            page.wait_for_selector("body[data-map-ready='node:UIM']")
            page.wait_for_function("window.observatoryMap.loaded()")
            drawn = page.evaluate(
                "window.observatoryMap.queryRenderedFeatures({layers: ['units-fill']})"
                ".map(f => f.properties.code)"
            )
            page.goto(base + f"/cities/{CITY}/units/{PARTIAL_BLOCK}?lang=es")
            coverage = page.locator("#unit-coverage").inner_text()
            page.wait_for_selector("[data-spec-id='radar'][data-rendered='true'] svg")
            spokes = page.locator("[data-spec-id='radar'] svg g.mark-rule line").count()
            body = page.locator("body").inner_text()
            browser.close()
    assert sorted(set(drawn)) == sorted(built.codes)
    assert "parcial" in coverage and "Vivienda" in coverage
    assert spokes == 3  # four areas, housing left out rather than drawn at 0
    assert "sin dato" in body
    assert errors == []
