"""The demo course: the model-serving seminar, loaded on an empty database."""
from __future__ import annotations

DEMO_PASSWORD = "colloquy-demo"


def login_emails() -> list[str]:
    """The demo accounts' e-mail addresses."""
    return []


def logins_text() -> str:
    """The demo logins, as printed by ``make run``."""
    return ""


def load_demo() -> None:
    """Create the demo course and its data."""
