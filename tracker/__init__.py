"""tracker: an annual work-plan and deadline tracker."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask

from tracker.core.cli import FACTORY
from tracker.core.paths import PACKAGE, STATIC, TEMPLATES


def _default_instance_path() -> str | None:
    """``instance/`` in a checkout; where Flask keeps an installed package's
    (``<prefix>/var/tracker-instance``) otherwise."""
    checkout = PACKAGE.parent
    return str(checkout / "instance") if (checkout / "setup.cfg").is_file() else None


def create_app(test_config=None):
    """Create and configure the app (flaskr's factory, with config from the environment)."""
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.environ.get("TRACKER_INSTANCE_PATH") or _default_instance_path(),
                template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "tracker.sqlite3"),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        TIMEZONE="Asia/Shanghai",
        BASE_URL="http://127.0.0.1:5000",
        MAIL_BACKEND=None,
        SCHEDULER_ENABLED=False,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        LANGUAGES=["zh_CN", "en"],
        #: Largest evidence file accepted (413 above it).
        MAX_EVIDENCE_BYTES=20 * 1024 * 1024,
        #: Files uploaded at once, and their size together; a request a little larger is
        #: refused before it is read (413).
        MAX_UPLOAD_FILES=20,
        MAX_UPLOAD_BYTES=64 * 1024 * 1024,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        #: "Keep me signed in" lasts this long, and no session longer (checked by the
        #: server, not only by the cookie's expiry); sign-out ends it sooner.
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        #: Password guesses from one address at one account, and at any account, before
        #: each further guess from there waits LOGIN_DELAY_SECONDS, doubling with each
        #: failure up to the window (tracker.auth.throttle); a count unused for the
        #: window starts again. No account is ever locked.
        LOGIN_MAX_FAILURES=5,
        LOGIN_MAX_FAILURES_PER_ADDRESS=30,
        #: An address is an IPv4 address or an IPv6 /64; guesses at any account from
        #: one IPv6 /48 are counted together too, and guesses at one account from every
        #: place it has not signed in from (tracker.auth.throttle).
        LOGIN_MAX_FAILURES_PER_NETWORK=100,
        LOGIN_MAX_FAILURES_PER_ACCOUNT=20,
        LOGIN_DELAY_SECONDS=30,
        LOGIN_FAILURE_WINDOW_MINUTES=15,
        #: What a backup may hold when `tracker restore` unpacks it: bytes in all, and
        #: entries (files and folders); counted while unpacking.
        RESTORE_MAX_BYTES=16 * 1024 ** 3,
        RESTORE_MAX_FILES=200_000,
        #: Sign-in records (login_attempts) are dropped after this many days.
        LOGIN_RECORDS_KEEP_DAYS=90,
        #: Reverse proxies in front of the app whose X-Forwarded-For and -Proto are
        #: trusted (Werkzeug's ProxyFix); 0: none, the client is the peer address.
        PROXIES=0,
        #: Answers to the anonymous 群众评议 questionnaire accepted from one address
        #: within an hour (a village hall's shared network answers too); more get 429.
        SURVEY_MAX_PER_ADDRESS=30,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TRACKER")
    else:
        app.config.from_mapping(test_config)
    _trust_proxies(app)
    _private_instance(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)

    import tracker.core.db  # noqa: F401  (SQLite pragmas on every connection)
    from tracker.core.paths import MIGRATIONS
    from tracker.core.types import render_item
    from tracker.core.web import select_locale
    from tracker.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True,
                     render_item=render_item)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    # Every model registered before first use; importing them imports every area's
    # package, which connects the area's signal receivers (tracker.core.signals).
    from tracker import models  # noqa: F401
    from tracker import reminders
    from tracker.assessment.cycle_views import bp as yearend_bp, survey_bp
    from tracker.assessment.views import bp as assessment_bp
    from tracker.auth import login  # noqa: F401  (the user loader)
    from tracker.auth.views import bp as auth_bp
    from tracker.binder.views import bp as binder_bp
    from tracker.calendar.views import bp as calendar_bp
    from tracker.core import exports, web
    from tracker.dashboard.views import bp as dashboard_bp
    from tracker.ops.health import bp as health_bp
    from tracker.ops.pwa import bp as pwa_bp
    from tracker.planning import editor, views  # noqa: F401  (their routes, on planning_bp)
    from tracker.planning.blueprint import bp as planning_bp
    from tracker.reminders.views import bp as reminders_bp, inbox_bp
    from tracker.tasks.views import bp as tasks_bp
    from tracker.units.views import bp as units_bp
    from tracker.workdays.views import bp as workdays_bp

    web.init_app(app)
    exports.init_app(app)  # the templates' export links
    reminders.init_app(app)  # mail config defaults; the scheduler only where config asks
    for blueprint in (auth_bp, calendar_bp, dashboard_bp, tasks_bp, units_bp, assessment_bp,
                      reminders_bp, inbox_bp, workdays_bp, planning_bp, health_bp, pwa_bp,
                      binder_bp, yearend_bp, survey_bp):
        app.register_blueprint(blueprint)

    register_commands(app)
    _hold_while_serving(app)
    # Commands that make another app take the factory from here (tracker.core.cli).
    app.extensions[FACTORY] = create_app
    return app


