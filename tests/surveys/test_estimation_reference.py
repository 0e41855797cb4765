"""Our estimates against R's survey package on its api data (see data/README.md).

R calls reproduced: dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc,
data=apistrat); dclus1 <- svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1).
Printed R output (?svymean, ?svyby): svymean(~api00, dstrat) 662.29 (SE 9.4089);
svytotal(~enroll, dstrat) 3687178 (SE 114642); svymean(~api00, dclus1) 644.17 (SE 23.542).
Full-precision values from R as tabulated in xKDR/Survey.jl test/r_reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.surveys import Design, estimate

STRAT = Design(weight="pw", strata="stype", fpc="fpc")
CLUS1 = Design(weight="pw", psu="dnum", fpc="fpc")
CLUS1_NOFPC = Design(weight="pw", psu="dnum")


def one(frame: pd.DataFrame) -> pd.Series:
    assert len(frame) == 1
    return frame.iloc[0]


def test_stratified_mean_total_ratio(apistrat):
    mean = one(estimate(apistrat, STRAT, "api00", "mean"))
    assert round(mean.estimate, 2) == 662.29
    assert round(mean.se, 4) == 9.4089
    assert mean.se == pytest.approx(9.408940879434, rel=1e-7)  # reference used pw = N/n
    total = one(estimate(apistrat, STRAT, "enroll", "total"))
    assert round(total.estimate) == 3687178
    assert round(total.se) == 114642
    ratio = one(estimate(apistrat, STRAT, "api00", "ratio", denominator="enroll"))
    assert ratio.estimate == pytest.approx(1.11256046332155, rel=1e-7)
    assert ratio.se == pytest.approx(0.0413595064404803, rel=1e-6)
    assert mean.n == 200
    assert mean.ci_low == pytest.approx(mean.estimate - 1.959963984540054 * mean.se)
    assert mean.cv == pytest.approx(mean.se / mean.estimate)


def test_stratified_without_fpc(apistrat):
    design = Design(weight="pw", strata="stype")
    mean = one(estimate(apistrat, design, "api00"))
    assert mean.se == pytest.approx(9.53613229692516, rel=1e-9)
    total = one(estimate(apistrat, design, "enroll", "total"))
    assert total.se == pytest.approx(117319.085968965, rel=1e-9)


def test_cluster_mean_and_total(apiclus1):
    mean = one(estimate(apiclus1, CLUS1, "api00"))
    assert round(mean.estimate, 2) == 644.17
    assert round(mean.se, 3) == 23.542
    assert mean.se == pytest.approx(23.5422406937812, rel=1e-9)
    total = one(estimate(apiclus1, CLUS1_NOFPC, "enroll", "total"))
    assert total.estimate == pytest.approx(3404940.13452911, rel=1e-9)
    assert total.se == pytest.approx(941610.74091198, rel=1e-9)
    ratio = one(estimate(apiclus1, CLUS1, "api00", "ratio", denominator="enroll"))
    assert ratio.se == pytest.approx(0.126274636133836, rel=1e-8)


def test_domains_svyby_cluster(apiclus1):
    # R: svyby(~api00, ~cname, dclus1, svymean); reference domain.csv (clus1_fpc).
    expected = {
        "Los Angeles": (647.266666666667, 17.2495860301136),
        "San Diego": (659.436363636363, 2.2968004951743),
        "Santa Clara": (732.076923076923, 15.772923782601),
        "Kern": (452.5, 0.0),
    }
    result = estimate(apiclus1, CLUS1, "api00", by="cname").set_index("cname")
    assert len(result) == 11
    for name, (mean, se) in expected.items():
        assert result.loc[name, "estimate"] == pytest.approx(mean, rel=1e-10)
        assert result.loc[name, "se"] == pytest.approx(se, rel=1e-8, abs=1e-9)


def test_domains_svyby_stratified(apistrat):
    # R: svyby(~api00, ~awards, dstrat, svymean) and svytotal
    result = estimate(apistrat, STRAT, "api00", by="awards").set_index("awards")
    assert result.loc["No", "se"] == pytest.approx(15.3347711842501, rel=1e-6)
    assert result.loc["Yes", "se"] == pytest.approx(11.8566310509714, rel=1e-6)
    totals = estimate(apistrat, STRAT, "api00", "total", by="awards").set_index("awards")
    assert totals.loc["No", "estimate"] == pytest.approx(1417303.77, rel=1e-6)
    assert totals.loc["Yes", "se"] == pytest.approx(152042.166199407, rel=1e-6)


def test_subsetting_first_gives_a_different_wrong_se(apiclus1):
    """Dropping rows outside the domain drops PSUs: the SE is no longer R's."""
    reference_se = 17.2495860301136  # R: svyby(~api00, ~cname, dclus1, svymean), Los Angeles
    domain = estimate(apiclus1, CLUS1, "api00", by="cname").set_index("cname")
    assert domain.loc["Los Angeles", "se"] == pytest.approx(reference_se, rel=1e-9)
    subset = apiclus1[apiclus1["cname"] == "Los Angeles"]
    naive = one(estimate(subset, CLUS1, "api00"))
    assert naive.estimate == pytest.approx(domain.loc["Los Angeles", "estimate"])
    assert abs(naive.se - reference_se) / reference_se > 0.3  # 23.77 vs 17.25
    # By hand: all 15 PSUs stay in the variance; PSUs outside the domain total zero.
    w = apiclus1["pw"].to_numpy()
    d = (apiclus1["cname"] == "Los Angeles").to_numpy()
    y = apiclus1["api00"].to_numpy(dtype=float)
    mean = (w * d * y).sum() / (w * d).sum()
    z = pd.Series(w * d * (y - mean) / (w * d).sum()).groupby(apiclus1["dnum"]).sum()
    totals = z.to_numpy()
    n = len(totals)
    assert n == 15
    by_hand = np.sqrt((1 - n / 757) * n / (n - 1) * ((totals - totals.mean()) ** 2).sum())
    assert by_hand == pytest.approx(reference_se, rel=1e-9)


