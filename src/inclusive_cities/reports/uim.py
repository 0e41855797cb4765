"""The UIM city report and the one-page fact sheet per neighbourhood."""

from __future__ import annotations

import html
import time
from datetime import date

import pandas as pd

from inclusive_cities import charts
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.units import unit_label
from inclusive_cities.reports import fmt
from inclusive_cities.reports.data import CityData
from inclusive_cities.reports.document import Block, Document, Figure, Section, Table
from inclusive_cities.reports.maps import LocatorMaps, level_map
from inclusive_cities.reports.profile import (
    WITHHELD_COLOUR,
    WITHHELD_LEVEL,
    Built,
    ProfileBuilder,
    add_marker_blocks,
    published_count,
    withheld_note,
    withheld_text,
)
from inclusive_cities.store.models import TOTAL


def build_marker_report(
    data: CityData,
    language: str,
    rank_intervals: pd.DataFrame | None = None,
    today: date | None = None,
) -> Built:
    """Overview, thematic areas with a map each, ranking, method; or what is missing."""
    builder = ProfileBuilder(data, language, rank_intervals=rank_intervals)
    t = builder.t
    view = builder.marker
    overview = Section("overview", t["marker_overview"])
    add_marker_blocks(overview, builder)
    sections = [overview]
    if view is not None:
        areas = Section("areas", t["marker_areas"])
        counts = view.units["level"].value_counts()
        shares = pd.DataFrame(
            [
                {
                    "label": label,
                    "score": 100 * counts.get(code, 0) / max(len(view.units), 1),
                    "colour": colour,
                }
                for code, label, colour in view.levels
            ]
            + (
                [
                    {
                        "label": withheld_text(),
                        "score": 100 * view.units["withheld"].sum() / max(len(view.units), 1),
                        "colour": WITHHELD_COLOUR,
                    }
                ]
                if view.units["withheld"].any()
                else []
            )
        )
        chart = charts.area_scores(shares, value_title=_("Share of units (%)"))
        areas.figure(
            Figure(charts.to_png_data_uri(chart), t["fig_level_shares"], builder._marker_source())
        )
        chart = charts.histogram(view.units.dropna(subset=["score"])[["score"]])
        areas.figure(
            Figure(charts.to_png_data_uri(chart), t["fig_histogram"], builder._marker_source())
        )
        for code in view.areas:
            if code not in view.units or view.units[code].isna().all():
                areas.missing(
                    _("No unit has a score for {area}.").format(area=view.names.get(code, code))
                )
                continue
            area_level = view.units[code].map(view.level_of)
            frame = view.units.assign(
                area_level=area_level.where(~view.units[f"withheld_{code}"], WITHHELD_LEVEL)
            )
            levels = [*view.levels, (WITHHELD_LEVEL, withheld_text(), WITHHELD_COLOUR)]
            areas.figure(
                Figure(
                    level_map(frame, "area_level", levels, t["no_data"], size=(5.0, 4.2), dpi=110),
                    t["fig_area_map"].format(area=view.names.get(code, code)),
                    builder._marker_source(),
                )
            )
        sections.append(areas)
        ranking = Section("ranking", t["marker_ranking"])
        top = view.units.dropna(subset=["score"]).sort_values("score", ascending=False)
        rows = [
            [
                fmt.number(r.rank, language),
                f"{r.name} ({r.code})",
                fmt.number(r.score, language, 1),
                view.level_label(r.level),
                *[
                    fmt.number(getattr(r, a) if a in view.units else None, language, 1)
                    for a in view.areas
                ],
            ]
            for r in top.head(15).itertuples()
        ]
        ranking.table(
            Table(
                [t["rank"], t["unit"], t["score"], t["level"], *view.areas],
                rows,
                t["tab_top"].format(count=min(15, len(top))),
                builder._marker_source(),
                numeric=[True, False, True, False, *[True] * len(view.areas)],
                small=True,
            )
        )
        ranking.p(", ".join(f"{a}: {view.names.get(a, a)}" for a in view.areas))
        hidden_areas = sum(int(view.units[f"withheld_{a}"].sum()) for a in view.areas)
        if view.units["withheld"].any() or hidden_areas:
            ranking.p(
                withheld_note(
                    int(view.units["withheld"].sum()), language, builder.intervals_withheld
                )
            )
        partial = view.units[view.units["coverage"] < 1]
        if len(partial):  # say which indices stand on fewer areas than the spec has
            missing = {a for codes in partial["missing_areas"] for a in str(codes).split("; ")}
            ranking.p(
                _(
                    "{count} of {total} units have a partial index: {areas} without data for "
                    "some of them."
                ).format(
                    count=fmt.number(len(partial), language),
                    total=fmt.number(len(view.units), language),
                    areas=", ".join(view.names.get(a, a) for a in view.areas if a in missing),
                )
            )
        sections.append(ranking)
    methods = builder.methods(annex_name=_("annex"))
    sections.append(methods)
    document = Document(
        kind="marker",
        language=language,
        title=t["marker_title"],
        subtitle=data.city_name,
        city_name=data.city_name,
        period_label=data.period_label,
        generated=(today or date.today()).isoformat(),
        synthetic=data.is_synthetic,
        labels=t,
        sections=sections,
    )
    return Built(document, builder.annex_tables())


