"""Reports: Human Mobility Profile, UIM city report and neighbourhood fact sheets.

HTML (self-contained, served by the web app) and PDF (WeasyPrint from the same HTML), in
Spanish or English, with an XLSX data annex::

    from inclusive_cities import reports
    html = reports.render_profile_html(engine, "DEMO", "2024", language="es", hfs=hfs)
    result = reports.profile(engine, "DEMO", "2024", "profile.pdf", language="en", hfs=hfs)
    result.pdf, result.annex, result.timings, result.recommendations
    reports.marker_report(engine, "DEMO", "2024", "uim.pdf")
    reports.factsheets(engine, "DEMO", "2024", "sheets.pdf", units=["B001"])

``hfs`` is a harmonised survey table (:func:`inclusive_cities.mobility.harmonise`);
``recommendations`` a rule catalogue or an edited draft (YAML, see
:mod:`inclusive_cities.reports.recommendations`); ``governance`` a DataFrame with columns
``domain, score, strengths, gaps``; ``rank_intervals`` a DataFrame ``code, rank_p05,
rank_p95`` (e.g. from the marker's sensitivity analysis). Errors are :class:`ReportError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    import pandas as pd

from inclusive_cities.i18n import current_language, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.reports.data import CityData, load_city_data
from inclusive_cities.reports.errors import ReportError
from inclusive_cities.reports.profile import Built, build_profile
from inclusive_cities.reports.recommendations import (
    DEFAULT_CATALOGUE,
    Recommendation,
    recommend,
    write_draft,
)
from inclusive_cities.reports.render import to_html, to_pdf, write_annex
from inclusive_cities.reports.uim import build_factsheets, build_marker_report


@dataclass
class ReportResult:
    """What was written and how long each step took (seconds)."""

    pdf: Path | None
    html: Path | None
    annex: Path | None
    pages: int | None
    recommendations: list[Recommendation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _language(language: str) -> Iterator[str]:
    previous = current_language()
    chosen = use_language(language)
    try:
        yield chosen
    finally:
        use_language(previous)


def _build(kind: str, data: CityData, language: str, **options) -> Built:
    if kind == "profile":
        return build_profile(data, language, **options)
    if kind == "marker":
        return build_marker_report(data, language, **options)
    return build_factsheets(data, language, **options)


def _html(
    engine: Engine,
    kind: str,
    city: str,
    period: str,
    language: str,
    progress: ProgressCallback | None = None,
    steps: int = 2,
    **options,
) -> tuple[str, Built]:
    progress = progress or quiet_progress
    with _language(language) as chosen:
        started = time.perf_counter()
        progress(_("Reading the city's data"), 0, steps)
        data = load_city_data(engine, city, period)
        loaded = time.perf_counter() - started
        progress(_("Building the report"), 1, steps)
        built = _build(kind, data, chosen, **options)
        built.timings = {"load": loaded, **built.timings}
        started = time.perf_counter()
        page = to_html(built.document)
        built.timings["html"] = time.perf_counter() - started
        return page, built


def render_profile_html(
    engine: Engine, city: str, period: str, language: str = "es", **options
) -> str:
    """The Human Mobility Profile as one self-contained HTML page (for the web app)."""
    return _html(engine, "profile", city, period, language, **options)[0]


def render_marker_html(
    engine: Engine, city: str, period: str, language: str = "es", **options
) -> str:
    return _html(engine, "marker", city, period, language, **options)[0]


def render_factsheets_html(
    engine: Engine, city: str, period: str, language: str = "es", **options
) -> str:
    return _html(engine, "factsheets", city, period, language, **options)[0]


def _write(
    kind: str,
    engine: Engine,
    city: str,
    period: str,
    out: str | Path,
    language: str,
    annex: bool,
    progress: ProgressCallback | None = None,
    **options,
) -> ReportResult:
    """Write a report; ``progress(step, done, total)`` hears of reading, building, writing
    and the annex."""
    progress = progress or quiet_progress
    out = Path(out)
    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise ReportError(
            _("The output file must end in .pdf or .html, not '{name}'.").format(name=out.name)
        )
    annex_path = out.with_name(out.stem + "-annex.xlsx") if annex else None
    if kind == "profile":
        options.setdefault("annex_name", annex_path.name if annex_path else "–")
    steps = 4 if annex_path is not None else 3
    page, built = _html(engine, kind, city, period, language, progress, steps, **options)
    if kind == "profile" and not _about_migrants(built.annex):
        # an empty profile would still count as "published" for the programme (trial F14)
        raise ReportError(
            _(
                "No figure about refugees and migrants for {city} in {period}: no survey round "
                "(--hfs or --hfs-survey), no indicator by nationality and no flows. Import a "
                "survey round or compute the census indicators by nationality first; no "
                "profile was written."
            ).format(city=city, period=period)
        )
    result = ReportResult(None, None, None, None, built.recommendations, built.timings)
    started = time.perf_counter()
    progress(_("Writing {file}").format(file=out.name), 2, steps)
    if out.suffix.lower() == ".pdf":
        result.pages = to_pdf(page, out)
        result.pdf = out
        built.timings["pdf"] = time.perf_counter() - started
    else:
        try:
            out.write_text(page, encoding="utf-8")
        except OSError as error:
            raise ReportError(str(error)) from None
        result.html = out
    if annex_path is not None and built.annex:
        progress(_("Writing {file}").format(file=annex_path.name), 3, steps)
        started = time.perf_counter()
        doc = built.document
        result.annex = write_annex(
            built.annex,
            annex_path,
            {
                "report": doc.title,
                "city": doc.city_name,
                "period": doc.period_label,
                "language": doc.language,
                "generated": doc.generated,
                "synthetic": "yes" if doc.synthetic else "no",
            },
        )
        built.timings["annex"] = time.perf_counter() - started
    result.timings = built.timings
    progress(_("Report written"), steps, steps)
    return result


def _about_migrants(annex: dict[str, pd.DataFrame]) -> bool:
    """Whether a profile's tables hold any figure about refugees and migrants."""
    return any(
        name in annex and not annex[name].empty for name in ("hfs_figures", "rights_gaps", "flows")
    )


