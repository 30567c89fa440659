"""``tracker plan show`` (a plan file, validated and printed) and ``plan import`` (the
scoring table of an official Word document as a draft). The commands that make tasks from
a plan (``plan list``, ``plan load``) are the tasks area's, on the same group."""

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
        due = (d.due.get("rrule") or ", ".join(d.due.get("dates", ()))
               or f"set by the {d.due['set_by']}")
        click.echo(f"  {d.code:30} {due:50} {', '.join(d.rubric)}")


@plan_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the rubric as a draft plan file (TOML) here.")
@click.option("--force", is_flag=True, help="Overwrite the draft file if it exists.")
def import_plan(file, fmt, output, force):
    """Read the scoring table (考核评分细则) of a Word document (.docx) into a draft plan."""
    # Imported here so that python-docx and lxml load for this command only, not for
    # every `tracker` command.
    from pathlib import Path

    from tracker.core.cli import CLIError
    from tracker.phases.docximport import MAX_DOCUMENT_BYTES, draft_toml, read_document
    from tracker.phases.planfile import PlanError

    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise PlanError(f"{file}: cannot read the document: {exc.strerror}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise PlanError(f"{file}: the document is larger than "
                        f"{MAX_DOCUMENT_BYTES // 2**20} MB")
    imported = read_document(data, file)
    if output:
        draft = draft_toml(imported, Path(output).stem)
        try:
            # "x": a draft someone has edited since is never overwritten by accident.
            with open(output, "w" if force else "x", encoding="utf-8") as out:
                out.write(draft)
        except FileExistsError:
            raise CLIError(f"{output} exists; add --force to overwrite it") from None
        except OSError as exc:
            raise CLIError(f"{output}: cannot write the draft: {exc.strerror}") from None
    if fmt == "json":
        click.echo(json.dumps(imported.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(imported.title or "(no title found)")
    facts = [imported.document_number, imported.issuer,
             imported.issued_on.isoformat() if imported.issued_on else ""]
    if any(facts):
        click.echo("  " + "  ".join(filter(None, facts)))
    click.echo(f"Rubric: {imported.rubric_title or '(no title found)'}")
    click.echo(f"  {imported.total} points, {len(imported.groups)} groups, "
               f"{len(imported.leaves())} rows")
    for g in imported.groups:
        rows = sum(1 for node in g.walk() if node.is_leaf)
        click.echo(f"  {g.code:3} {g.points:>3}  {g.title} ({rows} rows)")
    if output:
        click.echo(f"Draft written to {output}: add its phases and duties before it loads.")
