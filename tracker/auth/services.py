"""Creating users. Flush, never commit."""

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from tracker.auth.models import Role, User
from tracker.auth.passwords import hash_password
from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.units.models import Unit


def normalise_email(value: str) -> str:
    """A syntactically valid address, lower-cased; TrackerError otherwise."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise TrackerError(f"{value!r} is not a valid e-mail address: {exc}") from None
    return result.normalized.lower()


def create_user(email: str, role: Role, password: str, unit: Unit | None = None,
                name: str = "") -> User:
    """Add a user. Managers and viewers belong to a unit; the coordinator need not."""
    email = normalise_email(email)
    if role in (Role.MANAGER, Role.VIEWER) and unit is None:
        raise TrackerError(f"a {role.value} belongs to a unit: give --unit NAME")
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise TrackerError(f"a user with the e-mail {email} already exists")
    user = User(email=email, role=role, unit=unit, name=name.strip(),
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user
