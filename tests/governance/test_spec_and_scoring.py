"""Frameworks load with line-numbered errors; scores follow the framework's rule, by hand."""

from __future__ import annotations

import pytest

from inclusive_cities.governance import (
    Answer,
    FrameworkError,
    load_framework,
    parse_framework,
    score,
)
from tests.governance.helpers import TEST_FRAMEWORK, framework


def test_the_shipped_framework_has_the_six_mgi_domains_in_both_languages() -> None:
    fw = load_framework("mgi-demo")
    assert fw.label == "mgi-demo@1"
    assert [d.name.en for d in fw.domains] == [
        "Migrants' rights",
        "Whole-of-government approach",
        "Partnerships",
        "Well-being of migrants",
        "Mobility dimensions of crises",
        "Safe, orderly and regular migration",
    ]
    assert all(q.text.es and q.text.en and q.text.es != q.text.en for q in fw.questions())
    assert len(fw.hash) == 64 and fw.hash == load_framework("mgi-demo").hash


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # a link to a marker area that uim-extended does not have: file, line and path
        (
            ("links: {areas: [SAL]", "links: {areas: [SALUD]"),
            "test-fw.yaml:12: domains[0].links.areas[0]: 'SALUD' is not an area or dimension "
            "of the marker uim-extended",
        ),
        (
            ("code: Q6", "code: Q5"),
            "test-fw.yaml:41: domains[1].subdomains[0].questions[1].code: the code 'Q5' is used "
            "twice",
        ),
        (("scale: {min: 1, max: 5}", "scale: {min: 5, max: 1}"), "test-fw.yaml:30: "),
        (("weight: 3", "weight: -3"), "test-fw.yaml:25: domains[0].subdomains[1].weight: "),
    ],
)
def test_framework_errors_name_file_line_and_path(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(FrameworkError) as caught:
        parse_framework(TEST_FRAMEWORK.replace(*change), "test-fw.yaml")
    message = str(caught.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_scores_by_hand() -> None:
    fw = framework()
    answers = [
        Answer("Q1", "yes"),
        Answer("Q2", "partly", evidence_text="Circular 12"),
        Answer("Q3", "scale", 4.0),
        Answer("Q4", "not_applicable"),
        Answer("Q5", "no"),
        Answer("Q6", "partly"),
    ]
    result = score(fw, answers)
    # A1 = (2*1 + 1*0.5) / 3; A2 = (4-1)/(5-1), Q4 not applicable is left out;
    # A = (1*A1 + 3*A2) / 4; B = (0 + 0.5) / 2; overall = (2*A + 1*B) / 3
    a1 = (2 * 1 + 1 * 0.5) / 3
    a2 = (4 - 1) / (5 - 1)
    a = 100 * (1 * a1 + 3 * a2) / 4
    b = 100 * (0 + 0.5) / 2
    assert result.domain("A").score == pytest.approx(a)  # 77.083
    assert result.domain("B").score == pytest.approx(25.0)
    assert result.overall == pytest.approx((2 * a + 1 * b) / 3)  # 59.722
    assert result.domain("A").subdomains == pytest.approx({"A1": 100 * a1, "A2": 75.0})
    assert (result.domain("A").band, result.domain("B").band) == ("strength", "gap")
    assert (result.domain("A").answered, result.domain("A").not_applicable) == (4, 1)
    assert result.strengths("en") == [
        "Rights scores 77 of 100: a strength (1 of 3 applicable questions fully met)."
    ]
    gaps = result.gaps("en")
    assert gaps[0] == (
        "Crises scores 25 of 100: a gap (2 of 2 applicable questions not or only partly met)."
    )
    assert "Not in place: Risk plan?" in gaps
    assert "Only partly in place: School for all?" in gaps


def test_unanswered_questions_leave_the_denominators_and_a_geometric_overall() -> None:
    text = TEST_FRAMEWORK.replace("  strength: 75", "  aggregation: geometric\n  strength: 75")
    fw = parse_framework(text, "geo.yaml")
    result = score(fw, [Answer("Q1", "yes"), Answer("Q5", "partly"), Answer("Q6", "yes")])
    # A: only Q1 answered -> A1 = 1, A2 has no score -> A = 100; B = (0.5 + 1) / 2 = 75
    assert result.domain("A").score == pytest.approx(100.0)
    assert result.domain("B").score == pytest.approx(75.0)
    # weighted geometric mean: exp((2 ln 100 + 1 ln 75) / 3)
    assert result.overall == pytest.approx((100**2 * 75) ** (1 / 3))
    nothing = score(fw, [Answer("Q4", "not_applicable")])
    assert nothing.overall is None and nothing.domain("A").band is None


def test_missing_evidence_is_a_gap_only_for_a_claim() -> None:
    fw = framework()
    claimed = score(fw, [Answer("Q2", "yes")])
    assert claimed.question("Q2").evidence_missing  # type: ignore[union-attr]
    assert "Evidence is required but missing for Q2: School for all?" in claimed.gaps("en")
    denied = score(fw, [Answer("Q2", "no")])
    assert not denied.question("Q2").evidence_missing  # type: ignore[union-attr]
