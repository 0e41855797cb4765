"""Same seed, same bytes; different seed, different city; the CLI prints what it wrote."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyogrio
import pytest
import shapely

from inclusive_cities.cli import main
from inclusive_cities.demo import DemoError, GeneratedCity, generate_city

TEXT_FILES = (
    "census_households.csv",
    "census_persons.csv",
    "facilities.csv",
    "indicators_neighbourhood.csv",
    "README.txt",
)


def _digests(directory: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in TEXT_FILES
    }


def test_same_seed_gives_identical_files(small_city: GeneratedCity, tmp_path: Path) -> None:
    again = generate_city(tmp_path / "again", size="small", seed=0)
    assert _digests(again.directory) == _digests(small_city.directory)
    for layer in ("manzana", "barrio"):
        first = pyogrio.read_dataframe(small_city.files["boundaries"], layer=layer)
        second = pyogrio.read_dataframe(again.files["boundaries"], layer=layer)
        assert list(first["codigo"]) == list(second["codigo"])
        assert shapely.equals_exact(first.geometry.values, second.geometry.values, 0).all()


def test_another_seed_gives_another_city(small_city: GeneratedCity, tmp_path: Path) -> None:
    other = generate_city(tmp_path / "other", size="small", seed=1)
    first, second = _digests(small_city.directory), _digests(other.directory)
    for name in ("census_households.csv", "census_persons.csv", "facilities.csv"):
        assert first[name] != second[name], name
    assert other.persons != small_city.persons


def test_regenerating_into_the_same_directory_replaces_the_files(tmp_path: Path) -> None:
    first = generate_city(tmp_path / "city", size="tiny", seed=5)
    digests = _digests(first.directory)
    second = generate_city(tmp_path / "city", size="tiny", seed=5)
    assert _digests(second.directory) == digests
    layers = {name for name, _ in pyogrio.list_layers(second.files["boundaries"])}
    assert layers == {"localidad", "barrio", "manzana"}
    assert pyogrio.read_info(second.files["boundaries"], layer="manzana")["features"] == (
        second.blocks
    )


def test_unknown_size_and_bad_output_are_explained(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="Unknown demo city size 'huge': use one of small"):
        generate_city(tmp_path / "x", size="huge")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(DemoError, match=f"Cannot write the demo city to {blocker}"):
        generate_city(blocker, size="tiny")
    with pytest.raises(DemoError, match="seed must be zero or a positive integer, not -1"):
        generate_city(tmp_path / "y", size="tiny", seed=-1)


def test_cli_generate_prints_what_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli-city"
    main(["demo", "generate", "--out", str(out), "--size", "small", "--seed", "2"])
    printed = capsys.readouterr().out
    assert f"Wrote the synthetic demo city 'Ciudad Demo (sintética)' (small, seed 2) to {out}" in (
        printed
    )
    persons = sum(1 for _ in (out / "census_persons.csv").open(encoding="utf-8")) - 1
    assert f"{persons:,} persons" in printed
    assert str(out / "census_households.csv") in printed


def test_cli_rejects_unknown_size_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["demo", "generate", "--out", str(tmp_path / "c"), "--size", "tiny"])
    assert stop.value.code == 1
    error = capsys.readouterr().err.strip()
    assert error == "Error: Unknown demo city size 'tiny': use one of small, medium, large."
    assert not (tmp_path / "c").exists()


def test_cli_speaks_spanish(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--lang", "es", "demo", "generate", "--out", str(tmp_path / "c"), "--size", "x"])
    assert "Tamaño de ciudad de demostración desconocido 'x'" in capsys.readouterr().err


def test_cli_load_imports_every_generated_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city = generate_city(tmp_path / "city", size="tiny", seed=3)
    database = f"sqlite:///{tmp_path / 'observatory.db'}"
    main(["--database", database, "demo", "load", str(city.directory)])
    printed = capsys.readouterr().out
    assert (
        f"census_persons.csv: imported\nrows read {city.persons:,}, accepted {city.persons:,}"
        in (printed)
    )
    assert f"rows read {city.households:,}, accepted {city.households:,}, rejected 0" in printed
    assert "Loaded the synthetic demo city from" in printed
