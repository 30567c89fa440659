"""Shared pieces of the benchmarks: the bench town, statement counting, results."""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

RESULTS = Path(__file__).resolve().parent / "results"

#: The database the benchmarks run on: ``sqlite`` (a file) or ``postgresql`` (a scratch
#: database on 127.0.0.1:5432, user postgres), from ``python3 dev.py bench --db ...``.
DB = os.environ.get("TRACKER_BENCH_DB", "sqlite")
if DB not in ("sqlite", "postgresql"):
    raise SystemExit(f"TRACKER_BENCH_DB must be sqlite or postgresql, not {DB!r}")
PG_SERVER = os.environ.get("TRACKER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _pg_admin():
    return sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")


def pg_database(name: str, fresh: bool = True) -> tuple[str, bool]:
    """The URL of scratch database ``name`` on the bench PostgreSQL server, made empty when
    ``fresh`` (else made only if missing); and whether it was made now."""
    engine = _pg_admin()
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": name}) is not None
            if exists and fresh:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            made = fresh or not exists
            if made:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return f"{PG_SERVER}/{name}", made


def pg_rename(old: str, new: str) -> None:
    engine = _pg_admin()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)'))
            conn.execute(sa.text(f'ALTER DATABASE "{old}" RENAME TO "{new}"'))
    finally:
        engine.dispose()


def database_url(tmp: str, name: str = "bench") -> str:
    """A fresh, empty database for one benchmark: a SQLite file in ``tmp``, or a scratch
    PostgreSQL database ``tracker_bench_<name>``."""
    if DB == "postgresql":
        return pg_database(f"tracker_bench_{name}")[0]
    return f"sqlite:///{Path(tmp) / (name + '.sqlite3')}"


def bench_app(tmp: str, name: str = "bench"):
    """An app on a fresh database (``database_url``), schema created."""
    os.environ["TRACKER_INSTANCE_PATH"] = str(Path(tmp) / "instance")
    from tracker import create_app
    from tracker.extensions import db

    app = create_app({"SECRET_KEY": "bench", "TIMEZONE": "Asia/Shanghai",
                      "SQLALCHEMY_DATABASE_URI": database_url(tmp, name)})
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


def result_path(name: str, db: str = DB) -> Path:
    """Where a benchmark's figures are written: ``name.json`` for SQLite,
    ``name.postgresql.json`` for PostgreSQL."""
    return RESULTS / (f"{name}.json" if db == "sqlite" else f"{name}.{db}.json")


def report(name: str, rows: list[dict]) -> None:
    """Print rows (figure, value, target, met) and write them as JSON."""
    RESULTS.mkdir(exist_ok=True)
    print(f"  (database: {DB})")
    result_path(name).write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    width = max(len(r["figure"]) for r in rows)
    for r in rows:
        mark = "met" if r["met"] else "NOT MET"
        print(f"  {r['figure']:<{width}}  {r['value']:>12}  target {r['target']:<14} {mark}")
    print(f"  (JSON in {result_path(name)})")


CACHE = Path(__file__).resolve().parent / ".cache"
BENCH_UNITS = 300
BENCH_YEARS = 5


def bench_town(year: int):
    """The bench town: 300 units, the bundled plan for ``year`` and the 4 years before,
    past work mostly accepted. Built once into bench/.cache/ (SQLite) or the database
    ``tracker_bench_town_<year>_<schema>`` (PostgreSQL) and reused while the schema is the
    same (a town of an older schema is dropped); returns the app."""
    os.environ["TRACKER_INSTANCE_PATH"] = str(CACHE / "instance")
    CACHE.mkdir(exist_ok=True)
    from tracker import create_app

    schema = _schema_digest()

    def app_on(url):
        return create_app({"SECRET_KEY": "bench", "TIMEZONE": "Asia/Shanghai",
                           "SQLALCHEMY_DATABASE_URI": url})

    if DB == "postgresql":
        name = f"tracker_bench_town_{year}_{schema}"
        engine = _pg_admin()
        try:
            with engine.connect() as conn:
                towns = conn.scalars(sa.text("SELECT datname FROM pg_database WHERE datname "
                                             "LIKE :prefix"),
                                     {"prefix": f"tracker_bench_town_{year}%"}).all()
                for old in towns:
                    if old != name:
                        conn.execute(sa.text(f'DROP DATABASE "{old}" WITH (FORCE)'))
            built = name in towns
        finally:
            engine.dispose()
        url = f"{PG_SERVER}/{name}"
        if built:
            return app_on(url)
        building, _ = pg_database(name + "_building")
        app = app_on(building)
        with app.app_context():
            _build_town(year)
            app.extensions["sqlalchemy"].engine.dispose()
        pg_rename(name + "_building", name)
        return app_on(url)

    path = CACHE / f"town-{year}-{schema}.sqlite3"
    for old in CACHE.glob(f"town-{year}*.sqlite3"):
        if old != path:
            old.unlink()
    fresh = not path.exists()
    building = path.with_suffix(".building")
    if fresh:
        building.unlink(missing_ok=True)
    target = building if fresh else path
    app = app_on(f"sqlite:///{target}")
    if fresh:
        with app.app_context():
            _build_town(year)
            app.extensions["sqlalchemy"].engine.dispose()
        building.rename(path)
        app = app_on(f"sqlite:///{path}")
    return app


def _schema_digest() -> str:
    """A short digest of the schema the models declare: a kept town of another schema is
    built again."""
    import hashlib

    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    import tracker.models  # noqa: F401  (every table in the metadata)
    from tracker.extensions import db

    dialect = postgresql.dialect()
    ddl = [str(CreateTable(t).compile(dialect=dialect)) for t in db.metadata.sorted_tables]
    ddl += sorted(str(CreateIndex(i).compile(dialect=dialect))
                  for t in db.metadata.sorted_tables for i in t.indexes)
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:10]


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
