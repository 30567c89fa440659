"""Reminders posted to group robots: WeCom (企业微信), DingTalk (钉钉), Feishu/Lark (飞书).

Pure functions from data to the bytes of one request, and from the answer to
what the dispatcher does next; ``post``, the one request; ``Pacer``, which keeps
each robot under its vendor's rate limit. No app, no database.

The vendors' contracts, as their documentation states them:

* WeCom: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with
  ``{"msgtype": "markdown", "markdown": {"content": …}}``; the content at most
  4096 bytes of UTF-8; 20 messages a minute per robot. The answer is
  ``{"errcode": 0, "errmsg": "ok"}``; 45009 is the rate limit, 93000 a bad key.
* DingTalk: ``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN`` with
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``; 20 a minute,
  and a robot that sends more is throttled for 10 minutes. A robot with 加签 takes
  ``timestamp`` (ms) and ``sign`` in the query. Rate limits: 410100 (the error
  table), 130101 and 660026 (what the endpoint says); 310000: a keyword, the
  signature, the timestamp or the IP failed the robot's security check.
* Feishu/Lark: ``POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN`` (or
  open.larksuite.com) with ``{"msg_type": "post", "content": {"post": …}}``; the
  body at most 20 KB; 100 a minute and 5 a second. A robot with a signature takes
  ``timestamp`` (s) and ``sign`` in the body. The answer carries ``code`` (older
  ones ``StatusCode``); 11232 is the rate limit, 9499 a malformed body, 19021 a
  bad or stale signature.

A stored message is signed when it is sent, never when it is built: the outbox
may hold it for a day, and both vendors refuse a timestamp an hour old.
"""

import base64
import bisect
import enum
import hashlib
import hmac
import http.client
import ipaddress
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote, quote_plus, urlsplit

from tracker.core.errors import TrackerError
from tracker.core.text import printable
from tracker.reminders.backends import SendFailure, _tls_context
from tracker.reminders.robot_text import (TEST_TEXT, TITLE_CHARS, UNIT_CHARS, VIEW, VIEW_WORK,
                                          RobotItem, _heading, _plain, _rest, _summary,
                                          _test_heading, _when)


class Vendor(enum.StrEnum):
    """Whose robot a webhook is."""

    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"


NAMES = {Vendor.WECOM: "WeCom", Vendor.DINGTALK: "DingTalk", Vendor.FEISHU: "Feishu"}
#: The vendors' own hosts; nothing else is taken unless TRACKER_WEBHOOK_ALLOWED_HOSTS lists it.
VENDOR_HOSTS = {"qyapi.weixin.qq.com": Vendor.WECOM, "oapi.dingtalk.com": Vendor.DINGTALK,
                "open.feishu.cn": Vendor.FEISHU, "open.larksuite.com": Vendor.FEISHU}
#: The path of each vendor's webhook, and where its key or token sits.
PATHS = {Vendor.WECOM: ("/cgi-bin/webhook/send", "key"),
         Vendor.DINGTALK: ("/robot/send", "access_token"),
         Vendor.FEISHU: ("/open-apis/bot/v2/hook/", None)}
#: Keys and tokens as the vendors issue them (UUIDs, 64 hex digits): nothing to decode.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class WebhookError(TrackerError, ValueError):
    """A webhook address or host list that is refused; the message says why."""


@dataclass(frozen=True)
class Webhook:
    """A robot's address, checked. Its repr never shows the key."""

    vendor: Vendor
    url: str = field(repr=False)
    #: The key (WeCom), access token (DingTalk) or hook token (Feishu): the secret part.
    token: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Webhook({self.vendor.value}, {mask(self.url)})"

    @property
    def robot_id(self) -> str:
        """Names the robot in pacing and logs without giving its key away."""
        return hashlib.sha256(f"{self.vendor}:{self.url}".encode()).hexdigest()[:16]


