"""Per-user rate limits on questions and votes, with the ``limits`` library.

Limits come from config as ``"<count>/<seconds>"`` (``QUESTION_RATE``, ``VOTE_RATE``); the
counters live in ``RATELIMIT_STORAGE_URI`` (memory for one process, Redis for several).
"""
from __future__ import annotations

from flask import current_app
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

RATE_CONFIG = {"ask": "QUESTION_RATE", "follow_up": "QUESTION_RATE", "vote": "VOTE_RATE"}
# Follow-ups count against the same budget as questions.
BUCKET = {"ask": "question", "follow_up": "question", "vote": "vote"}


def parse_rate(text: str) -> RateLimitItem:
    """``"5/60"`` → 5 per 60 seconds."""
    count, _, seconds = str(text).partition("/")
    return RateLimitItemPerSecond(int(count), int(seconds or 1))


def _limiter() -> MovingWindowRateLimiter:
    """One limiter per app, on the configured storage."""
    state = current_app.extensions.get("panel_ratelimit")
    if state is None:
        storage = storage_from_string(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
        state = current_app.extensions["panel_ratelimit"] = MovingWindowRateLimiter(storage)
    return state


def allow(event: str, user_id: int) -> bool:
    """Count one ``event`` by the user; False once the user is over the limit."""
    config_key = RATE_CONFIG.get(event)
    if config_key is None:
        return True
    item = parse_rate(current_app.config[config_key])
    return _limiter().hit(item, "panel", BUCKET[event], str(user_id))
