"""Cross-cutting security: CSRF on every POST, production secrets, headers, cookie flags."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from app import create_app
from tests.support.apps import app_config
from tests.support.factories import PASSWORD, ROLE_INSTRUCTOR, ROLE_STUDENT, T0, Factory
from core.config import ConfigError
from core.extensions import db
from models import Course

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def url_for_rule(app, rule, ids: dict[str, int]) -> str:
    """A URL for the rule, with real ids where known and dummy values elsewhere."""
    values = {}
    for arg in rule.arguments:
        converter = rule._converters.get(arg)
        values[arg] = ids.get(arg, 1) if isinstance(converter, IntegerConverter) else "x"
    method = "POST" if "POST" in rule.methods else "GET"
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=method)


def log_in_with_token(client, email: str) -> None:
    """Log in through the form with the CSRF token a browser would send."""
    token = CSRF_META.search(client.get("/login").get_data(as_text=True)).group(1)
    resp = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


# --------------------------------------------------------------------------- CSRF


def test_every_post_route_refuses_a_request_without_csrf_token(make_app):
    secured = make_app(WTF_CSRF_ENABLED=True)
    with secured.app_context():
        factory = Factory()
        course = factory.course()
        user = factory.member(course, ROLE_INSTRUCTOR)
        ids, email = {"course_id": course.id, "user_id": user.id}, user.email
    c = secured.test_client()
    log_in_with_token(c, email)

    rules = [r for r in secured.url_map.iter_rules() if "POST" in r.methods]
    endpoints = {r.endpoint for r in rules}
    assert {"auth.login", "auth.logout", "courses.create", "courses.settings", "courses.import_confirm"} <= endpoints
    refused = []
    for rule in rules:
        url = url_for_rule(secured, rule, ids)
        form = c.post(url, data={"title": "x", "role": "student", "text": "x"})
        as_json = c.post(url, json={"text": "x"})
        if form.status_code != 400 or as_json.status_code != 400:
            refused.append((rule.rule, form.status_code, as_json.status_code))
    assert refused == [], "POST routes that did not answer 400 without a CSRF token"
    # Nothing happened: still logged in (logout refused), no course created.
    assert c.get("/").status_code == 200
    with secured.app_context():
        assert db.session.scalar(select(func.count(Course.id))) == 1


def test_csrf_token_is_accepted_when_sent(make_app):
    secured = make_app(WTF_CSRF_ENABLED=True)
    with secured.app_context():
        email = Factory().user(instructor=True).email
    c = secured.test_client()
    log_in_with_token(c, email)
    token = CSRF_META.search(c.get("/").get_data(as_text=True)).group(1)
    resp = c.post(
        "/courses/new", data={"code": "C1", "title": "With token", "timezone": "UTC", "csrf_token": token}
    )
    assert resp.status_code == 302


# --------------------------------------------------------------------------- production secrets


def production_config(tmp_path) -> dict:
    config = app_config(tmp_path / "prod.sqlite3")
    del config["SECRET_KEY"]  # the key must come from the environment
    return config


def test_production_without_secret_key_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.setenv("COLLOQUY_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app(production_config(tmp_path))


@pytest.mark.parametrize("key", ["", "dev", "changeme", "secret", "development", "CHANGE-ME", "short-but-random-9x"])
def test_production_with_default_or_short_secret_key_refuses_to_start(monkeypatch, tmp_path, key):
    monkeypatch.setenv("COLLOQUY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError):
        create_app(production_config(tmp_path))


def test_production_with_a_real_secret_key_starts_with_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("COLLOQUY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k3y-" + "0123456789abcdef" * 3)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    prod = create_app(production_config(tmp_path))
    assert prod.config["PRODUCTION"] is True
    assert prod.config["SECRET_KEY"].startswith("k3y-")
    assert prod.config["SESSION_COOKIE_SECURE"] is True and prod.config["REMEMBER_COOKIE_SECURE"] is True


# --------------------------------------------------------------------------- headers on every page


@pytest.fixture
def populated(app, make, clock):
    """A course with one of everything, so most pages render with real ids."""
    course = make.course()
    instructor = make.member(course, ROLE_INSTRUCTOR)
    student = make.member(course, ROLE_STUDENT)
    presenter = make.member(course, ROLE_STUDENT)
    presentation = make.presentation(course, review_deadline=T0 - timedelta(hours=1), presenters=[presenter])
    review = make.review(presentation, student, submitted_at=T0 - timedelta(hours=2))
    ids = {
        "course_id": course.id,
        "presentation_id": presentation.id,
        "paper_id": presentation.paper_id,
        "session_id": presentation.session_id,
        "review_id": review.id,
        "user_id": student.id,
    }
    return ids, instructor, student


def assert_html_security_headers(resp, where: str) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    assert csp, f"{where}: no CSP"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where


def html_pages(app, client, ids):
    """Every GET page of the app (with real ids) that answers HTML."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = url_for_rule(app, rule, ids)
        resp = client.get(url)
        if resp.mimetype == "text/html":
            yield url, resp


