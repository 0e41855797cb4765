"""``mobility``: the high-frequency survey of refugees and migrants from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd

console = Console(highlight=False)
mobility_app = typer.Typer(
    help="High-frequency survey: generate demo rounds, harmonise, figures, trends, flows.",
    no_args_is_help=True,
)
TOPICS = (
    "stock_persons",
    "household_size",
    "months_since_arrival",
    "intention",
    "regular_status",
    "need",
)


def _write(frame: pd.DataFrame, out: Path | None) -> None:
    if out is None:
        return
    from inclusive_cities.mobility import MobilityError

    try:
        if out.suffix.lower() == ".xlsx":
            frame.to_excel(out, index=False)
        else:
            frame.to_csv(out, index=False)
    except OSError as error:
        raise MobilityError(
            _("Cannot write {path} ({reason}); choose another --out.").format(
                path=out, reason=error.strerror or error
            )
        ) from None
    console.print(_("Wrote {rows} rows to {path}.").format(rows=len(frame), path=out))


def _rounds(
    mapping: Path | None, survey: str | None, city: str | None, data_dir: Path | None
) -> pd.DataFrame:
    """The harmonised rounds: imported with ``survey import`` (--survey, one period a round),
    or files listed by a mapping file."""
    from inclusive_cities.mobility import MobilityError, harmonise, harmonise_imported

    if survey is not None:
        from inclusive_cities import store
        from inclusive_cities.cli.app import state

        if not city:
            raise MobilityError(_("--survey needs --city: the city the rounds were imported for."))
        engine = store.connect(state.database_url)
        store.require_current(engine)
        return harmonise_imported(engine, city, survey, mapping, data_dir)
    if mapping is None:
        raise MobilityError(
            _(
                "Give --survey NAME --city CITY (rounds imported with 'survey import'), or "
                "--mapping FILE (rounds in CSV/XLSX files)."
            )
        )
    return harmonise(mapping)


def _geography(frame: pd.DataFrame, city: str | None, survey: str | None) -> str:
    """The city asked for; for imported rounds of a survey that has no such city in its
    answers (a national survey kept by one city), the nation."""
    from inclusive_cities.mobility import NATIONAL

    if city and survey and city not in set(frame["geography"]):
        return NATIONAL
    return city or NATIONAL


def _published(frame: pd.DataFrame) -> pd.DataFrame:
    """What leaves the analyst: the surveys' disclosure gate (no respondent identifiers,
    and a hidden figure loses its count too)."""
    import numpy as np

    from inclusive_cities.surveys.disclosure import publishable

    if frame.empty or "n" not in frame.columns:
        return frame
    hidden = frame["suppressed"].astype(bool).to_numpy()
    out = publishable(frame.assign(status=np.where(hidden, "suppressed", "estimated")))
    return out.drop(columns=["suppression"])


def _headers() -> dict[str, str]:
    return {
        "round": _("Round"),
        "topic": _("Topic"),
        "category": _("Category"),
        "estimate": _("Estimate"),
        "ci_low": _("95% CI low"),
        "ci_high": _("95% CI high"),
        "n": _("Respondents"),
        "change": _("Change"),
        "p_value": _("p-value"),
        "origin": _("Origin"),
        "destination": _("Intended destination"),
    }


SHARE_TOPICS = frozenset(
    {"intention", "regular_status", "documentation", "route", "need", "sex", "age_group"}
    | {"arrival_band", "origin_country", "origin_state", "transit", "pyramid"}
)
"""Topics whose estimates are shares (printed as per cent); the others are totals or means."""


def _place(geography: str) -> str:
    """A geography as the title says it: the nation's code ("_national") in words."""
    return _("the whole country") if geography == "_national" else geography


def _topic_name(topic: str) -> str:
    names = {
        "stock_persons": _("Refugees and migrants (persons)"),
        "stock_households": _("Refugee and migrant households"),
        "household_size": _("Household size (mean)"),
        "months_since_arrival": _("Months since arrival (mean)"),
        "intention": _("Intention in the next 6 months"),
        "regular_status": _("Migratory status"),
        "need": _("Declared needs"),
    }
    return names.get(topic, topic)


def _cell(column: str, value: object, topic: str | None) -> str:
    """One cell as a planner reads it, in the session's language: shares in per cent,
    totals whole, means with one decimal, answers and topics by name (trial #4 F16)."""
    import pandas as pd

    from inclusive_cities.mobility.schema import choice_label, country_name

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if column == "topic":
        return _topic_name(str(value))
    if column == "category" and topic is not None:
        if str(value) in ("total", "mean"):
            return ""
        return choice_label("needs" if topic == "need" else topic, str(value))
    if column in ("origin", "destination"):
        return country_name(str(value), current_language())
    if column == "n":
        return format_number(float(value))  # type: ignore[arg-type]
    if column == "p_value":
        return format_number(float(value), 3)  # type: ignore[arg-type]
    if isinstance(value, float):
        if topic in SHARE_TOPICS:
            return format_number(100 * value, 1) + " %"
        return format_number(value, 1 if topic in ("household_size", "months_since_arrival") else 0)
    return str(value)


def _show(frame: pd.DataFrame, columns: list[str], title: str) -> None:
    table = Table(title=title)
    headers = _headers()
    for column in columns:
        table.add_column(
            headers.get(column, column),
            justify="left"
            if column in ("round", "topic", "category", "origin", "destination")
            else "right",
        )
    topics = frame["topic"].astype(str).tolist() if "topic" in frame else [None] * len(frame)
    for topic, row in zip(topics, frame[columns].itertuples(index=False), strict=True):
        table.add_row(*[_cell(c, v, topic) for c, v in zip(columns, row, strict=True)])
    console.print(table)


