"""Every fixed text of the reports, translated at run time (templates hold no words)."""

from __future__ import annotations

from inclusive_cities.i18n import gettext as _


def labels() -> dict[str, str]:
    return {
        "profile_title": _("Human Mobility Profile"),
        "marker_title": _("Urban Inclusion Marker: city report"),
        "factsheets_title": _("Neighbourhood fact sheets"),
        "contents": _("Contents"),
        "period": _("Period"),
        "generated": _("Generated on"),
        "page": _("Page"),
        "synthetic_banner": _("SYNTHETIC DEMO DATA"),
        "synthetic_note": _(
            "This report is built from synthetic demo data: the city, its "
            "people and every figure are invented to show how the observatory "
            "works. Do not use them for decisions."
        ),
        "observatory": _("Inclusive Cities Observatory"),
        "source": _("Source"),
        "summary": _("Summary"),
        "context": _("Context: refugees and migrants in the city"),
        "demographics": _("Demographics"),
        "rights": _("Gaps in access to rights"),
        "marker": _("Urban Inclusion Marker"),
        "governance": _("Migration governance"),
        "recommendations": _("Recommendations"),
        "methods": _("Methods, sources and data annex"),
        "kf_stock": _("Refugees and migrants (estimate)"),
        "kf_regular": _("With regular status"),
        "kf_stay": _("Intend to stay in the city"),
        "kf_uim": _("Urban Inclusion Marker (0–100)"),
        "kf_largest_gap": _("Largest gap vs host population"),
        "ci95": _("95% CI"),
        "estimate": _("Estimate"),
        "respondents": _("Respondents"),
        "suppressed": _("suppressed (n < 10)"),
        "round": _("Round"),
        "significant": _("statistically significant"),
        "not_significant": _("not statistically significant"),
        "refugees_migrants": _("Refugees and migrants"),
        "host_population": _("Host population"),
        "persons": _("Persons"),
        "households": _("Households"),
        "share_of_respondents": _("Share of respondents"),
        "fig_stock": _(
            "Estimated refugees and migrants living in the city, by survey round (95% CI)."
        ),
        "fig_intentions": _("Intentions for the next six months, by survey round (95% CI)."),
        "tab_changes": _(
            "Significant changes since the previous round (difference of two "
            "independent estimates, 95% CI)."
        ),
        "figure": _("Figure"),
        "change": _("Change"),
        "arrival_origin": _("Time since arrival and origin"),
        "fig_arrival": _("Time since arrival in the city (latest round, 95% CI)."),
        "fig_origin": _("Country of origin (latest round, 95% CI)."),
        "origin_state": _("State of origin"),
        "tab_states": _("Main states of origin of those born abroad (latest round)."),
        "routes": _("Routes and transit"),
        "route": _("Route"),
        "tab_routes": _(
            "How respondents crossed the border and the countries they passed "
            "through (latest round)."
        ),
        "transit_any": _("Passed through a third country"),
        "transit_through": _("Passed through {country}"),
        "tab_flows": _("Origin and intended destination (estimated households, latest round)."),
        "origin": _("Origin"),
        "destination": _("Intended destination"),
        "fig_pyramid": _(
            "Respondents by sex and age group (share of all respondents, latest round)."
        ),
        "age_group": _("Age group"),
        "tab_ages": _("Respondents by age group (latest round)."),
        "right": _("Right"),
        "indicator": _("Indicator"),
        "gap": _("Gap"),
        "unit": _("Unit"),
        "tab_gaps": _("Host population and refugees and migrants, city totals."),
        "fig_gaps": _("Host population and refugees and migrants (percentages)."),
        "documentation": _("Documentation and regular status"),
        "status_document": _("Status or document"),
        "tab_status": _("Migratory status and documents held (latest round)."),
        "needs": _("Declared needs"),
        "fig_needs": _(
            "Main needs declared by respondents (several possible; latest round, 95% CI)."
        ),
        "need_of": _("Need: {need}"),
        "units": _("units"),
        "no_data": _("No data"),
        "fig_map": _("{index} by unit: performance level."),
        "fig_areas": _(
            "Thematic area scores (mean over units, weighted by population where it is "
            "recorded; 0–100)."
        ),
        "rank": _("Rank"),
        "score": _("Score"),
        "level": _("Level"),
        "rank_interval": _("Rank 5–95%"),
        "tab_weakest": _("The {count} lowest-scoring of {total} units."),
        "no_rank_interval": _(
            "No uncertainty analysis is recorded for this run, so rank intervals are not shown."
        ),
        "domain": _("Domain"),
        "strengths": _("Strengths"),
        "gaps": _("Gaps"),
        "tab_governance": _("Migration governance assessment."),
        "governance_source": _("Local migration governance assessment."),
        "priority_high": _("High priority"),
        "priority_medium": _("Medium priority"),
        "priority_low": _("Low priority"),
        "cover_rounds": _("High-frequency survey rounds: {rounds}"),
        "marker_overview": _("Overview"),
        "marker_ranking": _("Ranking of units"),
        "marker_areas": _("Thematic areas"),
        "fig_histogram": _("Distribution of unit scores."),
        "fig_level_shares": _("Units by performance level."),
        "tab_top": _("The {count} highest-scoring units."),
        "fig_area_map": _("{area}: performance level by unit."),
        "factsheet_parent": _("Part of"),
        "factsheet_position": _("Position in the city"),
        "city_mean": _("City mean"),
        "difference": _("Difference"),
        "tab_unit_areas": _("Thematic area scores of the unit and the city mean."),
        "tab_unit_indicators": _("Indicators of the unit and the city median."),
        "city_median": _("City median"),
        "value": _("Value"),
        "of_units": _("of {total}"),
        "all_cities": _("All surveyed cities"),
        "tab_national": _(
            "The city beside all cities covered by the survey (latest round, 95% CI)."
        ),
    }


def right_label(code: str) -> str:
    return {
        "documentation": _("Documentation and regularisation"),
        "health": _("Health"),
        "education": _("Education"),
        "employment": _("Employment"),
        "housing": _("Housing"),
        "protection": _("Protection"),
    }.get(code, code)
