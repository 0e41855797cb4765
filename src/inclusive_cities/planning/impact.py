"""Impact measurement: did what a city built change its neighbourhoods?

Intervention units come from projects with a start date (``planning_projects``) or from a
list the user gives; comparison units are matched on the pre-intervention marker and
indicators. Four estimators, each returning the estimate, its standard error, 95 % CI,
p-value, sizes and a plain-words reading for a planner:

- :func:`did`: difference-in-differences with two-way fixed effects and standard errors
  clustered by unit (statsmodels);
- :func:`callaway_santanna`: staggered starts, group-time ATTs and their event-study and
  group aggregations (the ``differences`` package, Callaway and Sant'Anna 2021);
- :func:`synthetic_control`: one treated area (``pysyncon``), with in-space placebo tests;
- :func:`survey_did`: the change between two survey rounds in intervention and comparison
  areas with design-based standard errors (``surveys.estimate``).

Heavy packages are imported inside the functions that use them.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.errors import PlanningError
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.store import models
from inclusive_cities.store.engine import transaction

Method = Literal["did", "cs", "synth"]
METHODS: tuple[str, ...] = ("did", "cs", "synth")
MATCHING: tuple[str, ...] = ("nearest", "mahalanobis")
MARKER = "marker"
LEVEL = 0.95
PLACEBO_FIT = 5.0
# Below this many intervention units, errors clustered by unit say nothing about the treated
# units' own noise (Conley and Taber 2011; MacKinnon and Webb 2017): use placebo inference.
FEW_TREATED = 10
PLACEBO_DRAWS = 1999
# The synthetic control's only check is its fit before the start, and a mix of T0 + 1 donors
# can match any T0 pre-period values inside the donors' range exactly (Carathéodory): with
# one pre-period any two donors around the treated value "fit" (trial #3 F6). Abadie (2021,
# JEL 59(2), "Using synthetic controls") advises against the method with a short
# pre-period; its classic uses have 15-30 (Abadie et al. 2003, 2010, 2015). Five is a
# floor below which the fit is hardly a check at all, not a recommendation.
MIN_SYNTH_PRE = 5
Inference = Literal["auto", "cluster", "placebo"]


class ImpactError(PlanningError):
    """Nothing can be estimated from what was given (one period, no treated unit, ...)."""


@dataclass
class ImpactResult:
    """One impact estimate with its precision and the tables a page or report draws."""

    method: str
    outcome: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_comparison: int
    n_obs: int
    outcome_label: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        """At the 5 % level: the 95 % interval leaves out zero (for the synthetic control and
        placebo inference, the placebo p-value is below 0.05)."""
        if self.method == "synth" or self.details.get("inference") == "placebo":
            return bool(self.p_value < 1 - LEVEL)
        return bool(self.ci_low > 0 or self.ci_high < 0)

    @property
    def placebos_needed(self) -> int:
        """How many placebos a 95 % interval needs (for the page that says why it has none)."""
        return placebos_needed()

    @property
    def has_interval(self) -> bool:
        """A 95 % interval could be computed (not from too few placebos)."""
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)

    def verdict(self) -> str:
        """The estimate in plain words, in the current language."""
        what = self.outcome_label or self.outcome
        ends = [abs(v) for v in (self.estimate, self.ci_low, self.ci_high) if math.isfinite(v)]
        digits = _digits(max(ends, default=math.nan))
        numbers = {
            "what": what,
            "effect": _number(self.estimate, digits),
            "low": _number(self.ci_low, digits),
            "high": _number(self.ci_high, digits),
            "p": _p_text(self.p_value),
        }
        if self.significant:
            direction = (
                _("The intervention raised the indicator “{what}” by {effect}")
                if self.estimate > 0
                else _("The intervention lowered the indicator “{what}” by {effect}")
            )
            text = direction.format(**{**numbers, "effect": _number(abs(self.estimate), digits)})
            return text + _(
                " (95 % CI {low} to {high}, p {p}): significant, unlikely to be chance."
            ).format(**numbers)
        if not self.has_interval:
            return _(
                "No clear effect on the indicator “{what}”: the estimate is {effect} (p {p}): "
                "not significant, it could be chance."
            ).format(**numbers)
        return _(
            "No clear effect on the indicator “{what}”: the estimate is {effect} (95 % CI {low} "
            "to {high}, "
            "p {p}): not significant, it could be chance."
        ).format(**numbers)

    def sizes_text(self) -> str:
        """How many units each side had, in plain words (no plural agreement to get wrong)."""
        if self.method == "synth" and "donors" in self.details:
            return _(
                "Intervention units: {treated}; comparison units weighed in the synthetic mix: "
                "{comparison} of {donors}."
            ).format(
                treated=self.n_treated, comparison=self.n_comparison, donors=self.details["donors"]
            )
        return _("Intervention units: {treated}; comparison units: {comparison}.").format(
            treated=self.n_treated, comparison=self.n_comparison
        )

    def caveats(self) -> list[str]:
        """Warnings about this estimate in particular, in the current language."""
        notes = []
        if self.details.get("staggered"):
            notes.append(
                _(
                    "The projects started in different periods: difference-in-differences can "
                    "mislead when effects differ between start groups; compare with --method cs."
                )
            )
        if self.details.get("inference") == "placebo":
            notes.append(
                (
                    _(
                        "Only one intervention unit: errors clustered by unit cannot measure its "
                        "own noise, so the precision comes from {m} placebos (comparison units "
                        "given the intervention's dates, Conley and Taber 2011)."
                    )
                    if self.n_treated == 1
                    else _(
                        "Only {n} intervention units: errors clustered by unit cannot measure "
                        "their own noise, so the precision comes from {m} placebos (comparison "
                        "units given the intervention's dates, Conley and Taber 2011)."
                    )
                ).format(n=self.n_treated, m=self.details["placebos"])
            )
        placebos = self.details.get("placebos")
        by_placebo = self.method == "synth" or self.details.get("inference") == "placebo"
        if by_placebo and placebos is not None and too_few_placebos(placebos):
            notes.append(
                _(
                    "Only {n} comparison units could serve as placebos: the smallest p-value "
                    "possible is 1 in {m} ({p}), so with so few comparison units this test "
                    "cannot find an effect significant, however large the gap. Read the gap "
                    "and the chart rather than the p-value."
                ).format(n=placebos, m=placebos + 1, p=format_number(1 / (placebos + 1), 3))
            )
        return notes

    def assumptions(self) -> str:
        """What the estimate rests on, for a planner, in the current language."""
        texts = {
            "did": _(
                "Difference-in-differences compares how the intervention units changed with how "
                "the comparison units changed over the same periods. It assumes both would have "
                "followed parallel paths without the projects, and that the projects did not "
                "affect the comparison units."
            )
            + " "
            + (
                (
                    _(
                        "The interval and p-value come from placebos: the same estimate with "
                        "comparison units given the intervention units' dates (Conley and Taber "
                        "2011), which assumes the comparison units' changes are like the "
                        "intervention units' would have been."
                    )
                    if self.has_interval
                    else _(
                        "The p-value comes from placebos: the same estimate with comparison "
                        "units given the intervention units' dates (Conley and Taber 2011), "
                        "which assumes the comparison units' changes are like the intervention "
                        "units' would have been."
                    )
                )
                if self.details.get("inference") == "placebo"
                else _("Standard errors are clustered by unit.")
            ),
            "cs": _(
                "Callaway and Sant'Anna's estimator compares each group of units that started in "
                "the same period with units never treated, period by period, and averages the "
                "effects by time since the start. It assumes parallel paths without the "
                "projects and no effect before the start; it stays right when effects differ "
                "between groups or grow over time."
            ),
            "synth": _(
                "The synthetic control builds a weighted mix of untreated units that followed the "
                "treated area before the start; the effect is the gap after. It assumes the mix "
                "would have kept following the area without the project. The p-value ranks the "
                "gap among placebo gaps of each untreated unit; the interval comes from the "
                "spread of the placebo gaps."
            ),
            "survey": _(
                "The survey estimate compares the change between two survey rounds in "
                "intervention areas with the change in comparison areas, with standard errors "
                "from the sample design. It assumes parallel changes without the projects and "
                "comparable questions in both rounds."
            ),
        }
        return texts[self.method]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the numbers, the plain-words texts and every table as records."""
        return {
            "method": self.method,
            "outcome": self.outcome,
            "outcome_label": self.outcome_label or self.outcome,
            "estimate": _finite(self.estimate),
            "se": _finite(self.se),
            "ci_low": _finite(self.ci_low),
            "ci_high": _finite(self.ci_high),
            "p_value": _finite(self.p_value),
            "n_treated": self.n_treated,
            "n_comparison": self.n_comparison,
            "n_obs": self.n_obs,
            "significant": self.significant,
            "verdict": self.verdict(),
            "assumptions": self.assumptions(),
            "caveats": self.caveats(),
            "tables": {
                name: [
                    {k: _json_value(v) for k, v in row.items()} for row in table.to_dict("records")
                ]
                for name, table in self.tables.items()
            },
        }


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _finite(float(value))
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def too_few_placebos(placebos: int) -> bool:
    """The smallest p-value ``placebos`` allow, 1 in ``placebos + 1``, is not below 5 %: no
    test at that level and no 95 % interval can come from them."""
    return 1 / (placebos + 1) >= (1 - LEVEL) - 1e-12  # 1 - 0.95 is 0.0500...04 in floats


