"""Programme deliveries (issue #18 §2-3): trainings and the improved-knowledge estimate with its
95 % CI, entrepreneurs' follow-up as protected counts, policies by stage, the centres network
through CSV/GeoPackage, commitments, the facilitators' workbook, the computed indicators and the
command line. Files are shaped like the facilitators' ones: Spanish headers, 999 codes, an odd
extra column, a GeoPackage in metres. Expected values are worked out by hand in each test.

Two target cities: CUC (Cúcuta, COL) and LIM (Lima, PER); QTO (Quito, ECU) has no records.
Public servants: session T1 (Cúcuta) 9 of 10 improved; session T2 (Cúcuta) 5 of 10 improved,
one more person with the post test missing (999), five of its people also sat T1.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from inclusive_cities.cli import app
from inclusive_cities.disclosure import control
from inclusive_cities.monitoring import computed, window
from inclusive_cities.monitoring.centres import (
    centres_geojson,
    export_centres,
    import_centres,
    list_centres,
)
from inclusive_cities.monitoring.commitments import import_commitments, list_commitments
from inclusive_cities.monitoring.delivery_import import DeliveryError, only_cities
from inclusive_cities.monitoring.delivery_workbook import import_workbook, write_workbook
from inclusive_cities.monitoring.entrepreneurs import (
    business_open,
    entrepreneurs_by_city,
    import_entrepreneurs,
    protect_counts,
)
from inclusive_cities.monitoring.policies import import_policies, policies_by_stage
from inclusive_cities.monitoring.trainings import (
    import_trainings,
    improved_knowledge,
    people_trained,
    published_trainings_by_topic,
    wilson_with_design_effect,
)
from inclusive_cities.store import init_database, transaction
from inclusive_cities.store.delivery_models import (
    DeliveryCentre,
    DeliveryCommitment,
    DeliveryParticipant,
    DeliveryTraining,
)
from inclusive_cities.store.monitoring_models import Programme, TargetCity

Z = 1.959963984540054
"""The 97.5 % point of the standard normal."""


def wilson(share: float, n: float) -> tuple[float, float]:
    """The Wilson score interval written out (Wilson 1927; Newcombe 1998, method 3)."""
    centre = (share + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(share * (1 - share) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def build(url: str) -> Engine:
    engine = init_database(url)
    with transaction(engine) as session:
        programme = Programme(code="inclusive_cities", name_es="CI", name_en="CI")
        session.add(programme)
        session.flush()
        for code, name, country in (
            ("CUC", "Cúcuta", "COL"),
            ("LIM", "Lima", "PER"),
            ("QTO", "Quito", "ECU"),
        ):
            session.add(
                TargetCity(programme_id=programme.id, code=code, name=name, country=country)
            )
    return engine


def trainings_files(folder: Path) -> tuple[Path, Path]:
    sessions = write(
        folder / "capacitaciones.csv",
        """
código,ciudad,tema,público,fecha,horas,observaciones
T1,Cúcuta,movilidad humana,servidores públicos,2025-03-10,8,sala 2
T2,CUC,Protección,Servidores Publicos,15/04/2025,999,
T3,lima,emprendimiento,comunidad,2025-05-02,4,
""",
    )
    rows = ["capacitación,participante,sexo,nacionalidad,puntaje_pre,puntaje_post"]
    for i in range(1, 11):  # T1: p01..p09 improve, p10 stays level (not an improvement)
        rows.append(f"T1,p{i:02d},mujer,migrante,50,{60 if i < 10 else 50}")
    for i in range(1, 6):  # T2: p01..p05 again, none improves
        rows.append(f"T2,p{i:02d},hombre,acogida,70,{65}")
    for i in range(1, 6):  # T2: q01..q05 improve
        rows.append(f"T2,q{i:02d},mujer,refugiado,40,{55}")
    rows.append("T2,q06,mujer,migrante,40,999")  # post test missing: trained, not assessed
    for i in range(1, 5):
        rows.append(f"T3,c{i:02d},mujer,migrante,30,60")
    participants = write(folder / "participantes.csv", "\n".join(rows))
    return sessions, participants


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store with the three cities and the trainings imported, built once."""
    folder = tmp_path_factory.mktemp("deliveries")
    engine = build(f"sqlite:///{folder / 'base.db'}")
    sessions, participants = trainings_files(folder)
    import_trainings(engine, sessions, participants)
    engine.dispose()
    return folder / "base.db"


