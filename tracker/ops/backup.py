"""Backups: the SQLite database (online backup API) and the evidence files in one archive,
and restoring one.

The archive is a .tar.gz holding ``manifest.json``, ``tracker.sqlite3`` and
``evidence/...``. PostgreSQL deployments back the database up with pg_dump and restore it
with pg_restore; this module refuses them with that advice rather than writing half a
backup.

A restore is checked whole before anything in place is touched: every entry's name and
kind, the sizes (counted while unpacking, not taken from the headers), the database's
integrity, its schema revision, and its schema itself (tables, columns, indexes, and no
trigger or view), compared with the one the migrations make at that revision. It is
unpacked beside its targets, on their file
systems, so that putting it in place is a few renames; the data it replaces is kept aside
until the new data is in place. A restore cut short while unpacking leaves a folder that
the next restore removes; one cut short between its renames leaves the old data in a
folder marked ``SWAPPING``, which the next restore refuses to touch.
"""

import io
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from tracker.core.errors import TrackerError

FORMAT = 1
#: Prefix of the folders a restore unpacks into, beside the database and the evidence folder.
STAGE_PREFIX = ".tracker-restore-"
#: In a stage folder: the swap has begun; the old data is kept aside under ``before/``.
SWAPPING = "SWAPPING"
MAX_MANIFEST_BYTES = 64 * 1024
#: The deepest path an archive may hold (tracker writes evidence/<year>/<file>): deeper
#: ones are refused before any folder is made (making them recurses, once per folder).
MAX_DEPTH = 16
#: Tables every known schema revision has: a database without them is not tracker's.
CORE_TABLES = {"alembic_version", "units", "users", "plans", "duties", "tasks",
               "evidence_files"}
_CHUNK = 1 << 20


def sqlite_path(url) -> Path:
    """The file of a SQLite URL; TrackerError for any other database."""
    if url.get_backend_name() != "sqlite":
        raise TrackerError(
            f"the database is {url.get_backend_name()}: back it up and restore it with its own "
            f"tools, e.g. `pg_dump --format=custom DBNAME > tracker.dump` and `pg_restore "
            f"--clean --dbname DBNAME tracker.dump` with the app stopped, and copy the evidence "
            f"folder; tracker backup and restore handle SQLite")
    if not url.database or url.database == ":memory:":
        raise TrackerError("an in-memory database cannot be backed up")
    return Path(url.database)


def private_file(path: Path):
    """A new file open for writing that only its owner may read, whatever the umask."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def backup(db_file: Path, evidence_dir: Path, output: Path, now: datetime,
           revision: str | None) -> dict:
    """Write the archive (readable by its owner only); returns the manifest. The database
    is copied with SQLite's online backup, so the app may keep running."""
    if not db_file.exists():
        raise TrackerError(f"{db_file}: no database to back up")
    files = sorted(p for p in evidence_dir.rglob("*") if p.is_file()) if evidence_dir.exists() \
        else []
    partial = output.with_name(output.name + ".partial")
    copy = output.with_name(output.name + ".sqlite3.partial")
    try:
        for leftover in (partial, copy):
            leftover.unlink(missing_ok=True)
        private_file(copy).close()
        source, target = sqlite3.connect(db_file), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        manifest = {"format": FORMAT, "created_at": now.isoformat(), "revision": revision,
                    "evidence_files": len(files)}
        with private_file(partial) as fh, tarfile.open(fileobj=fh, mode="w:gz") as archive:
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
    finally:
        copy.unlink(missing_ok=True)
    return manifest


@dataclass
class Staged:
    """A backup unpacked and checked beside its targets, ready to be put in place."""

    manifest: dict
    revision: str
    db_stage: Path
    evidence_stage: Path

    @property
    def database(self) -> Path:
        """The unpacked database (an older one may be upgraded here before the swap)."""
        return self.db_stage / "tracker.sqlite3"

    def discard(self) -> None:
        """Remove the unpacked files; never once a swap has begun (the data from before it
        may be kept there)."""
        if (self.db_stage / SWAPPING).exists():
            return
        for stage in {self.db_stage, self.evidence_stage}:
            shutil.rmtree(stage, ignore_errors=True)


def _stage_folders(db_file: Path, evidence_dir: Path) -> list[Path]:
    return sorted({p for parent in {db_file.parent, evidence_dir.parent} if parent.is_dir()
                   for p in parent.glob(STAGE_PREFIX + "*")})


