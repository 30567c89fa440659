"""Reminder preferences, the ledger of reminders decided, and the outbox of mails."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User
from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db

#: The hour of the day (plan timezone) reminders go out unless the user chose another.
DEFAULT_HOUR = 8


class ReminderMode(enum.StrEnum):
    """How a user wants their reminders."""

    DIGEST = "digest"  # one mail a day with every item due that day
    EACH = "each"  # one mail per item
    NONE = "none"  # no reminder mails


class ReminderPreference(db.Model):
    """A user's reminder settings; a user without a row gets the defaults."""

    __tablename__ = "reminder_preferences"
    __table_args__ = (sa.CheckConstraint("hour >= 0 AND hour <= 23", name="hour_range"),)

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[ReminderMode] = mapped_column(enum_column(ReminderMode),
                                               default=ReminderMode.DIGEST)
    #: The hour (0-23, plan timezone) from which the day's reminders may go out.
    hour: Mapped[int] = mapped_column(default=DEFAULT_HOUR)

    user: Mapped[User] = relationship()


class OutboxStatus(enum.StrEnum):
    """Where a mail is on its way out."""

    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a dispatcher (reclaimable once the lease is over)
    SENT = "sent"  # the mail server accepted it
    FAILED = "failed"  # refused for good, or out of attempts: listed for the coordinator


class OutboxMessage(db.Model):
    """One mail to one person: a digest, or a single reminder."""

    __tablename__ = "reminder_outbox"
    __table_args__ = (sa.Index("ix_reminder_outbox_status_next_attempt_at",
                               "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the mail is, unique so that two dispatchers never queue it twice:
    #: ``digest:<user>:<day>`` or ``item:<task>:<user>:<kind>:<due date>``.
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    #: The address the mail goes to (the user's address when it was queued).
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    #: The Message-ID header, derived from ``key``: a resend carries the same one.
    message_id: Mapped[str] = mapped_column(sa.String(255))
    #: The whole mail as sent (RFC 5322 bytes, CRLF line ends).
    message: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus),
                                                 default=OutboxStatus.QUEUED)
    #: Tries made so far (a pass that finds the mail server down counts as one).
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When a dispatcher claimed it; a claim older than the lease is taken over.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()

    def __repr__(self):
        return f"<OutboxMessage {self.id} {self.key} {self.status.value}>"


class ReminderLedgerEntry(db.Model):
    """A reminder decided for one person: recorded once, whichever process saw it first.

    The key is the task, the person, the kind (``before:<days>`` or
    ``overdue:<days>``) and the due date the reminder was for, so a task whose
    date moves gets its reminders again for the new date.
    """

    __tablename__ = "reminder_ledger"
    __table_args__ = (sa.UniqueConstraint("task_id", "user_id", "kind", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    due_date: Mapped[date]
    #: The day (plan timezone) the reminder was meant for.
    day: Mapped[date]
    #: The mail that carries it.
    outbox_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reminder_outbox.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    outbox: Mapped[OutboxMessage] = relationship()


class SchedulerHeartbeat(db.Model):
    """When a scheduler last ran a pass: /healthz shows it, so a dead one is noticed."""

    __tablename__ = "scheduler_heartbeats"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
