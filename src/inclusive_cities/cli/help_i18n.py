"""Translate the command line's help texts (docstrings and ``help=``) at run time.

Help strings stay plain English literals in the command modules; just before the command
runs, every command, group, option and argument of the tree has its help looked up in the
``cli_help`` catalogue of the chosen language. This keeps the command modules simple and
lets ``--lang`` change the help too.

Typer's and Click's own words ("Usage:", "Options", "[required]", "Missing option" …) come
from the ``cli_click`` catalogue: Typer looks its words up with ``gettext`` at run time
(:func:`localise_typer` and :func:`localise_rich_help` point that at ours); the Click
vendored in Typer writes English literals, so its usage prefix comes from a formatter
subclass and its errors are rewritten by :func:`usage_message`.

    python -m inclusive_cities.cli.help_i18n update   # refresh locales/*/cli_help.po
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import typer

try:  # Typer >= 0.22 vendors click
    from typer._click import exceptions as click_exceptions
    from typer._click.core import Command, Context
    from typer._click.formatting import HelpFormatter
except ImportError:  # pragma: no cover - older Typer depends on click itself
    from click import Command, Context, HelpFormatter  # type: ignore[assignment,no-redef]
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from inclusive_cities.i18n import gettext as _

HELP_ATTRIBUTES = ("help", "short_help")


class LocalisedHelpFormatter(HelpFormatter):
    """Click's help formatter with the usage line's prefix in the current language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)


class LocalisedContext(Context):
    """A context whose help and usage lines use :class:`LocalisedHelpFormatter`."""

    formatter_class = LocalisedHelpFormatter

    def get_help(self) -> str:
        localise_rich_help()  # Typer's rich help is only loaded when help is shown
        return super().get_help()


def _walk(command: Any) -> Iterator[Any]:
    yield command
    yield from getattr(command, "params", [])
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)


def help_messages(command: Any) -> set[str]:
    """Every help text of a command tree (what the catalogue must translate)."""
    return {
        text
        for item in _walk(command)
        for attribute in HELP_ATTRIBUTES
        if isinstance(text := getattr(item, attribute, None), str) and text.strip()
    }


def localise(command: Any) -> Any:
    """Replace help texts in place with their translation in the current language, and
    make Typer's and Click's own words follow it too."""
    localise_typer()
    for item in _walk(command):
        for attribute in HELP_ATTRIBUTES:
            text = getattr(item, attribute, None)
            if isinstance(text, str) and text.strip():
                setattr(item, attribute, _(text))
        if isinstance(item, Command):
            item.context_class = LocalisedContext
            if item.options_metavar == "[OPTIONS]":
                item.options_metavar = _("[OPTIONS]")
            if getattr(item, "subcommand_metavar", None) == "COMMAND [ARGS]...":
                item.subcommand_metavar = _("COMMAND [ARGS]...")  # type: ignore[attr-defined]
            # the --help option is made on first use and kept: make it now, translated
            option = item.get_help_option(LocalisedContext(item))
            if option is not None:
                option.help = _("Show this message and exit.")
        prompt = getattr(item, "prompt", None)
        if isinstance(prompt, str) and prompt:
            item.prompt = _(prompt)  # Typer makes it from the option's name ("Password")
        if getattr(item, "confirmation_prompt", None) is True:
            item.confirmation_prompt = _("Repeat for confirmation")
    return command


def localise_typer() -> None:
    """Point Typer's run-time ``gettext`` at the observatory's catalogues."""
    from typer import core

    core._ = _  # type: ignore[attr-defined]  # "Missing command.", "No such command …"


def localise_rich_help() -> None:
    """Translate the words Typer's rich help computed once at import (panel titles,
    ``[default: …]``). Called when help is shown, not before every command: importing
    ``typer.rich_utils`` (rich's markdown, tracebacks …) costs a tenth of a second."""
    from typer import rich_utils

    rich_utils._ = _  # type: ignore[attr-defined]
    rich_utils.DEPRECATED_STRING = _("(deprecated) ")
    rich_utils.DEFAULT_STRING = _("[default: {}]")
    rich_utils.ENVVAR_STRING = _("[env var: {}]")
    rich_utils.REQUIRED_LONG_STRING = _("[required]")
    rich_utils.ARGUMENTS_PANEL_TITLE = _("Arguments")
    rich_utils.OPTIONS_PANEL_TITLE = _("Options")
    rich_utils.COMMANDS_PANEL_TITLE = _("Commands")
    rich_utils.ERRORS_PANEL_TITLE = _("Error")
    rich_utils.ABORTED_TEXT = _("Aborted.")
    rich_utils.RICH_HELP = _("Try [blue]'{command_path} {help_option}'[/] for help.")
    usage = rf"(?P<usage>{re.escape(_('Usage: '))})"
    if usage not in rich_utils.OptionHighlighter.highlights:
        rich_utils.OptionHighlighter.highlights.append(usage)  # the usage line's colour