MISSING_ROWS = 10
"""Indicator rows a fact sheet shows at most before counting the rest without data."""


def _sheet_html(
    builder: ProfileBuilder,
    unit: pd.Series,
    locate: LocatorMaps,
    city_means: dict,
    indicator_table: pd.DataFrame,
) -> str:
    t = builder.t
    view = builder.marker
    assert view is not None
    lang = builder.lang
    e = html.escape
    parent = builder.data.units.set_index("unit_id")["name"].get(unit["parent_id"], "")
    withheld = bool(unit.get("withheld", False))
    rank_text = (
        withheld_text()
        if withheld
        else fmt.number(unit["rank"], lang)
        + " "
        + t["of_units"].format(total=fmt.number(published_count(view), lang))
    )
    if (
        view.rank_low is not None
        and view.rank_high is not None
        and not pd.isna(view.rank_low.get(unit.name))
    ):
        rank_text += f" ({t['rank_interval']}: {fmt.number(view.rank_low.get(unit.name), lang)}"
        rank_text += f"–{fmt.number(view.rank_high.get(unit.name), lang)})"
    colour = WITHHELD_COLOUR if withheld else view.level_colour(unit["level"])
    area_rows = "".join(
        _area_row(
            view.names.get(a, a),
            unit.get(a),
            city_means.get(a),
            view.level_colour(view.level_of(unit.get(a))),
            lang,
            bool(unit.get(f"withheld_{a}", False)),
        )
        for a in view.areas
    )
    ind = indicator_table[indicator_table["unit_id"] == unit["unit_id"]]
    no_values = _("No indicator values are recorded for this unit in this period.")
    no_data = e(_("no data"))
    ind_rows = "".join(
        f"<tr><td>{e(r.label)}</td><td class='num'>{fmt.number(r.value, lang, 1)}</td>"
        f"<td class='num'>{fmt.number(r.median, lang, 1)}</td><td>{e(unit_label(r.unit))}</td></tr>"
        for r in ind.itertuples()
    )
    # the spec's indicators the unit has no value for are listed, not left out; a few as
    # rows, the rest counted, so the sheet stays one page
    absent = [
        (name, unit_code)
        for code, (name, unit_code) in view.indicators.items()
        if code not in set(ind["indicator"])
    ]
    room = max(0, MISSING_ROWS - len(ind))
    ind_rows += "".join(
        f"<tr class='no-data'><td>{e(name)}</td><td class='num'>{no_data}</td>"
        f"<td class='num'></td><td>{e(unit_label(unit_code))}</td></tr>"
        for name, unit_code in absent[:room]
    )
    if len(absent) > room:
        more = _("{count} more indicators without data").format(count=len(absent) - room)
        ind_rows += f"<tr class='no-data'><td colspan='4'>{e(more)}</td></tr>"
    missing_areas = [a for a in str(unit.get("missing_areas") or "").split("; ") if a]
    partial = (
        "<p class='partial'>"
        + e(
            _("partial: {areas} without data").format(
                areas=", ".join(view.names.get(a, a) for a in missing_areas)
            )
        )
        + "</p>"
        if missing_areas
        else ""
    )
    indicators = (
        f"<table class='small'><caption>{e(t['tab_unit_indicators'])}</caption><thead><tr>"
        f"<th>{e(t['indicator'])}</th><th class='num'>{e(t['value'])}</th>"
        f"<th class='num'>{e(t['city_median'])}</th><th>{e(t['unit'])}</th></tr></thead>"
        f"<tbody>{ind_rows}</tbody><tfoot><tr><td colspan='4' class='source'>{e(t['source'])}: "
        f"{e(builder._census_source())}</td></tr></tfoot></table>"
        if ind_rows
        else f"<p class='missing'>{e(no_values)}</p>"
    )
    return (
        f"<div class='sheet'><div class='sheet-head'><div><h2>{e(str(unit['name']))}</h2>"
        f"<div class='sheet-parent'>{e(str(unit['code']))}"
        f"{' · ' + e(t['factsheet_parent']) + ' ' + e(str(parent)) if parent else ''}</div></div>"
        f"</div><div class='sheet-cols'><div>"
        f"<div class='sheet-score'>{'' if withheld else fmt.number(unit['score'], lang, 1)}</div>"
        f"<span class='level-chip' style='background:{colour}'>"
        f"{e(withheld_text() if withheld else view.level_label(unit['level']))}</span>{partial}"
        f"<p>{e(t['rank'])}: {e(rank_text)}</p></div>"
        f"<div><figure><img src='{locate(unit['unit_id'])}' "
        f"alt='{e(t['factsheet_position'])}'><figcaption>{e(t['factsheet_position'])}"
        f"<span class='source'>{e(t['source'])}: {e(builder._marker_source())}</span>"
        f"</figcaption></figure></div></div>"
        f"<table class='small areas'><caption>{e(t['tab_unit_areas'])}</caption><thead><tr>"
        f"<th>{e(t['marker_areas'])}</th><th class='num'>{e(t['score'])}</th>"
        f"<th class='num'>{e(t['city_mean'])}</th><th class='num'>{e(t['difference'])}</th>"
        f"<th class='barcell'></th></tr></thead><tbody>{area_rows}</tbody></table>"
        f"{indicators}</div>"
    )


