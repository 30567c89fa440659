"""Reading the scoring table (考核评分细则) of an official Word document into a draft's rubric.

Pure: the bytes of a .docx in, an ``ImportedPlan`` out; no app, no database. The package
is read by ``tracker.core.wordfile`` (capped, streamed, each table on its own grid).
``read_document`` either returns the whole rubric, or raises ``PlanError`` naming the file,
the table, row and cell and what is wrong. ``draft_toml`` writes it as a plan-file draft.

The table is the one whose header row holds 一级项目, 二级项目, 工作要求, 扣分标准 and 分值
(得分 is ignored); a table that follows it with only blank lines (or 续表) between reads on,
its header repeated or not. A cell left empty means "same as above", as does a vertically
merged one and one that repeats the text above, such as a group's label repeated after a
page break. A row whose 分值 is empty or merged from above and whose 工作要求 starts no code
continues the row above (a row broken over two physical rows). A group whose first row has
no 二级项目, or one cell across 二级项目 and 工作要求, holds its rows without items; a row
without a code of its own gets its parent's code and a number, marked unnumbered.

Codes are read as 1-1-1, 1.1.1 or 一、（一）1. (the last two levels numbered within their
parent), full-width digits and punctuation as ASCII; points in steps of 0.5. What the
document states (a group's "（26分）", an item's "（6分）", a 合计 or 总分 row or line) is
checked against the rows read: a document is read whole or refused.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import tomli_w
from flask_babel import gettext as _

from tracker.core.wordfile import Cell, WordError, read_blocks
from tracker.phases.planfile import PlanError
from tracker.phases.planspec import RubricNodeSpec

COLUMNS = {"group": "一级项目", "item": "二级项目", "requirement": "工作要求",
           "deduction": "扣分标准", "points": "分值"}
#: How far down a table its header row may sit (below a title row or two).
HEADER_ROWS = 5
TOTAL_LABELS = ("合计", "总计", "总分")
TIMEZONE = "Asia/Shanghai"
#: The largest .docx file the command line reads (images make documents large; the text
#: part read is capped on its own by tracker.core.wordfile).
MAX_DOCUMENT_BYTES = 50 * 2**20
#: The most points a row, group or the whole may carry.
MAX_POINTS = Decimal(10_000)

_SPACE = re.compile(r"[\s\u200b\ufeff]+")
_DASHES = re.compile(r"[-－–—]")
_CN_DIGITS = "零一二三四五六七八九"
#: A full code at the start of a cell ("1-1", "1-1-1", "1.1.1"; after NFKC), then the text.
_FULL_CODE = re.compile(r"(\d{1,3}(?:-\d{1,3})+|\d{1,3}(?:\.\d{1,3})+)(?![\d.])(\s*)(.*)", re.S)
#: A number within the parent: "1.", "1、", "（1）", "（一）", "一、" (after NFKC).
_LOCAL_CODE = re.compile(r"(?:(\d{1,3})\s*[.、](?!\d)|\(\s*(\d{1,3}|[一二三四五六七八九十]{1,3})\s*\)"
                         r"|([一二三四五六七八九十]{1,3})\s*[、.])(\s*)(.*)", re.S)
_LEADING_CODE = re.compile(r"\s*[\d１-９０]+(?:\s*[-－–—.．]\s*[\d１-９０]+)+")
_POINTS_SUFFIX = re.compile(r"(.*?)\s*[（(]\s*(\d+(?:\.\d+)?)\s*分\s*[）)]\s*", re.S)
#: A total stated in a line: "总分100分", "（满分：100分）", "合计 100 分".
_STATED_TOTAL = re.compile(r"(?:总分|满分|合计|总计)(?:为|共)?\s*[:：]?\s*(\d+(?:\.\d+)?)\s*分")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔［\[【（(]\s*\d{4}\s*[〕］\]】）)]\s*\d+\s*号")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
#: The plan a notice issues: 关于印发《…》的通知. Not any 《…》: the text cites others.
_ISSUED_TITLE = re.compile(r"(?:印发|转发|下发)《([^《》]{1,100})》")
_ANNEX = re.compile(r"^附件\d*[:：]?")
_CONTINUED = re.compile(r"[（(]?续表?\d*[）)]?[:：]?")


@dataclass
class ReadRow:
    """A physical row of the document's table, and what the reader made of it."""

    table: int
    row: int
    #: The row's cells by column key (group, item, requirement, deduction, points).
    cells: dict[str, str]
    #: ``leaf`` (a rubric row), ``continued`` (text added to the row above), ``total``,
    #: ``header`` (repeated), ``blank``.
    kind: str
    #: The rubric row it made or continued.
    code: str = ""
    group: str = ""
    item: str = ""