def typer_messages() -> list[str]:
    """Typer's words looked up through ``gettext`` at run time, for the catalogue."""
    return [
        _("Missing command."),
        _("No such command {name!r}."),
        _("Aborted!"),
        _("(dynamic)"),
        _("default: {default}"),
        _("env var: {var}"),
        _("required"),
        _("Password"),  # the prompt Typer makes from the --password option's name
    ]


def _detail_patterns() -> list[tuple[str, str]]:
    """English messages of the vendored Click and of Typer's value checks -> translation."""
    return [
        (
            r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)",
            _("Unexpected extra words: {args}."),
        ),
        (
            r"Option (?P<option>'[^']*') does not take a value\.",
            _("Option {option} does not take a value."),
        ),
        (
            r"Option (?P<option>'[^']*') requires an argument\.",
            _("Option {option} needs a value."),
        ),
        (
            r"Option (?P<option>'[^']*') requires (?P<count>\d+) arguments\.",
            _("Option {option} needs {count} values."),
        ),
        (
            r"Argument (?P<argument>'[^']*') takes (?P<count>\d+) values\.",
            _("Argument {argument} takes {count} values."),
        ),
        (r"Value (?P<value>.+) is not a valid (?P<kind>[\w.]+)\.", _("{value} is not valid.")),
        (r"(?P<value>.+) is not one of (?P<choices>.+)\.", _("{value} is not one of {choices}.")),
        (r"Value must be an iterable\.", _("Give one or more values.")),
        (r"\w+ (?P<path>'.*') does not exist\.", _("{path} does not exist.")),
        (r"\w+ (?P<path>'.*') is a file\.", _("{path} is a file; give a folder.")),
        (r"\w+ (?P<path>'.*') is a directory\.", _("{path} is a folder; give a file.")),
        (r"\w+ (?P<path>'.*') is not readable\.", _("{path} cannot be read.")),
        (r"\w+ (?P<path>'.*') is not writable\.", _("{path} cannot be written.")),
        (r"Input should be a valid integer.*", _("Give a whole number.")),
        (r"Input should be a valid number.*", _("Give a number.")),
        (r"Input should be a valid boolean.*", _("Give true or false.")),
        (r"Input should be .*", _("The value has the wrong form.")),
    ]


def _translate_detail(text: str) -> str:
    """One English message of Click or Typer in the current language (else unchanged)."""
    for pattern, template in _detail_patterns():
        match = re.fullmatch(pattern, text.strip(), flags=re.DOTALL)
        if match:
            return template.format(**match.groupdict())
    return text


def usage_message(error: click_exceptions.UsageError) -> str:
    """A usage error as one sentence in the current language, ending with its stop.

    The vendored Click builds these messages from English literals, so they are rebuilt
    here from the exception's own fields (which option, which value).
    """
    text = _usage_text(error).strip()
    return text if text.endswith((".", "?")) else text + "."


def _usage_text(error: click_exceptions.UsageError) -> str:
    if isinstance(error, click_exceptions.MissingParameter):
        param = error.param
        name = param.get_error_hint() if param is not None else str(error.param_hint or "")
        kind = error.param_type or (param.param_type_name if param is not None else "")
        if kind == "argument":
            text = _("Missing argument {name}.").format(name=name)
        else:
            text = _("Missing option {name}.").format(name=name)
        missing = param.get_missing_message(error.ctx) if param is not None else ""
        if missing and missing.startswith("Choose from:"):
            choices = ", ".join(part.strip(" ,\t") for part in missing.splitlines()[1:])
            text += " " + _("Choose from: {choices}.").format(choices=choices)
        return text
    if isinstance(error, click_exceptions.NoSuchOption):
        text = _("No such option: {name}.").format(name=error.option_name)
        if error.possibilities:
            text += " " + _("Did you mean {options}?").format(
                options=", ".join(sorted(error.possibilities))
            )
        return text
    if isinstance(error, click_exceptions.BadParameter):
        detail = _translate_detail(error.message)
        hint = error.param_hint
        if hint is None and error.param is not None:
            hint = error.param.get_error_hint()
        if hint is None:
            return _("Invalid value: {detail}").format(detail=detail)
        if not isinstance(hint, str):
            hint = " / ".join(repr(item) for item in hint)
        return _("Invalid value for {name}: {detail}").format(name=hint, detail=detail)
    text = error.format_message()
    suggestion = re.fullmatch(r"(?P<head>.*)\. Did you mean (?P<options>.+)\?", text, re.DOTALL)
    if suggestion:  # Typer appends this to "No such command" in English
        return (
            _translate_detail(suggestion["head"] + ".")
            + " "
            + _("Did you mean {options}?").format(options=suggestion["options"])
        )
    return _translate_detail(text)


def language_from_argv(argv: list[str]) -> str | None:
    """The value of ``--lang`` if given, so help can be translated before parsing."""
    for index, argument in enumerate(argv):
        if argument == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith("--lang="):
            return argument.split("=", 1)[1]
    return None


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        from inclusive_cities.cli import app
        from inclusive_cities.i18n.catalogues import write_domain  # Babel: only here

        write_domain("cli_help", help_messages(typer.main.get_command(app)))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
