"""How big each demo city is: people, blocks and how blocks group into barrios and localidades."""

from __future__ import annotations

from dataclasses import dataclass

from inclusive_cities.demo.errors import DemoError
from inclusive_cities.i18n import gettext as _


@dataclass(frozen=True)
class SizeSpec:
    """Targets for one size; the generated totals land near them, not exactly on them."""

    name: str
    persons: int
    blocks: int
    blocks_per_barrio: int
    barrios_per_localidad: int
    informal_settlements: int
    chunk_persons: int = 250_000


SIZES: dict[str, SizeSpec] = {
    # "tiny" is internal: it keeps unit tests fast.
    "tiny": SizeSpec("tiny", 3_000, 70, 12, 3, 1),
    "small": SizeSpec("small", 20_000, 260, 18, 4, 2),
    "medium": SizeSpec("medium", 500_000, 4_500, 30, 14, 5),
    "large": SizeSpec("large", 5_000_000, 30_000, 40, 38, 10),
}
PUBLIC_SIZES: tuple[str, ...] = ("small", "medium", "large")


def size_spec(size: str) -> SizeSpec:
    """The spec for a size name, or a DemoError naming the sizes that exist."""
    try:
        return SIZES[size]
    except KeyError:
        raise DemoError(
            _("Unknown demo city size '{size}': use one of {choices}.").format(
                size=size, choices=", ".join(PUBLIC_SIZES)
            )
        ) from None
