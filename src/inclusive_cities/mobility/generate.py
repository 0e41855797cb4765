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
    rng: np.random.Generator,
    index: int,
    when: date,
    households_by_city: dict[str, int],
    fraction: float = 1.0,
) -> pd.DataFrame:
    frames = []
    for city, (_name, default_households, sample) in CITIES.items():
        households = households_by_city.get(city, default_households)
        for zone, share in zip(ZONES, ZONE_SHARES, strict=True):
            n = max(round(sample * share * fraction), 12)
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
    seed: int = 0, migrant_persons: dict[str, float] | None = None, fraction: float = 1.0
) -> dict[str, pd.DataFrame]:
    """Round code -> responses as each round's questionnaire recorded them.

    ``fraction`` scales the number of respondents (at least 12 a stratum; tests use a
    small one), the weights keeping each city's population.

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
        frame = _round(rng, index, when, households, fraction)
        rounds[f"R{index + 1}"] = _as_collected(frame, index)
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


QUESTIONS: dict[str, tuple[str, str]] = {
    # canonical name: (XLSForm type, Spanish label)
    "sex": ("select_one sex", "Sexo"),
    "age": ("integer", "Edad"),
    "household_size": ("integer", "Personas en el hogar"),
    "arrival_date": ("date", "Fecha de llegada a la ciudad"),
    "origin_country": ("select_one country", "País de origen"),
    "origin_state": ("text", "Estado o departamento de origen"),
    "transit_countries": ("select_multiple country", "Países de tránsito"),
    "route": ("select_one route", "Forma de cruce de la frontera"),
    "intention": ("select_one intention", "Intención en los próximos 6 meses"),
    "destination": ("select_one country", "Destino previsto"),
    "regular_status": ("select_one status", "Situación migratoria"),
    "documentation": ("select_one document", "Documento que tiene"),
    "needs": ("select_multiple need", "Necesidades principales"),
}


def _xlsform(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    # round 2's questionnaire renamed two questions (see _as_collected)
    asked = {"sex": "gender", "intention": "intention_6m"}
    names = {q: asked[q] if asked.get(q) in data else q for q in QUESTIONS}
    survey = pd.DataFrame(
        [(kind, names[q], label) for q, (kind, label) in QUESTIONS.items()],
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
    fraction: float = 1.0,
) -> Path:
    """Write the three rounds (KoBo-like XLSX with data, survey and choices sheets, or CSV)
    and the mapping file; returns the mapping file's path. ``migrant_persons`` scales a
    city's rounds to its census (see :func:`generate_rounds`).

    ``fmt="kobo"`` writes each round as KoBoToolbox exports it, for ``survey import``: its
    XLSForm ``form_R1.xlsx`` and its data ``hfs_R1.xlsx`` (group names kept, KoBo's
    metadata), with ``design.yaml`` and a mapping file for the two rounds whose questions
    changed (no ``file``: the rounds are read from the store)."""
    if fmt not in ("xlsx", "csv", "kobo"):
        raise MobilityError(_("Unknown format '{fmt}': use xlsx, csv or kobo.").format(fmt=fmt))
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MobilityError(
            _("Cannot write to {path} ({reason}); choose another --out.").format(
                path=out, reason=error.strerror or error
            )
        ) from None
    if fmt == "kobo":
        return _write_kobo(out, generate_rounds(seed, migrant_persons, fraction), seed)
    mapping = default_mapping()
    for entry, (code, data) in zip(
        mapping["rounds"], generate_rounds(seed, migrant_persons, fraction).items(), strict=True
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


GROUPS = {
    # XLSForm group: the canonical questions it holds, in order
    "grp_lugar": ("city", "stratum", "weight"),
    "grp_hogar": ("sex", "age", "household_size", "arrival_date", "origin_country", "origin_state"),
    "grp_ruta": ("transit_countries", "route", "intention", "destination"),
    "grp_situacion": ("regular_status", "documentation"),
    "grp_necesidades": ("needs",),
}
PLACE_QUESTIONS = {
    "city": ("select_one city", "Ciudad"),
    "stratum": ("text", "Estrato muestral"),
    "weight": ("decimal", "Factor de expansión"),
}


def _kobo_form(data: pd.DataFrame, code: str) -> dict[str, pd.DataFrame]:
    """The round's XLSForm as KoBo builds it: groups, lists for every select, settings."""
    asked = {"sex": "gender", "intention": "intention_6m"}
    questions = {**PLACE_QUESTIONS, **QUESTIONS}
    rows = []
    for group, members in GROUPS.items():
        rows.append(("begin_group", group, group.removeprefix("grp_").capitalize()))
        for q in members:
            kind, label = questions[q]
            rows.append((kind, asked[q] if asked.get(q) in data else q, label))
        rows.append(("end_group", "", ""))
    survey = pd.DataFrame(rows, columns=["type", "name", "label::Español (es)"])
    _survey, choices = _xlsform(data)
    countries = sorted({c for c, _p in ORIGINS} | {c for c, _p in DESTINATIONS} | {"PER"})
    extra = [("city", c) for c in CITIES] + [("country", c) for c in (*countries, *CITIES)]
    extra_frame = pd.DataFrame(extra, columns=["list_name", "name"])
    extra_frame["label::Español (es)"] = extra_frame["name"]
    choices = pd.concat([choices, extra_frame], ignore_index=True)
    settings = pd.DataFrame([{"form_id": "hfs_demo", "form_title": "HFS", "version": code}])
    return {"survey": survey, "choices": choices, "settings": settings}


