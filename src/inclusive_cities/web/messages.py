"""Messages of the web's Jinja2 templates, for the web domain's catalogue.

The shared tool (``inclusive_cities.i18n.catalogues``) reads only Python files; this adds the
``_("…")`` calls of ``web/templates/**.html`` so pages are checked too. The catalogue tool that
also reads the help of the web's commands is ``python -m inclusive_cities.cli.web_messages``
(it lives with the command line: the web never imports it).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

WEB_DIR = Path(__file__).resolve().parent
DOMAIN = "web"


def template_messages() -> dict[str, str]:
    """msgid -> "file:line" for every ``_("…")`` in the templates."""
    found: dict[str, str] = {}
    for name, lineno, message, *_rest in extract_from_dir(
        WEB_DIR / "templates",
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "gettext": None},
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, f"templates/{name}:{lineno}")
    return found
