"""Workshops end to end: the shipped template filled like a facilitator would, imported, the
tree drawn, the evidence beside each claim worked out by hand, the record as PDF and XLSX."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from inclusive_cities.planning.problem_tree import tree_layout, tree_svg
from inclusive_cities.planning.workshop_evidence import _Store, claim_evidence, evidence_for
from inclusive_cities.planning.workshop_import import WorkshopFileError, import_workshop
from inclusive_cities.planning.workshop_templates import write_template
from inclusive_cities.planning.workshops import (
    find_workshop,
    list_solutions,
    list_workshops,
    load_workshop,
    published_participants,
)
from inclusive_cities.reports.workshop_report import workshop_record
from inclusive_cities.store import models, transaction
from inclusive_cities.store.workshop_models import Workshop, WorkshopTreeNode
from tests.planning.workshop_city import CITY, build_city, fill_template

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workshops")


@pytest.fixture(scope="module")
def template(folder: Path) -> Path:
    return write_template(folder / "plantilla.xlsx", "es")


@pytest.fixture(scope="module")
def filled(template: Path, folder: Path) -> Path:
    return fill_template(template, folder / "taller-santa-monica.xlsx")


@pytest.fixture(scope="module")
def imported(folder: Path, filled: Path) -> tuple[Engine, int]:
    data = folder / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(data))
        engine = build_city(f"sqlite:///{folder / 'observatory.db'}")
        summary = import_workshop(engine, filled, CITY)
    assert summary.codes == ["TALLER-01"] and summary.replaced == 0
    return engine, summary.workshop_ids[0]


@pytest.fixture(autouse=True)
def data_dir(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Disclosure control keeps its solved protection in the data folder: keep it here."""
    monkeypatch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(folder / "data"))


def test_template_has_one_sheet_each_in_both_languages(template: Path, folder: Path) -> None:
    spanish = load_workbook(template)
    english = load_workbook(write_template(folder / "template.xlsx", "en"))
    assert spanish.sheetnames == ["Taller", "Árbol de problemas", "Matriz"]
    assert english.sheetnames == ["Workshop", "Problem tree", "Matrix"]
    assert [c.value for c in spanish["Matriz"][1]][:3] == ["Código", "Área", "Columna de la matriz"]
    assert [c.value for c in english["Problem tree"][1]][:3] == [
        "Code",
        "Kind",
        "Hangs from (code or row)",
    ]


def test_import_reads_what_the_facilitator_wrote(imported: tuple[Engine, int]) -> None:
    engine, workshop_id = imported
    with transaction(engine) as session:
        w = load_workshop(session, workshop_id)
    assert (w.code, w.city_code, w.held_on.isoformat()) == ("TALLER-01", CITY, "2025-03-14")
    assert w.unit_code == "0101"  # Excel's 101 back to the store's code
    assert w.notes == ""  # NS/NR is a missing value, not a note
    assert w.areas == ["VIV", "SAL"] and (w.longitude, w.latitude) == (-74.08, 4.61)
    parent = {n.code: n.parent for n in w.nodes}
    # the sub-cause had no code (gets C-03) and named its parent by row 3 (C-01)
    assert parent == {
        "P-01": None,
        "C-01": "P-01",
        "C-02": "P-01",
        "C-03": "C-01",
        "E-01": "P-01",
        "E-02": "E-01",
    }
    sub = next(n for n in w.nodes if n.code == "C-03")
    assert (sub.areas, sub.dimensions, sub.indicators) == ([], [], [])  # -999, NS/NR: empty
    kinds = {r.code: r.kind for r in w.matrix}
    assert kinds == {
        "D-01": "demand",
        "C-01": "cause",
        "A-01": "asset",
        "X-01": "differential",
        "S-01": "solution",
        "S-02": "solution",  # no code given: the next free solution code
    }
    assert next(r for r in w.matrix if r.code == "C-01").solutions == ["S-01", "S-02"]
    groups = {(p.sex, p.age_group, p.nationality, p.role): p.count for p in w.participants}
    assert groups == {
        ("F", "18-29", "host", "residente"): 12,
        ("M", "30-59", "refugee_migrant", "líder"): 4,
        ("F", "30-59", "refugee_migrant", "residente"): 7,
        ("M", "18-29", "host", "residente"): 9,
        ("unknown", "60+", "host", "residente"): 3,
    }
    with transaction(engine) as session:
        listed = list_workshops(session, CITY)
        solutions = list_solutions(session, CITY)
    assert [(s.workshop_code, s.code) for s in solutions] == [
        ("TALLER-01", "S-01"),
        ("TALLER-01", "S-02"),
    ]
    assert [(x.code, x.n_nodes, x.n_rows, x.n_solutions) for x in listed] == [
        ("TALLER-01", 6, 6, 2)
    ]


