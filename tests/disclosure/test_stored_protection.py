"""The solved protection is kept in the data folder, so a new web worker reads it instead of
solving again (minutes on a medium city) on its first request."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from inclusive_cities.disclosure import control, protection
from inclusive_cities.store import connect
from inclusive_cities.web import data
from tests.disclosure.conftest import SmallCity


def stored(folder: Path) -> list[Path]:
    return sorted((folder / "disclosure").glob("protection-1-*.pickle"))


def test_a_new_process_reads_the_stored_protection(
    small: SmallCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(tmp_path / "data"))
    try:
        with control(True), Session(connect(small.url)) as session:
            data.CACHE.clear()
            first = protection(session, 1)
            files = stored(tmp_path / "data")
            assert len(files) == 1
            # what a later process would find: mark the file so that reading it shows
            with files[0].open("rb") as handle:
                kept = pickle.load(handle)
            assert kept.hidden == first.hidden and kept.hidden_ids == first.hidden_ids
            kept.hidden_ids = frozenset({-1})
            with files[0].open("wb") as handle:
                pickle.dump(kept, handle)
            data.CACHE.clear()  # a new process starts with an empty memory cache
            assert protection(session, 1).hidden_ids == frozenset({-1})
            # a damaged file is solved again and replaced
            files[0].write_bytes(b"not a pickle")
            data.CACHE.clear()
            again = protection(session, 1)
            assert again.hidden_ids == first.hidden_ids
            assert len(stored(tmp_path / "data")) == 1
    finally:
        data.CACHE.clear()
