"""A unit's group robot: set on its page (the coordinator, the unit's manager) or with
``tracker unit channel``; addresses checked, secrets kept secret, a test message."""

import logging
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.mailserver import mail_config
from tests.robotserver import DINGTALK, FEISHU, WECOM, too_fast
from tracker.auth.models import Role
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.reminders.channels import get_channel, set_channel
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import Channel, OutboxMessage, OutboxStatus, UnitChannel
from tracker.units.models import UnitKind

SECRET = "SEC" + "9a" * 32
FEISHU_SECRET = "fEi5hu-s1gning-s3cret"
VENDOR_URLS = {
    "https://example.org/cgi-bin/webhook/send?key=0123456789abcdef": "not a WeCom, DingTalk",
    "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef": "https (port 443)",
    "https://qyapi.weixin.qq.com.evil.example/cgi-bin/webhook/send?key=0123456789abcdef":
        "not a WeCom, DingTalk",
    "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef": "not a WeCom one",
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef&x=1": "nothing else",
    "ftp://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef": "only https",
    "https://user@qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef": "user name",
    "https://127.0.0.1:1/cgi-bin/webhook/send?key=0123456789abcdef": "not a WeCom, DingTalk",
}


def token_of(url: str) -> str:
    return url.rsplit("=", 1)[-1].rsplit("/", 1)[-1]


@pytest.fixture
def robots(app, robot_server):
    """The app taking the fake robots' host."""
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ",".join(robot_server.allowed_hosts)
    app.config["BASE_URL"] = "https://tracker.shuyuan.example"
    return robot_server


@pytest.fixture
def client_as(app, login):
    app.config["WTF_CSRF_ENABLED"] = False

    def make(user):
        return login(app.test_client(), user)

    return make


def page_of(client, unit):
    return client.get(f"/reminders/units/{unit.id}/robot").get_data(as_text=True)


# -- the page ------------------------------------------------------------------------------


def test_the_units_manager_sets_a_robot_and_sees_it_masked(town, robots, client_as):
    unit, client = town["branch"], client_as(town["manager"])
    assert "no group robot yet" in page_of(client, unit)
    url = robots.add(DINGTALK, SECRET)
    response = client.post(f"/reminders/units/{unit.id}/robot",
                           data={"vendor": "dingtalk", "url": url, "secret": SECRET})
    assert response.status_code == 302
    channel = get_channel(unit.id)
    assert (channel.vendor, channel.webhook_url, channel.secret) == (DINGTALK, url, SECRET)
    assert channel.updated_by_id == town["manager"].id

    page = page_of(client, unit)
    token = token_of(url)
    assert token[:4] + "…" in page and token not in page and token[:5] not in page
    assert "SEC9" not in page and "stored, not shown" in page
    # The unit's page and list show it masked too (the coordinator's).
    admin = client_as(town["admin"])
    unit_page = admin.get(f"/admin/units/{unit.id}").get_data(as_text=True)
    assert "DingTalk" in unit_page and token[:4] + "…" in unit_page and token not in unit_page
    assert f"/reminders/units/{unit.id}/robot" in unit_page
    listing = admin.get("/admin/units").get_data(as_text=True)
    assert "Group robot" in listing and "DingTalk" in listing
    # The manager's settings page leads to it.
    settings = client.get("/settings").get_data(as_text=True)
    assert f"/reminders/units/{unit.id}/robot" in settings and token not in settings


def test_empty_fields_keep_what_is_stored_and_the_box_forgets_the_secret(town, robots,
                                                                         client_as):
    unit, client = town["branch"], client_as(town["admin"])
    url = robots.add(FEISHU, FEISHU_SECRET)
    client.post(f"/reminders/units/{unit.id}/robot",
                data={"vendor": "feishu", "url": url, "secret": FEISHU_SECRET})
    assert client.post(f"/reminders/units/{unit.id}/robot",
                       data={"vendor": "feishu", "url": "", "secret": ""}).status_code == 302
    db.session.expire_all()
    assert (get_channel(unit.id).webhook_url, get_channel(unit.id).secret) == (url,
                                                                               FEISHU_SECRET)
    client.post(f"/reminders/units/{unit.id}/robot",
                data={"vendor": "feishu", "url": "", "no_secret": "y"})
    db.session.expire_all()
    assert get_channel(unit.id).secret is None
    # Another vendor needs its own address.
    response = client.post(f"/reminders/units/{unit.id}/robot", data={"vendor": "wecom"})
    assert response.status_code == 400 and "Give the robot" in response.get_data(as_text=True)


