"""Password guesses are slowed down per place, never by locking an account (OWASP ASVS 5.0
V6.1.1, V6.3.1): the attacks of issue 12 (1, 9, 19) replayed."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.conftest import make_app
from tracker.auth import throttle
from tracker.auth.models import LoginAttempt, LoginThrottle
from tracker.extensions import db

PASSWORD = "correct horse battery"
HERE, THERE = "198.51.100.7", "203.0.113.9"


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def post_login(client, email, password=PASSWORD, address=HERE, **headers):
    return client.post("/login", data={"email": email, "password": password},
                       environ_overrides={"REMOTE_ADDR": address}, headers=headers)


def test_failures_from_one_address_never_stop_the_right_password_from_another(app, town):
    """Thirty guesses at every account from one address (the whole town, when everybody
    came through one proxy) leave people elsewhere signing in; the coordinator too."""
    client = app.test_client()
    for i in range(40):
        for email in ("manager@example.org", "admin@example.org", f"nobody{i}@example.org"):
            post_login(client, email, "wrong guess")
    response = post_login(client, "manager@example.org")
    assert response.status_code == 429 and "Too many failed attempts" in response.text
    for email in ("manager@example.org", "admin@example.org", "viewer@example.org"):
        response = post_login(app.test_client(), email, address=THERE)
        assert response.status_code == 302, email


def test_five_wrong_passwords_do_not_lock_the_coordinator(app, town):
    attacker = app.test_client()
    for _ in range(5):
        assert post_login(attacker, "admin@example.org", "wrong").status_code == 200
    response = post_login(attacker, "admin@example.org")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) == 30
    assert "Try again in 30 seconds." in response.text
    response = post_login(attacker, "admin@example.org", **{"Accept-Language": "zh-CN"})
    assert "此处尝试失败次数过多，请 30秒钟后再试。" in response.text
    assert post_login(app.test_client(), "admin@example.org", address=THERE).status_code == 302


def test_the_wait_doubles_up_to_the_window_and_the_count_ends_unused(app):
    """Past five failures each guess waits 30 s, then 60 s, 120 s ... at most 15 minutes;
    a count unused for 15 minutes starts again."""
    now = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    for _ in range(5):
        assert throttle.reserve("li@example.org", HERE, now) is None
    waits = []
    for _ in range(5):
        wait = throttle.reserve("li@example.org", HERE, now)
        waits.append(wait)
        assert throttle.reserve("li@example.org", HERE, now + timedelta(seconds=wait - 1)) \
            == 1
        now += timedelta(seconds=wait)
        assert throttle.reserve("li@example.org", HERE, now) is None
    assert waits == [30, 60, 120, 240, 480]
    assert throttle.reserve("li@example.org", HERE, now) == 900
    # Another account from here, and this one from elsewhere, were never held back.
    assert throttle.reserve("wang@example.org", HERE, now) is None
    assert throttle.reserve("li@example.org", THERE, now) is None
    now += timedelta(minutes=15)
    for _ in range(5):
        assert throttle.reserve("li@example.org", HERE, now) is None
    assert throttle.reserve("li@example.org", HERE, now) == 30


def test_a_success_takes_its_guess_back_and_ends_the_accounts_count(client, town):
    for _ in range(4):
        post_login(client, "manager@example.org", "wrong")
    assert post_login(client, "manager@example.org").status_code == 302
    client.post("/logout")
    for _ in range(4):
        post_login(client, "manager@example.org", "wrong")
    assert post_login(client, "manager@example.org").status_code == 302
    counts = {(e, a): n for e, a, n in db.session.execute(sa.select(
        LoginThrottle.email, LoginThrottle.address, LoginThrottle.failures))}
    # The account's count from everywhere keeps the guesses made before this place was
    # known (it is not asked for a known place).
    assert counts == {("", HERE): 8, ("manager@example.org", throttle.EVERYWHERE): 5}


def test_a_client_address_comes_from_the_proxy_only_when_one_is_configured(
        backend, database_url, town):
    behind = make_app(database_url, WTF_CSRF_ENABLED=False, PROXIES=1)
    direct = make_app(database_url, WTF_CSRF_ENABLED=False)
    try:
        for app in (behind, direct):
            client = app.test_client()
            for _ in range(5):
                post_login(client, "manager@example.org", "wrong", address="127.0.0.1",
                           **{"X-Forwarded-For": HERE})
        # Behind the proxy, the guesses were HERE's, and the proxy's other clients sign in;
        # without a proxy configured the header is anyone's to write, and ignored.
        assert post_login(behind.test_client(), "manager@example.org", address="127.0.0.1",
                          **{"X-Forwarded-For": THERE}).status_code == 302
        assert post_login(direct.test_client(), "manager@example.org", address="127.0.0.1",
                          **{"X-Forwarded-For": THERE}).status_code == 429
        with behind.app_context():
            addresses = set(db.session.scalars(sa.select(LoginAttempt.address)))
        assert addresses == {HERE, THERE, "127.0.0.1"}
    finally:
        for app in (behind, direct):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_a_bad_proxies_setting_is_refused(database_url):
    with pytest.raises(ValueError, match="TRACKER_PROXIES"):
        make_app(database_url, PROXIES="two")


def test_guesses_sent_at_once_are_counted_one_by_one(app, town):
    """Twelve wrong passwords at the same moment, each in its own thread with its own
    database connection: five are checked, seven wait (on a limit of five)."""
    barrier = threading.Barrier(12)
    statuses = []

    def guess():
        client = app.test_client()
        barrier.wait()
        statuses.append(post_login(client, "manager@example.org", "wrong").status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [429] * 7, statuses
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 5


def test_the_current_password_on_the_settings_page_is_limited_too(app, client, town, login):
    login(client, town.users.manager)
    form = {"current": "wrong", "new": "a new passphrase", "confirm": "a new passphrase"}
    for _ in range(5):
        response = client.post("/settings", data=form,
                               environ_overrides={"REMOTE_ADDR": HERE})
        assert response.status_code == 400 and "current password is wrong" in response.text
    response = client.post("/settings", data={**form, "current": PASSWORD},
                           environ_overrides={"REMOTE_ADDR": HERE})
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"
    db.session.expire_all()
    assert town.users.manager.session_version == 1  # unchanged


def test_old_counts_and_sign_in_records_are_pruned(app):
    now = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    db.session.add_all([
        LoginAttempt(email="a@x.org", address=HERE, at=now - timedelta(days=91)),
        LoginAttempt(email="b@x.org", address=HERE, at=now - timedelta(days=89)),
    ])
    db.session.commit()
    throttle.reserve("old@x.org", HERE, now - timedelta(minutes=16))
    throttle.reserve("new@x.org", THERE, now - timedelta(minutes=14))
    assert throttle.prune(now, 90) == 4  # old@x.org's two counts, and its count everywhere
    db.session.commit()
    assert set(db.session.scalars(sa.select(LoginAttempt.email))) == {"b@x.org"}
    assert set(db.session.execute(sa.select(LoginThrottle.email, LoginThrottle.address))) == {
        ("new@x.org", THERE), ("", THERE), ("new@x.org", throttle.EVERYWHERE)}


def test_the_daily_job_prunes_them(app):
    from tracker.reminders.jobs import run_prune

    db.session.add(LoginAttempt(email="a@x.org", address=HERE,
                                at=datetime.now(timezone.utc) - timedelta(days=400)))
    db.session.commit()
    run_prune(app)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 0


def test_addresses_of_one_ipv6_64_are_one_place(app, town):
    """Sixty wrong passwords from twelve addresses of one /64, five each: five are
    checked, the rest wait; another /64 and IPv4 sign in as ever."""
    client = app.test_client()
    answers = [post_login(client, "admin@example.org", "wrong",
                          address=f"2001:db8:5:7:{i:x}::{j + 1}").status_code
               for i in range(12) for j in range(5)]
    assert answers.count(200) == 5 and answers.count(429) == 55
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 5
    assert post_login(client, "admin@example.org", address="2001:db8:5:7:abcd::1"
                      ).status_code == 429
    assert post_login(app.test_client(), "admin@example.org",
                      address="2001:db8:5:8::1").status_code == 302
    assert throttle.place("2001:db8:5:7:ffff:1:2:3") == ("2001:db8:5:7::/64", "2001:db8:5::/48")
    assert throttle.place("::ffff:198.51.100.7") == ("198.51.100.7", None)


def test_a_burst_from_one_ipv6_48_is_counted_together(app, town):
    """Guesses at many accounts, each from a /64 of its own within one /48: past
    LOGIN_MAX_FAILURES_PER_NETWORK they wait; another /48 does not."""
    app.config["LOGIN_MAX_FAILURES_PER_NETWORK"] = 8
    client = app.test_client()
    answers = [post_login(client, f"nobody{i}@example.org", "wrong",
                          address=f"2001:db8:6:{i:x}::1").status_code for i in range(12)]
    assert answers == [200] * 8 + [429] * 4
    assert post_login(client, "manager@example.org", address="2001:db8:7::1").status_code == 302


def test_guesses_at_one_account_from_many_places_slow_down_but_never_lock_it(app, town):
    """Guesses at the coordinator from many IPv4 addresses, a few each: past
    LOGIN_MAX_FAILURES_PER_ACCOUNT each guess from a place the account has never signed
    in from waits (30 s, doubling); from where the coordinator signs in, the right
    password goes in at once, and from a new place after the wait."""
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 8
    assert post_login(app.test_client(), "admin@example.org", address=HERE).status_code == 302
    client = app.test_client()
    answers = [post_login(client, "admin@example.org", "wrong",
                          address=f"192.0.2.{i + 1}").status_code for i in range(12)]
    # The coordinator's own sign-in, from a place not yet known then, counted one.
    assert answers == [200] * 7 + [429] * 5
    held = post_login(app.test_client(), "admin@example.org", address=THERE)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) <= 30
    assert post_login(app.test_client(), "admin@example.org", address=HERE).status_code == 302
    now = datetime.now(timezone.utc) + timedelta(seconds=31)
    assert throttle.reserve("admin@example.org", THERE, now) is None
