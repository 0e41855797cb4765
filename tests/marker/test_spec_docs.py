"""docs/marker-specs.md runs as written: its files are written, its commands run in an empty
folder, and what it says they print, write and score is checked (the conventions are listed
at the end of the page). Also: ``marker show`` prints each range once."""

from __future__ import annotations

import csv
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from inclusive_cities.cli import app, main
from inclusive_cities.cli import marker as marker_cli
from inclusive_cities.marker import builtin_specs, load_spec

DOC = Path(__file__).resolve().parents[2] / "docs" / "marker-specs.md"
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _flat(text: str) -> str:
    """Whitespace-normalised text: the console wraps long lines at its width."""
    return " ".join(text.split())


def _blocks() -> list[tuple[str, dict[str, str], str]]:
    """(language, {attribute: value}, body) of every fenced block, in page order."""
    found = []
    for language, info, body in FENCE.findall(DOC.read_text(encoding="utf-8")):
        attributes: dict[str, str] = {}
        for word in info.split():
            key, _sep, value = word.partition("=")
            attributes[key] = value
        found.append((language, attributes, body))
    return found


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """Run one documented command line in ``tmp_path``; returns (exit code, all it printed)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(marker_cli.console, "width", 200)

    def invoke(line: str) -> tuple[int, str]:
        words = shlex.split(line)
        assert words[0] == "inclusive-cities", line
        try:
            main(["--lang", "en", *words[1:]])
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return invoke


def _command(words: list[str]) -> Any:
    """The (click) command a documented line calls (``import table`` -> its command)."""
    command: Any = typer.main.get_command(app)
    for word in words[1:]:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        command = command.commands[word]
    return command


def test_the_page_runs_as_written(run, tmp_path):
    blocks = _blocks()
    ran = 0
    printed = ""
    checked_outputs = 0
    for language, attributes, body in blocks:
        if "file" in attributes:
            (tmp_path / attributes["file"]).write_text(body + "\n", encoding="utf-8")
        elif language == "sh" and "options-only" in attributes:
            for line in body.splitlines():
                words = shlex.split(line)
                command = _command(words)
                known = {name for param in command.params for name in param.opts}
                used = {w.split("=")[0] for w in words if w.startswith("--")}
                assert used <= known, (line, sorted(used - known))
        elif language == "sh":
            for line in body.splitlines():
                code, printed = run(line)
                ran += 1
                if "fails" in attributes:
                    assert code == 1, (line, printed)
                else:
                    assert code == 0, (line, printed)
        elif language == "text" and "output" in attributes:
            for line in body.splitlines():
                assert _flat(line) in _flat(printed), (line, printed)
                checked_outputs += 1
        elif "excerpt" in attributes:
            written = (tmp_path / attributes["excerpt"]).read_text(encoding="utf-8").splitlines()
            position = 0
            for line in body.splitlines():
                while position < len(written) and written[position] != line:
                    position += 1
                assert position < len(written), f"not found in order: {line!r}"
    assert ran == 4 and checked_outputs >= 10
    # the scores table after "check: scores.csv UIM"
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- check: scores.csv UIM -->", 1)[1].strip().split("\n\n", 1)[0]
    documented = {
        cells[0]: cells[1:]
        for cells in (
            [cell.strip() for cell in row.strip("|").split("|")] for row in table.splitlines()[2:]
        )
    }
    with (tmp_path / "scores.csv").open(encoding="utf-8") as handle:
        scored = {row["codigo_manzana"]: row for row in csv.DictReader(handle)}
    assert set(documented) == set(scored) == {f"000{n}" for n in range(1, 7)}
    for unit, (score, level) in documented.items():
        if score:
            assert float(scored[unit]["UIM"]) == pytest.approx(float(score), abs=0.005)
        else:
            assert scored[unit]["UIM"] == ""
        assert scored[unit]["level"] == level


def test_the_hand_calculation_on_the_page_adds_up():
    """Block 0002 and the city score, recomputed here from the page's data and goalposts."""
    viv = ((100 * (50 - 6) / 50) + (60 + 40) / 2) / 2
    sal, edu = 100 * (3000 - 800) / 2500, 100 * (3000 - 900) / 2500
    opo = 100 * (30 - 10) / 30
    assert (viv + sal + edu + opo) / 4 == pytest.approx(76.92, abs=0.005)
    indices = {"0001": 92.2083, "0002": 76.9167, "0003": 68.6667, "0004": 20.5833}
    weights = {"0001": 100, "0002": 200, "0003": 150, "0004": 60, "0005": 100}
    indices["0005"] = (94 + 100 + 100 + 100 * (30 - 4) / 30) / 4
    city = sum(indices[u] * weights[u] for u in weights) / sum(weights.values())
    assert round(city, 1) == 74.8
    assert "city score 74.8" in DOC.read_text(encoding="utf-8")


def test_the_published_tree_on_the_page_is_uim_basic():
    spec = load_spec("uim-basic")
    expected = []
    for area in spec.tree.children:
        expected.append([f"**{area.code}**", "", area.name.en, area.name.es, ""])
        for dimension in area.children:
            codes = ", ".join(i.code for i in dimension.indicators)
            expected.append(
                [area.code, dimension.code, dimension.name.en, dimension.name.es, codes]
            )
    text = DOC.read_text(encoding="utf-8")
    section = text.split("| Area | Dimension |", 1)[1].split("\n\n", 1)[0]
    rows = [
        [cell.strip() for cell in row.strip().strip("|").split("|")]
        for row in section.splitlines()[2:]
    ]
    assert rows == expected
    assert len(spec.tree.children) == 5 and sum(len(a.children) for a in spec.tree.children) == 14


def test_the_built_in_specs_point_at_this_page():
    for name, path in builtin_specs().items():
        header = path.read_text(encoding="utf-8").split("\ncode:", 1)[0]
        assert "docs/marker-specs.md" in header, name
        assert "METHODOLOGY.md" not in header and "docs in inclusive_cities" not in header
        for pointer in re.findall(r"docs/[\w./-]+\.md", header):
            assert (DOC.parents[1] / pointer).is_file(), pointer


def test_show_prints_each_range_once(run):
    code, printed = run("inclusive-cities marker show uim-basic")
    assert code == 0
    # entropies: goalposts 0-1 in unit "0-1" read once; shares keep their unit
    assert "↑ entropy_age: Entropy of age groups [0–1]" in printed
    assert "0–1 0-1" not in printed
    assert "↓ dist_health_m: Distance to the nearest primary-care facility [500–3000 m]" in printed
    assert "↑ piped_water: Households with piped water [0–100 %]" in printed


def test_show_keeps_bracketed_methods(run, tmp_path):
    """``[minmax]`` was read as console markup and vanished."""
    spec = tmp_path / "minmax.yaml"
    spec.write_text(
        "code: mm\nname: {es: mm, en: mm}\ntree:\n  code: IDX\n  name: {es: i, en: i}\n"
        "  indicators:\n  - {code: a, name: {es: a, en: a}, direction: higher_is_better,"
        " normalisation: minmax}\n",
        encoding="utf-8",
    )
    code, printed = run(f"inclusive-cities marker show {spec}")
    assert code == 0 and "↑ a: a [minmax]" in printed
