"""A duty's "when", as the editor's schedule form has it: the common cases as choices,
written into the plan file's ``due`` (an RRULE, dates, or a date the coordinator sets), and
recognised back from it. Pure: no app, no database.

The form writes one RRULE for each choice, and recognises exactly the RRULEs it writes
(so that editing a duty shows its form again); any other RRULE is kept as written.
"""

import calendar
from dataclasses import dataclass, replace
from datetime import date

from tracker.phases.recurrence import RecurrenceError, expand_rrule

#: The choices of the form, in the order it shows them.
KINDS = ("dates", "monthly", "quarterly", "times", "set_by", "rrule")
#: "N times a year, spread evenly": N months that divide the year.
TIMES_A_YEAR = (1, 2, 3, 4, 6, 12)
#: The day of the month written as BYMONTHDAY=-1.
LAST = -1
#: A common year: a date given as MM-DD must exist in every year.
_COMMON_YEAR = 2025


class ScheduleError(ValueError):
    """A choice that cannot be written: ``field`` names the form field to blame, ``code``
    the problem (the forms word it, in the reader's language), ``params`` its values."""

    def __init__(self, field: str, code: str, **params):
        super().__init__(f"{field}: {code} {params}" if params else f"{field}: {code}")
        self.field, self.code, self.params = field, code, params


@dataclass(frozen=True)
class Schedule:
    """The schedule form's choice. Only the fields of its ``kind`` matter."""

    kind: str = "dates"
    #: ``dates``: MM-DD, as given.
    dates: tuple[str, ...] = ()
    #: ``monthly``: every ``every`` months from month ``start`` to month ``end``.
    every: int = 1
    start: int = 1
    end: int = 12
    #: ``monthly`` and ``quarterly``: the day of the month, or LAST.
    day: int = LAST
    #: ``quarterly``: which month of each quarter (1, 2 or 3).
    quarter_month: int = 3
    #: ``times``: how many times a year.
    times: int = 4
    #: ``rrule``: the RRULE as written.
    rrule: str = ""

    def months(self) -> list[int]:
        """The months a ``monthly``, ``quarterly`` or ``times`` choice falls in."""
        if self.kind == "monthly":
            return list(range(self.start, self.end + 1, self.every))
        if self.kind == "quarterly":
            return [self.quarter_month + 3 * q for q in range(4)]
        if self.kind == "times":
            step = 12 // self.times
            return list(range(step, 13, step))
        return []

    def normalized(self) -> "Schedule":
        """The same choice with the defaults of other kinds and an end month that is
        reached (every 2 months from January to December ends in November)."""
        base = Schedule(kind=self.kind)
        if self.kind == "dates":
            return replace(base, dates=tuple(sorted(set(self.dates))))
        if self.kind == "monthly":
            months = self.months()
            return replace(base, every=self.every, start=self.start,
                           end=months[-1] if months else self.end, day=self.day)
        if self.kind == "quarterly":
            return replace(base, quarter_month=self.quarter_month, day=self.day)
        if self.kind == "times":
            return replace(base, times=self.times)
        if self.kind == "rrule":
            return replace(base, rrule=self.rrule.strip())
        return base


def parse_dates(text: str) -> tuple[str, ...]:
    """MM-DD dates separated by commas, spaces or Chinese commas; ScheduleError naming the
    first that is not a day of every year."""
    items = [t for t in text.replace("，", ",").replace("、", ",").replace(",", " ").split()]
    for item in items:
        check_month_day(item, "dates")
    return tuple(items)


def check_month_day(text: str, field: str) -> str:
    """``text`` if it is MM-DD of a day every year has; else ScheduleError for ``field``."""
    try:
        month, day = text.split("-")
        if len(month) != 2 or len(day) != 2 or not (month + day).isascii() \
                or not (month + day).isdigit():
            raise ValueError
        date(_COMMON_YEAR, int(month), int(day))
    except ValueError:
        if text == "02-29":
            raise ScheduleError(field, "not_every_year", value=text) from None
        raise ScheduleError(field, "not_month_day", value=text) from None
    return text


def _check_day(day: int, months: list[int], field: str) -> None:
    if day == LAST:
        return
    if not 1 <= day <= 31:
        raise ScheduleError(field, "day_range")
    for month in months:
        if day > calendar.monthrange(_COMMON_YEAR, month)[1]:
            raise ScheduleError(field, "no_such_day", month=month, day=day)


def _rule(freq: str, months: list[int], day: int) -> str:
    by_month = "" if months == list(range(1, 13)) else \
        f"BYMONTH={','.join(str(m) for m in months)};"
    return f"FREQ={freq};{by_month}BYMONTHDAY={day}"


