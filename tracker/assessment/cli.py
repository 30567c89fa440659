"""``tracker assessment``: the scoring sheet from the command line."""

from datetime import date
from pathlib import Path

import click
import sqlalchemy as sa

from tracker.assessment import feedback
from tracker.assessment.exports import FEEDBACK, SHEET, scoring_sheet
from tracker.assessment.cycle import (add_visit, draw_sample, import_inputs, rectify_finding,
                                      rectify_row, set_input)
from tracker.assessment.models import Assessment
from tracker.assessment.records import INPUT_NAMES, Finding, InputKind
from tracker.assessment.services import (add_deduction, assessed_units, get_or_start, lock,
                                         results)
from tracker.core.cli import TrackerGroup, output_export, write_export
from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, local_today, utcnow
from tracker.core.web import format_points
from tracker.extensions import db
from tracker.phases.services import plan_for_year
from tracker.units.models import ASSESSED_KINDS
from tracker.units.services import get_unit

assessment_cli = TrackerGroup("assessment", help="The year-end assessment.")


@assessment_cli.command("export")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--unit", "unit_name", help="Only this unit (default: every assessed unit).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="FILE.xlsx (the annex's layout) or FILE.csv (or another "
              "format registered for the scoring sheet).")
def export_sheet(year, unit_name, output):
    """Write the scoring sheet: one sheet per unit and a ranked summary (.xlsx), or CSV."""
    export = output_export(SHEET, output)
    plan = plan_for_year(year)
    units = [get_unit(unit_name)] if unit_name else assessed_units()
    sheet = scoring_sheet(plan, year, units, local_today(utcnow(), plan.timezone))
    write_export(export, sheet, output)
    click.echo(f"Wrote {output}: {len(sheet.results)} units, {len(sheet.layout.rows)} rows "
               f"each.")


# -- the year-end cycle, with the web's rules -------------------------------------------

def _units(unit_name: str | None) -> list:
    return [get_unit(unit_name)] if unit_name else assessed_units()


def _assessed(unit):
    if str(unit.kind) not in ASSESSED_KINDS:
        raise TrackerError(f"{unit.name} is not assessed on the rubric (the coordinator's "
                           f"own office)")
    return unit


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise TrackerError(f"{what} {value!r} is not a date written YYYY-MM-DD") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrackerError(f"{path}: cannot read: {exc.strerror}") from None


YEAR = click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)


@assessment_cli.command("begin")
@YEAR
@click.option("--unit", "unit_name", help="Only this unit (default: every assessed unit).")
def begin(year, unit_name):
    """Begin the assessment: the deductions the evidence suggests are recorded."""
    plan, now = plan_for_year(year), utcnow()
    units = [_assessed(u) for u in _units(unit_name)]
    started = 0
    for unit in units:
        assessment = get_or_start(unit, plan, year, None, now, begin=False)
        if assessment.begun_at is None:
            get_or_start(unit, plan, year, None, now)
            started += 1
    db.session.commit()
    click.echo(f"Begun: {started} of {len(units)} units ({len(units) - started} already begun).")


@assessment_cli.command("deduct")
@YEAR
@click.option("--unit", "unit_name", required=True)
@click.option("--row", "code", required=True, help="The rubric row's code, e.g. 1-4-1.")
@click.option("--points", required=True, help="Points taken off (one decimal at most).")
@click.option("--reason", required=True)
def deduct(year, unit_name, code, points, reason):
    """Take points off a row, with the reason (the assessment begins if it had not)."""
    plan, now = plan_for_year(year), utcnow()
    unit = _assessed(get_unit(unit_name))
    node = _row(plan, code)
    assessment = get_or_start(unit, plan, year, None, now)
    deduction = add_deduction(assessment, node.id, points, reason, None, now)
    db.session.commit()
    click.echo(f"{unit.name} {node.code}: -{format_points(deduction.points)} "
               f"({deduction.reason}); total {format_points(_total(plan, year, unit))}.")


def _row(plan, code: str):
    node = next((n for n in plan.rubric_nodes if n.code == code.strip() and n.is_leaf
                 and n.active), None)
    if node is None:
        raise TrackerError(f"no rubric row {code!r} in the plan {plan.name}")
    return node


