"""The ``inclusive-cities`` command: thin wrappers that parse, call domains, print.

Every failure a user can cause ends as one translated line on stderr: exit status 2
for bad usage, 1 for anything else (``--verbose`` adds the traceback).
"""

from __future__ import annotations

import atexit
import gc
import io
import sys
import traceback

import typer

try:  # Typer >= 0.22 vendors click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older Typer depends on click itself
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from inclusive_cities.cli import (
    db,
    demo,
    disclosure,
    governance_report,  # noqa: F401  (adds 'report governance')
    indicators,
    ingest,
    marker,
    marker_uncertainty,
    mobility,
    programme_report,  # noqa: F401  (adds 'report programme')
    report,
    web,
)
from inclusive_cities.cli import governance as governance_cli
from inclusive_cities.cli import planning as planning_cli
from inclusive_cities.cli import programme as programme_cli
from inclusive_cities.cli import spatial as spatial_cli
from inclusive_cities.cli import survey as survey_cli
from inclusive_cities.cli import workshop as workshop_cli
from inclusive_cities.cli.app import app, environment_setting, state, version_line
from inclusive_cities.cli.help_i18n import language_from_argv, localise, usage_message
from inclusive_cities.cli.startup import light_text_options, only_what_runs
from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n import use_language

__all__ = ["app", "main"]

db.register(app)
disclosure.register(app)
survey_cli.register(app)
indicators.register(app)
spatial_cli.register(app)
marker.register(app)
marker_uncertainty.register(app)
demo.register(app)
ingest.register(app)
mobility.register(app)
report.register(app)
web.register(app)
planning_cli.register(app)
governance_cli.register(app)
workshop_cli.register(app)
programme_cli.register(app)


def _fail(message: str, code: int) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        _("Error: {message}").format(message=message), markup=False, style="bold red"
    )
    if state.verbose:
        traceback.print_exc()
    sys.exit(code)


def _lighter_exit() -> None:
    """At exit (an ``atexit`` handler): finish what the interpreter's own teardown would,
    then leave the objects still alive out of its garbage collections.

    Python's finalization collects the whole heap several times while it clears the modules:
    ≈0.5 s CPU after ``indicators compute`` on the medium demo (issue #21). Here the garbage
    is collected once, so unreachable cycles are finalized as before (their files flush, their
    database connections close); of the objects still alive, buffered files are flushed and
    SQLite connections closed (closing checkpoints the WAL into the database file and removes
    it, so a copy of the .db alone holds every commit), as their collection in the teardown
    did; then ``gc.freeze()`` leaves the rest to the operating system. Temporary directories
    are removed by their ``weakref.finalize``, which atexit runs in any case.

    The files are found by their concrete classes (``io``'s buffered writers and text
    wrappers, subclasses included): an ``isinstance`` against the ``io`` ABCs cost 0.15 s."""
    sqlite3 = sys.modules.get("sqlite3")  # not imported: no connection to close
    closing = (sqlite3.Connection,) if sqlite3 is not None else ()
    kinds = (io.BufferedWriter, io.BufferedRandom, io.TextIOWrapper, *closing)
    gc.collect()
    for found in gc.get_objects():
        if not isinstance(found, kinds):
            continue
        try:
            if closing and isinstance(found, closing):
                found.close()
            elif not found.closed:
                found.flush()
        except Exception:  # a broken pipe, a busy database …: exit anyway
            pass
    gc.freeze()


_EXIT_REGISTERED: list[bool] = []


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    if not _EXIT_REGISTERED:  # once per process, however often main() is called
        atexit.register(_lighter_exit)
        _EXIT_REGISTERED.append(True)
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["--version"]:  # what --version prints, without building every command
        typer.echo(version_line())
        return
    use_language(language_from_argv(arguments) or environment_setting("lang"))
    try:
        tree = typer.main.get_command(only_what_runs(app, arguments))
        command = light_text_options(localise(tree))
        result = command.main(args=arguments, prog_name="inclusive-cities", standalone_mode=False)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except typer.Abort:
        _fail(_("Aborted."), 1)
    except click_exceptions.NoArgsIsHelpError:
        sys.exit(2)  # the help was printed: a group called without a command
    except click_exceptions.UsageError as error:
        _fail(
            _("{problem} Run 'inclusive-cities --help' to see the commands and options.").format(
                problem=usage_message(error)
            ),
            2,
        )
    except InclusiveCitiesError as error:
        _fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        _fail(_("Interrupted: nothing was changed by the unfinished step."), 1)
    except Exception as error:
        from inclusive_cities.store.busy import is_busy

        if is_busy(error):
            _fail(
                _(
                    "The database is busy with another operation (a publish or an import still "
                    "running): nothing was changed; wait until it ends and run the command again."
                ),
                1,
            )
        _fail(
            _(
                "Unexpected error ({kind}: {detail}). Run again with --verbose and report it."
            ).format(
                kind=type(error).__name__, detail=str(error).splitlines()[0] if str(error) else ""
            ),
            1,
        )
    if isinstance(result, int) and result:
        sys.exit(result)


if __name__ == "__main__":  # pragma: no cover
    main()
