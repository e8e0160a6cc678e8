"""A per-request memo of database answers, forgotten on every write or end of a transaction.

Each HTTP request and each Socket.IO event (which has a request context of its own) gets a fresh
memo; outside one (direct calls, scripts) nothing is remembered. Domain code asks ``memo()`` and
never sees Flask.
"""
from __future__ import annotations

from typing import Optional

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.extensions import db

_KEY = "_colloquy_memo"


def memo() -> Optional[dict]:
    """This request's or event's remembered answers; None outside one and while the session
    holds unflushed changes (a query's autoflush must see them)."""
    if not has_request_context():
        return None
    session = db.session()
    if session.new or session.dirty or session.deleted:
        return None
    owner = request._get_current_object()
    held = g.get(_KEY)
    if held is None or held[0] is not owner:
        held = (owner, {})
        setattr(g, _KEY, held)
    return held[1]


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def forget(*_) -> None:
    """Any write or end of a transaction makes the remembered answers stale."""
    if has_app_context():
        g.pop(_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state) -> None:
    if not state.is_select:
        forget()