@pytest.fixture
def engine(imported: Path, tmp_path: Path) -> Engine:
    """A copy of the built store for one test (tests change it)."""
    copy = tmp_path / "observatory.db"
    shutil.copyfile(imported, copy)
    return init_database(f"sqlite:///{copy}")


def test_wilson_interval_matches_the_published_one() -> None:
    # 9 of 10: Newcombe (1998) Table I gives 0.5958 to 0.9821 for the score method
    share, low, high, deff = wilson_with_design_effect([(9, 10)])
    assert (share, deff) == (0.9, 1.0)
    assert (round(low, 4), round(high, 4)) == (0.5958, 0.9821)


def test_improved_knowledge_is_estimated_with_the_sessions_design_effect(engine: Engine) -> None:
    found = improved_knowledge(engine)
    # 20 assessed public servants (q06 has no post test), 9 + 5 improved
    assert (found.assessed, found.improved, found.sessions) == (20, 14, 2)
    share = 14 / 20
    # linearised variance of the ratio over the two sessions (k = 2):
    # k/(k-1) * sum((y_i - p n_i)^2) / N^2 = 2 * ((9 - 7)^2 + (5 - 7)^2) / 20^2 = 0.04
    cluster = 2 * ((9 - 7) ** 2 + (5 - 7) ** 2) / 20**2
    deff = cluster / (share * (1 - share) / 20)  # 0.04 / 0.0105 = 3.8095...
    low, high = wilson(share, 20 / deff)
    assert found.share == pytest.approx(0.7)
    assert found.design_effect == pytest.approx(deff)
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))
    # wider than the plain Wilson interval, which treats the 20 as independent
    plain_low, plain_high = wilson(share, 20)
    assert found.low < plain_low and found.high > plain_high


def test_people_trained_count_a_person_once_per_city(engine: Engine) -> None:
    # p01..p10 and q01..q06 in Cúcuta (p01..p05 sat both sessions), c01..c04 in Lima
    assert people_trained(engine, audience="public_servants") == 16
    assert people_trained(engine, audience="community") == 4
    assert people_trained(engine) == 20
    with Session(engine) as session:
        stored = session.scalar(
            select(DeliveryParticipant.post_score).where(DeliveryParticipant.participant == "q06")
        )
        hours = session.scalar(select(DeliveryTraining.hours).where(DeliveryTraining.code == "T2"))
    assert stored is None and hours is None  # 999 is "no data", not a score or 999 hours


def test_trainings_by_topic_as_published(engine: Engine) -> None:
    rows = {(r.topic, r.audience): r for r in published_trainings_by_topic(engine)}
    # T1: ten women, refugees or migrants: 10 is not under the threshold, shown whole
    first = rows[("human_mobility", "public_servants")]
    assert (first.sessions, first.people, first.by_sex) == (1, 10, {"female": 10})
    # T2: 5 men from the host community and 6 women refugees or migrants: both hidden
    second = rows[("protection", "public_servants")]
    assert second.people == 11
    assert second.by_sex == {"male": None, "female": None}
    assert second.by_nationality == {"host": None, "refugee_migrant": None}
    # T3: four community members, withheld
    assert rows[("entrepreneurship", "community")].people is None