def placebos_needed() -> int:
    """The fewest placebos whose smallest p-value is below 5 % (20)."""
    return next(n for n in range(1, 10_000) if not too_few_placebos(n))


def _digits(size: float) -> int:
    """Enough decimals for a planner to read the number, no more."""
    if not math.isfinite(size):
        return 2
    return 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3


def p_value_text(p_value: float) -> str:
    """A p-value for a table: '0.034' or '< 0.001', never '0.000'; '-' when unknown."""
    return _p_text(p_value).removeprefix("= ")


def _p_text(p_value: float) -> str:
    """'= 0.034' or '< 0.001': a p-value is never printed as zero."""
    if not math.isfinite(p_value):
        return "= -"
    if p_value < 0.001:
        return "< " + format_number(0.001, 3)
    return "= " + format_number(p_value, 3)


def _number(value: float, digits: int | None = None) -> str:
    if not math.isfinite(value):
        return "-"
    return format_number(value, _digits(abs(value)) if digits is None else digits)


def _normal_result(
    method: str,
    outcome: str,
    estimate: float,
    se: float,
    *,
    n_treated: int,
    n_comparison: int,
    n_obs: int,
    df: float | None = None,
) -> ImpactResult:
    """CI and two-sided p-value from a normal (or Student t with ``df``) reference."""
    from scipy import stats

    dist = stats.t(df) if df is not None and df > 0 else stats.norm()
    crit = float(dist.ppf(0.5 + LEVEL / 2))
    if se > 0 and math.isfinite(se):
        p_value = float(2 * dist.sf(abs(estimate) / se))
    else:
        p_value = float("nan")
    return ImpactResult(
        method=method,
        outcome=outcome,
        estimate=float(estimate),
        se=float(se),
        ci_low=float(estimate - crit * se),
        ci_high=float(estimate + crit * se),
        p_value=p_value,
        n_treated=n_treated,
        n_comparison=n_comparison,
        n_obs=n_obs,
    )


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ImpactError(
            _("The {what} has no column {columns}: it has {present}.").format(
                what=what, columns=", ".join(missing), present=", ".join(map(str, frame.columns))
            )
        )


# ---------------------------------------------------------------- estimators on DataFrames


def did(
    panel: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "period",
    outcome: str = "y",
    treated: str = "treated",
    post: str = "post",
    outcome_name: str | None = None,
    inference: Inference = "auto",
) -> ImpactResult:
    """Two-way fixed-effects difference-in-differences with SEs clustered by unit.

    ``treated`` marks intervention units (constant within a unit), ``post`` the periods
    from the start on; the effect is the coefficient of treated × post after unit and
    period effects are swept out. Only units observed in every period are used (a
    balanced panel makes the double demeaning exact); the inference uses Student t with
    G - 1 degrees of freedom (G clusters).

    With fewer than ``FEW_TREATED`` intervention units (``inference="auto"``) the cluster
    SE is too small (it cannot see the treated units' own noise), so the CI and p-value
    come from placebos instead: :func:`placebo_inference`."""
    import statsmodels.api as sm

    _require_columns(panel, [unit, time, outcome, treated, post], "panel")
    data = panel[[unit, time, outcome, treated, post]].dropna(subset=[outcome]).copy()
    periods = data[time].nunique()
    if periods < 2:
        raise ImpactError(
            _(
                "Only one period has values of {outcome}: impact needs a period before and one "
                "after the start. Import the next period's data first."
            ).format(outcome=outcome_name or outcome)
        )
    counts = data.groupby(unit)[time].nunique()
    data = data[data[unit].isin(counts.index[counts == periods])]
    d = (data[treated].astype(bool) & data[post].astype(bool)).astype(float)
    groups = data.groupby(unit)[treated].first().astype(bool)
    n_treated, n_comparison = int(groups.sum()), int((~groups).sum())
    if n_treated == 0 or n_comparison == 0 or not (d > 0).any() or (d == 0).all():
        raise ImpactError(
            _(
                "There is nothing to compare for {outcome}: {treated} intervention and "
                "{comparison} comparison units with values in every period, and the "
                "intervention needs periods before and after its start."
            ).format(outcome=outcome_name or outcome, treated=n_treated, comparison=n_comparison)
        )
    y = data[outcome].astype(float)

    def sweep(values: pd.Series) -> pd.Series:
        unit_mean = values.groupby(data[unit]).transform("mean")
        time_mean = values.groupby(data[time]).transform("mean")
        return values - unit_mean - time_mean + values.mean()

    y_w, d_w = sweep(y), sweep(d)
    model = sm.OLS(y_w.to_numpy(), d_w.to_numpy()[:, None])
    fit = model.fit(
        cov_type="cluster",
        cov_kwds={"groups": pd.factorize(data[unit])[0]},
        use_t=True,
    )
    result = _normal_result(
        "did",
        outcome,
        float(fit.params[0]),
        float(fit.bse[0]),
        n_treated=n_treated,
        n_comparison=n_comparison,
        n_obs=len(data),
        df=n_treated + n_comparison - 1,
    )
    if inference == "placebo" or (inference == "auto" and n_treated < FEW_TREATED):
        placebo_inference(
            result, data, unit=unit, time=time, outcome=outcome, treated=treated, post=post
        )
    trend = (
        data.assign(group=np.where(data[treated].astype(bool), "treated", "comparison"))
        .groupby([time, "group"], sort=True)[outcome]
        .mean()
        .reset_index()
        .rename(columns={time: "period", outcome: "value"})
    )
    result.tables["trend"] = trend
    return result


