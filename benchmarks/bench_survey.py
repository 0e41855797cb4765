"""Survey estimation: 50 domain means with Taylor SEs, ours against a pandas loop per domain.

A synthetic stratified cluster sample (200,000 respondents, 20 strata, 2,000 PSUs) is
estimated for 50 domains (25 neighbourhoods × 2 sexes). Ours computes every domain in one
vectorised pass (`inclusive_cities.surveys.estimate(..., by=[...])`); the baseline is what
an analyst would write with pandas: for each domain, build the linearised variable on the
full design, sum it by PSU, take the stratum variances. ``svy`` (0.35, the maintained
successor of samplics) is timed as a second reference. All give identical SEs (checked).

    .venv/bin/python benchmarks/bench_survey.py --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from inclusive_cities.surveys import Design, estimate


def make_sample(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 2000, n)
    stratum = psu // 100
    barrio = rng.integers(0, 25, n)
    sex = rng.choice(["F", "M"], n)
    y = 10 + rng.normal(0, 1, 2000)[psu] + 0.1 * barrio + rng.normal(0, 3, n)
    return pd.DataFrame(
        {
            "stratum": stratum,
            "psu": psu,
            "barrio": barrio,
            "sex": sex,
            "y": y,
            "w": rng.uniform(50, 150, n),
        }
    )


def naive(data: pd.DataFrame) -> pd.DataFrame:
    """One full-design Taylor linearisation per domain, with pandas group-bys."""
    rows = []
    n_h = data.groupby("stratum")["psu"].nunique()
    for (barrio, sex), _group in data.groupby(["barrio", "sex"]):
        d = ((data["barrio"] == barrio) & (data["sex"] == sex)).astype(float)
        wd = data["w"] * d
        mean = (wd * data["y"]).sum() / wd.sum()
        z = wd * (data["y"] - mean) / wd.sum()
        totals = z.groupby([data["stratum"], data["psu"]]).sum()
        by_stratum = totals.groupby(level=0)
        centred = (totals - by_stratum.transform("mean")) ** 2
        variance = (centred.groupby(level=0).sum() * n_h / (n_h - 1)).sum()
        rows.append({"barrio": barrio, "sex": sex, "estimate": mean, "se": np.sqrt(variance)})
    return pd.DataFrame(rows)


def with_svy(data: pd.DataFrame) -> pd.DataFrame:
    import polars as pl
    from svy import Design as SvyDesign
    from svy import Sample

    frame = pl.from_pandas(data.assign(domain=data["barrio"].astype(str) + "_" + data["sex"]))
    sample = Sample(frame, SvyDesign(wgt="w", psu="psu", stratum="stratum"))
    result = sample.estimation.mean("y", by="domain").to_polars().to_pandas()
    return result.sort_values("domain").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = make_sample(args.n)
    design = Design(weight="w", strata="stratum", psu="psu")
    ours_times, naive_times, svy_times = [], [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        reference = with_svy(data)
        svy_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        ours = estimate(data, design, "y", by=["barrio", "sex"])
        ours_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        base = naive(data)
        naive_times.append(time.perf_counter() - start)
    assert len(ours) == len(base) == 50
    np.testing.assert_allclose(ours["se"].to_numpy(), base["se"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours["estimate"].to_numpy(), base["estimate"].to_numpy())
    by_label = ours.assign(domain=ours["barrio"].astype(str) + "_" + ours["sex"])
    by_label = by_label.sort_values("domain").reset_index(drop=True)
    np.testing.assert_allclose(by_label["se"].to_numpy(), reference["se"].to_numpy(), rtol=1e-9)
    svy_median = statistics.median(svy_times)
    ours_median, naive_median = statistics.median(ours_times), statistics.median(naive_times)
    print(f"respondents: {args.n:,}  domains: {len(ours)}  repeats: {args.repeat}")
    print(f"ours (vectorised, all domains): median {ours_median:.3f} s")
    print(f"naive pandas loop per domain:   median {naive_median:.3f} s")
    print(f"svy 0.35 Sample.estimation.mean(by=...): median {svy_median:.3f} s")
    print(f"ratio naive/ours: {naive_median / ours_median:.1f}x (identical SEs)")
    print(f"ratio svy/ours: {svy_median / ours_median:.1f}x (identical SEs)")


if __name__ == "__main__":
    main()
