"""Evidence files on disk: never half-written under a final name, what interrupted uploads
leave is cleaned up, and nobody but the owner reads them."""

import errno
import io
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.tasks.test_views import PDF, task_of, upload
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.reminders.jobs import run_evidence_cleanup
from tracker.tasks.models import EvidenceFile

@pytest.fixture(autouse=True)
def no_csrf(request):
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["WTF_CSRF_ENABLED"] = False


#: Writes a 100 kB file with store() in a process that may write no more than 4 kB to a
#: file: the disk filling up half-way, for real.
FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from tracker.tasks.evidence import CheckedFile, store
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    store(b"%PDF" + bytes(100_000), CheckedFile("a.pdf", "pdf", "application/pdf", 100_004, ""),
          Path(sys.argv[1]), 2026)
except OSError as exc:
    print("refused", exc.errno)
"""


def test_a_write_cut_short_leaves_no_file_under_a_final_name(tmp_path):
    """Finding 14: a partial file must never look like a stored one."""
    result = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("refused"), result.stdout + result.stderr
    assert [p.name for p in (tmp_path / "2026").iterdir()] == []


def age(path, days):
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_orphans_and_part_files_a_day_old_are_cleaned_up(app, client, town, login,
                                                         instance_path, runner):
    """Finding 14: what a killed upload leaves (a ``.part`` file, a file with no row) goes
    after a day; files with a row, younger files and anything else stay."""
    login(client, town.users.manager)
    task = task_of(town.units.a, "responsibility-docs")
    assert upload(client, task).status_code == 302
    stored = db.session.scalar(sa.select(EvidenceFile.stored_name))
    folder = instance_path / "evidence"
    kept = folder / stored
    year = stored.split("/")[0]
    orphan, part = folder / year / ("a" * 32 + ".pdf"), folder / year / ("b" * 32 + ".pdf.part")
    young_orphan, young_part = folder / year / ("c" * 32 + ".pdf"), \
        folder / year / ("d" * 32 + ".jpg.part")
    stranger = folder / year / "notes.txt"
    for path in (orphan, part, young_orphan, young_part, stranger):
        path.write_bytes(b"%PDF partial")
    for path in (kept, orphan, part, stranger):
        age(path, 2)
    for path in (young_orphan, young_part):
        age(path, 0)  # by the clock the app reads (the file system's may differ: faketime)
    result = runner.invoke(args=["evidence", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "2 orphaned evidence files removed" in result.output
    assert not orphan.exists() and not part.exists()
    assert kept.read_bytes() == PDF
    assert young_orphan.exists() and young_part.exists() and stranger.exists()
    # The nightly job does the same, two days on.
    for path in (young_orphan, young_part):
        age(path, 2)
    run_evidence_cleanup(app)
    assert not young_orphan.exists() and not young_part.exists() and kept.exists()
    result = runner.invoke(args=["evidence", "cleanup", "--now",
                                 (utcnow() + timedelta(days=30)).isoformat()])
    assert "0 orphaned" in result.output and kept.exists()


def test_uploads_are_written_whole_and_private(client, town, login, instance_path):
    """Finding 18: evidence files 0600 in folders 0700, whatever the umask; no .part left."""
    previous = os.umask(0o022)
    try:
        login(client, town.users.manager)
        task = task_of(town.units.a, "responsibility-docs")
        response = client.post(f"/tasks/{task.id}/evidence", data={"file": [
            (io.BytesIO(PDF), "一.pdf"), (io.BytesIO(PDF), "二.pdf")]},
            content_type="multipart/form-data")
        assert response.status_code == 302
    finally:
        os.umask(previous)
    folder = instance_path / "evidence"
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) == 2 and not any(p.name.endswith(".part") for p in files)
    for path in [folder, *folder.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


class _FullDisk(io.RawIOBase):
    """A file whose every write the OS answers with ENOSPC (what write(2) says when the
    disk is full): the descriptor is real, only the answer is the full disk's."""

    def __init__(self, fd, mode="wb"):
        self.fd = fd

    def writable(self):
        return True

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fileno(self):
        return self.fd

    def close(self):
        if not self.closed:
            os.close(self.fd)
        super().close()


@pytest.mark.parametrize("how", ["ENOSPC", "RLIMIT_FSIZE"])
def test_a_full_disk_is_a_clear_507_and_nothing_is_kept(client, town, login, instance_path,
                                                       monkeypatch, how):
    """The disk fills up during an upload: 507 with a page saying nothing was kept (not a
    500), no row, no file. ENOSPC as write(2) gives it; or a real file-size limit on this
    process (EFBIG), the same for the person uploading."""
    login(client, town.users.manager)
    task = task_of(town.units.a, "responsibility-docs")
    big = PDF + bytes(200_000)
    if how == "ENOSPC":
        monkeypatch.setattr("tracker.tasks.evidence.os.fdopen", _FullDisk)
        response = client.post(f"/tasks/{task.id}/evidence", data={"file": [
            (io.BytesIO(PDF), "一.pdf"), (io.BytesIO(big), "二.pdf")]},
            content_type="multipart/form-data")
    else:
        client.get(f"/tasks/{task.id}")  # the session's writes done before the limit
        previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limits = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, limits[1]))
        try:
            response = client.post(f"/tasks/{task.id}/evidence", data={"file": [
                (io.BytesIO(PDF), "一.pdf"), (io.BytesIO(big), "二.pdf")]},
                content_type="multipart/form-data")
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, limits)
            signal.signal(signal.SIGXFSZ, previous)
    assert response.status_code == 507
    assert "no room left for files: nothing was kept" in response.text
    db.session.expire_all()
    assert db.session.scalars(sa.select(EvidenceFile)).all() == []
    assert [p for p in (instance_path / "evidence").rglob("*") if p.is_file()] == []
