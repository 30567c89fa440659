"""Finding 18: the instance folder, the database and its WAL, the outbox: the owner's only,
whatever the umask (and tightened where an older version left them readable)."""

import os
import stat

import pytest
import sqlalchemy as sa

from tests.conftest import make_app
from tracker.extensions import db
from tracker.reminders.backends import FileConnection


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_instance_database_and_wal_are_private(open_umask, instance_path):
    app = make_app(f"sqlite:///{instance_path / 'tracker.sqlite3'}")
    assert mode(instance_path) == 0o700
    with app.app_context():
        runner = app.test_cli_runner()
        assert runner.invoke(args=["init-db"]).exit_code == 0
        with db.engine.connect() as conn:
            assert runner.invoke(args=["unit", "add", "甲", "--kind", "village"]).exit_code == 0
            assert conn.scalar(sa.text("SELECT count(*) FROM units")) == 1
            wal = instance_path / "tracker.sqlite3-wal"
            assert wal.exists()
            assert mode(wal) == 0o600
        assert mode(instance_path / "tracker.sqlite3") == 0o600
        db.engine.dispose()


def test_readable_ones_left_by_an_older_version_are_tightened(open_umask, instance_path):
    instance_path.mkdir(mode=0o755)
    os.chmod(instance_path, 0o755)
    database = instance_path / "tracker.sqlite3"
    database.write_bytes(b"")
    os.chmod(database, 0o644)
    make_app(f"sqlite:///{database}")
    assert mode(instance_path) == 0o700 and mode(database) == 0o600


def test_mails_written_to_files_are_private(open_umask, tmp_path):
    outbox = tmp_path / "outbox"
    FileConnection(outbox).send("a@example.org", "b@example.org", b"Subject: x\r\n\r\nbody",
                                "<123@example.org>")
    assert mode(outbox) == 0o700
    assert [mode(p) for p in outbox.iterdir()] == [0o600]
