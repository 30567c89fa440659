"""Reading what a calendar shows: the tasks in a scope, their SEQUENCE, and a cheap version.

The feed, the signed-in download, the CLI and the benchmark all go through
``export_ics`` (the bytes) and ``calendar_version`` (ETag and Last-Modified
without building anything).
"""

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _

from tracker.calendar import ical
from tracker.calendar.models import FeedComponent
from tracker.core.i18n import DEFAULT_LOCALE, texts
from tracker.extensions import db
from tracker.phases.models import Duty, Phase, Plan, PlanYear, date_label
from tracker.tasks.models import Task, TaskEvent, TaskEventKind
from tracker.tasks.states import FINISHED, PENDING, is_overdue, matches
from tracker.units.models import Unit

#: Raised whenever the .ics output changes for the same data, so that ETags
#: from an older release do not keep subscribers on the old format.
FORMAT_VERSION = 2

#: Serialised task components shared by every request of this process.
COMPONENTS = ical.ComponentCache()


@dataclass(frozen=True)
class FeedFilters:
    """What part of the scope a calendar shows."""

    #: A unit's name; only narrows the scope, never widens it.
    unit: str | None = None
    #: A phase code, e.g. ``P2``.
    phase: str | None = None
    #: One of ``tracker.tasks.states.STATUS_FILTERS``; without it, every status but
    #: cancelled.
    status: str | None = None
    #: Whether finished items (submitted, accepted) are included.
    done: bool = True
    #: One year; without it, ``since`` and every year after.
    year: int | None = None
    #: The first year shown when no ``year`` is given (None: every year).
    since: int | None = None
    #: ``duties``: the whole town's calendar has one event per duty and day (the
    #: coordinator's feed); ``units``: one event per task, always.
    detail: str = "units"


@dataclass
class FeedData:
    """What a calendar shows, read from the database: plain data for the builder."""

    tasks: list[ical.TaskEntry] = field(default_factory=list)
    phases: list[ical.PhaseEntry] = field(default_factory=list)
    #: The plans' timezone where the tasks come from one plan (or all agree).
    timezone: str | None = None


def host_of(base_url: str) -> str:
    """The host part of UIDs: BASE_URL's host name."""
    return urlsplit(base_url).hostname or "localhost"


def feed_options(kind: str = ical.KIND_EVENT, alarm: bool = False,
                 locale: str = DEFAULT_LOCALE) -> ical.FeedOptions:
    """Builder options for this deployment (UIDs on BASE_URL's host), in ``locale``."""
    return ical.FeedOptions(kind=kind, alarm=alarm,
                            host=host_of(current_app.config["BASE_URL"]), locale=locale)


def calendar_name(unit_name: str | None = None, locale: str = DEFAULT_LOCALE) -> str:
    """The calendar's display name: one unit's, or the whole town's."""
    t = texts(locale)
    return (t.gettext("Work tasks · %(unit)s", unit=unit_name) if unit_name
            else t.gettext("Work tasks · all units"))


def task_conditions(scope, filters: FeedFilters, today: date, statuses: bool = True) -> list:
    """WHERE clauses on Task for a scope (``tracker.tasks.scope.task_scope``) and filters
    (without the status filters when not ``statuses``)."""
    conditions = [scope]
    if filters.year is not None:
        conditions.append(Task.year == filters.year)
    elif filters.since is not None:
        conditions.append(Task.year >= filters.since)
    if filters.unit:
        unit_name = " ".join(filters.unit.split())
        conditions.append(Task.unit_id.in_(sa.select(Unit.id).where(Unit.name == unit_name)))
    if filters.phase:
        conditions.append(Task.phase_id.in_(sa.select(Phase.id).where(Phase.code == filters.phase)))
    if not statuses:
        return conditions
    # Without a status filter a cancelled task is left out: it is no longer due, and
    # subscribers' apps drop it.
    conditions.append(Task.status_filter(filters.status, today))
    if not filters.done:
        conditions.append(Task.status.not_in(FINISHED))
    return conditions


def _changes_date_or_title():
    # SEQUENCE counts the history entries that moved the date or renamed the
    # task (a plan reload, a manual move, a restore), whatever their kind, but
    # not the task's creation.
    return sa.and_(
        TaskEvent.kind != TaskEventKind.CREATED,
        sa.or_(TaskEvent.changes["due_date"].as_string().is_not(None),
               TaskEvent.changes["title"].as_string().is_not(None)),
    )


