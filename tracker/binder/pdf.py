"""The binder as one PDF: cover, contents, a section per rubric row, the materials bound in.

WeasyPrint lays out the cover, the contents and the rows (``templates/binder/binder.html``);
the evidence goes in afterwards with pikepdf (qpdf), each file's pages right after its row's
section: qpdf copies a file's objects as they are written, so the evidence is never all held
in memory at once.
The attachment pages are counted first, so that the row sections' page numbers (and the
contents' numbers, read from them) already skip them: each row starts on a named page whose
first page adds the pages bound in after the row before it.
"""

import ctypes
import gc
import io
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import render_template

from tracker.binder.collect import OTHER_NOTE, STATUS_ZH, Binder, FileEntry, task_day
from tracker.core.errors import TrackerError
from tracker.core.pdf import render_pdf
from tracker.tasks import evidence as files

#: A4 in PDF points, and the margin around a placed photo.
A4 = (595.28, 841.89)
PHOTO_MARGIN = 42.0
#: Longest side of the JPEG a photo is placed as (pixels): 1000 px across A4's printed
#: width is about 140 dpi, enough for a photo of a meeting, and lets a phone's JPEG be
#: decoded at a quarter of its size.
PHOTO_SIDE = 1000
PHOTO_DPI = 150
#: A decoded photo up to this many times ``PHOTO_SIDE`` is placed as it is, not resampled.
PHOTO_SLACK = 1.25
#: Threads converting photos side by side.
PHOTO_THREADS = max(2, min(4, os.cpu_count() or 1))


@dataclass
class Bound:
    """What the binder did with one evidence file."""

    entry: FileEntry
    #: Pages it takes in the binder (0: listed only).
    pages: int = 0
    #: Why it is listed only (other formats, or a file that cannot be read).
    note: str = ""
    path: Path | None = None
    #: A photo, converted to a one-page PDF in a temporary folder (None: not converted, or
    #: not convertible).
    photo: Path | None = None

    def insert_into(self, pdf, at: int, sources: ExitStack) -> int:
        """Its A4 pages into ``pdf`` at page index ``at``; the index after them. The source
        files stay open in ``sources`` until ``pdf`` is written. A photo is placed within the
        margin, enlarged to fit; a PDF's pages are taken as they are when A4 and upright,
        else shrunk onto A4 and centred. Always ``pages`` pages (the contents' numbers
        counted on them): a photo that could not be converted after all (its data broken
        after a sound header) leaves its page blank, and so would a file changed since."""
        import pikepdf

        if not self.pages:
            return at
        if self.entry.kind == "image":
            page = _blank_page(pdf, at)
            if self.photo is not None:
                photo = sources.enter_context(pikepdf.open(self.photo))
                page.add_overlay(photo.pages[0], pikepdf.Rectangle(
                    PHOTO_MARGIN, PHOTO_MARGIN, A4[0] - PHOTO_MARGIN, A4[1] - PHOTO_MARGIN))
            return at + 1
        try:
            source = sources.enter_context(pikepdf.open(self.path))
            pages = list(source.pages)[:self.pages]
        except (pikepdf.PdfError, pikepdf.PasswordError, OSError, ValueError):
            pages = []
        for page in pages:
            if _upright_a4(page):
                pdf.pages.insert(at, page)
            else:
                _blank_page(pdf, at).add_overlay(
                    page, pikepdf.Rectangle(0, 0, *A4), expand=False)
            at += 1
        for _ in range(self.pages - len(pages)):
            _blank_page(pdf, at)
            at += 1
        return at


def _upright_a4(page) -> bool:
    """Whether a page is A4, upright and unrotated, to be taken as it is."""
    box = page.cropbox
    return not int(page.obj.get("/Rotate", 0)) % 360 and not float(box[0]) \
        and not float(box[1]) and abs(float(box[2]) - A4[0]) < 3 \
        and abs(float(box[3]) - A4[1]) < 3


def _blank_page(pdf, at: int):
    """A blank A4 page inserted into ``pdf`` at index ``at``, returned."""
    import pikepdf

    pdf.pages.insert(at, pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, *A4], Resources=pikepdf.Dictionary(),
        Contents=pdf.make_stream(b""))))
    return pdf.pages[at]


