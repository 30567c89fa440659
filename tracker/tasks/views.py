"""The task list, the task page and what is done on it: completion, evidence, review,
dates; ad-hoc tasks; dates set each year."""

from datetime import date

import sqlalchemy as sa
from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, send_file, url_for)
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload

from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.forms import choices
from tracker.core.text import whole_number
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.web import (MAX_ID, admin_required, attachment, int_arg, localized, safe_next,
                              today)
from tracker.extensions import db
from tracker.phases.models import Duty, Plan
from tracker.phases.services import plan_for_year
from tracker.tasks import evidence as files
from tracker.tasks.filters import filter_args, parse_filters
from tracker.tasks.loading import dates_to_set, set_duty_date
from tracker.tasks.forms import MoveForm, NewTaskForm, ReviewForm, UploadForm, WorkForm
from tracker.tasks.models import (EVENT_LABELS, PENDING, STATE_LABELS, EvidenceFile, Task,
                                  TaskEvent, TaskStatus)
from tracker.tasks.queries import filter_options, page_of_day, task_page
from tracker.tasks.scope import can_review, can_work_on, task_scope
from tracker.tasks.services import (Occurrence, add_evidence, create_adhoc, move_due,
                                    move_occurrence, needs_files, next_open_slot,
                                    records_occurrences, remove_evidence, review, save_work,
                                    statement_cap, submit)
from tracker.units.models import Unit
from tracker.workdays.services import work_calendar

bp = Blueprint("tasks", __name__)
bp.app_context_processor(lambda: {"STATE_LABELS": STATE_LABELS, "EVENT_LABELS": EVENT_LABELS})
PER_PAGE = 50


@bp.get("/tasks")
@login_required
def index():
    """The filtered list of tasks by due date, a page at a time. It opens on this year
    (unless a year or a day is asked for), at the page of what falls due next."""
    filters, now_day = parse_filters(), today()
    if filters.year is None and filters.due is None:
        filters.year = now_day.year
    page = int_arg("page")
    if page is None:
        page = (page_of_day(current_user, filters, now_day, now_day, PER_PAGE)
                if filters.year == now_day.year else 1)
    tasks, total = task_page(current_user, filters, now_day, page, PER_PAGE)
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    if page > pages:
        abort(404)
    units, duties, phase_options = filter_options(with_units=current_user.is_admin)
    return render_template("tasks/list.html", tasks=tasks, total=total, page=page,
                           pages=pages, filters=filters, args=filter_args(filters), units=units,
                           duties=duties, phase_options=phase_options, due=filters.due,
                           to_be_set=_to_be_set(filters.year or today().year))


def _to_be_set(year: int):
    """The duties of the year's plan whose date is still to be set (for the user's unit)."""
    return dates_to_set(year, None if current_user.is_admin
                        else current_user.unit.kind if current_user.unit else "")


@bp.post("/duties/<code>/date")
@admin_required
def set_date(code):
    """Set (or clear) the date of a duty set each year, e.g. when the party congress is
    called; the units' tasks follow at once."""
    year = whole_number(request.form.get("year", ""), MIN_YEAR, MAX_YEAR)
    if year is None:
        abort(400)
    day = None
    if request.form.get("action") != "clear":
        try:
            day = date.fromisoformat(request.form.get("date", ""))
        except ValueError:
            flash(_("Give the date as YYYY-MM-DD."), "error")
            return redirect(url_for("dashboard.overview", year=year))
    try:
        plan = plan_for_year(year)
        report = set_duty_date(plan, code, year, day, current_user, utcnow())
    except TrackerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(ngettext("Date saved: %(num)d task made.", "Date saved: %(num)d tasks made.",
                       report.created) if day else _("The date is to be set again."),
              "success")
    return redirect(url_for("dashboard.overview", year=year))


