"""The app process in production: it starts while PostgreSQL or Redis is down and says so on
/readyz, never prints demo logins, refuses a second start on a port in use, keeps logins working
through a Redis outage (per-process rate limits), and logs an access line per request and socket
event, with a time on every line, as text or JSON lines."""
from __future__ import annotations

import json

import pytest
import requests

from demo.course import DEMO_PASSWORD, INSTRUCTOR
from tests.support.factories import login
from tests.support.panel import PanelCast
from tests.support.live_server import (
    PASSWORD, WAIT, Server, copy_of_demo_database, csrf_token, free_port, prepare_database, program, server_env,
    wait_until,
)
from tests.support.panel import RedisServer

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- in process: the access log


def test_each_request_has_an_access_line_with_its_fields(app, make, caplog):
    user = make.user()
    client = app.test_client()
    login(client, user)
    caplog.clear()
    with caplog.at_level("INFO", logger="colloquy.access"):
        resp = client.get("/", headers={"X-Request-ID": "probe-123"})
    [line] = [r for r in caplog.records if r.name == "colloquy.access"]
    assert (line.request_id, line.method, line.path, line.status, line.user_id) == (
        "probe-123", "GET", "/", resp.status_code, user.id)
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0


def test_each_socket_event_has_an_access_line_with_name_and_outcome(app, make, caplog):
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make)
    cast.set_room(phase="panel")
    sock = cast.sock(cast.critics[0])
    caplog.clear()
    with caplog.at_level("INFO", logger="colloquy.access"):
        sock.act("ask", text="Logged?")
        sock.act("approve", question_id=1, version=1)  # a critic may not: refused
    lines = [(r.event, r.outcome) for r in caplog.records if r.name == "colloquy.access"]
    assert lines == [("ask", "ok"), ("approve", lines[1][1])] and lines[1][1] != "ok", lines


# --------------------------------------------------------------------------- real processes


def _server(tmp_path, name: str, **env) -> Server:
    base = server_env(tmp_path / "app.sqlite3", PORT=str(free_port()), SOCKETIO_ASYNC_MODE="eventlet")
    return Server({**base, **env}, tmp_path / f"{name}.log")


def _alive(server: Server) -> bool:
    if server.proc.poll() is not None:
        raise AssertionError("server exited:\n" + server.log.read_text()[-3000:])
    try:
        return requests.get(server.base + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _stop(server: Server) -> None:
    server.kill()


def test_a_process_starts_while_postgresql_is_down_and_is_not_ready(tmp_path):
    down = f"postgresql://colloquy:pw@127.0.0.1:{free_port()}/colloquy"
    server = _server(tmp_path, "no-db", DATABASE_URL=down, COLLOQUY_ENV="production", LOG_FORMAT="json",
                     SESSION_COOKIE_SECURE="0")
    server.launch()
    try:
        wait_until(lambda: _alive(server), "/healthz while PostgreSQL is down", timeout=90)
        ready = requests.get(server.base + "/readyz", timeout=WAIT)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "unreachable"
        assert requests.get(server.base + "/healthz", timeout=WAIT).json() == {"status": "ok"}
    finally:
        _stop(server)
    lines = server.log.read_text().splitlines()
    assert lines
    for line in lines:
        record = json.loads(line)  # every line is one JSON object with a time
        assert record["time"].endswith("Z") and record["level"] and "message" in record
    assert any(json.loads(line).get("path") == "/readyz" for line in lines) is False  # probes are DEBUG
    assert "Traceback" not in "".join(json.loads(line)["message"] for line in lines)


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    return copy_of_demo_database(tmp_path_factory.mktemp("demo") / "demo.sqlite3")


@pytest.mark.parametrize("production", [False, True])
def test_demo_logins_are_printed_in_development_only(tmp_path, demo_database, production):
    server = _server(tmp_path, "demo", DATABASE_URL=f"sqlite:///{demo_database}",
                     COLLOQUY_ENV="production" if production else "development")
    server.launch()
    try:
        wait_until(lambda: _alive(server), "the demo server", timeout=90)
    finally:
        _stop(server)
    log = server.log.read_text()
    assert "Colloquy is serving at" in log
    shown = DEMO_PASSWORD in log or INSTRUCTOR[0] in log
    assert shown is not production, log[-2000:]


def test_a_second_start_on_the_same_port_fails_with_address_in_use(tmp_path):
    first = _server(tmp_path, "first")
    prepare_database(first.env)
    first.start()
    try:
        second = Server(first.env, tmp_path / "second.log")
        second.launch()
        assert second.proc.wait(timeout=60) != 0
        assert "address already in use" in second.log.read_text()
        assert "Traceback" not in second.log.read_text()
        assert requests.get(first.base + "/healthz", timeout=WAIT).status_code == 200
    finally:
        first.kill()


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of our own, stopped by the test (``stop()``); yields (port, stop)."""
    server = RedisServer(program("redis-server"), free_port(), tmp_path).start()
    yield server.port, server.kill
    server.kill()


def _log_in(base: str, email: str) -> tuple[requests.Response, requests.Session]:
    http = requests.Session()
    token = csrf_token(http, base + "/login")
    return http.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                     allow_redirects=False, timeout=WAIT), http


def test_logins_and_pages_work_while_the_rate_limit_redis_is_down(tmp_path, redis_server):
    port, stop_redis = redis_server
    server = _server(tmp_path, "redis-down", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/1",
                     LOGIN_RATE_LIMIT="5 per minute")
    data = prepare_database(server.env)
    server.start()
    try:
        resp, _ = _log_in(server.base, data["emails"]["c1"])
        assert resp.status_code == 302
        assert requests.get(server.base + "/readyz", timeout=WAIT).status_code == 200

        stop_redis()
        resp, http = _log_in(server.base, data["emails"]["c2"])
        assert resp.status_code == 302, resp.text[:500]
        assert http.get(server.base + "/", timeout=WAIT).status_code == 200
        assert http.get(f"{server.base}/courses/{data['course_id']}", timeout=WAIT).status_code == 200
        ready = requests.get(server.base + "/readyz", timeout=WAIT)
        assert ready.status_code == 503 and ready.json()["checks"]["rate_limits"] == "unreachable"
        # the limit still holds, counted in this process's memory
        answers = []
        for _ in range(7):
            page = requests.Session()
            token = csrf_token(page, server.base + "/login")
            answers.append(page.post(server.base + "/login", data={"email": data["emails"]["c3"], "password": "no",
                                                                   "csrf_token": token}, timeout=WAIT).status_code)
        assert 429 in answers and answers[0] == 200, answers
    finally:
        server.kill()
    log = server.log.read_text()
    assert "falling back to in-memory storage" in log
    assert "Traceback" not in log
