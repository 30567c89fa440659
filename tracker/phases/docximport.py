"""Reading the scoring table (考核评分细则) of an official Word document into a draft's rubric.

Pure: the bytes of a .docx in, an ``ImportedPlan`` out; no app, no database.
``read_document`` either returns the whole rubric, or raises ``PlanError`` naming the file,
the table row and what is wrong. ``draft_toml`` writes it as a plan-file draft.

The table is the one whose header row holds 一级项目, 二级项目, 工作要求, 扣分标准 and 分值
(得分 is ignored). A cell left empty means "same as above", as does a vertically merged
one (python-docx hands a merged cell's text to every row it spans) and one that repeats the
text above, such as a group's label repeated after a page break. A group whose first row
has no 二级项目, or one cell across 二级项目 and 工作要求, holds its rows without items; a
row without a code of its own gets its parent's code and a number, marked unnumbered.
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date

import docx
import tomli_w
from docx.text.paragraph import Paragraph
from lxml import etree

from tracker.phases.planfile import PlanError, RubricNodeSpec

COLUMNS = {"group": "一级项目", "item": "二级项目", "requirement": "工作要求",
           "deduction": "扣分标准", "points": "分值"}
#: How far down a table its header row may sit (below a title row or two).
HEADER_ROWS = 5
TOTAL_LABELS = ("合计", "总计", "总分")
TIMEZONE = "Asia/Shanghai"

_SPACE = re.compile(r"[\s\u200b\ufeff]+")
_DASHES = re.compile(r"[-－–—]")
#: "1-1", "1-1-1", "１－１", at the start of a cell; what follows is the text.
_CODE = re.compile(r"(\d+(?:\s*[-－–—]\s*\d+)+)(\s*)(.*)", re.S)
_LEADING_CODE = re.compile(r"\s*[\d１-９０]+(?:\s*[-－–—]\s*[\d１-９０]+)+")
#: A group's label: "1.加强组织领导（26分）", "一、加强组织领导", "特色亮点项目".
_GROUP = re.compile(r"(?:(\d+|[一二三四五六七八九十]+)\s*[.．、]\s*)?(.*)", re.S)
_POINTS_SUFFIX = re.compile(r"(.*?)\s*[（(]\s*(\d+)\s*分\s*[）)]", re.S)
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔［\[【（(]\s*\d{4}\s*[〕］\]】）)]\s*\d+\s*号")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
#: The plan a notice issues: 关于印发《…》的通知. Not any 《…》: the text cites others.
_ISSUED_TITLE = re.compile(r"(?:印发|转发|下发)《([^《》]{1,100})》")
_ANNEX = re.compile(r"^附件\d*[:：]?")


@dataclass
class ImportedPlan:
    title: str
    document_number: str
    issued_on: date | None
    issuer: str
    rubric_title: str
    total: int
    groups: list[RubricNodeSpec]

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
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, etree.LxmlError):
        raise PlanError(f"{source}: not a Word document (.docx); a .doc or .wps file must "
                        f"first be saved as .docx") from None
    # python-docx trusts the package; a document part without a body would fail in its code.
    if getattr(document.element, "body", None) is None:
        raise PlanError(f"{source}: the Word document is damaged (it has no body); open it "
                        f"in Word and save it again")
    lines, tables, count = [], [], 0
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            if not tables:
                # A paragraph with line breaks is several lines, as the seed's signature.
                lines.extend(filter(None, map(clean, block.text.splitlines())))
            continue
        count += 1
        try:
            grids = [_grid(row) for row in block.rows]
        except ValueError as exc:  # python-docx on a malformed merge or span
            raise PlanError(f"{source}: table {count} is damaged ({exc}); open the document "
                            f"in Word and save it again") from None
        header = next((i for i, g in enumerate(grids[:HEADER_ROWS]) if _columns(g)), None)
        if not tables:
            # A table above the scoring table (a 版记) and the rows above its header (the
            # annex's title) are front matter too.
            lines.extend(t for g in grids[:header] for t in dict.fromkeys(g) if t)
        if header is not None:
            tables.append((count, grids, header))
    groups, total = _Rubric(source).read(_table_rows(tables, source))
    title, number, issuer, issued_on = front_matter(lines)
    rubric_title = _rubric_title(lines)
    return ImportedPlan(title=title or rubric_title, document_number=number,
                        issued_on=issued_on, issuer=issuer, rubric_title=rubric_title,
                        total=total, groups=groups)


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


def _grid(row) -> list[str]:
    """The row's text, one entry per grid column: merged cells repeat their text."""
    return [""] * row.grid_cols_before + [clean(cell.text) for cell in row.cells]


def _columns(texts: list[str]) -> dict[str, int] | None:
    """Where each column sits, if this row is the scoring table's header row."""
    squashed = [_squash(t) for t in texts]
    found = {key: next((i for i, t in enumerate(squashed) if name in t), None)
             for key, name in COLUMNS.items()}
    return None if None in found.values() else found


def _table_rows(tables, source: str) -> list[tuple[str, dict[str, str]]]:
    """The body rows of the scoring tables as (where it is, its cells by column). A table
    continued as a second one after a page break reads on."""
    rows = []
    for number, grids, header in tables:
        columns = _columns(grids[header])
        for i, grid in enumerate(grids[header + 1:], header + 2):
            if _columns(grid):
                continue  # the header repeated after a page break
            cells = {key: grid[col] if col < len(grid) else "" for key, col in columns.items()}
            if any(cells.values()):
                rows.append((f"table {number}, row {i}", cells))
    if not rows:
        raise PlanError(
            f"{source}: no scoring table found: no table has a header row with the columns "
            f"{'、'.join(COLUMNS.values())} (or it has no rows below the header)")
    return rows


