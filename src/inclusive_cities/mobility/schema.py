"""The harmonised high-frequency survey: canonical variables, choice lists and their labels.

Every round, whatever its question names and codes, is brought to these columns by
:mod:`inclusive_cities.mobility.harmonise` before any estimate.
"""

from __future__ import annotations

from inclusive_cities.i18n import gettext as _

MANDATORY = (
    "city",
    "stratum",
    "weight",
    "sex",
    "age",
    "household_size",
    "arrival_date",
    "origin_country",
    "intention",
    "regular_status",
    "needs",
)
OPTIONAL = (
    "respondent_id",
    "psu",
    "origin_state",
    "transit_countries",
    "route",
    "destination",
    "documentation",
    "interview_date",
)

CHOICES: dict[str, tuple[str, ...]] = {
    "sex": ("female", "male"),
    "intention": ("stay", "move_on", "return"),
    "regular_status": ("regular", "in_process", "irregular"),
    "documentation": ("passport", "permit", "national_id", "none"),
    "route": ("official_crossing", "informal_crossing", "air", "sea"),
    "needs": ("food", "shelter", "health", "work", "education", "protection"),
}
MULTIPLE = ("needs", "transit_countries")
MAY_BE_UNANSWERED = ("intention", "regular_status", "documentation", "route")
"""Single choices a respondent may decline ("no sabe", "no responde"): left out of that topic's
shares (whose ``n`` counts those who answered), never a reason to refuse the round."""
NO_ANSWER = frozenset(
    {
        *("88", "99", "98", "77", "-1", "999", "-999", "888", "9999"),
        *("ns", "nr", "ns/nr", "nsnr", "no sabe", "no responde", "no sabe/no responde"),
        *("no_sabe", "no_responde", "dont_know", "don't know", "do_not_know"),
        *("refused", "no_answer", "no answer", "prefer_not", "prefer_not_to_say", "na", "n/a"),
    }
)
"""How questionnaires code a declined answer in a choice list (lower case)."""
AGE_GROUPS = (
    ("0-14", 0, 14),
    ("15-24", 15, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-59", 45, 59),
    ("60+", 60, 200),
)
ARRIVAL_BANDS = (
    ("lt6m", 0, 6),
    ("6-12m", 6, 12),
    ("1-2y", 12, 24),
    ("2-5y", 24, 60),
    ("5y+", 60, 10_000),
)


def choice_label(variable: str, code: str) -> str:
    """The translated label of one choice (countries and free codes are returned as is)."""
    labels = {
        "female": _("Women"),
        "male": _("Men"),
        "stay": _("Stay in the city"),
        "move_on": _("Move on to another place"),
        "return": _("Return to the country of origin"),
        "regular": _("Regular status"),
        "in_process": _("Regularisation in process"),
        "irregular": _("Irregular status"),
        "passport": _("Passport"),
        "permit": _("Residence or protection permit"),
        "national_id": _("National identity card"),
        "none": _("No document"),
        "official_crossing": _("Official border crossing"),
        "informal_crossing": _("Informal border crossing"),
        "air": _("By air"),
        "sea": _("By sea"),
        "food": _("Food"),
        "shelter": _("Shelter"),
        "health": _("Health"),
        "work": _("Work"),
        "education": _("Education"),
        "protection": _("Protection"),
        "lt6m": _("Less than 6 months"),
        "6-12m": _("6 to 12 months"),
        "1-2y": _("1 to 2 years"),
        "2-5y": _("2 to 5 years"),
        "5y+": _("5 years or more"),
    }
    return labels.get(code, code)


COUNTRY_NAMES_ES = {
    "VEN": "Venezuela",
    "COL": "Colombia",
    "ECU": "Ecuador",
    "PER": "Perú",
    "CHL": "Chile",
    "BRA": "Brasil",
    "PAN": "Panamá",
    "USA": "Estados Unidos",
    "HTI": "Haití",
    "DOM": "República Dominicana",
    "MEX": "México",
    "CRI": "Costa Rica",
    "OTH": "Otro",
}
COUNTRY_NAMES_EN = {
    "VEN": "Venezuela",
    "COL": "Colombia",
    "ECU": "Ecuador",
    "PER": "Peru",
    "CHL": "Chile",
    "BRA": "Brazil",
    "PAN": "Panama",
    "USA": "United States",
    "HTI": "Haiti",
    "DOM": "Dominican Republic",
    "MEX": "Mexico",
    "CRI": "Costa Rica",
    "OTH": "Other",
}


def country_name(code: str, language: str) -> str:
    names = COUNTRY_NAMES_ES if language == "es" else COUNTRY_NAMES_EN
    return names.get(code, code)