def _total(plan, year, unit):
    return results(plan, year, [unit], local_today(utcnow(), plan.timezone))[unit.id].total


@assessment_cli.command("lock")
@YEAR
@click.option("--unit", "unit_name", help="Only this unit (default: every begun one).")
def lock_command(year, unit_name):
    """Declare the score final: nothing of it changes after."""
    plan, now = plan_for_year(year), utcnow()
    if unit_name:
        unit = _assessed(get_unit(unit_name))
        lock(get_or_start(unit, plan, year, None, now), None, now)
        done = [unit.name]
    else:
        done = []
        for assessment in db.session.scalars(sa.select(Assessment).where(
                Assessment.plan_id == plan.id, Assessment.year == year,
                Assessment.begun_at.is_not(None), Assessment.locked_at.is_(None))):
            lock(assessment, None, now)
            done.append(assessment.unit.name)
        if not done:
            raise TrackerError(f"no begun assessment of {year} is left to lock")
    db.session.commit()
    click.echo(f"Locked: {', '.join(done)}.")


@assessment_cli.command("input")
@YEAR
@click.option("--unit", "unit_name", required=True)
@click.option("--kind", required=True, type=click.Choice([k.value for k in InputKind]))
@click.option("--score", help="A score from 0 to 100.")
@click.option("--grade", help="A grade instead of a score (e.g. 优秀).")
@click.option("--note", default="")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
              help="A supporting file, kept with the record.")
def input_command(year, unit_name, kind, score, grade, note, path):
    """Record a unit's 年中评估, 群众评议, 抽查 or 日常督导 result."""
    if (score is None) == (grade is None):
        raise TrackerError("give --score N or --grade TEXT (one of them)")
    unit = _assessed(get_unit(unit_name))
    file = (path.name, _read(path)) if path else None
    entry = set_input(unit, year, kind, score, grade, note, "录入（命令行）", None, utcnow(),
                      file=file)
    db.session.commit()
    click.echo(f"{unit.name} {INPUT_NAMES[entry.kind.value]} {year}: {entry.figure}.")


