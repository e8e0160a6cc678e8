"""Reviews: write (with autosave), submit and edit; read released reviews; staff lists, grades,
exports and extensions (SPEC §3). Every access decision is asked of ``policy``; the workflow
itself lives in ``reviewing``. Every response that carries review data is sent ``no-store``.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reviews", __name__)

from blueprints.reviews import (  # noqa: E402,F401  (the routes)
    extensions,
    forms,
    reading,
    staff,
    writing,
)
