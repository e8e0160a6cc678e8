"""The application starts and serves its login page with the security headers; its settings are
declared in one place, its log lines name their request or event, and the banner shows the demo."""
import io
import logging
import re
from pathlib import Path

import pytest

import demo.cli as demo_cli
from core import config, server
from core import logging as app_logging
from demo import course as demo


def test_login_page_has_security_headers(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_dashboard_requires_login(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


# --------------------------------------------------------------------------- configuration

ROOT = Path(__file__).resolve().parent.parent
APP_CODE = [ROOT / "app.py", *(ROOT / d for d in ("core", "domain", "blueprints", "demo"))]
CONFIG_READ = re.compile(r"config(?:\.get\(|\[)\s*[\"']([A-Z][A-Z0-9_]+)[\"']")


def _app_sources():
    for place in APP_CODE:
        yield from [place] if place.is_file() else sorted(place.rglob("*.py"))


def test_every_config_key_the_code_reads_is_declared_once():
    read = {key for path in _app_sources() for key in CONFIG_READ.findall(path.read_text())}
    assert read, "the pattern finds the config reads"
    assert read - config.KEYS == set()
    assert len(config.KEYS) == len(config.SETTINGS)
    assert all(setting.meaning for setting in config.SETTINGS)


def environment_variables() -> set[str]:
    """Every environment variable the app reads: the settings', and ``COLLOQUY_ENV``."""
    return {s.env for s in config.SETTINGS if s.env} | {"COLLOQUY_ENV"}


def test_every_environment_variable_is_in_the_readme_table():
    table = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")]
    documented = {name for line in table for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])}
    assert environment_variables() - documented == set()


def test_the_deployment_environment_file_lists_every_environment_variable():
    text = (ROOT / "deploy" / "colloquy.env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    variables = environment_variables()
    # Each colloquy@PORT unit sets its own port; the file says why it is not there.
    assert variables - listed == {"PORT"}
    assert "PORT is not set here" in text
    assert listed - variables == set()


def test_loaded_config_has_every_declared_key_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("QUESTION_RATE", "2/10")
    monkeypatch.setenv("PORT", "5077")
    monkeypatch.setenv("SOCKETIO_ALLOWED_ORIGINS", "https://a.example https://b.example")
    loaded = config.load_config(str(tmp_path))
    assert set(loaded) == config.KEYS
    assert loaded["QUESTION_RATE"] == "2/10" and loaded["PORT"] == 5077
    assert loaded["SOCKETIO_ALLOWED_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert loaded["UPLOAD_FOLDER"] == str(tmp_path / "uploads")
    assert loaded["VOTE_RATE"] == "30/60" and loaded["SESSION_COOKIE_SECURE"] is False


# --------------------------------------------------------------------------- logging


@pytest.fixture
def log_lines(app):
    """The lines the app's log handler writes, in its format, while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(app_logging.FORMAT))
    handler.addFilter(app_logging.ContextFilter())
    logging.getLogger().addHandler(handler)
    yield lambda: stream.getvalue().splitlines()
    logging.getLogger().removeHandler(handler)


def _logging_view(app):
    def view():
        logging.getLogger("colloquy.test").warning("inside the view")
        return "ok"

    app.add_url_rule("/_log_test", "log_test", view)


def test_each_log_line_names_its_request_with_time_level_and_logger(app, log_lines):
    _logging_view(app)
    resp = app.test_client().get("/_log_test")
    rid = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", rid)
    [line] = [line for line in log_lines() if "inside the view" in line]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING colloquy\.test \[request " + rid + r"\] ", line)


def test_a_short_incoming_request_id_is_kept_and_anything_else_replaced(app, log_lines):
    _logging_view(app)
    client = app.test_client()
    assert client.get("/_log_test", headers={"X-Request-ID": "lb-42.a_b"}).headers["X-Request-ID"] == "lb-42.a_b"
    for sent in ("x" * 65, "two words", "a] forged INFO line", ""):
        got = client.get("/_log_test", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
        assert got != sent and re.fullmatch(r"[0-9a-f]{16}", got)
    assert not any("forged" in line for line in log_lines())


def test_a_socket_event_named_by_event_context(log_lines):
    with app_logging.event_context("ask", "sid-1"):
        logging.getLogger("colloquy.test").info("asked")
    logging.getLogger("colloquy.test").info("after")
    lines = log_lines()
    assert any("[event ask sid sid-1] asked" in line for line in lines)
    assert any("[-] after" in line for line in lines)


def test_logging_is_configured_once_however_many_apps(app, make_app):
    make_app()
    make_app()
    ours = [h for h in logging.getLogger().handlers if any(isinstance(f, app_logging.ContextFilter) for f in h.filters)]
    assert len(ours) == 1


def test_the_banner_shows_the_url_and_the_demo_logins(app):
    with app.app_context():
        demo.load_demo()
    text = server.banner_text(app, demo_cli.banner(app))
    assert f"http://{app.config['HOST']}:{app.config['PORT']}" in text
    assert demo.DEMO_PASSWORD in text and all(email in text for email in demo.login_emails())
    assert "Ctrl+C" in text
