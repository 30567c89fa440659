"""Reading the text and tables of a Word document (.docx) safely: pure, no app.

A .docx is a zip of XML parts; only the main document part is read. Nothing in it is
trusted: every member's uncompressed size is capped while it is read (its header may lie),
as is the whole read; encrypted members, methods other than stored and deflate (Deflate64,
bzip2, …) and corrupt data are refused; the XML is parsed as a stream, without a DTD or
entities, and every table is laid on its own grid (``w:tblGrid``): a cell spanning more
columns than the grid has, a row of more cells, a table of more rows than ``MAX_ROWS`` is
refused, and a vertical merge takes the text of the cell above (no recursion). So a
crafted document is refused in bounded time and memory, whatever its spans claim.

``read_blocks`` returns the body's paragraphs (as text) and tables (as rows of ``Cell``,
one per grid column), in document order, or raises ``WordError``.
"""

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field

from flask_babel import gettext as _
from lxml import etree

from tracker.core.errors import TrackerError

#: The largest main document part taken, uncompressed (the seed's is about 200 KB).
MAX_PART_BYTES = 16 * 2**20
#: The most read from the package altogether (the relationships and the document part).
MAX_TOTAL_BYTES = 20 * 2**20
#: The most columns a table's grid may have, and rows a table.
MAX_COLUMNS = 64
MAX_ROWS = 2000
#: The most characters one cell or paragraph may hold.
MAX_TEXT = 100_000
CHUNK = 64 * 1024

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_RELS = "_rels/.rels"
_OFFICE_DOCUMENT = re.compile(rb'Type="[^"]*/officeDocument"')
_TARGET = re.compile(rb'Target="([^"]+)"')
_TEXT_TAGS = {f"{{{W}}}t": None, f"{{{W}}}tab": "\t", f"{{{W}}}br": "\n", f"{{{W}}}cr": "\n",
              f"{{{W}}}noBreakHyphen": "-"}
#: Text inside these belongs to a drawing or text box, not to the paragraph's line.
_SKIP = {f"{{{W}}}drawing", f"{{{W}}}pict", f"{{{W}}}txbxContent", f"{{{W}}}object",
         "{http://schemas.openxmlformats.org/markup-compatibility/2006}AlternateContent"}


class WordError(TrackerError):
    """A file that is not a Word document, or one that cannot be read safely."""


@dataclass
class Cell:
    """One grid column of a table row."""

    text: str
    #: Continues the cell above (``w:vMerge`` without ``restart``): its text is that cell's.
    merged: bool = False
    #: Part of a cell spanning several columns, to the right of its first column.
    spanned: bool = False


@dataclass
class Table:
    #: The table's number in the document, from 1.
    number: int
    columns: int
    rows: list[list[Cell]] = field(default_factory=list)


def read_blocks(data: bytes, source: str) -> list[str | Table]:
    """The body of a .docx as paragraphs (str) and tables, in order."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _not_word(source) from None
    with archive:
        budget = [MAX_TOTAL_BYTES]
        part = _main_part(archive, source, budget)
        reader = _BodyReader(source)
        for chunk in _stream(archive, part, source, budget, MAX_PART_BYTES):
            reader.feed(chunk)
        return reader.close()


def _not_word(source: str) -> WordError:
    return WordError(_("%(file)s: not a Word document (.docx); a .doc or .wps file must first "
                       "be saved as .docx", file=source))


def _damaged(source: str, why: str = "") -> WordError:
    if why:
        return WordError(_("%(file)s: the Word document is damaged (%(why)s); open it in Word "
                           "and save it again", file=source, why=why))
    return WordError(_("%(file)s: the Word document is damaged; open it in Word and save it "
                       "again", file=source))


def _main_part(archive: zipfile.ZipFile, source: str, budget: list[int]) -> zipfile.ZipInfo:
    """The document part the package's relationships name (word/document.xml as a rule)."""
    name = "word/document.xml"
    try:
        rels = archive.getinfo(_RELS)
    except KeyError:
        rels = None
    if rels is not None:
        text = b"".join(_stream(archive, rels, source, budget, 256 * 1024))
        for relationship in re.findall(rb"<[^<>]*Relationship\b[^<>]*>", text):
            target = _TARGET.search(relationship)
            if _OFFICE_DOCUMENT.search(relationship) and target:
                name = target[1].decode("utf-8", "replace").lstrip("/")
                break
    try:
        return archive.getinfo(name)
    except KeyError:
        raise _not_word(source) from None


