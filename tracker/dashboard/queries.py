"""Queries behind the calendar and dashboards: scoped, filtered, a fixed number each."""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.scope import task_scope
from tracker.extensions import db
from tracker.phases.models import Duty, Phase, Plan, PlanYear
from tracker.phases.recurrence import phase_range
from tracker.tasks.models import DUE_SOON_DAYS, Task, TaskStatus
from tracker.units.models import Unit

STATE_FILTERS = ("open", "soon", "overdue", "submitted", "returned", "accepted", "cancelled",
                 "pending", "done")


def state_expr(today: date):
    """SQL for the state a task is shown in (see ``Task.display_state``)."""
    pending = Task.status.in_([TaskStatus.OPEN, TaskStatus.RETURNED])
    return sa.case(
        (pending & (Task.due_date < today), "overdue"),
        (Task.status == TaskStatus.RETURNED, "returned"),
        ((Task.status == TaskStatus.OPEN)
         & (Task.due_date <= today + timedelta(days=DUE_SOON_DAYS)), "soon"),
        else_=sa.type_coerce(Task.status, sa.String),
    )


@dataclass
class Filters:
    """What a calendar or list is narrowed to."""

    unit_id: int | None = None
    phase: str | None = None
    state: str | None = None
    duty: str | None = None
    year: int | None = None
    due: date | None = None

    def clauses(self, today: date) -> list:
        out = []
        if self.unit_id is not None:
            out.append(Task.unit_id == self.unit_id)
        if self.phase:
            out.append(Task.phase_id.in_(sa.select(Phase.id).where(Phase.code == self.phase)))
        if self.duty:
            out.append(Task.duty_id.in_(sa.select(Duty.id).where(Duty.code == self.duty)))
        if self.year is not None:
            out.append(Task.year == self.year)
        if self.due is not None:
            out.append(Task.due_date == self.due)
        if self.state == "pending":
            out.append(Task.status.in_([TaskStatus.OPEN, TaskStatus.RETURNED]))
        elif self.state == "done":
            out.append(Task.status.in_([TaskStatus.SUBMITTED, TaskStatus.ACCEPTED]))
        elif self.state:
            out.append(state_expr(today) == self.state)
        else:
            out.append(Task.status != TaskStatus.CANCELLED)
        return out


def scoped(user, filters: Filters, today: date):
    """WHERE clauses: what ``user`` may see, narrowed by ``filters``."""
    return [task_scope(user), *filters.clauses(today)]


def tasks_between(user, filters: Filters, today: date, start: date, end: date) -> list[Task]:
    """Tasks due in [start, end] with their unit, for a unit-level calendar."""
    return db.session.scalars(
        sa.select(Task).options(joinedload(Task.unit))
        .where(*scoped(user, filters, today), Task.due_date.between(start, end))
        .order_by(Task.due_date, Task.unit_id, Task.title)
    ).all()


@dataclass
class DayGroup:
    """Town view: one occurrence of a duty on a day, counted by state."""

    due_date: date
    duty_id: int | None
    title: str
    title_en: str
    counts: dict

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def groups_between(user, filters: Filters, today: date, start: date, end: date):
    """Town calendar: tasks due in [start, end] grouped by day and duty, counted by state."""
    state = state_expr(today).label("state")
    rows = db.session.execute(
        sa.select(Task.due_date, Task.duty_id, Task.title, Task.title_en, state,
                  sa.func.count().label("n"))
        .where(*scoped(user, filters, today), Task.due_date.between(start, end))
        .group_by(Task.due_date, Task.duty_id, Task.title, Task.title_en, state)
        .order_by(Task.due_date, Task.title)
    ).all()
    groups: dict = {}
    for r in rows:
        key = (r.due_date, r.duty_id, r.title)
        group = groups.setdefault(key, DayGroup(r.due_date, r.duty_id, r.title, r.title_en, {}))
        group.counts[r.state] = r.n
    return list(groups.values())


def phase_ranges(years: list[int]) -> list[tuple[Phase, date, date]]:
    """Active phases of every plan loaded for ``years``, as dated ranges."""
    plan_years = db.session.scalars(
        sa.select(PlanYear).where(PlanYear.year.in_(years))
        .options(selectinload(PlanYear.plan).selectinload(Plan.phases))
    ).all()
    ranges = []
    for py in plan_years:
        for phase in py.plan.phases:
            if phase.active:
                start, end = phase_range(phase, py.year)
                ranges.append((phase, start, end))
    return sorted(ranges, key=lambda r: (r[1], r[2]))


def filter_options(with_units: bool):
    """Units (for the coordinator), duties and phases to offer in the filter form."""
    units = db.session.execute(
        sa.select(Unit.id, Unit.name).where(Unit.active).order_by(Unit.kind, Unit.name)
    ).all() if with_units else []
    duties = db.session.execute(
        sa.select(Duty.code, Duty.title, Duty.title_en).where(Duty.active)
        .order_by(Duty.plan_id, Duty.position)).all()
    phases = db.session.execute(
        sa.select(Phase.code, Phase.title, Phase.title_en).where(Phase.active)
        .order_by(Phase.plan_id, Phase.position)).all()
    return units, _unique(duties), _unique(phases)


def _unique(rows):
    seen, out = set(), []
    for row in rows:
        if row.code not in seen:
            seen.add(row.code)
            out.append(row)
    return out


def state_counts(user, filters: Filters, today: date, by):
    """Counts of tasks by ``by`` (a column) and state: {(key, state): n}."""
    state = state_expr(today).label("state")
    rows = db.session.execute(
        sa.select(by, state, sa.func.count()).where(*scoped(user, filters, today))
        .group_by(by, state)
    ).all()
    return {(key, st): n for key, st, n in rows}


def task_page(user, filters: Filters, today: date, page: int, per_page: int = 50):
    """One page of the filtered task list, and the total count."""
    where = scoped(user, filters, today)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Task).where(*where))
    tasks = db.session.scalars(
        sa.select(Task).options(joinedload(Task.unit), joinedload(Task.phase))
        .where(*where).order_by(Task.due_date, Task.unit_id, Task.title)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return tasks, total


def upcoming(user, unit_id: int, today: date, overdue: bool, limit: int) -> list[Task]:
    """A unit's pending tasks: the next due ones, or the overdue ones."""
    pending = Task.status.in_([TaskStatus.OPEN, TaskStatus.RETURNED])
    when = Task.due_date < today if overdue else Task.due_date >= today
    return db.session.scalars(
        sa.select(Task).where(task_scope(user), Task.unit_id == unit_id, pending, when)
        .order_by(Task.due_date, Task.title).limit(limit)
    ).all()