@pytest.mark.parametrize("url, why", sorted(VENDOR_URLS.items()))
def test_refused_addresses_get_a_message_and_no_request(town, robots, client_as, snapshot,
                                                        url, why):
    unit, client = town["branch"], client_as(town["manager"])
    before = snapshot()
    response = client.post(f"/reminders/units/{unit.id}/robot",
                           data={"vendor": "wecom", "url": url})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This robot address is refused" in page and why in page
    assert snapshot() == before and robots.requests == 0


@pytest.mark.parametrize("vendor, secret, why", [
    ("wecom", "SECabcdefgh", "A WeCom (企业微信) robot takes no secret"),
    ("dingtalk", "abcdefghijk", "A DingTalk (钉钉) signing secret starts with SEC"),
    ("feishu", "short", "8 to 200"),
    ("feishu", "has a space in it", "8 to 200"),
])
def test_refused_secrets(town, robots, client_as, vendor, secret, why):
    unit, client = town["branch"], client_as(town["manager"])
    response = client.post(f"/reminders/units/{unit.id}/robot",
                           data={"vendor": vendor, "url": robots.add(vendor), "secret": secret})
    assert response.status_code == 400 and why in response.get_data(as_text=True)
    assert secret not in response.get_data(as_text=True)  # a password field is not echoed
    assert get_channel(unit.id) is None


def test_viewers_and_other_units_may_not(town, robots, client_as, create_unit, create_user):
    unit = town["branch"]
    assert client_as(town["viewer"]).get(f"/reminders/units/{unit.id}/robot").status_code == 403
    other = create_unit("新北村党支部", UnitKind.BRANCH)
    stranger = create_user("other@shuyuan.example", Role.MANAGER, unit=other)
    db.session.commit()
    client = client_as(stranger)
    assert client.get(f"/reminders/units/{unit.id}/robot").status_code == 404
    assert client.post(f"/reminders/units/{unit.id}/robot",
                       data={"vendor": "wecom", "url": robots.add(WECOM)}).status_code == 404
    assert get_channel(unit.id) is None


def test_the_test_button_posts_at_once_and_says_what_the_robot_answered(town, robots,
                                                                        client_as):
    unit, client = town["branch"], client_as(town["manager"])
    url = robots.add(FEISHU, FEISHU_SECRET)
    client.post(f"/reminders/units/{unit.id}/robot",
                data={"vendor": "feishu", "url": url, "secret": FEISHU_SECRET})
    response = client.post(f"/reminders/units/{unit.id}/robot/test", follow_redirects=True)
    assert "The robot took the test message" in response.get_data(as_text=True)
    [received] = robots.take()
    post = received.message["content"]["post"]["zh_cn"]
    assert post["title"] == f"【测试消息】{unit.name}" and received.message["sign"]
    [row] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert (row.channel, row.status, row.recipient) == (Channel.ROBOT, OutboxStatus.SENT,
                                                       unit.name)
    assert "Sent" in page_of(client, unit)  # the latest messages, on the robot's page

    # A key the robot does not know: its answer, without the key.
    wrong = robots.url(WECOM, "0123456789abcdef0123")
    client.post(f"/reminders/units/{unit.id}/robot", data={"vendor": "wecom", "url": wrong})
    page = client.post(f"/reminders/units/{unit.id}/robot/test",
                       follow_redirects=True).get_data(as_text=True)
    assert "did not take the test message" in page and "93000" in page
    assert "0123456789abcdef0123" not in page


def test_the_test_button_keeps_to_the_robots_pace(town, robots, client_as):
    unit, client = town["branch"], client_as(town["manager"])
    client.post(f"/reminders/units/{unit.id}/robot", data={"vendor": "wecom",
                                                           "url": robots.add(WECOM)})
    robots.script(too_fast())
    page = client.post(f"/reminders/units/{unit.id}/robot/test",
                       follow_redirects=True).get_data(as_text=True)
    assert "rate limited" in page
    db.session.expire_all()
    assert get_channel(unit.id).held_until > utcnow()
    page = client.post(f"/reminders/units/{unit.id}/robot/test",
                       follow_redirects=True).get_data(as_text=True)
    assert "try again in" in page and robots.requests == 1


def test_removing_the_robot(town, robots, client_as):
    unit, client = town["branch"], client_as(town["admin"])
    client.post(f"/reminders/units/{unit.id}/robot", data={"vendor": "wecom",
                                                           "url": robots.add(WECOM)})
    response = client.post(f"/reminders/units/{unit.id}/robot/delete", follow_redirects=True)
    assert "is removed" in response.get_data(as_text=True)
    assert get_channel(unit.id) is None
    assert "no group robot" in client.post(f"/reminders/units/{unit.id}/robot/test",
                                           follow_redirects=True).get_data(as_text=True)


# -- the command ---------------------------------------------------------------------------


