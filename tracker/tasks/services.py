"""Work on a task: completion, evidence, review, due dates, ad-hoc tasks.

Flush, never commit: the caller (CLI command, request, job) commits once.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.web import today
from tracker.extensions import db
from tracker.phases.models import Duty, Plan
from tracker.phases.recurrence import phase_of
from tracker.phases.services import plan_for_year
from tracker.tasks.models import (PENDING, STATE_LABELS, EvidenceFile, Task, TaskEvent,
                                  TaskEventKind, TaskStatus)
from tracker.units.models import Unit
from tracker.workdays.services import check_working_day


def record(task: Task, actor, kind: TaskEventKind, now: datetime, **changes) -> None:
    """Add an entry to the task's history and mark the task changed."""
    db.session.add(TaskEvent(task=task, actor=actor, kind=kind, at=now, changes=changes))
    task.updated_at = now


def statement_cap(task: Task) -> int | None:
    """The character cap of the written statement the duty asks for, if it asks for one."""
    for item in (task.duty.evidence if task.duty else []):
        if item["kind"] == "statement":
            return item["max_chars"]
    return None


def needs_files(task: Task) -> bool:
    """Whether the duty asks for documents, photos or records (not only a statement)."""
    return any(item["kind"] != "statement" for item in (task.duty.evidence if task.duty else []))


def _normalise(text: str) -> str:
    # Browsers send CRLF; a statement's length is counted in characters as a person sees them.
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _require_pending(task: Task) -> None:
    if task.status not in PENDING:
        raise TrackerError(_("This task is %(status)s: it cannot be changed now.",
                             status=STATE_LABELS[task.status.value]))


def save_work(task: Task, actor, note: str, statement: str, now: datetime) -> None:
    """Save the unit's note and written statement (within the plan's character cap)."""
    _require_pending(task)
    note, statement = _normalise(note), _normalise(statement)
    cap = statement_cap(task)
    if statement and cap is None:
        raise TrackerError(_("This task asks for no written statement."))
    if cap is not None and len(statement) > cap:
        raise TrackerError(_("The statement has %(count)d characters; at most %(cap)d are "
                             "allowed.", count=len(statement), cap=cap))
    if len(note) > 5000:
        raise TrackerError(_("The note is longer than 5000 characters."))
    changes = {}
    if note != task.note:
        changes["note"] = note
    if statement != task.statement:
        changes["statement_chars"] = len(statement)
    if changes:
        task.note, task.statement = note, statement
        record(task, actor, TaskEventKind.NOTE_SAVED, now, **changes)
        db.session.flush()


def add_evidence(task: Task, actor, checked, stored_name: str, now: datetime) -> EvidenceFile:
    """Attach a checked, stored file to a pending task."""
    _require_pending(task)
    evidence = EvidenceFile(task=task, original_name=checked.original_name,
                            stored_name=stored_name, content_type=checked.content_type,
                            size=checked.size, sha256=checked.sha256, uploaded_by=actor,
                            uploaded_at=now)
    db.session.add(evidence)
    record(task, actor, TaskEventKind.EVIDENCE_ADDED, now, file=checked.original_name,
           size=checked.size)
    db.session.flush()
    return evidence


def cleanup_evidence(now: datetime) -> list[str]:
    """Remove evidence files that interrupted uploads and deletions left behind (no row, or
    ``.part``), once a day old; returns their names. Touches no row."""
    from tracker.tasks import evidence as files

    names = set(db.session.scalars(sa.select(EvidenceFile.stored_name)))
    return files.cleanup(files.folder(), names, now)


def remove_evidence(task: Task, actor, evidence: EvidenceFile, now: datetime) -> str:
    """Detach a file from a pending task; returns its stored name for deletion after commit."""
    _require_pending(task)
    stored = evidence.stored_name
    record(task, actor, TaskEventKind.EVIDENCE_REMOVED, now, file=evidence.original_name)
    db.session.delete(evidence)
    db.session.flush()
    return stored


@dataclass(frozen=True)
class Occurrence:
    """What a unit records of one occurrence of an "at least N a year" duty."""

    held_on: date | None
    attendance: int | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)


def next_open_slot(task: Task) -> Task | None:
    """The earliest open task of the same duty, unit and year: where the next occurrence
    of an "at least N a year" duty is recorded (one held early fills the next open slot;
    one held late, the slot it missed)."""
    return db.session.scalar(
        sa.select(Task).where(Task.duty_id == task.duty_id, Task.unit_id == task.unit_id,
                              Task.year == task.year, Task.status == TaskStatus.OPEN)
        .order_by(Task.seq).limit(1))


def records_occurrences(task: Task) -> bool:
    """Whether the task is a slot of a duty recorded by occurrence."""
    return bool(task.duty and task.duty.occurrence is not None)


def _record_occurrence(task: Task, occurrence: Occurrence | None, today: date) -> dict:
    """Check an occurrence against the duty and put it on the task; the history's changes."""
    if task.status == TaskStatus.OPEN:
        slot = next_open_slot(task)
        if slot is not None and slot.id != task.id:
            raise TrackerError(_("Sessions are recorded on the next open slot: %(title)s "
                                 "(task %(id)d).", title=slot.title, id=slot.id))
    if occurrence is None or occurrence.held_on is None:
        raise TrackerError(_("Give the date it was held."))
    held = occurrence.held_on
    if held.year != task.year or held > today:
        raise TrackerError(_("The date it was held must lie in %(year)d and not after today.",
                             year=task.year))
    spec = task.duty.occurrence
    attendance = occurrence.attendance
    if spec.get("attendance"):
        if attendance is None or not 1 <= attendance <= 100_000:
            raise TrackerError(_("Give how many took part (a number from 1)."))
    else:
        attendance = None
    known = [f["code"] for f in spec.get("flags", [])]
    unknown = [f for f in occurrence.flags if f not in known]
    if unknown:
        raise TrackerError(_("Unknown mark %(flag)s.", flag=unknown[0]))
    task.held_on, task.attendance = held, attendance
    task.flags = [f for f in known if f in occurrence.flags]
    return {"held_on": held.isoformat(), "attendance": attendance, "flags": task.flags}