def _history(conditions: list, counted: str, events) -> sa.Subquery:
    """Per task that ``conditions`` select: how many of its history ``events`` there are
    (as ``counted``) and its last event's instant (``last_event_at``)."""
    # Joined, not "task_id IN (tasks in scope)": the database then starts from
    # the history, which is often far smaller than the tasks.
    return (
        sa.select(TaskEvent.task_id.label("task_id"),
                  sa.func.sum(sa.case((events, 1), else_=0)).label(counted),
                  sa.func.max(TaskEvent.at).label("last_event_at"))
        .join(Task, Task.id == TaskEvent.task_id)
        .where(*conditions)
        .group_by(TaskEvent.task_id)
        .subquery()
    )


def _units_plans_phases(plan_ids: set) -> tuple[dict, dict, list, set]:
    """What a feed's events name beside their tasks: unit names by id, the plans (name,
    timezone, last change) by id, their phases in order, and the (plan id, year) pairs a
    plan is loaded for (a 整改 task due next January is a task of this year's plan, but
    its phases are not next year's); three statements."""
    units = dict(db.session.execute(sa.select(Unit.id, Unit.name)).all())
    plans, loaded = {}, set()
    for row in db.session.execute(
            sa.select(Plan.id, Plan.name, Plan.timezone, Plan.updated_at, PlanYear.year)
            .outerjoin(PlanYear, PlanYear.plan_id == Plan.id)
            .where(Plan.id.in_(plan_ids))).all():
        plans[row.id] = row
        if row.year is not None:
            loaded.add((row.id, row.year))
    phases = db.session.scalars(
        sa.select(Phase).where(Phase.plan_id.in_(plan_ids))
        .order_by(Phase.plan_id, Phase.position)).all()
    return units, plans, phases, loaded


def feed_data(scope, filters: FeedFilters, today: date, base_url: str,
              locale: str = DEFAULT_LOCALE) -> FeedData:
    """The tasks (with SEQUENCE from their history) and phases a calendar shows, the words
    around the plan's (evidence, where dates come from) in ``locale``.

    One query reads the tasks with their history counted per task (GROUP BY),
    then a few small ones read units, duties, phases and plans, whatever the
    number of tasks.
    """
    conditions = task_conditions(scope, filters, today)
    history = _history(conditions, "sequence", _changes_date_or_title())
    rows = db.session.execute(
        sa.select(Task.id, Task.plan_id, Task.year, Task.unit_id, Task.duty_id, Task.phase_id,
                  Task.title, Task.title_en, Task.description, Task.due_date, Task.status,
                  Task.updated_at, Task.submitted_at, history.c.sequence,
                  history.c.last_event_at)
        .outerjoin(history, history.c.task_id == Task.id)
        .where(*conditions)
        .order_by(Task.due_date, Task.unit_id, Task.id)
    ).all()
    if not rows:
        return FeedData()

    plan_ids = {r.plan_id for r in rows}
    units, plans, phases, loaded = _units_plans_phases(plan_ids)
    phase_names = {p.id: (p.code, p.title) for p in phases}
    # The duty's description, then where its dates come from (the plan's own choices
    # labelled as the system's, apart from the document's words).
    duties = {d.id: (_evidence_lines(d.evidence, locale),
                     "\n".join(filter(None, (d.description, date_label(d.due, locale)))))
              for d in db.session.execute(
                  sa.select(Duty.id, Duty.evidence, Duty.description, Duty.due)
                  .where(Duty.plan_id.in_(plan_ids)))}

    # This loop runs once per task (about 14,000 for a town's year): plain
    # tuples and positional arguments keep it a small part of a feed's cost.
    base = base_url.rstrip("/")
    no_phase, no_duty = ("", ""), ((), "")
    tasks = []
    plan_years = set()
    for (task_id, plan_id, year, unit_id, duty_id, phase_id, title, title_en, description, due,
         status, updated_at, submitted_at, sequence, last_event_at) in rows:
        plan_years.add((plan_id, year))
        phase_code, phase_title = phase_names.get(phase_id, no_phase)
        evidence, duty_description = duties.get(duty_id, no_duty)
        if last_event_at is not None and last_event_at > updated_at:
            updated_at = last_event_at
        tasks.append(ical.TaskEntry(
            task_id, units[unit_id], title, due, status.value, f"{base}/tasks/{task_id}",
            updated_at, int(sequence or 0), phase_code, phase_title, evidence, title_en,
            description or duty_description, submitted_at if status in FINISHED else None))

    phase_entries = _phase_entries(plan_years & loaded, plans, phases, filters)
    zones = {plans[pid].timezone for pid in plan_ids}
    return FeedData(tasks=tasks, phases=phase_entries,
                    timezone=zones.pop() if len(zones) == 1 else None)


