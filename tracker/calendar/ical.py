"""Building .ics calendars from plain task data: pure functions, no app, no database.

Every content line is written by the icalendar library; this module decides what
goes in. The output is deterministic: the same data seen on the same day gives
the same bytes (DTSTAMP and LAST-MODIFIED come from the task's last change, not
from the clock), so that feeds can answer 304 and calendar apps skip the work.
The words are the catalogue's, in the language of ``FeedOptions.locale``.
"""

import hashlib
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from icalendar import Alarm, Calendar, Event, Todo, vDuration

from tracker.core.i18n import DEFAULT_LOCALE, texts
from tracker.tasks.models import FINISHED, PENDING, TaskStatus, is_overdue as owed_after

PRODID = "-//tracker//Work plan deadlines//ZH"
KIND_EVENT, KIND_TODO = "event", "todo"
KINDS = (KIND_EVENT, KIND_TODO)

# Task statuses are StrEnums: the plain strings of a TaskEntry compare equal to them.
CANCELLED = TaskStatus.CANCELLED

#: The mark that leads a SUMMARY, so the state shows in any calendar's grid.
MARK_DONE, MARK_RETURNED, MARK_OVERDUE, MARK_CANCELLED = "✓", "↩", "⚠", "✗"


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


STATUS_LABELS = {
    "open": N_("Open"),
    "submitted": N_("Submitted, awaiting review"),
    "accepted": N_("Accepted"),
    "returned": N_("Returned, needs rework"),
    "cancelled": N_("Cancelled"),
    "overdue": N_("Overdue"),
}


@dataclass(frozen=True, slots=True)
class TaskEntry:
    """What a calendar shows of one task; hashable, so it can key the component cache."""

    id: int
    unit: str
    title: str
    due: date
    status: str
    #: The task's page, ``{BASE_URL}/tasks/<id>``.
    url: str
    #: The task's last change (an aware instant): DTSTAMP and LAST-MODIFIED.
    updated_at: datetime
    #: Raised each time the due date or the title changed.
    sequence: int = 0
    phase_code: str = ""
    phase_title: str = ""
    #: The evidence the task asks for, one line each.
    evidence: tuple[str, ...] = ()
    title_en: str = ""
    description: str = ""
    #: When the unit submitted its work (VTODO COMPLETED).
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PhaseEntry:
    """A phase of a plan in one year, shown as a multi-day all-day event."""

    #: Unique among phases and stable across years' reloads, e.g. ``shuyuan-2020-2026-P1``.
    key: str
    code: str
    title: str
    start: date
    #: The last day, inclusive.
    end: date
    updated_at: datetime
    description: str = ""


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """The calendar's own properties."""

    name: str
    #: The plan's IANA timezone, given to clients as X-WR-TIMEZONE.
    timezone: str
    #: How often subscribers should fetch again (REFRESH-INTERVAL, X-PUBLISHED-TTL).
    refresh: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """Choices that change every task's component; part of the cache key."""

    kind: str = KIND_EVENT
    #: Add a DISPLAY alarm to each pending task (only when the user asked for it).
    alarm: bool = False
    #: Alarm time before the due day's midnight: 15 hours is 09:00 the day before.
    alarm_before: timedelta = timedelta(hours=15)
    #: The host part of every UID (from BASE_URL).
    host: str = "localhost"
    #: The language of the words around the data (the feed owner's).
    locale: str = DEFAULT_LOCALE


DEFAULT_OPTIONS = FeedOptions()


@dataclass(frozen=True, slots=True)
class DutyDayEntry:
    """One duty on one day across the town (the coordinator's feed): texts already in the
    feed owner's language."""

    #: The duty's id, or for tasks made outside the plan ``adhoc-`` and a hash of the title.
    key: str
    due: date
    summary: str
    description: str
    #: The town's task list narrowed to this duty and day.
    url: str
    #: The newest change of any task of the duty on that day (or moved away from it).
    updated_at: datetime
    #: Raised each time the duty's tasks were renamed.
    sequence: int = 0
    phase_title: str = ""
    #: Whether some unit still owes work (the alarm is only for those).
    pending: bool = False