@dataclass
class ImportedPlan:
    title: str
    document_number: str
    issued_on: date | None
    issuer: str
    rubric_title: str
    total: int | float
    groups: list[RubricNodeSpec]
    #: The document's rows as read, for the page that shows them before a draft is made.
    rows: list[ReadRow] = field(default_factory=list)

    def leaves(self) -> list[RubricNodeSpec]:
        """The leaf rows, in order."""
        return [node for group in self.groups for node in group.walk() if node.is_leaf]

    def to_json(self) -> dict:
        """``plan import --format json``: the rubric in ``plan show``'s shape."""
        return {"title": self.title, "document_number": self.document_number,
                "issued_on": self.issued_on.isoformat() if self.issued_on else None,
                "rubric": [g.to_json() for g in self.groups]}


def read_document(data: bytes, source: str) -> ImportedPlan:
    """Read the scoring table and the front matter of a .docx; ``source`` names it in errors."""
    try:
        blocks = read_blocks(data, source)
    except WordError as exc:
        raise PlanError(str(exc)) from None
    lines, tables, after = [], [], []
    between = []  # the paragraphs since the last scoring table
    for block in blocks:
        if isinstance(block, str):
            # A paragraph with line breaks is several lines, as the seed's signature.
            texts = list(filter(None, map(clean, block.splitlines())))
            (between if tables else lines).extend(texts)
            after.extend(texts if tables else ())
            continue
        grids = block.rows
        header = next((i for i, g in enumerate(grids[:HEADER_ROWS]) if _columns(g)), None)
        if not tables:
            # A table above the scoring table (a 版记) and the rows above its header (the
            # annex's title) are front matter too.
            lines.extend(t for g in grids[:header]
                         for t in dict.fromkeys(clean(c.text) for c in g) if t)
        if header is not None:
            tables.append((block, header, _columns(grids[header])))
        elif tables and all(_CONTINUED.fullmatch(t) for t in between) and \
                len(grids[0] if grids else ()) > max(tables[-1][2].values()):
            # The table goes on after a page break, or a second table pasted below it.
            tables.append((block, -1, tables[-1][2]))
        else:
            continue
        between = []
    rubric = _Rubric(source)
    groups, total = rubric.read(_table_rows(tables, source))
    title, number, issuer, issued_on = front_matter(lines)
    rubric_title = _rubric_title(lines)
    # A total stated in the annex: its heading, the lines under it, those after the table.
    heading = max((i for i, line in enumerate(lines) if line == rubric_title or
                   _ANNEX.match(line)), default=len(lines))
    rubric.check_stated_total(lines[heading:] + after, total)
    return ImportedPlan(title=title or rubric_title, document_number=number,
                        issued_on=issued_on, issuer=issuer, rubric_title=rubric_title,
                        total=plain(total), groups=groups, rows=rubric.read_rows)


def clean(text: str) -> str:
    """A cell's text without the white space Word leaves in it.

    Chinese is written without spaces, so line breaks, padding and full-width spaces go;
    only between two ASCII characters ("app 30") does a run of white space stay, as one
    space, and after a leading code ("1-1 健全…"), since the sheet writes codes as the
    document does ("2-3-3正确应对…" has none).
    """
    lead = _LEADING_CODE.match(text)

    def space(match):
        if lead and match.start() == lead.end() and match.start() > 0:
            return " "
        before, after = text[match.start() - 1:match.start()], text[match.end():match.end() + 1]
        return " " if before.isascii() and after.isascii() and before and after else ""

    return _SPACE.sub(space, text).strip()


