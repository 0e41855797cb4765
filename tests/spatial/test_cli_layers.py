"""`inclusive-cities spatial clusters|layers|export|publish|interpolate` on the grid city."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from inclusive_cities.cli import main
from tests.spatial import grid_city as grid


@pytest.fixture
def url(tmp_path: Path) -> str:
    return grid.build(f"sqlite:///{tmp_path / 'o.db'}", tmp_path)


def run(url: str, *args: str) -> None:
    main(["--database", url, "--lang", "en", "spatial", *args])


def fails(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        run(url, *args)
    assert stopped.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("Error: ")
    return err


def test_clusters_are_stored_listed_exported_and_published(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--city", "GRD", "--period", "2024", "--indicator", "internet")
    run(url, "clusters", *common, "--out", str(tmp_path / "c.gpkg"))
    out = capsys.readouterr().out
    assert "Stored layer clusters-internet-manzana (id 1)." in out
    high_high = next(line for line in out.splitlines() if "High-high: hot spot" in line)
    assert int(high_high.split("│")[2]) >= len(grid.CORE)
    written = pyogrio.read_dataframe(tmp_path / "c.gpkg", layer="clusters-internet-manzana")
    assert len(written) == 100

    run(url, "layers", "--city", "GRD")
    listing = capsys.readouterr().out
    assert listing.splitlines()[0] == "   1  clusters-internet-manzana"
    assert listing.splitlines()[1].startswith(
        "      GRD 2024 · manzana · 100 features · not published"
    )
    assert listing.splitlines()[2].startswith("      source=internet, permutations=999, ")

    run(url, "export", "clusters-internet-manzana", "--out", str(tmp_path / "e.csv"))
    table = pd.read_csv(tmp_path / "e.csv", dtype={"code": str}).set_index("code")
    assert list(table.columns) == [
        "value",
        "moran_i",
        "moran_p",
        "moran_class",
        "gi_z",
        "gi_p",
        "gi_class",
    ]
    assert set(table.loc[grid.CORE, "moran_class"]) == {"high_high"}
    assert table.loc["r0c0", "value"] == 10 and table.loc["r9c9", "value"] == 0
    run(url, "export", "1", "--out", str(tmp_path / "e.gpkg"))
    exported = gpd.read_file(tmp_path / "e.gpkg").set_index("code")
    expected = grid.blocks_utm().set_index("code").to_crs("EPSG:4326")
    assert shapely.equals_exact(
        exported.geometry["r5c5"], expected.geometry["r5c5"], tolerance=1e-9
    )

    run(url, "publish", "clusters-internet-manzana")
    assert "Layer clusters-internet-manzana is published." in capsys.readouterr().out
    run(url, "clusters", *common, "--no-store")
    run(url, "layers")
    assert " · published · " in capsys.readouterr().out  # --no-store left the layer alone


def test_interpolate_to_h3_prints_kept_totals(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "h3.csv"
    args = ("interpolate", "--city", "GRD", "--period", "2024", "--indicator", "households")
    run(url, *args, "--indicator", "internet", "--h3", "9", "--out", str(out), "--store")
    printed = capsys.readouterr().out
    households = next(line for line in printed.splitlines() if "households" in line)
    assert households.split("│")[2].strip() == "sum"
    assert households.split("│")[3].strip() == households.split("│")[4].strip() == "5,050.0000"
    assert "Totals are kept" in printed
    assert "Stored layer interpolation-households-internet-manzana-to-h3-9" in printed
    table = pd.read_csv(out)
    assert table["households"].sum() == pytest.approx(5050, rel=1e-12)
    assert list(table.columns) == ["code", "households", "internet", "population"]
    # a rate is not summed: every cell's share stays within the blocks' range 0-10
    assert table["internet"].dropna().between(0, 10).all()

    # --extensive overrides the catalogue: internet is then summed like a count
    run(
        url,
        *args[:-2],
        "--indicator",
        "internet",
        "--extensive",
        "internet",
        "--h3",
        "9",
        "--out",
        str(out),
    )
    internet = next(line for line in capsys.readouterr().out.splitlines() if "internet" in line)
    assert internet.split("│")[2].strip() == "sum"
    assert internet.split("│")[3].strip() == f"{25 * 10:,.4f}"

    # so does a user's catalogue that declares it a count
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "version: 1\nindicators:\n  internet:\n    name: {es: Con internet, en: Online}\n"
        "    direction: neutral\n    record: household\n    aggregation: count\n"
        "    numerator: internet\n",
        encoding="utf-8",
    )
    plain = ("--indicator", "internet", "--h3", "9", "--out", str(out))
    run(url, *args[:-2], *plain, "--catalogue", str(mine))
    internet = next(line for line in capsys.readouterr().out.splitlines() if "internet" in line)
    assert internet.split("│")[2].strip() == "sum"


def test_bad_input_is_one_line_and_writes_nothing(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never.gpkg"
    base = ("interpolate", "--city", "GRD", "--period", "2024", "--out", str(out))
    utm = tmp_path / "utm.gpkg"
    grid.blocks_utm().to_file(utm, layer="blocks")
    cases = {
        "There is no indicator 'nope' in the observatory": ("--indicator", "nope", "--h3", "9"),
        "has no values for GRD, period 2024 at level 'manzana'": (
            "--indicator",
            "school_attendance_5_16",
            "--h3",
            "9",
        ),
        "H3 resolution 16 does not exist: use 0 to 15": (
            "--indicator",
            "households",
            "--h3",
            "16",
        ),
        f"The target file {utm} has no layer 'nope': its layers are blocks.": (
            "--indicator",
            "households",
            "--to",
            str(utm),
            "--to-layer",
            "nope",
        ),
        "Give either --h3 RESOLUTION or --to FILE, not both.": (
            "--indicator",
            "households",
            "--h3",
            "9",
            "--to",
            str(utm),
        ),
        "Weight 'people' is unknown: use area or population.": (
            "--indicator",
            "households",
            "--h3",
            "9",
            "--weight",
            "people",
        ),
    }
    for message, extra in cases.items():
        assert message in fails(url, capsys, *base, *extra)
    assert "give a file ending in .gpkg, .csv" in fails(
        url, capsys, *base[:-1], str(tmp_path / "x.shp"), "--indicator", "households", "--h3", "9"
    )
    assert "no stored layer 'nope'" in fails(url, capsys, "export", "nope", "--out", str(out))
    assert "Give one of --indicator, --marker SPEC or --run ID" in fails(
        url, capsys, "clusters", "--city", "GRD", "--period", "2024"
    )
    assert not out.exists()
    run(url, "layers")
    assert "No analysis layers are stored yet" in capsys.readouterr().out


def test_spanish_messages(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["--database", url, "--lang", "es", "spatial", "export", "nope", "--out", "x.csv"])
    assert "No hay ninguna capa guardada 'nope'" in capsys.readouterr().err