def duty_day_uid(key: str, due: date, host: str) -> str:
    """The UID of a duty-and-day event: the same while the duty has tasks on that day."""
    return f"duty-{key}-{due:%Y%m%d}@{host}"


def task_uid(task_id: int, host: str) -> str:
    """The UID of a task's component: the same for the whole life of the task."""
    return f"task-{task_id}@{host}"


def phase_uid(key: str, host: str) -> str:
    """The UID of a phase's event."""
    return f"phase-{key}@{host}"


def is_overdue(entry: TaskEntry, today: date) -> bool:
    """Whether work is still owed after the due date, as seen on ``today`` (the tasks
    area's one definition)."""
    return owed_after(entry.status, entry.due, today)


def status_mark(entry: TaskEntry, overdue: bool) -> str:
    """The SUMMARY's leading mark: done, returned, overdue, cancelled, or none."""
    if entry.status in FINISHED:
        return MARK_DONE
    if entry.status == CANCELLED:
        return MARK_CANCELLED
    if overdue:
        return MARK_OVERDUE
    if entry.status == "returned":
        return MARK_RETURNED
    return ""


def task_summary(entry: TaskEntry, overdue: bool, locale: str = DEFAULT_LOCALE) -> str:
    """The one line a calendar shows: mark, unit, title (the English one in English)."""
    mark = status_mark(entry, overdue)
    title = entry.title_en or entry.title if locale == "en" else entry.title
    text = texts(locale).gettext("[%(unit)s] %(title)s", unit=entry.unit, title=title)
    return f"{mark} {text}" if mark else text


def task_description(entry: TaskEntry, overdue: bool, locale: str = DEFAULT_LOCALE) -> str:
    """The event's body: what is due, in which phase, the evidence needed and the link."""
    t = texts(locale)
    lines = [entry.title]
    if entry.title_en:
        lines.append(entry.title_en)
    lines += ["", t.gettext("Unit: %(unit)s", unit=entry.unit),
              t.gettext("Due: %(day)s", day=entry.due.isoformat())]
    if entry.phase_title:
        lines.append(t.gettext("Phase: %(phase)s", phase=entry.phase_title))
    state = t.gettext(STATUS_LABELS.get(entry.status, entry.status))
    if overdue:
        state = t.gettext("%(overdue)s (%(state)s)", overdue=t.gettext(STATUS_LABELS["overdue"]),
                          state=state)
    lines.append(t.gettext("Status: %(state)s", state=state))
    if entry.evidence:
        lines.append(t.gettext("Evidence needed:"))
        lines += [f"· {title}" for title in entry.evidence]
    if entry.description:
        lines += ["", entry.description]
    lines += ["", t.gettext("Open: %(url)s", url=entry.url)]
    return "\n".join(lines)


def task_component(entry: TaskEntry, today: date, options: FeedOptions = DEFAULT_OPTIONS):
    """A task as a VEVENT (all-day on its due date) or, for ``kind="todo"``, a VTODO."""
    return _task_component(entry, is_overdue(entry, today), options)


def _task_component(entry: TaskEntry, overdue: bool, options: FeedOptions):
    # Everything here depends only on (entry, overdue, options): the cache's key.
    changed = _utc(entry.updated_at)
    todo = options.kind == KIND_TODO
    component = Todo() if todo else Event()
    component.add("uid", task_uid(entry.id, options.host))
    component.add("dtstamp", changed)
    component.add("last-modified", changed)
    component.add("sequence", entry.sequence)
    if todo:
        component.add("due", entry.due)
    else:
        component.add("dtstart", entry.due)
        component.add("dtend", entry.due + timedelta(days=1))
        # A deadline is not a meeting: it should not make anyone look busy.
        component.add("transp", "TRANSPARENT")
    component.add("summary", task_summary(entry, overdue, options.locale))
    component.add("description", task_description(entry, overdue, options.locale))
    if entry.phase_title:
        component.add("categories", [entry.phase_title])
    component.add("url", entry.url)
    if todo:
        if entry.status in FINISHED:
            component.add("status", "COMPLETED")
            component.add("percent-complete", 100)
            if entry.completed_at is not None:
                component.add("completed", _utc(entry.completed_at))
        elif entry.status == CANCELLED:
            component.add("status", "CANCELLED")
        else:
            component.add("status", "NEEDS-ACTION")
    else:
        component.add("status", "CANCELLED" if entry.status == CANCELLED else "CONFIRMED")
    if options.alarm and entry.status in PENDING:
        component.add_component(_alarm(entry, overdue, options, related_end=todo))
    return component