def test_reimport_updates_and_a_bad_cell_leaves_the_store_as_it_was(
    engine: Engine, tmp_path: Path
) -> None:
    sessions, participants = trainings_files(tmp_path)
    again = import_trainings(engine, sessions, participants)
    assert (again.created, again.updated) == (0, 3)
    assert people_trained(engine) == 20
    bad = write(
        tmp_path / "mal.csv",
        """
código,ciudad,tema,público,fecha
T9,Cúcuta,movilidad humana,comunidad,2025-06-01
T10,Cúcuta,cocina,comunidad,2025-06-02
""",
    )
    with pytest.raises(DeliveryError) as error:
        import_trainings(engine, bad)
    message = str(error.value)
    assert "\n" not in message
    assert "mal.csv, row 3, column 'tema': 'cocina' is not allowed here" in message
    with Session(engine) as session:
        assert session.scalar(select(func.count(DeliveryTraining.id))) == 3
    unknown_city = write(
        tmp_path / "ciudad.csv",
        "código,ciudad,tema,público,fecha\nT9,Bogotá,liderazgo,comunidad,2025-06-01",
    )
    with pytest.raises(DeliveryError, match="row 2, column 'ciudad': 'Bogotá' is not a target"):
        import_trainings(engine, unknown_city)


def test_programme_staff_import_only_their_cities(engine: Engine, tmp_path: Path) -> None:
    rows = write(
        tmp_path / "compromisos.csv",
        "código,ciudad,qué,fecha_acuerdo\nC1,Cúcuta,Ventanilla,2025-02-01\nC2,Lima,Datos,2025-03-01",
    )
    with only_cities({"CUC"}), pytest.raises(DeliveryError) as error:
        import_commitments(engine, rows)
    assert str(error.value) == (
        "compromisos.csv, row 3, column 'ciudad': 'Lima' is not one of the cities your account "
        "may edit (CUC)."
    )
    national = write(
        tmp_path / "p.csv",
        "código,nombre,tipo,nivel,país,etapa\nP9,Kit,programa,nacional,COL,propuesta",
    )
    with only_cities({"CUC"}), pytest.raises(DeliveryError, match="row 2, column 'ciudad'"):
        import_policies(engine, national)
    assert list_commitments(engine) == []
    with only_cities({"CUC", "LIM"}):
        assert import_commitments(engine, rows).created == 2


def test_computed_indicators_answer_from_the_records(engine: Engine) -> None:
    with Session(engine) as session:
        cities = {c.code: c for c in session.scalars(select(TargetCity))}
        year = window("2025")
        assert computed("public_servants_trained")(session, cities["CUC"], year) == 16
        assert computed("community_trained")(session, cities["LIM"], year) == 4
        assert computed("public_servants_trained")(session, cities["LIM"], year) == 0
        assert computed("public_servants_trained")(session, cities["QTO"], year) is None
        assert computed("public_servants_trained")(session, cities["CUC"], window("2024")) == 0
        # T1 (March) is in the first half of 2025, T2 (April) too: 14 of 20 improved
        assert computed("improved_knowledge_share")(session, cities["CUC"], year) == 70.0
        assert (
            computed("improved_knowledge_share")(session, cities["CUC"], window("2025-S2")) is None
        )
        # nobody assessed in the window: no share with disclosure control off too (an audit's
        # --without-control run divided by zero here)
        with control(False):
            assert (
                computed("improved_knowledge_share")(session, cities["CUC"], window("2024")) is None
            )


def test_entrepreneurs_follow_up_and_protected_counts(engine: Engine, tmp_path: Path) -> None:
    rows = ["id,ciudad,sexo,nacionalidad,sector,actividad_plan,abierto_6m,abierto_12m"]
    opened = ["sí", "no", "999", "sí"]
    later = ["sí", "no", "", "no"]
    for i in range(12):
        rows.append(
            f"E{i},CUC,{'mujer' if i < 9 else 'hombre'},migrante,comercio,capital semilla,"
            f"{opened[i % 4]},{later[i % 4]}"
        )
    result = import_entrepreneurs(engine, write(tmp_path / "emprendedores.csv", "\n".join(rows)))
    assert result.created == 12
    # per 4 people: 6 months known for 3 (open 2), 12 months known for 3 (open 1); 3 blocks
    six, twelve = business_open(engine, 6), business_open(engine, 12)
    assert (six.followed, six.open) == (9, 6)
    assert (twelve.followed, twelve.open) == (9, 3)
    (city,) = entrepreneurs_by_city(engine)
    # 9 women and 3 men: 3 < 10 is hidden, and then 9 too (12 - 9 would give it back)
    assert city.total == 12
    assert city.by_sex == {"female": None, "male": None}
    assert city.by_nationality == {"refugee_migrant": 12}
    assert city.open_6m is None  # 9 followed up, under the threshold of 10
    bad = write(tmp_path / "e.csv", "id,ciudad,abierto_6m,abierto_12m\nE1,CUC,no,sí")
    with pytest.raises(DeliveryError, match="row 2, column 'abierto_12m'"):
        import_entrepreneurs(engine, bad)


