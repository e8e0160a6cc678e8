"""Sending e-mail: Flask-Mail over SMTP when ``MAIL_SERVER`` is set; otherwise (development)
each message is written to the log and to ``MAIL_DIR`` (instance/mail/) as an .eml file.

Failures are sorted for the outbox: ``transient`` (a 4xx answer, a dropped or refused
connection: retried later), ``permanent`` (a 5xx answer) and ``bounced`` (the recipient refused).
"""
from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app
from flask_mail import Mail, Message

log = logging.getLogger(__name__)
mail = Mail()


@dataclass(frozen=True)
class Email:
    """One message to one recipient: both bodies, the headers, and a stable Message-ID."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)


class SendFailed(Exception):
    """The message was not accepted: ``outcome`` is transient, permanent or bounced."""

    def __init__(self, outcome: str, detail: str):
        super().__init__(detail)
        self.outcome = outcome


def init_app(app: Flask) -> None:
    """Configure Flask-Mail from the app's MAIL_* settings."""
    mail.init_app(app)


class _Message(Message):
    """Flask-Mail's message folded at RFC 5322's 998 characters: a long unsubscribe link stays
    as written for mail clients instead of being RFC 2047-encoded to fit 78."""

    def _message(self):
        msg = super()._message()
        msg.policy = msg.policy.clone(max_line_length=998)  # RFC 5322's limit, not 78
        return msg


def _message(email: Email) -> Message:
    message = _Message(
        subject=email.subject, recipients=[email.to], body=email.text, html=email.html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"], extra_headers=dict(email.headers),
    )
    message.msgId = email.message_id  # stable: a copy sent again after a crash can be folded
    return message


def _classify(error: Exception) -> SendFailed:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        outcome = "transient" if codes and all(400 <= c < 500 for c in codes) else "bounced"
        return SendFailed(outcome, f"recipient refused: {error.recipients}")
    if isinstance(error, smtplib.SMTPResponseException):
        outcome = "transient" if 400 <= error.smtp_code < 500 else "permanent"
        return SendFailed(outcome, f"{error.smtp_code} {error.smtp_error!r}")
    return SendFailed("transient", f"{type(error).__name__}: {error}")


def send(email: Email) -> None:
    """Send one message (in an app context), or raise ``SendFailed``."""
    message = _message(email)
    if not current_app.config["MAIL_SERVER"]:
        _write_file(message, email)
        return
    try:
        mail.send(message)
    except (smtplib.SMTPException, OSError) as error:
        raise _classify(error) from error


def _write_file(message: Message, email: Email) -> None:
    folder = Path(current_app.config["MAIL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", email.message_id.strip("<>")) + ".eml"
    path = folder / name
    path.write_bytes(message.as_bytes())
    log.info("e-mail to %s written to %s (no MAIL_SERVER): %s", email.to, path, email.subject)
