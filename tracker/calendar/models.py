"""The FeedToken model: the secret in a user's calendar subscription URL."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User
from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime
from tracker.extensions import db


class FeedToken(db.Model):
    """A user's calendar feed token; only its hash is stored, the secret is shown once."""

    __tablename__ = "feed_tokens"
    __table_args__ = (
        # One active token per user; revoked ones are kept as a record.
        sa.Index("uq_feed_tokens_user_id_active", "user_id", unique=True,
                 sqlite_where=sa.text("revoked_at IS NULL"),
                 postgresql_where=sa.text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    #: SHA-256 (hex) of the secret in the URL: a leaked database gives no working feed URL.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Updated at most hourly, so that polling calendar apps do not write on every fetch.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        """Whether the token still opens the feed."""
        return self.revoked_at is None

    def __repr__(self):
        return f"<FeedToken {self.id} user={self.user_id} {'active' if self.active else 'revoked'}>"


class FeedComponent(db.Model):
    """A task's serialised calendar component, kept with the version it was built from, so
    that a feed built in a new process (or another worker) reuses it instead of building it
    again. A stale row is never served: its version is compared with the version of the
    task's data as the feed reads it."""

    __tablename__ = "feed_components"

    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"),
                                         primary_key=True)
    #: The builder options it was made with (kind, alarm, host), e.g. ``event-0-54000-host``.
    variant: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    #: A digest of everything the component is made of (``tracker.calendar.ical``).
    version: Mapped[str] = mapped_column(sa.String(64))
    #: The VEVENT or VTODO as icalendar serialises it (CRLF lines, folded).
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
