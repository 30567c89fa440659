"""The plan editor: a draft's metadata, phases, duties (with when they fall) and rubric,
as forms. Each save writes the draft's plan file and the page says, in the loader's own
words, what still keeps it from loading. A published version reads the same, without
the buttons. Routes of the ``planning`` blueprint (coordinator only)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (abort, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _

from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.phases.models import VersionState
from tracker.phases.recurrence import RecurrenceError, expand_due
from tracker.planning import editing, services
from tracker.planning.blueprint import bp, coordinator_only, done, refused, version_or_404
from tracker.planning.forms.duties import (DutyForm, EvidenceForm, FlagForm, NewDutyForm,
                                           ScheduleForm)
from tracker.planning.forms.phases import PhaseForm, PhasesForm
from tracker.planning.forms.plan import PlanForm
from tracker.planning.forms.rubric import RubricForm, require_form, row_form
from tracker.planning.schedule import recognise


def _editable(version) -> bool:
    return version.state == VersionState.DRAFT


def _data(version):
    """The version's data; a redirect to its page (where the plan file can be mended) if
    it is not a plan file at all."""
    try:
        return services.draft_data(version), None
    except TrackerError as exc:
        flash(str(exc), "error")
        return None, redirect(url_for("planning.draft", version_id=version.id))


def _timezone(data: dict) -> str:
    """The draft's timezone, or the app's where the draft has none that exists."""
    timezone = editing.text_of(data.get("plan"), "timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return current_app.config["TIMEZONE"]
    return timezone


def falls_on(due, year: int, timezone: str) -> list:
    """The dates a ``due`` gives in ``year`` (none where it cannot be expanded)."""
    if not isinstance(due, dict) or "set_by" in due:
        return []
    try:
        return expand_due(due, year, timezone)
    except (RecurrenceError, KeyError, TypeError, AttributeError):
        return []


def _page(template: str, version, data: dict, form, **context):
    """An editor page: the form, the loader's messages, where they point."""
    errors = services.draft_errors(version)
    status = 400 if form is not None and (form.errors or form.stale) else 200
    return render_template(
        template, version=version, data=data, form=form, errors=errors,
        error_at=[editing.locate(data, e) for e in errors], editable=_editable(version),
        revision=services.revision(version), **context), status


def _save(version, data: dict, message: str, target: str):
    """Write the data as the draft's plan file, commit, and go on to ``target``; refused
    (a plan holding more than a plan may), back to the page the form was on."""
    try:
        services.save_draft_data(version, data, utcnow())
    except TrackerError as exc:
        return refused(exc, request.path)
    return done(message, target)


def _locked(version):
    """A redirect with the reason where the version is not a draft; else None."""
    try:
        services.ensure_draft(version)
    except TrackerError as exc:
        return refused(exc, url_for("planning.draft", version_id=version.id))
    return None


def _blank_row(field) -> None:
    """One empty row at the end of a list, to add one without script."""
    if not any(entry.form.is_blank() for entry in field):
        field.append_entry()


@bp.route("/<id:version_id>/plan", methods=["GET", "POST"])
@coordinator_only
def edit_plan(version_id):
    """The plan's metadata, its defaults and the rubric's title."""
    version = version_or_404(version_id)
    data, away = _data(version)
    if away:
        return away
    if request.method == "POST" and (locked := _locked(version)):
        return locked
    form = PlanForm(data=PlanForm.values_of(data)) if request.method == "GET" else PlanForm()
    if form.valid(services.revision(version)):
        form.apply(data)
        target = url_for("planning.edit_plan", version_id=version.id)
        return _save(version, data, _("Plan saved."), target)
    return _page("planning/edit_plan.html", version, data, form)


@bp.route("/<id:version_id>/phases", methods=["GET", "POST"])
@coordinator_only
def edit_phases(version_id):
    """The phases (总体安排): add, edit, remove."""
    version = version_or_404(version_id)
    data, away = _data(version)
    if away:
        return away
    if request.method == "POST" and (locked := _locked(version)):
        return locked
    form = PhasesForm(data=PhasesForm.values_of(data)) if request.method == "GET" \
        else PhasesForm()
    if form.valid(services.revision(version)):
        form.apply(data)
        return _save(version, data, _("Phases saved."),
                     url_for("planning.edit_phases", version_id=version.id))
    _blank_row(form.phases)
    return _page("planning/edit_phases.html", version, data, form,
                 template_row=PhaseForm(prefix="phases-__index__-"))


@bp.route("/<id:version_id>/duties", methods=["GET", "POST"])
@coordinator_only
def duties(version_id):
    """The duties, with when each falls; the form adds one."""
    version = version_or_404(version_id)
    data, away = _data(version)
    if away:
        return away
    if request.method == "POST" and (locked := _locked(version)):
        return locked
    form = NewDutyForm()
    if form.valid(services.revision(version)):
        if editing.find_duty(data, form.code.data) is not None:
            form.code.errors = [_("Another duty has this code.")]
        else:
            editing.add_duty(data, form.code.data, form.title.data or "")
            return _save(version, data, _("Duty added: say what it asks and when."),
                         url_for("planning.edit_duty", version_id=version.id,
                                 code=form.code.data))
    rows = [(duty, recognise(duty.get("due"))) for duty in editing.duties(data)]
    return _page("planning/duties.html", version, data, form, rows=rows)


