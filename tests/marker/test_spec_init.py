"""``marker spec init``: a starting spec from a city's own table, shaped like real block data
(sentinel codes 999/9999/-999, distances in metres, one level, a column repeating a community
total on every block, a names column, ids with leading zeros)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from inclusive_cities.cli import main
from inclusive_cities.marker import MarkerError, MarkerSpecError, compute, load_spec
from inclusive_cities.marker.io import read_table
from inclusive_cities.marker.spec_init import UNSORTED, init_spec

HEADER = (
    "codigo_manzana,Nombre,population,internet,dist_health_m,desempleo,ingreso,computador,"
    "poblacion_comuna\n"
)
BLOCKS = (
    HEADER
    + """0001,A,120,80.5,350,12.5,1500,60,8000
0002,B,80,999,1200,999,-999,40,8000
0003,C,200,45,80,4,900,9999,8000
0004,D,0,,2600,20,1100,20,8000
0005,E,50,70,9999,8,2000,35,8000
"""
)
DICTIONARY_CSV = """code,name_es,name_en,unit,direction,min,max,missing
desempleo,Tasa de desempleo,Unemployment rate,%,lower_is_better,0,100,
ingreso,Ingreso medio del hogar,Mean household income,COP,higher_is_better,,,-999
"""
DICTIONARY_YAML = """
desempleo: {name_es: Tasa de desempleo, name_en: Unemployment rate, unit: '%',
            direction: lower_is_better}
ingreso: {name_es: Ingreso medio del hogar, name_en: Mean household income, unit: COP,
          direction: higher_is_better, missing: [-999]}
