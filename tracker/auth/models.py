"""The User model and its roles."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db
from tracker.units.models import Unit


class Role(enum.StrEnum):
    """What a user may do."""

    ADMIN = "admin"  # the coordinator: everything
    MANAGER = "manager"  # 具体责任人: works the unit's tasks
    VIEWER = "viewer"  # 第一/直接责任人: reads the unit's tasks


ROLE_LABELS = {"admin": _l("Coordinator"), "manager": _l("Unit manager"),
               "viewer": _l("Unit viewer")}


class User(UserMixin, db.Model):
    """A person who signs in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so that sign-in ignores case.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role))
    #: The unit a manager or viewer belongs to; None for the coordinator.
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    #: Argon2id hash in PHC string format.
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    #: Preferred interface language (``zh_CN`` or ``en``); None: from the browser.
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    #: Raised at sign-out and when the password changes or the account is deactivated,
    #: which ends every session and remember-me cookie of this user, copies included
    #: (it is part of the session's user id).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship()

    @property
    def is_active(self):
        """Flask-Login: a deactivated user cannot sign in."""
        return self.active

    @property
    def display_name(self) -> str:
        """How pages and mails name the person: their name, or their address."""
        return self.name or self.email

    @property
    def is_admin(self) -> bool:
        """Whether this is the coordinator."""
        return self.role == Role.ADMIN

    def get_id(self) -> str:
        """Flask-Login: the id a new session (and its remember-me cookie) carries: the
        user, the session version, and the instant of signing in (a session ends
        REMEMBER_COOKIE_DURATION after it, however it is kept)."""
        return f"{self.id}:{self.session_version}:{int(utcnow().timestamp())}"

    def __repr__(self):
        return f"<User {self.email} {self.role.value}>"


class LoginAttempt(db.Model):
    """A sign-in attempt: the record of who tried to sign in from where (pruned after
    LOGIN_RECORDS_KEEP_DAYS). The limits are counted in LoginThrottle."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_email_at", "email", "at"),
        sa.Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The address typed in, lower-cased (it may belong to no user).
    email: Mapped[str] = mapped_column(sa.String(254))
    #: The client's IP address.
    address: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)


class LoginThrottle(db.Model):
    """Password guesses counted from one place: for one account from one address, and
    (``email`` empty) for every account from one address.

    Counted before the password is checked, in one transaction that holds the row, so
    that guesses sent at once cannot slip past the limit together; a success takes its
    guess back. Nothing here stops the right password from another address.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (sa.Index("ix_login_throttles_last_at", "last_at"),)

    #: The account typed in, lower-cased; empty for the address's own count.
    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    #: The client's IP address (from the proxy's X-Forwarded-For with TRACKER_PROXIES).
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: Guesses that failed (or are being checked) since the count last ran out.
    failures: Mapped[int] = mapped_column(default=0)
    #: The last guess; a count unused for LOGIN_FAILURE_WINDOW_MINUTES starts again.
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: No guess before this instant (the delay grows with each failure past the limit).
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
