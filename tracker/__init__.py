"""tracker: an annual work-plan and deadline tracker."""

import os
import secrets
from pathlib import Path

from flask import Flask, request

#: The checkout's top level: templates/ lives there, beside the package.
ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")


def create_app(test_config=None):
    """Create and configure the app (flaskr's factory, with config from the environment)."""
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.environ.get("TRACKER_INSTANCE_PATH") or str(ROOT / "instance"),
                template_folder=str(ROOT / "templates"))
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
    from tracker.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True,
                     render_item=render_item)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: request.accept_languages.best_match(
        app.config["LANGUAGES"]))

    from tracker import models  # noqa: F401  (every model registered before first use)
    from tracker.auth import login  # noqa: F401  (the user loader)
    from tracker.web.views import bp as web_bp

    app.register_blueprint(web_bp)

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
