"""Draw a workshop's problem tree as SVG: effects above, the central problem, causes below.

The drawing is one self-contained ``<svg>`` (inline styles, no scripts, no external fonts) so
that the web page shows it as it is and the workshop record PDF embeds the very same file.
Each subtree gets as much width as it has leaves, so branches never cross; every node is a
``<g class="node <kind>" id="node-<code>">`` and every edge a ``<line class="edge">`` with
``data-from`` (the child) and ``data-to`` (the node it hangs from), for tests and styling.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.workshops import TreeNode, WorkshopData

BOX_WIDTH = 190
LINE_HEIGHT = 15
MAX_LINES = 5
WRAP = 27
H_GAP = 24
V_GAP = 46
MARGIN = 24
LEGEND = 26
COLOURS = {
    "central": ("#8e1b1b", "#ffffff"),
    "cause": ("#fbe3c8", "#3d2a12"),
    "effect": ("#d7e7f5", "#12283d"),
}


@dataclass(frozen=True)
class Box:
    """Where a node is drawn (top-left corner, size) and how deep it is (0: central)."""

    x: float
    y: float
    width: float
    height: float
    depth: int

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


def _lines(node: TreeNode) -> list[str]:
    width = WRAP - 4 if node.kind == "central" else WRAP  # bold letters are wider
    lines = textwrap.wrap(" ".join(node.text.split()), width) or [""]
    if len(lines) > MAX_LINES:
        rest = " ".join(lines[MAX_LINES - 1 :])
        lines = [*lines[: MAX_LINES - 1], textwrap.shorten(rest, width, placeholder=" …")]
    return lines


def _height(node: TreeNode) -> float:
    return len(_lines(node)) * LINE_HEIGHT + 16


def tree_layout(workshop: WorkshopData) -> dict[str, Box]:
    """Boxes of every node: effects above the central problem, causes below it."""
    central = workshop.central()
    if central is None:
        return {}
    leaves: dict[str, int] = {}

    def count(node: TreeNode, kind: str) -> int:
        kids = [k for k in workshop.children(node.code) if k.kind == kind]
        leaves[f"{kind}:{node.code}"] = max(1, sum(count(k, kind) for k in kids))
        return leaves[f"{kind}:{node.code}"]

    width_units = max(count(central, "cause"), count(central, "effect"), 1)
    slot = BOX_WIDTH + H_GAP
    depth_of: dict[str, int] = {central.code: 0}
    x_of: dict[str, float] = {}

    def place(node: TreeNode, kind: str, left: float, depth: int) -> None:
        span = leaves[f"{kind}:{node.code}"] * slot
        if node.code != central.code:
            x_of[node.code] = left + span / 2
            depth_of[node.code] = depth
        cursor = left
        for kid in (k for k in workshop.children(node.code) if k.kind == kind):
            place(kid, kind, cursor, depth + 1)
            cursor += leaves[f"{kind}:{kid.code}"] * slot

    total = width_units * slot
    for kind in ("cause", "effect"):
        span = leaves[f"{kind}:{central.code}"] * slot
        place(central, kind, MARGIN + (total - span) / 2, 0)
    x_of[central.code] = MARGIN + total / 2
    heights = {n.code: _height(n) for n in workshop.nodes if n.code in depth_of}
    effect_depth = max((depth_of[n.code] for n in workshop.nodes if n.kind == "effect"), default=0)
    cause_depth = max((depth_of[n.code] for n in workshop.nodes if n.kind == "cause"), default=0)
    # one row per signed depth: -effect_depth … -1 (effects), 0 (central), 1 … cause_depth
    rows = list(range(-effect_depth, cause_depth + 1))
    row_height = {r: 0.0 for r in rows}
    for node in workshop.nodes:
        if node.code in depth_of:
            r = -depth_of[node.code] if node.kind == "effect" else depth_of[node.code]
            row_height[r] = max(row_height[r], heights[node.code])
    top: dict[int, float] = {}
    y: float = MARGIN + LEGEND
    for r in rows:
        top[r] = y
        y += row_height[r] + V_GAP
    boxes = {}
    for node in workshop.nodes:
        if node.code not in depth_of:
            continue
        depth = depth_of[node.code]
        r = -depth if node.kind == "effect" else depth
        boxes[node.code] = Box(
            x=x_of[node.code] - BOX_WIDTH / 2,
            y=top[r] + (row_height[r] - heights[node.code]) / 2,
            width=BOX_WIDTH,
            height=heights[node.code],
            depth=depth,
        )
    return boxes


def tree_svg(workshop: WorkshopData, lang: str = "es") -> str:
    """The problem tree as a standalone SVG document (string)."""
    boxes = tree_layout(workshop)
    title = _("Problem tree", lang) + (f" — {workshop.title}" if workshop.title else "")
    empty = _("This workshop has no problem tree.", lang)
    legend = _("Effects above, causes below the central problem.", lang)
    if not boxes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="420" height="60" role="img">'
            f"<title>{escape(title)}</title>"
            '<text x="10" y="35" font-family="sans-serif" font-size="14">'
            f"{escape(empty)}</text></svg>"
        )
    width = max(b.x + b.width for b in boxes.values()) + MARGIN
    height = max(b.y + b.height for b in boxes.values()) + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" font-family="DejaVu Sans, '
        'Arial, sans-serif" class="problem-tree">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        f'<text x="{MARGIN}" y="{MARGIN + 4}" font-size="12" fill="#444">{escape(legend)}</text>',
    ]
    by_code = {n.code: n for n in workshop.nodes}
    for code, box in boxes.items():
        node = by_code[code]
        if not node.parent or node.parent not in boxes:
            continue
        parent = boxes[node.parent]
        if node.kind == "effect":  # from the problem up to its effect
            x1, y1, x2, y2 = parent.centre, parent.y, box.centre, box.y + box.height
        else:  # from the cause up to what it causes
            x1, y1, x2, y2 = box.centre, box.y, parent.centre, parent.y + parent.height
        parts.append(
            f'<line class="edge" data-from={quoteattr(code)} data-to={quoteattr(node.parent)} '
            f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#555" '
            'stroke-width="1.4" marker-end="url(#arrow)"/>'
        )
    kinds = {
        "central": _("central problem", lang),
        "cause": _("cause", lang),
        "effect": _("effect", lang),
    }
    for code, box in boxes.items():
        node = by_code[code]
        fill, ink = COLOURS[node.kind]
        links = ", ".join([*node.indicators, *node.units, *node.areas, *node.dimensions])
        tooltip = f"{code} ({kinds[node.kind]}): {node.text}" + (f" [{links}]" if links else "")
        parts.append(
            f'<g class="node {node.kind}" id={quoteattr("node-" + code)} '
            f"data-code={quoteattr(code)} data-parent={quoteattr(node.parent or '')}>"
            f"<title>{escape(tooltip)}</title>"
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.0f}" '
            f'height="{box.height:.0f}" rx="8" fill="{fill}" stroke="#444" stroke-width="1"/>'
        )
        for i, line in enumerate(_lines(node)):
            y = box.y + 8 + LINE_HEIGHT * (i + 1) - 3
            weight = ' font-weight="bold"' if node.kind == "central" else ""
            parts.append(
                f'<text x="{box.centre:.1f}" y="{y:.1f}" font-size="12" text-anchor="middle" '
                f'fill="{ink}"{weight}>{escape(line)}</text>'
            )
        if node.indicators:
            linked = _("Linked to evidence: {codes}", lang).format(codes=links)
            parts.append(
                f'<circle cx="{box.x + box.width - 9:.1f}" cy="{box.y + 9:.1f}" r="4" '
                'fill="#1b7e3c"><title>'
                f"{escape(linked)}"
                "</title></circle>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)
