"""``tracker serve``: the app under gunicorn, for production."""

import gc
import multiprocessing

import click
from flask import current_app
from flask.cli import with_appcontext
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from tracker.core import inuse
from tracker.core.cli import app_factory, handle_errors
from tracker.core.logs import redact_logger


class TrackerServer(BaseApplication):
    """Gunicorn running the app ``factory`` makes, loaded once and forked into the
    workers."""

    def __init__(self, factory, options: dict):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        app = self.factory()
        # What the app has loaded lives as long as the workers: out of the collector's
        # way (a full collection walks every object, in every request it falls on), and
        # left unwritten by it, so the forked workers keep sharing those pages.
        gc.collect()
        gc.freeze()
        return app


class RedactingLogger(Logger):
    """Gunicorn's logs (access and error) without the calendar feed and unsubscribe
    tokens of the paths they name."""

    def setup(self, cfg):
        super().setup(cfg)
        redact_logger(self.access_log)
        redact_logger(self.error_log)


def _post_fork(server, worker):
    # Connections opened before the fork (preload) must not be shared by workers:
    # each worker starts with an empty pool of its own.
    from tracker.extensions import db

    app = worker.app.wsgi()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT")
@click.option("--workers", type=click.IntRange(1, 64),
              default=min(2 * multiprocessing.cpu_count() + 1, 9), show_default=True)
@click.option("--timeout", type=click.IntRange(5, 600), default=60, show_default=True)
@with_appcontext
@handle_errors
def serve_command(bind, workers, timeout):
    """Serve the app with gunicorn (production). Run `tracker scheduler` beside it."""
    # Held by the master and inherited by the workers it forks: a restore waits for all.
    inuse.hold(current_app)
    TrackerServer(app_factory(), {
        "bind": bind, "workers": workers, "timeout": timeout, "preload_app": True,
        "post_fork": _post_fork, "accesslog": "-", "errorlog": "-",
        "logger_class": RedactingLogger,
        "forwarded_allow_ips": "127.0.0.1",
    }).run()
