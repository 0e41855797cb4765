"""The progress callback every long step takes (importers, indicators, marker, spatial, reports).

Domains call ``progress(step, done, total)`` with a translated step text, the steps done
and their total (None when unknown). They know nothing of how it is shown: the command line
draws a rich bar (:mod:`inclusive_cities.cli.progress`), the web stores it on the job.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[str, int, "int | None"], None]
"""``progress(step, done, total)``: called during long steps (total None when unknown)."""


def quiet_progress(_step: str, _done: int, _total: int | None) -> None:
    """The progress callback used when the caller gives none."""
