"""``tracker user``: add and list users."""

import sys

import click
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from tracker.auth.models import Role, User
from tracker.auth.passwords import generate_password
from tracker.auth.services import create_user
from tracker.core.cli import FormatChoice, TrackerGroup, emit
from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.units.services import get_unit

user_cli = TrackerGroup("user", help="Users and their roles.")


@user_cli.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="admin (the coordinator), manager or viewer of a unit.")
@click.option("--unit", "unit_name", help="The unit of a manager or viewer.")
@click.option("--name", default="", help="The person's name.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of generating one.")
def add(email, role, unit_name, name, password_stdin):
    """Add a user; without --password-stdin a password is generated and shown once."""
    unit = get_unit(unit_name) if unit_name else None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise TrackerError("no password on standard input")
        generated = False
    else:
        password, generated = generate_password(), True
    user = create_user(email, Role(role), password, unit=unit, name=name)
    db.session.commit()
    where = f" of {unit.name}" if unit else ""
    click.echo(f"Added {user.email} ({role}{where}).")
    if generated:
        click.echo(f"Password (shown once): {password}")


@user_cli.command("list")
@click.option("--format", "fmt", type=FormatChoice(), default="table")
def list_users(fmt):
    """List the users."""
    users = db.session.scalars(
        sa.select(User).options(joinedload(User.unit)).order_by(User.role, User.email)
    ).all()
    emit([{"id": u.id, "email": u.email, "name": u.name, "role": u.role.value,
           "unit": u.unit.name if u.unit else "", "active": u.active} for u in users],
         fmt, ["id", "email", "name", "role", "unit", "active"])
