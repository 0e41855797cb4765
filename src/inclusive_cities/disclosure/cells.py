"""The figures disclosure control reasons about: cells, relations, what is published and what
an attacker finds. Kept apart from :mod:`model` (which builds the relations) so that modules
:mod:`model` calls, such as :mod:`bands`, can use them without an import cycle."""

from __future__ import annotations

from dataclasses import dataclass

Key = tuple[str, int, str, str, str, str]
"""(indicator code, unit id, period code, sex, age group, nationality)."""

DIMENSIONS = ("sex", "age_group", "nationality")


@dataclass
class Cell:
    """One stored figure: its true value (known to the auditor) and what describes it."""

    key: Key
    value: float | None
    n: int | None
    unit: str = ""
    survey: bool = False
    id: int | None = None
    virtual: bool = False
    """A combined quantity (see :func:`model.combined_cells`): never stored, never published."""
    of: Key | None = None
    """For the ``n`` of a rate as a cell (:mod:`bands`): the rate it is served with."""

    @property
    def indicator(self) -> str:
        return self.key[0]


@dataclass(frozen=True)
class Relation:
    """``total = sum(parts)`` for counts; for means ``total x n = sum(part x n)``."""

    total: Key
    parts: tuple[Key, ...]
    kind: str
    quantity: str

    @property
    def members(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


@dataclass
class Published:
    """What a member of the public can read: value and n of every figure served."""

    values: dict[Key, float]
    counts: dict[Key, int]

    def has(self, key: Key) -> bool:
        return key in self.values


@dataclass(frozen=True)
class Finding:
    """One hidden cell an attacker recovers (or narrows below its protection range)."""

    key: Key
    attack: str
    truth: float
    low: float
    high: float
    via: tuple[Key | str, ...]

    @property
    def exact(self) -> bool:
        return self.low == self.high
