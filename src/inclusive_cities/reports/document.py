"""The report as plain data (sections of blocks) that one template turns into HTML."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Figure:
    uri: str
    caption: str
    source: str
    wide: bool = False


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str
    source: str
    numeric: list[bool] = field(default_factory=list)
    small: bool = False


@dataclass
class KeyFigure:
    label: str
    value: str
    note: str = ""


@dataclass
class Block:
    kind: str  # p | h3 | figure | table | note | missing | keyfigures | items | columns
    content: object


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = True

    def p(self, text: str) -> None:
        self.blocks.append(Block("p", text))

    def h3(self, text: str) -> None:
        self.blocks.append(Block("h3", text))

    def figure(self, figure: Figure) -> None:
        self.blocks.append(Block("figure", figure))

    def table(self, table: Table) -> None:
        self.blocks.append(Block("table", table))

    def missing(self, text: str) -> None:
        self.blocks.append(Block("missing", text))

    def note(self, text: str) -> None:
        self.blocks.append(Block("note", text))

    def key_figures(self, figures: list[KeyFigure]) -> None:
        self.blocks.append(Block("keyfigures", figures))

    def items(self, items: list[tuple[str, str]]) -> None:
        """Numbered items with a badge (e.g. priority) and text."""
        self.blocks.append(Block("items", items))


@dataclass
class Document:
    kind: str
    language: str
    title: str
    subtitle: str
    city_name: str
    period_label: str
    generated: str
    synthetic: bool
    labels: dict[str, str]
    sections: list[Section] = field(default_factory=list)
    contents: bool = True
    cover_lines: list[str] = field(default_factory=list)
