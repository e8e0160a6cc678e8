"""Shape checks for client payloads: size, type and range of every field, per event.

A payload that fails here gets ``too_large`` or ``invalid`` before anything touches the
database. Unknown fields are ignored; ids and roles are never taken from the client.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

from models import OUTCOMES, PHASES, VERDICTS

QUESTION_MAX = 500
ANSWER_MAX = 1000
REASON_MAX = 300
CID_MAX = 64
PHASE_MINUTES_MAX = 240
EXTEND_MINUTES_MAX = 60
# The limits the room pages' forms and scripts enforce before sending (handed to the page).
LIMITS = {
    "question": QUESTION_MAX,
    "answer": ANSWER_MAX,
    "reason": REASON_MAX,
    "phase_minutes": PHASE_MINUTES_MAX,
    "extend_minutes": EXTEND_MINUTES_MAX,
}


class PayloadError(Exception):
    """The payload is refused; ``code`` is ``too_large`` or ``invalid``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Field:
    check: Callable[[Any], Optional[str]]  # returns an error message or None
    required: bool = True


def _int(low: int = 1, high: int = 2**31 - 1):
    def check(value):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}"
        return None

    return check


def _bool(value):
    return None if isinstance(value, bool) else "must be true or false"


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "must be a number"
    if abs(value) > 1e9:
        return "is out of range"
    return None


def _storable(text: str) -> bool:
    """False for text no database can store: a lone UTF-16 surrogate ("\ud800")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(low: int, high: int):
    def check(value):
        if not isinstance(value, str) or not low <= len(value.strip()) <= high:
            return f"must be text of {low}–{high} characters"
        if not _storable(value):
            return "contains a character that is not valid text"
        return None

    return check


def _choice(options):
    def check(value):
        return None if value in options else "must be one of " + ", ".join(options)

    return check


ID = Field(_int())
CID = Field(_text(1, CID_MAX))
VERSION = Field(_int())

_QUESTION_ACTION = {"question_id": ID, "version": VERSION}

EVENT_FIELDS: dict[str, dict[str, Field]] = {
    "join": {"room_id": ID, "last_seq": Field(_int(0), required=False)},
    "leave": {"room_id": ID},
    "review_questions": {"room_id": ID},
    "ask": {
        "text": Field(_text(1, QUESTION_MAX)),
        "anonymous": Field(_bool, required=False),
        "from_review": Field(_bool, required=False),
    },
    "vote": {"question_id": ID, "up": Field(_bool, required=False)},
    "approve": _QUESTION_ACTION,
    "dismiss": {**_QUESTION_ACTION, "reason": Field(_text(0, REASON_MAX), required=False)},
    "edit": {**_QUESTION_ACTION, "text": Field(_text(1, QUESTION_MAX))},
    "merge": {**_QUESTION_ACTION, "into_id": ID},
    "pin": _QUESTION_ACTION,
    "unpin": _QUESTION_ACTION,
    "reorder": {**_QUESTION_ACTION, "rank": Field(_number)},
    "set_live": _QUESTION_ACTION,
    "mark_answered": _QUESTION_ACTION,
    "reopen": _QUESTION_ACTION,
    "mute": {"user_id": ID},
    "phase": {"phase": Field(_choice(PHASES)), "minutes": Field(_int(1, PHASE_MINUTES_MAX), required=False)},
    "extend": {"minutes": Field(_int(1, EXTEND_MINUTES_MAX))},
    "settings": {
        "moderated": Field(_bool, required=False),
        "follow_ups_allowed": Field(_bool, required=False),
    },
    "claim": {"question_id": ID},
    "answer": {
        "question_id": ID,
        "text": Field(_text(0, ANSWER_MAX), required=False),
        "outcome": Field(_choice(OUTCOMES)),
    },
    "follow_up": {"question_id": ID, "text": Field(_text(1, QUESTION_MAX))},
    "verdict": {"verdict": Field(_choice(VERDICTS))},
}

# Events that change the room: they carry room_id and a client-made cid.
ACTIONS = frozenset(EVENT_FIELDS) - {"join", "leave", "review_questions"}


def check_size(payload: Any, limit: int) -> None:
    """Refuse a payload whose JSON form is larger than ``limit`` bytes."""
    try:
        size = len(json.dumps(payload, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        raise PayloadError("invalid", "The message could not be read.") from None
    if size > limit:
        raise PayloadError("too_large", f"The message is larger than {limit // 1024} KB.")


def validate(event: str, payload: Any) -> dict:
    """The payload's known fields, checked; text is stripped. Raises PayloadError."""
    if not isinstance(payload, dict):
        raise PayloadError("invalid", "The message must be an object.")
    fields = dict(EVENT_FIELDS[event])
    if event in ACTIONS:
        fields.update(room_id=ID, cid=CID)
    clean = {}
    for name, field in fields.items():
        if name not in payload or payload[name] is None:
            if field.required:
                raise PayloadError("invalid", f"“{name}” is missing.")
            continue
        value = payload[name]
        problem = field.check(value)
        if problem:
            raise PayloadError("invalid", f"“{name}” {problem}.")
        clean[name] = value.strip() if isinstance(value, str) else value
    return clean