def test_participants_are_published_through_disclosure_control(
    imported: tuple[Engine, int],
) -> None:
    engine, workshop_id = imported
    with transaction(engine) as session:
        table = published_participants(session, workshop_id)
    shown = {
        (r.dimension, r.category): (None if r.status == "suppressed" else int(r.count))
        for r in table.itertuples()
    }
    # by hand: total 35; hosts 12+9+3 = 24, refugees/migrants 4+7 = 11 (both ≥ 10: shown).
    # sex F 19, M 13, unknown 3: 3 < 10 is hidden, and M with it (else 35 − 19 − 13 gives 3).
    # age 18-29 21, 30-59 11, 60+ 3: 60+ hidden, 30-59 with it. role: lider 4 < 10 hidden,
    # residente 31 with it (35 − 31 = 4).
    assert shown == {
        ("total", "_T"): 35,
        ("sex", "F"): 19,
        ("sex", "M"): None,
        ("sex", "unknown"): None,
        ("age_group", "18-29"): 21,
        ("age_group", "30-59"): None,
        ("age_group", "60+"): None,
        ("nationality", "host"): 24,
        ("nationality", "refugee_migrant"): 11,
        ("role", "líder"): None,
        ("role", "residente"): None,
    }


def test_tree_svg_draws_every_node_and_edge_in_place(imported: tuple[Engine, int]) -> None:
    engine, workshop_id = imported
    with transaction(engine) as session:
        w = load_workshop(session, workshop_id)
    svg = ET.fromstring(tree_svg(w, "es"))
    nodes = {g.get("data-code"): g.get("class") for g in svg.iter(f"{SVG}g")}
    assert nodes == {
        "P-01": "node central",
        "C-01": "node cause",
        "C-02": "node cause",
        "C-03": "node cause",
        "E-01": "node effect",
        "E-02": "node effect",
    }
    edges = {(e.get("data-from"), e.get("data-to")) for e in svg.iter(f"{SVG}line")}
    assert edges == {
        ("C-01", "P-01"),
        ("C-02", "P-01"),
        ("C-03", "C-01"),
        ("E-01", "P-01"),
        ("E-02", "E-01"),
    }
    texts = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert "Hacinamiento y vivienda precaria" in texts and "Efectos arriba" in texts
    box = tree_layout(w)
    # effects above the problem, causes below, a sub-cause below its cause
    assert box["E-02"].y < box["E-01"].y < box["P-01"].y < box["C-01"].y < box["C-03"].y
    assert box["C-01"].y == box["C-02"].y
    assert box["C-03"].centre == box["C-01"].centre  # its only child sits under it
    assert box["C-01"].centre < box["C-02"].centre  # in the order of the sheet
    for code, parent in (("C-01", "P-01"), ("E-01", "P-01")):  # edges join the boxes
        line = next(e for e in svg.iter(f"{SVG}line") if e.get("data-from") == code)
        ends = {float(line.get("y1") or 0), float(line.get("y2") or 0)}
        low, high = (box[parent], box[code]) if code.startswith("C") else (box[code], box[parent])
        assert ends == {round(low.y + low.height, 1), round(high.y, 1)}


