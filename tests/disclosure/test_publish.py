"""``publish`` runs the audit and refuses, naming the cells, when anything comes back."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from inclusive_cities.cli import main
from inclusive_cities.disclosure import control
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from tests.disclosure.conftest import SmallCity


def withdraw_everything(url: str) -> None:
    with transaction(connect(url)) as session:
        session.execute(update(models.MarkerRun).values(published=False))
        session.execute(delete(PublishedLayer))


def published(url: str) -> tuple[int, int]:
    with Session(connect(url)) as session:
        runs = session.scalar(
            select(func.count(models.MarkerRun.id)).where(models.MarkerRun.published.is_(True))
        )
        layers = session.scalar(select(func.count(PublishedLayer.id)))
    return int(runs or 0), int(layers or 0)


def test_publish_refuses_a_disclosive_city_and_changes_nothing(
    small: SmallCity, capsys: pytest.CaptureFixture[str]
) -> None:
    withdraw_everything(small.url)
    args = ["-d", small.url, "--lang", "en", "publish", "--city", "DSC", "--layers"]
    with control(False), pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 1
    error = capsys.readouterr().err
    assert "Refusing to publish DSC" in error
    assert "venezuelan_population[B1, 2024]" in error
    assert published(small.url) == (0, 0)


def test_publish_goes_ahead_under_disclosure_control(small: SmallCity) -> None:
    withdraw_everything(small.url)
    main(["-d", small.url, "--lang", "en", "publish", "--city", "DSC", "--layers"])
    assert published(small.url) == (1, 4)
