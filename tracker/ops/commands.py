"""Top-level commands: ``init-db``, ``demo``, ``backup`` and ``restore``."""

import os
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.core.cli import CLIError, app_factory, handle_errors, now_option
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
    users = {u.email: u for u in db.session.scalars(
        sa.select(User).options(joinedload(User.unit)))}
    if result.credentials:
        # Created for the owner's eyes only: passwords are never readable, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("e-mail\tpassword\trole\tunit\n")
            fh.write("".join(f"{email}\t{password}\t{_who(users[email])}\n"
                             for email, password in result.credentials))
        path.chmod(0o600)
    click.echo(f"Demo town: {result.units} units, plan {result.plan} loaded for "
               f"{' and '.join(map(str, result.years))} ({result.tasks} tasks).")
    if path.exists():
        click.echo(f"Sign in with one of these (kept in {path}):")
        for line in path.read_text(encoding="utf-8").splitlines():
            email, password = line.split("\t")[:2]
            if email in users:  # not the header
                role, unit = _who(users[email]).split("\t")
                click.echo(f"  {email:28} {password:20} {role:38} {unit}")


#: What each role is, in the demo's list of users.
DEMO_ROLES = {"admin": "coordinator (admin: every unit)",
              "manager": "unit manager (records the unit's work)",
              "viewer": "unit viewer (reads the unit's work)"}


def _who(user) -> str:
    """A demo user's role and unit, tab-separated."""
    return f"{DEMO_ROLES[user.role.value]}\t{user.unit.name if user.unit else '-'}"


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
    """Replace the database and evidence files with those of a backup archive (SQLite; with
    the app stopped). The archive is checked whole before anything is replaced."""
    import sys

    from tracker.core import inuse
    from tracker.ops.backup import prepare, sqlite_path, swap
    from tracker.tasks import evidence

    db_file = sqlite_path(db.engine.url)
    if not yes:
        if not sys.stdin.isatty():
            raise CLIError("restore replaces the database and every evidence file: confirm "
                           "with --yes when no one is at a terminal to answer")
        if not click.confirm(f"Replace {db_file} and the evidence files?"):
            raise CLIError("not confirmed; nothing was restored")
    config = current_app.config
    lock = inuse.exclusive(config["SQLALCHEMY_DATABASE_URI"])
    try:
        db.session.remove()
        db.engine.dispose()
        staged = prepare(archive, db_file, evidence.folder(), known_revisions(),
                         config["RESTORE_MAX_BYTES"], config["RESTORE_MAX_FILES"],
                         migrations_schema)
        try:
            if staged.revision != head_revision():
                _upgrade(staged.database)  # an older backup is brought up to date first
            swap(staged, db_file, evidence.folder())
        finally:
            staged.discard()
    finally:
        if lock is not None:
            lock.close()
    click.echo(f"Restored the backup of {staged.manifest['created_at']} "
               f"({staged.manifest['evidence_files']} evidence files).")


def _script():
    from alembic.script import ScriptDirectory

    from tracker.core.paths import MIGRATIONS

    return ScriptDirectory(str(MIGRATIONS))


def known_revisions() -> set[str]:
    """Every schema revision this version's migrations know."""
    return {script.revision for script in _script().walk_revisions()}


def head_revision() -> str:
    """The schema revision this version works with."""
    return _script().get_current_head()


def migrations_schema(revision: str, folder: Path) -> dict:
    """The schema this version's migrations make at ``revision`` (``backup.schema_of``),
    from a database made for it in ``folder`` and removed again."""
    from tracker.ops.backup import schema_of

    reference = folder / "reference.sqlite3"
    try:
        _upgrade(reference, revision)
        return schema_of(reference)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{reference}{suffix}").unlink(missing_ok=True)


def _upgrade(database: Path, revision: str = "head") -> None:
    """Bring a database (an unpacked one, before it is put in place) to ``revision``."""
    staging = app_factory()({**current_app.config, "SCHEDULER_ENABLED": False,
                             "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    with staging.app_context():
        try:
            upgrade_database(revision)
        finally:
            db.session.remove()
            db.engine.dispose()