def _alarm(entry: TaskEntry, overdue: bool, options: FeedOptions, related_end: bool) -> Alarm:
    # DISPLAY only: an EMAIL alarm would have the client mail people on our behalf.
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    # A VTODO has no DTSTART here, so its alarm counts back from DUE.
    params = {"RELATED": "END"} if related_end else {}
    alarm.add("trigger", -options.alarm_before, parameters=params)
    alarm.add("description", task_summary(entry, overdue, options.locale))
    return alarm


def phase_component(phase: PhaseEntry, options: FeedOptions = DEFAULT_OPTIONS) -> Event:
    """A phase as an all-day event spanning its days."""
    changed = _utc(phase.updated_at)
    event = Event()
    event.add("uid", phase_uid(phase.key, options.host))
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("dtstart", phase.start)
    event.add("dtend", phase.end + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("summary", texts(options.locale).gettext("[Phase] %(phase)s", phase=phase.title))
    if phase.description:
        event.add("description", phase.description)
    event.add("categories", [phase.title])
    return event


def duty_day_component(entry: DutyDayEntry, options: FeedOptions = DEFAULT_OPTIONS) -> Event:
    """A duty on a day for the whole town, as an all-day event."""
    changed = _utc(entry.updated_at)
    event = Event()
    event.add("uid", duty_day_uid(entry.key, entry.due, options.host))
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("sequence", entry.sequence)
    event.add("dtstart", entry.due)
    event.add("dtend", entry.due + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("summary", entry.summary)
    event.add("description", entry.description)
    if entry.phase_title:
        event.add("categories", [entry.phase_title])
    event.add("url", entry.url)
    event.add("status", "CONFIRMED")
    if options.alarm and entry.pending:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -options.alarm_before)
        alarm.add("description", entry.summary)
        event.add_component(alarm)
    return event


def build_town_calendar(groups: list[DutyDayEntry], phases: list[PhaseEntry],
                        info: CalendarInfo, options: FeedOptions = DEFAULT_OPTIONS) -> bytes:
    """The town's calendar as .ics bytes: phases, then one event per duty and day."""
    head, tail = calendar_shell(info)
    parts = [head]
    parts.extend(phase_component(phase, options).to_ical() for phase in phases)
    parts.extend(_duty_day_bytes(group, options) for group in groups)
    parts.append(tail)
    return b"".join(parts)


#: Serialised duty-and-day events by (entry, options): an entry holds everything its
#: event is made of, so an equal one serialises to the same bytes.
_DUTY_DAYS: dict[tuple[DutyDayEntry, FeedOptions], bytes] = {}
_DUTY_DAYS_MAX = 20_000


def _duty_day_bytes(entry: DutyDayEntry, options: FeedOptions) -> bytes:
    key = (entry, options)
    data = _DUTY_DAYS.get(key)
    if data is None:
        data = duty_day_component(entry, options).to_ical()
        if len(_DUTY_DAYS) >= _DUTY_DAYS_MAX:
            _DUTY_DAYS.pop(next(iter(_DUTY_DAYS)), None)
        _DUTY_DAYS[key] = data
    return data


def calendar_shell(info: CalendarInfo) -> tuple[bytes, bytes]:
    """The calendar's serialised head (BEGIN and its properties) and tail (END)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.calendar_name = info.name  # NAME (RFC 7986) and X-WR-CALNAME
    calendar.add("x-wr-timezone", info.timezone)
    # RFC 7986 requires the VALUE parameter on REFRESH-INTERVAL.
    calendar.add("refresh-interval", info.refresh, parameters={"VALUE": "DURATION"})
    # Unknown X- properties would be written with str(); say it is a duration.
    calendar.add("x-published-ttl", vDuration(info.refresh))
    head, end, rest = calendar.to_ical().rpartition(b"END:VCALENDAR")
    return head, end + rest


def build_calendar(tasks: list[TaskEntry], phases: list[PhaseEntry], info: CalendarInfo,
                   today: date, options: FeedOptions = DEFAULT_OPTIONS,
                   cache: "ComponentCache | None" = None,
                   bodies: "list[bytes] | None" = None) -> bytes:
    """The calendar as .ics bytes: phases, then one component per task, in the order given.

    The bytes equal icalendar's serialisation of one Calendar holding every
    component; with a ``cache`` a task's component is serialised again only
    when the task (or whether it is overdue) changed. ``bodies``, when given, are the
    tasks' serialised components already (``task_body`` of each, in order).
    """
    head, tail = calendar_shell(info)
    parts = [head]
    parts.extend(phase_component(phase, options).to_ical() for phase in phases)
    if bodies is not None:
        parts.extend(bodies)
    elif cache is None:
        parts.extend(_task_component(t, is_overdue(t, today), options).to_ical() for t in tasks)
    else:
        parts.extend(cache.component(t, is_overdue(t, today), options) for t in tasks)
    parts.append(tail)
    return b"".join(parts)


#: Raised whenever a task's component is written differently for the same data, so that
#: stored components of an older release are not served.
COMPONENT_FORMAT = 1


def task_body(entry: TaskEntry, overdue: bool, options: FeedOptions) -> bytes:
    """A task's serialised component."""
    return _task_component(entry, overdue, options).to_ical()


def options_variant(options: FeedOptions) -> str:
    """The options as a short string: which stored component of a task this is."""
    seconds = int(options.alarm_before.total_seconds())
    return f"{options.kind}-{int(options.alarm)}-{seconds}-{options.locale}-{options.host}"[:200]


def component_version(entry: TaskEntry, overdue: bool) -> str:
    """A digest of everything a task's component is made of besides the options (which
    the variant names): every field of the entry, whether it is overdue, the format."""
    seed = repr((COMPONENT_FORMAT, overdue, entry)).encode("utf-8")
    return hashlib.blake2b(seed, digest_size=16).hexdigest()


class ComponentCache:
    """Serialised task components, one per (task, options), reused while the task is unchanged.

    The stored version is the whole TaskEntry plus the overdue flag, i.e.
    everything the component is built from, so a stale component cannot be
    served: any change to the task's data makes a miss.
    """

    def __init__(self, max_items: int = 200_000):
        self.max_items = max_items
        self.hits = 0
        self.misses = 0
        self._items: dict[tuple[int, FeedOptions], tuple[tuple[TaskEntry, bool], bytes]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, entry: TaskEntry, overdue: bool, options: FeedOptions) -> bytes | None:
        """The cached component of ``entry`` as it is now, or None."""
        item = self._items.get((entry.id, options))
        if item is not None and item[0] == (entry, overdue):
            self.hits += 1
            return item[1]
        self.misses += 1
        return None

    def put(self, entry: TaskEntry, overdue: bool, options: FeedOptions, data: bytes) -> None:
        """Keep ``data`` as the component of ``entry`` as it is now."""
        key = (entry.id, options)
        with self._lock:
            if key not in self._items and len(self._items) >= self.max_items:
                del self._items[next(iter(self._items))]
            self._items[key] = ((entry, overdue), data)

    def component(self, entry: TaskEntry, overdue: bool, options: FeedOptions) -> bytes:
        """The serialised component of ``entry``, built only if not cached as it is."""
        key = (entry.id, options)
        version = (entry, overdue)
        item = self._items.get(key)
        if item is not None and item[0] == version:
            self.hits += 1
            return item[1]
        self.misses += 1
        data = _task_component(entry, overdue, options).to_ical()
        with self._lock:
            if key not in self._items and len(self._items) >= self.max_items:
                # Oldest first: dicts keep insertion order.
                del self._items[next(iter(self._items))]
            self._items[key] = (version, data)
        return data

    def clear(self) -> None:
        """Forget every component."""
        with self._lock:
            self._items.clear()
        self.hits = self.misses = 0


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime given where an instant (UTC) is expected")
    return instant.astimezone(timezone.utc).replace(microsecond=0)
