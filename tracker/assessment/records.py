"""The coordinator's records of the year-end cycle, per unit: 日常督导 visits and their
findings, 年中评估 / 群众评议 / 抽查 / 督导 figures, the 抽查 draws, the anonymous
questionnaire of 群众评议, and the 问题反馈单 issued to each unit."""

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.assessment.models import Points
from tracker.auth.models import User
from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db
from tracker.tasks.models import Task
from tracker.units.models import Unit


class InputKind(enum.StrEnum):
    """The coordinator's inputs to the 综合考评 beside the rubric."""

    MIDYEAR = "midyear"  # 年中评估
    PUBLIC = "public"  # 群众评议
    SPOT = "spot"  # 抽查
    SUPERVISION = "supervision"  # 日常督导


#: The Chinese name of each input, as the sheet, the 反馈单 and the pages say it.
INPUT_NAMES = {"midyear": "年中评估", "public": "群众评议", "spot": "抽查",
               "supervision": "日常督导"}


class AssessmentInput(db.Model):
    """One input's figure for one unit and year: a score or a grade, a note, its source."""

    __tablename__ = "assessment_inputs"
    __table_args__ = (sa.UniqueConstraint("unit_id", "year", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    year: Mapped[int]
    kind: Mapped[InputKind] = mapped_column(enum_column(InputKind))
    #: A score (e.g. 92.5) or, instead, a grade (e.g. 优秀, 满意率 95%).
    score: Mapped[Decimal | None] = mapped_column(Points)
    grade: Mapped[str] = mapped_column(sa.String(50), default="")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    #: Where the figure comes from: 录入, 导入：FILE, 本系统问卷（N 份）.
    source: Mapped[str] = mapped_column(sa.String(300), default="")
    #: A supporting file (the 问卷星 export, the evaluation form), kept with the record.
    file_name: Mapped[str] = mapped_column(sa.String(255), default="")
    file_data: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()

    @property
    def figure(self) -> str:
        """The score or grade as shown."""
        if self.score is not None:
            return f"{self.score.normalize():f}"
        return self.grade


class FindingKind(enum.StrEnum):
    SUPERVISION = "supervision"  # found on a 日常督导 visit
    SPOT = "spot"  # found by the 抽查


class SupervisionVisit(db.Model):
    """A 日常督导 visit: the day, the unit, who went."""

    __tablename__ = "supervision_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    year: Mapped[int]
    visited_on: Mapped[date]
    #: Who went (names as written).
    visitors: Mapped[str] = mapped_column(sa.String(300))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    findings: Mapped[list["Finding"]] = relationship(back_populates="visit",
                                                     order_by="Finding.id")


class Finding(db.Model):
    """A problem a 督导 visit or the 抽查 found at a unit; it may become a 整改 task."""

    __tablename__ = "findings"
    __table_args__ = (sa.Index("ix_findings_unit_id_year", "unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    year: Mapped[int]
    kind: Mapped[FindingKind] = mapped_column(enum_column(FindingKind))
    #: The visit it was found on (a 督导 finding).
    visit_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("supervision_visits.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(sa.Text)
    #: The rectification task (整改) made from it, if any.
    task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tasks.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    visit: Mapped[SupervisionVisit | None] = relationship(back_populates="findings")
    task: Mapped[Task | None] = relationship()


class SpotDraw(db.Model):
    """The 抽查 draw: N units drawn at random with a recorded seed, so that anyone can
    draw again from the same pool and get the same units."""

    __tablename__ = "spot_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    seed: Mapped[str] = mapped_column(sa.String(64))
    count: Mapped[int]
    #: The names of the units drawn from, in the order drawn from (by name).
    pool: Mapped[list] = mapped_column(sa.JSON)
    #: The names of the units drawn, in the order drawn.
    drawn: Mapped[list] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feedback(db.Model):
    """The 问题反馈单 issued to a unit for a year, and the unit's acknowledgement."""

    __tablename__ = "feedback_sheets"
    __table_args__ = (sa.UniqueConstraint("unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    year: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship()
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])


class Survey(db.Model):
    """A unit's anonymous 群众评议 questionnaire for a year: a secret link, no sign-in."""

    __tablename__ = "surveys"
    __table_args__ = (sa.UniqueConstraint("unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    year: Mapped[int]
    #: The link's secret (URL-safe random).
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Closed questionnaires take no more answers.
    closed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()


class SurveyAnswer(db.Model):
    """One anonymous answer: the choice, a keyed hash of the device (one answer each) and
    of the address (to throttle floods). Neither can be turned back into a person."""

    __tablename__ = "survey_answers"
    __table_args__ = (sa.UniqueConstraint("survey_id", "device_hash"),
                      sa.Index("ix_survey_answers_address_hash_at", "address_hash", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id", ondelete="CASCADE"))
    #: 满意, 基本满意 or 不满意 (SURVEY_CHOICES).
    choice: Mapped[str] = mapped_column(sa.String(20))
    device_hash: Mapped[str] = mapped_column(sa.String(64))
    address_hash: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
