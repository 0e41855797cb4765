"""The files of the contract exist, open with the usual tools and say they are synthetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio

from inclusive_cities.demo import FILES, GeneratedCity

BOUNDARY_LAYERS = {"localidad", "barrio", "manzana"}
ENVIRONMENT_LAYERS = {"zonas_riesgo", "espacio_publico", "rio", "vias"}


def test_every_file_of_the_contract_is_written(small_city: GeneratedCity) -> None:
    names = sorted(path.name for path in small_city.directory.iterdir())
    assert names == sorted(
        [
            "README.txt",
            "boundaries.gpkg",
            "environment.gpkg",
            "facilities.csv",
            "census_households.csv",
            "census_persons.csv",
            "indicators_neighbourhood.csv",
        ]
    )
    assert {key: path.name for key, path in small_city.files.items()} == FILES


def test_geopackages_have_the_layers_and_crs(small_city: GeneratedCity) -> None:
    for key, expected in (("boundaries", BOUNDARY_LAYERS), ("environment", ENVIRONMENT_LAYERS)):
        path = small_city.files[key]
        assert {name for name, _ in pyogrio.list_layers(path)} == expected
        for layer in expected:
            info = pyogrio.read_info(path, layer=layer)
            assert info["crs"] == "EPSG:32618", (key, layer)
            assert info["features"] > 0, (key, layer)
            assert "SYNTHETIC DEMO DATA" in info["layer_metadata"]["DESCRIPTION"], (key, layer)


def test_boundary_columns(boundaries: dict) -> None:
    for layer, frame in boundaries.items():
        assert list(frame.columns) == ["codigo", "nombre", "codigo_padre", "geometry"], layer
        assert frame["codigo"].map(type).eq(str).all(), layer


def test_environment_columns(small_city: GeneratedCity) -> None:
    path = small_city.files["environment"]
    zones = pyogrio.read_dataframe(path, layer="zonas_riesgo")
    assert set(zones["tipo"]) == {"inundacion", "remocion_masa"}
    assert zones["mitigable"].dtype == bool
    assert set(zones["mitigable"]) == {True, False}
    public = pyogrio.read_dataframe(path, layer="espacio_publico")
    assert set(public["tipo"]) == {"parque", "plaza", "zona_verde"}
    assert public["codigo"].is_unique
    assert (pyogrio.read_dataframe(path, layer="rio").geom_type.str.contains("LineString")).all()
    streets = pyogrio.read_dataframe(path, layer="vias")
    assert (streets.geom_type == "LineString").all()
    assert set(streets["tipo"]) == {"principal", "local"}


def test_facilities_csv_layout(small_city: GeneratedCity) -> None:
    table = pd.read_csv(small_city.files["facilities"], dtype={"id": str})
    assert list(table.columns) == ["id", "nombre", "tipo", "lat", "lon", "capacidad"]
    assert table["id"].is_unique
    assert set(table["tipo"]) == {
        "centro_salud", "hospital", "colegio", "biblioteca", "centro_cultural", "paradero",
        "comercio", "centro_integracion", "servicio_empleo",
    }  # fmt: skip
    # Around 7.9 N, 72.5 W: within a city's reach of the centre given in the contract.
    assert table["lat"].between(7.8, 8.0).all()
    assert table["lon"].between(-72.6, -72.4).all()
    assert table.loc[table["tipo"] == "colegio", "capacidad"].notna().all()


def test_indicator_table_has_hxl_row_and_decimal_commas(small_city: GeneratedCity) -> None:
    lines = small_city.files["indicators"].read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "codigo_barrio;periodo;tasa_delitos;mezcla_usos;gobernanza_migratoria;brecha_esperanza_vida"
    )
    assert lines[1] == (
        "#adm3+code;#date+year;#indicator+crime_rate_per_100k;#indicator+land_use_mix;"
        "#indicator+migration_governance_score;#indicator+life_expectancy_gap_years"
    )
    rows = [line.split(";") for line in lines[2:]]
    assert len(rows) == small_city.barrios
    by_localidad: dict[str, set[str]] = {}
    gaps, crimes = [], []
    for code, period, crime, mix, governance, gap in rows:
        assert len(code) == 5 and code.isdigit()
        assert period == "2024"
        assert "," in crime and "." not in crime
        assert 0 < float(mix.replace(",", ".")) < 1
        assert 0 <= float(governance.replace(",", ".")) <= 100
        by_localidad.setdefault(code[:2], set()).add(governance)
        gaps.append(float(gap.replace(",", ".")))
        crimes.append(float(crime.replace(",", ".")))
    # women outlive men everywhere, by more where crime is higher
    assert all(2 <= gap <= 12 for gap in gaps)
    assert np.corrcoef(np.log(crimes), gaps)[0, 1] > 0.3
    # one assessment per localidad: its barrios share the score, localidades differ
    assert all(len(scores) == 1 for scores in by_localidad.values())
    assert len({next(iter(s)) for s in by_localidad.values()}) > 1


def test_readme_says_synthetic_in_both_languages(small_city: GeneratedCity) -> None:
    text = small_city.files["readme"].read_text(encoding="utf-8")
    assert "SYNTHETIC DEMO DATA" in text
    assert "DATOS SINTÉTICOS DE DEMOSTRACIÓN" in text
    assert "seed: 0" in text and "size: small" in text
    assert "sintética" in small_city.name


def test_census_csvs_are_plain_utf8_with_the_layout_header(small_city: GeneratedCity) -> None:
    households = small_city.files["households"].read_text(encoding="utf-8").splitlines()
    persons = small_city.files["persons"].read_text(encoding="utf-8").splitlines()
    assert households[0] == (
        "COD_MANZANA,ID_HOGAR,H_PERSONAS,H_DORMITORIOS,V_PARED,V_PISO,V_ACUEDUCTO,"
        "V_ALCANTARILLADO,V_ENERGIA,V_BASURA,H_INTERNET,H_TENENCIA,H_ARRIENDO,H_INGRESO,"
        "V_ESTRATO"
    )
    assert persons[0] == (
        "COD_MANZANA,ID_HOGAR,ID_PERSONA,P_SEXO,P_EDAD,P_NACIONALIDAD,P_ANOS_ESTUDIO,"
        "P_ASISTE,P_SALUD,P_TRABAJO,P_INFORMAL,P_DISCAP"
    )
    first = households[1].split(",")
    assert len(first[0]) == 9 and first[0].startswith("0")  # leading zeros kept, unquoted
    assert len(first[1]) == 8 and first[1].isdigit()
