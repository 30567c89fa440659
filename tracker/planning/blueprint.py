"""The ``planning`` blueprint (``/plans``) and what its two route modules share: the
plans' pages (``views.py``) and the editor's (``editor.py``) both register on it, and
both load a version, commit and answer the same way. Behind the coordinator gate
(``tracker.core.web``): anyone else signed in gets 404, the page does not exist for them.
"""

from flask import Blueprint, abort, flash, redirect, render_template

from tracker.core.errors import TrackerError
from tracker.core.web import admin_required as coordinator_only
from tracker.extensions import db
from tracker.planning import services

bp = Blueprint("planning", __name__, url_prefix="/plans")

__all__ = ["bp", "conflict", "coordinator_only", "done", "refused", "version_or_404"]


def version_or_404(version_id: int):
    """The plan version, or 404."""
    try:
        return services.get_version(version_id)
    except TrackerError:
        abort(404)


def done(message: str, target: str):
    """Commit, say so, and go on to ``target``."""
    db.session.commit()
    flash(message, "success")
    return redirect(target)


def conflict(message: str):
    """A 409 page: the action clashes with a change made meanwhile."""
    return render_template("errors/error.html", code=409, description=message), 409


def refused(error: TrackerError, target: str):
    """Roll back, show why, and go back to ``target``."""
    db.session.rollback()
    flash(str(error), "error")
    return redirect(target)
