"""Documents to HTML (Jinja2) and PDF (WeasyPrint from the same HTML); annexes to XLSX."""

from __future__ import annotations

import base64
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


_INLINE_IMAGE = re.compile(r"data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=]+)")
_IMAGE_SCHEME = "report-image:"


def _lifted_images(html: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The page with each inline (base64) image replaced by a short ``report-image:N``
    reference, and the images (type, bytes). WeasyPrint's HTML parser reads a page's ~1 MB
    of base64 text character by character; the images themselves are the same bytes."""
    images: list[tuple[str, bytes]] = []

    def lift(match: re.Match[str]) -> str:
        images.append((match[1], base64.b64decode(match[2])))
        return f"{_IMAGE_SCHEME}{len(images) - 1}"

    return _INLINE_IMAGE.sub(lift, html), images


def to_pdf(html: str, out: str | Path) -> int:
    """Lay out the HTML as pages, write the PDF and return its number of pages."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    page, images = _lifted_images(html)

    class _Images(URLFetcher):  # the lifted images by number, anything else as WeasyPrint does
        def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
            if url.startswith(_IMAGE_SCHEME):
                kind, data = images[int(url[len(_IMAGE_SCHEME) :])]
                return URLFetcherResponse(url, data, {"Content-Type": kind})
            return super().fetch(url, headers)

    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        laid_out = HTML(string=page, base_url=str(TEMPLATES), url_fetcher=_Images()).render()
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