@pytest.mark.parametrize("who", ["instructor", "student", "anonymous"])
def test_every_html_page_carries_the_security_headers(app, login_as, populated, who):
    ids, instructor, student = populated
    client = {"instructor": lambda: login_as(instructor), "student": lambda: login_as(student)}.get(
        who, app.test_client
    )()
    checked = 0
    for url, resp in html_pages(app, client, ids):
        assert_html_security_headers(resp, url)
        checked += 1
    assert checked >= 5
    assert_html_security_headers(client.get("/no/such/page"), "404 page")


def test_html_pages_have_no_inline_scripts_or_styles(app, login_as, populated):
    ids, instructor, _ = populated
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    inline_handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
    inline_style = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.I)
    offenders = []
    for url, resp in html_pages(app, login_as(instructor), ids):
        body = resp.get_data(as_text=True)
        for name, pattern in (("script", inline_script), ("handler", inline_handler), ("style", inline_style)):
            if pattern.search(body):
                offenders.append((url, name, pattern.search(body).group(0)[:80]))
    assert offenders == []


# --------------------------------------------------------------------------- cookies


def set_cookie_headers(resp, name: str) -> list[str]:
    return [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def cookie_flags(header: str) -> set[str]:
    """The attributes of a Set-Cookie header: {'httponly', 'secure', 'samesite=lax', ...}."""
    flags = set()
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        flags.add(f"samesite={value.lower()}" if key.lower() == "samesite" else key.lower())
    return flags


def test_session_and_remember_cookies_are_httponly_and_samesite_lax(client, make):
    user = make.user()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    for name in ("session", "remember_token"):
        [header] = set_cookie_headers(resp, name)
        flags = cookie_flags(header)
        assert {"httponly", "samesite=lax"} <= flags, (name, header)


def test_cookies_are_secure_in_production(monkeypatch, make_app):
    monkeypatch.setenv("COLLOQUY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k3y-" + "0123456789abcdef" * 3)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    prod = make_app()
    with prod.app_context():
        email = Factory().user().email
    resp = prod.test_client().post("/login", data={"email": email, "password": PASSWORD, "remember": "y"})
    assert resp.status_code == 302
    for name in ("session", "remember_token"):
        [header] = set_cookie_headers(resp, name)
        assert {"secure", "httponly", "samesite=lax"} <= cookie_flags(header), (name, header)


# --------------------------------------------------------------------------- session cookie


def test_the_session_cookie_follows_a_secret_key_rotation(app, login_as, make):
    """The signing serializer is built once, and again when the keys change: a cookie signed
    with the old key stays valid while it is a fallback, and stops when it is dropped."""
    c = login_as(make.user())
    interface = app.session_interface
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)
    assert c.get("/account").status_code == 200

    old_key = app.secret_key
    app.secret_key = "rotated-" + "fedcba9876543210" * 3
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert c.get("/account").status_code == 200, "a cookie signed with a fallback key is accepted"

    app.config["SECRET_KEY_FALLBACKS"] = []
    resp = c.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"], "the old key no longer signs"
