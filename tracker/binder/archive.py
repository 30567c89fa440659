"""The binder as a ZIP: a folder per rubric row holding the evidence files as uploaded
(byte for byte), the statements as .txt, a 目录 (xlsx and html) and the binder PDF; and the
town's ZIP, a folder per unit. Written as a stream of chunks at constant memory: the ZIP
goes to a sink that is emptied after every piece, evidence is read in chunks, and one unit
is held at a time."""

import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import render_template

from tracker.binder.collect import STATUS_ZH, Binder, collect, safe_name, task_day
from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.tasks import evidence as files
from tracker.units.models import Unit

#: Bytes read from an evidence file at a time.
CHUNK = 256 * 1024


class _Sink:
    """A write-only stream for ZipFile that hands out what was written since last asked.
    It cannot seek, so ZipFile writes each entry's sizes after its data (a data
    descriptor) and never goes back."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


@dataclass
class Entry:
    """One file of the ZIP: bytes made here, or an evidence file read from disk."""

    name: str
    data: bytes | None = None
    path: Path | None = None


def stream_zip(entries: Iterator[Entry]) -> Iterator[bytes]:
    """The ZIP of ``entries``, as chunks; files compressed, except those already
    compressed (photos, PDFs, Office files), which are stored."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for entry in entries:
            method = zipfile.ZIP_DEFLATED if entry.name.endswith((".txt", ".html")) \
                else zipfile.ZIP_STORED
            info = zipfile.ZipInfo(entry.name, date_time=datetime.now().timetuple()[:6])
            info.compress_type = method
            info.external_attr = 0o644 << 16
            with archive.open(info, "w") as out:
                if entry.data is not None:
                    out.write(entry.data)
                else:
                    with open(entry.path, "rb") as source:
                        while chunk := source.read(CHUNK):
                            out.write(chunk)
                            yield sink.take()
            yield sink.take()
    yield sink.take()


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)`` etc. where a file of that name is in the folder already."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{extension}"
    taken.add(candidate.lower())
    return candidate


def _split(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    return (stem, "." + extension.lower()) if dot and stem else (name, "")


def unit_entries(binder: Binder, pdf: Path | None, prefix: str = "") -> Iterator[Entry]:
    """The unit's files in the ZIP, under ``prefix`` (the unit's folder in the town's)."""
    folder = files.folder()
    listing, taken = [], set()
    for row in binder.rows:
        base = f"{prefix}{row.folder}/"
        if not row.applicable:
            yield Entry(base + "不适用说明.txt", data=f"{row.heading}\n"
                        f"不适用：{row.reason}\n".encode("utf-8"))
            listing.append({"row": row, "entry": None})
            continue
        if row.statement:
            yield Entry(_unique(base + "单位情况说明.txt", taken),
                        data=row.statement.encode("utf-8"))
        for task in row.tasks:
            day = task_day(task, binder.timezone).isoformat()
            title = safe_name(task.title, 30)
            if task.note or task.statement:
                text = "\n\n".join(f"{label}：\n{value}" for label, value in (
                    ("填报说明", task.note), ("情况说明", task.statement)) if value)
                yield Entry(_unique(f"{base}{day} {title} 说明.txt", taken),
                            data=f"{task.title}\n\n{text}\n".encode("utf-8"))
        for entry in row.files:
            evidence, task = entry.evidence, entry.task
            stem, extension = _split(evidence.original_name)
            day = task_day(task, binder.timezone).isoformat()
            name = safe_name(f"{day} {safe_name(task.title, 20)} {stem}", 80) + extension
            name = _unique(base + name, taken)
            try:
                path = files.path_of(folder, evidence.stored_name)
            except TrackerError:
                path = None
            missing = path is None or not path.is_file()
            if not missing:
                yield Entry(name, path=path)
            listing.append({"row": row, "entry": entry, "name": name[len(prefix):],
                            "missing": missing})
        if not row.files:
            listing.append({"row": row, "entry": None})
    yield Entry(f"{prefix}目录.html", data=render_template(
        "binder/contents.html", binder=binder, listing=listing, status=STATUS_ZH,
        task_day=task_day).encode("utf-8"))
    yield Entry(f"{prefix}目录.xlsx", data=contents_xlsx(binder, listing))
    if pdf is not None:
        yield Entry(f"{prefix}{pdf_name(binder.unit.name, binder.year)}", path=pdf)


def pdf_name(unit_name: str, year: int) -> str:
    return safe_name(f"{unit_name} {year}年工作台账", 80) + ".pdf"


COLUMNS = ("考核指标", "指标内容", "适用", "任务", "日期", "状态", "文件（压缩包内路径）",
           "原文件名", "上传人", "上传时间", "大小（字节）", "SHA-256")


def contents_xlsx(binder: Binder, listing: list[dict]) -> bytes:
    """The 目录 as a worksheet: a line per evidence file, and one per row without any."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("目录")
    sheet.append([f"{binder.unit.name} {binder.year}年工作台账 目录"])
    sheet.append(list(COLUMNS))
    for item in listing:
        row, entry = item["row"], item["entry"]
        head = [row.code, row.title, "是" if row.applicable else f"否：{row.reason}"]
        if entry is None:
            sheet.append(head)
            continue
        f, task = entry.evidence, entry.task
        sheet.append(head + [
            task.title, task_day(task, binder.timezone).isoformat(),
            STATUS_ZH[task.status.value], "（文件缺失）" if item["missing"] else item["name"],
            f.original_name, (f.uploaded_by.name or f.uploaded_by.email) if f.uploaded_by else "",
            binder.local(f.uploaded_at), f.size, f.sha256])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def unit_zip(binder: Binder, with_pdf: bool = True, progress=None) -> Iterator[bytes]:
    """One unit's binder ZIP, as chunks; its PDF is written to a temporary file first."""
    from tracker.binder.pdf import write_pdf

    with tempfile.TemporaryDirectory(prefix="tracker-binder-") as tmp:
        pdf = None
        if with_pdf:
            pdf = Path(tmp) / "binder.pdf"
            with open(pdf, "wb") as fh:
                write_pdf(binder, fh, progress)
        yield from stream_zip(unit_entries(binder, pdf))


def town_zip(unit_ids: list[int], year: int, now: datetime, with_pdf: bool = True,
             progress: Callable[[int, int], None] | None = None) -> Iterator[bytes]:
    """Every unit's binder in one ZIP, a folder per unit, as chunks. One unit is loaded at a
    time and let go before the next; its PDF goes through a temporary file."""
    from tracker.binder.pdf import write_pdf

    def entries(tmp: Path):
        for done, unit_id in enumerate(unit_ids):
            unit = db.session.get(Unit, unit_id)
            binder = collect(unit, year, now)
            pdf = None
            if with_pdf:
                pdf = tmp / "binder.pdf"
                with open(pdf, "wb") as fh:
                    write_pdf(binder, fh)
            yield from unit_entries(binder, pdf, prefix=safe_name(unit.name, 80) + "/")
            del binder
            db.session.expunge_all()  # the identity map would grow by a unit each time
            if progress:
                progress(done + 1, len(unit_ids))

    with tempfile.TemporaryDirectory(prefix="tracker-binder-") as tmp:
        yield from stream_zip(entries(Path(tmp)))
