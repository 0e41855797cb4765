"""Three synthetic high-frequency survey rounds for the demo city (SYNTHETIC DEMO DATA).

The rounds imitate real practice: round 2 renamed two questions and round 3 switched the
intention codes to Spanish, so that the harmoniser has something to do. Each round is a
stratified sample (city × zone) of refugee and migrant households with expansion weights;
the true shares move between rounds (more regular status, fewer food needs) so that trend
tests have a signal.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from inclusive_cities.i18n import gettext as _
from inclusive_cities.mobility.errors import MobilityError

CITIES = {
    # code: (name, migrant households in the city, respondents per round)
    "DEMO": ("Ciudad Demo (sintética)", 24_000, 540),
    "NORTE": ("Ciudad Norte (sintética)", 15_000, 300),
    "FRONTERA": ("Ciudad Frontera (sintética)", 9_000, 240),
}
ZONES = ("centro", "periferia", "asentamientos")
ZONE_SHARES = (0.35, 0.45, 0.20)
ROUND_DATES = (date(2024, 3, 15), date(2024, 7, 15), date(2024, 11, 15))
REGULAR = ((0.40, 0.22), (0.50, 0.20), (0.60, 0.17))  # (regular, in process) per round
INTENTION = ((0.52, 0.33), (0.58, 0.27), (0.65, 0.21))  # (stay, move on) per round
NEEDS = {
    "food": (0.58, 0.49, 0.40),
    "shelter": (0.32, 0.30, 0.27),
    "health": (0.45, 0.43, 0.41),
    "work": (0.62, 0.60, 0.55),
    "education": (0.21, 0.21, 0.20),
    "protection": (0.16, 0.15, 0.13),
}
ORIGINS = (("VEN", 0.88), ("COL", 0.06), ("ECU", 0.02), ("HTI", 0.02), ("OTH", 0.02))
VEN_STATES = (
    "Zulia",
    "Táchira",
    "Carabobo",
    "Lara",
    "Distrito Capital",
    "Anzoátegui",
    "Mérida",
    "Bolívar",
)
VEN_STATE_P = (0.24, 0.18, 0.14, 0.12, 0.12, 0.08, 0.07, 0.05)
DESTINATIONS = (("PER", 0.35), ("CHL", 0.25), ("ECU", 0.15), ("USA", 0.15), ("PAN", 0.10))
ROUTES = (("official_crossing", 0.45), ("informal_crossing", 0.45), ("air", 0.08), ("sea", 0.02))
SPANISH_INTENTION = {"stay": "quedarse", "move_on": "seguir", "return": "regresar"}
# household_size is 1 + Poisson(2.6), clipped to 1..12: its mean, to turn persons into households
MEAN_HOUSEHOLD_SIZE = 3.6


def _pick(rng: np.random.Generator, options: tuple, size: int) -> np.ndarray:
    codes = [o[0] for o in options]
    probabilities = np.array([o[1] for o in options], float)
    return rng.choice(codes, size=size, p=probabilities / probabilities.sum())


def households_for(persons: float) -> int:
    """Refugee and migrant households that hold ``persons`` people, at the generator's size."""
    return max(1, round(persons / MEAN_HOUSEHOLD_SIZE))