#: At most this many of the units still owing work are named in a duty-and-day event.
OPEN_UNITS_LISTED = 30


def town_data(scope, filters: FeedFilters, today: date, base_url: str,
              locale: str) -> tuple[list[ical.DutyDayEntry], list[ical.PhaseEntry], str | None]:
    """The town's calendar: one entry per duty and day (units done of units due, the units
    still owing work), the phases and the plans' timezone, in ``locale``.

    A fixed number of queries whatever the number of tasks: the change stamps per duty
    and day (with the tasks' history), the tasks, the units, the plans, the duties and
    phases of those plans, and the moves (a task moved away changes the day it left).
    """
    # Every status is read: a task cancelled or moved away still dates the change of
    # the event it left (DTSTAMP, LAST-MODIFIED); the status filters are applied below.
    conditions = task_conditions(scope, filters, today, statuses=False)
    renamed = sa.and_(TaskEvent.kind != TaskEventKind.CREATED,
                      TaskEvent.changes["title"].as_string().is_not(None))
    history = _history(conditions, "renames", renamed)
    # The change stamps per duty, day and title, aggregated by the database; the tasks
    # themselves without stamps (a town's year is some 14,000 rows: no instants to read).
    stamps = db.session.execute(
        sa.select(Task.due_date, Task.duty_id, Task.title, sa.func.max(Task.updated_at),
                  sa.func.max(history.c.last_event_at), sa.func.max(history.c.renames))
        .outerjoin(history, history.c.task_id == Task.id)
        .where(*conditions)
        .group_by(Task.due_date, Task.duty_id, Task.title)
    ).all()
    columns = (Task.plan_id, Task.year, Task.duty_id, Task.due_date, Task.title,
               Task.title_en, Task.phase_id, Task.status)
    rows = db.session.execute(
        sa.select(*columns, sa.func.count()).where(*conditions).group_by(*columns)
        .order_by(Task.due_date, Task.duty_id, Task.title)
    ).all()
    if not rows:
        return [], [], None
    # The units still owing work, the first few of each duty and day (by unit id).
    owing = [Task.status.in_(sorted(PENDING)), Task.status_filter(filters.status, today)]
    place = sa.func.row_number().over(
        partition_by=(Task.due_date, Task.duty_id, Task.title), order_by=Task.unit_id)
    listed = (sa.select(Task.due_date, Task.duty_id, Task.title, Task.unit_id,
                        place.label("place"))
              .where(*conditions, *owing).subquery())
    open_units = db.session.execute(
        sa.select(listed.c.due_date, listed.c.duty_id, listed.c.title, listed.c.unit_id)
        .where(listed.c.place <= OPEN_UNITS_LISTED)
        .order_by(listed.c.due_date, listed.c.duty_id, listed.c.title, listed.c.unit_id)
    ).all()
    plan_ids = {r.plan_id for r in rows}
    units, plans, phases, loaded = _units_plans_phases(plan_ids)
    duty_codes = dict(db.session.execute(
        sa.select(Duty.id, Duty.code).where(Duty.plan_id.in_(plan_ids))).all())
    moves = db.session.execute(
        sa.select(Task.duty_id, TaskEvent.at, TaskEvent.changes)
        .join(Task, Task.id == TaskEvent.task_id)
        .where(*conditions, TaskEvent.kind != TaskEventKind.CREATED,
               TaskEvent.changes["due_date"].as_string().is_not(None))
    ).all()

    status_filter, done_too = filters.status, filters.done
    english = locale.startswith("en")
    phase_titles = {p.id: (p.title_en or p.title) if english else p.title for p in phases}
    groups: dict[tuple[date, int | None, str], dict] = {}
    plan_years = set()
    for plan_id, year, duty_id, due, title, title_en, phase_id, status, count in rows:
        key = (due, duty_id, "" if duty_id is not None else title)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "title": None, "phase": phase_titles.get(phase_id, ""), "total": 0,
                "done": 0, "open": [], "owing": 0, "overdue": 0, "updated": None,
                "renames": 0}
        overdue = is_overdue(status, due, today)
        if not matches(status_filter, status, due, today) or (
                not done_too and status in FINISHED):
            continue
        plan_years.add((plan_id, year))
        if group["title"] is None:
            group["title"] = (title_en or title) if english else title
        group["total"] += count
        if status in FINISHED:
            group["done"] += count
        elif status in PENDING:
            group["owing"] += count
            group["overdue"] += count if overdue else 0
    for due, duty_id, title, unit_id in open_units:
        group = groups[(due, duty_id, "" if duty_id is not None else title)]
        # Several titles of one duty on a day (numbered occurrences) list at most as many.
        if len(group["open"]) < OPEN_UNITS_LISTED:
            group["open"].append(units[unit_id])
    for due, duty_id, title, updated_at, last_event_at, renames in stamps:
        group = groups[(due, duty_id, "" if duty_id is not None else title)]
        if last_event_at is not None and last_event_at > updated_at:
            updated_at = last_event_at
        if group["updated"] is None or updated_at > group["updated"]:
            group["updated"] = updated_at
        if renames and renames > group["renames"]:
            group["renames"] = int(renames)
    for duty_id, at, changes in moves:
        try:
            left = date.fromisoformat(changes["due_date"][0])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        group = groups.get((left, duty_id, ""))
        if group is not None and at > group["updated"]:
            group["updated"] = at

    base = base_url.rstrip("/")
    entries = []
    with force_locale(locale):
        for (due, duty_id, title), group in groups.items():
            if not group["total"]:
                continue
            key = (str(duty_id) if duty_id is not None else
                   "adhoc-" + hashlib.sha256(title.encode("utf-8")).hexdigest()[:16])
            entries.append(_duty_day_entry(due, key, group, duty_codes.get(duty_id), base))
    zones = {plans[pid].timezone for pid in plan_ids}
    return (entries, _phase_entries(plan_years & loaded, plans, phases, filters),
            zones.pop() if len(zones) == 1 else None)


