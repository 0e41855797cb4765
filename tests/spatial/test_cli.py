"""`inclusive-cities spatial …` on the tiny city of tests/indicators."""

from __future__ import annotations

import pytest

from inclusive_cities.cli import main
from tests.indicators import city
from tests.indicators.test_pipeline import build


def test_segregation_of_the_tiny_city(tmp_path, capsys) -> None:
    url, _layers = build(f"sqlite:///{tmp_path / 'o.db'}", tmp_path)
    main(["--database", url, "spatial", "segregation", "--city", "TST", "--period", "2024"])
    out = capsys.readouterr().out
    venezuelan = {b: 0 for b in city.BLOCKS}
    total = {b: 0 for b in city.BLOCKS}
    for row in city.persons():
        total[row["unit_code"]] += 1
        venezuelan[row["unit_code"]] += row["nationality"] == "venezuelan"
    big_v, big_t = sum(venezuelan.values()), sum(total.values())
    dissimilarity = 0.5 * sum(
        abs(venezuelan[b] / big_v - (total[b] - venezuelan[b]) / (big_t - big_v))
        for b in city.BLOCKS
    )
    line = next(line for line in out.splitlines() if "│ dissimilarity" in line)
    assert f"{dissimilarity:.4f}" in line


def test_clusters_need_enough_units(tmp_path, capsys) -> None:
    url, _layers = build(f"sqlite:///{tmp_path / 'o.db'}", tmp_path)
    main(
        [
            "--database",
            url,
            "indicators",
            "compute",
            "--city",
            "TST",
            "--period",
            "2024",
            "--only",
            "internet",
        ]
    )
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(
            [
                "--database",
                url,
                "spatial",
                "clusters",
                "--city",
                "TST",
                "--period",
                "2024",
                "--indicator",
                "internet",
            ]
        )
    # the tiny city's blocks rest on fewer than 10 people each: nothing the web serves
    assert capsys.readouterr().err.strip() == (
        "Error: Every value of 'internet' at level 'manzana' is withheld (fewer than 10 people, "
        "or disclosure control): an analysis rests only on what the web serves; choose a "
        "coarser level."
    )
    with pytest.raises(SystemExit):
        main(
            [
                "--database",
                url,
                "spatial",
                "clusters",
                "--city",
                "TST",
                "--period",
                "2024",
                "--indicator",
                "sewerage",
            ]
        )
    assert "has no values for TST, period 2024" in capsys.readouterr().err
