"""In-process caches of derived, immutable data, and the fingerprints of the store that key them.

The web caches unit geometries, serialised features and scores here; disclosure control keeps its
protection of a city here too. Keys carry a fingerprint of the rows a value comes from, so
stateless workers stay correct when the database changes. This module sits below both (it imports
only the store), which is what lets disclosure use the web's caches without importing the web.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inclusive_cities.store import models

T = TypeVar("T")


class Cache:
    """A small thread-safe LRU for derived, immutable data; one build per key at a time."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self._size = size

    def _lookup(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return True, self._items[key]
            return False, None

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        found, value = self._lookup(key)
        if found:
            return value  # type: ignore[no-any-return]
        with self._lock:
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:  # concurrent requests for the same key wait for one build
            found, value = self._lookup(key)
            if found:
                return value  # type: ignore[no-any-return]
            value = build()
            with self._lock:
                self._items[key] = value
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
                self._building.pop(key, None)
        return value  # type: ignore[no-any-return]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = Cache()
MAP_CACHE = Cache(size=12)
"""Whole map layers are large (tens of MB for 100k units): keep only a few."""


def store_key(session: Session) -> str:
    """Which store a session reads: its engine's URL (password hidden; an in-memory SQLite
    database is the engine itself). Part of every fingerprint below, so two stores served by
    one process (two test cities in one worker) never share a cached value."""
    engine = session.get_bind().engine  # a Connection's or the Engine itself
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return f"sqlite-memory-{id(engine)}"
    return str(url.render_as_string(hide_password=True))


def units_fingerprint(session: Session, city_id: int) -> tuple[Any, ...]:
    """Changes whenever units are added or replaced anywhere (imports add new ids and a new
    batch); both maxima are read from indexes, so this costs microseconds at 100k+ units."""
    # two scalar subqueries: SQLite answers each lone max() from an index, not both at once
    row = session.execute(
        select(
            select(func.max(models.SpatialUnit.id)).scalar_subquery(),
            select(func.max(models.SpatialUnit.batch_id)).scalar_subquery(),
        )
    ).one()
    return (city_id, store_key(session), *row)


def observations_fingerprint(session: Session) -> tuple[str, Any]:
    """Changes whenever observations are imported or replaced (new rows get new ids)."""
    return (store_key(session), session.scalar(select(func.max(models.Observation.id))))
