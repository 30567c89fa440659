"""The words of the group robots' messages, whatever the vendor: the heading, the summary,
each item's date and state, the labels of links, the test message. The vendors' formats
(tracker.reminders.vendors) put them together; nothing here knows markdown or JSON."""

import unicodedata
from dataclasses import dataclass
from datetime import date

from tracker.core.i18n import DEFAULT_LOCALE, texts


@dataclass(frozen=True)
class RobotItem:
    """One task in a robot message."""

    task_id: int
    title: str
    due: date


#: Longest unit name and task title shown, in characters; longer ones end with "…".
UNIT_CHARS, TITLE_CHARS = 60, 120

def _t():
    """The texts of a message: a group reads the town's language."""
    return texts(DEFAULT_LOCALE)


def view() -> str:
    """The link to one task, after its line."""
    return _t().gettext("View")


def view_work() -> str:
    """The label of the link to the unit's open work in a test message."""
    return _t().gettext("See the work to do")


def test_text() -> str:
    """What a test message says."""
    return _t().gettext("This group’s work reminder robot is set up: work due soon or "
                        "overdue will be posted here every day.")


def labelled(label: str) -> str:
    """``label`` before what it introduces (``查看待办：``)."""
    return _t().gettext("%(label)s:", label=label)


def numbered(title: str, when: str) -> str:
    """An item's line: its title, and when it is due in brackets."""
    return _t().gettext("%(title)s (%(when)s)", title=title, when=when)


def _plain(text: str, limit: int) -> str:
    """One line of text: no line breaks, control or format characters (bidi overrides,
    lone surrogates), at most ``limit`` characters."""
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs")
                   or c.isspace())
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _when(item: RobotItem, today: date) -> str:
    days, t = (item.due - today).days, _t()
    state = (t.ngettext("%(num)s day overdue", "%(num)s days overdue", -days) if days < 0
             else t.gettext("due today") if days == 0
             else t.ngettext("due in %(num)s day", "due in %(num)s days", days))
    return t.gettext("due %(due)s, a date the system set; %(state)s",
                     due=item.due.isoformat(), state=state)


def _heading(unit: str) -> str:
    return _t().gettext("[Work reminder] %(unit)s", unit=_plain(unit, UNIT_CHARS))


def _summary(items: list[RobotItem], today: date) -> str:
    overdue = sum(1 for i in items if i.due < today)
    return (_t().ngettext("%(num)d item to do, %(overdue)d overdue",
                          "%(num)d items to do, %(overdue)d overdue", len(items),
                          overdue=overdue) if overdue
            else _t().ngettext("%(num)d item due soon", "%(num)d items due soon", len(items)))


def headline(unit: str, items: list[RobotItem], today: date) -> str:
    """The message in one line, as the outbox and the coordinator's lists show it."""
    return _t().gettext("%(heading)s: %(summary)s", heading=_heading(unit),
                        summary=_summary(items, today))


def test_heading(unit: str) -> str:
    """The heading of the test message, also its subject in the outbox."""
    return _t().gettext("[Test message] %(unit)s", unit=_plain(unit, UNIT_CHARS))


def _rest(rest: int) -> str:
    """The line before the link to the items a message had no room for."""
    return _t().ngettext("%(num)d more item, see all:", "%(num)d more items, see all:", rest)


def sign_for() -> str:
    """The label of the link to a feedback sheet."""
    return _t().gettext("Read and acknowledge")


def feedback_heading(unit: str, year: int) -> str:
    """The heading of the message that a unit's 问题反馈单 was issued."""
    return _t().gettext("[Feedback sheet] %(unit)s, %(year)d", unit=unit, year=year)


def feedback_lines(summary: str, tasks) -> list[str]:
    """Its lines: the summary, then each 整改 task with its deadline."""
    return [summary] + [_t().gettext("Rectification: %(title)s (due %(due)s)", title=t.title,
                                     due=t.due_date.isoformat()) for t in tasks]
