"""Log lines without secrets: the calendar feed and unsubscribe tokens travel in the
URL path, and a path written to an access or error log would hand them to whoever
reads the log (ASVS 5.0 V16.2.5: no credentials in logs)."""

import logging
import re

#: A secret carried in the path: ``/feeds/<token>.ics`` and ``/unsubscribe/<token>``
#: (percent-encoded or not, to the next separator; a feed's ``.ics`` is kept).
_SECRET_IN_PATH = re.compile(r"(/feeds/|/unsubscribe/)[^/?#\s\"']*?(\.ics)?(?=[/?#\s\"']|$)")


def redact(text: str) -> str:
    """``text`` with every token of a feed or unsubscribe path replaced by ``[redacted]``."""
    return _SECRET_IN_PATH.sub(r"\1[redacted]\2", text)


class RedactingFilter(logging.Filter):
    """Formats a record's message and removes the tokens from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact_logger(logger: logging.Logger) -> None:
    """Add the filter to ``logger`` (once)."""
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
