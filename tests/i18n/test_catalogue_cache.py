"""The merged catalogue is cached between runs, and the ``.po`` files stay its source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from inclusive_cities import i18n


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder, and no catalogue kept in memory before or after."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    i18n.catalogue.cache_clear()
    yield tmp_path / "cache"
    i18n.catalogue.cache_clear()


def _read_by_hand(language: str) -> dict[str, str]:
    """Every translated message of every .po file, read with Babel as the test's reference."""
    merged: dict[str, str] = {}
    for path in sorted((i18n.LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and isinstance(message.id, str) and message.string:
                    merged[message.id] = str(message.string)
    return merged


def test_cached_catalogue_is_the_po_files(fresh_cache: Path) -> None:
    expected = _read_by_hand("es")
    first = i18n.catalogue("es")  # parsed, then written to the cache
    assert first == expected
    assert i18n._cache_file("es").parent == fresh_cache / "inclusive-cities"
    i18n.catalogue.cache_clear()
    assert i18n.catalogue("es") == expected  # read back from the cache
    assert i18n.gettext("Aborted.", "es") == expected["Aborted."]


def test_cache_of_other_po_files_is_not_used(fresh_cache: Path) -> None:
    i18n.catalogue("es")
    cached = i18n._cache_file("es")
    stored = json.loads(cached.read_text(encoding="utf-8"))
    stored["fingerprint"][0][1] += 1  # as if one .po file had changed since
    stored["messages"]["Aborted."] = "STALE"
    cached.write_text(json.dumps(stored), encoding="utf-8")
    i18n.catalogue.cache_clear()
    assert i18n.gettext("Aborted.", "es") == _read_by_hand("es")["Aborted."]
    assert json.loads(cached.read_text(encoding="utf-8"))["messages"]["Aborted."] != "STALE"


def test_unwritable_cache_still_translates(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = fresh_cache.parent / "not-a-folder"
    blocker.write_text("a file where the cache folder would be", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert i18n.catalogue("en") == _read_by_hand("en")
