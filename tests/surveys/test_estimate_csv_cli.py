"""`survey estimate --data FILE --design design.yaml`: a plain table of responses, as an
analyst exports it (semicolons, decimal commas, codes with leading zeros, 999 for "no
answer"), checked against R's ``survey`` and against the linearisation formula by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.cli import main

Z95 = 1.959963984540054


def es(value: object) -> str:
    """A cell as a Spanish export writes it: 44,2099990844727."""
    return str(value).replace(".", ",") if isinstance(value, float) else str(value)


def spanish_csv(frame: pd.DataFrame, path) -> None:
    lines = [";".join(frame.columns)]
    lines += [";".join(es(v) for v in row) for row in frame.itertuples(index=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def estimate_cli(capsys, *arguments: str) -> str:
    main(["--lang", "en", "survey", "estimate", *arguments])
    return capsys.readouterr().out


def refused(capsys, *arguments: str, lang: str = "en") -> str:
    with pytest.raises(SystemExit) as stop:
        main(["--lang", lang, "survey", "estimate", *arguments])
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


def test_stratified_mean_and_total_as_r_survey(apistrat, tmp_path, capsys) -> None:
    # R: dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    # svymean(~api00, dstrat) 662.29 (SE 9.4089); svytotal(~enroll, dstrat) 3687178 (SE 114642)
    data = tmp_path / "apistrat.csv"
    spanish_csv(apistrat[["stype", "pw", "fpc", "api00", "enroll"]], data)
    design = tmp_path / "design.yaml"
    design.write_text("weight: pw\nstrata: stype\nfpc: fpc\nmin_n: 10\n", encoding="utf-8")
    out = tmp_path / "mean.csv"
    common = ("--data", str(data), "--design", str(design), "--decimal", ",")
    estimate_cli(capsys, "api00", *common, "--out", str(out))
    mean = pd.read_csv(out).iloc[0]
    assert mean["estimate"] == pytest.approx(662.287375, abs=1e-4)
    assert mean["se"] == pytest.approx(9.408940879434, rel=1e-7)
    assert mean["ci_low"] == pytest.approx(mean["estimate"] - Z95 * mean["se"])
    assert mean["n"] == 200 and mean["status"] == "estimated"
    estimate_cli(capsys, "enroll", *common, "--statistic", "total", "--out", str(out))
    total = pd.read_csv(out).iloc[0]
    assert round(total["estimate"]) == 3687178
    assert round(total["se"]) == 114642


# 2 strata × 3 PSUs × 2 respondents; barrio codes keep their leading zeros; 999 = no answer
RESPONSES = pd.DataFrame(
    {
        "estrato": ["01"] * 6 + ["02"] * 6,
        "upm": ["1", "1", "2", "2", "3", "3", "4", "4", "5", "5", "6", "6"],
        "peso": [10.5, 10.5, 12.0, 12.0, 8.25, 8.25, 20.0, 20.0, 18.0, 18.0, 22.5, 22.5],
        "ingreso": [100.5, 200.0, 150.0, 999, 120.0, 80.0, 300.0, 250.0, 400.0, 350.0, 310.5, 90],
        "barrio": [
            "0101",
            "0101",
            "0101",
            "0102",
            "0101",
            "0102",
            "0101",
            "0102",
            "0101",
            "0101",
            "0102",
            "0101",
        ],
        "sexo": ["F", "M", "F", "M", "F", "M", "F", "M", "F", "M", "F", "M"],
    }
)


def hand_domain_mean(frame: pd.DataFrame, domain: str) -> tuple[float, float, int]:
    """Ratio mean of the domain and its with-replacement linearised SE, written out:
    zᵢ = wᵢ·1[i in d]·(yᵢ − ȳ_d)/Ŵ_d; Var = Σ_h n_h/(n_h−1) Σ_psu (z_hp − z̄_h)²."""
    y = frame["ingreso"].where(frame["ingreso"] != 999)
    inside = (frame["barrio"] == domain) & y.notna()
    w = frame["peso"]
    mean = float((w * y)[inside].sum() / w[inside].sum())
    z = np.where(inside, w * (y.fillna(0) - mean) / w[inside].sum(), 0.0)
    variance = 0.0
    for _stratum, rows in frame.groupby("estrato"):
        totals = pd.Series(z[rows.index]).groupby(rows["upm"].to_numpy()).sum()
        n_h = len(totals)
        variance += n_h / (n_h - 1) * float(((totals - totals.mean()) ** 2).sum())
    return mean, float(np.sqrt(variance)), int(inside.sum())


def test_domains_from_a_spanish_csv_by_hand(tmp_path, capsys) -> None:
    data = tmp_path / "respuestas.csv"
    spanish_csv(RESPONSES, data)
    design = tmp_path / "design.yaml"
    design.write_text("weight: peso\nstrata: estrato\npsu: upm\nmin_n: 4\n", encoding="utf-8")
    out = tmp_path / "est.csv"
    estimate_cli(
        capsys,
        *("ingreso", "--data", str(data), "--design", str(design), "--decimal", ","),
        *("--missing", "999", "--by", "barrio", "--out", str(out)),
    )
    result = pd.read_csv(out, dtype={"barrio": str}).set_index("barrio")
    assert list(result.index) == ["0101", "0102"]
    mean, se, n = hand_domain_mean(RESPONSES, "0101")
    assert n == 8
    assert result.loc["0101", "estimate"] == pytest.approx(mean, rel=1e-12)
    assert result.loc["0101", "se"] == pytest.approx(se, rel=1e-10)
    assert result.loc["0101", "n"] == n
    # barrio 0102 has 3 answers (its 999 is no answer), below min_n 4: suppressed, not zero
    assert hand_domain_mean(RESPONSES, "0102")[2] == 3
    assert result.loc["0102", "status"] == "suppressed"
    assert np.isnan(result.loc["0102", "estimate"]) and np.isnan(result.loc["0102", "n"])


def test_rake_from_a_margins_table_as_r(apiclus1, tmp_path, capsys) -> None:
    # R: rclus1 <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
    #    svymean(~api00, rclus1): 641.230246862208 (Survey.jl's R reference)
    data = tmp_path / "apiclus1.csv"
    apiclus1[["dnum", "pw", "fpc", "stype", "sch.wide", "api00"]].to_csv(data, index=False)
    design = tmp_path / "design.yaml"
    design.write_text("weight: pw\npsu: dnum\nfpc: fpc\n", encoding="utf-8")
    margins = tmp_path / "margins.csv"
    margins.write_text(
        "variable,category,total\nstype,E,4421\nstype,H,755\nstype,M,1018\n"
        "sch.wide,No,1072\nsch.wide,Yes,5122\n",
        encoding="utf-8",
    )
    out = tmp_path / "est.csv"
    estimate_cli(
        capsys,
        *("api00", "--data", str(data), "--design", str(design), "--rake", str(margins)),
        *("--out", str(out)),
    )
    assert pd.read_csv(out).iloc[0]["estimate"] == pytest.approx(641.230246862208, rel=1e-5)


def test_poststratify_from_a_totals_table_by_hand(apiclus1, tmp_path, capsys) -> None:
    data = tmp_path / "apiclus1.csv"
    apiclus1[["dnum", "pw", "fpc", "stype", "enroll"]].to_csv(data, index=False)
    design = tmp_path / "design.yaml"
    design.write_text("weight: pw\npsu: dnum\nfpc: fpc\n", encoding="utf-8")
    totals = tmp_path / "totals.csv"
    population = {"E": 4421.0, "H": 755.0, "M": 1018.0}
    totals.write_text(
        "stype,total\n" + "".join(f"{k},{v:g}\n" for k, v in population.items()),
        encoding="utf-8",
    )
    out = tmp_path / "est.csv"
    estimate_cli(
        capsys,
        *("enroll", "--data", str(data), "--design", str(design), "--statistic", "total"),
        *("--poststratify", str(totals), "--out", str(out)),
    )
    got = pd.read_csv(out).iloc[0]
    # by hand: each cell's weights scaled to its population; residuals from cell means
    cells = apiclus1["stype"]
    w = apiclus1["pw"] * cells.map(population) / apiclus1["pw"].groupby(cells).transform("sum")
    y = apiclus1["enroll"].astype(float)
    assert got["estimate"] == pytest.approx(float((w * y).sum()), rel=1e-12)
    residual = w * (y - y.groupby(cells).transform("mean"))
    psu_totals = residual.groupby(apiclus1["dnum"]).sum()
    n = len(psu_totals)
    variance = (1 - n / 757) * n / (n - 1) * ((psu_totals - psu_totals.mean()) ** 2).sum()
    assert got["se"] == pytest.approx(float(np.sqrt(variance)), rel=1e-9)


@pytest.fixture
def responses(tmp_path):
    data = tmp_path / "respuestas.csv"
    spanish_csv(RESPONSES, data)
    return data


def test_a_design_naming_a_weight_column_that_does_not_exist(responses, tmp_path, capsys):
    design = tmp_path / "design.yaml"
    design.write_text("weight: factor\nstrata: estrato\npsu: upm\n", encoding="utf-8")
    err = refused(capsys, "ingreso", "--data", str(responses), "--design", str(design))
    assert err == (
        "Error: design.yaml names the weight column 'factor', which respuestas.csv does not "
        "have (columns: estrato, upm, peso, ingreso, barrio, sexo): fix the name in the design "
        "or add the column."
    )


def test_a_design_with_a_negative_min_n_or_a_misspelt_key(responses, tmp_path, capsys):
    design = tmp_path / "design.yaml"
    design.write_text("weight: peso\nstrata: estrato\n\nmin_n: -1\n", encoding="utf-8")
    err = refused(capsys, "ingreso", "--data", str(responses), "--design", str(design))
    assert err == (
        f"Error: The survey design {design}, line 4, key 'min_n': -1 is below the minimum 1; "
        "fix it."
    )
    design.write_text("weigth: peso\n", encoding="utf-8")
    err = refused(capsys, "ingreso", "--data", str(responses), "--design", str(design))
    assert err.startswith(
        f"Error: The survey design {design}, line 1, key 'weigth': not a design key (the keys "
        "are weight, strata, psu,"
    )


def test_bad_cells_name_file_row_column_and_value(tmp_path, capsys) -> None:
    design = tmp_path / "design.yaml"
    design.write_text("weight: peso\nstrata: estrato\npsu: upm\n", encoding="utf-8")
    data = tmp_path / "respuestas.csv"
    spanish_csv(RESPONSES.assign(peso=RESPONSES["peso"].where(RESPONSES.index != 4, -8.0)), data)
    common = ("--data", str(data), "--design", str(design), "--decimal", ",")
    err = refused(capsys, "ingreso", *common)
    assert err == (
        "Error: respuestas.csv, row 6, column 'peso': weight -8,0 is not positive; give every "
        "respondent a weight above 0 (if it marks a missing value, leave the row out)."
    )
    spanish_csv(RESPONSES, data)
    # without --decimal , the decimal commas are refused, not read as thousands
    err = refused(capsys, "ingreso", "--data", str(data), "--design", str(design))
    assert err == (
        "Error: respuestas.csv, row 2, column 'peso': '10,5' is not a number (for a decimal "
        "comma add --decimal ,)."
    )
    spanish_csv(
        RESPONSES.assign(estrato=RESPONSES["estrato"].where(RESPONSES.index != 2, "")), data
    )
    err = refused(capsys, "ingreso", *common)
    assert err == (
        "Error: respuestas.csv, row 4, column 'estrato': the strata is empty; every respondent "
        "needs one."
    )
    spanish_csv(RESPONSES, data)
    err = refused(capsys, "ingresos", *common)
    assert err.startswith("Error: respuestas.csv has no column 'ingresos' (columns: estrato,")


def test_calibration_tables_are_checked(responses, tmp_path, capsys) -> None:
    design = tmp_path / "design.yaml"
    design.write_text("weight: peso\nstrata: estrato\npsu: upm\n", encoding="utf-8")
    margins = tmp_path / "margins.csv"
    margins.write_text("variable,category,total\nsexo,F,70\nsexo,M,-5\n", encoding="utf-8")
    common = ("--data", str(responses), "--design", str(design), "--decimal", ",")
    err = refused(capsys, "ingreso", *common, "--rake", str(margins))
    assert err == (
        "Error: margins.csv, row 3, column 'total': '-5' is not a population total; write a "
        "number 0 or more."
    )
    margins.write_text("variable,category,total\nsex,F,70\n", encoding="utf-8")
    err = refused(capsys, "ingreso", *common, "--rake", str(margins))
    assert err.startswith(
        "Error: margins.csv, row 2: the survey respuestas.csv has no column 'sex' (columns:"
    )


def test_data_needs_a_design_and_errors_speak_spanish(responses, tmp_path, capsys) -> None:
    err = refused(capsys, "ingreso", "--data", str(responses))
    assert err.startswith("Error: --data needs --design design.yaml")
    design = tmp_path / "design.yaml"
    design.write_text("weight: factor\n", encoding="utf-8")
    err = refused(capsys, "ingreso", "--data", str(responses), "--design", str(design), lang="es")
    assert "design.yaml" in err and "'factor'" in err and "respuestas.csv" in err
    assert "does not have" not in err


def test_a_workbook_of_responses_with_numeric_cells(tmp_path, capsys) -> None:
    """A workbook's weights are numbers (10.5), read as such even with --decimal ,."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(RESPONSES.columns))
    for row in RESPONSES.itertuples(index=False):
        sheet.append(list(row))
    data = tmp_path / "respuestas.xlsx"
    book.save(data)
    design = tmp_path / "design.yaml"
    design.write_text("weight: peso\nstrata: estrato\npsu: upm\nmin_n: 4\n", encoding="utf-8")
    out = tmp_path / "est.csv"
    estimate_cli(
        capsys,
        *("ingreso", "--data", str(data), "--design", str(design), "--decimal", ","),
        *("--missing", "999", "--by", "barrio", "--out", str(out)),
    )
    result = pd.read_csv(out, dtype={"barrio": str}).set_index("barrio")
    mean, se, _n = hand_domain_mean(RESPONSES, "0101")
    assert result.loc["0101", "estimate"] == pytest.approx(mean, rel=1e-12)
    assert result.loc["0101", "se"] == pytest.approx(se, rel=1e-10)


