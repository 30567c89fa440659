"""CLI plumbing shared by the areas: errors, output formats and files."""

import csv
import functools
import io
import json
import os
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlalchemy.exc
from flask import current_app
from flask.cli import AppGroup

from tracker.core import exports
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


@dataclass
class Rows:
    """The data of a list's export: records and the columns to show, in order."""

    records: list[dict]
    columns: list[str]


def _write_table(rows: Rows, stream) -> None:
    table = format_table(rows.columns, [[r[c] for c in rows.columns] for r in rows.records])
    stream.write((table + "\n").encode("utf-8"))


def _write_json(rows: Rows, stream) -> None:
    stream.write((json.dumps(rows.records, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def _write_csv(rows: Rows, stream) -> None:
    out = io.StringIO()
    # RFC 4180's CRLF: with it the writer quotes a field holding a lone CR too.
    writer = csv.DictWriter(out, fieldnames=rows.columns, extrasaction="ignore",
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({c: spreadsheet_cell(r.get(c)) for c in rows.columns}
                     for r in rows.records)
    stream.write(out.getvalue().encode("utf-8"))


#: The lists the commands print (``tasks list``, ``unit list``, ``user list``, ``stats``):
#: ``--format`` offers every format registered here.
ROWS = "rows"
exports.subject(ROWS)
exports.register(exports.Export(ROWS, "table", ".txt", "text/plain", "table", _write_table,
                                web=False))
exports.register(exports.Export(ROWS, "json", ".json", "application/json", "JSON",
                                _write_json))
exports.register(exports.Export(ROWS, "csv", ".csv", "text/csv", "CSV", _write_csv))


def emit(records: list[dict], fmt: str, columns: list[str]) -> None:
    """Print records in a format of the list's exports (a table, a JSON array, CSV …)."""
    export = exports.get(ROWS, fmt, cli=True)
    if export is None:
        raise TrackerError(f"unknown format {fmt!r} (expected "
                           f"{exports.either([e.format for e in exports.exports_of(ROWS, cli=True)])})")
    click.echo(export.bytes_of(Rows(records, columns)).decode("utf-8"), nl=False)


class FormatChoice(click.Choice):
    """``--format``'s choices: the subject's command-line exports, read when the command
    runs, so that a format registered after the command was made is offered too (an
    unknown one: click's ``Error: …`` naming them, exit 2)."""

    def __init__(self, subject_name: str = ROWS):
        self.subject_name = subject_name
        super().__init__(())

    @property
    def choices(self):
        return tuple(e.format for e in exports.exports_of(self.subject_name, cli=True))

    @choices.setter
    def choices(self, value):  # click.Choice.__init__ sets it; the registry holds them
        pass


def output_export(subject_name: str, output: Path) -> exports.Export:
    """The subject's export that ``-o FILE.ext`` names by its extension; TrackerError
    naming the extensions known when there is none."""
    export = exports.for_file(subject_name, output)
    if export is None:
        known = [e.extension for e in exports.exports_of(subject_name, cli=True)]
        raise TrackerError(f"{output}: the file must end in {exports.either(known)}")
    return export


def write_whole(output: Path, write) -> int:
    """``write(stream)`` into ``output``, whole or not at all (a .part file renamed at
    the end); returns the bytes written."""
    part = output.with_name(output.name + ".part")
    try:
        with open(part, "wb") as fh:
            write(fh)
            size = fh.tell()
        os.replace(part, output)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise TrackerError(f"{output}: cannot write: {exc.strerror}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return size


def write_export(export: exports.Export, data, output: Path) -> int:
    """The export of ``data`` written to ``output`` (``write_whole``); the bytes written."""
    return write_whole(output, lambda stream: export.write(data, stream))


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
