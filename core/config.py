"""Every configuration key Colloquy reads, with its default and meaning, in one place.

``load_config`` builds the Flask config from ``SETTINGS`` and the environment; code reads
``app.config[KEY]`` for any key declared here and never supplies a default of its own. Keys
that Flask or an extension reads (cookies, CSRF, rate limits) are declared too, so this file
is the one list to read. ``COLLOQUY_ENV`` is ``development`` (the default, used by
``make run``) or ``production``; production refuses to start without a real ``SECRET_KEY``.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

LOG_FORMATS = ("text", "json")
INSECURE_KEYS = {"", "dev", "changeme", "change-me", "secret", "development"}


class ConfigError(RuntimeError):
    """The configuration cannot be used (e.g. production without a SECRET_KEY)."""


@dataclass(frozen=True)
class Setting:
    """One config key: its default, what it means, and the environment variable that sets it
    (parsed by ``parse``), if any."""

    key: str
    default: Any
    meaning: str
    env: Optional[str] = None
    parse: Callable[[str], Any] = str


def _bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _words(raw: str) -> Optional[list[str]]:
    return raw.split() or None


def _optional(raw: str) -> Optional[str]:
    return raw or None


# Defaults that depend on the instance folder or on production are filled in by load_config
# (marked ``None`` here with the rule in their meaning).
SETTINGS: tuple[Setting, ...] = (
    Setting("PRODUCTION", False, "running with COLLOQUY_ENV=production (Secure cookies, HSTS, a real key)"),
    Setting("SECRET_KEY", None, "signs sessions and CSRF tokens; development keeps a random one in "
            "instance/secret_key", env="SECRET_KEY"),
    Setting("SECRET_KEY_FALLBACKS", (), "earlier keys whose session cookies are still accepted after a "
            "rotation (Flask's)"),
    Setting("SQLALCHEMY_DATABASE_URI", None, "the database (DATABASE_URL; default SQLite in "
            "instance/colloquy.sqlite3)", env="DATABASE_URL"),
    Setting("SQLALCHEMY_ENGINE_OPTIONS", None, "engine options for the database's kind (lock wait, pool)"),
    Setting("SESSION_COOKIE_SECURE", None, "session cookie sent over HTTPS only (default: in production)",
            env="SESSION_COOKIE_SECURE", parse=_bool),
    Setting("SESSION_COOKIE_HTTPONLY", True, "scripts cannot read the session cookie"),
    Setting("SESSION_COOKIE_SAMESITE", "Lax", "the session cookie is not sent on cross-site posts"),
    Setting("REMEMBER_COOKIE_NAME", "remember_token", "Flask-Login's remember-me cookie, cleared on logout"),
    Setting("REMEMBER_COOKIE_SECURE", None, "as SESSION_COOKIE_SECURE, for the remember-me cookie",
            env="SESSION_COOKIE_SECURE", parse=_bool),
    Setting("REMEMBER_COOKIE_HTTPONLY", True, "scripts cannot read the remember-me cookie"),
    Setting("REMEMBER_COOKIE_SAMESITE", "Lax", "the remember-me cookie is not sent on cross-site posts"),
    Setting("MAX_CONTENT_LENGTH", 8 * 1024 * 1024, "largest request body (slides and roster uploads)"),
    Setting("WTF_CSRF_TIME_LIMIT", None, "CSRF tokens last as long as the session"),
    Setting("UPLOAD_FOLDER", None, "where uploaded slides are kept (default instance/uploads)"),
    Setting("PROJECT_STORAGE_DIR", None, "where project documents are kept, outside static/ "
            "(default instance/project_documents)", env="PROJECT_STORAGE_DIR"),
    Setting("EMAIL_ALLOW_SPECIAL_USE", None, "roster addresses may use special-use domains such as the demo's "
            "@colloquy.test (default: outside production)", env="EMAIL_ALLOW_SPECIAL_USE", parse=_bool),
    Setting("LOGIN_RATE_LIMIT", "10 per minute", "login, registration and password-change attempts per "
            "client address and account (a class behind one address has a bucket per student)",
            env="LOGIN_RATE_LIMIT"),
    Setting("LOGIN_ADDRESS_RATE_LIMIT", "300 per minute", "login and registration attempts per client "
            "address over all accounts (stops one address trying many accounts)", env="LOGIN_ADDRESS_RATE_LIMIT"),
    Setting("RATELIMIT_STORAGE_URI", "memory://", "where rate-limit counters live (redis://… when "
            "several processes serve)", env="RATELIMIT_STORAGE_URI"),
    Setting("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True, "while the rate-limit storage is unreachable, "
            "count in this process's memory (a warning is logged) instead of failing requests"),
    Setting("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1},
            "options for the rate-limit storage's client (an unreachable Redis fails fast)"),
    Setting("TRUSTED_PROXIES", 0, "how many reverse proxies in front of the app set X-Forwarded-For/-Proto/"
            "-Host/-Port (0: none, and those headers are ignored)", env="TRUSTED_PROXIES", parse=int),
    Setting("RATELIMIT_HEADERS_ENABLED", True, "rate-limited answers say when to retry"),
    Setting("SOCKETIO_ASYNC_MODE", "eventlet", "the server: eventlet, gevent or threading",
            env="SOCKETIO_ASYNC_MODE"),
    Setting("SOCKETIO_MESSAGE_QUEUE", None, "message queue joining several server processes "
            "(redis://…); none: one process", env="SOCKETIO_MESSAGE_QUEUE", parse=_optional),
    # None = same origin only (never "*"); otherwise an explicit allowlist.
    Setting("SOCKETIO_ALLOWED_ORIGINS", None, "origins allowed to open a socket besides the page's own",
            env="SOCKETIO_ALLOWED_ORIGINS", parse=_words),
    Setting("SOCKET_MAX_PAYLOAD", 16 * 1024, "largest Socket.IO message accepted, in bytes"),
    Setting("QUESTION_RATE", "5/60", "questions a user may ask per window, as <count>/<seconds>",
            env="QUESTION_RATE"),
    Setting("VOTE_RATE", "30/60", "votes a user may cast per window, as <count>/<seconds>", env="VOTE_RATE"),
    Setting("PANEL_PRESENCE_DELAY", 0.5, "seconds a burst of joins is gathered into one presence update"),
    Setting("PANEL_HEARTBEAT", 2.0, "seconds between a process's checks for room changes it missed and "
            "presence refreshes (with a message queue)", env="PANEL_HEARTBEAT", parse=float),
    Setting("LOG_FORMAT", "text", "log lines as text or as JSON objects, one a line (text, json)",
            env="LOG_FORMAT", parse=lambda raw: raw.strip().lower()),
    Setting("ACCESS_LOG", True, "one log line per HTTP request and per socket event", env="ACCESS_LOG",
            parse=_bool),
    Setting("LOG_LEVEL", "INFO", "the lowest level logged (DEBUG, INFO, WARNING…)", env="COLLOQUY_LOG_LEVEL",
            parse=lambda raw: raw.strip().upper()),
    Setting("MAIL_SERVER", None, "the SMTP server notifications are sent through; none: e-mails are "
            "written to the log and instance/mail/ as .eml files", env="MAIL_SERVER", parse=_optional),
    Setting("MAIL_PORT", 25, "the SMTP server's port", env="MAIL_PORT", parse=int),
    Setting("MAIL_USE_TLS", False, "STARTTLS after connecting", env="MAIL_USE_TLS", parse=_bool),
    Setting("MAIL_USE_SSL", False, "connect over TLS (SMTPS)", env="MAIL_USE_SSL", parse=_bool),
    Setting("MAIL_USERNAME", None, "SMTP login", env="MAIL_USERNAME", parse=_optional),
    Setting("MAIL_PASSWORD", None, "SMTP password", env="MAIL_PASSWORD", parse=_optional),
    Setting("MAIL_DEFAULT_SENDER", "Colloquy <colloquy@localhost>", "the From of notification e-mails",
            env="MAIL_DEFAULT_SENDER"),
    Setting("MAIL_DIR", None, "where e-mails go without a MAIL_SERVER (default instance/mail)", env="MAIL_DIR"),
    Setting("NOTIFY_BASE_URL", "http://127.0.0.1:5000", "the site's address as links in e-mails write it",
            env="NOTIFY_BASE_URL"),
    Setting("NOTIFY_SENDER_IN_SERVER", True, "the server runs the notification sender as a background task "
            "(off: run `flask notify run-due` from cron or a systemd timer)", env="NOTIFY_SENDER_IN_SERVER",
            parse=_bool),
    Setting("NOTIFY_INTERVAL", 60, "seconds between the sender's runs in the server", env="NOTIFY_INTERVAL",
            parse=int),
    Setting("NOTIFY_MAX_ATTEMPTS", 5, "tries of an e-mail (transient SMTP failures) before it is given up",
            env="NOTIFY_MAX_ATTEMPTS", parse=int),
    Setting("HOST", "127.0.0.1", "the address the server listens on", env="HOST"),
    Setting("PORT", 5000, "the port the server listens on", env="PORT", parse=int),
    Setting("REUSE_PORT", False, "let several processes listen on the same port (SO_REUSEPORT); off: a "
            "second start on a port in use fails", env="REUSE_PORT", parse=_bool),
)

KEYS = frozenset(s.key for s in SETTINGS)


def _dev_secret_key(instance_path: str) -> str:
    """A random key kept in the instance folder so development sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _from_environment() -> dict[str, Any]:
    """Each declared setting: its environment variable's value when set (and not empty), else
    its default."""
    values = {}
    for setting in SETTINGS:
        raw = os.environ.get(setting.env) if setting.env else None
        values[setting.key] = setting.parse(raw) if raw not in (None, "") else setting.default
    return values