def submit(task: Task, actor, note: str, statement: str, now: datetime,
           occurrence: Occurrence | None = None) -> None:
    """Record completion: the note, statement and files go to the coordinator for review.

    A slot of a duty recorded by occurrence takes the occurrence (the date held,
    attendance, marks); it must be the next open slot, or a slot returned for rework.
    """
    save_work(task, actor, note, statement, now)
    if needs_files(task) and not task.evidence_files:
        raise TrackerError(_("Attach the evidence the plan asks for before submitting."))
    if statement_cap(task) is not None and not task.statement:
        raise TrackerError(_("Write the statement the plan asks for before submitting."))
    if task.duty is None and not (task.note or task.evidence_files):
        raise TrackerError(_("Add a note or a file before submitting."))
    held = (_record_occurrence(task, occurrence, today(now)) if records_occurrences(task)
            else {})
    previous = task.status
    task.status = TaskStatus.SUBMITTED
    task.submitted_at, task.submitted_by = now, actor
    record(task, actor, TaskEventKind.SUBMITTED, now, status=[previous.value, "submitted"],
           **held)
    db.session.flush()


def review(task: Task, actor, accept: bool, comment: str, now: datetime) -> None:
    """The coordinator accepts submitted work, or returns it for rework with a comment."""
    if task.status != TaskStatus.SUBMITTED:
        raise TrackerError(_("Only submitted work can be reviewed."))
    comment = _normalise(comment)
    if not accept and not comment:
        raise TrackerError(_("Say what needs rework when returning a task."))
    if len(comment) > 5000:
        raise TrackerError(_("The comment is longer than 5000 characters."))
    task.status = TaskStatus.ACCEPTED if accept else TaskStatus.RETURNED
    task.reviewed_at, task.reviewed_by, task.review_comment = now, actor, comment
    kind = TaskEventKind.ACCEPTED if accept else TaskEventKind.RETURNED
    record(task, actor, kind, now, status=["submitted", task.status.value], comment=comment)
    db.session.flush()
    if not accept:
        # The reminders area queues the notice to the unit, in this transaction.
        signals.task_returned.send(task, reviewer=actor, comment=comment, now=now)


def _check_date_in_year(task_year: int, day) -> None:
    if day.year != task_year:
        raise TrackerError(_("The date must lie in %(year)d, the task's year.", year=task_year))


def _phase_for(plan: Plan, day, duty: Duty | None):
    phases = [p for p in plan.phases if p.active]
    code = duty.phase_code if duty else None
    return phase_of(day, phases, day.year, code) or phase_of(day, phases, day.year)


def move_due(task: Task, actor, day, now: datetime) -> None:
    """Move one task's due date (the coordinator); a reloaded plan keeps the new date."""
    if task.status in (TaskStatus.ACCEPTED, TaskStatus.CANCELLED):
        raise TrackerError(_("An accepted or cancelled task keeps its date."))
    _check_date_in_year(task.year, day)
    if day == task.due_date:
        return
    check_working_day(day)
    old = task.due_date
    task.due_date, task.due_manual = day, True
    task.phase = _phase_for(task.plan, day, task.duty)
    record(task, actor, TaskEventKind.DUE_MOVED, now,
           due_date=[old.isoformat(), day.isoformat()])
    db.session.flush()


def move_occurrence(task: Task, actor, day, now: datetime) -> int:
    """Move this occurrence of the duty for every unit; returns how many tasks moved."""
    if task.duty_id is None:
        move_due(task, actor, day, now)
        return 1
    _check_date_in_year(task.year, day)
    check_working_day(day)
    siblings = db.session.scalars(
        sa.select(Task).where(Task.duty_id == task.duty_id, Task.year == task.year,
                              Task.seq == task.seq,
                              Task.status.not_in([TaskStatus.ACCEPTED, TaskStatus.CANCELLED]))
    ).all()
    moved = 0
    for sibling in siblings:
        if sibling.due_date != day:
            move_due(sibling, actor, day, now)
            moved += 1
    return moved


def create_adhoc(actor, units: list[Unit], title: str, description: str, day,
                 now: datetime) -> list[Task]:
    """Add a task outside the plan's duties to each of ``units``."""
    title, description = " ".join((title or "").split()), _normalise(description)
    if not title:
        raise TrackerError(_("A task needs a title."))
    if len(title) > 300:
        raise TrackerError(_("The title is longer than 300 characters."))
    if not units:
        raise TrackerError(_("Choose at least one unit."))
    check_working_day(day)
    plan = plan_for_year(day.year)
    phase = _phase_for(plan, day, None)
    tasks = []
    for unit in units:
        task = Task(plan=plan, duty=None, unit=unit, year=day.year, seq=0, phase=phase,
                    title=title, description=description, due_date=day, due_manual=True,
                    status=TaskStatus.OPEN, created_by_id=actor.id if actor else None,
                    created_at=now, updated_at=now)
        db.session.add(task)
        record(task, actor, TaskEventKind.CREATED, now, title=title, due_date=day.isoformat())
        tasks.append(task)
    db.session.flush()
    return tasks