def _count_pages(path: Path) -> tuple[int, str]:
    """The pages of an evidence PDF, or 0 and why it cannot be bound in (unreadable, or
    encrypted with a password to open it)."""
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            return len(pdf.pages), ""
    except (pikepdf.PdfError, pikepdf.PasswordError, OSError, ValueError):
        return 0, "无法读取（或已加密），未装订"


def _photo_ok(path: Path) -> bool:
    """Whether Pillow knows the picture and it is not too large to decode (its header
    only: the pictures are converted after the text is laid out)."""
    from PIL import Image, UnidentifiedImageError

    files.register_heif()
    try:
        with Image.open(path) as image:
            return image.width * image.height <= files.MAX_PREVIEW_PIXELS
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError):
        return False


def convert_photos(bound: list[Bound], folder: Path) -> None:
    """Each photo to bind as a one-page PDF in ``folder`` (on disk, so that a hundred
    photos do not add to the binding's peak), once per file, two or more side by side in
    threads (Pillow lets go of the GIL while it decodes and encodes)."""
    def convert(n: int, source: Path) -> Path | None:
        converted = photo_pdf(source.read_bytes())
        if converted is None:
            return None
        target = folder / f"{n}.pdf"
        target.write_bytes(converted)
        return target

    photos = [b for b in bound if b.entry.kind == "image" and b.pages]
    with ThreadPoolExecutor(max_workers=PHOTO_THREADS) as pool:
        converted = list(pool.map(convert, range(len(photos)), [b.path for b in photos]))
    for b, path in zip(photos, converted):
        b.photo = path


