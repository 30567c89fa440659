"""The Unit model."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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

    def __repr__(self):
        return f"<Unit {self.name!r} {self.kind.value}>"