def test_protect_counts_hides_small_cells_and_one_more() -> None:
    assert protect_counts({"female": 12, "male": 7, "other": 0}) == {
        "female": None,
        "male": None,
        "other": 0,
    }
    assert protect_counts({"female": 15, "male": 12}) == {"female": 15, "male": 12}
    assert protect_counts({"a": 3, "b": 4, "c": 20}) == {"a": None, "b": None, "c": 20}


def test_policies_by_stage_and_their_checks(engine: Engine, tmp_path: Path) -> None:
    policies = write(
        tmp_path / "policies.csv",
        """
code,name,type,level,target_city,country,stage,proposed_on,drafted_on,adopted_on,documents,areas
P1,Plan de Cúcuta,development plan,municipal,CUC,,adopted,2024-01-10,2024-05-01,2024-11-30,a.pdf,
P2,Ordenanza de movilidad humana,ordenanza,municipal,LIM,,borrador,2025-02-01,2025-06-01,,,
P3,Kit territorial,política pública,nacional,,col,propuesta,,,,,
""",
    )
    assert import_policies(engine, policies).created == 3
    assert policies_by_stage(engine) == {"proposed": 1, "drafted": 1, "adopted": 1}
    with Session(engine) as session:
        cities = {c.code: c for c in session.scalars(select(TargetCity))}
        assert computed("policies_supported")(session, cities["CUC"], window("2024")) == 1
        assert computed("policies_adopted")(session, cities["LIM"], window("2025")) == 0
    undated = write(
        tmp_path / "p.csv",
        "code,name,type,level,target_city,stage\nP4,Programa,programme,municipal,CUC,adopted",
    )
    with pytest.raises(DeliveryError, match="row 2, column 'adopted_on'"):
        import_policies(engine, undated)


def test_centres_from_a_geopackage_in_metres_and_back(engine: Engine, tmp_path: Path) -> None:
    import geopandas as gpd
    from pyproj import Transformer
    from shapely.geometry import Point

    places = {"CIS-1": (-72.4967, 7.8939), "CIS-2": (-77.0428, -12.0464), "CIS-3": (-60.67, 2.82)}
    to_metres = Transformer.from_crs(4326, 3857, always_xy=True)
    frame = gpd.GeoDataFrame(
        {
            "código": list(places),
            "nombre": ["Centro La Esperanza", "Casa de Integración Los Olivos", "Punto Boa Vista"],
            "ciudad_objetivo": ["CUC", "LIM", None],
            "ciudad": [None, None, "Boa Vista"],
            "país": [None, None, "BRA"],
            "servicios": ["orientación legal; empleo", "salud", ""],
            "estado": ["activo", "activo", "en preparación"],
            "nadie_atrás": [4, 3, 999],
            "nexo_acción": [2, None, None],
            "notas": ["x", "y", "z"],
        },
        geometry=[Point(*to_metres.transform(*xy)) for xy in places.values()],
        crs="EPSG:3857",
    )
    source = tmp_path / "centros.gpkg"
    frame.to_file(source, layer="centros", driver="GPKG")
    assert import_centres(engine, source).created == 3
    centres = {c.code: c for c in list_centres(engine)}
    for code, (lon, lat) in places.items():
        assert (centres[code].lon, centres[code].lat) == (
            pytest.approx(lon, abs=1e-9),
            pytest.approx(lat, abs=1e-9),
        )
    first = centres["CIS-1"]
    assert (first.city, first.country, first.target_city) == ("Cúcuta", "COL", "CUC")
    assert first.services == ["orientación legal", "empleo"]
    assert first.principles == {"no_one_left_behind": 4, "action_nexus": 2}
    assert first.self_assessment == 3.0
    assert centres["CIS-3"].principles == {} and centres["CIS-3"].status == "in_preparation"
    collection = centres_geojson(engine, "es")
    assert collection["features"][0]["geometry"]["coordinates"] == [
        pytest.approx(-60.67),
        pytest.approx(2.82),
    ]
    exported = tmp_path / "export.gpkg"
    assert export_centres(engine, exported, "en") == 3
    back = import_centres(engine, exported)
    assert (back.created, back.updated) == (0, 3)
    assert {c.code: c.principles for c in list_centres(engine)}["CIS-1"] == first.principles
    with Session(engine) as session:
        cities = {c.code: c for c in session.scalars(select(TargetCity))}
        assert computed("centres_in_network")(session, cities["CUC"], window("2025")) == 1
    wrong = write(
        tmp_path / "centros.csv",
        "código,nombre,país,longitud,latitud,nadie_atrás\nX1,Centro,COL,-74.1,4.6,5",
    )
    with pytest.raises(
        DeliveryError, match=re.escape("row 2, column 'nadie_atrás': '5.0' is not a self")
    ):
        import_centres(engine, wrong)
    swapped = write(
        tmp_path / "metros.csv",
        "código,nombre,país,longitud,latitud\nX1,Centro,COL,-8070000,880000",
    )
    with pytest.raises(DeliveryError, match="is not a place in degrees"):
        import_centres(engine, swapped)
    with Session(engine) as session:
        assert session.scalar(select(func.count(DeliveryCentre.id))) == 3


