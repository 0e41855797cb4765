"""`indicators compute` runs the spatial indicators and the writer on threads of their own
(issue #21): what they produce must not depend on it — the command's language, the order of
the stored rows, and errors met by a thread raised as a sequential run raises them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from inclusive_cities.cli import main
from inclusive_cities.indicators import compute_city, load_catalogue
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


def computed_rows(url: str) -> dict[str, list[tuple]]:
    """The stored computed rows (id first) by indicator code."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        found = connection.execute(
            "SELECT i.code, o.id, o.unit_id, o.sex, o.age_group, o.nationality, o.value, o.n "
            "FROM observations o JOIN indicators i ON i.id = o.indicator_id "
            f"WHERE o.{COMPUTED} ORDER BY o.id"
        ).fetchall()
    by_code: dict[str, list[tuple]] = {}
    for code, *row in found:
        by_code.setdefault(code, []).append(tuple(row))
    return by_code


def test_a_rerun_deletes_the_person_values_ahead_and_stores_the_same_rows(town, tmp_path) -> None:
    """A re-run deletes the person indicators' earlier values while the engine computes them
    (pipeline._Writer._delete_ahead): the stored values are those of the first run, and the
    ids those of deleting each part's values just before storing it, whose new rows then take
    the ids after the highest id left (the household and spatial rows of the first run)."""
    url = copy(town, tmp_path)
    compute(url, "--layers", str(town[1]))
    first = computed_rows(url)
    compute(url, "--layers", str(town[1]))
    second = computed_rows(url)
    assert set(second) == set(first)
    for code, rows_ in first.items():  # same values, new ids
        assert [r[1:] for r in second[code]] == [r[1:] for r in rows_]
    # parts in catalogue order (person, household, spatial), each stored after the highest
    # id still there: the first run's spatial rows while the person rows are written
    records = {spec.code: spec.record for spec in load_catalogue()}
    highest = max(r[0] for rows_ in first.values() for r in rows_)
    ids: dict[str, list[int]] = {"person": [], "household": [], "facility": []}
    for code, rows_ in second.items():
        # facility and layer indicators come in the last part
        ids[records[code] if records[code] in ids else "facility"] += [r[0] for r in rows_]
    ids = {part: sorted(found) for part, found in ids.items()}
    assert ids["person"][0] == highest + 1
    stored = ids["person"] + ids["household"] + ids["facility"]
    assert stored == list(range(highest + 1, highest + 1 + len(stored)))


def test_a_rerun_keeps_the_values_of_an_indicator_it_no_longer_computes(town, tmp_path) -> None:
    """The earlier values deleted ahead are those of every person indicator of the
    catalogue; when the part comes without one of them (here all its values fall below a
    raised minimum, so none is written), the delete is undone and that indicator's earlier
    values stay, ids included, as a run storing each part after the engine keeps them."""
    url = copy(town, tmp_path)
    compute(url)
    first = computed_rows(url)
    raised = tmp_path / "raised.yaml"
    raised.write_text(
        "indicators:\n"
        "  health_insurance:\n"
        "    name: {es: Personas afiliadas a salud, en: Persons with health insurance}\n"
        "    record: person\n"
        "    aggregation: share\n"
        "    numerator: health_insurance\n"
        "    denominator: not_null(health_insurance)\n"
        "    min_denominator: 1000000\n",
        encoding="utf-8",
    )
    compute(url, "--catalogue", str(raised))
    second = computed_rows(url)
    assert second["health_insurance"] == first["health_insurance"]
    assert len(first["health_insurance"]) > 10
    for code in ("population", "venezuelan_share"):
        assert [r[1:] for r in second[code]] == [r[1:] for r in first[code]]
        assert min(r[0] for r in second[code]) > max(r[0] for r in first[code])
