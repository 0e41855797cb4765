"""Reports say what is missing; bad requests get one-line errors; the edit flow round-trips."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import Engine

from inclusive_cities import reports
from inclusive_cities.cli import main
from inclusive_cities.reports import ReportError
from inclusive_cities.reports.recommendations import evaluate, recommend


def test_period_without_data_states_what_is_missing(city_engine: Engine) -> None:
    html = reports.render_profile_html(city_engine, "TST", "2019", language="en")
    assert "The Urban Inclusion Marker has not been computed for Villa Prueba in period 2019" in (
        html
    )
    assert "No high-frequency survey rounds cover Villa Prueba" in html
    assert "No indicators by nationality for period 2019 measure: Health, Education" in html
    assert "No migration governance assessment is recorded for Villa Prueba" in html
    assert "<img" not in html  # no empty charts or maps


def test_governance_and_no_rank_intervals(city_engine: Engine, hfs_rounds: pd.DataFrame) -> None:
    governance = pd.DataFrame(
        [
            {
                "domain": "Rights of migrants",
                "score": 62,
                "strengths": "Regularisation office",
                "gaps": "No shelter",
            }
        ]
    )
    html = reports.render_profile_html(
        city_engine,
        "TST",
        "2024",
        language="en",
        governance=governance,
        rank_intervals=pd.DataFrame({"code": ["B6"], "rank_p05": [4], "rank_p95": [6]}),
    )
    assert "Regularisation office" in html and "No migration governance" not in html
    assert "4–6" in html


def test_unknown_city_and_period(city_engine: Engine) -> None:
    with pytest.raises(ReportError, match=r"no city with code 'XX'.*cities: TST"):
        reports.render_profile_html(city_engine, "XX", "2024", language="en")
    with pytest.raises(ReportError, match=r"no period with code '1990'.*2019, 2024"):
        reports.render_profile_html(city_engine, "TST", "1990", language="en")


def test_rule_conditions() -> None:
    figures = {"hfs.irregular": 25.0, "gap.health_insurance": 4.0}
    assert evaluate("hfs.irregular >= 20 and gap.health_insurance < 5", figures)
    assert not evaluate("hfs.irregular > 30 or gap.health_insurance * 2 > 10", figures)
    assert evaluate("10 < hfs.irregular <= 25", figures)


def test_bad_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: r1\n    when: hfs.irregular >>> 3\n    text: {es: a, en: b}\n")
    with pytest.raises(ReportError, match="rule r1: the condition"):
        recommend({"hfs.irregular": 1.0}, path)
    path.write_text("rules:\n  - id: r2\n    when: hfs.x > 1\n    text: {es: solo}\n")
    with pytest.raises(ReportError, match=r"item 1 \(r2\): 'text' needs both"):
        recommend({}, path)
    out, unjudged = recommend({}, None)
    assert out == [] and "regularisation" in unjudged


def test_edit_flow_through_the_cli(
    city_engine: Engine,
    hfs_rounds: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mapping = tmp_path / "hfs"
    from inclusive_cities.mobility import write_rounds

    mapping_file = write_rounds(mapping, seed=5, fmt="csv")
    for number in (1, 2, 3):
        csv = mapping / f"hfs_round{number}.csv"
        csv.write_text(csv.read_text().replace("DEMO", "TST"))
    url = str(city_engine.url)
    draft = tmp_path / "draft.yaml"
    main(
        [
            "--database",
            url,
            "report",
            "profile",
            "--city",
            "TST",
            "--period",
            "2024",
            "--lang",
            "en",
            "--hfs",
            str(mapping_file),
            "--edit",
            "--out",
            str(draft),
        ]
    )
    assert "edit them, then run again" in " ".join(capsys.readouterr().out.split())
    content = yaml.safe_load(draft.read_text())
    items = content["recommendations"]
    assert items and {"es", "en"} <= set(items[0]["text"])
    items[0]["text"]["en"] = "Open a second integration centre in Los Pinos."
    draft.write_text(yaml.safe_dump({"recommendations": items[:1]}))
    out = tmp_path / "profile.html"
    main(
        [
            "--database",
            url,
            "report",
            "profile",
            "--city",
            "TST",
            "--period",
            "2024",
            "--lang",
            "en",
            "--hfs",
            str(mapping_file),
            "--recommendations",
            str(draft),
            "--out",
            str(out),
            "--no-annex",
        ]
    )
    html = out.read_text()
    assert "Open a second integration centre in Los Pinos." in html
    assert html.count('<span class="badge">') == 1
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "--database",
                url,
                "report",
                "profile",
                "--city",
                "TST",
                "--period",
                "2024",
                "--out",
                str(tmp_path / "x.docx"),
            ]
        )
    assert stop.value.code == 1
    assert "must end in .pdf or .html" in capsys.readouterr().err
