"""The registry of exports: every file the app writes for people to take away.

An *export* is one format of one *subject* (what is exported: the scoring sheet, the
feedback sheet, a unit's 台账, a list of rows …). Each says its name (``format``, as URLs
and ``--format`` spell it), its file extension, its media type, the label the interface
shows (through the catalogue), who may have it (the area's permission) and how it writes:
a writer taking the subject's data and a binary stream.

A subject says how the web serves its exports (``url``: the area's one view, which takes
any registered format) and whether its links are plain links or forms that start a build
(``method``). Areas register their own subjects and exports (in their ``exports`` module);
views serve them through ``send_export``, the command line picks them with
``tracker.core.cli``'s ``FormatChoice`` and ``output_export``, and templates list them
with the ``export_links`` macro (``templates/_exports.html``). A new format is one
``register`` call: the page's links, the view and the command line follow.
"""

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app, send_file
from flask_login import current_user

from tracker.core.web import attachment


def coordinator(user, unit_id: int | None) -> bool:
    """The coordinator only."""
    return bool(getattr(user, "is_authenticated", False) and user.is_admin)


def own_unit(user, unit_id: int | None) -> bool:
    """The coordinator, or the unit's own people for that unit."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin or (unit_id is not None and user.unit_id == unit_id))


@dataclass(frozen=True)
class Export:
    """One format of one subject."""

    subject: str
    #: The name in URLs (``export.<format>``) and in ``--format``: ``xlsx``, ``csv`` …
    format: str
    #: With its dot: ``.xlsx``.
    extension: str
    media_type: str
    #: What the interface shows: a lazy gettext string (or plain text).
    label: Any
    #: ``write(data, stream)``: the subject's data into a binary stream.
    write: Callable[[Any, BinaryIO], None] = field(compare=False)
    #: ``may(user, unit_id)``: who may have it (``unit_id`` None: every unit's).
    may: Callable[[Any, int | None], bool] = field(default=own_unit, compare=False)
    #: Shown in the browser (a print view) rather than downloaded.
    inline: bool = False
    #: Offered on the command line (``-o FILE.ext`` or ``--format``); a page that needs a
    #: browser's session (a print view) is not.
    cli: bool = True
    #: Offered on the web (links, the view); a terminal's table is not.
    web: bool = True

    def filename(self, stem: str) -> str:
        """``stem`` with this export's extension."""
        return stem + self.extension

    def bytes_of(self, data) -> bytes:
        """What the writer writes for ``data``."""
        stream = io.BytesIO()
        self.write(data, stream)
        return stream.getvalue()


@dataclass(frozen=True)
class Subject:
    """What is exported, and how the web reaches its exports."""

    name: str
    #: ``url(export, **args)``: where the web serves (or starts building) the export;
    #: None where the subject has no page (a terminal's lists).
    url: Callable[..., str | None] | None = field(default=None, compare=False)
    #: ``get``: links; ``post``: buttons that start a build.
    method: str = "get"


_SUBJECTS: dict[str, Subject] = {}
_EXPORTS: dict[str, dict[str, Export]] = {}


def subject(name: str, url=None, method: str = "get") -> Subject:
    """Register a subject (once; again with the same name replaces its url and method)."""
    _SUBJECTS[name] = Subject(name, url, method)
    _EXPORTS.setdefault(name, {})
    return _SUBJECTS[name]


def register(export: Export) -> Export:
    """Add an export to its subject; a format registered twice is a programming error."""
    if export.subject not in _SUBJECTS:
        raise ValueError(f"no export subject {export.subject!r}")
    if not export.extension.startswith("."):
        raise ValueError(f"{export.format}: the extension {export.extension!r} needs its dot")
    formats = _EXPORTS[export.subject]
    if export.format in formats:
        raise ValueError(f"{export.subject} already has an export {export.format!r}")
    formats[export.format] = export
    return export


def unregister(subject_name: str, fmt: str) -> None:
    """Remove a format (tests that registered one)."""
    _EXPORTS.get(subject_name, {}).pop(fmt, None)


def exports_of(subject_name: str, *, web: bool | None = None,
               cli: bool | None = None) -> list[Export]:
    """The subject's exports, in the order registered (optionally: only the web's or only
    the command line's)."""
    return [e for e in _EXPORTS.get(subject_name, {}).values()
            if (web is None or e.web == web) and (cli is None or e.cli == cli)]


def get(subject_name: str, fmt: str, *, web: bool | None = None,
        cli: bool | None = None) -> Export | None:
    """The export of that format, or None."""
    return next((e for e in exports_of(subject_name, web=web, cli=cli) if e.format == fmt),
                None)


def for_file(subject_name: str, path: Path) -> Export | None:
    """The command line's export whose extension ``path`` ends with (any case), or None."""
    suffix = path.suffix.lower()
    return next((e for e in exports_of(subject_name, cli=True) if e.extension == suffix),
                None)


def either(words: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: the known formats in a message."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def links(subject_name: str, unit_id: int | None = None, **args) -> list[tuple[Export, str]]:
    """The subject's exports the signed-in user may have here, each with its URL (the
    ``export_links`` macro's list)."""
    found = _SUBJECTS.get(subject_name)
    if found is None or found.url is None:
        return []
    out = []
    for export in exports_of(subject_name, web=True):
        if not export.may(current_user, unit_id):
            continue
        url = found.url(export, unit_id=unit_id, **args)
        if url:
            out.append((export, url))
    return out


def method_of(subject_name: str) -> str:
    return _SUBJECTS[subject_name].method if subject_name in _SUBJECTS else "get"


def chunks(stream: BinaryIO, pieces: Iterator[bytes]) -> None:
    """Write a writer's chunks into ``stream``."""
    for piece in pieces:
        stream.write(piece)


def send_export(export: Export, data, stem: str, fallback: str = "download"):
    """The response serving ``export`` of ``data``: a download named ``stem`` + extension
    (RFC 6266, ``attachment``), or a page shown in the browser for an inline export."""
    stream = io.BytesIO()
    export.write(data, stream)
    if export.inline:
        return current_app.response_class(stream.getvalue(), mimetype=export.media_type)
    stream.seek(0)
    # Werkzeug adds "; charset=utf-8" to a text/* type itself.
    return attachment(send_file(stream, mimetype=export.media_type), export.filename(stem),
                      fallback=fallback)


def init_app(app) -> None:
    """The templates' ``export_links`` list and its method."""
    app.jinja_env.globals.update(export_links_of=links, export_method=method_of)
