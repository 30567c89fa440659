"""Column types shared by the models."""

from datetime import timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """An instant: stored as naive UTC, read back as an aware UTC datetime.

    SQLite keeps no timezone, PostgreSQL's ``timestamp`` neither; storing naive
    UTC everywhere keeps both databases and comparisons alike.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant (UTC) is expected")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class HalfPoints(TypeDecorator):
    """Rubric points, whole or in halves (9.5): stored with one decimal, read back as an
    int when whole (so that 3 reads "3", not "3.0") and as a Decimal otherwise."""

    impl = sa.Numeric(8, 1)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return Decimal(str(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        return int(value) if value == value.to_integral_value() else value


def enum_column(enum_cls, length=20):
    """A portable VARCHAR column holding an enum's values (not its names)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def render_item(type_, obj, autogen_context):
    """Alembic autogenerate hook: write UTCDateTime as a plain ``sa.DateTime()``.

    Migrations then never import application code, which may change later.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if type_ == "type" and isinstance(obj, HalfPoints):
        return "sa.Numeric(precision=8, scale=1)"
    return False