def _hold_while_serving(app):
    """``tracker run`` (the development server) marks the database in use, as ``tracker
    serve`` does, so that a restore waits until it stops."""
    import click

    from tracker.core import inuse
    from tracker.core.errors import TrackerError

    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.info_name == "run":
        try:
            inuse.hold(app)
        except TrackerError as exc:
            raise click.ClickException(str(exc)) from None


def register_commands(app):
    """Attach every area's commands to ``app.cli`` (so ``flask --app tracker`` has them too)."""
    from tracker.assessment.cli import assessment_cli
    from tracker.auth.cli import user_cli
    from tracker.binder.cli import binder_cli, stats_command
    from tracker.calendar.cli import feed_cli, ics_cli
    from tracker.ops.commands import (backup_command, demo_command, init_db_command,
                                      restore_command)
    from tracker.ops.serve import serve_command
    from tracker.planning import cli as planning_cli  # noqa: F401  (plan export, rollover)
    from tracker.reminders.cli import reminders_cli, scheduler_command
    from tracker.tasks.cli import evidence_cli, plan_cli, tasks_cli
    from tracker.units.cli import unit_cli
    from tracker.workdays.cli import workdays_cli

    for command in (init_db_command, demo_command, plan_cli, unit_cli, user_cli, tasks_cli,
                    workdays_cli, ics_cli, feed_cli, reminders_cli, scheduler_command,
                    assessment_cli, backup_command, restore_command, serve_command, evidence_cli,
                    binder_cli, stats_command):
        app.cli.add_command(command)


def _private_instance(app) -> None:
    """The instance folder (database, evidence, outbox, secret key) for the user the app runs
    as only: 0700, and a SQLite database file 0600 before SQLite makes it (its WAL and
    shared-memory files take the database's mode), whatever the umask. Folders and files an
    older version left readable to others are tightened."""
    import sqlalchemy as sa

    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    _tighten(Path(app.instance_path), 0o700)
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return
    database = Path(url.database)
    if database.parent.is_dir() and not database.exists():
        try:
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        _tighten(path, 0o600)


def _tighten(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(mode)
    except FileNotFoundError:
        pass


def _trust_proxies(app) -> None:
    """Behind PROXIES reverse proxies, the client's address and scheme are the ones the
    nearest of them saw (without this, every client has the proxy's address)."""
    value = app.config["PROXIES"]
    try:
        proxies = int(value)
    except (TypeError, ValueError):
        proxies = -1
    if proxies < 0 or isinstance(value, bool):
        raise ValueError(f"TRACKER_PROXIES must be a whole number of proxies (0 for none), "
                         f"not {value!r}")
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def _instance_secret(instance_path: str) -> str:
    """A secret key kept in the instance folder, made on first start.

    Production sets TRACKER_SECRET_KEY; this keeps a laptop's sessions valid
    across restarts without a secret in the repository.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()
