"""Signing in and out, sessions, cookies, passwords, language."""

import pytest
import sqlalchemy as sa

from tests.conftest import make_app
from tracker.auth.models import LoginAttempt
from tracker.extensions import db

PASSWORD = "correct horse battery"


def post_login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def test_sign_in_and_out(client, town):
    assert client.get("/").status_code == 302
    response = post_login(client, "MANAGER@example.org")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout").status_code == 200  # a GET only shows the button
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_user(client, town):
    response = post_login(client, "manager@example.org", "wrong password")
    assert response.status_code == 200 and "Wrong e-mail or password" in response.text
    response = post_login(client, "nobody@example.org")
    assert "Wrong e-mail or password" in response.text
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_sign_in(client, town):
    town.users.manager.active = False
    db.session.commit()
    assert "Wrong e-mail or password" in post_login(client, "manager@example.org").text


@pytest.mark.parametrize("target, expected", [
    ("/tasks?status=overdue", "/tasks?status=overdue"),
    ("/progress", "/progress"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("http:/evil.example", "/"),
    ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
    ("\t//evil.example", "/"),
])
def test_next_only_leads_to_this_site(client, town, target, expected):
    response = client.post("/login", query_string={"next": target},
                           data={"email": "manager@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_failures_are_limited_per_account_across_processes(backend, database_url, town, client):
    for _ in range(5):
        assert post_login(client, "manager@example.org", "wrong").status_code == 200
    # A second app (another worker process would have its own) sees the same count.
    other = make_app(database_url)
    other.config["WTF_CSRF_ENABLED"] = False
    with other.app_context():
        response = post_login(other.test_client(), "manager@example.org")
        assert response.status_code == 429 and "Too many failed attempts" in response.text
        db.session.remove()
        db.engine.dispose()
    # Other accounts are not locked by it.
    assert post_login(client, "viewer@example.org").status_code == 302


def test_failures_are_limited_per_address(app, client, town):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    for i in range(3):
        post_login(client, f"nobody{i}@example.org", "wrong")
    assert post_login(client, "manager@example.org").status_code == 429
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 3


def test_a_success_resets_the_account_count(client, town):
    for _ in range(4):
        post_login(client, "manager@example.org", "wrong")
    assert post_login(client, "manager@example.org").status_code == 302
    client.post("/logout")
    for _ in range(4):
        post_login(client, "manager@example.org", "wrong")
    assert post_login(client, "manager@example.org").status_code == 302


def cookie_attrs(response, name):
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))
    return [part.strip().lower() for part in header.split(";")]


def test_cookie_flags(client, town):
    response = post_login(client, "manager@example.org", remember="y")
    session = cookie_attrs(response, "session")
    remember = cookie_attrs(response, "remember_token")
    for attrs in (session, remember):
        assert "httponly" in attrs and "samesite=lax" in attrs and "secure" not in attrs


def test_cookies_are_secure_when_served_over_https(database_url, instance_path, town):
    app = make_app(database_url, BASE_URL="https://tracker.example.org",
                   WTF_CSRF_ENABLED=False)
    with app.app_context():
        response = post_login(app.test_client(), "manager@example.org", remember="y")
        assert "secure" in cookie_attrs(response, "session")
        assert "secure" in cookie_attrs(response, "remember_token")
        db.session.remove()
        db.engine.dispose()


def test_changing_the_password_ends_other_sessions(app, town):
    first, second = app.test_client(), app.test_client()
    post_login(first, "manager@example.org")
    post_login(second, "manager@example.org")
    response = first.post("/settings", data={"current": PASSWORD, "new": "a new passphrase",
                                             "confirm": "a new passphrase"})
    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302
    first.post("/logout")
    assert post_login(first, "manager@example.org", "a new passphrase").status_code == 302


def copy_of(app, cookies):
    """A client that holds copies of ``cookies`` (name -> value), as a thief would."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def test_logout_ends_every_copy_of_the_session_and_the_remember_cookie(app, town):
    client = app.test_client()
    post_login(client, "manager@example.org", remember="y")
    session_cookie = client.get_cookie("session").value
    remember_cookie = client.get_cookie("remember_token").value
    assert copy_of(app, {"session": session_cookie}).get("/").status_code == 200
    assert copy_of(app, {"remember_token": remember_cookie}).get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert copy_of(app, {"session": session_cookie}).get("/").status_code == 302
    assert copy_of(app, {"remember_token": remember_cookie}).get("/").status_code == 302
    assert post_login(client, "manager@example.org").status_code == 302  # signs in again


def test_a_password_change_revokes_the_remember_cookie(app, town):
    client = app.test_client()
    post_login(client, "manager@example.org", remember="y")
    remember_cookie = client.get_cookie("remember_token").value
    response = client.post("/settings", data={"current": PASSWORD, "new": "a new passphrase",
                                              "confirm": "a new passphrase"})
    assert response.status_code == 302
    assert copy_of(app, {"remember_token": remember_cookie}).get("/").status_code == 302


def test_remember_me_lasts_30_days_and_no_session_longer(app, client, town):
    from datetime import datetime, timedelta, timezone
    from email.utils import parsedate_to_datetime

    response = post_login(client, "manager@example.org", remember="y")
    expires = next(a for a in cookie_attrs(response, "remember_token") if a.startswith("expires="))
    expires = parsedate_to_datetime(expires.removeprefix("expires="))
    assert timedelta(days=29) < expires - datetime.now(timezone.utc) <= timedelta(days=30)
    # A copy kept past the cookie's expiry is refused by the server too.
    user = town.users.manager
    for days, status in ((29, 200), (31, 302)):
        signed_in = int((datetime.now(timezone.utc) - timedelta(days=days)).timestamp())
        old = app.test_client()
        with old.session_transaction() as session:
            session["_user_id"] = f"{user.id}:{user.session_version}:{signed_in}"
        assert old.get("/").status_code == status, days


def test_password_change_needs_the_current_one(client, town, login):
    login(client, town.users.manager)
    response = client.post("/settings", data={"current": "wrong", "new": "a new passphrase",
                                              "confirm": "a new passphrase"})
    assert "The current password is wrong" in response.text


def test_language_follows_browser_then_choice(client, town, login):
    login(client, town.users.manager)
    assert "<html lang=\"en\"" in client.get("/", headers={"Accept-Language": "en"}).text
    assert "<html lang=\"zh-CN\"" in client.get(
        "/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    response = client.post("/language", data={"lang": "en", "next": "/progress"})
    assert response.headers["Location"] == "/progress"
    db.session.expire_all()
    assert town.users.manager.locale == "en"
    assert "<html lang=\"en\"" in client.get(
        "/", headers={"Accept-Language": "zh-CN"}).text


def test_missing_csrf_token_is_refused(app, client, town):
    app.config["WTF_CSRF_ENABLED"] = True
    response = post_login(client, "manager@example.org")
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_coordinator_edits_users(app, client, town, login):
    login(client, town.users.admin)
    other = login(app.test_client(), town.users.other)
    form = {"email": "other@example.org", "name": "王 五", "role": "manager",
            "unit_id": town.units.b.id}
    # Deactivating signs the user out at once.
    assert client.post(f"/admin/users/{town.users.other.id}", data=form).status_code == 302
    assert other.get("/").status_code == 302
    response = client.post(f"/admin/users/{town.users.other.id}",
                           data={**form, "email": "MANAGER@example.org", "active": "y"})
    assert response.status_code == 400 and "already exists" in response.text
    response = client.post(f"/admin/users/{town.users.other.id}",
                           data={**form, "role": "viewer", "unit_id": 0, "active": "y"})
    assert response.status_code == 400 and "a viewer belongs to a unit" in response.text
    response = client.post(f"/admin/users/{town.users.admin.id}",
                           data={"email": "admin@example.org", "role": "manager",
                                 "unit_id": town.units.a.id, "active": "y"})
    assert response.status_code == 400 and "from yourself" in response.text
    db.session.expire_all()
    assert town.users.admin.role.value == "admin" and not town.users.other.active
    assert town.users.other.name == "王 五"
