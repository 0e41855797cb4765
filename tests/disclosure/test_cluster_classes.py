"""Cluster layers need no attack of their own: they are a function of published values only.

A published cluster layer serves each unit's Moran/Gi* class and p-value band, computed (with
a fixed seed) from the values the web serves at the time: a withheld value is left out of the
analysis, and a withheld score is not an input of the index's clusters
(``analyses._suppressed``, ``analyses._published_scores``). Whatever an attacker can compute
from the classes, they could compute from the published values themselves, which the audit
already attacks. The proof is the test below: changing a withheld value and a withheld score
to anything at all changes no class, no band and no statistic of either layer, while changing
one published value does change them (the test can see a change).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from inclusive_cities.analyses import cluster_layer
from inclusive_cities.store import connect, models, transaction
from tests.spatial import grid_city as grid

COLUMNS = ["moran_i", "moran_p", "moran_class", "gi_z", "gi_p", "gi_class"]
HIDDEN = "r9c9"  # its household count rests on 6 people: the web withholds it


def _set(url: str, unit: str, value: float | None = None, score: float | None = None) -> None:
    """Overwrite a block's stored household count and/or every score of it in the run."""
    with transaction(connect(url)) as s:
        unit_id = s.scalar(select(models.SpatialUnit.id).where(models.SpatialUnit.code == unit))
        if value is not None:
            row = s.scalar(
                select(models.Observation)
                .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
                .where(models.Observation.unit_id == unit_id, models.Indicator.code == "households")
            )
            assert row is not None
            row.value = value
        if score is not None:
            for stored in s.scalars(
                select(models.MarkerScore).where(models.MarkerScore.unit_id == unit_id)
            ):
                stored.score = score


def _layers(url: str, run: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = connect(url)
    by_value = cluster_layer(
        engine, city="GRD", period="2024", indicator="households", permutations=99, keep=False
    )
    by_score = cluster_layer(engine, run=run, permutations=99, keep=False)
    return (
        by_value.frame[COLUMNS].sort_index().copy(),
        by_score.frame[COLUMNS].sort_index().copy(),
    )


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    folder: Path = tmp_path_factory.mktemp("grid")
    url = grid.build(f"sqlite:///{folder / 'grid.db'}", folder)
    run = grid.add_marker_run(url)
    with transaction(connect(url)) as s:
        row = s.scalar(
            select(models.Observation)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(models.SpatialUnit.code == HIDDEN, models.Indicator.code == "households")
        )
        assert row is not None
        row.n = 6
        unit = s.scalar(select(models.SpatialUnit.id).where(models.SpatialUnit.code == HIDDEN))
        # a score normalised from the withheld count: withheld with every node above it
        s.add(models.MarkerScore(run_id=run, unit_id=unit, node_code="households", score=100.0))
    return url, run


def test_changing_a_withheld_value_changes_no_class(town: tuple[str, int]) -> None:
    url, run = town
    values, scores = _layers(url, run)
    assert HIDDEN not in values.index and HIDDEN not in scores.index
    assert len(values) == 99 and len(scores) == 99
    # the withheld count (100) becomes a huge hot spot; its index score (0) becomes the best
    _set(url, HIDDEN, value=1_000_000.0, score=100.0)
    after_values, after_scores = _layers(url, run)
    pd.testing.assert_frame_equal(values, after_values)
    pd.testing.assert_frame_equal(scores, after_scores)
    # the same change on a published block (r0c0, 1 household) moves the layer: the
    # comparison above could see a change
    _set(url, "r0c0", value=1_000_000.0)
    moved, _scores = _layers(url, run)
    assert (moved["gi_z"] - values["gi_z"]).abs().max() > 1.0
    assert (moved["gi_class"] != values["gi_class"]).any() or (
        moved["moran_class"] != values["moran_class"]
    ).any()


def test_the_audit_names_a_layer_computed_before_its_input_was_withheld(tmp_path: Path) -> None:
    """A layer computed while r0c0's household count was served, then that count rests on 6
    people (new data): the layer still colours r0c0 by it. The audit names that input (and
    ``publish`` refuses); computing the layer again leaves r0c0 out and the audit is clean."""
    from inclusive_cities.disclosure.audit import CLUSTER_INPUT, audit

    url = grid.build(f"sqlite:///{tmp_path / 'grid.db'}", tmp_path)
    engine = connect(url)

    def stale() -> list[tuple[str, str, float]]:
        with transaction(engine) as s:
            report = audit(s, "GRD")
        return [
            (f.key[0], report.unit_codes[f.key[1]], f.truth)
            for f in report.findings
            if f.attack == CLUSTER_INPUT
        ]

    def cluster() -> None:
        cluster_layer(
            engine,
            city="GRD",
            period="2024",
            indicator="households",
            permutations=99,
            publish=True,
        )

    cluster()
    assert stale() == []
    with transaction(engine) as s:
        row = s.scalar(
            select(models.Observation)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(models.SpatialUnit.code == "r0c0", models.Indicator.code == "households")
        )
        assert row is not None
        row.n = 6
    assert stale() == [("households", "r0c0", grid.households(0, 0))]
    cluster()  # computed again: r0c0 left out
    assert stale() == []