class _Rubric:
    """Builds the groups → items → rows tree from the table's rows, top to bottom."""

    def __init__(self, source: str):
        self.source = source
        self.groups: list[RubricNodeSpec] = []
        #: What tells a group or item apart from the one above: its code, or its text.
        self.keys: dict[int, str] = {}
        #: The points a group's or item's label states, and where: checked at the end.
        self.stated: dict[int, tuple[int | None, str]] = {}
        self.where: dict[str, str] = {}

    def fail(self, where: str, message: str):
        raise PlanError(f"{self.source}: {where}: {message}")

    def read(self, rows) -> tuple[list[RubricNodeSpec], int]:
        group = item = total = None
        for where, cells in rows:
            label, text = cells["group"], cells["item"]
            if label in TOTAL_LABELS:
                total = self.points(cells["points"], where)
                continue
            new_group = bool(label) and (group is None or _key(label) != self.keys[id(group)])
            if new_group:
                group, item = self.group(label, where), None
            elif group is None:
                self.fail(where, "the first row has no 一级项目")
            if text and text == cells["requirement"]:
                # One cell across 二级项目 and 工作要求, as in the seed's group 5: no item.
                item = None
            elif text and (item is None or _key(text, item=True) != self.keys[id(item)]):
                item = self.item(group, text, where)
            self.row(group, item, cells, where)
        for group in self.groups:
            for item in group.children:
                if not item.is_leaf:
                    self.check(item, "item")
            self.check(group, "group")
        points = sum(g.points for g in self.groups)
        if total is not None and total != points:
            raise PlanError(f"{self.source}: the 合计 row says {total} points, but the groups "
                            f"add up to {points}")
        return self.groups, points

    def group(self, label: str, where: str) -> RubricNodeSpec:
        code, title, points = _split_label(label, item=False)
        node = RubricNodeSpec(code=code or str(len(self.groups) + 1), title=title,
                              title_en="", points=0)
        self.add(node, where, _key(label), points)
        self.groups.append(node)
        return node

    def item(self, group: RubricNodeSpec, label: str, where: str) -> RubricNodeSpec:
        if any(child.is_leaf for child in group.children):
            self.mixed(group, where)
        code, title, points = _split_label(label, item=True)
        match = _CODE.match(label)
        node = RubricNodeSpec(code=code or f"{group.code}-{len(group.children) + 1}",
                              title=title, title_en="", points=0,
                              code_space=bool(match[2]) if match else True)
        self.add(node, where, _key(label, item=True), points)
        group.children.append(node)
        return node

    def row(self, group, item, cells: dict[str, str], where: str):
        parent = item or group
        if item is None and any(not child.is_leaf for child in group.children):
            self.mixed(group, where)
        match = _CODE.match(cells["requirement"])
        code, requirement = (_code(match[1]), match[3]) if match else (None, cells["requirement"])
        if not requirement:
            self.fail(where, "the 工作要求 cell holds no requirement")
        node = RubricNodeSpec(
            code=code or f"{parent.code}-{len(parent.children) + 1}", title=requirement,
            title_en="", points=self.points(cells["points"], where), requirement=requirement,
            deduction=cells["deduction"], numbered=code is not None,
            code_space=bool(match[2]) if match else True,
        )
        self.add(node, where)
        parent.children.append(node)

    def add(self, node: RubricNodeSpec, where: str, key="", points: int | None = None):
        if node.code in self.where:
            self.fail(where, f"code {node.code} is used twice (first in {self.where[node.code]})")
        self.where[node.code] = where
        self.keys[id(node)] = key
        self.stated[id(node)] = (points, where)

    def points(self, text: str, where: str) -> int:
        if not text:
            self.fail(where, "the 分值 cell is empty")
        value = unicodedata.normalize("NFKC", text).removesuffix("分").strip()
        if not (value.isascii() and value.isdigit()):
            self.fail(where, f"分值 {text!r} is not a whole number of points")
        return int(value)

    def check(self, node: RubricNodeSpec, kind: str):
        """The node's points are its rows' sum, and what its label states, if it does."""
        stated, where = self.stated[id(node)]
        node.points = sum(child.points for child in node.children)
        if stated is not None and stated != node.points:
            self.fail(where, f"{kind} {node.code} ({node.title}) says {stated} points, "
                             f"but its rows add up to {node.points}")

    def mixed(self, group: RubricNodeSpec, where: str):
        self.fail(where, f"group {group.code} ({group.title}) has rows both with and without "
                         f"a 二级项目; a plan's group holds either items or rows")


def _key(label: str, item=False) -> str:
    """What identifies a group or item label: its code, or its text if it has none."""
    code, title, _ = _split_label(label, item)
    return code or title


def _code(text: str) -> str:
    return _DASHES.sub("-", unicodedata.normalize("NFKC", _SPACE.sub("", text)))


def _split_label(label: str, item: bool) -> tuple[str | None, str, int | None]:
    """(code, title, points) of "1.加强组织领导（26分）" or "1-1 健全…。（6分）"."""
    if item:
        match = _CODE.match(label)
        code, rest = (_code(match[1]), match[3]) if match else (None, label)
    else:
        match = _GROUP.match(label)
        code = match[1] if match[1] and match[1].isdigit() else None
        rest = match[2]
    suffix = _POINTS_SUFFIX.fullmatch(rest)
    if suffix:
        return code, suffix[1], int(suffix[2])
    return code, rest, None


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
