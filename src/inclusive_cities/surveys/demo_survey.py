"""A synthetic refugee & migrant household survey for the demo city (SYNTHETIC DATA).

Stratified two-stage design: strata are the localidades, PSUs are blocks (manzanas)
drawn by simple random sampling within each stratum, and a fixed take of households per
block. Writes the XLSForm (survey/choices/settings, labels es/en, select_one,
select_multiple, a household-member repeat, a geopoint) and a KoBo-style XLSX export (one
sheet per repeat, ``_index``/``_parent_index``, select_multiple both space-separated and
one-hot), so the demo exercises the real import path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.surveys.errors import SurveyError

FORM_ID = "encuesta_migrantes_demo"
LABEL_ES = "label::Español (es)"
LABEL_EN = "label::English (en)"

SURVEY_ROWS = [
    # type, name, es, en, constraint, required
    ("start", "start", "", "", "", ""),
    ("text", "codigo_manzana", "Código de la manzana", "Block code", "", "yes"),
    ("text", "estrato_muestral", "Estrato muestral", "Sampling stratum", "", "yes"),
    ("text", "upm", "Unidad primaria de muestreo", "Primary sampling unit", "", "yes"),
    ("decimal", "peso", "Factor de expansión", "Sampling weight", ". > 0", "yes"),
    ("integer", "fpc", "Manzanas en el estrato", "Blocks in the stratum", ". > 0", "yes"),
    (
        "integer",
        "hogares_upm",
        "Hogares migrantes en la manzana",
        "Migrant households in the block",
        ". > 0",
        "yes",
    ),
    ("geopoint", "ubicacion", "Ubicación del hogar", "Household location", "", ""),
    ("begin_group", "hogar", "Hogar", "Household", "", ""),
    (
        "integer",
        "ingreso",
        "Ingreso mensual del hogar (COP)",
        "Monthly household income (COP)",
        ". >= 0",
        "",
    ),
    (
        "select_one sino",
        "discriminacion",
        "¿Algún miembro fue discriminado en el último año?",
        "Was any member discriminated against in the last year?",
        "",
        "yes",
    ),
    ("select_multiple necesidad", "necesidades", "Necesidades principales", "Main needs", "", ""),
    ("end_group", "", "", "", "", ""),
    ("begin_repeat", "miembros", "Miembros del hogar", "Household members", "", ""),
    ("select_one sexo", "sexo", "Sexo", "Sex", "", "yes"),
    ("integer", "edad", "Edad", "Age", ". >= 0 and . <= 110", "yes"),
    ("select_one nacionalidad", "nacionalidad", "Nacionalidad", "Nationality", "", "yes"),
    ("select_one documento", "documento", "Documento migratorio", "Migration document", "", "yes"),
    (
        "select_one sino",
        "documento_identidad",
        "¿Tiene un documento de identidad vigente (pasaporte o cédula)?",
        "Do they hold a valid identity document (passport or identity card)?",
        "",
        "yes",
    ),
    ("select_one sino", "afiliado_salud", "¿Afiliado a salud?", "Health insurance?", "", "yes"),
    ("select_one sino", "asiste_escuela", "¿Asiste a la escuela?", "Attends school?", "", ""),
    ("select_one educacion", "nivel_educativo", "Nivel educativo", "Education level", "", ""),
    ("select_one sino", "trabaja", "¿Trabajó la semana pasada?", "Worked last week?", "", ""),
    (
        "select_one sino",
        "informal",
        "¿Sin contrato ni seguridad social?",
        "Without contract or social security?",
        "",
        "",
    ),
    (
        "integer",
        "ingreso_laboral",
        "Ingreso laboral del último mes (COP)",
        "Income from work last month (COP)",
        ". >= 0",
        "",
    ),
    (
        "select_one sino",
        "discriminado",
        "¿Se ha sentido discriminado/a en el último año por ser migrante?",
        "Have they felt discriminated against in the last year for being a migrant?",
        "",
        "",
    ),
    (
        "select_one sino",
        "participa_talleres",
        "¿Participó en el último año en talleres o espacios de participación ciudadana?",
        "Did they take part in workshops or participatory spaces in the last year?",
        "",
        "",
    ),
    (
        "select_one sino",
        "organizacion_comunitaria",
        "¿Pertenece a una organización comunitaria (junta de acción comunal, asociación, "
        "colectivo)?",
        "Are they a member of a community organisation (community action board, association, "
        "collective)?",
        "",
        "",
    ),
    ("end_repeat", "", "", "", "", ""),
]
CHOICES = {
    "sino": [("si", "Sí", "Yes"), ("no", "No", "No")],
    "sexo": [("M", "Hombre", "Male"), ("F", "Mujer", "Female")],
    "nacionalidad": [
        ("VEN", "Venezolana", "Venezuelan"),
        ("COL", "Colombiana retornada", "Colombian returnee"),
        ("OTR", "Otra", "Other"),
    ],
    "documento": [
        ("ppt", "Permiso por Protección Temporal", "Temporary Protection Permit"),
        ("pep", "Permiso Especial de Permanencia", "Special Stay Permit"),
        ("visa", "Visa de migrante o residente", "Migrant or resident visa"),
        ("pasaporte", "Solo pasaporte", "Passport only"),
        ("ninguno", "Ninguno", "None"),
    ],
    "educacion": [
        ("ninguno", "Ninguno", "None"),
        ("primaria", "Primaria", "Primary"),
        ("secundaria", "Secundaria", "Secondary"),
        ("tecnica", "Técnica", "Technical"),
        ("universitaria", "Universitaria", "University"),
    ],
    "necesidad": [
        ("alimentos", "Alimentos", "Food"),
        ("salud", "Salud", "Health"),
        ("vivienda", "Vivienda", "Housing"),
        ("empleo", "Empleo", "Employment"),
        ("educacion", "Educación", "Education"),
    ],
}


@dataclass(frozen=True)
class DemoSurvey:
    form: Path
    data: Path
    design: Path
    households: int
    members: int


def _read_blocks(boundaries: Path) -> pd.DataFrame:
    import geopandas as gpd

    try:
        blocks = gpd.read_file(boundaries, layer="manzana")
        localidades = gpd.read_file(boundaries, layer="localidad")
    except Exception as error:
        raise SurveyError(
            _(
                "Cannot read layers 'manzana' and 'localidad' from {path}: {reason}. The demo "
                "survey needs the demo city's boundaries.gpkg."
            ).format(path=boundaries, reason=error)
        ) from error
    blocks = blocks.to_crs(
        blocks.crs if blocks.crs and blocks.crs.is_projected else blocks.estimate_utm_crs()
    )
    locality_codes = sorted(localidades["codigo"].astype(str))
    blocks["codigo"] = blocks["codigo"].astype(str)
    blocks["localidad"] = blocks["codigo"].map(
        lambda code: next((c for c in locality_codes if code.startswith(c)), code[:2])
    )
    return blocks


def _points_in(polygon, rng: np.random.Generator, count: int) -> list[tuple[float, float]]:
    from shapely.geometry import Point

    minx, miny, maxx, maxy = polygon.bounds
    points: list[tuple[float, float]] = []
    tries = 0
    while len(points) < count and tries < count * 50:
        tries += 1
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if polygon.contains(Point(x, y)):
            points.append((x, y))
    while len(points) < count:
        centre = polygon.representative_point()
        points.append((centre.x, centre.y))
    return points


def generate_demo_survey(
    boundaries: str | Path,
    out_dir: str | Path,
    *,
    households: int = 3000,
    take: int = 6,
    seed: int = 2024,
) -> DemoSurvey:
    """Write ``form.xlsx``, ``data.xlsx`` and ``design.yaml`` for a synthetic survey."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    blocks = _read_blocks(Path(boundaries))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    strata = sorted(blocks["localidad"].unique())
    per_stratum = households / len(strata)
    rows: list[dict[str, object]] = []
    members: list[dict[str, object]] = []
    # a latent "integration" level per barrio makes neighbourhoods differ
    barrio_effect: dict[str, float] = {}
    for stratum in strata:
        frame = blocks[blocks["localidad"] == stratum]
        m_h = min(len(frame), max(2, int(per_stratum // take)))
        take_h = max(take, int(np.ceil(per_stratum / m_h)))  # small strata: more per block
        chosen = frame.iloc[np.sort(rng.choice(len(frame), size=m_h, replace=False))]
        for _i, block in chosen.iterrows():
            migrant_households = int(rng.poisson(25)) + take_h
            weight = (len(frame) / m_h) * (migrant_households / take_h)
            barrio = block["codigo"][:5]
            effect = barrio_effect.setdefault(barrio, float(rng.normal(0, 0.6)))
            xy = _points_in(block.geometry, rng, take_h)
            for x, y in xy:
                index = len(rows) + 1
                size = int(rng.integers(1, 7))
                income = max(0, int(rng.lognormal(13.6 + 0.2 * effect, 0.6)))
                rows.append(
                    {
                        "start": "2024-06-01T09:00:00",
                        "codigo_manzana": block["codigo"],
                        "estrato_muestral": stratum,
                        "upm": block["codigo"],
                        "peso": round(weight, 4),
                        "fpc": len(frame),
                        "hogares_upm": migrant_households,
                        "_x": x,
                        "_y": y,
                        "ingreso": income,
                        "discriminacion": "si"
                        if rng.random() < _logistic(-0.6 - 0.5 * effect)
                        else "no",
                        "necesidades": " ".join(
                            o for o, *_labels in CHOICES["necesidad"] if rng.random() < 0.35
                        ),
                        "_index": index,
                    }
                )
                nationality = rng.choice(["VEN", "COL", "OTR"], p=[0.82, 0.15, 0.03])
                for position in range(size):
                    age = int(rng.integers(19, 70)) if position == 0 else int(rng.integers(0, 60))
                    members.append(_member(rng, age, str(nationality), effect, index))
    main = pd.DataFrame(rows)
    wgs = gpd.GeoSeries(gpd.points_from_xy(main["_x"], main["_y"]), crs=blocks.crs).to_crs(4326)
    main["ubicacion"] = [f"{p.y:.6f} {p.x:.6f} 0 5" for p in wgs]
    main = main.drop(columns=["_x", "_y"])
    for option, *_labels in CHOICES["necesidad"]:
        main[f"necesidades/{option}"] = (
            main["necesidades"].str.split().map(lambda t, o=option: int(o in t))
        )
    persons = pd.DataFrame(members)
    persons.insert(0, "_index", np.arange(1, len(persons) + 1))
    form_path, data_path, design_path = out / "form.xlsx", out / "data.xlsx", out / "design.yaml"
    write_form(form_path)
    main_columns = [
        "start",
        "codigo_manzana",
        "estrato_muestral",
        "upm",
        "hogares_upm",
        "peso",
        "fpc",
        "ubicacion",
        "hogar/ingreso",
        "hogar/discriminacion",
        "hogar/necesidades",
    ]
    export = main.rename(
        columns={
            "ingreso": "hogar/ingreso",
            "discriminacion": "hogar/discriminacion",
            "necesidades": "hogar/necesidades",
        }
    )
    one_hot = [c for c in export.columns if c.startswith("necesidades/")]
    export = export[[*main_columns, *one_hot, "_index"]]
    export = export.rename(columns={c: f"hogar/{c}" for c in one_hot})
    write_values(data_path, {FORM_ID[:31]: export, "miembros": persons})
    design_path.write_text(
        "# Synthetic demo survey: stratified (localidad) two-stage design: blocks drawn by\n"
        "# simple random sampling in each stratum, then households in each block (the\n"
        "# household, _index, is the second-stage unit; persons inherit it).\n"
        "weight: peso\nstrata: estrato_muestral\npsu: upm\nfpc: fpc\nssu: _index\n"
        "fpc2: hogares_upm\nlonely_psu: adjust\n"
        "min_n: 10\nunit_column: codigo_manzana\ngeopoint: ubicacion\n"
        "census_columns: {age: edad, sex: sexo, nationality: nacionalidad}\n",
        encoding="utf-8",
    )
    return DemoSurvey(form_path, data_path, design_path, len(main), len(persons))


def write_values(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """An XLSX workbook of plain values, one sheet per frame (header row, then its rows; a
    missing value is an empty cell), as a KoBo export is. openpyxl's write-only workbook:
    the same cells as ``DataFrame.to_excel`` in less than half the time (it styles no
    cell), ~2 s less for the medium demo's 15,000 rows."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append([str(column) for column in frame.columns])
        columns = [
            frame[column].astype(object).where(frame[column].notna(), None).tolist()
            for column in frame.columns
        ]
        for row in zip(*columns, strict=True):
            sheet.append(row)
    book.save(path)
    return path


def _logistic(value: float) -> float:
    return float(1 / (1 + np.exp(-value)))


def _member(
    rng: np.random.Generator, age: int, nationality: str, effect: float, parent: int
) -> dict[str, object]:
    sex = "F" if rng.random() < 0.52 else "M"
    documented = rng.random() < _logistic(0.2 + 0.8 * effect)
    document = (
        rng.choice(["ppt", "pep", "visa"], p=[0.6, 0.3, 0.1])
        if documented
        else rng.choice(["pasaporte", "ninguno"])
    )
    row: dict[str, object] = {
        "sexo": sex,
        "edad": age,
        "nacionalidad": nationality,
        "documento": str(document),
        "afiliado_salud": "si"
        if rng.random() < _logistic(-0.2 + 1.2 * documented + 0.3 * effect)
        else "no",
        "asiste_escuela": "",
        "nivel_educativo": "",
        "trabaja": "",
        "informal": "",
        "ingreso_laboral": "",
        "discriminado": "",
        "participa_talleres": "",
        "organizacion_comunitaria": "",
        "_parent_index": parent,
    }
    # a valid passport or identity card: most regular migrants, fewer of the others
    row["documento_identidad"] = (
        "si" if rng.random() < _logistic(0.3 + 1.5 * documented + 0.3 * effect) else "no"
    )
    if 5 <= age <= 17:
        row["asiste_escuela"] = "si" if rng.random() < _logistic(1.0 + 0.5 * effect) else "no"
    if age >= 18:
        boost = 0.3 if sex == "M" else 0.0
        level = rng.choice(
            ["ninguno", "primaria", "secundaria", "tecnica", "universitaria"],
            p=_education_shares(effect + boost),
        )
        row["nivel_educativo"] = str(level)
    if age >= 15:
        works = rng.random() < _logistic(0.4 + (0.5 if sex == "M" else -0.3) + 0.3 * effect)
        row["trabaja"] = "si" if works else "no"
        if works:
            informal = rng.random() < _logistic(1.2 - 0.6 * documented)
            row["informal"] = "si" if informal else "no"
            # around Colombia's 2024 minimum wage (COP 1,300,000): informal work pays less
            pay = rng.lognormal(np.log(1_300_000) + 0.15 * effect - 0.35 * informal, 0.45)
            row["ingreso_laboral"] = int(round(pay, -3))
        row["discriminado"] = (
            "si"
            if rng.random() < _logistic(-0.9 - 0.5 * effect + 0.3 * (nationality == "VEN"))
            else "no"
        )
    if age >= 18:
        row["participa_talleres"] = (
            "si" if rng.random() < _logistic(-2.0 + 0.5 * effect + 0.4 * documented) else "no"
        )
        row["organizacion_comunitaria"] = (
            "si" if rng.random() < _logistic(-1.6 + 0.5 * effect) else "no"
        )
    return row


def _education_shares(shift: float) -> np.ndarray:
    base = np.array([0.06, 0.30, 0.42, 0.14, 0.08])
    tilt = np.exp(shift * np.array([-1.0, -0.5, 0.0, 0.5, 1.0]))
    shares = base * tilt
    return shares / shares.sum()


def write_form(path: str | Path) -> Path:
    """The demo survey's XLSForm as a real XLSX (survey, choices, settings)."""
    path = Path(path)
    survey = pd.DataFrame(
        SURVEY_ROWS, columns=["type", "name", LABEL_ES, LABEL_EN, "constraint", "required"]
    )
    choices = pd.DataFrame(
        [
            (list_name, name, es, en)
            for list_name, options in CHOICES.items()
            for name, es, en in options
        ],
        columns=["list_name", "name", LABEL_ES, LABEL_EN],
    )
    settings = pd.DataFrame(
        [
            {
                "form_title": "Encuesta de migrantes (DEMO SINTÉTICA)",
                "form_id": FORM_ID,
                "version": "2024060101",
                "default_language": "Español (es)",
            }
        ]
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        survey.to_excel(writer, sheet_name="survey", index=False)
        choices.to_excel(writer, sheet_name="choices", index=False)
        settings.to_excel(writer, sheet_name="settings", index=False)
    return path