def profile(
    engine: Engine,
    city: str,
    period: str,
    out: str | Path,
    language: str = "es",
    annex: bool = True,
    **options,
) -> ReportResult:
    """Write the Human Mobility Profile (PDF or HTML by the file's extension) and its annex."""
    return _write("profile", engine, city, period, out, language, annex, **options)


def marker_report(
    engine: Engine,
    city: str,
    period: str,
    out: str | Path,
    language: str = "es",
    annex: bool = True,
    **options,
) -> ReportResult:
    """Write the UIM city report."""
    return _write("marker", engine, city, period, out, language, annex, **options)


def factsheets(
    engine: Engine,
    city: str,
    period: str,
    out: str | Path,
    language: str = "es",
    annex: bool = False,
    **options,
) -> ReportResult:
    """Write one fact sheet page per unit."""
    return _write("factsheets", engine, city, period, out, language, annex, **options)


def recommendations_draft(
    engine: Engine, city: str, period: str, out: str | Path, language: str = "es", **options
) -> list[Recommendation]:
    """Evaluate the rule catalogue for a city and write the result as an editable draft."""
    _page, built = _html(engine, "profile", city, period, language, **options)
    title = _(
        "Recommendations for {city}, {period}: edit or delete items, then pass this "
        "file with --recommendations."
    ).format(city=built.document.city_name, period=built.document.period_label)
    write_draft(built.recommendations, out, title)
    return built.recommendations


__all__ = [
    "DEFAULT_CATALOGUE",
    "CityData",
    "Recommendation",
    "ReportError",
    "ReportResult",
    "factsheets",
    "load_city_data",
    "marker_report",
    "profile",
    "recommend",
    "recommendations_draft",
    "render_factsheets_html",
    "render_marker_html",
    "render_profile_html",
]