"""


@pytest.fixture
def city(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "blocks.csv").write_text(BLOCKS, encoding="utf-8")
    (tmp_path / "dict.csv").write_text(DICTIONARY_CSV, encoding="utf-8")
    (tmp_path / "dict.yaml").write_text(DICTIONARY_YAML, encoding="utf-8")
    return {
        "dir": tmp_path,
        "data": tmp_path / "blocks.csv",
        "dict": tmp_path / "dict.csv",
        "yaml": tmp_path / "dict.yaml",
    }


@pytest.fixture
def cli(capsys):
    def invoke(*args: str, lang: str = "en") -> tuple[int, str, str]:
        try:
            main(["--lang", lang, *args])
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def _indicators(node: dict) -> dict[str, dict]:
    """code -> indicator mapping, anywhere below ``node``."""
    found = {item["code"]: item for item in node.get("indicators") or []}
    for child in node.get("children") or []:
        found.update(_indicators(child))
    return found


def _place(tree: dict, code: str) -> list[str]:
    """The node codes from the root down to the node holding indicator ``code``."""
    if any(item["code"] == code for item in tree.get("indicators") or []):
        return [tree["code"]]
    for child in tree.get("children") or []:
        path = _place(child, code)
        if path:
            return [tree["code"], *path]
    return []


def _draft(city: dict[str, Path], dictionary: str = "dict"):
    return init_spec(
        city["data"],
        dictionary=city[dictionary],
        missing=(999.0, 9999.0),
        spec_path="my-spec.yaml",
    )


def test_every_numeric_column_with_its_observed_range_and_place(city):
    draft = _draft(city)
    data = yaml.safe_load(draft.text)
    indicators = _indicators(data["tree"])
    # the id, the names and the population (neutral) are not indicators
    assert set(indicators) == {
        "internet",
        "dist_health_m",
        "desempleo",
        "ingreso",
        "computador",
        "poblacion_comuna",
    }
    # observed ranges without the codes: internet 45-80.5 (999 and an empty cell left out),
    # distances 80-2600 m (9999 left out), income 900-2000 (the dictionary's -999 left out)
    expected = {
        "internet": (45, 80.5),
        "dist_health_m": (80, 2600),
        "desempleo": (4, 20),
        "ingreso": (900, 2000),
        "computador": (20, 60),
    }
    for code, (lower, upper) in expected.items():
        bounds = indicators[code]["normalisation"]
        assert (bounds["method"], bounds["lower"], bounds["upper"]) == ("goalposts", lower, upper)
    assert "(3 values)" in indicators["internet"]["normalisation"]["source"]
    # directions: catalogue for its codes, dictionary for the others, else unknown
    assert indicators["internet"]["direction"] == "higher_is_better"
    assert indicators["dist_health_m"]["direction"] == "lower_is_better"
    assert indicators["desempleo"]["direction"] == "lower_is_better"
    assert indicators["ingreso"]["direction"] == "higher_is_better"
    assert indicators["computador"]["direction"] == "unknown"
    assert indicators["poblacion_comuna"]["direction"] == "unknown"
    assert (indicators["desempleo"]["unit"], indicators["dist_health_m"]["unit"]) == ("%", "m")
    assert indicators["desempleo"]["name"] == {"es": "Tasa de desempleo", "en": "Unemployment rate"}
    # catalogue codes sit in their published area and dimension; the rest under UNSORTED
    assert _place(data["tree"], "internet") == ["UIM", "VIV", "V_SER"]
    assert _place(data["tree"], "dist_health_m") == ["UIM", "SAL", "S_PRO"]
    for code in ("desempleo", "ingreso", "computador", "poblacion_comuna"):
        assert _place(data["tree"], code) == ["UIM", UNSORTED]
    assert draft.placed == ["internet", "dist_health_m"]
    assert draft.unknown_direction == ["computador", "poblacion_comuna"]
    assert draft.left_out == ["codigo_manzana", "Nombre", "population"]
    assert draft.command == (
        "inclusive-cities marker compute --spec my-spec.yaml --data "
        f"{city['data']} --id-column codigo_manzana --missing 999 --missing 9999 "
        f"--population-column population --dictionary {city['dict']} --out scores.csv"
    )


def test_the_published_tree_is_there_to_sort_into(city):
    text = _draft(city).text
    live_areas = [item["code"] for item in yaml.safe_load(text)["tree"]["children"]]
    assert live_areas == ["VIV", "SAL", UNSORTED]
    # the other published areas and dimensions are written as comments to uncomment
    for code in ("EDU", "EPUB", "OPO", "V_CAL", "V_ASE", "S_AMB", "S_BIE", "O_BIE", "EP_SEG"):
        assert re.search(rf"^ *# +- code: {code}$", text, re.MULTILINE), code
    assert "Move each one into a dimension above, then delete this node." in text


def test_unknown_directions_are_refused_until_set(city, tmp_path):
    text = _draft(city).text
    lines = text.splitlines()
    unknown = [
        n for n, line in enumerate(lines, start=1) if line.strip().startswith("direction: unknown")
    ]
    assert len(unknown) == 2
    assert all("SET THIS: higher_is_better or lower_is_better" in lines[n - 1] for n in unknown)
    spec_file = tmp_path / "my-spec.yaml"
    spec_file.write_text(text, encoding="utf-8")
    with pytest.raises(MarkerSpecError, match="direction") as refused:
        load_spec(spec_file)
    assert f"{spec_file}:{unknown[0]}:" in str(refused.value)
    spec_file.write_text(text.replace("direction: unknown", "direction: higher_is_better"))
    spec = load_spec(spec_file)
    assert spec.code == "my-spec"
    assert spec.node_codes == ["UIM", "VIV", "V_SER", "SAL", "S_PRO", UNSORTED]
    # a column with one value throughout (a community total repeated on every block) gets
    # placeholder goalposts one apart, with a comment, so that the draft loads
    constant = spec.find("poblacion_comuna").normalisation
    assert (constant.lower, constant.upper) == (8000, 8001)
    assert "every value is 8000: these goalposts are a placeholder" in text


def test_the_finished_draft_scores_the_table(city, tmp_path):
    spec_file = tmp_path / "my-spec.yaml"
    spec_file.write_text(
        _draft(city).text.replace("direction: unknown", "direction: higher_is_better")
    )
    table = read_table(city["data"])
    spec = load_spec(spec_file)
    data = table.numeric([*spec.indicator_codes, "population"], missing=(999, 9999, -999))
    result = compute(spec, data, id_column="codigo_manzana", population_column="population")
    scores = result.scores
    # distance 350 m on goalposts 80-2600, lower is better: 100·(2600−350)/(2600−80)
    assert scores.loc["0001", "S_PRO"] == pytest.approx(100 * 2250 / 2520)
    # internet 80.5 is the top of 45-80.5; 45 the bottom
    assert scores.loc["0001", "V_SER"] == pytest.approx(100.0)
    assert scores.loc["0003", "V_SER"] == pytest.approx(0.0)


def test_a_yaml_dictionary_gives_the_same_draft(city):
    # the same but for the dictionary the printed score command names
    yaml_text = _draft(city, "yaml").text.replace(str(city["yaml"]), str(city["dict"]))
    assert yaml_text == _draft(city, "dict").text


def test_cli_writes_the_draft_and_will_not_overwrite_it(city, cli):
    out = city["dir"] / "my-spec.yaml"
    args = [
        "marker",
        "spec",
        "init",
        "--data",
        str(city["data"]),
        "--dictionary",
        str(city["dict"]),
        "--missing",
        "999",
        "--missing",
        "9999",
        "--out",
        str(out),
    ]
    code, stdout, _err = cli(*args)
    assert code == 0
    said = " ".join(stdout.split())
    assert f"Wrote {out}: 6 indicators, 2 placed in the published tree, 4 under UNSORTED." in said
    assert "Set the direction of computador, poblacion_comuna" in said
    assert out.read_text(encoding="utf-8") == _draft(city).text.replace("my-spec.yaml", str(out))
    out.write_text("mine", encoding="utf-8")
    code, _out, err = cli(*args, lang="es")
    assert code == 1 and "--force" in err
    assert out.read_text(encoding="utf-8") == "mine"
    code, stdout, _err = cli(*args, "--force", lang="es")
    assert code == 0 and "Se escribió" in stdout
    assert "# 1. Ponga" in out.read_text(encoding="utf-8")  # the instructions in Spanish


def test_compute_warns_while_the_unsorted_node_is_there(city, cli):
    out = city["dir"] / "my-spec.yaml"
    out.write_text(_draft(city).text.replace("direction: unknown", "direction: lower_is_better"))
    code, stdout, _err = cli(
        "marker",
        "compute",
        "--spec",
        str(out),
        "--data",
        str(city["data"]),
        "--id-column",
        "codigo_manzana",
        "--missing",
        "999",
        "--missing",
        "9999",
        "--dictionary",  # its -999 of ingreso (COP, never negative): refused without it
        str(city["dict"]),
        "--out",
        str(city["dir"] / "scores.csv"),
    )
    assert code == 0
    assert "still has the UNSORTED node" in " ".join(stdout.split())


def test_a_table_without_numeric_columns_is_refused(tmp_path):
    data = tmp_path / "names.csv"
    data.write_text("unit_code,nombre\n01,Centro\n02,Norte\n", encoding="utf-8")
    with pytest.raises(MarkerError, match="no numeric column") as refused:
        init_spec(data)
    assert "nombre (unit names)" in str(refused.value)
    with pytest.raises(MarkerError, match="--id-column"):
        init_spec(data, id_column="manzana")


def test_an_undeclared_code_in_a_share_is_pointed_out(city):
    """Without --missing, 999 in a % column would become a goalpost of 999 %: a 9…9 far
    outside a column's other values (the heuristic import table warns with) is left out of
    the range, said in the spec, and passed to the score command as --missing."""
    draft = init_spec(city["data"], dictionary=city["dict"])
    # internet 999 among 45-80.5, desempleo 999 among 4-20, distances 9999 among 80-2600,
    # computador 9999 among 20-60
    assert draft.code_values == {
        "internet": [999.0],
        "dist_health_m": [9999.0],
        "desempleo": [999.0],
        "computador": [9999.0],
    }
    assert draft.implausible == []
    assert "# read as missing, not as values: 999 (undeclared codes;" in draft.text
    indicators = _indicators(yaml.safe_load(draft.text)["tree"])
    assert indicators["internet"]["normalisation"]["upper"] == 80.5
    assert indicators["dist_health_m"]["normalisation"]["upper"] == 2600
    assert "--missing 999 --missing 9999" in draft.command
    assert _draft(city).implausible == []
