"""Pacing: how long to wait before the next message to a receiver that takes only so
many in a window (a group robot, an SMS gateway). Pure: no clock, no sleeping."""

import bisect
from datetime import datetime, timedelta
from typing import Protocol


class Paced(Protocol):
    """What a pacer needs to know of a receiver."""

    #: Whose pace it is: receivers with the same key share it.
    pace_key: str
    #: The most messages it takes in a window: ``(count, window)`` pairs.
    pace: tuple[tuple[int, timedelta], ...]


class Pacer:
    """How long to wait before the next message to a receiver, so that none gets more than
    it takes. It reads no clock and sleeps never: the caller passes ``now``,
    and sleeps or postpones as it likes."""

    def __init__(self, margin: timedelta = timedelta(seconds=1)):
        #: Added to every window: the receiver counts arrivals, which network delays shift.
        self.margin = margin
        self._sent: dict[str, list[datetime]] = {}
        self._held: dict[str, datetime] = {}

    def delay(self, receiver: Paced, now: datetime) -> timedelta:
        """How long from ``now`` until the receiver may take another message (zero: now)."""
        ready = self._held.get(receiver.pace_key, now)
        sent = self._sent.get(receiver.pace_key, [])
        for count, window in receiver.pace:
            if len(sent) >= count:
                ready = max(ready, sent[-count] + window + self.margin)
        return max(ready - now, timedelta(0))

    def sent(self, receiver: Paced, now: datetime) -> None:
        """Count a message that went to the receiver at ``now``."""
        sent = self._sent.setdefault(receiver.pace_key, [])
        bisect.insort(sent, now)
        longest = max(window for _, window in receiver.pace) + self.margin
        del sent[:bisect.bisect_left(sent, now - longest)]

    def hold(self, receiver: Paced, until: datetime) -> None:
        """Send the receiver nothing before ``until`` (it answered "too fast")."""
        self._held[receiver.pace_key] = max(until, self._held.get(receiver.pace_key, until))
