"""Who has the app's SQLite database open for work: ``tracker serve``, ``tracker run`` and
``tracker scheduler`` hold a shared lock (an flock on ``<database>.in-use``) for as long as
they run, and a ``tracker reminders dispatch`` pass (from cron) for as long as it runs; ``tracker restore`` takes it exclusively, so it never replaces a file that
running workers would go on writing to. The lock goes away with the processes that hold it,
``kill -9`` included. On PostgreSQL there is nothing to hold: tracker does not restore it."""

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tracker.core.errors import TrackerError

_held: dict[Path, object] = {}


def lock_file(database_uri: str) -> Path | None:
    """The lock file of a SQLite database URI; None for other databases."""
    url = sa.make_url(database_uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + ".in-use")


def _open(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b")


def hold(app) -> None:
    """Mark the app's database in use by this process (and the processes it forks) until
    it exits; refused while a restore runs."""
    path = lock_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is None or path in _held:
        return
    handle = _open(path)
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise TrackerError("a restore is running on this database; start again when it "
                           "is done") from None
    _held[path] = handle


@contextmanager
def holding(app):
    """The database marked in use by this process for the block (a command that writes
    to it, such as a dispatch pass from cron); refused while a restore runs. Nothing more
    to take where the process holds it already (``tracker scheduler``)."""
    path = lock_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is None or path in _held:
        yield
        return
    hold(app)
    try:
        yield
    finally:
        _held.pop(path).close()


def exclusive(database_uri: str):
    """The lock taken exclusively, for a restore: an open file to close when done (None
    for databases other than SQLite); refused while the app runs."""
    path = lock_file(database_uri)
    if path is None:
        return None
    handle = _open(path)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise TrackerError("the app is running on this database (tracker serve, tracker run "
                           "or tracker scheduler), or another restore is: stop it, then "
                           "restore") from None
    return handle
