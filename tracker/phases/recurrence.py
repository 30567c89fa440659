"""Expanding a duty's "when" into due dates for one year. Pure functions."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

#: Due dates are dates: a rule finer than a day would only repeat the same date.
ALLOWED_FREQS = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY"}
_FREQ = re.compile(r"(?:^|;)FREQ=([A-Z]+)", re.IGNORECASE)
#: RFC 5545 value ranges that dateutil does not check (it silently yields nothing).
_RANGES = {"BYMONTH": (1, 12), "BYMONTHDAY": (1, 31), "BYYEARDAY": (1, 366),
           "BYWEEKNO": (1, 53), "BYSETPOS": (1, 366)}
_SIGNED = {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"}


class RecurrenceError(ValueError):
    """A due rule that cannot be expanded."""


def parse_month_day(text: str) -> tuple[int, int]:
    """Parse ``MM-DD`` into (month, day); Feb 29 is allowed."""
    try:
        month_s, day_s = text.split("-")
        if len(month_s) != 2 or len(day_s) != 2:
            raise ValueError
        month, day = int(month_s), int(day_s)
        date(2024, month, day)  # 2024 is a leap year: accepts 02-29
    except (ValueError, AttributeError):
        raise RecurrenceError(f"{text!r} is not a month and day written MM-DD") from None
    return month, day


def month_day_in(text: str, year: int) -> date:
    """The date ``MM-DD`` falls on in ``year``."""
    month, day = parse_month_day(text)
    try:
        return date(year, month, day)
    except ValueError:
        raise RecurrenceError(f"{text} does not exist in {year}") from None


def expand_rrule(rule: str, year: int, tz: str) -> list[date]:
    """Dates on which an RFC 5545 RRULE falls within ``year``, in the timezone ``tz``.

    The rule starts on 1 January of the year (a plan names no year), so COUNT
    and INTERVAL count from there.
    """
    if not isinstance(rule, str) or not rule.strip():
        raise RecurrenceError("the RRULE is empty")
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper() or "\n" in text:
        raise RecurrenceError("give the RRULE alone: the plan is year-agnostic, so no DTSTART")
    freq = _FREQ.search(text)
    if freq is None or freq.group(1).upper() not in ALLOWED_FREQS:
        raise RecurrenceError(
            f"invalid RRULE {rule!r}: FREQ must be YEARLY, MONTHLY, WEEKLY or DAILY"
        )
    _check_ranges(rule, text)
    zone = ZoneInfo(tz)
    start = datetime(year, 1, 1, tzinfo=zone)
    end = datetime(year, 12, 31, 23, 59, 59, tzinfo=zone)
    try:
        parsed = rrulestr(text, dtstart=start)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RecurrenceError(f"invalid RRULE {rule!r}: {exc}") from None
    try:
        instants = parsed.between(start, end, inc=True)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"invalid RRULE {rule!r}: {exc}") from None
    return sorted({instant.date() for instant in instants})


def _check_ranges(rule: str, text: str) -> None:
    for part in text.split(";"):
        key, _, value = part.partition("=")
        key = key.strip().upper()
        if key in ("BYHOUR", "BYMINUTE", "BYSECOND"):
            raise RecurrenceError(f"invalid RRULE {rule!r}: due dates are days, so no {key}")
        if key not in _RANGES:
            continue
        low, high = _RANGES[key]
        for item in value.split(","):
            try:
                number = int(item)
            except ValueError:
                raise RecurrenceError(f"invalid RRULE {rule!r}: {key} value {item!r}") from None
            magnitude = abs(number) if key in _SIGNED else number
            if not low <= magnitude <= high:
                raise RecurrenceError(
                    f"invalid RRULE {rule!r}: {key} value {number} is outside {low}..{high}"
                )


def expand_due(due: dict, year: int, tz: str) -> list[date]:
    """Due dates of a duty in ``year``: from ``{"rrule": ...}`` or ``{"dates": [...]}``."""
    if "rrule" in due:
        return expand_rrule(due["rrule"], year, tz)
    return sorted({month_day_in(text, year) for text in due["dates"]})


def phase_of(day: date, phases, year: int, phase_code: str | None = None):
    """The phase a due date is counted in, or None if it falls in none.

    ``phases`` are objects with ``code``, ``start`` and ``end`` (``MM-DD``). When
    phases overlap (the seed's April), the date goes to the one that ends first:
    that is the phase whose deadline the task belongs to. A duty may name its
    phase; then the date must lie in that phase.
    """
    candidates = [
        p for p in phases
        if (phase_code is None or p.code == phase_code)
        and month_day_in(p.start, year) <= day <= month_day_in(p.end, year)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda p: (p.end, p.start))


def phase_range(phase, year: int) -> tuple[date, date]:
    """First and last day of a phase in ``year`` (phases never use 02-29)."""
    return month_day_in(phase.start, year), month_day_in(phase.end, year)
