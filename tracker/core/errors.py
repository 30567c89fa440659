"""Errors that carry a message meant for a person."""


class TrackerError(Exception):
    """Bad input or a refused operation; the message says what to do about it.

    The CLI turns it into ``Error: <message>`` on stderr and exit code 2, the
    web into a 4xx page. Services raise it before anything is flushed, or the
    caller rolls back, so nothing is half-written.
    """