def write(schedule: Schedule) -> dict:
    """The ``due`` keys that say when (``rrule``, ``dates`` or ``set_by``) for a choice;
    ScheduleError where the choice cannot be written."""
    kind = schedule.kind
    if kind == "dates":
        if not schedule.dates:
            raise ScheduleError("dates", "no_dates")
        for text in schedule.dates:
            check_month_day(text, "dates")
        return {"dates": sorted(set(schedule.dates))}
    if kind == "monthly":
        if not 1 <= schedule.every <= 12:
            raise ScheduleError("every", "every_range")
        if not (1 <= schedule.start <= 12 and 1 <= schedule.end <= 12):
            raise ScheduleError("start", "month_range")
        if schedule.end < schedule.start:
            raise ScheduleError("end", "end_before_start")
        months = schedule.months()
        _check_day(schedule.day, months, "monthly_day")
        return {"rrule": _rule("MONTHLY", months, schedule.day)}
    if kind == "quarterly":
        if schedule.quarter_month not in (1, 2, 3):
            raise ScheduleError("quarter_month", "quarter_month")
        months = schedule.months()
        _check_day(schedule.day, months, "quarter_day")
        return {"rrule": _rule("YEARLY", months, schedule.day)}
    if kind == "times":
        if schedule.times not in TIMES_A_YEAR:
            raise ScheduleError("times", "times")
        return {"rrule": _rule("MONTHLY", schedule.months(), LAST)}
    if kind == "set_by":
        return {"set_by": "coordinator"}
    if kind == "rrule":
        text = schedule.rrule.strip()
        if not text:
            raise ScheduleError("rrule", "no_rrule")
        try:
            expand_rrule(text, _COMMON_YEAR, "UTC")
        except RecurrenceError as exc:
            raise ScheduleError("rrule", "invalid_rrule", error=str(exc)) from None
        return {"rrule": text}
    raise ScheduleError("kind", "kind")


def _progression(months: list[int]) -> int | None:
    """The step of an increasing arithmetic progression of months (1 for one month)."""
    if len(months) == 1:
        return 1
    step = months[1] - months[0]
    if step < 1 or any(b - a != step for a, b in zip(months, months[1:])):
        return None
    return step


def _parts(rule: str) -> dict[str, str] | None:
    parts = {}
    for part in rule.split(";"):
        key, sep, value = part.partition("=")
        if not sep or key in parts:
            return None
        parts[key] = value
    return parts


def _from_rrule(rule: str) -> Schedule | None:
    parts = _parts(rule)
    if parts is None or set(parts) - {"FREQ", "BYMONTH", "BYMONTHDAY"} \
            or "BYMONTHDAY" not in parts:
        return None
    try:
        months = [int(m) for m in parts["BYMONTH"].split(",")] if "BYMONTH" in parts \
            else list(range(1, 13))
        day = int(parts["BYMONTHDAY"])
    except ValueError:
        return None
    step = _progression(months)
    if step is None or not 1 <= months[0] <= months[-1] <= 12:
        return None
    if parts["FREQ"] == "YEARLY" and len(months) == 4 and step == 3 and months[0] <= 3:
        return Schedule(kind="quarterly", quarter_month=months[0], day=day)
    if parts["FREQ"] != "MONTHLY":
        return None
    if day == LAST and 12 % len(months) == 0 and months == list(
            range(12 // len(months), 13, 12 // len(months))):
        return Schedule(kind="times", times=len(months))
    return Schedule(kind="monthly", every=step, start=months[0], end=months[-1], day=day)


def recognise(due) -> Schedule:
    """The schedule form's choice for a duty's ``due``: the choice whose RRULE (or dates,
    or setter) it is; ``rrule`` (kept as written) for any other RRULE."""
    if not isinstance(due, dict):
        return Schedule()
    if "set_by" in due:
        return Schedule(kind="set_by")
    if "dates" in due:
        dates = due["dates"]
        return Schedule(kind="dates", dates=tuple(str(d) for d in dates)
                        if isinstance(dates, list) else ())
    rule = due.get("rrule")
    if not isinstance(rule, str):
        return Schedule()
    candidate = _from_rrule(rule)
    try:
        if candidate is not None and write(candidate) == {"rrule": rule}:
            return candidate
    except ScheduleError:
        pass
    return Schedule(kind="rrule", rrule=rule)


def rrule_of(due) -> str:
    """The RRULE of a ``due``, or empty."""
    rule = due.get("rrule") if isinstance(due, dict) else None
    return rule if isinstance(rule, str) else ""
