"""Keep the translation catalogues complete: find messages in the code, find what is missing.

    python -m inclusive_cities.i18n.catalogues check
    python -m inclusive_cities.i18n.catalogues update DOMAIN PATH [PATH ...]
    python -m inclusive_cities.i18n.catalogues fill DOMAIN LANGUAGE TRANSLATIONS.json

``update`` adds the messages found in PATHs to ``<domain>.po`` for every language, keeping
existing translations and every message the domain already has; English
entries are filled with the message itself, Spanish ones are left empty for a person to
translate (``check`` lists them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

from inclusive_cities.i18n import LOCALES_DIR, SUPPORTED_LANGUAGES, catalogue

PACKAGE_DIR = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None}


def extract_messages(paths: Iterable[Path] = (PACKAGE_DIR,)) -> dict[str, str]:
    """msgid -> "file:line" of its first use, for every translatable literal under paths."""
    found: dict[str, str] = {}
    for path in paths:
        if path.is_dir():
            entries = (
                (str(path / name), lineno, message)
                for name, lineno, message, *_ in extract_from_dir(
                    path, method_map=[("**.py", "python")], keywords=KEYWORDS
                )
            )
        else:
            entries = (
                (str(path), lineno, message)
                for lineno, message, *_ in extract_from_file("python", path, keywords=KEYWORDS)
            )
        for where, lineno, message in entries:
            if isinstance(message, str) and message:
                found.setdefault(message, f"{where}:{lineno}")
    return found


def missing_translations(language: str, paths: Iterable[Path] = (PACKAGE_DIR,)) -> dict[str, str]:
    translated = catalogue(language)
    return {m: where for m, where in extract_messages(paths).items() if m not in translated}


def update_domain(domain: str, paths: list[Path]) -> None:
    """Add the messages of ``paths`` to the domain, keeping every message it already has.

    Several people add strings to one domain from different files (and from templates and
    CLI help, which this scan does not read), so an update never drops a message.
    """
    existing: set[str] = set()
    target = LOCALES_DIR / "en" / "LC_MESSAGES" / f"{domain}.po"
    if target.exists():
        with target.open("rb") as handle:
            existing = {
                m.id for m in read_po(handle, domain=domain) if isinstance(m.id, str) and m.id
            }
    write_domain(domain, set(extract_messages(paths)) | existing)


def write_domain(domain: str, messages: Iterable[str]) -> None:
    """Make ``<domain>.po`` hold exactly ``messages``, keeping existing translations."""
    for language in SUPPORTED_LANGUAGES:
        target = LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po"
        target.parent.mkdir(parents=True, exist_ok=True)
        existing = Catalog(locale=language, domain=domain)
        if target.exists():
            with target.open("rb") as handle:
                existing = read_po(handle, locale=language, domain=domain)
        updated = Catalog(locale=language, domain=domain, project="inclusive-cities")
        for message in sorted(messages):
            old = existing.get(message)
            text = old.string if old is not None and old.string else ""
            if language == "en" and not text:
                text = message
            updated.add(message, text)
        with target.open("wb") as handle:
            write_po(handle, updated, width=100, omit_header=False, sort_output=True)


def fill_domain(domain: str, language: str, translations: dict[str, str]) -> list[str]:
    """Set translations in ``<domain>.po``; returns the messages that are not in it."""
    target = LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    with target.open("rb") as handle:
        po = read_po(handle, locale=language, domain=domain)
    unknown = []
    for message, text in translations.items():
        entry = po.get(message)
        if entry is None:
            unknown.append(message)
        else:
            entry.string = text
    with target.open("wb") as handle:
        write_po(handle, po, width=100, sort_output=True)
    return unknown


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        missing = {lang: missing_translations(lang) for lang in SUPPORTED_LANGUAGES}
        for language, entries in missing.items():
            for message, where in sorted(entries.items(), key=lambda item: item[1]):
                print(f"{language}\t{where}\t{message}")
        return 1 if any(missing.values()) else 0
    if len(argv) >= 3 and argv[0] == "update":
        update_domain(argv[1], [Path(p) for p in argv[2:]])
        return 0
    if len(argv) == 4 and argv[0] == "fill":
        import json

        translations = json.loads(Path(argv[3]).read_text(encoding="utf-8"))
        unknown = fill_domain(argv[1], argv[2], translations)
        for message in unknown:
            print(f"not in {argv[1]}.po: {message}")
        return 1 if unknown else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
