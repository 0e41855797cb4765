"""Selecting projects: the integer program against brute force, each constraint, the greedy and
its gap, the budget curve, benefits by hand, robustness over the marker's replicates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.planning import (
    Constraints,
    InfeasibleError,
    PlanningError,
    budget_curve,
    greedy,
    load_constraints,
    prioritise_places,
    project_benefits,
    robust_selection,
    select_projects,
)
from tests.planning.city import PEOPLE, VALUES, TinyCity, build_city


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Candidate projects with their benefits given (as project_benefits returns them)."""
    out = pd.DataFrame(rows)
    defaults: dict[str, object] = {
        "name": "",
        "type": "services",
        "locality": "",
        "funder": "",
        "effect": 0.1,
        "depends_on": None,
        "excludes": None,
    }
    for column, value in defaults.items():
        if column not in out:
            out[column] = [value if not isinstance(value, list) else list(value)] * len(out)
    for column in ("depends_on", "excludes"):
        out[column] = [list(v) if isinstance(v, list) else [] for v in out[column]]
    if "benefit_migrant" not in out:
        out["benefit_migrant"] = out["benefit"] * 0.2
    out["benefit_host"] = out["benefit"] - out["benefit_migrant"]
    out["benefit_per_million"] = out["benefit"] / out["cost"] * 1e6
    return out


def feasible_masks(masks: np.ndarray, table: pd.DataFrame, c: Constraints) -> np.ndarray:
    """Which 0/1 rows of ``masks`` (subsets x projects) meet every constraint, each checked
    directly from its definition (the brute force's own rules, not the program's rows)."""
    m = masks.astype(float)
    cost = table["cost"].to_numpy(dtype=float)
    benefit = table["benefit"].to_numpy(dtype=float)
    ok = m @ cost <= c.budget + 1e-9
    localities = table["locality"].to_numpy()
    for locality in sorted(set(localities)):
        inside = (localities == locality).astype(float)
        minimum = c.min_per_locality.get(locality, c.min_per_locality.get("*", 0.0))
        ok &= m @ (cost * inside) >= minimum - 1e-9
        ok &= m @ inside >= c.min_projects_per_locality.get(locality, 0)
    total = m @ benefit
    ok &= m @ table["benefit_migrant"].to_numpy(dtype=float) >= c.min_migrant_share * total - 1e-9
    ok &= m @ table["benefit_host"].to_numpy(dtype=float) >= c.min_host_share * total - 1e-9
    codes = list(table["code"])
    for i, (needs, excludes) in enumerate(zip(table["depends_on"], table["excludes"], strict=True)):
        for other in needs if c.dependencies else []:
            ok &= ~masks[:, i] | masks[:, codes.index(other)]
        for other in excludes if c.exclusions else []:
            ok &= ~(masks[:, i] & masks[:, codes.index(other)])
    types = table["type"].to_numpy()
    for kind, cap in c.max_per_type.items():
        ok &= m @ (types == kind).astype(float) <= cap
    return ok


def feasible(chosen: tuple[int, ...], table: pd.DataFrame, c: Constraints) -> bool:
    mask = np.zeros((1, len(table)), dtype=bool)
    mask[0, list(chosen)] = True
    return bool(feasible_masks(mask, table, c)[0])


def brute_force(table: pd.DataFrame, c: Constraints) -> float | None:
    """The best total benefit over all 2^n subsets, None if no subset is feasible."""
    n = len(table)
    masks = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
    ok = feasible_masks(masks, table, c)
    if not ok.any():
        return None
    return float((masks[ok].astype(float) @ table["benefit"].to_numpy(dtype=float)).max())


