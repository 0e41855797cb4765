"""Migration 0004 (analysis layers) up and down on both engines, with data in the tables."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError

from inclusive_cities.store import (
    current_revision,
    downgrade,
    head_revision,
    init_database,
    models,
    table_names,
    transaction,
    upgrade,
)

NEW_TABLES = {"analysis_layers", "analysis_features"}


def _layer(session) -> int:
    city = models.City(code="ZZZ", name="Z")
    period = models.Period(code="2024")
    session.add_all([city, period])
    session.flush()
    layer = models.AnalysisLayer(
        city_id=city.id, period_id=period.id, name="clusters-x-block", kind="clusters", source="x"
    )
    session.add(layer)
    session.flush()
    return int(layer.id)


def test_0004_adds_and_removes_the_tables(db_url: str) -> None:
    engine = init_database(db_url)
    assert current_revision(engine) == head_revision()
    assert table_names(engine) >= NEW_TABLES
    columns = {c["name"] for c in inspect(engine).get_columns("analysis_features")}
    assert {"moran_i", "moran_p", "moran_class", "gi_z", "gi_p", "gi_class"} <= columns
    with transaction(engine) as session:
        layer_id = _layer(session)
        session.execute(
            insert(models.AnalysisFeature),
            [{"layer_id": layer_id, "code": "a", "moran_p": 0.5, "attributes": {"v": 1.5}}],
        )
    with transaction(engine) as session:
        feature = session.scalar(select(models.AnalysisFeature))
        assert feature is not None and feature.attributes == {"v": 1.5}

    downgrade(engine, "0003")
    assert current_revision(engine) == "0003"
    assert not NEW_TABLES & table_names(engine)
    assert "cities" in table_names(engine)  # earlier tables and their rows stay
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT code FROM cities").scalar() == "ZZZ"

    upgrade(engine)
    assert table_names(engine) >= NEW_TABLES


def test_constraints_hold(db_url: str) -> None:
    engine = init_database(db_url)
    # kind must be clusters or interpolation
    with pytest.raises(IntegrityError), transaction(engine) as session:
        layer_id = _layer(session)
        session.get(models.AnalysisLayer, layer_id).kind = "other"  # type: ignore[union-attr]
    # one layer of a name per city and period
    with pytest.raises(IntegrityError), transaction(engine) as session:
        layer_id = _layer(session)
        first = session.get(models.AnalysisLayer, layer_id)
        session.add(
            models.AnalysisLayer(
                city_id=first.city_id,  # type: ignore[union-attr]
                period_id=first.period_id,  # type: ignore[union-attr]
                name="clusters-x-block",
                kind="clusters",
                source="y",
            )
        )
    # p-values are probabilities
    with pytest.raises(IntegrityError), transaction(engine) as session:
        layer_id = _layer(session)
        session.add(models.AnalysisFeature(layer_id=layer_id, code="a", moran_p=1.5))
