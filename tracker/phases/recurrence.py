"""Expanding a duty's "when" into due dates for one year. Pure functions."""

import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

#: Due dates are dates: a rule finer than a day would only repeat the same date.
ALLOWED_FREQS = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY"}
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


#: Due dates a duty may have in one year: one a day at most.
MAX_PER_YEAR = 366
#: The RRULE parts a plan may use (RFC 5545 3.3.10, less the finer-than-a-day ones), each
#: at most once; BYEASTER (a dateutil extension) and X- names are refused.
_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYYEARDAY",
          "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}
_WEEKDAYS = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
_BYDAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^\d{8}T\d{6}Z$")


def expand_rrule(rule: str, year: int, tz: str, limit: int = MAX_PER_YEAR) -> list[date]:
    """Dates on which an RFC 5545 RRULE falls within ``year``, in the timezone ``tz``.

    The rule starts on 1 January of the year (a plan names no year), so COUNT
    and INTERVAL count from there. Every part is checked before dateutil sees the
    rule, and the expansion stops at the end of the year whatever the rule says, so
    no rule runs away; more than ``limit`` dates is an error.
    """
    if not isinstance(rule, str) or not rule.strip():
        raise RecurrenceError("the RRULE is empty")
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper() or "\n" in text:
        raise RecurrenceError("give the RRULE alone: the plan is year-agnostic, so no DTSTART")
    parts = _parts(rule, text)
    # dateutil looks at UNTIL only when a date matches: a rule that matches nothing after
    # some day (BYMONTH=2;BYMONTHDAY=30) walks on to the year 9999, day by day. The
    # Gregorian calendar repeats every 400 years (weekdays, leap years, week numbers), so
    # the year is expanded as its twin in the last four centuries dateutil knows.
    shift = 400 * max(0, (9998 - year) // 400)
    zone = ZoneInfo(tz)
    start = datetime(year + shift, 1, 1, tzinfo=zone)
    end = datetime(year + shift, 12, 31, 23, 59, 59, tzinfo=zone)
    count = int(parts.pop("COUNT")) if "COUNT" in parts else None
    until = end
    if "UNTIL" in parts:
        try:
            given = datetime.strptime(parts.pop("UNTIL"), "%Y%m%dT%H%M%SZ").replace(
                tzinfo=timezone.utc)
        except ValueError:
            raise RecurrenceError(f"invalid RRULE {rule!r}: UNTIL is not a date and time "
                                  f"written YYYYMMDDTHHMMSSZ") from None
        if given.year + shift <= 9998:
            until = min(until, given.replace(year=given.year + shift))
    # COUNT and UNTIL are applied here: the rule dateutil expands always ends with the year.
    bounded = ";".join(f"{key}={value}" for key, value in parts.items())
    try:
        parsed = rrulestr(bounded, dtstart=start).replace(until=until)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RecurrenceError(f"invalid RRULE {rule!r}: {exc}") from None
    days: list[date] = []
    try:
        for instant in parsed:
            if count is not None and len(days) >= count:
                break
            day = instant.date()
            day = day.replace(year=day.year - shift)
            if day not in days[-1:]:
                days.append(day)
            if len(days) > limit:
                raise RecurrenceError(f"the RRULE {rule!r} gives more than {limit} due dates "
                                      f"in {year}")
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"invalid RRULE {rule!r}: {exc}") from None
    return sorted(set(days))


def _parts(rule: str, text: str) -> dict[str, str]:
    """The rule's parts by name, each checked: known, once, its values in range."""
    parts: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():  # "FREQ=DAILY;" reads as it is meant
            continue
        key, equals, value = part.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if key in ("BYHOUR", "BYMINUTE", "BYSECOND"):
            raise RecurrenceError(f"invalid RRULE {rule!r}: due dates are days, so no {key}")
        if key not in _PARTS:
            raise RecurrenceError(f"invalid RRULE {rule!r}: {key or part!r} is not a part a "
                                  f"plan may use ({', '.join(sorted(_PARTS))})")
        if not equals or not value:
            raise RecurrenceError(f"invalid RRULE {rule!r}: {key} has no value")
        if key in parts:
            raise RecurrenceError(f"invalid RRULE {rule!r}: {key} is given twice")
        parts[key] = value
    if parts.get("FREQ") not in ALLOWED_FREQS:
        raise RecurrenceError(
            f"invalid RRULE {rule!r}: FREQ must be YEARLY, MONTHLY, WEEKLY or DAILY"
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError(f"invalid RRULE {rule!r}: COUNT and UNTIL exclude each other")
    for key, low, high in (("INTERVAL", 1, MAX_PER_YEAR), ("COUNT", 1, MAX_PER_YEAR)):
        if key in parts and not (parts[key].isdigit() and low <= int(parts[key]) <= high):
            raise RecurrenceError(f"invalid RRULE {rule!r}: {key} must be a whole number "
                                  f"from {low} to {high}")
    if "UNTIL" in parts and not _UNTIL.match(parts["UNTIL"]):
        raise RecurrenceError(f"invalid RRULE {rule!r}: UNTIL is not a date and time "
                              f"written YYYYMMDDTHHMMSSZ (UTC)")
    if "WKST" in parts and parts["WKST"] not in _WEEKDAYS:
        raise RecurrenceError(f"invalid RRULE {rule!r}: WKST must be one of MO..SU")
    for key, value in parts.items():
        if key.startswith("BY") and len(value.split(",")) > MAX_PER_YEAR:
            raise RecurrenceError(f"invalid RRULE {rule!r}: {key} lists too many values")
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else ():
        match = _BYDAY.match(item)
        if match is None or (match.group(2) and not 1 <= int(match.group(2)) <= 53):
            raise RecurrenceError(f"invalid RRULE {rule!r}: BYDAY value {item!r}")
    _check_ranges(rule, text)
    return parts


def _check_ranges(rule: str, text: str) -> None:
    for part in text.split(";"):
        key, _, value = part.partition("=")
        key = key.strip().upper()
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
