"""The store's tables as SQLAlchemy Core ``Table`` objects, for hot paths that read and write
with plain statements: a process's first ORM query configures every mapped class (≈0.03 s of
CPU), which Core statements never do (``marker build``, ``import census``)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from inclusive_cities.store import models

BATCHES = cast(Table, models.ImportBatch.__table__)
CITIES = cast(Table, models.City.__table__)
PERIODS = cast(Table, models.Period.__table__)
LEVELS = cast(Table, models.UnitLevel.__table__)
UNITS = cast(Table, models.SpatialUnit.__table__)
INDICATORS = cast(Table, models.Indicator.__table__)
OBSERVATIONS = cast(Table, models.Observation.__table__)
RUNS = cast(Table, models.MarkerRun.__table__)