def _area_row(
    name: str,
    score: float | None,
    mean: float | None,
    colour: str,
    lang: str,
    withheld: bool = False,
) -> str:
    """One area: the unit's score, the city mean and a bar (the mean as a tick); a score
    withheld for confidentiality says so instead of "no data"."""
    known = score is not None and not pd.isna(score) and not withheld
    difference = score - mean if score is not None and known and mean is not None else None
    bar = (
        f"<div class='bar'><span style='width:{score:.1f}%;background:{colour}'></span>"
        + (f"<i style='left:{mean:.1f}%'></i>" if mean is not None else "")
        + "</div>"
        if known
        else ""
    )
    shown = fmt.number(score, lang, 1) if known else html.escape(_("no data"))
    if withheld:
        shown = html.escape(withheld_text())
    return (
        f"<tr><td>{html.escape(name)}</td><td class='num'>{shown}</td>"
        f"<td class='num'>{fmt.number(mean, lang, 1)}</td>"
        f"<td class='num'>{fmt.number(difference, lang, 1)}</td>"
        f"<td class='barcell'>{bar}</td></tr>"
    )


def build_factsheets(
    data: CityData,
    language: str,
    units: list[str] | None = None,
    rank_intervals: pd.DataFrame | None = None,
    today: date | None = None,
) -> Built:
    """One page per unit of the marker run (or the listed unit codes)."""
    builder = ProfileBuilder(data, language, rank_intervals=rank_intervals)
    t = builder.t
    view = builder.marker
    section = Section("sheets", "", new_page=False)
    document = Document(
        kind="factsheets",
        language=language,
        title=t["factsheets_title"],
        subtitle=data.city_name,
        city_name=data.city_name,
        period_label=data.period_label,
        generated=(today or date.today()).isoformat(),
        synthetic=data.is_synthetic,
        labels=t,
        sections=[section],
        contents=False,
    )
    if view is None:
        add_marker_blocks(section, builder)
        return Built(document, {})
    chosen = view.units
    if units:
        unknown = sorted(set(units) - set(chosen["code"]))
        if unknown:
            from inclusive_cities.reports.errors import ReportError

            raise ReportError(
                _(
                    "No marker scores for unit(s) {codes} in this run; use codes such as {example}."
                ).format(codes=", ".join(unknown), example=chosen["code"].iloc[0])
            )
        chosen = chosen[chosen["code"].isin(units)]
    means = {a: view.city_mean(a) for a in view.areas}
    projected = view.units[["unit_id", "geometry"]]
    if projected.crs is not None and projected.crs.is_geographic and not projected.empty:
        projected = projected.to_crs(projected.estimate_utm_crs())
    indicator_table = _unit_indicators(builder, set(chosen["unit_id"]))
    started = time.perf_counter()
    locate = LocatorMaps(projected)
    try:
        for _index, unit in chosen.iterrows():
            section.blocks.append(
                Block("sheet", _sheet_html(builder, unit, locate, means, indicator_table))
            )
    finally:
        locate.close()
    built = Built(document, {"units": pd.DataFrame(chosen.drop(columns=["geometry"]))})
    built.timings["sheets"] = time.perf_counter() - started
    return built


def _unit_indicators(builder: ProfileBuilder, unit_ids: set) -> pd.DataFrame:
    obs = builder.data.observations
    columns = ["unit_id", "indicator", "label", "value", "median", "unit"]
    if obs.empty:
        return pd.DataFrame(columns=columns)
    obs = obs[
        (obs["sex"] == TOTAL)
        & (obs["age_group"] == TOTAL)
        & (obs["nationality"] == TOTAL)
        & (obs["status"] != "suppressed")
    ]
    level_units = set(builder.marker.units["unit_id"]) if builder.marker is not None else set()
    obs = obs[obs["unit_id"].isin(level_units)]
    medians = obs.groupby("indicator")["value"].median()
    catalogue = builder.data.indicators.set_index("code")
    part = obs[obs["unit_id"].isin(unit_ids)].copy()
    part["median"] = part["indicator"].map(medians)
    name = "name_es" if builder.lang == "es" else "name_en"
    part["label"] = part["indicator"].map(lambda c: catalogue[name].get(c, c))
    part["unit"] = part["indicator"].map(lambda c: catalogue["unit"].get(c, ""))
    return part.sort_values(["unit_id", "label"])[columns].groupby("unit_id").head(8)
