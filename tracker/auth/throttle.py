"""Slowing down password guesses (OWASP ASVS 5.0 V6.3.1, V6.1.1): per account and
place, per place, per network, and per account from places it was never signed in from.

A place is an IPv4 address, or an IPv6 /64 (one subscriber's network: a client rotating
through its 2⁶⁴ addresses is still one place); a network is an IPv6 /48 (one site's),
counted for every account together (LOGIN_MAX_FAILURES_PER_NETWORK).

An account is never locked: guesses from one place never stop the right password
from another. Past a limit, each further guess from that place waits, the wait doubling
up to LOGIN_FAILURE_WINDOW_MINUTES; a count unused that long starts again. Guesses at one
account from everywhere are counted too (LOGIN_MAX_FAILURES_PER_ACCOUNT), a slow
back-off against guessing from many places, but only for places the account has not
signed in from within LOGIN_RECORDS_KEEP_DAYS: the account's own person, from where
they usually sign in, is never held back by what others guess.

A guess is counted *before* its password is checked, in a transaction of its own that
holds the counting rows, and committed at once (not with the request), so that guesses
sent at the same moment, to any worker process, are counted one after another. A
success takes its guess back.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from tracker.auth.models import LoginAttempt, LoginThrottle
from tracker.extensions import db

_table = LoginThrottle.__table__


@dataclass(frozen=True)
class Limits:
    """The limits, from the config."""

    per_account: int  # LOGIN_MAX_FAILURES: guesses at one account from one address
    per_address: int  # LOGIN_MAX_FAILURES_PER_ADDRESS: guesses at any account from one
    first_delay: float  # LOGIN_DELAY_SECONDS: the first wait past a limit
    window: timedelta  # LOGIN_FAILURE_WINDOW_MINUTES: the longest wait, and when a count ends
    per_network: int = 100  # LOGIN_MAX_FAILURES_PER_NETWORK: at any account from an IPv6 /48
    per_account_all: int = 20  # LOGIN_MAX_FAILURES_PER_ACCOUNT: at one account, unknown places
    keep: timedelta = timedelta(days=90)  # LOGIN_RECORDS_KEEP_DAYS: how long a place is known

    @classmethod
    def from_config(cls, config=None) -> "Limits":
        config = config or current_app.config
        return cls(config["LOGIN_MAX_FAILURES"], config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
                   config["LOGIN_DELAY_SECONDS"],
                   timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"]),
                   config["LOGIN_MAX_FAILURES_PER_NETWORK"],
                   config["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
                   timedelta(days=config["LOGIN_RECORDS_KEEP_DAYS"]))

    def delay(self, failures: int, limit: int) -> timedelta:
        """How long to wait after the ``failures``-th failure: none below the limit, then
        ``first_delay`` doubling with each failure, at most the window."""
        if failures < limit:
            return timedelta(0)
        seconds = self.first_delay * 2 ** min(failures - limit, 32)
        return min(timedelta(seconds=seconds), self.window)


#: The ``address`` of an account's count over every place it is not known from.
EVERYWHERE = "*"


def place(address: str) -> tuple[str, str | None]:
    """Where a guess comes from, as counted: an IPv4 address, or an IPv6 address's /64;
    and for IPv6 its /48 (None for IPv4, or an address that is not an IP address)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address[:64], None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped), None
    if ip.version == 6:
        return (str(ipaddress.ip_network(f"{ip}/64", strict=False)),
                str(ipaddress.ip_network(f"{ip}/48", strict=False)))
    return str(ip), None


def _keys(email: str, address: str, limits: Limits, known: bool
          ) -> list[tuple[str, str, int]]:
    here, network = place(address)
    keys = [(email[:254], here, limits.per_account), ("", here, limits.per_address)]
    if network:
        keys.append(("", network, limits.per_network))
    if not known:
        keys.append((email[:254], EVERYWHERE, limits.per_account_all))
    # Always in one order, so that two transactions never wait for each other's rows in
    # a cycle.
    return sorted(keys)


