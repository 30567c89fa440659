"""Loading a plan for a year: making each unit's tasks, and keeping them in step with the
plan when it changes or units are added. Flush, never commit: the caller (CLI command,
request, job) commits once.
"""

import enum
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from tracker.core.errors import TrackerError
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.phases.models import (Duty, DutyDate, Phase, Plan, PlanVersion, PlanYear,
                                   RubricNode, VersionState, duty_rubric)
from tracker.phases.planspec import PlanSpec
from tracker.phases.recurrence import RecurrenceError, expand_due, phase_of
from tracker.phases.services import check_year, install_plan
from tracker.tasks.models import FINISHED, PENDING, Task, TaskEvent, TaskEventKind, TaskStatus
from tracker.units.models import RowRuleMode, Unit, UnitRowRule
from tracker.workdays.services import check_working_day, work_calendar, year_confirmed


@dataclass
class SyncReport:
    """What a sync did, by count."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    restored: int = 0
    unchanged: int = 0
    #: Finished tasks (submitted, accepted) that the plan would have changed but
    #: that are kept as they were.
    kept_finished: int = 0
    #: Of the year's tasks, those due on a working day other than the plan's date (the
    #: plan's date is a day off).
    on_working_days: int = 0
    #: Occurrences due before the plan took effect (a plan started mid-year): not asked.
    before_effective: int = 0
    #: Of those, the units' tasks made as catch-up work (补报): one-off duties and the
    #: occurrences an "at least N a year" duty counts, due ``catch_up_days`` after the start.
    caught_up: int = 0
    #: Tasks the plan no longer asks for that are kept all the same: overdue, returned,
    #: or due before the day the plan took effect (the record is never erased).
    kept_record: int = 0
    #: With ``details``: what changes for each unit, as ``Change`` records.
    changes: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.restored + self.unchanged + self.kept_finished


@dataclass(frozen=True)
class Change:
    """One task a load makes, moves, renames or cancels (for the preview before publishing)."""

    unit_id: int
    duty_id: int
    seq: int
    #: ``new``, ``moved``, ``renamed``, ``cancelled``, ``restored`` or ``kept``.
    kind: str
    title: str
    due: date
    #: The due date before (a moved task), or the title before (a renamed one).
    before: str = ""
    statements: list[str] = field(default_factory=list)


def occurrence_titles(duty: Duty, seq: int, count: int) -> tuple[str, str]:
    """Chinese and English titles of a duty's ``seq``-th of ``count`` occurrences."""
    if count == 1:
        return duty.title, duty.title_en
    title_en = f"{duty.title_en} ({seq}/{count})" if duty.title_en else ""
    return f"{duty.title}（第{seq}次，共{count}次）", title_en


def planned_occurrences(plan: Plan, year: int) -> list[tuple[Duty, int, object, Phase, str, str]]:
    """Every active duty's occurrences in ``year``: (duty, seq, due, phase, title, title_en).

    A duty whose date is set each year (``due = { set_by = ... }``) has its one occurrence
    once the date is set (``DutyDate``), and none before; its phase is the one the date
    falls in, if any.
    """
    phases = [p for p in plan.phases if p.active]
    set_dates = dict(db.session.execute(
        sa.select(DutyDate.duty_id, DutyDate.due_date).join(Duty, Duty.id == DutyDate.duty_id)
        .where(Duty.plan_id == plan.id, DutyDate.year == year)).all())
    result = []
    for duty in plan.duties:
        if not duty.active:
            continue
        if duty.set_by:
            day = set_dates.get(duty.id)
            if day is not None:
                phase = (phase_of(day, phases, year, duty.phase_code)
                         or phase_of(day, phases, year))
                result.append((duty, 1, day, phase, duty.title, duty.title_en))
            continue
        try:
            days = expand_due(duty.due, year, plan.timezone)
        except RecurrenceError as exc:
            raise TrackerError(f"plan {plan.name}, duty {duty.code}: {exc}") from None
        for seq, day in enumerate(days, start=1):
            phase = phase_of(day, phases, year, duty.phase_code)
            if phase is None:
                raise TrackerError(
                    f"plan {plan.name}, duty {duty.code}: due date {day} lies in no phase"
                )
            result.append((duty, seq, day, phase, *occurrence_titles(duty, seq, len(days))))
    return result