def _twfe_slope(y_swept: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The two-way fixed-effects slope for each treatment matrix of ``d`` (draws × units ×
    periods) on a balanced panel whose outcome is already double-demeaned."""
    d_swept = d - d.mean(axis=2, keepdims=True) - d.mean(axis=1, keepdims=True)
    d_swept += d.mean(axis=(1, 2), keepdims=True)
    return np.einsum("up,dup->d", y_swept, d) / np.einsum("dup,dup->d", d_swept, d_swept)


def placebo_inference(
    result: ImpactResult,
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    post: str,
    draws: int = PLACEBO_DRAWS,
    seed: int = 20110101,
) -> None:
    """Replace a DiD result's CI and p-value with ones from placebos (Conley and Taber 2011).

    Each placebo gives the intervention units' treatment dates to as many comparison units
    and estimates the same regression among comparison units only: what the estimator
    returns when nothing happened. Every such choice is used when there are at most
    ``draws`` of them, otherwise ``draws`` seeded random ones. The p-value is the share of
    placebos at least as large (in absolute value) as the estimate, counting the estimate
    itself; the 95 % CI is the estimate minus the placebos' 97.5 and 2.5 percentiles; the
    SE is their standard deviation."""
    from itertools import combinations
    from math import comb

    wide_y = data.pivot(index=unit, columns=time, values=outcome).astype(float)
    wide_d = data.pivot(index=unit, columns=time, values=post).astype(float)
    is_treated = data.groupby(unit)[treated].first().astype(bool)
    treated_rows = wide_d.loc[is_treated[is_treated].index].to_numpy()
    controls = wide_y.loc[is_treated[~is_treated].index].to_numpy()
    k, pool = treated_rows.shape[0], controls.shape[0]
    if pool < k:
        return
    y_swept = controls - controls.mean(axis=1, keepdims=True) - controls.mean(axis=0)
    y_swept += controls.mean()
    if comb(pool, k) <= draws:
        choices = np.array(list(combinations(range(pool), k)), dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        choices = np.array([rng.choice(pool, size=k, replace=False) for _ in range(draws)])
    estimates = np.empty(len(choices))
    for start in range(0, len(choices), 256):
        chunk = choices[start : start + 256]
        d = np.zeros((len(chunk), pool, controls.shape[1]))
        for position in range(k):
            d[np.arange(len(chunk)), chunk[:, position], :] = treated_rows[position]
        estimates[start : start + len(chunk)] = _twfe_slope(y_swept, d)
    estimates = estimates[np.isfinite(estimates)]
    if estimates.size == 0:
        return
    effect = result.estimate
    if too_few_placebos(int(estimates.size)):
        # the 2.5 and 97.5 percentiles of two placebos are no 95 % interval: shown beside "not
        # significant, p = 0.333" it excluded zero and read as a contradiction (trial #5 T5)
        result.ci_low = result.ci_high = float("nan")
    else:
        low, high = np.quantile(estimates, [(1 - LEVEL) / 2, 0.5 + LEVEL / 2])
        result.ci_low, result.ci_high = float(effect - high), float(effect - low)
    result.se = float(np.std(estimates, ddof=1)) if estimates.size > 1 else float("nan")
    result.p_value = float(
        (1 + np.sum(np.abs(estimates) >= abs(effect) - 1e-12)) / (1 + estimates.size)
    )
    result.details["inference"] = "placebo"
    result.details["placebos"] = int(estimates.size)
    result.tables["placebo"] = pd.DataFrame({"estimate": estimates})


def callaway_santanna(
    panel: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "period",
    outcome: str = "y",
    cohort: str = "cohort",
    control_group: Literal["never_treated", "not_yet_treated"] = "never_treated",
    outcome_name: str | None = None,
) -> ImpactResult:
    """Group-time ATTs for staggered starts (Callaway and Sant'Anna 2021, ``differences``).

    ``cohort`` is the first treated period of each unit (0 or empty for never treated),
    on the same integer scale as ``time``. The headline estimate is the event-study
    average over periods since the start (R ``did``'s ``aggte(type="dynamic")``); the
    group aggregation is in ``details['group_overall']`` and ``tables['group']``."""
    from differences import ATTgt

    _require_columns(panel, [unit, time, outcome, cohort], "panel")
    data = panel[[unit, time, outcome, cohort]].dropna(subset=[outcome]).copy()
    data[cohort] = pd.to_numeric(data[cohort], errors="coerce")
    data.loc[data[cohort] <= 0, cohort] = np.nan
    data[time] = data[time].astype(int)
    if data[time].nunique() < 2:
        raise ImpactError(
            _(
                "Only one period has values of {outcome}: impact needs a period before and one "
                "after the start. Import the next period's data first."
            ).format(outcome=outcome_name or outcome)
        )
    first = data[time].min()
    cohorts = data.groupby(unit)[cohort].first()
    usable = cohorts[(cohorts > first)]
    n_treated = int(usable.notna().sum())
    n_comparison = int(cohorts.isna().sum())
    if n_treated == 0 or n_comparison == 0:
        raise ImpactError(
            _(
                "There is nothing to compare for {outcome}: {treated} intervention units "
                "observed before their start and {comparison} never-treated units."
            ).format(outcome=outcome_name or outcome, treated=n_treated, comparison=n_comparison)
        )
    frame = data.rename(columns={cohort: "first_treated"}).set_index([unit, time]).sort_index()
    with warnings.catch_warnings():
        # differences 0.3 uses pandas' deprecated inplace= keywords; nothing for a user to do
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        att = ATTgt(data=frame, cohort_column="first_treated")
        att.fit(
            formula=outcome,
            est_method="reg",
            control_group=control_group,
            n_jobs=1,
            progress_bar=False,
        )
        tables = {
            "gt": att.results(),
            "event": att.aggregate("event"),
            "group": att.aggregate("cohort"),
            "dynamic": att.aggregate("event", overall=True),
            "group_overall": att.aggregate("cohort", overall=True),
        }

    def flat(table: pd.DataFrame) -> pd.DataFrame:
        out = table.copy()
        out.columns = [c[-1] if isinstance(c, tuple) else c for c in out.columns]
        return out.reset_index()

    gt = flat(tables["gt"])
    att_gt = pd.DataFrame(
        {
            "group": gt["cohort"].astype(int),
            "time": gt["time"].astype(int),
            "att": gt["ATT"].astype(float),
            "se": gt["std_error"].astype(float),
        }
    )
    event = flat(tables["event"])
    event_table = pd.DataFrame(
        {
            "relative_period": event["relative_period"].astype(int),
            "att": event["ATT"].astype(float),
            "se": event["std_error"].astype(float),
            "ci_low": event["lower"].astype(float),
            "ci_high": event["upper"].astype(float),
        }
    )
    group = flat(tables["group"])
    group_table = pd.DataFrame(
        {
            "group": group["cohort"].astype(int),
            "att": group["ATT"].astype(float),
            "se": group["std_error"].astype(float),
        }
    )
    dynamic = flat(tables["dynamic"]).iloc[0]
    overall_group = flat(tables["group_overall"]).iloc[0]
    result = _normal_result(
        "cs",
        outcome,
        float(dynamic["ATT"]),
        float(dynamic["std_error"]),
        n_treated=n_treated,
        n_comparison=n_comparison,
        n_obs=len(data),
    )
    result.tables.update({"att_gt": att_gt, "event": event_table, "group": group_table})
    result.details["group_overall"] = {
        "att": float(overall_group["ATT"]),
        "se": float(overall_group["std_error"]),
    }
    trend = (
        data.assign(group=np.where(data[cohort].notna(), "treated", "comparison"))
        .groupby([time, "group"], sort=True)[outcome]
        .mean()
        .reset_index()
        .rename(columns={time: "period", outcome: "value"})
    )
    result.tables["trend"] = trend
    return result


def _synth_class() -> Any:
    """pysyncon's Synth with the inner weight problem solved exactly by non-negative least
    squares. Why: pysyncon solves it with SLSQP and numerical gradients, which takes ~45 s
    for Abadie's Basque example here; min ||V^½(X1 - X0 w)|| with w >= 0, Σw = 1 is an NNLS
    problem once Σw = 1 is added as a heavily weighted row (Lawson-Hanson, milliseconds)."""
    from pysyncon import Synth
    from scipy.optimize import nnls

    class ExactSynth(Synth):  # type: ignore[misc]
        @staticmethod
        def w_optimize(
            V_mat: np.ndarray,
            X0: np.ndarray,
            X1: np.ndarray,
            qp_method: str = "SLSQP",
            qp_options: dict | None = None,
        ) -> tuple[np.ndarray, float]:
            n_controls = X0.shape[1]
            root = np.sqrt(np.clip(np.diag(V_mat), 0, None))
            scale = 1e4 * max(1.0, float(np.abs(root[:, None] * X0).max()))
            a = np.vstack([root[:, None] * X0, np.full((1, n_controls), scale)])
            b = np.concatenate([root * X1, [scale]])
            weights, _residual = nnls(a, b, maxiter=100 * n_controls)
            total = weights.sum()
            weights = weights / total if total > 0 else np.full(n_controls, 1 / n_controls)
            gap = X1 - X0 @ weights
            return weights, float(gap @ V_mat @ gap)

    return ExactSynth


def synthetic_control(
    panel: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "period",
    outcome: str = "y",
    treated_unit: str,
    treatment_time: int,
    predictors: Sequence[str] | None = None,
    predictors_op: str = "mean",
    time_predictors_prior: Sequence[int] | None = None,
    special_predictors: Sequence[tuple[str, Sequence[int], str]] | None = None,
    fit_periods: Sequence[int] | None = None,
    controls: Sequence[str] | None = None,
    placebo: bool = True,
    optim_method: str = "Nelder-Mead",
    outcome_name: str | None = None,
    min_pre_periods: int = MIN_SYNTH_PRE,
) -> ImpactResult:
    """Synthetic control for one treated unit (pysyncon), with in-space placebos.

    Refused with fewer than ``min_pre_periods`` periods before the start: the fit before
    the start is then exact for almost any treated value and checks nothing.

    Without predictors, the pre-period outcomes themselves are matched with equal weight
    (one exact quadratic program); with predictors, the predictor weights V are chosen to
    fit the outcome over ``fit_periods`` (Abadie and Gardeazabal 2003). The estimate is the
    mean gap after ``treatment_time``; its p-value is the share of in-space placebos (each
    donor treated in turn) with a mean post-period gap at least as large, among those fitted
    before the start about as well as the treated unit; the SE is the spread of their gaps."""
    from pysyncon import Dataprep

    _require_columns(panel, [unit, time, outcome], "panel")
    data = panel.copy()
    data[time] = data[time].astype(int)
    data[unit] = data[unit].astype(str)
    treated_unit = str(treated_unit)
    times = sorted(data.loc[data[outcome].notna(), time].unique())
    pre = [t for t in times if t < treatment_time]
    post_times = [t for t in times if t >= treatment_time]
    if len(pre) < 1 or not post_times:
        raise ImpactError(
            _(
                "The synthetic control needs periods before and after the start "
                "({start}) with values of {outcome}."
            ).format(start=treatment_time, outcome=outcome_name or outcome)
        )
    if len(pre) < min_pre_periods:
        raise ImpactError(
            _too_few_pre_periods(outcome_name or outcome, [str(t) for t in pre], min_pre_periods)
        )
    pool = (
        [str(c) for c in controls]
        if controls is not None
        else sorted(u for u in data[unit].unique() if u != treated_unit)
    )
    if treated_unit not in set(data[unit]) or len(pool) < 2:
        raise ImpactError(
            _(
                "The synthetic control needs the treated unit '{unit}' in the data and at "
                "least two comparison units."
            ).format(unit=treated_unit)
        )
    fit_times = list(fit_periods) if fit_periods is not None else pre
    synth_cls = _synth_class()
    custom = predictors is None and special_predictors is None
    special: list[tuple[str, Any, str]] = list(special_predictors or [])
    wide = (
        data.pivot_table(index=time, columns=unit, values=outcome, aggfunc="mean")
        .reindex(times)
        .astype(float)
    )

    def fit(target: str, others: list[str]) -> tuple[pd.Series, pd.Series, pd.Series]:
        if custom:
            # outcome-only: match the pre-period outcomes with equal weight, one exact QP
            # (pysyncon's Dataprep per placebo would be 40x slower for the same problem)
            donors = wide[others].dropna(axis=1)
            x0 = donors.loc[pre].to_numpy()
            x1 = wide.loc[pre, target].to_numpy()
            w, _loss = synth_cls.w_optimize(np.eye(len(pre)), x0, x1)
            weights = pd.Series(w, index=list(donors.columns), name="weight")
            return wide[target], donors @ weights, weights
        prep = Dataprep(
            foo=data,
            predictors=list(predictors or []),
            predictors_op=predictors_op,
            time_predictors_prior=list(time_predictors_prior or pre),
            special_predictors=special,
            dependent=outcome,
            unit_variable=unit,
            time_variable=time,
            treatment_identifier=target,
            controls_identifier=others,
            time_optimize_ssr=fit_times,
        )
        model = synth_cls()
        model.fit(dataprep=prep, optim_method=optim_method, optim_initial="equal")
        z0, z1 = prep.make_outcome_mats(time_period=times)
        synthetic = z0 @ model.W
        weights = pd.Series(model.W, index=list(z0.columns), name="weight")
        return z1.astype(float), pd.Series(synthetic, index=z1.index, dtype=float), weights

    actual, synthetic, weights = fit(treated_unit, pool)
    gaps = actual - synthetic
    estimate = float(gaps.loc[post_times].mean())

    def ratio(gap: pd.Series) -> tuple[float, float, float]:
        pre_rmspe = float(np.sqrt(np.mean(np.square(gap.loc[pre]))))
        post_rmspe = float(np.sqrt(np.mean(np.square(gap.loc[post_times]))))
        return pre_rmspe, post_rmspe, post_rmspe / pre_rmspe if pre_rmspe > 0 else math.inf

    rows = [(treated_unit, *ratio(gaps), estimate)]
    if placebo:
        for other in pool:
            others = [u for u in pool if u != other]
            a, s, _w = fit(other, others)
            gap = a - s
            rows.append((other, *ratio(gap), float(gap.loc[post_times].mean())))
    placebos = pd.DataFrame(
        rows, columns=["unit", "pre_rmspe", "post_rmspe", "ratio", "mean_post_gap"]
    )
    placebos["treated"] = placebos["unit"] == treated_unit
    # placebos that the method cannot fit (pre-period RMSPE over 5x the treated unit's, as
    # in Abadie, Diamond and Hainmueller 2010) say nothing about chance gaps and are left
    # out; the yardstick is never below the placebos' median fit, since with many donors and
    # few periods the treated unit can be fitted exactly
    yardstick = max(
        float(placebos["pre_rmspe"].iloc[0]),
        float(placebos.loc[~placebos["treated"], "pre_rmspe"].median()) if placebo else 0.0,
    )
    placebos["kept"] = placebos["treated"] | (placebos["pre_rmspe"] <= PLACEBO_FIT * yardstick)
    kept = placebos[placebos["kept"]]
    if placebo and len(kept) > 2:
        p_value = float((kept["mean_post_gap"].abs() >= abs(estimate)).mean())
        se = float(kept.loc[~kept["treated"], "mean_post_gap"].std(ddof=1))
    else:
        p_value, se = float("nan"), float("nan")
    result = _normal_result(
        "synth",
        outcome,
        estimate,
        se,
        n_treated=1,
        n_comparison=int((weights > 0).sum()),
        n_obs=len(times) * (len(pool) + 1),
    )
    result.p_value = p_value
    result.tables["weights"] = (
        weights.rename_axis("unit").reset_index().sort_values("weight", ascending=False)
    )
    result.tables["placebo"] = placebos
    result.tables["trend"] = pd.concat(
        [
            pd.DataFrame({"period": times, "group": "treated", "value": actual.to_numpy()}),
            pd.DataFrame({"period": times, "group": "synthetic", "value": synthetic.to_numpy()}),
        ],
        ignore_index=True,
    )
    result.details["donors"] = len(pool)
    if placebo and len(kept) > 2:
        result.details["placebos"] = len(kept) - 1
    return result


def _too_few_pre_periods(outcome: str, pre: Sequence[str], needed: int) -> str:
    """One line: the pre-periods found, why they are too few, and the method to use."""
    return _(
        "The synthetic control needs at least {needed} periods of {outcome} before the start "
        "and there are {n} ({periods}): with so few, a mix of comparison units matches them "
        "exactly whatever happened, so its fit checks nothing. Use --method did (placebo "
        "inference for few intervention units), or import more earlier periods."
    ).format(needed=needed, outcome=outcome, n=len(pre), periods=", ".join(pre) or "-")


def survey_did(
    data: pd.DataFrame,
    design: Any,
    variable: str,
    *,
    round_column: str,
    treated_column: str,
    rounds: tuple[Any, Any] | None = None,
) -> ImpactResult:
    """(after - before) in intervention areas minus (after - before) in comparison areas,
    from two survey rounds stacked in one data set with the round as a stratum.

    The four domain means come from :func:`surveys.estimate`; the standard error is the
    design-based SE of the linearised contrast: the survey total of
    z_i = c_d (y_i - ȳ_d) / N̂_d, c_d = ±1 for the domain d of respondent i."""
    from inclusive_cities.surveys import estimate

    _require_columns(data, [variable, round_column, treated_column], "survey data")
    frame = data.reset_index(drop=True).copy()
    values = list(rounds) if rounds is not None else sorted(frame[round_column].dropna().unique())
    if len(values) != 2:
        raise ImpactError(
            _(
                "The survey impact needs exactly two rounds in column '{column}'; it has {rounds}."
            ).format(column=round_column, rounds=", ".join(map(str, values)) or "-")
        )
    before, after = values
    frame["_after"] = (frame[round_column] == after).astype(int)
    frame["_treated"] = frame[treated_column].astype(bool).astype(int)
    means = estimate(frame, design, variable, "mean", by=["_after", "_treated"])
    cells = {(int(r["_after"]), int(r["_treated"])): r for r in means.to_dict("records")}
    if len(cells) != 4:
        raise ImpactError(
            _(
                "The survey impact needs answers to '{variable}' in intervention and comparison "
                "areas in both rounds."
            ).format(variable=variable)
        )
    sign = {(1, 1): 1.0, (0, 1): -1.0, (1, 0): -1.0, (0, 0): 1.0}
    weights = (
        pd.to_numeric(frame[design.weight]).to_numpy(dtype=float)
        if design.weight
        else np.ones(len(frame))
    )
    y = pd.to_numeric(frame[variable], errors="coerce").to_numpy(dtype=float)
    z = np.zeros(len(frame))
    for (a, t), row in cells.items():
        member = (
            (frame["_after"].to_numpy() == a) & (frame["_treated"].to_numpy() == t) & ~np.isnan(y)
        )
        size = weights[member].sum()
        z[member] = sign[(a, t)] * (y[member] - row["estimate"]) / size
    frame["_z"] = z
    total = estimate(frame, design, "_z", "total").iloc[0]
    contrast = sum(sign[key] * row["estimate"] for key, row in cells.items())
    n_treated = int(cells[(0, 1)]["n"] + cells[(1, 1)]["n"])
    n_comparison = int(cells[(0, 0)]["n"] + cells[(1, 0)]["n"])
    result = _normal_result(
        "survey",
        variable,
        float(contrast),
        float(total["se"]),
        n_treated=n_treated,
        n_comparison=n_comparison,
        n_obs=n_treated + n_comparison,
    )
    result.tables["trend"] = pd.DataFrame(
        [
            {
                "period": after if a else before,
                "group": "treated" if t else "comparison",
                "value": float(row["estimate"]),
                "se": float(row["se"]),
            }
            for (a, t), row in sorted(cells.items())
        ]
    )
    return result


def survey_impact(
    engine: Engine,
    city: str,
    survey: str,
    variable: str,
    *,
    before: str,
    after: str,
    project: str | Sequence[str] | None = None,
    units: pd.DataFrame | None = None,
    data_dir: Path | str | None = None,
) -> ImpactResult:
    """:func:`survey_did` on two imported rounds of ``survey``: respondents whose unit (or
    a unit containing it, e.g. the barrio of their block) received a project are the
    intervention group in both rounds. The rounds are stacked with each round's strata and
    PSUs kept apart; finite-population corrections are left out (conservative SEs)."""
    from inclusive_cities.surveys import Design
    from inclusive_cities.surveys.storage import load_survey

    starts = units if units is not None else intervention_units(engine, city, project)
    treated_codes = {str(u) for u in starts["unit"]}
    with transaction(engine) as session:
        city_row = _city(session, city)
        rows = session.execute(
            select(
                models.SpatialUnit.id, models.SpatialUnit.code, models.SpatialUnit.parent_id
            ).where(models.SpatialUnit.city_id == city_row.id)
        ).all()
    code_of = {i: c for i, c, _p in rows}
    parent_of = {c: p for _i, c, p in rows}

    def reached(code: object) -> bool:
        current: object = code
        while isinstance(current, str) and current:
            if current in treated_codes:
                return True
            parent = parent_of.get(current)
            current = code_of.get(parent) if parent is not None else None
        return False

    frames = []
    lonely: Any = "adjust"
    for round_code in (before, after):
        tables, design = load_survey(city, round_code, survey, data_dir=data_dir, engine=engine)
        if design.replicate_weights:
            raise ImpactError(
                _(
                    "Survey '{survey}' ({period}) uses replicate weights: the impact between "
                    "rounds needs strata and PSUs."
                ).format(survey=survey, period=round_code)
            )
        main = tables["main"]
        _require_columns(main, [variable, "unit_code"], "survey data")
        frame = pd.DataFrame(
            {
                variable: pd.to_numeric(main[variable], errors="coerce"),
                "_round": round_code,
                "_stratum": round_code
                + ":"
                + (main[design.strata].astype(str) if design.strata else ""),
                "_psu": round_code
                + ":"
                + (main[design.psu].astype(str) if design.psu else main.index.astype(str)),
                "_weight": pd.to_numeric(main[design.weight]) if design.weight else 1.0,
                "_treated": [reached(str(c)) if pd.notna(c) else False for c in main["unit_code"]],
            }
        )
        frames.append(frame)
        lonely = design.lonely_psu
    stacked = pd.concat(frames, ignore_index=True)
    design = Design(weight="_weight", strata="_stratum", psu="_psu", lonely_psu=lonely)
    result = survey_did(
        stacked,
        design,
        variable,
        round_column="_round",
        treated_column="_treated",
        rounds=(before, after),
    )
    result.outcome_label = variable
    return result


# ---------------------------------------------------------------- matching


@dataclass
class Matching:
    """Comparison units chosen for the intervention units, and how alike they are."""

    comparison: list[str]
    pairs: pd.DataFrame
    balance: pd.DataFrame


def _spread(treated: pd.Series, pool: pd.Series) -> float:
    """The denominator of every standardised difference of one covariate: the groups' spread
    before matching (pooled, or the candidates' alone when the project has one unit), the same
    before and after matching so that the difference shows how the means moved. The matched
    units' own spread made two near-identical barrios read as a weak comparison (3.74 for
    68.7 against 68.6, trial #5 T21)."""
    spreads = [s.var(ddof=1) for s in (treated, pool) if len(s) > 1]
    spreads = [v for v in spreads if math.isfinite(v)]
    return math.sqrt(sum(spreads) / len(spreads)) if spreads else math.nan


def _smd(treated: pd.Series, other: pd.Series, spread: float) -> float:
    """Standardised mean difference by ``spread`` (:func:`_spread`). NaN when there is no
    spread, or it is zero while the means differ: "0.00" there read as a perfect comparison
    (a project of one neighbourhood, trial #5 T4)."""
    difference = float(treated.mean() - other.mean())
    if not math.isfinite(spread):
        return math.nan
    if spread == 0:
        return 0.0 if difference == 0 else math.nan
    return difference / spread


def match_units(
    baseline: pd.DataFrame,
    treated_units: Sequence[str],
    covariates: Sequence[str],
    *,
    method: str = "nearest",
    k: int = 2,
) -> Matching:
    """The ``k`` nearest untreated units of each intervention unit on the pre-intervention
    ``covariates`` of ``baseline`` (indexed by unit code), by standardised Euclidean or
    Mahalanobis distance, with replacement; and the balance table (standardised mean
    differences of every covariate before and after matching)."""
    if method not in MATCHING:
        raise ImpactError(
            _("Unknown matching method '{method}': use one of {choices}.").format(
                method=method, choices=", ".join(MATCHING)
            )
        )
    columns = [c for c in covariates if c in baseline.columns]
    table = baseline[columns].apply(pd.to_numeric, errors="coerce").dropna()
    table.index = table.index.astype(str)
    treated = [u for u in map(str, treated_units) if u in table.index]
    pool = [u for u in table.index if u not in set(map(str, treated_units))]
    if not treated or not pool or not columns:
        raise ImpactError(
            _(
                "No comparison units can be matched: {treated} intervention and {pool} other "
                "units have pre-intervention values of {covariates}."
            ).format(treated=len(treated), pool=len(pool), covariates=", ".join(covariates))
        )
    values = table.to_numpy(dtype=float)
    spread = values.std(axis=0, ddof=1)
    spread[~np.isfinite(spread) | (spread == 0)] = 1.0
    scaled = (values - values.mean(axis=0)) / spread
    position = {u: i for i, u in enumerate(table.index)}
    xt = scaled[[position[u] for u in treated]]
    xc = scaled[[position[u] for u in pool]]
    if method == "mahalanobis" and len(columns) > 1:
        inverse = np.linalg.pinv(np.atleast_2d(np.cov(scaled, rowvar=False)))
        diff = xt[:, None, :] - xc[None, :, :]
        distance = np.sqrt(np.einsum("ijk,kl,ijl->ij", diff, inverse, diff))
    else:
        distance = np.sqrt(((xt[:, None, :] - xc[None, :, :]) ** 2).sum(axis=2))
    k = max(1, min(k, len(pool)))
    order = np.argsort(distance, axis=1, kind="stable")[:, :k]
    pairs = pd.DataFrame(
        [
            {"unit": treated[i], "match": pool[j], "distance": float(distance[i, j])}
            for i in range(len(treated))
            for j in order[i]
        ]
    )
    chosen = sorted(set(pairs["match"]))
    rows = []
    for column in columns:
        mine, others = table.loc[treated, column], table.loc[pool, column]
        spread = _spread(mine, others)
        rows.append(
            {
                "variable": column,
                "mean_treated": float(mine.mean()),
                "mean_comparison_before": float(others.mean()),
                "mean_comparison_after": float(table.loc[chosen, column].mean()),
                "smd_before": _smd(mine, others, spread),
                "smd_after": _smd(mine, table.loc[chosen, column], spread),
            }
        )
    balance = pd.DataFrame(rows)
    return Matching(comparison=chosen, pairs=pairs, balance=balance)


# ---------------------------------------------------------------- the store


@dataclass(frozen=True)
class PeriodInfo:
    code: str
    order: int
    day: date | None


def _period_day(row: models.Period) -> date | None:
    if row.start_date is not None:
        return row.start_date
    match = re.match(r"^(\d{4})", row.code)
    return date(int(match.group(1)), 1, 1) if match else None


def _periods(session: Any) -> list[PeriodInfo]:
    rows = session.scalars(select(models.Period)).all()
    keyed = sorted(rows, key=lambda r: (_period_day(r) or date.max, r.code))
    return [PeriodInfo(r.code, i + 1, _period_day(r)) for i, r in enumerate(keyed)]


def _city(session: Any, city: str) -> models.City:
    row = session.scalar(select(models.City).where(models.City.code == city))
    if row is None:
        raise ImpactError(
            _("There is no city '{city}' in the observatory; see 'inclusive-cities info'.").format(
                city=city
            )
        )
    return row


def _level(session: Any, city: models.City, level: str | None) -> models.UnitLevel:
    query = select(models.UnitLevel).where(models.UnitLevel.city_id == city.id)
    rows = session.scalars(query.order_by(models.UnitLevel.depth)).all()
    if level is None:
        if not rows:
            raise ImpactError(_("The city '{city}' has no units.").format(city=city.code))
        return rows[min(1, len(rows) - 1)]
    for row in rows:
        if row.code == level:
            return row
    raise ImpactError(
        _("The city '{city}' has no level '{level}': use one of {choices}.").format(
            city=city.code, level=level, choices=", ".join(r.code for r in rows)
        )
    )


def load_panel(
    engine: Engine,
    city: str,
    outcome: str,
    *,
    level: str | None = None,
    spec: str = "uim-basic",
) -> pd.DataFrame:
    """The unit × period panel of ``outcome`` at ``level``: an indicator code (whole-population
    observations) or ``"marker"`` (the index score of the latest run of ``spec`` in each
    period). Columns: unit, name, period (code), order (1, 2, ... in time), y."""
    with transaction(engine) as session:
        city_row = _city(session, city)
        level_row = _level(session, city_row, level)
        periods = {p.code: p for p in _periods(session)}
        units = dict(
            session.execute(
                select(models.SpatialUnit.id, models.SpatialUnit.code).where(
                    models.SpatialUnit.level_id == level_row.id
                )
            ).all()
        )
        names = dict(
            session.execute(
                select(models.SpatialUnit.code, models.SpatialUnit.name).where(
                    models.SpatialUnit.level_id == level_row.id
                )
            ).all()
        )
        period_codes = dict(session.execute(select(models.Period.id, models.Period.code)).all())
        records: list[tuple[str, str, float]] = []
        if outcome == MARKER:
            runs = session.scalars(
                select(models.MarkerRun)
                .where(
                    models.MarkerRun.city_id == city_row.id,
                    models.MarkerRun.level_id == level_row.id,
                    models.MarkerRun.spec_code == spec,
                )
                .order_by(models.MarkerRun.id)
            ).all()
            latest = {run.period_id: run for run in runs}
            for period_id, run in latest.items():
                tree = ((run.parameters or {}).get("spec") or {}).get("tree") or {}
                root = tree.get("code") if isinstance(tree, dict) else None
                query = select(models.MarkerScore.unit_id, models.MarkerScore.score).where(
                    models.MarkerScore.run_id == run.id
                )
                if root is not None:
                    query = query.where(models.MarkerScore.node_code == root)
                for unit_id, score in session.execute(query).all():
                    if score is not None and unit_id in units:
                        records.append((units[unit_id], period_codes[period_id], float(score)))
        else:
            indicator = session.scalar(
                select(models.Indicator).where(models.Indicator.code == outcome)
            )
            if indicator is None:
                raise ImpactError(
                    _(
                        "Unknown outcome '{outcome}': use 'marker' or an indicator code (see "
                        "'inclusive-cities indicators list')."
                    ).format(outcome=outcome)
                )
            rows = session.execute(
                select(
                    models.Observation.unit_id,
                    models.Observation.period_id,
                    models.Observation.value,
                ).where(
                    models.Observation.indicator_id == indicator.id,
                    models.Observation.unit_id.in_(list(units)),
                    models.Observation.sex == models.TOTAL,
                    models.Observation.age_group == models.TOTAL,
                    models.Observation.nationality == models.TOTAL,
                    models.Observation.value.is_not(None),
                )
            ).all()
            records = [(units[u], period_codes[p], float(v or 0.0)) for u, p, v in rows]
    frame = pd.DataFrame(records, columns=["unit", "period", "y"])
    frame = frame.groupby(["unit", "period"], as_index=False)["y"].mean()
    frame["order"] = frame["period"].map(lambda code: periods[code].order)
    frame["name"] = frame["unit"].map(names).fillna("")
    frame.attrs["level"] = level_row.code
    return frame.sort_values(["order", "unit"]).reset_index(drop=True)[
        ["unit", "name", "period", "order", "y"]
    ]


def outcome_label(engine: Engine, outcome: str, spec: str = "uim-basic") -> str:
    """The outcome's name in the current language (an indicator's, or the marker's)."""
    from inclusive_cities.i18n import current_language

    if outcome == MARKER:
        return _("Urban Inclusion Marker ({spec})").format(spec=spec)
    with transaction(engine) as session:
        row = session.scalar(select(models.Indicator).where(models.Indicator.code == outcome))
    if row is None:
        return outcome
    return (row.name_es if current_language() == "es" else row.name_en) or outcome


def read_units_file(path: Path | str) -> pd.DataFrame:
    """A user's list of intervention units: CSV or XLSX with a unit code column and a start
    period column (Spanish or English headers). Returns columns unit, start_period."""
    from inclusive_cities.ingest.tabular import read_text_table, require_data_file

    path = require_data_file(path)
    table = read_text_table(path)
    header = [h.strip().lower() for h in table.header]
    unit_names = ("unit", "unidad", "codigo", "código", "code", "unit_code")
    start_names = ("start_period", "periodo_inicio", "inicio", "start", "periodo", "period")
    unit_col = next((i for i, h in enumerate(header) if h in unit_names), None)
    start_col = next((i for i, h in enumerate(header) if h in start_names), None)
    if unit_col is None or start_col is None:
        raise ImpactError(
            _(
                "{file}: row 1 needs a unit column (unit/unidad) and a start period column "
                "(start_period/periodo_inicio); it has {columns}."
            ).format(file=path.name, columns=", ".join(table.header))
        )
    records = []
    for number, row in zip(table.row_numbers, table.rows, strict=True):
        unit, start = row[unit_col].strip(), row[start_col].strip()
        if not unit:
            continue
        if not start:
            raise ImpactError(
                _(
                    "{file}, row {row}, column '{column}': empty start period for unit {unit}; "
                    "write the first period with the project, e.g. 2025."
                ).format(file=path.name, row=number, column=table.header[start_col], unit=unit)
            )
        records.append({"unit": unit, "start_period": start, "_row": number})
    if not records:
        raise ImpactError(_("{file} lists no intervention units.").format(file=path.name))
    return pd.DataFrame(records)


def intervention_units(
    engine: Engine,
    city: str,
    projects: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Intervention units from the city's stored projects with a start date: columns unit,
    start_date, project. A unit reached by several projects keeps the earliest start."""
    wanted = [projects] if isinstance(projects, str) else list(projects or [])
    with transaction(engine) as session:
        city_row = _city(session, city)
        query = select(models.PlanningProject).where(models.PlanningProject.city_id == city_row.id)
        if wanted:
            query = query.where(models.PlanningProject.code.in_(wanted))
        rows = session.scalars(query.order_by(models.PlanningProject.code)).all()
        found = {r.code for r in rows}
        missing = [code for code in wanted if code not in found]
        if missing:
            raise ImpactError(
                _(
                    "No project {codes} in {city}: import the projects with 'inclusive-cities "
                    "plan import-projects' or check the codes."
                ).format(codes=", ".join(missing), city=city)
            )
        records = _project_units(rows)
        if not records and wanted:
            undated = [r.code for r in rows if r.start_date is None]
            without_units = [r.code for r in rows if r.start_date is not None]
            everything = session.scalars(
                select(models.PlanningProject)
                .where(models.PlanningProject.city_id == city_row.id)
                .order_by(models.PlanningProject.code)
            ).all()
            started = sorted({r["project"] for r in _project_units(everything)})
            reasons = []
            if undated:
                reasons.append(
                    _("Without a start date (not started): {codes}.").format(
                        codes=", ".join(undated)
                    )
                )
            if without_units:
                reasons.append(
                    _("Started but without units: {codes}.").format(codes=", ".join(without_units))
                )
            listed = ", ".join(started[:12]) + (", …" if len(started) > 12 else "")
            raise ImpactError(
                _("There is nothing to measure for --project {codes}.").format(
                    codes=", ".join(wanted)
                )
                + " "
                + " ".join(reasons)
                + " "
                + (
                    _(
                        "Started projects of {city} with units ({n}): {codes}. Name one of them, "
                        "or leave out --project to measure them all."
                    ).format(city=city, n=len(started), codes=listed)
                    if started
                    else _("{city} has no started project with units.").format(city=city)
                )
            )
    if not records:
        raise ImpactError(
            _(
                "No project of {city} has a start date and units: nothing was built to measure. "
                "Give the projects a start date, or list the units with --units."
            ).format(city=city)
        )
    frame = pd.DataFrame(records).sort_values(["unit", "start_date"])
    return frame.groupby("unit", as_index=False).first()


def _project_units(rows: Sequence[models.PlanningProject]) -> list[dict[str, Any]]:
    """One record (unit, start_date, project) per unit of each project with a start date."""
    records: list[dict[str, Any]] = []
    for row in rows:
        if row.start_date is None:
            continue
        codes = list(row.unit_codes or []) or list((row.beneficiary_units or {}).keys())
        records.extend(
            {"unit": str(code), "start_date": row.start_date, "project": row.code} for code in codes
        )
    return records


def _all_started_units(engine: Engine, city: str) -> pd.DataFrame:
    """The units of every started project of the city (empty when none): columns unit,
    start_date, project; a unit reached by several projects keeps the earliest start."""
    with transaction(engine) as session:
        city_row = _city(session, city)
        rows = session.scalars(
            select(models.PlanningProject).where(models.PlanningProject.city_id == city_row.id)
        ).all()
        records = _project_units(rows)
    if not records:
        return pd.DataFrame(columns=["unit", "start_date", "project"])
    frame = pd.DataFrame(records).sort_values(["unit", "start_date"])
    return frame.groupby("unit", as_index=False).first()


def _start_orders(
    engine: Engine, starts: pd.DataFrame, period_orders: dict[str, int]
) -> dict[str, int]:
    """Each unit's first treated period (its order): the first period beginning on or after
    the project's start date, or the period the user named."""
    with transaction(engine) as session:
        periods = _periods(session)
    result: dict[str, int] = {}
    for row in starts.to_dict("records"):
        if "start_period" in row and row.get("start_period") is not None:
            code = str(row["start_period"])
            if code not in period_orders:
                known = {p.code: p.order for p in periods}
                if code not in known:
                    raise ImpactError(
                        _(
                            "Unit {unit}: the start period '{period}' is not a period of the "
                            "observatory ({choices})."
                        ).format(
                            unit=row["unit"],
                            period=code,
                            choices=", ".join(p.code for p in periods),
                        )
                    )
                result[str(row["unit"])] = known[code]
            else:
                result[str(row["unit"])] = period_orders[code]
            continue
        start = row["start_date"]
        later = [p.order for p in periods if p.day is not None and p.day >= start]
        result[str(row["unit"])] = min(later) if later else max(p.order for p in periods) + 1
    return result


def measure_impact(
    engine: Engine,
    city: str,
    outcome: str,
    *,
    project: str | Sequence[str] | None = None,
    units: pd.DataFrame | None = None,
    method: str = "did",
    level: str | None = None,
    spec: str = "uim-basic",
    match: str | None = "nearest",
    k: int = 2,
    progress: ProgressCallback = quiet_progress,
    withheld: Collection[str] = (),
) -> ImpactResult:
    """The impact of a city's projects (or of a user's list of units) on ``outcome``.

    Comparison units are matched on the pre-intervention outcome (and marker, when it is
    not the outcome) for ``did``; ``cs`` uses every never-treated unit; ``synth`` needs
    exactly one intervention unit and uses every never-treated unit as a donor.
    ``withheld``: units never used for comparison (the public pages leave out the units whose
    score the public map withholds, so that what they show rests on public scores only)."""
    if method not in METHODS:
        raise ImpactError(
            _("Unknown method '{method}': use one of {choices}.").format(
                method=method, choices=", ".join(METHODS)
            )
        )
    starts = units if units is not None else intervention_units(engine, city, project)
    if level is None and units is None and "project" in starts.columns:
        with transaction(engine) as session:
            stored = session.scalars(
                select(models.PlanningProject.attributes).where(
                    models.PlanningProject.code.in_(list(starts["project"].unique()))
                )
            ).all()
        levels = {(a or {}).get("level") for a in stored} - {None, ""}
        level = next(iter(levels)) if len(levels) == 1 else None
    progress(_("Reading the values of every period"), 0, 3)
    panel = load_panel(engine, city, outcome, level=level, spec=spec)
    label = outcome_label(engine, outcome, spec)
    if panel["period"].nunique() < 2:
        raise ImpactError(
            _(
                "{outcome} has values for one period only ({periods}): impact needs a period "
                "before and one after the projects. Import the next period's data first."
            ).format(outcome=label, periods=", ".join(sorted(panel["period"].unique())) or "-")
        )
    orders = dict(zip(panel["period"], panel["order"], strict=False))
    first_treated = _start_orders(engine, starts, orders)
    unknown = sorted(set(first_treated) - set(panel["unit"]))
    if unknown and units is not None:
        # the user's own list: a code dropped silently would change what is measured
        raise ImpactError(_unknown_units_message(unknown, set(panel["unit"]), label, panel))
    if unknown and len(unknown) == len(first_treated):
        raise ImpactError(
            _(
                "None of the intervention units ({units}) has values of {outcome} at level "
                "'{level}'."
            ).format(units=", ".join(unknown[:5]), outcome=label, level=panel.attrs["level"])
        )
    panel["cohort"] = panel["unit"].map(first_treated).fillna(0).astype(int)
    first_order, last_order = int(panel["order"].min()), int(panel["order"].max())
    treated_units = sorted(
        u
        for u, o in first_treated.items()
        if first_order < o <= last_order and u in set(panel["unit"])
    )
    if not treated_units:
        raise ImpactError(
            _(
                "No intervention unit has a period of {outcome} before its start: impact needs "
                "values before the projects."
            ).format(outcome=label)
        )
    ever = set(first_treated)
    # a unit another started project reached before the last period is no comparison: its
    # change is that project's effect (issue #16: EJ-001 was compared with EJ-006's barrio)
    others = _all_started_units(engine, city)
    if not others.empty:
        ever |= {u for u, o in _start_orders(engine, others, orders).items() if o <= last_order}
    comparison_pool = sorted(set(panel["unit"]) - ever - {str(u) for u in withheld})
    result: ImpactResult
    tables: dict[str, pd.DataFrame] = {}
    progress(_("Choosing comparison units and estimating"), 1, 3)
    if method == "did":
        baseline_order = {u: first_treated[u] - 1 for u in treated_units}
        pre_order = min(baseline_order.values())
        baseline = panel[panel["order"] == pre_order].set_index("unit")[["y"]]
        covariates = ["y"]
        if outcome != MARKER:
            marker = load_panel(engine, city, MARKER, level=panel.attrs["level"], spec=spec)
            marker_pre = marker[marker["order"] <= pre_order]
            if not marker_pre.empty:
                latest = marker_pre[marker_pre["order"] == marker_pre["order"].max()]
                baseline = baseline.join(latest.set_index("unit")[["y"]].rename(columns={"y": "m"}))
                covariates.append("m")
        comparison = comparison_pool
        if match is not None:
            # matched among the comparison pool only: never among other projects' units
            eligible = baseline[baseline.index.isin(set(treated_units) | set(comparison_pool))]
            matched = match_units(eligible, treated_units, covariates, method=match, k=k)
            comparison = matched.comparison
            tables["balance"] = matched.balance.assign(
                variable=matched.balance["variable"].map(
                    {"y": label, "m": outcome_label(engine, MARKER, spec)}
                )
            )
            tables["pairs"] = matched.pairs
        sample = panel[panel["unit"].isin(set(treated_units) | set(comparison))].copy()
        sample["treated"] = sample["unit"].isin(treated_units)
        sample["post"] = sample["order"] >= sample["unit"].map(first_treated).fillna(10**9)
        # comparison units are "post" from the earliest start, so the period effects are shared
        earliest = min(first_treated[u] for u in treated_units)
        sample.loc[~sample["treated"], "post"] = sample["order"] >= earliest
        result = did(sample, unit="unit", time="order", outcome="y", outcome_name=label)
        # two-way fixed effects average start groups with weights that can mislead when
        # effects differ between them (Goodman-Bacon 2021): say so, and point to cs
        result.details["staggered"] = len({first_treated[u] for u in treated_units}) > 1
    elif method == "cs":
        sample = panel[panel["unit"].isin(set(treated_units) | set(comparison_pool))]
        result = callaway_santanna(
            sample, unit="unit", time="order", outcome="y", cohort="cohort", outcome_name=label
        )
        comparison = comparison_pool
    else:
        if len(treated_units) != 1:
            raise ImpactError(
                _(
                    "The synthetic control is for one intervention unit; there are {n}. Use "
                    "--method did or cs, or name one project."
                ).format(n=len(treated_units))
            )
        treated_unit = treated_units[0]
        pre_codes = [
            str(code)
            for code in panel.sort_values("order")["period"].unique()
            if orders[code] < first_treated[treated_unit]
        ]
        if len(pre_codes) < MIN_SYNTH_PRE:
            # named by their codes (2024), not the orders the estimator works on
            raise ImpactError(_too_few_pre_periods(label, pre_codes, MIN_SYNTH_PRE))
        result = synthetic_control(
            panel[panel["unit"].isin({treated_unit} | set(comparison_pool))],
            unit="unit",
            time="order",
            outcome="y",
            treated_unit=treated_unit,
            treatment_time=first_treated[treated_unit],
            outcome_name=label,
        )
        comparison = comparison_pool
    progress(_("Writing the tables of the result"), 2, 3)
    result.outcome = outcome
    result.outcome_label = label
    result.tables.update(tables)
    code_of = dict(zip(panel["order"], panel["period"], strict=False))
    if "trend" in result.tables:
        trend = result.tables["trend"]
        trend["period"] = trend["period"].map(lambda o: code_of.get(int(o), str(o)))
    for name in ("att_gt",):
        if name in result.tables:
            table = result.tables[name]
            table["group"] = table["group"].map(lambda o: code_of.get(int(o), str(o)))
            table["time"] = table["time"].map(lambda o: code_of.get(int(o), str(o)))
    if "group" in result.tables:
        table = result.tables["group"]
        table["group"] = table["group"].map(lambda o: code_of.get(int(o), str(o)))
    result.tables["units"] = _unit_table(panel, treated_units, comparison, first_treated, code_of)
    result.details["level"] = panel.attrs["level"]
    progress(_("Writing the tables of the result"), 3, 3)
    return result


def _unknown_units_message(
    unknown: Sequence[str], known: set[str], label: str, panel: pd.DataFrame
) -> str:
    """Name each listed unit without values, suggesting the code it lost its zeros from."""
    from inclusive_cities.ingest.tabular import lost_leading_zeros, zero_stripped

    stripped = zero_stripped(known)
    padded = {code: lost_leading_zeros(code, stripped) for code in unknown}
    named = [f"{code} ({padded[code]}?)" if padded[code] else code for code in unknown]
    return _(
        "The units file lists {n} units with no values of {outcome} at level '{level}': {units}. "
        "Correct the codes (a code in parentheses is one that exists with leading zeros; keep "
        "the code column as text in Excel), or remove those rows."
    ).format(
        n=len(unknown),
        outcome=label,
        level=panel.attrs["level"],
        units=", ".join(named[:20]) + (", …" if len(named) > 20 else ""),
    )


def _unit_table(
    panel: pd.DataFrame,
    treated: list[str],
    comparison: list[str],
    first_treated: dict[str, int],
    code_of: dict[int, str],
) -> pd.DataFrame:
    """Per unit in the estimate: its role, start, last value before and last value after."""
    earliest = min(first_treated[u] for u in treated)
    rows = []
    for unit in treated + comparison:
        own = panel[panel["unit"] == unit]
        start = first_treated.get(unit, earliest)
        pre = own[own["order"] < start]
        post = own[own["order"] >= start]
        before = float(pre.sort_values("order")["y"].iloc[-1]) if len(pre) else float("nan")
        after = float(post.sort_values("order")["y"].iloc[-1]) if len(post) else float("nan")
        rows.append(
            {
                "unit": unit,
                "name": own["name"].iloc[0] if len(own) else "",
                "role": "treated" if unit in set(treated) else "comparison",
                "start_period": code_of.get(first_treated[unit], "")
                if unit in first_treated
                else "",
                "pre": before,
                "post": after,
                "change": after - before,
            }
        )
    return pd.DataFrame(rows)


def impact_to_xlsx(result: ImpactResult, path: Path | str) -> Path:
    """The estimate, its reading and every table, one sheet each, in the current language."""
    path = Path(path)
    summary = pd.DataFrame(
        [
            (_("Method"), result.method),
            (_("Outcome"), result.outcome_label or result.outcome),
            (_("Estimate"), result.estimate),
            (_("Standard error"), result.se),
            (_("95 % CI, lower"), result.ci_low),
            (_("95 % CI, upper"), result.ci_high),
            (_("p-value"), result.p_value),
            (_("Intervention units"), result.n_treated),
            (_("Comparison units"), result.n_comparison),
            (_("Observations"), result.n_obs),
            (_("Significant"), _("yes") if result.significant else _("no")),
            (_("Reading"), result.verdict()),
            *((_("Caution"), note) for note in result.caveats()),
            (_("Assumptions"), result.assumptions()),
        ],
        columns=[_("Item"), _("Value")],
    )
    sheet_names = {
        "trend": _("Trend"),
        "units": _("Units"),
        "balance": _("Balance"),
        "pairs": _("Matches"),
        "att_gt": _("Group-time effects"),
        "event": _("Event study"),
        "group": _("By start group"),
        "weights": _("Synthetic weights"),
        "placebo": _("Placebos"),
    }
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        summary.to_excel(writer, sheet_name=_("Impact")[:31], index=False)
        for name, table in result.tables.items():
            table.to_excel(writer, sheet_name=sheet_names.get(name, name)[:31], index=False)
    return path
