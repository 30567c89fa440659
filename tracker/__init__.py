"""tracker: an annual work-plan and deadline tracker."""

import os
import secrets
from pathlib import Path

from flask import Flask

#: The checkout's top level: templates/ lives there, beside the package.
ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")


def create_app(test_config=None):
    """Create and configure the app (flaskr's factory, with config from the environment)."""
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.environ.get("TRACKER_INSTANCE_PATH") or str(ROOT / "instance"),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
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
        #: Largest evidence file accepted; a request a little larger is refused (413).
        MAX_EVIDENCE_BYTES=20 * 1024 * 1024,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        #: Failed sign-ins allowed per account, and per client address, in the window.
        LOGIN_MAX_FAILURES=5,
        LOGIN_MAX_FAILURES_PER_ADDRESS=30,
        LOGIN_FAILURE_WINDOW_MINUTES=15,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TRACKER")
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)

    import tracker.core.db  # noqa: F401  (SQLite pragmas on every connection)
    from tracker.core.types import render_item
    from tracker.core.web import select_locale
    from tracker.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True,
                     render_item=render_item)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    from tracker import models  # noqa: F401  (every model registered before first use)
    from tracker import reminders
    from tracker.assessment.views import bp as assessment_bp
    from tracker.auth import login  # noqa: F401  (the user loader)
    from tracker.auth.views import bp as auth_bp
    from tracker.calendar.views import bp as calendar_bp
    from tracker.core import web
    from tracker.core.health import bp as health_bp
    from tracker.dashboard.views import bp as dashboard_bp
    from tracker.reminders.views import bp as reminders_bp
    from tracker.tasks.views import bp as tasks_bp
    from tracker.units.views import bp as units_bp

    web.init_app(app)
    reminders.init_app(app)  # mail config defaults; the scheduler only where config asks
    for blueprint in (auth_bp, dashboard_bp, tasks_bp, units_bp, calendar_bp, assessment_bp,
                      reminders_bp, health_bp):
        app.register_blueprint(blueprint)

    from tracker.cli import register_commands

    register_commands(app)
    return app


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
