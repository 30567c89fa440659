"""A real HTTP server on 127.0.0.1 that plays WeCom's, DingTalk's and Feishu's group robots.

Each robot lives at its vendor's own path and checks what its vendor checks:
the method, a JSON body of the message type's shape and size, the key or
token, and for DingTalk's 加签 and Feishu's signature the signature and the
timestamp's freshness (an hour either way). The signatures are verified here
from the vendors' formulas, independently of tracker.reminders.robots. It answers
in the vendor's own JSON and keeps every message it accepts; a test can script
the next answers: rate limited, any status, a redirect, a hang, or an answer
trickled a byte at a time.

The answer codes are the vendors' documented ones, except where noted: a few
answers to malformed requests are stand-ins with the vendor's shape.
"""

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.mailserver import free_port

WECOM, DINGTALK, FEISHU = "wecom", "dingtalk", "feishu"
#: What each vendor answers, by occasion.
ANSWERS = {
    WECOM: {"ok": {"errcode": 0, "errmsg": "ok"},
            "bad token": {"errcode": 93000, "errmsg": "invalid webhook url"},
            "too fast": {"errcode": 45009, "errmsg": "api freq out of limit"},
            # Stand-ins: WeCom's global codes for a bad parameter and an over-long field.
            "bad request": {"errcode": 40035, "errmsg": "invalid parameter"},
            "too long": {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}},
    DINGTALK: {"ok": {"errcode": 0, "errmsg": "ok"},
               # What the endpoint answers for an unknown token (its table says 400101).
               "bad token": {"errcode": 300005, "errmsg": "token is not exist"},
               "bad sign": {"errcode": 310000, "errmsg": "sign not match"},
               "stale": {"errcode": 310000, "errmsg": "invalid timestamp"},
               "too fast": {"errcode": 410100, "errmsg": "发送速度太快而限流"},
               "bad request": {"errcode": 40035, "errmsg": "缺少参数 json"}},  # stand-in
    FEISHU: {"ok": {"code": 0, "msg": "success", "data": {}, "Extra": None, "StatusCode": 0,
                    "StatusMessage": "success"},
             "bad token": {"code": 19001,
                           "msg": "param invalid: incoming webhook access token invalid"},
             "bad sign": {"code": 19021, "msg": "sign match fail or timestamp is not within "
                                                "one hour from current time"},
             "too fast": {"code": 11232, "msg": "frequency limited"},  # the text is a stand-in
             "bad request": {"code": 9499, "msg": "Bad Request", "data": {}}},
}
ANSWERS[FEISHU]["stale"] = ANSWERS[FEISHU]["bad sign"]
#: The most messages a robot takes in a window: (count, seconds).
LIMITS = {WECOM: ((20, 60),), DINGTALK: ((20, 60),), FEISHU: ((100, 60), (5, 1))}
FRESH_SECONDS = 3600


@dataclass
class Received:
    """A message a robot accepted."""

    vendor: str
    token: str
    message: dict
    query: dict
    content_type: str


@dataclass(frozen=True)
class Action:
    """What the server does with the next request instead of (or before) the contract."""

    kind: str  # "too fast", "answer", "hang" or "trickle"
    status: int = 200
    body: bytes = b""
    headers: tuple = ()
    seconds: float = 0.0


def too_fast() -> Action:
    """The robot's own rate-limit answer."""
    return Action("too fast")


def answer(status: int, body: bytes = b"", headers: tuple = ()) -> Action:
    """This status and body, whatever was asked."""
    return Action("answer", status, body, headers)


def redirect(location: str, status: int = 302) -> Action:
    """A redirect to ``location``."""
    return Action("answer", status, b"", (("Location", location),))


def hang(seconds: float) -> Action:
    """Say nothing for ``seconds`` (or until the server stops), then answer as usual."""
    return Action("hang", seconds=seconds)


def trickle(seconds: float) -> Action:
    """Answer as usual, but one byte every ``seconds`` (headers and body): a robot that
    keeps each read alive and the request open far longer than any read timeout."""
    return Action("trickle", seconds=seconds)


@dataclass
class _Robot:
    vendor: str
    token: str
    secret: str | None
    sent: list = field(default_factory=list)