def clear_stale(db_file: Path, evidence_dir: Path) -> None:
    """Remove what an earlier restore killed while unpacking left; refuse (touching
    nothing) where one was killed while putting its data in place, since the data from
    before it is kept there."""
    stages = _stage_folders(db_file, evidence_dir)
    for stage in stages:
        if (db_file.parent / stage.name / SWAPPING).exists():
            raise TrackerError(
                f"an earlier restore stopped while putting its data in place; the data from "
                f"before it is kept in {db_file.parent / stage.name}"
                + (f" and {evidence_dir.parent / stage.name}"
                   if evidence_dir.parent != db_file.parent else "")
                + ": check what is in place, keep what you need, remove that folder, then "
                  "restore again")
    for stage in stages:
        shutil.rmtree(stage, ignore_errors=True)


def prepare(archive_path: Path, db_file: Path, evidence_dir: Path, known_revisions: set[str],
            max_bytes: int, max_files: int,
            schema_at: Callable[[str, Path], dict]) -> Staged:
    """Unpack and check a backup beside its targets; nothing in place is touched. The
    caller puts it in place with ``swap`` or drops it with ``Staged.discard``.
    ``schema_at(revision, folder)`` is the schema (``schema_of``) the migrations make at a
    revision, in a database it may make in ``folder``."""
    clear_stale(db_file, evidence_dir)
    try:
        archive = tarfile.open(archive_path, "r:gz")
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise TrackerError(f"{archive_path}: not a tracker backup ({exc})") from None
    name = STAGE_PREFIX + secrets.token_hex(8)
    staged = Staged({}, "", db_file.parent / name, evidence_dir.parent / name)
    try:
        for stage in {staged.db_stage, staged.evidence_stage}:
            stage.mkdir(mode=0o700, parents=True)
        with archive:
            staged.manifest = _unpack(archive, archive_path, staged, max_bytes, max_files)
        staged.revision = _check_database(staged.database, archive_path, known_revisions)
        _check_schema(staged.database, archive_path, staged.revision,
                      schema_at(staged.revision, staged.db_stage))
        (staged.evidence_stage / "evidence").mkdir(mode=0o700, exist_ok=True)
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        staged.discard()
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise TrackerError(f"{archive_path}: cannot unpack the backup ({detail})") from None
    except BaseException:
        staged.discard()
        raise
    return staged


def _unpack(archive, archive_path: Path, staged: Staged, max_bytes: int, max_files: int) -> dict:
    """Unpack member by member as the archive is read, checking each; returns the manifest."""
    manifest, seen, files, folders, total = None, set(), set(), set(), 0
    for count, member in enumerate(archive, start=1):
        if count > max_files:
            raise TrackerError(f"{archive_path}: more than {max_files} entries "
                               f"(RESTORE_MAX_FILES)")
        path = _safe_path(member, archive_path)
        is_file = member.type in (tarfile.REGTYPE, tarfile.AREGTYPE)
        if not (is_file or member.isdir()):
            raise TrackerError(f"{archive_path}: unexpected entry {member.name!r} "
                               f"(links and devices are refused)")
        if path in seen:
            raise TrackerError(f"{archive_path}: {member.name!r} is in it twice")
        seen.add(path)
        if any(parent in files for parent in path.parents):
            raise TrackerError(f"{archive_path}: {str(path.parent)!r} must be a folder, "
                               f"but it is a file")
        if is_file and (path in folders or path == PurePosixPath("evidence")):
            raise TrackerError(f"{archive_path}: {member.name!r} must be a folder, "
                               f"but it is a file")
        (files if is_file else folders).add(path)
        folders.update(path.parents)
        if path == PurePosixPath("manifest.json") and is_file:
            data = archive.extractfile(member).read(MAX_MANIFEST_BYTES + 1)
            manifest = _read_manifest(data, archive_path)
        elif path == PurePosixPath("tracker.sqlite3") and is_file:
            total += _extract(archive, member, staged.database, max_bytes - total, max_bytes,
                              archive_path)
        elif path.parts[0] == "evidence":
            target = staged.evidence_stage.joinpath(*path.parts)
            if is_file:
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                total += _extract(archive, member, target, max_bytes - total, max_bytes,
                                  archive_path)
            else:
                target.mkdir(mode=0o700, parents=True, exist_ok=True)
        else:
            raise TrackerError(f"{archive_path}: unexpected entry {member.name!r}")
    if manifest is None or not staged.database.exists():
        raise TrackerError(f"{archive_path}: not a tracker backup (no manifest or database)")
    return manifest


