"""A profile with nothing about refugees and migrants is not written (trial F14: Quito's real
parroquias with a population only gave a 9-page 'Human Mobility Profile' of 'no data'
sections, exit 0, and it counted for the programme as a published profile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusive_cities.cli import main
from inclusive_cities.store import connect, models, transaction
from tests.ingest.test_boundaries import QUITO


def _run(*arguments: str) -> int:
    try:
        main(list(arguments))
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def test_a_profile_without_migrant_figures_exits_1_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    assert _run("-d", url, "--quiet", "init") == 0
    imported = _run(
        "-d", url, "--quiet", "import", "boundaries", str(QUITO), "--city", "UIO",
        "--level", "parroquia", "--code-column", "parroquia", "--country", "ECU",
        "--accept-valid",
    )  # fmt: skip
    assert imported == 0
    with transaction(connect(url)) as session:  # a period of the city's own census
        session.add(models.Period(code="2010", label="2010"))
    capsys.readouterr()
    out = tmp_path / "perfil.pdf"
    code = _run(
        "-d", url, "--lang", "es", "report", "profile", "--city", "UIO", "--period", "2010",
        "--out", str(out),
    )  # fmt: skip
    said = " ".join(capsys.readouterr().err.split())
    assert code == 1
    assert "Ninguna cifra sobre personas refugiadas y migrantes para UIO en 2010" in said
    assert not out.exists() and not (tmp_path / "perfil-annex.xlsx").exists()