def photo_pdf(data: bytes, side: int = PHOTO_SIDE) -> bytes | None:
    """A photo as a one-page PDF (turned upright, about ``side`` px a side, JPEG inside);
    None if it cannot be read. A JPEG is decoded at a reduced scale (1/2 to 1/8) straight
    away, which makes a phone's 12-megapixel photo quick, and kept at that scale when it is
    within ``PHOTO_SLACK`` of ``side`` (a 4032 px photo decodes at 1008 px: resampling it
    to 1000 would cost a third of the time for nothing seen on paper). Pure; safe in
    threads."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    files.register_heif()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > files.MAX_PREVIEW_PIXELS:
                return None
            scale = side / max(image.width, image.height)
            if scale < 1:
                image.draft("RGB", (int(image.width * scale), int(image.height * scale)))
            picture = ImageOps.exif_transpose(image)
            if max(picture.size) > side * PHOTO_SLACK:  # the decoder's scale not near enough
                picture.thumbnail((side, side), Image.Resampling.BILINEAR)
            if picture.mode != "RGB":
                picture = picture.convert("RGB")
            out = io.BytesIO()
            picture.save(out, "PDF", resolution=PHOTO_DPI, quality=85)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError):
        return None


def _path(entry: FileEntry, folder: Path) -> Path | None:
    """Where the evidence file lies, or None if it is not there."""
    try:
        path = files.path_of(folder, entry.evidence.stored_name)
    except TrackerError:  # a stored name outside the folder: never read
        return None
    return path if path.is_file() else None


def bind_all(entries: list[FileEntry], folder: Path) -> list[Bound]:
    """What each evidence file becomes: a PDF's pages (counted), a photo on a page (its
    header checked); other formats are listed only."""
    out = []
    for entry in entries:
        path = _path(entry, folder) if entry.kind != "other" else None
        if entry.kind == "other":
            out.append(Bound(entry, note="仅列出（格式不能装订）"))
        elif path is None:
            out.append(Bound(entry, note="文件缺失"))
        elif entry.kind == "pdf":
            pages, note = _count_pages(path)
            out.append(Bound(entry, pages, note, path))
        elif _photo_ok(path):
            out.append(Bound(entry, 1, "", path))
        else:
            out.append(Bound(entry, note="无法读取，未装订"))
    return out


def release_memory() -> None:
    """Collect garbage and hand the freed heap back to the system (glibc's malloc_trim),
    so that the next step does not add to the peak of the one before."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        pass


def human_size(size: int) -> str:
    """Bytes as a person reads them: 512 B, 3.4 KB, 2.1 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def build_pdf(binder: Binder, progress=None) -> bytes:
    """The binder's PDF as bytes (``write_pdf`` into memory)."""
    out = io.BytesIO()
    write_pdf(binder, out, progress)
    return out.getvalue()


def write_pdf(binder: Binder, out: BinaryIO, progress=None) -> None:
    """Write the binder's PDF to ``out``. ``progress(done, total)`` is called after each of
    its three steps: files read, text laid out, the two bound together."""
    everything = bind_all([entry for row in binder.rows for entry in row.files],
                          files.folder())
    bound: list[list[Bound]] = []
    flat = everything
    for row in binder.rows:
        bound.append(flat[:len(row.files)])
        flat = flat[len(row.files):]
    if progress:
        progress(1, 3)
    extra = [sum(b.pages for b in row) for row in bound]
    with tempfile.TemporaryDirectory(prefix="tracker-binder-") as converted:
        document = _lay_out(binder, bound, extra, everything, Path(converted))
        if progress:
            progress(2, 3)
        _bind(binder, document, bound, extra, out)
    if progress:
        progress(3, 3)


def _lay_out(binder: Binder, bound: list[list[Bound]], extra: list[int],
             everything: list[Bound], converted: Path) -> bytes:
    """The cover, contents and rows laid out (WeasyPrint's PDF); then the photos converted
    into ``converted``, after the layout has let go of its memory."""
    html = render_template("binder/binder.html", binder=binder, rows=binder.rows, bound=bound,
                           extra=extra, status=STATUS_ZH, task_day=task_day,
                           human_size=human_size, other_note=OTHER_NOTE)
    document = render_pdf(html)
    del html
    release_memory()  # the layout's, before the evidence comes in
    convert_photos(everything, converted)
    release_memory()  # the threads' decoding buffers
    return document


def _bind(binder: Binder, document: bytes, bound: list[list[Bound]], extra: list[int],
          out: BinaryIO) -> None:
    """The laid-out ``document`` with the evidence bound in after each row, and the
    outline, written to ``out``."""
    import pikepdf

    with pikepdf.open(io.BytesIO(document)) as pdf, ExitStack() as sources:
        index = {page.obj.objgen: n for n, page in enumerate(pdf.pages)}
        destinations = pikepdf.NameTree(pdf.Root.Names.Dests)

        def page_of(name: str) -> int:
            return index[destinations[name][0].objgen]

        starts = [page_of(f"row-{i}") for i in range(len(binder.rows))]
        toc = page_of("contents")
        ends = [s - 1 for s in starts[1:]] + [len(pdf.pages) - 1]
        # From the last row back, so that the earlier rows' page indexes stay as they were.
        for i in reversed(range(len(binder.rows))):
            at = ends[i] + 1
            for item in bound[i]:
                at = item.insert_into(pdf, at, sources)
        # The outline, on the final page indexes: cover, contents, groups, rows, attachments.
        with pdf.open_outline() as outline:
            outline.root.clear()
            outline.root.extend([pikepdf.OutlineItem("封面", 0),
                                 pikepdf.OutlineItem("目录", toc)])
            shift, groups = 0, {}
            for i, row in enumerate(binder.rows):
                start = starts[i] + shift
                group = row.path[0] if row.path else None
                parent = outline.root
                if group is not None:
                    if group.id not in groups:
                        groups[group.id] = pikepdf.OutlineItem(
                            f"{group.code} {group.title}", start)
                        outline.root.append(groups[group.id])
                    parent = groups[group.id].children
                label = row.heading + ("" if row.applicable else "（不适用）")
                item = pikepdf.OutlineItem(label, start)
                parent.append(item)
                page = ends[i] + shift + 1
                for n, b in enumerate(bound[i], 1):
                    if b.pages:
                        item.children.append(pikepdf.OutlineItem(
                            f"附件{n} {b.entry.evidence.original_name}", page))
                        page += b.pages
                shift += extra[i]
        pdf.Root.PageMode = pikepdf.Name.UseOutlines
        pdf.docinfo[pikepdf.Name.Title] = f"{binder.unit.name} {binder.year}年工作台账"
        pdf.docinfo[pikepdf.Name.Creator] = "tracker"
        pdf.save(out)
