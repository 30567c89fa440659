"""Evidence files: checking what they are, storing them outside static, previews.

The type is judged by content (magic numbers, via ``filetype``, or the container's own
structure for the formats it does not know), and must agree with the file's extension;
the name on disk is generated, the uploader's name is kept only in the database.
"""

import errno
import fcntl
import hashlib
import io
import os
import re
import secrets
import struct
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath

import filetype
from flask import current_app

from tracker.core.errors import TrackerError

#: Content kinds judged here rather than by ``filetype``.
OLE, OFD, HEIF = "ole", "ofd", "heif"
#: Extension -> (content kinds it may have, MIME type served).
ALLOWED = {
    "pdf": ({"pdf"}, "application/pdf"),
    # Old Office files and WPS Office's own (文字 .wps, 表格 .et, 演示 .dps) are OLE
    # compound files; what is inside is the office program's business.
    "doc": ({OLE}, "application/msword"),
    "xls": ({OLE}, "application/vnd.ms-excel"),
    "ppt": ({OLE}, "application/vnd.ms-powerpoint"),
    "wps": ({OLE}, "application/vnd.ms-works"),
    "et": ({OLE}, "application/vnd.ms-excel"),
    "dps": ({OLE}, "application/vnd.ms-powerpoint"),
    "docx": ({"docx"}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ({"xlsx"}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": ({"pptx"},
             "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "odt": ({"odt"}, "application/vnd.oasis.opendocument.text"),
    "ods": ({"ods"}, "application/vnd.oasis.opendocument.spreadsheet"),
    "odp": ({"odp"}, "application/vnd.oasis.opendocument.presentation"),
    # OFD (GB/T 33190-2016), China's format for fixed-layout official documents.
    "ofd": ({OFD}, "application/ofd"),
    "jpg": ({"jpg"}, "image/jpeg"),
    "jpeg": ({"jpg"}, "image/jpeg"),
    "png": ({"png"}, "image/png"),
    "gif": ({"gif"}, "image/gif"),
    "webp": ({"webp"}, "image/webp"),
    # iPhones' photos; shown in pages as a JPEG preview.
    "heic": ({HEIF}, "image/heic"),
    "heif": ({HEIF}, "image/heif"),
}
#: Pictures the task page shows (as they are, or as a JPEG preview).
IMAGES = {"jpg", "jpeg", "png", "gif", "webp", "heic", "heif"}
#: What the upload field offers: pictures (a phone offers its camera too) and the rest.
ACCEPT = ",".join(["image/*"] + ["." + ext for ext in ALLOWED])
MAX_NAME = 200


@dataclass
class CheckedFile:
    original_name: str
    extension: str
    content_type: str
    size: int
    sha256: str


def clean_name(name: str) -> str:
    """The file's own name: path parts and control characters removed."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = stem[: MAX_NAME - len(ext) - 1] + dot + ext if dot else base[:MAX_NAME]
    return base or "file"


def check(data: bytes, name: str, max_bytes: int) -> CheckedFile:
    """Refuse an empty, oversized, disallowed or mislabelled file; describe a good one."""
    original = clean_name(name)
    if not data:
        raise TrackerError("the file is empty")
    if len(data) > max_bytes:
        raise TrackerError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    extension = original.rpartition(".")[2].lower() if "." in original else ""
    if extension not in ALLOWED:
        raise TrackerError(
            f"files of type '.{extension}' are not accepted (accepted: PDF, Office documents, "
            f"images: {', '.join(sorted(ALLOWED))})" if extension else
            "the file name has no extension such as .pdf or .jpg")
    kinds, mime = ALLOWED[extension]
    if content_kind(data) not in kinds:
        raise TrackerError(f"the content of '{original}' is not a .{extension} file")
    return CheckedFile(original, extension, mime, len(data), hashlib.sha256(data).hexdigest())


def content_kind(data: bytes) -> str | None:
    """What the bytes are: an OLE compound file, an OFD document, a HEIF image, or the
    kind ``filetype`` reports (``pdf``, ``docx``, ``jpg``, ...); None if unknown."""
    if is_ole(data):
        return OLE
    if is_heif(data):
        return HEIF
    if is_ofd(data):
        return OFD
    guessed = filetype.guess(data)
    return guessed.extension if guessed else None


_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")


def is_ole(data: bytes) -> bool:
    """An OLE compound file (MS-CFB): its signature, and a header that holds together
    (byte order mark, version 3 with 512-byte or 4 with 4096-byte sectors, 64-byte mini
    sectors, at least one sector of the allocation table)."""
    if len(data) < 1024 or data[:8] != _OLE_MAGIC:
        return False
    major, order, shift, mini_shift = struct.unpack_from("<HHHH", data, 26)
    fat_sectors, = struct.unpack_from("<I", data, 44)
    return (order == 0xFFFE and (major, shift) in ((3, 9), (4, 12)) and mini_shift == 6
            and fat_sectors >= 1)


#: The root element of OFD.xml, in its first kilobytes (``<ofd:OFD ...>``).
_OFD_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?OFD[\s>/]")


def is_ofd(data: bytes) -> bool:
    """An OFD document: a ZIP whose root holds OFD.xml, the document's entry point."""
    if data[:4] != b"PK\x03\x04":
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "OFD.xml" not in archive.namelist():
                return False
            with archive.open("OFD.xml") as entry:
                head = entry.read(4096)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        return False
    return bool(_OFD_ROOT.search(head))


#: ISO-BMFF brands of HEIF images coded with HEVC (not AVIF: nothing here decodes AV1).
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}


def is_heif(data: bytes) -> bool:
    """A HEIF/HEIC image: an ISO-BMFF ``ftyp`` box naming an HEVC image brand."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    size, = struct.unpack_from(">I", data, 0)
    if not 16 <= size <= min(len(data), 4096) or size % 4:
        return False
    brands = {data[8:12]} | {data[i:i + 4] for i in range(16, size, 4)}
    return bool(brands & _HEIF_BRANDS)


#: Largest side of a preview, and the most pixels a picture may be decoded at to get one
#: (a JPEG is decoded scaled down, so a phone's 50-megapixel photo is well within it;
#: 16 million RGBA pixels are 64 MB): an 8000×7999 PNG of 264 KB would take ~950 MB.
PREVIEW_SIDE = 1600
MAX_PREVIEW_PIXELS = 16_000_000
#: A stored picture's preview lies beside it, named after it (an empty file: none).
PREVIEW = ".preview.jpg"
#: How long a request waits for its turn to decode a picture (one at a time).
PREVIEW_WAIT_SECONDS = 20


def preview_jpeg(data: bytes, side: int = PREVIEW_SIDE) -> bytes | None:
    """A JPEG of the picture (turned upright, at most ``side`` px a side), for pages:
    browsers other than Safari cannot show HEIC, and a phone's photo is large. None when
    the picture cannot be read or is too large to decode."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    register_heif()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (side, side))  # JPEG: decode at a smaller scale
            # Read from the header, before anything is decoded.
            if image.width * image.height > MAX_PREVIEW_PIXELS:
                return None
            picture = ImageOps.exif_transpose(image)
            picture.thumbnail((side, side))
            if picture.mode != "RGB":
                picture = _flatten(picture)
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


class PreviewBusy(Exception):
    """Other requests are decoding pictures; try again shortly."""


def preview_file(folder: Path, stored_name: str) -> Path | None:
    """The JPEG preview of a stored picture, made the first time it is asked for and kept
    beside it (None: the picture has none). Pictures are decoded one at a time across
    every worker (a lock file), and an original is never decoded again once its
    preview is made; PreviewBusy if the turn does not come within PREVIEW_WAIT_SECONDS."""
    original = path_of(folder, stored_name)
    target = original.with_name(original.name + PREVIEW)
    if not target.exists():
        with _one_at_a_time(folder / ".previews.lock"):
            if not target.exists():  # made by the request that held the lock before
                _write_whole(target, preview_jpeg(original.read_bytes()) or b"")
    return target if target.stat().st_size else None


@contextmanager
def _one_at_a_time(lock: Path):
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + PREVIEW_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PreviewBusy() from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # lets the lock go


def _flatten(picture):
    """An RGB copy of the picture, transparency on white."""
    from PIL import Image

    rgba = picture.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


_heif_registered = False


def register_heif() -> None:
    """Teach Pillow to open HEIF (pillow-heif), once."""
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


#: Suffix of a file being written; renamed to its final name once whole.
PART = ".part"
#: What a stored file is called: ``<year>/<32 hex digits>.<extension>``, its preview
#: that and ``.preview.jpg`` (``.part`` while being written). Cleanup touches nothing else.
_STORED = re.compile(r"^(\d{4}/[0-9a-f]{32}\.[a-z0-9]{1,8})(\.preview\.jpg)?(\.part)?$")


def private_folder(path: Path) -> None:
    """A folder (and its missing parents) that only its owner may enter, whatever the umask."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for made in missing:
        made.chmod(0o700)


def store(data: bytes, checked: CheckedFile, folder: Path, year: int) -> str:
    """Write the file under a generated name, for its owner's eyes only; return that name
    relative to ``folder``.

    The bytes go to ``<name>.part``, reach the disk, then the file is renamed: a file under
    a final name is always whole. The caller commits its row after this; a process killed
    before the commit leaves a whole file with no row, and one killed while writing a
    ``.part`` file; ``cleanup`` removes both once they are a day old. The other order
    (commit, then rename) could leave a committed row whose file is not there.
    """
    relative = f"{year}/{secrets.token_hex(16)}.{checked.extension}"
    path = folder / relative
    private_folder(path.parent)
    _write_whole(path, data)
    return relative


def _write_whole(path: Path, data: bytes) -> None:
    """``data`` to ``<path>.part``, on the disk, then renamed to ``path`` (0600)."""
    part = path.with_name(path.name + PART)
    try:
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the quota, or the size a file may have) is used up:
    a 507 for the person uploading, not a 500."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def cleanup(folder: Path, stored_names: set[str], now: datetime,
            older_than: timedelta = timedelta(days=1)) -> list[str]:
    """Remove what interrupted uploads and deletions left, once older than ``older_than``:
    ``.part`` files, and stored files that no row names. Younger ones may belong to an
    upload not yet committed. Returns the names removed, relative to ``folder``."""
    if not folder.is_dir():
        return []
    cutoff, removed = (now - older_than).timestamp(), []
    for path in sorted(folder.glob("*/*")):
        name = path.relative_to(folder).as_posix()
        match = _STORED.match(name)
        if not match or not path.is_file() or path.is_symlink():
            continue
        # A preview goes with its picture.
        if name.endswith(PART) or match[1] not in stored_names:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(name)
            except FileNotFoundError:
                pass
    return removed


def folder() -> Path:
    """Where evidence files are kept: EVIDENCE_DIR, or ``evidence/`` in the instance folder
    (outside static either way)."""
    return Path(current_app.config.get("EVIDENCE_DIR")
                or Path(current_app.instance_path) / "evidence")


def path_of(folder: Path, stored_name: str) -> Path:
    """Where a stored file lies; never outside ``folder``."""
    path = (folder / stored_name).resolve()
    if folder.resolve() not in path.parents:
        raise TrackerError("bad stored file name")
    return path
