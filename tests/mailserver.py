"""A real SMTP server (aiosmtpd) in the test process, that keeps what it accepts."""

import email.policy
import socket
import threading
from email.parser import BytesParser

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Received:
    """A mail the server accepted: envelope and the message parsed back."""

    def __init__(self, sender, recipients, data: bytes):
        self.sender = sender
        self.recipients = recipients
        self.data = data
        self.message = BytesParser(policy=email.policy.default).parsebytes(data)

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


class MailServer:
    """An SMTP server on 127.0.0.1 that keeps what it accepts.

    ``refuse[address] = "550 ..."`` answers RCPT TO for that address with the
    given reply; ``stop()`` closes the port (connections are refused) and
    ``start()`` opens it again on the same port.
    """

    def __init__(self):
        self.port = free_port()
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.rcpt_attempts: list[str] = []
        #: Whether the server offers SMTPUTF8 (addresses that are not ASCII).
        self.smtputf8 = True
        self._lock = threading.Lock()
        self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            self.rcpt_attempts.append(address)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mail = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        with self._lock:
            self.received.append(mail)
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=self.smtputf8)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def take(self) -> list[Received]:
        """The mails received since the last call."""
        with self._lock:
            mails, self.received = self.received, []
        return mails


def mail_config(server: MailServer) -> dict:
    """Config that sends through ``server``."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port, "MAIL_TIMEOUT": 5,
            "MAIL_DEFAULT_SENDER": "书院镇党委宣传办 <noreply@shuyuan.example>",
            "BASE_URL": "https://tracker.shuyuan.example"}