@bp.post("/tasks/accept")
@admin_required
def accept_many():
    """Accept several submitted tasks at once (the coordinator, from the task list)."""
    ids = [number for v in request.form.getlist("task")
           if (number := whole_number(v, 1, MAX_ID)) is not None]
    tasks = db.session.scalars(sa.select(Task).where(
        Task.id.in_(ids), Task.status == TaskStatus.SUBMITTED)).all()
    now = utcnow()
    for task in tasks:
        review(task, current_user, True, "", now)
    db.session.commit()
    flash(ngettext("%(num)d task accepted.", "%(num)d tasks accepted.", len(tasks)), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("tasks.index",
                                                                   status="submitted"))


@signals.unit_columns.connect
def _task_counts(unit_ids, **kwargs):
    """The unit list's task count, each leading to the unit's tasks."""
    counts = dict(db.session.execute(
        sa.select(Task.unit_id, sa.func.count()).where(Task.unit_id.in_(unit_ids))
        .group_by(Task.unit_id)).all())
    return _l("Tasks"), {
        unit_id: Markup('<a href="{}">{}</a>').format(url_for("tasks.index", unit=unit_id),
                                                      counts.get(unit_id, 0))
        for unit_id in unit_ids}


def load_task(task_id: int, full: bool = False) -> Task:
    """The task if the user may see it, else 404 (whether or not it exists)."""
    query = sa.select(Task).where(Task.id == task_id, task_scope(current_user))
    if full:
        query = query.options(
            joinedload(Task.unit), joinedload(Task.phase),
            joinedload(Task.duty).selectinload(Duty.rubric_rows),
            joinedload(Task.plan).selectinload(Plan.phases),
            selectinload(Task.evidence_files).joinedload(EvidenceFile.uploaded_by),
            joinedload(Task.submitted_by), joinedload(Task.reviewed_by),
        )
    return db.session.scalar(query) or abort(404)


def _work_allowed(task: Task) -> None:
    if not can_work_on(current_user, task):
        abort(403)


def _flag_choices(task: Task, form: WorkForm) -> None:
    """The marks a duty recorded by occurrence asks about (e.g. "on ideology")."""
    flags = task.duty.occurrence.get("flags", []) if records_occurrences(task) else []
    form.flags.choices = choices((f["code"], localized(f)) for f in flags)


def _back(task: Task):
    return redirect(url_for("tasks.show", task_id=task.id))


@bp.get("/tasks/<id:task_id>")
@login_required
def show(task_id):
    """What is due, what it serves, the evidence so far, the review and the history."""
    return _render(load_task(task_id, full=True))


def _render(task, status=200, **forms):
    """The task page, with the forms given (a refused one shows its errors)."""
    history = db.session.scalars(
        sa.select(TaskEvent).options(joinedload(TaskEvent.actor))
        .where(TaskEvent.task_id == task.id)
        .order_by(TaskEvent.at.desc(), TaskEvent.id.desc())).all()
    work = forms.get("work") or WorkForm(data={
        "note": task.note, "statement": task.statement, "held_on": task.held_on,
        "attendance": task.attendance, "flags": task.flags})
    _flag_choices(task, work)
    move = forms.get("move") or MoveForm(data={"due_date": task.due_date, "scope": "task"})
    # A duty recorded by occurrence takes the next one on its next open slot only.
    slot = next_open_slot(task) if records_occurrences(task) and task.status == TaskStatus.OPEN \
        else None
    return render_template(
        "tasks/show.html", task=task, history=history, work=work,
        upload=forms.get("upload") or UploadForm(), review_form=forms.get("review") or ReviewForm(),
        move=move, can_work=can_work_on(current_user, task) and task.status in PENDING,
        occurrence=records_occurrences(task), next_slot=slot if slot and slot.id != task.id
        else None,
        can_review=can_review(current_user), cap=statement_cap(task),
        day_off=work_calendar().special(task.planned_date) if task.planned_date else None,
        needs_files=needs_files(task), max_mb=current_app.config["MAX_EVIDENCE_BYTES"] // 2**20,
        accept=files.ACCEPT, images=files.IMAGES,
    ), status


