"""Calibration (raking, post-stratification) and replicate-weight variances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.surveys import Design, estimate
from inclusive_cities.surveys.calibration import census_margins, poststratify, rake

CLUS1 = Design(weight="pw", psu="dnum", fpc="fpc")
POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}


def _cluster_variance(z: np.ndarray, psu: pd.Series, n_pop: int) -> float:
    totals = pd.Series(z).groupby(psu.to_numpy()).sum().to_numpy()
    n = len(totals)
    return (1 - n / n_pop) * n / (n - 1) * ((totals - totals.mean()) ** 2).sum()


def test_rake_matches_margins_and_r_estimate(apiclus1):
    # R: rclus1 <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
    #    svymean(~api00, rclus1) prints 641.23 (641.230246862208 in Survey.jl's R reference)
    raked, design = rake(apiclus1, CLUS1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    weights = raked[design.weight]
    for column, totals in (("stype", POP_TYPES), ("sch.wide", POP_SCHWIDE)):
        sums = weights.groupby(raked[column]).sum()
        for key, total in totals.items():
            assert sums[key] == pytest.approx(total, rel=1e-9)
    mean = estimate(raked, design, "api00").iloc[0]
    assert round(mean.estimate, 2) == 641.23
    assert mean.estimate == pytest.approx(641.230246862208, rel=1e-5)


def test_rake_variance_uses_calibration_residuals(apiclus1):
    """SE after raking = SE of the residuals of u on both margins' indicators (by hand)."""
    raked, design = rake(apiclus1, CLUS1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    result = estimate(raked, design, "api00").iloc[0]
    w = raked[design.weight].to_numpy()
    y = raked["api00"].to_numpy(dtype=float)
    u = (y - result.estimate) / w.sum()
    dummies = pd.get_dummies(raked[["stype", "sch.wide"]]).to_numpy(dtype=float)
    coef, *_ = np.linalg.lstsq(dummies, u, rcond=None)
    residual = u - dummies @ coef
    by_hand = np.sqrt(_cluster_variance(w * residual, raked["dnum"], 757))
    assert result.se == pytest.approx(by_hand, rel=1e-6)
    naive = np.sqrt(_cluster_variance(w * u, raked["dnum"], 757))
    assert abs(naive - result.se) / result.se > 0.002  # residuals matter (23.81 vs 23.70)


def test_poststratify_reproduces_cells_and_uses_cell_residuals(apiclus1):
    post, design = poststratify(apiclus1, CLUS1, ["stype"], POP_TYPES)
    assert post[design.weight].groupby(post["stype"]).sum().to_dict() == pytest.approx(POP_TYPES)
    result = estimate(post, design, "enroll", "total").iloc[0]
    w = post[design.weight].to_numpy()
    y = post["enroll"].to_numpy(dtype=float)
    cell_mean = pd.Series(y).groupby(post["stype"].to_numpy()).transform("mean").to_numpy()
    by_hand = np.sqrt(_cluster_variance(w * (y - cell_mean), post["dnum"], 757))
    assert result.se == pytest.approx(by_hand, rel=1e-9)
    assert result.estimate == pytest.approx((w * y).sum())


def test_census_margins_from_age_sex_nationality_table():
    census = pd.DataFrame(
        {
            "age_group": ["0-17", "0-17", "18+", "18+"],
            "sex": ["F", "M", "F", "M"],
            "nationality": ["VEN", "VEN", "COL", "VEN"],
            "population": [10, 12, 30, 28],
        }
    )
    margins = census_margins(census)
    assert margins["sex"] == {"F": 40.0, "M": 40.0}
    assert margins["nationality"] == {"COL": 30.0, "VEN": 50.0}
    crossed = census_margins(census, dimensions=[("age_group", "sex")])
    assert crossed[("age_group", "sex")][("18+", "F")] == 30.0


def test_rake_rejects_cells_without_population(apiclus1):
    from inclusive_cities.surveys import SurveyError

    with pytest.raises(SurveyError, match="no population total"):
        rake(apiclus1, CLUS1, {"stype": {"E": 4421, "H": 755}})


def test_jackknife_total_equals_with_replacement_taylor(apiclus1):
    """For a total, delete-one-PSU JK1 variance equals the with-replacement Taylor one."""
    psus = sorted(apiclus1["dnum"].unique())
    data = apiclus1.copy()
    names = []
    for j, psu in enumerate(psus):
        name = f"rep{j}"
        data[name] = np.where(data["dnum"] == psu, 0.0, data["pw"] * 15 / 14)
        names.append(name)
    design = Design(
        weight="pw", replicate_weights=names, replicate_method="jackknife", replicate_mse=True
    )
    result = estimate(data, design, "enroll", "total").iloc[0]
    assert result.se == pytest.approx(941610.74091198, rel=1e-9)  # R: svytotal, dclus1 w/o fpc
    by = estimate(data, design, "api00", by="stype")
    assert set(by["stype"]) == {"E", "H", "M"}
    assert (by["se"] > 0).all()


def test_brr_with_fay_scaling():
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "w": 1.0})
    data["r1"] = [1.5, 0.5, 1.5, 0.5]
    data["r2"] = [0.5, 1.5, 0.5, 1.5]
    design = Design(
        weight="w",
        replicate_weights=["r1", "r2"],
        replicate_method="brr",
        fay_rho=0.5,
        replicate_mse=True,
    )
    result = estimate(data, design, "y").iloc[0]
    rep1 = (1.5 * 1 + 0.5 * 2 + 1.5 * 3 + 0.5 * 4) / 4
    rep2 = (0.5 * 1 + 1.5 * 2 + 0.5 * 3 + 1.5 * 4) / 4
    expected = ((rep1 - 2.5) ** 2 + (rep2 - 2.5) ** 2) / (2 * 0.5**2)
    assert result.se == pytest.approx(np.sqrt(expected))


