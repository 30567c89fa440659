"""Calendar, task list and dashboards. Everything is scoped by ``task_scope``."""

from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from babel.dates import format_skeleton
from flask_babel import format_date, get_locale, gettext as _
from flask_login import current_user, login_required

from tracker.core.labels import STATE_LABELS
from tracker.core.web import admin_required, today
from tracker.dashboard.calendar import (STATE_COLOURS, STATES, month_grid, monthly_chart_svg,
                                        shift_month, week_bands, week_of)
from tracker.dashboard.queries import (STATE_FILTERS, Filters, filter_options, groups_between,
                                       phase_ranges, state_counts, task_page, tasks_between,
                                       upcoming)
from tracker.extensions import db
from tracker.phases.services import MAX_YEAR, MIN_YEAR
from tracker.tasks.models import Task
from tracker.units.models import Unit

bp = Blueprint("dashboard", __name__)
VIEWS = ("month", "week", "agenda")
AGENDA_DAYS = 42


def _int_arg(name: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        abort(400, description=_("'%(name)s' must be a number from %(low)d to %(high)d.",
                                 name=name, low=low, high=high))
    return int(value)


def _date_arg(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        abort(400, description=_("'%(name)s' must be a date written YYYY-MM-DD.", name=name))
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        abort(400, description=_("The date lies outside the years the tracker handles."))
    return day


def parse_filters() -> Filters:
    """Filters from the query string; a unit filter only for the coordinator."""
    state = request.args.get("status") or None
    if state is not None and state not in STATE_FILTERS:
        abort(400, description=_("Unknown status '%(status)s'.", status=state))
    return Filters(
        unit_id=_int_arg("unit") if current_user.is_admin else None,
        phase=request.args.get("phase") or None,
        state=state,
        duty=request.args.get("duty") or None,
        year=_int_arg("year", MIN_YEAR, MAX_YEAR),
        due=_date_arg("due"),
    )


def filter_args(filters: Filters) -> dict:
    """The filters as query arguments, for links that keep them."""
    args = {"unit": filters.unit_id, "phase": filters.phase, "status": filters.state,
            "duty": filters.duty, "year": filters.year}
    return {k: v for k, v in args.items() if v is not None}


def _options():
    return filter_options(with_units=current_user.is_admin)


@bp.get("/")
@login_required
def calendar():
    """The calendar of due items: month (default), week or agenda."""
    now_day = today()
    view = request.args.get("view", "month")
    if view not in VIEWS:
        abort(400, description=_("Unknown view '%(view)s'.", view=view))
    anchor = _date_arg("date") or now_day
    filters = parse_filters()
    if view == "month":
        weeks = month_grid(anchor.year, anchor.month)
        previous, following = shift_month(anchor, -1), shift_month(anchor, 1)
        # "2026年11月" in Chinese, "November 2026" in English: the locale's own pattern.
        heading = format_skeleton("yMMMM", anchor, locale=get_locale())
    elif view == "week":
        weeks = [week_of(anchor)]
        previous, following = anchor - timedelta(days=7), anchor + timedelta(days=7)
        heading = f"{format_date(weeks[0][0])} – {format_date(weeks[0][-1])}"
    else:
        start = anchor
        weeks = [[start + timedelta(days=i) for i in range(AGENDA_DAYS)]]
        previous = anchor - timedelta(days=AGENDA_DAYS)
        following = anchor + timedelta(days=AGENDA_DAYS)
        heading = f"{format_date(weeks[0][0])} – {format_date(weeks[0][-1])}"
    start, end = weeks[0][0], weeks[-1][-1]

    town = current_user.is_admin and filters.unit_id is None
    by_day = defaultdict(list)
    if town:
        for group in groups_between(current_user, filters, now_day, start, end):
            by_day[group.due_date].append(group)
    else:
        for task in tasks_between(current_user, filters, now_day, start, end):
            by_day[task.due_date].append(task)
    phases = phase_ranges(sorted({start.year, end.year}))
    bands = [week_bands(week, phases) for week in weeks] if view != "agenda" else []
    units, duties, phase_options = _options()
    return render_template(
        "dashboard/calendar.html", ics_args=_ics_args(filters, anchor, units), view=view, weeks=weeks, bands=bands, by_day=by_day,
        town=town, anchor=anchor, heading=heading, previous=previous, following=following,
        filters=filters, args=filter_args(filters), units=units, duties=duties,
        phase_options=phase_options, phases=phases, states=STATES, colours=STATE_COLOURS,
    )


def _ics_args(filters: Filters, anchor: date, units) -> dict:
    """The calendar download's query for what this page shows (its year, unit, phase)."""
    from tracker.calendar.queries import STATUS_FILTERS as ICS_STATUSES

    args = {"year": anchor.year, "phase": filters.phase}
    if filters.unit_id is not None:
        args["unit"] = next((u.name for u in units if u.id == filters.unit_id), None)
    if filters.state in ICS_STATUSES:
        args["status"] = filters.state
    return {k: v for k, v in args.items() if v is not None}


@bp.get("/tasks")
@login_required
def task_list():
    """The filtered list of tasks, a page at a time."""
    filters = parse_filters()
    page = _int_arg("page") or 1
    tasks, total = task_page(current_user, filters, today(), page)
    pages = max((total + 49) // 50, 1)
    if page > pages:
        abort(404)
    units, duties, phase_options = _options()
    return render_template("dashboard/tasks.html", tasks=tasks, total=total, page=page,
                           pages=pages, filters=filters, args=filter_args(filters), units=units,
                           duties=duties, phase_options=phase_options, due=filters.due)


@bp.get("/progress")
@login_required
def progress():
    """A unit's progress per phase and overall, its next due and overdue items."""
    now_day = today()
    year = _int_arg("year", MIN_YEAR, MAX_YEAR) or now_day.year
    if current_user.is_admin:
        unit_id = _int_arg("unit")
        if unit_id is None:
            units = db.session.scalars(sa.select(Unit).where(Unit.active)
                                       .order_by(Unit.kind, Unit.name)).all()
            return render_template("dashboard/choose_unit.html", units=units, year=year)
    else:
        unit_id = current_user.unit_id
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit is None:
        abort(404)
    counts = state_counts(current_user, Filters(unit_id=unit.id, year=year), now_day,
                          Task.phase_id)
    rows = []
    for phase, start, end in phase_ranges([year]):
        row = {st: counts.get((phase.id, st), 0) for st in STATES}
        rows.append((phase, start, end, row))
    overall = {st: sum(n for (_, s), n in counts.items() if s == st) for st in STATES}
    return render_template(
        "dashboard/progress.html", unit=unit, year=year, rows=rows, overall=overall,
        next_due=upcoming(current_user, unit.id, now_day, overdue=False, limit=8),
        overdue=upcoming(current_user, unit.id, now_day, overdue=True, limit=20),
    )


SORT_KEYS = ("name", "total", "done", *STATES)


@bp.get("/overview")
@admin_required
def overview():
    """The coordinator's table of units by task state, and completion over the year."""
    now_day = today()
    year = _int_arg("year", MIN_YEAR, MAX_YEAR) or now_day.year
    sort = request.args.get("sort", "name")
    if sort not in SORT_KEYS:
        abort(400, description=_("Unknown column '%(sort)s'.", sort=sort))
    descending = request.args.get("dir") == "desc"
    counts = state_counts(current_user, Filters(year=year), now_day, Task.unit_id)
    units = db.session.scalars(sa.select(Unit).order_by(Unit.kind, Unit.name)).all()
    rows = []
    for unit in units:
        row = {st: counts.get((unit.id, st), 0) for st in STATES}
        total = sum(row.values())
        if not total and not unit.active:
            continue
        done = row["accepted"] / total if total else 0.0
        rows.append({"unit": unit, "counts": row, "total": total, "done": done})
    key = {"name": lambda r: (r["unit"].kind.value, r["unit"].name),
           "total": lambda r: r["total"], "done": lambda r: r["done"]}.get(
        sort, lambda r: r["counts"][sort])
    rows.sort(key=key, reverse=descending)
    totals = {st: sum(r["counts"][st] for r in rows) for st in STATES}

    by_day = state_counts(current_user, Filters(year=year), now_day, Task.due_date)
    months = [defaultdict(int) for _ in range(12)]
    for (day, st), n in by_day.items():
        months[day.month - 1][st] += n
    labels = [format_date(date(year, m, 1), "LLL") for m in range(1, 13)]
    chart = monthly_chart_svg(months, labels, {k: str(v) for k, v in STATE_LABELS.items()},
                              _("Tasks due each month, by state"))
    return render_template("dashboard/overview.html", rows=rows, totals=totals, year=year,
                           sort=sort, descending=descending, states=STATES, chart=chart,
                           colours=STATE_COLOURS, grand_total=sum(totals.values()))
