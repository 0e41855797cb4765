"""The survey command group, run in-process end to end on the tiny city."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from inclusive_cities.store import models, transaction

from .helpers import run, tiny_boundaries, tiny_store


def test_demo_import_layers_estimate(tmp_path, capsys):
    boundaries = tiny_boundaries(tmp_path / "boundaries.gpkg")
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    engine = tiny_store(url, boundaries)
    out, data_dir = tmp_path / "survey", tmp_path / "data"
    assert (
        run(
            "--lang",
            "en",
            "survey",
            "demo",
            str(boundaries),
            "--out",
            str(out),
            "--households",
            "200",
        )
        == 0
    )
    assert "Synthetic survey written" in capsys.readouterr().out
    common = ["--city", "DEMO", "--period", "2024", "--data-dir", str(data_dir)]
    assert (
        run(
            "--database",
            url,
            "--lang",
            "en",
            "survey",
            "import",
            str(out / "form.xlsx"),
            str(out / "data.xlsx"),
            "--design",
            str(out / "design.yaml"),
            *common,
        )
        == 0
    )
    assert "Imported survey" in capsys.readouterr().out
    assert (
        run(
            "--database",
            url,
            "--lang",
            "en",
            "survey",
            "import",
            str(out / "form.xlsx"),
            str(out / "data.xlsx"),
            "--design",
            str(out / "design.yaml"),
            *common,
        )
        == 0
    )
    assert "nothing changed" in capsys.readouterr().out
    # geopoints placed in the store's own block polygons (no unit-code column)
    geo_design = tmp_path / "geo.yaml"
    geo_design.write_text("weight: peso\nstrata: estrato_muestral\npsu: upm\ngeopoint: ubicacion\n")
    geo_dir = tmp_path / "geo-data"
    assert (
        run(
            "--database",
            url,
            "--lang",
            "en",
            "survey",
            "import",
            str(out / "form.xlsx"),
            str(out / "data.xlsx"),
            "--design",
            str(geo_design),
            "--city",
            "DEMO",
            "--period",
            "2024",
            "--data-dir",
            str(geo_dir),
            "--survey",
            "geo",
        )
        == 0
    )
    placed = pd.read_parquet(
        geo_dir / "surveys" / "DEMO" / "2024" / "geo" / "current" / "main.parquet"
    )
    assert (placed["unit_code"] == placed["codigo_manzana"]).mean() > 0.95
    assert (
        run(
            "--database",
            url,
            "survey",
            "layers",
            "--survey",
            "encuesta_migrantes_demo",
            "--level",
            "barrio",
            *common,
        )
        == 0
    )
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Observation)) > 0
    census_dir = data_dir / "microdata" / "DEMO" / "2023"
    census_dir.mkdir(parents=True)
    pd.DataFrame(
        {
            "sex": ["female", "male"] * 400,
            "age": list(range(80)) * 10,
            "nationality": ["venezuelan"] * 800,
        }
    ).to_parquet(census_dir / "persons.parquet")
    assert (
        run(
            "--database",
            url,
            "survey",
            "layers",
            "--survey",
            "encuesta_migrantes_demo",
            "--level",
            "barrio",
            "--calibrate-census",
            "2023",
            "--calibrate-by",
            "age_group,sex",
            *common,
        )
        == 0
    )
    capsys.readouterr()
    assert (
        run(
            "--database",
            url,
            "--lang",
            "en",
            "survey",
            "layers",
            "--survey",
            "encuesta_migrantes_demo",
            "--calibrate-census",
            "2023",
            *common,
        )
        == 1
    )
    assert "no population total for the sample cells" in capsys.readouterr().err
    csv = tmp_path / "est.csv"
    assert (
        run(
            "--database",
            url,
            "survey",
            "estimate",
            "ingreso",
            "--survey",
            "encuesta_migrantes_demo",
            "--by",
            "estrato_muestral",
            "-o",
            str(csv),
            *common,
        )
        == 0
    )
    assert (
        run(
            "--database",
            url,
            "survey",
            "estimate",
            "afiliado_salud",
            "--survey",
            "encuesta_migrantes_demo",
            "--table",
            "persons",
            "--statistic",
            "proportion",
            "--level",
            "barrio",
            "--by",
            "barrio",
            "--by",
            "sexo",
            "-o",
            str(tmp_path / "b.csv"),
            *common,
        )
        == 0
    )
    by_barrio = pd.read_csv(tmp_path / "b.csv", dtype={"barrio": str})
    assert set(by_barrio["barrio"]) == {"01001", "01002", "02001", "02002"}
    assert set(by_barrio["category"]) == {"si", "no"} and set(by_barrio["sexo"]) == {"F", "M"}
    assert (
        run(
            "--database",
            url,
            "survey",
            "estimate",
            "edad",
            "--survey",
            "encuesta_migrantes_demo",
            "--table",
            "persons",
            "--by",
            "age_group",
            "-o",
            str(tmp_path / "a.csv"),
            *common,
        )
        == 0
    )
    assert list(pd.read_csv(tmp_path / "a.csv")["age_group"])[:2] == ["0-14", "15-29"]
    table = pd.read_csv(csv)
    assert list(table["estrato_muestral"]) == [1, 2]
    assert {"estimate", "se", "ci_low", "ci_high", "cv", "deff", "n", "status"} <= set(table)


def test_errors_are_one_line(tmp_path, capsys):
    code = run(
        "--lang",
        "en",
        "survey",
        "demo",
        str(tmp_path / "missing.gpkg"),
        "--out",
        str(tmp_path / "o"),
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "Cannot read layers 'manzana' and 'localidad'" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