def test_commitments_need_evidence_when_fulfilled(engine: Engine, tmp_path: Path) -> None:
    good = write(
        tmp_path / "compromisos.csv",
        """
código,ciudad,qué,quién,espacio_diálogo,fecha_acuerdo,fecha_límite,estado,evidencia
C1,CUC,Ventanilla de orientación,Alcaldía,Mesa de movilidad,2025-02-01,2025-12-31,cumplido,https://example.org/acta.pdf
C2,LIM,Datos en el observatorio,Municipalidad,Espacio multinivel,2025-03-01,,en curso,
""",
    )
    assert import_commitments(engine, good).created == 2
    assert [(c.code, c.status) for c in list_commitments(engine)] == [
        ("C1", "fulfilled"),
        ("C2", "in_progress"),
    ]
    bad = write(
        tmp_path / "c.csv",
        "código,ciudad,qué,fecha_acuerdo,estado\nC3,CUC,Presupuesto,2025-01-01,cumplido",
    )
    with pytest.raises(DeliveryError, match="row 2, column 'evidencia'"):
        import_commitments(engine, bad)


def test_workbook_template_comes_back_whole_or_not_at_all(engine: Engine, tmp_path: Path) -> None:
    template = write_workbook(tmp_path / "template.xlsx", "en")
    book = load_workbook(template)
    assert book.sheetnames == [
        "instructions",
        "trainings",
        "participants",
        "entrepreneurs",
        "policies",
        "centres",
        "commitments",
    ]
    assert [c.value for c in book["trainings"][1]][:4] == [
        "code",
        "target_city",
        "topic",
        "audience",
    ]
    book["trainings"].append(["W1", "QTO", "leadership", "community", "", "2025-07-01", 3])
    book["participants"].append(["W1", "w01", "female", "", "host", 20, 40])
    book["commitments"].append(["K1", "QTO", "Mesa", "", "", "2025-07-01", "", "fulfilled", ""])
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    with pytest.raises(
        DeliveryError, match=re.escape("filled.xlsx:commitments, row 2, column 'evidence'")
    ):
        import_workbook(engine, filled)
    with Session(engine) as session:  # the trainings sheet was fine, but nothing stayed
        assert session.scalar(select(func.count(DeliveryTraining.id))) == 3
        assert session.scalar(select(func.count(DeliveryCommitment.id))) == 0
    book["commitments"]["I2"] = "https://example.org/k1"
    book.save(filled)
    results = {r.kind: (r.created, r.updated) for r in import_workbook(engine, filled)}
    assert results == {"trainings": (1, 0), "commitments": (1, 0)}
    assert people_trained(engine, audience="community") == 5


