"""Evidence files: checking what they are, storing them outside static.

The type is judged by content (magic numbers, via ``filetype``), and must agree
with the file's extension; the name on disk is generated, the uploader's name
is kept only in the database.
"""

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import filetype
from flask import current_app

from tracker.core.errors import TrackerError

#: Extension -> (content kinds ``filetype`` may report for it, MIME type served).
ALLOWED = {
    "pdf": ({"pdf"}, "application/pdf"),
    "doc": ({"doc"}, "application/msword"),
    "docx": ({"docx"}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xls": ({"xls"}, "application/vnd.ms-excel"),
    "xlsx": ({"xlsx"}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ppt": ({"ppt"}, "application/vnd.ms-powerpoint"),
    "pptx": ({"pptx"},
             "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "odt": ({"odt"}, "application/vnd.oasis.opendocument.text"),
    "ods": ({"ods"}, "application/vnd.oasis.opendocument.spreadsheet"),
    "odp": ({"odp"}, "application/vnd.oasis.opendocument.presentation"),
    "jpg": ({"jpg"}, "image/jpeg"),
    "jpeg": ({"jpg"}, "image/jpeg"),
    "png": ({"png"}, "image/png"),
    "gif": ({"gif"}, "image/gif"),
    "webp": ({"webp"}, "image/webp"),
}
#: Old Office files are OLE containers: ``filetype`` may report any of the three.
_OLE = {"doc", "xls", "ppt"}
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
    guessed = filetype.guess(data)
    found = guessed.extension if guessed else None
    if found not in kinds and not (kinds & _OLE and found in _OLE):
        raise TrackerError(f"the content of '{original}' is not a .{extension} file")
    return CheckedFile(original, extension, mime, len(data), hashlib.sha256(data).hexdigest())


def store(data: bytes, checked: CheckedFile, folder: Path, year: int) -> str:
    """Write the file under a generated name; return that name relative to ``folder``."""
    relative = f"{year}/{secrets.token_hex(16)}.{checked.extension}"
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as fh:
        fh.write(data)
    return relative


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
