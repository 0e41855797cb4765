"""Translations for every user-facing string (Spanish and English).

Messages are written in English in the code and looked up in gettext catalogues,
one ``.po`` file per domain (``locales/<lang>/LC_MESSAGES/<domain>.po``, merged at
run time). They are read with Babel directly so that the ``.po`` files are the
single source of truth: no compiled ``.mo`` file can drift from them.

    >>> from inclusive_cities.i18n import gettext as _, use_language
    >>> use_language("es")
    >>> _("Observatory database is ready at {url}").format(url="sqlite:///x.db")
    'La base de datos del observatorio está lista en sqlite:///x.db'
"""

from __future__ import annotations

import hashlib
import json
import os
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path

SUPPORTED_LANGUAGES: tuple[str, ...] = ("es", "en")
DEFAULT_LANGUAGE = "es"
LOCALES_DIR = Path(__file__).with_name("locales")

_current: ContextVar[str | None] = ContextVar("inclusive_cities_language", default=None)


def normalise_language(value: str | None) -> str | None:
    """Turn ``es_CO.UTF-8``, ``EN`` or ``en-GB`` into a supported code, else None."""
    if not value:
        return None
    code = value.replace("-", "_").split("_")[0].split(".")[0].lower()
    return code if code in SUPPORTED_LANGUAGES else None


def detect_language() -> str:
    """The language asked for by INCLUSIVE_CITIES_LANG, else the locale, else Spanish.

    Python's ``locale.getlocale()`` is not consulted: it reports the neutral C locale as
    ``en_US``, which would turn a server's default into English.
    """
    for candidate in (
        os.environ.get("INCLUSIVE_CITIES_LANG"),
        os.environ.get("LC_ALL"),
        os.environ.get("LC_MESSAGES"),
        os.environ.get("LANG"),
    ):
        language = normalise_language(candidate)
        if language:
            return language
    return DEFAULT_LANGUAGE


def use_language(language: str | None) -> str:
    """Select the language for this context (thread, task); returns the code used."""
    chosen = normalise_language(language) or detect_language()
    _current.set(chosen)
    return chosen


def current_language() -> str:
    return _current.get() or detect_language()


@cache
def catalogue(language: str) -> dict[str, str]:
    """msgid -> translated text for one language (empty translations are left out).

    Parsing every ``.po`` file costs about a third of a second, which every command (and
    ``--help``) would pay; the merged result is kept in the user's cache folder, keyed by
    the name, size and modification time of each ``.po`` file, so an edited catalogue is
    read again and the ``.po`` files stay the single source of truth.
    """
    paths = sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po"))
    fingerprint = [[path.name, path.stat().st_size, path.stat().st_mtime_ns] for path in paths]
    cached = _cache_file(language)
    try:
        stored = json.loads(cached.read_text(encoding="utf-8"))
        if stored["fingerprint"] == fingerprint:
            return dict(stored["messages"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, unreadable or from other files: parse the catalogues
    merged = _parse_catalogues(language, paths)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        partial.write_text(
            json.dumps({"fingerprint": fingerprint, "messages": merged}, ensure_ascii=False),
            encoding="utf-8",
        )
        os.replace(partial, cached)  # atomic: parallel processes never read half a file
    except OSError:
        pass  # a read-only home: parse again next time
    return merged


def _cache_file(language: str) -> Path:
    """Where the merged catalogue of this installation's ``locales`` is cached."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(LOCALES_DIR.resolve()).encode()).hexdigest()[:16]
    return root / "inclusive-cities" / f"catalogue-{language}-{key}.json"


def _parse_catalogues(language: str, paths: list[Path]) -> dict[str, str]:
    from babel.messages.pofile import read_po

    merged: dict[str, str] = {}
    for path in paths:
        with path.open("rb") as handle:
            po = read_po(handle, locale=language)
        merged.update(
            (str(message.id), str(message.string))
            for message in po
            if message.id and isinstance(message.id, str) and message.string
        )
    return merged


def gettext(message: str, language: str | None = None) -> str:
    """Translate ``message`` into ``language`` (default: the current one)."""
    return catalogue(language or current_language()).get(message, message)


def format_number(value: float, digits: int = 0, language: str | None = None) -> str:
    """1,234.5 in English, 1.234,5 in Spanish (as written in Colombia, Peru, Ecuador); a
    value that rounds to zero has no sign ("-0,0" beside a change of -0.04 read as a typo)."""
    text = f"{value:,.{digits}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]
    if (language or current_language()) == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_day(value: date | None, language: str | None = None) -> str:
    """A date as people write it: 30/6/2024 in Spanish, 30 Jun 2024 in English (never the
    ISO form inside a sentence: trial #4 F5)."""
    if value is None:
        return "—"
    if (language or current_language()) == "es":
        return f"{value.day}/{value.month}/{value.year}"
    return f"{value.day} {value.strftime('%b')} {value.year}"


_ = gettext

__all__ = [
    "DEFAULT_LANGUAGE",
    "SUPPORTED_LANGUAGES",
    "_",
    "catalogue",
    "current_language",
    "detect_language",
    "format_day",
    "format_number",
    "gettext",
    "normalise_language",
    "use_language",
]
