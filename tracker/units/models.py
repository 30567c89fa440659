"""The Unit model."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db
# The kinds of unit are the plan's (tracker.phases.kinds); these names stay importable here.
from tracker.phases.kinds import ASSESSED_KINDS, KIND_LABELS, UnitKind  # noqa: F401


class Unit(db.Model):
    """A unit that gets tasks from the plan."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The party organisation the unit belongs to (an enterprise's own 党支部): the rubric
    #: rows that are a party organisation's are asked of it, once.
    party_org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("units.id", ondelete="SET NULL"))

    party_org: Mapped["Unit | None"] = relationship(remote_side=[id])

    def __repr__(self):
        return f"<Unit {self.name!r} {self.kind.value}>"


class RowRuleMode(enum.StrEnum):
    """How the coordinator sets a rubric row for one unit and year, against its kind."""

    EXEMPT = "exempt"  # the row does not apply to this unit (不适用), with the reason
    INCLUDE = "include"  # the row applies though its kind does not carry it


class UnitRowRule(db.Model):
    """The coordinator's word on one rubric row for one unit in one year: exempted (a
    village with no 宗教场所 for 2-8-2) or included (a culture institution for 2-7-1)."""

    __tablename__ = "unit_row_rules"
    __table_args__ = (sa.UniqueConstraint("unit_id", "year", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"),
                                         index=True)
    year: Mapped[int]
    #: The rubric row's code in the plan loaded for the year (e.g. ``2-8-2``).
    code: Mapped[str] = mapped_column(sa.String(64))
    mode: Mapped[RowRuleMode] = mapped_column(enum_column(RowRuleMode))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