def test_proportions_each_category(apistrat):
    result = estimate(apistrat, STRAT, "awards", "proportion").set_index("category")
    assert result["estimate"].sum() == pytest.approx(1.0)
    # a proportion equals the mean of its indicator
    indicator = apistrat.assign(yes=(apistrat["awards"] == "Yes").astype(float))
    mean = one(estimate(indicator, STRAT, "yes"))
    assert result.loc["Yes", "estimate"] == pytest.approx(mean.estimate)
    assert result.loc["Yes", "se"] == pytest.approx(mean.se)
    assert result.loc["No", "se"] == pytest.approx(mean.se)


def test_missing_answers_follow_domain_semantics(apistrat):
    holes = apistrat.copy()
    holes.loc[holes.index[:20], "api00"] = np.nan
    with_missing = one(estimate(holes, STRAT, "api00"))
    flagged = holes.assign(answered=holes["api00"].notna())
    as_domain = estimate(flagged, STRAT, "api00", by="answered")
    assert with_missing.n == 180
    answered = one(as_domain[as_domain["answered"]])
    assert with_missing.se == pytest.approx(answered.se)
    assert with_missing.estimate == pytest.approx(answered.estimate)


def test_deff_is_one_for_simple_random_sampling():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"y": rng.normal(10, 2, 400), "w": 25.0, "N": 10000})
    result = one(estimate(data, Design(weight="w", fpc="N"), "y"))
    assert result.deff == pytest.approx(1.0, rel=1e-9)
    clustered = data.assign(psu=np.repeat(np.arange(40), 10))
    clustered["y"] = clustered["y"] + np.repeat(rng.normal(0, 3, 40), 10)
    deff = one(estimate(clustered, Design(weight="w", psu="psu", fpc="N"), "y")).deff
    assert deff > 2


def test_quality_flags():
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"y": rng.exponential(1, 60), "g": ["a"] * 55 + ["b"] * 5, "w": 1.0})
    data.loc[data["g"] == "b", "y"] = [0.01, 0.01, 0.02, 3.0, 0.01]
    result = estimate(data, Design(weight="w"), "y", by="g").set_index("g")
    assert not result.loc["a", "low_n"] and result.loc["b", "low_n"]
    assert result.loc["b", "cv"] > 0.3 and result.loc["b", "unreliable"]
    assert result.loc["a", "cv"] < 0.3 and not result.loc["a", "unreliable"]


def test_quantile_math_rule_and_woodruff_interval():
    data = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10], "w": [1.0] * 10})
    result = one(estimate(data, Design(weight="w"), "y", "quantile", quantile=0.5))
    assert result.estimate == 5.0  # smallest y with F(y) >= 0.5
    assert result.ci_low <= 5.0 <= result.ci_high
    weighted = data.assign(w=[1.0, 1, 1, 1, 1, 1, 1, 1, 1, 10])
    assert one(estimate(weighted, Design(weight="w"), "y", "quantile")).estimate == 10.0