@bp.route("/<id:version_id>/duties/<code>", methods=["GET", "POST"])
@coordinator_only
def edit_duty(version_id, code):
    """A duty: what it asks of which units, the evidence, the rows it serves, reminders,
    and when it falls (the schedule form writes the RRULE, which stays editable)."""
    version = version_or_404(version_id)
    data, away = _data(version)
    if away:
        return away
    duty = editing.find_duty(data, code)
    if duty is None:
        abort(404)
    if request.method == "POST" and (locked := _locked(version)):
        return locked
    form = (DutyForm(data=DutyForm.values_of(duty)) if request.method == "GET"
            else DutyForm()).setup(data)
    valid = form.valid(services.revision(version))
    when = form.schedule.form.written() if request.method == "POST" and not \
        form.schedule.errors else None
    if valid and form.code.data != code and editing.find_duty(data, form.code.data):
        form.code.errors = [_("Another duty has this code.")]
        valid = False
    if valid and when is not None:
        form.apply(duty, data)
        form.apply_due(duty, when)
        return _save(version, data, _("Duty saved."),
                     url_for("planning.edit_duty", version_id=version.id, code=duty["code"]))
    _blank_row(form.evidence)
    _blank_row(form.flags)
    return _page("planning/edit_duty.html", version, data, form, duty=duty, code=code,
                 falls_on=falls_on(duty.get("due"), version.year, _timezone(data)),
                 evidence_row_form=EvidenceForm(prefix="evidence-__index__-"),
                 flag_row_form=FlagForm(prefix="flags-__index__-"))


@bp.post("/<id:version_id>/duties/<code>/delete")
@coordinator_only
def delete_duty(version_id, code):
    """Remove a duty, and the rubric's references to it."""
    version = version_or_404(version_id)
    data, away = _data(version)
    if away:
        return away
    if editing.find_duty(data, code) is None:
        abort(404)
    if locked := _locked(version):
        return locked
    editing.remove_duty(data, code)
    return _save(version, data, _("Duty %(code)s removed.", code=code),
                 url_for("planning.duties", version_id=version.id))


@bp.get("/<id:version_id>/schedule")
@coordinator_only
def schedule_preview(version_id):
    """What the schedule form writes, and the dates it gives in the version's year (JSON,
    for the duty page's live preview)."""
    version = version_or_404(version_id)
    data, away = _data(version)
    if away:
        return jsonify(error=_("The draft is not a valid plan file.")), 400
    form = ScheduleForm(request.args, prefix="schedule")
    when = form.written()
    if when is None:
        field, messages = next((name, f.errors) for name, f in form._fields.items()
                               if f.errors)
        return jsonify(error=messages[0], field=f"schedule-{field}"), 400
    days = falls_on(when, version.year, _timezone(data))
    return jsonify(rrule=when.get("rrule", ""), set_by="set_by" in when,
                   dates=[day.isoformat() for day in days], year=version.year)


@bp.route("/<id:version_id>/rubric", methods=["GET", "POST"])
@coordinator_only
def edit_rubric(version_id):
    """The rubric's groups, items and rows: codes, titles, points that add up; rows
    added and removed."""
    version = version_or_404(version_id)
    data, away = _data(version)
    if away:
        return away
    if request.method == "POST" and (locked := _locked(version)):
        return locked
    form = RubricForm(data=RubricForm.values_of(data)) if request.method == "GET" \
        else RubricForm()
    if form.valid(services.revision(version)):
        add = request.form.get("add", "")
        added = form.apply(data, add)
        target = url_for("planning.edit_rubric", version_id=version.id)
        if added and add.startswith("row:"):
            target = url_for("planning.edit_row", version_id=version.id, code=added)
        elif added:
            target += f"#node-{added}"
        message = _("Added %(code)s: fill it in.", code=added) if added else \
            _("Rubric saved.")
        return _save(version, data, message, target)
    walked = list(editing.walk(data))
    return _page("planning/edit_rubric.html", version, data, form,
                 nodes={n.path: n for n in walked}, closing=_closing(walked),
                 sums=editing.sums(data))


def _closing(nodes: list) -> dict[str, list]:
    """For each node, the groups and items whose last node it is (deepest first): their
    "add" buttons go after it."""
    closing = {n.path: [] for n in nodes}
    for node in reversed(nodes):  # parents last, so deepest first
        if node.kind == "row":
            continue
        last = [n.path for n in nodes if n.path == node.path
                or n.path.startswith(node.path + "/")][-1]
        closing[last].append(node)
    for owners in closing.values():
        owners.sort(key=lambda n: -n.depth)
    return closing


@bp.route("/<id:version_id>/rubric/<code>", methods=["GET", "POST"])
@coordinator_only
def edit_row(version_id, code):
    """A rubric row: its requirement (工作要求), deduction (扣分标准), points, the kinds
    it applies to, the evidence it names and its minimums."""
    version = version_or_404(version_id)
    data, away = _data(version)
    if away:
        return away
    row = editing.find_row(data, code)
    if row is None:
        abort(404)
    if request.method == "POST" and (locked := _locked(version)):
        return locked
    form_class = row_form()
    form = (form_class(data=form_class.values_of(row)) if request.method == "GET"
            else form_class()).setup(data, code)
    valid = form.valid(services.revision(version))
    if valid and form.code.data != code and form.code.data in editing.rubric_codes(data):
        form.code.errors = [_("Another group, item or row has this code.")]
        valid = False
    if valid:
        form.apply(row, data)
        return _save(version, data, _("Row saved."),
                     url_for("planning.edit_row", version_id=version.id, code=row["code"]))
    _blank_row(form.requires)
    form.setup(data, code)
    template_row = require_form()(prefix="requires-__index__-")
    template_row.duties.choices = form.evidence.choices
    return _page("planning/edit_row.html", version, data, form, row=row, code=code,
                 serving=editing.serving(data, code), template_row=template_row)
