"""Impact measurement: published references through our interfaces, hand computations, and
the demo's second period, whose injected effects the estimators must recover."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from inclusive_cities.cli import main
from inclusive_cities.demo.second_period import generate_second_period, load_second_period
from inclusive_cities.planning.impact import (
    ImpactError,
    callaway_santanna,
    did,
    impact_to_xlsx,
    load_panel,
    match_units,
    measure_impact,
    survey_did,
    synthetic_control,
)
from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.surveys import Design
from tests.reference import shared_data

REFERENCE = shared_data("reference")  # ../shared/data/reference, read at run time


# ------------------------------------------------------------ published references


def test_callaway_santanna_reproduces_mpdta() -> None:
    """R did's README: att_gt(lemp ~ 1, never treated, est_method="reg") on mpdta."""
    data = pd.read_csv(REFERENCE / "mpdta.csv")
    result = callaway_santanna(
        data, unit="countyreal", time="year", outcome="lemp", cohort="first.treat"
    )
    expected = {
        (2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373,
        (2004, 2007): -0.1008, (2006, 2004): 0.0065, (2006, 2005): -0.0028,
        (2006, 2006): -0.0046, (2006, 2007): -0.0412, (2007, 2004): 0.0305,
        (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261,
    }  # fmt: skip
    table = result.tables["att_gt"]
    got = {(int(r.group), int(r.time)): round(r.att, 4) for r in table.itertuples()}
    assert got == expected
    assert round(result.estimate, 4) == -0.0772  # dynamic (event-study) overall ATT
    assert round(result.details["group_overall"]["att"], 3) == -0.031
    groups = {int(r.group): round(r.att, 4) for r in result.tables["group"].itertuples()}
    assert groups == {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
    # SEs come from an analytic influence function here; R's bootstrap gives ~0.02
    assert 0.01 < result.se < 0.03 and result.ci_high < 0 and result.significant
    assert result.n_treated == 191 and result.n_comparison == 309


def test_synthetic_control_reproduces_basque() -> None:
    """Abadie and Gardeazabal (2003): synthetic Basque = Cataluña 0.8508 + Madrid 0.1492, with
    the paper's predictors and the 1960-1969 fit (pysyncon's own example set-up)."""
    data = pd.read_csv(REFERENCE / "basque.csv")
    sectors = [
        "sec.agriculture",
        "sec.energy",
        "sec.industry",
        "sec.construction",
        "sec.services.venta",
        "sec.services.nonventa",
    ]
    result = synthetic_control(
        data,
        unit="regionname",
        time="year",
        outcome="gdpcap",
        treated_unit="Basque Country (Pais Vasco)",
        treatment_time=1970,
        predictors=[
            "school.illit",
            "school.prim",
            "school.med",
            "school.high",
            "school.post.high",
            "invest",
        ],
        time_predictors_prior=range(1964, 1970),
        special_predictors=[
            ("gdpcap", range(1960, 1970), "mean"),
            *[(s, range(1961, 1970, 2), "mean") for s in sectors],
            ("popdens", [1969], "mean"),
        ],
        fit_periods=range(1960, 1970),
        placebo=False,
    )
    weights = result.tables["weights"].set_index("unit")["weight"]
    assert weights["Cataluna"] == pytest.approx(0.8508, abs=0.001)
    assert weights["Madrid (Comunidad De)"] == pytest.approx(0.1492, abs=0.001)
    assert weights.drop(["Cataluna", "Madrid (Comunidad De)"]).max() < 0.001
    # the conflict cost the Basque Country GDP per head after 1970 (a negative gap)
    assert result.estimate < 0


# ------------------------------------------------------------ hand computations


def _two_by_two() -> pd.DataFrame:
    """Six units, two periods; odd column names as users have them."""
    before = {"A": 10.0, "B": 12.0, "C": 11.0, "D": 9.0, "E": 14.0, "F": 13.0}
    after = {"A": 15.0, "B": 16.5, "C": 17.0, "D": 10.0, "E": 15.5, "F": 13.0}
    rows = []
    for unit in before:
        treated = unit in ("A", "B", "C")
        rows.append({"Barrio ID": unit, "año": 2024, "tasa": before[unit], "T": treated, "P": 0})
        rows.append({"Barrio ID": unit, "año": 2025, "tasa": after[unit], "T": treated, "P": 1})
    return pd.DataFrame(rows)


def test_two_by_two_did_with_cluster_se_matches_hand_computation() -> None:
    panel = _two_by_two()
    result = did(
        panel, unit="Barrio ID", time="año", outcome="tasa", treated="T", post="P",
        inference="cluster",
    )  # fmt: skip
    # changes: treated 5, 4.5, 6 (mean 5.1667); comparison 1, 1.5, 0 (mean 0.8333)
    assert result.estimate == pytest.approx(5.1667 - 0.8333, abs=1e-4)
    # cluster-robust (by unit) SE = HC0 SE of the change regression x G/(G-1):
    # sum over groups of sum((change - group mean)^2) / n_g^2
    treated_ss = (5 - 31 / 6) ** 2 + (4.5 - 31 / 6) ** 2 + (6 - 31 / 6) ** 2
    comparison_ss = (1 - 2.5 / 3) ** 2 + (1.5 - 2.5 / 3) ** 2 + (0 - 2.5 / 3) ** 2
    se = math.sqrt((treated_ss / 9 + comparison_ss / 9) * 6 / 5)
    assert result.se == pytest.approx(se, rel=1e-9)
    # Student t with G - 1 = 5 degrees of freedom: t(0.975, 5) = 2.5706
    assert result.ci_low == pytest.approx(result.estimate - 2.570582 * se, abs=1e-5)
    assert result.n_treated == 3 and result.n_comparison == 3 and result.n_obs == 12
    assert result.significant


def test_survey_did_se_matches_hand_computation() -> None:
    """Simple random sample (one stratum, each respondent its own PSU): the linearised SE
    of the contrast of four domain means is sqrt(n/(n-1) · Σ_d (n_d - 1) s_d² / n_d²)."""
    rng = np.random.default_rng(5)
    cells = {(0, 0): 40.0, (0, 1): 35.0, (1, 0): 42.0, (1, 1): 45.0}
    rows = []
    for (after, treated), centre in cells.items():
        for value in rng.normal(centre, 6.0, size=30):
            rows.append({"ronda": 2024 + after, "zona": treated, "ingreso": round(value, 1)})
    data = pd.DataFrame(rows)
    result = survey_did(
        data, Design(), "ingreso", round_column="ronda", treated_column="zona", rounds=(2024, 2025)
    )
    means = data.groupby(["ronda", "zona"])["ingreso"].agg(["mean", "var", "count"])
    contrast = (
        means.loc[(2025, 1), "mean"]
        - means.loc[(2024, 1), "mean"]
        - means.loc[(2025, 0), "mean"]
        + means.loc[(2024, 0), "mean"]
    )
    n = len(data)
    hand = math.sqrt(
        n
        / (n - 1)
        * sum((r["count"] - 1) * r["var"] / r["count"] ** 2 for _, r in means.iterrows())
    )
    assert result.estimate == pytest.approx(contrast, rel=1e-12)
    assert result.se == pytest.approx(hand, rel=1e-9)
    assert result.ci_low < 8.0 < result.ci_high  # the planted contrast: 10 - 2 = 8


def test_survey_did_with_clusters_and_weights_matches_hand_computation() -> None:
    """Areas sampled as clusters with weights, each round x zone its own stratum: the four
    domain means are independent, and each one's linearised variance is the textbook
    n_h/(n_h - 1) · Σ_i (z_i - z̄)² / N̂², z_i = Σ_k∈i w_k (y_k - ȳ)."""
    rng = np.random.default_rng(8)
    rows = []
    for after in (0, 1):
        for zone in (0, 1):
            for area in range(6):
                weight = float(rng.integers(20, 60))
                shift = rng.normal(0, 2)
                for _person in range(int(rng.integers(4, 9))):
                    rows.append(
                        {
                            "ronda": after,
                            "zona": zone,
                            "estrato": f"{after}-{zone}",
                            "upm": f"{after}-{zone}-{area}",
                            "peso": weight,
                            "y": 50
                            + 5 * after
                            + 3 * zone
                            + 4 * after * zone
                            + shift
                            + rng.normal(0, 5),
                        }
                    )
    data = pd.DataFrame(rows)
    design = Design(weight="peso", strata="estrato", psu="upm")
    result = survey_did(data, design, "y", round_column="ronda", treated_column="zona")

    def mean_and_variance(cell: pd.DataFrame) -> tuple[float, float]:
        total_weight = cell["peso"].sum()
        mean = float((cell["peso"] * cell["y"]).sum() / total_weight)
        z = (cell["peso"] * (cell["y"] - mean)).groupby(cell["upm"]).sum()
        n = len(z)
        return mean, float(n / (n - 1) * ((z - z.mean()) ** 2).sum() / total_weight**2)

    cells = {key: mean_and_variance(cell) for key, cell in data.groupby(["ronda", "zona"])}
    contrast = cells[(1, 1)][0] - cells[(0, 1)][0] - cells[(1, 0)][0] + cells[(0, 0)][0]
    assert result.estimate == pytest.approx(contrast, rel=1e-12)
    assert result.se == pytest.approx(math.sqrt(sum(v for _m, v in cells.values())), rel=1e-9)


def test_nearest_neighbour_matching_and_balance_by_hand() -> None:
    baseline = pd.DataFrame(
        {"y": [10.0, 20.0, 11.0, 19.0, 30.0, 12.0]}, index=["T1", "T2", "C1", "C2", "C3", "C4"]
    )
    matched = match_units(baseline, ["T1", "T2"], ["y"], method="nearest", k=1)
    assert dict(zip(matched.pairs["unit"], matched.pairs["match"], strict=True)) == {
        "T1": "C1",
        "T2": "C2",
    }
    assert matched.comparison == ["C1", "C2"]
    row = matched.balance.iloc[0]
    # before: treated mean 15 vs (11+19+30+12)/4 = 18; after: 15 vs 15
    assert row["mean_comparison_before"] == pytest.approx(18.0)
    assert row["smd_after"] == pytest.approx(0.0)
    pooled = math.sqrt((np.var([10, 20], ddof=1) + np.var([11, 19, 30, 12], ddof=1)) / 2)
    assert row["smd_before"] == pytest.approx((15 - 18) / pooled)
    mahalanobis = match_units(baseline, ["T1"], ["y"], method="mahalanobis", k=2)
    assert mahalanobis.comparison == ["C1", "C4"]


# ------------------------------------------------------------ tested on truth

INDICATORS = {
    # code: (direction, unit, centre, spread)
    "unemployment_rate": ("lower_is_better", "%", 14.0, 4.0),
    "health_insurance": ("higher_is_better", "%", 70.0, 10.0),
    "school_attendance": ("higher_is_better", "%", 85.0, 6.0),
    "crime_rate_per_100k": ("lower_is_better", "per 100k", 900.0, 250.0),
}
N_UNITS = 40


def build_base_city(url: str, seed: int = 3) -> Engine:
    """40 barrios (codes with leading zeros) with 2024 whole-population indicator values."""
    engine = init_database(url)
    rng = np.random.default_rng(seed)
    with transaction(engine) as session:
        city = models.City(code="TST", name="Villa Prueba", country="COL", is_synthetic=True)
        session.add(city)
        session.flush()
        level = models.UnitLevel(
            city_id=city.id, code="barrio", name_es="Barrio", name_en="Neighbourhood", depth=1
        )
        period = models.Period(code="2024", label="2024")
        session.add_all([level, period])
        session.flush()
        indicators = {}
        for code, (direction, unit, _c, _s) in INDICATORS.items():
            row = models.Indicator(
                code=code, name_es=code, name_en=code, direction=direction, unit=unit
            )
            session.add(row)
            indicators[code] = row
        session.flush()
        for i in range(N_UNITS):
            unit = models.SpatialUnit(
                city_id=city.id, level_id=level.id, code=f"{i + 1:05d}", name=f"Barrio {i + 1}"
            )
            session.add(unit)
            session.flush()
            for code, (_d, _u, centre, spread) in INDICATORS.items():
                session.add(
                    models.Observation(
                        indicator_id=indicators[code].id,
                        unit_id=unit.id,
                        period_id=period.id,
                        value=float(max(0.0, rng.normal(centre, spread))),
                    )
                )
    return engine


@pytest.fixture(scope="module")
def one_period_later(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict]:
    folder = tmp_path_factory.mktemp("second")
    engine = build_base_city(f"sqlite:///{folder / 'obs.db'}")
    follow = generate_second_period(
        engine,
        folder / "second",
        city="TST",
        level="barrio",
        periods=("2025",),
        effects=["unemployment_rate", "health_insurance"],
        seed=11,
    )
    truth = load_second_period(engine, follow.directory)
    return engine, truth


def test_did_recovers_the_injected_effect_and_finds_none_elsewhere(
    one_period_later: tuple[Engine, dict],
) -> None:
    engine, truth = one_period_later
    assert len(truth["treated"]) == 12 and truth["periods"] == ["2025"]
    for code in ("unemployment_rate", "health_insurance"):
        steps: list[tuple[int, int | None]] = []

        def record(_step: str, done: int, total: int | None, into: list = steps) -> None:
            into.append((done, total))

        result = measure_impact(engine, "TST", code, method="did", progress=record)
        assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]  # the command's bar, stage by stage
        effect = truth["effects"][code]
        assert abs(effect) > 0.5 * abs(truth["planned_effects"][code])
        assert result.ci_low <= effect <= result.ci_high, (code, effect, result)
        assert result.significant and np.sign(result.estimate) == np.sign(effect)
        assert result.n_treated == 12
        assert set(result.tables["balance"]["smd_after"].abs()) <= set(
            result.tables["balance"]["smd_after"].abs()
        )
    for code in ("school_attendance", "crime_rate_per_100k"):
        assert code in truth["untouched"]
        result = measure_impact(engine, "TST", code, method="did", match=None)
        assert result.ci_low <= 0 <= result.ci_high, (code, result)
        assert not result.significant
        assert "not significant" in result.verdict()


def test_one_intervention_unit_gets_placebo_inference_not_a_cluster_se(
    one_period_later: tuple[Engine, dict], tmp_path: Path
) -> None:
    """Trial F7: with one treated barrio the cluster SE (0.028) called noise significant on an
    indicator nothing touched. Placebo inference: each comparison barrio in turn as the treated
    one, computed here by hand from the panel's changes."""
    engine, truth = one_period_later
    code = "school_attendance"
    assert code in truth["untouched"]
    treated = sorted(truth["treated"])[0]
    units = pd.DataFrame({"unit": [treated], "start_period": ["2025"]})
    result = measure_impact(engine, "TST", code, method="did", match=None, units=units)
    panel = load_panel(engine, "TST", code)
    wide = panel.pivot(index="unit", columns="period", values="y")
    change = (wide["2025"] - wide["2024"]).dropna()
    pool = change.drop(sorted(truth["treated"]), errors="ignore")
    assert result.estimate == pytest.approx(change[treated] - pool.mean(), abs=1e-9)
    placebos = np.array([pool[j] - pool.drop(j).mean() for j in pool.index])
    p_value = (1 + np.sum(np.abs(placebos) >= abs(result.estimate))) / (1 + len(placebos))
    assert result.details == {**result.details, "inference": "placebo", "placebos": len(pool)}
    assert result.p_value == pytest.approx(p_value)
    assert result.se == pytest.approx(np.std(placebos, ddof=1))
    low, high = np.quantile(placebos, [0.025, 0.975])
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (result.estimate - high, result.estimate - low)
    )
    assert not result.significant
    assert any("Conley and Taber" in note for note in result.caveats())
    # trial #3 F6b: the assumptions follow the inference used, not "clustered by unit"
    assert "placebos" in result.assumptions() and "clustered" not in result.assumptions()
    from inclusive_cities.i18n import use_language

    try:
        use_language("es")
        spanish = result.assumptions()
        assert "placebos" in spanish and "Conley y Taber" in spanish
        assert "agrupan" not in spanish and "cluster" not in spanish
    finally:
        use_language("en")
    # the workbook's first sheet carries the same text
    impact_to_xlsx(result, tmp_path / "placebo.xlsx")
    sheet = pd.read_excel(
        tmp_path / "placebo.xlsx", sheet_name="Impact", engine="openpyxl"
    ).set_index("Item")
    assert sheet.loc["Assumptions", "Value"] == result.assumptions()
    # with many intervention units the cluster SE stays, and says so
    many = measure_impact(engine, "TST", code, method="did", match=None)
    assert many.n_treated == 12 and "inference" not in many.details
    assert many.assumptions().endswith("Standard errors are clustered by unit.")


def test_intervention_units_not_in_the_city_are_named(
    one_period_later: tuple[Engine, dict],
) -> None:
    """Trial F7: a code that lost its leading zero and one that does not exist were dropped
    silently; the user's file is now refused, naming both."""
    engine, truth = one_period_later
    treated = sorted(truth["treated"])[0]
    units = pd.DataFrame(
        {"unit": [treated, str(int(treated)), "99999"], "start_period": ["2025"] * 3}
    )
    with pytest.raises(ImpactError) as caught:
        measure_impact(engine, "TST", "school_attendance", method="did", match=None, units=units)
    message = str(caught.value)
    assert "99999" in message and f"{int(treated)} ({treated}?)" in message


def test_did_matching_improves_balance(one_period_later: tuple[Engine, dict]) -> None:
    engine, _truth = one_period_later
    # the projects went to the barrios with the most unemployment: matching on it evens that out
    result = measure_impact(engine, "TST", "unemployment_rate", method="did", k=1)
    balance = result.tables["balance"].iloc[0]
    assert balance["smd_before"] > 0.8 and abs(balance["smd_after"]) < 0.5 * balance["smd_before"]
    units = result.tables["units"]
    assert set(units["role"]) == {"treated", "comparison"}
    assert (units.loc[units["role"] == "treated", "start_period"] == "2025").all()


def test_one_period_only_is_refused(tmp_path: Path) -> None:
    engine = build_base_city(f"sqlite:///{tmp_path / 'one.db'}")
    units = pd.DataFrame({"unit": ["00001", "00002"], "start_period": ["2024", "2024"]})
    with pytest.raises(ImpactError, match="one period only"):
        measure_impact(engine, "TST", "health_insurance", units=units)


@pytest.fixture(scope="module")
def staggered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict]:
    folder = tmp_path_factory.mktemp("staggered")
    engine = build_base_city(f"sqlite:///{folder / 'obs.db'}", seed=4)
    treated = {f"{i:05d}": "2025" for i in range(1, 7)}
    treated.update({f"{i:05d}": "2026" for i in range(7, 13)})
    follow = generate_second_period(
        engine,
        folder / "second",
        city="TST",
        level="barrio",
        periods=("2022", "2023", "2025", "2026"),
        treated=treated,
        effects=["health_insurance"],
        seed=12,
    )
    return engine, load_second_period(engine, follow.directory)


