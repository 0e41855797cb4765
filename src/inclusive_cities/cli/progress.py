"""The one progress bar of the command line: what it is doing, how far, elapsed time.

Domain functions take an optional ``progress(step, done, total)`` callback
(:data:`inclusive_cities.progress.ProgressCallback`; ``total`` None when unknown) and
know nothing of rich. Commands wrap their long call in :func:`progress_bar` and pass
the callback it yields. The bar is drawn on stderr and left out with ``--quiet`` or when
stderr is not a terminal (a pipe, a log file, a CI job), so output stays clean there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from inclusive_cities.cli.app import state
from inclusive_cities.i18n import gettext as _
from inclusive_cities.progress import ProgressCallback, quiet_progress

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["ProgressCallback", "progress_bar"]


@contextmanager
def progress_bar(
    description: str = "", console: Console | None = None
) -> Iterator[ProgressCallback]:
    """Yield a ``progress(step, done, total)`` callback drawing a transient rich bar."""
    from rich.console import Console

    console = console or Console(stderr=True)
    if state.quiet or not console.is_terminal:
        yield quiet_progress
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description or _("Starting"), total=None)

        def update(step: str, done: int, total: int | None) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield update
