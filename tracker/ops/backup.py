"""Backups: the SQLite database (online backup API) and the evidence files in one archive.

The archive is a .tar.gz holding ``manifest.json``, ``tracker.sqlite3`` and
``evidence/...``. PostgreSQL deployments back the database up with pg_dump; this
module refuses them with that advice rather than writing half a backup.
"""

import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path, PurePosixPath

from tracker.core.errors import TrackerError

FORMAT = 1


def sqlite_path(url) -> Path:
    """The file of a SQLite URL; TrackerError for any other database."""
    if url.get_backend_name() != "sqlite":
        raise TrackerError(
            f"the database is {url.get_backend_name()}: back it up with its own tools, e.g. "
            f"`pg_dump --format=custom DBNAME > tracker.dump`, and copy the evidence folder; "
            f"tracker backup handles SQLite")
    if not url.database or url.database == ":memory:":
        raise TrackerError("an in-memory database cannot be backed up")
    return Path(url.database)


def backup(db_file: Path, evidence_dir: Path, output: Path, now: datetime,
           revision: str | None) -> dict:
    """Write the archive; returns the manifest. The database is copied with SQLite's
    online backup, so the app may keep running."""
    if not db_file.exists():
        raise TrackerError(f"{db_file}: no database to back up")
    files = sorted(p for p in evidence_dir.rglob("*") if p.is_file()) if evidence_dir.exists() \
        else []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tracker.sqlite3"
        source, target = sqlite3.connect(db_file), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        manifest = {"format": FORMAT, "created_at": now.isoformat(), "revision": revision,
                    "evidence_files": len(files)}
        partial = output.with_name(output.name + ".partial")
        try:
            with tarfile.open(partial, "w:gz") as archive:
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size, info.mtime = len(data), int(now.timestamp())
                archive.addfile(info, io.BytesIO(data))
                archive.add(copy, "tracker.sqlite3")
                for path in files:
                    archive.add(path, str(PurePosixPath("evidence") / path.relative_to(
                        evidence_dir).as_posix()))
            os.replace(partial, output)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise TrackerError(f"{output}: cannot write the backup: {exc.strerror}") from None
    return manifest


def restore(archive_path: Path, db_file: Path, evidence_dir: Path) -> dict:
    """Replace the database and evidence files with an archive's; returns its manifest.

    Everything is unpacked and checked in a temporary folder first, then moved into
    place, so a bad archive leaves the current data as it was.
    """
    try:
        archive = tarfile.open(archive_path, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise TrackerError(f"{archive_path}: not a tracker backup ({exc})") from None
    with archive, tempfile.TemporaryDirectory(dir=db_file.parent) as tmp:
        names = archive.getnames()
        if "manifest.json" not in names or "tracker.sqlite3" not in names:
            raise TrackerError(f"{archive_path}: not a tracker backup (no manifest or database)")
        for member in archive.getmembers():
            path = PurePosixPath(member.name)
            if (path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir())
                    or not (member.name in ("manifest.json", "tracker.sqlite3")
                            or path.parts[0] == "evidence")):
                raise TrackerError(f"{archive_path}: unexpected entry {member.name!r}")
        manifest = json.loads(archive.extractfile("manifest.json").read())
        if manifest.get("format") != FORMAT:
            raise TrackerError(f"{archive_path}: backup format {manifest.get('format')} is "
                               f"not known to this version")
        archive.extractall(tmp, filter="data")
        unpacked = Path(tmp)
        check = sqlite3.connect(unpacked / "tracker.sqlite3")
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise TrackerError(f"{archive_path}: the database in it is damaged")
        except sqlite3.DatabaseError as exc:
            raise TrackerError(f"{archive_path}: the database in it is unreadable: {exc}") from None
        finally:
            check.close()
        old_evidence = evidence_dir.with_name(evidence_dir.name + ".before-restore")
        shutil.rmtree(old_evidence, ignore_errors=True)
        if evidence_dir.exists():
            evidence_dir.rename(old_evidence)
        new_evidence = unpacked / "evidence"
        if new_evidence.exists():
            shutil.move(str(new_evidence), evidence_dir)
        else:
            evidence_dir.mkdir(parents=True)
        os.replace(unpacked / "tracker.sqlite3", db_file)
        for suffix in ("-wal", "-shm"):
            Path(str(db_file) + suffix).unlink(missing_ok=True)
        shutil.rmtree(old_evidence, ignore_errors=True)
    return manifest