def test_evidence_beside_each_claim_is_computed_from_the_store(
    imported: tuple[Engine, int],
) -> None:
    engine, workshop_id = imported
    with transaction(engine) as session:
        found = claim_evidence(session, workshop_id, lang="es")
    by_claim = {(e.source, e.claim_code, e.indicator): e for e in found}
    assert set(by_claim) == {
        ("tree", "P-01", "overcrowding"),
        ("tree", "C-01", "overcrowding"),
        ("tree", "C-02", "mig_health_affiliation"),
        ("matrix", "D-01", "mig_health_affiliation"),
        ("matrix", "C-01", "overcrowding"),
    }
    crowd = by_claim[("tree", "C-01", "overcrowding")]
    # 2025 (latest, not 2024's 99): barrio 25; city = localities pooled by n:
    # (20·1000 + 30·3000) / 4000 = 27.5; gap venezuelan 34 − host 22 = 12 (census: no CI);
    # other_foreign is suppressed and stays out.
    assert (crowd.period, crowd.unit_code, crowd.unit_value) == ("2025", "0101", 25.0)
    assert crowd.city_value == pytest.approx(27.5)
    assert (crowd.host_value, crowd.migrant_value, crowd.gap) == (22.0, 34.0, 12.0)
    assert (crowd.gap_ci_low, crowd.gap_ci_high, crowd.gap_source) == (None, None, "census")
    assert crowd.gap_period == "2025" and not crowd.gap_withheld
    with transaction(engine) as session:
        city_id = session.scalar(select(models.City.id).where(models.City.code == CITY))
        next_door = evidence_for(_Store(session, city_id, True), "overcrowding", "0102")
    # 0102's Venezuelan figure is suppressed: no gap, and the record says it is withheld
    assert (next_door["unit_value"], next_door["gap"], next_door["gap_withheld"]) == (
        18.0,
        None,
        True,
    )
    assert crowd.migrants_worse is True  # overcrowding: lower is better
    health = by_claim[("matrix", "D-01", "mig_health_affiliation")]
    # survey layer: 55 [45.2, 64.8] against the census host share 80 in 0101:
    # gap −25, CI [45.2 − 80, 64.8 − 80] = [−34.8, −15.2]; city: barrios 0101 (n 60) and
    # 0102 (n 40) are the coarsest level with it: (55·60 + 65·40) / 100 = 59
    assert health.unit_value == 55.0 and health.city_value == pytest.approx(59.0)
    assert health.gap == pytest.approx(-25.0) and health.gap_source == "survey"
    assert (health.gap_ci_low, health.gap_ci_high) == (pytest.approx(-34.8), pytest.approx(-15.2))
    assert health.migrants_worse is True


def test_evidence_reads_only_published_periods_once_some_are(
    imported: tuple[Engine, int],
) -> None:
    from inclusive_cities.store.web_models import PublishedLayer

    engine, workshop_id = imported
    with transaction(engine) as session:
        ids = dict(session.execute(select(models.Period.code, models.Period.id)).all())
        layer = PublishedLayer(
            city_id=session.scalar(select(models.City.id).where(models.City.code == CITY)),
            period_id=ids["2024"],
            indicator_id=session.scalar(
                select(models.Indicator.id).where(models.Indicator.code == "overcrowding")
            ),
        )
        session.add(layer)
    try:
        with transaction(engine) as session:
            found = claim_evidence(session, workshop_id)
        crowd = next(e for e in found if (e.source, e.claim_code) == ("tree", "C-01"))
        # only 2024 is public now: its 99, and no gap (2024 has no figures by nationality)
        assert (crowd.period, crowd.unit_value, crowd.gap) == ("2024", 99.0, None)
    finally:
        with transaction(engine) as session:
            session.delete(session.get(PublishedLayer, layer.id))


def test_record_pdf_and_xlsx_in_spanish(imported: tuple[Engine, int], folder: Path) -> None:
    engine, workshop_id = imported
    pdf = workshop_record(engine, workshop_id, folder / "acta.pdf", "es")
    assert pdf.pages and pdf.pages >= 4
    text = subprocess.run(
        ["pdftotext", str(pdf.path), "-"], capture_output=True, text=True, check=True
    ).stdout
    text = " ".join(text.split())
    for heading in (
        "Acta del taller de co-creación",
        "Árbol de problemas",
        "Matriz de sistematización",
        "Evidencia junto a cada afirmación",
        "Jornadas de afiliación",
        "reservado",
    ):
        assert heading in text, heading
    # a hidden count never says it is small: secondary suppressions hold 10 or more
    assert "reservado (menos de 10)" not in text
    xlsx = workshop_record(engine, workshop_id, folder / "acta.xlsx", "es")
    book = load_workbook(xlsx.path)
    assert book.sheetnames == [
        "about",
        "Participantes",
        "Árbol de problemas",
        "Matriz",
        "Evidencia",
    ]
    matrix = [[c.value for c in row] for row in book["Matriz"].iter_rows()]
    assert matrix[0][:3] == ["Área", "Columna de la matriz", "Código"]
    assert ["SAL", "solución", "S-01"] in [row[:3] for row in matrix]


