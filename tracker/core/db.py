"""Database set-up that SQLAlchemy leaves to the application."""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # SQLite ignores foreign keys unless asked, per connection; a writer waiting
    # on another should wait, not fail at once; and in WAL mode readers never
    # wait for a writer, which several web workers need.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def upgrade_database(revision: str = "head") -> None:
    """Bring the database schema to the latest migration, or to ``revision`` (in the app
    context)."""
    import flask_migrate

    from tracker.core.paths import MIGRATIONS

    flask_migrate.upgrade(directory=str(MIGRATIONS), revision=revision)
