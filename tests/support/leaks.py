"""What the leak matrices compare: response bodies with the per-request CSRF tokens blanked."""
from __future__ import annotations

import re

_CSRF = [
    re.compile(rb'name="csrf-token" content="[^"]*"'),
    re.compile(rb'name="csrf_token" type="hidden" value="[^"]*"'),
    re.compile(rb'type="hidden" name="csrf_token" value="[^"]*"'),
    re.compile(rb'name="csrf_token" value="[^"]*"'),
    re.compile(rb'id="csrf_token" name="csrf_token" type="hidden" value="[^"]*"'),
]


def normalise(body: bytes) -> bytes:
    """``body`` with every CSRF token replaced by the same placeholder."""
    for pattern in _CSRF:
        body = pattern.sub(b"CSRF", body)
    return body
