"""Leaks the medium demo's trial found, each on a city of a few cells with values set by hand.

* an entropy of nationality shares, published with n = the population, inverts to the hidden
  Venezuelan and other-foreign counts (H5 finding 11);
* a rate whose nationality row was suppressed upstream (value NULL, n kept) comes back as
  n(_T) - n(host) (finding 12); a survey estimate's F row (value and n NULL) as
  n(_T) - n(M) (finding 17);
* a Spanish-named count of Venezuelans was not recognised as sensitive (finding 1).

Every expected figure is worked out here from the table, not read from the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

from sqlalchemy import select

from inclusive_cities.disclosure import audit
from inclusive_cities.disclosure.attacks import differencing
from inclusive_cities.disclosure.derived import (
    ENTROPY_INVERSION,
    UPSTREAM_DIFFERENCE,
    entropy_inversion,
)
from inclusive_cities.disclosure.model import Cell, Key, build_relations
from inclusive_cities.disclosure.publication import compute
from inclusive_cities.disclosure.rules import TOTAL, Rules
from inclusive_cities.disclosure.secondary import published_view
from inclusive_cities.disclosure.served import every_published_observation, published_observations
from inclusive_cities.ingest.tables import import_table
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web.data import CACHE

from .conftest import build

RULES = Rules()
HOST, VENEZUELAN, OTHER = 40, 3, 2
POPULATION = HOST + VENEZUELAN + OTHER  # 45


def key(code: str, nationality: str = TOTAL, sex: str = TOTAL, unit: int = 1) -> Key:
    return (code, unit, "2024", sex, TOTAL, nationality)


def entropy_by_hand(counts: list[int]) -> float:
    """-sum p ln p / ln k over the k nationality groups."""
    total = sum(counts)
    return -sum(c / total * math.log(c / total) for c in counts if c) / math.log(len(counts))


def entropy_block() -> dict[Key, Cell]:
    """One block: 40 hosts, 3 Venezuelans, 2 other foreigners, and the entropy over them."""
    cells = {
        key("population"): Cell(key("population"), POPULATION, POPULATION, "personas"),
        key("venezuelan_population"): Cell(
            key("venezuelan_population"), VENEZUELAN, VENEZUELAN, "personas"
        ),
        key("entropy_nationality"): Cell(
            key("entropy_nationality"),
            round(entropy_by_hand([HOST, VENEZUELAN, OTHER]), 4),
            POPULATION,
            "0-1",
        ),
    }
    for nationality, count in (
        ("host", HOST),
        ("venezuelan", VENEZUELAN),
        ("other_foreign", OTHER),
    ):
        cells[key("population", nationality)] = Cell(
            key("population", nationality), count, count, "personas"
        )
    return cells


def test_entropy_of_hidden_counts_gives_them_back_and_is_hidden_with_them() -> None:
    truth = entropy_block()
    hidden_counts = {
        key("population", "venezuelan"),
        key("population", "other_foreign"),
        key("venezuelan_population"),
    }
    # the attacker: 45 - 40 = 5 non-hosts split so that the entropy is 0.3856 (4 d.p.;
    # (0.1047 + 0.1805 + 0.1384) / ln 3 with p = 40/45, 3/45, 2/45):
    # by hand H(40, 3, 2) = H(40, 2, 3), and no other split of 5 gives it
    splits = {a for a in range(6) if abs(entropy_by_hand([HOST, a, 5 - a]) - 0.3856) < 5e-5}
    assert round(entropy_by_hand([HOST, VENEZUELAN, OTHER]), 4) == 0.3856
    assert splits == {2, 3}
    found = entropy_inversion(truth, published_view(truth, hidden_counts), RULES)
    by_cell = {f.key: (f.attack, f.low, f.high) for f in found}
    assert by_cell[key("population", "venezuelan")] == (ENTROPY_INVERSION, 2.0, 3.0)
    assert by_cell[key("population", "other_foreign")] == (ENTROPY_INVERSION, 2.0, 3.0)

    protection = compute(truth, {1: None}, {1: "B1"}, RULES)
    assert hidden_counts <= protection.hidden
    assert key("entropy_nationality") in protection.hidden
    assert protection.scores[("entropy_nationality", "2024")][1].tolist() == [1]  # score masked
    assert entropy_inversion(truth, published_view(truth, protection.hidden), RULES) == []


def test_entropy_is_published_when_its_counts_are() -> None:
    truth = entropy_block()
    for nationality, count in (("venezuelan", 30), ("other_foreign", 20)):
        truth[key("population", nationality)] = Cell(
            key("population", nationality), count, count, "personas"
        )
    truth[key("population")] = Cell(key("population"), 90, 90, "personas")
    truth[key("venezuelan_population")] = Cell(key("venezuelan_population"), 30, 30, "personas")
    assert key("entropy_nationality") not in compute(truth, {1: None}, {}, RULES).hidden


def rate_cells(code: str, dimension: str, part: str, rest: str, rest_n: int | None) -> dict:
    """A rate over 19 people, 14 with the outcome; ``part``: 10 people, 8 with it; the other
    9 (``rest``) suppressed upstream: value NULL, n ``rest_n``."""

    def k(group: str) -> Key:
        return key(code, **{dimension: group})

    return {
        k(TOTAL): Cell(k(TOTAL), 100.0 * 14 / 19, 19, "%"),
        k(part): Cell(k(part), 100.0 * 8 / 10, 10, "%"),
        k(rest): Cell(k(rest), None, rest_n, "%", survey=True),
    }


def test_a_rate_suppressed_upstream_is_a_hidden_member_of_its_relation() -> None:
    truth = rate_cells("employment_rate", "nationality", "host", "venezuelan", 9)
    relations = build_relations(truth, {1: None}, RULES)
    assert [(r.total, set(r.parts)) for r in relations] == [
        (
            key("employment_rate"),
            {key("employment_rate", "host"), key("employment_rate", "venezuelan")},
        )
    ]
    # published _T (n 19) and host (n 10): the Venezuelans' n is 19 - 10 = 9
    found = differencing(truth, published_view(truth, set()), relations, RULES)
    assert [(f.key, f.attack, f.low, f.truth) for f in found] == [
        (key("employment_rate", "venezuelan"), UPSTREAM_DIFFERENCE, 9.0, 9.0)
    ]
    hidden = compute(truth, {1: None}, {1: "B1"}, RULES).hidden
    assert hidden & {key("employment_rate"), key("employment_rate", "host")}
    assert differencing(truth, published_view(truth, hidden), relations, RULES) == []


def test_a_survey_sex_row_suppressed_upstream_is_not_given_back_by_its_margins() -> None:
    truth = rate_cells("mig_employment_rate", "sex", "M", "F", None)
    for cell in truth.values():
        cell.survey = True
    relations = build_relations(truth, {1: None}, RULES)
    found = differencing(truth, published_view(truth, set()), relations, RULES)
    assert [(f.key, f.low) for f in found] == [(key("mig_employment_rate", sex="F"), 9.0)]
    hidden = compute(truth, {1: None}, {1: "B1"}, RULES).hidden
    assert hidden & {key("mig_employment_rate"), key("mig_employment_rate", sex="M")}


def test_spanish_names_of_refugee_and_migrant_counts_are_sensitive() -> None:
    for name in (
        "Población venezolana",
        "poblacion_extranjera",
        "Personas desplazadas",
        "Solicitantes de asilo",
        "Población inmigrante",
        "Población migrante",
        "Refugiados",
    ):
        assert RULES.is_sensitive(name, TOTAL, False), name
    for name in ("Población total", "Hogares", "Población por sexo"):
        assert not RULES.is_sensitive(name, TOTAL, False), name


def test_an_imported_spanish_column_of_venezuelans_is_withheld_below_the_threshold(
    tmp_path: Path,
) -> None:
    """``Población venezolana`` imported from a census-like table (``;``, decimal comma, 999 for
    no data), published as a layer: B1's 7 Venezuelans are not served, and the audit finds
    nothing to give them back."""
    small = build(f"sqlite:///{tmp_path / 'dsc.db'}")
    path = tmp_path / "censo.csv"
    path.write_text(
        "Código;Población venezolana;Hacinamiento\nB1;7;12,5\nB2;12;999\nB3;15;3,25\n",
        encoding="latin-1",
    )
    dictionary = tmp_path / "diccionario.csv"
    dictionary.write_text(
        "code,name_es,unit,direction\nPoblación venezolana,Población venezolana,personas,\n",
        encoding="utf-8",
    )
    engine = connect(small.url)
    import_table(
        engine,
        path,
        city="DSC",
        period="2024",
        unit_column="Código",
        decimal=",",
        missing=[999],
        dictionary=dictionary,
    )
    with transaction(engine) as s:
        city_id = s.scalar(select(models.City.id).where(models.City.code == "DSC"))
        code, name = s.execute(
            select(models.Indicator.id, models.Indicator.code).where(
                models.Indicator.name_es == "Población venezolana"
            )
        ).one()  # the column's code: poblaci_n_venezolana
        period = s.scalar(select(models.Period.id).where(models.Period.code == "2024"))
        s.add(PublishedLayer(city_id=city_id, period_id=period, indicator_id=code))
    CACHE.clear()
    with transaction(engine) as s:
        report = audit(s, "DSC")
        served = {
            (o.unit_id, o.value)
            for o in s.scalars(
                select(models.Observation).where(models.Observation.indicator_id == code)
            )
        }
        public = {
            (unit, o.value)
            for o, indicator, unit, _p, _m in published_observations(s, city_id, limit=1000)
            if indicator == name
        }
    assert (small.units["B1"], 7.0) in served
    assert ("B1", 7.0) not in public
    assert report.findings == []


def test_the_audit_reads_every_page_of_published_rows(tmp_path: Path) -> None:
    """Pages of 2 stored rows: where control withholds one, the page comes back with 1 row,
    and a reader stopping at the first short page would miss the rest (the audit on the
    medium demo saw 123,721 of the figures the API serves)."""
    small = build(f"sqlite:///{tmp_path / 'dsc.db'}")
    with transaction(connect(small.url)) as s:
        city_id = s.scalar(select(models.City.id).where(models.City.code == "DSC"))
        assert city_id is not None
        everything = [r[0].id for r in published_observations(s, city_id, limit=1000)]
        paged = [r[0].id for r in every_published_observation(s, city_id, page=2)]
        first_short = []
        offset = 0
        while True:
            rows = published_observations(s, city_id, limit=2, offset=offset)
            first_short += [r[0].id for r in rows]
            if len(rows) < 2:
                break
            offset += 2
    assert paged == everything
    assert first_short == everything  # pages are full but the last: no short page midway
