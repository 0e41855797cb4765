"""A declined answer ("no sabe", "no responde") to a single choice is left out of that topic's
shares, as real HFS forms code it (trial #4 F13: a round whose intention list had 88 "No sabe"
and 99 "No responde" could not be summarised at all; declaring them missing then failed on the
empty answers, so the analyst had to drop respondents by hand or invent an intention).

The round is the demo's own KoBo round R1 with the two choices added to its form and a quarter
of the intentions declined; the expected shares are worked out from the file's own answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.mobility import NATIONAL, harmonise_imported, summarise, write_rounds
from inclusive_cities.store import connect, init_database, models, transaction
from tests.surveys.helpers import run


def test_declined_intentions_leave_the_shares_denominator(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    engine = init_database(url)
    with transaction(engine) as session:
        session.add(models.City(code="DEMO", name="Ciudad Demo", country="COL", is_synthetic=True))
    out, data_dir = tmp_path / "kobo", tmp_path / "data"
    write_rounds(out, seed=7, fmt="kobo", fraction=0.2)
    form = pd.read_excel(out / "form_R1.xlsx", sheet_name=None, engine="calamine")
    label = "label::Español (es)"
    declined = pd.DataFrame(
        {"list_name": ["intention"] * 2, "name": ["88", "99"], label: ["No sabe", "No responde"]}
    )
    form["choices"] = pd.concat([form["choices"], declined], ignore_index=True)
    with pd.ExcelWriter(out / "form_R1.xlsx", engine="openpyxl") as writer:
        for sheet, frame in form.items():
            frame.to_excel(writer, sheet_name=sheet, index=False)
    export = pd.read_excel(out / "hfs_R1.xlsx", engine="calamine", dtype=str)
    column = "grp_ruta/intention"
    rng = np.random.default_rng(1)
    chosen = rng.random(len(export)) < 0.25
    export.loc[chosen, column] = rng.choice(["88", "99"], size=int(chosen.sum()))
    export.to_excel(out / "hfs_R1.xlsx", sheet_name="HFS", index=False)

    argv = ["--database", url, "--lang", "en", "survey", "import", str(out / "form_R1.xlsx")]
    argv += [str(out / "hfs_R1.xlsx"), "--city", "DEMO", "--period", "R1", "--survey", "hfs"]
    assert run(*argv, "--design", str(out / "design.yaml"), "--data-dir", str(data_dir)) == 0
    data = harmonise_imported(connect(url), "DEMO", "hfs", out / "mapping.yaml", data_dir)
    figures = summarise(data).set_index(["round", "geography", "topic", "category"])

    weight = export["grp_lugar/weight"].astype(float)
    answered = ~chosen
    stay = answered & (export[column] == "stay").to_numpy()
    row = figures.loc[("R1", NATIONAL, "intention", "stay")]
    assert row["n"] == int(answered.sum()) < len(export)
    assert row["estimate"] == pytest.approx(weight[stay].sum() / weight[answered].sum())
    # every other topic still counts every respondent
    assert figures.loc[("R1", NATIONAL, "sex", "female")]["n"] == len(export)
    shares = figures.xs(("R1", NATIONAL, "intention"), level=[0, 1, 2])["estimate"]
    assert shares.sum() == pytest.approx(1.0)
