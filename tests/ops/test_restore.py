"""Restore under attack: archives that are not what they claim, a running server, a restore
killed half-way. Whatever is refused, the data in place stays as it was and no temporary
folder is left behind. SQLite only: on PostgreSQL, backup and restore are pg_dump's."""

import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import make_app
from tests.test_wheel import _free_port, _get
from tracker.extensions import db
from tracker.units.models import Unit

TRACKER = str(Path(sys.executable).with_name("tracker"))


@pytest.fixture
def site(tmp_path, instance_path):
    """A migrated SQLite town with one unit and one evidence file, and a backup of it
    made when it had a second unit: ``(app, runner, archive)``."""
    app = make_app(f"sqlite:///{instance_path / 'tracker.sqlite3'}")
    with app.app_context():
        runner = app.test_cli_runner()
        assert runner.invoke(args=["init-db"]).exit_code == 0
        assert runner.invoke(args=["unit", "add", "甲村党支部", "--kind", "village"]).exit_code == 0
        assert runner.invoke(args=["unit", "add", "乙村党支部", "--kind", "village"]).exit_code == 0
        evidence = instance_path / "evidence" / "2026"
        evidence.mkdir(parents=True)
        (evidence / "old.pdf").write_bytes(b"%PDF old")
        archive = tmp_path / "backup.tar.gz"
        result = runner.invoke(args=["backup", "-o", str(archive)])
        assert result.exit_code == 0, result.output
        # After the backup: one unit fewer, so a restore shows.
        db.session.execute(sa.delete(Unit).where(Unit.name == "乙村党支部"))
        db.session.commit()
        db.session.remove()
        yield app, runner, archive
        db.session.remove()
        db.engine.dispose()


def units():
    db.session.remove()
    return sorted(db.session.scalars(sa.select(Unit.name)))


def leftovers(instance_path):
    """Temporary folders of a restore left in the instance folder."""
    return sorted(p.name for p in instance_path.iterdir()
                  if p.name.startswith(".") or "restore" in p.name)


