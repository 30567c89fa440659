"""Loading a plan for a year: making each unit's tasks, and keeping them in step with the
plan when it changes or units are added. Flush, never commit: the caller (CLI command,
request, job) commits once.
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.phases.models import Duty, Phase, Plan, PlanYear
from tracker.phases.planfile import PlanSpec
from tracker.phases.recurrence import RecurrenceError, expand_due, phase_of
from tracker.phases.services import check_year, install_plan
from tracker.tasks.models import PENDING, Task, TaskEvent, TaskEventKind, TaskStatus
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


@dataclass
class LoadResult:
    plan: Plan
    year: int
    definitions_changed: bool
    tasks: SyncReport


def load_plan(spec: PlanSpec, year: int, now: datetime) -> LoadResult:
    """Install the plan and make (or update) its tasks for ``year`` for every unit."""
    check_year(year)
    plan, changed = install_plan(spec, now)
    if db.session.get(PlanYear, (plan.id, year)) is None:
        db.session.add(PlanYear(plan_id=plan.id, year=year, loaded_at=now))
    report = sync_tasks(plan, year, now)
    return LoadResult(plan=plan, year=year, definitions_changed=changed, tasks=report)


def sync_loaded_years(now: datetime, unit_ids: list[int]) -> list[tuple[Plan, int, SyncReport]]:
    """Give units (e.g. just added) their tasks for every year a plan is loaded for."""
    results = []
    plan_years = db.session.scalars(
        sa.select(PlanYear).options(selectinload(PlanYear.plan)).order_by(PlanYear.year)
    ).all()
    for plan_year in plan_years:
        report = sync_tasks(plan_year.plan, plan_year.year, now, unit_ids=unit_ids)
        results.append((plan_year.plan, plan_year.year, report))
    return results

