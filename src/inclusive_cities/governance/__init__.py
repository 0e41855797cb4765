"""Migration-governance assessments (MGI-style), local and national, beside the evidence.

Public API (a runnable tour; ``tests/governance/test_tour.py`` runs it)::

    from inclusive_cities.governance import (
        load_framework, write_template, import_assessment, assessment_result,
        compare_levels, compare_changes, search_initiatives, export_xlsx,
    )

    framework = load_framework("mgi-demo")      # built-in, or a path to a YAML file
    assert framework.label == "mgi-demo@1"
    write_template(framework, "es", "plantilla.xlsx")   # the form a city fills in
    older = import_assessment(engine, "evaluacion-2022.xlsx", city="DEMO")
    summary = import_assessment(engine, "evaluacion-2024.xlsx", city="DEMO")
    import_assessment(engine, "national.xlsx", country="COL")
    result = assessment_result(engine, summary.assessment_ids[0])
    scores = result.overall, [(d.code, d.score, d.band) for d in result.domains]
    sentences = result.strengths("es"), result.gaps("en")
    comparison = compare_levels(engine, "DEMO")   # latest local vs latest national
    statuses = [(q.code, q.status) for q in comparison.questions]  # ahead, behind, same...
    changes = compare_changes(engine, older.assessment_ids[0], summary.assessment_ids[0])
    lines = changes.summary("en")
    practices = search_initiatives(engine, "salud", kind="good_practice")
    export_xlsx(result, "results.xlsx", "en", [comparison])

The score rule (framework ``scoring``) is in :mod:`.scoring`; how the latest local assessment
becomes the marker's ``migration_governance_score`` is in :mod:`.marker_link`. Errors are
:class:`GovernanceError` (framework problems: :class:`FrameworkError`, naming file and line).
"""

from inclusive_cities.governance.assess import (
    AssessmentInfo,
    AssessmentResult,
    assessment_result,
    latest_assessment,
    list_assessments,
    resolve,
)
from inclusive_cities.governance.compare import (
    Comparison,
    DomainComparison,
    QuestionComparison,
    compare_changes,
    compare_levels,
    compare_previous,
    compare_results,
)
from inclusive_cities.governance.errors import FrameworkError, GovernanceError
from inclusive_cities.governance.evidence import DomainEvidence, LinkedValue, domain_evidence
from inclusive_cities.governance.export import export_assessment, export_xlsx
from inclusive_cities.governance.importer import ImportSummary, import_assessment, set_answer
from inclusive_cities.governance.initiatives import (
    InitiativeRecord,
    InitiativesImport,
    import_initiatives,
    kind_label,
    search_initiatives,
    status_label,
)
from inclusive_cities.governance.marker_link import sync
from inclusive_cities.governance.scoring import (
    Answer,
    DomainResult,
    QuestionResult,
    Scores,
    score,
)
from inclusive_cities.governance.spec import (
    Framework,
    builtin_frameworks,
    load_framework,
    parse_framework,
)
from inclusive_cities.governance.templates import write_template, write_xlsform

__all__ = [
    "Answer",
    "AssessmentInfo",
    "AssessmentResult",
    "Comparison",
    "DomainComparison",
    "DomainEvidence",
    "DomainResult",
    "Framework",
    "FrameworkError",
    "GovernanceError",
    "ImportSummary",
    "InitiativeRecord",
    "InitiativesImport",
    "LinkedValue",
    "QuestionComparison",
    "QuestionResult",
    "Scores",
    "assessment_result",
    "builtin_frameworks",
    "compare_changes",
    "compare_levels",
    "compare_previous",
    "compare_results",
    "domain_evidence",
    "export_assessment",
    "export_xlsx",
    "import_assessment",
    "import_initiatives",
    "kind_label",
    "latest_assessment",
    "list_assessments",
    "load_framework",
    "parse_framework",
    "resolve",
    "score",
    "search_initiatives",
    "set_answer",
    "status_label",
    "sync",
    "write_template",
    "write_xlsform",
]
