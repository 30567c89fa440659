"""A loaded plan: its phases, scoring rubric and duties."""

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core.i18n import DEFAULT_LOCALE, texts
from tracker.core.timeutil import utcnow
from tracker.core.types import HalfPoints, UTCDateTime, enum_column
from tracker.extensions import db

duty_rubric = sa.Table(
    "duty_rubric",
    db.metadata,
    sa.Column("duty_id", sa.ForeignKey("duties.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("node_id", sa.ForeignKey("rubric_nodes.id", ondelete="CASCADE"), primary_key=True),
)


class Plan(db.Model):
    """A work plan as loaded from its plan file; year-agnostic."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The name the plan file gives itself, e.g. ``shuyuan-2020``.
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str] = mapped_column(sa.String(300), default="")
    issuer: Mapped[str] = mapped_column(sa.String(300), default="")
    issuer_en: Mapped[str] = mapped_column(sa.String(300), default="")
    document_number: Mapped[str] = mapped_column(sa.String(100), default="")
    issued_on: Mapped[date | None]
    timezone: Mapped[str] = mapped_column(sa.String(64))
    rubric_title: Mapped[str] = mapped_column(sa.String(300), default="")
    rubric_title_en: Mapped[str] = mapped_column(sa.String(300), default="")
    #: Whole points, or in halves (as the rows' points).
    rubric_total: Mapped[int | Decimal] = mapped_column(HalfPoints, default=0)
    #: How a unit's total treats rows that do not apply to its kind: ``rescale`` (the score
    #: over the applicable points, scaled to the total) or ``full``.
    not_applicable: Mapped[str] = mapped_column(sa.String(16), default="rescale")
    #: What a due date on a day off does, unless the duty says: ``previous``, ``next`` or
    #: ``keep`` (tracker.workdays.calendar.RULES).
    non_working_day: Mapped[str] = mapped_column(sa.String(16), default="keep")
    #: Working days for catch-up work (补报) after a mid-year start: the plan's choice.
    catch_up_days: Mapped[int] = mapped_column(default=10, server_default="10")
    #: The groups units are ranked within (分类考核): ``[{title, title_en, kinds}]``.
    ranking: Mapped[list | None] = mapped_column(sa.JSON)
    #: How the coordinator's inputs (年中评估, 群众评议, …) enter the 综合考评: the plan
    #: file's ``[assessment]`` table (``{"combine": "beside"|"weighted", "inputs": [...]}``).
    assessment: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: SHA-256 of the plan file last loaded, to tell a changed plan from the same one.
    source_sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    phases: Mapped[list["Phase"]] = relationship(
        back_populates="plan", order_by="Phase.position", cascade="all, delete-orphan"
    )
    rubric_nodes: Mapped[list["RubricNode"]] = relationship(
        back_populates="plan", order_by="RubricNode.position", cascade="all, delete-orphan"
    )
    duties: Mapped[list["Duty"]] = relationship(
        back_populates="plan", order_by="Duty.position", cascade="all, delete-orphan"
    )
    years: Mapped[list["PlanYear"]] = relationship(
        back_populates="plan", order_by="PlanYear.year", cascade="all, delete-orphan"
    )

    def __repr__(self):
        return f"<Plan {self.name}>"


class PlanYear(db.Model):
    """A year for which a plan has been loaded into tasks."""

    __tablename__ = "plan_years"

    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The day the plan takes effect, where it was published during the year: nothing due
    #: before it is asked of the units. None: the whole year.
    effective_from: Mapped[date | None]

    plan: Mapped[Plan] = relationship(back_populates="years")


class VersionState(enum.StrEnum):
    """Where a plan version is in its life."""

    DRAFT = "draft"  # being written; loads nothing
    PUBLISHED = "published"  # the year's plan: its tasks are the units'
    SUPERSEDED = "superseded"  # a later version of the year replaced it


class PlanVersion(db.Model):
    """A year's plan, as its plan file: drafts are edited, one published version per year
    makes the year's tasks, and a published plan changes only by a new version."""

    __tablename__ = "plan_versions"
    __table_args__ = (
        sa.UniqueConstraint("year", "number"),
        # One published version per year.
        sa.Index("uq_plan_versions_year_published", "year", unique=True,
                 sqlite_where=sa.text("state = 'published'"),
                 postgresql_where=sa.text("state = 'published'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    #: 1, 2, … within the year.
    number: Mapped[int]
    state: Mapped[VersionState] = mapped_column(enum_column(VersionState),
                                                default=VersionState.DRAFT)
    #: The plan's name and title, as its file gives them (for lists).
    name: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    #: The plan file (TOML). A draft's may not load yet; a published one always did.
    source: Mapped[str] = mapped_column(sa.Text)
    #: The version it was made from (roll-over, a new version of a published plan).
    based_on_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("plan_versions.id", ondelete="SET NULL"))
    #: Where the plan was (or will be) published during its year: the day it takes effect.
    effective_from: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))

    based_on: Mapped["PlanVersion | None"] = relationship(remote_side=[id])


class Phase(db.Model):
    """A stage of the plan (总体安排), as a month-day range repeated every year."""

    __tablename__ = "phases"
    __table_args__ = (sa.UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: First day, as ``MM-DD``.
    start: Mapped[str] = mapped_column(sa.String(5))
    #: Last day (inclusive), as ``MM-DD``.
    end: Mapped[str] = mapped_column(sa.String(5))
    position: Mapped[int] = mapped_column(default=0)
    #: False once a reloaded plan no longer has this phase; kept for finished tasks.
    active: Mapped[bool] = mapped_column(default=True)

    plan: Mapped[Plan] = relationship(back_populates="phases")


class RubricNode(db.Model):
    """A node of the scoring rubric: group (一级项目), item (二级项目) or leaf row."""

    __tablename__ = "rubric_nodes"
    __table_args__ = (sa.UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rubric_nodes.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.Text)
    title_en: Mapped[str] = mapped_column(sa.Text, default="")
    #: Whole points, or in halves (9.5).
    points: Mapped[int | Decimal] = mapped_column(HalfPoints)
    #: 工作要求 of a leaf row; empty on groups and items.
    requirement: Mapped[str] = mapped_column(sa.Text, default="")
    #: 扣分标准 of a leaf row; empty on groups and items.
    deduction: Mapped[str] = mapped_column(sa.Text, default="")
    #: False where the source document prints no code for the row.
    numbered: Mapped[bool] = mapped_column(default=True)
    #: False where the document writes the code straight before the text ("2-3-3正确应对").
    code_space: Mapped[bool] = mapped_column(default=True)
    #: A leaf row: the unit kinds it applies to; others read 不适用 on their sheet.
    applies_to: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: A leaf row: codes of the duties whose accepted work answers its 扣分标准.
    evidence: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: ``all``: each of them must have accepted work; ``any``: one of them.
    evidence_match: Mapped[str] = mapped_column(sa.String(8), default="all")
    #: A leaf row: the minimums of its 工作要求, counted from accepted work
    #: (``[{duties, at_least, label, label_en, deduct, flag?}]``).
    requires: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: A leaf row that is a party organisation's own: asked once, of the organisation a
    #: unit names as its own (``Unit.party_org``).
    party_org: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    is_leaf: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    plan: Mapped[Plan] = relationship(back_populates="rubric_nodes")
    parent: Mapped["RubricNode | None"] = relationship(remote_side=[id])


class Duty(db.Model):
    """Something a unit (or the coordinator) must do, and when."""

    __tablename__ = "duties"
    __table_args__ = (sa.UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Unit kinds the duty applies to, e.g. ``["branch", "office", "enterprise"]``.
    applies_to: Mapped[list] = mapped_column(sa.JSON)
    #: ``{"rrule": "..."}``, ``{"dates": ["MM-DD", ...]}`` or ``{"set_by": "coordinator"}``
    #: (a date set each year, ``DutyDate``), with ``source`` (``plan``: the plan's own
    #: choice, or ``document``) and what the document says of when (``document``).
    due: Mapped[dict] = mapped_column(sa.JSON)
    #: Phase code the occurrences are counted in; None: the phase of each date.
    phase_code: Mapped[str | None] = mapped_column(sa.String(32))
    #: Evidence asked for: ``[{"kind", "title", "title_en", "max_chars"?}]``.
    evidence: Mapped[list] = mapped_column(sa.JSON)
    #: ``{"before": [days...], "overdue_every": days}``.
    reminders: Mapped[dict] = mapped_column(sa.JSON)
    #: "At least N a year": each occurrence is recorded when held and fills the next open
    #: slot (``{"attendance": bool, "flags": [{code, title, title_en}]}``); None otherwise.
    occurrence: Mapped[dict | None] = mapped_column(sa.JSON)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    plan: Mapped[Plan] = relationship(back_populates="duties")
    rubric_rows: Mapped[list[RubricNode]] = relationship(
        secondary=duty_rubric, order_by=RubricNode.position
    )

    @property
    def set_by(self) -> str | None:
        """Who sets this duty's date each year (its ``due`` names none), or None."""
        return self.due.get("set_by")

    def non_working_day(self, plan_rule: str) -> str:
        """What this duty's due date on a day off does: its own rule, or the plan's."""
        return self.due.get("non_working_day") or plan_rule or "keep"

    @property
    def date_from_plan(self) -> bool:
        """Whether the due dates are the plan's own choice, not the plan document's."""
        return self.due.get("source", "plan") == "plan"


def date_label(due: dict, locale: str = DEFAULT_LOCALE) -> str:
    """Where a duty's due dates come from (its ``due``), for the .ics DESCRIPTION; in
    Chinese, the town's words: "系统安排日期（本系统设定）。原文：…。本系统安排：…（本系统设定）。" """
    t = texts(locale)
    parts = [t.gettext("A date the system set (the system’s setting).")
             if due.get("source", "plan") == "plan"
             else t.gettext("The date the plan document gives.")]
    if due.get("document"):
        parts.append(t.gettext("The document says: %(text)s", text=due["document"]))
    if due.get("note"):
        parts.append(t.gettext("The system’s arrangement: %(note)s (the system’s setting).",
                               note=due["note"]))
    return t.sentences(parts)


class DutyDate(db.Model):
    """The date of a duty whose date is set each year (``due = { set_by = ... }``), e.g. the
    contingency plan for a party congress, once the congress is called."""

    __tablename__ = "duty_dates"

    duty_id: Mapped[int] = mapped_column(sa.ForeignKey("duties.id", ondelete="CASCADE"),
                                         primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    due_date: Mapped[date]
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    duty: Mapped[Duty] = relationship()
