"""The HTTP security headers every response carries, and the login manager's settings."""
from typing import Callable, Optional

from flask import Flask, request

from core.extensions import login_manager
from core.sessions import CookieSessionInterface

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask, load_user: Callable[[str], Optional[object]],
             load_socket_user: Callable[[str], Optional[object]]) -> None:
    """Register the session loaders (session token → user: ``load_user`` for pages,
    ``load_socket_user`` for Socket.IO events), the session cookie, the login view and the
    security headers."""
    app.session_interface = CookieSessionInterface()

    @login_manager.user_loader
    def load(token: str):
        """The user of the session token: Flask-SocketIO marks its events' requests with a sid."""
        return (load_socket_user if getattr(request, "sid", None) else load_user)(token)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if app.config.get("PRODUCTION"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint and request.endpoint != "static" and "Cache-Control" not in response.headers:
            # Pages are per user; never let a shared cache keep them.
            response.headers["Cache-Control"] = "private, no-cache"
        return response


def no_store(response):
    """Mark a response that carries review data as never to be stored (V9)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
