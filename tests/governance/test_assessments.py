"""Assessments from the template: import, re-import, errors, local vs national, changes,
XLSX export and the KoBo route; scores are computed by hand in the tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inclusive_cities.governance import (
    GovernanceError,
    assessment_result,
    compare_changes,
    compare_levels,
    export_xlsx,
    import_assessment,
    list_assessments,
    write_xlsform,
)
from inclusive_cities.store import init_database, models
from tests.governance.helpers import EVIDENCE, LOCAL, NATIONAL, add_city, filled, framework

# by hand (see test_spec_and_scoring): local A = 100*(A1 + 3*A2)/4 with A1 = 2.5/3, A2 = 0.75
LOCAL_A = 100 * ((2.5 / 3) + 3 * 0.75) / 4
LOCAL_OVERALL = (2 * LOCAL_A + 25.0) / 3
# national: A1 = (2+1)/3 = 1, A2 = ((2-1)/4 + 1)/2 = 0.625, A = 100*(1 + 3*0.625)/4; B = 0
NATIONAL_A = 100 * (1 + 3 * 0.625) / 4
NATIONAL_OVERALL = (2 * NATIONAL_A + 0.0) / 3


def test_local_and_national_side_by_side(db_url: str, tmp_path: Path) -> None:
    """The issue's path on both engines: two templates (es, en) in, compared question by
    question, the local one re-imported safely."""
    engine = init_database(db_url)
    add_city(engine, observed="2024")
    fw = framework()
    local = filled(
        tmp_path / "local.xlsx",
        fw,
        {**LOCAL, "Q1": "Sí", "Q2": "parcialmente", "Q4": "no aplica", "Q6": "Parcialmente"},
        lang="es",
        evidence=EVIDENCE,
    )
    national = filled(
        tmp_path / "national.xlsx", fw, NATIONAL, when="2024-03-01", evidence=EVIDENCE
    )
    first = import_assessment(engine, local, city="DEMO", framework=fw)
    imported = import_assessment(engine, national, country="col", framework=fw)
    assert "1 evaluación(es) de Colombia (nacional)" in imported.summary_lines("es")[0]
    again = import_assessment(engine, local, city="DEMO", framework=fw)
    assert (first.answered, first.questions, again.replaced) == (6, 6, 1)
    assert again.assessment_ids == first.assessment_ids  # replaced in place: links keep working
    # the one unit gets the 2024 value of the marker's governance indicator (2024-06-30 <= end)
    assert (first.marker_values, again.marker_values) == (1, 1)
    assert again.overall == pytest.approx(LOCAL_OVERALL)
    assert [(a.level, a.place) for a in list_assessments(engine)] == [
        ("national", "COL"),
        ("local", "DEMO"),
    ]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.GovernanceAnswer)) == 12
        assert session.scalar(select(func.count()).select_from(models.GovernanceFramework)) == 1
        statuses = session.scalars(
            select(models.ImportBatch.status).order_by(models.ImportBatch.id)
        ).all()
        assert statuses == ["replaced", "active", "active"]

    comparison = compare_levels(engine, "DEMO")
    assert comparison.national.overall == pytest.approx(NATIONAL_OVERALL)
    assert {q.code: q.status for q in comparison.questions} == {
        "Q1": "same",  # yes / yes
        "Q2": "behind",  # partly / yes
        "Q3": "ahead",  # (4-1)/4 = 0.75 / (2-1)/4 = 0.25
        "Q4": "not_comparable",  # not applicable locally
        "Q5": "same",
        "Q6": "not_comparable",  # not applicable nationally
    }
    assert [(d.code, d.status) for d in comparison.domains] == [("A", "ahead"), ("B", "ahead")]
    assert comparison.domains[0].difference == pytest.approx(LOCAL_A - NATIONAL_A)
    assert comparison.answer_labels(comparison.questions[1], "es") == ("Parcialmente", "Sí")
    assert comparison.summary("en")[0] == (
        "Ciudad DEMO (local) scores 59.7 and Colombia (national) 47.9 overall; the city is "
        "ahead on 1 questions, behind on 1 and the same on 2."
    )
    # issue #19: the country by its name, as on the cards, not "COL (nacional)"
    assert comparison.summary("es")[0].startswith(
        "Ciudad DEMO (local) obtiene 59,7 y Colombia (nacional) 47,9 en total"
    )


def test_changes_between_two_dates_and_the_xlsx_export(sqlite_url: str, tmp_path: Path) -> None:
    engine = init_database(sqlite_url)
    add_city(engine)
    fw = framework()
    earlier = {**LOCAL, "Q1": "no", "Q5": "yes"}
    one = import_assessment(
        engine,
        filled(tmp_path / "a.xlsx", fw, earlier, when="2022-05-01", evidence=EVIDENCE),
        city="DEMO",
        framework=fw,
    )
    two = import_assessment(
        engine,
        filled(tmp_path / "b.xlsx", fw, LOCAL, evidence=EVIDENCE),
        city="DEMO",
        framework=fw,
    )
    changes = compare_changes(engine, two.assessment_ids[0], one.assessment_ids[0])
    from inclusive_cities.governance import compare_previous

    since = compare_previous(engine, two.assessment_ids[0])
    assert since is not None and since.counts() == changes.counts()
    assert compare_previous(engine, one.assessment_ids[0]) is None
    assert changes.before.info.assessed_on.isoformat() == "2022-05-01"
    assert {q.code: q.status for q in changes.questions if q.status != "same"} == {
        "Q1": "improved",
        "Q4": "not_comparable",
        "Q5": "worsened",
    }
    # earlier: A1 = (0 + 0.5)/3, A = 100*(A1 + 3*0.75)/4; B = (1 + 0.5)/2 = 75
    earlier_a = 100 * ((0.5 / 3) + 3 * 0.75) / 4
    assert changes.before.overall == pytest.approx((2 * earlier_a + 75.0) / 3)
    assert [(d.code, d.status) for d in changes.domains] == [("A", "improved"), ("B", "worsened")]

    result = assessment_result(engine, two.assessment_ids[0])
    out = export_xlsx(result, tmp_path / "resultados.xlsx", "es", [changes])
    book = load_workbook(out)
    assert book.sheetnames == ["Resumen", "Dominios", "Preguntas", "Cambios"]
    domains = list(book["Dominios"].iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[2], row[3]) for row in domains] == [
        ("A", round(LOCAL_A, 1), "fortaleza"),
        ("B", 25.0, "brecha"),
    ]


def test_a_bad_template_row_gives_one_line_and_changes_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = init_database(sqlite_url)
    add_city(engine)
    fw = framework()
    bad = filled(tmp_path / "bad.xlsx", fw, {**LOCAL, "Q5": "maybe"}, evidence=EVIDENCE)
    with pytest.raises(GovernanceError) as caught:
        import_assessment(engine, bad, city="DEMO", framework=fw)
    # Q5 is the fifth question: row 6 of the answers sheet (header = row 1)
    assert str(caught.value) == (
        "bad.xlsx, sheet 'Answers', row 6, column 'answer': 'maybe' is not an answer to Q5: "
        "write yes, partly, no or not applicable (sí, parcialmente, no, no aplica), or leave it "
        "empty."
    )
    no_evidence = filled(tmp_path / "sin.xlsx", fw, LOCAL, lang="es")
    with pytest.raises(
        GovernanceError,
        match=r"sin.xlsx, sheet 'Respuestas', row 3, column "
        r"'evidencia \(texto\)': question Q2 requires evidence",
    ):
        import_assessment(engine, no_evidence, city="DEMO", framework=fw)
    scale = filled(tmp_path / "scale.xlsx", fw, {**LOCAL, "Q3": 9}, evidence=EVIDENCE)
    with pytest.raises(
        GovernanceError,
        match=r"row 4, column 'answer': '9' is not an answer to "
        r"Q3, a scale question: write a number from 1 to 5 or 'not applicable'",
    ):
        import_assessment(engine, scale, city="DEMO", framework=fw)
    from openpyxl import load_workbook as reopen

    link = filled(tmp_path / "link.xlsx", fw, LOCAL, evidence=EVIDENCE)
    book = reopen(link)
    book["Answers"]["J3"] = "javascript:alert(1)"
    book.save(link)
    with pytest.raises(GovernanceError) as caught:
        import_assessment(engine, link, city="DEMO", framework=fw)
    assert str(caught.value).startswith(
        "link.xlsx, sheet 'Answers', row 3, column 'link': 'javascript:alert(1)' is not a web link"
    )
    good = filled(tmp_path / "good.xlsx", fw, LOCAL, evidence=EVIDENCE)
    with pytest.raises(GovernanceError, match="city LIMA is not in the observatory"):
        import_assessment(engine, good, city="LIMA", framework=fw)
    assert list_assessments(engine) == []


def test_a_kobo_export_of_the_xlsform_imports(sqlite_url: str, tmp_path: Path) -> None:
    engine = init_database(sqlite_url)
    add_city(engine)
    fw = framework()
    form = load_workbook(write_xlsform(fw, tmp_path / "form.xlsx"))
    names = [row[1] for row in form["survey"].iter_rows(min_row=2, values_only=True) if row[1]]
    assert names[:3] == ["framework", "assessed_on", "respondent"]
    assert {"Q3", "Q3_evidence", "Q3_document", "Q3_link"} <= set(names)
    # the reference XLSForm compiler (as KoBo and ODK use) accepts it without warnings
    from pyxform.xls2xform import convert

    compiled = convert(xlsform=str(tmp_path / "form.xlsx"), validate=False)
    assert compiled.warnings == []
    # evidence is required only for an answer that claims something is in place
    bind = re.search(r'<bind nodeset="/data/A/Q2_evidence"[^>]*>', compiled.xform)
    assert bind is not None
    assert " ".join(bind.group(0).split()).endswith(
        "required=\" /data/A/Q2 = 'yes' or /data/A/Q2 = 'partly'\"/>"
    )
    # a KoBo export: one row per submission, grouped fields named GROUP/FIELD
    export = Workbook()
    sheet = export.active
    header = [
        "start",
        "framework",
        "assessed_on",
        "respondent",
        "A/Q1",
        "A/Q2",
        "A/Q2_evidence",
        "A/Q3",
        "A/Q4",
        "B/Q5",
        "B/Q6",
        "_uuid",
    ]
    sheet.append(header)
    sheet.append(
        [
            "2024-06-30T10:00",
            "test-fw@2",
            "2024-06-30",
            "Oficina",
            "yes",
            "partly",
            "Circular 12",
            "4",
            "not_applicable",
            "no",
            "partly",
            "a1b2",
        ]
    )
    export.save(tmp_path / "kobo.xlsx")
    summary = import_assessment(engine, tmp_path / "kobo.xlsx", city="DEMO", framework=fw)
    assert summary.overall == pytest.approx(LOCAL_OVERALL)


def test_editing_one_answer_rescores(sqlite_url: str, tmp_path: Path) -> None:
    from inclusive_cities.governance import set_answer

    engine = init_database(sqlite_url)
    add_city(engine)
    fw = framework()
    summary = import_assessment(
        engine,
        filled(tmp_path / "l.xlsx", fw, LOCAL, evidence=EVIDENCE),
        city="DEMO",
        framework=fw,
    )
    assert summary.summary_lines("en")[0] == (
        "l.xlsx: 1 assessment(s) of DEMO (local): 6 of 6 questions answered, overall score "
        "59.7; 0 replaced."
    )
    (ident,) = summary.assessment_ids
    # Q5 no -> yes: B = (1 + 0.5) / 2 = 75
    assert set_answer(engine, ident, "Q5", "sí") == pytest.approx((2 * LOCAL_A + 75.0) / 3)
    with pytest.raises(GovernanceError) as caught:
        set_answer(engine, ident, "Q2", "yes", evidence_text="")
    assert str(caught.value) == (
        f"Assessment {ident}, question Q2: question Q2 requires evidence for the answer 'yes': "
        "write a text, a document name or a link."
    )
    # clearing Q3 leaves A2 with no answered question: A = A1 = 2.5/3
    assert set_answer(engine, ident, "Q3", "") == pytest.approx((2 * 250 / 3 + 75.0) / 3)
    assert assessment_result(engine, ident).scores.question("Q3").answer == ""


def test_a_city_without_a_country_is_not_compared_with_another_country(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = init_database(sqlite_url)
    add_city(engine, "LIMA", country="")
    fw = framework()
    import_assessment(
        engine,
        filled(tmp_path / "p.xlsx", fw, NATIONAL, evidence=EVIDENCE),
        country="PER",
        framework=fw,
    )
    import_assessment(
        engine,
        filled(tmp_path / "l.xlsx", fw, LOCAL, evidence=EVIDENCE),
        city="LIMA",
        framework=fw,
    )
    with pytest.raises(GovernanceError, match="City LIMA has no country in the observatory"):
        compare_levels(engine, "LIMA")
