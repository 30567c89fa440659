"""The coordinator's working-day overrides."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime
from tracker.extensions import db


class WorkdayOverride(db.Model):
    """A day made off or on by the coordinator (a local holiday, a working Saturday) or by
    the year's holiday notice as imported; it wins over the package's schedule."""

    __tablename__ = "workday_overrides"

    day: Mapped[date] = mapped_column(primary_key=True)
    working: Mapped[bool]
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    #: ``override`` (set by the coordinator) or ``notice`` (read from the State Council's
    #: holiday notice by ``tracker workdays import`` or the page's paste box).
    source: Mapped[str] = mapped_column(sa.String(16), default="override",
                                        server_default="override")
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