def test_the_channel_command(town, robots, runner):
    url = robots.add(DINGTALK, SECRET)
    result = runner.invoke(args=["unit", "channel", "洋溢村党总支", "--dingtalk", url,
                                 "--secret", SECRET, "--test"])
    assert result.exit_code == 0, result.output
    token = token_of(url)
    assert f"access_token={token[:4]}… (signed) saved." in result.output
    assert "The robot took the test message." in result.output
    assert token not in result.output and SECRET not in result.output
    assert len(robots.take()) == 1

    shown = runner.invoke(args=["unit", "channel", "洋溢村党总支"])
    assert shown.exit_code == 0 and "DingTalk robot" in shown.output and token not in shown.output
    removed = runner.invoke(args=["unit", "channel", "洋溢村党总支", "--none"])
    assert removed.exit_code == 0 and "removed" in removed.output
    db.session.expire_all()
    assert get_channel(town["branch"].id) is None
    assert "has no group robot" in runner.invoke(args=["unit", "channel", "洋溢村党总支"]).output


@pytest.mark.parametrize("args, message", [
    (["--wecom", "https://example.org/cgi-bin/webhook/send?key=0123456789abcdef"],
     "is not a WeCom, DingTalk or Feishu robot host"),
    (["--feishu", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef"],
     "not a Feishu one"),
    (["--wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef",
      "--secret", "SECabcdefgh"], "--secret goes with --dingtalk or --feishu"),
    (["--wecom", "x", "--none"], "give one of"),
    (["--feishu", " "], "--feishu needs the robot's webhook address"),
    (["--dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef",
      "--secret", "nosecprefix"], "starts with SEC"),
    (["--test"], "no group robot"),
])
def test_the_channel_command_refuses_with_exit_2(town, robots, runner, snapshot, args, message):
    before = snapshot()
    result = runner.invoke(args=["unit", "channel", "洋溢村党总支", *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output
    assert snapshot() == before and robots.requests == 0


def test_the_channel_command_needs_a_known_unit(town, runner):
    result = runner.invoke(args=["unit", "channel", "无此单位", "--none"])
    assert result.exit_code == 2 and "no unit named" in result.output


# -- secrets are never logged --------------------------------------------------------------


def test_addresses_and_secrets_never_reach_a_log(app, town, robots, client_as, runner, caplog,
                                                 smtp_server):
    app.config.update(mail_config(smtp_server))
    caplog.set_level(logging.DEBUG)
    ding = robots.add(DINGTALK, SECRET)
    feishu = robots.add(FEISHU, FEISHU_SECRET)
    secrets = [token_of(ding), token_of(feishu), SECRET, FEISHU_SECRET]

    client = client_as(town["manager"])
    client.post(f"/reminders/units/{town['branch'].id}/robot",
                data={"vendor": "dingtalk", "url": ding, "secret": SECRET})
    client.post(f"/reminders/units/{town['branch'].id}/robot/test")
    robots.script(too_fast())
    client.post(f"/reminders/units/{town['branch'].id}/robot/test")
    db.session.execute(sa.update(UnitChannel).values(held_until=None))
    db.session.commit()
    runner.invoke(args=["unit", "channel", "镇党委宣传办", "--feishu", feishu, "--secret",
                        FEISHU_SECRET, "--test"])
    # Dispatch: a rate limit, a bad signature (a wrong secret stored), then success.
    now = datetime(2026, 2, 24, 0, 0, tzinfo=timezone.utc)
    robots.script(too_fast())
    dispatch(now)
    set_channel(town["branch"], DINGTALK, None, "SEC" + "0" * 64, now=now)
    db.session.commit()
    dispatch(now + timedelta(minutes=11))
    set_channel(town["branch"], DINGTALK, None, SECRET, now=now)
    db.session.commit()
    robots.stop()
    dispatch(now + timedelta(minutes=30))
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert any("rate limited" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        text = " ".join([record.getMessage(), repr(record.args), record.exc_text or ""])
        assert not any(secret in text for secret in secrets), record.getMessage()
    errors = db.session.scalars(sa.select(OutboxMessage.last_error)).all()
    assert any(errors) and not any(s in (e or "") for e in errors for s in secrets)


def test_an_unknown_robot_kind_names_every_registered_one(app):
    from flask_babel import force_locale

    from tracker.reminders.channels import ChannelError, parse_vendor

    with app.test_request_context():
        with force_locale("zh_CN"), pytest.raises(ChannelError, match="请选择企业微信、钉钉或飞书。"):
            parse_vendor("sms")
        with force_locale("en"), pytest.raises(
                ChannelError, match=r"choose WeCom \(企业微信\), DingTalk \(钉钉\), or Feishu"):
            parse_vendor("sms")