def catch_up_titles(title: str, title_en: str) -> tuple[str, str]:
    """The titles of catch-up work (补报) after a plan started mid-year."""
    return f"{title}（补报）", (f"{title_en} (catch-up)" if title_en else "")


def duty_units(plan: Plan, year: int, units) -> dict[int, set[int]]:
    """Active duty id -> the ids of ``units`` (``(id, kind, party_org_id)``) it asks work
    of in ``year``: the kinds it applies to, with the coordinator's inclusions added, and
    taken away the units for which every row it serves is exempted, or is a party
    organisation's own row asked of the unit's party organisation. Two queries."""
    ids = [unit_id for unit_id, *_ in units]
    with_org = {unit_id for unit_id, _kind, org in units if org}
    by_kind: dict[str, set[int]] = {}
    for unit_id, kind, _org in units:
        by_kind.setdefault(str(kind), set()).add(unit_id)
    rules = {(r.unit_id, r.code): r.mode for r in db.session.scalars(
        sa.select(UnitRowRule).where(UnitRowRule.year == year, UnitRowRule.unit_id.in_(ids)))
    } if ids else {}
    rows: dict[int, set[str]] = {}
    party_rows: set[str] = set()
    if rules or with_org:
        for duty_id, code, party_org in db.session.execute(
                sa.select(duty_rubric.c.duty_id, RubricNode.code, RubricNode.party_org)
                .join(RubricNode, RubricNode.id == duty_rubric.c.node_id)
                .where(RubricNode.plan_id == plan.id)):
            rows.setdefault(duty_id, set()).add(code)
            if party_org:
                party_rows.add(code)
    result = {}
    for duty in plan.duties:
        if not duty.active:
            continue
        asked = set().union(*(by_kind.get(kind, set()) for kind in duty.applies_to))
        codes = rows.get(duty.id)
        if codes:
            asked |= {u for (u, code), mode in rules.items()
                      if code in codes and mode == RowRuleMode.INCLUDE}
            asked = {u for u in asked
                     if not all(rules.get((u, code)) == RowRuleMode.EXEMPT for code in codes)}
            if codes <= party_rows:
                asked -= with_org  # asked of their party organisation, once
        result[duty.id] = asked
    return result


