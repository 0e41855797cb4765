"""The web domain's catalogue: messages of its Python code, its Jinja2 templates and the help of
its commands (``serve``, ``publish``, ``users``).

    python -m inclusive_cities.cli.web_messages update   # refresh web.po in es and en
    python -m inclusive_cities.cli.web_messages missing  # list untranslated web messages

It lives with the command line because it reads the help of ``cli/web.py``, and the web never
imports the command line (``.importlinter``); the templates' part is ``web.messages``.
"""

from __future__ import annotations

import sys

from inclusive_cities.i18n import SUPPORTED_LANGUAGES, catalogue
from inclusive_cities.i18n.catalogues import extract_messages, write_domain
from inclusive_cities.web.messages import DOMAIN, WEB_DIR, template_messages

CLI_FILE = WEB_DIR.parent / "cli" / "web.py"


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
    """Make the web domain's catalogues hold exactly the web's messages (translations kept)."""
    write_domain(DOMAIN, all_messages())


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
