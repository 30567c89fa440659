"""The Unit model."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.timeutil import utcnow
from tracker.core.types import UTCDateTime, enum_column
from tracker.extensions import db


class UnitKind(enum.StrEnum):
    """The seed's addressees, plus the coordinating office itself (the plan file's
    ``tracker.phases.planfile.UNIT_KINDS``)."""

    VILLAGE = "village"  # 村党（总）支部
    COMMUNITY = "community"  # 居民区党支部
    BRANCH = "branch"  # other party branches, e.g. 机关党支部
    OFFICE = "office"  # 机关科室
    ENTERPRISE = "enterprise"  # 镇属企事业单位
    COORDINATOR = "coordinator"  # 镇党委宣传部门: carries the coordinator's own duties


KIND_LABELS = {"village": _l("Village party branch"),
               "community": _l("Neighbourhood party branch"),
               "branch": _l("Other party branch"), "office": _l("Office"),
               "enterprise": _l("Enterprise or institution"), "coordinator": _l("Coordinator")}

#: The kinds scored on the rubric (a plan's ``applies_to = "units"``): all but the
#: coordinator.
ASSESSED_KINDS = tuple(kind for kind in UnitKind if kind != UnitKind.COORDINATOR)


class Unit(db.Model):
    """A unit that gets tasks from the plan."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self):
        return f"<Unit {self.name!r} {self.kind.value}>"
