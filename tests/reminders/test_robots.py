"""Group robots: addresses and signatures. No app."""

import json
import re
from datetime import datetime, timezone

import pytest

from tracker.core.errors import TrackerError
from tracker.reminders.robots import (Vendor, WebhookError, dingtalk_signed_url, feishu_signature,
                                      mask, parse_allowed_hosts, parse_webhook, signed_request)

NOW = datetime(2026, 6, 23, 0, 30, tzinfo=timezone.utc)
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa".replace("x", "0")
DING_TOKEN = "a" * 64
FEISHU_TOKEN = "5e3d587e-d78e-4a07-bd07-265f269f86fd"
WECOM_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
DING_URL = f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}"
FEISHU_URL = f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}"


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