def _squash(text: str) -> str:
    # Header cells are matched loosely: no white space, full-width letters as ASCII.
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def _columns(cells: list[Cell]) -> dict[str, int] | None:
    """Where each column sits, if this row is the scoring table's header row."""
    squashed = [_squash(c.text) for c in cells]
    found = {key: next((i for i, t in enumerate(squashed) if name in t), None)
             for key, name in COLUMNS.items()}
    return None if None in found.values() else found


def _table_rows(tables, source: str):
    """The body rows of the scoring tables: (table, row number, its cells by column)."""
    rows = []
    for table, header, columns in tables:
        for i, grid in enumerate(table.rows[header + 1:], header + 2):
            cells = {key: _cell(grid, col) for key, col in columns.items()}
            rows.append((table.number, i, cells, _columns(grid) is not None))
    if not any(not is_header and any(c.text for c in cells.values())
               for _t, _r, cells, is_header in rows):
        raise PlanError(_("%(file)s: no scoring table found: no table has a header row with "
                          "the columns %(columns)s (or it has no rows below the header)",
                          file=source, columns="、".join(COLUMNS.values())))
    return rows


def _cell(grid: list[Cell], column: int) -> Cell:
    if column >= len(grid):
        return Cell("")
    cell = grid[column]
    return Cell(clean(cell.text), merged=cell.merged, spanned=cell.spanned)


