"""Load run: the served app (``tracker serve``, 2 x cores + 1 workers) on loopback under a
bounded load, with 8 and then 16 users.

Signed-in users (unit managers and the coordinator) make a mix of calendar, task page,
upload and feed requests for DURATION seconds each run; the run reports errors (target:
none) and p95 per route (target for the pages, calendar, task page and progress, at 8
users: p95 <= 100 ms). Traffic goes to 127.0.0.1 only and stops by itself.

    python3 dev.py bench load      # or: .venv/bin/python bench/bench_load.py
"""

import http.cookiejar
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CACHE, bench_town, report  # noqa: E402

DURATION = int(os.environ.get("TRACKER_LOAD_SECONDS", "120"))
#: The runs, one after the other: how many users each.
RUNS = [int(n) for n in os.environ.get("TRACKER_LOAD_USERS", "8,16").split(",")]
USERS = max(RUNS)
#: Routes that render a page, and their p95 target (ms) at 8 users.
PAGES = ("calendar", "task page", "progress")
PAGE_P95_MS = 100
PASSWORD = "bench load password"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def prepare(year):
    """The bench town with real passwords for a few users, and a feed token each."""
    import sqlalchemy as sa

    from tracker.auth.models import Role, User
    from tracker.auth.passwords import hash_password
    from tracker.calendar.services import issue_token
    from tracker.extensions import db
    from tracker.tasks.models import Task
    from tracker.units.models import Unit

    app = bench_town(year)
    people = []
    with app.app_context():
        hashed = hash_password(PASSWORD)
        units = db.session.scalars(sa.select(Unit).where(Unit.name.like("单位%"))
                                   .order_by(Unit.id).limit(USERS - 1)).all()
        now = datetime.now(timezone.utc)
        for i, unit in enumerate(units):
            email = f"load{i}@bench.example"
            user = db.session.scalar(sa.select(User).where(User.email == email)) or User(
                email=email, role=Role.MANAGER, unit=unit, password_hash=hashed)
            user.password_hash = hashed
            db.session.add(user)
            db.session.flush()
            tasks = db.session.scalars(sa.select(Task.id).where(
                Task.unit_id == unit.id, Task.year == year).limit(40)).all()
            people.append((email, issue_token(user, now), tasks))
        admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
        admin.password_hash = hashed
        all_tasks = db.session.scalars(sa.select(Task.id).where(Task.year == year)
                                       .limit(200)).all()
        people.append((admin.email, issue_token(admin, now), all_tasks))
        db.session.commit()
        url = app.config["SQLALCHEMY_DATABASE_URI"]
    return people, url


@contextmanager
def served(url: str, workers: int):
    """``tracker serve`` on ``url``'s database with ``workers`` workers, on a free loopback
    port; yields its base URL once it answers, and stops it after."""
    port = free_port()
    env = {**os.environ, "TRACKER_SQLALCHEMY_DATABASE_URI": url,
           "TRACKER_INSTANCE_PATH": str(CACHE / "instance"), "TRACKER_SECRET_KEY": "bench"}
    server = subprocess.Popen([str(Path(sys.executable).with_name("tracker")), "serve",
                               "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path, data=None, headers=None):
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def csrf(self, path):
        status, body = self.request(path)
        return re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', body).group(
            1).decode()


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
                     + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def user_loop(base, email, token, tasks, year, deadline, samples, errors, seed):
    rng = random.Random(seed)
    client = Client(base)
    token_value = client.csrf("/login")
    body = urllib.parse.urlencode({"email": email, "password": PASSWORD,
                                   "csrf_token": token_value}).encode()
    status, _ = client.request("/login", body)
    if status != 200:
        errors.append(("login", status))
        return
    while time.monotonic() < deadline:
        roll = rng.random()
        task = rng.choice(tasks)
        if roll < 0.35:
            route, call = "calendar", lambda: client.request("/")
        elif roll < 0.65:
            route, call = "task page", lambda: client.request(f"/tasks/{task}")
        elif roll < 0.75:
            def call():
                csrf = client.csrf(f"/tasks/{task}") if not email.startswith("admin") else None
                if csrf is None:
                    return client.request("/progress")
                data, headers = multipart({"csrf_token": csrf}, {"file": ("记录.pdf", PDF)})
                return client.request(f"/tasks/{task}/evidence", data, headers)
            route = "upload"
        elif roll < 0.9:
            route, call = "feed", lambda: Client(base).request(
                f"/feeds/{token}.ics?year={year}")
        else:
            route, call = "progress", lambda: client.request("/progress")
        started = time.perf_counter()
        try:
            status, _ = call()
        except OSError as exc:  # a time-out or a refused connection is an error too
            errors.append((route, type(exc).__name__))
            continue
        samples.setdefault(route, []).append((time.perf_counter() - started) * 1000)
        # 400: an upload to a task already submitted or accepted is refused, as it should be.
        if status >= 500 or status in (401, 403, 404) or (status == 400 and route != "upload"):
            errors.append((route, status))


def main():
    import multiprocessing

    year = datetime.now(timezone.utc).year
    people, url = prepare(year)
    workers = 2 * multiprocessing.cpu_count() + 1
    rows = []
    for users in RUNS:
        rows += load_run(people[:users - 1] + people[-1:], url, year, workers)
    report("load", rows)


def load_run(people, url, year, workers) -> list[dict]:
    with served(url, workers) as base:
        samples, errors = {}, []
        deadline = time.monotonic() + DURATION
        threads = [threading.Thread(target=user_loop, args=(base, email, token, tasks, year,
                                                            deadline, samples, errors, i))
                   for i, (email, token, tasks) in enumerate(people)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    n = len(people)
    total = sum(len(v) for v in samples.values())
    print(f"Load run: {n} users, {workers} workers, {DURATION} s, {total} requests, "
          f"{len(errors)} errors {errors[:5]}")
    rows = [{"figure": f"{n} users: errors", "value": len(errors), "target": "0",
             "met": not errors},
            {"figure": f"{n} users: requests per second", "value": round(total / DURATION, 1),
             "target": "-", "met": True}]
    for route, times in sorted(samples.items()):
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        pinned = route in PAGES and n <= 8
        rows.append({"figure": f"{n} users: {route} p95 ms ({len(times)} requests)",
                     "value": round(p95, 1),
                     "target": f"<= {PAGE_P95_MS}" if pinned else "reported",
                     "met": p95 <= PAGE_P95_MS if pinned else True})
    return rows


if __name__ == "__main__":
    main()
