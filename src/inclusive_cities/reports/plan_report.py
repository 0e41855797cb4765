"""The Territorial Intervention Plan report ("Plan de Intervención Territorial"), PDF and HTML,
es and en, generated from the store: the projects, their map over the marker layer, budget by
status and by area, a timeline, the workshop solutions no project answers yet, the communities'
proposals and what became of them, and the participatory designs with their photos::

    from inclusive_cities.reports.plan_report import write_plan_report, render_plan_html
    write_plan_report(engine, "DEMO", "PIT-2026", "plan.pdf", language="es")
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import Engine, select

from inclusive_cities.disclosure import Rules
from inclusive_cities.i18n import current_language, format_number, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.designs import Design, list_designs, read_photo
from inclusive_cities.planning.proposals import list_proposals
from inclusive_cities.planning.territorial_plan import (
    Plan,
    budget_by,
    load_plan,
    status_label,
    unanswered_solutions,
)
from inclusive_cities.reports.document import Document, Figure, KeyFigure, Section, Table
from inclusive_cities.reports.errors import ReportError
from inclusive_cities.reports.withheld import withhold_scores
from inclusive_cities.store import models, transaction

STATUS_COLOURS = {
    "proposed": "#9e9e9e",
    "approved": "#1f77b4",
    "under_way": "#ff7f0e",
    "done": "#2ca02c",
}


def type_label(kind: str) -> str:
    return {
        "public_space": _("Public space"),
        "housing": _("Housing improvement"),
        "services": _("Services"),
        "centre": _("Centre"),
        "economic": _("Economic"),
        "social_cohesion": _("Social cohesion"),
    }.get(kind, kind)


def outcome_label(outcome: str) -> str:
    return {
        "adopted": _("Adopted"),
        "not_adopted": _("Not adopted"),
        "pending": _("Pending"),
    }.get(outcome, outcome)


def supporters_text(count: int, rules: Rules | None = None) -> str:
    """A proposal's supporters as published: counts under the disclosure threshold are shown
    as "fewer than 10", never the exact small number (docs/disclosure.md)."""
    threshold = (rules or Rules()).threshold
    if 0 < count < threshold:
        return _("fewer than {n}").format(n=threshold)
    return format_number(count, 0)


def money(value: float) -> str:
    return format_number(value, 0)


@dataclass(frozen=True)
class MarkerLayer:
    """The city's latest published marker scores per unit (index node), for the map."""

    units: Any  # GeoDataFrame: geometry, score
    label: str


def marker_layer(engine: Engine, city: str) -> MarkerLayer | None:
    """Index scores of the latest published run of the city, or None without one."""
    import geopandas as gpd

    with transaction(engine) as session:
        run = session.scalar(
            select(models.MarkerRun)
            .join(models.City, models.City.id == models.MarkerRun.city_id)
            .where(models.City.code == city, models.MarkerRun.published.is_(True))
            .order_by(models.MarkerRun.created_at.desc(), models.MarkerRun.id.desc())
        )
        if run is None:
            return None
        period = session.get(models.Period, run.period_id)
        rows = session.execute(
            select(
                models.SpatialUnit.geometry,
                models.MarkerScore.score,
                models.MarkerScore.node_code,
                models.MarkerScore.unit_id,
            )
            .join(models.SpatialUnit, models.SpatialUnit.id == models.MarkerScore.unit_id)
            .where(models.MarkerScore.run_id == run.id)
        ).all()
        if not rows:
            return None
        # the map's colours print the scores: those the web withholds are left grey
        frame = withhold_scores(
            session,
            run.id,
            pd.DataFrame(rows, columns=["geometry", "score", "node_code", "unit_id"]).assign(
                level=None, rank=None
            ),
        ).rename(columns={"node_code": "node"})
    # the index is the node no other node of the run sits under: the most frequent root code
    roots = [n for n in frame["node"].unique() if "_" not in n and n.isupper()]
    node = "UIM" if "UIM" in set(frame["node"]) else (roots[0] if roots else frame["node"].iloc[0])
    frame = frame[frame["node"] == node].dropna(subset=["geometry"])
    geo = gpd.GeoDataFrame(
        {"score": frame["score"].astype(float).to_numpy()},
        geometry=[shapely.from_wkb(g) for g in frame["geometry"]],
        crs="EPSG:4326",
    )
    label = _("Urban Inclusion Marker (0–100), {period}").format(
        period=period.label if period is not None and period.label else ""
    )
    return MarkerLayer(units=geo, label=label)


