"""``tracker binder export`` (the 工作台账) and ``tracker stats`` (the year in figures)."""

import os
import tempfile
from pathlib import Path

import click
from flask.cli import with_appcontext

from tracker.assessment.services import assessed_units
from tracker.binder import archive, stats
from tracker.binder.collect import collect
from tracker.binder.pdf import write_pdf
from tracker.core.cli import TrackerGroup, emit, handle_errors
from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.phases.services import plan_for_year
from tracker.units.services import get_unit

binder_cli = TrackerGroup("binder", help="The 工作台账: each unit's evidence filed by rubric row.")


def write_file(output: Path, chunks) -> int:
    """Write ``chunks`` to ``output`` whole or not at all (a .part file renamed at the end);
    returns the bytes written."""
    part = output.with_name(output.name + ".part")
    size = 0
    try:
        with open(part, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                size += len(chunk)
        os.replace(part, output)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise TrackerError(f"{output}: cannot write: {exc.strerror}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return size


def pdf_chunks(binder):
    """The binder's PDF as one chunk, built straight into a temporary file."""
    with tempfile.TemporaryFile() as fh:
        write_pdf(binder, fh)
        fh.seek(0)
        while chunk := fh.read(archive.CHUNK):
            yield chunk


@binder_cli.command("export")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--unit", "unit_name", help="One unit's binder (default: the town's ZIP, a "
              "folder per unit).")
@click.option("--without-pdf", is_flag=True, help="ZIP only: leave out the binder PDF(s) "
              "(the files and the 目录 only; much faster for a whole town).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="FILE.pdf (one unit) or FILE.zip.")
def export_binder(year, unit_name, without_pdf, output):
    """Write a unit's binder as PDF or ZIP, or the town's ZIP."""
    suffix = output.suffix.lower()
    if suffix not in (".pdf", ".zip"):
        raise TrackerError(f"{output}: the file must end in .pdf or .zip")
    if suffix == ".pdf" and not unit_name:
        raise TrackerError("a PDF holds one unit's binder: give --unit NAME, or write the "
                           "town's binders to a .zip")
    if suffix == ".pdf" and without_pdf:
        raise TrackerError("--without-pdf goes with a .zip")
    plan_for_year(year)  # refuse a year without a plan before writing anything
    now = utcnow()
    if unit_name:
        binder = collect(get_unit(unit_name), year, now)
        size = write_file(output, pdf_chunks(binder) if suffix == ".pdf"
                          else archive.unit_zip(binder, with_pdf=not without_pdf))
        click.echo(f"Wrote {output}: {binder.unit.name}, {year}, {len(binder.rows)} rows, "
                   f"{sum(len(r.files) for r in binder.rows)} evidence files ({size} bytes).")
        return
    units = assessed_units()
    size = write_file(output, archive.town_zip([u.id for u in units], year, now,
                                               with_pdf=not without_pdf))
    click.echo(f"Wrote {output}: {len(units)} units, {year} ({size} bytes).")


@click.command("stats")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--unit", "unit_name", help="Only this unit (default: every assessed unit).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@with_appcontext
@handle_errors
def stats_command(year, unit_name, fmt):
    """The year in figures: per unit and duty, sessions held, attendance, marked sessions,
    work accepted on time and late, work returned."""
    plan = plan_for_year(year)
    units = [get_unit(unit_name)] if unit_name else assessed_units()
    rows = stats.figures(plan, year, units)
    emit([r.as_dict() for r in rows], fmt, stats.COLUMNS)