def members_of(archive):
    """``{name: bytes}`` of an archive's files."""
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def write_archive(path, entries):
    """An archive of ``(TarInfo-ish dict or name, bytes | None)`` entries, in order."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data, *kind in entries:
            info = tarfile.TarInfo(name)
            if kind:
                info.type = kind[0]
                if kind[0] in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                    info.linkname = "/etc/passwd"
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def manifest(revision="fc37c0b38c10"):
    return json.dumps({"format": 1, "created_at": "2026-01-01T00:00:00+00:00",
                       "revision": revision, "evidence_files": 0}).encode()


def sqlite_bytes(tmp_path, sql):
    path = tmp_path / f"db-{abs(hash(sql))}.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()
    return path.read_bytes()


def refused(runner, archive, message, instance_path):
    """Restore ``archive``: refused with ``message``, the town unchanged, nothing left."""
    before = units()
    evidence = sorted(p.relative_to(instance_path) for p in (instance_path / "evidence").rglob("*"))
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert units() == before
    assert sorted(p.relative_to(instance_path)
                  for p in (instance_path / "evidence").rglob("*")) == evidence
    assert leftovers(instance_path) == []


def test_a_good_backup_restores(site, instance_path):
    app, runner, archive = site
    assert units() == ["甲村党支部"]
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert units() == ["乙村党支部", "甲村党支部"]
    assert (instance_path / "evidence" / "2026" / "old.pdf").read_bytes() == b"%PDF old"
    assert leftovers(instance_path) == []


def test_any_sqlite_file_is_refused(site, tmp_path, instance_path):
    """Finding 3: an empty database, an unrelated one, a damaged one, a second copy."""
    app, runner, archive = site
    real = members_of(archive)
    unrelated = sqlite_bytes(tmp_path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, text);"
                                       "INSERT INTO notes VALUES (1, 'hello');")
    foreign = sqlite_bytes(tmp_path, "CREATE TABLE alembic_version (version_num TEXT);"
                                     "INSERT INTO alembic_version VALUES ('0123456789ab');")
    damaged = bytearray(real["tracker.sqlite3"])
    damaged[len(damaged) // 2:len(damaged) // 2 + 4096] = os.urandom(4096)
    cases = [
        ([("manifest.json", manifest()), ("tracker.sqlite3", b"")], "not tracker's"),
        ([("manifest.json", manifest()), ("tracker.sqlite3", unrelated)], "not tracker's"),
        ([("manifest.json", manifest()), ("tracker.sqlite3", foreign)], "not tracker's"),
        ([("manifest.json", manifest()), ("tracker.sqlite3", bytes(damaged))], "damaged"),
        ([("manifest.json", manifest()), ("tracker.sqlite3", real["tracker.sqlite3"]),
          ("tracker.sqlite3", unrelated)], "twice"),
        ([("manifest.json", b"[1, 2"), ("tracker.sqlite3", real["tracker.sqlite3"])],
         "manifest"),
        ([("manifest.json", b"[" * 60_000), ("tracker.sqlite3", real["tracker.sqlite3"])],
         "manifest"),
        ([("manifest.json", b'"text"'), ("tracker.sqlite3", real["tracker.sqlite3"])],
         "manifest"),
        ([("manifest.json", manifest())], "no manifest or database"),
    ]
    for i, (entries, message) in enumerate(cases):
        refused(runner, write_archive(tmp_path / f"case{i}.tar.gz", entries), message,
                instance_path)


def test_unsafe_members_are_refused(site, tmp_path, instance_path):
    """Finding 3: absolute paths, ``..``, links, devices, anything else."""
    app, runner, archive = site
    real = members_of(archive)
    good = [("manifest.json", manifest()), ("tracker.sqlite3", real["tracker.sqlite3"])]
    for i, extra in enumerate([
            ("/tmp/evil.pdf", b"x"), ("evidence/../../evil.pdf", b"x"),
            ("evidence/2026/link.pdf", None, tarfile.SYMTYPE),
            ("evidence/2026/hard.pdf", None, tarfile.LNKTYPE),
            ("evidence/dev", None, tarfile.CHRTYPE), ("evidence/fifo", None, tarfile.FIFOTYPE),
            ("other.txt", b"x")]):
        refused(runner, write_archive(tmp_path / f"unsafe{i}.tar.gz", good + [extra]),
                "unexpected entry" if extra[0] == "other.txt" else repr(extra[0]),
                instance_path)
    assert not Path("/tmp/evil.pdf").exists()


def test_evidence_as_a_plain_file_is_refused(site, tmp_path, instance_path):
    """Finding 11: every later upload would fail."""
    app, runner, archive = site
    real = members_of(archive)
    for i, entries in enumerate([
            [("evidence", b"not a folder")],
            [("evidence/2026", b"not a folder"), ("evidence/2026/a.pdf", b"%PDF")]]):
        refused(runner, write_archive(tmp_path / f"ev{i}.tar.gz", [
            ("manifest.json", manifest()), ("tracker.sqlite3", real["tracker.sqlite3"]),
            *entries]), "folder", instance_path)


def test_an_unknown_schema_revision_is_refused_before_anything_is_touched(site, tmp_path,
                                                                           instance_path):
    """Finding 4: a backup from a newer version."""
    app, runner, archive = site
    real = members_of(archive)
    newer = tmp_path / "newer.sqlite3"
    newer.write_bytes(real["tracker.sqlite3"])
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    conn.commit()
    conn.close()
    refused(runner, write_archive(tmp_path / "newer.tar.gz", [
        ("manifest.json", manifest("ffffffffffff")),
        ("tracker.sqlite3", newer.read_bytes())]), "ffffffffffff", instance_path)


def test_an_older_backup_is_brought_up_to_date(tmp_path, instance_path):
    """A backup from an older version restores, then is upgraded before it goes live."""
    import flask_migrate

    from tracker.core.paths import MIGRATIONS
    from tracker.ops.commands import head_revision

    old = make_app(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with old.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS), revision="c4f1a9e3d5b7")
        db.engine.dispose()
    archive = write_archive(tmp_path / "old.tar.gz", [
        ("manifest.json", manifest("c4f1a9e3d5b7")),
        ("tracker.sqlite3", (tmp_path / "old.sqlite3").read_bytes())])
    app = make_app(f"sqlite:///{instance_path / 'tracker.sqlite3'}")
    with app.app_context():
        runner = app.test_cli_runner()
        result = runner.invoke(args=["restore", str(archive), "--yes"])
        assert result.exit_code == 0, result.output
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == \
                head_revision()
        db.engine.dispose()


def test_sizes_are_capped_and_counted_while_unpacking(site, tmp_path, instance_path):
    """Finding 12: 4.8 MB expanding to 1 GiB; the cap holds whatever the headers say."""
    app, runner, archive = site
    real = members_of(archive)
    app.config["RESTORE_MAX_BYTES"] = len(real["tracker.sqlite3"]) + 100_000
    big = write_archive(tmp_path / "big.tar.gz", [
        ("manifest.json", manifest()), ("tracker.sqlite3", real["tracker.sqlite3"]),
        ("evidence/2026/zeros.pdf", bytes(200_000))])
    assert big.stat().st_size < 20_000  # small archive, large content
    refused(runner, big, "larger than", instance_path)
    app.config["RESTORE_MAX_BYTES"] = 10 ** 9
    app.config["RESTORE_MAX_FILES"] = 10
    many = write_archive(tmp_path / "many.tar.gz", [
        ("manifest.json", manifest()), ("tracker.sqlite3", real["tracker.sqlite3"]),
        *((f"evidence/2026/{i}.pdf", b"%PDF") for i in range(20))])
    refused(runner, many, "more than 10", instance_path)


def test_cli_errors_are_errors_not_tracebacks(site, tmp_path, instance_path):
    """Finding 16: a truncated archive; no --yes and no terminal."""
    app, runner, archive = site
    data = archive.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    refused(runner, truncated, "backup", instance_path)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b" + os.urandom(2000))
    refused(runner, garbage, "backup", instance_path)
    result = runner.invoke(args=["restore", str(archive)], input="")
    assert result.exit_code == 2 and "--yes" in result.stderr, result.output
    assert "Aborted" not in result.output
    assert units() == ["甲村党支部"]


def test_a_restore_killed_while_unpacking_is_cleaned_by_the_next(site, tmp_path, instance_path):
    """Findings 5 and 12: SIGKILL half-way through unpacking a large archive; the data in
    place is whole, and the next restore removes what the killed one left."""
    app, runner, archive = site
    real = members_of(archive)
    large = write_archive(tmp_path / "large.tar.gz", [
        ("manifest.json", manifest()), ("tracker.sqlite3", real["tracker.sqlite3"]),
        *((f"evidence/2026/{i}.pdf", os.urandom(4 << 20)) for i in range(60))])
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(instance_path),
           "TRACKER_SECRET_KEY": "test"}
    process = subprocess.Popen([TRACKER, "restore", str(large), "--yes"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        staged = [p for p in instance_path.glob(".*/evidence/2026/*.pdf")]
        if len(staged) >= 3:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, "the restore ended before it was killed"
    assert leftovers(instance_path) != []
    assert units() == ["甲村党支部"]
    assert sorted(p.name for p in (instance_path / "evidence" / "2026").iterdir()) == ["old.pdf"]
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert leftovers(instance_path) == []
    assert units() == ["乙村党支部", "甲村党支部"]


def test_a_restore_killed_while_swapping_keeps_the_old_data(site, tmp_path, instance_path):
    """Finding 5: the next restore must not delete what a swap cut short kept aside."""
    app, runner, archive = site
    # What a restore killed between its renames leaves: the old data aside, marked.
    kept = instance_path / ".tracker-restore-0123456789abcdef"
    (kept / "before" / "evidence").mkdir(parents=True)
    (kept / "before" / "evidence" / "precious.pdf").write_bytes(b"%PDF precious")
    (kept / "SWAPPING").write_text("")
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 2 and str(kept) in result.stderr, result.output
    assert (kept / "before" / "evidence" / "precious.pdf").read_bytes() == b"%PDF precious"
    assert units() == ["甲村党支部"]


def _serve(instance_path, port):
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(instance_path),
           "TRACKER_SECRET_KEY": "test"}
    return subprocess.Popen([TRACKER, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_restore_is_refused_while_the_server_runs(site, instance_path):
    """Finding 2: workers would keep writing to the replaced file."""
    app, runner, archive = site
    port = _free_port()
    server = _serve(instance_path, port)
    try:
        status, _headers, _body = _get(f"http://127.0.0.1:{port}/login")
        assert status == 200
        env = {**os.environ, "TRACKER_INSTANCE_PATH": str(instance_path),
               "TRACKER_SECRET_KEY": "test"}
        result = subprocess.run([TRACKER, "restore", str(archive), "--yes"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("Error: ") and "running" in result.stderr
        assert units() == ["甲村党支部"]
        assert leftovers(instance_path) == []
    finally:
        server.terminate()
        server.communicate(timeout=30)
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert units() == ["乙村党支部", "甲村党支部"]


@pytest.mark.parametrize("command", [["run", "--port", "{port}"],
                                     ["scheduler", "--interval", "3600"]])
def test_restore_is_refused_while_the_dev_server_or_the_scheduler_runs(site, instance_path,
                                                                        command):
    """Finding 2: `tracker run` and `tracker scheduler` write to the database too."""
    from tracker.core import inuse
    from tracker.core.errors import TrackerError

    app, runner, archive = site
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(instance_path),
           "TRACKER_SECRET_KEY": "test"}
    port = str(_free_port())
    process = subprocess.Popen([TRACKER, *(part.format(port=port) for part in command)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, held = time.monotonic() + 60, False
        while not held and time.monotonic() < deadline and process.poll() is None:
            try:
                inuse.exclusive(app.config["SQLALCHEMY_DATABASE_URI"]).close()
                time.sleep(0.2)
            except TrackerError:
                held = True
        assert held, "the process never marked the database in use"
        result = runner.invoke(args=["restore", str(archive), "--yes"])
        assert result.exit_code == 2 and "stop it, then restore" in result.stderr, result.output
        assert units() == ["甲村党支部"] and leftovers(instance_path) == []
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_app_does_not_start_while_a_restore_runs(site, instance_path):
    from tracker.core import inuse

    app, runner, archive = site
    lock = inuse.exclusive(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        env = {**os.environ, "TRACKER_INSTANCE_PATH": str(instance_path),
               "TRACKER_SECRET_KEY": "test"}
        result = subprocess.run([TRACKER, "scheduler"], env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("Error: a restore is running"), result.stderr
    finally:
        lock.close()


def test_an_evidence_folder_elsewhere_is_swapped_beside_itself(site, tmp_path, instance_path):
    """Finding 5: EVIDENCE_DIR on another file system is unpacked beside itself, so that
    putting it in place is a rename there."""
    app, runner, archive = site
    elsewhere = tmp_path / "shared" / "evidence"
    (elsewhere / "2025").mkdir(parents=True)
    (elsewhere / "2025" / "mine.pdf").write_bytes(b"%PDF mine")
    app.config["EVIDENCE_DIR"] = str(elsewhere)
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert (elsewhere / "2026" / "old.pdf").read_bytes() == b"%PDF old"
    assert not (elsewhere / "2025").exists()
    assert sorted(p.name for p in elsewhere.parent.iterdir()) == ["evidence"]
    assert leftovers(instance_path) == []


def test_restore_is_refused_on_postgresql(postgres, tmp_path):
    """PostgreSQL is restored with pg_restore; tracker restore says so and touches nothing."""
    app = make_app(postgres.create_database())
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["restore", str(tmp_path / "x.tar.gz"), "--yes"])
        assert result.exit_code == 2 and "pg_restore" in result.stderr, result.output
        db.engine.dispose()


def test_backups_and_restored_files_are_private(site, tmp_path, instance_path):
    """Finding 18: the archive and what a restore writes are for the owner only."""
    app, runner, archive = site
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert runner.invoke(args=["restore", str(archive), "--yes"]).exit_code == 0
    assert stat.S_IMODE((instance_path / "tracker.sqlite3").stat().st_mode) == 0o600
    for path in (instance_path / "evidence").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_restore_and_a_dispatch_run_from_cron_exclude_each_other(site, tmp_path, instance_path):
    """R13: a restore during a `tracker reminders dispatch` (cron) would put back the
    outbox from before the mails it is sending, and they would go again; so a restore is
    refused while a dispatch runs, and a dispatch while a restore runs."""
    import socket

    from tracker.core import inuse

    app, runner, archive = site
    for args in (["plan", "load", "shuyuan-2020", "--year", "2026"],
                 ["user", "add", "clerk@example.org", "--role", "manager", "--unit", "甲村党支部"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    db.session.remove()
    # A mail server that takes the connection and says nothing: the dispatch is sending.
    server = socket.create_server(("127.0.0.1", 0))
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(instance_path),
           "TRACKER_SECRET_KEY": "test", "TRACKER_MAIL_SERVER": "127.0.0.1",
           "TRACKER_MAIL_PORT": str(server.getsockname()[1]), "TRACKER_MAIL_TIMEOUT": "60"}
    dispatch = subprocess.Popen([TRACKER, "reminders", "dispatch", "--now",
                                 "2026-04-30T09:30:00+08:00"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        server.settimeout(60)
        connection, _ = server.accept()
        result = runner.invoke(args=["restore", str(archive), "--yes"])
        assert result.exit_code == 2 and "stop it, then restore" in result.stderr, result.output
        assert units() == ["甲村党支部"] and leftovers(instance_path) == []
        connection.close()
    finally:
        out, err = dispatch.communicate(timeout=60)
        server.close()
    assert dispatch.returncode == 0, err
    # The dispatch's own record of the pass is in the database in place.
    db.session.remove()
    assert db.session.scalar(sa.text("SELECT count(*) FROM reminder_outbox")) > 0
    # And the other way round: a dispatch while a restore holds the lock.
    lock = inuse.exclusive(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        result = runner.invoke(args=["reminders", "dispatch", "--now",
                                     "2026-04-30T09:40:00+08:00"])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: a restore is running"), result.stderr
    finally:
        lock.close()


def test_paths_nested_too_deep_are_refused(site, tmp_path, instance_path):
    """R15: an evidence file 1,500 folders deep was a RecursionError traceback."""
    app, runner, archive = site
    real = members_of(archive)
    deep = "evidence/" + "a/" * 1500 + "x.pdf"
    refused(runner, write_archive(tmp_path / "deep.tar.gz", [
        ("manifest.json", manifest()), ("tracker.sqlite3", real["tracker.sqlite3"]),
        (deep, b"%PDF")]), "folders deep", instance_path)


def _altered(tmp_path, real: bytes, sql: str) -> bytes:
    """The backup's database with ``sql`` run in it."""
    path = tmp_path / f"altered-{abs(hash(sql))}.sqlite3"
    path.write_bytes(real)
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()
    return path.read_bytes()


