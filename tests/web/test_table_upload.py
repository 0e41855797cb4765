"""The staff upload of an analyst's table in two steps (columns mapped, then imported), as
an Excel user in Colombia exports it: `;` between cells, accented headers (Código, Año),
decimal commas, "no data" written 999 and NS/NR, a names column and a notes column, and a
code column that Excel turned into numbers (01001 -> 1001). No browser: the pages' HTML and
the store. Expected values are read off the file by hand."""

from __future__ import annotations

from collections.abc import Iterator

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.i18n import use_language
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app
from tests.web.conftest import City, build_city, specs
from tests.web.test_security import ANALYST, add_user, log_in, wait_for_job

HEADER = (
    "Código manzana;Año;Nombre;% hogares con internet;Distancia al colegio;"
    "Proporción con agua;Observaciones\r\n"
)
ROWS = [
    ("01001", "Norte uno", "20,3", "1,25", "0,91", "revisar"),
    ("01002", "Norte dos", "NS/NR", "0,8", "0,75", ""),
    ("01003", "Norte tres", "35,4", "999", "0,5", ""),
    ("02001", "Sur uno", "41,0", "2,1", "0,88", "nueva"),
]


def table(lost_zeros: bool = False) -> bytes:
    """The table in Windows-1252, as Excel saves a Spanish CSV."""
    lines = [HEADER]
    for code, name, internet, distance, water, notes in ROWS:
        written = code.lstrip("0") if lost_zeros else code
        lines.append(f"{written};2023;{name};{internet};{distance};{water};{notes}\r\n")
    return "".join(lines).encode("cp1252")


DICTIONARY = (
    "columna,etiqueta,unidad,dirección\n"
    "% hogares con internet,Hogares con internet,porcentaje,mayor es mejor\n"
    "Distancia al colegio,Distancia al colegio,metros,menor es mejor\n"
).encode()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[City, TestClient, str]]:
    city = build_city(f"sqlite:///{tmp_path_factory.mktemp('mapping') / 'web.db'}")
    add_user(city, *ANALYST, "analyst")
    with TestClient(create_app(city.url, specs=specs)) as client:
        yield city, client, log_in(client, *ANALYST)
    use_language("es")


