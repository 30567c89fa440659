"""DingTalk (钉钉) group robots.

``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN`` with
``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``; 20 a minute, and a
robot that sends more is throttled for 10 minutes. A robot with 加签 takes
``timestamp`` (ms) and ``sign`` in the query. Rate limits: 410100 (the error
table), 130101 and 660026 (what the endpoint says); -1 busy (系统繁忙); 310000: a
keyword, the signature, the timestamp or the IP failed the robot's security check.
Markdown lines run together unless each ends in two spaces (a hard break).
"""

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from urllib.parse import quote

from flask_babel import lazy_gettext as _l

from tracker.reminders.vendors.markdown import CONTENT_LIMIT, daily_text, notice_text
from tracker.reminders.vendors.table import RobotVendor, dumps, json_bytes

BR = "  \n"


def signature(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: Base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}"))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def signed_url(url: str, secret: str, now_ms: int) -> str:
    """The webhook address with ``timestamp`` and the URL-encoded ``sign`` appended."""
    return f"{url}&timestamp={now_ms}&sign={quote(signature(secret, now_ms), safe='')}"


def _sign(url: str, payload: bytes, secret: str, now: datetime) -> tuple[str, bytes]:
    return signed_url(url, secret, int(now.timestamp() * 1000)), payload


def _daily(heading, summary, items, rest, today, base, more_url) -> bytes:
    text = daily_text(BR, heading, summary, items, rest, today, base, more_url)
    return dumps({"msgtype": "markdown", "markdown": {"title": heading, "text": text}})


def _notice(heading, lines, link, label) -> bytes:
    text = notice_text(BR, heading, lines, link, label)
    return dumps({"msgtype": "markdown", "markdown": {"title": heading, "text": text}})


def _fits(payload: bytes) -> bool:
    return json_bytes(json.loads(payload)["markdown"]["text"]) <= CONTENT_LIMIT


_TOKEN_WRONG = "the access token is wrong or the robot was removed"

VENDOR = RobotVendor(
    key="dingtalk", name="DingTalk", native="钉钉", label=_l("DingTalk (钉钉)"),
    setup=_l("group settings, Bots (机器人), add a Custom (自定义) robot; under security "
             "choose signing (加签) and copy the secret that starts with SEC, then copy the "
             "webhook address."),
    hosts=("oapi.dingtalk.com",),
    path="/robot/send", token_param="access_token",
    daily=_daily, notice=_notice, fits=_fits, sign=_sign, secret_prefix="SEC",
    answer_fields=(("errcode", "errmsg"),),
    rate_limited=frozenset({410100, 130101, 660026}), busy=frozenset({-1}),
    rate_wait=timedelta(minutes=10),
    hints={310000: "the robot's security settings refused it (keyword, 加签 secret, clock "
                   "or IP whitelist)",
           300001: _TOKEN_WRONG, 300005: _TOKEN_WRONG, 400101: _TOKEN_WRONG,
           400102: "the robot is disabled",
           400106: "the robot is no longer in the group"},
)
