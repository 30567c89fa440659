"""The one-click unsubscribe link (RFC 8058): POST with no session, GET changes nothing."""

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tracker.extensions import db
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import ReminderMode, ReminderPreference
from tracker.reminders.services import get_preferences

NOW = datetime(2026, 2, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def unsubscribe_path(mail_app, town, smtp_server):
    """The path of the manager's List-Unsubscribe link, taken from a real mail."""
    dispatch(NOW)
    (mail,) = [m for m in smtp_server.take() if m.recipients == ["manager@shuyuan.example"]]
    url = mail.message["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://tracker.shuyuan.example/reminders/unsubscribe/")
    return urlsplit(url).path


def mode(user):
    db.session.expire_all()
    return get_preferences(user.id).mode


def test_get_shows_a_confirmation_and_changes_nothing(client, town, unsubscribe_path):
    response = client.get(unsubscribe_path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'method="post"' in page and "manager@shuyuan.example" in page
    assert mode(town["manager"]) == ReminderMode.DIGEST
    assert db.session.get(ReminderPreference, town["manager"].id) is None


def test_one_click_post_needs_no_session_or_csrf_token(mail_app, client, town,
                                                      unsubscribe_path, smtp_server):
    assert mail_app.config.get("WTF_CSRF_ENABLED", True)  # CSRF is on: the view is exempt
    response = client.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert mode(town["manager"]) == ReminderMode.NONE
    assert mode(town["viewer"]) == ReminderMode.DIGEST
    # No more mails to the manager; the others still get theirs.
    dispatch(NOW.replace(day=9))
    assert sorted(m.recipients[0] for m in smtp_server.take()) == ["viewer@shuyuan.example"]


def test_the_confirmation_form_posts_to_the_same_link(client, town, unsubscribe_path):
    page = client.get(unsubscribe_path).get_data(as_text=True)
    assert "<form method=\"post\">" in page  # no action: the same URL
    assert client.post(unsubscribe_path).status_code == 200
    assert mode(town["manager"]) == ReminderMode.NONE


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_is_not_found(client, town, unsubscribe_path, method):
    token = unsubscribe_path.rsplit("/", 1)[1]
    uid, _, signature = token.partition(".")
    forged = f"{'Mg' if uid != 'Mg' else 'Mw'}.{signature}"  # another user's id, same signature
    for bad in (forged, token[:-2], "nonsense"):
        response = getattr(client, method)(f"/reminders/unsubscribe/{bad}")
        assert response.status_code == 404
    assert mode(town["manager"]) == ReminderMode.DIGEST
    assert mode(town["viewer"]) == ReminderMode.DIGEST
