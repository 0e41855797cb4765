"""A withheld improved-knowledge share stays withheld across periods (trial #3 F5).

The trial read Villa del Rosario's page: public servants trained 21 (2025-S1) and 10 (2025-S2);
improved knowledge 90 % (2025-S1) and "reservado" (2025-S2: 9 assessed); and the all-periods
line "93 %, 29 personas evaluadas". 29 x 93 % gives 27 improved; S1 assessed is at most 21 and
S2's at most 10, so S1 is 19-21 and 90 % of it a whole number: 20 (18 improved), and S2 is
9 assessed, 9 improved, the withheld cell. The HXL export printed shares with 4 decimals
(95.5556 = 43/45), which names the fraction.

Here the same shape is built in code and the attacker reads everything the programme publishes
(the results of every period, the HXL export meant for HDX, the city and programme pages'
all-periods knowledge lines) and enumerates every whole number of assessed and improved people
(at most the trained count) consistent with what is printed, as the trial did.
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from inclusive_cities import monitoring
from inclusive_cities.monitoring.exports import export
from inclusive_cities.monitoring.trainings import import_trainings
from inclusive_cities.reports import programme_report as pr
from inclusive_cities.store import init_database, transaction

PROGRAMME = "inclusive_cities"
SERVANTS = "public_servants_trained"
SHARE = "improved_knowledge_share"
PERIODS = ("2025-S1", "2025-S2")
CITIES = {"VDR": ("Villa del Rosario", "COL"), "CUC": ("Cúcuta", "COL")}
CITIES |= {"LIM": ("Lima", "PER"), "CAL": ("Callao", "PER")}
PEOPLE = {
    "VDR": ((21, 20, 18), (10, 9, 9)),
    "CUC": ((16, 15, 12), (14, 12, 10)),
    "LIM": ((20, 18, 15), (13, 11, 9)),
    "CAL": ((12, 11, 10), (15, 14, 11)),
}
"""(trained, assessed, improved) in the 2025-S1 and 2025-S2 sessions of each city."""


def _files(folder: Path) -> tuple[Path, Path]:
    sessions = ["código,ciudad,tema,público,fecha,horas"]
    people = ["capacitación,participante,sexo,nacionalidad,puntaje_pre,puntaje_post"]
    for city, halves in PEOPLE.items():
        for half, (day, (trained, assessed, improved)) in enumerate(
            zip(("2025-03-10", "2025-09-15"), halves, strict=True)
        ):
            code = f"{city}{half}"
            sessions.append(f"{code},{city},protección,servidores públicos,{day},4")
            for i in range(trained):
                # sentinel 999: not assessed; post > pre: improved
                pre, post = (40, 75) if i < improved else (60, 55) if i < assessed else (999, 999)
                people.append(f"{code},{city}-{half}-{i:02d},mujer,migrante,{pre},{post}")
    (folder / "sesiones.csv").write_text("\n".join(sessions) + "\n", encoding="utf-8")
    (folder / "personas.csv").write_text("\n".join(people) + "\n", encoding="utf-8")
    return folder / "sesiones.csv", folder / "personas.csv"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("knowledge-leak")
    engine = init_database(f"sqlite:///{folder / 'p.db'}")
    with transaction(engine) as session:
        programme = monitoring.install_framework(session, monitoring.load_framework())
        for code, (name, country) in CITIES.items():
            monitoring.add_target_city(session, programme, code, name, country)
            for period in PERIODS:  # targets make the periods reporting periods
                monitoring.set_value(session, PROGRAMME, SERVANTS, code, period, "target", 15)
                monitoring.set_value(session, PROGRAMME, SHARE, code, period, "target", 85)
    import_trainings(engine, *_files(folder))
    return engine


Printed = tuple[float, int]
"""A printed share: its value and how many decimals it was printed with."""


def _printed(text: str) -> Printed:
    number = text.strip().replace("%", "").strip().replace(".", "").replace(",", ".")
    decimals = len(number.split(".")[1]) if "." in number else 0
    return float(number), decimals


@pytest.fixture(scope="module")
def published(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Everything the attacker reads: trained counts and shares per city and period, the HXL
    export's shares (as printed), and each city's and the programme's all-periods line."""
    trained: dict[tuple[str, str], float | None] = {}
    shares: dict[tuple[str, str], Printed | None] = {}
    for period in monitoring.results(engine, PROGRAMME).periods:  # every period published
        report = monitoring.results(engine, PROGRAMME, period)
        for row in report.city_rows:
            if row.indicator == SERVANTS:
                trained[(row.city, period)] = row.actual
    out = tmp_path_factory.mktemp("hxl") / "results.csv"
    export(engine, "hxl", out, programme=PROGRAMME, lang="es")
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[1:]  # the second row holds the HXL hashtags
    for row in rows:
        if row["indicator"] == SHARE and not row["disaggregation"]:
            place = row["city"] or row["country"] or "_T"
            value = row["actual"]
            printed = _printed(value.replace(".", ",")) if value else None
            shares[(place, row["period"])] = printed
    lines: dict[str, tuple[Printed, int] | None] = {}
    for city in CITIES:
        view = pr.city_view(engine, city, "es")
        lines[city] = None
        for line in view.deliveries:
            if line["code"] == "improved_knowledge" and not line["suppressed"]:
                n = re.search(r"([\d.]+) personas evaluadas", line["note"])
                assert n is not None, line["note"]
                lines[city] = (_printed(line["value"]), int(n.group(1).replace(".", "")))
    whole = pr.programme_view(engine, "es").knowledge
    if whole is not None:
        lines["_T"] = (_printed(whole.share_text), whole.n)
    return {"trained": trained, "shares": shares, "lines": lines, "hxl": rows}


