"""A KoBo export made with "labels" instead of "XML values" reads as the form's names (trial
#4 F14: 'Mujer', 'Quedarse' were stored as thousands of "not in the choice list" warnings with
exit 0, and every estimate then refused). The round is the demo's own, with Spanish labels
given to its choices and its answers written as those labels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from inclusive_cities.mobility.generate import write_rounds
from inclusive_cities.surveys.kobo import read_kobo

LABELS = {
    "sex": {"female": "Mujer", "male": "Hombre"},
    "intention": {"stay": "Quedarse", "move_on": "Seguir el viaje", "return": "Regresar"},
    "need": {
        "food": "Alimentación",
        "shelter": "Alojamiento",
        "health": "Salud",
        "work": "Trabajo",
        "education": "Educación",
        "protection": "Protección",
    },
}


def test_answers_written_as_labels_read_as_names(tmp_path: Path) -> None:
    write_rounds(tmp_path, seed=11, fmt="kobo", fraction=0.2)
    form = pd.read_excel(tmp_path / "form_R1.xlsx", sheet_name=None, engine="calamine")
    label = "label::Español (es)"
    choices = form["choices"]
    for list_name, labels in LABELS.items():
        rows = choices["list_name"] == list_name
        assert rows.any(), list_name
        choices.loc[rows, label] = choices.loc[rows, "name"].map(labels)
    with pd.ExcelWriter(tmp_path / "form_es.xlsx", engine="openpyxl") as writer:
        for sheet, frame in form.items():
            frame.to_excel(writer, sheet_name=sheet, index=False)
    names = pd.read_excel(tmp_path / "hfs_R1.xlsx", engine="calamine", dtype=str)
    labelled = names.copy()
    labelled["grp_hogar/sex"] = names["grp_hogar/sex"].map(LABELS["sex"])
    labelled["grp_ruta/intention"] = names["grp_ruta/intention"].map(LABELS["intention"])
    labelled["grp_necesidades/needs"] = names["grp_necesidades/needs"].map(
        lambda text: " ".join(LABELS["need"][t] for t in text.split()), na_action="ignore"
    )
    labelled.to_excel(tmp_path / "hfs_labels.xlsx", sheet_name="HFS", index=False)

    ours = read_kobo(tmp_path / "form_es.xlsx", tmp_path / "hfs_labels.xlsx")
    truth = read_kobo(tmp_path / "form_es.xlsx", tmp_path / "hfs_R1.xlsx")
    for column in ("sex", "intention", "needs", "needs/food", "needs/protection"):
        pd.testing.assert_series_equal(ours.tables["main"][column], truth.tables["main"][column])
    said = ours.issues.set_index("column")["problem"]
    assert sorted(said.index) == ["intention", "needs", "sex"]  # one line per question
    assert "answers are the choices' labels ('Mujer'" in said["sex"] or "('Hombre'" in said["sex"]
    assert truth.issues.empty
