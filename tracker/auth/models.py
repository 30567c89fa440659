"""The User model and its roles."""

import enum
from datetime import datetime

import sqlalchemy as sa
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship()

    @property
    def is_active(self):
        """Flask-Login: a deactivated user cannot sign in."""
        return self.active

    def __repr__(self):
        return f"<User {self.email} {self.role.value}>"
