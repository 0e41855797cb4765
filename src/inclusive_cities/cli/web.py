"""``serve`` and ``users …``: run the web app, create the first accounts."""

from __future__ import annotations

import errno
import inspect
import os
import socket
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from inclusive_cities.cli.app import state
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from inclusive_cities.store import models

console = Console(highlight=False)
users_app = typer.Typer(help="Manage the accounts of the web admin area.", no_args_is_help=True)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for every one)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(
        1, min=1, help="Worker processes; they share nothing but the database."
    ),
    jobs: str = typer.Option(
        "",
        "--jobs",
        help="Who runs uploads and builds: queue (job workers, PostgreSQL's default) or "
        "in-process (SQLite's only choice).",
    ),
) -> None:
    """Serve the observatory: public pages, JSON API, OGC API – Features and admin area.

    Example: inclusive-cities --database sqlite:///observatory.db serve --port 8000
    """
    import uvicorn

    from inclusive_cities import store
    from inclusive_cities.config import get_basemap
    from inclusive_cities.web import queue
    from inclusive_cities.web.errors import WebError

    engine = store.connect(state.database_url)
    store.require_current(engine)
    postgres = engine.dialect.name == "postgresql"
    if workers > 1 and not postgres:
        raise WebError(
            _(
                "--workers {n} needs PostgreSQL: SQLite lets one process write at a time. Serve "
                "this store with one worker, or move it to PostgreSQL (docs/deployment.md)."
            ).format(n=workers)
        )
    runner = jobs or ("queue" if postgres else "in-process")
    if runner not in ("queue", "in-process"):
        raise WebError(_("--jobs {value}: choose queue or in-process.").format(value=jobs[:40]))
    if runner == "queue":
        queue.conninfo(state.database_url)  # SQLite: one line saying it needs no queue
        queue.install_schema(state.database_url)
    os.environ[queue.RUNNER_SETTING] = runner
    get_basemap()  # a bad basemap setting is one line now, not a traceback per worker
    from inclusive_cities.web.app import Site

    Site.from_settings()  # so are a bad public URL and trusted proxies
    check_port(host, port)
    os.environ["INCLUSIVE_CITIES_DATABASE_URL"] = state.database_url
    console.print(
        _("Serving the observatory at http://{host}:{port}/ (Ctrl+C to stop)").format(
            host=host, port=port
        )
    )
    if runner == "queue":
        console.print(
            _(
                "Uploads and builds are queued for job workers: run 'inclusive-cities worker' "
                "with the same database (one or more, on any machine)."
            )
        )
    options: dict[str, object] = {}
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        # the first request for a big layer builds its cache for tens of seconds while
        # holding the GIL; the default 5 s health check would kill such a worker
        options["timeout_worker_healthcheck"] = 120
    uvicorn.run(
        "inclusive_cities.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,  # the app believes X-Forwarded-* from trusted proxies only
        # longer than a reverse proxy's or a busy client's pause between two requests on one
        # connection: closing it just as the next request leaves is a "connection reset"
        timeout_keep_alive=75,
        **options,  # type: ignore[arg-type]
    )


def worker(
    concurrency: int = typer.Option(
        1, min=1, help="Jobs run at once by this worker (each in a thread)."
    ),
    heartbeat: float = typer.Option(
        10.0, min=0.2, help="Seconds between this worker's signs of life in the database."
    ),
    stalled_after: float = typer.Option(
        30.0,
        min=1.0,
        help="Seconds without signs of life after which a worker counts as dead and its "
        "job is run again or failed.",
    ),
    attempts: int = typer.Option(
        2, min=1, help="Runs of a job whose worker died before it is marked failed."
    ),
) -> None:
    """Run the background jobs (uploads, builds) that 'serve' queues on PostgreSQL.

    Example: inclusive-cities --database postgresql://obs@db/observatory worker
    """
    from inclusive_cities import store
    from inclusive_cities.web import queue

    queue.conninfo(state.database_url)  # SQLite: one line, serve runs its jobs itself
    engine = store.connect(state.database_url)
    store.require_current(engine)
    console.print(
        _("Job worker running ({concurrency} at a time; Ctrl+C to stop).").format(
            concurrency=concurrency
        )
    )
    queue.run_worker(
        state.database_url,
        concurrency=concurrency,
        heartbeat=heartbeat,
        stalled_after=stalled_after,
        max_attempts=attempts,
    )


