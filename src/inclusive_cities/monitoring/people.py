"""People counted by the programme's deliveries: how their sex and nationality are written, and
the disclosure rule for publishing counts of them beside their total.

Shared by the trainings and the entrepreneurs (both record people one by one and publish only
protected counts).
"""

from __future__ import annotations

from inclusive_cities.disclosure import Rules, control_enabled

SEX_NAMES: dict[str, tuple[str, ...]] = {
    "female": ("mujer", "f", "femenino", "woman"),
    "male": ("hombre", "m", "masculino", "man"),
    "other": ("otro", "otra", "no binario"),
    "unknown": ("sin dato", "desconocido", "prefiere no decir"),
}
NATIONALITY_NAMES: dict[str, tuple[str, ...]] = {
    "host": ("comunidad de acogida", "acogida", "nacional", "host community"),
    "refugee_migrant": (
        "refugiado o migrante",
        "refugiada o migrante",
        "migrante",
        "refugiado",
        "refugee",
        "migrant",
        "refugee or migrant",
    ),
    "unknown": ("sin dato", "desconocida", "desconocido"),
}


def protect_counts(cells: dict[str, int], rules: Rules | None = None) -> dict[str, int | None]:
    """Counts of people safe to publish beside their total: a cell of 1 to threshold-1 people
    is hidden (None), and when only one cell of the partition is hidden the next smallest is
    hidden too, so the total minus the others cannot give it back (docs/disclosure.md)."""
    if not control_enabled():
        return dict(cells)
    threshold = (rules or Rules()).threshold
    shown: dict[str, int | None] = dict(cells)
    hidden = [key for key, count in cells.items() if 0 < count < threshold]
    for key in hidden:
        shown[key] = None
    if len(hidden) == 1:
        others = sorted(
            (count, key) for key, count in cells.items() if key not in hidden and count > 0
        )
        if others:
            shown[others[0][1]] = None
    return shown
