"""What ``/readyz`` checks: the database answers, each configured Redis answers, and the
database's migration revision is the code's head. Every check is short and answers a word,
never an address, a URL or an error's text (those go to the log)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import redis
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import text

from core.extensions import db

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 1.0  # seconds; a probe must answer well inside a load balancer's timeout
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _code_heads(app: Flask) -> set[str]:
    """The migration heads the code's ``migrations/`` folder ends at (read once per app)."""
    heads = app.extensions.get("colloquy_migration_heads")
    if heads is None:
        migrate = app.extensions["migrate"]
        directory = Path(app.root_path) / migrate.directory  # an absolute directory stays itself
        config = migrate.migrate.get_config(directory)
        heads = app.extensions["colloquy_migration_heads"] = set(ScriptDirectory.from_config(config).get_heads())
    return heads


def _database(app: Flask) -> tuple[str, str]:
    """("ok" or "unreachable", and "current", "behind" or "unknown" for the migrations)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            stored = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        return "unreachable", "unknown"
    if stored == _code_heads(app):
        return "ok", "current"
    log.warning("readiness: database at revision %s, code at %s", sorted(stored) or "none",
                sorted(_code_heads(app)))
    return "ok", "behind"


def _redis_client(app: Flask, url: str) -> redis.Redis:
    clients = app.extensions.setdefault("colloquy_health_redis", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
    return clients[url]


def _redis(app: Flask, name: str, url: Optional[str]) -> Optional[str]:
    """"ok" or "unreachable" for a Redis URL; None when ``url`` is not a Redis."""
    if not url or not url.startswith(REDIS_SCHEMES):
        return None
    try:
        _redis_client(app, url).ping()
        return "ok"
    except redis.RedisError as exc:
        log.warning("readiness: %s Redis unreachable (%s)", name, type(exc).__name__)
        return "unreachable"


def readiness(app: Flask) -> tuple[bool, dict[str, str]]:
    """Whether the process can serve, and each check's one-word answer."""
    database, migrations = _database(app)
    checks = {"database": database, "migrations": migrations}
    for name, key in (("message_queue", "SOCKETIO_MESSAGE_QUEUE"), ("rate_limits", "RATELIMIT_STORAGE_URI")):
        answer = _redis(app, name, app.config[key])
        if answer is not None:
            checks[name] = answer
    ready = database == "ok" and migrations == "current" and all(
        checks[name] == "ok" for name in ("message_queue", "rate_limits") if name in checks)
    return ready, checks
