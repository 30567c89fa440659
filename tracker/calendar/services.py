"""Feed tokens (issue, revoke, look up), feed URLs and their QR code. Flush, never commit."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import segno
import sqlalchemy as sa
from flask import current_app

from tracker.auth.models import User
from tracker.calendar.models import FeedToken
from tracker.core.errors import TrackerError
from tracker.extensions import db

#: ``secrets.token_urlsafe(32)``: 256 random bits in 43 URL-safe characters.
TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
#: last_used_at is written at most this often, so polling apps do not write on every fetch.
LAST_USED_RESOLUTION = timedelta(hours=1)


@dataclass(frozen=True)
class FeedUrls:
    """A feed's addresses: for browsers and copy-paste, and for calendar apps."""

    https: str
    webcal: str


def hash_token(secret: str) -> str:
    """The stored form of a feed secret (SHA-256, hex)."""
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def active_token(user: User) -> FeedToken | None:
    """The user's active feed token (for the settings page: created, last used), or None."""
    return db.session.scalar(
        sa.select(FeedToken).where(FeedToken.user_id == user.id, FeedToken.revoked_at.is_(None)))


def issue_token(user: User, now: datetime) -> str:
    """Revoke the user's active token, make a new one and return its secret (shown once)."""
    if not user.active:
        raise TrackerError(f"{user.email} is deactivated: no calendar feed for them")
    revoke_token(user, now)
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(FeedToken(user_id=user.id, token_hash=hash_token(secret), created_at=now))
    db.session.flush()
    return secret


def revoke_token(user: User, now: datetime) -> bool:
    """Revoke the user's active token; whether there was one."""
    token = active_token(user)
    if token is None:
        return False
    token.revoked_at = now
    # Flushed before any new token is added: one active token per user is a unique index.
    db.session.flush()
    return True


def user_for_token(secret: str, now: datetime | None = None) -> User | None:
    """The active user whose active feed token this is, or None.

    The secret is compared by looking up its hash, so the time taken tells
    nothing about how close a guess was. With ``now``, the token's
    last_used_at is brought up to date (at most hourly).
    """
    if not _TOKEN_SHAPE.fullmatch(secret):
        return None
    row = db.session.execute(
        sa.select(FeedToken, User).join(User, FeedToken.user_id == User.id)
        .where(FeedToken.token_hash == hash_token(secret), FeedToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.User.active:
        return None
    token = row.FeedToken
    if now is not None and (token.last_used_at is None
                            or now - token.last_used_at >= LAST_USED_RESOLUTION):
        token.last_used_at = now
        db.session.flush()
    return row.User


def feed_urls(secret: str, base_url: str | None = None) -> FeedUrls:
    """The feed's https (or http) and webcal:// URLs, from BASE_URL."""
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    https = f"{base}/feeds/{secret}.ics"
    parts = urlsplit(https)
    return FeedUrls(https=https, webcal=urlunsplit(("webcal",) + tuple(parts[1:])))


def feed_qr_svg(url: str, scale: int = 4) -> str:
    """A QR code of ``url`` as an inline ``<svg>`` element (for phones to subscribe)."""
    return segno.make(url, error="m", micro=False).svg_inline(scale=scale, border=4,
                                                              title="QR code")
