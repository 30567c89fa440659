"""What a calendar or task list is narrowed to: the filters, read from a page's query
string and written back into its links."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user

from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.core.web import date_arg, int_arg
from tracker.phases.models import Duty, Phase
from tracker.tasks.models import Task
from tracker.tasks.states import UnknownStatus, parse_status


@dataclass
class Filters:
    """What a calendar or list is narrowed to."""

    unit_id: int | None = None
    phase: str | None = None
    #: One of ``tracker.tasks.states.STATUS_FILTERS`` (None: all but the cancelled).
    state: str | None = None
    duty: str | None = None
    year: int | None = None
    due: date | None = None

    def clauses(self, today: date) -> list:
        out = []
        if self.unit_id is not None:
            out.append(Task.unit_id == self.unit_id)
        if self.phase:
            out.append(Task.phase_id.in_(sa.select(Phase.id).where(Phase.code == self.phase)))
        if self.duty:
            out.append(Task.duty_id.in_(sa.select(Duty.id).where(Duty.code == self.duty)))
        if self.year is not None:
            out.append(Task.year == self.year)
        if self.due is not None:
            out.append(Task.due_date == self.due)
        out.append(Task.status_filter(self.state, today))
        return out


def parse_filters() -> Filters:
    """Filters from the query string; a unit filter only for the coordinator."""
    try:
        state = parse_status(request.args.get("status"))
    except UnknownStatus as exc:
        abort(400, description=_("Unknown status '%(status)s'.", status=exc.value))
    return Filters(
        unit_id=int_arg("unit") if current_user.is_admin else None,
        phase=request.args.get("phase") or None,
        state=state,
        duty=request.args.get("duty") or None,
        year=int_arg("year", MIN_YEAR, MAX_YEAR),
        due=date_arg("due"),
    )


def filter_args(filters: Filters) -> dict:
    """The filters as query arguments, for links that keep them."""
    args = {"unit": filters.unit_id, "phase": filters.phase, "status": filters.state,
            "duty": filters.duty, "year": filters.year}
    return {k: v for k, v in args.items() if v is not None}
