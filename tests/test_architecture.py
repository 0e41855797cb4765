"""The architecture's import rules hold: no cycles between domains, the command line over the web
over the domains over the store, the web app over its routers, and no cycles between the
modules of one domain (contracts in ``.importlinter``).

import-linter parses every import statement, those inside functions included, so a lazy import
that closes a cycle fails here just like a module-level one; the second test proves it on a tiny
package written in the test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_keeps_its_import_contracts(capsys: pytest.CaptureFixture[str]) -> None:
    status = lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report
    assert "0 broken" in report
    assert report.count(" KEPT") == 5


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_an_import_inside_a_function_that_closes_a_cycle_breaks_the_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``census`` imports ``atlas`` at the top; ``atlas`` imports ``census`` only inside a
    function, the way a lazy import hides a cycle from start-up but not from the linter."""
    package = tmp_path / "toycity"
    _write(package / "__init__.py", "")
    _write(package / "census" / "__init__.py", "")
    _write(package / "census" / "tables.py", "from toycity.atlas import draw\n")
    _write(package / "atlas" / "__init__.py", "from toycity.atlas.maps import draw\n")
    _write(
        package / "atlas" / "maps.py",
        "def draw() -> None:\n    from toycity.census import tables\n\n    print(tables)\n",
    )
    config = tmp_path / ".importlinter"
    _write(
        config,
        "[importlinter]\nroot_package = toycity\n\n"
        "[importlinter:contract:acyclic]\nname = No cycles\ntype = acyclic_siblings\n"
        "ancestors =\n    toycity\ndepth = 0\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "toycity", raising=False)
    status = lint_imports(config_filename=str(config), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 1, report
    assert "No cycles BROKEN" in report
    assert ".census -> .atlas (1 import)" in report or ".atlas -> .census (1 import)" in report
    # the same package without the function-level import has no cycle
    _write(package / "atlas" / "maps.py", "def draw() -> None:\n    print('map')\n")
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 0
    assert "No cycles KEPT" in capsys.readouterr().out
