"""The reminder panel of the settings page."""

import pytest

from tracker.extensions import db


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def test_reminder_settings(client, town, login):
    from tracker.reminders.services import get_preferences

    login(client, town["manager"])
    assert 'value="digest" selected' in client.get("/settings").text
    assert client.post("/reminders/settings", data={"mode": "each", "hour": "17"}
                       ).status_code == 302
    db.session.expire_all()
    preference = get_preferences(town["manager"].id)
    assert (preference.mode.value, preference.hour) == ("each", 17)
    response = client.post("/reminders/settings", data={"mode": "often", "hour": "25"})
    assert response.status_code == 400
    db.session.expire_all()
    assert get_preferences(town["manager"].id).hour == 17
