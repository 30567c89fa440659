"""Signals: how an area tells the areas above it that something happened, or asks them for
their part of a page, without importing them (as Indico's ``indico.core.signals``).

Areas import only the areas below them (the layers contract in setup.cfg). What must
flow upward goes through one of these: the lower area sends, and the area above
connects a receiver in its package's ``__init__``, which the app factory imports
with every model. Receivers run synchronously, in the sender's transaction: what
they add is committed, or rolled back, with the change that caused it.
"""

from blinker import Namespace

_signals = Namespace()

units_added = _signals.signal("units-added", doc="""
Units were added or made active again (sender: the list of units; ``now``). The tasks
area gives them their tasks for every loaded year; a receiver returns what it made, as
``[(what, count), ...]``, e.g. ``[("shuyuan-2020 2026", 47)]``.
""")

units_changed = _signals.signal("units-changed", doc="""
What units are asked changed (sender: the list of units; ``now``): a kind changed, or the
coordinator exempted or included a rubric row. The tasks area makes, or cancels while
still open and not yet due, their tasks for every loaded year; a receiver returns what it
did, as ``[(what, count), ...]``.
""")

task_returned = _signals.signal("task-returned", doc="""
The coordinator returned a task for rework (sender: the task; ``reviewer``, ``comment``,
``now``). The reminders area queues the notice to the unit's people.
""")

settings_panels = _signals.signal("settings-panels", doc="""
The settings page asks for panels (sender: the signed-in user; the page's keyword
arguments, e.g. ``feed_url`` right after a calendar link was made). A receiver returns
``(order, html)``: the panels are shown by ``order``.
""")

workdays_changed = _signals.signal("workdays-changed", doc="""
The coordinator made days off or working days (sender: the list of dates; ``now``). The
tasks area moves the open tasks whose due date the change concerns.
""")

unit_columns = _signals.signal("unit-columns", doc="""
The coordinator's list of units asks for extra columns (sender: the list of unit ids). A
receiver returns ``(heading, {unit id: value})``.
""")

unit_page_panels = _signals.signal("unit-page-panels", doc="""
A unit's page asks for panels (sender: the unit). A receiver returns ``(order, html)``: the
panels are shown by ``order`` (the reminders area: the unit's group robot).
""")

user_columns = _signals.signal("user-columns", doc="""
The user loader asks what else to load with the signed-in user, in its one query (sender:
the ``users.id`` column). A receiver returns ``(name, expression)``: a scalar SQL
expression correlated to that column, whose value is set on the user as attribute
``name`` (the reminders area: ``unread_notifications``, which the header's bell shows).
""")


def values(results) -> list:
    """The values receivers returned from ``signal.send(...)``, without the Nones."""
    return [value for _receiver, value in results if value is not None]
