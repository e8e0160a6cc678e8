"""Read-only Core statements run on the session's own connection and transaction.

``db.session.execute`` takes a statement through the ORM's execution path (autoflush, event
hooks, result wrapping) even when it selects plain columns; a read on the hottest paths (every
socket join and event) that builds no entities and follows no pending change skips it. Only
for reads made before anything is added to the session: no autoflush happens here.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from sqlalchemy import Executable, Row
from sqlalchemy.engine import Result

from core.extensions import db


def rows(statement: Executable, params: Mapping[str, Any]) -> Result:
    """The rows of ``statement`` (Core columns only) for ``params``."""
    return db.session.connection().execute(statement, params)


def first_row(statement: Executable, params: Mapping[str, Any]) -> Optional[Row]:
    """The first row of ``statement`` for ``params``, or None."""
    return rows(statement, params).first()