class RobotServer:
    """The three vendors' robots on one port. ``add`` makes a robot and gives its address."""

    def __init__(self):
        self.port = free_port()
        self.received: list[Received] = []
        #: How many requests came, accepted or not.
        self.requests = 0
        #: The vendors' clock, in seconds: a test may move it to check timestamps and limits.
        self.clock = time.time
        self._robots: dict[tuple[str, str], _Robot] = {}
        self._script: deque[Action] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = None

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """The TRACKER_WEBHOOK_ALLOWED_HOSTS entry that lets the app post here."""
        return frozenset({f"127.0.0.1:{self.port}"})

    def add(self, vendor: str, secret: str | None = None, token: str | None = None) -> str:
        """A new robot of ``vendor`` (with a signing ``secret``); returns its webhook address."""
        token = token or (secrets.token_hex(32) if vendor == DINGTALK
                          else f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-"
                               f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-"
                               f"{secrets.token_hex(6)}")
        self._robots[vendor, token] = _Robot(vendor, token, secret)
        return self.url(vendor, token)

    def url(self, vendor: str, token: str) -> str:
        """The address of ``vendor``'s robot with ``token`` (known here or not)."""
        base = f"http://127.0.0.1:{self.port}"
        return {WECOM: f"{base}/cgi-bin/webhook/send?key={token}",
                DINGTALK: f"{base}/robot/send?access_token={token}",
                FEISHU: f"{base}/open-apis/bot/v2/hook/{token}"}[vendor]

    def script(self, *actions: Action) -> None:
        """Do these with the next requests, one each, before going back to the contract."""
        with self._lock:
            self._script.extend(actions)

    def take(self) -> list[Received]:
        """The messages accepted since the last call."""
        with self._lock:
            messages, self.received = self.received, []
        return messages

    def start(self):
        self._release.clear()
        self._httpd = _HTTPServer(("127.0.0.1", self.port), _Handler)
        self._httpd.robots = self
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self):
        if self._httpd is not None:
            self._release.set()  # a hanging answer gives up at once
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # -- the contract ------------------------------------------------------------------

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if the server stops; False if it stopped."""
        # Short sleeps rather than one timed wait: under faketime (``dev.py test --at``)
        # a timed wait on a condition can outlast its timeout by far.
        deadline = time.monotonic() + seconds
        while not self._release.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._release.is_set()

    def _next(self) -> Action | None:
        with self._lock:
            self.requests += 1
            return self._script.popleft() if self._script else None

    def handle(self, path: str, query: dict, content_type: str, body: bytes
               ) -> tuple[int, bytes, tuple, float]:
        """The answer to a POST: status, body, headers, and the seconds between two of its
        bytes (0: all at once)."""
        action = self._next()
        pace = action.seconds if action is not None and action.kind == "trickle" else 0.0
        return (*self._answer_to(action, path, query, content_type, body), pace)

    def _answer_to(self, action, path, query, content_type, body) -> tuple[int, bytes, tuple]:
        if action is not None and action.kind == "hang":
            self.pause(action.seconds)
        if action is not None and action.kind == "answer":
            return action.status, action.body, action.headers
        route = self._route(path, query)
        if route is None:
            return 404, b"404 page not found", ()
        vendor, token = route
        robot = self._robots.get((vendor, token))
        if action is not None and action.kind == "too fast":
            return self._answer(vendor, "too fast")
        if robot is None:
            return self._answer(vendor, "bad token")
        problem = self._check(robot, query, content_type, body)
        if problem:
            return self._answer(vendor, problem)
        now = self.clock()
        with self._lock:
            for count, seconds in LIMITS[vendor]:
                if sum(1 for t in robot.sent if t > now - seconds) >= count:
                    return self._answer(vendor, "too fast")
            robot.sent.append(now)
            self.received.append(Received(vendor, token, json.loads(body),
                                          {k: v[0] for k, v in query.items()}, content_type))
        return self._answer(vendor, "ok")

    @staticmethod
    def _route(path: str, query: dict) -> tuple[str, str] | None:
        if path == "/cgi-bin/webhook/send" and "key" in query:
            return WECOM, query["key"][0]
        if path == "/robot/send" and "access_token" in query:
            return DINGTALK, query["access_token"][0]
        if path.startswith("/open-apis/bot/v2/hook/"):
            return FEISHU, path.rsplit("/", 1)[1]
        return None

    @staticmethod
    def _answer(vendor: str, occasion: str) -> tuple[int, bytes, tuple]:
        return 200, json.dumps(ANSWERS[vendor][occasion]).encode(), (
            ("Content-Type", "application/json; charset=utf-8"),)

    def _check(self, robot: _Robot, query: dict, content_type: str, body: bytes) -> str | None:
        """The occasion for a refusal, or None if the request keeps the contract."""
        vendor = robot.vendor
        if vendor == FEISHU and len(body) > 20 * 1024:
            return "bad request"
        if content_type.split(";")[0].strip().lower() != "application/json":
            return "bad request"
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError:
            return "bad request"
        if not isinstance(message, dict):
            return "bad request"
        if robot.secret and vendor == DINGTALK:
            problem = self._dingtalk_sign(robot.secret, query)
            if problem:
                return problem
        if robot.secret and vendor == FEISHU:
            problem = self._feishu_sign(robot.secret, message)
            if problem:
                return problem
        return {WECOM: _wecom_shape, DINGTALK: _dingtalk_shape, FEISHU: _feishu_shape}[vendor](
            message)

    def _dingtalk_sign(self, secret: str, query: dict) -> str | None:
        try:
            timestamp = int(query["timestamp"][0])
            sign = query["sign"][0]  # parse_qs has undone the URL encoding
        except (KeyError, ValueError):
            return "bad sign"
        if abs(self.clock() * 1000 - timestamp) > FRESH_SECONDS * 1000:
            return "stale"
        expected = base64.b64encode(hmac.new(
            secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
        return None if hmac.compare_digest(sign, expected) else "bad sign"

    def _feishu_sign(self, secret: str, message: dict) -> str | None:
        try:
            timestamp = int(message["timestamp"])
            sign = str(message["sign"])
        except (KeyError, ValueError, TypeError):
            return "bad sign"
        if abs(self.clock() - timestamp) > FRESH_SECONDS:
            return "stale"
        expected = base64.b64encode(hmac.new(
            f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
        return None if hmac.compare_digest(sign, expected) else "bad sign"


def _text(value, limit: int | None = None) -> bool:
    return isinstance(value, str) and value != "" and (
        limit is None or len(value.encode("utf-8")) <= limit)


def _wecom_shape(message: dict) -> str | None:
    kind = message.get("msgtype")
    part = message.get(kind) if kind in ("text", "markdown") else None
    if not isinstance(part, dict) or not _text(part.get("content")):
        return "bad request"
    return None if _text(part["content"], 2048 if kind == "text" else 4096) else "too long"


def _dingtalk_shape(message: dict) -> str | None:
    kind = message.get("msgtype")
    part = message.get(kind)
    if kind == "text" and isinstance(part, dict) and _text(part.get("content")):
        return None
    if kind == "markdown" and isinstance(part, dict) and _text(part.get("title")) \
            and _text(part.get("text")):
        return None
    return "bad request"


def _feishu_shape(message: dict) -> str | None:
    kind, content = message.get("msg_type"), message.get("content")
    if kind == "text" and isinstance(content, dict) and _text(content.get("text")):
        return None
    if kind == "interactive" and isinstance(message.get("card"), dict):
        return None
    if kind == "post" and isinstance(content, dict) and isinstance(content.get("post"), dict):
        posts = content["post"].values()
        if posts and all(_post_ok(p) for p in posts):
            return None
    return "bad request"


def _post_ok(post) -> bool:
    rows = post.get("content") if isinstance(post, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return False
    for element in (e for row in rows for e in row):
        tag = element.get("tag") if isinstance(element, dict) else None
        if tag == "text" and isinstance(element.get("text"), str):
            continue
        if tag == "a" and isinstance(element.get("text"), str) \
                and str(element.get("href", "")).startswith(("http://", "https://")):
            continue
        if tag in ("at", "img"):
            continue
        return False
    return True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for every answer to finish
    block_on_close = True

    def handle_error(self, request, client_address):
        """A client that gave up (a timeout test) is no error of the server's."""


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, data, headers, pace = self.server.robots.handle(
            parts.path, parse_qs(parts.query, keep_blank_values=True),
            self.headers.get("Content-Type", ""), body)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if not pace:
            self.end_headers()
            self.wfile.write(data)
            return
        # The status line and headers are buffered until end_headers: out a byte at a time.
        answer, self._headers_buffer = b"".join(self._headers_buffer) + b"\r\n" + data, []
        robots = self.server.robots
        for i in range(len(answer)):
            self.wfile.write(answer[i:i + 1])
            if not robots.pause(pace):
                return

    def _not_allowed(self):
        self.send_response(405)
        self.send_header("Allow", "POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_DELETE = _not_allowed

    def log_message(self, format, *args):
        pass