def parse_allowed_hosts(text: str | None) -> frozenset[str]:
    """TRACKER_WEBHOOK_ALLOWED_HOSTS (``host[:port]``, comma-separated) as a set of
    ``host`` and ``host:port`` entries; a host without a port is allowed on the default one."""
    entries = set()
    for raw in (text or "").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        match = re.fullmatch(r"(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::([0-9]+))?", entry)
        if not match:
            raise WebhookError(f"TRACKER_WEBHOOK_ALLOWED_HOSTS: {raw.strip()!r} is not "
                               "host[:port] (no scheme, no path)")
        host, port = _host(match[1]), match[2]
        if host is None:
            raise WebhookError(f"TRACKER_WEBHOOK_ALLOWED_HOSTS: {match[1]!r} is not a host name "
                               "or an IP address written the usual way")
        if host in VENDOR_HOSTS:
            raise WebhookError(f"TRACKER_WEBHOOK_ALLOWED_HOSTS: {host} is a robot vendor's own "
                               "host and is always accepted, over https only")
        if port is not None and (port.startswith("0") or not 0 < int(port) < 65536):
            raise WebhookError(f"TRACKER_WEBHOOK_ALLOWED_HOSTS: {port} is not a port number")
        entries.add(host if port is None else f"{host}:{port}")
    return frozenset(entries)