def _number_of(text: str) -> int:
    """1 of "1", 一, 十二 (Chinese numerals to 99)."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _CN_DIGITS.index(text)
    tens, _sep, ones = text.partition("十")
    return (_CN_DIGITS.index(tens) if tens else 1) * 10 + (_CN_DIGITS.index(ones) if ones else 0)


@dataclass
class _Label:
    #: The document's own full code ("1-1", "1.1"), or None.
    code: str | None
    #: A number within the parent ("（一）", "1."), or None.
    local: int | None
    title: str
    points: Decimal | None
    space: bool


def _label(text: str, stated: bool = True) -> _Label:
    """The code, title and stated points of "1.加强组织领导（26分）", "1-1 健全…（6分）",
    "（一）健全…", "1.1落实…", "一、…"."""
    normal = unicodedata.normalize("NFKC", text)
    code = local = None
    space, rest = True, text
    if match := _FULL_CODE.match(_DASHES.sub("-", normal)):
        code, space = match[1], bool(match[2])
        rest = _after(text, normal, match.start(3))
    elif match := _LOCAL_CODE.match(normal):
        local = _number_of(match[1] or match[2] or match[3])
        space, rest = bool(match[4]), _after(text, normal, match.start(5))
    points = None
    if stated and (suffix := _POINTS_SUFFIX.fullmatch(unicodedata.normalize("NFKC", rest))):
        points, rest = Decimal(suffix[2]), _strip_points(rest)
    return _Label(code, local, rest.strip(), points, space)


def _after(text: str, normal: str, index: int) -> str:
    """``text`` from where ``normal`` (its NFKC form) reaches ``index``."""
    if len(text) == len(normal):
        return text[index:]
    # NFKC changed the length (rare in a code): count characters of the original.
    for i in range(len(text) + 1):
        if len(unicodedata.normalize("NFKC", text[:i])) >= index:
            return text[i:]
    return ""


def _strip_points(text: str) -> str:
    return re.sub(r"\s*[（(]\s*[\d０-９.．]+\s*分\s*[）)]\s*$", "", text)


def parse_points(text: str) -> Decimal | None:
    """Points as the document writes them: "3", "３", "1.5", "0.5分"; None if not such."""
    value = _SPACE.sub("", unicodedata.normalize("NFKC", text)).removesuffix("分")
    if not re.fullmatch(r"\d{1,5}(?:\.\d{1,3})?", value):
        return None
    try:
        points = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None
    return points if points <= MAX_POINTS and points * 2 == int(points * 2) else None


def plain(points: Decimal) -> int | float:
    """Whole points as an int (as the plan file writes them), halves as a float (exact in
    binary, and what TOML and JSON write)."""
    return int(points) if points == int(points) else float(points)


class _Rubric:
    """Builds the groups → items → rows tree from the table's rows, top to bottom."""

    def __init__(self, source: str):
        self.source = source
        self.groups: list[RubricNodeSpec] = []
        #: What tells a group or item apart from the one above: its code, or its text.
        self.keys: dict[int, str] = {}
        #: The points a group's or item's label states, and where: checked at the end.
        self.stated: dict[int, tuple[Decimal | None, tuple]] = {}
        self.where: dict[str, tuple] = {}
        self.read_rows: list[ReadRow] = []
        self.last: RubricNodeSpec | None = None
        #: A 合计 row's points, and where.
        self.total: tuple[Decimal, tuple] | None = None
        #: How the document joins the parts of a code ("1-1-1" or "1.1.1"): generated
        #: codes follow it.
        self.separator = "-"

    def place(self, where: tuple) -> str:
        """"table 1, row 3, 分值": where in the document."""
        table, row, column = where
        if column is None:
            return _("table %(table)d, row %(row)d", table=table, row=row)
        return _("table %(table)d, row %(row)d, cell %(cell)s", table=table, row=row,
                 cell=COLUMNS[column])

    def fail(self, where: tuple, message: str):
        raise PlanError(_("%(file)s: %(where)s: %(message)s", file=self.source,
                          where=self.place(where), message=message))

    def read(self, rows) -> tuple[list[RubricNodeSpec], Decimal]:
        group = item = None
        for table, number, cells, is_header in rows:
            texts = {key: cell.text for key, cell in cells.items()}
            record = ReadRow(table, number, texts, "header" if is_header else "blank")
            self.read_rows.append(record)
            if is_header or not any(texts.values()):
                continue
            at = (table, number)
            label, text = texts["group"], texts["item"]
            if _is_total(texts):
                record.kind = "total"
                self.total_row(texts, at)
                continue
            if label and (group is None or _key(label) != self.keys[id(group)]):
                group, item, self.last = self.group(label, (*at, "group")), None, None
            elif group is None:
                self.fail((*at, "group"), _("the first row has no 一级项目"))
            if text and text == texts["requirement"]:
                # One cell across 二级项目 and 工作要求, as in the seed's group 5: no item.
                if item is not None:
                    self.last = None
                item = None
            elif text and (item is None or _key(text) != self.keys[id(item)]):
                item, self.last = self.item(group, text, (*at, "item")), None
            if self.continues(cells):
                self.last.requirement += "" if cells["requirement"].merged else texts["requirement"]
                self.last.title = self.last.requirement
                if not cells["deduction"].merged and texts["deduction"] != self.last.deduction:
                    self.last.deduction += texts["deduction"]
                record.kind = "continued"
            else:
                self.last = self.row(group, item, texts, at)
                record.kind = "leaf"
            record.code, record.group = self.last.code, group.code
            record.item = item.code if item else ""
        for group in self.groups:
            for item in group.children:
                if not item.is_leaf:
                    self.check(item, _("item"))
            self.check(group, _("group"))
        points = sum((Decimal(g.points) for g in self.groups), Decimal(0))
        if self.total is not None and self.total[0] != points:
            self.fail(self.total[1], _("the 合计 row says %(stated)s points, but the groups add "
                                       "up to %(read)s", stated=_show(self.total[0]),
                                       read=_show(points)))
        return self.groups, points

    def continues(self, cells: dict[str, Cell]) -> bool:
        """Whether the row is the row above broken over a second physical row: no points of
        its own, no code of its own."""
        if self.last is None:
            return False
        points, requirement = cells["points"], cells["requirement"]
        if not (points.merged or not points.text):
            return False
        if requirement.merged or not requirement.text:
            return True
        label = _label(requirement.text, stated=False)
        return label.code is None and label.local is None

    def total_row(self, texts: dict[str, str], at: tuple):
        value = parse_points(texts["points"]) if texts["points"] else None
        if value is None:
            found = _STATED_TOTAL.search(unicodedata.normalize("NFKC", "".join(texts.values())))
            value = Decimal(found[1]) if found else None
        if value is None:
            self.fail((*at, "points"), _("the 合计 row gives no number of points"))
        self.total = (value, (*at, "points"))

    def check_stated_total(self, lines: list[str], points: Decimal):
        """A total the text around the table states ("总分100分") is the rows' sum."""
        for line in lines:
            for found in _STATED_TOTAL.finditer(unicodedata.normalize("NFKC", line)):
                if Decimal(found[1]) != points:
                    raise PlanError(_("%(file)s: the document states %(stated)s points "
                                      "(\u201c%(line)s\u201d), but the table's rows add up to "
                                      "%(read)s", file=self.source, stated=_show(found[1]),
                                      line=line[:80], read=_show(points)))

    def group(self, text: str, where: tuple) -> RubricNodeSpec:
        label = _label(text)
        code = label.code or (str(label.local) if label.local else str(len(self.groups) + 1))
        node = RubricNodeSpec(code=code, title=label.title, title_en="", points=0)
        self.add(node, where, _key(text), label.points)
        self.groups.append(node)
        return node

    def item(self, group: RubricNodeSpec, text: str, where: tuple) -> RubricNodeSpec:
        if any(child.is_leaf for child in group.children):
            self.mixed(group, where)
        label = _label(text)
        code = label.code or self.child_code(group, label.local)
        node = RubricNodeSpec(code=code, title=label.title, title_en="", points=0,
                              code_space=label.space)
        self.add(node, where, _key(text), label.points)
        group.children.append(node)
        return node

    def row(self, group, item, texts: dict[str, str], at: tuple) -> RubricNodeSpec:
        parent = item or group
        if item is None and any(not child.is_leaf for child in group.children):
            self.mixed(group, (*at, "requirement"))
        label = _label(texts["requirement"], stated=False)
        numbered = label.code is not None or label.local is not None
        if not label.title:
            self.fail((*at, "requirement"), _("the 工作要求 cell holds no requirement"))
        node = RubricNodeSpec(
            code=label.code or self.child_code(parent, label.local), title=label.title,
            title_en="", points=self.points(texts["points"], (*at, "points")),
            requirement=label.title, deduction=texts["deduction"], numbered=numbered,
            code_space=label.space if numbered else True,
        )
        self.add(node, (*at, "requirement"))
        parent.children.append(node)
        return node

    def child_code(self, parent: RubricNodeSpec, local: int | None) -> str:
        """A child's code: the parent's, then its number within it (given or counted)."""
        return f"{parent.code}{self.separator}{local or len(parent.children) + 1}"

    def add(self, node: RubricNodeSpec, where: tuple, key="", points: Decimal | None = None):
        if "." in node.code and "-" not in node.code:
            self.separator = "."
        if node.code in self.where:
            self.fail(where, _("code %(code)s is used twice (first in %(first)s)",
                               code=node.code, first=self.place(self.where[node.code])))
        self.where[node.code] = where
        self.keys[id(node)] = key
        self.stated[id(node)] = (points, where)

    def points(self, text: str, where: tuple) -> int | float:
        if not text:
            self.fail(where, _("the 分值 cell is empty"))
        value = parse_points(text)
        if value is None:
            self.fail(where, _("\u201c%(text)s\u201d is not a number of points (whole, or in "
                               "halves such as 1.5)", text=text))
        return plain(value)

    def check(self, node: RubricNodeSpec, kind: str):
        """The node's points are its rows' sum, and what its label states, if it does."""
        stated, where = self.stated[id(node)]
        node.points = plain(sum((Decimal(c.points) for c in node.children), Decimal(0)))
        if stated is not None and stated != node.points:
            self.fail(where, _("%(kind)s %(code)s (%(title)s) says %(stated)s points, but its "
                               "rows add up to %(read)s", kind=kind, code=node.code,
                               title=node.title, stated=_show(stated),
                               read=_show(node.points)))

    def mixed(self, group: RubricNodeSpec, where: tuple):
        self.fail(where, _("group %(code)s (%(title)s) has rows both with and without a "
                           "二级项目; a plan's group holds either items or rows",
                           code=group.code, title=group.title))


