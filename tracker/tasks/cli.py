"""``tracker tasks list|submit|review``: tasks, and completion and review for bulk work
and scripts (the web's rules and history); ``tracker plan list|load|set-date``: plans
loaded into tasks."""

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app

from tracker.auth.models import User
from tracker.auth.services import get_user
from tracker.core.cli import FormatChoice, TrackerGroup, emit, format_table, now_option
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.errors import TrackerError
from tracker.core.web import MAX_ID, today
from tracker.extensions import db
from tracker.phases.cli import plan_cli
from tracker.phases.models import Duty, Plan
from tracker.phases.planfile import bundled_plans, read_plan
from tracker.phases.services import plan_for_year
from tracker.tasks import evidence
from tracker.tasks.loading import load_plan, set_duty_date
from tracker.tasks.models import Task
from tracker.tasks.queries import task_rows
from tracker.tasks.scope import can_review, can_work_on
from tracker.tasks.states import STATUS_FILTERS
from tracker.tasks.services import (Occurrence, add_evidence, records_occurrences, review,
                                    submit)
from tracker.units.services import get_unit
from tracker.workdays.cli import unknown_year_note

TABLE_COLUMNS = ["id", "unit", "duty", "title", "due", "phase", "status", "overdue"]
ALL_COLUMNS = ["id", "unit", "duty", "title", "title_en", "year", "seq", "due", "phase",
               "status", "overdue"]

tasks_cli = TrackerGroup("tasks", help="Tasks: each unit's due items.")
evidence_cli = TrackerGroup("evidence", help="Evidence files kept on disk.")


@evidence_cli.command("cleanup")
@now_option("Judge the files' age at this instant (default: now).")
def cleanup_evidence_command(now):
    """Remove evidence files no task has (left by an upload or a removal cut short, or
    half-written), once a day old. The scheduler does this every night too."""
    from tracker.tasks.services import cleanup_evidence

    removed = cleanup_evidence(now)
    for name in removed:
        click.echo(f"removed {name}")
    click.echo(f"{len(removed)} orphaned evidence files removed.")


@tasks_cli.command("list")
@click.option("--unit", "unit_name", help="Only this unit's tasks.")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), help="Only this year.")
@click.option("--status", type=click.Choice(STATUS_FILTERS),
              help="Only these tasks (as status= on the pages and feeds); without it, all but "
                   "the cancelled.")