@bp.post("/tasks/<id:task_id>/work")
@login_required
def work(task_id):
    """Save the note and statement, or submit the task for review."""
    task = load_task(task_id, full=True)
    _work_allowed(task)
    form = WorkForm()
    _flag_choices(task, form)
    if not form.validate():
        return _render(task, status=400, work=form)
    try:
        if request.form.get("action") == "submit":
            occurrence = Occurrence(form.held_on.data, form.attendance.data,
                                    tuple(form.flags.data or ()))
            submit(task, current_user, form.note.data, form.statement.data, utcnow(),
                   occurrence if records_occurrences(task) else None)
            message = _("Submitted for review.")
        else:
            save_work(task, current_user, form.note.data, form.statement.data, utcnow())
            message = _("Saved.")
    except TrackerError as exc:
        db.session.rollback()
        form.note.errors = list(form.note.errors) + [str(exc)]
        return _render(load_task(task_id, full=True), status=400, work=form)
    db.session.commit()
    flash(message, "success")
    return _back(task)


@bp.post("/tasks/<id:task_id>/evidence")
@login_required
def upload(task_id):
    """Attach evidence files, one or several (each type checked by content, size
    limited): all of them, or none when one is refused."""
    task = load_task(task_id, full=True)
    _work_allowed(task)
    form = UploadForm()
    if not form.validate():
        return _render(task, status=400, upload=form)
    limit, most = current_app.config["MAX_EVIDENCE_BYTES"], current_app.config["MAX_UPLOAD_FILES"]
    if len(form.file.data) > most:
        form.file.errors = [_("At most %(num)d files at once.", num=most)]
        return _render(task, status=400, upload=form)
    checked = []
    for upload in form.file.data:
        data = upload.read(limit + 1)
        try:
            checked.append((data, files.check(data, upload.filename or "", limit)))
        except TrackerError as exc:
            form.file.errors = [f"{files.clean_name(upload.filename or '')}: {exc}"]
            return _render(task, status=413 if len(data) > limit else 400, upload=form)
    stored = []
    try:
        for data, one in checked:
            stored.append(files.store(data, one, files.folder(), task.year))
            add_evidence(task, current_user, one, stored[-1], utcnow())
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        for name in stored:
            files.path_of(files.folder(), name).unlink(missing_ok=True)
        if not files.disk_full(exc):
            raise
        current_app.logger.error("evidence not stored: %s", exc)
        form.file.errors = [_("The server has no room left for files: nothing was kept, "
                              "none of the files is attached. Try again later, or tell the "
                              "coordinator.")]
        return _render(load_task(task_id, full=True), status=507, upload=form)
    names = [one.original_name for _data, one in checked]
    flash(ngettext("%(num)d file attached: %(names)s.", "%(num)d files attached: %(names)s.",
                   len(names), names="、".join(names)), "success")
    return _back(task)


def _load_evidence(task: Task, evidence_id: int) -> EvidenceFile:
    evidence = db.session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.task_id != task.id:
        abort(404)
    return evidence


@bp.get("/tasks/<id:task_id>/evidence/<id:evidence_id>")
@login_required
def download(task_id, evidence_id):
    """Download an evidence file, as an attachment, if the user may see the task."""
    task = load_task(task_id)
    evidence = _load_evidence(task, evidence_id)
    path = files.path_of(files.folder(), evidence.stored_name)
    if not path.is_file():
        abort(404)
    response = attachment(send_file(path, mimetype=evidence.content_type, max_age=0),
                          evidence.original_name, fallback="evidence")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/tasks/<id:task_id>/evidence/<id:evidence_id>/preview")
