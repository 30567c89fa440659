"""Where mails go: an SMTP server, or .eml files under ``instance/outbox/``.

A backend opens one connection per dispatch pass and sends raw RFC 5322 bytes
through it. Failures are sorted into what the dispatcher needs to know: retry
later or give up, and whether the connection is still good for the next mail.
"""

import functools
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path

from tracker.core.errors import TrackerError
from tracker.core.text import printable

BACKENDS = ("smtp", "file")


@dataclass(frozen=True)
class SendFailure:
    """Why a mail was not accepted."""

    #: A 5xx answer: retrying will not help.
    permanent: bool
    #: The connection is gone (or never came up): the rest of the pass cannot send.
    connection_lost: bool
    error: str


def classify(exc: Exception, connection_alive: bool = True) -> SendFailure:
    """Sort a sending error into permanent or temporary, and connection lost or not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # One recipient per mail: its answer is the mail's answer.
        code, reply = next(iter(exc.recipients.values()))
        return SendFailure(500 <= code < 600, not connection_alive,
                           printable(f"{code} {_text(reply)}"))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # The mail needs what the server does not offer (SMTPUTF8): it will not change.
        return SendFailure(True, not connection_alive,
                           printable(f"not supported by the server: {exc}"))
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return SendFailure(500 <= code < 600, not connection_alive or code == 421,
                           printable(f"{code} {_text(exc.smtp_error)}"))
    # Refused or reset connections, timeouts, a server that hung up: try again later.
    return SendFailure(False, True, printable(f"{type(exc).__name__}: {exc}".strip()))


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the system's CA certificates takes tens of milliseconds: once per process.
    return ssl.create_default_context()


class SMTPConnection:
    """One SMTP session, reused for every mail of a dispatch pass."""

    def __init__(self, config):
        host = config["MAIL_SERVER"]
        timeout = config["MAIL_TIMEOUT"]
        use_ssl = bool(config["MAIL_USE_SSL"])
        port = config["MAIL_PORT"] or (465 if use_ssl else 587 if config["MAIL_USE_TLS"] else 25)
        if use_ssl:
            self.smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context())
        else:
            self.smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if config["MAIL_USE_TLS"] and not use_ssl:
                self.smtp.starttls(context=_tls_context())
            if config["MAIL_USERNAME"]:
                self.smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        except BaseException:
            self.smtp.close()
            raise

    @property
    def alive(self) -> bool:
        """Whether the session can take another mail (smtplib drops it on a 421)."""
        return self.smtp.sock is not None

    def send(self, sender: str, recipient: str, message: bytes, message_id: str) -> None:
        """Hand one mail to the server; raises on anything but acceptance."""
        # An address that is not ASCII needs a server that takes SMTPUTF8 (RFC 6531).
        options = () if recipient.isascii() else ("SMTPUTF8",)
        self.smtp.sendmail(sender, [recipient], message, mail_options=options)

    def close(self) -> None:
        """End the session politely, or just drop it."""
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


class FileConnection:
    """Writes each mail as ``<Message-ID local part>.eml``; a resend overwrites its file."""

    alive = True

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_mode & 0o077:  # mails are for their readers only
            folder.chmod(0o700)

    def send(self, sender: str, recipient: str, message: bytes, message_id: str) -> None:
        """Write the mail atomically, so a reader never sees half a file."""
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", message_id.strip("<>").partition("@")[0])
        path = self.folder / f"{name}.eml"
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            fh.write(message)
        os.replace(tmp, path)

    def close(self) -> None:
        """Nothing to close."""


def backend_name(config) -> str:
    """``smtp`` or ``file``: MAIL_BACKEND, or ``smtp`` exactly when MAIL_SERVER is set."""
    name = config.get("MAIL_BACKEND") or ("smtp" if config.get("MAIL_SERVER") else "file")
    if name not in BACKENDS:
        raise TrackerError(f"MAIL_BACKEND is {name!r}; it must be one of {', '.join(BACKENDS)}")
    if name == "smtp" and not config.get("MAIL_SERVER"):
        raise TrackerError("MAIL_BACKEND is 'smtp' but MAIL_SERVER is not set")
    if any(ord(ch) < 32 for ch in config.get("MAIL_DEFAULT_SENDER") or ""):
        raise TrackerError("MAIL_DEFAULT_SENDER holds a line break or another control "
                           "character: give it on one line, e.g. 'Name <noreply@example.org>'")
    return name


def open_connection(config, instance_path: str):
    """A connection of the configured backend (raises what connecting raised)."""
    if backend_name(config) == "smtp":
        return SMTPConnection(config)
    return FileConnection(Path(instance_path) / "outbox")
