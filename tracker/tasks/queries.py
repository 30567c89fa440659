"""Reading tasks: the filters and queries that the calendar, the lists, the dashboards and
the CLI share. Scoped (``tracker.tasks.scope``), filtered, a fixed number of statements
each."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from tracker.extensions import db
from tracker.phases.models import Duty, Phase, Plan, PlanYear
from tracker.phases.recurrence import phase_range
from tracker.tasks.filters import Filters
from tracker.tasks.models import PENDING, Task
from tracker.tasks.scope import task_scope
from tracker.tasks.states import COUNTED
from tracker.units.models import Unit


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
    state = Task.state_clause(today).label("state")
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
    """Counts of tasks by ``by`` (a column) and display state (a partition, for charts):
    {(key, state): n}."""
    state = Task.state_clause(today).label("state")
    rows = db.session.execute(
        sa.select(by, state, sa.func.count()).where(*scoped(user, filters, today))
        .group_by(by, state)
    ).all()
    return {(key, st): n for key, st, n in rows}


def status_counts(user, filters: Filters, today: date, by, values=COUNTED) -> dict:
    """How many tasks each status filter in ``values`` selects, per ``by`` (a column), as
    the task list with ``status=`` lists them: {key: {value: n, "all": n}}, where "all"
    is every task ``filters`` selects. One statement."""
    columns = [sa.func.sum(sa.case((Task.status_filter(v, today), 1), else_=0)) for v in values]
    rows = db.session.execute(
        sa.select(by, sa.func.count(), *columns).where(*scoped(user, filters, today))
        .group_by(by)
    ).all()
    return {key: {"all": total, **dict(zip(values, ns))} for key, total, *ns in rows}


def page_of_day(user, filters: Filters, today: date, day: date, per_page: int) -> int:
    """The page of the filtered task list (by due date) where ``day`` begins: the first
    holding a task due on it or later, else the last."""
    total, before = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(
            sa.func.sum(sa.case((Task.due_date < day, 1), else_=0)), 0))
        .select_from(Task).where(*scoped(user, filters, today))
    ).one()
    return max(min(before // per_page + 1, (total + per_page - 1) // per_page), 1)


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
    when = (Task.overdue_clause(today) if overdue
            else Task.status.in_(sorted(PENDING)) & (Task.due_date >= today))
    return db.session.scalars(
        sa.select(Task).where(task_scope(user), Task.unit_id == unit_id, when)
        .order_by(Task.due_date, Task.title).limit(limit)
    ).all()


def task_rows(today: date, unit_id: int | None = None, year: int | None = None,
              status: str | None = None) -> list[dict]:
    """Tasks as plain records for the CLI, ordered by due date then unit; ``status`` is one
    of ``tracker.tasks.states.STATUS_FILTERS`` (without it, every task but the cancelled, as on the pages and in the feeds)."""
    query = (
        sa.select(Task.id, Task.year, Task.seq, Task.title, Task.title_en, Task.due_date,
                  Task.status, Unit.name.label("unit"), Duty.code.label("duty"),
                  Phase.code.label("phase"), Task.overdue_clause(today).label("overdue"))
        .join(Unit, Task.unit_id == Unit.id)
        .outerjoin(Duty, Task.duty_id == Duty.id)
        .outerjoin(Phase, Task.phase_id == Phase.id)
        .order_by(Task.due_date, Unit.name, Duty.position, Task.seq)
    )
    if unit_id is not None:
        query = query.where(Task.unit_id == unit_id)
    if year is not None:
        query = query.where(Task.year == year)
    query = query.where(Task.status_filter(status, today))
    return [
        {"id": r.id, "unit": r.unit, "duty": r.duty or "", "title": r.title, "title_en": r.title_en,
         "year": r.year, "seq": r.seq, "due": r.due_date.isoformat(), "phase": r.phase or "",
         "status": r.status.value, "overdue": bool(r.overdue)}
        for r in db.session.execute(query)
    ]