def _host(text: str) -> str | None:
    """A host name (lower case), a dotted-quad IPv4 or a bracketed IPv6 address, canonical;
    None for anything else, such as ``127.1`` or ``2130706433``, which name an address
    in a way that a host list could not match."""
    if text.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            return None
    try:
        if str(ipaddress.IPv4Address(text)) == text:
            return text
    except ValueError:
        pass
    labels = text.split(".")
    if (len(text) > 253 or not all(_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()):
        return None
    return text


def parse_webhook(url: str, allowed_hosts: frozenset[str] = frozenset(),
                  vendor: Vendor | None = None) -> Webhook:
    """Check a robot address and say whose it is.

    A vendor's own host over https, or a host of ``allowed_hosts`` (https or
    http, e.g. a 政务微信 deployment or an intranet gateway), where ``vendor``
    must be given. Either way the path is the vendor's, with a key or token.
    """
    text = url.strip()
    if not text.isascii() or any(c.isspace() or not c.isprintable() for c in text):
        raise WebhookError("the address has spaces or characters that are not plain ASCII "
                           "(a look-alike letter?): copy it again from the robot's settings")
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # a [bracketed] host that is not an IPv6 address
        raise WebhookError(f"this is not an address: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise WebhookError(f"{parts.scheme or 'an address without a scheme'}: only https "
                           "addresses are accepted")
    if "#" in text:
        raise WebhookError("a robot address has no #fragment")
    if "@" in parts.netloc:
        raise WebhookError("a robot address has no user name or password before the host")
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?", parts.netloc)
    host = _host(match[1].lower()) if match else None
    if host is None:
        raise WebhookError(f"{parts.netloc!r} is not a host name: copy the address again")
    if match[2] and (match[2].startswith("0") or not 0 < int(match[2]) < 65536):
        raise WebhookError(f"{match[2]} is not a port number")
    default = 443 if parts.scheme == "https" else 80
    port = int(match[2]) if match[2] else default
    vendor = Vendor(vendor) if vendor is not None else None
    listed = f"{host}:{port}" in allowed_hosts or (port == default and host in allowed_hosts)
    if listed:
        if vendor is None:
            raise WebhookError(f"{host} is a listed gateway: say whose robot it speaks for "
                               "(WeCom, DingTalk or Feishu)")
    elif host in VENDOR_HOSTS:
        if parts.scheme != "https" or port != 443:
            raise WebhookError(f"{host} is reached over https (port 443) only")
        if vendor is not None and vendor != VENDOR_HOSTS[host]:
            raise WebhookError(f"this is a {NAMES[VENDOR_HOSTS[host]]} robot address, "
                               f"not a {NAMES[vendor]} one")
        vendor = VENDOR_HOSTS[host]
    else:
        raise WebhookError(f"{host} is not a WeCom, DingTalk or Feishu robot host; a gateway "
                           "of your own must be listed in TRACKER_WEBHOOK_ALLOWED_HOSTS")
    token = _token(vendor, parts.path, parts.query)
    # One spelling per robot (host in lower case, no default port), for pacing and de-duplication.
    authority = host if port == default else f"{host}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    return Webhook(vendor, f"{parts.scheme}://{authority}{parts.path}{query}", token)


def _token(vendor: Vendor, path: str, query: str) -> str:
    """The key or token, from a path and query of the vendor's shape."""
    expected, name = PATHS[vendor]
    if name is None:  # Feishu: the token is the last path segment, and there is no query
        token = path.removeprefix(expected) if path.startswith(expected) else ""
        if query or not _TOKEN.fullmatch(token):
            raise WebhookError(f"a {NAMES[vendor]} robot address is https://HOST{expected}TOKEN "
                               "and nothing after the token")
        return token
    pairs = [p.partition("=") for p in query.split("&")] if query else []
    if (path != expected or len(pairs) != 1 or pairs[0][0] != name
            or not _TOKEN.fullmatch(pairs[0][2])):
        raise WebhookError(f"a {NAMES[vendor]} robot address is https://HOST{expected}?{name}=… "
                           f"with its {name} and nothing else (a signature is added when "
                           "sending)")
    return pairs[0][2]


def mask(url: str) -> str:
    """The address to show: scheme, host and path, the key or token cut to four characters."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(not an address)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    path = re.sub(r"(/hook/)([^/]+)", lambda m: m[1] + _cut(m[2]), parts.path)
    kept = [f"{name}={_cut(value)}" for name, _, value in
            (p.partition("=") for p in parts.query.split("&")) if name in ("key", "access_token")]
    return f"{parts.scheme}://{host}{port}{path}" + (f"?{'&'.join(kept)}" if kept else "")


def _cut(secret: str) -> str:
    return secret[:4] + "…"


# -- signatures ----------------------------------------------------------------------------


def _dumps(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dingtalk_signature(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: Base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}"))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def dingtalk_signed_url(url: str, secret: str, now_ms: int) -> str:
    """The webhook address with ``timestamp`` and the URL-encoded ``sign`` appended."""
    return f"{url}&timestamp={now_ms}&sign={quote(dingtalk_signature(secret, now_ms), safe='')}"


def feishu_signature(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: Base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def signed_request(webhook: Webhook, payload: bytes, secret: str | None,
                   now: datetime) -> tuple[str, bytes]:
    """The address and body to post at ``now``, signed where the robot has a secret."""
    if not secret:
        return webhook.url, payload
    if webhook.vendor == Vendor.DINGTALK:
        return dingtalk_signed_url(webhook.url, secret, int(now.timestamp() * 1000)), payload
    if webhook.vendor == Vendor.FEISHU:
        timestamp = int(now.timestamp())
        signed = {"timestamp": str(timestamp), "sign": feishu_signature(secret, timestamp)}
        return webhook.url, _dumps(json.loads(payload) | signed)
    raise WebhookError("a WeCom robot takes no secret: its key is the whole of it")


# -- the message ---------------------------------------------------------------------------


#: The most a message may hold, in UTF-8 bytes. WeCom documents 4096 for the markdown
#: content; DingTalk documents none for its robot, and gets the same; Feishu documents
#: "20 KB" for the whole body, read as 20,000.
CONTENT_LIMIT = 4096
FEISHU_BODY_LIMIT = 20_000
#: Kept free in a Feishu body for what signing adds: a 10-digit timestamp (until the year
#: 2286) and 44 characters of Base64.
FEISHU_SIGN_ROOM = len('"timestamp":"9999999999","sign":"",') + 44

#: Markdown and HTML that WeCom and DingTalk render, traded for full-width look-alikes:
#: a title then reads the same but cannot open a link, a tag, a heading or an @mention.
#: (Backslash escapes are not used: neither vendor documents them.)
_NEUTRAL = str.maketrans({"\\": "＼", "`": "｀", "*": "＊", "_": "＿", "[": "［", "]": "］",
                          "(": "（", ")": "）", "<": "＜", ">": "＞", "#": "＃", "!": "！",
                          "|": "｜", "~": "～", "@": "＠", "&": "＆"})


def _markdown(text: str, limit: int) -> str:
    return _plain(text, limit).translate(_NEUTRAL)


def _json_bytes(text: str) -> int:
    """The UTF-8 bytes of ``text`` as a JSON string value, escapes counted: never fewer
    than the vendor counts, whether it counts before or after decoding."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def build_payload(vendor: Vendor, unit: str, items: list[RobotItem], *, today: date,
                  base_url: str, more_url: str) -> bytes:
    """The day's message for ``unit`` (JSON, unsigned): overdue items first, then those
    due soon, each with its link; cut at a whole item, with a link to the rest, to fit."""
    if not items:
        raise ValueError("no items: a robot message is never empty")
    base = base_url.rstrip("/")
    ordered = sorted(items, key=lambda i: (i.due, i.task_id))  # the overdue come first
    summary = _summary(items, today)
    heading = _heading(unit)

    def render(shown: int) -> bytes:
        rest = len(ordered) - shown
        if vendor == Vendor.FEISHU:
            return _feishu(heading, summary, ordered[:shown], rest, today, base, more_url)
        return _markdown_message(vendor, heading, summary, ordered[:shown], rest, today, base,
                                 more_url)

    def fits(shown: int) -> bool:
        payload = render(shown)
        if vendor == Vendor.FEISHU:
            return len(payload) + FEISHU_SIGN_ROOM <= FEISHU_BODY_LIMIT
        body = json.loads(payload)
        content = body["markdown"]["content" if vendor == Vendor.WECOM else "text"]
        return _json_bytes(content) <= CONTENT_LIMIT

    # The most items that fit: every item takes room, so a binary search finds it.
    low, high = 0, len(ordered)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return render(low)


