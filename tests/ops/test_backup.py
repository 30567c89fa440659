"""Backup and restore: every task, completion and file comes back."""

import io
import tarfile

import sqlalchemy as sa

from tests.tasks.test_views import PDF
from tracker.auth.models import User
from tracker.extensions import db
from tracker.tasks.models import EvidenceFile, Task, TaskStatus


def test_backup_and_restore(backend, fresh_app, instance_path, login, tmp_path):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    archive = tmp_path / "backup.tar.gz"
    if backend == "postgresql":
        result = runner.invoke(args=["backup", "-o", str(archive)])
        assert result.exit_code == 2 and "pg_dump" in result.stderr
        return
    fresh_app.config["WTF_CSRF_ENABLED"] = False
    # An open task of a duty done once (not one recorded by occurrence).
    task = next(t for t in db.session.scalars(sa.select(Task).where(
        Task.status == TaskStatus.OPEN, Task.unit.has(name="洋溢村党总支")).order_by(Task.id))
        if t.duty and not t.duty.occurrence)
    client = login(fresh_app.test_client(), db.session.scalar(
        sa.select(User).where(User.email == "manager@shuyuan.example")))
    client.post(f"/tasks/{task.id}/evidence",
                data={"file": (io.BytesIO(PDF), "记录.pdf")}, content_type="multipart/form-data")
    client.post(f"/tasks/{task.id}/work", data={"note": "完成", "action": "submit"})
    db.session.expire_all()

    def state():
        tasks = db.session.execute(sa.select(Task.id, Task.status, Task.note, Task.due_date)
                                   .order_by(Task.id)).all()
        files = db.session.execute(sa.select(EvidenceFile.stored_name, EvidenceFile.sha256)).all()
        return tasks, files

    before = state()
    assert any(t.id == task.id and t.status == TaskStatus.SUBMITTED for t in before[0])
    uploaded = db.session.scalar(sa.select(EvidenceFile.stored_name)
                                 .where(EvidenceFile.task_id == task.id))
    result = runner.invoke(args=["backup", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "tracker.sqlite3" in names
    assert {f"evidence/{name}" for name, _ in before[1]} <= set(names)

    # Lose data: tasks changed, the file deleted.
    db.session.execute(sa.update(Task).values(note="lost"))
    db.session.commit()
    stored = instance_path / "evidence" / uploaded
    stored.unlink()
    db.session.remove()

    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert state() == before
    assert stored.read_bytes() == PDF


def test_restore_refuses_a_bad_archive(app, runner, tmp_path, snapshot):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        data = b"{}"
        info = tarfile.TarInfo("../escape.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    before = snapshot()
    for archive, message in ((bad, "unexpected entry '../escape.txt'"),
                             (tmp_path / "missing.tar.gz", "not a tracker backup")):
        result = runner.invoke(args=["restore", str(archive), "--yes"])
        assert result.exit_code == 2 and message in result.stderr, result.output
    db.session.remove()
    assert snapshot() == before
    assert not (tmp_path.parent / "escape.txt").exists()
