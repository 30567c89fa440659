"""Feed tokens: random, stored hashed, one active per user; the feed URLs and QR code."""

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tracker.calendar.models import FeedToken
from tracker.calendar.services import (active_token, feed_qr_svg, feed_urls, hash_token,
                                       issue_token, revoke_token, user_for_token)
from tracker.core.errors import TrackerError
from tracker.extensions import db

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def manager(create_unit, create_user):
    return create_user("li@example.org", "manager", create_unit("洋溢村党总支"))


def test_a_token_is_random_and_only_its_hash_is_stored(manager, snapshot):
    secrets = {issue_token(manager, NOW) for _ in range(5)}
    assert len(secrets) == 5
    for secret in secrets:
        # token_urlsafe(32): 256 bits, well over the 128 asked for.
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    db.session.commit()
    dump = repr(snapshot())
    assert not any(secret in dump for secret in secrets)
    last = active_token(manager)
    assert last.token_hash in {hash_token(s) for s in secrets}
    assert len(last.token_hash) == 64


def test_one_active_token_per_user_renewing_revokes_the_old(manager):
    first = issue_token(manager, NOW)
    second = issue_token(manager, NOW + timedelta(minutes=1))
    db.session.commit()
    assert user_for_token(first) is None
    assert user_for_token(second) == manager
    rows = db.session.scalars(sa.select(FeedToken).order_by(FeedToken.id)).all()
    assert [r.active for r in rows] == [False, True]
    assert rows[0].revoked_at == NOW + timedelta(minutes=1)


def test_the_database_refuses_a_second_active_token(manager):
    issue_token(manager, NOW)
    db.session.add(FeedToken(user_id=manager.id, token_hash="0" * 64, created_at=NOW))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_revoke(manager):
    assert revoke_token(manager, NOW) is False
    secret = issue_token(manager, NOW)
    assert revoke_token(manager, NOW) is True
    assert user_for_token(secret) is None
    assert active_token(manager) is None


def test_lookup_refuses_junk_inactive_users_and_deactivated_issue(manager):
    secret = issue_token(manager, NOW)
    for junk in ("", "short", secret + "x", secret[:-1] + "=", "é" * 43, "../" + secret):
        assert user_for_token(junk) is None
    manager.active = False
    assert user_for_token(secret) is None
    with pytest.raises(TrackerError):
        issue_token(manager, NOW)


def test_last_used_is_recorded_at_most_hourly(manager):
    secret = issue_token(manager, NOW)
    assert user_for_token(secret) == manager and active_token(manager).last_used_at is None
    user_for_token(secret, NOW)
    user_for_token(secret, NOW + timedelta(minutes=59))
    assert active_token(manager).last_used_at == NOW
    user_for_token(secret, NOW + timedelta(hours=1))
    assert active_token(manager).last_used_at == NOW + timedelta(hours=1)


def test_feed_urls_and_qr_code(app):
    urls = feed_urls("abc_DEF-123", base_url="https://tracker.example.org/")
    assert urls.https == "https://tracker.example.org/feeds/abc_DEF-123.ics"
    assert urls.webcal == "webcal://tracker.example.org/feeds/abc_DEF-123.ics"
    app.config["BASE_URL"] = "https://town.example.org:8443"
    assert feed_urls("x").webcal == "webcal://town.example.org:8443/feeds/x.ics"

    svg = feed_qr_svg(urls.webcal)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "<script" not in svg and "style=" not in svg
    assert "<path" in svg
    assert feed_qr_svg(urls.https) != svg
