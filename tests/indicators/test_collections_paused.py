"""``compute_city`` runs with the garbage collector's automatic passes paused (#21: their full
passes walked every imported object again, ≈0.5 s CPU on the medium demo) and gives the
collector back as it found it, after a success or an error."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from inclusive_cities.indicators import IndicatorError
from inclusive_cities.indicators.pipeline import compute_city
from tests.indicators.test_pipeline import build


def test_the_collector_is_paused_while_computing_and_resumed_after(tmp_path: Path) -> None:
    url, _layers = build(f"sqlite:///{tmp_path / 'observatory.db'}", tmp_path)
    engine = create_engine(url)
    seen: list[bool] = []
    assert gc.isenabled()
    report = compute_city(
        engine,
        "TST",
        "2024",
        progress=lambda _step, _done, _total: seen.append(gc.isenabled()),
    )
    assert report.written  # it computed something
    assert seen and not any(seen)  # paused at every step
    assert gc.isenabled()
    # an error gives it back too, and a collector paused by the caller stays paused
    with pytest.raises(IndicatorError):
        compute_city(engine, "NOPE", "2024")
    assert gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(IndicatorError):
            compute_city(engine, "NOPE", "2024")
        assert not gc.isenabled()
    finally:
        gc.enable()
    engine.dispose()
