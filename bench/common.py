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