def build_test_payload(vendor: Vendor, unit: str, *, link: str) -> bytes:
    """A test message (JSON, unsigned): the robot is set up, and where the work is."""
    heading, text = _test_heading(unit), TEST_TEXT
    if vendor == Vendor.FEISHU:
        rows = [[{"tag": "text", "text": text}],
                [{"tag": "text", "text": VIEW_WORK}, {"tag": "a", "text": link, "href": link}]]
        return _dumps({"msg_type": "post",
                       "content": {"post": {"zh_cn": {"title": heading, "content": rows}}}})
    br = "\n" if vendor == Vendor.WECOM else "  \n"
    body = br.join([f"**{heading.translate(_NEUTRAL)}**", text,
                    f"{VIEW_WORK}[{_link(link)}]({_link(link)})"])
    if vendor == Vendor.WECOM:
        return _dumps({"msgtype": "markdown", "markdown": {"content": body}})
    return _dumps({"msgtype": "markdown", "markdown": {"title": heading, "text": body}})


def build_notice_payload(vendor: Vendor, heading: str, lines: list[str], *, link: str,
                         link_text: str) -> bytes:
    """A one-off notice (JSON, unsigned): a heading, lines of plain text, one link."""
    heading = _plain(heading, UNIT_CHARS + 20)
    if vendor == Vendor.FEISHU:
        rows = [[{"tag": "text", "text": _plain(line, TITLE_CHARS * 2)}] for line in lines]
        rows.append([{"tag": "text", "text": f"{link_text}："},
                     {"tag": "a", "text": link, "href": link}])
        return _dumps({"msg_type": "post",
                       "content": {"post": {"zh_cn": {"title": heading, "content": rows}}}})
    br = "\n" if vendor == Vendor.WECOM else "  \n"
    body = br.join([f"**{heading.translate(_NEUTRAL)}**",
                    *(_markdown(line, TITLE_CHARS * 2) for line in lines),
                    f"{link_text}：[{_link(link)}]({_link(link)})"])
    if vendor == Vendor.WECOM:
        return _dumps({"msgtype": "markdown", "markdown": {"content": body}})
    return _dumps({"msgtype": "markdown", "markdown": {"title": heading, "text": body}})


def _link(url: str) -> str:
    # Our own addresses, but a space or bracket in BASE_URL must not end the link early.
    return quote(url, safe=":/?&=%#+,;~@!$'*-._")


