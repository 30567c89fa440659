"""The year in figures: per unit and duty, what was held, who attended, what was accepted
and when. For the 年度工作总结; reads, never writes."""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tracker.extensions import db
from tracker.phases.models import Plan
from tracker.tasks.models import Task, TaskEvent, TaskEventKind, TaskStatus
from tracker.units.models import Unit


@dataclass
class Figures:
    """One unit's year on one duty."""

    unit: str
    duty: str
    title: str
    #: The duty's tasks this year (occurrences asked for), cancelled ones aside.
    tasks: int = 0
    #: Occurrences recorded as held (a date held given, submitted or accepted).
    held: int = 0
    #: Their attendance, added up.
    attendance: int = 0
    #: Held occurrences carrying a mark (e.g. on ideology), and by mark.
    marked: int = 0
    accepted: int = 0
    #: Accepted work submitted by its due date, and after it (the plan's local dates).
    on_time: int = 0
    late: int = 0
    #: Tasks returned for rework at least once.
    returned: int = 0
    marks: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


COLUMNS = ["unit", "duty", "title", "tasks", "held", "attendance", "marked", "accepted",
           "on_time", "late", "returned"]


def figures(plan: Plan, year: int, units: list[Unit]) -> list[Figures]:
    """Per unit (in the given order) and duty (in the plan's), the year's figures; duties
    that asked nothing of a unit are left out. Two queries."""
    tz = ZoneInfo(plan.timezone or "Asia/Shanghai")
    duties = {d.id: d for d in plan.duties}
    where = [Task.plan_id == plan.id, Task.year == year, Task.duty_id.is_not(None),
             Task.status != TaskStatus.CANCELLED, Task.unit_id.in_([u.id for u in units])]
    returned = sa.exists().where(TaskEvent.task_id == Task.id,
                                 TaskEvent.kind == TaskEventKind.RETURNED)
    rows = db.session.execute(
        sa.select(Task.unit_id, Task.duty_id, Task.status, Task.due_date, Task.held_on,
                  Task.attendance, Task.flags, Task.submitted_at, returned).where(*where))
    out: dict[tuple[int, int], Figures] = {}
    names = {u.id: u.name for u in units}
    for unit_id, duty_id, status, due, held_on, attendance, flags, submitted, was_returned \
            in rows:
        duty = duties[duty_id]
        f = out.get((unit_id, duty_id))
        if f is None:
            f = out[(unit_id, duty_id)] = Figures(names[unit_id], duty.code, duty.title)
        f.tasks += 1
        if held_on and status in (TaskStatus.SUBMITTED, TaskStatus.ACCEPTED):
            f.held += 1
            f.attendance += attendance or 0
            if flags:
                f.marked += 1
                for flag in flags:
                    f.marks[flag] = f.marks.get(flag, 0) + 1
        if status == TaskStatus.ACCEPTED:
            f.accepted += 1
            if submitted and submitted.astimezone(tz).date() > due:
                f.late += 1
            else:
                f.on_time += 1
        if was_returned:
            f.returned += 1
    order = {u.id: i for i, u in enumerate(units)}
    position = {d.id: d.position for d in plan.duties}
    return [out[k] for k in sorted(out, key=lambda k: (order[k[0]], position[k[1]], k[1]))]


def by_month(plan: Plan, year: int, units: list[Unit]) -> list[dict[str, int]]:
    """Per month of the year: occurrences held (by the date held) and work accepted (by
    its due date)."""
    months = [defaultdict(int) for _ in range(12)]
    where = [Task.plan_id == plan.id, Task.year == year, Task.duty_id.is_not(None),
             Task.unit_id.in_([u.id for u in units])]
    for held_on, due, status in db.session.execute(
            sa.select(Task.held_on, Task.due_date, Task.status).where(*where)):
        if held_on and held_on.year == year and status in (TaskStatus.SUBMITTED,
                                                           TaskStatus.ACCEPTED):
            months[held_on.month - 1]["held"] += 1
        if status == TaskStatus.ACCEPTED and due.year == year:
            months[due.month - 1]["accepted"] += 1
    return [dict(m) for m in months]


def per_unit(rows: list[Figures]) -> dict[str, dict[str, int]]:
    """The figures added up per unit, in the rows' order."""
    out: dict[str, dict[str, int]] = {}
    for f in rows:
        totals = out.setdefault(f.unit, defaultdict(int))
        for key in ("tasks", "held", "attendance", "marked", "accepted", "on_time", "late",
                    "returned"):
            totals[key] += getattr(f, key)
    return {k: dict(v) for k, v in out.items()}