@assessment_cli.command("input-import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@YEAR
@click.option("--kind", required=True, type=click.Choice(["midyear", "public"]))
def input_import(path, year, kind):
    """Import 年中评估 or 群众评议 results from CSV or .xlsx (a 问卷星 export: a header row,
    a unit-name column and a score column; several rows of a unit are averaged)."""
    entries = import_inputs(path.name, _read(path), year, kind, None, utcnow())
    db.session.commit()
    click.echo(f"Imported {len(entries)} units' {INPUT_NAMES[kind]} of {year} from {path}.")


@assessment_cli.command("sample")
@YEAR
@click.option("--count", type=click.IntRange(1, 10_000), required=True)
@click.option("--seed", help="The draw's seed (default: a random one, printed); the same "
                             "seed and units give the same draw.")
def sample(year, count, seed):
    """Draw the units of the 抽查 at random and record the draw."""
    spot = draw_sample(year, count, seed, None, utcnow())
    db.session.commit()
    click.echo(f"Draw {spot.id} of {year}, seed {spot.seed}, {spot.count} of "
               f"{len(spot.pool)} units:")
    for name in spot.drawn:
        click.echo(f"  {name}")


@assessment_cli.command("visit")
@click.option("--unit", "unit_name", required=True)
@click.option("--date", "day", required=True, help="The day of the visit, YYYY-MM-DD.")
@click.option("--by", "visitors", required=True, help="Who went.")
@click.option("--finding", "findings", multiple=True, help="What was found (repeat).")
def visit(unit_name, day, visitors, findings):
    """Record a 日常督导 visit and its findings (each gets an ID for `rectify`)."""
    unit = _assessed(get_unit(unit_name))
    record = add_visit(unit, _date(day, "--date"), visitors, list(findings), None, utcnow())
    db.session.commit()
    click.echo(f"Visit {record.id} to {unit.name} on {record.visited_on}; findings: "
               + (", ".join(str(f.id) for f in record.findings) or "none") + ".")


@assessment_cli.command("survey")
@YEAR
@click.option("--unit", "unit_name", help="Only this unit's questionnaire.")
@click.option("--make", is_flag=True, help="Make a link for every assessed unit without one.")
@click.option("--close", "state", flag_value="close", help="Take no more answers.")
@click.option("--reopen", "state", flag_value="reopen", help="Take answers again.")
def survey_command(year, unit_name, make, state):
    """The 群众评议 questionnaires: each unit's link, answers counted and 满意率."""
    from tracker.assessment import survey as surveys

    unit = _assessed(get_unit(unit_name)) if unit_name else None
    if make:
        made = surveys.open_surveys(year, utcnow())
        click.echo(f"{len(made)} questionnaire links made.")
    if state:
        changed = surveys.set_closed(year, state == "close", unit.id if unit else None)
        click.echo(f"{changed} questionnaire{'' if changed == 1 else 's'} "
                   f"{'closed' if state == 'close' else 'reopened'}.")
    db.session.commit()
    links = [s for s in surveys.surveys_of(year) if unit is None or s.unit_id == unit.id]
    if not links:
        raise TrackerError(f"No questionnaire for {year} yet: make the links with --make.")
    counted = surveys.tallies(year)
    for each in links:
        tally = counted.get(each.id)
        answers = f"{tally.total} answers, 满意率 {format_points(tally.rate)}%" \
            if tally else "no answers"
        click.echo(f"{each.unit.name}\t{'closed' if each.closed else 'open'}\t{answers}\t"
                   f"{surveys.link(each)}")


@assessment_cli.command("feedback")
@YEAR
@click.option("--unit", "unit_name", required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the 反馈单 as FILE.pdf.")
@click.option("--send", is_flag=True, help="Issue it to the unit (mail, group robot, inbox).")
def feedback_command(year, unit_name, output, send):
    """The unit's 问题反馈单: write it as PDF and/or issue it to the unit."""
    if output is None and not send:
        raise TrackerError("give -o FILE.pdf, --send, or both")
    export = output_export(FEEDBACK, output) if output is not None else None
    plan = plan_for_year(year)
    unit = _assessed(get_unit(unit_name))
    sheet = feedback.feedback_for(plan, year, unit)
    if send:
        feedback.issue(sheet, None, utcnow())
    if export is not None:
        write_export(export, sheet, output)
        click.echo(f"Wrote {output}: {len(sheet.deductions)} deductions, "
                   f"{len(sheet.findings)} findings, {len(sheet.rectifications)} rectifications.")
    if send:
        db.session.commit()
        click.echo(f"Issued the 反馈单 of {year} to {unit.name}.")


@assessment_cli.command("rectify")
@YEAR
@click.option("--unit", "unit_name", required=True)
@click.option("--row", "code", help="The rubric row the unit lost points on.")
@click.option("--finding", "finding_id", type=click.IntRange(1, 2**31 - 1),
              help="A 督导 or 抽查 finding's ID.")
@click.option("--title", required=True)
@click.option("--due", required=True, help="A working day up to the end of next March.")
def rectify_command(year, unit_name, code, finding_id, title, due):
    """Add a 整改 task for the unit, tied to a row or a finding."""
    if (code is None) == (finding_id is None):
        raise TrackerError("give --row CODE or --finding ID (one of them)")
    plan, now = plan_for_year(year), utcnow()
    unit = _assessed(get_unit(unit_name))
    day = _date(due, "--due")
    if code is not None:
        assessment = db.session.scalar(sa.select(Assessment).where(
            Assessment.unit_id == unit.id, Assessment.plan_id == plan.id,
            Assessment.year == year))
        if assessment is None or assessment.begun_at is None:
            raise TrackerError(f"the assessment of {unit.name} for {year} has not begun")
        task = rectify_row(assessment, code, title, day, None, now)
    else:
        finding = db.session.get(Finding, finding_id)
        if finding is None or finding.unit_id != unit.id or finding.year != year:
            raise TrackerError(f"{unit.name} has no finding {finding_id} in {year}")
        task = rectify_finding(plan, finding, title, day, None, now)
    db.session.commit()
    click.echo(f"Task {task.id} for {unit.name}: {task.title}, due {task.due_date}.")
