"""The words of the group robots' messages, whatever the vendor: the heading, the summary,
each item's date and state, the labels of links, the test message. The vendors' formats
(tracker.reminders.vendors) put them together; nothing here knows markdown or JSON."""

import unicodedata
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class RobotItem:
    """One task in a robot message."""

    task_id: int
    title: str
    due: date


#: Longest unit name and task title shown, in characters; longer ones end with "…".
UNIT_CHARS, TITLE_CHARS = 60, 120

#: The link to one task, after its line.
VIEW = "查看"
#: The label of the link to the unit's open work in a test message.
VIEW_WORK = "查看待办"
#: What a test message says.
TEST_TEXT = "本群的工作提醒机器人已设置好：到期和逾期的工作将每天发到这里。"


def _plain(text: str, limit: int) -> str:
    """One line of text: no line breaks, control or format characters (bidi overrides,
    lone surrogates), at most ``limit`` characters."""
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs")
                   or c.isspace())
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _when(item: RobotItem, today: date) -> str:
    days = (item.due - today).days
    state = (f"已逾期 {-days} 天" if days < 0 else "今天到期" if days == 0
             else f"还有 {days} 天到期")
    return f"截止 {item.due.isoformat()}（本系统设定），{state}"


def _heading(unit: str) -> str:
    return "【工作提醒】" + _plain(unit, UNIT_CHARS)


def _summary(items: list[RobotItem], today: date) -> str:
    overdue = sum(1 for i in items if i.due < today)
    return (f"{len(items)} 项待办，其中 {overdue} 项已逾期" if overdue
            else f"{len(items)} 项待办即将到期")


def headline(unit: str, items: list[RobotItem], today: date) -> str:
    """The message in one line, as the outbox and the coordinator's lists show it."""
    return f"{_heading(unit)}：{_summary(items, today)}"


def _test_heading(unit: str) -> str:
    return "【测试消息】" + _plain(unit, UNIT_CHARS)


def _rest(rest: int) -> str:
    """The line before the link to the items a message had no room for."""
    return f"还有 {rest} 项，查看全部："


#: The label of the link to a feedback sheet.
SIGN_FOR = "查阅并签收"


def feedback_heading(unit: str, year: int) -> str:
    """The heading of the message that a unit's 问题反馈单 was issued."""
    return f"【问题反馈单】{unit} {year} 年度"


def feedback_lines(summary: str, tasks) -> list[str]:
    """Its lines: the summary, then each 整改 task with its deadline."""
    return [summary] + [f"整改：{t.title}（{t.due_date.isoformat()} 前完成）" for t in tasks]