def test_factor_means_and_totals_as_printed_in_the_survey_tutorial(apiclus1):
    # R survey tutorial (example-summary): svymean(~api00+api99+stype, dclus1) and
    # svytotal(~enroll+stype, dclus1)
    shares = estimate(apiclus1, CLUS1, "stype", "proportion").set_index("category")
    for stype, (mean, se) in {
        "E": (0.786885, 0.0463),
        "H": (0.076503, 0.0268),
        "M": (0.136612, 0.0296),
    }.items():
        assert round(shares.loc[stype, "estimate"], 6) == mean
        assert round(shares.loc[stype, "se"], 4) == se
    counts = apiclus1.assign(**{f"is_{s}": (apiclus1["stype"] == s).astype(float) for s in "EHM"})
    for stype, (total, se) in {
        "E": (4873.97, 1333.32),
        "H": (473.86, 158.70),
        "M": (846.17, 167.55),
    }.items():
        row = one(estimate(counts, CLUS1, f"is_{stype}", "total"))
        assert round(row.estimate, 2) == total
        assert round(row.se, 2) == se
    enroll = one(estimate(apiclus1, CLUS1, "enroll", "total"))
    assert round(enroll.estimate, 2) == 3404940.13
    assert round(enroll.se, 2) == 932235.03


def jk1(apiclus1: pd.DataFrame) -> tuple[pd.DataFrame, Design]:
    """R's as.svrepdesign(dclus1): delete-one-district JK1, scale (n-1)/n·(1-n/N)."""
    data = apiclus1.copy()
    names = []
    for j, district in enumerate(sorted(data["dnum"].unique())):
        data[f"rep{j}"] = np.where(data["dnum"] == district, 0.0, data["pw"] * 15 / 14)
        names.append(f"rep{j}")
    design = Design(
        weight="pw",
        replicate_weights=names,
        replicate_method="jackknife",
        replicate_scale=14 / 15 * (1 - 15 / 757),
    )
    return data, design


def test_jackknife_replicates_as_printed_by_r(apiclus1):
    # R ?rake example: rclus1 <- as.svrepdesign(dclus1); svymean(~api00, rclus1) 644.17
    # (SE 26.329); svytotal(~enroll, rclus1) 3404940 (SE 932235); tutorial: stype SEs
    data, design = jk1(apiclus1)
    mean = one(estimate(data, design, "api00"))
    assert (round(mean.estimate, 2), round(mean.se, 3)) == (644.17, 26.329)
    assert round(mean.se, 4) == 26.3294
    total = one(estimate(data, design, "enroll", "total"))
    assert (round(total.estimate), round(total.se)) == (3404940, 932235)
    shares = estimate(data, design, "stype", "proportion").set_index("category")
    assert [round(shares.loc[s, "se"], 4) for s in "EHM"] == [0.0514, 0.0278, 0.0332]


def test_two_stage_cluster_sample_with_fpc_at_both_stages():
    # R: dclus2 <- svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2);
    # svymean(~api00, dclus2) 670.81 (SE 30.099); svytotal(~enroll, dclus2, na.rm=TRUE)
    # 2639273 (SE 799638)
    from .conftest import DATA

    data = pd.read_csv(DATA / "apiclus2.csv").assign(fpc1=757)
    design = Design(weight="pw", psu="dnum", fpc="fpc1", ssu="snum", fpc2="fpc2")
    mean = one(estimate(data, design, "api00"))
    assert (round(mean.estimate, 2), round(mean.se, 3)) == (670.81, 30.099)
    total = one(estimate(data, design, "enroll", "total"))
    assert (round(total.estimate), round(total.se)) == (2639273, 799638)
    assert total.n == 120  # six schools without enrolment are outside the domain
    first_stage_only = one(estimate(data, Design(weight="pw", psu="dnum", fpc="fpc1"), "api00"))
    assert first_stage_only.se < mean.se
    # domains agree with svy's two-stage estimator
    import polars as pl
    from svy import Design as SvyDesign
    from svy import PopSize, Sample

    data["high"] = np.where(data["pw"] > 20, "yes", "no")
    sample = Sample(
        pl.from_pandas(data),
        SvyDesign(wgt="pw", psu="dnum", ssu="snum", pop_size=PopSize(psu="fpc1", ssu="fpc2")),
    )
    theirs = sample.estimation.mean("api00", by="high").to_polars().to_pandas()
    ours = estimate(data, design, "api00", by="high").merge(theirs, on="high")
    assert len(ours) == 2
    np.testing.assert_allclose(ours["se_x"], ours["se_y"], rtol=1e-9)
