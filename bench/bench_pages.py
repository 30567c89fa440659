"""Benchmark: page render times and SQL statements per page on the bench town.

300 units, the bundled plan over 5 years (about 70,000 tasks), on SQLite or PostgreSQL. Reports
p50 and p95 of a unit's month calendar, a unit's dashboard and the coordinator's
units x status table, and the statements each page sends.
Targets: every page p95 <= 100 ms (the coordinator's town table too).

    python3 dev.py bench          # or: .venv/bin/python bench/bench_pages.py
"""

import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_town, count_statements, report  # noqa: E402

RUNS = 40


def main():
    import sqlalchemy as sa

    from tracker.auth.models import User
    from tracker.extensions import db

    year = datetime.now(timezone.utc).year
    app = bench_town(year)
    with app.app_context():
        tasks = db.session.scalar(sa.text("SELECT count(*) FROM tasks"))
        users = {u.role.value: u.get_id() for u in db.session.scalars(sa.select(User))}
        unit_id = db.session.scalar(sa.select(User.unit_id).where(User.role == "manager"))
        engine = db.engine
    pages = [
        ("unit month calendar", "manager", "/", 100),
        ("unit dashboard", "manager", "/progress", 100),
        ("coordinator units x status", "admin", f"/overview?year={year}", 100),
        ("coordinator unit calendar", "admin", f"/?unit={unit_id}", 100),
    ]
    rows = []
    print(f"Pages on the bench town ({tasks} tasks), {RUNS} requests each:")
    for label, role, url, target in pages:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = users[role]
        client.get(url)  # warm up templates and caches
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with count_statements(engine) as statements:
            client.get(url)
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        rows += [
            {"figure": f"{label} p50 ms", "value": round(p50, 1), "target": "-", "met": True},
            {"figure": f"{label} p95 ms", "value": round(p95, 1), "target": f"<= {target}",
             "met": p95 <= target},
            {"figure": f"{label} statements", "value": len(statements),
             "target": "constant (pinned by tests)", "met": True},
        ]
    report("pages", rows)


if __name__ == "__main__":
    main()
