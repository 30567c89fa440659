"""Column types shared by the models."""

from datetime import timezone

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
    return False