def test_command_line_imports_summarises_and_exports(sqlite_url: str, tmp_path: Path) -> None:
    build(sqlite_url)
    sessions, participants = trainings_files(tmp_path)
    runner = CliRunner()
    base = ["--database", sqlite_url, "--lang", "es", "programme"]
    result = runner.invoke(
        app, [*base, "trainings", "import", str(sessions), "--participants", str(participants)]
    )
    assert result.exit_code == 0, result.output
    assert "Sesiones de capacitación: 3 creados, 0 actualizados" in result.output
    result = runner.invoke(app, [*base, "deliveries", "summary", "--target-city", "CUC"])
    assert result.exit_code == 0, result.output
    assert "Personas capacitadas (servidores públicos): 16" in result.output
    assert "70,0 %" in result.output and "14 de 20 evaluados en 2 sesiones" in result.output
    result = runner.invoke(app, [*base, "centres", "export", "--out", str(tmp_path / "c.gpkg")])
    assert isinstance(result.exception, DeliveryError)  # the entry point prints it, exit 1
    assert str(result.exception).startswith("No hay centros que exportar: impórtelos primero")
    result = runner.invoke(
        app, [*base, "deliveries", "template", "--out", str(tmp_path / "p.xlsx")]
    )
    assert result.exit_code == 0
    assert load_workbook(tmp_path / "p.xlsx").sheetnames[1:3] == [
        "capacitaciones",
        "participantes",
    ]


@pytest.mark.postgres
def test_workbook_import_and_estimate_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    engine = build(postgres_url)
    sessions, participants = trainings_files(tmp_path)
    records: dict[str, list[dict[str, object]]] = {"trainings": [], "participants": []}
    import csv

    with sessions.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records["trainings"].append(
                {
                    "code": row["código"],
                    "target_city": row["ciudad"],
                    "held_on": row["fecha"],
                    "topic": "human_mobility" if row["código"] != "T3" else "entrepreneurship",
                    "audience": "community" if row["código"] == "T3" else "public_servants",
                }
            )
    with participants.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records["participants"].append(
                {
                    "training": row["capacitación"],
                    "participant": row["participante"],
                    "pre_score": row["puntaje_pre"],
                    "post_score": row["puntaje_post"],
                }
            )
    workbook = write_workbook(tmp_path / "entregas.xlsx", "es", records)
    import_workbook(engine, workbook)
    found = improved_knowledge(engine)
    assert (found.assessed, found.improved) == (20, 14)
    assert people_trained(engine) == 20


def test_a_share_of_few_people_is_not_published_and_the_programme_pools(engine: Engine) -> None:
    """Finding F2-2/6: the share over fewer than 10 assessed people would give the hidden
    count away (9 of 9 = 100 %), so it is None; the programme's figure pools every person."""
    from inclusive_cities.monitoring.registry import programme_level

    year = window("2025")
    pooled = programme_level("improved_knowledge_share")
    assert pooled is not None
    with Session(engine) as session:
        cuc = session.scalar(select(TargetCity).where(TargetCity.code == "CUC"))
        assert cuc is not None
        # only CUC has assessed public servants: 14 of 20, pooled by hand
        assert pooled(session, year) == 70.0
    with transaction(engine) as session:
        t2 = session.scalar(select(DeliveryTraining).where(DeliveryTraining.code == "T2"))
        t1 = session.scalar(select(DeliveryTraining).where(DeliveryTraining.code == "T1"))
        assert t1 is not None and t2 is not None
        for p in session.scalars(
            select(DeliveryParticipant).where(DeliveryParticipant.training_id == t2.id)
        ):
            session.delete(p)
        p10 = session.scalar(
            select(DeliveryParticipant).where(
                DeliveryParticipant.training_id == t1.id, DeliveryParticipant.participant == "p10"
            )
        )
        assert p10 is not None
        session.delete(p10)
    with Session(engine) as session:
        cuc = session.scalar(select(TargetCity).where(TargetCity.code == "CUC"))
        assert cuc is not None
        assert computed("improved_knowledge_share")(session, cuc, year) is None  # 9 of 9
        assert pooled(session, year) is None


