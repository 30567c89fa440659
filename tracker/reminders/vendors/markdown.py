"""The markdown messages WeCom and DingTalk take: a bold heading, one line per item, links.

Markdown and HTML a title could hold are traded for full-width look-alikes, so that a
title reads the same but cannot open a link, a tag, a heading or an @mention.
"""

from datetime import date

from tracker.reminders.robot_text import (TITLE_CHARS, RobotItem, _plain, _rest, _when, labelled,
                                          numbered, view)
from tracker.reminders.vendors.table import link

#: The most a markdown content may hold, in UTF-8 bytes. WeCom documents 4096; DingTalk
#: documents none for its robot, and gets the same.
CONTENT_LIMIT = 4096

#: (Backslash escapes are not used: neither vendor documents them.)
_NEUTRAL = str.maketrans({"\\": "＼", "`": "｀", "*": "＊", "_": "＿", "[": "［", "]": "］",
                          "(": "（", ")": "）", "<": "＜", ">": "＞", "#": "＃", "!": "！",
                          "|": "｜", "~": "～", "@": "＠", "&": "＆"})


def _markdown(text: str, limit: int) -> str:
    return _plain(text, limit).translate(_NEUTRAL)


def daily_text(br: str, heading: str, summary: str, items: list[RobotItem], rest: int,
               today: date, base: str, more_url: str) -> str:
    """The day's message as markdown, its lines joined by ``br``."""
    lines = [f"**{heading.translate(_NEUTRAL)}**", labelled(summary)]
    for n, item in enumerate(items, 1):
        when = _when(item, today)
        if item.due < today:
            when = f"**{when}**"
        lines.append(f"{n}. {numbered(_markdown(item.title, TITLE_CHARS), when)}"
                     f"[{view()}]({link(f'{base}/tasks/{item.task_id}')})")
    if rest:
        lines.append(f"{_rest(rest)}[{link(more_url)}]({link(more_url)})")
    return br.join(lines)


def notice_text(br: str, heading: str, lines: list[str], url: str, label: str) -> str:
    """A one-off notice as markdown: the (cleaned) heading in bold, the lines, the link."""
    return br.join([f"**{heading.translate(_NEUTRAL)}**",
                    *(_markdown(line, TITLE_CHARS * 2) for line in lines),
                    f"{labelled(label)}[{link(url)}]({link(url)})"])