@login_required
def preview(task_id, evidence_id):
    """A picture as the page shows it: a JPEG no larger than a screen needs (browsers
    other than Safari cannot show HEIC; a phone's photo is large), made on the first view
    and kept beside the picture."""
    task = load_task(task_id)
    evidence = _load_evidence(task, evidence_id)
    path = files.path_of(files.folder(), evidence.stored_name)
    if evidence.stored_name.rpartition(".")[2] not in files.IMAGES or not path.is_file():
        abort(404)
    tag = f"{evidence.sha256[:32]}-{files.PREVIEW_SIDE}"
    if request.if_none_match.contains(tag):
        response = Response(status=304)
    else:
        try:
            preview = files.preview_file(files.folder(), evidence.stored_name)
        except files.PreviewBusy:
            return Response("busy", 503, {"Retry-After": "5"}, mimetype="text/plain")
        if preview is None:
            abort(404)
        response = Response(preview.read_bytes(), mimetype="image/jpeg")
    # A stored file never changes: the browser may keep the preview (for this user only).
    response.set_etag(tag)
    response.cache_control.private = True
    response.cache_control.max_age = 86400
    return response


@bp.post("/tasks/<id:task_id>/evidence/<id:evidence_id>/delete")
@login_required
def delete_evidence(task_id, evidence_id):
    """Remove a file from a task not yet submitted."""
    task = load_task(task_id)
    _work_allowed(task)
    evidence = _load_evidence(task, evidence_id)
    stored = remove_evidence(task, current_user, evidence, utcnow())
    db.session.commit()
    for name in (stored, stored + files.PREVIEW):
        files.path_of(files.folder(), name).unlink(missing_ok=True)
    flash(_("File removed."), "success")
    return _back(task)


@bp.post("/tasks/<id:task_id>/review")
@admin_required
def review_task(task_id):
    """Accept the submitted work, or return it with a comment."""
    task = load_task(task_id, full=True)
    form = ReviewForm()
    if not form.validate():
        return _render(task, status=400, review=form)
    accept, now = form.verdict.data == "accept", utcnow()
    try:
        review(task, current_user, accept, form.comment.data or "", now)
    except TrackerError as exc:
        db.session.rollback()
        form.comment.errors = [str(exc)]
        return _render(load_task(task_id, full=True), status=400, review=form)
    db.session.commit()
    flash(_("Accepted.") if accept else _("Returned for rework."), "success")
    return _back(task)


@bp.post("/tasks/<id:task_id>/move")
@admin_required
def move(task_id):
    """Move the due date of this task, or of this occurrence for every unit."""
    task = load_task(task_id, full=True)
    form = MoveForm()
    if not form.validate():
        return _render(task, status=400, move=form)
    try:
        if form.scope.data == "all":
            count = move_occurrence(task, current_user, form.due_date.data, utcnow())
        else:
            move_due(task, current_user, form.due_date.data, utcnow())
            count = 1
    except TrackerError as exc:
        db.session.rollback()
        form.due_date.errors = [str(exc)]
        return _render(load_task(task_id, full=True), status=400, move=form)
    db.session.commit()
    flash(ngettext("Due date moved (%(num)d task).", "Due date moved (%(num)d tasks).", count),
          "success")
    return _back(task)


@bp.route("/tasks/new", methods=["GET", "POST"])
@admin_required
def new_task():
    """Add an ad-hoc task to one or more units."""
    form = NewTaskForm()
    units = db.session.scalars(sa.select(Unit).where(Unit.active)
                               .order_by(Unit.kind, Unit.name)).all()
    form.units.choices = choices((u.id, u.name) for u in units)
    if form.validate_on_submit():
        chosen = [u for u in units if u.id in set(form.units.data)]
        try:
            tasks = create_adhoc(current_user, chosen, form.title.data, form.description.data,
                                 form.due_date.data, utcnow())
        except TrackerError as exc:
            db.session.rollback()
            form.due_date.errors = list(form.due_date.errors) + [str(exc)]
        else:
            db.session.commit()
            flash(ngettext("%(num)d task added.", "%(num)d tasks added.", len(tasks)), "success")
            return redirect(url_for("tasks.index", due=tasks[0].due_date.isoformat()))
    return render_template("tasks/new.html", form=form), 400 if form.errors else 200
