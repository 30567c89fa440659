"""The tracker's own anonymous 群众评议 questionnaire: a link and QR code per unit, no
sign-in, one answer per device, throttled per address, shown only in aggregate and only
to the coordinator. Flush, never commit.

Nothing that names a person is stored: the device is a random cookie and the address is
kept only as a keyed hash (HMAC with the app's secret key), enough to refuse a second
answer from the device and a flood from one address, not to find anyone.
"""

import functools
import hashlib
import hmac
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import segno
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager
from flask_babel import gettext as _

from tracker.assessment.cycle import set_input
from tracker.assessment.records import InputKind, Survey, SurveyAnswer
from tracker.assessment.services import assessed_units
from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.units.models import Unit

#: The one question's answers, best first.
SURVEY_CHOICES = ("满意", "基本满意", "不满意")
#: The cookie that marks a device (a random value; only its keyed hash is stored).
DEVICE_COOKIE = "survey_device"


class Throttled(TrackerError):
    """Too many answers from one address: try later (429)."""


def _keyed(kind: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def open_surveys(year: int, now: datetime) -> list[Survey]:
    """A questionnaire link for every assessed unit that has none for the year."""
    have = set(db.session.scalars(sa.select(Survey.unit_id).where(Survey.year == year)))
    made = [Survey(unit_id=u.id, year=year, token=secrets.token_urlsafe(24), created_at=now)
            for u in assessed_units() if u.id not in have]
    db.session.add_all(made)
    db.session.flush()
    return made


def set_closed(year: int, closed: bool, unit_id: int | None = None) -> int:
    """Close the year's questionnaires (or one unit's) to further answers, or reopen them;
    how many changed. The answers already given stay, counted."""
    query = sa.update(Survey).where(Survey.year == year, Survey.closed.is_not(closed)) \
        .values(closed=closed)
    if unit_id is not None:
        query = query.where(Survey.unit_id == unit_id)
    changed = db.session.execute(query.execution_options(synchronize_session="fetch"))
    return changed.rowcount


def link(survey: Survey) -> str:
    """The questionnaire's whole address, as the QR code, the page and the CLI give it
    (``/survey/<token>``: the survey blueprint's answer page)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/survey/{survey.token}"


def surveys_of(year: int) -> list[Survey]:
    return db.session.scalars(sa.select(Survey).join(Unit).where(Survey.year == year)
                              .options(contains_eager(Survey.unit))
                              .order_by(Unit.kind, Unit.name)).all()


def survey_by_token(token: str) -> Survey | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Survey).where(Survey.token == token))


def has_answered(survey: Survey, device: str | None) -> bool:
    return bool(device) and db.session.scalar(sa.select(SurveyAnswer.id).where(
        SurveyAnswer.survey_id == survey.id,
        SurveyAnswer.device_hash == _keyed("device", device))) is not None


def answer(survey: Survey, choice: str, device: str, address: str,
           now: datetime) -> SurveyAnswer:
    """Record one anonymous answer: refused if the questionnaire is closed, the choice is
    not one of SURVEY_CHOICES, this device answered already, or this address sent
    SURVEY_MAX_PER_ADDRESS answers within the hour (Throttled)."""
    if survey.closed:
        raise TrackerError(_("This questionnaire is closed."))
    if choice not in SURVEY_CHOICES:
        raise TrackerError(_("Choose one of the answers."))
    if not device:
        raise TrackerError(_("Your browser must accept cookies to answer."))
    if has_answered(survey, device):
        raise TrackerError(_("This device has answered this questionnaire already."))
    address_hash = _keyed("address", address)
    recent = db.session.scalar(sa.select(sa.func.count(SurveyAnswer.id)).where(
        SurveyAnswer.address_hash == address_hash,
        SurveyAnswer.at > now - timedelta(hours=1)))
    if recent >= current_app.config["SURVEY_MAX_PER_ADDRESS"]:
        raise Throttled(_("Too many answers from your network: please try again later."))
    entry = SurveyAnswer(survey_id=survey.id, choice=choice,
                         device_hash=_keyed("device", device), address_hash=address_hash,
                         at=now)
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass
class Tally:
    """A questionnaire's answers in aggregate."""

    counts: dict
    total: int

    @property
    def rate(self) -> Decimal | None:
        """满意率: the share answering 满意 or 基本满意, in percent (one decimal)."""
        if not self.total:
            return None
        happy = self.counts.get("满意", 0) + self.counts.get("基本满意", 0)
        return (Decimal(100 * happy) / self.total).quantize(Decimal("0.1"))


def tallies(year: int) -> dict[int, Tally]:
    """{survey id: its answers counted}, in one query."""
    counts: dict = {}
    for survey_id, choice, n in db.session.execute(
            sa.select(SurveyAnswer.survey_id, SurveyAnswer.choice, sa.func.count())
            .join(Survey).where(Survey.year == year)
            .group_by(SurveyAnswer.survey_id, SurveyAnswer.choice)):
        counts.setdefault(survey_id, Counter())[choice] = n
    return {sid: Tally(dict(c), sum(c.values())) for sid, c in counts.items()}


def adopt(survey: Survey, actor, now: datetime):
    """Take the questionnaire's 满意率 as the unit's 群众评议 result."""
    tally = tallies(survey.year).get(survey.id)
    if tally is None or not tally.total:
        raise TrackerError(_("The questionnaire has no answers yet."))
    note = "，".join(f"{c} {tally.counts.get(c, 0)}" for c in SURVEY_CHOICES)
    return set_input(survey.unit, survey.year, InputKind.PUBLIC, tally.rate, "",
                     f"满意率（{note}）", f"本系统问卷（{tally.total} 份）", actor, now)


@functools.lru_cache(maxsize=1024)
def qr_svg(url: str) -> str:
    """The link as an inline SVG QR code. A link does not change, and the coordinator's
    page shows one per unit (about 8 ms each): each is made once per process."""
    return segno.make(url, error="m", micro=False).svg_inline(scale=4, border=4)
