"""`indicators compute` runs the spatial indicators and the writer on threads of their own
(issue #21): what they produce must not depend on it — the command's language, the order of
the stored rows, and errors met by a thread raised as a sequential run raises them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from inclusive_cities.cli import main
from inclusive_cities.indicators import compute_city
from inclusive_cities.ingest import IngestError
from inclusive_cities.store import init_database
from tests.indicators.test_pipeline import build, compute

COMPUTED = "status IN ('computed', 'suppressed')"


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The test town, built once; each test works on a copy of its SQLite file."""
    folder = tmp_path_factory.mktemp("town")
    _url, layers = build(f"sqlite:///{folder / 'observatory.db'}", folder)
    return folder / "observatory.db", layers


def copy(town: tuple[Path, Path], folder: Path) -> str:
    folder.mkdir(exist_ok=True)
    target = folder / "copy.db"
    # SQLite's backup: the store is in WAL mode, its file alone may miss the last commits
    with sqlite3.connect(town[0]) as source, sqlite3.connect(target) as copied:
        source.backup(copied)
    return f"sqlite:///{target}"


def rows(url: str) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return connection.execute(
            "SELECT id, indicator_id, unit_id, sex, age_group, nationality, value, n, source "
            f"FROM observations WHERE {COMPUTED} ORDER BY id"
        ).fetchall()


def test_stored_rows_come_in_the_same_order_on_every_run(town, tmp_path) -> None:
    """Ids follow indicator, unit and groups (DuckDB hands groups back in any order), so
    two runs on two copies store the same rows under the same ids."""
    first, second = copy(town, tmp_path / "a"), copy(town, tmp_path / "b")
    compute(first, "--layers", str(town[1]))
    compute(second, "--layers", str(town[1]))
    stored = rows(first)
    assert len(stored) > 300
    assert rows(second) == stored
    # within an indicator, by unit and then by sex, age group and nationality
    by_indicator: dict[int, list[tuple]] = {}
    for row in stored:
        by_indicator.setdefault(row[1], []).append(row)
    for found in by_indicator.values():
        keys = [row[2:6] for row in found]
        assert keys == sorted(keys)


def test_messages_and_sources_follow_the_command_language(town, tmp_path, capsys) -> None:
    """--lang es while the environment says English: the reason a spatial indicator is
    skipped (decided on the spatial thread) and the stored sources (written on the writer
    thread) are Spanish, like the rest of the output."""
    url = copy(town, tmp_path)
    period = ["--period", "2024"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INCLUSIVE_CITIES_LANG", "en")
        # no --layers: the layer indicators are skipped
        main(["--lang", "es", "--database", url, "indicators", "compute", "--city", "TST", *period])
    out = capsys.readouterr().out
    assert "No calculado: public_space_m2_per_inhab: no hay capa ambiental 'espacio_publico'." in (
        " ".join(out.split())
    )
    sources = {row[8] for row in rows(url)}
    assert sources and all(
        s.startswith("calculado por inclusive-cities indicators") for s in sources
    )


def test_a_missing_layer_file_is_an_error_and_nothing_is_stored(town, tmp_path) -> None:
    """The layer files are read on the spatial thread while the census is aggregated (and
    stored): a missing one still fails the run, with the reader's message, storing nothing."""
    url = copy(town, tmp_path)
    missing = tmp_path / "no-such-layers.gpkg"
    with pytest.raises(IngestError, match=r"no-such-layers\.gpkg does not exist"):
        compute_city(init_database(url), "TST", "2024", layers=[missing])
    assert rows(url) == []
    # also when no entry of the run uses a layer (none is read otherwise)
    with pytest.raises(IngestError, match=r"no-such-layers\.gpkg does not exist"):
        compute_city(init_database(url), "TST", "2024", codes=["internet"], layers=[missing])
    assert rows(url) == []
