"""HFS rounds exported from KoBoToolbox import through ``survey import`` like any survey.

Two rounds built here as KoBo writes them: an XLSForm (groups, select_one/select_multiple,
a constraint, a calculated stratum) and an XLSX export with group prefixes
(``grp_hogar/age``), one-hot select_multiple columns (``grp_necesidades/needs/food``),
KoBo's metadata (``_uuid``, ``_submission_time``, ``_index``...) and the missing-value
codes 999 and -999. Round 2's form renamed two questions, so only it needs a mapping entry.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from inclusive_cities.mobility import (
    NATIONAL,
    MobilityError,
    fieldwork_date,
    harmonise,
    harmonise_imported,
    summarise,
    write_rounds,
)
from inclusive_cities.store import connect, init_database, models, transaction
from tests.surveys.helpers import run

CITIES = ("DEMO", "NORTE")
ZONES = ("centro", "periferia")
NEEDS = ("food", "shelter", "health", "work", "education", "protection")
COUNTRIES = ("VEN", "COL", "ECU", "PER")
ROUND_DAYS = {"R1": date(2024, 3, 4), "R2": date(2024, 7, 8)}


def _form(path: Path, renamed: bool) -> Path:
    """The HFS XLSForm; in round 2 ``sex`` became ``genero`` and ``intention`` ``intencion``."""
    sex, intention = ("genero", "intencion") if renamed else ("sex", "intention")
    label = "label::Español (es)"
    survey = pd.DataFrame(
        [
            ("start", "start", "", "", ""),
            ("end", "end", "", "", ""),
            ("begin_group", "grp_lugar", "Lugar", "", ""),
            ("select_one city", "city", "Ciudad", "", "yes"),
            ("select_one zone", "zone", "Zona", "", "yes"),
            ("calculate", "stratum", "", "", ""),
            ("decimal", "factor_expansion", "Factor de expansión", ". > 0", "yes"),
            ("end_group", "", "", "", ""),
            ("begin_group", "grp_hogar", "Hogar", "", ""),
            ("select_one sex", sex, "Sexo", "", "yes"),
            ("integer", "age", "Edad", ". >= 0 and . <= 110", ""),
            ("integer", "household_size", "Personas en el hogar", ". >= 1", "yes"),
            ("date", "arrival_date", "Fecha de llegada", "", "yes"),
            ("select_one country", "origin_country", "País de origen", "", "yes"),
            ("end_group", "", "", "", ""),
            ("begin_group", "grp_situacion", "Situación", "", ""),
            ("select_one intention", intention, "Intención", "", "yes"),
            ("select_one status", "regular_status", "Situación migratoria", "", "yes"),
            ("select_one country", "destination", "Destino", "", ""),
            ("end_group", "", "", "", ""),
            ("begin_group", "grp_necesidades", "Necesidades", "", ""),
            ("select_multiple need", "needs", "Necesidades", "", ""),
            ("select_multiple country", "transit_countries", "Países de tránsito", "", ""),
            ("end_group", "", "", "", ""),
        ],
        columns=["type", "name", label, "constraint", "required"],
    )
    survey["calculation"] = np.where(
        survey["name"] == "stratum", "concat(${city}, '-', ${zone})", ""
    )
    choices = [("city", c) for c in CITIES] + [("zone", z) for z in ZONES]
    choices += [("sex", c) for c in ("female", "male")]
    choices += [("intention", c) for c in ("stay", "move_on", "return")]
    choices += [("status", c) for c in ("regular", "in_process", "irregular")]
    choices += [("country", c) for c in (*COUNTRIES, *CITIES)]
    choices += [("need", c) for c in NEEDS]
    frame = pd.DataFrame(choices, columns=["list_name", "name"])
    frame[label] = frame["name"]
    settings = pd.DataFrame([{"form_id": "hfs_migrantes", "form_title": "HFS", "version": "1"}])
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        survey.to_excel(writer, sheet_name="survey", index=False)
        frame.to_excel(writer, sheet_name="choices", index=False)
        settings.to_excel(writer, sheet_name="settings", index=False)
    return path


def _export(path: Path, round_code: str, renamed: bool, seed: int) -> pd.DataFrame:
    """A KoBo XLSX export ("XML values and headers", group names kept); returns the truth."""
    rng = np.random.default_rng(seed)
    rows = []
    day = ROUND_DAYS[round_code]
    for city in CITIES:
        for zone in ZONES:
            for _ in range(30):
                needs = [n for n in NEEDS if rng.random() < 0.4]
                rows.append(
                    {
                        "city": city,
                        "zone": zone,
                        "stratum": f"{city}-{zone}",
                        "weight": float(rng.choice([40.0, 55.5, 80.25])),
                        "sex": rng.choice(["female", "male"]),
                        "age": int(rng.integers(15, 70)),
                        "household_size": int(rng.integers(1, 7)),
                        "arrival": day - timedelta(days=int(rng.integers(20, 900))),
                        "origin_country": rng.choice(COUNTRIES, p=[0.85, 0.1, 0.03, 0.02]),
                        "intention": rng.choice(["stay", "move_on", "return"], p=[0.6, 0.3, 0.1]),
                        "regular_status": rng.choice(["regular", "in_process", "irregular"]),
                        "needs": needs,
                        "transit": "ECU" if rng.random() < 0.2 else "",
                        "submitted": datetime(day.year, day.month, day.day, 9)
                        + timedelta(hours=int(rng.integers(0, 24 * 12))),
                    }
                )
    truth = pd.DataFrame(rows)
    truth.loc[[3, 50], "age"] = [999, -999]  # refused: the questionnaire's missing codes
    truth.loc[7, "age"] = 130  # breaks the form's constraint: reported, read as no answer
    truth["destination"] = np.where(truth["intention"] == "stay", truth["city"], "PER")
    sex, intention = ("genero", "intencion") if renamed else ("sex", "intention")
    export = pd.DataFrame(
        {
            "start": truth["submitted"].map(lambda t: (t - timedelta(minutes=25)).isoformat()),
            "end": truth["submitted"].map(lambda t: (t - timedelta(minutes=2)).isoformat()),
            "grp_lugar/city": truth["city"],
            "grp_lugar/zone": truth["zone"],
            "grp_lugar/stratum": truth["stratum"],
            "grp_lugar/factor_expansion": truth["weight"].map(lambda w: f"{w:g}"),
            f"grp_hogar/{sex}": truth["sex"],
            "grp_hogar/age": truth["age"].astype(str),
            "grp_hogar/household_size": truth["household_size"].astype(str),
            "grp_hogar/arrival_date": truth["arrival"].map(date.isoformat),
            "grp_hogar/origin_country": truth["origin_country"],
            f"grp_situacion/{intention}": truth["intention"],
            "grp_situacion/regular_status": truth["regular_status"],
            "grp_situacion/destination": truth["destination"],
            "grp_necesidades/needs": truth["needs"].map(" ".join),
        }
    )
    for need in NEEDS:
        export[f"grp_necesidades/needs/{need}"] = truth["needs"].map(lambda s, n=need: int(n in s))
    export["grp_necesidades/transit_countries"] = truth["transit"]
    export["_id"] = np.arange(len(truth)) + 9_000_000
    export["_uuid"] = [str(uuid.UUID(int=int(i) + seed * 1000)) for i in range(len(truth))]
    export["_submission_time"] = truth["submitted"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"))
    export["_validation_status"] = ""
    export["_index"] = np.arange(1, len(truth) + 1)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        export.to_excel(writer, sheet_name="HFS", index=False)
    return truth


@pytest.fixture(scope="module")
def kobo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("kobo")
    design = root / "design.yaml"
    design.write_text("weight: factor_expansion\nstrata: stratum\nlonely_psu: remove\nmin_n: 10\n")
    mapping = root / "mapping.yaml"
    mapping.write_text(
        "rounds:\n"
        "  - code: R2\n"
        "    date: 2024-07-15\n"
        "    label: Ronda 2\n"
        "    rename: {genero: sex, intencion: intention}\n"
    )
    rounds = {}
    for seed, (code, renamed) in enumerate((("R1", False), ("R2", True)), start=1):
        form = _form(root / f"form_{code}.xlsx", renamed)
        truth = _export(root / f"hfs_{code}.xlsx", code, renamed, seed)
        rounds[code] = (form, root / f"hfs_{code}.xlsx", truth)
    return {"root": root, "design": design, "mapping": mapping, "rounds": rounds}


def _store(url: str) -> None:
    engine = init_database(url)
    with transaction(engine) as session:
        session.add(models.City(code="DEMO", name="Ciudad Demo", country="COL", is_synthetic=True))


def test_kobo_rounds_import_and_give_the_hfs_figures(
    kobo: dict, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _store(db_url)
    data_dir = tmp_path / "data"
    common = ["--database", db_url, "--lang", "en", "survey", "import"]
    store = ["--city", "DEMO", "--survey", "hfs", "--design", str(kobo["design"])]
    store += ["--data-dir", str(data_dir), "--missing", "999", "--missing", "-999"]
    for code, (form, export, _truth) in kobo["rounds"].items():
        assert run(*common, str(form), str(export), "--period", code, *store) == 0
        printed = capsys.readouterr().out
        assert "Imported survey" in printed and "120 rows" in printed
    # the same checks as any survey: the broken constraint is listed with its row
    issues = pd.read_csv(next((data_dir / "surveys/DEMO/R1/hfs").glob("v*/issues.csv")))
    broken = issues[issues["column"] == "age"]
    assert broken[["row", "value"]].astype(str).values.tolist() == [["9", "130"]]
    # ...and the same transaction: importing a file again changes nothing
    form, export, _truth = kobo["rounds"]["R1"]
    assert run(*common, str(form), str(export), "--period", "R1", *store) == 0
    assert "nothing changed" in capsys.readouterr().out
    with transaction(connect(db_url)) as session:
        batches = session.scalars(select(models.ImportBatch)).all()
        assert [(b.kind, b.status) for b in batches] == [("survey", "active")] * 2

    engine = connect(db_url)
    with pytest.raises(MobilityError, match=r"Round R2 .* has no column 'sex'"):
        harmonise_imported(engine, "DEMO", "hfs", data_dir=data_dir)
    data = harmonise_imported(engine, "DEMO", "hfs", kobo["mapping"], data_dir)
    assert list(data.drop_duplicates("round")["round"]) == ["R1", "R2"]
    assert set(data.loc[data["round"] == "R2", "round_label"]) == {"Ronda 2"}
    assert "_uuid" not in data.columns and "_submission_time" not in data.columns

    figures = summarise(data).set_index(["round", "geography", "topic", "category"])
    truth = kobo["rounds"]["R1"][2]
    w = truth["weight"]
    regular = w[truth["regular_status"] == "regular"].sum() / w.sum()
    row = figures.loc[("R1", NATIONAL, "regular_status", "regular")]
    assert row["estimate"] == pytest.approx(regular) and row["n"] == 120
    # the codes 999 and -999 are no age, nor is 130 (the form allows 0-110): left out of the
    # age shares' denominator
    answered = ~truth["age"].isin([999, -999]) & truth["age"].between(0, 110)
    young = answered & truth["age"].between(15, 24)
    row = figures.loc[("R1", NATIONAL, "age_group", "15-24")]
    assert row["n"] == 117
    assert row["estimate"] == pytest.approx(w[young].sum() / w[answered].sum())
    # a select_multiple answer: each need is a share of all respondents
    in_demo = truth["city"] == "DEMO"
    food = truth["needs"].map(lambda s: "food" in s)
    row = figures.loc[("R1", "DEMO", "need", "food")]
    assert row["estimate"] == pytest.approx(w[in_demo & food].sum() / w[in_demo].sum())
    # round 2 read through its renamed questions
    truth2 = kobo["rounds"]["R2"][2]
    women = truth2["weight"][truth2["sex"] == "female"].sum() / truth2["weight"].sum()
    assert figures.loc[("R2", NATIONAL, "sex", "female")]["estimate"] == pytest.approx(women)

    # the CLI reads the imported rounds; what it writes passes the surveys' disclosure gate
    out = tmp_path / "hfs.csv"
    argv = ["--database", db_url, "--lang", "en", "mobility", "summary", "--survey", "hfs"]
    argv += ["--city", "DEMO", "--mapping", str(kobo["mapping"]), "--data-dir", str(data_dir)]
    assert run(*argv, "--out", str(out)) == 0
    assert "High-frequency survey: DEMO" in capsys.readouterr().out
    written = pd.read_csv(out)
    hidden = written[written["suppressed"]]
    assert len(hidden) > 0 and hidden["n"].isna().all() and hidden["estimate"].isna().all()
    assert written.loc[~written["suppressed"], "n"].notna().all()
    # and, like any survey, a round answers `survey estimate`
    estimate = ["--database", db_url, "--lang", "en", "survey", "estimate", "regular_status"]
    estimate += ["--statistic", "proportion", "--city", "DEMO", "--period", "R1"]
    estimate += ["--survey", "hfs", "--data-dir", str(data_dir), "--out", str(tmp_path / "e.csv")]
    assert run(*estimate) == 0
    shares = pd.read_csv(tmp_path / "e.csv").set_index("category")
    assert shares.loc["regular", "estimate"] == pytest.approx(regular)


def test_fieldwork_date_is_the_median_submission(kobo: dict) -> None:
    truth = kobo["rounds"]["R1"][2]
    frame = pd.DataFrame(
        {"_submission_time": truth["submitted"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"))}
    )
    ordered = truth["submitted"].sort_values().reset_index(drop=True)
    assert fieldwork_date(frame) == ordered[(len(ordered) - 1) // 2].date()
    assert fieldwork_date(pd.DataFrame({"x": [1]})) is None


def test_generated_kobo_rounds_give_the_figures_of_the_files(tmp_path: Path) -> None:
    """``write_rounds(fmt="kobo")`` (``mobility generate --format kobo``) writes the demo
    rounds as KoBo exports; imported through ``survey import`` they give the very figures
    the same rounds give as CSV files (round 2, whose questions were renamed, read through
    the mapping file the generator writes)."""
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    _store(url)
    out, data_dir = tmp_path / "kobo", tmp_path / "data"
    write_rounds(out, seed=5, fmt="kobo", fraction=0.1)
    assert {"form_R2.xlsx", "hfs_R2.xlsx", "design.yaml", "mapping.yaml"} <= {
        p.name for p in out.iterdir()
    }
    argv = ["--database", url, "--lang", "en", "survey", "import", str(out / "form_R2.xlsx")]
    argv += [str(out / "hfs_R2.xlsx"), "--city", "DEMO", "--period", "R2", "--survey", "hfs"]
    assert run(*argv, "--design", str(out / "design.yaml"), "--data-dir", str(data_dir)) == 0
    data = harmonise_imported(connect(url), "DEMO", "hfs", out / "mapping.yaml", data_dir)
    files = harmonise(write_rounds(tmp_path / "csv", seed=5, fmt="csv", fraction=0.1))
    files = files[files["round"] == "R2"]
    # a tenth of each stratum's sample (at least 12): DEMO 19+24+12, NORTE 12+14+12, FRONTERA 36
    assert len(data) == len(files) == 55 + 38 + 36
    ours = summarise(data).drop(columns=["round_date"])
    theirs = summarise(files).drop(columns=["round_date"])
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, rtol=1e-12)


def test_cli_says_where_the_rounds_come_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--lang", "en", "mobility", "summary") == 1
    assert "Give --survey NAME --city CITY" in capsys.readouterr().err
    assert run("--lang", "es", "mobility", "trends", "--survey", "hfs") == 1
    assert "--survey necesita --city" in capsys.readouterr().err
