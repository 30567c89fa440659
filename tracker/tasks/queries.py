"""Reading tasks: the filters the CLI (and later the web) share."""

from datetime import date

import sqlalchemy as sa

from tracker.extensions import db
from tracker.phases.models import Duty, Phase
from tracker.tasks.models import PENDING, Task, TaskStatus
from tracker.units.models import Unit

#: Status filters: the stored statuses, plus the derived ``overdue``.
STATUS_FILTERS = [s.value for s in TaskStatus] + ["overdue"]


def task_rows(today: date, unit_id: int | None = None, year: int | None = None,
              status: str | None = None) -> list[dict]:
    """Tasks as plain records for listing, ordered by due date then unit."""
    query = (
        sa.select(Task.id, Task.year, Task.seq, Task.title, Task.title_en, Task.due_date,
                  Task.status, Unit.name.label("unit"), Duty.code.label("duty"),
                  Phase.code.label("phase"))
        .join(Unit, Task.unit_id == Unit.id)
        .outerjoin(Duty, Task.duty_id == Duty.id)
        .outerjoin(Phase, Task.phase_id == Phase.id)
        .order_by(Task.due_date, Unit.name, Duty.position, Task.seq)
    )
    if unit_id is not None:
        query = query.where(Task.unit_id == unit_id)
    if year is not None:
        query = query.where(Task.year == year)
    if status == "overdue":
        query = query.where(Task.status.in_(PENDING), Task.due_date < today)
    elif status:
        query = query.where(Task.status == TaskStatus(status))
    return [
        {"id": r.id, "unit": r.unit, "duty": r.duty or "", "title": r.title, "title_en": r.title_en,
         "year": r.year, "seq": r.seq, "due": r.due_date.isoformat(), "phase": r.phase or "",
         "status": r.status.value,
         "overdue": r.status in PENDING and r.due_date < today}
        for r in db.session.execute(query)
    ]
