"""The shipped DANE CNPV 2018 and INEI 2017 profiles, end to end on files in the real layouts.

Each test writes a few rows by hand with the census's real column names and codes (see the
sources cited in docs/data-formats/census-profiles.md), runs the preparation script printed
in that page (so the documented command is the one tested; it now only joins files and keeps
the city's rows, the keys and unit codes are composed by the profiles), imports the result
through the real importer and compares the canonical values with the ones worked out by
hand below.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import Engine

from inclusive_cities.ingest import (
    LevelSpec,
    canonical_variables,
    import_boundaries,
    import_census,
    load_profile,
    microdata_path,
)
from inclusive_cities.ingest.variables import PROFILES_DIR
from tests.ingest.conftest import UTM, square

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data-formats" / "census-profiles.md"


def names(text: str) -> list[str]:
    return text.split()


# Real column lists, in file order (sources [D1] and [D2] of the docs page).
VIV_COLUMNS = names(
    "TIPO_REG U_DPTO U_MPIO UA_CLASE U_EDIFICA COD_ENCUESTAS U_VIVIENDA UVA_ESTATER "
    "UVA1_TIPOTER UVA2_CODTER UVA_ESTA_AREAPROT UVA1_COD_AREAPROT UVA_USO_UNIDAD V_TIPO_VIV "
    "V_CON_OCUP V_TOT_HOG V_MAT_PARED V_MAT_PISO VA_EE VA1_ESTRATO VB_ACU VC_ALC VD_GAS "
    "VE_RECBAS VE1_QSEM VF_INTERNET V_TIPO_SERSA L_TIPO_INST L_EXISTEHOG L_TOT_PERL"
)
HOG_COLUMNS = names(
    "TIPO_REG U_DPTO U_MPIO UA_CLASE COD_ENCUESTAS U_VIVIENDA H_NROHOG H_NRO_CUARTOS "
    "H_NRO_DORMIT H_DONDE_PREPALIM H_AGUA_COCIN HA_NRO_FALL HA_TOT_PER"
)
PER_COLUMNS = names(
    "TIPO_REG U_DPTO U_MPIO UA_CLASE U_EDIFICA COD_ENCUESTAS U_VIVIENDA P_NROHOG P_NRO_PER "
    "P_SEXO P_EDADR P_PARENTESCOR PA1_GRP_ETNIC PA11_COD_ETNIA PA12_CLAN PA21_COD_VITSA "
    "PA22_COD_KUMPA PA_HABLA_LENG PA1_ENTIENDE PB_OTRAS_LENG PB1_QOTRAS_LENG PA_LUG_NAC "
    "PA_VIVIA_5ANOS PA_VIVIA_1ANO P_ENFERMO P_QUEHIZO_PPAL PA_LO_ATENDIERON PA1_CALIDAD_SERV "
    "CONDICION_FISICA P_ALFABETA PA_ASISTENCIA P_NIVEL_ANOSR P_TRABAJO P_EST_CIVIL PA_HNV "
    "PA1_THNV PA2_HNVH PA3_HNVM PA_HNVS PA1_THSV PA2_HSVH PA3_HSVM PA_HFC PA1_THFC PA2_HFCH "
    "PA3_HFCM PA_UHNV PA1_MES_UHNV PA2_ANO_UHNV"
)
MGN_COLUMNS = names(
    "U_DPTO U_MPIO UA_CLASE UA1_LOCALIDAD U_SECT_RUR U_SECC_RUR UA2_CPOB U_SECT_URB "
    "U_SECC_URB U_MZA U_EDIFICA COD_ENCUESTAS U_VIVIENDA"
)

# Block codes of the test city, written out by hand from the MGN rows below:
# 05 + 001 + 1 + 000 + 00 + 000 + 0101 + 01 + 01 (and U_MZA 02 for the second block, whose
# MGN row lost its leading zeros — 0, 0, 0, 101, 1, 2 — and is padded back by the profile).
BLOCK_A = "0500110000000001010101"
BLOCK_B = "0500110000000001010102"


def prepare_script(marker: str) -> str:
    """The Python block of the docs page whose first line is ``# prepare: <marker>``."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    found = [b for b in blocks if b.startswith(f"# prepare: {marker}\n")]
    assert len(found) == 1, f"docs page has {len(found)} prepare blocks for {marker}"
    return found[0]


