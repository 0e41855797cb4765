"""Accounts for the admin area: argon2 passwords, database sessions, CSRF, API tokens, audit.

Everything lives in the database (no process memory), so any number of stateless workers
can share logins and the login rate limit.

The rate limit holds under parallel guesses: an attempt is first written and committed as a
failure, and only then are the client's failures counted; a password is checked only when
that count is within the limit. Whatever the interleaving (threads, workers, SQLite or
PostgreSQL), the last of the checked guesses counts every other checked one, so at most
``LOGIN_MAX_FAILURES`` wrong passwords are tried per client and window. Unknown accounts
cost one password hash too, so the answer time does not reveal which e-mails exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import transaction
from inclusive_cities.store.models import utcnow
from inclusive_cities.store.web_models import ROLES, ApiToken, AuditEntry, User, WebSession
from inclusive_cities.web.errors import WebError

SESSION_HOURS = 8
LOGIN_WINDOW_MINUTES = 15
LOGIN_MAX_FAILURES = 5
"""At most this many failed logins per client address in the window (OWASP guidance)."""

_hasher = PasswordHasher()
_dummy_hash: list[str] = []


def dummy_hash() -> str:
    """A hash of a random password, checked for unknown accounts (made once per process)."""
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def validate_new_user(email: str, role: str, password: str) -> None:
    if "@" not in email or len(email) > 254:
        raise WebError(_("{email} is not an e-mail address.").format(email=email))
    if role not in ROLES:
        raise WebError(
            _("Role {role} is not known: use analyst, admin or programme.").format(role=role)
        )
    if len(password) < 10:
        raise WebError(_("The password must have at least 10 characters."))


def create_user(session: Session, email: str, role: str, password: str, name: str = "") -> User:
    """Add an account (raises WebError for a bad e-mail, role, short password or duplicate)."""
    email = email.strip().lower()
    validate_new_user(email, role, password)
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise WebError(_("There is already an account for {email}.").format(email=email))
    user = User(email=email, role=role, name=name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class Identity:
    user_id: int
    email: str
    role: str
    csrf_token: str = ""
    via_token: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def audit(
    session: Session,
    action: str,
    *,
    user: str = "",
    target: str = "",
    client: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            action=action, user_email=user, target=target, client=client[:64], details=details
        )
    )


def recent_failures(session: Session, client: str) -> int:
    since = utcnow() - timedelta(minutes=LOGIN_WINDOW_MINUTES)
    return (
        session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == "login_failed",
                AuditEntry.client == client[:64],
                AuditEntry.at >= since,
            )
        )
        or 0
    )


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to: ``blocked`` (rate limit), or a token and identity."""

    blocked: bool = False
    token: str | None = None
    identity: Identity | None = None


def login(engine: Engine, email: str, password: str, client: str) -> LoginResult:
    """Check credentials under the rate limit (see the module docstring); a good password
    gets a new session token, every outcome an audit entry."""
    email = email.strip().lower()[:254]
    with transaction(engine) as session:
        entry = AuditEntry(action="login_failed", user_email=email, client=client[:64])
        session.add(entry)
        session.flush()
        entry_id = entry.id
    with Session(engine) as session:
        failures = recent_failures(session, client)
    if failures > LOGIN_MAX_FAILURES:
        _set_action(engine, entry_id, "login_blocked")
        return LoginResult(blocked=True)
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.email == email, User.active.is_(True)))
    stored = user.password_hash if user is not None else dummy_hash()
    if not check_password(stored, password) or user is None:
        return LoginResult()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with transaction(engine) as session:
        session.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
        session.add(
            WebSession(
                token_hash=hash_token(token),
                user_id=user.id,
                csrf_token=csrf,
                expires_at=utcnow() + timedelta(hours=SESSION_HOURS),
            )
        )
        session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(action="login"))
    return LoginResult(token=token, identity=Identity(user.id, user.email, user.role, csrf))


def _set_action(engine: Engine, entry_id: int, action: str) -> None:
    with transaction(engine) as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(action=action))


def from_session_token(session: Session, token: str | None) -> Identity | None:
    if not token:
        return None
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == hash_token(token), User.active.is_(True))
    ).first()
    if row is None or row[0].expires_at < utcnow():
        return None
    web_session, user = row
    return Identity(user.id, user.email, user.role, web_session.csrf_token)


def from_api_token(session: Session, token: str | None) -> Identity | None:
    if not token:
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.revoked.is_(False),
            User.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    return Identity(row[1].id, row[1].email, row[1].role, via_token=True)