def target_names(engine: Engine, city: str, language: str) -> dict[str, str]:
    """Names of what projects target: the marker's areas and dimensions (latest published run's
    spec, else uim-basic) and the catalogue's indicators, by code."""
    from inclusive_cities.reports.governance_report import _node_names, _spec_names

    with transaction(engine) as session:
        names = {
            code: (es if language == "es" else en) or code
            for code, es, en in session.execute(
                select(models.Indicator.code, models.Indicator.name_es, models.Indicator.name_en)
            )
        }
        run = session.scalar(
            select(models.MarkerRun)
            .join(models.City, models.City.id == models.MarkerRun.city_id)
            .where(models.City.code == city, models.MarkerRun.published.is_(True))
            .order_by(models.MarkerRun.created_at.desc(), models.MarkerRun.id.desc())
        )
        nodes = _node_names(run, language)[1] if run is not None else {}
    return {**names, **(_spec_names("uim-basic", language) or {}), **nodes}


def _png(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight", pad_inches=0.05)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def projects_map(plan: Plan, layer: MarkerLayer | None) -> str | None:
    """Projects by status (points and polygons) over the marker's scores by unit."""
    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    sited = plan.items[plan.items["geometry"].notna()]
    if sited.empty:
        return None
    sites = gpd.GeoDataFrame(
        {"status": sited["status"].to_numpy(), "code": sited["code"].to_numpy()},
        geometry=list(sited["geometry"]),
        crs="EPSG:4326",
    )
    crs = sites.estimate_utm_crs()
    sites = sites.to_crs(crs)
    figure, axis = plt.subplots(figsize=(7.0, 6.0))
    if layer is not None:
        units = layer.units.to_crs(crs)
        units.plot(
            ax=axis,
            column="score",
            cmap="RdYlGn",
            vmin=0,
            vmax=100,
            edgecolor="white",
            linewidth=0.2,
            legend=True,
            legend_kwds={"label": layer.label, "shrink": 0.6},
            missing_kwds={"color": "#d9d9d9"},
        )
    polygons = sites[sites.geom_type != "Point"]
    points = sites[sites.geom_type == "Point"]
    for status, colour in STATUS_COLOURS.items():
        chosen = polygons[polygons["status"] == status]
        if not chosen.empty:
            chosen.plot(ax=axis, facecolor="none", edgecolor=colour, linewidth=1.6)
        chosen = points[points["status"] == status]
        if not chosen.empty:
            chosen.plot(ax=axis, color=colour, markersize=38, edgecolor="black", linewidth=0.6)
    for code, geometry in zip(sites["code"], sites.geometry, strict=True):
        at = geometry.representative_point()
        axis.annotate(code, (at.x, at.y), xytext=(3, 3), textcoords="offset points", fontsize=6)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colour, label=status_label(status))
        for status, colour in STATUS_COLOURS.items()
        if status in set(sites["status"])
    ]
    axis.legend(handles=handles, loc="lower left", fontsize=7, frameon=True)
    axis.set_axis_off()
    axis.set_aspect("equal")
    return _png(figure)


