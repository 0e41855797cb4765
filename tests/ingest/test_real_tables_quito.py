"""Indicator tables as a statistics office publishes them (Spanish headers, ``;``, Latin-1,
thousands dots, shares as 0-1, kilometres, 999/-999 and NS/NR, codes that lost their leading
zeros, name and notes columns) must be refused or flagged, never imported as wrong figures.

City TST (conftest): barrios 01001, 01002, 02001 and localidades 01, 02.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from inclusive_cities.cli import main
from inclusive_cities.i18n import use_language
from inclusive_cities.ingest import IngestError, import_table
from inclusive_cities.ingest.dictionary import canonical_unit, read_dictionary
from inclusive_cities.ingest.tabular import lost_leading_zeros
from inclusive_cities.store import models, transaction
from tests.ingest.conftest import assert_rejected

HEADER = (
    "Código;Parroquia;Población total;Población venezolana;% hogares con internet;Observaciones"
)
COLUMNS = {"Población total": "population", "Población venezolana": "venezuelan_population"}


def latin1(path: Path, *lines: str) -> Path:
    """A CSV as Excel saves it in Spanish: ``;`` between cells, Windows Latin-1 bytes."""
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def stored(engine: Engine, indicator: str) -> dict[str, float]:
    with transaction(engine) as session:
        rows = session.execute(
            select(models.SpatialUnit.code, models.Observation.value)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(models.Indicator.code == indicator)
        ).all()
    return dict(rows)


def stored_unit(engine: Engine, indicator: str) -> str:
    with transaction(engine) as session:
        return str(
            session.scalars(
                select(models.Indicator.unit).where(models.Indicator.code == indicator)
            ).one()
        )


# -- item 14: thousands dots in counts of people, groups above their total ---------------


def thousands_file(path: Path, venezuelans_02001: str = "67") -> Path:
    return latin1(
        path,
        "Código;Población total;Población venezolana",
        "01001;24.251;1.286",
        "01002;31.106;673",
        f"02001;1.901;{venezuelans_02001}",
    )


def test_thousands_dot_in_a_count_is_refused_and_locale_es_reads_it(
    city: Engine, tmp_path: Path
) -> None:
    path = thousands_file(tmp_path / "miles.csv")
    options = dict(city="TST", level="barrio", period="2011", indicator_columns=COLUMNS)
    message = assert_rejected(
        city,
        lambda: import_table(city, path, unit_column="Código", **options),  # type: ignore[arg-type]
        "miles.csv, row 2, column 'Población total', value '24.251'",
        "population counts personas and every decimal value of the column has exactly 3 digits",
        "looks like a thousands separator: run again with --locale es",
    )
    assert "value '673'" in message  # 673 Venezuelans beside "31.106" people: named too
    report = import_table(city, path, unit_column="Código", locale="es", **options)  # type: ignore[arg-type]
    assert report.rows_accepted == 3 and not report.problems
    assert stored(city, "population") == {"01001": 24251.0, "01002": 31106.0, "02001": 1901.0}
    assert stored(city, "venezuelan_population") == {"01001": 1286.0, "01002": 673.0, "02001": 67.0}
    estimates = latin1(  # projected counts with decimals are estimates, not thousands
        tmp_path / "proyeccion.csv",
        "codigo;population;households",
        "01001;1861.138455;585.744438",
        "01002;940.5;300.25",
        "02001;12.125;4",
    )
    report = import_table(city, estimates, city="TST", level="barrio", period="2030")
    assert report.rows_accepted == 3 and not report.problems
    assert stored(city, "households") == {"01001": 585.744438, "01002": 300.25, "02001": 4.0}


def test_a_group_above_its_population_is_refused(city: Engine, tmp_path: Path) -> None:
    path = thousands_file(tmp_path / "miles.csv", venezuelans_02001="2.100")
    assert_rejected(
        city,
        lambda: import_table(
            city,
            path,
            city="TST",
            level="barrio",
            period="2011",
            locale="es",
            unit_column="Código",
            indicator_columns=COLUMNS,
        ),
        "1 of 3 rows rejected",
        "row 4, column 'Población venezolana', value '2.100'",
        "venezuelan_population (2.100) is above population (1.901) of unit 02001",
    )


def test_undeclared_count_column_with_thousands_dots_is_flagged(
    city: Engine, tmp_path: Path
) -> None:
    path = latin1(
        tmp_path / "pob.csv", "codigo;poblacion", "01001;24.251", "01002;31.106", "02001;673"
    )
    report = import_table(city, path, city="TST", level="barrio", period="2011", dry_run=True)
    notes = [str(w) for w in report.warnings]
    assert any(
        "column 'poblacion'" in n and "2 values of this count-like column (e.g. 24.251)" in n
        for n in notes
    ), notes


# -- items 3, 4: scale and Spanish units ----------------------------------------------------


def test_shares_as_fractions_and_kilometres_are_refused(city: Engine, tmp_path: Path) -> None:
    """Stored as they are, 0,2 in a % column and 2,3 in a metres column would be scored 100
    and 1000 times off: the file is refused (trial #4 F17), naming the row holding each
    column's highest value, until it is converted or the user says the values are right."""
    fractions = latin1(
        tmp_path / "frac.csv",
        "codigo;unemployment_rate;dist_health_m",
        "01001;0,126;1,65",
        "01002;0,2;0,8",
        "02001;0,05;2,3",
    )
    options = dict(city="TST", period="2022", locale="es")
    use_language("en")
    assert_rejected(
        city,
        lambda: import_table(city, fractions, **options),  # type: ignore[arg-type]
        "frac.csv: nothing was imported.",
        "frac.csv, row 3, column 'unemployment_rate', value '0,2': every value of "
        "unemployment_rate is between 0 and 1 (highest 0,2)",
        "multiply them by 100 in the file (0,256 -> 25,6)",
        "frac.csv, row 4, column 'dist_health_m', value '2,3': every value of dist_health_m is "
        "at most 2,3 with decimals",
        "probably kilometres; multiply them by 1000 in the file (1,65 -> 1650)",
        "If the values are right as they are, run again with --accept-units.",
    )
    assert_rejected(  # a dry run validates the same way
        city,
        lambda: import_table(city, fractions, dry_run=True, **options),  # type: ignore[arg-type]
        "--accept-units",
    )
    report = import_table(city, fractions, accept_units=True, **options)  # type: ignore[arg-type]
    notes = [str(w) for w in report.warnings]
    assert any("probably shares" in n for n in notes) and any("kilometres" in n for n in notes)
    assert stored(city, "unemployment_rate") == {"01001": 0.126, "01002": 0.2, "02001": 0.05}
    assert stored(city, "dist_health_m") == {"01001": 1.65, "01002": 0.8, "02001": 2.3}
    right = latin1(
        tmp_path / "right.csv",
        "codigo;unemployment_rate;dist_health_m",
        "01001;12,6;1650",
        "01002;20;800",
        "02001;5;2300",
    )
    report = import_table(city, right, dry_run=True, **options)  # type: ignore[arg-type]
    assert report.warnings == []


def test_spanish_dictionary_units_get_the_range_checks(city: Engine, tmp_path: Path) -> None:
    dictionary = tmp_path / "diccionario.csv"
    dictionary.write_text(
        "code,name_es,name_en,unit,direction,min,max,missing\n"
        "% hogares con internet,Hogares con internet,Households with internet,Porcentaje,"
        "higher_is_better,,,\n"
        "Distancia a salud (m),Distancia a salud,Distance to health,metros,lower_is_better,,,\n",
        encoding="utf-8",
    )
    assert {m.code: m.unit for m in read_dictionary(dictionary).values()} == {
        "hogares_con_internet": "%",
        "distancia_a_salud_m": "m",
    }
    path = latin1(
        tmp_path / "censo.csv",
        "codigo;% hogares con internet;Distancia a salud (m)",
        "01001;78,3;1583",
        "01002;-999;4843",
        "02001;20,3;-5",
    )
    options = dict(city="TST", period="2010", locale="es", dictionary=dictionary)
    assert_rejected(
        city,
        lambda: import_table(city, path, **options),  # type: ignore[arg-type]
        "row 3, column '% hogares con internet', value '-999'",
        "must be between 0 and 100",
        "declare it with --missing -999",
        "row 4, column 'Distancia a salud (m)', value '-5'",
        "must be at least 0",
    )
    report = import_table(city, path, missing=(-999,), accept_valid=True, **options)  # type: ignore[arg-type]
    assert report.rows_accepted == 2 and report.rows_rejected == 1
    assert stored(city, "hogares_con_internet") == {"01001": 78.3}
    assert stored(city, "distancia_a_salud_m") == {"01001": 1583.0, "01002": 4843.0}
    assert stored_unit(city, "hogares_con_internet") == "%"


def test_unit_synonyms() -> None:
    assert [canonical_unit(u) for u in ("Porcentaje", " metros ", "Años", "personas", "m²")] == [
        "%",
        "m",
        "years",
        "personas",
        "m²",
    ]


# -- item 5: codes that lost their leading zeros ------------------------------------------


def test_codes_without_leading_zeros_are_named(city: Engine, tmp_path: Path) -> None:
    every = latin1(tmp_path / "sin_ceros.csv", "codigo;unemployment_rate", "1001;5", "1002;6")
    assert_rejected(
        city,
        lambda: import_table(city, every, city="TST", period="2020"),
        "none of the 2 unit codes in column 'codigo' (e.g. 1001, 1002)",
        "The city has 01001 for 1001: the file lost the codes' leading zeros",
    )
    one = latin1(tmp_path / "uno.csv", "codigo;unemployment_rate", "01001;5", "2001;6")
    assert_rejected(
        city,
        lambda: import_table(city, one, city="TST", period="2020"),
        "row 3, column 'codigo', value '2001': unit code not found in city TST",
        "The city has 02001 for 2001",
    )
    assert lost_leading_zeros("50", ["0050", "0051"]) == "0050"
    assert lost_leading_zeros("0050", ["0050"]) is None
    assert lost_leading_zeros("Q50", ["0050"]) is None


# -- item 6: name and notes columns, text missing codes, --accept-valid ----------------------


def census_file(path: Path) -> Path:
    return latin1(
        path,
        HEADER,
        "01001;Alangasí;24251;1286;20,3;revisar",
        "01002;Amaguaña;31106;673;NS/NR;",
        "02001;Atahualpa;1901;67;35,4;",
    )


def test_text_columns_are_left_out_and_ns_nr_is_a_missing_code(
    city: Engine, tmp_path: Path
) -> None:
    path = census_file(tmp_path / "censo.csv")
    options = dict(city="TST", period="2010", locale="es")  # "Código": the unit column
    message = assert_rejected(
        city,
        lambda: import_table(city, path, **options),  # type: ignore[arg-type]
        "1 of 3 rows rejected",
        "row 3, column '% hogares con internet', value 'NS/NR'",
        "declare it with --missing 'NS/NR'",
    )
    assert "Parroquia" not in message and "Observaciones" not in message
    report = import_table(city, path, missing_text=("ns/nr",), **options)  # type: ignore[arg-type]
    assert report.rows_accepted == 3 and report.details["missing_cells"] == 1
    left_out = [w.column for w in report.warnings if "holds text" in w.reason]
    assert left_out == ["Parroquia", "Observaciones"]
    suggested = [str(w) for w in report.warnings if "looks like the catalogue's" in w.reason]
    assert any("(--column 'Población venezolana=venezuelan_population')" in n for n in suggested), (
        suggested
    )
    assert stored(city, "hogares_con_internet") == {"01001": 20.3, "02001": 35.4}
    assert stored(city, "poblacion_total") == {"01001": 24251.0, "01002": 31106.0, "02001": 1901.0}

    dictionary = tmp_path / "dic.yaml"
    dictionary.write_text(
        "hogares_con_internet: {unit: porcentaje, missing: NS/NR|-999}\n", encoding="utf-8"
    )
    again = import_table(city, path, dictionary=dictionary, dry_run=True, **options)  # type: ignore[arg-type]
    assert again.rows_accepted == 3 and again.details["missing_cells"] == 1


def test_accept_valid_with_every_row_rejected_does_not_advise_accept_valid(
    city: Engine, tmp_path: Path
) -> None:
    path = latin1(tmp_path / "todo_mal.csv", "codigo;unemployment_rate", "01001;999", "01002;999")
    message = assert_rejected(
        city,
        lambda: import_table(city, path, city="TST", period="2020", accept_valid=True),
        "all 2 rows were rejected, nothing was imported",
        "todo_mal.csv, row 2, column 'unemployment_rate', value '999'",
    )
    assert "--accept-valid" not in message


# -- items 7, 8: Spanish messages ---------------------------------------------------------


def test_dictionary_rows_and_units_are_named_once_in_spanish(city: Engine, tmp_path: Path) -> None:
    use_language("es")
    bad = tmp_path / "dic_es.csv"
    bad.write_text(
        "code,unit,direction\nHacinamiento (%),%,menor es mejor\nOtra,%,arriba\n",
        encoding="utf-8",
    )
    with pytest.raises(
        IngestError, match=r"^dic_es\.csv, fila 3, código otra: la dirección 'arriba'"
    ):
        read_dictionary(bad)
    bad.write_text("code,unit,direction\nHacinamiento (%),%,Menor es mejor\n", encoding="utf-8")
    assert read_dictionary(bad)["hacinamiento"].direction == "lower_is_better"
    dictionary = tmp_path / "dic.csv"
    dictionary.write_text("code,unit\nHacinamiento (%),%\n", encoding="utf-8")
    path = latin1(tmp_path / "h.csv", "codigo;Hacinamiento (%)", "01001;10,4", "01002;999")
    message = assert_rejected(
        city,
        lambda: import_table(
            city, path, city="TST", period="2010", locale="es", dictionary=dictionary
        ),
        "h.csv, fila 3, columna 'Hacinamiento (%)', valor '999'",
        "hacinamiento debe estar entre 0 y 100",
        "declárelo con --missing 999",
    )
    assert "(%) (%)" not in message


def test_cli_in_spanish_with_text_missing_code_and_thousands(
    city: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = census_file(tmp_path / "censo.csv")
    args = ["--database", str(city.url), "--lang", "es", "import", "table", str(path)]
    args += ["--city", "TST", "--period", "2010", "--unit-column", "Código"]
    args += ["--column", "Población total=population", "--column", "% hogares con internet=h"]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--missing", "NS/NR"])
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "censo.csv, fila 2, columna 'Población total', valor '24251'" not in err
    assert "no es un número" in err and "parece una coma decimal" in err  # 20,3 without --locale
    main([*args, "--missing", "NS/NR", "--locale", "es"])
    out = capsys.readouterr().out
    assert "1 celdas tenían un código de valor faltante" in out
    assert stored(city, "h") == {"01001": 20.3, "02001": 35.4}
    assert stored(city, "population") == {"01001": 24251.0, "01002": 31106.0, "02001": 1901.0}