def test_callaway_santanna_recovers_staggered_effects(staggered: tuple[Engine, dict]) -> None:
    engine, truth = staggered
    result = measure_impact(engine, "TST", "health_insurance", method="cs")
    effect = truth["effects"]["health_insurance"]
    assert result.ci_low <= effect <= result.ci_high, (effect, result)
    assert result.significant
    event = result.tables["event"].set_index("relative_period")
    # before the start, no effect: the pre-period ATTs are small beside the effect
    pre = event[event.index < 0]
    assert len(pre) >= 2 and pre["att"].abs().max() < 0.25 * abs(effect)
    assert set(result.tables["group"]["group"]) == {"2025", "2026"}
    nothing = measure_impact(engine, "TST", "school_attendance", method="cs")
    assert nothing.ci_low <= 0 <= nothing.ci_high
    assert result.caveats() == [] and not nothing.caveats()
    # the same staggered starts through two-way fixed effects: the planner is warned
    twfe = measure_impact(engine, "TST", "health_insurance", method="did", match=None)
    assert len(twfe.caveats()) == 1 and "--method cs" in twfe.caveats()[0]


def test_synthetic_control_recovers_one_area(tmp_path: Path) -> None:
    engine = build_base_city(f"sqlite:///{tmp_path / 'synth.db'}", seed=5)
    from inclusive_cities.demo.second_period import base_values

    base = base_values(engine, "TST", "2024", "barrio")["health_insurance"]
    middle = str(base.sort_values().index[N_UNITS // 2])
    follow = generate_second_period(
        engine,
        tmp_path / "second",
        city="TST",
        level="barrio",
        periods=("2020", "2021", "2022", "2023", "2025", "2026"),
        treated={middle: "2025"},
        effects=["health_insurance"],
        seed=13,
    )
    truth = load_second_period(engine, follow.directory)
    result = measure_impact(engine, "TST", "health_insurance", method="synth")
    effect = truth["effects"]["health_insurance"]
    assert result.ci_low <= effect <= result.ci_high, (effect, result)
    assert result.p_value < 0.05 and result.significant
    placebo = result.tables["placebo"]
    assert len(placebo) == N_UNITS and placebo["treated"].sum() == 1
    assert result.tables["weights"]["weight"].sum() == pytest.approx(1.0)


def test_xlsx_output_reads_back(one_period_later: tuple[Engine, dict], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from inclusive_cities.i18n import use_language

    engine, _truth = one_period_later
    use_language("es")
    try:
        result = measure_impact(engine, "TST", "health_insurance")
        path = impact_to_xlsx(result, tmp_path / "impacto.xlsx")
    finally:
        use_language("en")
    book = load_workbook(path, read_only=True)
    assert book.sheetnames[0] == "Impacto"
    rows = {r[0]: r[1] for r in book["Impacto"].iter_rows(min_row=2, values_only=True)}
    assert rows["Estimación"] == pytest.approx(result.estimate)
    assert "significativ" in rows["Lectura"]


# ------------------------------------------------------------ command line


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """The console script's entry point in this process (its start-up would dominate)."""

    def invoke(*args: str) -> Outcome:
        capsys.readouterr()
        try:
            main(["--quiet", *args])
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


def test_cli_prints_the_estimate_and_verdict_and_writes_xlsx(
    one_period_later: tuple[Engine, dict], tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    engine, truth = one_period_later
    out = tmp_path / "impacto.xlsx"
    done = run_cli(
        "--lang",
        "es",
        "--database",
        engine.url.render_as_string(hide_password=False),
        "plan",
        "impact",
        "--city",
        "TST",
        "--outcome",
        "health_insurance",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    # the indicator's name is a label, not a noun phrase: it comes with its article
    assert "La intervención aumentó el indicador «Personas afiliadas a salud» en" in done.stdout
    assert "0,000" not in done.stdout
    assert "significativo" in done.stdout and "IC 95 %" in done.stdout
    values = pd.read_excel(out, sheet_name="Impacto").set_index("Concepto")["Valor"]
    low = float(values["IC 95 %, límite inferior"])
    high = float(values["IC 95 %, límite superior"])
    assert low <= truth["effects"]["health_insurance"] <= high


def test_cli_exits_non_zero_with_one_period(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    build_base_city(url)
    units = tmp_path / "unidades.csv"
    # as spreadsheets save it: BOM, semicolons, codes with leading zeros
    units.write_text("\ufeffunidad;periodo_inicio\n00001;2024\n00002;2024\n", encoding="utf-8")
    args = ("--database", url, "plan", "impact", "--city", "TST", "--units", str(units))
    done = run_cli("--lang", "en", *args, "--outcome", "health_insurance")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "values for one period only (2024)" in lines[0]


@pytest.mark.postgres
def test_second_period_and_did_on_postgresql(
    postgres_url: str, tmp_path: Path, one_period_later: tuple[Engine, dict]
) -> None:
    """The same city, period and seed as the SQLite fixture: the same truth and estimate."""
    engine = build_base_city(postgres_url)
    follow = generate_second_period(
        engine,
        tmp_path / "second",
        city="TST",
        level="barrio",
        periods=("2025",),
        effects=["unemployment_rate", "health_insurance"],
        seed=11,
    )
    truth = load_second_period(engine, follow.directory)
    sqlite_engine, sqlite_truth = one_period_later
    assert truth["treated"] == sqlite_truth["treated"]
    result = measure_impact(engine, "TST", "health_insurance")
    on_sqlite = measure_impact(sqlite_engine, "TST", "health_insurance")
    assert result.estimate == pytest.approx(on_sqlite.estimate, rel=1e-9)
    assert result.se == pytest.approx(on_sqlite.se, rel=1e-9)
    assert result.ci_low <= truth["effects"]["health_insurance"] <= result.ci_high


def test_survey_rounds_recover_an_injected_effect(tmp_path: Path) -> None:
    """Two rounds of the demo survey (the same sample design and barrio levels, fresh noise
    in each household's income); in the second, households of the barrio that got a project
    report 400,000 COP more. The design-based DiD recovers it, and finds nothing elsewhere."""
    from inclusive_cities.planning.impact import survey_impact
    from inclusive_cities.surveys import load_design
    from inclusive_cities.surveys.demo_survey import generate_demo_survey
    from inclusive_cities.surveys.kobo import locate, read_kobo
    from inclusive_cities.surveys.storage import store_survey
    from tests.surveys.helpers import tiny_boundaries, tiny_store

    boundaries = tiny_boundaries(tmp_path / "boundaries.gpkg")
    engine = tiny_store(f"sqlite:///{tmp_path / 'obs.db'}", boundaries)
    data_dir = tmp_path / "data"
    effect = 400_000.0
    rng = np.random.default_rng(21)
    for period in ("2024", "2025"):
        survey = generate_demo_survey(boundaries, tmp_path / period, households=160, take=8)
        design = load_design(survey.design)
        result = locate(read_kobo(survey.form, survey.data), unit_column=design.unit_column)
        main = result.tables["main"]
        income = pd.to_numeric(main["ingreso"]).astype(float)
        income += rng.normal(0.0, 60_000.0, size=len(income))
        if period == "2025":
            hit = main["unit_code"].astype("string").str.startswith("01001").fillna(False)
            income[hit.to_numpy(dtype=bool)] += effect
        main["ingreso"] = income.round()
        store_survey(
            engine, result, design, city="DEMO", period=period, sources=[survey.data],
            data_dir=data_dir,
        )  # fmt: skip
    units = pd.DataFrame({"unit": ["01001"], "start_period": ["2025"]})
    found = survey_impact(
        engine, "DEMO", "encuesta_migrantes_demo", "ingreso", before="2024", after="2025",
        units=units, data_dir=data_dir,
    )  # fmt: skip
    assert found.method == "survey" and found.n_treated > 20
    assert found.ci_low <= effect <= found.ci_high and found.significant
    nothing = survey_impact(
        engine, "DEMO", "encuesta_migrantes_demo", "ingreso", before="2024", after="2025",
        units=pd.DataFrame({"unit": ["02002"], "start_period": ["2025"]}), data_dir=data_dir,
    )  # fmt: skip
    assert nothing.ci_low <= 0 <= nothing.ci_high


def test_one_project_is_never_compared_with_another_projects_units(tmp_path: Path) -> None:
    """Issue #16: EJ-001 was compared with a barrio EJ-002 had reached in the same period."""
    engine = build_base_city(f"sqlite:///{tmp_path / 'two.db'}", seed=6)
    follow = generate_second_period(
        engine,
        tmp_path / "second",
        city="TST",
        level="barrio",
        periods=("2025",),
        treated={"00001": "2025", "00002": "2025"},
        effects=["health_insurance"],
        seed=14,
    )
    load_second_period(engine, follow.directory)
    with transaction(engine) as session:
        owner = {
            p.code: list(p.unit_codes or []) for p in session.query(models.PlanningProject).all()
        }
    first = next(code for code, units in owner.items() if units == ["00001"])
    # by hand: the change in 00001 minus the mean change of the 38 barrios no project reached
    with transaction(engine) as session:
        rows = (
            session.query(models.SpatialUnit.code, models.Period.code, models.Observation.value)
            .join(models.Observation, models.Observation.unit_id == models.SpatialUnit.id)
            .join(models.Period, models.Period.id == models.Observation.period_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .filter(models.Indicator.code == "health_insurance")
            .all()
        )
    wide = pd.DataFrame(rows, columns=["unit", "period", "y"]).pivot(
        index="unit", columns="period", values="y"
    )
    change = wide["2025"] - wide["2024"]
    others = change.drop(["00001", "00002"])
    assert len(others) == 38
    expected = change["00001"] - others.mean()
    result = measure_impact(engine, "TST", "health_insurance", project=first, match=None)
    assert result.n_treated == 1 and result.n_comparison == 38
    assert result.estimate == pytest.approx(expected)
    for method, match in (("did", "nearest"), ("cs", None)):
        result = measure_impact(
            engine, "TST", "health_insurance", project=first, method=method, match=match
        )
        units = result.tables["units"]
        assert "00002" not in set(units["unit"]), method
    # one period before the start: the synthetic control's fit would check nothing (F6a)
    with pytest.raises(ImpactError) as refused:
        measure_impact(engine, "TST", "health_insurance", project=first, method="synth")
    assert "at least 5 periods" in str(refused.value) and "there are 1 (2024)" in str(refused.value)
    assert "--method did" in str(refused.value)


def test_a_project_without_start_date_is_named(tmp_path: Path) -> None:
    engine = build_base_city(f"sqlite:///{tmp_path / 'p01.db'}", seed=7)
    follow = generate_second_period(
        engine,
        tmp_path / "second",
        city="TST",
        level="barrio",
        periods=("2025",),
        treated={"00001": "2025"},
        effects=["health_insurance"],
        seed=15,
    )
    load_second_period(engine, follow.directory)
    with transaction(engine) as session:
        city = session.query(models.City).one()
        session.add(
            models.PlanningProject(
                city_id=city.id, code="P01", type="park", cost=1.0, unit_codes=["00003"]
            )
        )
        started = (
            session.query(models.PlanningProject.code)
            .filter(models.PlanningProject.code != "P01")
            .scalar()
        )
    with pytest.raises(ImpactError) as error:
        measure_impact(engine, "TST", "marker", project="P01", method="synth")
    text = str(error.value)
    assert "No project of TST has a start date" not in text
    assert "P01" in text and "start date" in text
    assert f"({1}): {started}" in text and "--project" in text


def test_wording_for_officials() -> None:
    from inclusive_cities.i18n import use_language
    from inclusive_cities.planning.impact import ImpactResult, p_value_text

    result = ImpactResult(
        method="did", outcome="marker", estimate=1.5, se=0.2, ci_low=1.1, ci_high=1.9,
        p_value=0.00001, n_treated=1, n_comparison=2, n_obs=6,
        outcome_label="Urban Inclusion Marker (uim-basic)",
    )  # fmt: skip
    try:
        use_language("es")
        assert result.verdict().startswith(
            "La intervención aumentó el indicador «Urban Inclusion Marker (uim-basic)» en 1,50"
        )
        assert "p < 0,001" in result.verdict()
        assert result.sizes_text() == "Unidades intervenidas: 1; unidades de comparación: 2."
        assert p_value_text(0.00001) == "< 0,001" and p_value_text(0.0344) == "0,034"
        use_language("en")
        assert result.verdict().startswith(
            "The intervention raised the indicator “Urban Inclusion Marker (uim-basic)” by 1.50"
        )
        assert p_value_text(float("nan")) == "-"
    finally:
        use_language("en")


def test_synthetic_control_with_two_donors_says_its_p_value_cannot_be_small(
    tmp_path: Path,
) -> None:
    periods = list(range(1, 8))
    rows = []
    for unit, base in (("A", 10.0), ("B", 9.0), ("C", 11.5)):
        for t in periods:
            effect = 5.0 if unit == "A" and t >= 6 else 0.0
            rows.append({"unit": unit, "period": t, "y": base + 0.3 * t + 0.1 * (t % 2) + effect})
    result = synthetic_control(
        pd.DataFrame(rows), unit="unit", time="period", outcome="y",
        treated_unit="A", treatment_time=6,
    )  # fmt: skip
    # two donors, both kept as placebos: p is a rank among 3 gaps, at least 1/3
    assert result.details["placebos"] == 2
    assert result.p_value == pytest.approx(1 / 3)
    notes = result.caveats()
    assert len(notes) == 1 and "1 in 3 (0.333)" in notes[0] and "Only 2 comparison" in notes[0]
    # the workbook carries the same caution
    impact_to_xlsx(result, tmp_path / "synth.xlsx")
    values = pd.read_excel(tmp_path / "synth.xlsx", sheet_name="Impact").set_index("Item")["Value"]
    assert values["Caution"] == notes[0]


def test_public_impact_list_gives_the_locality_of_executed_projects(tmp_path: Path) -> None:
    """The demo's executed projects carry no locality: the list takes their units' top unit."""
    import re

    from fastapi.testclient import TestClient

    from inclusive_cities.web import create_app

    url = f"sqlite:///{tmp_path / 'list.db'}"
    engine = build_base_city(url, seed=8)
    with transaction(engine) as session:
        city = session.query(models.City).one()
        top = models.UnitLevel(
            city_id=city.id, code="localidad", name_es="Localidad", name_en="Locality", depth=0
        )
        session.add(top)
        session.flush()
        north = models.SpatialUnit(city_id=city.id, level_id=top.id, code="N", name="Norte")
        session.add(north)
        session.flush()
        for unit in session.query(models.SpatialUnit).filter(
            models.SpatialUnit.code.in_(["00001", "00002"])
        ):
            unit.parent_id = north.id
    follow = generate_second_period(
        engine,
        tmp_path / "second",
        city="TST",
        level="barrio",
        periods=("2025",),
        treated={"00001": "2025", "00003": "2025"},
        effects=["health_insurance"],
        seed=16,
    )
    load_second_period(engine, follow.directory)
    with TestClient(create_app(url)) as client:
        page = client.get("/cities/TST/impact?lang=es")
    assert page.status_code == 200
    cells = {
        code: re.findall(r"<td>(.*?)</td>", row)
        for code, row in re.findall(r'<tr data-code="([^"]+)">(.*?)</tr>', page.text)
    }
    assert len(cells) == 2
    # 00001 lies in Norte; 00003 has no parent: it is its own top unit
    localities = sorted(row[2] for row in cells.values())
    assert localities == ["Barrio 3", "Norte"]


def test_synthetic_control_refuses_a_short_pre_period() -> None:
    """Trial #3 F6a: with one pre-period, 2 of 113 donors matched every barrio exactly
    (pre-RMSPE 1e-10) and the text said the mix "followed" the area. By hand: A = 10 lies
    between B = 9 and C = 11.5, so 0.6 B + 0.4 C fits period 1 exactly, whatever A does."""
    rows = [
        {"unit": u, "period": t, "y": y}
        for u, values in (("A", (10.0, 20.0)), ("B", (9.0, 9.5)), ("C", (11.5, 11.0)))
        for t, y in zip((1, 2), values, strict=True)
    ]
    with pytest.raises(ImpactError) as refused:
        synthetic_control(
            pd.DataFrame(rows), unit="unit", time="period", outcome="y",
            treated_unit="A", treatment_time=2,
        )  # fmt: skip
    message = str(refused.value)
    assert "at least 5 periods of y before the start and there are 1 (1)" in message
    assert "--method did" in message and "\n" not in message
    # the floor is a parameter: at 1 the (vacuous) exact fit is what comes out
    result = synthetic_control(
        pd.DataFrame(rows), unit="unit", time="period", outcome="y",
        treated_unit="A", treatment_time=2, min_pre_periods=1, placebo=False,
    )  # fmt: skip
    weights = result.tables["weights"].set_index("unit")["weight"]
    assert weights["B"] == pytest.approx(0.6, abs=1e-6) and weights["C"] == pytest.approx(0.4)
    assert result.estimate == pytest.approx(20.0 - (0.6 * 9.5 + 0.4 * 11.0), abs=1e-5)


def test_withheld_units_are_never_compared(one_period_later: tuple[Engine, dict]) -> None:
    """Trial #5 T16/T10: the public pages measure with comparison units whose score the public
    map shows; the withheld ones are left out of the pool, the means and the placebos."""
    engine, truth = one_period_later
    code = "school_attendance"
    treated = sorted(truth["treated"])[0]
    units = pd.DataFrame({"unit": [treated], "start_period": ["2025"]})
    panel = load_panel(engine, "TST", code)
    wide = panel.pivot(index="unit", columns="period", values="y")
    change = (wide["2025"] - wide["2024"]).dropna()
    pool = change.drop(sorted(truth["treated"]), errors="ignore")
    withheld = set(pool.index[::3])  # every third comparison unit
    result = measure_impact(
        engine, "TST", code, method="did", match=None, units=units, withheld=withheld
    )
    kept = pool.drop(sorted(withheld))
    assert result.estimate == pytest.approx(change[treated] - kept.mean(), abs=1e-9)
    table = result.tables["units"]
    compared = set(table.loc[table["role"] == "comparison", "unit"].astype(str))
    assert compared == set(kept.index.astype(str)) and not compared & withheld
    assert result.details["placebos"] == len(kept)