def _markdown_message(vendor, heading, summary, items, rest, today, base, more_url) -> bytes:
    """WeCom or DingTalk markdown: a bold heading, one line per item, the rest as a link."""
    # DingTalk runs lines together unless each ends in two spaces (a markdown hard break).
    br = "\n" if vendor == Vendor.WECOM else "  \n"
    lines = [f"**{heading.translate(_NEUTRAL)}**", f"{summary}："]
    for n, item in enumerate(items, 1):
        when = _when(item, today)
        if item.due < today:
            when = f"**{when}**"
        lines.append(f"{n}. {_markdown(item.title, TITLE_CHARS)}（{when}）"
                     f"[{VIEW}]({_link(f'{base}/tasks/{item.task_id}')})")
    if rest:
        lines.append(f"{_rest(rest)}[{_link(more_url)}]({_link(more_url)})")
    text = br.join(lines)
    if vendor == Vendor.WECOM:
        return _dumps({"msgtype": "markdown", "markdown": {"content": text}})
    return _dumps({"msgtype": "markdown", "markdown": {"title": heading, "text": text}})


def _feishu(heading, summary, items, rest, today, base, more_url) -> bytes:
    """A Feishu ``post``: rich text of text and link elements, so nothing in a title is markup."""
    rows = [[{"tag": "text", "text": f"{summary}："}]]
    for n, item in enumerate(items, 1):
        rows.append([{"tag": "text", "text": f"{n}. {_plain(item.title, TITLE_CHARS)}"
                                             f"（{_when(item, today)}）"},
                     {"tag": "a", "text": VIEW, "href": f"{base}/tasks/{item.task_id}"}])
    if rest:
        rows.append([{"tag": "text", "text": _rest(rest)},
                     {"tag": "a", "text": more_url, "href": more_url}])
    return _dumps({"msg_type": "post",
                   "content": {"post": {"zh_cn": {"title": heading, "content": rows}}}})


# -- the answer ----------------------------------------------------------------------------


class Status(enum.StrEnum):
    """What became of a message."""

    SENT = "sent"
    RETRY = "retry"  # not now: the same message again later
    FAILED = "failed"  # never: the address, key, signature or message is wrong


@dataclass(frozen=True)
class Outcome:
    """What a robot's answer means for the message."""

    status: Status
    error: str | None = None
    #: After a rate limit: the least wait before this robot takes another message.
    retry_after: timedelta | None = None

    def failure(self) -> SendFailure | None:
        """The outcome in the mail backends' terms, for the dispatcher's outbox."""
        if self.status == Status.SENT:
            return None
        return SendFailure(self.status == Status.FAILED, False, self.error or "")


#: Answer codes that mean "too fast". WeCom: 45009 (the global error codes). DingTalk:
#: 410100 (the robot's error table), 130101 and 660026 (what the endpoint answers).
#: Feishu: 11232 (the custom bot guide), 99991400 (the platform's rate limit).
RATE_LIMITED = {Vendor.WECOM: {45009}, Vendor.DINGTALK: {410100, 130101, 660026},
                Vendor.FEISHU: {11232, 99991400}}
#: Codes that mean "busy, try again": WeCom and DingTalk both document -1 (系统繁忙).
BUSY = {Vendor.WECOM: {-1}, Vendor.DINGTALK: {-1}, Vendor.FEISHU: set()}
#: How long a robot holds a grudge: DingTalk throttles a robot 10 minutes.
RATE_WAIT = {Vendor.WECOM: timedelta(minutes=1), Vendor.DINGTALK: timedelta(minutes=10),
             Vendor.FEISHU: timedelta(minutes=1)}
