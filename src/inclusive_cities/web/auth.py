"""Accounts for the admin area: argon2 passwords, database sessions, CSRF, API tokens, audit.

Everything lives in the database (no process memory), so any number of stateless workers
can share logins and the login rate limit.
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
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.store.models import utcnow
from inclusive_cities.store.web_models import ROLES, ApiToken, AuditEntry, User, WebSession
from inclusive_cities.web.errors import WebError

SESSION_HOURS = 8
LOGIN_WINDOW_MINUTES = 15
LOGIN_MAX_FAILURES = 5
"""At most this many failed logins per client address in the window (OWASP guidance)."""

_hasher = PasswordHasher()


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
        raise WebError(_("Role {role} is not known: use analyst or admin.").format(role=role))
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


def login(session: Session, email: str, password: str, client: str) -> tuple[str, Identity] | None:
    """A new session token for good credentials, None (and an audit entry) otherwise."""
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email, User.active.is_(True)))
    if user is None or not check_password(user.password_hash, password):
        audit(session, "login_failed", user=email[:254], client=client)
        return None
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
    session.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=utcnow() + timedelta(hours=SESSION_HOURS),
        )
    )
    audit(session, "login", user=user.email, client=client)
    return token, Identity(user.id, user.email, user.role, csrf)


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


def csrf_matches(identity: Identity, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(identity.csrf_token, str(submitted))