def load_config(instance_path: str) -> dict:
    """Build the Flask config mapping from the environment."""
    production = os.environ.get("COLLOQUY_ENV", "development").strip().lower() == "production"
    config = _from_environment()
    config["PRODUCTION"] = production
    secret = config["SECRET_KEY"] or ""
    if production and (secret.strip().lower() in INSECURE_KEYS or len(secret) < 24):
        raise ConfigError(
            "COLLOQUY_ENV=production needs SECRET_KEY set to a random value of 24+ characters"
        )
    if config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {config['LOG_FORMAT']!r}")
    if config["TRUSTED_PROXIES"] < 0:
        raise ConfigError("TRUSTED_PROXIES is a count of proxies: 0 or more")
    if not secret:
        config["SECRET_KEY"] = _dev_secret_key(instance_path)
    url = config["SQLALCHEMY_DATABASE_URI"] or "sqlite:///" + str(Path(instance_path) / "colloquy.sqlite3")
    config["SQLALCHEMY_DATABASE_URI"] = url = _psycopg_url(url)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(url)
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if config[key] is None:
            config[key] = production
    if config["EMAIL_ALLOW_SPECIAL_USE"] is None:
        config["EMAIL_ALLOW_SPECIAL_USE"] = not production
    config["UPLOAD_FOLDER"] = config["UPLOAD_FOLDER"] or str(Path(instance_path) / "uploads")
    config["PROJECT_STORAGE_DIR"] = config["PROJECT_STORAGE_DIR"] or str(Path(instance_path) / "project_documents")
    config["MAIL_DIR"] = config["MAIL_DIR"] or str(Path(instance_path) / "mail")
    return config


def _psycopg_url(url: str) -> str:
    """PostgreSQL URLs as hosting services give them, served by the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Several green threads share the file; wait for the lock instead of failing.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