def _stream(archive, info: zipfile.ZipInfo, source: str, budget: list[int], cap: int):
    """A member's bytes in chunks, refused beyond ``cap`` or the package's budget, whatever
    its header says; encrypted members, other methods and corrupt data refused."""
    if info.flag_bits & 0x1:
        raise WordError(_("%(file)s: the Word document is encrypted (password-protected); "
                          "save a copy without a password", file=source))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _damaged(source, _("compression method %(n)d", n=info.compress_type))
    limit = min(cap, budget[0])
    too_large = WordError(_("%(file)s: the Word document's text is larger than %(mb)d MB",
                            file=source, mb=max(1, limit // 2**20)))
    if info.file_size > limit:
        raise too_large
    try:
        with archive.open(info) as member:
            read = 0
            while chunk := member.read(CHUNK):
                read += len(chunk)
                if read > limit:
                    raise too_large
                budget[0] -= len(chunk)
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError):
        raise _damaged(source) from None


class _BodyReader:
    """Paragraphs and tables of ``w:body``, read from a stream of XML events; every
    element is dropped once read, so memory holds one table row at most."""

    def __init__(self, source: str):
        self.source = source
        # No DTD, no entities, no network, libxml2's own limits on depth and text size.
        self.parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False,
                                          load_dtd=False, no_network=True, huge_tree=False,
                                          remove_comments=True, remove_pis=True)
        self.depth = 0
        self.blocks: list[str | Table] = []
        self.table: Table | None = None
        self.table_depth = 0
        self.row: list[Cell] | None = None
        self.row_width = 0
        self.tables = 0
        self.body = False
        self.head = b""

    def feed(self, chunk: bytes):
        if len(self.head) < 4096:
            # A Word part has no DTD; one could only be there to declare entities.
            self.head += chunk[:4096]
            if b"<!DOCTYPE" in self.head or b"<!ENTITY" in self.head:
                raise _damaged(self.source, _("it declares a DTD"))
        try:
            self.parser.feed(chunk)
            self._events()
        except etree.LxmlError as exc:
            raise _damaged(self.source, _xml_error(exc)) from None

    def close(self) -> list[str | Table]:
        try:
            self.parser.close()
            self._events()
        except etree.LxmlError as exc:
            raise _damaged(self.source, _xml_error(exc)) from None
        if not self.body:
            raise _damaged(self.source, _("it has no body"))
        return self.blocks

    def _events(self):
        for event, element in self.parser.read_events():
            if event == "start":
                self.depth += 1
                if self.depth == 1 and element.tag != f"{{{W}}}document":
                    raise _damaged(self.source, _("it has no body"))
                if self.depth == 2 and element.tag == f"{{{W}}}body":
                    self.body = True
                elif self.depth == 3 and self.body and element.tag == f"{{{W}}}tbl":
                    self.tables += 1
                    self.table = Table(self.tables, 0)
                continue
            self.depth -= 1
            self._end(element)

    def _end(self, element):
        tag, depth = element.tag, self.depth
        if depth == 2 and self.body:  # a child of the body: read, then dropped
            if tag == f"{{{W}}}p":
                self.blocks.append(_text(element, self.source))
            elif tag == f"{{{W}}}tbl" and self.table is not None:
                self.blocks.append(self.table)
                self.table = None
        elif self.table is not None and depth == 3 and tag == f"{{{W}}}tblGrid":
            self.table.columns = sum(1 for col in element if col.tag == f"{{{W}}}gridCol")
            if self.table.columns > MAX_COLUMNS:
                self._fail(_("its grid has %(n)d columns, more than %(max)d",
                             n=self.table.columns, max=MAX_COLUMNS))
        elif self.table is not None and depth == 4 and tag == f"{{{W}}}trPr":
            self._row_start(element)
        elif self.table is not None and depth == 4 and tag == f"{{{W}}}tc":
            self._cell(element)
        elif self.table is not None and depth == 3 and tag == f"{{{W}}}tr":
            self._row_end()
        else:
            return
        # Read: drop it, and what came before it, from the tree.
        element.clear()
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]

    def _fail(self, why: str):
        raise WordError(_("%(file)s: table %(table)d is damaged (%(why)s); open the document "
                          "in Word and save it again", file=self.source,
                          table=self.table.number, why=why))

    def _limit(self) -> int:
        return self.table.columns or MAX_COLUMNS

    def _ensure_row(self):
        if self.row is None:
            if len(self.table.rows) >= MAX_ROWS:
                self._fail(_("it has more than %(max)d rows", max=MAX_ROWS))
            self.row, self.row_width = [], 0

    def _row_start(self, trpr):
        self._ensure_row()
        before = _number(trpr.find(f"{{{W}}}gridBefore"))
        if before is None:
            return
        if before > self._limit():
            self._fail(_("a row starts %(n)d columns in, but the table has %(max)d",
                         n=before, max=self._limit()))
        self.row.extend(Cell("") for _i in range(before))

    def _cell(self, tc):
        self._ensure_row()
        props = tc.find(f"{{{W}}}tcPr")
        span, merge = 1, None
        if props is not None:
            span = _number(props.find(f"{{{W}}}gridSpan"))
            span = 1 if span is None or span < 1 else span
            merge = props.find(f"{{{W}}}vMerge")
        column = len(self.row)
        if column + span > self._limit():
            self._fail(_("row %(row)d has cells across %(n)d columns, but the table has "
                         "%(max)d", row=len(self.table.rows) + 1, n=column + span,
                         max=self._limit()))
        merged = merge is not None and merge.get(f"{{{W}}}val", "continue") != "restart"
        if merged:
            above = self.table.rows[-1] if self.table.rows else None
            if above is None or column >= len(above):
                self._fail(_("row %(row)d continues a merged cell that has nothing above it",
                             row=len(self.table.rows) + 1))
            text = above[column].text
        else:
            text = "\n".join(_text(p, self.source) for p in _paragraphs(tc))
            if len(text) > MAX_TEXT:
                self._fail(_("a cell holds more than %(n)d characters", n=MAX_TEXT))
        self.row.append(Cell(text, merged=merged))
        self.row.extend(Cell(text, merged=merged, spanned=True) for _i in range(span - 1))

    def _row_end(self):
        self._ensure_row()
        self.table.rows.append(self.row)
        self.row = None