def test_rake_persons_to_census_margins_from_the_store(tmp_path):
    from inclusive_cities.surveys import SurveyError
    from inclusive_cities.surveys.calibration import calibrate_persons, census_margins_from_store

    folder = tmp_path / "microdata" / "DEMO" / "2024"
    folder.mkdir(parents=True)
    census = pd.DataFrame(
        {
            "sex": ["female"] * 60 + ["male"] * 50 + ["female"] * 30,
            "age": [10] * 30 + [40] * 30 + [20] * 50 + [70] * 30,
            "nationality": ["venezuelan"] * 80 + ["other_foreign"] * 30 + ["host"] * 30,
        }
    )
    census.to_parquet(folder / "persons.parquet")
    margins = census_margins_from_store("DEMO", "2024", data_dir=tmp_path)
    assert margins["sex"] == {"F": 60.0, "M": 50.0}  # hosts excluded
    assert margins["age_group"] == {"0-14": 30.0, "15-29": 50.0, "30-44": 30.0}
    assert margins["nationality"] == {"OTR": 30.0, "VEN": 80.0}
    rng = np.random.default_rng(5)
    persons = pd.DataFrame(
        {
            "edad": rng.choice([8, 22, 35], 90),
            "sexo": rng.choice(["F", "M"], 90),
            "nacionalidad": rng.choice(["VEN", "OTR"], 90, p=[0.8, 0.2]),
            "peso": 1.0,
        }
    )
    design = Design(
        weight="peso", census_columns={"age": "edad", "sex": "sexo", "nationality": "nacionalidad"}
    )
    raked, raked_design = calibrate_persons(persons, design, margins)
    w = raked[raked_design.weight]
    assert w.groupby(raked["sexo"]).sum().to_dict() == pytest.approx({"F": 60, "M": 50})
    assert w.groupby(raked["nacionalidad"]).sum().to_dict() == pytest.approx({"VEN": 80, "OTR": 30})
    with pytest.raises(SurveyError, match="census_columns"):
        calibrate_persons(persons, Design(weight="peso"), margins)
    with pytest.raises(SurveyError, match="No census persons"):
        census_margins_from_store("DEMO", "2030", data_dir=tmp_path)


def test_quantile_with_replicate_weights_uses_replicate_variance_of_the_cdf():
    rng = np.random.default_rng(11)
    data = pd.DataFrame({"y": rng.normal(50, 10, 200), "w": 1.0})
    groups = np.repeat(np.arange(20), 10)
    names = []
    for g in range(20):  # delete-one-group jackknife
        data[f"r{g}"] = np.where(groups == g, 0.0, 20 / 19)
        names.append(f"r{g}")
    design = Design(weight="w", replicate_weights=names, replicate_method="jackknife")
    result = estimate(data, design, "y", "quantile", quantile=0.5).iloc[0]
    below = (data["y"] <= result.estimate).to_numpy(float)
    shares = np.array([(data[n] * below).sum() / data[n].sum() for n in names])
    se_p = np.sqrt(19 / 20 * ((shares - shares.mean()) ** 2).sum())
    order = np.sort(data["y"].to_numpy())
    low = order[int(np.ceil((0.5 - 1.959963984540054 * se_p) * 200 - 1e-9)) - 1]
    assert result.ci_low == pytest.approx(low)
    assert result.ci_low < result.estimate < result.ci_high


def test_rake_replicate_design_reproduces_r_rake_example(apiclus1):
    """R ?rake: rclus1r <- rake(rclus1, list(~stype, ~sch.wide), list(pop.types,
    pop.schwide)); svymean(~api00, rclus1r) 641.23 (SE 26.87); svytotal(~enroll, rclus1r)
    3647300 (SE 463511). The mean at full precision (641.230246862208) is R's as tabulated
    in Survey.jl's r_reference/rake_results.csv."""
    from .test_estimation_reference import jk1

    data, design = jk1(apiclus1)
    raked, raked_design = rake(
        data,
        design,
        {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE},
        max_iter=10,
        epsilon=1,
        convergence="table",
    )
    assert len(raked_design.replicate_weights) == 15
    mean = estimate(raked, raked_design, "api00").iloc[0]
    assert (round(mean.estimate, 2), round(mean.se, 2)) == (641.23, 26.87)
    assert mean.estimate == pytest.approx(641.230246862208, rel=1e-12)
    total = estimate(raked, raked_design, "enroll", "total").iloc[0]
    assert (round(total.estimate), round(total.se)) == (3647300, 463511)
    for name in raked_design.replicate_weights:  # every replicate meets the margins too
        sums = raked[name].groupby(raked["stype"]).sum()
        assert sums.to_dict() == pytest.approx(POP_TYPES, rel=1e-2)
