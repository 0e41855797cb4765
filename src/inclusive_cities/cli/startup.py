"""Keep pydantic out of parsing text options (issue #21: CLI start-up).

Typer 0.29 coerces every non-flag option value through a pydantic ``TypeAdapter``, built
the first time the option is processed, even when its value is ``None``. The root options
``--database`` and ``--lang`` are processed before any subcommand, so a subcommand's
``--help`` imported pydantic (≈0.1 s) only to hand back the text it was given (and a
group's ``--help`` flag, unset, as ``None``). A text option's value from the command line
or the environment is already a ``str`` and a flag's a ``bool``: it is kept as it is, and
anything else still goes through Typer's own coercion.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

try:  # Typer >= 0.29: lazily built coercion per parameter
    from typer._click import Context
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # pragma: no cover - other Typer versions coerce without pydantic
    RuntimeParam = None  # type: ignore[assignment,misc]


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _PlainParam(RuntimeParam):
        """A ``str`` or ``bool`` option: a value of that type stays as it is (``None`` never
        reaches here); any other value takes Typer's own path."""

        descriptor: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if type(value) is self.annotation:
                return value
            return build_runtime_param(self.descriptor)._coerce_value(value, param, ctx)


def _plain(parameter: Any) -> bool:
    descriptor = getattr(parameter, "type_descriptor", None)
    if descriptor is None or getattr(parameter, "_runtime_param", False) is not None:
        return False
    info = descriptor.parameter_info
    return (
        descriptor.annotation in (str, bool)
        and descriptor.file_annotation is None
        and getattr(info, "parser", None) is None
        and getattr(info, "click_type", None) is None
        and not getattr(parameter, "multiple", False)
        and getattr(parameter, "nargs", 1) == 1
    )


def light_text_options(command: Any) -> Any:
    """Give every plain ``str``/``bool`` option of the tree a coercion without pydantic."""
    if RuntimeParam is None:  # pragma: no cover
        return command
    subcommands = getattr(command, "commands", {})
    for sub in subcommands.values():
        light_text_options(sub)
    parameters = list(command.params)
    if subcommands:  # a group's --help option is processed (as None) before its subcommand's
        help_option = command.get_help_option(Context(command))
        parameters += [help_option] if help_option is not None else []
    for parameter in parameters:
        if _plain(parameter):
            descriptor = parameter.type_descriptor
            parameter._runtime_param = _PlainParam(
                parameter_info=descriptor.parameter_info,
                annotation=descriptor.annotation,
                descriptor=descriptor,
            )
    return command


# the root callback's options that take a value (``-dURL`` and ``--lang=en`` carry theirs)
_VALUE_OPTIONS = frozenset({"--database", "-d", "--lang"})
_FLAG_OPTIONS = frozenset({"--verbose", "-v", "--quiet", "-q", "--version", "--help"})


def _first_command(arguments: list[str]) -> str | None:
    """The command or group named first on the command line, after the root options; ``""``
    when there is none (the top-level help), ``None`` when the line is not understood here
    (Click then parses it against the whole tree, and reports what is wrong)."""
    position = 0
    while position < len(arguments):
        argument = arguments[position]
        if argument in _VALUE_OPTIONS:
            position += 2
        elif argument in _FLAG_OPTIONS or argument.startswith(("--database=", "--lang=")):
            position += 1
        elif argument.startswith("-d") and not argument.startswith("--"):
            position += 1  # -dsqlite:///…
        elif argument.startswith("-"):
            return None  # -vq, a typo …: the whole tree
        else:
            return argument
    return ""


def _shell(typer_instance: Any) -> Any:
    """A copy of a group's Typer without its commands: enough for the group's line in the
    top-level help (its name and help), without building its commands' parameters."""
    shell = copy.copy(typer_instance)
    shell.registered_commands = []
    shell.registered_groups = []
    return shell


def _shell_info(info: Any) -> Any:
    shell = copy.copy(info)
    shell.typer_instance = _shell(info.typer_instance)
    return shell


def only_what_runs(app: Any, arguments: list[str]) -> Any:
    """The part of the command tree that ``arguments`` can reach (issue #21: CLI start-up).

    Typer builds every command's Click parameters from its signature before parsing, about
    a hundred commands, though one line runs one of them. The root's callback and options
    are kept; of its commands and groups only the one named first is kept whole; the
    top-level help keeps every group as a shell (name and help, no commands). A line this
    cannot read, or a name that is not a command, gets the whole tree, so Click's messages
    (unknown command, suggestions) are the ones it always gave.
    """
    from typer.main import get_command_name

    first = _first_command(arguments)
    if first is None or not all(isinstance(info.name, str) for info in app.registered_groups):
        return app
    pruned = copy.copy(app)
    if first == "":
        pruned.registered_groups = [_shell_info(info) for info in app.registered_groups]
        return pruned
    groups = [info for info in app.registered_groups if info.name == first]
    commands = [
        info
        for info in app.registered_commands
        if (info.name or get_command_name(info.callback.__name__)) == first
    ]
    if len(groups) + len(commands) != 1:
        return app
    pruned.registered_groups = groups
    pruned.registered_commands = commands
    return pruned
