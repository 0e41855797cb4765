"""The solved protection is kept in the data folder, so a new web worker reads it instead of
solving again (minutes on a medium city) on its first request.

The file is keyed by the store's contents, the software version and the file layout, not by
the store's address: a copied store reads it, a changed figure does not.
"""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from inclusive_cities.disclosure import control, protection
from inclusive_cities.disclosure.publication import FORMAT
from inclusive_cities.store import connect, models
from inclusive_cities.web import data
from tests.disclosure.conftest import SmallCity


def stored(folder: Path) -> list[Path]:
    return sorted((folder / "disclosure").glob("protection-1-*.pickle"))


def mark(path: Path) -> None:
    """What a later process would find, marked so that reading it shows."""
    with path.open("rb") as handle:
        kept = pickle.load(handle)
    kept["hidden_ids"] = np.array([-1])
    with path.open("wb") as handle:
        pickle.dump(kept, handle)


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
            with files[0].open("rb") as handle:
                kept = pickle.load(handle)
            # only what the web reads: ids as arrays, no table of true values
            assert kept["format"] == FORMAT and "truth" not in kept
            assert set(kept["hidden_ids"].tolist()) == set(first.hidden_ids)
            mark(files[0])
            data.CACHE.clear()  # a new process starts with an empty memory cache
            read = protection(session, 1)
            assert read.hidden_ids == frozenset({-1})
            # the audit gets the full sets back from the store's observations
            assert read.complete(session).hidden == first.hidden
            assert read.protected == first.protected and read.truth.keys() == first.truth.keys()
            # a damaged file is solved again and replaced
            files[0].write_bytes(b"not a pickle")
            data.CACHE.clear()
            again = protection(session, 1)
            assert again.hidden_ids == first.hidden_ids
            assert len(stored(tmp_path / "data")) == 1
    finally:
        data.CACHE.clear()


def test_a_copied_store_reads_it_and_a_changed_one_does_not(
    small: SmallCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(tmp_path / "data"))
    copy = tmp_path / "copy.db"
    try:
        with control(True):
            with Session(connect(small.url)) as session:
                data.CACHE.clear()
                first = protection(session, 1)
            mark(stored(tmp_path / "data")[0])
            source = sqlite3.connect(small.url.removeprefix("sqlite:///"))
            target = sqlite3.connect(copy)
            source.backup(target)  # the store as a user copies it (WAL included)
            source.close()
            target.close()
            data.CACHE.clear()
            with Session(connect(f"sqlite:///{copy}")) as session:
                assert protection(session, 1).hidden_ids == frozenset({-1})  # no new solve
                # one figure changed in place (same ids, same count): solved again
                session.execute(
                    update(models.Observation)
                    .where(models.Observation.value == 60)
                    .values(value=61)
                )
                session.commit()
                data.CACHE.clear()
                assert protection(session, 1).hidden_ids == first.hidden_ids
            # another software version does not read this one's file
            mark(stored(tmp_path / "data")[0])
            monkeypatch.setattr("inclusive_cities.__version__", "0.0.0-other")
            data.CACHE.clear()
            with Session(connect(f"sqlite:///{copy}")) as session:
                assert protection(session, 1).hidden_ids == first.hidden_ids
    finally:
        data.CACHE.clear()


def test_publish_solves_the_protection_without_the_write_lock(
    small: SmallCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The solve (minutes on a medium city) runs before publish's write transaction: with
    another connection holding SQLite's write lock, it still completes and stores the file,
    and the audit inside the transaction then finds it in memory."""
    from inclusive_cities.cli.web import _solve_protection_first

    monkeypatch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(tmp_path / "data"))
    holder = sqlite3.connect(small.url.removeprefix("sqlite:///"), timeout=0.1)
    try:
        data.CACHE.clear()
        holder.execute("BEGIN IMMEDIATE")  # a writer that would block any other write
        with control(True):
            _solve_protection_first(connect(small.url), "DSC")
        holder.rollback()
        assert len(stored(tmp_path / "data")) == 1
        solved = list(data.CACHE._items.values())
        assert len(solved) == 1
        with control(True), Session(connect(small.url)) as session:
            # what the audit in the transaction asks for is that object: no second solve
            assert protection(session, 1) is solved[0]
    finally:
        holder.close()
        data.CACHE.clear()
