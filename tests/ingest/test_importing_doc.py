"""The data-dictionary example of docs/data-formats/importing.md runs as written."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-formats" / "importing.md"
BIN = Path(sys.executable).parent


def example() -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- example: dictionary -->\n```sh\n(.*?)```\n<!-- end example -->", text, re.S
    )
    assert found is not None, "the runnable example is missing from importing.md"
    return found.group(1)


def test_dictionary_example_runs_as_written(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "INCLUSIVE_CITIES_LANG": "en",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", example()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "2 cells held a missing-value code and were left empty" in done.stdout
    with sqlite3.connect(tmp_path / "example.db") as db:
        meaning = dict(
            (code, (unit, direction))
            for code, unit, direction in db.execute("SELECT code, unit, direction FROM indicators")
        )
        values = db.execute(
            "SELECT u.code, i.code, o.value FROM observations o "
            "JOIN spatial_units u ON u.id = o.unit_id JOIN indicators i ON i.id = o.indicator_id"
        ).fetchall()
    assert meaning == {
        "unemployment_rate": ("%", "lower_is_better"),
        "dist_salud_privada": ("m", "lower_is_better"),
        "indice_propio": ("", "unknown"),
    }
    assert sorted(v for u, c, v in values if u == "002") == [15.0]  # 999 and 9999 left empty
    assert len(values) == 7  # 9 cells, 2 of them codes
