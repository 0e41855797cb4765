"""``mobility summary`` speaks the session's language (trial #4 F16: "86,394.0" and codes such
as "stock_pe…", "move_on" in a Spanish table). The figures are the summary's own, formatted."""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusive_cities.mobility import NATIONAL, harmonise, summarise, write_rounds
from tests.surveys.helpers import run


def test_the_summary_in_spanish_prints_spanish_numbers_and_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = write_rounds(tmp_path, seed=2, fmt="csv")
    figures = summarise(harmonise(mapping)).set_index(["round", "geography", "topic", "category"])
    persons = figures.loc[("R1", NATIONAL, "stock_persons", "total"), "estimate"]
    stay = figures.loc[("R1", NATIONAL, "intention", "stay"), "estimate"]
    assert run("--lang", "es", "mobility", "summary", "--mapping", str(mapping)) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "todo el país" in printed and "_national" not in printed
    thousands = f"{round(persons):,}".replace(",", ".")
    assert thousands in printed  # 173.048, not 173,048.000
    assert f"{100 * stay:.1f} %".replace(".", ",") in printed
    for code in ("stock_persons", "move_on", "in_process"):
        assert code not in printed
    assert "Quedarse en la ciudad" in printed.replace("│ ", "").replace(" │", "") or (
        "Quedarse" in printed
    )
