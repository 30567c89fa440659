"""Users: creating them, signing in, passwords. Flush, never commit."""

import functools

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _, lazy_gettext as _l

from tracker.auth.models import LoginAttempt, Role, User
from tracker.auth.passwords import hash_password, verify_password
from tracker.core.errors import TrackerError
from tracker.core.text import check_text
from tracker.extensions import db
from tracker.units.models import Unit


def normalise_email(value: str) -> str:
    """A syntactically valid address, lower-cased; TrackerError otherwise."""
    check_text(value, _l("The e-mail address"))
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise TrackerError(f"{value!r} is not a valid e-mail address: {exc}") from None
    return result.normalized.lower()


def get_user(email: str) -> User:
    """The user with that e-mail address, or a TrackerError."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise TrackerError(f"no user with the e-mail {email} (see `tracker user list`)")
    return user


def create_user(email: str, role: Role, password: str, unit: Unit | None = None,
                name: str = "") -> User:
    """Add a user. Managers and viewers belong to a unit; the coordinator need not."""
    email = normalise_email(email)
    _check_unit(role, unit)
    _check_free(email)
    user = User(email=email, role=role, unit=unit, name=clean_person_name(name),
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def clean_person_name(value: str) -> str:
    """A person's name on one line, as mails and pages show it."""
    name = " ".join(check_text(value or "", _l("The name")).split())
    if len(name) > 200:
        raise TrackerError(_("The name is longer than 200 characters."))
    return name


def _check_unit(role: Role, unit: Unit | None) -> None:
    if role in (Role.MANAGER, Role.VIEWER) and unit is None:
        raise TrackerError(_("a %(role)s belongs to a unit: choose one (--unit NAME on the "
                             "command line)", role=role.value))


def _check_free(email: str, user_id: int | None = None) -> None:
    taken = sa.select(User.id).where(User.email == email)
    if user_id is not None:
        taken = taken.where(User.id != user_id)
    if db.session.scalar(taken) is not None:
        raise TrackerError(_("A user with the e-mail %(email)s already exists.", email=email))


def update_user(user: User, actor: User, email: str, role: Role, unit: Unit | None,
                name: str, active: bool) -> None:
    """Change a user's address, role, unit, name or active state (the coordinator).

    A deactivated user is signed out everywhere; the coordinator cannot take the
    role or the account from themselves (someone must be left to run the town).
    """
    email = normalise_email(email)
    _check_unit(role, unit)
    _check_free(email, user.id)
    if user.id == actor.id and (role != Role.ADMIN or not active):
        raise TrackerError(_("You cannot take the coordinator role from yourself."))
    if user.active and not active:
        user.session_version += 1
    user.email, user.role, user.unit, user.name, user.active = (
        email, role, unit, clean_person_name(name), active)
    db.session.flush()


def authenticate(email: str, password: str, address: str, now) -> User | None:
    """The active user with this e-mail and password, or None; the attempt is recorded."""
    email = email.strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        # Spend the same time as a real check, so timing does not tell which
        # addresses have accounts.
        verify_password(_dummy_hash(), password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password) and user.active
    db.session.add(LoginAttempt(email=email[:254], address=address[:64], at=now, succeeded=ok))
    db.session.flush()
    return user if ok else None


def end_sessions(user: User) -> None:
    """End every session of ``user``, on every device, and every remember-me cookie."""
    user.session_version += 1
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; ends the user's other sessions."""
    if not verify_password(user.password_hash, current):
        raise TrackerError(_("The current password is wrong."))
    user.password_hash = hash_password(new)
    user.session_version += 1
    db.session.flush()


def set_password(user: User, new: str) -> None:
    """The coordinator resets a password; the user's sessions end."""
    user.password_hash = hash_password(new)
    user.session_version += 1
    db.session.flush()


@functools.cache
def _dummy_hash() -> str:
    # Made on the first unknown address, not at import: every CLI start would pay for it.
    return hash_password("not a password of anyone")
