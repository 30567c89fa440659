"""``tracker tasks``: list tasks; ``tracker plan list|load``: plans loaded into tasks."""

import click
import sqlalchemy as sa

from tracker.core.cli import TrackerGroup, emit, format_table
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.web import today
from tracker.extensions import db
from tracker.phases.cli import plan_cli
from tracker.phases.models import Duty, Plan
from tracker.phases.planfile import bundled_plans, read_plan
from tracker.tasks.loading import load_plan
from tracker.tasks.models import STATUS_FILTERS, Task
from tracker.tasks.queries import task_rows
from tracker.units.services import get_unit

TABLE_COLUMNS = ["id", "unit", "duty", "title", "due", "phase", "status", "overdue"]
ALL_COLUMNS = ["id", "unit", "duty", "title", "title_en", "year", "seq", "due", "phase",
               "status", "overdue"]

tasks_cli = TrackerGroup("tasks", help="Tasks: each unit's due items.")


@tasks_cli.command("list")
@click.option("--unit", "unit_name", help="Only this unit's tasks.")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), help="Only this year.")
@click.option("--status", type=click.Choice(STATUS_FILTERS), help="Only tasks in this status.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
def list_tasks(unit_name, year, status, fmt):
    """List tasks by due date; overdue is judged by today in the configured timezone."""
    unit_id = get_unit(unit_name).id if unit_name else None
    rows = task_rows(today(), unit_id=unit_id, year=year, status=status)
    emit(rows, fmt, TABLE_COLUMNS if fmt == "table" else ALL_COLUMNS)


@plan_cli.command("list")
def list_plans():
    """List the bundled plans and the plans loaded into the database."""
    rows = []
    loaded = {p.name: p for p in db.session.scalars(sa.select(Plan).order_by(Plan.name))}
    counts = dict(db.session.execute(
        sa.select(Duty.plan_id, sa.func.count(Task.id)).join(Task, Task.duty_id == Duty.id)
        .group_by(Duty.plan_id)
    ).all())
    for name, path in bundled_plans().items():
        plan = loaded.pop(name, None)
        rows.append(_row(name, plan, counts, f"bundled ({path.name})"))
    for name, plan in loaded.items():
        rows.append(_row(name, plan, counts, "file"))
    click.echo(format_table(["name", "source", "title", "loaded years", "tasks"], rows))


def _row(name, plan, counts, source):
    if plan is None:
        return [name, source, read_plan(name).title, "-", 0]
    years = ", ".join(str(y.year) for y in plan.years) or "-"
    return [name, source, plan.title, years, counts.get(plan.id, 0)]


@plan_cli.command("load")
@click.argument("name_or_file")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True,
              help="The year to make tasks for.")
def load(name_or_file, year):
    """Load a plan for a year: make each unit's tasks, or bring them in step with the plan."""
    spec = read_plan(name_or_file)
    result = load_plan(spec, year, now=utcnow())
    db.session.commit()
    r = result.tasks
    state = "updated" if result.definitions_changed else "unchanged"
    click.echo(f"Plan {spec.name} ({state}) loaded for {year}: {r.created} tasks created, "
               f"{r.updated} updated, {r.cancelled} cancelled, {r.restored} restored, "
               f"{r.unchanged} unchanged, {r.kept_finished} finished kept as they were.")
