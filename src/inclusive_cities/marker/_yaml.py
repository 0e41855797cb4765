"""Read YAML while remembering the line of every value, so spec errors can point at it.

PyYAML's ``compose`` keeps a start mark on each node; we build plain Python data from
the node graph and a dictionary ``path -> line`` beside it (paths are tuples of keys
and list indices, as in pydantic's error locations).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.errors import MarkerSpecError

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("tree", "children", 0, "weight")`` -> ``tree.children[0].weight``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(top)"


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Path, int] = {}
        self._scalars = SafeConstructor()
        self._active: set[int] = set()

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if id(node) in self._active:
            raise MarkerSpecError(
                _(
                    "{source}:{line}: {path}: the tree refers back to one of its own ancestors "
                    "(a cycle through a YAML alias); give each node its own entry."
                ).format(source=self.source, line=node.start_mark.line + 1, path=format_path(path)),
                format_path(path),
                node.start_mark.line + 1,
            )
        if isinstance(node, yaml.MappingNode):
            self._active.add(id(node))
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node)
                if key == "<<":
                    raise MarkerSpecError(
                        _(
                            "{source}:{line}: YAML merge keys ('<<') are not supported in specs; "
                            "write the fields out."
                        ).format(source=self.source, line=key_node.start_mark.line + 1)
                    )
                key = str(key)
                if key in result:
                    raise MarkerSpecError(
                        _(
                            "{source}:{line}: {path}: the key '{key}' appears twice; keep one."
                        ).format(
                            source=self.source,
                            line=key_node.start_mark.line + 1,
                            path=format_path(path),
                            key=key,
                        ),
                        format_path((*path, key)),
                        key_node.start_mark.line + 1,
                    )
                result[key] = self.build(value_node, (*path, key))
            self._active.discard(id(node))
            return result
        if isinstance(node, yaml.SequenceNode):
            self._active.add(id(node))
            items = [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            self._active.discard(id(node))
            return items
        return self._scalars.construct_object(node)


def load_with_lines(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text; return the data and the 1-based line of every path in it."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise MarkerSpecError(
            _(
                "{source}:{line}: this is not valid YAML ({problem}); check the indentation and "
                "quoting there."
            ).format(source=source, line=line, problem=problem),
            "",
            line,
        ) from error
    if node is None:
        raise MarkerSpecError(_("{source}: the spec file is empty.").format(source=source))
    builder = _Builder(source)
    return builder.build(node, ()), builder.lines


def line_for(lines: dict[Path, int], data: Any, loc: tuple[Any, ...]) -> tuple[Path, int | None]:
    """The deepest real path in ``data`` along a pydantic error location, and its line.

    Pydantic adds entries that are not keys of the input (union tags, validator names);
    those are skipped.
    """
    path: Path = ()
    current = data
    for part in loc:
        in_dict = isinstance(current, dict) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            current = current[part]
            path = (*path, part)
    return path, lines.get(path)