def _safe_path(member, archive_path: Path) -> PurePosixPath:
    path = PurePosixPath(member.name)
    if (not member.name or member.name.startswith("/") or "\\" in member.name
            or any(part in ("..", "") for part in member.name.rstrip("/").split("/"))
            or path.is_absolute() or not path.parts):
        raise TrackerError(f"{archive_path}: unexpected entry {member.name!r}")
    if len(path.parts) > MAX_DEPTH:
        raise TrackerError(f"{archive_path}: an entry is {len(path.parts) - 1} folders deep "
                           f"(at most {MAX_DEPTH - 1}): {member.name[:80]!r}"
                           f"{'…' if len(member.name) > 80 else ''}")
    return path


def _extract(archive, member, target: Path, budget: int, max_bytes: int,
             archive_path: Path) -> int:
    """Copy one member, counting what is really read against the budget."""
    if member.size > budget:
        raise TrackerError(f"{archive_path}: unpacked, it is larger than {max_bytes} bytes "
                           f"(RESTORE_MAX_BYTES)")
    source, written = archive.extractfile(member), 0
    with private_file(target) as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > budget or written > member.size:
                raise TrackerError(f"{archive_path}: unpacked, it is larger than {max_bytes} "
                                   f"bytes (RESTORE_MAX_BYTES)")
            out.write(chunk)
    return written


def _read_manifest(data: bytes, archive_path: Path) -> dict:
    try:
        if len(data) > MAX_MANIFEST_BYTES:
            raise ValueError("too large")
        manifest = json.loads(data)
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError) as exc:
        raise TrackerError(f"{archive_path}: not a tracker backup (unreadable manifest: "
                           f"{exc})") from None
    if manifest.get("format") != FORMAT:
        raise TrackerError(f"{archive_path}: backup format {manifest.get('format')!r} is "
                           f"not known to this version")
    manifest.setdefault("created_at", "?")
    manifest.setdefault("evidence_files", "?")
    return manifest


def _check_database(path: Path, archive_path: Path, known_revisions: set[str]) -> str:
    """The unpacked database is whole, is tracker's, and is at a revision this version
    knows; returns that revision."""
    try:
        conn = sqlite3.connect(path)
    except sqlite3.Error as exc:
        raise TrackerError(f"{archive_path}: the database in it is unreadable: {exc}") from None
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise TrackerError(f"{archive_path}: the database in it is damaged")
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not CORE_TABLES <= tables:
            raise TrackerError(f"{archive_path}: the database in it is not tracker's "
                               f"(tables missing: {', '.join(sorted(CORE_TABLES - tables))})")
        revisions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.DatabaseError as exc:
        raise TrackerError(f"{archive_path}: the database in it is damaged or not a "
                           f"database: {exc}") from None
    finally:
        conn.close()
    if len(revisions) != 1:
        raise TrackerError(f"{archive_path}: the database in it is not tracker's "
                           f"(schema revisions {revisions})")
    if revisions[0] not in known_revisions:
        raise TrackerError(f"{archive_path}: its database is at schema revision "
                           f"{revisions[0]!r}, which this version does not know (a backup "
                           f"from a newer version?); nothing was restored")
    return revisions[0]


def _where(sql: str | None) -> str:
    """A partial index's condition, spaces and quotes aside."""
    condition = (sql or "").partition(" WHERE ")[2]
    return re.sub(r"[\s\"'`]", "", condition).lower()


