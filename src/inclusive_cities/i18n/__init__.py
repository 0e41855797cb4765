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

import os
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

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
    """msgid -> translated text for one language (empty translations are left out)."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")):
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
    """1,234.5 in English, 1.234,5 in Spanish (as written in Colombia, Peru, Ecuador)."""
    text = f"{value:,.{digits}f}"
    if (language or current_language()) == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


_ = gettext

__all__ = [
    "DEFAULT_LANGUAGE",
    "SUPPORTED_LANGUAGES",
    "_",
    "catalogue",
    "current_language",
    "detect_language",
    "format_number",
    "gettext",
    "normalise_language",
    "use_language",
]
