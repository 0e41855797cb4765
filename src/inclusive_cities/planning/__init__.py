"""Evidence-based decisions: which places most need investment, and which projects to fund.

Public API (issue #16)::

    from inclusive_cities.planning import (
        prioritise_places, import_projects, load_projects, project_benefits,
        Constraints, load_constraints, select_projects, budget_curve, robust_selection,
        prioritise,
    )

    places = prioritise_places(engine, "DEMO", "uim-basic", k=10, weights={"VIV": 2})
    places.units          # unit_code, score, excluded_rank, p_top_k, rank_p05, rank_p95, gap,
                          # gap_<AREA>, drivers, need, population_host, population_migrant, ...
    import_projects(engine, "DEMO", "proyectos.gpkg", level=places.run.level)
    benefits = project_benefits(load_projects(engine, "DEMO", candidates_only=True), places)
    selection = select_projects(benefits, Constraints(budget=2_500_000, min_migrant_share=0.2))
    selection.chosen, selection.benefit, selection.greedy_benefit, selection.gap
    budget_curve(benefits, selection.constraints)       # budget, benefit, greedy_benefit, ...
    robust_selection(benefits, places, selection.constraints)   # code, share_chosen

Co-creation workshops (issue #17 §1, docs/workshops.md): ``load_workshop``, ``list_workshops``,
``list_solutions``, ``save_workshop``, ``published_participants``; the importer, the tree SVG and
the evidence live in ``planning.workshop_import``, ``planning.problem_tree`` and
``planning.workshop_evidence``.

Errors are :class:`PlanningError`; a bad projects file raises :class:`ProjectsFileError` naming
file, row, column and value; constraints that cannot be met raise :class:`InfeasibleError`
naming the constraint (``error.constraint``).
"""

from __future__ import annotations

from inclusive_cities.planning.errors import InfeasibleError, PlanningError, ProjectsFileError
from inclusive_cities.planning.impact import (
    ImpactError,
    ImpactResult,
    Matching,
    callaway_santanna,
    did,
    impact_to_xlsx,
    intervention_units,
    load_panel,
    match_units,
    measure_impact,
    read_units_file,
    survey_did,
    survey_impact,
    synthetic_control,
)
from inclusive_cities.planning.places import (
    PlacesResult,
    RunData,
    excluded_ranks,
    gap_contributions,
    load_run,
    node_scores,
    prioritise_places,
    replicate_scores,
    top_k_probability,
    weight_sensitivity,
)
from inclusive_cities.planning.projects import (
    PROJECT_TYPES,
    ImportSummary,
    import_projects,
    load_projects,
    read_projects,
)
from inclusive_cities.planning.selection import (
    BenefitModel,
    Constraints,
    PlanResult,
    Selection,
    budget_curve,
    greedy,
    load_constraints,
    prioritise,
    project_benefits,
    robust_selection,
    select_projects,
)
from inclusive_cities.planning.workshops import (
    WorkshopData,
    WorkshopError,
    list_solutions,
    list_workshops,
    load_workshop,
    published_participants,
    save_workshop,
)

__all__ = [
    "PROJECT_TYPES",
    "BenefitModel",
    "Constraints",
    "ImpactError",
    "ImpactResult",
    "ImportSummary",
    "InfeasibleError",
    "Matching",
    "PlacesResult",
    "PlanResult",
    "PlanningError",
    "ProjectsFileError",
    "RunData",
    "Selection",
    "WorkshopData",
    "WorkshopError",
    "budget_curve",
    "callaway_santanna",
    "did",
    "excluded_ranks",
    "gap_contributions",
    "greedy",
    "impact_to_xlsx",
    "import_projects",
    "intervention_units",
    "list_solutions",
    "list_workshops",
    "load_constraints",
    "load_panel",
    "load_projects",
    "load_run",
    "load_workshop",
    "match_units",
    "measure_impact",
    "node_scores",
    "prioritise",
    "prioritise_places",
    "project_benefits",
    "published_participants",
    "read_projects",
    "read_units_file",
    "replicate_scores",
    "robust_selection",
    "save_workshop",
    "select_projects",
    "survey_did",
    "survey_impact",
    "synthetic_control",
    "top_k_probability",
    "weight_sensitivity",
]