def schema_of(path: Path) -> dict[str, object]:
    """A SQLite database's schema as data to compare: ``"table NAME"`` (its columns as
    declared, its foreign keys, the indexes its constraints make), ``"index NAME"`` (its
    table, columns, uniqueness and condition), ``"trigger NAME"`` and ``"view NAME"``.
    SQLite's own tables (``sqlite_sequence``, ``sqlite_stat1``) are left out."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        schema: dict[str, object] = {}
        objects = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                               "ORDER BY type, name").fetchall()
        for kind, name, table, sql in objects:
            if name.startswith("sqlite_"):
                continue  # SQLite's own: its tables, and the indexes of constraints
            if kind == "table":
                quoted = name.replace('"', '""')
                columns = {row[1]: (str(row[2]).upper(), row[3], row[4], row[5], row[6])
                           for row in conn.execute(f'PRAGMA table_xinfo("{quoted}")')}
                keys = sorted((row[2], row[3], str(row[4]), row[5], row[6]) for row in
                              conn.execute(f'PRAGMA foreign_key_list("{quoted}")'))
                implied = sorted(
                    (bool(row[2]), row[3], tuple(c[2] for c in conn.execute(
                        f'PRAGMA index_info("{row[1]}")')))
                    for row in conn.execute(f'PRAGMA index_list("{quoted}")')
                    if row[3] != "c")
                schema[f"table {name}"] = {"columns": columns, "foreign keys": keys,
                                           "constraints": implied}
            elif kind == "index":
                quoted = name.replace('"', '""')
                unique = conn.execute("SELECT \"unique\" FROM pragma_index_list(?) "
                                      "WHERE name = ?", (table, name)).fetchone()
                schema[f"index {name}"] = (table, bool(unique and unique[0]), tuple(
                    row[2] for row in conn.execute(f'PRAGMA index_info("{quoted}")')),
                    _where(sql))
            else:  # trigger, view
                schema[f"{kind} {name}"] = sql
        return schema
    finally:
        conn.close()


def schema_differences(found: dict[str, object], expected: dict[str, object]) -> list[str]:
    """How a database's schema differs from the expected one, in words: what is not
    tracker's first (a trigger, a view: code that would run in the app's database), then
    columns, then what is missing."""
    extra = [f"{key} is not tracker's" for key in sorted(found.keys() - expected.keys())]
    extra.sort(key=lambda text: not text.startswith(("trigger", "view")))
    changed, missing = [], [f"{key} is missing" for key in sorted(expected.keys() - found.keys())]
    for key in sorted(found.keys() & expected.keys()):
        have, want = found[key], expected[key]
        if have == want:
            continue
        if key.startswith("table "):
            table = key.removeprefix("table ")
            columns = [f"{table}.{c} is missing" for c in want["columns"]
                       if c not in have["columns"]]
            columns += [f"{table}.{c} is not tracker's" for c in have["columns"]
                        if c not in want["columns"]]
            columns += [f"{table}.{c} is declared otherwise" for c in have["columns"]
                        if c in want["columns"] and have["columns"][c] != want["columns"][c]]
            if columns:
                changed.append(f"columns of {table}: {', '.join(columns)}")
            for part in ("foreign keys", "constraints"):
                if have[part] != want[part]:
                    changed.append(f"{part} of {table} differ")
        else:
            changed.append(f"{key} differs")
    return extra + changed + missing


def _check_schema(path: Path, archive_path: Path, revision: str, expected: dict) -> None:
    """The unpacked database has the schema the migrations make at its revision."""
    try:
        differences = schema_differences(schema_of(path), expected)
    except sqlite3.DatabaseError as exc:
        raise TrackerError(f"{archive_path}: the database in it is damaged or not a "
                           f"database: {exc}") from None
    if differences:
        shown = "; ".join(differences[:6]) + (" …" if len(differences) > 6 else "")
        raise TrackerError(f"{archive_path}: the database in it does not have the schema of "
                           f"tracker's migrations at its revision {revision}: {shown}; "
                           f"nothing was restored")


def swap(staged: Staged, db_file: Path, evidence_dir: Path) -> None:
    """Put the staged data in place with renames, keeping the old data aside (under
    ``before/`` in the stage folders, marked ``SWAPPING``) until the new is all in place."""
    before, evidence_before = staged.db_stage / "before", staged.evidence_stage / "before"
    for folder in {before, evidence_before}:
        folder.mkdir(mode=0o700, exist_ok=True)
    if db_file.exists():
        _checkpoint(db_file)
    marker = staged.db_stage / SWAPPING
    marker.write_text("the data from before the restore is under before/\n")
    try:
        if db_file.exists():
            try:
                os.link(db_file, before / db_file.name)
            except OSError:  # a file system without hard links
                shutil.copy2(db_file, before / db_file.name)
        os.replace(staged.database, db_file)
        for suffix in ("-wal", "-shm"):
            Path(str(db_file) + suffix).unlink(missing_ok=True)
        if evidence_dir.exists() or evidence_dir.is_symlink():
            os.rename(evidence_dir, evidence_before / "evidence")
        os.rename(staged.evidence_stage / "evidence", evidence_dir)
    except OSError as exc:
        kept = " and ".join(sorted({str(staged.db_stage), str(staged.evidence_stage)}))
        raise TrackerError(f"the restore stopped while putting its data in place "
                           f"({exc.strerror or exc}); the data from before it is kept in "
                           f"{kept}: check what is in place, keep what you need, remove "
                           f"that folder, then restore again") from None
    marker.unlink()
    staged.discard()


def _checkpoint(db_file: Path) -> None:
    """Fold the write-ahead log into the database file, so that the file is whole."""
    conn = sqlite3.connect(db_file)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
