"""Workbooks a planner opens: places and selections with headers in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.errors import PlanningError
from inclusive_cities.planning.places import PlacesResult
from inclusive_cities.planning.selection import EVERY_LOCALITY, PlanResult


def type_label(kind: str, language: str | None = None) -> str:
    """A project type in ``language`` (default: the current one); importers read it back."""
    labels = {
        "public_space": _("Public space", language),
        "housing": _("Housing", language),
        "services": _("Services", language),
        "centre": _("Centre", language),
        "economic": _("Economic", language),
        "social_cohesion": _("Social cohesion", language),
    }
    return labels.get(kind, kind)


def _yes_no(value: object) -> str:
    return _("yes") if bool(value) else _("no")


def place_headers(areas: dict[str, str]) -> dict[str, str]:
    """Column -> header of the places table (``areas``: area code -> name)."""
    headers = {
        "unit_code": _("Unit code"),
        "unit_name": _("Unit"),
        "locality": _("Locality"),
        "score": _("Index score"),
        "excluded_rank": _("Rank (1 = most excluded)"),
        "p_top_k": _("Probability of being among the k most excluded"),
        "rank_p05": _("Rank, 5th percentile"),
        "rank_p95": _("Rank, 95th percentile"),
        "gap": _("Gap to the reference"),
        "drivers": _("What drives the gap"),
        "need": _("Need (0-1)"),
        "population": _("Residents"),
        "population_host": _("Host residents"),
        "population_migrant": _("Refugee and migrant residents"),
        "migrant_share": _("Share of refugees and migrants"),
        "weight_rank_min": _("Best rank with other weights"),
        "weight_rank_max": _("Worst rank with other weights"),
    }
    for code, name in areas.items():
        headers[f"gap_{code}"] = _("Gap from {area}").format(area=name)
    return headers


def places_frame(places: PlacesResult) -> pd.DataFrame:
    """The places table with translated headers, as written to the workbook."""
    headers = place_headers(places.area_labels)
    frame = places.units[[c for c in headers if c in places.units.columns]]
    return frame.rename(columns=headers)


def _parameters(places: PlacesResult) -> pd.DataFrame:
    run = places.run
    rows = [
        (_("City"), run.city),
        (_("Marker run"), f"{run.run_id} ({run.spec.code}, {run.period}, {run.level})"),
        (_("k (most excluded places counted)"), places.k),
        (_("Monte Carlo replicates"), 2 * places.replicates),
        (_("Seed"), places.seed),
        (
            _("Reference of the gap"),
            _("the city's median in every area")
            if places.target is None
            else _("a score of {target} in every area").format(target=places.target),
        ),
        *[
            (_("Weight of {area}").format(area=places.area_labels.get(code, code)), weight)
            for code, weight in places.weights.items()
        ],
        (
            _("Spearman correlation with other weights (median)"),
            round(places.spearman.get("median", np.nan), 4),
        ),
        (
            _("Spearman correlation with other weights (lowest)"),
            round(places.spearman.get("min", np.nan), 4),
        ),
        (_("Weight perturbation (±)"), places.spearman.get("spread", np.nan)),
    ]
    return pd.DataFrame(rows, columns=[_("Parameter"), _("Value")])


def _write(path: Path, sheets: list[tuple[str, pd.DataFrame]]) -> None:
    if path.suffix.lower() != ".xlsx":
        raise PlanningError(
            _("{file}: the output is a workbook; give a name ending in .xlsx.").format(
                file=path.name
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets:
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            for column in sheet.columns:
                width = max(len(str(cell.value or "")) for cell in column[:50])
                sheet.column_dimensions[column[0].column_letter].width = min(max(width, 8), 60)


def write_places_xlsx(places: PlacesResult, path: Path | str) -> Path:
    """Places ranked from the most excluded, and the parameters that made the ranking."""
    path = Path(path)
    _write(path, [(_("Places"), places_frame(places)), (_("Parameters"), _parameters(places))])
    return path


def selection_headers() -> dict[str, str]:
    return {
        "code": _("Code"),
        "name": _("Project"),
        "type": _("Type"),
        "locality": _("Locality"),
        "funder": _("Funder"),
        "cost": _("Cost"),
        "effect": _("Expected effect"),
        "beneficiaries": _("Beneficiaries"),
        "beneficiaries_host": _("Host beneficiaries"),
        "beneficiaries_migrant": _("Refugee and migrant beneficiaries"),
        "need": _("Mean need reached (0-1)"),
        "benefit": _("Benefit"),
        "benefit_host": _("Benefit to hosts"),
        "benefit_migrant": _("Benefit to refugees and migrants"),
        "benefit_per_million": _("Benefit per million"),
        "chosen": _("Chosen (exact)"),
        "greedy_chosen": _("Chosen (greedy)"),
    }


def selection_frame(plan: PlanResult) -> pd.DataFrame:
    """Every candidate with its benefit and whether each method chose it, chosen first."""
    table = plan.selection.table.copy()
    table["type"] = table["type"].map(type_label)
    table = table.sort_values(["chosen", "benefit"], ascending=[False, False])
    for column in ("chosen", "greedy_chosen"):
        table[column] = table[column].map(_yes_no)
    table["benefit_per_million"] = table["benefit_per_million"].replace(np.inf, np.nan)
    headers = selection_headers()
    return table[[c for c in headers if c in table.columns]].rename(columns=headers)


def curve_frame(plan: PlanResult) -> pd.DataFrame:
    headers = {
        "budget": _("Budget"),
        "benefit": _("Benefit (exact)"),
        "cost": _("Cost of the selection"),
        "projects": _("Projects"),
        "greedy_benefit": _("Benefit (greedy)"),
        "feasible": _("Feasible"),
        "marginal_benefit_per_million": _("Extra benefit per extra million"),
    }
    frame = plan.curve.copy()
    frame["feasible"] = frame["feasible"].map(_yes_no)
    return frame[list(headers)].rename(columns=headers)


def robust_frame(plan: PlanResult) -> pd.DataFrame:
    headers = {
        "code": _("Code"),
        "name": _("Project"),
        "type": _("Type"),
        "locality": _("Locality"),
        "cost": _("Cost"),
        "share_chosen": _("Share of replicates in which it is chosen"),
    }
    if plan.robust is None:
        return pd.DataFrame(columns=list(headers.values()))
    frame = plan.robust.copy()
    frame["type"] = frame["type"].map(type_label)
    return frame[list(headers)].rename(columns=headers)


def constraints_frame(plan: PlanResult) -> pd.DataFrame:
    """The constraints used and the outcome, one row each."""
    c = plan.selection.constraints
    s = plan.selection
    run = plan.places.run
    rows: list[tuple[str, object]] = [
        (_("Marker run"), f"{run.run_id} ({run.spec.code}, {run.period}, {run.level})"),
        (_("Budget"), c.budget),
        *[
            (
                _("Minimum invested in every locality")
                if name == EVERY_LOCALITY
                else _("Minimum invested in {locality}").format(locality=name),
                amount,
            )
            for name, amount in c.min_per_locality.items()
        ],
        *[
            (
                _("Minimum projects in every locality")
                if name == EVERY_LOCALITY
                else _("Minimum projects in {locality}").format(locality=name),
                count,
            )
            for name, count in c.min_projects_per_locality.items()
        ],
        (_("Minimum share of benefit to refugees and migrants"), c.min_migrant_share),
        (_("Minimum share of benefit to hosts"), c.min_host_share),
        *[
            (_("Maximum projects of type {type}").format(type=type_label(kind)), cap)
            for kind, cap in c.max_per_type.items()
        ],
        (_("Dependencies respected"), _yes_no(c.dependencies)),
        (_("Exclusions respected"), _yes_no(c.exclusions)),
        (_("Benefit (exact)"), round(s.benefit, 2)),
        (_("Cost (exact)"), s.cost),
        (_("Benefit to refugees and migrants"), round(s.benefit_migrant, 2)),
        (_("Benefit to hosts"), round(s.benefit_host, 2)),
        (_("Host residents reached (each counted once)"), round(s.people_host)),
        (_("Refugees and migrants reached (each counted once)"), round(s.people_migrant)),
        (_("Population counts of period"), run.period),
        (_("Benefit (greedy)"), round(s.greedy_benefit, 2)),
        (_("Cost (greedy)"), s.greedy_cost),
        (_("Gap between exact and greedy"), round(s.gap, 4)),
        (_("Constraints the greedy breaks"), "; ".join(s.greedy_violations) or "-"),
        (_("Seconds to solve"), round(s.seconds, 3)),
    ]
    return pd.DataFrame(
        [(name, "" if value is None else value) for name, value in rows],
        columns=[_("Constraint"), _("Value")],
    )


SHEETS: list[tuple[Callable[[], str], Callable[[PlanResult], pd.DataFrame]]] = [
    (lambda: _("Selection"), selection_frame),
    (lambda: _("Budget curve"), curve_frame),
    (lambda: _("Robustness"), robust_frame),
    (lambda: _("Constraints"), constraints_frame),
]


def write_selection_xlsx(plan: PlanResult, path: Path | str) -> Path:
    """The selection, budget curve, robustness and constraints sheets, plus the places."""
    path = Path(path)
    sheets = [(name(), build(plan)) for name, build in SHEETS]
    sheets.append((_("Places"), places_frame(plan.places)))
    _write(path, sheets)
    return path