def _paragraphs(tc):
    """A cell's own paragraphs (those of a table nested in it are not its text)."""
    for child in tc:
        if child.tag == f"{{{W}}}p":
            yield child
        elif child.tag == f"{{{W}}}sdt":  # a content control around paragraphs
            content = child.find(f"{{{W}}}sdtContent")
            if content is not None:
                yield from (p for p in content if p.tag == f"{{{W}}}p")


def _text(paragraph, source: str) -> str:
    """A paragraph's text: its runs' text, tabs and breaks; not text boxes or drawings."""
    parts, size = [], 0
    # Depth first with a stack of iterators, not recursion.
    stack = [iter(paragraph)]
    while stack:
        for element in stack[-1]:
            if element.tag in _SKIP:
                continue
            if element.tag in _TEXT_TAGS:
                text = _TEXT_TAGS[element.tag]
                text = (element.text or "") if text is None else text
                size += len(text)
                if size > MAX_TEXT:
                    raise _damaged(source, _("a paragraph holds more than %(n)d characters",
                                             n=MAX_TEXT))
                parts.append(text)
            elif len(element):
                stack.append(iter(element))
                break
        else:
            stack.pop()
    return "".join(parts)


def _number(element) -> int | None:
    """A ``w:val`` that is a count (gridSpan, gridBefore): a whole number, or None."""
    if element is None:
        return None
    value = element.get(f"{{{W}}}val", "")
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        return 10**9  # past any grid: refused as such
    return int(value)


def _xml_error(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