#: Wording of a rate limit under a code not listed above (Feishu has said 9499 "too many
#: request"): only ever turns a failure into a retry, which MAX_ATTEMPTS bounds.
_TOO_FAST = re.compile(r"too many|too fast|freq|rate.?limit|限流|频率", re.IGNORECASE)
#: What to do about the codes a person can act on.
HINTS = {
    (Vendor.WECOM, 93000): "the key is wrong or the robot was removed from the group",
    (Vendor.DINGTALK, 310000): "the robot's security settings refused it (keyword, 加签 "
                               "secret, clock or IP whitelist)",
    (Vendor.DINGTALK, 300001): "the access token is wrong or the robot was removed",
    (Vendor.DINGTALK, 300005): "the access token is wrong or the robot was removed",
    (Vendor.DINGTALK, 400101): "the access token is wrong or the robot was removed",
    (Vendor.DINGTALK, 400102): "the robot is disabled",
    (Vendor.DINGTALK, 400106): "the robot is no longer in the group",
    (Vendor.FEISHU, 19001): "the webhook token is wrong or the robot was removed",
    (Vendor.FEISHU, 19021): "the signature secret is wrong or this server's clock is off",
    (Vendor.FEISHU, 19022): "this server's IP address is not in the robot's whitelist",
    (Vendor.FEISHU, 19024): "the message has none of the robot's keywords",
}
MAX_ERROR = 500


def classify(vendor: Vendor, http_status: int | None, body: bytes | None,
             exc: Exception | None, *, secrets: tuple[str | None, ...] = ()) -> Outcome:
    """Sort a robot's answer (or the exception instead of one) into sent, retry or failed,
    with an error text for the coordinator; ``secrets`` are blanked out of it."""
    name = NAMES[vendor]

    def outcome(status, error, retry_after=None):
        return Outcome(status, _redact(f"{name}: {error}", secrets), retry_after)

    if exc is not None:  # refused, reset, timed out, TLS: the network, not the message
        return outcome(Status.RETRY, f"{type(exc).__name__}: {exc}".strip(": "))
    if 300 <= http_status < 400:
        return outcome(Status.FAILED, f"HTTP {http_status}: a redirect, not followed "
                                      "(is the address right?)")
    if http_status == 429:
        return outcome(Status.RETRY, "HTTP 429: too many requests", RATE_WAIT[vendor])
    if http_status >= 500:
        return outcome(Status.RETRY, f"HTTP {http_status}")
    code, message = _code(vendor, body)
    ok = 200 <= http_status < 300
    if code is None:
        return (outcome(Status.RETRY, f"HTTP {http_status}, an answer that is not the robot's")
                if ok else outcome(Status.FAILED, f"HTTP {http_status}"))
    if code == 0 and ok:
        return Outcome(Status.SENT)
    text = f"{code} {message}".strip()
    if code in RATE_LIMITED[vendor] or _TOO_FAST.search(message):
        return outcome(Status.RETRY, f"{text} (rate limited)", RATE_WAIT[vendor])
    if code in BUSY[vendor]:
        return outcome(Status.RETRY, text)
    hint = HINTS.get((vendor, code))
    return outcome(Status.FAILED, f"{text}: {hint}" if hint else text)


def _code(vendor: Vendor, body: bytes | None) -> tuple[int | None, str]:
    """The answer's code and message, or (None, "") if it is not a JSON answer with a code."""
    try:
        answer = json.loads(body or b"")
    except ValueError:
        return None, ""
    if not isinstance(answer, dict):
        return None, ""
    fields = (("code", "msg"), ("StatusCode", "StatusMessage")) if vendor == Vendor.FEISHU \
        else (("errcode", "errmsg"),)
    for code_field, message_field in fields:
        code = answer.get(code_field)
        if isinstance(code, str) and re.fullmatch(r"-?[0-9]+", code):
            code = int(code)  # DingTalk's documentation shows "errcode": "0" as well
        if isinstance(code, int) and not isinstance(code, bool):
            return code, str(answer.get(message_field) or "")
    return None, ""


def _redact(text: str, secrets: tuple[str | None, ...]) -> str:
    """``text`` without any of ``secrets``, plain or URL-encoded, without control
    characters (a NUL in an answer cannot be stored), and not too long."""
    text = printable(text)
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "…")
    return text if len(text) <= MAX_ERROR else text[:MAX_ERROR - 1] + "…"


# -- sending -------------------------------------------------------------------------------

#: The most of an answer read: the vendors' answers are a few dozen bytes.
MAX_ANSWER = 64 * 1024


