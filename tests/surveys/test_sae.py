"""Fay–Herriot EBLUP: R sae's milk example, and better than direct on a simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.surveys import SurveyError
from inclusive_cities.surveys.sae import benchmark, fay_herriot

from .conftest import DATA

# R: sae::eblupFH(yi ~ as.factor(MajorArea), SD^2, method = "REML", data = milk)
R_BETA = [0.9681890, 0.1327801, 0.2269462, -0.2413011]
R_BETA_SE = [0.06936208, 0.10300072, 0.09232981, 0.08161707]
R_EBLUP_FIRST = [1.0219703, 1.0476018, 1.0679513, 0.7608170, 0.8461574]
R_EBLUP_LAST = [0.7481164, 0.8040773, 0.6810870]
R_MSE_FIRST = [0.013460220, 0.005372876, 0.005701990, 0.008541740, 0.009579594]
R_MSE_LAST = [0.005484860, 0.009205133, 0.009903626]


def test_matches_r_sae_eblupfh_on_milk():
    milk = pd.read_csv(DATA / "milk.csv")
    x = pd.get_dummies(milk["MajorArea"], drop_first=True).to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(milk)), x])
    fit = fay_herriot(milk["yi"].to_numpy(), milk["SD"].to_numpy() ** 2, x)
    np.testing.assert_allclose(fit.beta, R_BETA, atol=1e-5)
    np.testing.assert_allclose(fit.beta_se, R_BETA_SE, atol=1e-5)
    np.testing.assert_allclose(fit.eblup[:5], R_EBLUP_FIRST, atol=1e-5)
    np.testing.assert_allclose(fit.eblup[-3:], R_EBLUP_LAST, atol=1e-5)
    np.testing.assert_allclose(fit.mse[:5], R_MSE_FIRST, atol=1e-6)
    np.testing.assert_allclose(fit.mse[-3:], R_MSE_LAST, atol=1e-6)


def test_recovers_known_area_means_better_than_direct():
    rng = np.random.default_rng(20261126)
    m = 60
    covariate = rng.uniform(0, 1, m)
    truth = 0.2 + 0.5 * covariate + rng.normal(0, 0.05, m)
    psi = rng.uniform(0.002, 0.03, m)  # noisy direct estimates (small samples)
    errors_direct, errors_fh = [], []
    for _ in range(40):
        direct = truth + rng.normal(0, np.sqrt(psi))
        fit = fay_herriot(direct, psi, np.column_stack([np.ones(m), covariate]))
        errors_direct.append(np.mean((direct - truth) ** 2))
        errors_fh.append(np.mean((fit.eblup - truth) ** 2))
    assert np.mean(errors_fh) < 0.6 * np.mean(errors_direct)
    # the estimated MSE is on the scale of the realised error
    assert 0.5 < np.mean(fit.mse) / np.mean(errors_fh) < 2.0


def test_benchmarking_adds_up_to_the_whole():
    estimates = np.array([0.2, 0.4, 0.6])
    shares = np.array([0.5, 0.3, 0.2])
    adjusted = benchmark(estimates, shares, target=0.40)
    assert float(np.sum(shares * adjusted)) == pytest.approx(0.40)
    assert adjusted[1] / adjusted[0] == pytest.approx(2.0)


def test_bad_inputs():
    with pytest.raises(SurveyError, match="more areas"):
        fay_herriot(np.array([1.0, 2.0]), np.array([0.1, 0.1]), np.ones((2, 2)))
    with pytest.raises(SurveyError, match="positive variance"):
        fay_herriot(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.0, 0.1]), np.ones(3))


def test_layer_replaces_unreliable_units_by_benchmarked_eblup():
    from inclusive_cities.indicators import catalogue_from_text
    from inclusive_cities.surveys import Design, estimate
    from inclusive_cities.surveys.layers import compute_layer

    rng = np.random.default_rng(7)
    units = [f"U{i:02d}" for i in range(30)]
    covariate = pd.Series(np.linspace(0, 1, 30), index=units)
    rows = []
    for i, unit in enumerate(units):
        size = 12 if i % 3 else 80  # two thirds of the units have small samples
        p = 0.2 + 0.5 * covariate[unit]
        for j in range(size):
            rows.append(
                {
                    "unit_code": unit,
                    "psu": f"{unit}-{j % 4}",
                    "w": 10.0,
                    "ingreso": float(rng.normal(1000 * p, 900)),
                }
            )
    data = pd.DataFrame(rows)
    design = Design(weight="w", psu="psu")
    indicator = catalogue_from_text(
        "survey_variables: {households: {ingreso: decimal}}\n"
        "indicators:\n  x:\n    record: survey\n    name: {es: x, en: x}\n"
        "    table: households\n    statistic: mean\n    value: ingreso\n    unit: COP\n"
    )["x"]
    identity = {u: u for u in units}
    direct = compute_layer({"households": data}, design, indicator, units, identity, 10)
    covariates = covariate.to_frame("c")
    table = compute_layer(
        {"households": data}, design, indicator, units, identity, 10, covariates
    ).set_index("unit")
    direct = direct.set_index("unit")
    replaced = table[table["method"] == "fay_herriot"].index
    assert len(replaced) > 0
    assert (direct.loc[replaced, "cv"] > 0.3).all()
    kept = table.index.difference(replaced)
    assert (table.loc[kept, "estimate"] == direct.loc[kept, "estimate"]).all()
    # independently: fit, benchmark to the city's direct mean with population shares
    fit = fay_herriot(
        direct["estimate"].to_numpy(),
        direct["se"].to_numpy() ** 2,
        np.column_stack([np.ones(30), covariate.to_numpy()]),
    )
    shares = data.groupby("unit_code")["w"].sum().reindex(units)
    city = estimate(data, design, "ingreso").iloc[0]["estimate"]
    expected = benchmark(fit.eblup, (shares / shares.sum()).to_numpy(), city)
    position = [units.index(u) for u in replaced]
    np.testing.assert_allclose(table.loc[replaced, "estimate"], expected[position])
    np.testing.assert_allclose(table.loc[replaced, "se"], np.sqrt(fit.mse[position]))
    assert (table.loc[replaced, "se"] < direct.loc[replaced, "se"]).all()
