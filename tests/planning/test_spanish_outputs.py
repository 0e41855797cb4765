"""Outputs a reader sees in Spanish and English (trial F11): a half-point scale answer."""

from __future__ import annotations

import pytest

from inclusive_cities.governance.assess import answer_text
from inclusive_cities.governance.scoring import QuestionResult
from tests.governance.helpers import framework


def _scale_answer(value: float) -> QuestionResult:
    return QuestionResult(
        code="Q3",
        domain="A",
        subdomain="A1",
        text={"es": "¿Canales de denuncia?", "en": "Complaint channels?"},  # type: ignore[arg-type]
        answer="scale",
        scale_value=value,
        value=(value - 1) / 4,
        weight=1.0,
    )


@pytest.mark.parametrize(
    ("value", "lang", "shown"),
    [
        (3.5, "es", "3,5 / 5"),  # Q3's scale runs 1-5; a half point is not rounded to 4
        (3.5, "en", "3.5 / 5"),
        (4.0, "es", "4 / 5"),
        (2.25, "es", "2,25 / 5"),
    ],
)
def test_a_scale_answer_is_printed_as_given(value: float, lang: str, shown: str) -> None:
    assert answer_text(framework(), _scale_answer(value), lang) == shown
