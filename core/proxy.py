"""The client's real address, scheme and host behind trusted reverse proxies, and the
Socket.IO same-origin check that follows them.

``TRUSTED_PROXIES`` counts the proxies in front of the app (nginx: 1). With N > 0 Werkzeug's
ProxyFix takes the last N values of ``X-Forwarded-For``, ``-Proto``, ``-Host`` and ``-Port``, so
``request.remote_addr`` (the rate limits), ``request.is_secure`` (Secure cookies) and the page's
own origin are the client's. With 0 (the default) those headers are ignored: a client cannot
claim another address or HTTPS by sending them.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    """Wrap the whole WSGI app (Socket.IO included) in ProxyFix for ``TRUSTED_PROXIES`` proxies."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def own_origin(environ: dict) -> Optional[str]:
    """The origin of the app's own pages for this request, as ProxyFix left the environ."""
    host = environ.get("HTTP_HOST")
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}" if host else None


def socket_origin_check(allowed: Optional[Iterable[str]]) -> Callable[[str, dict], bool]:
    """Engine.IO's Origin check: the page's own origin (its scheme and host after ProxyFix, never
    raw X-Forwarded-* headers) or one of ``allowed`` (``SOCKETIO_ALLOWED_ORIGINS``)."""
    allowlist = frozenset(allowed or ())

    def check(origin: str, environ: dict) -> bool:
        return origin in allowlist or origin == own_origin(environ)

    return check


def cookie_cannot_travel(app: Flask) -> bool:
    """True when the session cookie is Secure but this request came over plain HTTP: the
    browser will not send the cookie back, so no form (login included) can work."""
    return bool(app.config["SESSION_COOKIE_SECURE"]) and not request.is_secure


INSECURE_TRANSPORT_MESSAGE = (
    "This server only accepts logins over HTTPS (its session cookie is Secure), but this page "
    "came over plain HTTP, so your browser will not send the cookie back. Open the site with "
    "https://. Operators: behind a TLS proxy set TRUSTED_PROXIES so X-Forwarded-Proto is "
    "believed; for a test over plain HTTP set SESSION_COOKIE_SECURE=0."
)
