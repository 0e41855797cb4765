"""Runs without an index are refused: ``marker compute`` and ``marker build`` say which
indicators are missing and exit 1; ``publish`` never hides a good run behind an empty one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from inclusive_cities.cli import main
from inclusive_cities.marker import builtin_specs
from inclusive_cities.store import models, transaction

from .test_build import tiny_city  # noqa: F401  (fixture: city TNY, blocks b1-b3, 2020)
from .test_cli import SPEC

# the same tree as SPEC with a1 and b1 renamed (TNY has never observed x1, y1), and each node
# needing 75% of its parts: a2 alone (1 of area A's 2) scores nothing
ABSENT_SPEC = (
    SPEC.replace("code: tiny", "code: absent")
    .replace("a1", "x1")
    .replace("b1", "y1")
    .replace("tree:", "defaults: {missing: {min_coverage: 0.75}}\ntree:", 1)
)


@pytest.fixture
def cli(capsys):
    """Run the command in-process; returns (exit code, stdout, stderr)."""

    def invoke(*args: str, lang: str = "en") -> tuple[int, str, str]:
        try:
            main(["--lang", lang, *args])
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def _runs(engine) -> list[tuple[int, bool]]:
    with transaction(engine) as session:
        return [
            (run.id, run.published)
            for run in session.scalars(select(models.MarkerRun).order_by(models.MarkerRun.id))
        ]


def _build(cli, url: str, spec: Path, *extra: str, lang: str = "en") -> tuple[int, str, str]:
    return cli(
        "--database",
        url,
        "marker",
        "build",
        "--city",
        "TNY",
        "--period",
        "2020",
        "--spec",
        str(spec),
        *extra,
        lang=lang,
    )


def test_build_without_observations_stores_nothing(tiny_city, tmp_path, cli):  # noqa: F811
    url, engine = tiny_city
    spec = tmp_path / "absent.yaml"
    spec.write_text(ABSENT_SPEC, encoding="utf-8")
    code, out, err = _build(cli, url, spec, "--level", "block")
    assert code == 1
    assert "Stored marker run" not in out
    message = " ".join(err.split())
    assert "level 'block': no unit gets an index with absent, so no run was stored" in message
    # x1, a2, y1 are the spec's three indicators; TNY observes only a2 (at level block)
    assert "no values for x1, y1 (2 of 3 indicators)" in message
    assert "values only for a2, too few for the index (each node needs 75% of its parts)" in (
        message
    )
    assert "(block)" in message  # the only level with any of the spec's indicators
    assert _runs(engine) == []
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.MarkerScore)) == 0


def test_build_at_a_level_without_data_names_the_level_that_has_it(
    tiny_city,  # noqa: F811
    tmp_path,
    cli,
):
    url, engine = tiny_city
    with transaction(engine) as session:
        city = session.scalar(select(models.City))
        barrio = session.scalar(select(models.UnitLevel).where(models.UnitLevel.code == "barrio"))
        session.add(models.SpatialUnit(city_id=city.id, level_id=barrio.id, code="X"))
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    code, _out, err = _build(cli, url, spec, "--level", "barrio", lang="es")
    assert code == 1
    message = " ".join(err.split())
    assert "nivel 'barrio'" in message and "a1, a2, b1 (3 de 3 indicadores)" in message
    assert "(block)" in message
    assert _runs(engine) == []


def test_publish_keeps_the_good_run_when_the_newest_is_empty(tiny_city, tmp_path, cli):  # noqa: F811
    url, engine = tiny_city
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    assert _build(cli, url, spec)[0] == 0
    code, out, _err = cli("--database", url, "publish", "--city", "TNY")
    assert code == 0
    assert "Published 1 marker run and 0 indicator layers of TNY." in " ".join(out.split())
    # an empty run of the same spec, as versions before this check stored (or a bad import)
    with transaction(engine) as session:
        good = session.get(models.MarkerRun, 1)
        session.add(
            models.MarkerRun(
                city_id=good.city_id,
                period_id=good.period_id,
                level_id=good.level_id,
                spec_code=good.spec_code,
                spec_hash=good.spec_hash,
                input_hash="0" * 64,
                software_version=good.software_version,
                parameters={**good.parameters, "absent_indicators": ["a1", "a2", "b1"]},
                city_score=None,
            )
        )
    code, out, err = cli("--database", url, "publish", "--city", "TNY")
    assert code == 1
    message = " ".join(err.split())
    assert "Marker run 2 (tiny) was not published: no unit has an index value" in message
    assert "(indicators without values: a1, a2, b1); the site keeps showing run 1" in message
    assert "Published 0 marker runs" in out
    assert _runs(engine) == [(1, True), (2, False)]
    code, _out, err = cli("--database", url, "publish", "--city", "TNY", "--run", "2")
    assert code == 1 and "Marker run 2 (tiny) was not published" in " ".join(err.split())
    assert _runs(engine) == [(1, True), (2, False)]
    # withdrawing is always allowed, and its counts read in the singular too (Spanish)
    code, out, _err = cli("--database", url, "publish", "--city", "TNY", "--unpublish", lang="es")
    assert code == 0
    assert "Retiro de la publicación en TNY: 2 cálculos del marcador y 0 capas" in " ".join(
        out.split()
    )
    assert _runs(engine) == [(1, False), (2, False)]


def test_publish_counts_in_singular_and_plural(tiny_city, tmp_path, cli):  # noqa: F811
    url, _engine = tiny_city
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    assert _build(cli, url, spec)[0] == 0
    # four indicators observed in 2020 (a1, a2, b1, population): four layers, one run
    code, out, _err = cli("--database", url, "publish", "--city", "TNY", "--layers", lang="es")
    assert code == 0
    assert "Publicación en TNY: 1 cálculo del marcador y 4 capas de indicadores." in " ".join(
        out.split()
    )
    code, out, _err = cli("--database", url, "publish", "--city", "TNY", "--unpublish", "--layers")
    assert "Withdrew 1 marker run and 4 indicator layers of TNY." in " ".join(out.split())


def test_compute_without_the_specs_indicators_writes_nothing(tmp_path, cli):
    data = tmp_path / "blocks.csv"
    data.write_text(
        "unit_code,desempleo,dist_salud\n001,12.5,350\n002,999,1200\n003,4,80\n", encoding="utf-8"
    )
    out = tmp_path / "uim.csv"
    for extra in ((), ("--allow-missing-indicators",)):
        code, stdout, err = cli(
            "marker",
            "compute",
            "--spec",
            "uim-basic",
            "--data",
            str(data),
            "--out",
            str(out),
            *extra,
        )
        assert code == 1, stdout
        assert not out.exists()
        assert "Scored" not in stdout
    message = " ".join(err.split())
    assert "no unit gets an index with uim-basic, so nothing was written" in message
    # every indicator of uim-basic is missing (counted in its YAML), named in tree order
    total = builtin_specs()["uim-basic"].read_text(encoding="utf-8").count("direction:")
    assert "no values for durable_housing, overcrowding, piped_water" in message
    assert f"({total} of {total} indicators)" in message
    assert "marker spec init --data" in message


def test_compute_names_absent_indicators_when_some_units_score(tmp_path, cli):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    data = tmp_path / "units.csv"
    data.write_text("unit_code,a1,a2\n007,50,10\n008,100,0\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    code, stdout, _err = cli(
        "marker",
        "compute",
        "--spec",
        str(spec),
        "--data",
        str(data),
        "--out",
        str(out),
        "--allow-missing-indicators",
    )
    assert code == 0
    # area A scores (50+80)/2 = 65 and 100; B has no value; IDX needs 1 of 2 areas (50%)
    assert "city score 82.5" in stdout
    assert "No column for: b1." in stdout
    assert out.exists()


def test_the_admin_area_will_not_publish_an_empty_run_either(tiny_city, tmp_path, cli):  # noqa: F811
    from inclusive_cities.web.admin import set_run_published
    from inclusive_cities.web.auth import Identity
    from inclusive_cities.web.errors import BadRequest

    url, engine = tiny_city
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    assert _build(cli, url, spec)[0] == 0
    assert cli("--database", url, "publish", "--city", "TNY")[0] == 0
    with transaction(engine) as session:
        good = session.get(models.MarkerRun, 1)
        empty = models.MarkerRun(
            city_id=good.city_id,
            period_id=good.period_id,
            level_id=good.level_id,
            spec_code=good.spec_code,
            spec_hash=good.spec_hash,
            input_hash="0" * 64,
            software_version=good.software_version,
            parameters={**good.parameters, "absent_indicators": ["b1"]},
        )
        session.add(empty)
    analyst = Identity(user_id=1, email="ana@example.org", role="analyst")
    with transaction(engine) as session, pytest.raises(BadRequest) as refused:
        set_run_published(session, analyst, 2, True, "127.0.0.1")
    assert "Marker run 2 (tiny) was not published" in str(refused.value)
    assert "the site keeps showing run 1" in str(refused.value)
    assert _runs(engine) == [(1, True), (2, False)]
