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