def _duty_day_entry(due: date, key: str, group: dict, code: str | None,
                    base: str) -> ical.DutyDayEntry:
    title, total, done, still_open = group["title"], group["total"], group["done"], group["open"]
    owing = group["owing"]
    summary = _("%(title)s · %(done)d/%(total)d done", title=title, done=done, total=total)
    if done == total:
        summary = f"{ical.MARK_DONE} {summary}"
    elif group["overdue"]:
        summary = f"{ical.MARK_OVERDUE} {summary}"
    query = {"due": due.isoformat()}
    if code:
        query["duty"] = code
    url = f"{base}/tasks?{urlencode(query)}"
    lines = [title, "", _("Due: %(day)s", day=due.isoformat())]
    if group["phase"]:
        lines.append(_("Phase: %(phase)s", phase=group["phase"]))
    lines.append(_("Done: %(done)d of %(total)d units", done=done, total=total))
    if group["overdue"]:
        lines.append(_("Overdue: %(count)d units", count=group["overdue"]))
    if owing:
        lines += ["", _("Still owing work (%(count)d):", count=owing)]
        lines += [f"· {name}" for name in still_open]
        if owing > len(still_open):
            lines.append(_("… and %(count)d more", count=owing - len(still_open)))
    lines += ["", _("Open: %(url)s", url=url)]
    return ical.DutyDayEntry(
        key=key, due=due, summary=summary, description="\n".join(lines), url=url,
        updated_at=group["updated"], sequence=group["renames"], phase_title=group["phase"],
        pending=bool(owing))


def export_town_ics(scope, filters: FeedFilters, options: ical.FeedOptions, name: str,
                    today: date, locale: str) -> bytes:
    """The .ics bytes of the town's calendar (one event per duty and day), in ``locale``."""
    groups, phases, zone = town_data(scope, filters, today, current_app.config["BASE_URL"],
                                     locale)
    info = ical.CalendarInfo(name=name, timezone=zone or current_app.config["TIMEZONE"])
    return ical.build_town_calendar(groups, phases, info, options)


def _phase_entries(plan_years, plans, phases, filters: FeedFilters) -> list[ical.PhaseEntry]:
    phase_entries = []
    for plan_id, year in sorted(plan_years):
        plan = plans[plan_id]
        for phase in phases:
            if phase.plan_id != plan_id or not phase.active:
                continue
            if filters.phase and phase.code != filters.phase:
                continue
            start, end = _day(year, phase.start), _day(year, phase.end)
            if start is None or end is None:
                continue
            phase_entries.append(ical.PhaseEntry(
                key=f"{plan.name}-{year}-{phase.code}", code=phase.code, title=phase.title,
                start=start, end=end, updated_at=plan.updated_at, description=phase.description))
    return phase_entries


