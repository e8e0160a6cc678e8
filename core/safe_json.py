"""JSON decoding that refuses what the application must never see, for Socket.IO packets and
HTTP bodies alike.

``loads`` raises ``ValueError`` (never ``RecursionError``) for: broken JSON, nesting deeper than
``MAX_DEPTH``, numbers longer than ``MAX_NUMBER_DIGITS`` characters, ``NaN``/``Infinity`` and numbers beyond a float's range, and
text with a lone UTF-16 surrogate (``"\\ud800"``: no database can store it). Handed to
Flask-SocketIO (``SocketIO(json=safe_json)``) and to Flask (``SafeJSONProvider``).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 40
# A \\uD800–\\uDFFF escape: only then can decoded text hold a surrogate (paired ones are joined).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

JSONDecodeError = json.JSONDecodeError
dumps = json.dumps


def _number(kind):
    def parse(text: str):
        if len(text) > MAX_NUMBER_DIGITS:
            raise ValueError("number too long")
        value = kind(text)
        if not math.isfinite(value):
            raise ValueError("number out of range")
        return value

    return parse


def _constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _too_deep_or_unstorable(value: Any, depth_check: bool, surrogate_check: bool) -> str | None:
    """Walk the decoded value without recursion; what is wrong with it, or None."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth_check and depth > MAX_DEPTH:
                return "nested too deeply"
            if surrogate_check:
                stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            if depth_check and depth > MAX_DEPTH:
                return "nested too deeply"
            stack.extend((child, depth + 1) for child in item)
        elif surrogate_check and isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "text with a lone surrogate"
    return None


def loads(text, **kwargs) -> Any:
    """Decode ``text`` like ``json.loads``; ValueError for anything the module docstring lists."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    kwargs.setdefault("parse_int", _number(int))
    kwargs.setdefault("parse_float", _number(float))
    kwargs.setdefault("parse_constant", _constant)
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    depth_check = text.count("[") + text.count("{") > MAX_DEPTH
    surrogate_check = _SURROGATE_ESCAPE.search(text) is not None
    if depth_check or surrogate_check:
        problem = _too_deep_or_unstorable(value, depth_check, surrogate_check)
        if problem:
            raise ValueError(problem)
    return value


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON with ``loads`` above: ``request.get_json`` refuses what it refuses."""

    def loads(self, s, **kwargs):
        return loads(s, **kwargs)
