"""The runnable tour at the top of ``inclusive_cities.governance`` runs as written."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import inclusive_cities.governance as governance
from inclusive_cities.demo.governance import (
    LOCAL_2022,
    LOCAL_2024,
    NATIONAL_2024,
    fill_template,
)
from inclusive_cities.governance import import_initiatives
from inclusive_cities.store import init_database
from tests.governance.helpers import add_city


def test_the_tour_runs(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = governance.__doc__ or ""
    code = doc.split("::", 1)[1].split("The score rule", 1)[0]
    code = "\n".join(line[4:] for line in code.splitlines())
    engine = init_database(sqlite_url)
    add_city(engine)
    monkeypatch.chdir(tmp_path)
    fill_template(Path("evaluacion-2022.xlsx"), LOCAL_2022, date(2022, 11, 30), "A", "es")
    fill_template(Path("evaluacion-2024.xlsx"), LOCAL_2024, date(2024, 6, 30), "A", "es")
    fill_template(Path("national.xlsx"), NATIONAL_2024, date(2024, 3, 15), "M", "en")
    csv = Path("gp.csv")
    csv.write_text(
        "code,kind,name_es,name_en,level,city,domain,description_es,description_en\n"
        "GP-1,good_practice,Salud sin barreras,Health without barriers,local,DEMO,RIGHTS,"
        "Jornadas de salud,Health days\n",
        encoding="utf-8",
    )
    import_initiatives(engine, csv)
    namespace: dict[str, object] = {"engine": engine}
    exec(compile(code, "governance tour", "exec"), namespace)
    assert Path("plantilla.xlsx").is_file() and Path("results.xlsx").is_file()
    assert [r.code for r in namespace["practices"]] == ["GP-1"]  # type: ignore[attr-defined]
    assert re.match(r"From 2022-11-30 to 2024-06-30", namespace["lines"][0])  # type: ignore[index]