def logout(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


def new_api_token(session: Session, user_id: int, label: str) -> str:
    """A fresh token, shown once; only its hash is kept."""
    token = "ict_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=hash_token(token), user_id=user_id, label=label[:200]))
    return token


def visible_tokens(session: Session, who: Identity) -> list[tuple[ApiToken, str]]:
    """The tokens someone may see and revoke, with their owner's e-mail: an admin sees
    everyone's, an analyst their own."""
    query = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
    if not who.is_admin:
        query = query.where(ApiToken.user_id == who.user_id)
    rows = session.execute(query.order_by(ApiToken.revoked, ApiToken.id.desc())).all()
    return [(token, email) for token, email in rows]


def revoke_api_token(session: Session, who: Identity, token_id: int) -> ApiToken:
    """Mark a token revoked (it stops working at once); analysts only revoke their own."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != who.user_id and not who.is_admin):
        raise WebError(_("There is no API token {id} that you may revoke.").format(id=token_id))
    token.revoked = True
    return token


def csrf_matches(identity: Identity, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(identity.csrf_token, str(submitted))


PROGRAMME_PATHS = ("/admin/programme", "/admin/logout", "/admin/tokens")
"""The staff pages a ``programme`` account may use: its cities' results, logout, its tokens."""

SESSION_COOKIE = "ic_session"
"""The admin area's session cookie, read by every router that has staff-only pages."""


def identity(request: Request, session: Session) -> Identity | None:
    """The logged-in analyst or admin (API token, else session cookie), or None."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return from_api_token(session, header[7:].strip())
    return from_session_token(session, request.cookies.get(SESSION_COOKIE))


def require_user(request: Request, session: Session, csrf: str | None = None) -> Identity:
    """The logged-in user; for cookie sessions on unsafe methods the CSRF token must match."""
    who = identity(request, session)
    if who is None:
        raise HTTPException(401, _("Log in to use the admin area."))
    if who.role == "programme" and not request.url.path.startswith(PROGRAMME_PATHS):
        raise HTTPException(
            403, _("A programme account may only enter its cities' programme results.")
        )
    unsafe = request.method not in ("GET", "HEAD") and not who.via_token
    if unsafe and not csrf_matches(who, csrf or request.headers.get("x-csrf-token")):
        raise HTTPException(403, _("The form has expired or was not sent from this site."))
    return who


STAFF_ROLES = ("analyst", "admin")
"""The roles of the staff area (planner, imports, workshops, plans, governance, audits); a
``programme`` account enters only ``PROGRAMME_PATHS``, whatever cities it is linked to."""


def staff(request: Request, session: Session) -> Identity | None:
    """The analyst or admin looking at a page, else None: a ``programme`` account sees what
    the public sees on public pages that show staff extras."""
    who = identity(request, session)
    if who is None or who.role not in STAFF_ROLES:
        return None
    return who


def refuse_non_staff(who: Identity) -> Identity:
    """403 for an account that is not staff (a ``programme`` account outside its pages)."""
    if who.role not in STAFF_ROLES:
        raise HTTPException(
            403, _("A programme account may only enter its cities' programme results.")
        )
    return who


def require_staff(request: Request, session: Session, csrf: str | None = None) -> Identity:
    """For staff-only answers (API, POST): 401 when nobody is logged in, 403 for a
    ``programme`` account, else the analyst or admin (CSRF checked as ``require_user``)."""
    who = identity(request, session)
    if who is None:
        raise HTTPException(401, _("Log in to use the admin area."))
    refuse_non_staff(who)
    return require_user(request, session, csrf)


def staff_or_login(request: Request, session: Session) -> Identity | None:
    """For staff pages' GETs: None (send to login) when nobody is logged in, 403 for a
    ``programme`` account, else the analyst or admin. Call it before reading the store, so
    a refused account learns nothing of what exists."""
    who = identity(request, session)
    if who is None:
        return None
    return refuse_non_staff(who)


def can_edit_city(identity: Identity | None, city_code: str, session: Session) -> bool:
    """Whether this account may edit a programme target city's records: admins and analysts
    any city, ``programme`` staff only the cities linked to their account."""
    from inclusive_cities.store.monitoring_models import UserCity

    if identity is None:
        return False
    if identity.role in ("admin", "analyst"):
        return True
    if identity.role != "programme":
        return False
    link = session.get(UserCity, (identity.user_id, city_code))
    return link is not None