def _round(
    rng: np.random.Generator, index: int, when: date, households_by_city: dict[str, int]
) -> pd.DataFrame:
    frames = []
    for city, (_name, default_households, sample) in CITIES.items():
        households = households_by_city.get(city, default_households)
        for zone, share in zip(ZONES, ZONE_SHARES, strict=True):
            n = max(round(sample * share), 12)
            population = households * share
            frames.append(
                pd.DataFrame(
                    {
                        "city": city,
                        "stratum": f"{city}-{zone}",
                        # post-stratified expansion weights with mild non-response noise
                        "weight": population / n * rng.uniform(0.8, 1.2, n),
                        "zone": zone,
                    }
                )
            )
    data = pd.concat(frames, ignore_index=True)
    n = len(data)
    # settlements are poorer: more needs and less regular status
    hardship = np.where(
        data["zone"] == "asentamientos", 1.25, np.where(data["zone"] == "centro", 0.85, 1.0)
    )
    data["respondent_id"] = [f"R{index + 1}-{i:05d}" for i in range(1, n + 1)]
    data["psu"] = pd.NA
    data["interview_date"] = [
        (when + timedelta(days=int(d))).isoformat() for d in rng.integers(-14, 15, n)
    ]
    data["sex"] = np.where(rng.random(n) < 0.53, "female", "male")
    data["age"] = np.clip(rng.gamma(6.0, 5.2, n) + 8, 15, 85).astype(int)
    data["household_size"] = np.clip(rng.poisson(2.6, n) + 1, 1, 12)
    months = np.clip(rng.gamma(1.6, 20.0, n), 0.2, 120)
    data["arrival_date"] = [(when - timedelta(days=int(m * 30.4))).isoformat() for m in months]
    origin = _pick(rng, ORIGINS, n)
    data["origin_country"] = origin
    data["origin_state"] = np.where(
        origin == "VEN", rng.choice(VEN_STATES, size=n, p=VEN_STATE_P), ""
    )
    data["route"] = _pick(rng, ROUTES, n)
    transit = rng.random(n)
    data["transit_countries"] = np.where(
        transit < 0.78, "", np.where(transit < 0.90, "ECU", "PER ECU")
    )
    regular, in_process = REGULAR[index]
    draw = rng.random(n) * hardship
    status = np.where(
        draw < regular, "regular", np.where(draw < regular + in_process, "in_process", "irregular")
    )
    data["regular_status"] = status
    document = rng.random(n)
    data["documentation"] = np.where(
        status == "regular",
        np.where(document < 0.7, "permit", np.where(document < 0.9, "passport", "national_id")),
        np.where(document < 0.45, "passport", np.where(document < 0.55, "national_id", "none")),
    )
    stay, move_on = INTENTION[index]
    draw = rng.random(n)
    intention = np.where(draw < stay, "stay", np.where(draw < stay + move_on, "move_on", "return"))
    data["intention"] = intention
    data["destination"] = np.where(
        intention == "move_on",
        _pick(rng, DESTINATIONS, n),
        np.where(intention == "return", origin, data["city"]),
    )
    needs = []
    draws = {need: rng.random(n) / hardship for need in NEEDS}
    for i in range(n):
        needs.append(" ".join(need for need, p in NEEDS.items() if draws[need][i] < p[index]))
    data["needs"] = needs
    return data.drop(columns=["zone"])


def _as_collected(data: pd.DataFrame, index: int) -> pd.DataFrame:
    """Apply the changes each round's questionnaire really had."""
    data = data.copy()
    if index == 1:
        data = data.rename(columns={"sex": "gender", "intention": "intention_6m"})
    if index == 2:
        data["intention"] = data["intention"].map(SPANISH_INTENTION)
    for need in ("food", "shelter", "health", "work", "education", "protection"):
        # KoBo also exports select_multiple answers as one-hot columns
        data[f"needs/{need}"] = data["needs"].str.split().map(lambda s, need=need: int(need in s))
    return data


def generate_rounds(
    seed: int = 0, migrant_persons: dict[str, float] | None = None
) -> dict[str, pd.DataFrame]:
    """Round code -> responses as each round's questionnaire recorded them.

    ``migrant_persons`` (city code -> refugees and migrants, from the city's census) scales a
    city's expansion weights so that the survey's estimated stock fits the city it describes;
    without it each city keeps the generator's default size.
    """
    households = {
        city: households_for(persons) for city, persons in (migrant_persons or {}).items()
    }
    unknown = sorted(set(households) - set(CITIES))
    if unknown:
        raise MobilityError(
            _("The survey generator knows the cities {known}, not {unknown}.").format(
                known=", ".join(CITIES), unknown=", ".join(unknown)
            )
        )
    rounds = {}
    for index, when in enumerate(ROUND_DATES):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 8, index]))
        rounds[f"R{index + 1}"] = _as_collected(_round(rng, index, when, households), index)
    return rounds


