"""Calendar fixtures: a town with the bundled plan loaded for 2026, and a strict .ics reader."""

from dataclasses import dataclass
from datetime import datetime, timezone
from types import SimpleNamespace
from urllib.parse import urlencode

import icalendar
import ics
import pytest
import sqlalchemy as sa
import vobject

from tracker.tasks.scope import task_scope
from tracker.calendar.services import issue_token
from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus

YEAR = 2026
LOADED_AT = datetime(2026, 1, 5, 2, 0, tzinfo=timezone.utc)
#: "Now" for the feed and download views: the feeds' overdue marks and default window
#: depend on the day, so the tests fix it (late in YEAR, with most of its work due).
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    """The calendar views see NOW as the current instant."""
    monkeypatch.setattr("tracker.calendar.views.utcnow", lambda: NOW)


@pytest.fixture
def plan_town(app, create_unit, create_user):
    """Two units and the coordinator's office, their users, the bundled plan for 2026."""
    units = SimpleNamespace(
        a=create_unit("洋溢村党总支", "branch"),
        b=create_unit("党政办公室", "office"),
        office=create_unit("镇党委宣传办", "coordinator"),
    )
    users = SimpleNamespace(
        admin=create_user("admin@example.org", "admin"),
        manager=create_user("manager@example.org", "manager", units.a),
        viewer=create_user("viewer@example.org", "viewer", units.a),
        other=create_user("other@example.org", "manager", units.b),
    )
    load_plan(read_plan("shuyuan-2020"), YEAR, LOADED_AT)
    db.session.commit()
    return SimpleNamespace(units=units, users=users)


@pytest.fixture
def feed_url(plan_town):
    """``feed_url(user, **query)``: a fresh feed token's path for ``user``."""

    def make(user, **query):
        secret = issue_token(user, LOADED_AT)
        db.session.commit()
        path = f"/feeds/{secret}.ics"
        if query:
            path += "?" + urlencode(query)
        return path

    return make


def tasks_in_scope(user, *conditions) -> list[Task]:
    """The tasks a feed of ``user`` must show: in scope and not cancelled."""
    return db.session.scalars(
        sa.select(Task).where(task_scope(user), Task.status != TaskStatus.CANCELLED,
                              *conditions).order_by(Task.id)).all()


@dataclass
class Parsed:
    """An .ics parsed by icalendar, vobject and ics, checked to agree."""

    calendar: icalendar.Calendar
    vobject: object
    ics: ics.Calendar

    def components(self, name: str = "VEVENT") -> list:
        """icalendar's components of that type."""
        return [c for c in self.calendar.walk(name)]

    def tasks(self, name: str = "VEVENT") -> list:
        """The task components (not the phases), by UID."""
        return [c for c in self.components(name) if str(c["UID"]).startswith("task-")]

    def by_uid(self, name: str = "VEVENT") -> dict:
        return {str(c["UID"]): c for c in self.components(name)}


def parse_ics(data: bytes) -> Parsed:
    """Parse with three independent readers; fail on any disagreement or a long line."""
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    lines = data.split(b"\r\n")
    assert b"\n" not in b"".join(lines), "a bare LF outside CRLF"
    longest = max(len(line) for line in lines)
    assert longest <= 75, f"a line of {longest} octets"
    text = data.decode("utf-8")

    calendar = icalendar.Calendar.from_ical(data)
    vcal = vobject.readOne(text, validate=True)
    vcal.validate()
    ical_uids = sorted(str(c["UID"]) for c in calendar.walk() if "UID" in c)
    vobject_uids = sorted(c.uid.value for c in vcal.components() if hasattr(c, "uid"))
    assert ical_uids == vobject_uids
    assert len(ical_uids) == len(set(ical_uids)), "UIDs are not unique"

    parsed_ics = ics.Calendar(text)
    ics_uids = sorted([e.uid for e in parsed_ics.events] + [t.uid for t in parsed_ics.todos])
    assert ics_uids == ical_uids
    # Every reader gets the same text back.
    summaries = {str(c["UID"]): str(c["SUMMARY"]) for c in calendar.walk() if "SUMMARY" in c}
    assert {c.uid.value: c.summary.value for c in vcal.components()} == summaries
    assert {e.uid: e.name for e in [*parsed_ics.events, *parsed_ics.todos]} == summaries
    return Parsed(calendar=calendar, vobject=vcal, ics=parsed_ics)
