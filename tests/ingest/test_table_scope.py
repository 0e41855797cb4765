"""What a table import replaces (trial #4 F20): a file covers an indicator, a period and a level.

H5's sequence through the CLI: census values computed by the observatory for barrios 01001 and
01002 and localidad 01; a file with barrios 01001 and 01002, a file with barrio 02001, a file
with localidad 01. Before the fix each file deleted the last one's rows at any level, and the
census values they had overwritten never came back, with no word said."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from inclusive_cities.ingest import import_table
from inclusive_cities.store import models, transaction

CODE = "venezuelan_population"
CENSUS = {"01": 2175.0, "01001": 187.0, "01002": 145.0, "02001": 223.0}


def _with_census(engine: Engine) -> None:
    with transaction(engine) as session:
        indicator = models.Indicator(code=CODE, name_es="Venezolanos", name_en="Venezuelans")
        period = models.Period(code="2024", label="2024")
        session.add_all([indicator, period])
        session.flush()
        units = dict(session.execute(select(models.SpatialUnit.code, models.SpatialUnit.id)).all())
        for code, value in CENSUS.items():
            session.add(
                models.Observation(
                    indicator_id=indicator.id,
                    unit_id=units[code],
                    period_id=period.id,
                    value=value,
                    status="computed",
                )
            )


def _values(engine: Engine) -> dict[str, tuple[float, str]]:
    with transaction(engine) as session:
        rows = session.execute(
            select(models.SpatialUnit.code, models.Observation.value, models.Observation.status)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(models.Indicator.code == CODE)
        ).all()
    return {code: (value, status) for code, value, status in rows}


def _file(path: Path, *lines: str) -> Path:
    path.write_text("codigo," + CODE + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_file_replaces_only_its_own_level_and_says_what_it_replaces(
    city: Engine, tmp_path: Path
) -> None:
    _with_census(city)
    a = import_table(
        city, _file(tmp_path / "a.csv", "01001,150", "01002,140"), city="TST", period="2024"
    )
    said = " ".join(str(w) for w in a.warnings)
    assert "replaces 2 values of venezuelan_population (2024) that the observatory computed" in said
    assert _values(city)["01001"] == (150.0, "observed")

    b = import_table(city, _file(tmp_path / "b.csv", "02001,120"), city="TST", period="2024")
    said = " ".join(str(w) for w in b.warnings)
    # the same indicator, period and level: a corrected file, which says what it takes away
    assert b.replaced_batch_ids == [a.batch_id]
    assert f"replaces a.csv (import {a.batch_id}): its values for 2 units" in said
    assert "01001" not in _values(city) and _values(city)["02001"] == (120.0, "observed")

    c = import_table(
        city, _file(tmp_path / "c.csv", "01,2000"), city="TST", period="2024", level="localidad"
    )
    # another level: nothing of the barrio file is touched
    assert c.replaced_batch_ids == []
    values = _values(city)
    assert values["02001"] == (120.0, "observed")
    assert values["01"] == (2000.0, "observed")
    with transaction(city) as session:
        active = session.scalars(
            select(models.ImportBatch.id).where(
                models.ImportBatch.kind == "table", models.ImportBatch.status == "active"
            )
        ).all()
    assert sorted(active) == sorted([b.batch_id, c.batch_id])


def test_a_rejection_says_the_example_and_the_way_out_of_its_reader(
    city: Engine, tmp_path: Path
) -> None:
    """A file written with decimal commas gets its example with a comma, and the upload page
    names its checkbox, not the command line's --accept-valid (trial #4 F21)."""
    import pytest

    from inclusive_cities.i18n import use_language
    from inclusive_cities.ingest import ImportRejected
    from inclusive_cities.web.jobs import _for_the_web

    path = _file(tmp_path / "d.csv", '01001,"1,5"', "01002,12 personas")
    use_language("es")
    try:
        with pytest.raises(ImportRejected) as rejected:
            import_table(city, path, city="TST", period="2024", decimal=",")
        message = str(rejected.value)
        assert "p. ej. 12,5" in message and "--accept-valid" in message
        page = _for_the_web(rejected.value)
        assert "--accept-valid" not in page
        assert "«Importar las filas válidas aunque algunas se rechacen» marcado" in page
    finally:
        use_language("en")
