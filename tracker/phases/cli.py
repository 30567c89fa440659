"""``tracker plan show``: a plan file, validated and printed. The commands that make tasks
from a plan (``plan list``, ``plan load``) are the tasks area's, on the same group."""

import json

import click

from tracker.core.cli import TrackerGroup
from tracker.phases.planfile import read_plan

plan_cli = TrackerGroup("plan", help="Plans: the phases, rubric and duties of a work plan.")


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