FORMAT_HELP = (
    "xlsx (KoBo-like, with a mapping file), csv, or kobo (each round's XLSForm and KoBo "
    "export, for 'survey import')."
)


@mobility_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Directory for the rounds and mapping.yaml."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    fmt: str = typer.Option("xlsx", "--format", help=FORMAT_HELP),
    city: str = typer.Option(
        None, "--city", help="Scale this city's rounds to its census (needs --period)."
    ),
    period: str = typer.Option(None, "--period", help="Census period of --city."),
) -> None:
    """Write three synthetic HFS rounds of the demo city (SYNTHETIC DEMO DATA)."""
    from inclusive_cities import store
    from inclusive_cities.cli.app import state
    from inclusive_cities.mobility import MobilityError, census_migrants, write_rounds

    migrants: dict[str, float] | None = None
    if (city is None) != (period is None):
        raise MobilityError(_("Give --city and --period together, or neither."))
    if city is not None and period is not None:
        migrants = {city: census_migrants(store.connect(state.database_url), city, period)}
    path = write_rounds(out, seed=seed, fmt=fmt, migrant_persons=migrants)
    console.print(
        _("Wrote three synthetic survey rounds and their mapping file {path}.").format(path=path)
    )
    if migrants:
        console.print(
            _(
                "Expansion weights of {city} fit its census: {persons} refugees and migrants."
            ).format(city=city, persons=format_number(next(iter(migrants.values()))))
        )


MAPPING_HELP = "Mapping file: the rounds' files, or how imported rounds' questions changed."
SURVEY_HELP = "Survey name of rounds imported with 'survey import' (one period a round)."
DATA_DIR_HELP = "Where imported surveys are stored."


@mobility_app.command("summary")
def summary(
    mapping: Path = typer.Option(None, "--mapping", help=MAPPING_HELP),
    city: str = typer.Option(None, "--city", help="City code (default: national)."),
    out: Path = typer.Option(None, "--out", help="Write every figure to CSV or XLSX."),
    survey: str = typer.Option(None, "--survey", help=SURVEY_HELP),
    data_dir: Path = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Per-round figures with 95% CIs (suppressed below 10 respondents)."""
    from inclusive_cities.mobility import summarise

    frame = _published(summarise(_rounds(mapping, survey, city, data_dir)))
    geography = _geography(frame, city, survey)
    _check_geography(frame, geography)
    part = frame[(frame["geography"] == geography) & frame["topic"].isin(TOPICS)]
    _show(
        part,
        ["round", "topic", "category", "estimate", "ci_low", "ci_high", "n"],
        _("High-frequency survey: {geography}").format(geography=_place(geography)),
    )
    _write(frame, out)


def _check_geography(frame: pd.DataFrame, geography: str) -> None:
    from inclusive_cities.mobility import MobilityError

    if geography not in set(frame["geography"]):
        raise MobilityError(
            _("No survey responses for city '{city}'; cities in the survey: {cities}.").format(
                city=geography,
                cities=", ".join(sorted(set(frame["geography"]) - {"_national"})),
            )
        )


@mobility_app.command("trends")
def trends_command(
    mapping: Path = typer.Option(None, "--mapping", help=MAPPING_HELP),
    city: str = typer.Option(None, "--city", help="City code (default: national)."),
    topic: str = typer.Option("regular_status", "--topic", help="Topic to show."),
    out: Path = typer.Option(None, "--out", help="Write all trends to CSV or XLSX."),
    survey: str = typer.Option(None, "--survey", help=SURVEY_HELP),
    data_dir: Path = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Figures over rounds with the change from the previous round and its p-value."""
    from inclusive_cities.mobility import MobilityError, summarise, trends

    frame = summarise(_rounds(mapping, survey, city, data_dir))
    geography = _geography(frame, city, survey)
    _check_geography(frame, geography)
    table = _published(trends(frame, geography))
    part = table[table["topic"] == topic]
    if part.empty:
        raise MobilityError(
            _("Unknown topic '{topic}'; use one of {topics}.").format(
                topic=topic, topics=", ".join(sorted(set(table["topic"])))
            )
        )
    _show(
        part,
        ["category", "round", "estimate", "ci_low", "ci_high", "change", "p_value"],
        _("Trend of {topic}: {geography}").format(
            topic=_topic_name(topic), geography=_place(geography)
        ),
    )
    _write(table, out)


@mobility_app.command("flows")
def flows_command(
    mapping: Path = typer.Option(None, "--mapping", help=MAPPING_HELP),
    round_code: str = typer.Option(None, "--round", help="Round code (default: all rounds)."),
    city: str = typer.Option(None, "--city", help="City code (default: national)."),
    out: Path = typer.Option(None, "--out", help="Write the flow table to CSV or XLSX."),
    survey: str = typer.Option(None, "--survey", help=SURVEY_HELP),
    data_dir: Path = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Origin → intended destination table (estimated households, 95% CIs)."""
    from inclusive_cities.mobility import NATIONAL, flows

    data = _rounds(mapping, survey, city, data_dir)
    shown = city if city and (not survey or city in set(data["city"].astype(str))) else None
    table = _published(flows(data, round_code=round_code, city=shown))
    if shown is None and city:
        table["geography"] = NATIONAL
    _show(
        table,
        ["origin", "destination", "estimate", "ci_low", "ci_high", "n"],
        _("Origin → destination flows"),
    )
    _write(table, out)


def register(app: typer.Typer) -> None:
    app.add_typer(mobility_app, name="mobility")
