"""Reminder preferences, the ledger of reminders decided, the outbox of mails and robot
messages, the units' group robots, and each person's inbox."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User
from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db
from tracker.reminders.vendors import Vendor, mask
from tracker.tasks.models import Task
from tracker.units.models import Unit

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


class Channel(enum.StrEnum):
    """How an outbox message goes out: the built-in transports that use the outbox."""

    MAIL = "mail"  # to a person, by e-mail
    ROBOT = "robot"  # to a unit's group, through its robot


class OutboxMessage(db.Model):
    """One mail to one person (a digest, a single reminder, a returned-work notice), or one
    robot message to a unit's group (the day's reminders)."""

    __tablename__ = "reminder_outbox"
    __table_args__ = (sa.Index("ix_reminder_outbox_status_next_attempt_at",
                               "status", "next_attempt_at"),
                      sa.Index("ix_reminder_outbox_robot_sent_at", "robot", "sent_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the message is, unique so that two dispatchers never queue it twice:
    #: ``digest:<user>:<day>``, ``item:<task>:<user>:<kind>:<due date>``,
    #: ``returned:<task>:<nth return>:<user>``, ``robot:<unit>:<day>`` or, for a test
    #: message sent at once, ``robot-test:<unit>:<instant>``.
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    #: The transport that sends it (``transports.Transport.name``: a ``Channel`` of the
    #: built-in ones, or another registered one's).
    channel: Mapped[str] = mapped_column(sa.String(20), default=Channel.MAIL.value,
                                         server_default=Channel.MAIL.value)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    #: The unit whose group a robot message is for (its robot is looked up when sending).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"),
                                                index=True)
    #: A mail: the address it goes to (the user's address when it was queued). A robot
    #: message: the unit's name, never the robot's address.
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    #: The Message-ID header, derived from ``key``: a resend carries the same one ("" for
    #: a robot message).
    message_id: Mapped[str] = mapped_column(sa.String(255))
    #: The whole mail as sent (RFC 5322 bytes, CRLF line ends), or the robot message's
    #: JSON body, unsigned (it is signed when sent: signatures go stale in an hour).
    message: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: A robot message: the robot (``robots.Webhook.robot_id``) it was claimed for and
    #: sent to, which paces that robot across passes.
    robot: Mapped[str | None] = mapped_column(sa.String(16))
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
    unit: Mapped[Unit | None] = relationship()

    def __repr__(self):
        return f"<OutboxMessage {self.id} {self.key} {self.status.value}>"


class ReminderLedgerEntry(db.Model):
    """A reminder decided for one person, or for one unit's group robot: recorded once,
    whichever process saw it first.

    The key is the task, the person or the unit, the kind (``before:<days>`` or
    ``overdue:<days>``) and the due date the reminder was for, so a task whose
    date moves gets its reminders again for the new date. (Two unique keys: one
    of ``user_id`` and ``unit_id`` is always NULL, and NULLs never collide.)
    """

    __tablename__ = "reminder_ledger"
    __table_args__ = (sa.UniqueConstraint("task_id", "user_id", "kind", "due_date"),
                      sa.UniqueConstraint("task_id", "unit_id", "kind", "due_date"),
                      sa.CheckConstraint("(user_id IS NULL) <> (unit_id IS NULL)",
                                         name="person_or_unit"))

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    #: A reminder for the unit's group robot (then ``user_id`` is NULL).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"),
                                                index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    due_date: Mapped[date]
    #: The day (plan timezone) the reminder was meant for.
    day: Mapped[date]
    #: The mail or robot message that carries it; NULL for a person who takes no reminder
    #: mails (the reminder went to their inbox only).
    outbox_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reminder_outbox.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    outbox: Mapped[OutboxMessage | None] = relationship()


class UnitChannel(db.Model):
    """A unit's group robot (WeCom, DingTalk or Feishu): where its daily reminder goes.

    The address and the secret are credentials: pages and the CLI show the address
    masked (``vendors.mask``) and never the secret; nothing logs either.
    """

    __tablename__ = "unit_channels"

    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"),
                                         primary_key=True)
    vendor: Mapped[Vendor] = mapped_column(enum_column(Vendor))
    #: The webhook address with its key or token, as ``robots.parse_webhook`` spells it.
    webhook_url: Mapped[str] = mapped_column(sa.String(500))
    #: DingTalk's 加签 secret or Feishu's signature secret; None: the robot signs nothing.
    secret: Mapped[str | None] = mapped_column(sa.String(200))
    #: ``robots.Webhook.robot_id``: units that share a group share its pace.
    robot: Mapped[str] = mapped_column(sa.String(16), index=True)
    #: The robot answered "too fast": it gets nothing before this instant.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()

    @property
    def masked_url(self) -> str:
        """The address as pages show it: the key cut to four characters."""
        return mask(self.webhook_url)

    def __repr__(self):
        return f"<UnitChannel {self.unit_id} {self.vendor.value} {self.masked_url}>"


class Notification(db.Model):
    """A message in a person's inbox in the app: a reminder, or work returned for rework.

    Written in the transaction that decides the reminder or stores the return, so
    the inbox holds exactly what was decided; like a mail, it stays as it was told.
    """

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: The task it is about; None for a notice about something else (a 反馈单).
    task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"),
                                                index=True)
    #: ``before:<days>``, ``overdue:<days>`` (a reminder), ``returned`` or ``feedback``
    #: (a 问题反馈单 issued to the unit).
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: A notice without a task: what it is about and the site path it opens.
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    #: The task's due date when the notice was made.
    due_date: Mapped[date]
    #: The reviewer's comment, for work returned; "" otherwise.
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    task: Mapped[Task | None] = relationship()

    @property
    def days(self) -> int:
        """The days in the kind: before the due date, or late."""
        return int(self.kind.partition(":")[2] or 0)


class SchedulerHeartbeat(db.Model):
    """When a scheduler last ran a pass: /healthz shows it, so a dead one is noticed."""

    __tablename__ = "scheduler_heartbeats"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
