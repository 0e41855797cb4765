"""The governance commands in Spanish, and a bad row as one line on stderr with exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusive_cities.cli import main
from inclusive_cities.store import init_database
from tests.governance.helpers import EVIDENCE, LOCAL, add_city, filled, framework

FRAMEWORK_YAML = "test-fw.yaml"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_show_in_spanish_and_a_bad_row(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.governance.helpers import TEST_FRAMEWORK

    engine = init_database(sqlite_url)
    add_city(engine)
    fw = framework()
    spec = tmp_path / FRAMEWORK_YAML
    spec.write_text(TEST_FRAMEWORK, encoding="utf-8")
    base = ["--database", sqlite_url, "--lang", "es", "governance"]
    good = filled(tmp_path / "local.xlsx", fw, LOCAL, lang="es", evidence=EVIDENCE)
    code, out, _err = _run(
        capsys, *base, "import", str(good), "--city", "DEMO", "--framework", str(spec)
    )
    assert code == 0
    assert "6 de 6 preguntas respondidas, puntaje general 59,7" in out
    code, out, _err = _run(capsys, *base, "show", "--city", "DEMO")
    assert code == 0
    assert "puntaje general 59,7 de 100" in out
    assert "Derechos obtiene 77 de 100: una fortaleza" in out
    assert "No existe: ¿Plan de riesgo?" in out
    bad = filled(
        tmp_path / "mala.xlsx", fw, {**LOCAL, "Q1": "tal vez"}, lang="es", evidence=EVIDENCE
    )
    code, out, err = _run(
        capsys, *base, "import", str(bad), "--city", "DEMO", "--framework", str(spec)
    )
    assert code == 1
    assert err.strip() == (
        "Error: mala.xlsx, hoja 'Respuestas', fila 2, columna 'respuesta': 'tal vez' no es una "
        "respuesta a Q1: escriba sí, parcialmente, no o no aplica (yes, partly, no, not "
        "applicable), o déjela vacía."
    )
    code, _out, err = _run(capsys, *base, "compare", "--city", "DEMO")
    assert code == 1
    assert "No hay una evaluación de gobernanza de Colombia" in err


def test_show_without_strengths_says_so(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #19: no strengths printed a bare "  - -"; now a sentence with the threshold."""
    from tests.governance.helpers import TEST_FRAMEWORK

    engine = init_database(sqlite_url)
    add_city(engine)
    spec = tmp_path / FRAMEWORK_YAML
    spec.write_text(TEST_FRAMEWORK, encoding="utf-8")
    base = ["--database", sqlite_url, "--lang", "es", "governance"]
    # every question 'no' (the scale at its minimum, 1 of 1-5): every domain scores 0
    nothing = {"Q1": "no", "Q2": "no", "Q3": 1, "Q4": "no", "Q5": "no", "Q6": "no"}
    book = filled(tmp_path / "nada.xlsx", framework(), nothing, lang="es", evidence=EVIDENCE)
    code, _out, _err = _run(
        capsys, *base, "import", str(book), "--city", "DEMO", "--framework", str(spec)
    )
    assert code == 0
    code, out, _err = _run(capsys, *base, "show", "--city", "DEMO")
    assert code == 0
    assert "puntaje general 0,0 de 100" in out
    assert "  No hay fortalezas todavía: ningún dominio obtiene 75 de 100 o más.\n" in out
    assert "  - -" not in out


def test_search_names_domain_and_place_in_spanish(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #19: the search table showed the domain code (A) and the place code (DEMO, COL)."""
    from tests.governance.helpers import TEST_FRAMEWORK

    engine = init_database(sqlite_url)
    add_city(engine)
    spec = tmp_path / FRAMEWORK_YAML
    spec.write_text(TEST_FRAMEWORK, encoding="utf-8")
    table = tmp_path / "iniciativas.csv"
    table.write_text(
        "código,tipo,nombre_es,nombre_en,nivel,ciudad,país,dominio,estado\n"
        "L1,iniciativa,Salud local,Local health,local,DEMO,COL,A,en curso\n"
        "N1,iniciativa,Salud nacional,National health,nacional,,COL,B,en curso\n",
        encoding="utf-8",
    )
    base = ["--database", sqlite_url, "--lang", "es", "governance"]
    code, _out, _err = _run(
        capsys, *base, "import-initiatives", str(table), "--framework", str(spec)
    )
    assert code == 0
    code, out, _err = _run(capsys, *base, "search", "salud", "--framework", str(spec))
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("│ ")]
    cells = [[cell.strip() for cell in row.strip("│ ").split("│")] for row in rows]
    assert [row[:4] for row in cells] == [
        ["L1", "Salud local", "Derechos", "Ciudad DEMO"],
        ["N1", "Salud nacional", "Crisis", "Colombia"],
    ]
