"""Per-user rate limits on questions and votes, with the ``limits`` library.

Limits come from config as ``"<count>/<seconds>"`` (``QUESTION_RATE``, ``VOTE_RATE``); the
counters live in ``RATELIMIT_STORAGE_URI`` (memory for one process, Redis for several). When
that storage does not answer, each process counts in its own memory (one warning), and tries
the storage again every ``RETRY_AFTER`` seconds: asking and voting never fail for it.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from flask import current_app
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

RATE_CONFIG = {"ask": "QUESTION_RATE", "follow_up": "QUESTION_RATE", "vote": "VOTE_RATE"}
# Follow-ups count against the same budget as questions.
BUCKET = {"ask": "question", "follow_up": "question", "vote": "vote"}
RETRY_AFTER = 5.0  # seconds before an unreachable storage is tried again
STORAGE_TIMEOUT = 1.0  # seconds a Redis storage may take to answer

log = logging.getLogger(__name__)


def parse_rate(text: str) -> RateLimitItem:
    """``"5/60"`` → 5 per 60 seconds."""
    count, _, seconds = str(text).partition("/")
    return RateLimitItemPerSecond(int(count), int(seconds or 1))


class FallbackLimiter:
    """A moving-window limiter on the configured storage that counts in this process's memory
    while the storage fails, and goes back to it once it answers again."""

    def __init__(self, uri: str, clock: Callable[[], float] = time.monotonic):
        self.uri = uri
        self.clock = clock
        self.memory = MovingWindowRateLimiter(MemoryStorage())
        self.shared = None if uri.startswith("memory://") else MovingWindowRateLimiter(_storage(uri))
        self.retry_at = 0.0
        self.failing = False
        self.lock = threading.Lock()

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        """Count one hit; False once over the limit."""
        if self.shared is not None and self.clock() >= self.retry_at:
            try:
                allowed = self.shared.hit(item, *keys)
            except Exception as exc:
                with self.lock:
                    self.retry_at = self.clock() + RETRY_AFTER
                    if not self.failing:
                        self.failing = True
                        log.warning("panel rate limits: %s does not answer (%s); counting in this "
                                    "process's memory until it does", _safe(self.uri), exc)
            else:
                if self.failing:
                    self.failing = False
                    log.warning("panel rate limits: %s answers again", _safe(self.uri))
                return allowed
        return self.memory.hit(item, *keys)


def _storage(uri: str):
    """The storage for ``uri``; a Redis one answers within STORAGE_TIMEOUT or fails."""
    if uri.startswith(("redis://", "rediss://")):
        return storage_from_string(uri, socket_timeout=STORAGE_TIMEOUT, socket_connect_timeout=STORAGE_TIMEOUT)
    return storage_from_string(uri)


def _safe(uri: str) -> str:
    """The storage's URI without a password."""
    scheme, sep, rest = uri.partition("://")
    return scheme + sep + rest.rpartition("@")[2] if sep else uri


def _limiter() -> FallbackLimiter:
    """One limiter per app, on the configured storage."""
    state = current_app.extensions.get("panel_ratelimit")
    if state is None:
        state = current_app.extensions["panel_ratelimit"] = FallbackLimiter(
            current_app.config.get("RATELIMIT_STORAGE_URI", "memory://")
        )
    return state


def allow(event: str, user_id: int) -> bool:
    """Count one ``event`` by the user; False once the user is over the limit."""
    config_key = RATE_CONFIG.get(event)
    if config_key is None:
        return True
    item = parse_rate(current_app.config[config_key])
    return _limiter().hit(item, "panel", BUCKET[event], str(user_id))
