"""A real SMTP server for the notification tests: aiosmtpd on a free 127.0.0.1 port, in this
process, keeping every message it accepts; ``fail_next(n, code)`` makes it refuse the next n."""
from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass
class Received:
    """One accepted message: its envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes = b""

    def header(self, name: str) -> str:
        return str(self.message[name] or "")

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        return ""

    @property
    def text(self) -> str:
        return self.part("text/plain")

    @property
    def html(self) -> str:
        return self.part("text/html")

    def everything(self) -> str:
        """Every header and body part, decoded, for leak searches."""
        headers = "\n".join(f"{k}: {v}" for k, v in self.message.items())
        return "\n".join((headers, self.text, self.html))


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.failures:
            return self.failures.pop(0)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


class SMTPServer:
    """``start()`` → listening; ``messages``; ``fail_next(n, reply)``; ``stop()``."""

    def __init__(self):
        self.handler = _Handler()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname=HOST, port=self.port)

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Received]:
        return self.handler.received

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def fail_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        self.handler.failures.extend([reply] * count)

    def config(self) -> dict:
        """The app settings that send through this server."""
        return {"MAIL_SERVER": HOST, "MAIL_PORT": self.port, "MAIL_USE_TLS": False, "MAIL_USE_SSL": False,
                "MAIL_DEFAULT_SENDER": "Colloquy <colloquy@example.edu>",
                # Flask-Mail suppresses sending under TESTING unless told otherwise.
                "MAIL_SUPPRESS_SEND": False}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]
