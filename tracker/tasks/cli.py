"""``tracker tasks``: list tasks."""

import click

from tracker.core.cli import TrackerGroup, emit
from tracker.core.web import today
from tracker.phases.services import MAX_YEAR, MIN_YEAR
from tracker.tasks.queries import STATUS_FILTERS, task_rows
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
