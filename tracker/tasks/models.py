"""Task and TaskEvent models."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db
from tracker.phases.models import Duty, Phase
from tracker.units.models import Unit


class TaskStatus(enum.StrEnum):
    """Stored status of a task. Overdue is derived from the due date, not stored."""

    OPEN = "open"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    CANCELLED = "cancelled"


#: Statuses in which the unit still owes work: these can be overdue, and a
#: reloaded plan may still move them.
PENDING = frozenset({TaskStatus.OPEN, TaskStatus.RETURNED})


class Task(db.Model):
    """One occurrence of a duty for one unit in one year."""

    __tablename__ = "tasks"
    __table_args__ = (
        sa.UniqueConstraint("duty_id", "unit_id", "year", "seq"),
        sa.Index("ix_tasks_unit_id_due_date", "unit_id", "due_date"),
        sa.Index("ix_tasks_year_due_date", "year", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    duty_id: Mapped[int] = mapped_column(sa.ForeignKey("duties.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    year: Mapped[int]
    #: Which occurrence of the duty in the year (1-based): the task's identity
    #: across plan reloads, so that a moved date updates the task, not a new one.
    seq: Mapped[int]
    phase_id: Mapped[int] = mapped_column(sa.ForeignKey("phases.id"))
    title: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str] = mapped_column(sa.String(300), default="")
    due_date: Mapped[date]
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), default=TaskStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    duty: Mapped[Duty] = relationship()
    unit: Mapped[Unit] = relationship()
    phase: Mapped[Phase] = relationship()

    def is_overdue(self, today: date) -> bool:
        """Whether work is still owed after the due date, as seen on ``today``."""
        return self.status in PENDING and self.due_date < today

    def __repr__(self):
        return f"<Task {self.id} {self.title!r} {self.due_date}>"


class TaskEventKind(enum.StrEnum):
    """What happened to a task."""

    PLAN_UPDATED = "plan_updated"  # a reloaded plan moved the date or renamed it
    CANCELLED = "cancelled"  # the reloaded plan no longer has this occurrence
    RESTORED = "restored"  # a cancelled occurrence came back with a reloaded plan


class TaskEvent(db.Model):
    """One entry in a task's history: who did what, when."""

    __tablename__ = "task_events"
    __table_args__ = (sa.Index("ix_task_events_task_id_at", "task_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who did it; None for the system (a plan load).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[TaskEventKind] = mapped_column(enum_column(TaskEventKind, length=32))
    #: What changed, e.g. ``{"due_date": ["2026-06-30", "2026-06-15"]}``.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    task: Mapped[Task] = relationship()