def test_a_share_goes_where_its_count_is_withheld() -> None:
    """Finding F2-2, as an attacker: no published share may sit beside a withheld count of
    the people it is taken over, in a city or in its country's mean of cities."""
    from inclusive_cities.monitoring.protect import PeopleTable, withheld_programme_cells
    from inclusive_cities.monitoring.results import ResultRow, _margins, _protect

    def row(code: str, country: str, city: str, actual: float) -> ResultRow:
        return ResultRow(code, city, country, "2025", None, None, actual, True)

    trained = {"AAA": 9.0, "BBB": 30.0, "CCC": 40.0}  # AAA under 10, one more goes with it
    shares = {"AAA": 88.9, "BBB": 90.0, "CCC": 85.0}
    cities = [row("public_servants_trained", "COL", c, n) for c, n in trained.items()]
    cities += [row("improved_knowledge_share", "COL", c, s) for c, s in shares.items()]
    countries = [
        row("public_servants_trained", "COL", "", 79.0),
        row("improved_knowledge_share", "COL", "", sum(shares.values()) / 3),
    ]
    headline = [
        row("public_servants_trained", "", "", 79.0),
        row("improved_knowledge_share", "", "", 87.0),
    ]
    table = PeopleTable("public_servants_trained")
    for city, count in trained.items():
        table.real[(("COL", city), "2025")] = table.model[(("COL", city), "2025")] = count
    _margins(table)
    withheld = withheld_programme_cells([table])
    cities, countries, headline = _protect(cities, countries, headline, withheld, "2025")
    hidden_counts = {
        r.city for r in cities if r.indicator == "public_servants_trained" and r.withheld
    }
    assert "AAA" in hidden_counts and len(hidden_counts) == 2  # primary and one secondary
    for r in cities:
        if r.indicator == "improved_knowledge_share":
            assert r.withheld == (r.city in hidden_counts)
            assert (r.actual is None) == (r.city in hidden_counts)
    share_country = next(r for r in countries if r.indicator == "improved_knowledge_share")
    assert share_country.withheld and share_country.actual is None


def test_a_countrys_share_pools_its_cities_people(engine: Engine) -> None:
    """Trial F13: Colombia's improved-knowledge share was the mean of the cities shown
    (91.5 %), leaving out cities with fewer than 10 assessed; pooled it is 50 of 54. Here T2's
    people move to a second Colombian city: the country's share stays the pooled 14 of 20."""
    from inclusive_cities.monitoring.delivery_indicators import (
        assessed_public_servants,
        improved_knowledge_share_among,
    )

    year = window("2025")
    with transaction(engine) as session:
        programme = session.scalar(select(TargetCity.programme_id))
        baq = TargetCity(programme_id=programme, code="BAQ", name="Barranquilla", country="COL")
        session.add(baq)
        session.flush()
        t2 = session.scalar(select(DeliveryTraining).where(DeliveryTraining.code == "T2"))
        assert t2 is not None
        t2.target_city_id = baq.id
    with Session(engine) as session:
        cities = {c.code: c.id for c in session.scalars(select(TargetCity))}
        rows = session.execute(
            select(DeliveryTraining.target_city_id, DeliveryParticipant.pre_score,
                   DeliveryParticipant.post_score)
            .join(DeliveryTraining, DeliveryParticipant.training_id == DeliveryTraining.id)
            .where(DeliveryParticipant.pre_score.is_not(None),
                   DeliveryParticipant.post_score.is_not(None))
        ).all()  # fmt: skip
        by_city = {
            code: [post > pre for city, pre, post in rows if city == cities[code]]
            for code in ("CUC", "BAQ")
        }
        assert sum(map(len, by_city.values())) == 20 and sum(map(sum, by_city.values())) == 14
        colombia = [cities["CUC"], cities["BAQ"]]
        assert improved_knowledge_share_among(session, year, colombia) == 70.0
        assert assessed_public_servants(session, year, colombia) == 20
        assert assessed_public_servants(session, year, [cities["BAQ"]]) == len(by_city["BAQ"])
