"""Top-level commands: ``init-db``, ``demo``, ``backup`` and ``restore``."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from tracker.core.cli import handle_errors, now_option
from tracker.core.db import upgrade_database
from tracker.extensions import db


@click.command("init-db")
@with_appcontext
@handle_errors
def init_db_command():
    """Create or upgrade the database schema (Alembic migrations to head)."""
    upgrade_database()
    click.echo(f"Database ready at {db.engine.url.render_as_string(hide_password=True)}")


@click.command("demo")
@now_option("Build the town as it would be at this instant (default: now).")
@with_appcontext
@handle_errors
def demo_command(now):
    """Set up a demo town: units, users, the bundled plan for last year and this one, and the
    work due so far done."""
    from tracker.ops.demo import build_demo

    upgrade_database()
    result = build_demo(now)
    db.session.commit()
    path = Path(current_app.instance_path) / "demo-credentials.txt"
    if result.credentials:
        path.write_text("".join(f"{email}\t{password}\n" for email, password in result.credentials),
                        encoding="utf-8")
        path.chmod(0o600)
    click.echo(f"Demo town: {result.units} units, plan {result.plan} loaded for "
               f"{' and '.join(map(str, result.years))} ({result.tasks} tasks).")
    if path.exists():
        click.echo(f"Sign in with one of these (kept in {path}):")
        for line in path.read_text(encoding="utf-8").splitlines():
            email, password = line.split("\t")
            click.echo(f"  {email:32} {password}")


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The archive to write (.tar.gz).")
@with_appcontext
@handle_errors
def backup_command(output):
    """Back up the SQLite database and the evidence files into one archive."""
    from alembic.migration import MigrationContext

    from tracker.ops.backup import backup, sqlite_path
    from tracker.tasks import evidence
    from tracker.core.timeutil import utcnow

    db_file = sqlite_path(db.engine.url)
    with db.engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
    manifest = backup(db_file, evidence.folder(), output, utcnow(), revision)
    click.echo(f"Backed up {db_file} and {manifest['evidence_files']} evidence files "
               f"to {output}.")


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current data without asking.")
@with_appcontext
@handle_errors
def restore_command(archive, yes):
    """Replace the database and evidence files with those of a backup archive."""
    from tracker.ops.backup import restore, sqlite_path
    from tracker.tasks import evidence

    db_file = sqlite_path(db.engine.url)
    if not yes and not click.confirm(f"Replace {db_file} and the evidence files?"):
        raise click.Abort()
    db.session.remove()
    db.engine.dispose()
    manifest = restore(archive, db_file, evidence.folder())
    upgrade_database()  # a backup from an older version is brought up to date
    click.echo(f"Restored the backup of {manifest['created_at']} "
               f"({manifest['evidence_files']} evidence files).")