def random_case(seed: int, n: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    benefit = rng.uniform(1, 100, n).round(2)
    return frame(
        [
            {
                "code": f"P{i}",
                "cost": float(rng.integers(10, 100) * 1000),
                "benefit": benefit[i],
                "benefit_migrant": round(benefit[i] * rng.uniform(0, 0.6), 2),
                "locality": ["Norte", "Sur", "Centro"][i % 3],
                "type": ["housing", "services", "public_space"][int(rng.integers(3))],
                "depends_on": [f"P{i - 1}"] if i in (3, 7) else [],
                "excludes": [f"P{i + 1}"] if i in (1, 5) else [],
            }
            for i in range(n)
        ]
    )


def test_hand_checkable_case_exact_greedy_and_gap() -> None:
    # Budget 10. Greedy by benefit/cost takes A (10/6 = 1.67), then B and C (7/5 = 1.4) no
    # longer fit, then D (0.5/1): 10.5. The best is B + C: 14. Gap (14 - 10.5) / 14 = 25 %.
    table = frame(
        [
            {"code": "A", "cost": 6.0, "benefit": 10.0},
            {"code": "B", "cost": 5.0, "benefit": 7.0},
            {"code": "C", "cost": 5.0, "benefit": 7.0},
            {"code": "D", "cost": 1.0, "benefit": 0.5},
        ]
    )
    result = select_projects(table, Constraints(budget=10))
    assert sorted(result.chosen) == ["B", "C"]
    assert (result.benefit, result.cost) == (14.0, 10.0)
    assert sorted(result.greedy) == ["A", "D"] and result.greedy_benefit == 10.5
    assert result.gap == pytest.approx(0.25)
    assert result.greedy_violations == []


@pytest.mark.parametrize(
    "constraints",
    [
        Constraints(budget=200_000, dependencies=False, exclusions=False),
        Constraints(budget=200_000, min_per_locality={"Sur": 120_000}),
        Constraints(budget=250_000, min_per_locality={"*": 50_000}),
        Constraints(budget=250_000, min_projects_per_locality={"Centro": 2}),
        Constraints(budget=250_000, min_migrant_share=0.35),
        Constraints(budget=250_000, min_host_share=0.8),
        Constraints(budget=300_000),  # dependencies and exclusions only
        Constraints(budget=300_000, max_per_type={"housing": 1, "services": 1}),
        Constraints(
            budget=300_000,
            min_per_locality={"Norte": 60_000},
            min_migrant_share=0.25,
            max_per_type={"public_space": 2},
        ),
    ],
    ids=[
        "budget",
        "locality_minimum",
        "every_locality",
        "projects_per_locality",
        "migrant_share",
        "host_share",
        "dependencies_exclusions",
        "type_caps",
        "combined",
    ],
)
def test_integer_program_equals_brute_force(constraints: Constraints) -> None:
    for seed in range(4):
        table = random_case(seed)
        best = brute_force(table, constraints)
        # choosing nothing (benefit 0) while projects fit the budget is no plan: infeasible
        if best is None or best <= 0:
            with pytest.raises(InfeasibleError):
                select_projects(table, constraints)
            continue
        result = select_projects(table, constraints)
        assert result.benefit == pytest.approx(best, abs=1e-6), seed
        chosen = tuple(int(i) for i in np.flatnonzero(table["code"].isin(result.chosen)))
        assert feasible(chosen, table, constraints), seed
        # the greedy never beats the exact program when it keeps the constraints
        if not result.greedy_violations:
            assert result.greedy_benefit <= result.benefit + 1e-9
            picked = tuple(int(i) for i in np.flatnonzero(table["code"].isin(result.greedy)))
            assert feasible(picked, table, constraints)


def test_each_constraint_binds() -> None:
    table = frame(
        [
            {
                "code": "H1",
                "cost": 5.0,
                "benefit": 9.0,
                "type": "housing",
                "locality": "Norte",
                "benefit_migrant": 0.0,
            },
            {
                "code": "H2",
                "cost": 5.0,
                "benefit": 8.0,
                "type": "housing",
                "locality": "Norte",
                "benefit_migrant": 0.0,
            },
            {
                "code": "S1",
                "cost": 5.0,
                "benefit": 3.0,
                "type": "services",
                "locality": "Sur",
                "benefit_migrant": 3.0,
            },
            {
                "code": "S2",
                "cost": 5.0,
                "benefit": 2.0,
                "type": "services",
                "locality": "Sur",
                "benefit_migrant": 1.0,
                "depends_on": ["S1"],
            },
            {
                "code": "X",
                "cost": 5.0,
                "benefit": 8.5,
                "type": "centre",
                "locality": "Norte",
                "benefit_migrant": 0.0,
                "excludes": ["H1"],
            },
        ]
    )
    base = {"budget": 10.0}
    # X excludes H1: best is H1 + X only when exclusions are ignored
    assert sorted(select_projects(table, Constraints(**base, exclusions=False)).chosen) == [
        "H1",
        "X",
    ]
    assert sorted(select_projects(table, Constraints(**base)).chosen) == ["H1", "H2"]
    assert sorted(
        select_projects(table, Constraints(**base, max_per_type={"housing": 1})).chosen
    ) == ["H2", "X"]
    assert sorted(
        select_projects(table, Constraints(**base, min_per_locality={"Sur": 5})).chosen
    ) == ["H1", "S1"]
    # 30 % to refugees and migrants: H1 + S1 gives 3 / 12 = 25 %, H2 + S1 3 / 11 = 27 %,
    # X + S1 3 / 11.5 = 26 %; only S1 + S2 (4 / 5 = 80 %) reaches it
    shares = select_projects(table, Constraints(**base, min_migrant_share=0.3))
    assert sorted(shares.chosen) == ["S1", "S2"]
    # one project in Sur with room for one: S2 cannot go without S1, so S1
    assert sorted(
        select_projects(table, Constraints(budget=5, min_projects_per_locality={"Sur": 1})).chosen
    ) == ["S1"]
    host = select_projects(table, Constraints(**base, min_host_share=1.0))
    assert sorted(host.chosen) == ["H1", "H2"]


def test_infeasible_constraints_are_named() -> None:
    table = random_case(1)
    cheapest_sur = table.loc[table["locality"] == "Sur", "cost"].min()
    with pytest.raises(InfeasibleError) as caught:
        select_projects(table, Constraints(budget=cheapest_sur - 1000, min_per_locality={"Sur": 1}))
    assert caught.value.constraint == "locality:Sur"
    assert "locality Sur" in str(caught.value) and "raise the budget" in str(caught.value)
    with pytest.raises(InfeasibleError) as caught:
        select_projects(
            table,
            Constraints(
                budget=1e9, max_per_type={"housing": 0}, min_projects_per_locality={"*": 3}
            ),
        )
    assert "at most 0 projects of type housing" in str(caught.value)
    everything = table.loc[table["locality"] == "Sur", "cost"].sum()
    with pytest.raises(InfeasibleError, match="Even funding every candidate project would not"):
        select_projects(table, Constraints(budget=1e9, min_per_locality={"Sur": everything + 1}))
    with pytest.raises(PlanningError, match="add up to more than 1"):
        Constraints(budget=1, min_migrant_share=0.6, min_host_share=0.6)


def test_budget_curve_grows_and_ends_with_everything_affordable() -> None:
    table = random_case(2).assign(depends_on=[[]] * 9, excludes=[[]] * 9)
    curve = budget_curve(table, Constraints(budget=100_000), [0, 50_000, 100_000, 1e9])
    assert curve["benefit"].is_monotonic_increasing
    assert curve["benefit"].iloc[0] == 0.0
    assert curve["benefit"].iloc[-1] == pytest.approx(table["benefit"].sum())
    assert (curve["greedy_benefit"] <= curve["benefit"] + 1e-9).all()
    assert curve["projects"].iloc[-1] == 9
    assert curve["feasible"].all()
    tight = budget_curve(table, Constraints(budget=1, min_projects_per_locality={"Sur": 2}), [1])
    assert not tight["feasible"].iloc[0] and np.isnan(tight["benefit"].iloc[0])


def test_constraints_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.yaml"
    path.write_text(
        "budget: 1000\nmin_per_locality: {'*': 10, Sur: 20}\nmin_migrant_share: 25%\n"
        "max_per_type: {housing: 2}\n",
        encoding="utf-8",
    )
    loaded = load_constraints(path, budget=2_500_000)
    assert loaded.budget == 2_500_000 and loaded.min_migrant_share == 0.25
    assert loaded.min_per_locality == {"*": 10.0, "Sur": 20.0}
    assert loaded.max_per_type == {"housing": 2}
    path.write_text("budget: 1000\nmin_share_hosts: 0.2\n", encoding="utf-8")
    with pytest.raises(PlanningError, match=r"c\.yaml: unknown constraint 'min_share_hosts'"):
        load_constraints(path)
    path.write_text("budget: 1000\nmin_host_share: lots\n", encoding="utf-8")
    with pytest.raises(PlanningError, match="'min_host_share': 'lots' is not a share"):
        load_constraints(path)


@pytest.fixture(scope="module")
def city() -> TinyCity:
    return build_city("sqlite://", replicates=8)


def _projects() -> pd.DataFrame:
    """Three stored-shape projects on the tiny city (beneficiary units given)."""
    return pd.DataFrame(
        {
            "code": ["P1", "P2", "P3"],
            "name": ["Parque", "Centro", "Vivienda"],
            "type": ["public_space", "centre", "housing"],
            "cost": [100.0, 200.0, 150.0],
            "locality": ["Norte", "Sur", "Sur"],
            "funder": ["Alcaldía", "ACNUR", "BID"],
            "targets": [[], ["BB"], ["a1", "AA1"]],
            "effect": [0.1, 0.2, 0.5],
            "depends_on": [[], [], ["P2"]],
            "excludes": [[], [], []],
            "beneficiary_units": [{"0101": 1.0, "0102": 1.0}, {"0203": 1.0}, {"0201": 1.0}],
            "level": ["barrio"] * 3,
        }
    )


def test_benefits_by_hand(city: TinyCity) -> None:
    places = prioritise_places(city.engine, "TINY", city.run_id, weight_draws=5)
    benefits = project_benefits(_projects(), places).set_index("code")

    def people(code: str) -> tuple[int, int]:
        host, venezuelan, other = PEOPLE[code]
        return host, venezuelan + other

    # P1 targets nothing: need = 1 - index/100; 0101 index 35, 0102 index 75
    host = 0.1 * (people("0101")[0] * 0.65 + people("0102")[0] * 0.25)
    migrant = 0.1 * (people("0101")[1] * 0.65 + people("0102")[1] * 0.25)
    assert benefits.loc["P1", "benefit_host"] == pytest.approx(host)
    assert benefits.loc["P1", "benefit_migrant"] == pytest.approx(migrant)
    # P2 targets health (BB) in 0203: health 30 -> need 0.7
    assert benefits.loc["P2", "benefit"] == pytest.approx(0.2 * 1000 * 0.7)
    # P3 targets indicator a1 (10) and dimension AA1 (15) in 0201: need 1 - 12.5/100
    a1, a2 = VALUES["0201"][:2]
    need = 1 - (a1 + (a1 + a2) / 2) / 2 / 100
    assert benefits.loc["P3", "benefit"] == pytest.approx(0.5 * 1220 * need)
    assert benefits.loc["P3", "beneficiaries_migrant"] == 520
    assert benefits.loc["P3", "need"] == pytest.approx(need)
    bad = _projects()
    bad.at[0, "targets"] = ["VIV"]
    with pytest.raises(PlanningError, match="Project P1 targets 'VIV'"):
        project_benefits(bad, places)
    other_level = _projects().assign(level="localidad")
    with pytest.raises(PlanningError, match="import them again with --level barrio"):
        project_benefits(other_level, places)


def test_robust_selection_counts_choices_over_replicates(city: TinyCity) -> None:
    places = prioritise_places(city.engine, "TINY", city.run_id, weight_draws=5)
    benefits = project_benefits(_projects(), places)
    robust = robust_selection(benefits, places, Constraints(budget=200), replicates=4)
    assert robust.attrs["replicates"] == 8 and robust.attrs["feasible"] == 8
    shares = robust.set_index("code")["share_chosen"]
    assert ((shares >= 0) & (shares <= 1)).all()
    # with 200: P2 (benefit ~140) alone, or P1 (~115) — P3 needs P2 and 350 in all
    assert shares["P3"] == 0.0
    assert shares["P1"] + shares["P2"] == pytest.approx(1.0)
    nominal = select_projects(benefits, Constraints(budget=200))
    assert shares[nominal.chosen[0]] > 0


def test_greedy_follows_the_rules_it_can() -> None:
    table = frame(
        [
            {"code": "A", "cost": 1.0, "benefit": 10.0, "depends_on": ["B"]},
            {"code": "B", "cost": 5.0, "benefit": 1.0},
            {"code": "C", "cost": 3.0, "benefit": 4.0},
        ]
    )
    # A has the best ratio but needs B; B is taken on its own ratio only after C
    picked = greedy(table, Constraints(budget=9))
    assert list(table["code"][picked]) == ["A", "B", "C"]
    picked = greedy(table, Constraints(budget=6))
    assert list(table["code"][picked]) == ["C"]


def test_people_helped_by_a_selection_count_each_unit_once(city: TinyCity) -> None:
    """Issue #16: two chosen projects reaching one neighbourhood help its residents once."""
    places = prioritise_places(city.engine, "TINY", city.run_id, weight_draws=5)
    projects = _projects()
    projects.at[1, "beneficiary_units"] = {"0203": 1.0, "0101": 1.0}  # 0101 as P1 does
    benefits = project_benefits(projects, places)
    result = select_projects(benefits, Constraints(budget=1000))
    assert sorted(result.chosen) == ["P1", "P2", "P3"]
    # units 0101, 0102, 0203, 0201, each once: hosts 900 + 1000 + 500 + 700; refugees and
    # migrants (300 + 0) + (50 + 10) + (400 + 100) + (500 + 20)
    assert result.people_host == pytest.approx(3100)
    assert result.people_migrant == pytest.approx(1380)
    # per project, the beneficiaries stay those of its own catchment (P2: 0203 and 0101)
    assert benefits.set_index("code").loc["P2", "beneficiaries_host"] == pytest.approx(1400)
    assert benefits["beneficiaries_host"].sum() == pytest.approx(4000)  # 0101 twice


def test_shares_met_only_by_choosing_nothing_are_infeasible() -> None:
    """Issue #16: a minimum share that no project can meet left an empty plan, silently."""
    table = frame(
        [
            {"code": "A", "cost": 6.0, "benefit": 10.0},  # 20 % to refugees and migrants
            {"code": "B", "cost": 5.0, "benefit": 7.0},
        ]
    )
    with pytest.raises(InfeasibleError) as caught:
        select_projects(table, Constraints(budget=10, min_migrant_share=0.9))
    assert caught.value.constraint == "migrant_share"
    assert str(caught.value) == (
        "No selection within the budget of 10 meets at least 90% of the benefit reaching "
        "refugees and migrants: raise the budget or relax that constraint."
    )
    curve = budget_curve(table, Constraints(budget=10, min_migrant_share=0.9), [0, 5, 10])
    assert list(curve["feasible"]) == [True, False, False]
    assert curve["benefit"].iloc[0] == 0.0
    assert curve["marginal_benefit_per_million"].isna().all()  # nothing feasible to compare
    ok = budget_curve(table, Constraints(budget=10, min_migrant_share=0.1), [0, 5, 6, 11])
    assert ok["feasible"].all()
    # from 0 to 5: B (7); from 5 to 6: A (10): 3 per unit, 3e6 per million
    assert ok["marginal_benefit_per_million"].iloc[2] == pytest.approx(3e6)


def test_constraints_written_as_a_spanish_planner_writes_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Trial #3 F1/F2: '200.000' in the YAML is two hundred thousand (it was read as 200 and the
    plan went ahead); a cap keyed 'Espacio público' caps public_space (it was dropped); an
    unknown type or locality is refused by name; 'sur' is 'Sur'; '7,5 %' is a share."""
    path = tmp_path / "restricciones.yaml"
    path.write_text(
        "budget: '700.000'\nmin_per_locality: {Sur: '200.000', Norte: '$ 1,250,000'}\n"
        "min_migrant_share: '7,5 %'\nmax_per_type: {espacio público: 0, Centro: 1}\n",
        encoding="utf-8",
    )
    loaded = load_constraints(path)
    assert loaded.budget == 700_000
    assert loaded.min_per_locality == {"Sur": 200_000.0, "Norte": 1_250_000.0}
    assert loaded.min_migrant_share == pytest.approx(0.075)
    assert loaded.max_per_type == {"public_space": 0, "centre": 1}
    path.write_text("budget: 1000\nmax_per_type: {parques: 1}\n", encoding="utf-8")
    with pytest.raises(PlanningError, match=r"'parques' is not a project type; use public_space"):
        load_constraints(path)
    path.write_text("budget: 1000\nmin_projects_per_locality: {Sur: '1,5'}\n", encoding="utf-8")
    with pytest.raises(PlanningError, match=r"'Sur': '1,5' is not a number"):
        load_constraints(path)
    table = frame(
        [
            {"code": "A", "cost": 100.0, "benefit": 5.0, "type": "public_space", "locality": "Sur"},
            {"code": "B", "cost": 100.0, "benefit": 4.0, "type": "centre", "locality": "Norte"},
            {"code": "C", "cost": 100.0, "benefit": 1.0, "type": "services", "locality": "Norte"},
        ]
    )
    capped = Constraints(budget=300, max_per_type={"public_space": 0})
    assert sorted(select_projects(table, capped).chosen) == ["B", "C"]
    lower = Constraints(budget=100, min_projects_per_locality={"sur": 1})
    assert select_projects(table, lower).chosen == ["A"]
    with pytest.raises(PlanningError, match=r"locality 'Nortee'.*localities are Norte, Sur"):
        select_projects(table, Constraints(budget=300, min_per_locality={"Nortee": 100}))
