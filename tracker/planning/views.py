"""``/plans``: the coordinator's plans by year, drafts, preview and publish, roll-over,
import of an official document. Behind the coordinator gate (``tracker.core.web``): anyone
else signed in gets 404, the page does not exist for them.
"""

from datetime import date

from flask import (Blueprint, Response, abort, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.web import admin_required as coordinator_only, attachment, today
from tracker.extensions import db
from tracker.phases.docximport import draft_toml, read_document
from tracker.phases.models import VersionState
from tracker.phases.planfile import bundled_plans
from tracker.planning import editing, services
from tracker.workdays.calendar import schedule_known

bp = Blueprint("planning", __name__, url_prefix="/plans")
#: The largest Word document taken (the seed's is about 40 KB).
MAX_DOCX_BYTES = 5 * 1024 * 1024


def _version(version_id: int):
    try:
        return services.get_version(version_id)
    except TrackerError:
        abort(404)


def _year(value: str) -> int:
    if not (value.isascii() and value.isdigit() and MIN_YEAR <= int(value) <= MAX_YEAR):
        raise TrackerError(_("The year must lie between %(low)d and %(high)d.", low=MIN_YEAR,
                             high=MAX_YEAR))
    return int(value)


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise TrackerError(_("Give the date as YYYY-MM-DD.")) from None


def _done(message: str, target: str):
    db.session.commit()
    flash(message, "success")
    return redirect(target)


def _refused(error: TrackerError, target: str):
    db.session.rollback()
    flash(str(error), "error")
    return redirect(target)


@bp.get("")
@coordinator_only
def index():
    """Plans by year: the published version, drafts, what can be done with them."""
    years = services.versions_by_year()
    this_year = today().year
    return render_template("planning/index.html", years=years, this_year=this_year,
                           templates=list(bundled_plans()), known=schedule_known)


@bp.post("/new")
@coordinator_only
def new():
    """A draft for a year from a bundled plan (a template to start from)."""
    try:
        draft = services.draft_from_template(_year(request.form.get("year", "")),
                                             request.form.get("template", ""), current_user,
                                             utcnow())
    except TrackerError as exc:
        return _refused(exc, url_for("planning.index"))
    return _done(_("Draft made."), url_for("planning.draft", version_id=draft.id))


@bp.post("/import")
@coordinator_only
def import_document():
    """A draft from the scoring table (考核评分细则) of an official Word document."""
    target = url_for("planning.index")
    upload = request.files.get("document")
    try:
        year = _year(request.form.get("year", ""))
        if upload is None or not upload.filename:
            raise TrackerError(_("Choose the Word document (.docx) to import."))
        data = upload.read(MAX_DOCX_BYTES + 1)
        if len(data) > MAX_DOCX_BYTES:
            raise TrackerError(_("The document is larger than %(mb)d MB.",
                                 mb=MAX_DOCX_BYTES // 2**20))
        imported = read_document(data, upload.filename)
        name = services.next_year_name("imported", year)
        draft = services.create_draft(year, draft_toml(imported, name), current_user, utcnow())
    except TrackerError as exc:
        return _refused(exc, target)
    return _done(_("The scoring table is imported as a draft: add its phases and duties."),
                 url_for("planning.draft", version_id=draft.id))


@bp.get("/<id:version_id>")
@coordinator_only
def draft(version_id):
    """A version: its plan file, whether it loads (the loader's messages), and actions."""
    version = _version(version_id)
    errors = services.draft_errors(version)
    try:
        data = services.draft_data(version)
    except TrackerError:
        data = None  # the loader's message says why; the plan file below mends it
    return render_template(
        "planning/version.html", version=version, errors=errors,
        error_at=[editing.locate(data, e) if data else None for e in errors],
        summary=editing.summary(data) if data else None,
        editable=version.state == VersionState.DRAFT, revision=services.revision(version),
        conflict=services.conflict(version),
        effective=services.default_effective_from(version, today()))


@bp.post("/<id:version_id>/source")
@coordinator_only
def save_source(version_id):
    """Save the draft's plan file as text (for those who write TOML)."""
    version = _version(version_id)
    target = url_for("planning.draft", version_id=version.id)
    try:
        services.save_draft_source(version, request.form.get("source", "").replace("\r\n", "\n"),
                                   utcnow())
    except TrackerError as exc:
        return _refused(exc, target)
    return _done(_("Draft saved."), target)


@bp.post("/<id:version_id>/delete")
@coordinator_only
def delete(version_id):
    """Drop a draft."""
    version = _version(version_id)
    try:
        services.delete_draft(version)
    except TrackerError as exc:
        return _refused(exc, url_for("planning.draft", version_id=version.id))
    return _done(_("Draft deleted."), url_for("planning.index"))


@bp.post("/<id:version_id>/new-version")
@coordinator_only
def new_version(version_id):
    """A draft of a new version of a published plan."""
    version = _version(version_id)
    draft = services.new_version(version, current_user, utcnow())
    return _done(_("New version drafted: edit it, preview, publish."),
                 url_for("planning.draft", version_id=draft.id))


@bp.post("/<id:version_id>/rollover")
@coordinator_only
def rollover(version_id):
    """Next year's draft from this published plan."""
    version = _version(version_id)
    try:
        draft = services.rollover(version.year, version.year + 1, current_user, utcnow())
    except TrackerError as exc:
        return _refused(exc, url_for("planning.index"))
    return _done(_("Draft for %(year)d made from the plan of %(from)d.", year=version.year + 1,
                   **{"from": version.year}), url_for("planning.draft", version_id=draft.id))


def _publish_options(version):
    effective = _day(request.values.get("effective_from", ""))
    replace = request.values.get("replace") == "1"
    if effective is not None and effective.year != version.year:
        raise TrackerError(_("The day the plan takes effect must lie in %(year)d.",
                             year=version.year))
    return effective, replace


@bp.get("/<id:version_id>/preview")
@coordinator_only
def preview(version_id):
    """What publishing changes for each unit: new, moved, renamed, cancelled tasks."""
    version = _version(version_id)
    target = url_for("planning.draft", version_id=version.id)
    try:
        effective, replace = _publish_options(version)
        result = services.preview(version, utcnow(), effective, replace)
    except TrackerError as exc:
        flash(str(exc), "error")
        return redirect(target)
    return render_template("planning/preview.html", version=version, preview=result,
                           effective=effective, replace=replace,
                           conflict=services.conflict(version))


@bp.post("/<id:version_id>/publish")
@coordinator_only
def publish(version_id):
    """Publish the draft: its year's tasks follow it."""
    version = _version(version_id)
    target = url_for("planning.draft", version_id=version.id)
    try:
        effective, replace = _publish_options(version)
        result = services.publish(version, current_user, utcnow(), effective, replace)
    except TrackerError as exc:
        return _refused(exc, target)
    report = result.tasks
    return _done(ngettext("Published for %(year)d: %(num)d task created.",
                          "Published for %(year)d: %(num)d tasks created.", report.created,
                          year=version.year), url_for("planning.index"))


@bp.get("/<id:version_id>/plan.toml")
@coordinator_only
def download(version_id):
    """The version's plan file."""
    version = _version(version_id)
    response = Response(version.source, content_type="application/toml; charset=utf-8")
    return attachment(response, f"{version.name or 'plan'}-{version.year}-v{version.number}.toml",
                      fallback="plan")


# The editor's routes are on this blueprint too.
from tracker.planning import editor  # noqa: E402, F401
