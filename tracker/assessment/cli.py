"""``tracker assessment``: the scoring sheet from the command line."""

from pathlib import Path

import click

from tracker.assessment import export
from tracker.assessment.services import assessed_units, layout_for, ranking_groups, results
from tracker.core.cli import TrackerGroup
from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, local_today, utcnow
from tracker.phases.services import plan_for_year
from tracker.units.services import get_unit

assessment_cli = TrackerGroup("assessment", help="The year-end assessment.")


@assessment_cli.command("export")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--unit", "unit_name", help="Only this unit (default: every assessed unit).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="FILE.xlsx (the annex's layout) or FILE.csv.")
def export_sheet(year, unit_name, output):
    """Write the scoring sheet: one sheet per unit and a ranked summary (.xlsx), or CSV."""
    suffix = output.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise TrackerError(f"{output}: the file must end in .xlsx or .csv")
    plan = plan_for_year(year)
    units = [get_unit(unit_name)] if unit_name else assessed_units()
    layout, groups = layout_for(plan)
    scored = results(plan, year, units, local_today(utcnow(), plan.timezone))
    ordered = [scored[u.id] for u in units]
    try:
        if suffix == ".csv":
            output.write_text(export.csv_text(layout, ordered), encoding="utf-8", newline="")
        else:
            with open(output, "wb") as stream:
                export.write_xlsx(stream, f"{plan.rubric_title or plan.title}（{year}）",
                                  layout, groups, ordered, ranking_groups(plan))
    except OSError as exc:
        raise TrackerError(f"{output}: cannot write: {exc.strerror}") from None
    click.echo(f"Wrote {output}: {len(ordered)} units, {len(layout.rows)} rows each.")