def default_mapping() -> dict:
    """The mapping file that harmonises the generated rounds."""
    return {
        "rounds": [
            {
                "code": "R1",
                "file": "hfs_round1.xlsx",
                "date": ROUND_DATES[0].isoformat(),
                "label": "R1 2024-03",
            },
            {
                "code": "R2",
                "file": "hfs_round2.xlsx",
                "date": ROUND_DATES[1].isoformat(),
                "label": "R2 2024-07",
                "rename": {"gender": "sex", "intention_6m": "intention"},
            },
            {
                "code": "R3",
                "file": "hfs_round3.xlsx",
                "date": ROUND_DATES[2].isoformat(),
                "label": "R3 2024-11",
                "recode": {"intention": {v: k for k, v in SPANISH_INTENTION.items()}},
            },
        ]
    }


def _xlsform(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    survey = pd.DataFrame(
        [
            ("select_one sex", "gender" if "gender" in data else "sex", "Sexo"),
            ("integer", "age", "Edad"),
            ("integer", "household_size", "Personas en el hogar"),
            ("date", "arrival_date", "Fecha de llegada a la ciudad"),
            ("select_one country", "origin_country", "País de origen"),
            ("text", "origin_state", "Estado o departamento de origen"),
            ("select_multiple country", "transit_countries", "Países de tránsito"),
            ("select_one route", "route", "Forma de cruce de la frontera"),
            (
                "select_one intention",
                "intention_6m" if "intention_6m" in data else "intention",
                "Intención en los próximos 6 meses",
            ),
            ("select_one country", "destination", "Destino previsto"),
            ("select_one status", "regular_status", "Situación migratoria"),
            ("select_one document", "documentation", "Documento que tiene"),
            ("select_multiple need", "needs", "Necesidades principales"),
        ],
        columns=["type", "name", "label::Español (es)"],
    )
    spanish = "intention" in data and data["intention"].isin(["quedarse"]).any()
    intention = ["quedarse", "seguir", "regresar"] if spanish else ["stay", "move_on", "return"]
    rows = [("sex", c) for c in ("female", "male")]
    rows += [("intention", c) for c in intention]
    rows += [("status", c) for c in ("regular", "in_process", "irregular")]
    rows += [("document", c) for c in ("passport", "permit", "national_id", "none")]
    rows += [("route", c) for c in ("official_crossing", "informal_crossing", "air", "sea")]
    rows += [("need", c) for c in ("food", "shelter", "health", "work", "education", "protection")]
    choices = pd.DataFrame(rows, columns=["list_name", "name"])
    choices["label::Español (es)"] = choices["name"]
    return survey, choices


def write_rounds(
    out_dir: str | Path,
    seed: int = 0,
    fmt: str = "xlsx",
    migrant_persons: dict[str, float] | None = None,
) -> Path:
    """Write the three rounds (KoBo-like XLSX with data, survey and choices sheets, or CSV)
    and the mapping file; returns the mapping file's path. ``migrant_persons`` scales a
    city's rounds to its census (see :func:`generate_rounds`)."""
    if fmt not in ("xlsx", "csv"):
        raise MobilityError(_("Unknown format '{fmt}': use xlsx or csv.").format(fmt=fmt))
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MobilityError(
            _("Cannot write to {path} ({reason}); choose another --out.").format(
                path=out, reason=error.strerror or error
            )
        ) from None
    mapping = default_mapping()
    for entry, (code, data) in zip(
        mapping["rounds"], generate_rounds(seed, migrant_persons).items(), strict=True
    ):
        assert entry["code"] == code
        if fmt == "csv":
            entry["file"] = entry["file"].replace(".xlsx", ".csv")
            data.to_csv(out / entry["file"], index=False)
            continue
        survey, choices = _xlsform(data)
        with pd.ExcelWriter(out / entry["file"], engine="openpyxl") as writer:
            data.to_excel(writer, sheet_name="data", index=False)
            survey.to_excel(writer, sheet_name="survey", index=False)
            choices.to_excel(writer, sheet_name="choices", index=False)
    path = out / "mapping.yaml"
    header = "# SYNTHETIC DEMO DATA: high-frequency survey rounds of the demo city.\n"
    path.write_text(
        header + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return path
