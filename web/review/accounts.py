"""Admin accounts and login throttling; functions take the caller's session and never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from agent.storage.models import utcnow
from web.models import AdminUser, LoginFailure

MIN_PASSWORD_CHARS = 12
# Failures older than this are forgotten, so a typo a week ago does not count today.
FAILURE_MEMORY = timedelta(days=1)
# Each lock-out past the first doubles, up to this.
MAX_LOCKOUT = timedelta(days=1)
# Checked when the account does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("threadbot-no-such-admin")


class AccountError(ValueError):
    """A username or password that cannot be used; the message says why."""


def create_admin(session: Session, username: str, password: str) -> AdminUser:
    """Add an admin with a salted scrypt hash of ``password``.

    :raise AccountError: bad username, short password, or the name is taken.
    """
    username = username.strip()
    if not username or len(username) > 50 or not username.isprintable():
        raise AccountError("username must be 1 to 50 printable characters")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    taken = session.scalar(
        select(AdminUser.id).where(func.lower(AdminUser.username) == username.lower())
    )
    if taken is not None:
        raise AccountError(f"an admin named {username!r} already exists")
    admin = AdminUser(username=username, password_hash=generate_password_hash(password))
    session.add(admin)
    session.flush()
    return admin


def set_password(session: Session, username: str, password: str) -> AdminUser:
    """Replace an admin's password.

    :raise AccountError: no such admin, or the password is too short.
    """
    admin = find_admin(session, username)
    if admin is None:
        raise AccountError(f"no admin named {username!r}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    admin.password_hash = generate_password_hash(password)
    return admin


def find_admin(session: Session, username: str) -> AdminUser | None:
    """The admin with this name, ignoring case."""
    return session.scalar(
        select(AdminUser).where(func.lower(AdminUser.username) == username.strip().lower())
    )


def authenticate(session: Session, username: str, password: str) -> AdminUser | None:
    """The admin if the password matches, else None; takes the same time either way."""
    admin = find_admin(session, username)
    if admin is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(admin.password_hash, password):
        return None
    admin.last_login_at = utcnow()
    return admin


def locked_for(session: Session, keys: list[str], now: datetime | None = None) -> timedelta | None:
    """How long any of ``keys`` stays locked, or None when logging in is allowed."""
    now = now or utcnow()
    rows = session.scalars(select(LoginFailure).where(LoginFailure.key.in_(keys))).all()
    untils = [row.locked_until for row in rows]
    waits = [until - now for until in untils if until is not None and until > now]
    return max(waits) if waits else None


def record_failure(
    session: Session,
    keys: list[str],
    max_failures: int,
    lockout: timedelta,
    now: datetime | None = None,
) -> None:
    """Count a failed login against each key; past ``max_failures`` the key is locked."""
    now = now or utcnow()
    for key in keys:
        row = session.get(LoginFailure, key)
        if row is None:
            row = LoginFailure(key=key, failures=0)
            session.add(row)
        elif now - (row.last_failure_at or now) > FAILURE_MEMORY:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        over = row.failures - max_failures
        if over >= 0:
            # Doubling lock-outs make guessing hopeless without locking a real user out for long.
            row.locked_until = now + min(lockout * 2 ** min(over, 20), MAX_LOCKOUT)


def clear_failures(session: Session, keys: list[str]) -> None:
    """Forget failures after a successful login."""
    for row in session.scalars(select(LoginFailure).where(LoginFailure.key.in_(keys))):
        session.delete(row)
