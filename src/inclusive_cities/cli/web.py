"""``serve`` and ``users …``: run the web app, create the first accounts."""

from __future__ import annotations

import os

import typer
from rich.console import Console

from inclusive_cities import store
from inclusive_cities.cli.app import state
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)
users_app = typer.Typer(help="Manage the accounts of the web admin area.", no_args_is_help=True)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for every one)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(
        1, min=1, help="Worker processes; they share nothing but the database."
    ),
) -> None:
    """Serve the observatory: public pages, JSON API, OGC API – Features and admin area.

    Example: inclusive-cities --database sqlite:///observatory.db serve --port 8000
    """
    import uvicorn

    engine = store.connect(state.database_url)
    store.require_current(engine)
    os.environ["INCLUSIVE_CITIES_DATABASE_URL"] = state.database_url
    console.print(
        _("Serving the observatory at http://{host}:{port}/ (Ctrl+C to stop)").format(
            host=host, port=port
        )
    )
    uvicorn.run(
        "inclusive_cities.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
    )


@users_app.command("add")
def users_add(
    email: str = typer.Option(..., "--email", help="E-mail address used to log in."),
    role: str = typer.Option("analyst", "--role", help="analyst or admin."),
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
    from inclusive_cities.web import auth

    engine = store.connect(state.database_url)
    store.require_current(engine)
    with store.transaction(engine) as session:
        user = auth.create_user(session, email, role, password, name)
        auth.audit(session, "create_user", user="cli", target=user.email, details={"role": role})
        created = (user.email, user.role)
    console.print(
        _("Account {email} created with role {role}.").format(email=created[0], role=created[1])
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
