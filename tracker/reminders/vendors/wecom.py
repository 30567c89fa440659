"""WeCom (企业微信) group robots.

``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with
``{"msgtype": "markdown", "markdown": {"content": …}}``; the content at most 4096
bytes of UTF-8; 20 messages a minute per robot. The answer is
``{"errcode": 0, "errmsg": "ok"}``; 45009 is the rate limit (the global error
codes), -1 busy (系统繁忙), 93000 a bad key. A robot signs nothing: its key is the
whole of it.
"""

import json

from flask_babel import lazy_gettext as _l

from tracker.reminders.vendors.markdown import CONTENT_LIMIT, daily_text, notice_text
from tracker.reminders.vendors.table import RobotVendor, dumps, json_bytes


def _daily(heading, summary, items, rest, today, base, more_url) -> bytes:
    text = daily_text("\n", heading, summary, items, rest, today, base, more_url)
    return dumps({"msgtype": "markdown", "markdown": {"content": text}})


def _notice(heading, lines, link, label) -> bytes:
    text = notice_text("\n", heading, lines, link, label)
    return dumps({"msgtype": "markdown", "markdown": {"content": text}})


def _fits(payload: bytes) -> bool:
    return json_bytes(json.loads(payload)["markdown"]["content"]) <= CONTENT_LIMIT


VENDOR = RobotVendor(
    key="wecom", name="WeCom", native="企业微信", label=_l("WeCom (企业微信)"),
    setup=_l("in the group chat, open the group settings, then Message push (消息推送) or "
             "Group robots (群机器人), add one and copy its webhook address."),
    hosts=("qyapi.weixin.qq.com",),
    path="/cgi-bin/webhook/send", token_param="key",
    daily=_daily, notice=_notice, fits=_fits, sign=None,
    answer_fields=(("errcode", "errmsg"),),
    rate_limited=frozenset({45009}), busy=frozenset({-1}),
    hints={93000: "the key is wrong or the robot was removed from the group"},
)
