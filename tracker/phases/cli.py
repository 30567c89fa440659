"""``tracker plan``: list, show and load plans."""

import json

import click
import sqlalchemy as sa

from tracker.core.cli import TrackerGroup, format_table
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import Duty, Plan
from tracker.phases.planfile import bundled_plans, read_plan
from tracker.phases.services import MAX_YEAR, MIN_YEAR, load_plan
from tracker.tasks.models import Task

plan_cli = TrackerGroup("plan", help="Plans: the phases, rubric and duties of a work plan.")


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


@plan_cli.command("show")
@click.argument("name_or_file")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def show_plan(name_or_file, fmt):
    """Validate a plan (bundled name or TOML file) and print it."""
    spec = read_plan(name_or_file)
    if fmt == "json":
        click.echo(json.dumps(spec.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{spec.name}: {spec.title}")
    click.echo(f"  {spec.issuer} {spec.document_number} {spec.issued_on or ''}".rstrip())
    click.echo(f"  timezone {spec.timezone}")
    click.echo("Phases:")
    for p in spec.phases:
        click.echo(f"  {p.code}  {p.start}..{p.end}  {p.title}")
    click.echo(f"Rubric: {spec.rubric_total} points, {len(spec.leaves())} rows")
    for g in spec.rubric:
        click.echo(f"  {g.code}  {g.points:>3}  {g.title}")
    click.echo(f"Duties: {len(spec.duties)}")
    for d in spec.duties:
        due = d.due.get("rrule") or ", ".join(d.due["dates"])
        click.echo(f"  {d.code:30} {due:50} {', '.join(d.rubric)}")


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