def post(webhook: Webhook, payload: bytes, timeout: float = 5.0, *, secret: str | None = None,
         now: datetime | None = None) -> tuple[int, bytes]:
    """One POST of ``payload`` (signed at ``now`` if the robot has a ``secret``); returns the
    HTTP status and answer, or raises what the network raised.

    The standard library's http.client: it follows no redirect (a 3xx is returned as it
    is), reads no proxy from the environment, verifies TLS with the system's CAs. The
    whole request (connecting, sending, reading the answer) has ``timeout`` seconds: a
    socket's timeout bounds one read only, and a robot answering a byte a second would
    keep each read alive; past the deadline the connection is shut and TimeoutError
    raised. The URL is never logged.
    """
    if secret and now is None:
        raise ValueError("a signed request needs the time it is sent at")
    url, body = (signed_request(webhook, payload, secret, now) if secret
                 else (webhook.url, payload))
    parts = urlsplit(url)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                                 context=_tls_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    expired = threading.Event()

    def cut_off():
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the read that waits on it
            except OSError:
                pass

    timer = threading.Timer(timeout, cut_off)
    timer.daemon = True
    timer.start()
    try:
        connection.connect()
        if expired.is_set():  # the deadline passed before the socket was there to shut
            raise TimeoutError
        connection.request("POST", f"{parts.path}?{parts.query}" if parts.query else parts.path,
                           body=body, headers={"Content-Type": "application/json; charset=utf-8",
                                               "User-Agent": "tracker-reminders"})
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER)
    except (OSError, http.client.HTTPException):
        if expired.is_set():
            raise TimeoutError(f"no whole answer within {timeout:g} s") from None
        raise
    finally:
        timer.cancel()
        connection.close()
    if expired.is_set():  # a read cut short can look like a short answer
        raise TimeoutError(f"no whole answer within {timeout:g} s")
    return response.status, answer


def send(webhook: Webhook, payload: bytes, *, secret: str | None, now: datetime,
         timeout: float = 5.0) -> Outcome:
    """Post one message and say what became of it, the key and secret blanked from errors."""
    try:
        status, answer = post(webhook, payload, timeout, secret=secret, now=now)
    except (OSError, http.client.HTTPException) as exc:
        return classify(webhook.vendor, None, None, exc, secrets=(webhook.token, secret))
    return classify(webhook.vendor, status, answer, None, secrets=(webhook.token, secret))


#: The most messages a robot takes in a window, by vendor: 20 a rolling minute for all
#: three (Feishu allows 100, but one pace is simpler), and Feishu's 5 a second besides.
PACE = {Vendor.WECOM: ((20, timedelta(minutes=1)),),
        Vendor.DINGTALK: ((20, timedelta(minutes=1)),),
        Vendor.FEISHU: ((20, timedelta(minutes=1)), (5, timedelta(seconds=1)))}


class Pacer:
    """How long to wait before the next message to a robot, so that none gets more than
    its vendor allows. It reads no clock and sleeps never: the caller passes ``now``,
    and sleeps or postpones as it likes."""

    def __init__(self, margin: timedelta = timedelta(seconds=1)):
        #: Added to every window: the vendor counts arrivals, which network delays shift.
        self.margin = margin
        self._sent: dict[str, list[datetime]] = {}
        self._held: dict[str, datetime] = {}

    def delay(self, webhook: Webhook, now: datetime) -> timedelta:
        """How long from ``now`` until the robot may take another message (zero: now)."""
        ready = self._held.get(webhook.robot_id, now)
        sent = self._sent.get(webhook.robot_id, [])
        for count, window in PACE[webhook.vendor]:
            if len(sent) >= count:
                ready = max(ready, sent[-count] + window + self.margin)
        return max(ready - now, timedelta(0))

    def sent(self, webhook: Webhook, now: datetime) -> None:
        """Count a message that went to the robot at ``now``."""
        sent = self._sent.setdefault(webhook.robot_id, [])
        bisect.insort(sent, now)
        longest = max(window for _, window in PACE[webhook.vendor]) + self.margin
        del sent[:bisect.bisect_left(sent, now - longest)]

    def hold(self, webhook: Webhook, until: datetime) -> None:
        """Send the robot nothing before ``until`` (it answered "too fast")."""
        self._held[webhook.robot_id] = max(until, self._held.get(webhook.robot_id, until))