def _fits(improved: int, assessed: int, printed: Printed | None) -> bool:
    if printed is None:
        return True
    if assessed == 0:
        return False
    value, decimals = printed
    return abs(100 * improved / assessed - value) <= 0.5 * 10**-decimals + 1e-9


def _city_attack(published: dict[str, object], city: str) -> set[tuple[int, int, int, int]]:
    """Every (assessed S1, improved S1, assessed S2, improved S2) the city's printed figures
    allow (the semesters', the year's and the all-periods line), with assessed at most the
    trained count (the attacker's bound; 60 where withheld)."""
    trained = published["trained"]
    shares = published["shares"]
    line = published["lines"].get(city)  # type: ignore[attr-defined]
    each = []
    for period in PERIODS:
        bound = int(trained.get((city, period)) or 60)  # type: ignore[attr-defined]
        printed = shares.get((city, period))  # type: ignore[attr-defined]
        each.append(
            [(a, i) for a in range(bound + 1) for i in range(a + 1) if _fits(i, a, printed)]
        )
    year = shares.get((city, "2025"))  # type: ignore[attr-defined]
    year_trained = trained.get((city, "2025"))  # type: ignore[attr-defined]
    return {
        (a1, i1, a2, i2)
        for (a1, i1), (a2, i2) in itertools.product(*each)
        if (line is None or (a1 + a2 == line[1] and _fits(i1 + i2, a1 + a2, line[0])))
        and _fits(i1 + i2, a1 + a2, year)  # the year's share: its two semesters'
        and (year_trained is None or a1 + a2 <= year_trained)
    }