def test_table_options_without_a_table_are_refused(capsys) -> None:
    err = refused(
        capsys, "ingreso", "--city", "DEMO", "--period", "2024", "--survey", "s", "--missing", "999"
    )
    assert err == (
        "Error: Options for a plain table of responses need --data FILE: --missing (an "
        "imported survey keeps the design given at import)."
    )


def test_a_truncated_row_is_refused_not_read_as_no_answer(tmp_path, capsys) -> None:
    design = tmp_path / "design.yaml"
    design.write_text("weight: peso\n", encoding="utf-8")
    data = tmp_path / "respuestas.csv"
    data.write_text("peso,ingreso,barrio\n10,100,0101\n12,150\n", encoding="utf-8")
    err = refused(capsys, "ingreso", "--data", str(data), "--design", str(design))
    assert err == (
        "Error: respuestas.csv, row 3: 2 fields where the header has 3; the file may be "
        "truncated or use another delimiter."
    )


def test_a_crossed_margin_rakes_like_post_stratification(apiclus1, tmp_path, capsys) -> None:
    """--rake accepts a census-style crossed table (stype × sch.wide, total); raking to one
    crossed margin is post-stratification: the mean is Σ N_c ȳ_c / N (pw is constant)."""
    data = tmp_path / "apiclus1.csv"
    apiclus1[["dnum", "pw", "fpc", "stype", "sch.wide", "api00"]].to_csv(data, index=False)
    design = tmp_path / "design.yaml"
    design.write_text("weight: pw\npsu: dnum\nfpc: fpc\n", encoding="utf-8")
    population = {
        ("E", "No"): 500.0,
        ("E", "Yes"): 3921.0,
        ("H", "No"): 300.0,
        ("H", "Yes"): 455.0,
        ("M", "No"): 272.0,
        ("M", "Yes"): 746.0,
    }
    cells = tmp_path / "cells.csv"
    cells.write_text(
        "stype,sch.wide,total\n" + "".join(f"{a},{b},{n:g}\n" for (a, b), n in population.items()),
        encoding="utf-8",
    )
    common = ("api00", "--data", str(data), "--design", str(design))
    raked, post = tmp_path / "raked.csv", tmp_path / "post.csv"
    estimate_cli(capsys, *common, "--rake", str(cells), "--out", str(raked))
    estimate_cli(capsys, *common, "--poststratify", str(cells), "--out", str(post))
    means = apiclus1.groupby(["stype", "sch.wide"])["api00"].mean()
    by_hand = sum(n * means[cell] for cell, n in population.items()) / sum(population.values())
    got = pd.read_csv(raked).iloc[0]
    assert got["estimate"] == pytest.approx(by_hand, rel=1e-9)
    assert got["se"] == pytest.approx(pd.read_csv(post).iloc[0]["se"], rel=1e-9)


def test_one_variable_raked_to_two_margins_is_refused(responses, tmp_path, capsys) -> None:
    design = tmp_path / "design.yaml"
    design.write_text("weight: peso\nstrata: estrato\npsu: upm\n", encoding="utf-8")
    first, second = tmp_path / "sexo.csv", tmp_path / "sexo_barrio.csv"
    first.write_text("variable,category,total\nsexo,F,70\nsexo,M,75\n", encoding="utf-8")
    second.write_text("sexo,barrio,total\nF,0101,40\n", encoding="utf-8")
    err = refused(
        capsys,
        *("ingreso", "--data", str(responses), "--design", str(design), "--decimal", ","),
        *("--rake", str(first), "--rake", str(second)),
    )
    assert err == (
        "Error: sexo_barrio.csv: sexo already has margins in sexo.csv; rake each survey "
        "variable to one margin."
    )
