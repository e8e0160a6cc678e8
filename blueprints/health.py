"""Liveness and readiness probes for process supervisors and load balancers.

Both answer small JSON without any data of the site, need no login, are never rate limited,
and set no cookie (they never touch the session).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from core.extensions import limiter
from core.health import readiness

bp = Blueprint("health", __name__)


def _probe(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """The process is alive and answers HTTP (it checks nothing else)."""
    return _probe({"status": "ok"}, 200)


@bp.route("/readyz")
@limiter.exempt
def readyz():
    """Ready to serve: the database and each configured Redis answer and migrations are current;
    503 with the failing check named otherwise."""
    ready, checks = readiness(current_app._get_current_object())
    return _probe({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)