def _evidence_lines(evidence: list, locale: str) -> tuple[str, ...]:
    t = texts(locale)
    lines = []
    for item in evidence or ():
        title = item.get("title", "")
        if item.get("max_chars"):
            title = t.ngettext("%(title)s (at most %(num)d character)",
                               "%(title)s (at most %(num)d characters)",
                               item["max_chars"], title=title)
        lines.append(title)
    return tuple(lines)


def _day(year: int, month_day: str) -> date | None:
    try:
        return date.fromisoformat(f"{year}-{month_day}")
    except ValueError:  # 02-29 in a common year
        return None


def export_ics(scope, filters: FeedFilters, options: ical.FeedOptions, name: str, today: date,
               cache: ical.ComponentCache | None = COMPONENTS, store: bool = True) -> bytes:
    """The .ics bytes of what ``scope`` and ``filters`` select, as seen on ``today``.

    Each task's component comes from ``cache`` (this process), else from the stored
    components (``feed_components``, shared by every process and kept across restarts)
    when its version still matches, else it is built, and then kept in both. Without a
    cache, or without ``store``, nothing is read from or written to the database but the
    tasks. Stored components are written in the caller's transaction: commit it.
    """
    data = feed_data(scope, filters, today, current_app.config["BASE_URL"], options.locale)
    info = ical.CalendarInfo(name=name, timezone=data.timezone or current_app.config["TIMEZONE"])
    if cache is None or not store:
        return ical.build_calendar(data.tasks, data.phases, info, today, options, cache)
    bodies = component_bodies(data.tasks, today, options, cache,
                              task_conditions(scope, filters, today))
    return ical.build_calendar(data.tasks, data.phases, info, today, options, bodies=bodies)


#: Up to this many components missing from the process's cache are looked up by task id;
#: more, and the stored components of the whole feed are read (one statement either way).
STORE_BY_ID = 500


def component_bodies(tasks: list[ical.TaskEntry], today: date, options: ical.FeedOptions,
                     cache: ical.ComponentCache, conditions: list) -> list[bytes]:
    """The serialised component of each task, in order: cached, stored, or built (and then
    stored). One SELECT when some are not cached, one INSERT when some are built."""
    bodies: list[bytes | None] = [None] * len(tasks)
    missing = []
    for i, entry in enumerate(tasks):
        overdue = ical.is_overdue(entry, today)
        body = cache.get(entry, overdue, options)
        if body is None:
            missing.append((i, entry, overdue))
        else:
            bodies[i] = body
    if not missing:
        return bodies
    variant = ical.options_variant(options)
    query = (sa.select(FeedComponent.task_id, FeedComponent.version, FeedComponent.body)
             .where(FeedComponent.variant == variant))
    if len(missing) <= STORE_BY_ID:
        query = query.where(FeedComponent.task_id.in_([entry.id for _, entry, _ in missing]))
    else:
        query = query.join(Task, Task.id == FeedComponent.task_id).where(*conditions)
    stored = {task_id: (version, body) for task_id, version, body in db.session.execute(query)}
    writes = []
    for i, entry, overdue in missing:
        version = ical.component_version(entry, overdue)
        row = stored.get(entry.id)
        if row is not None and row[0] == version:
            body = bytes(row[1])
        else:
            body = ical.task_body(entry, overdue, options)
            writes.append({"task_id": entry.id, "variant": variant, "version": version,
                           "body": body})
        cache.put(entry, overdue, options, body)
        bodies[i] = body
    if writes:
        _store_components(writes)
    return bodies


def _store_components(rows: list[dict]) -> None:
    # An upsert: another worker may be storing the same task's component just now.
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two databases tracker supports
        return
    statement = insert(FeedComponent.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["task_id", "variant"],
        set_={"version": statement.excluded.version, "body": statement.excluded.body})
    # In the order of the primary key, so that two workers' upserts cannot deadlock.
    rows.sort(key=lambda row: row["task_id"])
    try:
        db.session.execute(statement, rows)
    except sa.exc.SQLAlchemyError as exc:
        # Only a cache: the feed is built; the next one builds these again.
        db.session.rollback()
        current_app.logger.warning("calendar components not stored: %s", exc)


