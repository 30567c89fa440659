"""Top-level commands: ``init-db`` and ``demo``."""

from pathlib import Path

import click
import flask_migrate
from flask import current_app
from flask.cli import with_appcontext

from tracker import MIGRATIONS_DIR
from tracker.core.cli import handle_errors
from tracker.extensions import db


def upgrade_database() -> None:
    """Bring the database schema to the latest migration."""
    flask_migrate.upgrade(directory=MIGRATIONS_DIR)


@click.command("init-db")
@with_appcontext
@handle_errors
def init_db_command():
    """Create or upgrade the database schema (Alembic migrations to head)."""
    upgrade_database()
    click.echo(f"Database ready at {db.engine.url.render_as_string(hide_password=True)}")


@click.command("demo")
@with_appcontext
@handle_errors
def demo_command():
    """Set up a demo town for the current year: units, users and the bundled plan."""
    from tracker.core.demo import build_demo

    upgrade_database()
    result = build_demo()
    db.session.commit()
    path = Path(current_app.instance_path) / "demo-credentials.txt"
    if result.credentials:
        path.write_text("".join(f"{email}\t{password}\n" for email, password in result.credentials),
                        encoding="utf-8")
        path.chmod(0o600)
    click.echo(f"Demo town: {result.units} units, plan {result.plan} loaded for {result.year} "
               f"({result.tasks} tasks).")
    if path.exists():
        click.echo(f"Sign in with one of these (kept in {path}):")
        for line in path.read_text(encoding="utf-8").splitlines():
            email, password = line.split("\t")
            click.echo(f"  {email:32} {password}")
