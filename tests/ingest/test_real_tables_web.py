"""The admin upload of an indicator table as a Spanish statistics office exports it: the form
says how numbers are written and which codes mean "no data", and the job page shows the
warnings (text columns left out) beside the rejected rows. No browser: the pages' HTML."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.i18n import use_language
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app
from tests.web.conftest import City, build_city, specs
from tests.web.test_security import ANALYST, add_user, log_in, wait_for_job

TABLE = (
    "Código;Manzana;Población total;% hogares con internet;Observaciones\r\n"
    "01001;Norte uno;24.251;20,3;revisar\r\n"
    "01002;Norte dos;1.901;NS/NR;\r\n"
    "01003;Norte tres;999;35,4;\r\n"
).encode("cp1252")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[City, TestClient, str]]:
    city = build_city(f"sqlite:///{tmp_path_factory.mktemp('upload') / 'web.db'}")
    add_user(city, *ANALYST, "analyst")
    with TestClient(create_app(city.url, specs=specs)) as client:
        yield city, client, log_in(client, *ANALYST)
    use_language("es")


def upload(client: TestClient, csrf: str, **fields: str) -> int:
    form = {"city": "TST", "period": "2010", "csrf_token": csrf, **fields}
    files = {"file": ("censo.csv", TABLE, "text/csv")}
    response = client.post("/admin/uploads", data=form, files=files, follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_upload_form_reads_spanish_numbers_and_text_codes(
    web: tuple[City, TestClient, str],
) -> None:
    city, client, csrf = web
    form = client.get("/admin").text
    assert 'name="locale"' in form and 'name="missing"' in form

    plain = upload(client, csrf)
    body = wait_for_job(client, plain)
    assert body["status"] == "failed"
    page = client.get(f"/admin/jobs/{plain}").text
    assert "si son miles, vuelva a ejecutar con --locale es" in page  # a warning, shown
    assert "parece una coma decimal" in page

    spanish = upload(client, csrf, locale="es", missing="999 NS/NR")
    assert wait_for_job(client, spanish)["status"] == "done"
    page = client.get(f"/admin/jobs/{spanish}").text
    assert 'id="job-warnings"' in page
    assert page.count("la columna contiene texto, no números") == 2  # Manzana, Observaciones
    with transaction(connect(city.url)) as session:
        values = dict(
            session.execute(
                select(models.SpatialUnit.code, models.Observation.value)
                .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
                .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
                .join(models.Period, models.Period.id == models.Observation.period_id)
                .where(models.Indicator.code == "poblacion_total", models.Period.code == "2010")
            ).all()
        )
    assert values == {"01001": 24251.0, "01002": 1901.0}  # 999: no data, not 999 people
    response = client.post(
        "/admin/uploads",
        data={"city": "TST", "csrf_token": csrf, "locale": "xx"},
        files={"file": ("censo.csv", TABLE, "text/csv")},
    )
    assert response.status_code == 400 and "xx" in response.text
