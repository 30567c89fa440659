"""Binders built in the background, so that a long build holds no web worker.

A build runs in a thread of the process that took the request and writes into
``instance/binders/``: the file (``<token>.pdf|zip``, written as ``.part`` and renamed when
whole) and its state (``<token>.json``: who asked, what, how far). Any worker answers the
progress page and the download from those files. A build whose process is gone reads as
failed. Jobs are removed a day after they started. A process builds one at a time.
"""

import json
import logging
import os
import re
import secrets
import threading
from datetime import datetime, timedelta
from pathlib import Path

from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.tasks.evidence import private_folder

log = logging.getLogger(__name__)
#: One build at a time in a process: the others wait their turn (their pages show 0%), so
#: that exports never take every core from the requests.
_ONE_AT_A_TIME = threading.BoundedSemaphore(1)
TOKEN = re.compile(r"^[0-9a-f]{32}$")
KEEP = timedelta(days=1)


def folder(app) -> Path:
    path = Path(app.instance_path) / "binders"
    private_folder(path)
    return path


def _write(app, job: dict) -> None:
    """The job's state, replaced whole (a reader never sees half of it)."""
    path = folder(app) / f"{job['token']}.json"
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(job, ensure_ascii=False))
    os.replace(part, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load(app, token: str) -> dict | None:
    """The job of that token, or None; a running job whose process is gone reads failed."""
    if not TOKEN.match(token or ""):
        return None
    try:
        job = json.loads((folder(app) / f"{token}.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if job["state"] == "running" and job["pid"] != os.getpid() and not _alive(job["pid"]):
        job.update(state="failed", error="interrupted")
    return job


def file_of(app, job: dict) -> Path:
    return folder(app) / f"{job['token']}.{job['format']}"


def running_for(app, user_id: int) -> dict | None:
    """The user's build still running, if any (one at a time each)."""
    for path in folder(app).glob("*.json"):
        job = load(app, path.stem)
        if job and job["user_id"] == user_id and job["state"] == "running":
            return job
    return None


def prune(app, now: datetime) -> None:
    """Remove jobs (state and file) started more than a day ago."""
    for path in folder(app).glob("*.json"):
        job = load(app, path.stem)
        if job and datetime.fromisoformat(job["started"]) < now - KEEP:
            file_of(app, job).unlink(missing_ok=True)
            path.unlink(missing_ok=True)


def start(app, user_id: int, year: int, fmt: str, unit_id: int | None, filename: str,
          now: datetime) -> dict:
    """Begin building a unit's binder (``unit_id``) or the town's ZIP (None) in a thread;
    returns the job."""
    prune(app, now)
    job = {"token": secrets.token_hex(16), "user_id": user_id, "year": year, "format": fmt,
           "unit_id": unit_id, "filename": filename, "state": "running", "done": 0,
           "total": 1, "error": "", "pid": os.getpid(), "started": now.isoformat()}
    _write(app, job)
    threading.Thread(target=_run, args=(app, dict(job)), daemon=True,
                     name=f"binder-{job['token'][:8]}").start()
    return job


def _run(app, job: dict) -> None:
    """Build the job's file; record done or failed. Never raises (a thread's exception
    would go nowhere)."""
    from tracker.binder.collect import collect
    from tracker.binder.exports import TOWN, UNIT, TownBinder, UnitBinder
    from tracker.core import exports
    from tracker.units.models import Unit

    def progress(done, total):
        job.update(done=done, total=total)
        _write(app, job)

    target = file_of(app, job)
    part = target.with_name(target.name + ".part")
    try:
        with _ONE_AT_A_TIME, app.app_context():
            try:
                now = utcnow()
                if job["unit_id"] is None:
                    from tracker.assessment.services import assessed_units

                    export = exports.get(TOWN, job["format"])
                    data = TownBinder([u.id for u in assessed_units()], job["year"], now,
                                      progress=progress)
                else:
                    export = exports.get(UNIT, job["format"])
                    data = UnitBinder(collect(db.session.get(Unit, job["unit_id"]),
                                              job["year"], now), progress=progress)
                with open(part, "wb") as fh:
                    export.write(data, fh)
                os.replace(part, target)
                job.update(state="done", done=job["total"])
            finally:
                db.session.remove()
    except TrackerError as exc:
        job.update(state="failed", error=str(exc))
    except Exception:  # anything else: logged in full, the page says it failed
        log.exception("building binder %s failed", job["token"])
        job.update(state="failed", error="internal")
    finally:
        part.unlink(missing_ok=True)
    _write(app, job)
