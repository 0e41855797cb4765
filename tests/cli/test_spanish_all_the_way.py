"""In Spanish the command line never shows Typer's or Click's own English words.

Every command and group of the tree (walked, so new commands are covered) prints its
``--help`` in Spanish; usage errors are Spanish sentences too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer

from inclusive_cities.cli import app, main
from inclusive_cities.i18n import use_language

ENGLISH = (
    "Usage:",
    "Options",
    "Commands",
    "Arguments",
    "Show this message and exit",
    "[required]",
    "[default:",
    "[env var:",
    "(deprecated)",
    "[OPTIONS]",
    "COMMAND [ARGS]",
    "Missing option",
    "Missing argument",
    "Missing command",
    "No such option",
    "No such command",
    "Did you mean",
    "for help",
    "Try '",
    "Invalid value",
    "is not a valid",
    "Input should be",
    "Got unexpected",
    "requires an argument",
)
"""Typer's and Click's words. "Error" is left out: it is also the Spanish word."""


def _command_paths(
    command: typer.core.TyperGroup, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            yield from _command_paths(sub, (*path, name))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the console script in this process (one start-up for the whole tree)."""
    try:
        main(["--lang", "es", *args])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        use_language("es")
    out = capsys.readouterr()
    return code, out.out, out.err


def _english(text: str) -> list[str]:
    return [word for word in ENGLISH if word in text]


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide lines, so no English word can hide across a line break."""
    monkeypatch.setenv("COLUMNS", "250")


def test_every_help_page_is_spanish(capsys: pytest.CaptureFixture[str]) -> None:
    paths = list(_command_paths(typer.main.get_command(app)))  # type: ignore[arg-type]
    assert len(paths) > 40  # groups and commands
    found: dict[str, list[str]] = {}
    for path in paths:
        code, out, err = _run(capsys, *path, "--help")
        assert code == 0, (path, err)
        assert "Uso: inclusive-cities" in out, path
        assert "Mostrar este mensaje y salir." in out, path
        if english := _english(out + err):
            found[" ".join(path) or "(root)"] = english
    assert found == {}


def test_group_help_titles_and_usage_in_spanish(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = _run(capsys, "--help")
    assert re.search(r"Uso: inclusive-cities \[OPCIONES\] COMANDO \[ARGUMENTOS\]\.\.\.", out)
    assert "Opciones" in out and "Comandos" in out
    assert "[variable de entorno: INCLUSIVE_CITIES_DATABASE_URL]" in out
    _code, out, _err = _run(capsys, "demo", "load", "--help")
    assert "Argumentos" in out and "[obligatorio]" in out
    _code, out, _err = _run(capsys, "db", "upgrade", "--help")
    assert "[por omisión: head]" in out


def test_a_group_without_command_prints_its_help_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "indicators")
    assert code == 2
    assert "Uso: inclusive-cities indicators" in out
    assert err == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("indicators", "compute", "--period", "2018"),
            "Error: Falta la opción '--city'. Ejecute 'inclusive-cities --help'",
        ),
        (("indicators", "compute", "--foo"), "Error: No existe la opción --foo. Ejecute"),
        (
            ("indicators", "comp"),
            "Error: No existe el comando 'comp'. ¿Quiso decir 'compute'? Ejecute",
        ),
        (
            ("demo", "generate", "--out", "x", "--seed", "abc"),
            "Error: Valor no válido para '--seed': Escriba un número entero. Ejecute",
        ),
        (("demo", "load"), "Error: Falta el argumento 'directory'. Ejecute"),
        (("info", "extra"), "Error: Palabras de más que no se esperaban: extra. Ejecute"),
        (("demo", "generate", "--out"), "Error: La opción '--out' necesita un valor. Ejecute"),
    ],
)
def test_usage_errors_are_spanish(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert err.startswith(expected), err
    assert _english(out + err) == []
    assert len(err.strip().splitlines()) == 1