def calendar_version(scope, filters: FeedFilters, options: ical.FeedOptions, name: str,
                     today: date, key: tuple = ()) -> str:
    """A strong ETag for what ``export_ics`` would return, from aggregates only.

    It covers everything the bytes are made of: which tasks (their count and
    the sum of their ids), their last change (the newest updated_at; the count
    and newest of their history entries), the units' names, the plans' last
    change (phases, duties' evidence), the day (overdue marks), the options
    and the configuration. It relies on the rule every task service follows:
    a change to a task sets its updated_at (``tracker.tasks.services.record``)
    or writes a TaskEvent.
    """
    conditions = task_conditions(scope, filters, today)
    tasks = db.session.execute(
        sa.select(sa.func.count(Task.id), sa.func.sum(Task.id), sa.func.max(Task.updated_at))
        .where(*conditions)
    ).one()
    history = db.session.execute(
        sa.select(sa.func.count(TaskEvent.id), sa.func.max(TaskEvent.at))
        .join(Task, Task.id == TaskEvent.task_id).where(*conditions)
    ).one()
    units = db.session.execute(sa.select(Unit.id, Unit.name).order_by(Unit.id)).all()
    plans = db.session.execute(
        sa.select(Plan.id, Plan.updated_at, Plan.timezone).order_by(Plan.id)).all()
    config = current_app.config
    seed = (FORMAT_VERSION, key, filters, options, name, today.isoformat(), config["BASE_URL"],
            config["TIMEZONE"], tuple(tasks), tuple(history), [tuple(u) for u in units],
            [tuple(p) for p in plans])
    return hashlib.sha256(repr(seed).encode("utf-8")).hexdigest()[:40]


def page_version(where: list, start: date, end: date) -> tuple:
    """What a unit member's calendar page for [start, end] is made of, from aggregates in
    one statement: the tasks ``where`` selects due in the range (count, ids, last change)
    and their history (count, newest), the plans (phases, duties: their last change, and
    the years loaded) and the working-day overrides. Like ``calendar_version`` it relies on
    every change to a task setting its updated_at or writing a TaskEvent."""
    # One statement built from few parts: building it costs more than running it.
    return tuple(db.session.execute(
        sa.select(sa.func.count(sa.distinct(Task.id)), sa.func.sum(sa.distinct(Task.id)),
                  sa.func.max(Task.updated_at), sa.func.count(TaskEvent.id),
                  sa.func.max(TaskEvent.at), *_GLOBAL_STAMPS)
        .select_from(Task).outerjoin(TaskEvent, TaskEvent.task_id == Task.id)
        .where(*where, Task.due_date.between(start, end))
    ).one())


#: The plans (count, last change), the years loaded and the working-day overrides.
_GLOBAL_STAMPS = [sa.literal_column(f"({sql})") for sql in (
    "SELECT count(*) FROM plans", "SELECT max(updated_at) FROM plans",
    "SELECT count(*) FROM plan_years", "SELECT max(loaded_at) FROM plan_years",
    "SELECT count(*) FROM workday_overrides", "SELECT max(set_at) FROM workday_overrides")]


class VersionClock:
    """When this process first saw each feed as it now is: the feed's Last-Modified.

    Unit renames and a user's move to another unit carry no timestamp, so the
    Last-Modified of a calendar cannot be read from the data alone; a new
    version seen here is dated now, which is never earlier than the change.
    A restart or another worker process only dates things later (one extra
    full response), never earlier (a wrong 304).
    """

    def __init__(self, max_items: int = 20_000):
        self.max_items = max_items
        self._seen: dict[tuple, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def since(self, key: tuple, etag: str, now: datetime) -> datetime:
        """The instant ``etag`` became the version of feed ``key`` (whole seconds, UTC)."""
        seen = self._seen.get(key)
        if seen is not None and seen[0] == etag:
            return seen[1]
        stamp = now.astimezone(timezone.utc).replace(microsecond=0)
        if seen is not None and stamp <= seen[1]:
            # HTTP dates have whole seconds: a second version within the same
            # second must still be later than the first.
            stamp = seen[1] + timedelta(seconds=1)
        with self._lock:
            if key not in self._seen and len(self._seen) >= self.max_items:
                del self._seen[next(iter(self._seen))]
            self._seen[key] = (etag, stamp)
        return stamp


VERSIONS = VersionClock()