def test_reimport_replaces_and_bad_file_leaves_store_as_it_was(
    imported: tuple[Engine, int], filled: Path, template: Path, folder: Path
) -> None:
    engine, _first_id = imported
    summary = import_workshop(engine, filled, CITY)
    assert summary.replaced == 1
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Workshop)) == 1
        assert session.scalar(select(func.count()).select_from(WorkshopTreeNode)) == 6
        batches = session.scalars(
            select(models.ImportBatch.status).where(models.ImportBatch.kind == "workshop")
        ).all()
        assert sorted(batches) == ["active", "replaced"]
    bad = fill_template(
        template,
        folder / "malo.xlsx",
        participants=[("F", "18-29", "extranjera", "residente", 5)],
        fields={"Título": "Otro título"},
    )
    with pytest.raises(WorkshopFileError) as error:
        import_workshop(engine, bad, CITY)
    message = str(error.value)
    assert message.startswith("malo.xlsx, sheet 'Taller', row 14, column 'Grupo de nacionalidad'")
    assert "'extranjera'" in message and "host or refugee_migrant" in message
    assert "\n" not in message
    with transaction(engine) as session:
        kept = find_workshop(session, CITY, "TALLER-01")
    assert kept.title == "Taller de vivienda y salud en Santa Mónica"


@pytest.mark.parametrize(
    ("changes", "sheet", "column", "value"),
    [
        ({"fields": {"Código de la unidad": "9999"}}, "Taller", "Código de la unidad", "9999"),
        (
            {"participants": [("F", "18-29", "host", "residente", -999)]},
            "Taller",
            "Número de personas",
            "-999",
        ),
        (
            {
                "tree": [
                    ("P-01", "central", "", "Problema", "", "", "", "", ""),
                    ("C-01", "causa", 9, "Causa", "", "", "", "", ""),
                ]
            },
            "Árbol de problemas",
            "Depende de",
            "9",
        ),
        (
            {"matrix": [("D-01", "SAL", "demanda", "Salud", "tasa_inventada", "", "")]},
            "Matriz",
            "Indicadores",
            "tasa_inventada",
        ),
    ],
)
def test_messy_cells_are_refused_with_file_sheet_row_column_value(
    imported: tuple[Engine, int],
    template: Path,
    folder: Path,
    changes: dict,
    sheet: str,
    column: str,
    value: str,
) -> None:
    engine, _id = imported
    bad = fill_template(template, folder / "celda.xlsx", **changes)
    with pytest.raises(WorkshopFileError) as error:
        import_workshop(engine, bad, CITY)
    message = str(error.value)
    assert f"sheet '{sheet}'" in message and f"column '{column}" in message
    assert f"value '{value}'" in message and "\n" not in message


