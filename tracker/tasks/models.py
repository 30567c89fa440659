"""Task and TaskEvent models."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db
from tracker.auth.models import User
from tracker.phases.models import Duty, Phase, Plan
from tracker.units.models import Unit
# The state vocabulary lives in tracker.tasks.states; these names stay importable from here.
from tracker.tasks.states import (  # noqa: F401
    DISPLAY_STATES, DUE_SOON_DAYS, FINISHED, PENDING, STATE_LABELS, STATUS_FILTERS, TaskStatus,
    display_clause, display_state, is_overdue, status_clause)


class Task(db.Model):
    """One occurrence of a duty for one unit in one year, or an ad-hoc task."""

    __tablename__ = "tasks"
    __table_args__ = (
        sa.UniqueConstraint("duty_id", "unit_id", "year", "seq"),
        sa.Index("ix_tasks_unit_id_due_date", "unit_id", "due_date"),
        sa.Index("ix_tasks_year_due_date", "year", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    #: None for an ad-hoc task the coordinator added.
    duty_id: Mapped[int | None] = mapped_column(sa.ForeignKey("duties.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    year: Mapped[int]
    #: Which occurrence of the duty in the year (1-based; 0 for ad-hoc tasks): the
    #: task's identity across plan reloads, so a moved date updates the task.
    seq: Mapped[int]
    #: None only for an ad-hoc task whose date lies in no phase.
    phase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("phases.id"))
    title: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str] = mapped_column(sa.String(300), default="")
    #: What an ad-hoc task asks for (a duty's tasks take the duty's description).
    description: Mapped[str] = mapped_column(sa.Text, default="")
    due_date: Mapped[date]
    #: The date the plan gives, where the task is due on another day: the working day it
    #: moved to (the plan's non_working_day rule). None where the two are the same.
    planned_date: Mapped[date | None]
    #: True once the coordinator moved the date by hand: a reloaded plan keeps it.
    due_manual: Mapped[bool] = mapped_column(default=False)
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), default=TaskStatus.OPEN)
    #: The unit's completion note.
    note: Mapped[str] = mapped_column(sa.Text, default="")
    #: The written statement (情况说明) where the duty asks for one.
    statement: Mapped[str] = mapped_column(sa.Text, default="")
    #: For a duty recorded by occurrence ("at least N a year"): the day it was held.
    held_on: Mapped[date | None]
    #: ... how many took part, where the duty asks.
    attendance: Mapped[int | None]
    #: ... the codes of the duty's flags that apply to it (e.g. ``["ideology"]``).
    flags: Mapped[list] = mapped_column(sa.JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: The coordinator's comment when returning (or accepting) the work.
    review_comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[Plan] = relationship()
    duty: Mapped[Duty | None] = relationship()
    unit: Mapped[Unit] = relationship()
    phase: Mapped[Phase | None] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    evidence_files: Mapped[list["EvidenceFile"]] = relationship(
        back_populates="task", order_by="EvidenceFile.id", cascade="all, delete-orphan")

    def is_overdue(self, today: date) -> bool:
        """Whether work is still owed after the due date, as seen on ``today``."""
        return is_overdue(self.status, self.due_date, today)

    @classmethod
    def overdue_clause(cls, today: date):
        """SQL for ``is_overdue``: pending and due before ``today``."""
        return status_clause("overdue", cls.status, cls.due_date, today)

    @classmethod
    def status_filter(cls, value: str | None, today: date):
        """SQL: the tasks the status filter ``value`` selects on ``today``
        (``tracker.tasks.states.matches``)."""
        return status_clause(value, cls.status, cls.due_date, today)

    @classmethod
    def state_clause(cls, today: date):
        """SQL for ``display_state``: the state a task is drawn in on ``today``."""
        return display_clause(cls.status, cls.due_date, today)

    def display_state(self, today: date) -> str:
        """The state the calendar colours (``tracker.tasks.states.display_state``)."""
        return display_state(self.status, self.due_date, today)

    def days_left(self, today: date) -> int:
        """Days from ``today`` to the due date (negative when past)."""
        return (self.due_date - today).days

    def __repr__(self):
        return f"<Task {self.id} {self.title!r} {self.due_date}>"


class TaskEventKind(enum.StrEnum):
    """What happened to a task."""

    PLAN_UPDATED = "plan_updated"  # a reloaded plan moved the date or renamed it
    WORKDAY_MOVED = "workday_moved"  # a day made off or on moved the date to a working day
    CANCELLED = "cancelled"  # the reloaded plan no longer has this occurrence
    RESTORED = "restored"  # a cancelled occurrence came back with a reloaded plan
    CREATED = "created"  # an ad-hoc task added by the coordinator
    DUE_MOVED = "due_moved"  # the coordinator moved the due date
    NOTE_SAVED = "note_saved"
    EVIDENCE_ADDED = "evidence_added"
    EVIDENCE_REMOVED = "evidence_removed"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


EVENT_LABELS = {
    "plan_updated": _l("changed by the plan"), "cancelled": _l("cancelled by the plan"),
    "workday_moved": _l("moved to a working day"),
    "restored": _l("restored by the plan"), "created": _l("created"),
    "due_moved": _l("due date moved"), "note_saved": _l("note saved"),
    "evidence_added": _l("file attached"), "evidence_removed": _l("file removed"),
    "submitted": _l("submitted for review"), "accepted": _l("accepted"),
    "returned": _l("returned for rework"),
}


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
    actor: Mapped[User | None] = relationship()


class EvidenceFile(db.Model):
    """A file a unit uploaded as evidence for a task, stored outside static."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"),
                                         index=True)
    #: The name the uploader's file had (path parts removed); shown and used on download.
    original_name: Mapped[str] = mapped_column(sa.String(255))
    #: The generated name under the evidence folder, e.g. ``2026/3f2a….pdf``.
    stored_name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    task: Mapped[Task] = relationship(back_populates="evidence_files")
    uploaded_by: Mapped[User | None] = relationship()
