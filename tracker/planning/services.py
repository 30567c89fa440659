"""Plan versions: drafts, preview, publishing, roll-over, export. Flush, never commit.

A draft is a plan file (TOML) kept in the database. It is edited as data (``draft_data``
and ``save_draft_data``) or as text, checked by the plan loader (``check_draft``: the
loader's own messages), previewed (what each unit's tasks become, computed by loading it
inside a savepoint that is rolled back), and published (loaded for its year). A published
version changes only by a new version, through the same preview.
"""

import difflib
import functools
import hashlib
import re
import sqlite3
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
import tomli_w
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from flask_babel import gettext as _

from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.extensions import db
from tracker.phases.models import Plan, PlanVersion, PlanYear, VersionState
from tracker.phases.planfile import PlanError, bundled_plans, counts, loads_toml, parse_plan
from tracker.phases.planspec import MAX_DUTIES, MAX_PHASES, MAX_PLAN_BYTES, MAX_ROWS, PlanSpec
from tracker.phases.rubricrules import MINIMUM_KINDS
from tracker.tasks.loading import (Change, LoadResult, SyncReport, load_plan,
                                   next_version_number)
from tracker.units.models import Unit



def get_version(version_id: int) -> PlanVersion:
    """The plan version, or a TrackerError."""
    version = db.session.get(PlanVersion, version_id)
    if version is None:
        raise TrackerError(_("There is no plan version %(id)d.", id=version_id))
    return version


def versions_by_year() -> dict[int, list[PlanVersion]]:
    """Every version, by year (newest year first), newest version first."""
    years: dict[int, list[PlanVersion]] = {}
    for version in db.session.scalars(sa.select(PlanVersion).order_by(
            PlanVersion.year.desc(), PlanVersion.number.desc())):
        years.setdefault(version.year, []).append(version)
    return years


def published(year: int) -> PlanVersion | None:
    """The year's published version."""
    return db.session.scalar(sa.select(PlanVersion).where(
        PlanVersion.year == year, PlanVersion.state == VersionState.PUBLISHED))


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise TrackerError(_("The year must lie between %(low)d and %(high)d.", low=MIN_YEAR,
                             high=MAX_YEAR))


