"""Group robots: addresses, signatures, messages, answers and pacing; real posts to the
fake robots of tests/robotserver.py. No app."""

import json
import re
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.robotserver import (DINGTALK, FEISHU, WECOM, answer, hang, redirect, too_fast,
                              trickle)
from tracker.core.errors import TrackerError
from tracker.reminders.pace import Pacer
from tracker.reminders.robot_text import RobotItem
from tracker.reminders.robots import (Webhook, WebhookError, build_payload, classify,
                                      parse_allowed_hosts, parse_webhook, post, send,
                                      signed_request)
from tracker.reminders.transports import Outcome, Status
from tracker.reminders.vendors import Vendor, mask
from tracker.reminders.vendors.dingtalk import signed_url as dingtalk_signed_url
from tracker.reminders.vendors.feishu import BODY_LIMIT as FEISHU_BODY_LIMIT
from tracker.reminders.vendors.feishu import signature as feishu_signature
from tracker.reminders.vendors.markdown import CONTENT_LIMIT

TODAY = date(2026, 6, 23)
NOW = datetime(2026, 6, 23, 0, 30, tzinfo=timezone.utc)
BASE = "https://tracker.shuyuan.example"
MORE = f"{BASE}/tasks?unit=12"
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa".replace("x", "0")
DING_TOKEN = "a" * 64
FEISHU_TOKEN = "5e3d587e-d78e-4a07-bd07-265f269f86fd"
WECOM_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
DING_URL = f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}"
FEISHU_URL = f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}"
ITEMS = [
    RobotItem(7, "召开意识形态工作专题会议", date(2026, 6, 30)),
    RobotItem(9, "上半年自查", date(2026, 6, 16)),
    RobotItem(3, "党委理论学习中心组学习", date(2026, 6, 23)),
]


def robot(server, vendor, secret=None):
    """A robot on the fake server, as the app would take its address."""
    return parse_webhook(server.add(vendor, secret), server.allowed_hosts, Vendor(vendor))


def content(vendor, payload: bytes) -> str:
    """The text a person reads: WeCom's or DingTalk's markdown, Feishu's post flattened."""
    body = json.loads(payload)
    if vendor == Vendor.WECOM:
        return body["markdown"]["content"]
    if vendor == Vendor.DINGTALK:
        return body["markdown"]["text"]
    rows = body["content"]["post"]["zh_cn"]["content"]
    return "\n".join("".join(e["text"] for e in row) for row in rows)


def links(vendor, payload: bytes) -> list[str]:
    """Every link in the message, in order."""
    if vendor == Vendor.FEISHU:
        rows = json.loads(payload)["content"]["post"]["zh_cn"]["content"]
        return [e["href"] for row in rows for e in row if e["tag"] == "a"]
    return re.findall(r"\]\(([^)]*)\)", content(vendor, payload))


# -- addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize("url, vendor, token", [
    (WECOM_URL, Vendor.WECOM, WECOM_KEY),
    (DING_URL, Vendor.DINGTALK, DING_TOKEN),
    (FEISHU_URL, Vendor.FEISHU, FEISHU_TOKEN),
    (f"https://open.larksuite.com/open-apis/bot/v2/hook/{FEISHU_TOKEN}", Vendor.FEISHU,
     FEISHU_TOKEN),
    (f"  https://qyapi.weixin.qq.com:443/cgi-bin/webhook/send?key={WECOM_KEY}\n", Vendor.WECOM,
     WECOM_KEY),
    (f"HTTPS://QYAPI.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}", Vendor.WECOM,
     WECOM_KEY),
])
def test_the_vendors_own_addresses_are_accepted_and_say_whose_they_are(url, vendor, token):
    webhook = parse_webhook(url, frozenset())
    assert (webhook.vendor, webhook.token) == (vendor, token)
    assert webhook.url in (WECOM_URL, DING_URL, FEISHU_URL, url)  # one spelling per robot
    assert parse_webhook(url, frozenset(), vendor) == webhook
    assert token not in repr(webhook) and token[:4] in repr(webhook)