def test_schema_objects_the_app_did_not_make_are_refused(site, tmp_path, instance_path):
    """R7: a trigger planted in the archive's database made a viewer the coordinator at the
    next anonymous sign-in. The staged database must have the migrations' schema: no
    trigger, view, table or index they did not make, none of theirs missing."""
    app, runner, archive = site
    real = members_of(archive)["tracker.sqlite3"]
    cases = [
        ("CREATE TRIGGER promote AFTER INSERT ON login_attempts BEGIN "
         "UPDATE users SET role = 'admin'; END;", "trigger promote is not tracker's"),
        ("CREATE VIEW everyone AS SELECT email FROM users;", "view everyone"),
        ("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);", "table notes"),
        ("CREATE INDEX ix_sneaky ON users (email, role);", "index ix_sneaky"),
        ("DROP INDEX ix_tasks_year_due_date;", "index ix_tasks_year_due_date is missing"),
    ]
    for i, (sql, message) in enumerate(cases):
        refused(runner, write_archive(tmp_path / f"objects{i}.tar.gz", [
            ("manifest.json", manifest()), ("tracker.sqlite3", _altered(tmp_path, real, sql))]),
            message, instance_path)


def test_tables_of_tracker_s_names_with_other_columns_are_refused(site, tmp_path,
                                                                  instance_path):
    """R8: tables named as tracker's but without its columns were restored (exit 0), the
    town wiped and the instance unusable."""
    app, runner, archive = site
    real = members_of(archive)["tracker.sqlite3"]
    probe = tmp_path / "probe.sqlite3"
    probe.write_bytes(real)
    with sqlite3.connect(probe) as conn:
        current = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    hollow = sqlite_bytes(tmp_path, ";".join(
        [f"CREATE TABLE {name} (x)" for name in ("units", "users", "plans", "duties", "tasks",
                                                 "evidence_files")]
        + ["CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
           f"INSERT INTO alembic_version VALUES ('{current}')"]))
    cases = [
        (hollow, "columns of duties: duties.id is missing"),
        (_altered(tmp_path, real, "ALTER TABLE users RENAME COLUMN role TO rank;"),
         "columns of users: users.role is missing, users.rank is not tracker's"),
        (_altered(tmp_path, real, "ALTER TABLE units ADD COLUMN secret TEXT;"),
         "units.secret is not tracker's"),
    ]
    for i, (database, message) in enumerate(cases):
        refused(runner, write_archive(tmp_path / f"columns{i}.tar.gz", [
            ("manifest.json", manifest()), ("tracker.sqlite3", database)]), message,
            instance_path)
