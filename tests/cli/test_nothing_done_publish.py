"""Commands that would do nothing useful say why and exit 1 (CONTRIBUTING: "A command that
produces nothing useful exits non-zero"); ``publish --layers`` works without a marker run.

A city of one level (three parishes, boundaries and one imported table, no census and no
marker run) is what a user with only a statistical office's table has.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from inclusive_cities.cli import main
from inclusive_cities.store import models
from inclusive_cities.store.web_models import PublishedLayer

X0, Y0 = 776_000.0, 9_975_000.0  # metres, EPSG:32717 (Quito)


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nothing")
    parishes = gpd.GeoDataFrame(
        {"codigo": ["0050", "0051", "0052"], "nombre": ["Quito", "Alangasí", "Amaguaña"]},
        geometry=[shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)],
        crs="EPSG:32717",
    )
    parishes.to_file(folder / "p.gpkg", driver="GPKG")
    table = folder / "censo.csv"
    table.write_text("codigo;hacinamiento\n0050;10,4\n0051;15,1\n0052;-999\n", encoding="latin-1")
    db = f"sqlite:///{folder / 'o.db'}"
    for args in (
        ["init"],
        ["import", "boundaries", str(folder / "p.gpkg"), "--city", "QUI", "--level", "parroquia"],
        ["import", "table", str(table), "--city", "QUI", "--unit-column", "codigo",
         "--period", "2010", "--decimal", ",", "--missing", "-999"],
    ):  # fmt: skip
        try:
            main(["--database", db, "--lang", "en", *args])
        except SystemExit as stop:
            assert not stop.code, args
    return folder / "o.db"


def test_publish_without_marker_run_says_what_to_run(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --layers and no marker run: nothing could be published, so exit 1 naming marker
    build and --layers (before, "Published 0 marker runs and 0 indicator layers", exit 0)."""
    code, _out, err = call(capsys, "--database", f"sqlite:///{store}", "--lang", "es",
                          "publish", "--city", "QUI")  # fmt: skip
    assert code == 1
    assert "QUI no tiene ningún cálculo del marcador" in err
    assert "marker build --city QUI" in err and "--layers" in err


def test_indicators_compute_with_nothing_to_compute_exits_1(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A table-only city: nothing computed (no census), exit 1 with the next step, which for
    imported tables is publish --layers."""
    code, out, err = call(capsys, "--database", f"sqlite:///{store}", "--lang", "en",
                          "indicators", "compute", "--city", "QUI", "--period", "2010")  # fmt: skip
    assert code == 1, out
    assert "No indicator was computed for QUI, period 2010" in err
    assert "publish --city QUI --layers" in err


def test_publish_layers_of_a_city_without_marker_run(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--layers publishes the imported table's layer of period 2010 (one indicator), exit 0."""
    code, out, err = call(capsys, "--database", f"sqlite:///{store}", "--lang", "en",
                          "publish", "--city", "QUI", "--layers")  # fmt: skip
    assert code == 0, err
    assert "Published 0 marker runs and 1 indicator layer of QUI." in " ".join(out.split())
    with Session(create_engine(f"sqlite:///{store}")) as s:
        published = s.execute(
            select(models.Indicator.code, models.Period.code)
            .join(PublishedLayer, PublishedLayer.indicator_id == models.Indicator.id)
            .join(models.Period, models.Period.id == PublishedLayer.period_id)
        ).all()
    assert published == [("hacinamiento", "2010")]
