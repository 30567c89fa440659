"""Making tasks from a plan for a year, and keeping them in step with it.

Flush, never commit: the caller (CLI command, request, job) commits once.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from flask_babel import gettext as _

from tracker.core.errors import TrackerError
from tracker.core.labels import STATE_LABELS
from tracker.extensions import db
from tracker.phases.models import Duty, Phase, Plan, PlanYear
from tracker.phases.recurrence import RecurrenceError, expand_due, phase_of
from tracker.tasks.models import (PENDING, EvidenceFile, Task, TaskEvent, TaskEventKind,
                                  TaskStatus)
from tracker.units.models import Unit


@dataclass
class SyncReport:
    """What a sync did, by count."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    restored: int = 0
    unchanged: int = 0
    #: Finished tasks (submitted, accepted) that the plan would have changed but
    #: that are kept as they were.
    kept_finished: int = 0
    statements: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.restored + self.unchanged + self.kept_finished


def occurrence_titles(duty: Duty, seq: int, count: int) -> tuple[str, str]:
    """Chinese and English titles of a duty's ``seq``-th of ``count`` occurrences."""
    if count == 1:
        return duty.title, duty.title_en
    title_en = f"{duty.title_en} ({seq}/{count})" if duty.title_en else ""
    return f"{duty.title}（第{seq}次，共{count}次）", title_en


def planned_occurrences(plan: Plan, year: int) -> list[tuple[Duty, int, object, Phase, str, str]]:
    """Every active duty's occurrences in ``year``: (duty, seq, due, phase, title, title_en)."""
    phases = [p for p in plan.phases if p.active]
    result = []
    for duty in plan.duties:
        if not duty.active:
            continue
        try:
            days = expand_due(duty.due, year, plan.timezone)
        except RecurrenceError as exc:
            raise TrackerError(f"plan {plan.name}, duty {duty.code}: {exc}") from None
        for seq, day in enumerate(days, start=1):
            phase = phase_of(day, phases, year, duty.phase_code)
            if phase is None:
                raise TrackerError(
                    f"plan {plan.name}, duty {duty.code}: due date {day} lies in no phase"
                )
            result.append((duty, seq, day, phase, *occurrence_titles(duty, seq, len(days))))
    return result


