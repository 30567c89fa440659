"""``/plans``: the coordinator's plans by year, drafts, preview and publish, roll-over,
import of an official document. Routes of the ``planning`` blueprint (coordinator only;
``tracker.planning.blueprint``); the editor's are in ``tracker.planning.editor``.
"""

from datetime import date

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from tracker.core.errors import TrackerError
from tracker.core.text import whole_number
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.web import attachment, today
from tracker.extensions import db
from tracker.phases.docximport import draft_toml, read_document
from tracker.phases.models import VersionState
from tracker.phases.planfile import bundled_plans
from tracker.planning import editing, services
from tracker.planning.blueprint import (bp, conflict, coordinator_only, done, refused,
                                        version_or_404)
from tracker.workdays.services import year_confirmed

#: The largest Word document taken (the seed's is about 40 KB).
MAX_DOCX_BYTES = 5 * 1024 * 1024


def _year(value: str) -> int:
    year = whole_number(value, MIN_YEAR, MAX_YEAR)
    if year is None:
        raise TrackerError(_("The year must lie between %(low)d and %(high)d.", low=MIN_YEAR,
                             high=MAX_YEAR))
    return year


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise TrackerError(_("Give the date as YYYY-MM-DD.")) from None


@bp.get("")
@coordinator_only
def index():
    """Plans by year: the published version, drafts, what can be done with them."""
    years = services.versions_by_year()
    this_year = today().year
    return render_template("planning/index.html", years=years, this_year=this_year,
                           templates=list(bundled_plans()), known=year_confirmed)


@bp.post("/new")
@coordinator_only
def new():
    """A draft for a year from a bundled plan (a template to start from)."""
    try:
        draft = services.draft_from_template(_year(request.form.get("year", "")),
                                             request.form.get("template", ""), current_user,
                                             utcnow())
    except TrackerError as exc:
        return refused(exc, url_for("planning.index"))
    return done(_("Draft made."), url_for("planning.draft", version_id=draft.id))


@bp.post("/import")
@coordinator_only
def import_document():
    """The scoring table (考核评分细则) of an official Word document, as read, row by row
    beside the document's rows: nothing is saved until the coordinator confirms."""
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
    except TrackerError as exc:
        return render_template("planning/import.html", error=str(exc), imported=None), 400
    name = services.next_year_name("imported", year)
    return render_template("planning/import.html", error=None, imported=imported, year=year,
                           filename=upload.filename, draft=draft_toml(imported, name))


@bp.post("/import/confirm")
@coordinator_only
def confirm_import():
    """The draft of the table the coordinator has seen (its plan file, as the page showed)."""
    try:
        year = _year(request.form.get("year", ""))
        source = request.form.get("draft", "").replace("\r\n", "\n")
        if not source.strip():
            raise TrackerError(_("Choose the Word document (.docx) to import."))
        draft = services.create_draft(year, source, current_user, utcnow())
    except TrackerError as exc:
        return refused(exc, url_for("planning.index"))
    return done(_("The scoring table is imported as a draft: add its phases and duties."),
                 url_for("planning.draft", version_id=draft.id))


@bp.get("/<id:version_id>")
@coordinator_only
def draft(version_id):
    """A version: its plan file, whether it loads (the loader's messages), and actions."""
    return _overview(version_or_404(version_id))


def _overview(version, typed: str | None = None, stale: str = "", status: int = 200):
    """The version's page; with ``typed``, the plan file's text as typed (a save refused
    because the draft changed meanwhile: ``stale`` says so)."""
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
        conflict=services.conflict(version), source=version.source if typed is None else typed,
        stale=stale, effective=services.default_effective_from(version, today())), status


@bp.post("/<id:version_id>/source")
@coordinator_only
def save_source(version_id):
    """Save the draft's plan file as text (for those who write TOML); refused (409, the
    text shown again) where the draft changed since the page was opened."""
    version = version_or_404(version_id)
    target = url_for("planning.draft", version_id=version.id)
    typed = request.form.get("source", "").replace("\r\n", "\n")
    try:
        services.save_draft_source(version, typed, utcnow(),
                                   made_on=request.form.get("revision", ""))
    except services.StaleDraft as exc:
        db.session.rollback()
        return _overview(version, typed, str(exc), 409)
    except TrackerError as exc:
        return refused(exc, target)
    return done(_("Draft saved."), target)