def _too_large(source: str) -> TrackerError | None:
    """Why a plan file is larger than a plan may be (planspec.MAX_PLAN_BYTES), or None."""
    if len(source) > MAX_PLAN_BYTES or len(source.encode("utf-8")) > MAX_PLAN_BYTES:
        return TrackerError(_("The plan file is larger than %(kb)d KB.",
                              kb=MAX_PLAN_BYTES // 1000))
    return None


def _holds_too_much(data: dict) -> TrackerError | None:
    """Why a plan holds more than a plan may (duties, rubric rows, phases), or None."""
    held = counts(data)
    if held["duties"] > MAX_DUTIES:
        return TrackerError(_("A plan holds at most %(cap)d duties; this one has %(n)d.",
                              cap=MAX_DUTIES, n=held["duties"]))
    if held["rows"] > MAX_ROWS:
        return TrackerError(_("A plan holds at most %(cap)d rubric rows; this one has %(n)d.",
                              cap=MAX_ROWS, n=held["rows"]))
    if held["phases"] > MAX_PHASES:
        return TrackerError(_("A plan holds at most %(cap)d phases; this one has %(n)d.",
                              cap=MAX_PHASES, n=held["phases"]))
    return None


def _checked_meta(source: str) -> tuple[str, str]:
    """(name, title) of a plan file's [plan] table, as far as it can be read; TrackerError
    where the file is larger, or holds more, than a plan may (a draft may be incomplete
    or wrong, never unbounded: every editor page reads it whole)."""
    if error := _too_large(source):
        raise error
    try:
        data = loads_toml(source)
    except tomllib.TOMLDecodeError:
        return "", ""
    if error := _holds_too_much(data):
        raise error
    meta = data.get("plan", {})
    meta = meta if isinstance(meta, dict) else {}
    return str(meta.get("name", ""))[:100], str(meta.get("title", ""))[:300]


def create_draft(year: int, source: str, actor, now: datetime,
                 based_on: PlanVersion | None = None) -> PlanVersion:
    """A new draft of ``year``'s plan from a plan file's text."""
    _check_year(year)
    name, title = _checked_meta(source)
    draft = PlanVersion(year=year, number=next_version_number(year), state=VersionState.DRAFT,
                        name=name, title=title, source=source, based_on=based_on,
                        created_at=now, created_by_id=getattr(actor, "id", None))
    db.session.add(draft)
    db.session.flush()
    return draft


def draft_from_template(year: int, template: str, actor, now: datetime) -> PlanVersion:
    """A draft of ``year``'s plan from a bundled plan file (a template to start from)."""
    path = bundled_plans().get(template)
    if path is None:
        raise TrackerError(_("There is no bundled plan %(name)s.", name=template))
    return create_draft(year, path.read_text("utf-8"), actor, now)


def next_year_name(name: str, year: int) -> str:
    """The plan name for ``year``: a trailing year replaced (shuyuan-2026 → shuyuan-2027),
    else the year appended."""
    base = re.sub(r"-\d{4}$", "", name)
    return f"{base}-{year}"[:64]


def rollover(year: int, to_year: int, actor, now: datetime) -> PlanVersion:
    """Next year's draft from ``year``'s published plan: the same plan under a name of its
    own, so that each year keeps its own duties."""
    _check_year(to_year)
    source = published(year)
    if source is None:
        raise TrackerError(_("%(year)d has no published plan to roll over.", year=year))
    data = tomllib.loads(source.source)
    data["plan"]["name"] = next_year_name(data["plan"]["name"], to_year)
    return create_draft(to_year, dump(data), actor, now, based_on=source)


def new_version(version: PlanVersion, actor, now: datetime) -> PlanVersion:
    """A draft of a new version of a published plan (the published one changes no more)."""
    return create_draft(version.year, version.source, actor, now, based_on=version)


def dump(data: dict) -> str:
    """A plan's data as a plan file."""
    return tomli_w.dumps(data)


def revision(version: PlanVersion) -> str:
    """A short fingerprint of the version's plan file: a form made on another revision
    would overwrite changes its page never showed."""
    return revision_of(version.source)


def revision_of(source: str) -> str:
    """The revision of a plan file's text."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


class StaleDraft(TrackerError):
    """The draft changed since the page that acts on it was made (another window saved
    it): acting would overwrite, or publish, a change nobody saw there."""


def lock_version(version: PlanVersion) -> PlanVersion:
    """The version's row locked until the transaction ends (PostgreSQL; SQLite has one
    writer at a time) and read again: a save or publish that waited for another sees what
    that one committed."""
    return db.session.scalars(
        sa.select(PlanVersion).where(PlanVersion.id == version.id).with_for_update()
        .execution_options(populate_existing=True)).one()


def check_revision(draft: PlanVersion, named: str | None) -> None:
    """StaleDraft unless ``named`` is the draft's current revision."""
    if not named:
        raise StaleDraft(_("Preview the draft before publishing it: what is published is "
                           "what the preview showed."))
    if named != revision(draft):
        raise StaleDraft(_("The draft was changed after this preview (in another window?): "
                           "what changed is below, and what publishing it changes now. "
                           "Publish again from this page to publish it as it is."))


def plan_diff(before: str, after: str, context: int = 2,
              limit: int = 400) -> list[tuple[str, str]]:
    """The lines that differ between two plan files, with ``context`` lines around them:
    ``(kind, line)`` with kind ``" "``, ``"-"``, ``"+"`` or ``"@"`` (a gap); at most
    ``limit`` lines (then a last ``("…", "")``)."""
    lines = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=context,
                                     lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        kind = "@" if line.startswith("@@") else line[:1]
        lines.append((kind, "" if kind == "@" else line[1:]))
        if len(lines) >= limit:
            lines.append(("…", ""))
            break
    return lines


def draft_data(draft: PlanVersion) -> dict:
    """The draft as data (the plan file's tables); TrackerError if it is not TOML, or is
    larger or holds more than a plan may (one stored before plans were capped: the editor
    pages would read it whole, every one of them)."""
    if error := _too_large(draft.source):
        raise error
    try:
        data = loads_toml(draft.source)
    except tomllib.TOMLDecodeError as exc:
        raise TrackerError(_("The draft is not a valid plan file: %(error)s", error=str(exc))
                           ) from None
    if error := _holds_too_much(data):
        raise error
    return data


def ensure_draft(draft: PlanVersion) -> None:
    """TrackerError unless the version is a draft (a published plan changes only by a new
    version)."""
    if draft.state != VersionState.DRAFT:
        raise TrackerError(_("Version %(n)d is published: a published plan changes only by a "
                             "new version.", n=draft.number))


def save_draft_data(draft: PlanVersion, data: dict, now: datetime) -> None:
    """Store edited data as the draft's plan file (checked only when previewed or
    published: a draft may be incomplete while it is written)."""
    save_draft_source(draft, dump(data), now)


def save_draft_source(draft: PlanVersion, source: str, now: datetime,
                      made_on: str | None = None) -> None:
    """Store the draft's plan file as text; with ``made_on`` (the revision the text was
    edited from), StaleDraft where the draft has changed since."""
    if made_on is not None:
        lock_version(draft)
    ensure_draft(draft)
    if made_on is not None and made_on != revision(draft):
        raise StaleDraft(_("The draft was changed since this page was opened (in another "
                           "window?). Your text is below, not saved: check it against the "
                           "draft and save again to keep it."))
    name, title = _checked_meta(source)
    draft.source = source
    draft.name, draft.title = name, title
    db.session.flush()


def delete_draft(draft: PlanVersion) -> None:
    """Drop a draft (a published version is history and stays)."""
    ensure_draft(draft)
    db.session.delete(draft)
    db.session.flush()


def check_draft(draft: PlanVersion) -> PlanSpec:
    """The draft, validated as the loader validates a plan file; PlanError with the
    loader's message (the file, the entry, the problem) if it would not load."""
    return parse_plan(draft.source.encode("utf-8"), f"{draft.name or 'draft'} v{draft.number}")


def draft_errors(draft: PlanVersion) -> list[str]:
    """What keeps the draft from loading, as the loader says it (empty: it loads). Kept
    for the last few texts in this process: every editor page asks, and the answer changes
    only with the text (and the kinds of minimum the loader knows)."""
    return list(_loader_says(draft.source, f"{draft.name or 'draft'} v{draft.number}",
                             tuple(MINIMUM_KINDS)))


@functools.lru_cache(maxsize=16)
def _loader_says(source: str, label: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The loader's message on ``source``; ``kinds`` is only part of the cache's key."""
    try:
        parse_plan(source.encode("utf-8"), label)
    except PlanError as exc:
        return (str(exc),)
    return ()


def conflict(draft: PlanVersion) -> Plan | None:
    """Another plan the draft's year already has (publishing must replace it), or None."""
    return db.session.scalar(
        sa.select(Plan).join(PlanYear, PlanYear.plan_id == Plan.id)
        .where(PlanYear.year == draft.year, Plan.name != draft.name))


def default_effective_from(draft: PlanVersion, today: date) -> date | None:
    """The day a plan published today takes effect: today, when it lies inside the year
    (and not its first day); else the whole year."""
    return today if today.year == draft.year and today > date(today.year, 1, 1) else None


@dataclass
class UnitChanges:
    """What publishing changes for one unit (plain values: read after the rollback)."""

    unit_name: str
    unit_kind: str
    changes: list[Change]

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]


@dataclass
class Preview:
    #: The counts, as publishing would report them.
    report: SyncReport
    carried_over: int
    units: list[UnitChanges]


@contextmanager
def _rehearsal():
    """``db.session`` as a place to load a plan and throw the load away.

    On SQLite, a private in-memory copy of the database (SQLite's online backup, a read
    that waits for no writer): loading writes, and SQLite has one writer for the whole
    file, so a load rehearsed in the database itself would hold every other writer (every
    sign-in among them) for as long as it runs. Elsewhere, a savepoint of the request's
    own transaction, rolled back: PostgreSQL locks only the rows written."""
    if db.engine.dialect.name != "sqlite":
        savepoint = db.session.begin_nested()
        try:
            yield
        finally:
            savepoint.rollback()
        return
    copy = sqlite3.connect(":memory:", check_same_thread=False)
    scratch = sa.create_engine("sqlite://", creator=lambda: copy, poolclass=StaticPool)
    try:
        with db.engine.connect() as connection:
            connection.connection.driver_connection.backup(copy)
        registry = db.session.registry
        own = registry()
        registry.set(Session(scratch))
        try:
            yield
        finally:
            registry().close()
            registry.set(own)
    finally:
        scratch.dispose()
        copy.close()


def preview(draft: PlanVersion, now: datetime, effective_from: date | None = None,
            replace: bool = False) -> Preview:
    """What publishing the draft would change for each unit (new, moved, renamed, cancelled
    tasks), computed by publishing it where the load is then thrown away (``_rehearsal``):
    the same code as publishing, and nothing written."""
    spec = check_draft(draft)
    with _rehearsal():
        result = load_plan(spec, draft.year, now, effective_from=effective_from,
                           replace=replace, details=True)
        units = dict((uid, (name, str(kind))) for uid, name, kind in db.session.execute(
            sa.select(Unit.id, Unit.name, Unit.kind)))
        by_unit: dict[int, list[Change]] = {}
        for change in result.tasks.changes:
            by_unit.setdefault(change.unit_id, []).append(change)
        grouped = [UnitChanges(units[uid][0], units[uid][1],
                               sorted(changes, key=lambda c: (c.due, c.title)))
                   for uid, changes in sorted(by_unit.items(),
                                              key=lambda kv: (units[kv[0]][1], units[kv[0]][0]))]
        report, carried = result.tasks, result.carried_over
    return Preview(report=report, carried_over=carried, units=grouped)


def publish(draft: PlanVersion, actor, now: datetime, effective_from: date | None = None,
            replace: bool = False, *, previewed: str) -> LoadResult:
    """Load the draft for its year: its tasks become the units', and it the year's
    published version (the one before superseded). ``previewed`` is the revision the
    preview showed (StaleDraft if the draft has changed since). The draft's row is
    locked first, so that a second publish of it at the same moment waits and is then
    refused as published."""
    lock_version(draft)
    ensure_draft(draft)
    check_revision(draft, previewed)
    spec = check_draft(draft)
    return load_plan(spec, draft.year, now, effective_from=effective_from, replace=replace,
                     actor=actor, version=draft)


def export_source(name: str, year: int) -> str:
    """The plan file of ``name`` as loaded for ``year``."""
    version = published(year)
    if version is None or version.name != name:
        plan_year = db.session.scalar(sa.select(PlanYear).join(Plan).where(
            Plan.name == name, PlanYear.year == year))
        if plan_year is None:
            raise TrackerError(_("The plan %(name)s is not loaded for %(year)d.", name=name,
                                 year=year))
        raise TrackerError(_("The plan %(name)s was loaded for %(year)d before plans were kept "
                             "as versions: load its file again to keep it.", name=name,
                             year=year))
    return version.source