def sync_tasks(plan: Plan, year: int, now: datetime, unit_ids: list[int] | None = None) -> SyncReport:
    """Make the plan's tasks for ``year`` match the plan, for all units or the given ones.

    A task is identified by (duty, unit, year, occurrence number). Missing tasks
    are created; pending tasks (open, returned) follow a changed date, title or
    phase; pending tasks the plan no longer has are cancelled; finished ones are
    left alone. The work is a fixed number of bulk statements whatever the
    number of duties, so loading a town stays fast.
    """
    report = SyncReport()
    unit_query = sa.select(Unit.id, Unit.kind).where(Unit.active)
    if unit_ids is not None:
        unit_query = unit_query.where(Unit.id.in_(unit_ids))
    units = db.session.execute(unit_query).all()
    units_by_kind: dict[str, list[int]] = {}
    for unit_id, kind in units:
        units_by_kind.setdefault(kind.value, []).append(unit_id)

    wanted = {}
    for duty, seq, day, phase, title, title_en in planned_occurrences(plan, year):
        for kind in duty.applies_to:
            for unit_id in units_by_kind.get(kind, ()):
                wanted[(duty.id, unit_id, seq)] = (day, phase, title, title_en)

    existing_query = (
        sa.select(Task.id, Task.duty_id, Task.unit_id, Task.seq, Task.due_date, Task.phase_id,
                  Task.title, Task.title_en, Task.status, Task.due_manual)
        .where(Task.plan_id == plan.id, Task.year == year, Task.duty_id.is_not(None))
    )
    if unit_ids is not None:
        existing_query = existing_query.where(Task.unit_id.in_(unit_ids))
    phase_codes = {p.id: p.code for p in plan.phases}

    updates, events = [], []
    for row in db.session.execute(existing_query):
        want = wanted.pop((row.duty_id, row.unit_id, row.seq), None)
        if want is None:
            if row.status in PENDING:
                updates.append({"id": row.id, "status": TaskStatus.CANCELLED, "updated_at": now})
                events.append(_event(row.id, now, TaskEventKind.CANCELLED,
                                     {"status": [row.status.value, "cancelled"]}))
                report.cancelled += 1
            continue
        day, phase, title, title_en = want
        if row.due_manual:
            # The coordinator moved this one by hand: the plan does not move it back.
            day, phase = row.due_date, next(p for p in plan.phases if p.id == row.phase_id)
        changes = {}
        if row.due_date != day:
            changes["due_date"] = [row.due_date.isoformat(), day.isoformat()]
        if row.phase_id != phase.id:
            changes["phase"] = [phase_codes.get(row.phase_id), phase.code]
        if row.title != title:
            changes["title"] = [row.title, title]
        if row.title_en != title_en:
            changes["title_en"] = [row.title_en, title_en]
        if row.status == TaskStatus.CANCELLED:
            changes["status"] = ["cancelled", "open"]
            kind = TaskEventKind.RESTORED
            report.restored += 1
        elif not changes:
            report.unchanged += 1
            continue
        elif row.status not in PENDING:
            report.kept_finished += 1
            continue
        else:
            kind = TaskEventKind.PLAN_UPDATED
            report.updated += 1
        updates.append({
            "id": row.id, "due_date": day, "phase_id": phase.id, "title": title,
            "title_en": title_en, "updated_at": now,
            "status": TaskStatus.OPEN if row.status == TaskStatus.CANCELLED else row.status,
        })
        events.append(_event(row.id, now, kind, changes))

    inserts = [
        {"plan_id": plan.id, "duty_id": duty_id, "unit_id": unit_id, "year": year, "seq": seq, "due_date": day,
         "phase_id": phase.id, "title": title, "title_en": title_en,
         "status": TaskStatus.OPEN, "created_at": now, "updated_at": now}
        for (duty_id, unit_id, seq), (day, phase, title, title_en) in wanted.items()
    ]
    report.created = len(inserts)
    if inserts:
        db.session.execute(sa.insert(Task), inserts)
    # Bulk UPDATE by primary key needs rows of one shape: split cancellations.
    cancels = [u for u in updates if len(u) == 3]
    changed = [u for u in updates if len(u) > 3]
    for batch in (cancels, changed):
        if batch:
            db.session.execute(sa.update(Task), batch)
    if events:
        db.session.execute(sa.insert(TaskEvent), events)
    return report


def _event(task_id: int, now: datetime, kind: TaskEventKind, changes: dict) -> dict:
    return {"task_id": task_id, "at": now, "actor_id": None, "kind": kind, "changes": changes}


# -- work on a task: completion, evidence, review, dates ------------------------

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


def remove_evidence(task: Task, actor, evidence: EvidenceFile, now: datetime) -> str:
    """Detach a file from a pending task; returns its stored name for deletion after commit."""
    _require_pending(task)
    stored = evidence.stored_name
    record(task, actor, TaskEventKind.EVIDENCE_REMOVED, now, file=evidence.original_name)
    db.session.delete(evidence)
    db.session.flush()
    return stored


def submit(task: Task, actor, note: str, statement: str, now: datetime) -> None:
    """Record completion: the note, statement and files go to the coordinator for review."""
    save_work(task, actor, note, statement, now)
    if needs_files(task) and not task.evidence_files:
        raise TrackerError(_("Attach the evidence the plan asks for before submitting."))
    if statement_cap(task) is not None and not task.statement:
        raise TrackerError(_("Write the statement the plan asks for before submitting."))
    if task.duty is None and not (task.note or task.evidence_files):
        raise TrackerError(_("Add a note or a file before submitting."))
    previous = task.status
    task.status = TaskStatus.SUBMITTED
    task.submitted_at, task.submitted_by = now, actor
    record(task, actor, TaskEventKind.SUBMITTED, now, status=[previous.value, "submitted"])
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
    plan_year = db.session.scalars(
        sa.select(PlanYear).where(PlanYear.year == day.year).order_by(PlanYear.loaded_at.desc())
    ).first()
    if plan_year is None:
        raise TrackerError(_("No plan is loaded for %(year)d: load one first.", year=day.year))
    plan = plan_year.plan
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
