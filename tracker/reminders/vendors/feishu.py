"""Feishu/Lark (飞书) group robots.

``POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN`` (or open.larksuite.com)
with ``{"msg_type": "post", "content": {"post": …}}``: rich text of text and link
elements, so nothing in a title is markup. The body at most 20 KB; 100 a minute and
5 a second. A robot with a signature takes ``timestamp`` (s) and ``sign`` in the
body. The answer carries ``code`` (older ones ``StatusCode``); 11232 is the rate
limit (the custom bot guide), 99991400 the platform's, 9499 a malformed body, 19021
a bad or stale signature.
"""

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from tracker.reminders.robot_text import (TITLE_CHARS, _plain, _rest, _when, labelled, numbered,
                                          view)
from tracker.reminders.vendors.table import RobotVendor, dumps

#: "20 KB" for the whole body, read as 20,000.
BODY_LIMIT = 20_000
#: Kept free in a body for what signing adds: a 10-digit timestamp (until the year 2286)
#: and 44 characters of Base64.
SIGN_ROOM = len('"timestamp":"9999999999","sign":"",') + 44


def signature(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: Base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def _sign(url: str, payload: bytes, secret: str, now: datetime) -> tuple[str, bytes]:
    timestamp = int(now.timestamp())
    signed = {"timestamp": str(timestamp), "sign": signature(secret, timestamp)}
    return url, dumps(json.loads(payload) | signed)


def _post(heading: str, rows: list) -> bytes:
    return dumps({"msg_type": "post",
                  "content": {"post": {"zh_cn": {"title": heading, "content": rows}}}})


def _daily(heading, summary, items, rest, today, base, more_url) -> bytes:
    rows = [[{"tag": "text", "text": labelled(summary)}]]
    for n, item in enumerate(items, 1):
        rows.append([{"tag": "text", "text": f"{n}. " + numbered(
                         _plain(item.title, TITLE_CHARS), _when(item, today))},
                     {"tag": "a", "text": view(), "href": f"{base}/tasks/{item.task_id}"}])
    if rest:
        rows.append([{"tag": "text", "text": _rest(rest)},
                     {"tag": "a", "text": more_url, "href": more_url}])
    return _post(heading, rows)


def _notice(heading, lines, link, label) -> bytes:
    rows = [[{"tag": "text", "text": _plain(line, TITLE_CHARS * 2)}] for line in lines]
    rows.append([{"tag": "text", "text": labelled(label)},
                 {"tag": "a", "text": link, "href": link}])
    return _post(heading, rows)


def _fits(payload: bytes) -> bool:
    return len(payload) + SIGN_ROOM <= BODY_LIMIT


VENDOR = RobotVendor(
    key="feishu", name="Feishu", native="飞书", label=_l("Feishu (飞书)"),
    setup=_l("group settings, Bots, add a Custom bot (自定义机器人) and copy its webhook "
             "address; if you turn on signature verification (签名校验), copy its secret too."),
    hosts=("open.feishu.cn", "open.larksuite.com"),
    path="/open-apis/bot/v2/hook/", token_param=None,
    daily=_daily, notice=_notice, fits=_fits, sign=_sign,
    answer_fields=(("code", "msg"), ("StatusCode", "StatusMessage")),
    rate_limited=frozenset({11232, 99991400}),
    hints={19001: "the webhook token is wrong or the robot was removed",
           19021: "the signature secret is wrong or this server's clock is off",
           19022: "this server's IP address is not in the robot's whitelist",
           19024: "the message has none of the robot's keywords"},
    pace=((20, timedelta(minutes=1)), (5, timedelta(seconds=1))),
)
