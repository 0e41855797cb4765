"""Small results frameworks written as YAML files, for tests that need their own programme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def one_output_framework(
    path: Path, code: str, indicators: list[dict[str, Any]], **programme: Any
) -> Path:
    """A framework ``code`` with one outcome and one output holding ``indicators``;
    ``programme``: more top-level fields (names, start and end dates)."""
    spec = {
        "code": code,
        "name_es": "Prueba",
        "name_en": "Test",
        **programme,
        "outcomes": [
            {
                "code": "OC1",
                "name_es": "r",
                "name_en": "r",
                "outputs": [
                    {"code": "OP1", "name_es": "p", "name_en": "p", "indicators": indicators}
                ],
            }
        ],
    }
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path