def test_cli_lists_draws_shows_and_refuses_in_one_line(
    imported: tuple[Engine, int], folder: Path, template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from inclusive_cities.cli import main

    engine, _id = imported
    url = str(engine.url)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(["--database", url, "--lang", "es", *args])
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    with transaction(engine) as session:
        workshop_id = find_workshop(session, CITY, "TALLER-01").id
    code, out, _err = run("workshop", "list", "--city", CITY)
    assert code == 0 and "TALLER-01" in out
    code, out, _err = run("workshop", "tree", str(workshop_id), "--out", str(folder / "a.svg"))
    assert code == 0 and "Árbol de problemas escrito" in out
    assert ET.parse(folder / "a.svg").getroot().tag == f"{SVG}svg"
    code, out, _err = run("workshop", "show", str(workshop_id))
    assert code == 0 and "Matriz de sistematización" in out and "reservado" in out
    bad = fill_template(template, folder / "sin-codigo.xlsx", fields={"Código del taller": "NS/NR"})
    code, _out, err = run("workshop", "import", str(bad), "--city", CITY)
    assert code == 1
    assert err.strip().count("\n") == 0 and "sin-codigo.xlsx, hoja 'Taller', fila 2" in err
    code, _out, err = run("workshop", "show", "999")
    assert code == 1 and "No existe el taller 999" in err


def test_record_in_english_has_english_headings(imported: tuple[Engine, int]) -> None:
    from inclusive_cities.reports.workshop_report import render_workshop_html

    engine, workshop_id = imported
    page = render_workshop_html(engine, workshop_id, "en")
    for heading in (
        "Co-creation workshop record",
        "Problem tree",
        "Systematisation matrix",
        "Evidence beside each claim",
        "withheld",  # never "fewer than 10": secondary suppressions hold 10 or more
        "any count that would let them be worked out",
        "data:image/svg+xml;base64,",
    ):
        assert heading in page, heading
    assert "withheld (fewer than 10)" not in page
    assert "Árbol de problemas" not in page


def test_export_and_reimport_gives_the_same_workshop(
    imported: tuple[Engine, int], folder: Path
) -> None:
    from inclusive_cities.planning.workshop_templates import write_filled_template

    engine, _id = imported
    with transaction(engine) as session:
        before = find_workshop(session, CITY, "TALLER-01")
    for lang in ("en", "es"):
        path = write_filled_template(folder / f"export-{lang}.xlsx", before, lang)
        import_workshop(engine, path, CITY)
        with transaction(engine) as session:
            after = find_workshop(session, CITY, "TALLER-01")
        assert (after.nodes, after.matrix, after.participants) == (
            before.nodes,
            before.matrix,
            before.participants,
        )
        assert (after.title, after.held_on, after.unit_code, after.areas) == (
            before.title,
            before.held_on,
            before.unit_code,
            before.areas,
        )


def test_a_file_that_is_not_xlsx_is_refused_in_one_line(
    imported: tuple[Engine, int], folder: Path
) -> None:
    engine, _id = imported
    text = folder / "taller.csv"
    text.write_text("codigo;titulo\nTALLER-09;Taller\n", encoding="utf-8")
    with pytest.raises(WorkshopFileError, match=r"^taller\.csv is not an XLSX workbook"):
        import_workshop(engine, text, CITY)


def test_roles_kept_as_typed_and_known_ones_translated() -> None:
    """Finding 16: accents survive the import; the usual roles read in the page's language."""
    from inclusive_cities.i18n import use_language
    from inclusive_cities.planning.workshop_import import Reader, Vocabulary, Where
    from inclusive_cities.planning.workshops import role_label

    reader = Reader(Vocabulary(units=set(), indicators=set(), areas=set(), dimensions=set()))
    where = {k: Where("t.xlsx", "Taller", 9, k) for k in ("sex", "nationality", "count")}
    cells = {"sex": "F", "nationality": "acogida", "role": " Líder  comunitario ", "count": 3}
    person = reader.participant(cells, where)
    assert person.role == "líder comunitario"
    previous = use_language("en")
    try:
        assert role_label(person.role) == "community leader"
        assert role_label("lideresa juvenil") == "lideresa juvenil"  # unknown: as typed
        use_language("es")
        assert role_label("lider comunitario") == "líder comunitario"
    finally:
        use_language(previous)


def test_unknown_unit_names_the_closest_codes() -> None:
    """Finding 20: no command lists unit codes, so the message names the likely ones."""
    from inclusive_cities.planning.workshop_import import unknown_unit_hint

    hint = unknown_unit_hint("0401", {"04009", "04010", "05018", "99001"})
    assert "04010" in hint and "(4 " in hint and "info" not in hint


def test_an_unknown_unit_like_no_code_shows_the_city_codes_shape_not_closest() -> None:
    """A code like none of the city's ('99999') is not told 'closest codes 01, 01001…': it is
    shown codes of its own length, or one code of each length the city uses."""
    from inclusive_cities.i18n import use_language
    from inclusive_cities.planning.workshop_import import unknown_unit_hint

    city = {"01", "02", "01001", "01002", "02001", "010010001", "010010002"}
    hint = unknown_unit_hint("99999", city)
    assert "closest" not in hint
    assert "01001, 01002, 02001" in hint and "010010001" not in hint
    other = unknown_unit_hint("ABCDEFGHIJKLMNOP", city)
    assert "01, 01001, 010010001" in other
    use_language("es")
    assert "ninguno se le parece" in unknown_unit_hint("99999", city)


def test_evidence_units_are_written_as_pages_write_them_in_spanish() -> None:
    """Trial #3 F7: the record's Evidencia sheet (and the PDF) wrote 'per 100k' and
    'm2/inhab' after the Spanish indicator names; pages write 'por 100.000 hab.'."""
    from dataclasses import replace

    from inclusive_cities.i18n import use_language
    from inclusive_cities.planning.workshop_evidence import Evidence
    from inclusive_cities.reports.workshop_report import evidence_rows

    base = Evidence(
        "tree",
        "C-01",
        "cause",
        "Inseguridad",
        "crime_rate_per_100k",
        "Delitos por 100.000 habitantes",
        "per 100k",
        "lower_is_better",
        "01001",
        "Centro",
        "2024",
        120.0,
        80.0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "",
        False,
    )
    rows = [base, replace(base, indicator_name="Espacio público", unit_of_measure="m2/inhab")]
    rows.append(replace(base, indicator_name="Razón", unit_of_measure="ratio"))
    use_language("es")
    shown = [row[1] for row in evidence_rows(rows)]
    assert shown == [
        "Delitos por 100.000 habitantes (por 100.000 hab.)",
        "Espacio público (m² por hab.)",
        "Razón",
    ]