def _known(conn, email: str, address: str, now: datetime, limits: Limits) -> bool:
    """Whether the account signed in from this place within the records kept."""
    here = place(address)[0]
    return any(place(seen)[0] == here for seen in conn.scalars(
        sa.select(LoginAttempt.address).distinct().where(
            LoginAttempt.email == email[:254], LoginAttempt.succeeded.is_(True),
            LoginAttempt.at >= now - limits.keep)))


def _insert(dialect: str):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_table)


def reserve(email: str, address: str, now: datetime, limits: Limits | None = None
            ) -> int | None:
    """Count a guess at ``email`` from ``address`` before its password is checked.

    Returns None if it may be checked, or the seconds to wait (nothing counted) if a
    limit holds it back. Commits on its own connection.
    """
    limits = limits or Limits.from_config()
    with db.engine.begin() as conn:
        keys = _keys(email, address, limits, _known(conn, email, address, now, limits))
        insert = _insert(conn.dialect.name)
        rows = {}
        for mail, addr, _limit in keys:
            # Insert or touch the row: either way this transaction now holds it (a row
            # lock on PostgreSQL, the database's write lock on SQLite) until it commits.
            statement = insert.values(email=mail, address=addr, failures=0, last_at=now,
                                      next_at=now)
            conn.execute(statement.on_conflict_do_update(
                index_elements=["email", "address"],
                set_={"failures": statement.excluded.failures + _table.c.failures}))
            rows[mail, addr] = conn.execute(
                sa.select(_table.c.failures, _table.c.last_at, _table.c.next_at).where(
                    _table.c.email == mail, _table.c.address == addr)).one()
        wait = timedelta(0)
        counts = {}
        for mail, addr, limit in keys:
            failures, last_at, next_at = rows[mail, addr]
            if _aware(last_at) <= now - limits.window:
                failures = 0  # a count unused for the window starts again
            elif failures >= limit and _aware(next_at) > now:
                # (Below the limit there is no wait, whatever the clocks of two guesses.)
                wait = max(wait, _aware(next_at) - now)
            counts[mail, addr] = failures
        if wait:
            conn.rollback()
            return max(1, math.ceil(wait.total_seconds()))
        for mail, addr, limit in keys:
            failures = counts[mail, addr] + 1
            conn.execute(_table.update().where(
                _table.c.email == mail, _table.c.address == addr).values(
                failures=failures, last_at=now, next_at=now + limits.delay(failures, limit)))
    return None


def succeeded(email: str, address: str) -> None:
    """The guess was right: the account's count from this place ends, and the place's and
    the network's counts take the guess back: a success of one's own does not clear what
    others guessed (the account's count from everywhere keeps it: the place is known
    from now on, and never held back by that count). Commits on its own connection."""
    mail = email[:254]
    here, network = place(address)
    with db.engine.begin() as conn:
        conn.execute(_table.delete().where(_table.c.email == mail, _table.c.address == here))
        for key_mail, key_addr in sorted([("", here)] + ([("", network)] if network else [])):
            conn.execute(_table.update().where(
                _table.c.email == key_mail, _table.c.address == key_addr,
                _table.c.failures > 0).values(failures=_table.c.failures - 1))


def prune(now: datetime, keep_days: int, limits: Limits | None = None) -> int:
    """Drop counts unused for the window and sign-in records older than ``keep_days``;
    returns the rows dropped. Flushes, never commits."""
    limits = limits or Limits.from_config()
    counts = db.session.execute(sa.delete(LoginThrottle).where(
        LoginThrottle.last_at <= now - limits.window))
    records = db.session.execute(sa.delete(LoginAttempt).where(
        LoginAttempt.at < now - timedelta(days=keep_days)))
    db.session.flush()
    return counts.rowcount + records.rowcount


def _aware(value: datetime) -> datetime:
    # The UTCDateTime columns give back aware instants; a naive one would be UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
