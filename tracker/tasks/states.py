"""The one vocabulary of a task's state: what is stored, what a task is shown as, and what
a list, a page, a feed or the command line can be narrowed to.

Three things, kept apart:

- the **stored status** (``TaskStatus``): open, submitted, accepted, returned, cancelled;
- two **overlays** judged from the due date on a given day, never stored: ``overdue``
  (work still owed after its due date) and ``soon`` (work still owed, due within
  ``DUE_SOON_DAYS``);
- the **display state** (``display_state``): the one colour a task is drawn in, a
  partition (an overdue task is drawn overdue, whatever its status).

A **status filter** (``status=X`` on a page, in a feed, ``--status X`` on the command
line) selects a set of tasks, the same set everywhere: a stored status selects every task
stored so, whatever its date (``returned`` is all the work awaiting rework, overdue or
not); an overlay selects the owed tasks it describes; ``pending`` and ``done`` are the
owed and the finished. Sets may overlap: an overdue task is also ``open`` or
``returned``. Without a filter, every task but the cancelled ones.

Pure: no database and no request; ``matches`` is the Python form and ``status_clause`` the
SQL form of one rule, and tests hold them equal.
"""

import enum
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l


class TaskStatus(enum.StrEnum):
    """Stored status of a task. Overdue and soon are judged from the due date, not stored."""

    OPEN = "open"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    CANCELLED = "cancelled"


#: Statuses in which the unit still owes work: these can be overdue, and a
#: reloaded plan may still move them.
PENDING = frozenset({TaskStatus.OPEN, TaskStatus.RETURNED})
#: Statuses in which the unit's part is done (submitted for review, or accepted).
FINISHED = frozenset({TaskStatus.SUBMITTED, TaskStatus.ACCEPTED})
#: Days ahead in which owed work counts as "due soon".
DUE_SOON_DAYS = 7

#: The overlays: judged from the due date on a given day.
OVERLAYS = ("overdue", "soon")
#: The states a task is drawn in, in the order legends, charts and calendars use: the
#: stored statuses, with ``overdue`` before all and ``soon`` for open work due soon.
DISPLAY_STATES = ("accepted", "submitted", "returned", "overdue", "soon", "open", "cancelled")
#: Every value ``status=`` takes, on every page, feed and command: the stored statuses,
#: the overlays, and ``pending`` (still owed) and ``done`` (submitted or accepted).
STATUS_FILTERS = (tuple(s.value for s in TaskStatus) + OVERLAYS + ("pending", "done"))
#: The filters shown as columns of count tables (the town overview), in their order.
COUNTED = ("accepted", "submitted", "returned", "open", "overdue", "soon")

#: Labels of the display states and of the status filters.
STATE_LABELS = {
    "open": _l("Open"),
    "soon": _l("Due within 7 days"),
    "overdue": _l("Overdue"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned"),
    "accepted": _l("Accepted"),
    "cancelled": _l("Cancelled"),
    "pending": _l("Not done yet"),
    "done": _l("Submitted or accepted"),
}


class UnknownStatus(ValueError):
    """A status filter that is not one of ``STATUS_FILTERS``."""

    def __init__(self, value: str):
        super().__init__(f"unknown status {value!r} (expected {', '.join(STATUS_FILTERS)})")
        self.value = value


def parse_status(value: str | None) -> str | None:
    """A status filter from user input: None for none, ``UnknownStatus`` if unknown."""
    if not value:
        return None
    if value not in STATUS_FILTERS:
        raise UnknownStatus(value)
    return value


def is_overdue(status: str, due: date, today: date) -> bool:
    """Whether work is still owed after the due date, as seen on ``today``."""
    return status in PENDING and due < today


def is_soon(status: str, due: date, today: date) -> bool:
    """Whether work is still owed and due within ``DUE_SOON_DAYS`` of ``today``."""
    return status in PENDING and today <= due <= today + timedelta(days=DUE_SOON_DAYS)


def display_state(status: str, due: date, today: date) -> str:
    """The state a task is drawn in on ``today``: one of ``DISPLAY_STATES``."""
    if is_overdue(status, due, today):
        return "overdue"
    if status == TaskStatus.OPEN and is_soon(status, due, today):
        return "soon"
    return TaskStatus(status).value


def matches(value: str | None, status: str, due: date, today: date) -> bool:
    """Whether a task stored as ``status``, due on ``due``, is selected by the status
    filter ``value`` on ``today`` (None: every task but the cancelled)."""
    if value is None:
        return status != TaskStatus.CANCELLED
    if value == "overdue":
        return is_overdue(status, due, today)
    if value == "soon":
        return is_soon(status, due, today)
    if value == "pending":
        return status in PENDING
    if value == "done":
        return status in FINISHED
    return status == TaskStatus(value)


def status_clause(value: str | None, status, due, today: date):
    """SQL for ``matches``, on the columns ``status`` and ``due``."""
    pending = status.in_(sorted(PENDING))
    if value is None:
        return status != TaskStatus.CANCELLED
    if value == "overdue":
        return pending & (due < today)
    if value == "soon":
        return pending & due.between(today, today + timedelta(days=DUE_SOON_DAYS))
    if value == "pending":
        return pending
    if value == "done":
        return status.in_(sorted(FINISHED))
    return status == TaskStatus(value)


def display_clause(status, due, today: date):
    """SQL for ``display_state``, on the columns ``status`` and ``due``."""
    return sa.case(
        (status_clause("overdue", status, due, today), "overdue"),
        ((status == TaskStatus.OPEN) & status_clause("soon", status, due, today), "soon"),
        else_=sa.type_coerce(status, sa.String),
    )