def sync_tasks(plan: Plan, year: int, now: datetime, unit_ids: list[int] | None = None,
               details: bool = False) -> SyncReport:
    """Make the plan's tasks for ``year`` match the plan, for all units or the given ones.

    A task is identified by (duty, unit, year, occurrence number). Missing tasks are
    created; open and returned tasks follow a changed date, title or phase; finished ones
    are left alone. A plan started mid-year (``PlanYear.effective_from``) asks nothing
    overdue: its one-off duties and the occurrences an "at least N a year" duty counts
    become catch-up work (补报), due the plan's ``catch_up_days`` working days after the
    start; other occurrences before it are not asked.

    The record is never erased: a task the plan no longer asks for is cancelled only while
    it is open and not yet due (or the unit is no longer asked for the duty at all: its
    kind changed, the row was exempted, the unit was deactivated); overdue, returned and
    finished tasks stay, and so does every task due before the day the plan took effect.
    The work is a fixed number of bulk statements whatever the number of duties, so
    loading a town stays fast.
    """
    report = SyncReport()
    calendar = work_calendar()
    plan_year = db.session.get(PlanYear, (plan.id, year))
    start = plan_year.effective_from if plan_year is not None else None
    today = local_today(now, plan.timezone)
    catch_up = (calendar.add_working_days(start, plan.catch_up_days or 1)
                if start is not None else None)
    unit_query = sa.select(Unit.id, Unit.kind, Unit.party_org_id).where(Unit.active)
    if unit_ids is not None:
        unit_query = unit_query.where(Unit.id.in_(unit_ids))
    units = db.session.execute(unit_query).all()
    active_ids = {unit_id for unit_id, *_ in units}
    asked = duty_units(plan, year, units)

    occurrences = planned_occurrences(plan, year)
    per_duty = Counter(duty.id for duty, *_ in occurrences)
    wanted = {}
    for duty, seq, planned, phase, title, title_en in occurrences:
        # Due on a working day, by the duty's (or the plan's) rule; the phase is the plan
        # date's, as the plan document writes the phases.
        day = calendar.shift(planned, duty.non_working_day(plan.non_working_day))
        planned_date = planned if planned != day else None
        if start is not None and day < start:
            report.before_effective += 1
            if per_duty[duty.id] > 1 and not duty.occurrence:
                continue  # a recurring duty's past occurrence: not asked
            day, planned_date = catch_up, None
            title, title_en = catch_up_titles(title, title_en)
            report.caught_up += len(asked.get(duty.id, ()))
        for unit_id in asked.get(duty.id, ()):
            wanted[(duty.id, unit_id, seq)] = (day, planned_date, phase, title, title_en)

    report.on_working_days = sum(1 for _day, planned_date, *_ in wanted.values()
                                 if planned_date is not None)

    existing_query = (
        sa.select(Task.id, Task.duty_id, Task.unit_id, Task.seq, Task.due_date, Task.phase_id,
                  Task.title, Task.title_en, Task.status, Task.due_manual, Task.planned_date)
        .where(Task.plan_id == plan.id, Task.year == year, Task.duty_id.is_not(None))
    )
    if unit_ids is not None:
        existing_query = existing_query.where(Task.unit_id.in_(unit_ids))
    phases_by_id = {p.id: p for p in plan.phases}

    updates, events = [], []
    for row in db.session.execute(existing_query):
        want = wanted.pop((row.duty_id, row.unit_id, row.seq), None)
        if start is not None and row.due_date < start and row.status != TaskStatus.CANCELLED:
            # Due before the plan took effect: the record stays as it stands.
            report.kept_record += 1
            continue
        if want is None:
            gone = (row.unit_id not in active_ids
                    or (row.duty_id in asked and row.unit_id not in asked[row.duty_id]))
            if row.status == TaskStatus.OPEN and (gone or row.due_date >= today):
                updates.append({"id": row.id, "status": TaskStatus.CANCELLED, "updated_at": now})
                events.append(_event(row.id, now, TaskEventKind.CANCELLED,
                                     {"status": [row.status.value, "cancelled"]}))
                report.cancelled += 1
                if details:
                    report.changes.append(Change(row.unit_id, row.duty_id, row.seq,
                                                 "cancelled", row.title, row.due_date))
            elif row.status in PENDING:
                report.kept_record += 1
                if details:
                    report.changes.append(Change(row.unit_id, row.duty_id, row.seq,
                                                 "kept", row.title, row.due_date))
            continue
        day, planned, phase, title, title_en = want
        if row.due_manual:
            # The coordinator moved this one by hand: the plan does not move it back.
            day, phase = row.due_date, phases_by_id.get(row.phase_id)
        phase_id = phase.id if phase else None
        planned_date = planned
        changes = {}
        if row.due_date != day:
            changes["due_date"] = [row.due_date.isoformat(), day.isoformat()]
        if row.planned_date != planned_date and not row.due_manual:
            changes["planned_date"] = [_iso(row.planned_date), _iso(planned_date)]
        if row.phase_id != phase_id:
            changes["phase"] = [getattr(phases_by_id.get(row.phase_id), "code", None),
                                phase.code if phase else None]
        if row.title != title:
            changes["title"] = [row.title, title]
        if row.title_en != title_en:
            changes["title_en"] = [row.title_en, title_en]
        if row.status == TaskStatus.CANCELLED:
            changes["status"] = ["cancelled", "open"]
            kind = TaskEventKind.RESTORED
            report.restored += 1
        elif not changes:
            report.unchanged += 1
            continue
        elif row.status not in PENDING:
            report.kept_finished += 1
            continue
        elif set(changes) <= {"due_date", "planned_date"} and (
                (row.planned_date or row.due_date) == (planned or day)):
            # The plan's date is the same: a day made off or on moved the task.
            kind = TaskEventKind.WORKDAY_MOVED
            report.updated += 1
        else:
            kind = TaskEventKind.PLAN_UPDATED
            report.updated += 1
        if details:
            what = ("restored" if kind == TaskEventKind.RESTORED
                    else "moved" if "due_date" in changes else "renamed")
            report.changes.append(Change(
                row.unit_id, row.duty_id, row.seq, what, title, day,
                row.due_date.isoformat() if what == "moved" else
                row.title if what == "renamed" else ""))
        updates.append({
            "id": row.id, "due_date": day, "phase_id": phase_id, "title": title,
            "title_en": title_en, "updated_at": now,
            "planned_date": row.planned_date if row.due_manual else planned_date,
            "status": TaskStatus.OPEN if row.status == TaskStatus.CANCELLED else row.status,
        })
        events.append(_event(row.id, now, kind, changes))

    inserts = [
        {"plan_id": plan.id, "duty_id": duty_id, "unit_id": unit_id, "year": year, "seq": seq,
         "due_date": day, "planned_date": planned_date,
         "phase_id": phase.id if phase else None, "title": title, "title_en": title_en,
         "status": TaskStatus.OPEN, "created_at": now, "updated_at": now}
        for (duty_id, unit_id, seq), (day, planned_date, phase, title, title_en)
        in wanted.items()
    ]
    report.created = len(inserts)
    if details:
        report.changes += [Change(unit_id, duty_id, seq, "new", title, day)
                           for (duty_id, unit_id, seq), (day, _, _, title, _) in wanted.items()]
    if inserts:
        _insert_tasks(inserts)
    # Bulk UPDATE by primary key needs rows of one shape: split cancellations.
    cancels = [u for u in updates if len(u) == 3]
    changed = [u for u in updates if len(u) > 3]
    for batch in (cancels, changed):
        if batch:
            db.session.execute(sa.update(Task), batch)
    if events:
        db.session.execute(sa.insert(TaskEvent), events)
    return report


