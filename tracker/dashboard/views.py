"""Pages over the whole year's tasks: a unit's progress and the coordinator's town
overview. Everything is scoped by ``tracker.tasks.scope.task_scope``."""

from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import format_date, gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.core.web import admin_required, int_arg, today
from tracker.dashboard.chart import monthly_chart_svg
from tracker.extensions import db
from tracker.tasks.filters import Filters
from tracker.tasks.loading import dates_to_set, yearly_dates
from tracker.tasks.models import Task
from tracker.tasks.queries import phase_ranges, state_counts, status_counts, upcoming
from tracker.tasks.states import COUNTED, STATE_LABELS
from tracker.units.models import Unit
from tracker.workdays.services import year_confirmed

bp = Blueprint("dashboard", __name__)
#: The columns of the counts, each what ``/tasks?status=`` lists (they overlap: an
#: overdue task is also open or returned).
STATES = COUNTED
#: No counts: what a unit or phase without tasks shows.
NONE = dict.fromkeys(("all", *STATES), 0)


@bp.get("/progress")
@login_required
def progress():
    """A unit's progress per phase and overall, its next due and overdue items."""
    now_day = today()
    year = int_arg("year", MIN_YEAR, MAX_YEAR) or now_day.year
    if current_user.is_admin:
        unit_id = int_arg("unit")
        if unit_id is None:
            units = db.session.scalars(sa.select(Unit).where(Unit.active)
                                       .order_by(Unit.kind, Unit.name)).all()
            return render_template("dashboard/choose_unit.html", units=units, year=year)
    else:
        unit_id = current_user.unit_id
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit is None:
        abort(404)
    counts = status_counts(current_user, Filters(unit_id=unit.id, year=year), now_day,
                           Task.phase_id)
    rows = [(phase, start, end, counts.get(phase.id, NONE))
            for phase, start, end in phase_ranges([year])]
    overall = {key: sum(c[key] for c in counts.values()) for key in NONE}
    return render_template(
        "dashboard/progress.html", unit=unit, year=year, rows=rows, overall=overall,
        next_due=upcoming(current_user, unit.id, now_day, overdue=False, limit=8),
        overdue=upcoming(current_user, unit.id, now_day, overdue=True, limit=20),
        to_be_set=dates_to_set(year, unit.kind),
    )


SORT_KEYS = ("name", "total", "done", *STATES)


def table_rows(rows: list[dict], year: int) -> Markup:
    """The town table's body, one ``<tr>`` per unit: a unit's name linking to its progress,
    per state its count (linking to those tasks) and share, its total and its share done.

    Written here rather than in the template: for a few hundred units the template's
    cost per value written (escaping, lookups) made the page several times slower.
    """
    progress_url, tasks_url = url_for("dashboard.progress"), url_for("tasks.index")
    shown = STATES
    out = []
    for r in rows:
        unit_id, counts, total = r["unit"].id, r["counts"], r["total"]
        query = f"unit={unit_id}&amp;year={year}"
        cells = [f'<tr>\n  <th scope="row"><a href="{progress_url}?{query}">'
                 f'{escape(r["unit"].name)}</a></th>']
        for st in shown:
            n = counts[st]
            if n:
                share = round(100 * n / total)
                cells.append(f'<td class="num"><a class="state-{st}" href="{tasks_url}?'
                             f'unit={unit_id}&amp;status={st}&amp;year={year}">{n}</a> '
                             f'<span class="muted">{share}%</span></td>')
            else:
                cells.append('<td class="num"><span class="muted">0</span></td>')
        cells.append(f'<td class="num"><a href="{tasks_url}?{query}">{total}</a></td>')
        cells.append(f'<td class="num">{round(100 * r["done"])}%</td>\n</tr>')
        out.append("\n  ".join(cells))
    return Markup("\n".join(out))


@bp.get("/overview")
@admin_required
def overview():
    """The coordinator's table of units by task state, and completion over the year."""
    now_day = today()
    year = int_arg("year", MIN_YEAR, MAX_YEAR) or now_day.year
    sort = request.args.get("sort", "name")
    if sort not in SORT_KEYS:
        abort(400, description=_("Unknown column '%(sort)s'.", sort=sort))
    descending = request.args.get("dir") == "desc"
    counts = status_counts(current_user, Filters(year=year), now_day, Task.unit_id)
    units = db.session.scalars(sa.select(Unit).order_by(Unit.kind, Unit.name)).all()
    rows = []
    for unit in units:
        row = counts.get(unit.id, NONE)
        total = row["all"]
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
                           table_rows=table_rows(rows, year),
                           sort=sort, descending=descending, states=STATES, chart=chart,
                           grand_total=sum(r["total"] for r in rows), yearly=yearly_dates(year),
                           holidays_known=year_confirmed(year))
