"""Public pages in both languages, downloads in every format, catalogues, schema, CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyogrio
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from inclusive_cities.cli import main
from inclusive_cities.cli.web_messages import all_messages, missing
from inclusive_cities.i18n import catalogue
from inclusive_cities.store import connect, init_database, models, transaction
from inclusive_cities.store.web_models import PublishedLayer, User
from inclusive_cities.web import auth
from inclusive_cities.web.messages import template_messages
from tests.web.conftest import City

PAGES = [
    "/",
    "/cities/TST",
    "/cities/TST/map",
    "/cities/TST/units/02003",
    "/cities/TST/rankings",
    "/downloads",
    "/methodology",
    "/admin/login",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_spanish_by_default_and_english_on_request(client: TestClient, path: str) -> None:
    spanish = client.get(path)
    assert spanish.status_code == 200
    assert '<html lang="es">' in spanish.text
    assert "Observatorio de Ciudades Incluyentes" in spanish.text
    english = client.get(path, params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert "Inclusive Cities Observatory" in english.text
    assert "lang=en" in english.headers["set-cookie"]
    # the cookie keeps the choice on the next page
    assert '<html lang="en">' in client.get(path).text
    client.cookies.clear()


def test_synthetic_city_is_flagged(client: TestClient) -> None:
    assert "Datos sintéticos" in client.get("/cities/TST").text
    assert "Synthetic data" in client.get("/cities/TST", params={"lang": "en"}).text


def test_unit_profile_contents(client: TestClient) -> None:
    html = client.get("/cities/TST/units/02003", params={"lang": "en"}).text
    assert "Rank 1 of 6 units" in html
    assert "Very solid" in html
    assert "Piped water" in html and "50.0 – 100.0" in html  # benchmarks
    assert "School attendance (survey)" in html and "81.00 – 89.00" in html  # CI of 02003
    assert 'id="radar"' in html and 'id="trend"' in html
    radar = json.loads(html.split('id="radar">')[1].split("</script>")[0])
    assert "layer" in radar and radar["$schema"].startswith(
        "https://vega.github.io/schema/vega-lite/"
    )


def test_suppressed_cell_is_marked_in_the_profile(client: TestClient) -> None:
    html = client.get("/cities/TST/units/01001", params={"lang": "en"}).text
    assert "suppressed (small sample)" in html


def test_rankings_sort_filter_and_export(client: TestClient) -> None:
    html = client.get("/cities/TST/rankings", params={"locality": "02", "lang": "en"}).text
    assert "3 units" in html
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    "/cities/TST/rankings",
                    params={"format": "csv", "sort": "score", "order": "desc"},
                ).text
            )
        )
    )
    assert rows[0][:6] == ["rank", "code", "name", "locality", "score", "level"]
    assert [r[1] for r in rows[1:]] == ["02003", "02002", "02001", "01003", "01002", "01001"]
    assert client.get("/cities/TST/rankings", params={"sort": "nonsense"}).status_code == 400


def test_methodology_is_generated_from_the_spec(client: TestClient) -> None:
    html = client.get("/methodology", params={"lang": "en"}).text
    for text in ("Test UIM", "Affordable housing with services", "V_CAL", "SDG 6.1", "Very weak"):
        assert text in html


def test_downloads_in_every_format(client: TestClient, tmp_path: Path) -> None:
    base = "/downloads/tst-uim-test-2024"
    rows = list(csv.reader(io.StringIO(client.get(base + ".csv").text)))
    assert rows[0][:4] == ["code", "name", "locality", "period"] and len(rows) == 7
    hxl = list(csv.reader(io.StringIO(client.get(base + ".hxl.csv").text)))
    assert hxl[1][:2] == ["#loc+code", "#loc+name"] and len(hxl) == 8
    assert all(tag.startswith("#") for tag in hxl[1])
    geo = client.get(base + ".geojson").json()
    assert len(geo["features"]) == 6
    book = load_workbook(io.BytesIO(client.get(base + ".xlsx").content))
    assert book.sheetnames == ["datos", "metadatos"]
    meta = {row[0].value: row[1].value for row in book["metadatos"].iter_rows(min_row=2)}
    assert meta["Licencia"] == "CC BY 4.0"
    assert "sintéticos" in meta["Advertencia"]
    gpkg = tmp_path / "layer.gpkg"
    gpkg.write_bytes(client.get(base + ".gpkg").content)
    layers = {name for name, _kind in pyogrio.list_layers(gpkg)}
    assert layers == {"tst-uim-test-2024", "metadata"}
    frame = pyogrio.read_dataframe(gpkg, layer="tst-uim-test-2024")
    assert dict(zip(frame["code"], frame["score_UIM"], strict=True))["02003"] == 85.0


def test_template_and_code_messages_are_translated() -> None:
    assert "Map explorer" in template_messages()
    assert "Serving the observatory at http://{host}:{port}/ (Ctrl+C to stop)" in all_messages()
    assert missing("es") == {}
    assert missing("en") == {}
    assert catalogue("es")["Rankings"] == "Clasificación"


def test_migrations_include_the_web_tables(tmp_path: Path) -> None:
    engine = init_database(f"sqlite:///{tmp_path / 'schema.db'}")
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}),
            models.Base.metadata,
        )
    assert differences == []
    assert {"users", "web_sessions", "api_tokens", "audit_log", "published_layers"} <= set(
        models.Base.metadata.tables
    )


def test_cli_users_add_creates_the_first_admin(
    fresh_city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_NEW_PASSWORD", "a long enough password")
    main(
        [
            "--database",
            fresh_city.url,
            "users",
            "add",
            "--role",
            "admin",
            "--email",
            "Chief@Example.org",
        ]
    )
    with transaction(connect(fresh_city.url)) as session:
        user = session.scalar(select(User))
        assert user is not None
        assert (user.email, user.role) == ("chief@example.org", "admin")
        assert auth.check_password(user.password_hash, "a long enough password")


def test_cli_refuses_a_short_password(
    fresh_city: City, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_NEW_PASSWORD", "short")
    with pytest.raises(SystemExit) as done:
        main(["--lang", "en", "--database", fresh_city.url, "users", "add", "--email", "a@b.co"])
    assert done.value.code == 1
    assert "at least 10 characters" in capsys.readouterr().err


def test_cli_has_serve(capsys: pytest.CaptureFixture[str]) -> None:
    main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--port" in out and "--workers" in out


def test_pages_use_the_recipe_stored_with_the_run(fresh_city: City) -> None:
    """The marker engine stores its spec in the run; names come from it, not from code."""
    from fastapi.testclient import TestClient

    from inclusive_cities.marker import load_spec
    from inclusive_cities.web import create_app

    spec = load_spec("uim-basic")
    with transaction(connect(fresh_city.url)) as session:
        run = session.get(models.MarkerRun, fresh_city.run_2024)
        assert run is not None
        run.parameters = {"spec": spec.model_dump(mode="json")}
        run.spec_code = spec.code
    expected = spec.find("V_CAL").name.en
    with TestClient(create_app(fresh_city.url, specs=lambda code: None)) as client:
        html = client.get("/cities/TST/units/02003", params={"lang": "en"}).text
    assert expected in html and "Dimension V_CAL" not in html


def test_cli_publish_and_withdraw(fresh_city: City) -> None:
    main(["--database", fresh_city.url, "publish", "--city", "TST", "--unpublish", "--layers"])
    with transaction(connect(fresh_city.url)) as session:
        assert not any(session.scalars(select(models.MarkerRun.published)))
        assert session.scalar(select(PublishedLayer.id)) is None
    main(["--database", fresh_city.url, "publish", "--city", "TST", "--layers"])
    with transaction(connect(fresh_city.url)) as session:
        published = {
            r.id: r.published
            for r in session.execute(select(models.MarkerRun.id, models.MarkerRun.published))
        }
        layers = session.scalars(
            select(models.Indicator.code).join(
                PublishedLayer, PublishedLayer.indicator_id == models.Indicator.id
            )
        )
        codes = sorted(layers)
    # the latest run of each period: the draft (newer than the 2024 run) and the 2020 run
    assert published == {
        fresh_city.run_2020: True,
        fresh_city.run_2024: False,
        fresh_city.draft_run: True,
    }
    assert codes == ["piped_water", "population", "refugee_migrant_share", "school_attendance_srv"]


def test_rank_intervals_of_the_run_are_shown(fresh_city: City, fresh_client: TestClient) -> None:
    """A run built with an uncertainty analysis shows each unit's 5-95 % rank interval."""
    engine = connect(fresh_city.url)
    with transaction(engine) as session:
        run = session.get(models.MarkerRun, fresh_city.run_2024)
        run.parameters = {**(run.parameters or {}), "rank_intervals": {"01003": [2, 5]}}
    profile = fresh_client.get("/cities/TST/units/01003", params={"lang": "en"}).text
    assert "rank between 2 and 5 in 90 % of the Monte Carlo runs" in profile
    other = fresh_client.get("/cities/TST/units/01001", params={"lang": "en"}).text
    assert "Monte Carlo" not in other
    table = fresh_client.get("/cities/TST/rankings", params={"lang": "es"}).text
    assert "(2–5)" in table
    assert "Intervalo de posición del 5 al 95 % (Monte Carlo)" in table