@click.option("--format", "fmt", type=FormatChoice(), default="table",
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
@click.option("--from", "effective_from", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day the plan takes effect (a plan issued mid-year): nothing due "
                   "before it is asked of the units.")
@click.option("--replace", is_flag=True,
              help="Replace the year's plan if it has another: its open tasks are cancelled, "
                   "finished work carries over where the duty code matches.")
def load(name_or_file, year, effective_from, replace):
    """Load a plan for a year: make each unit's tasks, or bring them in step with the plan."""
    spec = read_plan(name_or_file)
    result = load_plan(spec, year, now=utcnow(), replace=replace,
                       effective_from=effective_from.date() if effective_from else None)
    db.session.commit()
    r = result.tasks
    state = "updated" if result.definitions_changed else "unchanged"
    click.echo(f"Plan {spec.name} ({state}) loaded for {year}: {r.created} tasks created, "
               f"{r.updated} updated, {r.cancelled} cancelled, {r.restored} restored, "
               f"{r.unchanged} unchanged, {r.kept_finished} finished kept as they were; "
               f"{r.on_working_days} due on the working day before or after a day off.")
    if r.before_effective:
        click.echo(f"The plan takes effect on {result.effective_from:%Y-%m-%d}: of the "
                   f"{r.before_effective} occurrences due before it, the units' one-off work "
                   f"and the occurrences a minimum counts are asked as {r.caught_up} catch-up "
                   f"tasks (补报), the rest not at all.")
    if r.kept_record:
        click.echo(f"{r.kept_record} tasks the plan no longer asks for, or due before it took "
                   f"effect, are kept as they are (overdue or returned work is never "
                   f"cancelled).")
    if result.carried_over:
        click.echo(f"{result.carried_over} finished tasks carried over from the plan replaced.")
    if not result.holidays_known:
        click.echo(f"Note: {unknown_year_note(year)}", err=True)


@plan_cli.command("set-date")
@click.argument("duty")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The due date, YYYY-MM-DD.")
@click.option("--clear", is_flag=True, help="Take the date back: the duty is to be set again.")
def set_date(duty, year, day, clear):
    """Set the date of a duty set each year (e.g. the party congress's contingency plan)."""
    if bool(day) == clear:
        raise TrackerError("give --date YYYY-MM-DD or --clear")
    plan = plan_for_year(year)
    report = set_duty_date(plan, duty, year, day.date() if day else None, None, utcnow())
    db.session.commit()
    click.echo(f"{duty} in {year}: " + (f"due {day:%Y-%m-%d}" if day else "date to be set")
               + f"; {report.created} tasks made, {report.updated} moved, "
                 f"{report.cancelled} cancelled.")


def _task_and_person(task_id: int, email: str) -> tuple[Task, User]:
    # Past the INTEGER column no row can be named (PostgreSQL would refuse the query).
    task = db.session.get(Task, task_id) if task_id <= MAX_ID else None
    if task is None:
        raise TrackerError(f"there is no task {task_id}")
    user = get_user(email)
    if not user.active:
        raise TrackerError(f"{user.email} is deactivated")
    return task, user


@tasks_cli.command("submit")
@click.argument("task_id", type=click.IntRange(1, 2**63 - 1), metavar="ID")
@click.option("--as", "email", required=True, metavar="EMAIL", help="Who records the work.")
@click.option("--note", help="The completion note (default: the one saved).")
@click.option("--file", "paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="An evidence file to attach (repeat for several).")
@click.option("--statement", help="The written statement, where the plan asks for one.")
@click.option("--held", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="For a duty recorded by occurrence: the day it was held.")
@click.option("--attendance", type=click.IntRange(1, 100_000), help="... how many took part.")
@click.option("--mark", "marks", multiple=True, metavar="CODE",
              help="... a mark the plan asks about (e.g. ideology); repeat for several.")
def submit_task(task_id, email, note, paths, statement, held, attendance, marks):
    """Record a task's completion and submit it for review, with the web's rules."""
    task, user = _task_and_person(task_id, email)
    if not can_work_on(user, task):
        raise TrackerError(f"{user.email} may not record work on task {task_id} "
                           f"({task.unit.name})")
    now, stored = utcnow(), []
    folder, limit = evidence.folder(), current_app.config["MAX_EVIDENCE_BYTES"]
    try:
        for path in paths:
            try:
                with open(path, "rb") as fh:
                    data = fh.read(limit + 1)
            except OSError as exc:
                raise TrackerError(f"{path}: cannot read the file: {exc.strerror}") from None
            try:
                checked = evidence.check(data, path.name, limit)
            except TrackerError as exc:
                raise TrackerError(f"{path}: {exc}") from None
            stored.append(evidence.store(data, checked, folder, task.year))
            add_evidence(task, user, checked, stored[-1], now)
        occurrence = Occurrence(held.date() if held else None, attendance, tuple(marks))
        submit(task, user, task.note if note is None else note,
               task.statement if statement is None else statement, now,
               occurrence if records_occurrences(task) else None)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for name in stored:
            evidence.path_of(folder, name).unlink(missing_ok=True)
        raise
    click.echo(f"Task {task.id} ({task.title}, {task.unit.name}) submitted for review by "
               f"{user.email}.")


@tasks_cli.command("review")
@click.argument("task_id", type=click.IntRange(1, 2**63 - 1), metavar="ID")
@click.option("--as", "email", required=True, metavar="EMAIL", help="The coordinator reviewing.")
@click.option("--accept", "verdict", flag_value="accept", help="Accept the work.")
@click.option("--return", "verdict", flag_value="return", help="Return it for rework.")
@click.option("--comment", default="", help="What needs rework (required with --return).")
def review_task(task_id, email, verdict, comment):
    """Accept submitted work, or return it with a comment, with the web's rules."""
    if verdict is None:
        raise TrackerError("give --accept or --return --comment TEXT")
    task, user = _task_and_person(task_id, email)
    if not can_review(user):
        raise TrackerError(f"{user.email} is not the coordinator and may not review work")
    review(task, user, verdict == "accept", comment, utcnow())
    db.session.commit()
    click.echo(f"Task {task.id} ({task.title}, {task.unit.name}) "
               f"{'accepted' if verdict == 'accept' else 'returned for rework'}.")
