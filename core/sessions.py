"""The session cookie: Flask's signed cookie, its signing serializer built once per key set."""
from __future__ import annotations

from typing import Optional

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged but for one thing: Flask builds a new signing
    serializer each time a session is opened, and every Socket.IO event opens the socket's
    session again; here it is built once for the app's ``SECRET_KEY`` and
    ``SECRET_KEY_FALLBACKS`` and again only when they change."""

    def __init__(self) -> None:
        self._keys: Optional[tuple] = None
        self._serializer: Optional[URLSafeTimedSerializer] = None

    def get_signing_serializer(self, app: Flask) -> Optional[URLSafeTimedSerializer]:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys != self._keys:
            self._serializer, self._keys = super().get_signing_serializer(app), keys
        return self._serializer