def _kobo_export(data: pd.DataFrame, seed: int, index: int) -> pd.DataFrame:
    """The round's data as KoBo's XLSX export writes it (headers with group names)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 9, index]))
    group_of = {q: g for g, members in GROUPS.items() for q in members}
    group_of.update(gender="grp_hogar", intention_6m="grp_ruta")
    out = pd.DataFrame(index=data.index)
    for column in data.columns:
        base = column.split("/")[0]
        if base in group_of:
            out[f"{group_of[base]}/{column}"] = data[column]
    seconds = rng.integers(8 * 3600, 18 * 3600, len(data))
    submitted = pd.to_datetime(data["interview_date"]) + pd.to_timedelta(seconds, unit="s")
    out["start"] = (submitted - pd.Timedelta(minutes=30)).dt.strftime("%Y-%m-%dT%H:%M:%S")
    out["end"] = (submitted - pd.Timedelta(minutes=2)).dt.strftime("%Y-%m-%dT%H:%M:%S")
    out["_id"] = np.arange(len(data)) + 1_000_000 * (index + 1)
    out["_uuid"] = [f"{seed:08x}-{index:04x}-4000-8000-{i:012x}" for i in range(len(data))]
    out["_submission_time"] = submitted.dt.strftime("%Y-%m-%dT%H:%M:%S")
    out["_validation_status"] = ""
    out["_index"] = np.arange(1, len(data) + 1)
    return out


def _write_kobo(out: Path, rounds: dict[str, pd.DataFrame], seed: int) -> Path:
    for index, (code, data) in enumerate(rounds.items()):
        with pd.ExcelWriter(out / f"form_{code}.xlsx", engine="openpyxl") as writer:
            for sheet, frame in _kobo_form(data, code).items():
                frame.to_excel(writer, sheet_name=sheet, index=False)
        with pd.ExcelWriter(out / f"hfs_{code}.xlsx", engine="openpyxl") as writer:
            _kobo_export(data, seed, index).to_excel(writer, sheet_name="HFS", index=False)
    (out / "design.yaml").write_text(
        "# SYNTHETIC DEMO DATA: the design of the high-frequency survey rounds.\n"
        "weight: weight\nstrata: stratum\nlonely_psu: remove\nmin_n: 10\n",
        encoding="utf-8",
    )
    changed = [dict(entry) for entry in default_mapping()["rounds"][1:]]
    for entry in changed:
        entry.pop("file")
    path = out / "mapping.yaml"
    header = (
        "# SYNTHETIC DEMO DATA: the rounds whose questions changed (R1 needs no entry).\n"
        "# Import each round: inclusive-cities survey import form_R1.xlsx hfs_R1.xlsx "
        "--city CITY --period R1 --survey hfs --design design.yaml\n"
    )
    path.write_text(
        header + yaml.safe_dump({"rounds": changed}, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return path
