"""Spanish and English are complete: every translatable message in the code has both."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inclusive_cities.i18n import (
    catalogue,
    detect_language,
    gettext,
    normalise_language,
    use_language,
)
from inclusive_cities.i18n.catalogues import extract_messages, missing_translations


def test_the_code_has_translatable_messages() -> None:
    messages = extract_messages()
    assert "Observatory database is ready at {url} (schema version {revision})" in messages


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_message_is_translated(language: str) -> None:
    missing = missing_translations(language)
    assert missing == {}, "\n".join(f"{where}: {msg}" for msg, where in missing.items())


def test_placeholders_survive_translation() -> None:
    """A translation that drops or renames a {placeholder} would crash .format()."""
    import string

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    spanish = catalogue("es")
    broken = {m: t for m, t in spanish.items() if fields(m) != fields(t)}
    assert broken == {}


def test_spanish_and_english_differ_where_they_should() -> None:
    assert gettext("Spatial units", "es") == "Unidades espaciales"
    assert gettext("Spatial units", "en") == "Spatial units"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("es_CO.UTF-8", "es"), ("en-GB", "en"), ("EN", "en"), ("fr_FR", None), ("", None)],
)
def test_language_codes_are_normalised(raw: str, expected: str | None) -> None:
    assert normalise_language(raw) == expected


def test_default_is_spanish_when_locale_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INCLUSIVE_CITIES_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert detect_language() == "es"
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert detect_language() == "en"


def test_use_language_switches_gettext() -> None:
    use_language("es")
    assert gettext("Cities") == "Ciudades"
    use_language("en")
    assert gettext("Cities") == "Cities"


def test_update_from_one_file_keeps_the_domains_other_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from babel.messages.pofile import read_po

    from inclusive_cities.i18n import LOCALES_DIR, catalogues

    shutil.copytree(LOCALES_DIR, tmp_path / "locales")
    monkeypatch.setattr(catalogues, "LOCALES_DIR", tmp_path / "locales")

    def messages(language: str) -> dict[str, str]:
        path = tmp_path / "locales" / language / "LC_MESSAGES" / "indicators.po"
        with path.open("rb") as handle:
            return {m.id: m.string for m in read_po(handle) if m.id}

    before = {language: messages(language) for language in ("es", "en")}
    engine_file = catalogues.PACKAGE_DIR / "indicators" / "engine.py"
    from_engine = set(catalogues.extract_messages([engine_file]))
    assert from_engine and set(before["es"]) - from_engine  # other files' messages exist
    catalogues.update_domain("indicators", [engine_file])
    assert {language: messages(language) for language in ("es", "en")} == before


def test_numbers_are_written_the_way_each_language_writes_them() -> None:
    from inclusive_cities.i18n import format_number

    assert format_number(1234567.25, 1, "es") == "1.234.567,2"
    assert format_number(1234567.25, 1, "en") == "1,234,567.2"
    assert format_number(4566, language="es") == "4.566"
    from inclusive_cities.i18n import current_language

    before = current_language()
    use_language("es")
    try:
        assert format_number(0.05, 2) == "0,05"  # the current language by default
    finally:
        use_language(before)
