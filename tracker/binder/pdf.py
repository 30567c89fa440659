"""The binder as one PDF: cover, contents, a section per rubric row, the materials bound in.

WeasyPrint lays out the cover, the contents and the rows (``templates/binder/binder.html``);
the evidence goes in afterwards with pypdf, each file's pages right after its row's section.
The attachment pages are counted first, so that the row sections' page numbers (and the
contents' numbers, read from them) already skip them: each row starts on a named page whose
first page adds the pages bound in after the row before it.
"""

import io
from dataclasses import dataclass, field
from pathlib import Path

from flask import render_template

from tracker.binder.collect import Binder, FileEntry, STATUS_ZH, task_day
from tracker.core.errors import TrackerError
from tracker.core.pdf import render_pdf
from tracker.tasks import evidence as files

#: A4 in PDF points, and the margin around a placed photo.
A4 = (595.28, 841.89)
PHOTO_MARGIN = 42.0
#: Side of the JPEG a photo is placed as (pixels): 1600 px over A4's width is ~200 dpi.
PHOTO_SIDE = 1600


@dataclass
class Bound:
    """What the binder did with one evidence file."""

    entry: FileEntry
    pages: list = field(default_factory=list)  # A4 pypdf pages bound in
    #: Why it is listed only (other formats, or a file that cannot be read).
    note: str = ""


def _fit(page, margin: float, enlarge: bool):
    """``page`` on an A4 page, scaled to fit within ``margin`` (smaller only, unless
    ``enlarge``) and centred; an upright A4 page as it is."""
    from pypdf import PageObject, Transformation

    if page.get("/Rotate"):
        page.transfer_rotation_to_content()
    box = page.cropbox
    width, height = float(box.width), float(box.height)
    if not margin and abs(width - A4[0]) < 3 and abs(height - A4[1]) < 3 \
            and not float(box.left) and not float(box.bottom):
        return page
    scale = min((A4[0] - 2 * margin) / width, (A4[1] - 2 * margin) / height)
    if not enlarge:
        scale = min(scale, 1.0)
    x = (A4[0] - width * scale) / 2 - float(box.left) * scale
    y = (A4[1] - height * scale) / 2 - float(box.bottom) * scale
    blank = PageObject.create_blank_page(width=A4[0], height=A4[1])
    blank.merge_transformed_page(page, Transformation().scale(scale, scale).translate(x, y))
    return blank


def _pdf_pages(path: Path) -> tuple[list, str]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            return [], "加密文件，未装订"
        return [_fit(p, 0, False) for p in reader.pages], ""
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return [], "无法读取，未装订"


def _photo_pages(path: Path) -> tuple[list, str]:
    from PIL import Image
    from pypdf import PdfReader

    jpeg = files.preview_jpeg(path.read_bytes(), PHOTO_SIDE)
    if jpeg is None:
        return [], "无法读取，未装订"
    out = io.BytesIO()
    with Image.open(io.BytesIO(jpeg)) as picture:
        picture.save(out, "PDF", resolution=200)
    out.seek(0)
    return [_fit(PdfReader(out).pages[0], PHOTO_MARGIN, True)], ""


def bind(entry: FileEntry, folder: Path) -> Bound:
    """Read one evidence file into A4 pages: a PDF's pages, a photo on a page; other
    formats are listed only."""
    if entry.kind == "other":
        return Bound(entry, note="仅列出（格式不能装订）")
    try:
        path = files.path_of(folder, entry.evidence.stored_name)
    except TrackerError:  # a stored name outside the folder: never read
        return Bound(entry, note="文件缺失")
    if not path.is_file():
        return Bound(entry, note="文件缺失")
    pages, note = (_pdf_pages if entry.kind == "pdf" else _photo_pages)(path)
    return Bound(entry, pages, note)


def human_size(size: int) -> str:
    """Bytes as a person reads them: 512 B, 3.4 KB, 2.1 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def build_pdf(binder: Binder, progress=None) -> bytes:
    """The binder's PDF. ``progress(done, total)`` is called as rows are bound in."""
    from pypdf import PdfReader, PdfWriter

    folder = files.folder()
    total = len(binder.rows) + 1
    bound: list[list[Bound]] = []
    for i, row in enumerate(binder.rows):
        bound.append([bind(entry, folder) for entry in row.files])
        if progress:
            progress(i + 1, total)
    extra = [sum(len(b.pages) for b in row) for row in bound]
    html = render_template("binder/binder.html", binder=binder, rows=binder.rows, bound=bound,
                           extra=extra, status=STATUS_ZH, task_day=task_day,
                           human_size=human_size)
    document = PdfReader(io.BytesIO(render_pdf(html)))
    writer = PdfWriter(clone_from=document)
    starts = [document.get_destination_page_number(document.named_destinations[f"row-{i}"])
              for i in range(len(binder.rows))]
    toc = document.get_destination_page_number(document.named_destinations["contents"])
    ends = [s - 1 for s in starts[1:]] + [len(document.pages) - 1]
    # From the last row back, so that the earlier rows' page indexes stay as they were.
    for i in reversed(range(len(binder.rows))):
        at = ends[i] + 1
        for item in bound[i]:
            for page in item.pages:
                writer.insert_page(page, at)
                at += 1
    # The outline, on the final page indexes: cover, contents, groups, rows, attachments.
    writer.add_outline_item(title="封面", page_number=0)
    writer.add_outline_item(title="目录", page_number=toc)
    shift, groups = 0, {}
    for i, row in enumerate(binder.rows):
        start = starts[i] + shift
        group = row.path[0] if row.path else None
        parent = None
        if group is not None:
            if group.id not in groups:
                groups[group.id] = writer.add_outline_item(
                    title=f"{group.code} {group.title}", page_number=start)
            parent = groups[group.id]
        label = f"{row.code} {row.node.title}" + ("" if row.applicable else "（不适用）")
        item = writer.add_outline_item(title=label, page_number=start, parent=parent)
        page = ends[i] + shift + 1
        for n, b in enumerate(bound[i], 1):
            if b.pages:
                writer.add_outline_item(title=f"附件{n} {b.entry.evidence.original_name}",
                                        page_number=page, parent=item)
                page += len(b.pages)
        shift += extra[i]
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": f"{binder.unit.name} {binder.year}年工作台账",
                         "/Creator": "tracker"})
    out = io.BytesIO()
    writer.write(out)
    if progress:
        progress(total, total)
    return out.getvalue()
