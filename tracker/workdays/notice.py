"""Reading the State Council's holiday notice (国务院办公厅关于YYYY年部分节假日安排的通知):
pure, no app, no database.

The notice lists each holiday as an item: "二、春节：2月10日至17日放假调休，共8天。2月4日
（星期日）、2月18日（星期日）上班。" ``read_notice`` turns it into the days it sets: each day
of a 放假 range off (a range may omit the month of its end, "至17日", or cross a month,
"1月28日至2月4日"), each 上班 day a working day, named by the holiday. The notice is checked
against itself: every weekday it states (星期日, 周二) must be its date's, a range must last
the days it says (共8天), a 上班 day must be a weekend day; a notice that contradicts itself
is refused, naming the item and the date.
"""

import html.parser
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from tracker.core.errors import TrackerError
from tracker.core.text import decode_text

#: The largest notice taken (the real ones are about 2 KB of text).
MAX_NOTICE_BYTES = 2 * 2**20
_WEEKDAYS = "一二三四五六日"
_TITLE = re.compile(r"关于\s*(\d{4})\s*年部分节假日安排的通知")
#: An item: "二、春节:" (after NFKC, the colon is ASCII).
_ITEM = re.compile(r"(?:^|(?<=[。\n\s]))([一二三四五六七八九十]{1,3})、\s*([^:。\n]{1,30}?)\s*:")
#: A date: "2023年12月30日", "2月10日", "17日", and what it says of itself in brackets.
_DATE = re.compile(r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日(?:\s*\(([^()]{0,30})\))?")
_RANGE = re.compile(rf"{_DATE.pattern}\s*(?:至|-|—|~|到)\s*{_DATE.pattern}")
_STATED_WEEKDAY = re.compile(r"(?:星期|周|礼拜)([一二三四五六日天])")
_DAYS = re.compile(r"共\s*(\d{1,2})\s*天")
_HOLIDAY_NAME = re.compile(r"^[\u4e00-\u9fff、]{2,20}$")


class NoticeError(TrackerError):
    """A notice that cannot be read, or that contradicts itself."""


@dataclass(frozen=True)
class NoticeDay:
    day: date
    working: bool
    #: The holiday's name (春节), with 调休 for a weekend made a working day.
    name: str


@dataclass
class Notice:
    year: int
    days: list[NoticeDay]

    def holidays(self) -> list[str]:
        """The holidays' names, in the notice's order."""
        return list(dict.fromkeys(d.name for d in self.days if not d.working))


def notice_text(data: bytes, filename: str) -> str:
    """The text of a notice file: .docx (its paragraphs and table cells), .html (its text)
    or plain text (UTF-8, or GB18030 as Chinese Windows saves it)."""
    if len(data) > MAX_NOTICE_BYTES:
        raise NoticeError(_("%(file)s: the notice is larger than %(mb)d MB.", file=filename,
                            mb=MAX_NOTICE_BYTES // 2**20))
    name = filename.lower()
    if name.endswith(".docx"):
        # Here, so that lxml loads only for a Word notice.
        from tracker.core.wordfile import Table, WordError, read_blocks

        try:
            blocks = read_blocks(data, filename)
        except WordError as exc:
            raise NoticeError(str(exc)) from None
        lines = []
        for block in blocks:
            if isinstance(block, Table):
                lines.extend(dict.fromkeys(c.text for row in block.rows for c in row))
            else:
                lines.append(block)
        return "\n".join(lines)
    text = decode_text(data)
    if text is None:
        raise NoticeError(_("%(file)s: not a text, HTML or Word (.docx) file.", file=filename))
    if name.endswith((".html", ".htm")) or re.match(r"\s*<(!doctype|html)", text, re.I):
        return _html_text(text)
    return text


class _TextOf(html.parser.HTMLParser):
    """The visible text of an HTML page, one line per block."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "section"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def _html_text(text: str) -> str:
    reader = _TextOf()
    reader.feed(text)
    reader.close()
    return "".join(reader.parts)


def read_notice(text: str, year: int | None = None) -> Notice:
    """The days the notice sets, checked against themselves; ``year`` when the text does
    not name it (or to check that it is the notice meant)."""
    text = unicodedata.normalize("NFKC", text).replace("\u3000", " ")
    title = _TITLE.search(text)
    if title and year is not None and int(title[1]) != year:
        raise NoticeError(_("This is the notice for %(notice)s, not for %(year)d.",
                            notice=title[1], year=year))
    if title is None and year is None:
        raise NoticeError(_("The text names no year (国务院办公厅关于YYYY年部分节假日安排的通知): "
                            "give the year."))
    year = int(title[1]) if title else year
    items = list(_ITEM.finditer(text))
    if not items:
        raise NoticeError(_("No holiday found: the notice lists its holidays as "
                            "\u201c一、元旦：1月1日放假……\u201d."))
    days: dict[date, NoticeDay] = {}
    for n, item in enumerate(items):
        end = items[n + 1].start() if n + 1 < len(items) else len(text)
        name = item[2].strip()
        if not _HOLIDAY_NAME.match(name):
            continue  # "一、…" of something else: not a holiday item
        body = text[item.end():end]
        for day in _Item(year, item[1], name, body).read():
            if day.day in days and days[day.day] != day:
                raise NoticeError(_("Item %(item)s sets %(date)s, which another item sets "
                                    "too.", item=item[1], date=day.day.isoformat()))
            days[day.day] = day
    if not any(not d.working for d in days.values()):
        raise NoticeError(_("No day off found in the notice's items."))
    return Notice(year, sorted(days.values(), key=lambda d: d.day))


class _Item:
    """One holiday's sentences: its 放假 ranges and its 上班 days."""

    def __init__(self, year: int, number: str, name: str, body: str):
        self.year, self.number, self.name, self.body = year, number, name, body

    def fail(self, message: str):
        raise NoticeError(_("Item %(item)s (%(name)s): %(message)s", item=self.number,
                            name=self.name, message=message))

    def read(self) -> list[NoticeDay]:
        days = []
        for sentence in re.split(r"[。;\n]", self.body):
            clauses = sentence.split(",")
            for clause in (c for c in clauses if "上班" in c):
                for match in _DATE.finditer(clause):
                    day = self.date(match, None)
                    if day.weekday() < 5:
                        self.fail(_("%(date)s is to be worked, but it is a weekday already.",
                                    date=_shown(day)))
                    days.append(NoticeDay(day, True, f"{self.name}调休"))
            rest = ",".join(c for c in clauses if "上班" not in c)
            if "放假" in rest:
                days.extend(self.off(rest))
        if not any(not d.working for d in days):
            self.fail(_("no day off found."))
        return days

    def off(self, sentence: str) -> list[NoticeDay]:
        days, spans = [], []
        for match in _RANGE.finditer(sentence):
            first = self.date(match, None, 1)
            last = self.date(match, first, 5)
            if last < first:
                self.fail(_("the range %(first)s to %(last)s runs backwards.",
                            first=_shown(first), last=_shown(last)))
            if (last - first).days > 31:
                self.fail(_("the range %(first)s to %(last)s is longer than a month.",
                            first=_shown(first), last=_shown(last)))
            spans.append((match.start(), match.end()))
            day = first
            while day <= last:
                days.append(NoticeDay(day, False, self.name))
                day += timedelta(days=1)
        for match in _DATE.finditer(sentence):
            if any(start <= match.start() < end for start, end in spans):
                continue
            days.append(NoticeDay(self.date(match, None), False, self.name))
        if days and (count := _DAYS.search(sentence)) and int(count[1]) != len(days):
            self.fail(_("it says %(said)s days, but its dates hold %(n)d.", said=count[1],
                        n=len(days)))
        return days

    def date(self, match: re.Match, after: date | None, group: int = 1) -> date:
        """The date of ``match`` (its groups from ``group``), in the notice's year; a date
        without a month takes the month of ``after`` (the start of its range), or the one
        after it when the day comes earlier."""
        year_text, month_text, day_text, note = (match[group], match[group + 1],
                                                 match[group + 2], match[group + 3])
        year = int(year_text) if year_text else self.year
        if month_text:
            month = int(month_text)
        elif after is not None:
            month = after.month
            if int(day_text) < after.day:
                month, year = (1, after.year + 1) if month == 12 else (month + 1, after.year)
            else:
                year = after.year
        else:
            self.fail(_("a date without its month (%(text)s).", text=match[0]))
        try:
            day = date(year, month, int(day_text))
        except ValueError:
            self.fail(_("%(text)s is not a date.", text=match[0]))
        if abs(day.year - self.year) > 1:
            self.fail(_("%(text)s lies outside the notice's year.", text=match[0]))
        if note and (stated := _STATED_WEEKDAY.search(note)):
            weekday = _WEEKDAYS.index(stated[1].replace("天", "日"))
            if weekday != day.weekday():
                self.fail(_("%(date)s is said to be %(stated)s, but it is %(actual)s; the "
                            "notice contradicts itself.", date=_shown(day),
                            stated=f"星期{stated[1]}", actual=f"星期{_WEEKDAYS[day.weekday()]}"))
        return day


def _shown(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
