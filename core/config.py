"""Configuration read from environment variables.

``COLLOQUY_ENV`` is ``development`` (the default, used by ``make run``) or
``production``. Production refuses to start without a real ``SECRET_KEY``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

INSECURE_KEYS = {"", "dev", "changeme", "change-me", "secret", "development"}


class ConfigError(RuntimeError):
    """The configuration cannot be used (e.g. production without a SECRET_KEY)."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


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


def load_config(instance_path: str) -> dict:
    """Build the Flask config mapping from the environment."""
    env = os.environ.get("COLLOQUY_ENV", "development").strip().lower()
    production = env == "production"
    secret = os.environ.get("SECRET_KEY", "")
    if production and (secret.strip().lower() in INSECURE_KEYS or len(secret) < 24):
        raise ConfigError(
            "COLLOQUY_ENV=production needs SECRET_KEY set to a random value of 24+ characters"
        )
    if not secret:
        secret = _dev_secret_key(instance_path)

    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "colloquy.sqlite3")
    )
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    origins = os.environ.get("SOCKETIO_ALLOWED_ORIGINS", "").split()
    return {
        "ENV_NAME": env,
        "PRODUCTION": production,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SOCKETIO_ASYNC_MODE": os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet"),
        "SOCKETIO_MESSAGE_QUEUE": os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None,
        # None = same origin only (never "*"); otherwise an explicit allowlist.
        "SOCKETIO_ALLOWED_ORIGINS": origins or None,
        "SOCKET_MAX_PAYLOAD": 16 * 1024,
        "QUESTION_RATE": os.environ.get("QUESTION_RATE", "5/60"),
        "VOTE_RATE": os.environ.get("VOTE_RATE", "30/60"),
        "PORT": int(os.environ.get("PORT", "5000")),
        "HOST": os.environ.get("HOST", "127.0.0.1"),
    }


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Several green threads share the file; wait for the lock instead of failing.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