@pytest.mark.parametrize("url, why", [
    (WECOM_URL.replace("https", "http"), "https (port 443) only"),
    (WECOM_URL.replace(".com/", ".com:8443/"), "https (port 443) only"),
    (WECOM_URL.replace("https", "ftp"), "only https"),
    ("qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + WECOM_KEY, "only https"),
    (WECOM_URL.replace("https://", "https://user:pw@"), "no user name"),
    (WECOM_URL.replace("https://", "https://qyapi.weixin.qq.com@evil.example/x?y="),
     "no user name"),
    (WECOM_URL.replace("https://", "https://evil.example\\@"), "no user name"),
    (WECOM_URL + "#top", "no #fragment"),
    (WECOM_URL + "#", "no #fragment"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "with its key"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=", "with its key"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "with its key"),
    (WECOM_URL + "&debug=1", "nothing else"),
    (WECOM_URL + "&key=" + WECOM_KEY, "nothing else"),
    (WECOM_URL.replace("key=", "key=%36"), "with its key"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/other?key=" + WECOM_KEY, "with its key"),
    (DING_URL + "&timestamp=1&sign=abc", "signature is added when sending"),
    ("https://oapi.dingtalk.com/robot/send?token=" + DING_TOKEN, "access_token"),
    (FEISHU_URL + "?x=1", "nothing after the token"),
    (FEISHU_URL + "/more", "nothing after the token"),
    ("https://open.feishu.cn/open-apis/bot/v2/hook/", "nothing after the token"),
    ("https://open.feishu.cn/open-apis/bot/hook/" + FEISHU_TOKEN, "nothing after the token"),
    # Hosts that are not the vendors', however alike.
    ("https://qyapi.weixin.qq.com.evil.example/cgi-bin/webhook/send?key=" + WECOM_KEY,
     "not a WeCom, DingTalk or Feishu robot host"),
    ("https://evil-qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + WECOM_KEY,
     "not a WeCom, DingTalk or Feishu robot host"),
    ("https://qyapi.weixin.qq.com./cgi-bin/webhook/send?key=" + WECOM_KEY,
     "is not a host name"),
    ("https://qyapi.weixin.qq.c\u043em/cgi-bin/webhook/send?key=" + WECOM_KEY, "ASCII"),
    ("https://qyapi\uff0eweixin.qq.com/cgi-bin/webhook/send?key=" + WECOM_KEY, "ASCII"),
    ("https://xn--qyapi-weixin-qq-com.example/cgi-bin/webhook/send?key=" + WECOM_KEY,
     "not a WeCom"),
    ("https://qyapi%2eweixin.qq.com/cgi-bin/webhook/send?key=" + WECOM_KEY, "not a host name"),
    ("https://qyapi.weixin.qq.com\t/cgi-bin/webhook/send?key=" + WECOM_KEY, "ASCII"),
    # Addresses written as numbers.
    ("https://101.91.40.14/cgi-bin/webhook/send?key=" + WECOM_KEY, "not a WeCom"),
    ("https://1700505614/cgi-bin/webhook/send?key=" + WECOM_KEY, "not a host name"),
    ("https://0x65.0x5b.40.14/cgi-bin/webhook/send?key=" + WECOM_KEY, "not a host name"),
    ("https://[::ffff:101.91.40.14]/cgi-bin/webhook/send?key=" + WECOM_KEY, "not a WeCom"),
    ("https://example.org/cgi-bin/webhook/send?key=" + WECOM_KEY,
     "TRACKER_WEBHOOK_ALLOWED_HOSTS"),
    ("", "without a scheme"),
    ("https://[::1/cgi-bin/webhook/send?key=" + WECOM_KEY, "not an address"),
    ("https://qyapi.weixin.qq.com:0443/cgi-bin/webhook/send?key=" + WECOM_KEY, "not a port"),
    ("https://qyapi.weixin.qq.com:70000/cgi-bin/webhook/send?key=" + WECOM_KEY, "not a port"),
])
def test_other_addresses_are_refused_with_a_reason(url, why):
    with pytest.raises(WebhookError, match=re.escape(why)) as refused:
        parse_webhook(url, frozenset())
    assert isinstance(refused.value, ValueError) and isinstance(refused.value, TrackerError)
    assert WECOM_KEY not in str(refused.value) and DING_TOKEN not in str(refused.value)


def test_the_caller_names_the_vendor_of_a_listed_host_and_must_not_contradict_a_vendor_host():
    with pytest.raises(WebhookError, match="a WeCom robot address, not a DingTalk one"):
        parse_webhook(WECOM_URL, frozenset(), Vendor.DINGTALK)
    hosts = frozenset({"gw.zwwx.example"})
    url = f"https://gw.zwwx.example/cgi-bin/webhook/send?key={WECOM_KEY}"
    with pytest.raises(WebhookError, match="say whose robot"):
        parse_webhook(url, hosts)
    assert parse_webhook(url, hosts, Vendor.WECOM).vendor == Vendor.WECOM
    # The path is still the vendor's it speaks for.
    with pytest.raises(WebhookError, match="DingTalk robot address is"):
        parse_webhook(url, hosts, Vendor.DINGTALK)


def test_listed_hosts_take_http_and_their_own_port_only():
    hosts = parse_allowed_hosts("gw.zwwx.example, 127.0.0.1:8080,[::1]:9000")
    path = f"/robot/send?access_token={DING_TOKEN}"
    for url in (f"http://127.0.0.1:8080{path}", f"https://gw.zwwx.example{path}",
                f"http://gw.zwwx.example:80{path}", f"http://[::1]:9000{path}",
                f"http://[0:0::1]:9000{path}"):
        assert parse_webhook(url, hosts, Vendor.DINGTALK).token == DING_TOKEN
    assert parse_webhook(f"http://GW.zwwx.example:80{path}", hosts, "dingtalk").url == \
        f"http://gw.zwwx.example{path}"
    for url in (f"http://127.0.0.1:8081{path}", f"http://127.0.0.1:0{path}",
                f"http://127.0.0.1{path}", f"http://gw.zwwx.example:8080{path}",
                f"http://localhost:8080{path}", f"http://2130706433:8080{path}",
                f"http://127.1:8080{path}", f"http://[::1]{path}",
                f"https://gw.zwwx.example:8443{path}"):
        with pytest.raises(WebhookError):
            parse_webhook(url, hosts, Vendor.DINGTALK)


def test_allowed_hosts_setting_is_checked():
    assert parse_allowed_hosts(None) == parse_allowed_hosts(" , ") == frozenset()
    assert parse_allowed_hosts("GW.Example.org:8443, 10.0.0.5 ,[0:0:0:0:0:0:0:1]") == {
        "gw.example.org:8443", "10.0.0.5", "[::1]"}
    for bad, why in [("http://gw.example", "not host[:port]"), ("gw.example/path", "not a host"),
                     ("gw.example:0", "not a port"), ("gw.example:65536", "not a port"),
                     ("gw.example:080", "not a port"), ("*.example.org", "not a host"),
                     ("127.1", "not a host"), ("2130706433", "not a host"),
                     ("gw_1.example", "not a host"), ("-gw.example", "not a host"),
                     ("gw.ex ample", "not a host"), ("[::1", "not host[:port]"),
                     ("qyapi.weixin.qq.com", "always accepted"),
                     ("open.feishu.cn:80", "always accepted")]:
        with pytest.raises(WebhookError, match=re.escape(why)):
            parse_allowed_hosts(f"ok.example, {bad}")


def test_mask_shows_the_first_four_characters_of_the_key_only():
    assert mask(WECOM_URL) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…"
    signed = dingtalk_signed_url(DING_URL, "SECabc", 1_700_000_000_000)
    assert mask(signed) == "https://oapi.dingtalk.com/robot/send?access_token=aaaa…"
    assert mask(FEISHU_URL) == "https://open.feishu.cn/open-apis/bot/v2/hook/5e3d…"
    assert mask(f"http://u:p@[::1]:9000/robot/send?access_token={DING_TOKEN}#x") == \
        "http://[::1]:9000/robot/send?access_token=aaaa…"
    assert mask("https://[::1/x?key=" + WECOM_KEY) == "(not an address)"


# -- signatures (checked by the fake robots in "real posts") ---------------------------


def test_signing_formulas():
    url = dingtalk_signed_url(DING_URL, "SECabc", 1_700_000_000_000)
    assert url.startswith(DING_URL + "&timestamp=1700000000000&sign=")
    sign = url.rsplit("=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9%]+", sign) and "%3D" in sign  # Base64, URL-encoded
    assert feishu_signature("abc", 1_599_360_473) != feishu_signature("abc", 1_599_360_474)
    webhook = parse_webhook(FEISHU_URL)
    signed_url, body = signed_request(webhook, b'{"msg_type":"text","content":{"text":"x"}}',
                                      "abc", NOW)
    assert signed_url == FEISHU_URL
    assert json.loads(body) == {"timestamp": str(int(NOW.timestamp())),
                                "sign": feishu_signature("abc", int(NOW.timestamp())),
                                "msg_type": "text", "content": {"text": "x"}}
    with pytest.raises(WebhookError, match="WeCom robot takes no secret"):
        signed_request(parse_webhook(WECOM_URL), b"{}", "abc", NOW)


# -- messages ------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", list(Vendor))
def test_one_message_lists_overdue_items_first_each_with_its_date_state_and_link(vendor):
    payload = build_payload(vendor, "洋溢村党总支", ITEMS, today=TODAY, base_url=BASE + "/",
                            more_url=MORE)
    body = json.loads(payload)
    text = content(vendor, payload)
    lines = [line.rstrip() for line in text.split("\n")]
    assert "3 项待办，其中 1 项已逾期" in text
    assert not any(line.startswith("还有") for line in lines)  # nothing left out
    assert [re.search(r"(上半年自查|党委理论学习|召开意识形态)", line)[1]
            for line in lines if re.match(r"\d+\. ", line)] == ["上半年自查", "党委理论学习",
                                                               "召开意识形态"]
    # The due date is the system's setting, and says so.
    assert "上半年自查（截止 2026-06-16（本系统设定），已逾期 7 天）" in text.replace("**", "")
    assert "今天到期" in text and "截止 2026-06-30（本系统设定），还有 7 天到期" in text
    if vendor == Vendor.FEISHU:
        assert body["msg_type"] == "post"
        assert body["content"]["post"]["zh_cn"]["title"] == "【工作提醒】洋溢村党总支"
    else:
        assert body["msgtype"] == "markdown"
        assert lines[0] == "**【工作提醒】洋溢村党总支**"
        if vendor == Vendor.DINGTALK:
            assert body["markdown"]["title"] == "【工作提醒】洋溢村党总支"
            assert "  \n" in text  # DingTalk's line breaks
    assert links(vendor, payload) == [f"{BASE}/tasks/9", f"{BASE}/tasks/3", f"{BASE}/tasks/7"]
    with pytest.raises(ValueError, match="never empty"):
        build_payload(vendor, "洋溢村党总支", [], today=TODAY, base_url=BASE, more_url=MORE)


@pytest.mark.parametrize("vendor", list(Vendor))
def test_three_hundred_overdue_items_fit_and_end_with_the_link_to_the_rest(vendor):
    items = [RobotItem(i, f"第{i}项：召开意识形态工作专题会议并形成会议纪要（长标题）" * 2,
                       TODAY - timedelta(days=i % 40 + 1)) for i in range(1, 301)]
    payload = build_payload(vendor, "书院镇机关党支部", items, today=TODAY, base_url=BASE,
                            more_url=MORE)
    body = json.loads(payload)
    text = content(vendor, payload)
    shown = len(re.findall(r"^\d+\. ", text, re.MULTILINE))
    assert 0 < shown < 300
    assert text.rstrip().endswith(
        f"还有 {300 - shown} 项，查看全部：" + (MORE if vendor == Vendor.FEISHU
                                            else f"[{MORE}]({MORE})"))
    assert "300 项待办，其中 300 项已逾期" in text
    if vendor == Vendor.FEISHU:
        # The whole body, signature included, as sent.
        _, signed = signed_request(parse_webhook(FEISHU_URL), payload, "SEC" + "x" * 40, NOW)
        assert len(signed) <= FEISHU_BODY_LIMIT
        assert len(signed) > FEISHU_BODY_LIMIT - 1000  # and not needlessly short
    else:
        field = body["markdown"]["content" if vendor == Vendor.WECOM else "text"]
        assert len(field.encode("utf-8")) <= CONTENT_LIMIT
        assert len(json.dumps(field, ensure_ascii=False).encode("utf-8")) - 2 <= CONTENT_LIMIT
        assert len(field.encode("utf-8")) > CONTENT_LIMIT - 400
    assert links(vendor, payload)[:3] == [f"{BASE}/tasks/{i}" for i in (39, 79, 119)]


#: Titles that try every markup WeCom and DingTalk render, each short enough to be shown whole.
HOSTILE_TITLES = [
    "交材料](javascript:alert(1)) [链](http://evil.example) ![x](http://evil.example/x.png)",
    '<font color="warning">红</font> <a href="http://evil.example">a</a> &lt;b&gt; &#60;i&#62;',
    "@all <@zhangsan> @13800001111 <at user_id=\"all\">所有人</at>",
    "第一行\n# 标题\r\n> 引用\n- 列表\n1. 编号\u2028分隔\x85下一行",
    "**粗** __粗__ *斜* _斜_ ~~删~~ `code` |表|格| \\转义\\",
    "\u202egnp.exe\x00\x1b[31m \u200b零宽 \ud800孤",
]


@pytest.mark.parametrize("vendor", list(Vendor))
def test_markup_in_unit_names_and_titles_stays_text(vendor):
    items = [RobotItem(10 + n, title, TODAY - timedelta(days=3))
             for n, title in enumerate(HOSTILE_TITLES)]
    items.append(RobotItem(6, "正常事项", TODAY + timedelta(days=2)))
    assert all(len(title) < 120 for title in HOSTILE_TITLES)
    payload = build_payload(vendor, "村**支部**](x) <b>@all\n# 标题", items, today=TODAY,
                            base_url=BASE, more_url=MORE)
    body = json.loads(payload)
    text = content(vendor, payload)
    ours = [f"{BASE}/tasks/{n}" for n in range(10, 10 + len(HOSTILE_TITLES))] + [
        f"{BASE}/tasks/6"]
    assert links(vendor, payload) == ours
    for bad in ("\u202e", "\x00", "\x1b", "\r", "\u2028", "\x85", "\u200b", "\ud800"):
        assert bad not in text
    assert "…" not in text  # every title shown whole
    if vendor == Vendor.FEISHU:
        elements = [e for row in body["content"]["post"]["zh_cn"]["content"] for e in row]
        assert {e["tag"] for e in elements} == {"text", "a"}
        assert all("\n" not in e["text"] for e in elements)
        assert len(body["content"]["post"]["zh_cn"]["content"]) == 1 + len(items)
        # Text in a post is shown as written and mentions nobody.
        assert '<at user_id="all">所有人</at>' in text and "](javascript:" in text
        return
    lines = text.split("\n")
    assert len(lines) == 2 + len(items)  # heading, summary, one line per item
    assert lines[0].startswith("**【工作提醒】村＊＊支部＊＊］（x） ＜b＞＠all ＃ 标题")
    assert text.count("**") == 2 + 2 * len(HOSTILE_TITLES)  # the heading's and overdue dates'
    rest = re.sub(r"\[查看\]\([^)]*\)", "", text).replace("**", "")
    for markup in ("[", "]", "(", ")", "<", ">", "@", "&", "#", "*", "_", "~", "`", "|", "\\",
                   "!"):
        assert markup not in rest, markup
    assert "交材料］（javascript:alert（1））" in text and "＠all ＜＠zhangsan＞" in text


@pytest.mark.parametrize("vendor", list(Vendor))
def test_byte_limits_hold_to_the_byte(vendor):
    """Titles of every length from 1 to 80 characters: one of them lands each cut within a
    few bytes of the limit, so a budget off by a few bytes shows."""
    closest = 10_000
    for length in range(1, 81):
        items = [RobotItem(i, "事" * length, TODAY - timedelta(days=1)) for i in range(1, 301)]
        payload = build_payload(vendor, "洋溢村党总支", items, today=TODAY, base_url=BASE,
                                more_url=MORE)
        if vendor == Vendor.FEISHU:
            # Signed as it is sent, with a secret's longest timestamp: 20 KB read as 20,000.
            _, sent = signed_request(parse_webhook(FEISHU_URL), payload, "s",
                                     datetime(2286, 11, 20, tzinfo=timezone.utc))
            size, limit = len(sent), 20_000
        else:  # the markdown as the vendor counts it, JSON escapes and all: 4096
            size = len(json.dumps(content(vendor, payload), ensure_ascii=False).encode()) - 2
            limit = 4096
        assert size <= limit, length
        closest = min(closest, limit - size)
    assert closest < 20


def test_every_byte_limit_holds_for_titles_of_any_width():
    for title in ("a" * 500, "𠀀" * 500, "\\" * 500, '"' * 500):
        items = [RobotItem(i, title, TODAY - timedelta(days=1)) for i in range(50)]
        for vendor in Vendor:
            payload = build_payload(vendor, title, items, today=TODAY, base_url=BASE,
                                    more_url=MORE)
            if vendor == Vendor.FEISHU:
                assert len(payload) <= FEISHU_BODY_LIMIT
            else:
                field = content(vendor, payload)
                assert len(json.dumps(field, ensure_ascii=False).encode()) - 2 <= CONTENT_LIMIT
                assert "还有" in field


# -- answers -------------------------------------------------------------------------------


def answer_of(vendor, code, message=""):
    key = ("code", "msg") if vendor == Vendor.FEISHU else ("errcode", "errmsg")
    return json.dumps({key[0]: code, key[1]: message}).encode()


@pytest.mark.parametrize("vendor, code, message, status", [
    (Vendor.WECOM, 0, "ok", Status.SENT),
    (Vendor.WECOM, 45009, "api freq out of limit", Status.RETRY),
    (Vendor.WECOM, -1, "system busy", Status.RETRY),
    (Vendor.WECOM, 93000, "invalid webhook url", Status.FAILED),
    (Vendor.WECOM, 40058, "markdown.content exceed max length", Status.FAILED),
    (Vendor.DINGTALK, 0, "ok", Status.SENT),
    (Vendor.DINGTALK, "0", "ok", Status.SENT),
    (Vendor.DINGTALK, 410100, "发送速度太快而限流", Status.RETRY),
    (Vendor.DINGTALK, 130101, "send too fast, exceed 20 times per minute", Status.RETRY),
    (Vendor.DINGTALK, 660026, "sending too many messages per minute", Status.RETRY),
    (Vendor.DINGTALK, -1, "系统繁忙", Status.RETRY),
    (Vendor.DINGTALK, 300001, "token is not exist", Status.FAILED),
    (Vendor.DINGTALK, 300005, "token is not exist", Status.FAILED),
    (Vendor.DINGTALK, 310000, "sign not match", Status.FAILED),
    (Vendor.DINGTALK, 310000, "keywords not in content", Status.FAILED),
    (Vendor.DINGTALK, 400013, "群已被解散", Status.FAILED),
    (Vendor.DINGTALK, 400101, "access_token不存在", Status.FAILED),
    (Vendor.DINGTALK, 400102, "机器人已停用", Status.FAILED),
    (Vendor.DINGTALK, 430101, "含有不安全的外链", Status.FAILED),
    (Vendor.FEISHU, 0, "success", Status.SENT),
    (Vendor.FEISHU, 11232, "frequency limited", Status.RETRY),
    (Vendor.FEISHU, 99991400, "request trigger frequency limit", Status.RETRY),
    (Vendor.FEISHU, 9499, "Bad Request", Status.FAILED),
    (Vendor.FEISHU, 9499, "too many request", Status.RETRY),
    (Vendor.FEISHU, 19001, "param invalid: incoming webhook access token invalid",
     Status.FAILED),
    (Vendor.FEISHU, 19021, "sign match fail or timestamp is not within one hour", Status.FAILED),
    (Vendor.FEISHU, 19022, "Ip Not Allowed", Status.FAILED),
    (Vendor.FEISHU, 19024, "Key Words Not Found", Status.FAILED),
])
def test_every_code_is_sorted(vendor, code, message, status):
    outcome = classify(vendor, 200, answer_of(vendor, code, message), None)
    assert outcome.status == status
    if status == Status.SENT:
        assert outcome == Outcome(Status.SENT) and outcome.failure() is None
        return
    name = {Vendor.WECOM: "WeCom", Vendor.DINGTALK: "DingTalk", Vendor.FEISHU: "Feishu"}[vendor]
    assert str(code) in outcome.error and outcome.error.startswith(f"{name}: ")
    failure = outcome.failure()
    assert failure.permanent == (status == Status.FAILED) and not failure.connection_lost
    if status == Status.RETRY and code != -1:
        assert outcome.retry_after >= timedelta(minutes=1)


def test_feishu_legacy_status_code_and_http_level_answers():
    assert classify(Vendor.FEISHU, 200, b'{"StatusCode":0,"StatusMessage":"success"}',
                    None).status == Status.SENT
    assert classify(Vendor.FEISHU, 200, b'{"Extra":null,"StatusCode":19021}',
                    None).status == Status.FAILED
    for status, body, expected in [
        (302, b"", Status.FAILED), (301, answer_of(Vendor.WECOM, 0), Status.FAILED),
        (429, b"", Status.RETRY), (500, b"", Status.RETRY), (502, b"<html>", Status.RETRY),
        (503, answer_of(Vendor.WECOM, 0), Status.RETRY), (404, b"404 page not found",
                                                          Status.FAILED),
        (403, b"", Status.FAILED), (400, answer_of(Vendor.WECOM, 45009), Status.RETRY),
        (400, answer_of(Vendor.WECOM, 93000), Status.FAILED),
        (400, answer_of(Vendor.WECOM, 0), Status.FAILED),
        (200, b"<html>gateway</html>", Status.RETRY), (200, b"", Status.RETRY),
        (200, b"[0]", Status.RETRY), (200, b'{"errcode":true}', Status.RETRY),
        (200, b'{"errcode":"ok"}', Status.RETRY),
    ]:
        assert classify(Vendor.WECOM, status, body, None).status == expected, (status, body)
    assert classify(Vendor.DINGTALK, 429, b"", None).retry_after == timedelta(minutes=10)
    for exc in (TimeoutError("timed out"), ConnectionRefusedError(111, "Connection refused"),
                OSError("Network is unreachable")):
        assert classify(Vendor.WECOM, None, None, exc).status == Status.RETRY


def test_keys_tokens_and_secrets_never_reach_an_error_text():
    secret = "SEC+a/b=="
    body = answer_of(Vendor.DINGTALK, 310000,
                     f"sign not match for {DING_TOKEN}, sign={secret}, encoded SEC%2Ba%2Fb%3D%3D")
    outcome = classify(Vendor.DINGTALK, 200, body, None, secrets=(DING_TOKEN, secret, None))
    assert DING_TOKEN not in outcome.error and "SEC" not in outcome.error
    exc = OSError(f"cannot reach {WECOM_URL}")
    outcome = classify(Vendor.WECOM, None, None, exc, secrets=(WECOM_KEY,))
    assert WECOM_KEY not in outcome.error and "key=…" in outcome.error
    long = classify(Vendor.WECOM, 200, answer_of(Vendor.WECOM, 93000, "x" * 5000), None)
    assert len(long.error) <= 500


# -- real posts ----------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", list(Vendor))
def test_posts_to_each_vendors_robot(robot_server, vendor):
    webhook = robot(robot_server, vendor)
    payload = build_payload(vendor, "洋溢村党总支", ITEMS, today=TODAY, base_url=BASE,
                            more_url=MORE)
    assert send(webhook, payload, secret=None, now=NOW) == Outcome(Status.SENT)
    [received] = robot_server.take()
    assert received.token == webhook.token
    assert received.content_type == "application/json; charset=utf-8"
    assert received.message == json.loads(payload)

    robot_server.script(too_fast())
    limited = send(webhook, payload, secret=None, now=NOW)
    assert limited.status == Status.RETRY and "rate limited" in limited.error

    robot_server.script(answer(503, b"busy"))
    assert send(webhook, payload, secret=None, now=NOW).status == Status.RETRY

    # A redirect is not followed: the robot it points to hears nothing.
    elsewhere = robot_server.add(vendor)
    robot_server.script(redirect(elsewhere))
    moved = send(webhook, payload, secret=None, now=NOW)
    assert moved.status == Status.FAILED and "redirect" in moved.error
    assert robot_server.take() == [] and robot_server.requests == 4

    unknown = parse_webhook(robot_server.url(vendor, "0123456789abcdef"),
                            robot_server.allowed_hosts, vendor)
    refused = send(unknown, payload, secret=None, now=NOW)
    assert refused.status == Status.FAILED and "0123456789abcdef" not in refused.error


@pytest.mark.parametrize("vendor", [Vendor.DINGTALK, Vendor.FEISHU])
def test_signed_messages_are_accepted_and_bad_or_stale_signatures_refused(robot_server, vendor):
    webhook = robot(robot_server, vendor, secret="SEC0123456789abcdef")
    payload = build_payload(vendor, "洋溢村党总支", ITEMS, today=TODAY, base_url=BASE,
                            more_url=MORE)
    now = datetime.now(timezone.utc)
    assert send(webhook, payload, secret="SEC0123456789abcdef", now=now).status == Status.SENT
    [received] = robot_server.take()
    assert received.message["msg_type" if vendor == Vendor.FEISHU else "msgtype"] in (
        "post", "markdown")

    wrong = send(webhook, payload, secret="SECwrong", now=now)
    assert wrong.status == Status.FAILED
    assert ("19021" if vendor == Vendor.FEISHU else "310000 sign not match") in wrong.error
    assert "SECwrong" not in wrong.error and webhook.token not in wrong.error
    stale = send(webhook, payload, secret="SEC0123456789abcdef", now=now - timedelta(hours=2))
    assert stale.status == Status.FAILED
    # An hour either way is fresh: the fake's clock runs 50 minutes behind.
    robot_server.clock = lambda: now.timestamp() - 50 * 60
    assert send(webhook, payload, secret="SEC0123456789abcdef", now=now).status == Status.SENT
    unsigned = send(webhook, payload, secret=None, now=now)
    assert unsigned.status == Status.FAILED
    assert len(robot_server.take()) == 1


@pytest.mark.parametrize("vendor", list(Vendor))
def test_the_longest_messages_are_taken_whole(robot_server, vendor):
    items = [RobotItem(i, "召开意识形态工作专题会议并形成会议纪要" * 3, TODAY - timedelta(days=1))
             for i in range(1, 301)]
    webhook = robot(robot_server, vendor, secret=None if vendor == Vendor.WECOM else "SECx")
    payload = build_payload(vendor, "书院镇机关党支部", items, today=TODAY, base_url=BASE,
                            more_url=MORE)
    now = datetime.now(timezone.utc)
    assert send(webhook, payload, secret=None if vendor == Vendor.WECOM else "SECx",
                now=now).status == Status.SENT
    assert robot_server.take()[0].message["msg_type" if vendor == Vendor.FEISHU
                                          else "msgtype"] in ("post", "markdown")


def test_a_robot_that_does_not_answer_is_given_up_on_and_retried_later(robot_server):
    webhook = robot(robot_server, WECOM)
    robot_server.script(hang(10))
    payload = build_payload(Vendor.WECOM, "洋溢村党总支", ITEMS, today=TODAY, base_url=BASE,
                            more_url=MORE)
    with pytest.raises(TimeoutError):
        post(webhook, payload, timeout=0.3)
    with pytest.raises(ValueError, match="needs the time"):
        post(webhook, payload, secret="abc")
    robot_server.script(hang(10))
    outcome = send(webhook, payload, secret=None, now=NOW, timeout=0.3)
    assert outcome.status == Status.RETRY and "TimeoutError" in outcome.error
    assert robot_server.take() == []


def test_a_robot_trickling_its_answer_is_cut_off_at_the_deadline(robot_server):
    """The timeout bounds the whole request, not each read: a robot answering a byte
    every 50 ms (each read well within 0.5 s; the answer whole after about 8 s) is
    given up on at 0.5 s."""
    webhook = robot(robot_server, WECOM)
    payload = build_payload(Vendor.WECOM, "洋溢村党总支", ITEMS, today=TODAY, base_url=BASE,
                            more_url=MORE)
    robot_server.script(trickle(0.05))
    started = time.monotonic()
    outcome = send(webhook, payload, secret=None, now=NOW, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert outcome.status == Status.RETRY and "TimeoutError" in outcome.error
    assert webhook.token not in outcome.error
    robot_server.script(trickle(0.001))  # a slow answer within the deadline is read whole
    assert send(webhook, payload, secret=None, now=NOW, timeout=5).status == Status.SENT


def test_an_answer_with_control_characters_is_stored_without_them():
    """A robot's errmsg holding NUL (PostgreSQL refuses it in text), ESC or a bidi
    override becomes U+FFFD in the error kept for the coordinator."""
    body = json.dumps({"errcode": 93000, "errmsg": "bad\u0000key\u001b[31m\u202e"}).encode()
    outcome = classify(Vendor.WECOM, 200, body, None)
    assert outcome.status == Status.FAILED
    assert "\x00" not in outcome.error and "\x1b" not in outcome.error
    assert "bad\ufffdkey\ufffd[31m\ufffd" in outcome.error


def test_a_closed_port_is_a_retry(robot_server):
    webhook = robot(robot_server, FEISHU)
    robot_server.stop()
    outcome = send(webhook, b"{}", secret=None, now=NOW, timeout=1)
    assert outcome.status == Status.RETRY and "ConnectionRefusedError" in outcome.error
    assert webhook.token not in outcome.error


def test_the_fake_robots_keep_their_vendors_rate_limits(robot_server):
    webhook = robot(robot_server, DINGTALK)
    payload = build_payload(Vendor.DINGTALK, "洋溢村党总支", ITEMS, today=TODAY, base_url=BASE,
                            more_url=MORE)
    clock = [1_000_000.0]
    robot_server.clock = lambda: clock[0]
    for _ in range(20):
        assert send(webhook, payload, secret=None, now=NOW).status == Status.SENT
    limited = send(webhook, payload, secret=None, now=NOW)
    assert limited.status == Status.RETRY and limited.retry_after == timedelta(minutes=10)
    clock[0] += 61
    assert send(webhook, payload, secret=None, now=NOW).status == Status.SENT


# -- pacing --------------------------------------------------------------------------------


def test_pacer_lets_twenty_a_rolling_minute_through():
    pacer = Pacer(margin=timedelta(0))
    webhook, other = parse_webhook(WECOM_URL), parse_webhook(DING_URL)
    start = NOW
    for n in range(20):
        now = start + timedelta(seconds=n)
        assert pacer.delay(webhook, now) == timedelta(0)
        pacer.sent(webhook, now)
    at = start + timedelta(seconds=20)
    assert pacer.delay(webhook, at) == timedelta(seconds=40)  # the first one leaves the window
    assert pacer.delay(other, at) == timedelta(0)  # another robot is not held up
    assert pacer.delay(webhook, start + timedelta(seconds=60)) == timedelta(0)
    pacer.sent(webhook, start + timedelta(seconds=60))
    assert pacer.delay(webhook, start + timedelta(seconds=60)) == timedelta(seconds=1)
    assert Pacer().delay(webhook, at) == timedelta(0)


def test_pacer_margin_feishu_per_second_limit_and_holds():
    pacer = Pacer()  # a second's margin for network delays
    webhook = parse_webhook(WECOM_URL)
    for _ in range(20):
        pacer.sent(webhook, NOW)
    assert pacer.delay(webhook, NOW) == timedelta(seconds=61)

    feishu = parse_webhook(FEISHU_URL)
    pacer = Pacer(margin=timedelta(0))
    for n in range(5):
        pacer.sent(feishu, NOW + timedelta(milliseconds=100 * n))
    assert pacer.delay(feishu, NOW + timedelta(milliseconds=500)) == timedelta(milliseconds=500)
    assert pacer.delay(feishu, NOW + timedelta(seconds=1)) == timedelta(0)

    # After "too fast", nothing until the hold is over, even with room in the window.
    pacer.hold(feishu, NOW + timedelta(minutes=10))
    pacer.hold(feishu, NOW + timedelta(minutes=1))  # a shorter hold does not shorten it
    assert pacer.delay(feishu, NOW + timedelta(minutes=2)) == timedelta(minutes=8)
    assert pacer.delay(feishu, NOW + timedelta(minutes=11)) == timedelta(0)


def test_pacer_forgets_what_has_left_every_window():
    pacer = Pacer(margin=timedelta(0))
    webhook = parse_webhook(WECOM_URL)
    for n in range(1000):
        pacer.sent(webhook, NOW + timedelta(seconds=10 * n))
    assert len(pacer._sent[webhook.robot_id]) <= 7
    assert Webhook(Vendor.WECOM, WECOM_URL, WECOM_KEY).robot_id == webhook.robot_id
