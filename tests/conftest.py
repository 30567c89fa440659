"""Shared fixtures: the app on SQLite and on PostgreSQL, a CLI runner, factories, a real
SMTP server, and a town full of markup for the escaping suites.

Every test that takes ``app`` runs twice: on a SQLite file and on PostgreSQL.
PostgreSQL is found at TRACKER_TEST_POSTGRES_URL (default: the local server as
user postgres). Where it cannot be reached those runs are skipped with the
reason shown, unless TRACKER_TEST_REQUIRE_POSTGRES=1 (as .ci/run sets), where
they fail.
"""

import os
import threading
import uuid

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.mailserver import MailServer
from tests.robotserver import RobotServer
from tracker import create_app
from tracker.auth.models import Role
from tracker.auth.services import create_user as create_user_service
from tracker.extensions import db
from tracker.units.models import Unit, UnitKind

PG_URL = os.environ.get("TRACKER_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("TRACKER_TEST_REQUIRE_POSTGRES") == "1"


class PostgresServer:
    """Makes and drops throw-away databases on the test PostgreSQL server."""

    def __init__(self, url: str):
        self.url = sa.make_url(url)
        self.engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created = []

    def create_database(self) -> str:
        name = f"tracker_test_{uuid.uuid4().hex[:12]}"
        with self.engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self):
        with self.engine.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres():
    """The PostgreSQL server, or a skip (a failure where it is required)."""
    server = PostgresServer(PG_URL)
    try:
        with server.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        server.engine.dispose()
        reason = f"PostgreSQL not reachable at {server.url.render_as_string()}: {exc.orig}"
        if REQUIRE_PG:
            pytest.fail(f"{reason} (TRACKER_TEST_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(f"{reason}; set TRACKER_TEST_POSTGRES_URL to run these tests")
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_schema_url(postgres):
    """One PostgreSQL database with the schema, shared by the tests and emptied after each."""
    import tracker.models  # noqa: F401

    url = postgres.create_database()
    engine = sa.create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request):
    """The database kind a test runs on."""
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def instance_path(tmp_path, monkeypatch):
    """A throw-away instance folder."""
    path = tmp_path / "instance"
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(path))
    return path


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    The tests hold an app context of their own; without this, requests would
    share its ``g`` (and the signed-in user cached there) and its database
    session.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Pages in English unless a test asks otherwise, so assertions read plainly;
        # tests/test_translations.py checks the Chinese.
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(database_url, **config):
    """An app configured for tests."""
    app = _create_app(database_url, config)
    app.test_client_class = IsolatedClient
    return app


def _create_app(database_url, config):
    return create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TIMEZONE": "Asia/Shanghai",
        **config,
    })


@pytest.fixture
def app(backend, database_url, instance_path):
    """The app with an empty schema, inside an app context."""
    app = make_app(database_url)
    with app.app_context():
        if backend == "sqlite":
            db.create_all()
        yield app
        # A binder is built in a thread of its own (tracker.binder.jobs): it finishes
        # before the tables are emptied under it.
        for thread in threading.enumerate():
            if thread.name.startswith("binder-"):
                thread.join(timeout=300)
        db.session.remove()
        if backend == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def empty_database_url(backend, request, tmp_path):
    """A database with no tables at all."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture
def fresh_app(empty_database_url, instance_path):
    """The app on a database without tables, as on first start."""
    app = make_app(empty_database_url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app."""
    return app.test_cli_runner()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def create_unit(app):
    """Factory: ``create_unit(name, kind="branch")`` adds and flushes a unit."""

    def create(name, kind=UnitKind.BRANCH):
        unit = Unit(name=name, kind=UnitKind(kind))
        db.session.add(unit)
        db.session.flush()
        return unit

    return create


@pytest.fixture
def create_user(app):
    """Factory: ``create_user(email, role="manager", unit=None, password=...)``."""

    def create(email, role=Role.MANAGER, unit=None, password="correct horse battery"):
        return create_user_service(email, Role(role), password, unit=unit)

    return create


@pytest.fixture
def snapshot(app):
    """Callable returning every row of every table, to prove nothing was written."""

    def take():
        db.session.expire_all()
        dump = {}
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            dump[table.name] = [tuple(r) for r in db.session.execute(
                sa.select(table).order_by(*order))]
        return dump

    return take


@pytest.fixture
def login():
    """``login(client, user)``: a signed-in session for ``user`` without the form."""

    def sign_in(client, user):
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return client

    return sign_in


@pytest.fixture
def town(app, create_unit, create_user):
    """Two villages and the coordinator's office, their users, the bundled plan loaded
    for the current year (in the plan's timezone)."""
    from types import SimpleNamespace

    from tracker.core.timeutil import local_today, utcnow
    from tracker.phases.planfile import read_plan
    from tracker.tasks.loading import load_plan

    units = SimpleNamespace(
        a=create_unit("洋溢村党总支", "village"),
        b=create_unit("新北村党支部", "village"),
        office=create_unit("镇党委宣传办", "coordinator"),
    )
    users = SimpleNamespace(
        admin=create_user("admin@example.org", "admin", units.office),
        manager=create_user("manager@example.org", "manager", units.a),
        viewer=create_user("viewer@example.org", "viewer", units.a),
        other=create_user("other@example.org", "manager", units.b),
    )
    year = local_today(utcnow(), "Asia/Shanghai").year
    load_plan(read_plan("shuyuan-2020"), year, utcnow())
    db.session.commit()
    return SimpleNamespace(units=units, users=users, year=year)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as statements:`` collects the SQL sent in the block."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    return counting


@pytest.fixture
def hostile_town(town, instance_path):
    """The town with work in every state that shows text, then markup in every free-text
    column (``tests.hostile.fill_town``), for the escaping suites."""
    from tests.hostile import fill_town

    return fill_town(town, instance_path)


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on loopback, stopped after the test."""
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def robot_server():
    """Fake WeCom, DingTalk and Feishu group robots on loopback, speaking each vendor's
    documented contract (tests/robotserver.py); stopped after the test."""
    server = RobotServer()
    server.start()
    yield server
    server.stop()
