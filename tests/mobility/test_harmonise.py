"""Rounds with renamed questions and changed codes harmonise; bad rounds say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from inclusive_cities.mobility import (
    MobilityError,
    generate_rounds,
    harmonise,
    harmonise_round,
    load_mapping,
    write_rounds,
)
from inclusive_cities.mobility.schema import CHOICES


def test_rounds_harmonise_to_the_same_codes(hfs: pd.DataFrame) -> None:
    raw = generate_rounds(seed=3)
    assert "gender" in raw["R2"] and "sex" not in raw["R2"]
    assert set(raw["R3"]["intention"]) == {"quedarse", "seguir", "regresar"}
    assert list(hfs.drop_duplicates("round")["round"]) == ["R1", "R2", "R3"]
    for code in ("R1", "R2", "R3"):
        part = hfs[hfs["round"] == code]
        assert len(part) == len(raw[code])
        assert set(part["sex"]) == set(CHOICES["sex"])
        assert set(part["intention"]) == set(CHOICES["intention"])
    r3 = hfs[hfs["round"] == "R3"]["intention"].reset_index(drop=True)
    spanish = raw["R3"]["intention"].map(
        {"quedarse": "stay", "seguir": "move_on", "regresar": "return"}
    )
    assert r3.equals(spanish)


def test_xlsx_export_reads_back(tmp_path: Path) -> None:
    mapping = write_rounds(tmp_path, seed=1)
    book = pd.ExcelFile(tmp_path / "hfs_round1.xlsx")
    assert book.sheet_names == ["data", "survey", "choices"]
    assert len(harmonise(mapping)) == sum(len(f) for f in generate_rounds(1).values())


def test_missing_mandatory_variable_names_round_file_and_column(hfs_dir: Path) -> None:
    mapping = load_mapping(hfs_dir / "mapping.yaml")
    frame = pd.read_csv(hfs_dir / "hfs_round2.csv", dtype=str).drop(columns=["gender"])
    with pytest.raises(MobilityError) as caught:
        harmonise_round(frame, mapping.rounds[1])
    message = str(caught.value)
    assert "R2" in message and "hfs_round2.csv" in message and "'gender'" in message
    assert "\n" not in message


def test_mismatched_choice_list_names_the_value(hfs_dir: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load((hfs_dir / "mapping.yaml").read_text())
    del raw["rounds"][2]["recode"]  # round 3 codes are Spanish: unmapped without recode
    for entry in raw["rounds"]:
        entry["file"] = str(hfs_dir / entry["file"])
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(MobilityError) as caught:
        harmonise(tmp_path / "m.yaml")
    message = str(caught.value)
    assert "Round R3 (" in message and "'intention'" in message
    assert "'quedarse'" in message and "stay, move_on, return" in message


def test_bad_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(MobilityError, match="does not exist"):
        load_mapping(tmp_path / "nope.yaml")
    (tmp_path / "m.yaml").write_text("rounds:\n  - code: R1\n    file: x.csv\n")
    with pytest.raises(MobilityError, match="has no 'date'"):
        load_mapping(tmp_path / "m.yaml")
    (tmp_path / "m.yaml").write_text("rounds:\n  - {code: R1, file: x.csv, date: 2024-01-01}\n")
    with pytest.raises(MobilityError, match=r"x\.csv does not exist"):
        harmonise(tmp_path / "m.yaml")
