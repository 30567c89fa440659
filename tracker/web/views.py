"""Placeholder pages until the calendar lands."""

from flask import Blueprint, render_template

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    """The start page."""
    return render_template("web/index.html")
