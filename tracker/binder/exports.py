"""The 工作台账's exports, registered with ``tracker.core.exports``: a unit's binder as PDF
or ZIP, and the town's ZIP (a folder per unit). They are built in the background
(``jobs``) from the web, straight into the file from ``tracker binder export``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import lazy_gettext as _l

from tracker.binder import archive
from tracker.binder.collect import Binder
from tracker.core import exports

UNIT = "binder.unit"
TOWN = "binder.town"


@dataclass
class UnitBinder:
    """One unit's binder, to write."""

    binder: Binder
    #: A ZIP holds the binder's PDF too, unless asked not to.
    with_pdf: bool = True
    progress: Callable[[int, int], None] | None = None


@dataclass
class TownBinder:
    """Every assessed unit's binder, to write one unit at a time."""

    unit_ids: list[int]
    year: int
    now: datetime
    with_pdf: bool = True
    progress: Callable[[int, int], None] | None = None


def _write_pdf(data: UnitBinder, stream) -> None:
    from tracker.binder.pdf import write_pdf  # WeasyPrint loads only for a PDF

    write_pdf(data.binder, stream, data.progress)


def _write_unit_zip(data: UnitBinder, stream) -> None:
    exports.chunks(stream, archive.unit_zip(data.binder, with_pdf=data.with_pdf,
                                            progress=data.progress))


def _write_town_zip(data: TownBinder, stream) -> None:
    exports.chunks(stream, archive.town_zip(data.unit_ids, data.year, data.now,
                                            with_pdf=data.with_pdf, progress=data.progress))


exports.subject(UNIT, method="post", url=lambda export, unit_id=None, year=None: url_for(
    "binder.export_unit", year=year, unit_id=unit_id, fmt=export.format))
exports.register(exports.Export(UNIT, "pdf", ".pdf", "application/pdf",
                                _l("Export records (PDF)"), _write_pdf))
exports.register(exports.Export(UNIT, "zip", ".zip", "application/zip",
                                _l("Export records (ZIP)"), _write_unit_zip))
exports.subject(TOWN, method="post", url=lambda export, unit_id=None, year=None: url_for(
    "binder.export_town", year=year, fmt=export.format))
exports.register(exports.Export(TOWN, "zip", ".zip", "application/zip",
                                _l("Export every unit's records (ZIP)"), _write_town_zip,
                                may=exports.coordinator))