def _insert_tasks(rows: list[dict]) -> None:
    """New tasks in one statement: an executemany, or on PostgreSQL a COPY (psycopg runs
    an executemany as one INSERT a row; COPY takes a district's 100,000 tasks at once)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy_tasks(connection, rows)
        return
    # render_nulls: one INSERT for every row, where the ORM would otherwise group the
    # rows by which of their values are None (planned_date, phase_id, title_en).
    db.session.execute(sa.insert(Task).execution_options(render_nulls=True), rows)


def _copy_tasks(connection, rows: list[dict]) -> None:
    # COPY bypasses SQLAlchemy: every column but the id is written here, the columns'
    # own defaults for those the rows leave out, in the forms the column types store
    # (enums by value, instants as naive UTC, JSON as text).
    table = Task.__table__
    columns = [c for c in table.columns if c.name != "id"]
    defaults = {}
    for column in columns:
        default = column.default
        if default is not None and default.is_scalar:
            defaults[column.name] = default.arg
        elif default is not None and default.is_callable:
            defaults[column.name] = default.arg(None)

    def stored(column, value):
        if value is None:
            return None
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        if isinstance(column.type, sa.JSON):
            return json.dumps(value, ensure_ascii=False)
        return value

    names = ", ".join(f'"{c.name}"' for c in columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([stored(c, row[c.name] if c.name in row else defaults.get(c.name))
                            for c in columns])


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _event(task_id: int, now: datetime, kind: TaskEventKind, changes: dict) -> dict:
    return {"task_id": task_id, "at": now, "actor_id": None, "kind": kind, "changes": changes}


@dataclass
class LoadResult:
    plan: Plan
    year: int
    definitions_changed: bool
    tasks: SyncReport
    #: Whether the State Council's holidays of the year are known (else only weekends
    #: are days off until the coordinator adds them as overrides).
    holidays_known: bool = True
    #: Finished tasks of a replaced plan carried over to this one.
    carried_over: int = 0
    #: The day the plan takes effect in the year (None: the whole year).
    effective_from: date | None = None


def load_plan(spec: PlanSpec, year: int, now: datetime, effective_from: date | None = None,
              replace: bool = False, actor=None, version: PlanVersion | None = None,
              details: bool = False) -> LoadResult:
    """Make ``spec`` the plan of ``year``: install it and make (or update) every unit's
    tasks; recorded as the year's published version.

    A year holds one plan: another plan for a year that has one is refused, unless
    ``replace``, which cancels the old plan's open tasks and carries its finished work over
    where the duty code matches. ``effective_from`` (a day in the year) starts the plan
    mid-year: nothing due before it is asked of the units. ``version`` is the draft being
    published (else a version is recorded from the plan file's text).
    """
    check_year(year)
    if effective_from is not None and effective_from.year != year:
        raise TrackerError(_("The day the plan takes effect must lie in %(year)d.", year=year))
    others = [py for py in db.session.scalars(
        sa.select(PlanYear).where(PlanYear.year == year).options(selectinload(PlanYear.plan)))
        if py.plan.name != spec.name]
    if others and not replace:
        raise TrackerError(_(
            "%(year)d already has the plan %(name)s: a year holds one plan. To replace it, "
            "load with --replace (on the web: replace): its open tasks are cancelled and "
            "finished work carries over where the duty code matches.",
            year=year, name=others[0].plan.name))
    plan, changed = install_plan(spec, now)
    carried = sum(_replace(old, plan, year, now) for old in others)
    plan_year = db.session.get(PlanYear, (plan.id, year))
    if plan_year is None:
        plan_year = PlanYear(plan_id=plan.id, year=year, loaded_at=now)
        db.session.add(plan_year)
    if effective_from is not None:
        plan_year.effective_from = effective_from
    db.session.flush()
    record_version(spec, year, plan_year.effective_from, actor, now, version)
    report = sync_tasks(plan, year, now, details=details)
    return LoadResult(plan=plan, year=year, definitions_changed=changed, tasks=report,
                      holidays_known=year_confirmed(year), carried_over=carried,
                      effective_from=plan_year.effective_from)


def _replace(old: PlanYear, plan: Plan, year: int, now: datetime) -> int:
    """Retire ``old`` (another plan of the year) for ``plan``: its tasks move to ``plan``'s
    duty of the same code (the task itself, with its evidence and history), its ad-hoc
    tasks move too; of the rest, open work not yet due is cancelled and the record of
    overdue and returned work stays. How many finished tasks moved."""
    duties = {d.code: d.id for d in plan.duties if d.active}
    today = local_today(now, plan.timezone)
    carried, events = 0, []
    for task in db.session.scalars(sa.select(Task).where(Task.plan_id == old.plan_id,
                                                         Task.year == year)):
        if task.duty_id is None:
            task.plan_id = plan.id  # an ad-hoc task belongs to the year, not to a plan
        elif task.status != TaskStatus.CANCELLED and task.duty.code in duties:
            task.plan_id, task.duty_id = plan.id, duties[task.duty.code]
            events.append(_event(task.id, now, TaskEventKind.PLAN_UPDATED,
                                 {"plan": [old.plan.name, plan.name]}))
            carried += task.status in FINISHED
        elif task.status == TaskStatus.OPEN and task.due_date >= today:
            events.append(_event(task.id, now, TaskEventKind.CANCELLED,
                                 {"status": [task.status.value, "cancelled"],
                                  "plan": [old.plan.name, plan.name]}))
            task.status = TaskStatus.CANCELLED
        task.updated_at = now
    if events:
        db.session.execute(sa.insert(TaskEvent), events)
    db.session.delete(old)
    db.session.flush()
    return carried


def record_version(spec: PlanSpec, year: int, effective_from, actor, now: datetime,
                   version: PlanVersion | None = None) -> PlanVersion:
    """Make ``version`` (or a new version from the plan file's text, unless the year's
    published one is that text already) the year's published version; the one before is
    superseded."""
    published = db.session.scalar(sa.select(PlanVersion).where(
        PlanVersion.year == year, PlanVersion.state == VersionState.PUBLISHED))
    if version is None and published is not None and published.source == spec.source:
        published.effective_from = effective_from
        return published
    if published is not None and published is not version:
        published.state = VersionState.SUPERSEDED
        db.session.flush()  # one published version per year is a unique index
    if version is None:
        version = PlanVersion(year=year, number=next_version_number(year), source=spec.source,
                              created_at=now, created_by_id=getattr(actor, "id", None))
        db.session.add(version)
    version.name, version.title = spec.name, spec.title
    version.state, version.effective_from = VersionState.PUBLISHED, effective_from
    version.published_at, version.published_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    return version


def next_version_number(year: int) -> int:
    """The number the year's next version takes."""
    return (db.session.scalar(sa.select(sa.func.max(PlanVersion.number))
                              .where(PlanVersion.year == year)) or 0) + 1


def sync_loaded_years(now: datetime, unit_ids: list[int]) -> list[tuple[Plan, int, SyncReport]]:
    """Give units (e.g. just added) their tasks for every year a plan is loaded for."""
    results = []
    plan_years = db.session.scalars(
        sa.select(PlanYear).options(selectinload(PlanYear.plan)).order_by(PlanYear.year)
    ).all()
    for plan_year in plan_years:
        report = sync_tasks(plan_year.plan, plan_year.year, now, unit_ids=unit_ids)
        results.append((plan_year.plan, plan_year.year, report))
    return results



def set_duty_date(plan: Plan, duty_code: str, year: int, day: date | None, actor,
                  now: datetime) -> SyncReport:
    """Set (or, with ``day=None``, clear) the date of a duty whose date is set each year,
    e.g. the contingency plan for a party congress once the congress is called; the units'
    tasks follow at once (made, moved, or cancelled while still open)."""
    duty = next((d for d in plan.duties if d.code == duty_code and d.active), None)
    if duty is None:
        raise TrackerError(_("The plan %(plan)s has no duty %(duty)s.", plan=plan.name,
                             duty=duty_code))
    if not duty.set_by:
        raise TrackerError(_("The dates of %(duty)s come from the plan: move a task's date "
                             "on its page instead.", duty=duty.code))
    if day is not None:
        if day.year != year:
            raise TrackerError(_("The date must lie in %(year)d.", year=year))
        check_working_day(day)
        phases = [p for p in plan.phases if p.active]
        if duty.phase_code and phase_of(day, phases, year, duty.phase_code) is None:
            raise TrackerError(_("The date must lie in the phase %(phase)s.",
                                 phase=duty.phase_code))
    stored = db.session.get(DutyDate, (duty.id, year))
    if day is None:
        if stored is not None:
            db.session.delete(stored)
            _withdraw(duty, year, now)
    elif stored is None:
        db.session.add(DutyDate(duty_id=duty.id, year=year, due_date=day,
                                set_by_id=getattr(actor, "id", None), set_at=now))
    else:
        stored.due_date, stored.set_by_id, stored.set_at = day, getattr(actor, "id", None), now
    db.session.flush()
    return sync_tasks(plan, year, now)


def _withdraw(duty: Duty, year: int, now: datetime) -> None:
    """The coordinator took back a duty's date: its open tasks of ``year`` are cancelled,
    due or not (the date they were due by is no longer known); returned and finished work
    stays."""
    ids = db.session.scalars(sa.select(Task.id).where(
        Task.duty_id == duty.id, Task.year == year, Task.status == TaskStatus.OPEN)).all()
    if ids:
        db.session.execute(sa.update(Task).where(Task.id.in_(ids)).values(
            status=TaskStatus.CANCELLED, updated_at=now))
        db.session.execute(sa.insert(TaskEvent), [
            _event(task_id, now, TaskEventKind.CANCELLED, {"status": ["open", "cancelled"]})
            for task_id in ids])


def yearly_dates(year: int) -> list[tuple[Duty, date | None]]:
    """The duties of the plan loaded for ``year`` whose date is set each year, with the
    date set for it (None: to be set); one query."""
    rows = db.session.execute(
        sa.select(Duty, DutyDate.due_date)
        .join(PlanYear, sa.and_(PlanYear.plan_id == Duty.plan_id, PlanYear.year == year))
        .outerjoin(DutyDate, sa.and_(DutyDate.duty_id == Duty.id, DutyDate.year == year))
        .where(Duty.active).order_by(Duty.plan_id, Duty.position)).all()
    return [(duty, day) for duty, day in rows if duty.set_by]


def dates_to_set(year: int, kind: str | None = None) -> list[Duty]:
    """The duties whose date is set each year and not set yet for ``year`` (those that
    apply to units of ``kind``, when given): shown as "date to be set"."""
    return [duty for duty, day in yearly_dates(year)
            if day is None and (kind is None or str(kind) in duty.applies_to)]
