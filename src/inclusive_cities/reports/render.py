"""Documents to HTML (Jinja2) and PDF (WeasyPrint from the same HTML); annexes to XLSX."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from inclusive_cities.i18n import gettext as _
from inclusive_cities.reports.document import Document
from inclusive_cities.reports.errors import ReportError

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))


def to_html(document: Document) -> str:
    """A self-contained HTML page (images inline) for the browser and for WeasyPrint."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    running = f"{document.title} · {document.city_name} · {document.period_label}"
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            doc=document,
            t=document.labels,
            css=css,
            running=_css_string(running),
            banner=_css_string(document.labels["synthetic_banner"]),
        )
    )


def _css_string(text: str) -> str:
    """Text safe inside a CSS string in a <style> element."""
    return "".join(ch if ch.isalnum() or ch in " ·,.-()–" else f"\\{ord(ch):x} " for ch in text)


def to_pdf(html: str, out: str | Path) -> int:
    """Lay out the HTML as pages, write the PDF and return its number of pages."""
    from weasyprint import HTML

    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        laid_out = HTML(string=html, base_url=str(TEMPLATES)).render()
        laid_out.write_pdf(out)
    except OSError as error:
        raise ReportError(
            _("Cannot write {path} ({reason}); choose another --out.").format(
                path=out, reason=error.strerror or error
            )
        ) from None
    return len(laid_out.pages)


def write_annex(tables: dict[str, pd.DataFrame], out: str | Path, about: dict[str, str]) -> Path:
    """The report's figures as an XLSX workbook: an 'about' sheet, then one sheet per table."""
    out = Path(out)
    try:
        with pd.ExcelWriter(out, engine="openpyxl") as writer:
            pd.DataFrame(list(about.items()), columns=["field", "value"]).to_excel(
                writer, sheet_name="about", index=False
            )
            for name, frame in tables.items():
                sheet = re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
                clean = pd.DataFrame(frame).copy()
                if "geometry" in clean:
                    clean = clean.drop(columns=["geometry"])
                clean.to_excel(writer, sheet_name=sheet, index=False)
    except OSError as error:
        raise ReportError(
            _("Cannot write {path} ({reason}); choose another --out.").format(
                path=out, reason=error.strerror or error
            )
        ) from None
    return out
