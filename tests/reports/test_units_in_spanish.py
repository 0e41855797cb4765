"""Units are user-facing strings: the Spanish profile says "años", never "years".

The demo's Spanish profile printed "Años promedio de educación (25 años y más) 8,7 8,8 -0,1
years": the catalogue's unit, as stored. This adds years of schooling (unit "years") to the
report test city and scans the Spanish PDF's text for English units.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from inclusive_cities import reports
from inclusive_cities.store import models, transaction
from tests.reports.conftest import BARRIOS, build_city

ENGLISH_UNITS = ("years", "persons", "households", "per 1,000", "inhabitants")


def test_the_spanish_profile_has_no_english_unit(tmp_path: Path, hfs_rounds: pd.DataFrame) -> None:
    engine = build_city(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with transaction(engine) as session:
        schooling = models.Indicator(
            code="years_schooling_25plus",
            name_es="Años promedio de educación (25 años y más)",
            name_en="Average years of schooling (25 and over)",
            area="EDU",
            unit="years",
            direction="higher_is_better",
            source="Censo sintético",
        )
        session.add(schooling)
        session.flush()
        period_id = session.scalar(select(models.Period.id).where(models.Period.code == "2024"))
        units = dict(session.execute(select(models.SpatialUnit.code, models.SpatialUnit.id)).all())
        for i, code in enumerate(BARRIOS):
            for nationality, value in (("host", 8.7 + 0.1 * i), ("venezuelan", 8.8 - 0.1 * i)):
                session.add(
                    models.Observation(
                        indicator_id=schooling.id,
                        unit_id=units[code],
                        period_id=period_id,
                        nationality=nationality,
                        value=value,
                        n=120,
                    )
                )
    result = reports.profile(
        engine, "TST", "2024", tmp_path / "perfil.pdf", language="es", hfs=hfs_rounds, annex=False
    )
    assert result.pdf is not None
    text = subprocess.run(
        ["pdftotext", "-layout", str(result.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Años promedio de educación" in text  # the row is there…
    line = next(line for line in text.splitlines() if "Años promedio de educación" in line)
    assert re.search(r"\baños\b", line.split(")")[-1]), line  # …with its unit in Spanish
    found = [u for u in ENGLISH_UNITS if re.search(rf"\b{re.escape(u)}\b", text)]
    assert found == []