@bp.post("/<id:version_id>/delete")
@coordinator_only
def delete(version_id):
    """Drop a draft."""
    version = version_or_404(version_id)
    try:
        services.delete_draft(version)
    except TrackerError as exc:
        return refused(exc, url_for("planning.draft", version_id=version.id))
    return done(_("Draft deleted."), url_for("planning.index"))


@bp.post("/<id:version_id>/new-version")
@coordinator_only
def new_version(version_id):
    """A draft of a new version of a published plan."""
    version = version_or_404(version_id)
    draft = services.new_version(version, current_user, utcnow())
    return done(_("New version drafted: edit it, preview, publish."),
                 url_for("planning.draft", version_id=draft.id))


@bp.post("/<id:version_id>/rollover")
@coordinator_only
def rollover(version_id):
    """Next year's draft from this published plan."""
    version = version_or_404(version_id)
    try:
        draft = services.rollover(version.year, version.year + 1, current_user, utcnow())
    except TrackerError as exc:
        return refused(exc, url_for("planning.index"))
    return done(_("Draft for %(year)d made from the plan of %(from)d.", year=version.year + 1,
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
    """What publishing changes for each unit: new, moved, renamed, cancelled tasks. The
    publish form names the revision shown (and carries its text, to show what changed
    should the draft change before it is published)."""
    version = version_or_404(version_id)
    try:
        effective, replace = _publish_options(version)
        return _preview_page(version, effective, replace)
    except TrackerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("planning.draft", version_id=version.id))


def _preview_page(version, effective, replace, stale: str = "", previewed: str = "",
                  status: int = 200):
    """The preview of the draft as it is now; ``stale``: why a publish was refused, with
    what changed since the text ``previewed`` (when it is the revision it claims)."""
    result = services.preview(version, utcnow(), effective, replace)
    revision = services.revision(version)
    changed = services.plan_diff(previewed, version.source) if previewed else []
    return render_template("planning/preview.html", version=version, preview=result,
                           effective=effective, replace=replace, revision=revision,
                           conflict=services.conflict(version), stale=stale,
                           changed=changed), status


@bp.post("/<id:version_id>/publish")
@coordinator_only
def publish(version_id):
    """Publish the draft as previewed: its year's tasks follow it. Refused (409) where
    the draft changed since the preview (the change shown, with the preview as it is
    now), or where it was published meanwhile."""
    version = version_or_404(version_id)
    target = url_for("planning.draft", version_id=version.id)
    named = request.form.get("revision", "")
    try:
        effective, replace = _publish_options(version)
        result = services.publish(version, current_user, utcnow(), effective, replace,
                                  previewed=named)
    except services.StaleDraft as exc:
        db.session.rollback()
        previewed = request.form.get("previewed", "").replace("\r\n", "\n")
        if services.revision_of(previewed) != named:
            previewed = ""  # not the text of the revision named: no difference to show
        try:
            return _preview_page(version, effective, replace, str(exc), previewed, 409)
        except TrackerError as again:  # the draft as it is now does not load
            return refused(again, target)
    except sa.exc.IntegrityError:
        # Published at the same moment by another request that the row lock did not
        # order (another draft of the year, or of the same plan).
        db.session.rollback()
        return conflict(_("Another version of %(year)d was published at the same moment: "
                           "see the plans, then try again.", year=version.year))
    except TrackerError as exc:
        db.session.rollback()
        if version.state != VersionState.DRAFT:
            return conflict(str(exc))  # published meanwhile (another window)
        return refused(exc, target)
    report = result.tasks
    return done(ngettext("Published for %(year)d: %(num)d task created.",
                          "Published for %(year)d: %(num)d tasks created.", report.created,
                          year=version.year), url_for("planning.index"))


@bp.get("/<id:version_id>/plan.toml")
@coordinator_only
def download(version_id):
    """The version's plan file."""
    version = version_or_404(version_id)
    response = Response(version.source, content_type="application/toml; charset=utf-8")
    return attachment(response, f"{version.name or 'plan'}-{version.year}-v{version.number}.toml",
                      fallback="plan")
