"""/healthz and /readyz: alive, and ready only when the database, each configured Redis and the
migrations are; small JSON without data, no login, no rate limit, no cookie."""
from __future__ import annotations

from flask_migrate import stamp

from app import create_app
from tests.support.apps import app_config

from tests.support.live_server import free_port

CHECK_WORDS = {"ok", "unreachable", "current", "behind", "unknown"}


def _no_cookie(resp) -> None:
    assert "Set-Cookie" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"


def test_healthz_says_alive_without_login_or_cookie(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json == {"status": "ok"}
    _no_cookie(resp)


def test_readyz_is_ready_once_migrations_are_current(app, client):
    behind = client.get("/readyz")  # the tables exist (create_all) but no revision is stored
    assert behind.status_code == 503
    assert behind.json == {"status": "not ready", "checks": {"database": "ok", "migrations": "behind"}}
    stamp()  # the database says it is at the code's head
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json == {"status": "ready", "checks": {"database": "ok", "migrations": "current"}}
    _no_cookie(ready)


def test_readyz_names_an_unreachable_database(tmp_path):
    missing = create_app(app_config(tmp_path / "no" / "such" / "folder" / "db.sqlite3"))
    resp = missing.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json == {"status": "not ready", "checks": {"database": "unreachable", "migrations": "unknown"}}
    assert missing.test_client().get("/healthz").status_code == 200  # alive all the same


def test_readyz_names_an_unreachable_redis_and_shows_no_url(tmp_path):
    url = f"redis://:secret-password@127.0.0.1:{free_port()}/1"
    resp = create_app(app_config(tmp_path / "db.sqlite3", RATELIMIT_STORAGE_URI=url)).test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json["checks"]["rate_limits"] == "unreachable"
    assert "secret" not in resp.get_data(as_text=True) and "127.0.0.1" not in resp.get_data(as_text=True)
    assert set(resp.json["checks"].values()) <= CHECK_WORDS


def test_probes_are_never_rate_limited(make_app):
    limited = make_app(RATELIMIT_DEFAULT="2 per minute")
    client = limited.test_client()
    assert [client.get("/healthz").status_code for _ in range(6)] == [200] * 6
    assert {client.get("/readyz").status_code for _ in range(6)} == {503}  # never 429
    assert client.get("/login").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/login").status_code == 429  # the default limit is real