def run_prepare(marker: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    exec(compile(prepare_script(marker), f"<docs:{marker}>", "exec"), {})


def city_with_units(engine: Engine, folder: Path, city: str, level: str, codes: list[str]) -> None:
    """A city whose only (hence smallest) level has the given unit codes."""
    frame = gpd.GeoDataFrame(
        {"codigo": codes, "nombre": codes},
        geometry=[square(1000 * i, 0) for i in range(len(codes))],
        crs=UTM,
    )
    path = folder / f"{level}.gpkg"
    frame.to_file(path, layer=level, driver="GPKG")
    import_boundaries(engine, path, [LevelSpec(level, layer=level)], city=city)


def write_rows(path: Path, header: list[str], rows: list[dict[str, object]]) -> None:
    unknown = {key for row in rows for key in row} - set(header)
    assert not unknown, unknown
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[row.get(column, "") for column in header] for row in rows])


def mapped(profile: str, record: str) -> dict[str, str]:
    return {m.variable.name: m.source for m in load_profile(profile, record).mappings}


def test_shipped_profiles_load_and_map_what_the_census_has() -> None:
    assert mapped("dane-cnpv-2018", "households") == {
        "unit_code": "COD_MANZANA",
        "household_id": "CLAVE_HOGAR",
        "persons": "HA_TOT_PER",
        "bedrooms": "H_NRO_DORMIT",
        "durable_walls": "V_MAT_PARED",
        "durable_floor": "V_MAT_PISO",
        "electricity": "VA_EE",
        "piped_water": "VB_ACU",
        "sewerage": "VC_ALC",
        "refuse_collection": "VE_RECBAS",
        "internet": "VF_INTERNET",
        "stratum": "VA1_ESTRATO",
    }
    assert mapped("dane-cnpv-2018", "persons") == {
        "unit_code": "COD_MANZANA",
        "household_id": "CLAVE_HOGAR",
        "person_id": "CLAVE_PERSONA",
        "sex": "P_SEXO",
        "attends_school": "PA_ASISTENCIA",
        "labour_status": "P_TRABAJO",
        "disability": "CONDICION_FISICA",
    }
    assert mapped("inei-censo-2017", "households") == {
        "unit_code": "ubigeo",
        "household_id": "id_hog_imp_f",
        "persons": "c4_p1",
        "durable_walls": "c2_p3",
        "durable_floor": "c2_p5",
        "piped_water": "c2_p6",
        "sewerage": "c2_p10",
        "electricity": "c2_p11",
        "internet": "c3_p2_13",
    }
    assert mapped("inei-censo-2017", "persons") == {
        "unit_code": "ubigeo",
        "household_id": "id_hog_imp_f",
        "person_id": "id_pob_imp_f",
        "sex": "c5_p2",
        "age": "c5_p4_1",
        "attends_school": "c5_p14",
        "health_insurance": "c5_p8_6",
    }
    # every canonical variable a profile leaves out is named in its header comment
    for name in ("dane-cnpv-2018", "inei-censo-2017"):
        text = (PROFILES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        header = text.split("\nname:", 1)[0]
        for record in ("households", "persons"):
            left_out = set(canonical_variables()[record]) - set(mapped(name, record))
            for variable in left_out:
                assert re.search(rf"\b{variable}\b", header), f"{name}: {variable} not explained"


def composed(
    profile: str, record: str
) -> dict[str, tuple[tuple[str, ...], tuple[object, ...], str]]:
    return {
        m.variable.name: (m.compose, m.pad, m.separator)
        for m in load_profile(profile, record).mappings
        if m.compose
    }


def test_shipped_profiles_compose_keys_and_codes_from_the_census_columns() -> None:
    block = (
        ("U_DPTO", "U_MPIO", "UA_CLASE", "U_SECT_RUR", "U_SECC_RUR", "UA2_CPOB", "U_SECT_URB",
         "U_SECC_URB", "U_MZA"),
        (2, 3, 1, 3, 2, 3, 4, 2, 2),  # 22 digits, the length of BLOCK_A
        "",
    )  # fmt: skip
    assert sum(block[1]) == len(BLOCK_A) == 22
    dwelling = ("U_DPTO", "U_MPIO", "UA_CLASE", "COD_ENCUESTAS", "U_VIVIENDA")
    assert composed("dane-cnpv-2018", "households") == {
        "unit_code": block,
        "household_id": ((*dwelling, "H_NROHOG"), (None,) * 6, "-"),
    }
    assert composed("dane-cnpv-2018", "persons") == {
        "unit_code": block,
        "household_id": ((*dwelling, "P_NROHOG"), (None,) * 6, "-"),
        "person_id": ((*dwelling, "P_NROHOG", "P_NRO_PER"), (None,) * 7, "-"),
    }
    ubigeo = {"unit_code": (("ccdd", "ccpp", "ccdi"), (2, 2, 2), "")}
    assert composed("inei-censo-2017", "households") == ubigeo
    assert composed("inei-censo-2017", "persons") == ubigeo
    # 99 means "not reported" for bedrooms only; "NA" (files re-saved from R) everywhere
    dane = load_profile("dane-cnpv-2018", "households")
    assert dane.missing == ("", "NA")
    assert {m.variable.name: m.missing for m in dane.mappings if m.missing} == {"bedrooms": ("99",)}


def test_dane_wall_codes_follow_the_questionnaire() -> None:
    walls = next(
        m
        for m in load_profile("dane-cnpv-2018", "households").mappings
        if m.source == "V_MAT_PARED"
    )
    # 1 bloque/ladrillo, 2 concreto vaciado, 3 prefabricado are durable; 4-9 are not
    assert walls.codes == {str(c): c <= 3 for c in range(1, 10)}


def dane_files(folder: Path) -> None:
    """Department 05 (Antioquia): two dwellings of municipality 001 and one of 002."""
    dwelling = {"U_DPTO": "05", "U_MPIO": "001", "UA_CLASE": "1", "U_EDIFICA": "1"}
    write_rows(
        folder / "CNPV2018_MGN_A2_05.CSV",
        MGN_COLUMNS,
        [
            {**dwelling, "COD_ENCUESTAS": "3630", "U_VIVIENDA": "1", "U_SECT_RUR": "000",
             "U_SECC_RUR": "00", "UA2_CPOB": "000", "U_SECT_URB": "0101", "U_SECC_URB": "01",
             "U_MZA": "01"},
            {**dwelling, "COD_ENCUESTAS": "3672", "U_VIVIENDA": "17", "U_SECT_RUR": "0",
             "U_SECC_RUR": "0", "UA2_CPOB": "0", "U_SECT_URB": "101", "U_SECC_URB": "1",
             "U_MZA": "2"},
            {**dwelling, "U_MPIO": "002", "COD_ENCUESTAS": "9000", "U_VIVIENDA": "1",
             "U_SECT_RUR": "000", "U_SECC_RUR": "00", "UA2_CPOB": "000", "U_SECT_URB": "0001",
             "U_SECC_URB": "01", "U_MZA": "01"},
        ],
    )  # fmt: skip
    write_rows(
        folder / "CNPV2018_1VIV_A2_05.CSV",
        VIV_COLUMNS,
        [
            {"TIPO_REG": 1, **dwelling, "COD_ENCUESTAS": "3630", "U_VIVIENDA": "1",
             "V_TOT_HOG": 2, "V_MAT_PARED": 1, "V_MAT_PISO": 2, "VA_EE": 1, "VA1_ESTRATO": 2,
             "VB_ACU": 1, "VC_ALC": 1, "VD_GAS": 1, "VE_RECBAS": 1, "VF_INTERNET": 1},
            {"TIPO_REG": 1, **dwelling, "COD_ENCUESTAS": "3672", "U_VIVIENDA": "17",
             "V_TOT_HOG": 1, "V_MAT_PARED": 5, "V_MAT_PISO": 6, "VA_EE": 2, "VA1_ESTRATO": "NA",
             "VB_ACU": 2, "VC_ALC": 2, "VD_GAS": 2, "VE_RECBAS": 2, "VF_INTERNET": 2},
            {"TIPO_REG": 1, **dwelling, "U_MPIO": "002", "COD_ENCUESTAS": "9000",
             "U_VIVIENDA": "1", "V_MAT_PARED": 1, "V_MAT_PISO": 1, "VA_EE": 1, "VB_ACU": 1,
             "VC_ALC": 1, "VE_RECBAS": 1, "VF_INTERNET": 1},
        ],
    )  # fmt: skip
    household = {"TIPO_REG": 2, "U_DPTO": "05", "U_MPIO": "001", "UA_CLASE": "1"}
    write_rows(
        folder / "CNPV2018_2HOG_A2_05.CSV",
        HOG_COLUMNS,
        [
            {**household, "COD_ENCUESTAS": "3630", "U_VIVIENDA": "1", "H_NROHOG": 1,
             "H_NRO_CUARTOS": 3, "H_NRO_DORMIT": 2, "HA_TOT_PER": 2},
            {**household, "COD_ENCUESTAS": "3630", "U_VIVIENDA": "1", "H_NROHOG": 2,
             "H_NRO_CUARTOS": 3, "H_NRO_DORMIT": 99, "HA_TOT_PER": 1},
            {**household, "COD_ENCUESTAS": "3672", "U_VIVIENDA": "17", "H_NROHOG": 1,
             "H_NRO_CUARTOS": 2, "H_NRO_DORMIT": 1, "HA_TOT_PER": 1},
            {**household, "U_MPIO": "002", "COD_ENCUESTAS": "9000", "U_VIVIENDA": "1",
             "H_NROHOG": 1, "H_NRO_DORMIT": 1, "HA_TOT_PER": 1},
        ],
    )  # fmt: skip
    person = {"TIPO_REG": 5, **dwelling}
    write_rows(
        folder / "CNPV2018_5PER_A2_05.CSV",
        PER_COLUMNS,
        [
            {**person, "COD_ENCUESTAS": "3630", "U_VIVIENDA": "1", "P_NROHOG": 1, "P_NRO_PER": 1,
             "P_SEXO": 1, "P_EDADR": 9, "PA_LUG_NAC": 1, "PA_ASISTENCIA": 2,
             "CONDICION_FISICA": 2, "P_TRABAJO": 1},
            {**person, "COD_ENCUESTAS": "3630", "U_VIVIENDA": "1", "P_NROHOG": 1, "P_NRO_PER": 2,
             "P_SEXO": 2, "P_EDADR": 3, "PA_LUG_NAC": 3, "PA_ASISTENCIA": 1,
             "CONDICION_FISICA": 1, "P_TRABAJO": 6},
            {**person, "COD_ENCUESTAS": "3630", "U_VIVIENDA": "1", "P_NROHOG": 2, "P_NRO_PER": 1,
             "P_SEXO": 2, "P_EDADR": 7, "PA_LUG_NAC": 2, "PA_ASISTENCIA": 9,
             "CONDICION_FISICA": 9, "P_TRABAJO": 4},
            {**person, "COD_ENCUESTAS": "3672", "U_VIVIENDA": "17", "P_NROHOG": 1, "P_NRO_PER": 1,
             "P_SEXO": 1, "P_EDADR": 1, "PA_LUG_NAC": 1, "PA_ASISTENCIA": "",
             "CONDICION_FISICA": 2, "P_TRABAJO": 0},
            {**person, "U_MPIO": "002", "COD_ENCUESTAS": "9000", "U_VIVIENDA": "1",
             "P_NROHOG": 1, "P_NRO_PER": 1, "P_SEXO": 1, "P_TRABAJO": 1},
        ],
    )  # fmt: skip


def test_dane_cnpv_2018_layout_imports_to_canonical_values(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city_with_units(engine, tmp_path, "MDE", "manzana", [BLOCK_A, BLOCK_B])
    raw = tmp_path / "cnpv"
    raw.mkdir()
    dane_files(raw)
    run_prepare("dane-cnpv-2018", raw, monkeypatch)
    data = tmp_path / "data"
    options = dict(city="MDE", period="2018", profile="dane-cnpv-2018", data_dir=data)
    houses_report = import_census(engine, raw / "hogares.parquet", record="households", **options)
    people_report = import_census(engine, raw / "personas.parquet", record="persons", **options)
    assert (houses_report.rows_read, houses_report.rows_rejected) == (3, 0)
    assert (people_report.rows_read, people_report.rows_rejected) == (4, 0)

    # the joins of the preparation query do not keep the file order: compare in key order
    houses = pd.read_parquet(microdata_path(data, "MDE", "2018", "households"))
    houses = houses.sort_values("household_id", ignore_index=True)
    # U_DPTO-U_MPIO-UA_CLASE-COD_ENCUESTAS-U_VIVIENDA-H_NROHOG of the hogares rows
    assert houses.household_id.tolist() == [
        "05-001-1-3630-1-1",
        "05-001-1-3630-1-2",
        "05-001-1-3672-17-1",
    ]
    assert houses.unit_code.tolist() == [BLOCK_A, BLOCK_A, BLOCK_B]
    assert houses.persons.tolist() == [2, 1, 1]
    assert houses.bedrooms.isna().tolist() == [False, True, False]  # 99 = not reported
    assert houses.bedrooms[0] == 2 and houses.bedrooms[2] == 1
    # wall 1 (bloque, ladrillo) durable, 5 (tapia, bahareque, adobe) not; floor 6 = tierra
    assert houses.durable_walls.tolist() == [True, True, False]
    assert houses.durable_floor.tolist() == [True, True, False]
    for column in ("electricity", "piped_water", "sewerage", "refuse_collection", "internet"):
        assert houses[column].tolist() == [True, True, False], column
    assert houses.stratum[0] == 2 and pd.isna(houses.stratum[2])  # no bill: "NA" in the file

    people = pd.read_parquet(microdata_path(data, "MDE", "2018", "persons"))
    people = people.sort_values("person_id", ignore_index=True)
    # the household key plus P_NRO_PER; the block of each person's dwelling from the MGN rows
    assert people.household_id.tolist() == [
        "05-001-1-3630-1-1",
        "05-001-1-3630-1-1",
        "05-001-1-3630-1-2",
        "05-001-1-3672-17-1",
    ]
    assert people.unit_code.tolist() == [BLOCK_A, BLOCK_A, BLOCK_A, BLOCK_B]
    assert people.person_id.tolist() == [
        "05-001-1-3630-1-1-1",
        "05-001-1-3630-1-1-2",
        "05-001-1-3630-1-2-1",
        "05-001-1-3672-17-1-1",
    ]
    assert people.sex.tolist() == ["male", "female", "female", "male"]
    assert people.attends_school.tolist()[:2] == [False, True]
    assert people.attends_school.isna().tolist() == [False, False, True, True]  # 9, empty
    assert people.labour_status.tolist()[:3] == ["employed", "inactive", "unemployed"]
    assert pd.isna(people.labour_status[3])  # 0 = no informa / no aplica
    assert people.disability.tolist()[:2] == [False, True]
    assert people.disability.isna().tolist() == [False, False, True, False]
    assert "age" not in people.columns and "nationality" not in people.columns


def inei_files(folder: Path) -> None:
    """Lima (15 01): districts 01 and 02; one dwelling in Callao (07 01) to be left out."""
    geo = {"ccdd": ["15", "15", "07"], "ccpp": ["01", "01", "01"], "ccdi": ["01", "02", "01"]}
    pd.DataFrame(
        {"id_viv_imp_f": [1, 2, 3], **geo, "c2_p2": [1, 1, 1], "c2_p3": [1, 3, 1],
         "c2_p5": [5, 6, 1], "c2_p6": [1, 3, 1], "c2_p10": [1, 3, 1], "c2_p11": [1, 2, 1],
         "c2_p12": [4, 1, 3], "t_c4_p1": [5, 1, 2]}
    ).to_stata(folder / "cpv2017_viv.dta", write_index=False)  # fmt: skip
    pd.DataFrame(
        {"id_hog_imp_f": [11, 12, 21, 31], "id_viv_imp_f": [1, 1, 2, 3],
         "ccdd": ["15", "15", "15", "07"], "ccpp": ["01", "01", "01", "01"],
         "ccdi": ["01", "01", "02", "01"], "c3_p2_13": [1, 2, 2, 1], "c4_p1": [3, 2, 1, 2]}
    ).to_stata(folder / "cpv2017_hog.dta", write_index=False)  # fmt: skip
    pd.DataFrame(
        {"id_pob_imp_f": [101, 102, 103, 121, 211, 311],
         "id_hog_imp_f": [11, 11, 11, 12, 21, 31], "id_viv_imp_f": [1, 1, 1, 1, 2, 3],
         "ccdd": ["15"] * 5 + ["07"], "ccpp": ["01"] * 6,
         "ccdi": ["01", "01", "01", "01", "02", "01"],
         "c5_p2": [1, 2, 2, 1, 2, 1], "c5_p4_1": [40, 7, 2, 65, 30, 20],
         "c5_p8_6": [0, 1, 0, 0, 1, 0], "c5_p14": [2, 1, float("nan"), 2, 2, 1]}
    ).to_stata(folder / "cpv2017_pob.dta", write_index=False)  # fmt: skip


def test_inei_2017_layout_imports_to_canonical_values(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city_with_units(engine, tmp_path, "LIM", "distrito", ["150101", "150102"])
    raw = tmp_path / "cpv2017"
    raw.mkdir()
    inei_files(raw)
    run_prepare("inei-censo-2017", raw, monkeypatch)
    data = tmp_path / "data"
    options = dict(city="LIM", period="2017", profile="inei-censo-2017", data_dir=data)
    houses_report = import_census(engine, raw / "hogares.parquet", record="households", **options)
    people_report = import_census(engine, raw / "personas.parquet", record="persons", **options)
    assert (houses_report.rows_read, houses_report.rows_rejected) == (3, 0)
    assert (people_report.rows_read, people_report.rows_rejected) == (5, 0)

    houses = pd.read_parquet(microdata_path(data, "LIM", "2017", "households"))
    assert houses.household_id.tolist() == ["11", "12", "21"]
    # ubigeo composed by the profile: ccdd 15 + ccpp 01 + ccdi 01 / 02
    assert houses.unit_code.tolist() == ["150101", "150101", "150102"]
    assert houses.persons.tolist() == [3, 2, 1]
    # dwelling 1: brick, cement floor, network water and sewer inside, electricity;
    # dwelling 2: adobe, earth floor, public standpipe, septic tank, no electricity
    assert houses.durable_walls.tolist() == [True, True, False]
    assert houses.durable_floor.tolist() == [True, True, False]
    assert houses.piped_water.tolist() == [True, True, False]
    assert houses.sewerage.tolist() == [True, True, False]
    assert houses.electricity.tolist() == [True, True, False]
    assert houses.internet.tolist() == [True, False, False]

    people = pd.read_parquet(microdata_path(data, "LIM", "2017", "persons"))
    assert people.person_id.tolist() == ["101", "102", "103", "121", "211"]
    assert people.household_id.tolist() == ["11", "11", "11", "12", "21"]
    assert people.unit_code.tolist() == ["150101"] * 4 + ["150102"]
    assert people.sex.tolist() == ["male", "female", "female", "male", "female"]
    assert people.age.tolist() == [40, 7, 2, 65, 30]
    assert people.health_insurance.tolist() == [True, False, True, True, False]
    assert people.attends_school.isna().tolist() == [False, False, True, False, False]
    assert people.attends_school[1] and not people.attends_school[0]
