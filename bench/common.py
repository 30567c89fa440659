"""Shared pieces of the benchmarks: the bench town, statement counting, results."""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

RESULTS = Path(__file__).resolve().parent / "results"


def bench_app(tmp: str):
    """An app on a fresh SQLite file in ``tmp``, schema created."""
    os.environ["TRACKER_INSTANCE_PATH"] = str(Path(tmp) / "instance")
    from tracker import create_app
    from tracker.extensions import db

    app = create_app({"SECRET_KEY": "bench", "TIMEZONE": "Asia/Shanghai",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"})
    with app.app_context():
        db.create_all()
    return app


def add_town(units: int) -> None:
    """``units`` assessed units in equal thirds of each kind, plus the coordinator's office."""
    from tracker.extensions import db
    from tracker.units.models import Unit, UnitKind

    kinds = [UnitKind.BRANCH, UnitKind.OFFICE, UnitKind.ENTERPRISE]
    db.session.add(Unit(name="镇党委宣传办", kind=UnitKind.COORDINATOR))
    db.session.add_all(Unit(name=f"单位{i:04d}", kind=kinds[i % 3]) for i in range(units))
    db.session.commit()


@contextmanager
def count_statements(engine):
    """Collect the SQL statements sent to ``engine`` inside the block."""
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def temp_dir():
    return tempfile.TemporaryDirectory(prefix="tracker-bench-")


def report(name: str, rows: list[dict]) -> None:
    """Print rows (figure, value, target, met) and write them as JSON."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    width = max(len(r["figure"]) for r in rows)
    for r in rows:
        mark = "met" if r["met"] else "NOT MET"
        print(f"  {r['figure']:<{width}}  {r['value']:>12}  target {r['target']:<14} {mark}")
    print(f"  (JSON in {RESULTS / (name + '.json')})")


CACHE = Path(__file__).resolve().parent / ".cache"
BENCH_UNITS = 300
BENCH_YEARS = 5


def bench_town(year: int):
    """The bench town: 300 units, the bundled plan for ``year`` and the 4 years before,
    past work mostly accepted. Built once into bench/.cache/ and reused; returns the app."""
    path = CACHE / f"town-{year}.sqlite3"
    fresh = not path.exists()
    CACHE.mkdir(exist_ok=True)
    building = path.with_suffix(".building")
    if fresh:
        building.unlink(missing_ok=True)
    target = building if fresh else path
    os.environ["TRACKER_INSTANCE_PATH"] = str(CACHE / "instance")
    from tracker import create_app

    app = create_app({"SECRET_KEY": "bench", "TIMEZONE": "Asia/Shanghai",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"})
    if fresh:
        with app.app_context():
            _build_town(year)
            app.extensions["sqlalchemy"].engine.dispose()
        building.rename(path)
        app = create_app({"SECRET_KEY": "bench", "TIMEZONE": "Asia/Shanghai",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    return app


def _build_town(year: int) -> None:
    import random
    from datetime import datetime, timezone

    from tracker.auth.models import Role, User
    from tracker.extensions import db
    from tracker.phases.planfile import read_plan
    from tracker.tasks.loading import load_plan
    from tracker.tasks.models import Task, TaskStatus
    from tracker.units.models import Unit

    print(f"  building the bench town ({BENCH_UNITS} units, {BENCH_YEARS} years) once ...",
          flush=True)
    db.create_all()
    add_town(BENCH_UNITS)
    spec = read_plan("shuyuan-2020")
    now = datetime.now(timezone.utc)
    for y in range(year - BENCH_YEARS + 1, year + 1):
        load_plan(spec, y, now)
    db.session.commit()
    # Past work: mostly accepted, some submitted or returned, as a real town would have.
    rng = random.Random(2020)
    today = now.date()
    updates = []
    for task_id, due in db.session.execute(sa.select(Task.id, Task.due_date)):
        if due < today:
            roll = rng.random()
            status = (TaskStatus.ACCEPTED if roll < 0.8 else TaskStatus.SUBMITTED
                      if roll < 0.9 else TaskStatus.RETURNED if roll < 0.95 else None)
            if status:
                updates.append({"id": task_id, "status": status})
    db.session.execute(sa.update(Task), updates)
    first_unit = db.session.scalar(sa.select(Unit).where(Unit.name == "单位0000"))
    # Password hashes are not what is measured: a placeholder hash is enough here.
    db.session.add_all([
        User(email="admin@bench.example", role=Role.ADMIN, password_hash="-"),
        User(email="manager@bench.example", role=Role.MANAGER, unit=first_unit,
             password_hash="-"),
    ])
    db.session.commit()
