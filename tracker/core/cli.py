"""CLI plumbing shared by the areas: errors, output formats."""

import csv
import functools
import io
import json
import unicodedata
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import click
import sqlalchemy.exc
from flask import current_app
from flask.cli import AppGroup

from tracker.core.errors import TrackerError
from tracker.core.text import check_text, spreadsheet_cell
from tracker.core.timeutil import utcnow
from tracker.extensions import db


#: Where an app keeps the factory that made it (``tracker.create_app``).
FACTORY = "tracker.create_app"


def app_factory():
    """The factory of the app a command runs in, for a command that makes another app (a
    server's, a staging one): taken from the app rather than imported from the package
    root, which imports the commands (no import cycle)."""
    return current_app.extensions[FACTORY]


class CLIError(click.ClickException):
    """Bad input: ``Error: <message>`` on stderr, exit code 2, no traceback."""

    exit_code = 2


def handle_errors(f):
    """Turn domain and database errors into CLIError, rolling back first."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            _check_parameters(kwargs)
            return f(*args, **kwargs)
        except TrackerError as exc:
            db.session.rollback()
            raise CLIError(str(exc)) from None
        except sqlalchemy.exc.IntegrityError as exc:
            # Two processes doing the same at once: the loser's work is rolled back whole.
            db.session.rollback()
            raise CLIError(f"a conflicting change was made at the same moment "
                           f"({_first_line(exc)}); nothing was written, run the command again"
                           ) from None
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError) as exc:
            db.session.rollback()
            raise CLIError(_database_message(exc)) from None

    return wrapper


def _check_parameters(values: dict) -> None:
    # What is typed on the command line goes the way of a form: no control characters
    # (line breaks and tabs aside); one-line names are checked again where they are used.
    for name, value in values.items():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, str):
                check_text(item, name.upper() if name in ("name", "email") else
                           "--" + name.replace("_", "-"), multiline=True)


def _first_line(exc: sqlalchemy.exc.DBAPIError) -> str:
    return (str(exc.orig) if exc.orig else str(exc)).strip().splitlines()[0]


def _database_message(exc: sqlalchemy.exc.DBAPIError) -> str:
    text = _first_line(exc)
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return f"the database has no tables yet ({text}): run `tracker init-db` first"
    return f"database error: {text}"


class TrackerGroup(AppGroup):
    """A command group whose commands run in the app context with error handling."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda f: register(handle_errors(f))


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(headers: list[str], rows: list[list]) -> str:
    """Rows as aligned text columns."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        lines.append("  ".join(v + " " * (w - _width(v)) for v, w in zip(row, widths)).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit(records: list[dict], fmt: str, columns: list[str]) -> None:
    """Print records as a table, JSON array or CSV."""
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        out = io.StringIO()
        # RFC 4180's CRLF: with it the writer quotes a field holding a lone CR too.
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore",
                                lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({c: spreadsheet_cell(r.get(c)) for c in columns} for r in records)
        click.echo(out.getvalue(), nl=False)
    else:
        click.echo(format_table(columns, [[r[c] for c in columns] for r in records]))


def parse_instant(text: str, tz: str) -> datetime:
    """An ISO-8601 instant; one without an offset is read in the plan timezone ``tz``."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TrackerError(f"--now {text!r} is not an ISO-8601 date and time, "
                           f"e.g. 2026-06-23T08:00:00+08:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(timezone.utc)


def now_option(help_text: str):
    """A ``--now ISO-8601`` option whose value reaches the command as ``now``: the instant
    it runs as (without an offset: in the plan timezone), or this instant."""

    def parse(ctx, param, value):
        if value is None:
            return utcnow()
        try:
            return parse_instant(value, current_app.config["TIMEZONE"])
        except TrackerError as exc:
            raise CLIError(str(exc)) from None

    return click.option("--now", "now", metavar="ISO-8601", callback=parse, help=help_text)