def _show(points) -> str:
    return str(plain(Decimal(points)))


def _is_total(texts: dict[str, str]) -> bool:
    """A 合计 / 总分 row: its first cell with text is such a label."""
    first = next((t for key in ("group", "item", "requirement") if (t := texts[key])), "")
    return _squash(first).rstrip(":：") in TOTAL_LABELS or bool(
        _STATED_TOTAL.fullmatch(_squash(first)))


def _key(text: str) -> str:
    """What identifies a group or item label: its code, or its text if it has none."""
    label = _label(text)
    return label.code or (f"#{label.local}" if label.local else label.title)


def front_matter(lines: list[str]) -> tuple[str, str, str, date | None]:
    """(title, document number, issuer, issue date) from the text above the table.

    The issue date is the 成文日期: a line holding only a date, under the issuer's name (the
    line above it). Without one, the date of the 印发 line (the printing date, usually the
    same day). A date elsewhere in the text is more likely a deadline than the issue date,
    so none is guessed from it.
    """
    # Joined, for a title broken over two lines; but a number is looked for line by line,
    # lest the issuer's name on the line above run into its prefix.
    text = "".join(lines)
    title = _ISSUED_TITLE.search(text)
    number = next((match[0] for line in lines if (match := _DOC_NUMBER.search(line))), "")
    issuer, issued_on = "", None
    for i, line in enumerate(lines):
        if (match := _DATE.fullmatch(line)) and (day := _date(match)):
            issued_on = day
            if i and not lines[i - 1].endswith(("。", "：", ":", "；", "，")):
                issuer = lines[i - 1]
            break
    else:
        printed = re.search(_DATE.pattern + r"\s*印发", text)
        issued_on = _date(printed) if printed else None
    return title[1] if title else "", _SPACE.sub("", number), issuer, issued_on


