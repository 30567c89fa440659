"""A village's year filed as a unit does it: files uploaded, statements written, sessions
recorded, work submitted and reviewed, through the tasks area's own services."""

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tests import samples
from tracker.core.pdf import render_pdf
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.tasks import evidence
from tracker.tasks.models import Task
from tracker.tasks.services import Occurrence, add_evidence, review, submit


def late_in(year: int) -> datetime:
    """When the work is done unless a test says otherwise: 1 December of the town's year
    (the town fixture loads the current year's plan), whatever day the tests run."""
    return datetime(year, 12, 1, 4, 0, tzinfo=timezone.utc)


def evidence_pdf(text: str) -> bytes:
    """A one-page PDF whose own text is ``text`` (fonts embedded, as an office's would be)."""
    return render_pdf(f"<html><body><p>{text}</p></body></html>")


def duty_tasks(unit, code: str) -> list[Task]:
    return db.session.scalars(sa.select(Task).join(Task.duty).where(
        Task.unit_id == unit.id, Duty.code == code).order_by(Task.seq)).all()


def file_work(task, user, uploads=(), note="", statement="", occurrence=None, accept=None,
              reviewer=None, now=None, folder=None):
    """Upload ``uploads`` [(name, bytes)], submit, and accept or return (``accept``)."""
    now = now or late_in(task.year)
    for name, data in uploads:
        checked = evidence.check(data, name, 20 * 1024 * 1024)
        stored = evidence.store(data, checked, folder or evidence.folder(), task.year)
        add_evidence(task, user, checked, stored, now)
    submit(task, user, note, statement, now, occurrence)
    if accept is not None:
        review(task, reviewer, accept, "" if accept else "请补充签到表", now)
    db.session.flush()


@pytest.fixture
def filed(town):
    """Village a's work: a bound PDF, photos (JPEG and HEIC), a .wps and an OFD file,
    two study sessions (one marked on ideology), a statement, one piece returned."""
    a, manager, admin = town.units.a, town.users.manager, town.users.admin
    year = town.year
    pdf = evidence_pdf("EVIDENCE-PDF-OWN-TEXT 责任书原文")
    uploads = {
        "docs": [("责任书.pdf", pdf), ("签约现场.jpg", samples.jpeg(800, 600)),
                 ("分工.wps", samples.ole("wps")), ("通知.ofd", samples.ofd())],
        "study": [("学习记录.heic", samples.heic())],
    }
    docs, = duty_tasks(a, "responsibility-docs")
    file_work(docs, manager, uploads["docs"], note="班子会议签订责任书", accept=True,
              reviewer=admin)
    study = duty_tasks(a, "study-session")
    file_work(study[0], manager, uploads["study"],
              occurrence=Occurrence(date(year, 2, 20), 9, ("ideology",)), accept=True,
              reviewer=admin)
    file_work(study[1], manager, [("第二次学习.jpg", samples.jpeg(640, 480))],
              occurrence=Occurrence(date(year, 4, 21), 7, ()), accept=False, reviewer=admin)
    united, = duty_tasks(a, "united-front")
    file_work(united, manager, statement="STATEMENT-TEXT 组织党外人士参观学习两次。")
    db.session.commit()
    return SimpleNamespace(town=town, docs=docs, study=study, united=united, pdf=pdf,
                           uploads=uploads)