def test_the_withheld_share_does_not_come_back_from_the_all_periods_line(
    published: dict[str, object],
) -> None:
    shares = published["shares"]
    # the share over 9 assessed people is withheld where it is printed ...
    assert shares[("VDR", "2025-S2")] is None  # type: ignore[index]
    # ... and nothing printed narrows VDR's 2025-S2 down beyond its trained count (published,
    # 10): every number of assessed people from 0 to 10 stays possible, with any share
    found = _city_attack(published, "VDR")
    assert (20, 18, 9, 9) in found  # the truth is among them
    assessed = {a2 for _a1, _i1, a2, _i2 in found}
    bound = int(published["trained"].get(("VDR", "2025-S2")) or 60)  # type: ignore[attr-defined]
    assert assessed == set(range(bound + 1)), sorted(assessed)
    improved = {i2 for _a1, _i1, a2, i2 in found if a2 == 9}
    assert improved == set(range(10)), sorted(improved)


def test_the_margins_do_not_give_the_city_line_back(published: dict[str, object]) -> None:
    """The same attack through the margins: the programme's all-periods line less the other
    cities' (110 - 27 - 25 - 29 = 29 assessed, 94 - 22 - 21 - 24 = 27 improved) would be VDR's
    line again, so with VDR's the only line withheld the programme's goes too; and Colombia's
    and the programme's pooled 2025-S2 shares, over VDR's 9 and people whose own shares are
    printed, are withheld (the country's less the shown cities' would name VDR's 9)."""
    lines = published["lines"]
    shares = published["shares"]
    assert lines["VDR"] is None  # type: ignore[index]
    assert all(lines[c] is not None for c in ("CUC", "LIM", "CAL"))  # type: ignore[index]
    assert "_T" not in lines  # type: ignore[operator]
    assert shares[("COL", "2025-S2")] is None  # type: ignore[index]
    assert shares[("_T", "2025-S2")] is None  # type: ignore[index]
    # the first semester, where nobody is under 10, is printed at every level
    assert all(shares[(p, "2025-S1")] is not None for p in ("VDR", "COL", "PER", "_T"))  # type: ignore[index]


def test_no_printed_share_names_its_fraction(engine: Engine, published: dict[str, object]) -> None:
    """Shares leave the exports in whole per cent, as the pages print them, and so does their
    progress against the target (the XLSX's column): 85 x progress is the whole per cent."""
    printed = [v for v in published["shares"].values() if v is not None]  # type: ignore[attr-defined]
    assert len(printed) >= 6, printed
    assert all(decimals == 0 for _value, decimals in printed)
    frame = monitoring.results_frame(monitoring.results(engine, PROGRAMME, "2025-S1"))
    shown = frame[(frame["indicator"] == SHARE) & frame["actual"].notna()]
    assert len(shown) >= 3
    for actual, progress in zip(shown["actual"], shown["progress"], strict=True):
        assert actual == round(actual)
        assert 85 * progress == pytest.approx(actual)


def _made(place: str, period: str) -> tuple[int, int, int]:
    """The hand-made (trained, assessed, improved) of a semester, or of the year (their sums:
    the framework counts people trained per period, so the year is a period of its own)."""
    inside = [i for i, p in enumerate(PERIODS) if p.startswith(period)]
    assert inside, period
    rows = [PEOPLE[place][i] for i in inside]
    return (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows))


def test_what_is_published_is_the_truth(published: dict[str, object]) -> None:
    """Withholding never changes a printed figure: each one is the hand-made count or share."""
    periods = {period for _city, period in published["trained"]}  # type: ignore[attr-defined]
    assert periods == {*PERIODS, "2025"}  # the year: the sum of its semesters
    for (city, period), value in published["trained"].items():  # type: ignore[attr-defined]
        if value is not None:
            assert value == _made(city, period)[0]
    for (place, period), printed in published["shares"].items():  # type: ignore[attr-defined]
        if printed is not None and place in PEOPLE:
            _t, assessed, improved = _made(place, period)
            assert printed[0] == round(100 * improved / assessed)
    for city, line in published["lines"].items():  # type: ignore[attr-defined]
        if line is not None and city in PEOPLE:
            assessed = sum(p[1] for p in PEOPLE[city])
            improved = sum(p[2] for p in PEOPLE[city])
            assert line == ((round(100 * improved / assessed), 0), assessed)
