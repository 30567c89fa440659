"""Assessments, their rows (self-assessment) and deductions (the coordinator's score)."""

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User
from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db
from tracker.phases.models import Plan, RubricNode
from tracker.tasks.models import Task
from tracker.units.models import Unit

#: Scores and deductions: half points are common in practice, so one decimal.
Points = sa.Numeric(5, 1)


class DeductionSource(enum.StrEnum):
    """Why a deduction exists."""

    EVIDENCE = "evidence"  # suggested from missing evidence when the assessment began
    COORDINATOR = "coordinator"  # the coordinator's own finding


class Assessment(db.Model):
    """One unit's year-end assessment on one plan's rubric."""

    __tablename__ = "assessments"
    __table_args__ = (sa.UniqueConstraint("unit_id", "plan_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    year: Mapped[int]
    #: Set when the coordinator declares the score final; nothing changes after.
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the coordinator began it (the evidence deductions were made); None while it
    #: holds only the unit's self-assessment.
    begun_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()
    plan: Mapped[Plan] = relationship()
    locked_by: Mapped[User | None] = relationship()
    rows: Mapped[list["AssessmentRow"]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan")
    deductions: Mapped[list["Deduction"]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="Deduction.id")

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


class AssessmentRow(db.Model):
    """The unit's self-assessment (自查) of one rubric row, and its written statement."""

    __tablename__ = "assessment_rows"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "node_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("assessments.id",
                                                             ondelete="CASCADE"))
    node_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_nodes.id"))
    #: The score the unit gives itself; None until it does.
    self_score: Mapped[Decimal | None] = mapped_column(Points)
    #: The unit's explanation of its self-assessment.
    self_note: Mapped[str] = mapped_column(sa.Text, default="")
    #: The written statement (情况说明) a row such as 3-3-1 asks for, within its cap.
    statement: Mapped[str] = mapped_column(sa.Text, default="")

    assessment: Mapped[Assessment] = relationship(back_populates="rows")
    node: Mapped[RubricNode] = relationship()


class Deduction(db.Model):
    """Points taken off one rubric row, with the reason: the coordinator's score is
    the row's points less these, never a number typed over."""

    __tablename__ = "deductions"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("assessments.id",
                                                             ondelete="CASCADE"), index=True)
    node_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_nodes.id"))
    points: Mapped[Decimal] = mapped_column(Points)
    reason: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[DeductionSource] = mapped_column(enum_column(DeductionSource))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The rectification task (整改) made from this deduction, if any.
    rectification_task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tasks.id"))

    assessment: Mapped[Assessment] = relationship(back_populates="deductions")
    node: Mapped[RubricNode] = relationship()
    created_by: Mapped[User | None] = relationship()
    rectification_task: Mapped[Task | None] = relationship()


class MinimumWaiver(db.Model):
    """The coordinator's waiver of one minimum of a row's 工作要求 for one unit and year
    (a shortfall it will not count), with the reason; recorded, never silent."""

    __tablename__ = "minimum_waivers"
    __table_args__ = (sa.UniqueConstraint("unit_id", "plan_id", "year", "node_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"))
    year: Mapped[int]
    node_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_nodes.id", ondelete="CASCADE"))
    #: The minimum's label in the plan (``集中学习研讨``).
    label: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()