def check_port(host: str, port: int) -> None:
    """Refuse, in one line, an address uvicorn could not listen on (it would print a raw
    error after "Serving…" and exit 3); a busy port names a free one to use instead."""
    from inclusive_cities.web.errors import WebError

    error = _bind_error(host, port)
    if error is None:
        return
    if error.errno == errno.EADDRINUSE:
        free = next(
            (p for p in range(port + 1, min(port + 50, 65535)) if not _bind_error(host, p)), None
        )
        raise WebError(
            _(
                "Port {port} on {host} is already in use (another observatory or program is "
                "listening there): serve on another port, e.g. --port {free}, or stop that program."
            ).format(port=port, host=host, free=free or port + 1)
        )
    if error.errno == errno.EACCES:
        raise WebError(
            _(
                "Port {port} needs administrator rights on this system: use a port above 1023, "
                "e.g. --port 8000, behind a reverse proxy."
            ).format(port=port)
        )
    raise WebError(
        _("Cannot listen on {host}:{port} ({reason}): check --host.").format(
            host=host, port=port, reason=error.strerror or error
        )
    )


def _bind_error(host: str, port: int) -> OSError | None:
    """Why binding (as uvicorn does: SO_REUSEADDR, IPv6 when the host has a colon) fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as error:
        return error
    return None


@users_app.command("add")
def users_add(
    email: str = typer.Option(..., "--email", help="E-mail address used to log in."),
    role: str = typer.Option("analyst", "--role", help="analyst, admin or programme."),
    cities: list[str] = typer.Option(
        [], "--city", help="Target city a programme account may edit (repeat for several)."
    ),
    name: str = typer.Option("", "--name", help="Full name shown in the audit log."),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="INCLUSIVE_CITIES_NEW_PASSWORD",
        help="Password (at least 10 characters); asked for when not given.",
    ),
) -> None:
    """Create an account for the admin area, e.g. the first admin:

    inclusive-cities users add --role admin --email ana@example.org
    """
    from inclusive_cities import store
    from inclusive_cities.web import auth

    engine = store.connect(state.database_url)
    store.require_current(engine)
    with store.transaction(engine) as session:
        user = auth.create_user(session, email, role, password, name)
        from inclusive_cities.monitoring import assign_cities

        assign_cities(session, user, cities)
        auth.audit(session, "create_user", user="cli", target=user.email, details={"role": role})
        created = (user.email, user.role)
    console.print(
        _("Account {email} created with role {role}.").format(email=created[0], role=created[1])
    )


def publish(
    city: str = typer.Option(..., "--city", help="City code."),
    period: str = typer.Option(None, "--period", help="Only this period (default: every one)."),
    run: int = typer.Option(None, "--run", help="Publish this marker run instead of the latest."),
    layers: bool = typer.Option(
        False, "--layers", help="Also publish every indicator layer of the city and period(s)."
    ),
    withdraw: bool = typer.Option(False, "--unpublish", help="Withdraw instead of publishing."),
) -> None:
    """Publish (or withdraw) marker runs and indicator layers, as analysts do in the web.

    Example: inclusive-cities publish --city DEMO --layers
    """
    from sqlalchemy import delete, distinct, func, select

    from inclusive_cities import store
    from inclusive_cities.store import models
    from inclusive_cities.store.web_models import PublishedLayer
    from inclusive_cities.web import auth
    from inclusive_cities.web.errors import NotFound

    engine = store.connect(state.database_url)
    store.require_current(engine)
    if not withdraw:
        _solve_protection_first(engine, city)
    with store.transaction(engine) as session:
        row = session.scalar(select(models.City).where(models.City.code == city))
        if row is None:
            raise NotFound(_("There is no city with code {code}.").format(code=city))
        periods = list(
            session.scalars(
                select(models.Period)
                .join(models.MarkerRun, models.MarkerRun.period_id == models.Period.id)
                .where(models.MarkerRun.city_id == row.id)
                .distinct()
            )
        )
        if layers and not withdraw:
            # indicator layers need no marker run: a city of imported tables publishes them too
            periods += [p for p in _observed_periods(session, row.id) if p not in periods]
        if period is not None:
            periods = [p for p in periods if p.code == period]
            if not periods:
                raise NotFound(
                    (
                        _("Period {code} has no marker run and no observations in {city}.")
                        if layers
                        else _("Period {code} has no marker run for this city.")
                    ).format(code=period, city=city)
                )
        if not periods and not withdraw:
            raise NotFound(_nothing_to_publish(city, layers))
        if run is not None:
            chosen = [session.get(models.MarkerRun, run)]
            if chosen[0] is None or chosen[0].city_id != row.id:
                raise NotFound(_("There is no marker run {id}.").format(id=run))
            if not withdraw and not _has_index_values(session, chosen[0]):
                from inclusive_cities.marker.errors import MarkerError

                raise MarkerError(_empty_run_reason(session, chosen[0]))
        elif withdraw:
            chosen = list(
                session.scalars(
                    select(models.MarkerRun).where(
                        models.MarkerRun.city_id == row.id,
                        models.MarkerRun.period_id.in_([p.id for p in periods]),
                    )
                )
            )
        else:
            chosen = [
                session.scalar(
                    select(models.MarkerRun)
                    .where(models.MarkerRun.city_id == row.id, models.MarkerRun.period_id == p.id)
                    .order_by(models.MarkerRun.id.desc())
                    .limit(1)
                )
                for p in periods
            ]
        count_runs = 0
        refused: list[str] = []
        for marker_run in chosen:
            if marker_run is None:
                continue
            if not withdraw and not _has_index_values(session, marker_run):
                # publishing it would hide the good run on the site behind an empty one
                refused.append(_empty_run_reason(session, marker_run))
                continue
            marker_run.published = not withdraw
            count_runs += 1
            auth.audit(
                session,
                "unpublish_run" if withdraw else "publish_run",
                user="cli",
                target=f"marker_run:{marker_run.id}",
            )
        count_layers = 0
        if layers:
            period_ids = [p.id for p in periods]
            if withdraw:
                result = session.execute(
                    delete(PublishedLayer).where(
                        PublishedLayer.city_id == row.id, PublishedLayer.period_id.in_(period_ids)
                    )
                )
                count_layers = int(getattr(result, "rowcount", 0) or 0)
            else:
                present = {
                    (r.period_id, r.indicator_id)
                    for r in session.execute(
                        select(PublishedLayer.period_id, PublishedLayer.indicator_id).where(
                            PublishedLayer.city_id == row.id
                        )
                    )
                }
                pairs = session.execute(
                    select(models.Observation.period_id, models.Observation.indicator_id)
                    .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
                    .where(
                        models.SpatialUnit.city_id == row.id,
                        models.Observation.period_id.in_(period_ids),
                    )
                    .group_by(models.Observation.period_id, models.Observation.indicator_id)
                    .having(func.count(distinct(models.Observation.unit_id)) > 0)
                )
                for period_id, indicator_id in pairs:
                    if (period_id, indicator_id) not in present:
                        session.add(
                            PublishedLayer(
                                city_id=row.id,
                                period_id=period_id,
                                indicator_id=indicator_id,
                                published_by="cli",
                            )
                        )
                        count_layers += 1
            auth.audit(
                session,
                "unpublish_layer" if withdraw else "publish_layer",
                user="cli",
                target=f"city:{city}",
                details={"layers": count_layers},
            )
        if not withdraw:  # nothing recoverable may go public: refuse, rolling all back
            from inclusive_cities.cli.progress import progress_bar
            from inclusive_cities.disclosure import refuse_if_disclosive

            session.flush()
            with progress_bar(_("Disclosure audit")) as progress:
                refuse_if_disclosive(session, city, progress=progress)
    runs_text = (_("{n} marker run") if count_runs == 1 else _("{n} marker runs")).format(
        n=format_number(count_runs)
    )
    layers_text = (
        _("{n} indicator layer") if count_layers == 1 else _("{n} indicator layers")
    ).format(n=format_number(count_layers))
    message = (
        _("Withdrew {runs} and {layers} of {city}.")
        if withdraw
        else _("Published {runs} and {layers} of {city}.")
    )
    console.print(message.format(runs=runs_text, layers=layers_text, city=city))
    if not withdraw and count_runs:  # rank intervals among the published units only
        from inclusive_cities.disclosure.rank_intervals import store_city_rank_intervals

        for note in store_city_rank_intervals(engine, city):
            console.print(note)
    if not withdraw and not refused and count_runs == 0 and count_layers == 0 and not layers:
        raise NotFound(_nothing_to_publish(city, layers))
    if refused:
        from inclusive_cities.marker.errors import MarkerError

        raise MarkerError(" ".join(refused))


def _observed_periods(session: Session, city_id: int) -> list[models.Period]:
    """Periods holding observations of the city's units."""
    from sqlalchemy import select

    from inclusive_cities.store import models

    return list(
        session.scalars(
            select(models.Period).where(
                models.Period.id.in_(
                    select(models.Observation.period_id)
                    .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
                    .where(models.SpatialUnit.city_id == city_id)
                    .distinct()
                )
            )
        )
    )


