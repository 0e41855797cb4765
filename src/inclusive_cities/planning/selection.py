"""Choosing projects under a budget: an exact integer program, the greedy choice beside it,
the budget curve and how robust the choice is to the marker's uncertainty.

The benefit of a project is need × beneficiaries × effect summed over the units it reaches:
``effect × Σ_u reach_u × residents_u × need_u``, where ``need_u`` is 1 − score/100 of the
marker nodes or indicators the project targets (the index when it targets none), and the
sum is split between host residents and refugees and migrants. The program maximises the
total benefit with the constraints a city has (budget, a minimum per locality, minimum
shares of benefit for refugees and migrants and for hosts, dependencies, exclusions and a
cap per project type) and is solved exactly with HiGHS.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.errors import InfeasibleError, PlanningError
from inclusive_cities.planning.places import PlacesResult, RunData, node_scores, replicate_scores
from inclusive_cities.planning.projects import _TYPE_ALIASES, PROJECT_TYPES, _plain, parse_amount
from inclusive_cities.progress import ProgressCallback, quiet_progress

EVERY_LOCALITY = "*"
"""Key of ``min_per_locality`` / ``min_projects_per_locality`` meaning each locality."""


@dataclass
class Constraints:
    """What a selection must respect. Money in the projects' currency; shares 0-1."""

    budget: float
    min_per_locality: dict[str, float] = field(default_factory=dict)
    min_projects_per_locality: dict[str, int] = field(default_factory=dict)
    min_migrant_share: float = 0.0
    min_host_share: float = 0.0
    max_per_type: dict[str, int] = field(default_factory=dict)
    dependencies: bool = True
    exclusions: bool = True

    def __post_init__(self) -> None:
        if not np.isfinite(self.budget) or self.budget < 0:
            raise PlanningError(
                _("The budget must be a number >= 0, got {value}.").format(value=self.budget)
            )
        for name in ("min_migrant_share", "min_host_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise PlanningError(
                    _("{name} must be a share between 0 and 1 (e.g. 0.3), got {value}.").format(
                        name=name, value=value
                    )
                )
        if self.min_migrant_share + self.min_host_share > 1:
            raise PlanningError(
                _(
                    "The minimum shares of benefit for refugees and migrants ({migrant}) and for "
                    "hosts ({host}) add up to more than 1: lower one of them."
                ).format(migrant=self.min_migrant_share, host=self.min_host_share)
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_CONSTRAINT_KEYS = {
    "budget",
    "min_per_locality",
    "min_projects_per_locality",
    "min_migrant_share",
    "min_host_share",
    "max_per_type",
    "dependencies",
    "exclusions",
}


def load_constraints(path: Path | str, budget: float | None = None) -> Constraints:
    """Constraints from a YAML file (keys as :class:`Constraints`); ``budget`` overrides the
    file's. Shares may be written as 30% or 0.3."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise PlanningError(
            _("The constraints file {file} does not exist: check the path.").format(file=str(path))
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise PlanningError(
            _("{file}, line {line}: not valid YAML ({reason}).").format(
                file=path.name,
                line=(mark.line + 1) if mark else "-",
                reason=getattr(error, "problem", None) or "?",
            )
        ) from None
    if not isinstance(data, dict):
        raise PlanningError(
            _("{file}: the constraints must be a mapping of names to values.").format(
                file=path.name
            )
        )
    for key in data:
        if key not in _CONSTRAINT_KEYS:
            raise PlanningError(
                _("{file}: unknown constraint '{key}'; use {known}.").format(
                    file=path.name, key=key, known=", ".join(sorted(_CONSTRAINT_KEYS))
                )
            )

    def share(key: str) -> float:
        value = data.get(key, 0.0)
        text = str(value).strip()
        percent = text.endswith("%")
        number = parse_amount(text.rstrip("%").strip())
        if number is None or isinstance(value, bool):
            raise PlanningError(
                _("{file}, '{key}': '{value}' is not a share; write 0.3 or 30%.").format(
                    file=path.name, key=key, value=value
                )
            ) from None
        return number / 100.0 if percent else number

    def mapping(key: str, kind: type) -> dict[str, Any]:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise PlanningError(
                _(
                    "{file}, '{key}': give a mapping such as {{Usme: 300000}}, not '{value}'."
                ).format(file=path.name, key=key, value=value)
            )
        out: dict[str, Any] = {}
        for name, amount in value.items():
            # money as people write it ('200.000', '$ 1,200,000'), never 200.000 -> 200
            number = None if isinstance(amount, bool) else parse_amount(amount)
            if number is None or (kind is int and not float(number).is_integer()):
                raise PlanningError(
                    _("{file}, '{key}', '{name}': '{value}' is not a number.").format(
                        file=path.name, key=key, name=name, value=amount
                    )
                ) from None
            out[str(name)] = kind(number)
        return out

    def types(key: str) -> dict[str, int]:
        """Caps by type, keyed as the projects file may write types ('Espacio público')."""
        out: dict[str, int] = {}
        for name, cap in mapping(key, int).items():
            kind = _TYPE_ALIASES.get(_plain(name), _plain(name))
            if kind not in PROJECT_TYPES:
                raise PlanningError(
                    _("{file}, '{key}': '{name}' is not a project type; use {types}.").format(
                        file=path.name, key=key, name=name, types=", ".join(PROJECT_TYPES)
                    )
                )
            out[kind] = cap
        return out

    chosen_budget = budget if budget is not None else data.get("budget")
    if chosen_budget is None:
        raise PlanningError(
            _("{file}: no budget; give --budget or a 'budget' entry.").format(file=path.name)
        )
    return Constraints(
        budget=_budget(chosen_budget, path.name),
        min_per_locality=mapping("min_per_locality", float),
        min_projects_per_locality=mapping("min_projects_per_locality", int),
        min_migrant_share=share("min_migrant_share"),
        min_host_share=share("min_host_share"),
        max_per_type=types("max_per_type"),
        dependencies=bool(data.get("dependencies", True)),
        exclusions=bool(data.get("exclusions", True)),
    )


def _budget(value: object, file: str) -> float:
    number = None if isinstance(value, bool) else parse_amount(value)
    if number is None:
        raise PlanningError(
            _("{file}, 'budget': '{value}' is not an amount; write 600000 or 600.000.").format(
                file=file, value=value
            )
        )
    return number


# --------------------------------------------------------------------------------------
# Benefits
# --------------------------------------------------------------------------------------


class BenefitModel:
    """Projects' reach over a run's units, ready to price the benefit of any need profile.

    Built once; :meth:`benefits` then costs one sparse product per distinct target set, so a
    re-solve with other weights or another Monte Carlo replicate stays fast.
    """

    def __init__(self, projects: pd.DataFrame, run: RunData) -> None:
        self.projects = projects.reset_index(drop=True)
        self.run = run
        levels = {str(level) for level in self.projects.get("level", pd.Series(dtype=str)) if level}
        if levels and levels != {run.level}:
            raise PlanningError(
                _(
                    "The projects were imported for level '{projects}' but marker run {run} is at "
                    "level '{level}': import them again with --level {level}."
                ).format(projects=", ".join(sorted(levels)), run=run.run_id, level=run.level)
            )
        codes = list(run.units["unit_code"])
        position = {code: j for j, code in enumerate(codes)}
        rows, cols, values = [], [], []
        for i, reach in enumerate(self.projects["beneficiary_units"]):
            for unit, share in (reach or {}).items():
                if unit in position:
                    rows.append(i)
                    cols.append(position[unit])
                    values.append(float(share))
        self.reach = sparse.csr_matrix(
            (values, (rows, cols)), shape=(len(self.projects), len(codes))
        )
        self.host = run.units["population_host"].fillna(0.0).to_numpy(dtype=float)
        self.migrant = run.units["population_migrant"].fillna(0.0).to_numpy(dtype=float)
        self.effect = self.projects["effect"].to_numpy(dtype=float)
        nodes = set(run.spec.node_codes)
        indicators = set(run.spec.indicator_codes)
        self.groups: dict[tuple[str, ...], np.ndarray] = {}
        for i, targets in enumerate(self.projects["targets"]):
            key = tuple(sorted(set(targets or [])))
            for code in key:
                if code not in nodes and code not in indicators:
                    raise PlanningError(
                        _(
                            "Project {project} targets '{code}', which is not an area, dimension "
                            "or indicator of marker {spec}; use codes such as {examples}."
                        ).format(
                            project=self.projects["code"].iloc[i],
                            code=code,
                            spec=run.spec.code,
                            examples=", ".join(run.areas[:4]),
                        )
                    )
            self.groups.setdefault(key, np.empty(0, dtype=int))
            self.groups[key] = np.append(self.groups[key], i)
        self.target_nodes = sorted({c for key in self.groups for c in key if c in nodes})
        self.upper = run.spec.defaults.scale.upper

    def need(self, scores: Mapping[str, np.ndarray], targets: tuple[str, ...]) -> np.ndarray:
        """Per unit, 0-1: the mean shortfall (1 - score/100) of the targeted codes, or of the
        index when the project targets none; a unit with no score there has no need counted."""
        root = self.run.spec.tree.code
        columns = [scores[c] if c in scores else self.run.normalised[c].to_numpy() for c in targets]
        if not columns:
            columns = [scores[root]]
        stacked = np.vstack([np.asarray(c, dtype=float) for c in columns])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a unit without any score
            mean = np.nanmean(stacked, axis=0)
        return np.clip(np.nan_to_num((self.upper - mean) / self.upper, nan=0.0), 0.0, 1.0)

    def benefits(self, scores: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(host, refugee-and-migrant) benefit of each project under the given node scores."""
        host = np.zeros(len(self.projects))
        migrant = np.zeros(len(self.projects))
        for key, members in self.groups.items():
            need = self.need(scores, key)
            reach = self.reach[members]
            host[members] = reach @ (self.host * need)
            migrant[members] = reach @ (self.migrant * need)
        return host * self.effect, migrant * self.effect


def _residents(reach: sparse.csr_matrix, units: np.ndarray, people: np.ndarray) -> list[dict]:
    """Per project, unit code -> residents it reaches there (share × residents), so that a
    selection can count each unit's residents once (:func:`people_reached`)."""
    rows = []
    for i in range(reach.shape[0]):
        row = reach.getrow(i)
        pairs = zip(row.indices, row.data, strict=True)
        rows.append({str(units[j]): float(v * people[j]) for j, v in pairs if v})
    return rows


def people_reached(table: pd.DataFrame, chosen: np.ndarray | pd.Series) -> tuple[float, float]:
    """(host, refugee-and-migrant) people a set of projects reaches, each unit's residents
    counted once (at the largest share any chosen project reaches): two projects in one
    neighbourhood help its residents, not twice as many people. Per project, the
    beneficiaries stay those of its own catchment."""
    mask = np.asarray(chosen, dtype=bool)
    totals = []
    for column, fallback in (
        ("residents_host", "beneficiaries_host"),
        ("residents_migrant", "beneficiaries_migrant"),
    ):
        if column not in table:
            totals.append(
                float(table[fallback].to_numpy()[mask].sum()) if fallback in table else 0.0
            )
            continue
        most: dict[str, float] = {}
        for units in table[column].to_numpy()[mask]:
            for unit, people in (units or {}).items():
                most[unit] = max(most.get(unit, 0.0), float(people))
        totals.append(float(sum(most.values())))
    return totals[0], totals[1]


def project_benefits(
    projects: pd.DataFrame,
    places: PlacesResult | RunData,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Per project: its cost, beneficiaries, need reached and benefit split host / refugee
    and migrant, under the planner's area ``weights`` (those of ``places`` by default)."""
    run = places.run if isinstance(places, PlacesResult) else places
    if weights is None and isinstance(places, PlacesResult):
        weights = places.weights
    model = BenefitModel(projects, run)
    scores = node_scores(run, weights)
    host, migrant = model.benefits({c: scores[c].to_numpy() for c in scores.columns})
    frame = model.projects[["code", "name", "type", "locality", "funder", "cost", "effect"]].copy()
    frame["depends_on"] = model.projects["depends_on"]
    frame["excludes"] = model.projects["excludes"]
    frame["beneficiaries_host"] = np.asarray(model.reach @ model.host)
    frame["beneficiaries_migrant"] = np.asarray(model.reach @ model.migrant)
    frame["beneficiaries"] = frame["beneficiaries_host"] + frame["beneficiaries_migrant"]
    units = model.run.units["unit_code"].astype(str).to_numpy()
    frame["residents_host"] = _residents(model.reach, units, model.host)
    frame["residents_migrant"] = _residents(model.reach, units, model.migrant)
    frame["benefit_host"] = host
    frame["benefit_migrant"] = migrant
    frame["benefit"] = host + migrant
    with np.errstate(divide="ignore", invalid="ignore"):
        reached = frame["beneficiaries"] * frame["effect"]
        frame["need"] = np.where(reached > 0, frame["benefit"] / reached, 0.0)
    frame["benefit_per_million"] = np.where(
        frame["cost"] > 0, frame["benefit"] / frame["cost"] * 1e6, np.inf
    )
    frame.attrs["model"] = model
    return frame


# --------------------------------------------------------------------------------------
# The integer program
# --------------------------------------------------------------------------------------


@dataclass
class _Group:
    """One named group of rows of the program (for telling the user which one fails)."""

    key: str
    label: str
    rows: list[tuple[dict[int, float], float, float]]


def _localities(frame: pd.DataFrame, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """Locality -> minimum, expanding the '*' entry to every locality of the projects. A key
    is matched without case or accents ('sur' is 'Sur'); one matching no project's locality
    is refused, naming them (a typo must not read as an impossible minimum)."""
    present = sorted({str(x) for x in frame["locality"] if str(x)})
    folded = {_plain(p): p for p in present}
    out: dict[str, Any] = {}
    if EVERY_LOCALITY in wanted:
        out.update({locality: wanted[EVERY_LOCALITY] for locality in present})
    for key, minimum in wanted.items():
        if key == EVERY_LOCALITY:
            continue
        locality = key if key in present else folded.get(_plain(key))
        if locality is None:
            raise PlanningError(
                _(
                    "The constraints name locality '{key}', which no candidate project is in; "
                    "the projects' localities are {localities}."
                ).format(key=key, localities=", ".join(present) or "-")
            )
        out[locality] = minimum
    return out


def _groups(frame: pd.DataFrame, constraints: Constraints) -> list[_Group]:
    """Every constraint except the budget as named groups of rows {column: coefficient}."""
    codes = list(frame["code"])
    index = {code: i for i, code in enumerate(codes)}
    cost = frame["cost"].to_numpy(dtype=float)
    benefit = frame["benefit"].to_numpy(dtype=float)
    groups: list[_Group] = []
    inf = float("inf")
    localities = frame["locality"].astype(str).to_numpy()
    for locality, minimum in _localities(frame, constraints.min_per_locality).items():
        members = np.flatnonzero(localities == locality)
        groups.append(
            _Group(
                f"locality:{locality}",
                _("a minimum of {amount} invested in locality {locality}").format(
                    amount=format_number(minimum, 0), locality=locality
                ),
                [({int(i): cost[i] for i in members}, float(minimum), inf)],
            )
        )
    for locality, minimum in _localities(frame, constraints.min_projects_per_locality).items():
        members = np.flatnonzero(localities == locality)
        groups.append(
            _Group(
                f"locality_projects:{locality}",
                _("at least {count} projects in locality {locality}").format(
                    count=minimum, locality=locality
                ),
                [({int(i): 1.0 for i in members}, float(minimum), inf)],
            )
        )
    for key, share, column, label in (
        (
            "migrant_share",
            constraints.min_migrant_share,
            "benefit_migrant",
            _("at least {share} of the benefit reaching refugees and migrants"),
        ),
        (
            "host_share",
            constraints.min_host_share,
            "benefit_host",
            _("at least {share} of the benefit reaching host residents"),
        ),
    ):
        if share > 0:
            part = frame[column].to_numpy(dtype=float)
            row = {i: float(part[i] - share * benefit[i]) for i in range(len(codes))}
            groups.append(_Group(key, label.format(share=f"{share:.0%}"), [(row, 0.0, inf)]))
    if constraints.dependencies:
        rows = []
        for i, needs in enumerate(frame["depends_on"]):
            for other in needs or []:
                if other in index:
                    rows.append(({i: 1.0, index[other]: -1.0}, -inf, 0.0))
        if rows:
            groups.append(_Group("dependencies", _("the dependencies between projects"), rows))
    if constraints.exclusions:
        pairs = set()
        for i, others in enumerate(frame["excludes"]):
            for other in others or []:
                if other in index and index[other] != i:
                    pairs.add(tuple(sorted((i, index[other]))))
        if pairs:
            groups.append(
                _Group(
                    "exclusions",
                    _("the exclusions between projects"),
                    [({a: 1.0, b: 1.0}, -inf, 1.0) for a, b in sorted(pairs)],
                )
            )
    types = frame["type"].astype(str).to_numpy()
    for kind, cap in sorted(constraints.max_per_type.items()):
        members = np.flatnonzero(types == kind)
        groups.append(
            _Group(
                f"type:{kind}",
                _("at most {count} projects of type {type}").format(count=cap, type=kind),
                [({int(i): 1.0 for i in members}, -inf, float(cap))],
            )
        )
    return groups


def _quiet_highs() -> Any:
    """A HiGHS instance that prints nothing (its banner would land in the CLI's output)."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 1)
            solver = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    solver.setOptionValue("output_flag", False)
    return solver


def _solve(
    benefit: np.ndarray,
    cost: np.ndarray,
    budget: float,
    groups: Sequence[_Group],
    start: np.ndarray | None = None,
    tolerance: float = 1e-6,
) -> np.ndarray | None:
    """The 0/1 choice maximising benefit under the budget and ``groups``; None if infeasible.

    ``start`` (the greedy choice) is handed to HiGHS as a first solution: a good incumbent
    prunes the branch and bound from the start (about a third faster on 500 projects). The
    optimality ``tolerance`` is 1e-6 of the benefit, far below any difference that matters.
    """
    import highspy

    n = len(benefit)
    rows: list[tuple[dict[int, float], float, float]] = [
        ({i: float(cost[i]) for i in range(n) if cost[i]}, -np.inf, float(budget))
    ]
    for group in groups:
        rows.extend(group.rows)
    data, row_index, col_index = [], [], []
    lower, upper = [], []
    for r, (coefficients, low, high) in enumerate(rows):
        for column, value in coefficients.items():
            if value:
                data.append(value)
                row_index.append(r)
                col_index.append(column)
        lower.append(low)
        upper.append(high)
    matrix = sparse.csc_matrix((data, (row_index, col_index)), shape=(len(rows), n))
    model = highspy.HighsLp()
    model.num_col_ = n
    model.num_row_ = len(rows)
    model.sense_ = highspy.ObjSense.kMaximize
    model.col_cost_ = np.asarray(benefit, dtype=float)
    model.col_lower_ = np.zeros(n)
    model.col_upper_ = np.ones(n)
    model.row_lower_ = np.array([highspy.kHighsInf * -1 if np.isinf(v) else v for v in lower])
    model.row_upper_ = np.array([highspy.kHighsInf if np.isinf(v) else v for v in upper])
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = matrix.indptr
    model.a_matrix_.index_ = matrix.indices
    model.a_matrix_.value_ = matrix.data
    model.integrality_ = [highspy.HighsVarType.kInteger] * n
    solver = _quiet_highs()
    solver.setOptionValue("mip_rel_gap", tolerance)
    solver.setOptionValue("mip_abs_gap", 1e-9)
    solver.setOptionValue("mip_heuristic_effort", 0.2)
    solver.passModel(model)
    if start is not None and start.any():
        first = highspy.HighsSolution()
        first.col_value = start.astype(float).tolist()
        first.value_valid = True
        solver.setSolution(first)
    solver.run()
    status = solver.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        if status in (highspy.HighsModelStatus.kInfeasible,):
            return None
        raise PlanningError(
            _("The solver stopped without a selection ({status}).").format(
                status=solver.modelStatusToString(status)
            )
        )
    values = np.asarray(solver.getSolution().col_value)
    return values > 0.5


def _empty_only(benefit: np.ndarray, cost: np.ndarray, budget: float, chosen: np.ndarray) -> bool:
    """True when the constraints leave only the empty selection although a project with
    some benefit fits the budget: the minimum shares of benefit are met by choosing nothing,
    which is no plan, so it counts as constraints that cannot be met."""
    return not chosen.any() and bool(np.any((benefit > 0) & (cost <= budget + 1e-9)))


def _fails(benefit: np.ndarray, cost: np.ndarray, budget: float, groups: Sequence[_Group]) -> bool:
    chosen = _solve(benefit, cost, budget, groups)
    return chosen is None or _empty_only(benefit, cost, budget, chosen)


def _diagnose(
    benefit: np.ndarray, cost: np.ndarray, budget: float, groups: Sequence[_Group]
) -> InfeasibleError:
    """Which constraints cannot be met together (or only by choosing nothing): one alone if
    it fails with the budget alone, else a smallest set found by dropping groups one at a
    time (a deletion filter)."""
    for group in groups:
        if any(
            low > sum(value for value in coefficients.values() if value > 0) + 1e-9
            for coefficients, low, _high in group.rows
        ):
            return InfeasibleError(
                _(
                    "Even funding every candidate project would not meet {constraint}: relax it "
                    "or add projects."
                ).format(constraint=group.label),
                group.key,
            )
    for group in groups:
        if _fails(benefit, cost, budget, [group]):
            return InfeasibleError(
                _(
                    "No selection within the budget of {budget} meets {constraint}: raise the "
                    "budget or relax that constraint."
                ).format(budget=format_number(budget, 0), constraint=group.label),
                group.key,
            )
    kept = list(groups)
    for group in list(groups):
        trial = [g for g in kept if g is not group]
        if _fails(benefit, cost, budget, trial):
            kept = trial
    return InfeasibleError(
        _(
            "Within the budget of {budget} these constraints cannot all be met together: "
            "{constraints}; relax one of them or raise the budget."
        ).format(budget=format_number(budget, 0), constraints="; ".join(g.label for g in kept)),
        ",".join(g.key for g in kept),
    )


def greedy(frame: pd.DataFrame, constraints: Constraints) -> np.ndarray:
    """The planner's rule of thumb: benefit per unit of cost, best first, while the budget
    lasts. A project is taken when it fits, its dependencies are taken, nothing it excludes is
    taken, its type's cap is not reached and the shares of benefit for refugees and migrants
    and for hosts stay at their minimums. The localities with a minimum (money or projects)
    are visited first, in alphabetical order, each taking its own projects best first until
    its minimum is met; then every project, best first, while the budget lasts. It never
    undoes a choice, so it can miss a minimum the exact program meets (reported beside it).
    """
    codes = list(frame["code"])
    index = {code: i for i, code in enumerate(codes)}
    cost = frame["cost"].to_numpy(dtype=float)
    benefit = frame["benefit"].to_numpy(dtype=float)
    migrant = frame["benefit_migrant"].to_numpy(dtype=float)
    host = frame["benefit_host"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cost > 0, benefit / np.where(cost > 0, cost, 1.0), np.inf)
    order = sorted(range(len(codes)), key=lambda i: (-ratio[i], -benefit[i], codes[i]))
    excluded: dict[int, set[int]] = {i: set() for i in range(len(codes))}
    if constraints.exclusions:
        for i, others in enumerate(frame["excludes"]):
            for other in others or []:
                if other in index:
                    excluded[i].add(index[other])
                    excluded[index[other]].add(i)
    types = frame["type"].astype(str).to_numpy()
    localities = frame["locality"].astype(str).to_numpy()
    needs = [
        [index[o] for o in (others or []) if o in index] if constraints.dependencies else []
        for others in frame["depends_on"]
    ]
    taken: dict[str, int] = {}
    chosen = np.zeros(len(codes), dtype=bool)
    totals = {"cost": 0.0, "benefit": 0.0, "migrant": 0.0, "host": 0.0}

    def fits(i: int) -> bool:
        if chosen[i] or benefit[i] <= 0:
            return False
        if totals["cost"] + cost[i] > constraints.budget + 1e-9:
            return False
        if not all(chosen[j] for j in needs[i]) or any(chosen[j] for j in excluded[i]):
            return False
        cap = constraints.max_per_type.get(str(types[i]))
        if cap is not None and taken.get(str(types[i]), 0) >= cap:
            return False
        total = totals["benefit"] + benefit[i]
        slack = 1e-9 * max(total, 1.0)
        if totals["migrant"] + migrant[i] < constraints.min_migrant_share * total - slack:
            return False
        return totals["host"] + host[i] >= constraints.min_host_share * total - slack

    def take(i: int) -> None:
        chosen[i] = True
        taken[str(types[i])] = taken.get(str(types[i]), 0) + 1
        totals["cost"] += cost[i]
        totals["benefit"] += benefit[i]
        totals["migrant"] += migrant[i]
        totals["host"] += host[i]

    def fill(candidates: list[int], done: Callable[[], bool]) -> None:
        changed = True
        while changed and not done():
            changed = False
            for i in candidates:
                if fits(i):
                    take(i)
                    changed = True
                    if done() or any(i in deps for deps in needs):
                        break  # a dependency was just met: look again from the best

    money = _localities(frame, constraints.min_per_locality)
    counts = _localities(frame, constraints.min_projects_per_locality)

    def met(inside: list[int], locality: str) -> Callable[[], bool]:
        def check() -> bool:
            spent = sum(cost[i] for i in inside if chosen[i])
            count = sum(1 for i in inside if chosen[i])
            return bool(
                spent >= money.get(locality, 0.0) - 1e-9 and count >= counts.get(locality, 0)
            )

        return check

    for locality in sorted(set(money) | set(counts)):
        inside = [i for i in order if localities[i] == locality]
        fill(inside, met(inside, locality))
    fill(order, lambda: False)
    return chosen


@dataclass
class Selection:
    """The exact selection and the greedy one beside it."""

    chosen: list[str]
    benefit: float
    cost: float
    benefit_host: float
    benefit_migrant: float
    greedy: list[str]
    greedy_benefit: float
    greedy_cost: float
    gap: float
    seconds: float
    table: pd.DataFrame
    constraints: Constraints
    greedy_violations: list[str] = field(default_factory=list)
    people_host: float = 0.0
    """Host residents the chosen projects reach, each unit counted once."""
    people_migrant: float = 0.0
    """Refugees and migrants the chosen projects reach, each unit counted once."""


def _violations(frame: pd.DataFrame, chosen: np.ndarray, groups: Iterable[_Group]) -> list[str]:
    """Labels of the groups a 0/1 choice breaks (for telling what the greedy misses)."""
    broken = []
    for group in groups:
        for coefficients, low, high in group.rows:
            total = sum(value * chosen[column] for column, value in coefficients.items())
            if total < low - 1e-6 or total > high + 1e-6:
                broken.append(group.label)
                break
    return broken


def select_projects(benefits: pd.DataFrame, constraints: Constraints) -> Selection:
    """Maximise the total benefit within the budget and constraints (exact, HiGHS), with the
    greedy benefit/cost choice and the gap between them. Raises :class:`InfeasibleError`
    naming the constraint that cannot be met."""
    started = time.perf_counter()
    frame = benefits.reset_index(drop=True)
    benefit = frame["benefit"].to_numpy(dtype=float)
    cost = frame["cost"].to_numpy(dtype=float)
    groups = _groups(frame, constraints)
    picked = greedy(frame, constraints)
    chosen = _solve(benefit, cost, constraints.budget, groups, picked)
    if chosen is None or _empty_only(benefit, cost, constraints.budget, chosen):
        raise _diagnose(benefit, cost, constraints.budget, groups)
    seconds = time.perf_counter() - started
    table = frame.drop(columns=[c for c in ("depends_on", "excludes") if c in frame]).copy()
    table["chosen"] = chosen
    table["greedy_chosen"] = picked
    best = float(benefit[chosen].sum())
    greedy_benefit = float(benefit[picked].sum())
    people_host, people_migrant = people_reached(frame, chosen)
    return Selection(
        chosen=[str(c) for c in frame["code"][chosen]],
        benefit=best,
        cost=float(cost[chosen].sum()),
        benefit_host=float(frame["benefit_host"].to_numpy()[chosen].sum()),
        benefit_migrant=float(frame["benefit_migrant"].to_numpy()[chosen].sum()),
        greedy=[str(c) for c in frame["code"][picked]],
        greedy_benefit=greedy_benefit,
        greedy_cost=float(cost[picked].sum()),
        gap=(best - greedy_benefit) / best if best > 0 else 0.0,
        seconds=seconds,
        table=table,
        constraints=constraints,
        greedy_violations=_violations(frame, picked, groups),
        people_host=people_host,
        people_migrant=people_migrant,
    )


def budget_curve(
    benefits: pd.DataFrame,
    constraints: Constraints,
    budgets: Sequence[float] | None = None,
    progress: ProgressCallback = quiet_progress,
) -> pd.DataFrame:
    """Total benefit of the best selection as the budget grows (what the next million buys),
    with the greedy's beside it; a budget too small for the other constraints (or one where
    they leave only the empty selection) shows no benefit and ``feasible`` False."""
    frame = benefits.reset_index(drop=True)
    benefit = frame["benefit"].to_numpy(dtype=float)
    cost = frame["cost"].to_numpy(dtype=float)
    total = float(cost.sum())
    if budgets is None:
        top = max(total, constraints.budget)
        budgets = sorted({*np.linspace(top / 10, top, 10).round(-3).tolist(), constraints.budget})
    groups = _groups(frame, constraints)
    rows = []
    step = _("Solving the selection at each budget")
    for done, amount in enumerate(budgets):
        progress(step, done, len(budgets))
        varied = Constraints(**{**constraints.as_dict(), "budget": float(amount)})
        picked = greedy(frame, varied)
        # a point of a chart: 0.01 % of the benefit is far below what the chart shows
        chosen = _solve(benefit, cost, float(amount), groups, picked, tolerance=1e-4)
        if chosen is not None and _empty_only(benefit, cost, float(amount), chosen):
            chosen = None
        rows.append(
            {
                "budget": float(amount),
                "benefit": float(benefit[chosen].sum()) if chosen is not None else np.nan,
                "cost": float(cost[chosen].sum()) if chosen is not None else np.nan,
                "projects": int(chosen.sum()) if chosen is not None else 0,
                "greedy_benefit": float(benefit[picked].sum()),
                "feasible": chosen is not None,
            }
        )
    curve = pd.DataFrame(rows)
    # between feasible budgets only: an infeasible one has no benefit to difference
    feasible = curve[curve["feasible"]]
    curve["marginal_benefit_per_million"] = (
        feasible["benefit"].diff() / feasible["budget"].diff() * 1e6
    ).reindex(curve.index)
    return curve


def robust_selection(
    benefits: pd.DataFrame,
    places: PlacesResult,
    constraints: Constraints,
    replicates: int | None = 50,
    progress: ProgressCallback = quiet_progress,
) -> pd.DataFrame:
    """How often each project is chosen when the need comes from each Monte Carlo replicate
    of the marker (2 × ``replicates`` solves); infeasible replicates are counted apart."""
    model: BenefitModel = benefits.attrs.get("model") or BenefitModel(benefits, places.run)
    run = places.run
    nodes = [run.spec.tree.code, *model.target_nodes]
    draws, names = replicate_scores(
        run,
        nodes=nodes,
        weights=places.weights,
        replicates=replicates,
        seed=places.seed,
        progress=progress,
    )
    frame = benefits.reset_index(drop=True).copy()
    cost = frame["cost"].to_numpy(dtype=float)
    counts = np.zeros(len(frame))
    solved = 0
    step = _("Solving the selection in each replicate")
    for done, draw in enumerate(draws):
        progress(step, done, len(draws))
        scores = {code: draw[:, j].astype(float) for j, code in enumerate(names)}
        host, migrant = model.benefits(scores)
        frame["benefit_host"] = host
        frame["benefit_migrant"] = migrant
        frame["benefit"] = host + migrant
        chosen = _solve(
            frame["benefit"].to_numpy(),
            cost,
            constraints.budget,
            _groups(frame, constraints),
            greedy(frame, constraints),
        )
        if chosen is None or _empty_only(
            frame["benefit"].to_numpy(), cost, constraints.budget, chosen
        ):
            continue
        counts += chosen
        solved += 1
    out = benefits[["code", "name", "type", "locality", "cost"]].reset_index(drop=True).copy()
    out["share_chosen"] = counts / solved if solved else np.nan
    out.attrs["replicates"] = len(draws)
    out.attrs["feasible"] = solved
    return out.sort_values(["share_chosen", "code"], ascending=[False, True]).reset_index(drop=True)


@dataclass
class PlanResult:
    """Everything ``plan prioritise`` shows and writes: places, benefits, the selection, the
    budget curve and how robust the choice is."""

    places: PlacesResult
    projects: pd.DataFrame
    benefits: pd.DataFrame
    selection: Selection
    curve: pd.DataFrame
    robust: pd.DataFrame | None


def prioritise(
    engine: Any,
    city: str,
    run: str | int,
    constraints: Constraints,
    *,
    projects_path: Path | str | None = None,
    layer: str | None = None,
    streets: Path | str | None = None,
    default_catchment_m: float | None = None,
    weights: Mapping[str, float] | None = None,
    k: int = 10,
    robust_replicates: int | None = 50,
    budgets: Sequence[float] | None = None,
    imported_by: str = "",
    progress: ProgressCallback = quiet_progress,
) -> PlanResult:
    """From a stored run and candidate projects (imported first from ``projects_path`` at the
    run's level, else those already stored) to the selection, its curve and its robustness."""
    from inclusive_cities.planning.places import load_run, prioritise_places
    from inclusive_cities.planning.projects import (
        DEFAULT_CATCHMENT_M,
        import_projects,
        load_projects,
    )

    data = load_run(engine, city, run)
    if projects_path is not None:
        import_projects(
            engine,
            city,
            projects_path,
            level=data.level,
            period=data.period,
            layer=layer,
            streets=streets,
            default_catchment_m=default_catchment_m or DEFAULT_CATCHMENT_M,
            imported_by=imported_by,
        )
    projects = load_projects(engine, city, candidates_only=True)
    if projects.empty:
        raise PlanningError(
            _(
                "City '{city}' has no candidate projects: give --projects with a .xlsx or .gpkg "
                "file of projects."
            ).format(city=city)
        )
    places = prioritise_places(engine, city, data, k=k, weights=weights, progress=progress)
    benefits = project_benefits(projects, places)
    progress(_("Choosing the projects"), 0, None)
    selection = select_projects(benefits, constraints)
    curve = budget_curve(benefits, constraints, budgets, progress=progress)
    robust = (
        robust_selection(benefits, places, constraints, robust_replicates, progress=progress)
        if robust_replicates
        else None
    )
    return PlanResult(places, projects, benefits, selection, curve, robust)
