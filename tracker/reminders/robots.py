"""Reminders posted to group robots, whatever the vendor (the vendors' own tables are in
tracker.reminders.vendors: WeCom, DingTalk, Feishu/Lark).

Pure functions from data to the bytes of one request, and from the answer to
what the dispatcher does next; ``post``, the one request. No app, no database.
Each function reads the vendor's table: its hosts and path, its formats and size
limit, its signature, its answer codes and its pace.

A stored message is signed when it is sent, never when it is built: the outbox
may hold it for a day, and both vendors refuse a timestamp an hour old.
"""

import hashlib
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
from tracker.reminders.backends import _tls_context
from tracker.reminders.robot_text import (UNIT_CHARS, RobotItem, _heading, _plain, _summary,
                                          test_heading, test_text, view_work)
from tracker.reminders.transports import Outcome, Status
from tracker.reminders.vendors import VENDORS, RobotVendor, Vendor, mask

NAMES = {Vendor(key): vendor.name for key, vendor in VENDORS.items()}
#: The vendors' own hosts; nothing else is taken unless TRACKER_WEBHOOK_ALLOWED_HOSTS lists it.
VENDOR_HOSTS = {host: Vendor(key) for key, vendor in VENDORS.items() for host in vendor.hosts}
#: "WeCom, DingTalk or Feishu", for messages that list them.
_ANY_VENDOR = " or ".join(", ".join(NAMES.values()).rsplit(", ", 1))
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
    def table(self) -> RobotVendor:
        """The vendor's table."""
        return VENDORS[self.vendor]

    @property
    def pace(self) -> tuple[tuple[int, timedelta], ...]:
        """The most messages the robot takes in a window (the vendor's)."""
        return self.table.pace

    @property
    def pace_key(self) -> str:
        """Whose pace it is: the robot's (units that share a group share its pace)."""
        return self.robot_id

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
                               f"({_ANY_VENDOR})")
    elif host in VENDOR_HOSTS:
        if parts.scheme != "https" or port != 443:
            raise WebhookError(f"{host} is reached over https (port 443) only")
        if vendor is not None and vendor != VENDOR_HOSTS[host]:
            raise WebhookError(f"this is a {NAMES[VENDOR_HOSTS[host]]} robot address, "
                               f"not a {NAMES[vendor]} one")
        vendor = VENDOR_HOSTS[host]
    else:
        raise WebhookError(f"{host} is not a {_ANY_VENDOR} robot host; a gateway "
                           "of your own must be listed in TRACKER_WEBHOOK_ALLOWED_HOSTS")
    token = _token(vendor, parts.path, parts.query)
    # One spelling per robot (host in lower case, no default port), for pacing and de-duplication.
    authority = host if port == default else f"{host}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    return Webhook(vendor, f"{parts.scheme}://{authority}{parts.path}{query}", token)


def _token(vendor: Vendor, path: str, query: str) -> str:
    """The key or token, from a path and query of the vendor's shape."""
    expected, name = VENDORS[vendor].path, VENDORS[vendor].token_param
    if name is None:  # (Feishu) the token is the last path segment, and there is no query
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


# -- signatures ----------------------------------------------------------------------------


def signed_request(webhook: Webhook, payload: bytes, secret: str | None,
                   now: datetime) -> tuple[str, bytes]:
    """The address and body to post at ``now``, signed where the robot has a secret."""
    if not secret:
        return webhook.url, payload
    vendor = webhook.table
    if vendor.sign is None:
        raise WebhookError(f"a {vendor.name} robot takes no secret: its key is the whole of it")
    return vendor.sign(webhook.url, payload, secret, now)


# -- the message ---------------------------------------------------------------------------


def build_payload(vendor: Vendor, unit: str, items: list[RobotItem], *, today: date,
                  base_url: str, more_url: str) -> bytes:
    """The day's message for ``unit`` (JSON, unsigned): overdue items first, then those
    due soon, each with its link; cut at a whole item, with a link to the rest, to fit."""
    if not items:
        raise ValueError("no items: a robot message is never empty")
    table = VENDORS[vendor]
    base = base_url.rstrip("/")
    ordered = sorted(items, key=lambda i: (i.due, i.task_id))  # the overdue come first
    summary = _summary(items, today)
    heading = _heading(unit)

    def render(shown: int) -> bytes:
        return table.daily(heading, summary, ordered[:shown], len(ordered) - shown, today,
                           base, more_url)

    # The most items that fit: every item takes room, so a binary search finds it.
    low, high = 0, len(ordered)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if table.fits(render(middle)) else (low, middle - 1)
    return render(low)


def build_test_payload(vendor: Vendor, unit: str, *, link: str) -> bytes:
    """A test message (JSON, unsigned): the robot is set up, and where the work is."""
    return build_notice_payload(vendor, test_heading(unit), [test_text()], link=link,
                                link_text=view_work())


def build_notice_payload(vendor: Vendor, heading: str, lines: list[str], *, link: str,
                         link_text: str) -> bytes:
    """A one-off notice (JSON, unsigned): a heading, lines of plain text, one link."""
    return VENDORS[vendor].notice(_plain(heading, UNIT_CHARS + 20), lines, link, link_text)


# -- the answer ----------------------------------------------------------------------------


#: Wording of a rate limit under a code not listed as one (Feishu has said 9499 "too many
#: request"): only ever turns a failure into a retry, which MAX_ATTEMPTS bounds.
_TOO_FAST = re.compile(r"too many|too fast|freq|rate.?limit|限流|频率", re.IGNORECASE)
MAX_ERROR = 500


def classify(vendor: Vendor, http_status: int | None, body: bytes | None,
             exc: Exception | None, *, secrets: tuple[str | None, ...] = ()) -> Outcome:
    """Sort a robot's answer (or the exception instead of one) into sent, retry or failed,
    with an error text for the coordinator; ``secrets`` are blanked out of it."""
    table = VENDORS[vendor]
    name = table.name

    def outcome(status, error, retry_after=None):
        return Outcome(status, _redact(f"{name}: {error}", secrets), retry_after)

    if exc is not None:  # refused, reset, timed out, TLS: the network, not the message
        return outcome(Status.RETRY, f"{type(exc).__name__}: {exc}".strip(": "))
    if 300 <= http_status < 400:
        return outcome(Status.FAILED, f"HTTP {http_status}: a redirect, not followed "
                                      "(is the address right?)")
    if http_status == 429:
        return outcome(Status.RETRY, "HTTP 429: too many requests", table.rate_wait)
    if http_status >= 500:
        return outcome(Status.RETRY, f"HTTP {http_status}")
    code, message = _code(table, body)
    ok = 200 <= http_status < 300
    if code is None:
        return (outcome(Status.RETRY, f"HTTP {http_status}, an answer that is not the robot's")
                if ok else outcome(Status.FAILED, f"HTTP {http_status}"))
    if code == 0 and ok:
        return Outcome(Status.SENT)
    text = f"{code} {message}".strip()
    if code in table.rate_limited or _TOO_FAST.search(message):
        return outcome(Status.RETRY, f"{text} (rate limited)", table.rate_wait)
    if code in table.busy:
        return outcome(Status.RETRY, text)
    hint = table.hints.get(code)
    return outcome(Status.FAILED, f"{text}: {hint}" if hint else text)


def _code(table: RobotVendor, body: bytes | None) -> tuple[int | None, str]:
    """The answer's code and message, or (None, "") if it is not a JSON answer with a code."""
    try:
        answer = json.loads(body or b"")
    except ValueError:
        return None, ""
    if not isinstance(answer, dict):
        return None, ""
    for code_field, message_field in table.answer_fields:
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