def _nothing_to_publish(city: str, layers: bool) -> str:
    """Why a publish did nothing, and the command to run first."""
    if layers:
        return _(
            "{city} has no marker run and no observations, so nothing was published: import "
            "data first (inclusive-cities import table FILE --city {city} ...) or compute it "
            "(inclusive-cities indicators compute --city {city} --period PERIOD)."
        ).format(city=city)
    return _(
        "{city} has no marker run, so nothing was published: run inclusive-cities marker build "
        "--city {city} --period PERIOD first, or add --layers to publish its indicator layers."
    ).format(city=city)


def _solve_protection_first(engine: Engine, city: str) -> None:
    """Solve (or read) the city's disclosure protection before taking the write lock.

    It only reads the store, its key does not depend on what is published, and on a medium
    city it takes minutes: solved inside the publishing transaction, it held SQLite's one
    write lock all that time, so every upload, login and report request failed meanwhile.
    The audit in the transaction then finds it in the cache."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session as ReadSession

    from inclusive_cities.disclosure import control_enabled
    from inclusive_cities.disclosure.publication import protection
    from inclusive_cities.disclosure.secondary import parallel_solves
    from inclusive_cities.store import models

    if not control_enabled():
        return
    with ReadSession(engine) as reading:
        city_id = reading.scalar(select(models.City.id).where(models.City.code == city))
        if city_id is None:
            return  # the transaction below says the city does not exist
        if not state.quiet:
            Console(stderr=True, highlight=False).print(
                _(
                    "Disclosure control of {city}: solving which figures to withhold (minutes "
                    "on a large city; the observatory stays usable meanwhile)…"
                ).format(city=city)
            )
        with parallel_solves():  # the solve's components on both cores (not the web's)
            protection(reading, city_id)


def _has_index_values(session: Session, marker_run: models.MarkerRun) -> bool:
    from inclusive_cities.marker.build import has_index_values

    return has_index_values(session, marker_run)


def _empty_run_reason(session: Session, marker_run: models.MarkerRun) -> str:
    from inclusive_cities.marker.build import empty_run_reason

    return empty_run_reason(session, marker_run)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("publish")(publish)
    app.add_typer(users_app, name="users")
