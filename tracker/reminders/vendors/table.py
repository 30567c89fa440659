"""What a robot vendor is to the rest of the code: one table per vendor (``RobotVendor``),
which the shared webhook parsing, signing, posting, answer sorting and pacing
(tracker.reminders.robots) read; and the pieces the vendors' formats share."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote

from tracker.reminders.robot_text import RobotItem

#: The day's message from its parts: heading, summary, the items shown, how many were
#: left out, today, the site's address and the link to the rest.
DailyBuilder = Callable[[str, str, list[RobotItem], int, date, str, str], bytes]
#: A one-off notice from a heading, lines of plain text, a link and its label.
NoticeBuilder = Callable[[str, list[str], str, str], bytes]
#: The address and body to post, signed with a secret at an instant.
Signer = Callable[[str, bytes, str, datetime], tuple[str, bytes]]


@dataclass(frozen=True)
class RobotVendor:
    """Everything that differs from one robot vendor to the next."""

    #: The name stored for the vendor (``unit_channels.vendor``), and its CLI option.
    key: str
    #: How messages and lists name it, and its name in Chinese (for the CLI's help).
    name: str
    native: str
    #: The robot page's name for it, and how to get a robot's address there (lazy texts).
    label: str
    setup: str
    #: Its own webhook hosts: taken over https without being listed.
    hosts: tuple[str, ...]
    #: The webhook's path, and the query parameter holding the key or token (None: the
    #: token is the rest of the path, after ``path``).
    path: str
    token_param: str | None
    #: The day's message and a one-off notice as the vendor takes them (JSON, unsigned).
    daily: DailyBuilder
    notice: NoticeBuilder
    #: Whether a built message is within the vendor's size limit.
    fits: Callable[[bytes], bool]
    #: Signs a request with the robot's secret; None: the vendor's robots take no secret.
    sign: Signer | None
    #: The fields of an answer holding its code and message, the first one present counts.
    answer_fields: tuple[tuple[str, str], ...]
    #: Answer codes that mean "too fast", and "busy, try again".
    rate_limited: frozenset[int]
    busy: frozenset[int] = frozenset()
    #: How long a robot holds a grudge after "too fast".
    rate_wait: timedelta = timedelta(minutes=1)
    #: What a person can do about an answer code.
    hints: Mapping[int, str] = field(default_factory=dict)
    #: The most messages a robot takes in a window: ``(count, window)`` pairs.
    pace: tuple[tuple[int, timedelta], ...] = ((20, timedelta(minutes=1)),)
    #: What a signing secret of this vendor starts with ("" if anything goes).
    secret_prefix: str = ""


def dumps(data) -> bytes:
    """JSON as the vendors take it: UTF-8, no escapes, no spaces."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def link(url: str) -> str:
    """A link target in markdown."""
    # Our own addresses, but a space or bracket in BASE_URL must not end the link early.
    return quote(url, safe=":/?&=%#+,;~@!$'*-._")


def json_bytes(text: str) -> int:
    """The UTF-8 bytes of ``text`` as a JSON string value, escapes counted: never fewer
    than the vendor counts, whether it counts before or after decoding."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2