def stage(client: TestClient, csrf: str, content: bytes, dictionary: bool = True) -> str:
    """First step: the mapping page's address."""
    files = {"file": ("Censo manzanas.csv", content, "text/csv")}
    if dictionary:
        files["dictionary"] = ("diccionario.csv", DICTIONARY, "text/csv")
    response = client.post(
        "/admin/uploads/preview",
        data={"city": "TST", "csrf_token": csrf},
        files=files,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def mapping_form(page: str) -> tuple[str, dict[str, str]]:
    """The mapping form's action and the values it would send as the page shows it."""
    form = lxml.html.fromstring(page).get_element_by_id("mapping-form")
    return str(form.action), dict(form.form_values())


def confirm(client: TestClient, action: str, values: dict[str, str]) -> int:
    response = client.post(action, data=values, follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def stored(city: City, code: str) -> dict[str, float]:
    with transaction(connect(city.url)) as session:
        return dict(
            session.execute(
                select(models.SpatialUnit.code, models.Observation.value)
                .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
                .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
                .join(models.Period, models.Period.id == models.Observation.period_id)
                .where(models.Indicator.code == code, models.Period.code == "2023")
            ).all()
        )


def test_the_page_guesses_each_column_and_reads_the_dictionary(
    web: tuple[City, TestClient, str],
) -> None:
    _city, client, csrf = web
    assert 'action="/admin/uploads/preview"' in client.get("/admin").text
    page = client.get(stage(client, csrf, table(lost_zeros=True))).text
    _action, values = mapping_form(page)
    assert values["role_0"] == "unit"  # Código manzana
    assert values["role_1"] == "period"  # Año
    assert values["role_2"] == "ignore" and values["role_6"] == "ignore"  # names, notes
    assert [values[f"role_{i}"] for i in (3, 4, 5)] == ["indicator"] * 3
    assert values["code_3"] == "hogares_con_internet"
    # the dictionary's Spanish words, read as the command line reads them
    assert (values["label_3"], values["unit_3"], values["direction_3"]) == (
        "Hogares con internet",
        "%",
        "higher_is_better",
    )
    assert (values["unit_4"], values["direction_4"]) == ("m", "lower_is_better")
    assert values["direction_5"] == "unknown"  # not in the dictionary: never judged
    assert values["locale"] == "es"  # 20,3 seen
    assert values["missing"].split() == ["NS/NR", "999"]
    assert values["level"] == ""  # no level has the codes 1001 …
    assert "1001 es 01001 en la ciudad" in page  # … because they lost their zeros
    assert "Diccionario en uso: diccionario.csv" in page


def test_codes_that_lost_their_zeros_fail_with_the_command_lines_one_line_error(
    web: tuple[City, TestClient, str],
) -> None:
    city, client, csrf = web
    action, values = mapping_form(client.get(stage(client, csrf, table(lost_zeros=True))).text)
    job = confirm(client, action, values)
    body = wait_for_job(client, job)
    assert body["status"] == "failed"
    assert "perdió los ceros a la izquierda" in str(body["step"])
    assert "Censo manzanas.csv" in str(body["step"])
    assert stored(city, "hogares_con_internet") == {}
    action, values = mapping_form(client.get(stage(client, csrf, table(lost_zeros=True))).text)
    english = wait_for_job(client, confirm(client, action + "?lang=en", values))
    assert "The city has 01001 for 1001: the file lost the codes' leading zeros" in str(
        english["step"]
    )
    client.get("/admin?lang=es")


def test_mapped_import_stores_the_values_units_and_directions(
    web: tuple[City, TestClient, str],
) -> None:
    city, client, csrf = web
    page = client.get(stage(client, csrf, table())).text
    action, values = mapping_form(page)
    assert values["level"] == "manzana"
    values["unit_5"], values["label_5"] = "%", "Hogares con agua"  # typed by the analyst
    # 1,25 m from a school and 0,91 % with water: kilometres and shares, refused (F17)
    refused = wait_for_job(client, confirm(client, action, values))
    assert refused["status"] == "failed"
    step = str(refused["step"])
    assert "\n" not in step and "Censo manzanas.csv: no se importó nada." in step
    assert "Censo manzanas.csv, fila 5, columna 'Distancia al colegio', valor '2,1'" in step
    assert "multiplíquelos por 1000 en el archivo (1,65 -> 1650)" in step
    assert "Censo manzanas.csv, fila 2, columna 'Proporción con agua', valor '0,91'" in step
    assert "multiplíquelos por 100 en el archivo (0,256 -> 25,6)" in step
    assert "«Importar los valores tal como están aunque su escala no parezca la de su unidad»" in (
        step
    )
    assert "--accept-units" not in step
    assert stored(city, "distancia_al_colegio") == {} and stored(city, "hogares_con_internet") == {}
    page = client.get(stage(client, csrf, table())).text
    box = lxml.html.fromstring(page).xpath("//input[@name='accept_units']/..")[0]
    assert "Importar los valores tal como están aunque" in box.text_content()
    action, values = mapping_form(page)
    values["unit_5"], values["label_5"] = "%", "Hogares con agua"
    values["accept_units"] = "on"  # ticked: the analyst says the values are right as they are
    job = confirm(client, action, values)
    assert wait_for_job(client, job)["status"] == "done"
    assert stored(city, "hogares_con_internet") == {"01001": 20.3, "01003": 35.4, "02001": 41.0}
    assert stored(city, "distancia_al_colegio") == {"01001": 1.25, "01002": 0.8, "02001": 2.1}
    with transaction(connect(city.url)) as session:  # who replaced data is on record (F20)
        by = session.scalars(
            select(models.ImportBatch.imported_by).where(models.ImportBatch.kind == "table")
        ).all()
    assert by and set(by) == {ANALYST[0]}
    assert stored(city, "proporcion_con_agua") == {
        "01001": 0.91,
        "01002": 0.75,
        "01003": 0.5,
        "02001": 0.88,
    }
    assert stored(city, "nombre") == {} and stored(city, "observaciones") == {}
    with transaction(connect(city.url)) as session:
        meaning = {
            i.code: (i.name_es, i.unit, i.direction)
            for i in session.scalars(
                select(models.Indicator).where(
                    models.Indicator.code.in_(
                        ["hogares_con_internet", "distancia_al_colegio", "proporcion_con_agua"]
                    )
                )
            )
        }
    assert meaning == {
        "hogares_con_internet": ("Hogares con internet", "%", "higher_is_better"),
        "distancia_al_colegio": ("Distancia al colegio", "m", "lower_is_better"),
        "proporcion_con_agua": ("Hogares con agua", "%", "unknown"),
    }
    report = client.get(f"/admin/jobs/{job}").text
    tree = lxml.html.fromstring(report)
    imported = [
        [cell.text_content() for cell in row]
        for row in tree.get_element_by_id("job-indicators").iter("tr")
    ][1:]
    assert ["Hogares con internet", "hogares_con_internet", "%", "más es mejor", "2023", "3"] in (
        imported
    )
    warnings = tree.get_element_by_id("job-warnings").text_content()
    # 0,91 … as a % column: shares, kept as asked (no "import it again")
    assert "probablemente son proporciones; se guardaron tal como están" in warnings
    assert "impórtelo de nuevo" not in warnings
    assert "kilómetros" in warnings  # 1,25 m from a school: kilometres

    action, values = mapping_form(client.get(stage(client, csrf, table())).text)
    values["unit_5"], values["label_5"] = "%", "Hogares con agua"  # the same choices again
    again = confirm(client, action, values)
    assert wait_for_job(client, again)["status"] == "done"
    assert "ya importado (mismo sha256)" in client.get(f"/admin/jobs/{again}").text
    assert stored(city, "hogares_con_internet") == {"01001": 20.3, "01003": 35.4, "02001": 41.0}

    with transaction(connect(city.url)) as session:
        ids = [
            session.scalar(select(models.City.id).where(models.City.code == "TST")),
            session.scalar(select(models.Period.id).where(models.Period.code == "2023")),
            session.scalar(
                select(models.Indicator.id).where(models.Indicator.code == "hogares_con_internet")
            ),
        ]
    response = client.post(
        "/admin/layers/publish",
        data=dict(zip(["city_id", "period_id", "indicator_id"], map(str, ids), strict=True))
        | {"csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    layer = client.get(
        "/api/cities/TST/map", params={"layer": "ind:hogares_con_internet", "period": "2023"}
    ).json()
    assert layer["direction"] == "higher_is_better"
    assert "Hogares con internet" in layer["title"]
    listed = {i["code"]: i for i in client.get("/api/indicators").json()}
    assert listed["distancia_al_colegio"]["direction"] == "lower_is_better"


def test_a_wrong_mapping_is_said_on_the_page_in_both_languages(
    web: tuple[City, TestClient, str],
) -> None:
    _city, client, csrf = web
    address = stage(client, csrf, table(), dictionary=False)
    action, values = mapping_form(client.get(address).text)
    forged = {k: v for k, v in values.items() if k != "csrf_token"}
    assert client.post(action, data=forged).status_code == 403  # a form from elsewhere
    values["role_1"] = "unit"  # two unit columns
    response = client.post(action, data=values)
    assert response.status_code == 400
    assert "Elija exactamente una columna como código de unidad (ahora 2)." in response.text
    values["role_1"], values["role_3"], values["role_4"], values["role_5"] = ("ignore",) * 4
    response = client.post(action + "?lang=en", data={**values, "period": ""})
    assert response.status_code == 400
    assert "Choose at least one column as an indicator value." in response.text
    english = client.get(address + "?lang=en").text
    assert "Indicator value" in english and "Map the columns of Censo manzanas.csv" in english
    bad = client.post(
        f"{address}/dictionary?lang=en",
        data={"csrf_token": csrf},
        files={"dictionary": ("d.csv", b"column,unidad,direction\nx,%,sideways\n", "text/csv")},
    )
    assert bad.status_code == 400 and "sideways" in bad.text and "d.csv, row 2" in bad.text
    other = client.get(address.replace(address[-5:], "AAAAA"))
    assert other.status_code == 404
    client.get("/admin?lang=es")


LONG = (
    "Código;Año;Variable;Dato\r\n"
    "01001;2022;Acceso a internet;20,5\r\n"
    "01001;2022;tiempo_al_centro;35\r\n"
    "02001;2022;Acceso a internet;NS/NR\r\n"
    "02001;2022;tiempo_al_centro;50\r\n"
).encode()


def test_a_long_table_is_mapped_by_its_code_and_value_columns(
    web: tuple[City, TestClient, str],
) -> None:
    city, client, csrf = web
    files = {
        "file": ("largo.csv", LONG, "text/csv"),
        "dictionary": (
            "dic.csv",
            b"variable,unidad,sentido\ntiempo_al_centro,minutos,menor es mejor\n",
            "text/csv",
        ),
    }
    response = client.post(
        "/admin/uploads/preview", data={"city": "TST", "csrf_token": csrf}, files=files
    )
    action, values = mapping_form(response.text)
    assert [values[f"role_{i}"] for i in range(4)] == ["unit", "period", "ignore", "indicator"]
    values["role_2"], values["role_3"] = "code_column", "value_column"
    assert values["missing"] == "NS/NR" and values["locale"] == "es"
    job = confirm(client, action, values)
    assert wait_for_job(client, job)["status"] == "done"
    with transaction(connect(city.url)) as session:
        found = {
            (code, unit_code): (value, unit, direction)
            for code, unit_code, value, unit, direction in session.execute(
                select(
                    models.Indicator.code,
                    models.SpatialUnit.code,
                    models.Observation.value,
                    models.Indicator.unit,
                    models.Indicator.direction,
                )
                .join(models.Observation, models.Observation.indicator_id == models.Indicator.id)
                .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
                .join(models.Period, models.Period.id == models.Observation.period_id)
                .where(models.Period.code == "2022")
            )
        }
    assert found == {
        ("acceso_a_internet", "01001"): (20.5, "", "unknown"),
        ("tiempo_al_centro", "01001"): (35.0, "min", "lower_is_better"),
        ("tiempo_al_centro", "02001"): (50.0, "min", "lower_is_better"),
    }
    assert client.get(action.removesuffix("/import")).status_code == 404  # imported: gone
    response = client.post(
        "/admin/uploads/preview", data={"city": "TST", "csrf_token": csrf}, files=files
    )
    action, values = mapping_form(response.text)
    values["role_2"] = "code_column"  # half long, half wide: said, not guessed
    response = client.post(action, data=values)
    assert response.status_code == 400 and "Una tabla larga tiene una columna" in response.text
