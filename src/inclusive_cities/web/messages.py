"""The web domain's catalogue: messages of its Python code and of its Jinja2 templates.

    python -m inclusive_cities.web.messages update   # refresh web.po in es and en
    python -m inclusive_cities.web.messages missing  # list untranslated template messages

The shared tool (``inclusive_cities.i18n.catalogues``) reads only Python files; this one
adds the ``_("…")`` calls of ``web/templates/**.html`` so pages are checked too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from inclusive_cities.i18n import LOCALES_DIR, SUPPORTED_LANGUAGES, catalogue
from inclusive_cities.i18n.catalogues import extract_messages

WEB_DIR = Path(__file__).resolve().parent
CLI_FILE = WEB_DIR.parent / "cli" / "web.py"
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


def cli_help_texts() -> dict[str, str]:
    """Help texts of ``serve``, ``publish`` and ``users`` (translated at run time like the
    rest of the command line's help, see ``inclusive_cities.cli.help_i18n``)."""
    import typer

    from inclusive_cities.cli import web as cli_web
    from inclusive_cities.cli.help_i18n import help_messages

    app = typer.Typer(add_completion=False)
    cli_web.register(app)
    return {text: "cli/web.py (help)" for text in help_messages(typer.main.get_command(app))}


def all_messages() -> dict[str, str]:
    paths = [WEB_DIR] + ([CLI_FILE] if CLI_FILE.exists() else [])
    return {**cli_help_texts(), **template_messages(), **extract_messages(paths)}


def missing(language: str) -> dict[str, str]:
    known = catalogue(language)
    return {m: where for m, where in all_messages().items() if m not in known}


def update() -> None:
    messages = all_messages()
    for language in SUPPORTED_LANGUAGES:
        target = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        target.parent.mkdir(parents=True, exist_ok=True)
        existing = Catalog(locale=language, domain=DOMAIN)
        if target.exists():
            with target.open("rb") as handle:
                existing = read_po(handle, locale=language, domain=DOMAIN)
        updated = Catalog(locale=language, domain=DOMAIN, project="inclusive-cities")
        for message in sorted(messages):
            old = existing.get(message)
            text = old.string if old is not None and old.string else ""
            if language == "en" and not text:
                text = message
            updated.add(message, text)
        with target.open("wb") as handle:
            write_po(handle, updated, width=100, omit_header=False, sort_output=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update()
        return 0
    if argv[:1] == ["missing"]:
        gaps = {lang: missing(lang) for lang in SUPPORTED_LANGUAGES}
        for language, entries in gaps.items():
            for message, where in sorted(entries.items(), key=lambda item: item[1]):
                print(f"{language}\t{where}\t{message}")
        return 1 if any(gaps.values()) else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