def timeline(plan: Plan) -> str | None:
    """A Gantt chart of the projects with dates (an open end is drawn to the plan's last date)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    dated = plan.items[plan.items["start_date"].notna()].sort_values(["start_date", "code"])
    if dated.empty:
        return None
    last = max(d for d in list(dated["end_date"]) + list(dated["start_date"]) if d is not None)
    figure, axis = plt.subplots(figsize=(7.0, 0.8 + 0.28 * len(dated)))
    for row, item in enumerate(dated.itertuples()):
        start = mdates.date2num(item.start_date)
        end = mdates.date2num(item.end_date or last)
        axis.barh(
            row,
            max(end - start, 10),
            left=start,
            color=STATUS_COLOURS.get(item.status, "#777"),
            height=0.6,
        )
    axis.set_yticks(range(len(dated)))
    axis.set_yticklabels(
        [f"{c} {n[:38]}" for c, n in zip(dated["code"], dated["name"], strict=True)], fontsize=7
    )
    axis.invert_yaxis()
    axis.xaxis_date()
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    axis.tick_params(axis="x", labelsize=7)
    axis.grid(axis="x", color="#ddd", linewidth=0.5)
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)
    return _png(figure)


def _photo_uri(engine: Engine, photo_id: int) -> str:
    content, media, _name = read_photo(engine, photo_id)
    return f"data:{media};base64," + base64.b64encode(content).decode("ascii")


def _designs_section(engine: Engine, designs: list[Design], t: dict[str, str]) -> Section:
    section = Section("designs", _("Participatory design of public spaces"))
    for design in designs:
        section.h3(f"{design.code} — {design.name}")
        if design.item:
            section.p(_("Plan project: {item}.").format(item=design.item))
        if design.workshop_codes:
            section.p(_("Workshops held: {codes}.").format(codes=", ".join(design.workshop_codes)))
        rows = [
            [
                o["code"],
                o.get("title", ""),
                o.get("description", ""),
                _("chosen") if o["code"] == design.chosen_option else "",
            ]
            for o in design.options
        ]
        if rows:
            section.table(
                Table(
                    [_("Option"), _("Title"), _("Description"), ""],
                    rows,
                    _("Design options"),
                    t["source_text"],
                )
            )
        for photo in design.photos:
            caption = (_("Before") if photo.stage == "before" else _("After")) + (
                f": {photo.caption}" if photo.caption else ""
            )
            section.figure(Figure(_photo_uri(engine, photo.id), caption, t["source_text"]))
    return section


def build_document(engine: Engine, city: str, plan_code: str, language: str) -> Document:
    """The report as sections of blocks (the shared report template lays it out)."""
    from inclusive_cities.reports.labels import labels

    plan = load_plan(engine, city, plan_code)
    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        assert city_row is not None
        city_name, synthetic = city_row.name, bool(city_row.is_synthetic)
    info, items = plan.info, plan.items
    t = dict(labels())
    t["period"] = _("Plan period")
    t["source_text"] = _("Territorial intervention plan {plan}, observatory store").format(
        plan=info.code
    )
    title = _("Territorial Intervention Plan")
    doc = Document(
        kind="plan",
        language=language,
        title=title,
        subtitle=info.name or info.code,
        city_name=city_name,
        period_label=info.period,
        generated=date.today().isoformat(),
        synthetic=synthetic,
        labels=t,
        cover_lines=[info.description] if info.description else [],
    )
    summary = Section("summary", t["summary"])
    if synthetic:
        summary.note(t["synthetic_note"])
    by_status = {s: int((items["status"] == s).sum()) for s in STATUS_COLOURS}
    # the plan's name often holds the city's ("Plan de intervención territorial Villa Plan"):
    # quoted, with the city and period after it, it never reads "the plan Plan … of Villa Plan"
    one = info.items == 1
    summary.p(
        (
            _(
                "“{plan}” ({city}, {period}) holds {n} project costing {cost}: "
                "{done} done, {under_way} under way, {approved} approved and {proposed} proposed."
            )
            if one
            else _(
                "“{plan}” ({city}, {period}) holds {n} projects costing {cost} in total: "
                "{done} done, {under_way} under way, {approved} approved and {proposed} proposed."
            )
        ).format(
            plan=info.name or info.code,
            city=city_name,
            period=info.period,
            n=info.items,
            cost=money(info.cost),
            **by_status,
        )
    )
    summary.key_figures(
        [
            KeyFigure(_("Projects"), format_number(info.items, 0)),
            KeyFigure(_("Total cost"), money(info.cost)),
            KeyFigure(_("Executed"), format_number(by_status["done"], 0)),
            KeyFigure(_("Under way"), format_number(by_status["under_way"], 0)),
        ]
    )
    doc.sections.append(summary)

    where = Section("map", _("Where the projects are"))
    uri = projects_map(plan, marker_layer(engine, city))
    if uri is None:
        where.missing(_("No project of the plan has a site yet."))
    else:
        where.figure(
            Figure(
                uri,
                _("Projects of the plan by status, over the Urban Inclusion Marker by unit."),
                t["source_text"],
                wide=True,
            )
        )
    doc.sections.append(where)

    projects = Section("projects", _("Projects"))
    if items.empty:
        projects.missing(_("The plan has no projects yet."))
    else:
        projects.table(
            Table(
                [
                    _("Code"),
                    _("Project"),
                    _("Type"),
                    _("Status"),
                    _("Cost"),
                    _("Funding source"),
                    _("Start"),
                    _("End"),
                    _("Solutions answered"),
                ],
                [
                    [
                        r.code,
                        r.name,
                        type_label(r.type),
                        status_label(r.status),
                        money(r.cost),
                        r.funding_source,
                        r.start_date.isoformat() if r.start_date else "",
                        r.end_date.isoformat() if r.end_date else "",
                        ", ".join(r.solution_codes),
                    ]
                    for r in items.itertuples()
                ],
                _("Projects of the plan"),
                t["source_text"],
                numeric=[False, False, False, False, True, False, False, False, False],
                small=True,
            )
        )
    doc.sections.append(projects)

    budget = Section("budget", _("Budget by status and by area"))
    names = target_names(engine, city, language)

    def target_label(code: str) -> str:
        return names.get(code, code)

    labellers: tuple[tuple[str, str, Callable[[str], str]], ...] = (
        ("status", _("By status"), status_label),
        (
            "target",
            _("By area targeted (a project's cost split equally over its areas)"),
            target_label,
        ),
        ("type", _("By type of project"), type_label),
    )
    for by, heading, label in labellers:
        table = budget_by(items, by)
        if table.empty:
            continue
        budget.table(  # the table's caption is its heading (an h3 too said it twice)
            Table(
                ["", _("Projects"), _("Cost"), _("Share")],
                [
                    [
                        label(str(r.key)) if r.key else _("No area given"),
                        format_number(r.projects, 0),
                        money(r.cost),
                        format_number(100 * r.share, 1) + " %",
                    ]
                    for r in table.itertuples()
                ],
                heading,
                t["source_text"],
                numeric=[False, True, True, True],
            )
        )
    doc.sections.append(budget)

    when = Section("timeline", _("Timeline"))
    uri = timeline(plan)
    if uri is None:
        when.missing(_("No project of the plan has dates yet."))
    else:
        when.figure(
            Figure(uri, _("Start and end of each project, coloured by status."), t["source_text"])
        )
    doc.sections.append(when)

    open_solutions = Section("solutions", _("Workshop solutions with no project yet"))
    unanswered = unanswered_solutions(engine, city, info.code)
    if unanswered.empty:
        open_solutions.p(_("Every solution of the city's workshops is answered by a project."))
    else:
        open_solutions.table(
            Table(
                [_("Workshop"), _("Solution"), _("Area"), _("Text")],
                [[r.workshop, r.code, r.area, r.text] for r in unanswered.itertuples()],
                _("Solutions proposed in workshops that no project of the plan answers"),
                t["source_text"],
            )
        )
    doc.sections.append(open_solutions)

    heard = Section("proposals", _("Neighbourhood proposals and what became of them"))
    proposals = list_proposals(engine, city)
    if proposals.empty:
        heard.missing(_("No neighbourhood proposal has been recorded."))
    else:
        heard.table(
            Table(
                [
                    _("Proposal"),
                    _("Neighbourhood"),
                    _("Supporters"),
                    _("Outcome"),
                    _("Why / project"),
                ],
                [
                    [
                        r.title,
                        r.unit_code,
                        supporters_text(int(r.supporters)),
                        outcome_label(r.outcome),
                        r.item if r.outcome == "adopted" else r.reason,
                    ]
                    for r in proposals.itertuples()
                ],
                _("Proposals from communities"),
                t["source_text"],
                numeric=[False, False, True, False, False],
            )
        )
    doc.sections.append(heard)

    designs = list_designs(engine, city)
    if designs:
        doc.sections.append(_designs_section(engine, designs, t))
    return doc


def render_plan_html(engine: Engine, city: str, plan: str, language: str = "es") -> str:
    """The report as one self-contained HTML page (the web app can serve it)."""
    from inclusive_cities.reports.render import to_html

    previous = current_language()
    chosen = use_language(language)
    try:
        return to_html(build_document(engine, city, plan, chosen))
    finally:
        use_language(previous)


def write_plan_report(
    engine: Engine, city: str, plan: str, out: str | Path, language: str = "es"
) -> tuple[Path, int | None]:
    """Write the report to ``out`` (.pdf or .html); returns the path and the PDF's pages."""
    from inclusive_cities.reports.render import to_pdf

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise ReportError(
            _("The output file must end in .pdf or .html, not '{name}'.").format(name=out.name)
        )
    page = render_plan_html(engine, city, plan, language)
    if suffix == ".pdf":
        return out, to_pdf(page, out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReportError(
            _("Cannot write {path} ({reason}); choose another --out.").format(
                path=out, reason=error.strerror or error
            )
        ) from None
    return out, None
