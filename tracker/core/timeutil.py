"""Time helpers: instants are stored in UTC, due dates as plain dates."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

#: The years tracker handles: plans load, pages and feeds answer only within these.
MIN_YEAR, MAX_YEAR = 2000, 2100


def utcnow() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def local_today(now: datetime, tz: str) -> date:
    """The calendar date that ``now`` falls on in the timezone ``tz``."""
    return now.astimezone(ZoneInfo(tz)).date()