def _date(match: re.Match) -> date | None:
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None  # 2月30日: a typing slip, not a date to put in the plan


def _rubric_title(lines: list[str]) -> str:
    """The annex's heading above the table: the last line with 评分 that is not a sentence."""
    line = next((line for line in reversed(lines)
                 if "评分" in line and not line.endswith(("。", "；", "，"))), "")
    return _ANNEX.sub("", line)


def draft_toml(imported: ImportedPlan, name: str) -> str:
    """The imported rubric as a plan-file draft, laid out like the bundled plans."""
    meta = {"name": name, "title": imported.title, "issuer": imported.issuer,
            "document_number": imported.document_number, "issued_on": imported.issued_on,
            "timezone": TIMEZONE}
    rubric = {"title": imported.rubric_title, "total": imported.total}
    missing = "" if imported.title else "# The document gave no title: fill in [plan] title.\n"
    parts = [_DRAFT_HEADER + missing, _table("[plan]", meta, keep=("name", "title")),
             _table("[rubric]", rubric)]
    for group in imported.groups:
        parts.append(_table("[[rubric.groups]]", _node(group)))
        for child in group.children:
            if child.is_leaf:
                parts.append(_table("[[rubric.groups.rows]]", _node(child)))
                continue
            parts.append(_table("[[rubric.groups.items]]", _node(child)))
            for row in child.children:
                parts.append(_table("[[rubric.groups.items.rows]]", _node(row)))
    return "\n".join(parts)


_DRAFT_HEADER = """\
# Draft plan imported by `tracker plan import` from an official document's scoring table.
# It holds the plan's metadata and its rubric only. Before the plan loads, add its
# [[phases]] (总体安排) and its [[duties]], every rubric row served by at least one duty;
# shuyuan-2020.toml, the bundled plan, shows how. title_en fields may be added anywhere.
"""


def _node(node: RubricNodeSpec) -> dict:
    spacing = {} if node.code_space else {"code_space": False}
    if not node.is_leaf:
        return {"code": node.code, "title": node.title, "points": node.points} | spacing
    data = {"code": node.code}
    if not node.numbered:
        data["numbered"] = False
    return data | spacing | {"requirement": node.requirement, "deduction": node.deduction,
                             "points": node.points}


def _table(header: str, values: dict, keep=()) -> str:
    # Written key by key under headers of our own: tomli-w would turn short rows into
    # inline tables, and a person edits the draft more easily in the bundled plan's layout.
    values = {k: v for k, v in values.items() if k in keep or v not in ("", None)}
    return f"{header}\n{tomli_w.dumps(values)}"
